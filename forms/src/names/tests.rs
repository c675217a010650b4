//! Tests for the slug rule and the name newtypes.

use std::collections::BTreeMap;

use super::*;

#[test]
fn accepts_lowercase_slugs() {
    let max = format!("a{}", "b".repeat(MAX_NAME_LEN - 1));
    for name in ["a", "account", "nps_response", "customer-success", "q3-okr_2024", max.as_str()] {
        let parsed = FormName::parse(name).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert_eq!(parsed.as_str(), name);
    }
}

#[test]
fn rejects_each_rule_with_its_reason() {
    let too_long = "a".repeat(MAX_NAME_LEN + 1);
    let cases: &[(&str, &str)] = &[
        ("", "must not be empty"),
        (&too_long, "at most 63"),
        ("Acme", "must start with a lowercase letter"),
        ("-a", "must start with a lowercase letter"),
        ("1st", "must start with a lowercase letter"),
        ("_a", "must start with a lowercase letter"),
        ("acMe", "may only contain"),
        ("a b", "may only contain"),
        ("a.b", "may only contain"),
        ("café", "may only contain"),
        ("a-", "must not end with"),
        ("a_", "must not end with"),
        ("a--b", "must not contain `--` or `__`"),
        ("a__b", "must not contain `--` or `__`"),
    ];
    for (name, reason) in cases {
        let err = FormName::parse(name).expect_err(name);
        assert_eq!(err.name, *name);
        assert!(err.reason.contains(reason), "{name:?}: got {:?}, want {reason:?}", err.reason);
    }
}

#[test]
fn all_three_name_types_share_the_rule() {
    assert!(SpaceName::parse("customer-success").is_ok());
    assert!(WorkflowName::parse("health-drop-alert").is_ok());
    assert!(SpaceName::parse("Sales").is_err());
    assert!(WorkflowName::parse("alert-").is_err());
    assert!("nps_response".parse::<FormName>().is_ok());
    assert!(FormName::try_from("x--y").is_err());
}

#[test]
fn serializes_as_a_plain_string_and_validates_on_deserialize() {
    let name = FormName::parse("nps_response").unwrap();
    assert_eq!(serde_json::to_string(&name).unwrap(), r#""nps_response""#);
    let back: FormName = serde_json::from_str(r#""nps_response""#).unwrap();
    assert_eq!(back, name);

    let err = serde_json::from_str::<SpaceName>(r#""Acme""#).unwrap_err();
    assert!(err.to_string().contains("must start with a lowercase letter"), "{err}");
    assert!(serde_json::from_str::<WorkflowName>("3").is_err());
}

#[test]
fn displays_and_borrows_as_str() {
    let name = FormName::parse("account").unwrap();
    assert_eq!(name.to_string(), "account");
    assert_eq!(AsRef::<str>::as_ref(&name), "account");
    let mut by_name = BTreeMap::new();
    by_name.insert(name.clone(), 1);
    assert_eq!(by_name.get("account"), Some(&1));
    assert_eq!(String::from(name), "account");
}

/// The pattern API documents publish accepts exactly the names the rule does.
#[test]
fn the_published_pattern_agrees_with_the_rule() {
    let schema = serde_json::json!({ "type": "string", "pattern": NAME_PATTERN, "maxLength": MAX_NAME_LEN });
    let validator = jsonschema::validator_for(&schema).expect("the pattern compiles");
    let too_long = "a".repeat(MAX_NAME_LEN + 1);
    let samples = [
        "a",
        "account",
        "nps_response",
        "customer-success",
        "q3-okr_2024",
        "a-_b",
        "a_-b",
        "",
        "Acme",
        "-a",
        "1st",
        "_a",
        "acMe",
        "a b",
        "a.b",
        "café",
        "a-",
        "a_",
        "a--b",
        "a__b",
        "ab9",
        &too_long,
    ];
    for sample in samples {
        let value = serde_json::Value::String(sample.to_owned());
        assert_eq!(validator.is_valid(&value), SpaceName::parse(sample).is_ok(), "{sample:?}");
    }
}
