//! Spaces and form definitions: names, versions, schema errors, refusing changes that would
//! invalidate stored records, and index changes.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn spaces_are_created_listed_and_named_as_slugs() {
    let app = TestApp::spawn().await;
    let created = expect_json(
        app.post("/api/v1/spaces", &json!({ "name": "cs-emea", "title": "CS EMEA" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["title"], "CS EMEA");
    expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs-emea" })).await,
        StatusCode::CONFLICT,
        "already-exists",
    )
    .await;
    for bad in ["CS", "-cs", "cs emea", "", "a".repeat(64).as_str(), "ça"] {
        expect_problem(
            app.post("/api/v1/spaces", &json!({ "name": bad })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
    }
    let list = expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null());
    assert_eq!(expect_json(app.get("/api/v1/spaces/cs-emea").await, StatusCode::OK).await["name"], "cs-emea");
    expect_problem(app.get("/api/v1/spaces/nope").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn form_versions_are_kept_and_readable() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let path = "/api/v1/spaces/cs/forms/account";
    let response = app.put(path, &account_form()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The same definition again stores nothing new.
    let same = expect_json(app.put(path, &account_form()).await, StatusCode::OK).await;
    assert_eq!(same["version"], 1);

    let mut v2 = account_form();
    v2["schema"]["properties"]["nps"] = json!({ "type": "integer", "minimum": 0, "maximum": 10 });
    let stored = expect_json(app.put(path, &v2).await, StatusCode::OK).await;
    assert_eq!(stored["version"], 2);

    let latest = expect_json(app.get(path).await, StatusCode::OK).await;
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["definition"]["schema"]["properties"]["nps"]["maximum"], 10);
    let first = expect_json(app.get(&format!("{path}?version=1")).await, StatusCode::OK).await;
    assert!(first["definition"]["schema"]["properties"].get("nps").is_none());
    expect_problem(app.get(&format!("{path}?version=9")).await, StatusCode::NOT_FOUND, "not-found").await;

    let list = expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["version"], 2);

    // New records carry the version they were written with.
    let record = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    assert_eq!(record["form_version"], 2);
}

#[tokio::test]
async fn invalid_schemas_are_422_saying_what_is_wrong() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let path = "/api/v1/spaces/cs/forms/account";
    let bad = json!({
        "schema": { "type": "object", "properties": {
            "name": { "type": "strin" },
            "owner": { "type": "string", "format": "email" },
            "id": { "type": "string" },
            "link": { "$ref": "https://example.com/schema.json" }
        } },
        "indexes": ["missing"]
    });
    let problem = expect_problem(app.put(path, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let paths = error_paths(&problem);
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/name")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/id")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/link")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/indexes")), "{problem}");
    expect_problem(app.get(path).await, StatusCode::NOT_FOUND, "not-found").await;

    // A remote `$ref` is refused without being fetched: a listener on the address counts every
    // connection (whatever the method or protocol), and none is made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/schema.json", listener.local_addr().unwrap());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = std::sync::Arc::clone(&connections);
    let accepting = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let remote = json!({ "schema": { "type": "object", "properties": { "link": { "$ref": target } } } });
    let problem = expect_problem(app.put(path, &remote).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(error_paths(&problem).iter().all(|p| p.starts_with("/schema/properties/link")), "{problem}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "the compiler connected to fetch the schema");
    accepting.abort();

    let unknown_key = json!({ "schema": { "type": "object", "properties": {} }, "indexs": [] });
    let problem =
        expect_problem(app.put(path, &unknown_key).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/indexs"]);
}

#[tokio::test]
async fn schema_change_that_breaks_records_is_refused_unless_forced() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for i in 0..5 {
        let mut data = account(&format!("A{i}"), "growth", 50);
        if i % 2 == 0 {
            data.as_object_mut().unwrap().remove("owner");
        }
        app.create_record("cs", "account", &data).await;
    }
    let mut stricter = account_form();
    stricter["schema"]["required"] = json!(["name", "tier", "owner"]);
    let path = "/api/v1/spaces/cs/forms/account";
    let problem = expect_problem(app.put(path, &stricter).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["failing_records"], 3, "{problem}");
    let example = &problem["examples"][0];
    assert!(example["id"].is_string());
    assert_eq!(example["errors"][0]["path"], "/owner");
    assert_eq!(expect_json(app.get(path).await, StatusCode::OK).await["version"], 1, "nothing stored");

    let forced = expect_json(app.put(&format!("{path}?force=true"), &stricter).await, StatusCode::OK).await;
    assert_eq!(forced["version"], 2);
}

#[tokio::test]
async fn adding_an_index_later_indexes_existing_records() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let mut definition = account_form();
    definition["indexes"] = json!([]);
    app.put_form("cs", "account", &definition).await;
    for (i, health) in [90, 40, 75, 20].into_iter().enumerate() {
        app.create_record("cs", "account", &account(&format!("A{i}"), "growth", health)).await;
    }
    let path = format!("{}?filter=health%20%3C%2050", records_path("cs", "account"));
    let response = app.get(&path).await;
    assert_eq!(response.headers()["tend-query-plan"], "scan");
    assert_eq!(expect_json(response, StatusCode::OK).await["items"].as_array().unwrap().len(), 2);

    definition["indexes"] = json!(["health"]);
    app.put_form("cs", "account", &definition).await;
    let response = app.get(&path).await;
    assert_eq!(response.headers()["tend-query-plan"], "index:health");
    let page = expect_json(response, StatusCode::OK).await;
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A1", "A3"]);
}

