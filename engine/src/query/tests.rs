//! Unit tests of the query module: filter evaluation and errors, the encoding order, index
//! ranges against evaluation, sorts and cursors.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Bound;

use forms::FieldType;
use serde_json::{json, Value};

use super::cursor::MAX_KEY_BYTES;
use super::encoding::{BOOL_TAG, INSTANT_TAG, NULL_TAG, NUMBER_TAG, STRING_TAG};
use super::*;

/// A record over plain JSON data.
struct Rec(Value);

impl FieldLookup for Rec {
    fn lookup(&self, field: &str) -> Option<Cow<'_, Value>> {
        lookup_path(&self.0, field).map(Cow::Borrowed)
    }
}

fn resolve(name: &str) -> Option<FieldType> {
    Some(match name {
        "name" | "tier" | "status" | "nul" | "address.city" | "s" => FieldType::String,
        "health" | "score" | "n" => FieldType::Number,
        "seats" | "i" => FieldType::Integer,
        "active" | "b" => FieldType::Boolean,
        "due" | "d" => FieldType::Date,
        "at" | "created_at" | "dt" => FieldType::DateTime,
        "tags" => FieldType::Array,
        "meta" | "address" => FieldType::Object,
        "extra" | "any" => FieldType::Any,
        _ => return None,
    })
}

fn parse(src: &str) -> Filter {
    match Filter::parse(src, &resolve) {
        Ok(filter) => filter,
        Err(e) => panic!("`{src}` should parse: {e:?}"),
    }
}

fn parse_err(src: &str) -> QueryError {
    match Filter::parse(src, &resolve) {
        Ok(filter) => panic!("`{src}` should not parse, got {filter:?}"),
        Err(e) => e,
    }
}

fn record() -> Value {
    json!({
        "name": "Acme Corp",
        "tier": "enterprise",
        "status": "active",
        "health": 55,
        "seats": 10,
        "active": true,
        "due": "2024-05-01",
        "at": "2024-05-01T10:00:00+02:00",
        "tags": ["vip", "eu", 3],
        "meta": {"k": 1},
        "extra": 5,
        "address": {"city": "Paris"},
        "nul": null
    })
}

