//! Tests for compiling definitions and judging records.

use serde_json::json;

use super::*;

/// A customer-success account form using most of what forms can declare.
fn account_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
            "name": { "type": "string", "minLength": 1 },
            "health": { "type": "integer", "minimum": 0, "maximum": 100 },
            "score": { "type": "number" },
            "active": { "type": "boolean" },
            "renewal_date": { "type": "string", "format": "date" },
            "contacted_at": { "type": "string", "format": "date-time" },
            "email": { "type": "string", "format": "email" },
            "website": { "type": "string", "format": "uri" },
            "notes": { "type": ["string", "null"] },
            "due": { "type": ["null", "string"], "format": "date" },
            "mixed": { "type": ["string", "integer"] },
            "anything": {},
            "tags": { "type": "array", "items": { "type": "string" } },
            "stage": { "type": "string", "enum": ["onboarding", "live", "churned"] },
            "checklist": { "type": "object", "additionalProperties": { "type": "boolean" } },
            "level": { "type": "integer" },
            "address": {
                "type": "object",
                "properties": {
                    "city": { "type": "string" },
                    "zip": { "type": "integer" },
                    "id": { "type": "string" }
                }
            },
            "billing": { "$ref": "#/$defs/address" },
            "parent": { "type": "string", "x-ref": "account" },
            "contacts": { "type": "array", "items": { "type": "string", "x-ref": "contact" } },
            "owner": {
                "type": "object",
                "properties": { "user": { "type": "string", "x-ref": "team_member" } }
            }
        },
        "$defs": {
            "address": {
                "type": "object",
                "properties": { "country": { "type": "string" } }
            }
        }
    })
}

fn definition(schema: Value) -> Value {
    json!({ "schema": schema })
}

/// The account schema with `extra` merged over the definition's top level.
fn account_with(extra: Value) -> Value {
    let mut def = definition(account_schema());
    if let (Value::Object(def), Value::Object(extra)) = (&mut def, extra) {
        def.extend(extra);
    }
    def
}

fn compile(def_json: &Value) -> Result<CompiledForm, DefinitionErrors> {
    CompiledForm::compile(FormDef::from_json(def_json).expect("definition has a valid shape"))
}

fn form(def_json: Value) -> CompiledForm {
    compile(&def_json).unwrap_or_else(|e| panic!("definition should compile: {:#?}", e.0))
}

fn account_form() -> CompiledForm {
    form(definition(account_schema()))
}

/// Asserts that `def_json` fails to compile with errors at exactly `expected_paths` (any order).
fn check_errors(def_json: Value, expected_paths: &[&str]) -> Vec<FieldError> {
    let errors = compile(&def_json).expect_err("definition should be refused").0;
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    let mut expected = expected_paths.to_vec();
    expected.sort_unstable();
    assert_eq!(paths, expected, "{errors:#?}");
    errors
}

fn message_at<'a>(errors: &'a [FieldError], path: &str) -> &'a str {
    errors
        .iter()
        .find(|e| e.path == path)
        .map(|e| e.message.as_str())
        .unwrap_or_else(|| panic!("no error at {path}: {errors:#?}"))
}

