//! Tests for the OpenAPI schema fragments.

use serde_json::json;

use super::*;
use crate::definition::FormDef;

fn compiled(schema: Value) -> CompiledForm {
    let def = FormDef::from_json(&json!({ "schema": schema })).unwrap();
    CompiledForm::compile(def).unwrap()
}

#[test]
fn data_schema_drops_dialect_and_id_and_inlines_local_refs() {
    let form = compiled(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tend.example/forms/account",
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "home": { "$ref": "#/$defs/address" },
            "work": { "$ref": "#/$defs/address", "description": "office" },
            "kind": { "type": "string", "const": "x", "examples": [{ "$ref": "#/$defs/address" }] }
        },
        "$defs": {
            "address": { "type": "object", "properties": { "city": { "$ref": "#/$defs/city" } } },
            "city": { "type": "string", "minLength": 1 }
        }
    }));
    let address = json!({
        "type": "object",
        "properties": { "city": { "type": "string", "minLength": 1 } }
    });
    assert_eq!(
        record_data_schema(&form),
        json!({
            "type": "object",
            "properties": {
                "name": { "type": "string" },
                "home": address,
                "work": { "description": "office", "allOf": [address] },
                "kind": { "type": "string", "const": "x",
                          "examples": [{ "$ref": "#/$defs/address" }] }
            }
        })
    );
    // The original stays untouched for validation.
    assert!(form.data_schema().get("$defs").is_some());
}

#[test]
fn recursive_refs_are_cut_and_the_result_still_validates() {
    let form = compiled(json!({
        "type": "object",
        "properties": { "root": { "$ref": "#/$defs/node" } },
        "$defs": {
            "node": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": { "type": "string" },
                    "children": { "type": "array", "items": { "$ref": "#/$defs/node" } }
                }
            }
        }
    }));
    let embedded = record_data_schema(&form);
    let children = &embedded["properties"]["root"]["properties"]["children"];
    assert_eq!(children["items"], json!({}));
    assert!(!embedded.to_string().contains("$ref"));

    let validator = jsonschema::draft202012::new(&embedded).unwrap();
    assert!(validator.is_valid(&json!({ "root": { "label": "a", "children": [{}] } })));
    assert!(!validator.is_valid(&json!({ "root": { "children": [] } })));
}

#[test]
fn envelope_describes_a_stored_record() {
    let form = FormName::parse("account").unwrap();
    let mut envelope = record_envelope_schema(&form, "#/$defs/account_data");
    assert_eq!(envelope["properties"]["data"], json!({ "$ref": "#/$defs/account_data" }));
    assert_eq!(envelope["properties"]["form"]["const"], json!("account"));
    let required: Vec<&str> = envelope["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(
        required,
        ["id", "form", "version", "form_version", "data", "created_at", "created_by", "updated_at", "updated_by"]
    );

    // Check it against real records by giving the data reference something to point at.
    envelope["$defs"] = json!({ "account_data": {
        "type": "object", "properties": { "name": { "type": "string" } }
    } });
    let validator = jsonschema::draft202012::options().should_validate_formats(true).build(&envelope).unwrap();
    let mut record = json!({
        "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "form": "account",
        "version": 1,
        "form_version": 4,
        "data": { "name": "Acme" },
        "stage": "live",
        "created_at": "2024-05-01T09:30:00Z",
        "created_by": "ana",
        "updated_at": "2024-05-01T09:30:00Z",
        "updated_by": "ana"
    });
    assert!(validator.is_valid(&record));
    let faults = [
        ("version", json!(0)),
        ("form", json!("contact")),
        ("id", json!("not-a-uuid")),
        ("data", json!({ "name": 3 })),
        ("created_at", json!("yesterday")),
    ];
    for (key, bad) in faults {
        let good = std::mem::replace(&mut record[key], bad);
        assert!(!validator.is_valid(&record), "{key} should be refused");
        record[key] = good;
    }
    record.as_object_mut().unwrap().remove("stage");
    assert!(validator.is_valid(&record), "stage is optional");
}