fn check(filter: &str, record: &Value, expected: bool) {
    let got = parse(filter).matches(&Rec(record.clone()));
    assert_eq!(got, expected, "`{filter}` on {record}");
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[test]
fn evaluates_every_operator_and_type() {
    let r = record();
    let table: &[(&str, bool)] = &[
        // strings: bytewise, case-sensitive except `contains`
        (r#"tier = "enterprise""#, true),
        (r#"tier = "Enterprise""#, false),
        (r#"tier != "enterprise""#, false),
        (r#"tier != "free""#, true),
        (r#"tier < "free""#, true),
        (r#"tier <= "enterprise""#, true),
        (r#"tier > "enterprise""#, false),
        (r#"tier >= "enterprise""#, true),
        (r#"tier > "Zebra""#, true),
        (r#"name contains "acme""#, true),
        (r#"name contains "CORP""#, true),
        (r#"name contains "me c""#, true),
        (r#"name contains "acne""#, false),
        (r#"name contains """#, true),
        (r#"status in ["active", "at_risk"]"#, true),
        (r#"status in ("churned", "at_risk")"#, false),
        (r#"status in []"#, false),
        (r#"address.city = "Paris""#, true),
        (r#"address.city = 'Paris'"#, true),
        // numbers: f64 order, integers equal their float form
        ("health = 55", true),
        ("health = 55.0", true),
        ("health = 5.5e1", true),
        ("health != 55", false),
        ("health < 60", true),
        ("health < 55", false),
        ("health <= 55", true),
        ("health > 54.999", true),
        ("health >= 56", false),
        ("health > -1e300", true),
        ("health in [1, 55, 99]", true),
        ("health in [1, 2]", false),
        ("seats = 10", true),
        ("seats < 10.5", true),
        ("seats >= -3", true),
        // booleans
        ("active = true", true),
        ("active = false", false),
        ("active != false", true),
        ("active > false", true),
        ("active < true", false),
        ("active in [true]", true),
        // dates by day, date-times by instant
        (r#"due = "2024-05-01""#, true),
        (r#"due < "2024-05-02""#, true),
        (r#"due > "2024-04-30""#, true),
        (r#"due >= "2024-05-01""#, true),
        (r#"due < "2024-05-01""#, false),
        (r#"due in ["2024-01-01", "2024-05-01"]"#, true),
        (r#"at = "2024-05-01T08:00:00Z""#, true),
        (r#"at = "2024-05-01T08:00:00.000Z""#, true),
        (r#"at = "2024-05-01T09:00:00+01:00""#, true),
        (r#"at > "2024-05-01""#, true),
        (r#"at < "2024-05-02""#, true),
        (r#"at > "2024-05-01T08:00:00Z""#, false),
        (r#"at >= "2024-05-01T08:00:00Z""#, true),
        // arrays: `contains` looks for an equal element
        (r#"tags contains "vip""#, true),
        (r#"tags contains "VIP""#, false),
        (r#"tags contains "v""#, false),
        ("tags contains 3", true),
        ("tags contains 3.0", true),
        ("tags contains 4", false),
        ("tags != null", true),
        ("tags = null", false),
        ("meta != null", true),
        // untyped fields compare raw JSON, ordering only within the literal's kind
        ("extra = 5", true),
        (r#"extra = "5""#, false),
        ("extra < 6", true),
        (r#"extra < "6""#, false),
        (r#"extra > "6""#, false),
        ("extra > false", false),
        ("extra contains 5", false),
        // logic
        (r#"health < 60 and tier = "enterprise""#, true),
        (r#"health < 50 and tier = "enterprise""#, false),
        (r#"health < 50 or tier = "enterprise""#, true),
        (r#"not health < 50"#, true),
        (r#"not not health < 50"#, false),
        (r#"(health = 1 or seats = 10) and not nul != null"#, true),
        // `and` binds tighter than `or`
        (r#"health = 55 or health = 1 and seats = 0"#, true),
        (r#"(health = 55 or health = 1) and seats = 0"#, false),
        ("health = 1 and seats = 0 or active = true", true),
        // keywords are case-insensitive
        (r#"health < 60 AND tier = "enterprise" oR NOT active = TRUE"#, true),
        (r#"name CONTAINS "acme" and status IN ["active"]"#, true),
    ];
    for (filter, expected) in table {
        check(filter, &r, *expected);
    }
}

#[test]
fn missing_and_null_are_the_same() {
    // `score` is missing, `nul` is null: both behave identically.
    let r = record();
    for field in ["score", "nul"] {
        let table: Vec<(String, bool)> = vec![
            (format!("{field} = null"), true),
            (format!("{field} != null"), false),
            (format!("not {field} = null"), false),
        ];
        for (filter, expected) in table {
            check(&filter, &r, expected);
        }
    }
    let table: &[(&str, bool)] = &[
        ("score != 5", true),
        ("score = 5", false),
        ("score < 5", false),
        ("score <= 5", false),
        ("score > 5", false),
        ("score >= -1e300", false),
        ("score in [0, 5]", false),
        (r#"nul != "x""#, true),
        (r#"nul = "x""#, false),
        (r#"nul < "x""#, false),
        (r#"nul >= """#, false),
        (r#"nul contains """#, false),
        (r#"nul in ["x"]"#, false),
        ("extra != null", true),
    ];
    for (filter, expected) in table {
        check(filter, &r, *expected);
    }
    // A nested path under a missing parent is missing too.
    let empty = json!({});
    check(r#"address.city = null"#, &empty, true);
    check(r#"address.city != "Paris""#, &empty, true);
    check(r#"address.city < "z""#, &empty, false);
    check("tags = null", &empty, true);
    check(r#"tags contains "vip""#, &empty, false);
}

#[test]
fn values_of_the_wrong_type_never_compare() {
    // Data written before a schema change: the value's own type decides, not the field's.
    let r = json!({"health": "55", "name": 7, "due": "soon", "at": "not a time", "tags": "vip"});
    check("health = 55", &r, false);
    check("health != 55", &r, true);
    check("health < 60", &r, false);
    check("health > 0", &r, false);
    check(r#"name = "7""#, &r, false);
    check(r#"name < "z""#, &r, false);
    check(r#"name contains "7""#, &r, false);
    check(r#"due < "2999-01-01""#, &r, false);
    check(r#"due > "1000-01-01""#, &r, false);
    check(r#"at > "1000-01-01""#, &r, false);
    check(r#"at != "1000-01-01""#, &r, true);
    // `contains` goes by the value: a string value is searched as a string.
    check(r#"tags contains "VI""#, &r, true);
}

#[test]
fn date_time_fields_accept_bare_dates_as_values() {
    let r = json!({"at": "2024-05-01", "due": "2024-05-01T00:00:00Z"});
    check(r#"at = "2024-05-01T00:00:00Z""#, &r, true);
    check(r#"at < "2024-05-01T00:00:00.001Z""#, &r, true);
    // A date field holding a date-time isn't a date: it's just a string.
    check(r#"due = "2024-05-01""#, &r, false);
    check(r#"due >= "2024-05-01""#, &r, false);
}

#[test]
fn strings_escape_and_quote() {
    let r = json!({"name": "it's \"quoted\"\n\u{e9}\u{1F600}\\"});
    check(r#"name = "it's \"quoted\"\n\u00e9\ud83d\ude00\\""#, &r, true);
    check("name = 'it\\'s \"quoted\"\\n\u{e9}\u{1F600}\\\\'", &r, true);
    check("name contains '\u{c9}'", &r, true);
    check(r#"name contains "\u00C9""#, &r, true);
    check(r#"name = "it's""#, &r, false);
}

#[test]
fn numbers_parse_in_every_form() {
    let cases: &[(&str, f64)] = &[
        ("0", 0.0),
        ("-0", 0.0),
        ("42", 42.0),
        ("-17", -17.0),
        ("2.5", 2.5),
        ("-0.125", -0.125),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("25e-1", 2.5),
        ("-1.5e2", -150.0),
        ("18446744073709551615", 18_446_744_073_709_551_615.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ];
    for (text, value) in cases {
        let r = json!({ "health": value });
        check(&format!("health = {text}"), &r, true);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn unknown_fields_are_named() {
    let e = parse_err(r#"health < 60 and plan = "x""#);
    assert_eq!(e.message, "unknown field `plan`");
    assert_eq!(e.field.as_deref(), Some("plan"));
    assert_eq!(e.position, Some(16));
    let e = parse_err(r#"address.zip = "x""#);
    assert_eq!(e.message, "unknown field `address.zip`");
    assert_eq!(e.field.as_deref(), Some("address.zip"));
}

#[test]
fn type_mismatches_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"health = "abc""#, "health", r#"type mismatch: `health` is a number, got string "abc""#),
        (r#"seats < "3""#, "seats", r#"type mismatch: `seats` is an integer, got string "3""#),
        ("health = true", "health", "type mismatch: `health` is a number, got boolean true"),
        ("name = 5", "name", "type mismatch: `name` is a string, got number 5"),
        (r#"name in ["a", 5]"#, "name", "type mismatch: `name` is a string, got number 5"),
        ("name contains 5", "name", "type mismatch: `name` is a string, got number 5"),
        ("due = 5", "due", "type mismatch: `due` is a date, got number 5"),
        ("active = 1", "active", "type mismatch: `active` is a boolean, got number 1"),
        (r#"active = "true""#, "active", r#"type mismatch: `active` is a boolean, got string "true""#),
        (
            "health contains 5",
            "health",
            "type mismatch: `health` is a number; `contains` needs a string or array field",
        ),
        (r#"due contains "2024""#, "due", "type mismatch: `due` is a date; `contains` needs a string or array field"),
        ("tags < 1", "tags", "type mismatch: `tags` is an array; use `contains`, `= null` or `!= null`, not `<`"),
        (
            r#"tags = "vip""#,
            "tags",
            "type mismatch: `tags` is an array; use `contains`, `= null` or `!= null`, not `=`",
        ),
        ("meta >= 1", "meta", "type mismatch: `meta` is an object; only `= null` and `!= null` apply, not `>=`"),
        (
            r#"meta contains "k""#,
            "meta",
            "type mismatch: `meta` is an object; `contains` needs a string or array field",
        ),
        ("health < null", "health", "`null` can only be compared with `=` or `!=` (field `health`)"),
        ("status in [null]", "status", "`null` can only be compared with `=` or `!=` (field `status`)"),
        ("tags contains null", "tags", "`null` can only be compared with `=` or `!=` (field `tags`)"),
    ];
    for (src, field, message) in cases {
        let e = parse_err(src);
        assert_eq!(e.message, *message, "{src}");
        assert_eq!(e.field.as_deref(), Some(*field), "{src}");
        assert!(e.position.is_some(), "{src}");
    }
}

#[test]
fn date_literals_must_be_dates() {
    for bad in ["tomorrow", "2024-13-01", "2024-02-30", "2024-1-5", "+2024-01-05", "2024-05-01T00:00:00Z", ""] {
        let e = parse_err(&format!("due = {}", json!(bad)));
        assert!(
            e.message.starts_with(&format!("type mismatch: `due` is a date, got string {}", json!(bad))),
            "{bad}: {}",
            e.message
        );
    }
    for bad in ["tomorrow", "2024-05-01 10:00", "2024-05-01T10:00:00", "10:00:00Z"] {
        let e = parse_err(&format!("at < {}", json!(bad)));
        assert!(e.message.starts_with("type mismatch: `at` is a date-time, got string"), "{bad}: {}", e.message);
    }
    for good in ["2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5-07:30"] {
        parse(&format!("at < {}", json!(good)));
    }
}

#[test]
fn syntax_errors_carry_positions() {
    let cases: &[(&str, &str, usize)] = &[
        ("health < ", "expected a value after `<` at 9", 9),
        ("health <= and", "expected a value after `<=` at 10", 10),
        (
            "health",
            "expected an operator (=, !=, <, <=, >, >=, in, contains) after `health`, found the end of the filter at 6",
            6,
        ),
        ("health < 5 5", "expected `and`, `or` or the end of the filter, found `5` at 11", 11),
        (r#"health < 5 tier = "a""#, "expected `and`, `or` or the end of the filter, found `tier` at 11", 11),
        ("health < 5 and", "expected a field name, `(` or `not`, found the end of the filter at 14", 14),
        ("(health < 5", "expected `)` to close the `(` at 0, found the end of the filter at 11", 11),
        ("health < 5)", "expected `and`, `or` or the end of the filter, found `)` at 10", 10),
        ("= 5", "expected a field name, `(` or `not`, found `=` at 0", 0),
        (r#"name = "abc"#, "unterminated string starting at 7", 7),
        (r#"name = 'abc\'"#, "unterminated string starting at 7", 7),
        (r#"name = "a\x""#, "invalid escape `\\x` at 9", 9),
        (r#"name = "\u12""#, "invalid `\\u` escape at 8", 8),
        (r#"name = "\ud800x""#, "invalid `\\u` escape at 8", 8),
        (r#"name = "\udc00""#, "invalid `\\u` escape at 8", 8),
        ("status in \"a\"", "expected a list `[...]` after `in` at 10", 10),
        (r#"status in ["a", ]"#, "expected a value in the `in` list, found `]` at 16", 16),
        (r#"status in ["a" "b"]"#, "expected `,` or `]` in the `in` list, found `\"b\"` at 15", 15),
        (r#"status in ("a"]"#, "expected `,` or `)` in the `in` list, found `]` at 14", 14),
        ("health < -", "expected digits after `-` at 10", 10),
        ("health < 1.", "expected digits after `.` at 11", 11),
        ("health < 1e", "expected digits in the exponent at 11", 11),
        ("health < 1e999", "number `1e999` is out of range at 9", 9),
        ("health @ 5", "unexpected character `@` at 7", 7),
        ("name = \"\u{e9}\" \u{e9}", "unexpected character `\u{e9}` at 12", 12),
        ("address. = 1", "expected a field name after `.` at 8", 8),
        ("address.1 = 1", "expected a field name after `.` at 8", 8),
        ("not", "expected a field name, `(` or `not`, found the end of the filter at 3", 3),
        ("health == 5", "expected a value after `=` at 8", 8),
        ("true = 5", "expected a field name, `(` or `not`, found `true` at 0", 0),
    ];
    for (src, message, position) in cases {
        let e = parse_err(src);
        assert_eq!(e.message, *message, "{src}");
        assert_eq!(e.position, Some(*position), "{src}");
        assert_eq!(e.to_string(), *message);
    }
}

#[test]
fn empty_filters_are_rejected() {
    for src in ["", "   ", "\n\t"] {
        let e = parse_err(src);
        assert_eq!(e.message, "empty filter at 0");
    }
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}health = 1{}", "(".repeat(32), ")".repeat(32));
    check(&ok, &json!({"health": 1}), true);
    let ok = format!("{}health = 1", "not ".repeat(32));
    check(&ok, &json!({"health": 1}), true);
    let ok = format!("{}(health = 1)", "not ".repeat(31));
    check(&ok, &json!({"health": 1}), false);

    let e = parse_err(&format!("{}health = 1{}", "(".repeat(33), ")".repeat(33)));
    assert_eq!(e.message, "filter nests deeper than 32 levels at 32");
    let e = parse_err(&format!("{}health = 1", "not ".repeat(33)));
    assert_eq!(e.position, Some(128));
    // A bomb fails fast at the limit, far from the stack's.
    let e = parse_err(&"(".repeat(4000));
    assert_eq!(e.position, Some(32));
    let e = parse_err(&"not (".repeat(800));
    assert!(e.message.starts_with("filter nests deeper than 32 levels"));
}

#[test]
fn long_filters_are_rejected() {
    let long = format!("name = \"{}\"", "a".repeat(4096));
    let e = parse_err(&long);
    assert_eq!(e.message, format!("filter is too long: {} bytes, at most 4096", long.len()));
    // Exactly at the limit is fine, and long flat conjunctions don't recurse.
    let max = format!("name = \"{}\"", "a".repeat(4096 - 9));
    assert_eq!(max.len(), 4096);
    parse(&max);
    let many = vec!["health = 1"; 4096 / 16].join(" and ");
    assert!(many.len() <= 4096);
    check(&many, &json!({"health": 1}), true);
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn enc(value: Value, ty: FieldType) -> Vec<u8> {
    encode_value(Some(&value), ty)
}

fn assert_strictly_increasing(values: &[Value], ty: FieldType) {
    let encoded: Vec<Vec<u8>> = values.iter().map(|v| enc(v.clone(), ty)).collect();
    for (i, pair) in encoded.windows(2).enumerate() {
        assert!(
            pair[0] < pair[1],
            "{ty:?}: {} should encode below {} ({:02x?} vs {:02x?})",
            values[i],
            values[i + 1],
            pair[0],
            pair[1]
        );
    }
    // Prefix-free: an index key = encoding + id can't be confused with another value's key.
    for (i, a) in encoded.iter().enumerate() {
        for (j, b) in encoded.iter().enumerate() {
            if i != j {
                assert!(!b.starts_with(a), "{} is a prefix of {}", values[i], values[j]);
            }
        }
    }
}

#[test]
fn encoding_orders_mixed_values() {
    let ordered = vec![
        Value::Null,
        json!(false),
        json!(true),
        json!(-1e300),
        json!(-9007199254740992_i64),
        json!(-1000),
        json!(-1.5),
        json!(-1),
        json!(-0.5),
        json!(-1e-300),
        json!(0),
        json!(5e-324),
        json!(1e-300),
        json!(0.5),
        json!(1),
        json!(1.5),
        json!(2),
        json!(10),
        json!(1e15),
        json!(u64::MAX),
        json!(1e300),
        json!(""),
        json!("\0"),
        json!("\0\0"),
        json!("\0a"),
        json!("A"),
        json!("Z"),
        json!("a"),
        json!("a\0"),
        json!("a\0\0"),
        json!("a\0b"),
        json!("a\u{1}"),
        json!("ab"),
        json!("b"),
        json!("\u{7f}"),
        json!("é"),
        json!("€"),
        json!("\u{FFFF}"),
        json!("😀"),
        json!([]),
        json!([null]),
        json!([null, null]),
        json!([false]),
        json!([1]),
        json!([1, 2]),
        json!([2]),
        json!([""]),
        json!(["a"]),
        json!(["a", "b"]),
        json!(["a\0"]),
        json!([[]]),
        json!([[1]]),
        json!([{}]),
        json!({}),
        json!({"": 1}),
        json!({"a": null}),
        json!({"a": 1}),
        json!({"a": 1, "b": 0}),
        json!({"a": 2}),
        json!({"a\0": 0}),
        json!({"b": 0}),
    ];
    assert_strictly_increasing(&ordered, FieldType::Any);
    // Typed fields order numbers, strings and booleans the same way.
    assert_strictly_increasing(&ordered[..21], FieldType::Number);
    assert_strictly_increasing(&ordered[21..39], FieldType::String);
}

#[test]
fn encoding_equates_equal_values() {
    let same: &[(Value, Value, FieldType)] = &[
        (json!(0.0), json!(-0.0), FieldType::Number),
        (json!(0), json!(-0.0), FieldType::Integer),
        (json!(1), json!(1.0), FieldType::Number),
        (json!(-7), json!(-7.0), FieldType::Any),
        (json!(100), json!(1e2), FieldType::Number),
        (json!("2024-01-01T00:00:00Z"), json!("2024-01-01T01:00:00+01:00"), FieldType::DateTime),
        (json!("2024-01-01"), json!("2024-01-01T00:00:00.000Z"), FieldType::DateTime),
        (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1.0}), FieldType::Any),
    ];
    for (a, b, ty) in same {
        assert_eq!(enc(a.clone(), *ty), enc(b.clone(), *ty), "{a} vs {b} as {ty:?}");
    }
    assert_eq!(encode_value(None, FieldType::String), vec![NULL_TAG]);
    assert_eq!(encode_value(Some(&Value::Null), FieldType::Number), vec![NULL_TAG]);
    assert_eq!(enc(json!(false), FieldType::Boolean), vec![BOOL_TAG, 0]);
    assert_eq!(enc(json!(true), FieldType::Any), vec![BOOL_TAG, 1]);
    assert_eq!(enc(json!("a\0"), FieldType::String), vec![STRING_TAG, b'a', 0, 0xFF, 0, 1]);
    assert_eq!(enc(json!(1.0), FieldType::Number)[0], NUMBER_TAG);
    // Outside date fields a date is just a string.
    assert_eq!(enc(json!("2024-01-01"), FieldType::String)[0], STRING_TAG);
    assert_eq!(enc(json!("2024-01-01"), FieldType::Any)[0], STRING_TAG);
    assert_eq!(enc(json!("2024-01-01"), FieldType::Date)[0], INSTANT_TAG);
}

#[test]
fn encoding_orders_dates_by_instant() {
    let dates = [
        json!(null),
        json!(true),
        json!(20240101),
        json!("0001-01-01"),
        json!("1969-12-31"),
        json!("1970-01-01"),
        json!("2023-12-31"),
        json!("2024-01-01"),
        json!("2024-02-29"),
        json!("9999-12-31"),
        // Unparsable values fall back to strings, after every real date.
        json!(""),
        json!("2024-02-30"),
        json!("2024-1-1"),
        json!("not a date"),
    ];
    assert_strictly_increasing(&dates, FieldType::Date);

    let date_times = [
        json!("0001-01-01T00:00:00Z"),
        json!("1969-12-31T23:59:59.999999999Z"),
        json!("1970-01-01"),
        json!("1970-01-01T00:00:00.000000001Z"),
        json!("2023-12-31T23:59:59.999Z"),
        json!("2024-01-01"),
        json!("2024-01-01T00:00:00.000000001Z"),
        json!("2024-01-01T00:00:01+00:00"),
        json!("2024-01-01T01:00:00-00:30"),
        json!("2024-01-01T02:00:00Z"),
        json!("2024-01-02"),
        json!("9999-12-31T23:59:59Z"),
        json!("2024-01-01T00:00:00"),
        json!("later"),
    ];
    assert_strictly_increasing(&date_times, FieldType::DateTime);
}

// ---------------------------------------------------------------------------------------------
// Index scans

fn in_range(value: &[u8], (lo, hi): &ValueRange) -> bool {
    let above = match lo {
        Bound::Included(b) => value >= b.as_slice(),
        Bound::Excluded(b) => value > b.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(b) => value <= b.as_slice(),
        Bound::Excluded(b) => value < b.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

fn assert_sorted_disjoint(ranges: &[ValueRange]) {
    for pair in ranges.windows(2) {
        let (Bound::Included(a) | Bound::Excluded(a)) = &pair[0].1 else {
            panic!("unbounded range before another: {ranges:?}");
        };
        let (Bound::Included(b) | Bound::Excluded(b)) = &pair[1].0 else {
            panic!("unbounded lower bound after another range: {ranges:?}");
        };
        assert!(a < b, "ranges overlap or are unsorted: {ranges:?}");
    }
}

/// Values of every kind, with the edge cases of each field type.
fn sample_values() -> Vec<Option<Value>> {
    let mut values: Vec<Option<Value>> = vec![None, Some(Value::Null)];
    let json_values = [
        json!(false),
        json!(true),
        json!(-1e300),
        json!(-60),
        json!(-1),
        json!(-0.0),
        json!(0),
        json!(1e-9),
        json!(0.5),
        json!(1),
        json!(2),
        json!(59.999),
        json!(60),
        json!(60.0),
        json!(60.000001),
        json!(61),
        json!(1e300),
        json!(u64::MAX),
        json!(""),
        json!("\0"),
        json!("60"),
        json!("a"),
        json!("a\0"),
        json!("ab"),
        json!("abc"),
        json!("b"),
        json!("Z"),
        json!("é"),
        json!("enterprise"),
        json!("1969-12-31"),
        json!("2024-01-01"),
        json!("2024-01-02"),
        json!("2024-02-30"),
        json!("2023-12-31T23:59:59.999Z"),
        json!("2024-01-01T00:00:00Z"),
        json!("2024-01-01T00:00:00.000000001Z"),
        json!("2024-01-01T12:00:00+02:00"),
        json!("2024-01-02T00:00:00+00:00"),
        json!("garbage"),
        json!([]),
        json!([60]),
        json!(["a"]),
        json!({}),
        json!({"a": 1}),
    ];
    values.extend(json_values.into_iter().map(Some));
    values
}

/// Literals worth comparing each field type with, as filter text.
fn literals(field: &str) -> Vec<String> {
    let texts: &[&str] = match resolve(field) {
        Some(FieldType::Number | FieldType::Integer) => {
            &["-1e300", "-60", "-1", "-0", "0", "0.5", "1", "59.999", "60", "60.0", "61", "1e300"]
        }
        Some(FieldType::String) => &[
            r#""""#,
            r#""\u0000""#,
            r#""a""#,
            r#""a\u0000""#,
            r#""ab""#,
            r#""b""#,
            r#""Z""#,
            r#""é""#,
            r#""2024-01-01""#,
        ],
        Some(FieldType::Boolean) => &["false", "true"],
        Some(FieldType::Date) => &[r#""1969-12-31""#, r#""2024-01-01""#, r#""2024-01-02""#],
        Some(FieldType::DateTime) => &[
            r#""2024-01-01""#,
            r#""2024-01-01T00:00:00Z""#,
            r#""2024-01-01T00:00:00.000000001Z""#,
            r#""2023-12-31T23:59:59.999Z""#,
            r#""2024-01-01T10:00:00Z""#,
            r#""2024-01-02T02:00:00+02:00""#,
        ],
        _ => &["false", "true", "-1", "0", "60", r#""""#, r#""a""#, r#""2024-01-01""#],
    };
    texts.iter().map(|t| t.to_string()).collect()
}

#[test]
fn index_ranges_hold_exactly_the_matching_values() {
    let values = sample_values();
    let mut checked = 0;
    for field in ["n", "i", "s", "b", "d", "dt", "any"] {
        let ty = resolve(field).unwrap_or(FieldType::Any);
        let lits = literals(field);
        let mut filters: Vec<String> = Vec::new();
        for lit in &lits {
            for op in ["=", "<", "<=", ">", ">="] {
                filters.push(format!("{field} {op} {lit}"));
            }
        }
        filters.push(format!("{field} = null"));
        filters.push(format!("{field} in [{}]", lits.join(", ")));
        filters.push(format!("{field} in ({}, {})", lits[lits.len() - 1], lits[0]));
        filters.push(format!("{field} in []"));
        for src in filters {
            let filter = parse(&src);
            let scans = filter.index_scans(&|f| f == field);
            assert_eq!(scans.len(), 1, "{src}");
            assert_eq!(scans[0].field, field);
            assert_sorted_disjoint(&scans[0].ranges);
            for value in &values {
                let record = Rec(match value {
                    Some(v) => json!({ field: v }),
                    None => json!({}),
                });
                let encoded = encode_value(value.as_ref(), ty);
                let inside = scans[0].ranges.iter().any(|r| in_range(&encoded, r));
                assert_eq!(
                    filter.matches(&record),
                    inside,
                    "`{src}` with {value:?}: matches vs inside {:?}",
                    scans[0].ranges
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

#[test]
fn index_ranges_bound_each_type() {
    let scans = parse("health < 60").index_scans(&|_| true);
    assert_eq!(
        scans,
        vec![IndexScan {
            field: "health".into(),
            ranges: vec![(Bound::Included(vec![NUMBER_TAG]), Bound::Excluded(enc(json!(60), FieldType::Number)))],
        }]
    );
    let scans = parse(r#"name = "a""#).index_scans(&|_| true);
    let a = enc(json!("a"), FieldType::String);
    assert_eq!(scans[0].ranges, vec![(Bound::Included(a.clone()), Bound::Included(a))]);
    let scans = parse(r#"name >= "a""#).index_scans(&|_| true);
    let a = enc(json!("a"), FieldType::String);
    assert_eq!(scans[0].ranges, vec![(Bound::Included(a), Bound::Excluded(vec![STRING_TAG + 1]))]);
    let scans = parse("name = null").index_scans(&|_| true);
    assert_eq!(scans[0].ranges, vec![(Bound::Included(vec![NULL_TAG]), Bound::Included(vec![NULL_TAG]))]);
    // `in` ranges are sorted and deduplicated (60 and 60.0 are one value).
    let scans = parse("health in [60, -1, 60.0, 3]").index_scans(&|_| true);
    let points: Vec<_> = [-1, 3, 60]
        .iter()
        .map(|n| {
            let e = enc(json!(n), FieldType::Number);
            (Bound::Included(e.clone()), Bound::Included(e))
        })
        .collect();
    assert_eq!(scans[0].ranges, points);
}

#[test]
fn index_scans_use_only_top_level_conjuncts() {
    let fields =
        |src: &str| -> Vec<String> { parse(src).index_scans(&|f| f != "tier").into_iter().map(|s| s.field).collect() };
    assert_eq!(fields(r#"health < 60 and tier = "x" and name = "a""#), ["health", "name"]);
    assert_eq!(fields(r#"(health < 60 and (name = "a")) and seats in [1]"#), ["health", "name", "seats"]);
    assert_eq!(fields("(seats = 1 or health = 1) and seats = 2"), ["seats"]);
    assert!(fields("health < 60 or seats = 1").is_empty());
    assert!(fields("health != 60").is_empty());
    assert!(fields(r#"name contains "a""#).is_empty());
    assert!(fields("not health < 60").is_empty());
    assert!(fields("not (health < 60 and seats = 1)").is_empty());
    assert!(fields(r#"tier = "x""#).is_empty());
    assert_eq!(fields(r#"health != 1 and not name = "a" and seats >= 2"#), ["seats"]);
}

#[test]
fn index_scans_intersect_conjuncts_on_one_field() {
    let values = sample_values();
    let cases = [
        ("n > 1 and n < 60", 1),
        ("n >= 0 and n <= 0", 1),
        ("n in [-1, 0, 1, 2, 60, 61] and n > 0 and n <= 60", 3),
        ("n > 60 and n < 1", 0),
        ("n > 1 and n >= 1 and n <= 61.5 and n < 61.5", 1),
        ("n = 1 and n = 2", 0),
        (r#"s >= "a" and s < "b""#, 1),
        (r#"dt > "2024-01-01" and dt <= "2024-01-02""#, 1),
    ];
    for (src, expected_ranges) in cases {
        let filter = parse(src);
        let scans = filter.index_scans(&|_| true);
        assert_eq!(scans.len(), 1, "{src}");
        let ranges = &scans[0].ranges;
        assert_eq!(ranges.len(), expected_ranges, "{src}: {ranges:?}");
        assert_sorted_disjoint(ranges);
        let field = scans[0].field.as_str();
        let ty = resolve(field).unwrap_or(FieldType::Any);
        for value in &values {
            let record = Rec(match value {
                Some(v) => json!({ field: v }),
                None => json!({}),
            });
            let inside = ranges.iter().any(|r| in_range(&encode_value(value.as_ref(), ty), r));
            assert_eq!(filter.matches(&record), inside, "`{src}` with {value:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sorts

fn sort(src: &str) -> Sort {
    match Sort::parse(src, &resolve) {
        Ok(sort) => sort,
        Err(e) => panic!("`{src}` should parse: {e:?}"),
    }
}

fn sort_err(src: &str) -> QueryError {
    match Sort::parse(src, &resolve) {
        Ok(sort) => panic!("`{src}` should not parse: {sort:?}"),
        Err(e) => e,
    }
}

#[test]
fn sorts_parse() {
    let key = |field: &str, descending| SortKey { field: field.into(), descending };
    assert_eq!(sort("-health,name").keys, [key("health", true), key("name", false)]);
    assert_eq!(sort("+name").keys, [key("name", false)]);
    assert_eq!(sort(" name , -address.city ").keys, [key("name", false), key("address.city", true)]);
    assert_eq!(sort("seats").keys, [key("seats", false)]);
    assert_eq!(sort(""), Sort::default());
    assert_eq!(sort("  "), Sort::default());
    assert_eq!(sort("health,name,seats,-due").keys.len(), 4);
}

#[test]
fn sort_errors_name_the_item() {
    let e = sort_err("health,plan");
    assert_eq!((e.message.as_str(), e.field.as_deref(), e.position), ("unknown field `plan`", Some("plan"), Some(7)));
    let e = sort_err("health,-health");
    assert_eq!((e.message.as_str(), e.field.as_deref()), ("duplicate sort field `health`", Some("health")));
    let e = sort_err("health,,name");
    assert_eq!((e.message.as_str(), e.position), ("empty sort key at 7", Some(7)));
    let e = sort_err("health,");
    assert_eq!(e.message, "empty sort key at 7");
    let e = sort_err(",health");
    assert_eq!(e.message, "empty sort key at 0");
    let e = sort_err("-");
    assert_eq!(e.message, "invalid sort field `-` at 0");
    let e = sort_err("health, na me");
    assert_eq!(e.message, "invalid sort field `na me` at 8");
    let e = sort_err("--health");
    assert_eq!(e.message, "invalid sort field `--health` at 0");
    let e = sort_err("health,name,seats,due,at");
    assert_eq!((e.message.as_str(), e.field.as_deref()), ("too many sort fields: at most 4", Some("at")));
}

fn id(n: u8) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[15] = n;
    id
}

#[test]
fn sort_compares_keys_then_ids() {
    let asc = sort("health");
    let desc = sort("-health");
    let lo = vec![enc(json!(1), FieldType::Number)];
    let hi = vec![enc(json!(2), FieldType::Number)];
    assert_eq!(asc.compare((&lo, &id(9)), (&hi, &id(1))), Ordering::Less);
    assert_eq!(desc.compare((&lo, &id(9)), (&hi, &id(1))), Ordering::Greater);
    // Ties go by id, in the direction of the last key.
    assert_eq!(asc.compare((&lo, &id(1)), (&lo, &id(2))), Ordering::Less);
    assert_eq!(desc.compare((&lo, &id(1)), (&lo, &id(2))), Ordering::Greater);
    assert_eq!(desc.compare((&lo, &id(1)), (&lo, &id(1))), Ordering::Equal);
    let mixed = sort("-health,name");
    let a = vec![hi[0].clone(), enc(json!("a"), FieldType::String)];
    let b = vec![hi[0].clone(), enc(json!("b"), FieldType::String)];
    assert_eq!(mixed.compare((&a, &id(5)), (&b, &id(1))), Ordering::Less);
    assert_eq!(mixed.compare((&a, &id(1)), (&a, &id(5))), Ordering::Less);
    let mixed = sort("health,-name");
    assert_eq!(mixed.compare((&a, &id(5)), (&b, &id(1))), Ordering::Greater);
    assert_eq!(mixed.compare((&a, &id(1)), (&a, &id(5))), Ordering::Greater);
    // No keys: creation order.
    let none = Sort::default();
    assert_eq!(none.compare((&[], &id(1)), (&[], &id(2))), Ordering::Less);
}

#[test]
fn sort_orders_records() {
    let records = [
        json!({"health": 50, "name": "b"}),
        json!({"name": "a"}),
        json!({"health": 90, "name": "c"}),
        json!({"health": 50, "name": "a"}),
        json!({"health": null, "name": "d"}),
        json!({"health": 50, "name": "a"}),
        json!({"health": 7.5}),
    ];
    let order = |src: &str| -> Vec<u8> {
        let s = sort(src);
        let mut keyed: Vec<(Vec<Vec<u8>>, [u8; 16])> =
            records.iter().enumerate().map(|(i, r)| (s.key_of(&Rec(r.clone()), &resolve), id(i as u8))).collect();
        keyed.sort_by(|a, b| s.compare((&a.0, &a.1), (&b.0, &b.1)));
        keyed.iter().map(|(_, id)| id[15]).collect()
    };
    assert_eq!(order(""), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(order("health"), [1, 4, 6, 0, 3, 5, 2]);
    assert_eq!(order("-health"), [2, 5, 3, 0, 6, 4, 1]);
    assert_eq!(order("health,name"), [1, 4, 6, 3, 5, 0, 2]);
    assert_eq!(order("-health,name"), [2, 3, 5, 0, 6, 1, 4]);
    assert_eq!(order("name,-health"), [6, 5, 3, 1, 0, 2, 4]);
}

// ---------------------------------------------------------------------------------------------
// Cursors

#[test]
fn cursors_round_trip() {
    let fp = fingerprint(r#"health < 60"#, "-health");
    let cursors = [
        Cursor { sort_key: vec![], id: [0; 16], truncated: false },
        Cursor {
            sort_key: vec![enc(json!(59.5), FieldType::Number), enc(json!("a\0b"), FieldType::String)],
            id: [0xAB; 16],
            truncated: false,
        },
        Cursor {
            sort_key: vec![vec![], vec![0xFF; 1000], vec![NULL_TAG], vec![0; 200]],
            id: *b"0123456789abcdef",
            truncated: false,
        },
    ];
    for cursor in cursors {
        let token = cursor.encode(fp);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert_eq!(Cursor::decode(&token, fp), Ok(cursor));
    }
}

#[test]
fn long_keys_are_cut_and_the_token_says_so() {
    let fp = fingerprint("", "name,-title");
    let long = vec![b'x'; 50_000];
    let cursor = Cursor { sort_key: vec![long.clone(), long], id: [3; 16], truncated: false };
    let token = cursor.encode(fp);
    assert!(token.len() < 4 * 1024, "{}", token.len());
    let decoded = Cursor::decode(&token, fp).unwrap();
    assert!(decoded.truncated);
    assert_eq!(decoded.sort_key, vec![vec![b'x'; MAX_KEY_BYTES]; 2]);
}

#[test]
fn cursors_reject_tampering_and_garbage() {
    let fp = fingerprint("", "name");
    let token =
        Cursor { sort_key: vec![enc(json!("acme"), FieldType::String)], id: [7; 16], truncated: false }.encode(fp);
    for i in 0..token.len() {
        for replacement in [b'A', b'z', b'_'] {
            let mut bytes = token.clone().into_bytes();
            if bytes[i] == replacement {
                continue;
            }
            bytes[i] = replacement;
            let tampered = String::from_utf8(bytes).unwrap_or_default();
            let e = Cursor::decode(&tampered, fp).expect_err(&tampered);
            assert_eq!(e.message, "invalid cursor", "{tampered}");
        }
    }
    let truncated = &token[..token.len() - 1];
    let extended = format!("{token}A");
    let too_long = "A".repeat(20_000);
    for garbage in ["", "A", "!!!!", "abc=", "not a cursor", truncated, &extended, &too_long] {
        let e = Cursor::decode(garbage, fp).expect_err(garbage);
        assert_eq!(e.message, "invalid cursor", "{garbage:?}");
    }
}

#[test]
fn cursors_belong_to_their_query() {
    let cursor = Cursor { sort_key: vec![enc(json!(1), FieldType::Number)], id: [1; 16], truncated: false };
    let token = cursor.encode(fingerprint("health < 60", "health"));
    for (filter, sort) in [("health < 61", "health"), ("health < 60", "-health"), ("", "")] {
        let e = Cursor::decode(&token, fingerprint(filter, sort)).expect_err(filter);
        assert_eq!(e.message, "cursor belongs to a different query");
    }
    assert_eq!(Cursor::decode(&token, fingerprint("health < 60", "health")), Ok(cursor));
}

#[test]
fn fingerprints_are_stable_and_distinguish_queries() {
    // Pinned: cursors handed out by one release must keep working after a restart.
    assert_eq!(fingerprint("", ""), fingerprint("", ""));
    assert_eq!(format!("{:016x}", fingerprint("health < 60", "-health")), PINNED_FINGERPRINT);
    assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
    assert_ne!(fingerprint("a", ""), fingerprint("", "a"));
    assert_ne!(fingerprint("health < 60", ""), fingerprint("health < 61", ""));
}

const PINNED_FINGERPRINT: &str = "a52dd3db1ca97ecf";
