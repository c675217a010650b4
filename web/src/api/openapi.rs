//! OpenAPI 3.1 documents: `/api/v1/openapi.json` describes every route generically;
//! `/api/v1/spaces/{space}/openapi.json` adds, for each form of the space, its record schema
//! and typed record paths, so a client can generate an SDK per space.
//!
//! Built by hand from `serde_json` values rather than derived: the per-space document embeds
//! schemas that only exist at run time, which derive-based generators can't express.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use engine::policy::Policy;
use engine::SpaceName;
use serde_json::{json, Map, Value};

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, Caller};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/openapi.json", get(generic))
        .listed("/api/v1/spaces/{space}/openapi.json", get(for_space))
}

async fn generic() -> Json<Value> {
    Json(document("Tend API", generic_paths(), Map::new()))
}

/// The space's document as the caller's role sees it: fields the form's record policy hides
/// from the role are absent from its schemas, read-only ones are marked `readOnly`.
async fn for_space(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<Json<Value>, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    let space = state.engine.space(&space)?;
    let mut paths = generic_paths();
    let mut schemas = Map::new();
    for stored in state.engine.forms(&space.name)? {
        let loaded = state.engine.loaded_form(&space.name, &stored.name)?;
        let type_name = pascal_case(stored.name.as_str());
        let data_name = format!("{type_name}Data");
        let record_name = format!("{type_name}Record");
        let policy = Policy::new(loaded.compiled.def(), &access);
        schemas.insert(data_name.clone(), policy.schema(forms::record_data_schema(&loaded.compiled)));
        schemas.insert(
            record_name.clone(),
            forms::record_envelope_schema(&stored.name, &format!("#/components/schemas/{data_name}")),
        );
        let base = format!("/api/v1/spaces/{}/forms/{}/records", space.name, stored.name);
        let title = stored.definition.title.clone().unwrap_or_else(|| stored.name.to_string());
        paths.insert(base.clone(), typed_collection(&title, &data_name, &record_name));
        paths.insert(format!("{base}/{{id}}"), typed_item(&title, &data_name, &record_name));
    }
    Ok(Json(document(&format!("Tend API: space {}", space.name), paths, schemas)))
}

fn document(title: &str, paths: Map<String, Value>, extra_schemas: Map<String, Value>) -> Value {
    let mut schemas = common_schemas();
    schemas.extend(extra_schemas);
    json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": env!("CARGO_PKG_VERSION"),
                  "description": "Tend's generic form API. Every /api route needs `Authorization: Bearer <token>` (or a session cookie). A caller sees the spaces they are a member of (others answer 404); a role too low for a route answers 403. Errors are RFC 9457 problem+json." },
        "security": [ { "bearer": [] } ],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas,
            "responses": {
                "Problem": { "description": "An error (RFC 9457).",
                             "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            }
        }
    })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": json_content(schema) })
}

fn page_of(schema: Value) -> Value {
    json!({ "type": "object", "required": ["items", "next_cursor"],
            "properties": { "items": { "type": "array", "items": schema },
                            "next_cursor": { "type": ["string", "null"] } } })
}

/// A page of records, with the people they name (see `Record.people`) once for the page.
fn record_page(schema: Value) -> Value {
    let mut page = page_of(schema);
    page["properties"]["people"] = forms::people_schema();
    page
}

fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

/// A path parameter that is a name (of a space, form, workflow, ...): the slug rule, which
/// the server checks before anything else.
fn name_param(name: &str, description: &str) -> Value {
    let mut param = path_param(name, description);
    param["schema"] = json!({ "type": "string", "pattern": forms::NAME_PATTERN, "maxLength": forms::MAX_NAME_LEN });
    param
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn header_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "header", "required": false, "description": description, "schema": { "type": "string" } })
}

/// An operation; every operation can answer with a problem document.
/// The answer of `POST .../forms/{form}/evaluate`.
fn draft_evaluation() -> Value {
    let script_problem = json!({ "type": "object", "properties": {
        "message": { "type": "string" }, "line": { "type": "integer" }, "column": { "type": "integer" } } });
    json!({ "type": "object", "required": ["record", "valid", "computed", "rules", "errors"], "properties": {
        "record": { "type": "object", "description": "The data as it would be stored" },
        "valid": { "type": "boolean", "description": "A write would be accepted and every script compiles" },
        "computed": { "type": "array", "items": { "type": "object", "required": ["field", "path"], "properties": {
            "field": { "type": "string" }, "path": { "type": "string", "description": "Pointer into the definition" },
            "value": {}, "error": script_problem.clone() } } },
        "rules": { "type": "array", "items": { "type": "object", "required": ["path", "field", "outcome"], "properties": {
            "name": { "type": "string" }, "path": { "type": "string", "description": "Pointer into the definition" },
            "field": { "type": "string", "description": "The record field the rule's message is about" },
            "outcome": { "type": "string", "enum": ["passed", "failed", "not_boolean", "error", "skipped"] },
            "error": script_problem } } },
        "errors": { "type": "array", "items": { "type": "object", "properties": {
            "path": { "type": "string" }, "message": { "type": "string" } } } } } })
}

fn op(summary: &str, params: Vec<Value>, body: Option<Value>, responses: Vec<(&str, Value)>) -> Value {
    let mut responses: Map<String, Value> = responses.into_iter().map(|(code, r)| (code.to_owned(), r)).collect();
    responses.insert("default".into(), json!({ "$ref": "#/components/responses/Problem" }));
    let mut operation = json!({ "summary": summary, "parameters": params, "responses": responses });
    if let Some(body) = body {
        operation["requestBody"] = json!({ "required": true, "content": json_content(body) });
    }
    operation
}

fn space_params() -> Vec<Value> {
    vec![name_param("space", "Space name")]
}

fn form_params() -> Vec<Value> {
    vec![name_param("space", "Space name"), name_param("form", "Form name")]
}

fn record_params() -> Vec<Value> {
    let mut params = form_params();
    params.push(path_param("id", "Record id (UUIDv7)"));
    params
}

fn conditional_params() -> Vec<Value> {
    let mut params = record_params();
    params.push(header_param("If-Match", "ETag of the version the change is based on; 412 if stale"));
    params
}

/// A definition's path parameters with the `If-Match` a partial change is checked against.
fn definition_conditional(mut params: Vec<Value>) -> Vec<Value> {
    params.push(header_param(
        "If-Match",
        "ETag of the definition version the change is based on (GET answers it); 412 if stale",
    ));
    params
}

