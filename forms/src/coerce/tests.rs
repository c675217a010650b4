//! Cells as people and spreadsheet tools write them, and what each field makes of them.

use serde_json::{json, Value};

use super::CoerceOptions;
use crate::{CompiledForm, FormDef};

fn form() -> CompiledForm {
    let def = json!({
        "title": "Account",
        "schema": {
            "type": "object",
            "properties": {
                "name": { "type": "string", "title": "Account name" },
                "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
                "stage": { "type": "string", "oneOf": [
                    { "const": "kickoff", "title": "Kick-off" },
                    { "const": "live", "title": "上线" } ] },
                "arr": { "type": "number" },
                "seats": { "type": "integer" },
                "active": { "type": "boolean" },
                "renewal_date": { "type": "string", "format": "date", "title": "Renewal date" },
                "last_login": { "type": "string", "format": "date-time" },
                "tags": { "type": "array", "items": { "type": "string", "enum": ["vip", "pilot", "partner"] } },
                "scores": { "type": "array", "items": { "type": "integer" } },
                "address": { "type": "object" },
                "account": { "type": "string", "x-ref": "account" },
                "health": { "type": "integer" }
            }
        },
        "computed": { "health": { "expr": "50" } }
    });
    CompiledForm::compile(FormDef::from_json(&def).expect("definition parses")).expect("definition compiles")
}

fn coerce_with(field: &str, cell: &str, options: &CoerceOptions) -> Result<Option<Value>, String> {
    form().coercer(field).expect("field exists").coerce(cell, options)
}

fn coerce(field: &str, cell: &str) -> Result<Option<Value>, String> {
    coerce_with(field, cell, &CoerceOptions::default())
}

fn ok(field: &str, cell: &str) -> Value {
    coerce(field, cell)
        .unwrap_or_else(|e| panic!("{field} {cell:?}: {e}"))
        .unwrap_or_else(|| panic!("{field} {cell:?} empty"))
}

#[test]
fn headers_match_by_name_then_by_title_forgiving_case_and_punctuation() {
    let plan = form().column_plan(&["\u{feff}Account Name", "TIER", "renewal-date", "ARR", "health", "notes", "tier"]);
    let fields: Vec<Option<&str>> = plan.iter().map(|m| m.field.as_deref()).collect();
    // `health` is computed: clients can't set it, so no column fills it. The exact `tier` takes
    // its field before the folded `TIER` is considered.
    assert_eq!(fields, [Some("name"), None, Some("renewal_date"), Some("arr"), None, None, Some("tier")]);
    assert_eq!(plan[0].header, "Account Name", "the byte-order mark is not part of the header");
}

#[test]
fn an_exact_name_wins_over_a_folded_match_elsewhere() {
    let plan = form().column_plan(&["Renewal Date", "renewal_date"]);
    assert_eq!(plan[1].field.as_deref(), Some("renewal_date"));
    assert_eq!(plan[0].field, None, "the exact header took the field first");
}

#[test]
fn numbers_with_separators_currencies_and_signs() {
    assert_eq!(ok("arr", "1,234.50"), json!(1234.5));
    assert_eq!(ok("arr", "$1,234.50"), json!(1234.5));
    assert_eq!(ok("arr", "¥12 000"), json!(12000.0));
    assert_eq!(ok("arr", "-€300"), json!(-300.0));
    assert_eq!(ok("arr", "(300)"), json!(-300.0));
    assert_eq!(ok("arr", "12%"), json!(12.0));
    assert_eq!(ok("arr", "１２３"), json!(123.0), "full-width digits");
    assert_eq!(ok("arr", "1.5e3"), json!(1500.0));
    let european = CoerceOptions { decimal_comma: true, ..CoerceOptions::default() };
    assert_eq!(coerce_with("arr", "1.234,5", &european), Ok(Some(json!(1234.5))));
    for bad in ["abc", "1,2x", "--1", "$", "1.2.3", "NaN", "inf"] {
        assert!(coerce("arr", bad).is_err(), "{bad:?} is not a number");
    }
}

