//! Tests for reading definitions from JSON and for durations.

use serde_json::json;

use super::*;

fn full_definition() -> Value {
    json!({
        "title": "Account",
        "schema": { "type": "object", "properties": { "name": { "type": "string" } } },
        "ui": { "columns": ["name"] },
        "indexes": ["name"],
        "computed": {
            "score": "record.health * 2",
            "label": { "expr": "record.name", "description": "display label" }
        },
        "rules": [ { "expr": "record.name != \"\"", "message": "name needed", "path": "/name" } ],
        "pipeline": {
            "field": "stage",
            "stages": [
                { "name": "onboarding", "sla": "2w",
                  "checklist": ["Kickoff call", { "id": "sso", "label": "Set up SSO" }] },
                { "name": "live" }
            ],
            "transitions": { "onboarding": ["live"] }
        }
    })
}

#[test]
fn reads_every_part_including_shorthands() {
    let def = FormDef::from_json(&full_definition()).unwrap();
    assert_eq!(def.title.as_deref(), Some("Account"));
    assert_eq!(def.indexes, ["name"]);
    assert_eq!(def.computed["score"], ComputedField { expr: "record.health * 2".into(), description: None });
    assert_eq!(def.computed["label"].description.as_deref(), Some("display label"));
    assert_eq!(def.rules[0].path, "/name");
    let pipeline = def.pipeline.as_ref().unwrap();
    assert_eq!(
        pipeline.stages[0].checklist,
        [
            ChecklistItem { id: "Kickoff call".into(), label: "Kickoff call".into() },
            ChecklistItem { id: "sso".into(), label: "Set up SSO".into() },
        ]
    );
    assert_eq!(pipeline.stages[0].sla.as_deref(), Some("2w"));
}

#[test]
fn serializes_tidily_and_round_trips() {
    let def = FormDef::from_json(&full_definition()).unwrap();
    let stored = serde_json::to_value(&def).unwrap();
    // Shorthands stay shorthands, and absent parts leave no `null`s behind.
    assert_eq!(stored, full_definition());
    assert_eq!(FormDef::from_json(&stored).unwrap(), def);

    let minimal = FormDef::from_json(&json!({ "schema": {} })).unwrap();
    assert_eq!(serde_json::to_value(&minimal).unwrap(), json!({ "schema": {} }));
}

#[test]
fn a_missing_rule_path_means_the_whole_record() {
    let def = FormDef::from_json(&json!({ "schema": {}, "rules": [{ "expr": "x", "message": "m" }] })).unwrap();
    assert_eq!(def.rules[0].path, "");
}

/// Asserts that reading `value` fails with one error at `path` whose message mentions `says`.
fn check_shape_error(value: Value, path: &str, says: &str) {
    let errors = FormDef::from_json(&value).expect_err(&value.to_string()).0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, path, "{value}: {errors:?}");
    assert!(errors[0].message.contains(says), "{value}: {:?}", errors[0].message);
}

#[test]
fn shape_errors_point_at_the_problem() {
    check_shape_error(json!({ "schema": {}, "indexs": [] }), "/indexs", "unknown field `indexs`");
    check_shape_error(json!({ "schema": {}, "indexes": "name" }), "/indexes", "invalid type");
    check_shape_error(json!({ "title": 3, "schema": {} }), "/title", "expected a string");
    check_shape_error(json!({}), "", "missing field `schema`");
    check_shape_error(json!([]), "", "must be a JSON object");
    check_shape_error(json!({ "schema": {}, "ui": [] }), "/ui", "`ui` must be an object");
    check_shape_error(
        json!({ "schema": {}, "rules": [{ "expr": "x", "message": "m" }, { "expr": "y" }] }),
        "/rules/1",
        "missing field `message`",
    );
    check_shape_error(
        json!({ "schema": {}, "computed": { "a": { "exp": "x" } } }),
        "/computed/a/exp",
        "unknown field `exp`",
    );
    check_shape_error(
        json!({ "schema": {}, "computed": { "a/b": 3 } }),
        "/computed/a~1b",
        "expected an expression string or an object",
    );
    check_shape_error(
        json!({ "schema": {}, "pipeline": { "field": "s", "stages": [{ "name": "a", "sla": 3 }] } }),
        "/pipeline/stages/0/sla",
        "expected a string",
    );
    check_shape_error(
        json!({ "schema": {}, "pipeline": { "field": "s",
                "stages": [{ "name": "a", "checklist": ["ok", { "id": "x" }] }] } }),
        "/pipeline/stages/0/checklist/1",
        "missing field `label`",
    );
    check_shape_error(
        json!({ "schema": {}, "pipeline": { "field": "s", "stages": [], "initial_stage": "a" } }),
        "/pipeline/initial_stage",
        "unknown field",
    );
}

#[test]
fn ui_may_be_null_or_absent() {
    assert_eq!(FormDef::from_json(&json!({ "schema": {}, "ui": null })).unwrap().ui, None);
}

#[test]
fn parses_durations_in_minutes_hours_days_weeks() {
    let cases = [("30m", 30 * 60), ("12h", 12 * 3600), ("3d", 3 * 86_400), ("2w", 14 * 86_400)];
    for (text, secs) in cases {
        assert_eq!(parse_duration(text), Ok(Duration::from_secs(secs)), "{text}");
    }
    assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
}

#[test]
fn rejects_malformed_durations() {
    for text in ["", "m", "3", "3s", "3D", "-3d", "+3d", "3.5h", "3 d", " 3d", "d3", "٣d"] {
        let err = parse_duration(text).expect_err(text);
        assert!(err.contains("is not a duration"), "{text}: {err}");
    }
    assert!(parse_duration("0d").unwrap_err().contains("longer than zero"));
    assert!(parse_duration("99999999999999999999w").unwrap_err().contains("too long"));
    assert!(parse_duration("99999999999999999w").unwrap_err().contains("too long"));
}

#[test]
fn pipeline_knows_its_initial_stage_and_allowed_moves() {
    let def = FormDef::from_json(&full_definition()).unwrap();
    let mut pipeline = def.pipeline.unwrap();
    assert_eq!(pipeline.initial_stage(), Some("onboarding"));
    assert!(pipeline.allows("onboarding", "live"));
    assert!(!pipeline.allows("live", "onboarding"));
    assert!(!pipeline.allows("onboarding", "churned"));

    pipeline.transitions.clear();
    assert!(pipeline.allows("live", "onboarding"), "no transitions means any move");
    pipeline.initial = Some("live".into());
    assert_eq!(pipeline.initial_stage(), Some("live"));
}

#[test]
fn reserved_fields_are_the_record_system_fields() {
    for name in ["id", "version", "created_at", "created_by", "updated_at", "updated_by"] {
        assert!(is_reserved_field(name), "{name}");
    }
    assert!(!is_reserved_field("stage"));
    assert!(!is_reserved_field("name"));
}