fn list_params(mut params: Vec<Value>) -> Vec<Value> {
    params.extend([
        query_param("filter", "Filter, e.g. `health < 60 and tier = \"enterprise\"`; operators =, !=, <, <=, >, >=, in, contains; and/or/not/parentheses", json!({ "type": "string" })),
        query_param("sort", "Comma-separated fields, `-` for descending, e.g. `-health,name`", json!({ "type": "string" })),
        query_param("limit", "Page size (default 50, max 1000)", json!({ "type": "integer", "minimum": 1, "maximum": 1000 })),
        query_param("cursor", "`next_cursor` of the previous page", json!({ "type": "string" })),
    ]);
    params
}

fn generic_paths() -> Map<String, Value> {
    let record = schema_ref("Record");
    let data = json!({ "type": "object", "description": "The record's data, valid against its form's schema" });
    let mut paths = Map::new();
    paths.insert("/api/v1/openapi.json".into(), json!({ "get": op("This document", vec![], None, vec![("200", ok("OpenAPI 3.1", json!({"type": "object"})))]) }));
    paths.insert("/api/v1/spaces".into(), json!({
        "get": op("List spaces", vec![], None, vec![("200", ok("Spaces", page_of(schema_ref("Space"))))]),
        "post": op("Create a space", vec![], Some(schema_ref("NewSpace")), vec![("201", ok("Created", schema_ref("Space")))]),
    }));
    paths.insert(
        "/api/v1/spaces/{space}".into(),
        json!({
            "get": op("Get a space", space_params(), None, vec![("200", ok("The space", schema_ref("Space")))]),
            "patch": op("Change a space's title or default time zone", space_params(),
                        Some(json!({ "type": "object", "properties": { "title": { "type": "string" },
                                     "timezone": { "type": "string", "description": "IANA zone timers use when a workflow names none; \"\" clears it" } } })),
                        vec![("200", ok("The space", schema_ref("Space")))]),
        }),
    );
    paths.insert("/api/v1/spaces/{space}/openapi.json".into(), json!({
        "get": op("This API with the space's form schemas embedded", space_params(), None, vec![("200", ok("OpenAPI 3.1", json!({"type": "object"})))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms".into(), json!({
        "get": op("List the latest version of each form", space_params(), None, vec![("200", ok("Forms", page_of(schema_ref("StoredForm"))))]),
    }));
    let mut put_params = form_params();
    put_params.push(query_param(
        "force",
        "Store even if existing records would not validate",
        json!({ "type": "boolean" }),
    ));
    let mut get_params = form_params();
    get_params.push(query_param(
        "version",
        "A specific version (default: latest)",
        json!({ "type": "integer", "minimum": 1 }),
    ));
    paths.insert("/api/v1/spaces/{space}/forms/{form}".into(), json!({
        "get": op("Get a form definition", get_params, None, vec![("200", ok("The form version", schema_ref("StoredForm")))]),
        "put": op("Store a definition as the form's next version", put_params.clone(), Some(schema_ref("FormDefinition")),
                  vec![("200", ok("New version stored (or unchanged)", schema_ref("StoredForm"))), ("201", ok("First version stored", schema_ref("StoredForm")))]),
        "patch": op("Change part of the definition: a JSON merge patch (RFC 7396) on the current version, stored as the next (`If-Match`: that version's ETag, 412 if stale; same checks as PUT)",
                    definition_conditional(put_params), Some(json!({ "type": "object", "description": "A merge patch of the form definition" })),
                    vec![("200", ok("New version stored (or unchanged)", schema_ref("StoredForm")))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/evaluate".into(), json!({
        "post": op("Try a draft definition on some data, storing nothing: computed fields, each rule's outcome, the errors a write would answer with (422 only when the definition itself is malformed)",
                   form_params(), Some(json!({ "type": "object", "required": ["definition", "record"], "additionalProperties": false, "properties": {
                       "definition": schema_ref("FormDefinition"),
                       "record": { "type": "object", "description": "The record data to evaluate on" },
                       "id": { "type": "string", "description": "An existing record's id, when `record` is its data (kept in its stage)" } } })),
                   vec![("200", ok("What a write of this data under the draft would do", draft_evaluation()))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/records".into(), json!({
        "get": op("List records", list_params(form_params()), None, vec![("200", ok("A page of records; header Tend-Query-Plan tells scan or index", record_page(record.clone())))]),
        "post": op("Create a record (the body is its data)", form_params(), Some(data.clone()), vec![("201", ok("Created; ETag is its version", record.clone()))]),
    }));
    let conditional = conditional_params();
    paths.insert("/api/v1/spaces/{space}/forms/{form}/records/{id}".into(), json!({
        "get": op("Get a record", record_params(), None, vec![("200", ok("The record", record.clone()))]),
        "patch": op("Merge-patch a record's data (RFC 7396)", conditional.clone(), Some(data), vec![("200", ok("Updated", record))]),
        "delete": op("Delete a record", conditional, None, vec![("204", json!({ "description": "Deleted" }))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/records/{id}/transition".into(), json!({
        "post": op("Move a record to another pipeline stage (409 if the move is not allowed or the checklist is not done)",
                   conditional_params(), Some(json!({ "type": "object", "required": ["to"], "properties": { "to": { "type": "string" } } })),
                   vec![("200", ok("Moved", schema_ref("Record")))]),
    }));
    let workflow_params = || vec![name_param("space", "Space name"), name_param("name", "Workflow name")];
    let workflow = json!({ "type": "object", "description": "A workflow definition: trigger, when, actions" });
    paths.insert("/api/v1/spaces/{space}/workflows".into(), json!({
        "get": op("List the latest version of each workflow, in run order", space_params(), None, vec![("200", ok("Workflows", page_of(json!({"type": "object"}))))]),
    }));
    let stored_workflow = json!({ "type": "object", "properties": { "warnings": { "type": "array",
        "items": { "type": "object", "properties": { "path": { "type": "string" }, "message": { "type": "string" } } } } } });
    paths.insert("/api/v1/spaces/{space}/workflows/{name}".into(), json!({
        "get": op("Get a workflow definition (`?version=N`)", workflow_params(), None, vec![("200", ok("The workflow version", json!({"type": "object"})))]),
        "put": op("Store a definition as the workflow's next version; `warnings` lists what it asks for that can't work yet (an endpoint the space lacks or has disabled, email without SMTP)", workflow_params(), Some(workflow), vec![("200", ok("Stored (or unchanged)", stored_workflow.clone())), ("201", ok("First version stored", stored_workflow.clone()))]),
        "patch": op("Change part of the definition: a JSON merge patch (RFC 7396) on the current version, stored as the next (`If-Match`: that version's ETag, 412 if stale); `warnings` as for PUT",
                    definition_conditional(workflow_params()), Some(json!({ "type": "object", "description": "A merge patch of the workflow definition" })),
                    vec![("200", ok("Stored (or unchanged)", stored_workflow))]),
    }));
    paths.insert("/api/v1/spaces/{space}/workflows/{name}/run".into(), json!({
        "post": op("Run the workflow now, for one record (`{record}`) or none", workflow_params(), Some(json!({"type": "object", "properties": {"record": {"type": "string"}}})), vec![("201", ok("The run", schema_ref("Run")))]),
    }));
    paths.insert("/api/v1/spaces/{space}/workflows/{name}/test".into(), json!({
        "post": op("Dry run: what the workflow would do with a sample record; stores nothing", workflow_params(),
                   Some(json!({"type": "object", "properties": {"record_id": {"type": "string"}, "record": {"type": "object"}, "old": {"type": "object"}, "event": {"type": "string"}, "now": {"type": "string", "format": "date-time"}}})),
                   vec![("200", ok("The run it would be, the records and deliveries it would write", json!({"type": "object"})))]),
    }));
    let mut run_list_params = space_params();
    for (name, description) in [
        ("workflow", "Only this workflow's runs"),
        ("status", "succeeded, skipped or failed"),
        ("record", "Only runs triggered by this record"),
        ("cursor", "`next_cursor` of the previous page"),
    ] {
        run_list_params.push(query_param(name, description, json!({ "type": "string" })));
    }
    for (name, description) in
        [("since", "Only runs started at or after this instant"), ("until", "Only runs started before this instant")]
    {
        run_list_params.push(query_param(name, description, json!({ "type": "string", "format": "date-time" })));
    }
    run_list_params.push(query_param("limit", "Page size (default 50, max 1000)", json!({ "type": "integer" })));
    paths.insert("/api/v1/spaces/{space}/runs".into(), json!({
        "get": op("Workflow runs, newest first", run_list_params, None, vec![("200", ok("Runs", page_of(schema_ref("Run"))))]),
    }));
    let run_params = || vec![name_param("space", "Space name"), path_param("id", "Run id")];
    paths.insert(
        "/api/v1/spaces/{space}/runs/{id}".into(),
        json!({
            "get": op("One run", run_params(), None, vec![("200", ok("The run", schema_ref("Run")))]),
        }),
    );
    paths.insert("/api/v1/spaces/{space}/runs/{id}/retry".into(), json!({
        "post": op("Run the run's workflow again, at its current version, on the same event", run_params(), None, vec![("201", ok("The new run", schema_ref("Run")))]),
    }));
    let mut history_params = record_params();
    history_params.push(query_param("limit", "Page size (default 100, max 1000)", json!({ "type": "integer" })));
    history_params.push(query_param("cursor", "`next_cursor` of the previous page", json!({ "type": "string" })));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/records/{id}/history".into(), json!({
        "get": op("A record's events, oldest first", history_params, None, vec![("200", ok("Events", page_of(schema_ref("Event"))))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/aggregate".into(), json!({
        "post": op("Aggregate records: metrics (count, sum, avg, min, max, count_distinct, percentile) per group of fields, date buckets (`{field, bucket, timezone}`) or number bins (`{field, bins}`); 400 with JSON pointers for a query that does not fit the form, or past 10,000 groups or 10 s",
                   form_params(), Some(schema_ref("AggregateQuery")),
                   vec![("200", ok("Groups in key order (or `sort`), and the total; header Tend-Query-Plan tells scan or index", schema_ref("AggregateResult")))]),
    }));
    let mut export_params = form_params();
    for (name, description, schema) in [
        ("filter", "Filter expression, as for a list", json!({ "type": "string" })),
        ("sort", "Sort, as for a list", json!({ "type": "string" })),
        ("format", "File format (default csv)", json!({ "type": "string", "enum": ["csv", "ndjson", "xlsx"] })),
        (
            "fields",
            "Comma-separated columns (default: id, every field, then version, created_at/by, updated_at/by)",
            json!({ "type": "string" }),
        ),
    ] {
        export_params.push(query_param(name, description, schema));
    }
    paths.insert("/api/v1/spaces/{space}/forms/{form}/export".into(), json!({
        "get": op("The records as a file, streamed; headers are field names, so it imports back", export_params, None, vec![("200", json!({
            "description": "The file",
            "content": {
                "text/csv": { "schema": { "type": "string" } },
                "application/x-ndjson": { "schema": { "type": "string" } },
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } }
            } }))]),
    }));
    let mut import_params = form_params();
    for (name, description, schema) in [
        ("format", "File format (default: the Content-Type, else the file's first bytes)", json!({ "type": "string", "enum": ["csv", "ndjson", "xlsx"] })),
        ("map", "`column:field` (repeatable): which field a column fills; `column:` leaves it out", json!({ "type": "string" })),
        ("key", "Upsert by this indexed field", json!({ "type": "string" })),
        ("ref", "`field:key_field` (repeatable): match an x-ref field's natural keys against this field of the referenced form (default `name`)", json!({ "type": "string" })),
        ("dry_run", "Check every row, store nothing", json!({ "type": "boolean" })),
        ("workflows", "false: the rows' events trigger no workflow", json!({ "type": "boolean" })),
        ("mode", "all (nothing stored if a row fails) or resumable (valid rows stored chunk by chunk)", json!({ "type": "string", "enum": ["all", "resumable"] })),
        ("start_row", "Skip rows numbered below this (resuming)", json!({ "type": "integer" })),
        ("day_first", "Read 03/04/2026 as the 3rd of April", json!({ "type": "boolean" })),
        ("decimal_comma", "Read 1.234,5 as 1234.5", json!({ "type": "boolean" })),
        ("timezone", "Zone of date-times without an offset (default UTC)", json!({ "type": "string" })),
    ] {
        import_params.push(query_param(name, description, schema));
    }
    paths.insert("/api/v1/spaces/{space}/forms/{form}/import".into(), json!({
        "post": op("Import a CSV, NDJSON or XLSX file (the body) into the form", import_params, Some(json!({
            "required": true,
            "content": {
                "text/csv": { "schema": { "type": "string" } },
                "application/x-ndjson": { "schema": { "type": "string" } },
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } }
            } })), vec![("200", ok("The column mapping used and the report: counts, stored_through, and each row error (row, column, field, message)", json!({ "type": "object" })))]),
    }));
    let mut timer_params = space_params();
    for (name, description, schema) in [
        ("workflow", "Only this workflow's timers", json!({ "type": "string" })),
        ("record", "Only this record's timers", json!({ "type": "string", "format": "uuid" })),
        ("before", "Only timers due before this instant", json!({ "type": "string", "format": "date-time" })),
        ("cursor", "`next_cursor` of the previous page", json!({ "type": "string" })),
        ("limit", "Page size (default 50, max 1000)", json!({ "type": "integer" })),
    ] {
        timer_params.push(query_param(name, description, schema));
    }
    paths.insert("/api/v1/spaces/{space}/timers".into(), json!({
        "get": op("Upcoming timers, in due order", timer_params, None, vec![("200", ok("Timers", page_of(schema_ref("Timer"))))]),
    }));
    integration_paths(&mut paths);
    calendar_and_pack_paths(&mut paths);
    people_paths(&mut paths);
    let me = json!({ "type": "object", "properties": {
        "caller": { "type": "string" }, "token_id": { "type": "string" }, "role": { "type": "string" },
        "user": { "type": ["object", "null"], "description": "The user acting (none for a bootstrap token)" },
        "superadmin": { "type": "boolean" }, "space": { "type": ["string", "null"] }, "read_only": { "type": "boolean" },
        "memberships": { "type": "array", "items": { "type": "object", "properties": { "space": { "type": "string" },
            "role": { "type": "string" }, "teams": { "type": "array", "items": { "type": "string" } } } } },
        "via": { "enum": ["session", "token"] }, "session_expires_at": { "type": ["string", "null"], "format": "date-time" } } });
    let mut count_params = form_params();
    count_params.push(query_param("filter", "Filter expression, as for listing", json!({ "type": "string" })));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/count".into(), json!({
        "get": op("How many records match the filter (all without one)", count_params, None,
                  vec![("200", ok("The count", json!({ "type": "object", "properties": { "count": { "type": "integer" } } })))]),
    }));
    let view = json!({ "type": "object", "required": ["title"], "properties": {
        "title": { "type": "string" }, "filter": { "type": "string", "description": "A filter expression, checked against the form (422 at /filter)" },
        "sort": { "type": "string" }, "columns": { "type": "array", "items": { "type": "string" } },
        "shared": { "type": "boolean", "description": "Seen by everyone in the space, else only by whoever saved it" } } });
    let view_params = || {
        let mut p = form_params();
        p.push(name_param("view", "View name"));
        p
    };
    let mut new_view = view.clone();
    new_view["required"] = json!(["name", "title"]);
    new_view["properties"]["name"] = json!({ "type": "string", "description": "Slug, unique per form" });
    paths.insert("/api/v1/spaces/{space}/forms/{form}/views".into(), json!({
        "get": op("Saved views of a form the caller may see (shared, and their own)", form_params(), None, vec![("200", ok("Views", page_of(view.clone())))]),
        "post": op("Save a new view", form_params(), Some(new_view), vec![("201", ok("Created", view.clone()))]),
    }));
    paths.insert("/api/v1/spaces/{space}/forms/{form}/views/{view}".into(), json!({
        "get": op("Get a saved view", view_params(), None, vec![("200", ok("The view", view.clone()))]),
        "put": op("Create or replace a saved view", view_params(), Some(view.clone()),
                  vec![("200", ok("Replaced", view.clone())), ("201", ok("Created", view))]),
        "delete": op("Delete a saved view", view_params(), None, vec![("204", json!({ "description": "Deleted" }))]),
    }));
    dashboard_paths(&mut paths);
    paths.insert("/api/v1/auth/session".into(), json!({
        "post": op("Sign in with an API token: opens a browser session (HttpOnly cookie `tend_session`); needs a same-origin Origin",
                   vec![], Some(json!({ "type": "object", "required": ["token"], "properties": { "token": { "type": "string" } } })),
                   vec![("201", ok("Signed in; Set-Cookie carries the session", me.clone()))]),
        "delete": op("Sign out: ends the cookie's session on the server", vec![], None, vec![("204", json!({ "description": "Signed out" }))]),
    }));
    paths.insert("/api/v1/auth/link/{code}".into(), json!({
        "get": op("Use a one-time sign-in link printed at start (15 minutes, once): opens a session and redirects to the app",
                  vec![path_param("code", "The link's code")], None,
                  vec![("303", json!({ "description": "To `/` with the session cookie, or to `/signin?link=invalid`" }))]),
    }));
    paths.insert("/api/v1/auth/me".into(), json!({
        "get": op("Who the caller is (user, superadmin, memberships), and whether by session or token", vec![], None, vec![("200", ok("The caller", me))]),
    }));
    paths
}