#[test]
fn integers_must_be_whole_and_exact() {
    assert_eq!(ok("seats", "1,200"), json!(1200));
    assert_eq!(ok("seats", "12.0"), json!(12));
    assert_eq!(coerce("seats", "12.5"), Err("must be a whole number".into()));
    assert_eq!(ok("seats", "9007199254740992"), json!(9_007_199_254_740_992_i64));
    assert!(coerce("seats", "9007199254740993000").unwrap_err().contains("too large"));
}

#[test]
fn booleans_in_english_chinese_and_marks() {
    for yes in ["yes", "Y", "TRUE", "1", "是", "✓", "x"] {
        assert_eq!(ok("active", yes), json!(true), "{yes}");
    }
    for no in ["no", "N", "false", "0", "否", "✗"] {
        assert_eq!(ok("active", no), json!(false), "{no}");
    }
    assert!(coerce("active", "maybe").is_err());
}

#[test]
fn dates_in_the_forms_spreadsheets_write() {
    for cell in [
        "2026-03-01",
        "2026/3/1",
        "2026.03.01",
        "2026年3月1日",
        "1 Mar 2026",
        "March 1, 2026",
        "2026-03-01 00:00:00",
        "2026-03-01T00:00:00Z",
    ] {
        assert_eq!(ok("renewal_date", cell), json!("2026-03-01"), "{cell}");
    }
    // Ambiguous numeric dates follow the option; unambiguous ones read one way whatever it says.
    assert_eq!(ok("renewal_date", "03/01/2026"), json!("2026-03-01"));
    let day_first = CoerceOptions { day_first: true, ..CoerceOptions::default() };
    assert_eq!(coerce_with("renewal_date", "03/01/2026", &day_first), Ok(Some(json!("2026-01-03"))));
    assert_eq!(ok("renewal_date", "31/12/2026"), json!("2026-12-31"));
    assert_eq!(coerce_with("renewal_date", "12/31/26", &day_first), Ok(Some(json!("2026-12-31"))));
    for bad in ["2026-02-30", "31/31/2026", "tomorrow", "2026-03-01 09:30"] {
        assert!(coerce("renewal_date", bad).is_err(), "{bad:?} is not a date");
    }
}

#[test]
fn date_times_without_an_offset_are_read_in_the_zone_given() {
    assert_eq!(ok("last_login", "2026-03-01T09:30:00+08:00"), json!("2026-03-01T01:30:00Z"));
    let shanghai = CoerceOptions { timezone: chrono_tz::Asia::Shanghai, ..CoerceOptions::default() };
    assert_eq!(coerce_with("last_login", "2026/3/1 09:30", &shanghai), Ok(Some(json!("2026-03-01T01:30:00Z"))));
    assert_eq!(coerce_with("last_login", "2026-03-01", &shanghai), Ok(Some(json!("2026-02-28T16:00:00Z"))));
    // 02:30 on the day Berlin springs forward does not exist.
    let berlin = CoerceOptions { timezone: chrono_tz::Europe::Berlin, ..CoerceOptions::default() };
    assert!(coerce_with("last_login", "2026-03-29 02:30", &berlin).unwrap_err().contains("does not exist"));
    assert!(coerce("last_login", "soon").is_err());
}

#[test]
fn selects_take_values_or_labels_and_name_the_allowed_values() {
    assert_eq!(ok("tier", "enterprise"), json!("enterprise"));
    assert_eq!(ok("tier", "Enterprise"), json!("enterprise"));
    assert_eq!(ok("stage", "Kick-off"), json!("kickoff"));
    assert_eq!(ok("stage", "上线"), json!("live"));
    assert_eq!(coerce("tier", "platinum"), Err("must be one of: starter, growth, enterprise".into()));
}