/// A definition can be changed in part: a JSON merge patch on the current version, checked
/// against `If-Match` (the ETag GET answers), stored as the next version with the same checks
/// as a whole definition. A stale or invalid patch stores nothing.
#[tokio::test]
async fn forms_and_workflows_change_in_part_with_a_merge_patch() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let path = "/api/v1/spaces/cs/forms/account";
    app.put_form("cs", "account", &account_form()).await;
    let current = app.get(path).await;
    assert_eq!(current.headers()["etag"], "\"1\"");

    let add_nps = json!({ "schema": { "properties": { "nps": { "type": "integer", "minimum": 0, "maximum": 10 } } } });
    let stored = expect_json(app.patch(path, &add_nps, Some("\"1\"")).await, StatusCode::OK).await;
    assert_eq!(stored["version"], 2);
    let latest = expect_json(app.get(path).await, StatusCode::OK).await;
    let mut expected = account_form();
    expected["schema"]["properties"]["nps"] = add_nps["schema"]["properties"]["nps"].clone();
    assert_eq!(latest["definition"]["schema"], expected["schema"], "only the patched part changed");
    assert_eq!(latest["definition"]["indexes"], account_form()["indexes"]);

    // Based on version 1, which is no longer current: nothing is stored.
    let stale = json!({ "title": "Customer" });
    let refused = expect_problem(
        app.patch(path, &stale, Some("\"1\"")).await,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;
    assert_eq!(refused["current_version"], 2);
    // A patch whose result is not a valid definition names the failing part.
    let broken = json!({ "schema": { "properties": { "nps": { "type": "integer", "minimum": "zero" } } } });
    let invalid = app.patch(path, &broken, Some("\"2\"")).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = invalid.json().await.expect("problem");
    assert!(error_paths(&problem).iter().any(|p| p.contains("nps")), "{problem}");
    // `null` removes a member; without If-Match the patch applies to whatever is current.
    let unindex = json!({ "indexes": null });
    assert_eq!(expect_json(app.patch(path, &unindex, None).await, StatusCode::OK).await["version"], 3);
    let latest = expect_json(app.get(path).await, StatusCode::OK).await;
    assert!(latest["definition"].get("indexes").is_none_or(|indexes| indexes.as_array().is_some_and(Vec::is_empty)));
    expect_problem(app.patch("/api/v1/spaces/cs/forms/nope", &stale, None).await, StatusCode::NOT_FOUND, "not-found")
        .await;

    // Workflows too, with the warnings a whole definition gets.
    let workflow_path = "/api/v1/spaces/cs/workflows/flag";
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [ { "set": { "tier": "\"growth\"" } } ] });
    expect_json(app.put(workflow_path, &workflow).await, StatusCode::CREATED).await;
    assert_eq!(app.get(workflow_path).await.headers()["etag"], "\"1\"");
    let notify = json!({ "actions": [ { "notify": { "webhook": "missing" } } ] });
    let patched = expect_json(app.patch(workflow_path, &notify, Some("\"1\"")).await, StatusCode::OK).await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["definition"]["trigger"], workflow["trigger"], "the trigger is kept");
    assert!(patched["warnings"].as_array().is_some_and(|warnings| !warnings.is_empty()), "{patched}");
    expect_problem(
        app.patch(workflow_path, &notify, Some("\"1\"")).await,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;
    assert_eq!(expect_json(app.get(workflow_path).await, StatusCode::OK).await["version"], 2);
}