/// Dashboards and their data.
#[rustfmt::skip]
fn dashboard_paths(paths: &mut Map<String, Value>) {
    let widget = json!({ "type": "object", "required": ["id", "title", "type", "form"], "properties": {
        "id": { "type": "string" }, "title": { "type": "string" },
        "type": { "enum": ["kpi", "bar", "line", "pie", "donut", "funnel", "table"] },
        "form": { "type": "string" },
        "query": { "type": "object", "description": "An aggregate query; its filter may use {today+30d}, {quarter}, {from}, {to}" },
        "ratio": { "type": "object", "required": ["numerator", "denominator"], "description": "First metric of one aggregate over another's" },
        "segments": { "type": "array", "items": { "type": "object", "required": ["label", "filter"] } },
        "periods": { "enum": ["month", "quarter", "year"] },
        "date_field": { "type": "string" }, "owner_field": { "type": "string" },
        "format": { "enum": ["number", "percent", "currency"] }, "currency": { "type": "string" } } });
    let definition = json!({ "type": "object", "required": ["title", "widgets"], "properties": {
        "title": { "type": "string" }, "description": { "type": "string" },
        "date_range": { "type": "object", "properties": { "from": { "type": "string" }, "to": { "type": "string" } } },
        "teams": { "type": "object", "description": "Team name → the owners in it, for the team filter",
                   "additionalProperties": { "type": "array", "items": { "type": "string" } } },
        "widgets": { "type": "array", "items": widget } } });
    let stored = json!({ "type": "object", "required": ["name", "version", "definition"], "properties": {
        "name": { "type": "string" }, "version": { "type": "integer" }, "definition": definition.clone(),
        "updated_by": { "type": "string" }, "updated_at": { "type": "string", "format": "date-time" } } });
    let mut named = definition.clone();
    named["required"] = json!(["name", "title", "widgets"]);
    named["properties"]["name"] = json!({ "type": "string", "description": "Slug, unique per space" });
    let one = || vec![name_param("space", "Space name"), name_param("dashboard", "Dashboard name")];
    let conditional = || {
        let mut params = one();
        params.push(header_param("If-Match", "ETag of the version the change is based on; 412 if stale"));
        params
    };
    let mut versioned = one();
    versioned.push(query_param("version", "A past version (default: the latest)", json!({ "type": "integer" })));
    paths.insert("/api/v1/spaces/{space}/dashboards".into(), json!({
        "get": op("Dashboards of a space, latest versions", space_params(), None, vec![("200", ok("Dashboards", page_of(stored.clone())))]),
        "post": op("Create a dashboard (checked against the space's forms: 422 with pointers such as /widgets/3/query/metrics/0/field)",
                   space_params(), Some(named), vec![("201", ok("Created", stored.clone()))]),
    }));
    paths.insert("/api/v1/spaces/{space}/dashboards/{dashboard}".into(), json!({
        "get": op("A dashboard (ETag: its version)", versioned, None, vec![("200", ok("The dashboard", stored.clone()))]),
        "put": op("Store a new version of a dashboard", conditional(), Some(definition),
                  vec![("200", ok("Stored", stored.clone())), ("201", ok("Created", stored))]),
        "delete": op("Delete a dashboard with its versions", conditional(), None, vec![("204", json!({ "description": "Deleted" }))]),
    }));
    let data = json!({ "type": "object", "required": ["name", "version", "from", "to", "widgets"], "properties": {
        "name": { "type": "string" }, "version": { "type": "integer" },
        "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" },
        "owner": { "type": "string" }, "team": { "type": "string" },
        "widgets": { "type": "array", "items": { "type": "object", "required": ["id", "form", "keys", "metrics", "rows", "total"], "properties": {
            "id": { "type": "string" }, "form": { "type": "string" },
            "keys": { "type": "array", "items": { "type": "string" } }, "metrics": { "type": "array", "items": { "type": "string" } },
            "rows": { "type": "array", "items": { "type": "object", "properties": {
                "key": { "type": "object" }, "values": { "type": "object" },
                "filter": { "type": "string", "description": "The records behind the row, as a filter of `form`" } } } },
            "total": { "type": "object" },
            "error": { "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } } } } });
    let range = json!({ "type": "object", "properties": {
        "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" }, "owner": { "type": "string" }, "team": { "type": "string" } } });
    let mut data_params = one();
    data_params.push(query_param("from", "First day (default: the dashboard's range)", json!({ "type": "string", "format": "date" })));
    data_params.push(query_param("to", "Last day, included", json!({ "type": "string", "format": "date" })));
    data_params.push(query_param("owner", "Only records whose widget owner field is this", json!({ "type": "string" })));
    data_params.push(query_param("team", "Only records owned by a member of this team (one of the definition's `teams`)", json!({ "type": "string" })));
    paths.insert("/api/v1/spaces/{space}/dashboards/{dashboard}/data".into(), json!({
        "get": op("Every widget's numbers for a date range and owner", data_params, None, vec![("200", ok("Per-widget rows and totals", data.clone()))]),
        "post": op("The same, the range and owner in the body", one(), Some(range), vec![("200", ok("Per-widget rows and totals", data))]),
    }));
}

/// Webhook endpoints, inbound hooks and the outbox.
#[rustfmt::skip]
/// The next days' calendar, the template gallery and a space exported as a pack.
fn calendar_and_pack_paths(paths: &mut Map<String, Value>) {
    let mut params = space_params();
    params.push(query_param("days", "How many days ahead (default 30, at most 92)", json!({ "type": "integer", "minimum": 1, "maximum": 92 })));
    params.push(query_param("limit", "At most this many items (default 500, at most 2000)", json!({ "type": "integer", "minimum": 1, "maximum": 2000 })));
    let timestamp = json!({ "type": "string", "format": "date-time" });
    let item = json!({ "type": "object", "required": ["at", "local", "timezone", "kind", "spec", "workflows", "overdue"], "properties": {
        "at": timestamp, "local": { "type": "string", "description": "On the wall clock of `timezone`" },
        "timezone": { "type": "string" }, "kind": { "type": "string", "enum": ["date_offset", "delay", "cron", "sla"] },
        "spec": { "type": "string", "description": "The offset, delay, cron expression, or the stage whose SLA breaches" },
        "workflows": { "type": "array", "items": { "type": "string" }, "description": "What runs: the timer's workflow, or those an SLA breach triggers" },
        "title": { "type": "string" }, "condition": { "type": "string", "description": "The workflow's `when`, checked when it fires" },
        "form": { "type": "string" }, "record": { "type": "string", "format": "uuid" },
        "label": { "type": "string", "description": "The record's name-like field" },
        "person": { "type": "string", "description": "The record's person field (a user id or email)" },
        "overdue": { "type": "boolean", "description": "Due before now: fires as soon as the scheduler runs" } } });
    paths.insert("/api/v1/spaces/{space}/upcoming".into(), json!({
        "get": op("What would fire over the next days: pending timers, date offsets, delays, SLAs and cron occurrences, read from what is stored (nothing runs or is written; records out of the caller's scope are left out)",
                  params, None, vec![("200", ok("The calendar", json!({ "type": "object", "required": ["from", "until", "timezone", "items", "truncated"], "properties": {
                      "from": timestamp, "until": timestamp, "timezone": { "type": "string", "description": "The space's zone" },
                      "items": { "type": "array", "items": item },
                      "truncated": { "type": "boolean", "description": "More fire in the window than `items` holds" } } })))]),
    }));
    let named = json!({ "type": "array", "items": { "type": "object", "properties": {
        "name": { "type": "string" }, "title": { "type": ["string", "null"] } } } });
    paths.insert("/api/v1/packs".into(), json!({
        "get": op("The built-in template packs, with what each brings (`POST /api/v1/spaces {template}` installs one)", vec![], None,
                  vec![("200", ok("Packs", page_of(json!({ "type": "object", "properties": {
                      "name": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
                      "version": { "type": "string" }, "forms": named, "workflows": named, "dashboards": named, "views": named,
                      "sample_records": { "type": "integer" } } }))))]),
    }));
    paths.insert("/api/v1/spaces/{space}/pack".into(), json!({
        "get": op("The space's definitions as a template pack (forms, workflows, shared views, dashboards; no records, endpoints or hooks), zipped under a folder named after the space: `tend pack check` accepts it", space_params(), None,
                  vec![("200", json!({ "description": "The pack", "content": { "application/zip": { "schema": { "type": "string", "format": "binary" } } } }))]),
    }));
}

fn integration_paths(paths: &mut Map<String, Value>) {
    let named = |what: &str| vec![name_param("space", "Space name"), name_param("name", what)];
    let object = || json!({ "type": "object" });
    paths.insert("/api/v1/spaces/{space}/webhooks".into(), json!({
        "get": op("Outgoing webhook endpoints (secrets are never shown)", space_params(), None, vec![("200", ok("Endpoints", page_of(object())))]),
    }));
    paths.insert("/api/v1/spaces/{space}/webhooks/{name}".into(), json!({
        "get": op("One endpoint", named("Endpoint name"), None, vec![("200", ok("The endpoint", object()))]),
        "put": op("Store an endpoint `{url, secret?, headers?, enabled?, title?}`; a generated secret is in this answer only", named("Endpoint name"),
                  Some(json!({ "type": "object", "required": ["url"], "properties": { "url": { "type": "string" }, "secret": { "type": "string" }, "headers": { "type": "object" }, "enabled": { "type": "boolean" }, "title": { "type": "string" } } })),
                  vec![("200", ok("Updated", object())), ("201", ok("Created", object()))]),
        "delete": op("Delete an endpoint (409 while a workflow's notify action names it; deliveries already queued to it end dead)", named("Endpoint name"), None, vec![("204", json!({ "description": "Deleted" }))]),
    }));
    paths.insert("/api/v1/spaces/{space}/hooks".into(), json!({
        "get": op("Inbound hooks (secrets are never shown)", space_params(), None, vec![("200", ok("Hooks", page_of(object())))]),
    }));
    paths.insert("/api/v1/spaces/{space}/hooks/{name}".into(), json!({
        "get": op("One inbound hook", named("Hook name"), None, vec![("200", ok("The hook", object()))]),
        "put": op("Store a hook `{auth?: signature|bearer, secret?, schema?, enabled?, title?}`; a generated secret is in this answer only", named("Hook name"),
                  Some(object()), vec![("200", ok("Updated", object())), ("201", ok("Created", object()))]),
        "delete": op("Delete a hook (409 while a workflow is triggered by it)", named("Hook name"), None, vec![("204", json!({ "description": "Deleted" }))]),
        "post": op("An outside system's event: authenticated by the hook's Standard Webhooks signature or bearer secret (not a Tend token), body checked against the hook's schema", named("Hook name"),
                   Some(object()), vec![("202", ok("Appended as an `inbound` event", object())), ("200", ok("A replay of a `webhook-id` already taken within the replay window: nothing appended", object()))]),
    }));
    let mut list = space_params();
    list.push(query_param("status", "pending, delivering, delivered or dead", json!({ "type": "string" })));
    list.push(query_param("workflow", "Only this workflow's deliveries", json!({ "type": "string" })));
    list.push(query_param("cursor", "`next_cursor` of the previous page", json!({ "type": "string" })));
    list.push(query_param("limit", "Page size (default 50, max 1000)", json!({ "type": "integer" })));
    paths.insert("/api/v1/spaces/{space}/deliveries".into(), json!({
        "get": op("The outbox, newest first, with every attempt", list, None, vec![("200", ok("Deliveries", page_of(object())))]),
    }));
    let one = || vec![name_param("space", "Space name"), path_param("id", "Delivery id")];
    paths.insert(
        "/api/v1/spaces/{space}/deliveries/{id}".into(),
        json!({
            "get": op("One delivery", one(), None, vec![("200", ok("The delivery", object()))]),
        }),
    );
    paths.insert("/api/v1/spaces/{space}/deliveries/{id}/redeliver".into(), json!({
        "post": op("Send it again (same `webhook-id`), with a fresh budget of attempts", one(), None, vec![("202", ok("Pending again", object()))]),
    }));
    paths.insert("/api/v1/backup".into(), json!({
        "post": op("Back up the whole database (admins): a consistent snapshot taken while the server runs, streamed as an archive with a format version and a SHA-256 checksum; `tend restore` reads it. It holds webhook and hook secrets and token hashes: keep it as private as the data dir", vec![], None, vec![("200", json!({
            "description": "The archive, streamed; a transfer that breaks off leaves a file without its checksum, which a restore refuses",
            "headers": { "Content-Disposition": { "schema": { "type": "string" }, "description": "attachment; filename=\"tend-backup-<time>.tend\"" } },
            "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }))]),
    }));
}

/// Users, members, tokens, sessions and the audit log.
#[rustfmt::skip]
fn people_paths(paths: &mut Map<String, Value>) {
    let object = || json!({ "type": "object" });
    let user = json!({ "type": "object", "required": ["id", "email", "name", "time_zone", "locale", "superadmin", "disabled"], "properties": {
        "id": { "type": "string", "description": "Shown in `created_by` as `user:<id>`" },
        "email": { "type": "string" }, "name": { "type": "string" }, "time_zone": { "type": "string" },
        "locale": { "type": "string" }, "has_password": { "type": "boolean" }, "disabled": { "type": "boolean" },
        "superadmin": { "type": "boolean" }, "created_at": { "type": "string", "format": "date-time" } } });
    let new_user = json!({ "type": "object", "required": ["email", "name"], "properties": {
        "email": { "type": "string" }, "name": { "type": "string" }, "time_zone": { "type": "string" }, "locale": { "type": "string" },
        "password": { "type": "string", "minLength": 12 }, "superadmin": { "type": "boolean" } } });
    let user_change = json!({ "type": "object", "properties": {
        "name": { "type": "string" }, "time_zone": { "type": "string" }, "locale": { "type": "string" },
        "password": { "type": "string", "minLength": 12 },
        "old_password": { "type": "string", "description": "Needed to change one's own password once one is set" },
        "disabled": { "type": "boolean", "description": "Superadmins only" }, "superadmin": { "type": "boolean", "description": "Superadmins only" } } });
    paths.insert("/api/v1/users".into(), json!({
        "get": op("Users, oldest first (superadmins)", vec![], None, vec![("200", ok("Users", page_of(user.clone())))]),
        "post": op("Create a user (superadmins)", vec![], Some(new_user), vec![("201", ok("Created", user.clone()))]),
    }));
    let id = || vec![path_param("id", "The user's id")];
    paths.insert("/api/v1/users/{id}".into(), json!({
        "get": op("One user (superadmins, or the user themselves)", id(), None, vec![("200", ok("The user", user.clone()))]),
        "patch": op("Change a user: themselves (name, time zone, locale, password with the old one) or any field (superadmins)", id(), Some(user_change), vec![("200", ok("The user", user))]),
    }));
    let member = json!({ "type": "object", "required": ["user_id", "role", "teams"], "properties": {
        "user_id": { "type": "string" }, "role": { "type": "string", "enum": ["owner", "admin", "member", "viewer"] },
        "teams": { "type": "array", "items": { "type": "string" } }, "name": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] } } });
    let membership = json!({ "type": "object", "required": ["role"], "properties": {
        "role": { "type": "string", "enum": ["owner", "admin", "member", "viewer"] },
        "teams": { "type": "array", "items": { "type": "string" }, "description": "Team names (a-z, 0-9, - and _)" } } });
    paths.insert("/api/v1/spaces/{space}/members".into(), json!({
        "get": op("The space's members with their roles and teams", space_params(), None, vec![("200", ok("Members", page_of(member.clone())))]),
    }));
    let member_params = || vec![name_param("space", "Space name"), path_param("user_id", "The user's id")];
    paths.insert("/api/v1/spaces/{space}/members/{user_id}".into(), json!({
        "put": op("Make a user a member with a role and teams, or change theirs (admins and owners; only owners touch the owner role)",
                  member_params(), Some(membership), vec![("201", ok("A new member", member.clone())), ("200", ok("Changed", member))]),
        "delete": op("End a membership", member_params(), None, vec![("204", json!({ "description": "Removed" }))]),
    }));
    let token = json!({ "type": "object", "required": ["id", "role", "created_at", "user_id"], "properties": {
        "id": { "type": "string", "description": "Public id: shown in `created_by` as `token:<id>` for bootstrap tokens" },
        "role": { "type": "string", "enum": ["admin", "user"], "description": "`admin`: a bootstrap token (every right); `user`: at most its user's rights" },
        "user_id": { "type": "string", "description": "Its user; `bootstrap` for tokens made before people existed" },
        "label": { "type": "string" }, "space": { "type": "string", "description": "The one space it reaches" },
        "read_only": { "type": "boolean" }, "expires_at": { "type": "string", "format": "date-time" },
        "last_used_at": { "type": "string", "format": "date-time", "description": "Written at most once a minute" },
        "created_at": { "type": "string", "format": "date-time" } } });
    let new_token = json!({ "type": "object", "properties": {
        "label": { "type": "string" }, "space": { "type": "string" }, "read_only": { "type": "boolean" },
        "expires_at": { "type": "string", "format": "date-time" } } });
    paths.insert("/api/v1/tokens".into(), json!({
        "get": op("The caller's API tokens, oldest first (a superadmin's: every token), never their secrets", vec![], None, vec![("200", ok("Tokens", page_of(token.clone())))]),
        "post": op("Make a token acting for the caller, optionally narrowed to a space, read-only, expiring; the answer's `secret` is shown only this once",
                   vec![], Some(new_token), vec![("201", ok("The token with its secret", token))]),
    }));
    paths.insert("/api/v1/tokens/{id}".into(), json!({
        "delete": op("Revoke one of the caller's tokens (a superadmin: any): it is refused from this answer on", vec![path_param("id", "The token's public id")], None,
                     vec![("204", json!({ "description": "Revoked" }))]),
    }));
    paths.insert("/api/v1/auth/login".into(), json!({
        "post": op("Sign in with email and password: a new session in an HttpOnly cookie; needs a same-origin Origin; failed attempts are limited per account and per address (429 with Retry-After)",
                   vec![], Some(json!({ "type": "object", "required": ["email", "password"], "properties": { "email": { "type": "string" }, "password": { "type": "string" } } })),
                   vec![("201", ok("Signed in; Set-Cookie carries the session", object()))]),
    }));
    paths.insert("/api/v1/auth/logout".into(), json!({
        "post": op("Sign out: ends the cookie's session on the server", vec![], None, vec![("204", json!({ "description": "Signed out" }))]),
    }));
    let session = json!({ "type": "object", "properties": { "id": { "type": "string" }, "created_at": { "type": "string", "format": "date-time" },
        "expires_at": { "type": "string", "format": "date-time" }, "from": { "type": ["string", "null"] }, "current": { "type": "boolean" } } });
    paths.insert("/api/v1/auth/sessions".into(), json!({
        "get": op("The caller's live sessions", vec![], None, vec![("200", ok("Sessions", page_of(session)))]),
    }));
    paths.insert("/api/v1/auth/sessions/{id}".into(), json!({
        "delete": op("End one of the caller's sessions", vec![path_param("id", "The session's public id")], None, vec![("204", json!({ "description": "Ended" }))]),
    }));
    let entry = json!({ "type": "object", "properties": { "id": { "type": "string" }, "at": { "type": "string", "format": "date-time" },
        "actor": { "type": "string" }, "space": { "type": "string" }, "action": { "type": "string", "description": "`sign_in`, or `{METHOD} {route}` of a change" },
        "target": { "type": "string" }, "from": { "type": "string", "description": "The client's address" } } });
    let page_params = || vec![
        query_param("before", "An entry id: older entries", json!({ "type": "string" })),
        query_param("limit", "Page size (default 100, max 1000)", json!({ "type": "integer", "minimum": 1, "maximum": 1000 })),
    ];
    paths.insert("/api/v1/audit".into(), json!({
        "get": op("The audit log, newest first (superadmins)", page_params(), None, vec![("200", ok("Entries", page_of(entry.clone())))]),
    }));
    let mut space_page = space_params();
    space_page.extend(page_params());
    paths.insert("/api/v1/spaces/{space}/audit".into(), json!({
        "get": op("The space's audit log, newest first (owners and admins)", space_page, None, vec![("200", ok("Entries", page_of(entry)))]),
    }));
}

fn typed_collection(title: &str, data: &str, record: &str) -> Value {
    let params = vec![name_param("space", "Space name")];
    json!({
        "get": op(&format!("List {title} records"), list_params(params.clone()), None, vec![("200", ok("A page of records", record_page(schema_ref(record))))]),
        "post": op(&format!("Create a {title} record"), params, Some(schema_ref(data)), vec![("201", ok("Created", schema_ref(record)))]),
    })
}

fn typed_item(title: &str, data: &str, record: &str) -> Value {
    let params = vec![name_param("space", "Space name"), path_param("id", "Record id")];
    let mut conditional = params.clone();
    conditional.push(header_param("If-Match", "ETag of the version the change is based on"));
    json!({
        "get": op(&format!("Get a {title} record"), params, None, vec![("200", ok("The record", schema_ref(record)))]),
        "patch": op(&format!("Merge-patch a {title} record"), conditional.clone(), Some(schema_ref(data)), vec![("200", ok("Updated", schema_ref(record)))]),
        "delete": op(&format!("Delete a {title} record"), conditional, None, vec![("204", json!({ "description": "Deleted" }))]),
    })
}

fn common_schemas() -> Map<String, Value> {
    let timestamp = json!({ "type": "string", "format": "date-time" });
    let schemas = json!({
        "Problem": { "type": "object", "required": ["type", "title", "status"], "properties": {
            "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
            "detail": { "type": "string" },
            "errors": { "type": "array", "items": { "type": "object", "required": ["path", "message"], "properties": {
                "path": { "type": "string", "description": "JSON pointer" }, "message": { "type": "string" } } } } } },
        "NewSpace": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string", "pattern": "^[a-z][a-z0-9_-]{0,62}$" }, "title": { "type": "string" },
            "template": { "type": "string", "description": "A built-in template pack to install, e.g. customer-success" },
            "sample_data": { "type": "boolean", "description": "With template: also write the pack's sample records" },
            "from_space": { "type": "string", "description": "Copy this space's forms and workflows (not its records)" } } },
        "Space": { "type": "object", "properties": {
            "name": { "type": "string" }, "title": { "type": "string" }, "timezone": { "type": "string" },
            "created_at": timestamp, "created_by": { "type": "string" },
            "copied_from": { "type": "object", "description": "The space copied and the definition versions taken", "properties": {
                "space": { "type": "string" }, "forms": { "type": "object" }, "workflows": { "type": "object" } } },
            "template": { "type": "object", "properties": { "name": { "type": "string" }, "version": { "type": "string" } } } } },
        "FormDefinition": { "type": "object", "required": ["schema"], "properties": {
            "title": { "type": "string" }, "description": { "type": "string" },
            "schema": { "type": "object", "description": "JSON Schema 2020-12 of the record data" },
            "ui": { "type": "object" }, "indexes": { "type": "array", "items": { "type": "string" } },
            "computed": { "type": "object" }, "rules": { "type": "array" }, "pipeline": { "type": "object" } } },
        "StoredForm": { "type": "object", "properties": {
            "name": { "type": "string" }, "version": { "type": "integer" },
            "definition": { "$ref": "#/components/schemas/FormDefinition" },
            "created_at": timestamp, "created_by": { "type": "string" } } },
        "Record": { "type": "object", "required": ["id", "form", "version", "data", "created_at", "created_by", "updated_at", "updated_by"], "properties": {
            "id": { "type": "string", "format": "uuid" }, "form": { "type": "string" },
            "version": { "type": "integer", "minimum": 1 }, "form_version": { "type": "integer" },
            "data": { "type": "object" }, "stage": { "type": "string" },
            "created_at": timestamp, "created_by": { "type": "string" },
            "updated_at": timestamp, "updated_by": { "type": "string" }, "people": forms::people_schema() } },
        "Timer": { "type": "object", "properties": {
            "id": { "type": "string", "format": "uuid" },
            "kind": { "type": "string", "enum": ["date_offset", "delay", "cron", "sla"] },
            "workflow": { "type": ["string", "null"] }, "form": { "type": ["string", "null"] },
            "record": { "type": ["string", "null"], "format": "uuid" },
            "offset": { "type": "string", "description": "The offset, delay, cron expression or pipeline stage" },
            "due": timestamp, "due_local": { "type": "string", "description": "Due on the wall clock of `timezone`" },
            "timezone": { "type": "string" }, "scheduled_at": timestamp } },
        "Run": { "type": "object", "properties": {
            "id": { "type": "string", "format": "uuid" }, "workflow": { "type": "string" }, "workflow_version": { "type": "integer" },
            "event": { "type": "integer" }, "record": { "type": "string", "format": "uuid" }, "when": { "type": ["boolean", "null"] },
            "status": { "type": "string", "enum": ["succeeded", "skipped", "failed"] },
            "effects": { "type": "array" }, "output": { "type": "array", "items": { "type": "string" } },
            "error": { "type": "string" }, "retry_of": { "type": "string", "format": "uuid" },
            "late": { "type": "boolean" }, "note": { "type": "string" },
            "started_at": timestamp, "duration_us": { "type": "integer" } } },
        "AggregateQuery": { "type": "object", "additionalProperties": false, "properties": {
            "filter": { "type": "string", "description": "The record filter language, as in `?filter=` of a list" },
            "group_by": { "type": "array", "maxItems": 4, "items": { "oneOf": [
                { "type": "string", "description": "A field: one group per value (null: missing or null)" },
                { "type": "object", "required": ["field", "bucket"], "additionalProperties": false, "properties": {
                    "field": { "type": "string" }, "bucket": { "type": "string", "enum": ["day", "week", "month", "quarter", "year"] },
                    "timezone": { "type": "string", "description": "IANA zone a date-time is read in (default UTC)" },
                    "as": { "type": "string" } } },
                { "type": "object", "required": ["field", "bins"], "additionalProperties": false, "properties": {
                    "field": { "type": "string" }, "bins": { "type": "array", "items": { "type": "number" }, "description": "Strictly increasing edges; a bin's key is {from, to}" },
                    "as": { "type": "string" } } } ] } },
            "metrics": { "type": "array", "maxItems": 32, "items": { "type": "object", "required": ["op"], "additionalProperties": false, "properties": {
                "op": { "type": "string", "enum": ["count", "sum", "avg", "min", "max", "count_distinct", "percentile"] },
                "field": { "type": "string" }, "p": { "type": "number", "minimum": 0, "maximum": 100 },
                "as": { "type": "string", "description": "Its name in `values` (default `count` or `{op}_{field}`)" } } } },
            "sort": { "type": "string", "description": "Key or metric names, comma-separated, `-` for descending" },
            "limit": { "type": "integer", "minimum": 1, "maximum": 10000 } } },
        "AggregateResult": { "type": "object", "required": ["groups", "total"], "properties": {
            "groups": { "type": "array", "items": { "type": "object", "properties": {
                "key": { "type": "object" }, "values": { "type": "object" } } } },
            "total": { "type": "object", "description": "The metrics over every matching record" } } },
        "Event": { "type": "object", "properties": {
            "seq": { "type": "integer" }, "space": { "type": "string" }, "form": { "type": "string" },
            "record": { "type": "string", "format": "uuid" },
            "kind": { "type": "string", "enum": ["created", "updated", "deleted", "stage_changed", "timer_fired", "sla_breached", "inbound"] },
            "version": { "type": "integer" }, "before": { "type": ["object", "null"] }, "after": { "type": ["object", "null"] },
            "actor": { "type": "string" }, "at": timestamp } },
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn pascal_case(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}