/// The record errors as `(path, message)` pairs; empty when the record is valid.
fn record_errors(form: &CompiledForm, data: Value) -> Vec<(String, String)> {
    match form.validate(&data) {
        Ok(()) => Vec::new(),
        Err(ValidationErrors(errors)) => {
            assert!(!errors.is_empty(), "an Err must carry at least one error");
            errors.into_iter().map(|e| (e.path, e.message)).collect()
        }
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect()
}

// --- records ---------------------------------------------------------------------------------

#[test]
fn a_valid_record_passes() {
    let data = json!({
        "name": "Acme", "health": 80, "score": 1.5, "active": true,
        "renewal_date": "2025-01-31", "contacted_at": "2024-05-01T09:30:00+08:00",
        "email": "ana@example.com", "website": "https://acme.example", "notes": null,
        "tags": ["vip"], "stage": "live", "address": { "city": "Lyon", "zip": 69001 },
        "billing": { "country": "FR" }, "parent": "0190a1b2", "contacts": ["c1", "c2"]
    });
    assert_eq!(record_errors(&account_form(), data), pairs(&[]));
}

#[test]
fn four_faults_give_four_errors_at_exact_paths() {
    let data = json!({ "health": 150, "email": "not-an-email", "nickname": "Ace" });
    assert_eq!(
        record_errors(&account_form(), data),
        pairs(&[
            ("/email", "must be an email address"),
            ("/health", "must be at most 100"),
            ("/name", "is required"),
            ("/nickname", "is not a field of this form"),
        ])
    );
}

#[test]
fn nested_and_array_errors_use_instance_pointers() {
    let data = json!({
        "name": "Acme",
        "address": { "zip": "x" },
        "tags": ["ok", 7],
        "stage": "lost"
    });
    assert_eq!(
        record_errors(&account_form(), data),
        pairs(&[
            ("/address/zip", "must be an integer"),
            ("/stage", r#"must be one of: "onboarding", "live", "churned""#),
            ("/tags/1", "must be a string"),
        ])
    );
}

#[test]
fn every_date_and_link_format_is_enforced() {
    let form = account_form();
    let cases = [
        ("renewal_date", "2025-02-30", "2025-02-28", "must be a date (YYYY-MM-DD)"),
        ("contacted_at", "2024-05-01 09:30", "2024-05-01T09:30:00Z", "must be a date and time"),
        ("email", "ana.example.com", "ana@example.com", "must be an email address"),
        ("website", "acme.example/path", "https://acme.example/path", "must be an absolute URI"),
    ];
    for (field, bad, good, says) in cases {
        let errors = record_errors(&form, json!({ "name": "Acme", field: bad }));
        assert_eq!(errors.len(), 1, "{field}={bad}: {errors:?}");
        assert_eq!(errors[0].0, format!("/{field}"));
        assert!(errors[0].1.starts_with(says), "{field}: {}", errors[0].1);
        assert_eq!(record_errors(&form, json!({ "name": "Acme", field: good })), pairs(&[]));
    }
}

#[test]
fn system_fields_in_data_are_refused_once_each() {
    // additionalProperties: false would flag them too; only the clearer error is kept.
    let data = json!({ "name": "Acme", "id": "0190a1b2", "version": 3 });
    assert_eq!(
        record_errors(&account_form(), data),
        pairs(&[
            ("/id", "`id` is a system field and cannot be set"),
            ("/version", "`version` is a system field and cannot be set"),
        ])
    );
    // A nested property may be called `id`: only top-level keys are the record's own.
    let nested = json!({ "name": "Acme", "address": { "id": "a1" } });
    assert_eq!(record_errors(&account_form(), nested), pairs(&[]));
}

#[test]
fn system_fields_are_refused_even_when_extra_keys_are_allowed() {
    let open = form(definition(json!({ "type": "object", "properties": {} })));
    assert_eq!(
        record_errors(&open, json!({ "created_by": "me", "other": 1 })),
        pairs(&[("/created_by", "`created_by` is a system field and cannot be set")])
    );
}

#[test]
fn non_object_data_is_one_error_at_the_root() {
    for data in [json!([]), json!("x"), json!(null), json!(3)] {
        assert_eq!(record_errors(&account_form(), data), pairs(&[("", "must be an object")]));
    }
}

#[test]
fn errors_are_sorted_and_never_repeated() {
    let data = json!({ "name": "", "health": -1, "score": "x", "active": "x", "b": 1, "a": 2 });
    let errors = record_errors(&account_form(), data);
    let mut sorted = errors.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(errors, sorted);
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert_eq!(errors[0], ("/a".into(), "is not a field of this form".into()));
}

#[test]
fn messages_do_not_echo_submitted_values() {
    let secret = "4111-1111-1111-1111";
    let data = json!({ "name": "Acme", "email": secret, "stage": secret, "tags": secret });
    for (_, message) in record_errors(&account_form(), data) {
        assert!(!message.contains(secret), "{message}");
    }
    let any_of = form(definition(json!({ "type": "object", "properties": {
        "contact": { "anyOf": [{ "type": "integer" }, { "format": "email", "type": "string" }] }
    } })));
    let errors = record_errors(&any_of, json!({ "contact": secret }));
    assert_eq!(errors, pairs(&[("/contact", "does not match any of the allowed alternatives")]));
}

// --- the schema itself ----------------------------------------------------------------------

#[test]
fn invalid_schema_keywords_are_reported_inside_schema() {
    let errors = check_errors(
        definition(json!({ "type": "object", "properties": {
            "a": { "type": "strin" },
            "b": { "type": "integer", "minimum": "x" },
            "c": { "type": "string", "format": "emial" }
        } })),
        &["/schema/properties/a/type", "/schema/properties/b/minimum"],
    );
    assert!(message_at(&errors, "/schema/properties/a/type").contains("\"string\""));
}

#[test]
fn unknown_formats_are_refused_once_the_schema_is_otherwise_valid() {
    let errors = check_errors(
        definition(json!({ "type": "object", "properties": {
            "c": { "type": "string", "format": "emial" }
        } })),
        &["/schema/properties/c/format"],
    );
    assert!(message_at(&errors, "/schema/properties/c/format").starts_with("`emial` is not a known"));
}

#[test]
fn the_schema_root_must_describe_an_object_with_properties() {
    check_errors(definition(json!("object")), &["/schema"]);
    check_errors(definition(json!({ "properties": {} })), &["/schema/type"]);
    check_errors(definition(json!({ "type": "array", "properties": {} })), &["/schema/type"]);
    check_errors(definition(json!({ "type": "object" })), &["/schema/properties"]);
    // `properties: []` also breaks the meta-schema, reported at the same place.
    check_errors(
        definition(json!({ "type": "object", "properties": [] })),
        &["/schema/properties", "/schema/properties"],
    );
}

#[test]
fn only_draft_2020_12_is_accepted() {
    let mut schema = account_schema();
    schema["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    check_errors(definition(schema.clone()), &["/schema/$schema"]);
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema#");
    form(definition(schema));
}

#[test]
fn references_outside_the_form_are_refused_without_fetching() {
    let errors = check_errors(
        definition(json!({ "type": "object", "properties": {
            "a": { "$ref": "https://schemas.example.invalid/address.json" },
            "b": { "$ref": "http://127.0.0.1:9/x.json" },
            "c": { "items": { "$ref": "file:///etc/passwd" }, "type": "array" },
            "d": { "$ref": "address.json#/city" },
            "e": { "$ref": "#/$defs/missing" },
            "f": { "$ref": "#/$defs/ok" }
        }, "$defs": { "ok": { "type": "string" } } })),
        &[
            "/schema/properties/a/$ref",
            "/schema/properties/b/$ref",
            "/schema/properties/c/items/$ref",
            "/schema/properties/d/$ref",
            "/schema/properties/e/$ref",
        ],
    );
    assert!(message_at(&errors, "/schema/properties/a/$ref").contains("remote references"));
    assert!(message_at(&errors, "/schema/properties/c/items/$ref").contains("remote references"));
    assert!(message_at(&errors, "/schema/properties/d/$ref").contains("outside this form"));
    assert!(message_at(&errors, "/schema/properties/e/$ref").contains("does not point at"));
}

#[test]
fn the_compiler_itself_is_offline() {
    // Second line of defence behind the reference check: even a schema that reached the
    // compiler with a remote `$ref` must fail instead of fetching.
    let schema = json!({ "type": "object", "properties": {
        "a": { "$ref": "https://schemas.example.invalid/address.json" }
    } });
    assert!(build_validator(&schema).is_err());
}

#[test]
fn a_property_named_like_a_keyword_is_not_a_keyword() {
    form(definition(json!({ "type": "object", "properties": {
        "$ref": { "type": "string" },
        "x-ref": { "type": "string" },
        "kind": { "type": "string", "const": "x", "default": "x",
                  "examples": [{ "$ref": "https://example.invalid" }] }
    } })));
}

#[test]
fn reserved_properties_are_refused() {
    let errors = check_errors(
        definition(json!({ "type": "object", "properties": {
            "id": { "type": "string" },
            "updated_at": { "type": "string" },
            "name": { "type": "string" }
        } })),
        &["/schema/properties/id", "/schema/properties/updated_at"],
    );
    assert!(message_at(&errors, "/schema/properties/id").contains("system field"));
}

#[test]
fn x_ref_must_name_a_form() {
    check_errors(
        definition(json!({ "type": "object", "properties": {
            "a": { "type": "string", "x-ref": "Account" },
            "b": { "type": "array", "items": { "type": "string", "x-ref": "bad name" } },
            "c": { "type": "string", "x-ref": 3 },
            "d": { "type": "object", "properties": { "e": { "type": "string", "x-ref": "-x" } } },
            "ok": { "type": "string", "x-ref": "nps_response" }
        } })),
        &[
            "/schema/properties/a/x-ref",
            "/schema/properties/b/items/x-ref",
            "/schema/properties/c/x-ref",
            "/schema/properties/d/properties/e/x-ref",
        ],
    );
}

#[test]
fn ui_built_in_code_must_still_be_an_object() {
    let mut def = FormDef::from_json(&definition(account_schema())).unwrap();
    def.ui = Some(json!(["name"]));
    let errors = CompiledForm::compile(def).unwrap_err().0;
    assert_eq!(errors, [FieldError::new("/ui", "`ui` must be an object")]);
}

// --- indexes, computed, rules, pipeline -----------------------------------------------------

#[test]
fn indexes_name_distinct_scalar_top_level_properties() {
    let errors = check_errors(
        account_with(json!({ "indexes": [
            "name", "health", "renewal_date", "contacted_at", "notes", "active", "score",
            "ghost", "tags", "name", "address.city", "address", "mixed", "anything"
        ] })),
        &["/indexes/7", "/indexes/8", "/indexes/9", "/indexes/10", "/indexes/11", "/indexes/12", "/indexes/13"],
    );
    assert!(message_at(&errors, "/indexes/7").contains("not a top-level property"));
    assert!(message_at(&errors, "/indexes/8").contains("its type is array"));
    assert!(message_at(&errors, "/indexes/9").contains("more than once"));
    assert!(message_at(&errors, "/indexes/12").contains("unspecified or mixed"));
    let ok = form(account_with(json!({ "indexes": ["name", "due", "stage"] })));
    assert_eq!(ok.indexes(), ["name", "due", "stage"]);
}

#[test]
fn computed_fields_set_declared_properties_with_an_expression() {
    check_errors(
        account_with(json!({ "computed": {
            "score": "record.health / 10.0",
            "ghost": "1",
            "level": { "expr": "  " },
            "a/b": "1"
        } })),
        &["/computed/ghost", "/computed/level/expr", "/computed/a~1b"],
    );
}

#[test]
fn rules_need_an_expression_a_message_and_a_pointer() {
    check_errors(
        account_with(json!({ "rules": [
            { "expr": "", "message": "", "path": "/name" },
            { "expr": "true", "message": "m", "path": "name" },
            { "expr": "true", "message": "m", "path": "/a~2b" },
            { "expr": "true", "message": "m", "path": "/a~" },
            { "expr": "true", "message": "m", "path": "" },
            { "expr": "true", "message": "m", "path": "/a~0~1b/0" }
        ] })),
        &["/rules/0/expr", "/rules/0/message", "/rules/1/path", "/rules/2/path", "/rules/3/path"],
    );
}

fn with_pipeline(pipeline: Value) -> Value {
    account_with(json!({ "pipeline": pipeline }))
}

#[test]
fn a_consistent_pipeline_compiles() {
    let form = form(with_pipeline(json!({
        "field": "stage",
        "initial": "onboarding",
        "stages": [
            { "name": "onboarding", "sla": "2w", "checklist": ["Kickoff", { "id": "sso", "label": "SSO" }] },
            { "name": "live", "sla": "30m" },
            { "name": "churned" }
        ],
        "transitions": { "onboarding": ["live", "churned"], "live": ["churned"] }
    })));
    assert_eq!(form.def().pipeline.as_ref().unwrap().stages.len(), 3);
}

#[test]
fn pipeline_inconsistencies_are_all_reported() {
    let errors = check_errors(
        with_pipeline(json!({
            "field": "stage",
            "initial": "draft",
            "stages": [
                { "name": "onboarding", "sla": "soon",
                  "checklist": ["Kickoff", { "id": "Kickoff", "label": "again" }, ""] },
                { "name": "onboarding" },
                { "name": "" },
                { "name": "live", "sla": "0d" }
            ],
            "transitions": { "onboarding": ["live", "won"], "paused": ["live"] }
        })),
        &[
            "/pipeline/initial",
            "/pipeline/stages/0/sla",
            "/pipeline/stages/0/checklist/1",
            "/pipeline/stages/0/checklist/2",
            "/pipeline/stages/1/name",
            "/pipeline/stages/2/name",
            "/pipeline/stages/3/sla",
            "/pipeline/transitions/onboarding/1",
            "/pipeline/transitions/paused",
            // The stage field's enum has no "" stage.
            "/pipeline/stages/2/name",
        ],
    );
    assert!(message_at(&errors, "/pipeline/stages/1/name").contains("more than once"));
    assert!(message_at(&errors, "/pipeline/initial").contains("`draft` is not a stage"));
}

#[test]
fn an_sla_counts_from_a_date_field_with_an_sla() {
    let pipeline = |stages: Value| with_pipeline(json!({ "field": "stage", "stages": stages }));
    form(pipeline(json!([
        { "name": "onboarding", "sla": "5d", "sla_from": "renewal_date" },
        { "name": "live", "sla": "1d", "sla_from": "contacted_at" }
    ])));
    check_errors(
        pipeline(json!([
            { "name": "onboarding", "sla": "5d", "sla_from": "stage" },
            { "name": "live", "sla_from": "renewal_date" },
            { "name": "churned", "sla": "1d", "sla_from": "nope" }
        ])),
        &["/pipeline/stages/0/sla_from", "/pipeline/stages/1/sla_from", "/pipeline/stages/2/sla_from"],
    );
}

#[test]
fn the_pipeline_field_is_a_declared_string_whose_enum_allows_every_stage() {
    let stages = json!([{ "name": "onboarding" }, { "name": "won" }]);
    let errors =
        check_errors(with_pipeline(json!({ "field": "stage", "stages": stages })), &["/pipeline/stages/1/name"]);
    assert!(message_at(&errors, "/pipeline/stages/1/name").contains("not in the `enum`"));
    check_errors(with_pipeline(json!({ "field": "phase", "stages": stages })), &["/pipeline/field"]);
    check_errors(with_pipeline(json!({ "field": "level", "stages": stages })), &["/pipeline/field"]);
    check_errors(with_pipeline(json!({ "field": "stage", "stages": [] })), &["/pipeline/stages"]);
    // A nullable string without an enum is fine.
    form(with_pipeline(json!({ "field": "notes", "stages": stages })));
}

#[test]
fn every_problem_is_gathered_in_one_pass() {
    let mut schema = account_schema();
    schema["properties"]["id"] = json!({ "type": "string" });
    schema["properties"]["health"]["minimum"] = json!("zero");
    let def = json!({
        "schema": schema,
        "indexes": ["ghost"],
        "computed": { "ghost": "1" },
        "rules": [{ "expr": "x", "message": "m", "path": "name" }],
        "pipeline": { "field": "ghost", "stages": [{ "name": "a" }] }
    });
    check_errors(
        def,
        &[
            "/schema/properties/id",
            "/schema/properties/health/minimum",
            "/indexes/0",
            "/computed/ghost",
            "/rules/0/path",
            "/pipeline/field",
        ],
    );
}

// --- reading the schema ---------------------------------------------------------------------

#[test]
fn field_types_follow_type_format_nesting_and_refs() {
    let form = account_form();
    let cases = [
        ("name", Some(FieldType::String)),
        ("health", Some(FieldType::Integer)),
        ("score", Some(FieldType::Number)),
        ("active", Some(FieldType::Boolean)),
        ("renewal_date", Some(FieldType::Date)),
        ("contacted_at", Some(FieldType::DateTime)),
        ("notes", Some(FieldType::String)),
        ("due", Some(FieldType::Date)),
        ("mixed", Some(FieldType::Any)),
        ("anything", Some(FieldType::Any)),
        ("tags", Some(FieldType::Array)),
        ("address", Some(FieldType::Object)),
        ("address.city", Some(FieldType::String)),
        ("address.zip", Some(FieldType::Integer)),
        ("billing", Some(FieldType::Object)),
        ("billing.country", Some(FieldType::String)),
        ("owner.user", Some(FieldType::String)),
        ("ghost", None),
        ("address.ghost", None),
        ("name.first", None),
        ("", None),
        ("address.", None),
    ];
    for (path, expected) in cases {
        assert_eq!(form.field_type(path), expected, "{path}");
    }
}

#[test]
fn fields_lists_top_level_properties_deterministically() {
    let form = form(definition(json!({ "type": "object", "properties": {
        "a_name": { "type": "string" },
        "b_due": { "type": "string", "format": "date" },
        "c_tags": { "type": "array" }
    } })));
    assert_eq!(
        form.fields(),
        [
            ("a_name".to_owned(), FieldType::String),
            ("b_due".to_owned(), FieldType::Date),
            ("c_tags".to_owned(), FieldType::Array),
        ]
    );
}

#[test]
fn references_are_found_at_top_level_in_arrays_and_nested() {
    let form = account_form();
    let data = json!({
        "name": "Acme",
        "parent": "p1",
        "contacts": ["c0", 5, "c2"],
        "owner": { "user": "u1" },
        "notes": "not a reference"
    });
    let found: Vec<(String, String, String)> =
        form.references(&data).into_iter().map(|r| (r.path, r.form.to_string(), r.id)).collect();
    let expected = [
        ("/contacts/0", "contact", "c0"),
        ("/contacts/2", "contact", "c2"),
        ("/owner/user", "team_member", "u1"),
        ("/parent", "account", "p1"),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(p, f, i)| (p.to_string(), f.to_string(), i.to_string())).collect();
    assert_eq!(found, expected);
    assert!(form.references(&json!({ "parent": 3, "contacts": "c1" })).is_empty());
    assert!(form.references(&json!("not an object")).is_empty());
}

#[test]
fn accessors_return_the_definition_and_clones_share_it() {
    let form = form(account_with(json!({ "title": "Account", "indexes": ["name"] })));
    assert_eq!(form.def().title.as_deref(), Some("Account"));
    assert_eq!(form.indexes(), ["name"]);
    assert_eq!(form.data_schema(), &account_schema());
    let copy = form.clone();
    assert!(Arc::ptr_eq(&form.inner, &copy.inner));
    assert!(format!("{copy:?}").contains("CompiledForm"));
}

#[test]
fn compiled_forms_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<CompiledForm>();
    let form = account_form();
    let handle = std::thread::spawn(move || form.validate(&json!({ "name": "Acme" })).is_ok());
    assert!(handle.join().expect("validation thread panicked"));
}

#[test]
fn checklists_need_a_declared_object_property_to_keep_their_state() {
    let mut schema = account_schema();
    schema["properties"].as_object_mut().expect("properties").remove("checklist");
    let mut def = definition(schema);
    def["pipeline"] =
        json!({ "field": "stage", "stages": [{ "name": "onboarding", "checklist": ["Kickoff"] }, { "name": "live" }] });
    let errors = check_errors(def.clone(), &["/pipeline/checklist_field"]);
    assert!(message_at(&errors, "/pipeline/checklist_field").contains("`checklist`"));
    def["pipeline"]["checklist_field"] = json!("name");
    check_errors(def, &["/pipeline/checklist_field"]);
}

#[test]
fn unchecked_items_are_those_not_marked_true() {
    let form = form(with_pipeline(json!({
        "field": "stage",
        "stages": [{ "name": "onboarding", "checklist": ["kickoff", "sso", "training"] }, { "name": "live" }]
    })));
    let pipeline = form.def().pipeline.as_ref().expect("pipeline");
    let data = json!({ "checklist": { "kickoff": true, "sso": false, "other": true } });
    assert_eq!(pipeline.unchecked_items("onboarding", &data), ["sso", "training"]);
    assert!(pipeline.unchecked_items("live", &data).is_empty());
    assert_eq!(pipeline.unchecked_items("onboarding", &json!({})).len(), 3);
}

#[test]
fn x_person_marks_string_fields_that_hold_user_ids() {
    let errors = check_errors(
        definition(json!({ "type": "object", "properties": {
            "count": { "type": "integer", "x-person": true },
            "flag": { "type": "string", "x-person": "yes" },
            "owner": { "type": "string", "x-person": true }
        } })),
        &["/schema/properties/count/x-person", "/schema/properties/flag/x-person"],
    );
    assert!(message_at(&errors, "/schema/properties/count/x-person").contains("user id"));

    let marked = form(json!({
        "schema": { "type": "object", "properties": {
            "name": { "type": "string" },
            "csm": { "type": "string" },
            "owner": { "type": "string", "x-person": true },
            "watchers": { "type": "array", "items": { "type": "string", "x-person": true } },
            "quiet": { "type": "string", "x-person": false }
        } },
        "access": { "person_field": "csm" }
    }));
    // The access policy's person field holds a user id whether or not it says so.
    assert_eq!(marked.person_fields(), ["csm", "owner", "watchers"]);
    assert!(account_form().person_fields().is_empty());
}