/// A draft with a pipeline, a computed field and a rule, for the evaluate endpoint.
fn draft_with_scripts(health: &str) -> serde_json::Value {
    let mut draft = account_form();
    draft["schema"]["properties"]["stage"] = json!({ "type": "string", "enum": ["onboarding", "live"] });
    draft["computed"] = json!({ "health": health });
    draft["rules"] = json!([{ "name": "big-enterprise", "expr": "record.tier != \"enterprise\" || record.arr >= 50000",
                              "message": "enterprise accounts have at least 50,000 ARR", "path": "/arr" }]);
    draft["pipeline"] = json!({ "field": "stage", "stages": [{ "name": "onboarding" }, { "name": "live" }] });
    draft
}

#[tokio::test]
async fn a_draft_definition_is_evaluated_on_data_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let stored = app.put_form("cs", "account", &account_form()).await;
    let path = "/api/v1/spaces/cs/forms/account/evaluate";
    let seq = app.last_event_seq();

    // A new record: the computed field is set (a sent value is recomputed), the stage filled in.
    let data = json!({ "name": "Acme", "tier": "growth", "arr": 30000, "health": 1 });
    let body = json!({ "definition": draft_with_scripts("(record.arr / 1000).to_int()"), "record": data });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["record"]["health"], 30);
    assert_eq!(answer["record"]["stage"], "onboarding");
    assert_eq!(answer["computed"], json!([{ "field": "health", "path": "/computed/health", "value": 30 }]));
    assert_eq!(answer["rules"][0]["outcome"], "passed");
    assert_eq!(answer["errors"], json!([]));

    // A failing rule and a schema error (the computed value is out of range) are the errors a
    // write would answer with; rules are skipped when the schema fails, as on a write.
    let data = json!({ "name": "Big", "tier": "enterprise", "arr": 20000 });
    let body = json!({ "definition": draft_with_scripts("(record.arr / 1000).to_int()"), "record": data });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(answer["valid"], false);
    assert_eq!(answer["rules"][0]["outcome"], "failed");
    assert_eq!(error_paths(&answer), vec!["/arr"]);
    let body = json!({ "definition": draft_with_scripts("record.arr.to_int()"), "record": { "name": "X", "tier": "enterprise", "arr": 200 } });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(error_paths(&answer), vec!["/health"]);
    assert_eq!(answer["rules"][0]["outcome"], "skipped");

    // A script that does not compile is an outcome with its line and column, not a 422.
    let body = json!({ "definition": draft_with_scripts("let x = record.arr;\nx +* 2"), "record": { "name": "A", "tier": "growth" } });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(answer["valid"], false);
    let error = &answer["computed"][0]["error"];
    assert_eq!(error["line"], 2, "{answer}");
    assert!(error["column"].as_u64().is_some(), "{answer}");
    assert!(error["message"].as_str().unwrap().contains("syntax error"), "{answer}");
    // A runtime error too, with the position where it happened.
    let body = json!({ "definition": draft_with_scripts("if record.tier == \"growth\" {\n  nope(1)\n} else { 0 }"), "record": { "name": "A", "tier": "growth" } });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(answer["computed"][0]["error"]["line"], 2, "{answer}");

    // An existing record (by id) keeps its stage; a malformed definition is a 422 with pointers.
    let record = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let mut data = record["data"].clone();
    data["stage"] = json!("live");
    let body = json!({ "definition": draft_with_scripts("7"), "record": data, "id": record["id"] });
    let answer = expect_json(app.post(path, &body).await, StatusCode::OK).await;
    assert_eq!(answer["record"]["stage"], "live");
    assert_eq!(answer["record"]["health"], 7);
    let mut bad = account_form();
    bad["indexes"] = json!(["nope"]);
    let problem = expect_problem(
        app.post(path, &json!({ "definition": bad, "record": {} })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), vec!["/indexes/0"]);

    // Nothing was stored: no new version, and the only event is the record created above.
    let current = expect_json(app.get("/api/v1/spaces/cs/forms/account").await, StatusCode::OK).await;
    assert_eq!(current["version"], stored["version"]);
    assert_eq!(app.last_event_seq(), seq + 1);
    let listed = expect_json(app.get(&records_path("cs", "account")).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}