#[test]
fn lists_split_on_the_separators_tools_use() {
    assert_eq!(ok("tags", "VIP, pilot"), json!(["vip", "pilot"]));
    assert_eq!(ok("tags", "vip、partner"), json!(["vip", "partner"]));
    assert_eq!(ok("tags", r#"["vip"]"#), json!(["vip"]));
    assert_eq!(ok("scores", "1; 2 | 3"), json!([1, 2, 3]));
    assert!(coerce("tags", "vip, gold").is_err());
}

#[test]
fn empty_cells_leave_the_field_out_and_text_is_kept_as_written() {
    assert_eq!(coerce("arr", "   "), Ok(None));
    assert_eq!(coerce("name", ""), Ok(None));
    assert_eq!(ok("name", "  Acme Ltd  "), json!("Acme Ltd"));
    assert_eq!(ok("address", r#"{"city": "Berlin"}"#), json!({"city": "Berlin"}));
    assert!(coerce("address", "Berlin").is_err());
}

#[test]
fn references_are_marked_for_the_caller_to_resolve() {
    let form = form();
    assert!(form.coercer("account").expect("field").is_reference());
    assert!(!form.coercer("name").expect("field").is_reference());
    assert!(form.coercer("missing").is_none());
}

#[test]
fn the_formula_guard_of_an_export_comes_off_and_other_apostrophes_stay() {
    assert_eq!(ok("name", "'=SUM(A1)"), json!("=SUM(A1)"));
    assert_eq!(ok("name", "'-dash"), json!("-dash"));
    assert_eq!(ok("name", "'quoted'"), json!("'quoted'"));
}

fn cells(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

#[test]
fn a_row_becomes_data_and_every_bad_cell_is_named() {
    let mapping = form()
        .row_mapping(&["Account name", "ARR", "Renewal date", "notes"], &[], CoerceOptions::default())
        .expect("mapping");
    assert_eq!(
        mapping.text_row(&cells(&["Acme", "1,200", "2026/3/1", "ignored"])),
        Ok(json!({"name": "Acme", "arr": 1200.0, "renewal_date": "2026-03-01"}).as_object().expect("object").clone())
    );
    let errors = mapping.text_row(&cells(&["Acme", "lots", "someday", ""])).expect_err("two bad cells");
    let described: Vec<(String, String)> = errors.into_iter().map(|e| (e.column, e.field)).collect();
    assert_eq!(described, [("ARR".into(), "arr".into()), ("Renewal date".into(), "renewal_date".into())]);
}

#[test]
fn overrides_remap_skip_and_are_checked() {
    let form = form();
    let overrides = [("notes".to_owned(), Some("name".to_owned())), ("ARR".to_owned(), None)];
    let mapping =
        form.row_mapping(&["Account name", "ARR", "notes"], &overrides, CoerceOptions::default()).expect("mapping");
    let fields: Vec<Option<&str>> = mapping.columns().iter().map(|m| m.field.as_deref()).collect();
    assert_eq!(fields, [None, None, Some("name")], "the override took `name` from the automatic match");

    let bad = [
        ("missing".to_owned(), Some("name".to_owned())),
        ("ARR".to_owned(), Some("nope".to_owned())),
        ("notes".to_owned(), Some("health".to_owned())),
    ];
    let errors = form.row_mapping(&["ARR", "notes"], &bad, CoerceOptions::default()).expect_err("three bad overrides");
    let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(columns, ["missing", "ARR", "notes"]);
    assert!(errors[2].message.contains("computed"));
}

#[test]
fn json_rows_keep_typed_values_and_read_text_in_typed_fields() {
    let mapping =
        form().row_mapping(&["name", "arr", "active", "account"], &[], CoerceOptions::default()).expect("mapping");
    assert_eq!(mapping.reference_fields(), ["account"]);
    let row = json!({"name": "Acme", "arr": "1,200", "active": true, "account": "Globex", "extra": 1});
    assert_eq!(
        mapping.json_row(row.as_object().expect("object")),
        Ok(json!({"name": "Acme", "arr": 1200.0, "active": true, "account": "Globex"})
            .as_object()
            .expect("object")
            .clone())
    );
}
