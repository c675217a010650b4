//! A form's record policy as an admin writes it (`"access"` in the definition): per space role,
//! which records the role reaches (`all`, `team`, `own`, decided by the form's person field)
//! and which fields it may not see (`hidden`) or not change (`read_only`).
//!
//! ```json
//! "access": {
//!   "person_field": "csm",
//!   "roles": {
//!     "member": {"records": "own", "fields": {"arr": "read_only", "internal_notes": "hidden"}},
//!     "viewer": {"records": "team", "fields": {"internal_notes": "hidden"}}
//!   }
//! }
//! ```
//!
//! This module knows the shape and checks it against the schema; applying it to a caller is the
//! engine's policy module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{escape_pointer_token, FieldError};
use crate::field::FieldType;

/// The space roles a policy may name, most powerful first.
pub const ROLE_NAMES: &[&str] = &["owner", "admin", "member", "viewer"];

/// A form's record policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// The top-level string field holding the user id a record belongs to (its CSM, owner,
    /// assignee): what `own` and `team` scopes compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_field: Option<String>,
    /// Rules per role name (`owner`, `admin`, `member`, `viewer`). A role not listed reaches
    /// every record and every field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RolePolicy>,
}

/// What one role may do with a form's records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// Which records the role reaches; `all` when absent.
    #[serde(default)]
    pub records: RecordScope,
    /// Field rules by top-level field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldRule>,
}

/// Which records a role reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordScope {
    /// Every record of the form.
    #[default]
    All,
    /// Records whose person field names someone sharing a team with the caller (or the caller).
    Team,
    /// Records whose person field names the caller.
    Own,
}

/// What a role may do with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    /// Never shown, never written, never filtered, sorted, grouped or measured on.
    Hidden,
    /// Shown, but a write that sets or changes it is refused.
    ReadOnly,
}

impl AccessPolicy {
    /// The rules of `role`, if the policy states any.
    pub fn role(&self, role: &str) -> Option<&RolePolicy> {
        self.roles.get(role)
    }
}

/// Checks a policy against the form's fields (`field_type` resolves a top-level property),
/// pushing every problem with its pointer under `/access`.
pub(crate) fn check_access(
    policy: &AccessPolicy,
    field_type: &dyn Fn(&str) -> Option<FieldType>,
    errors: &mut Vec<FieldError>,
) {
    if let Some(person) = &policy.person_field {
        match field_type(person) {
            None => errors.push(FieldError::new(
                "/access/person_field",
                format!("`{person}` is not a top-level property of the schema"),
            )),
            Some(FieldType::String) => {}
            Some(_) => errors.push(FieldError::new(
                "/access/person_field",
                format!("`{person}` must be a string property: it holds a user id"),
            )),
        }
    }
    for (role, rules) in &policy.roles {
        let path = format!("/access/roles/{}", escape_pointer_token(role));
        if !ROLE_NAMES.contains(&role.as_str()) {
            errors.push(FieldError::new(
                path.clone(),
                format!("`{role}` is not a space role; use one of {}", ROLE_NAMES.join(", ")),
            ));
        }
        if rules.records != RecordScope::All && policy.person_field.is_none() {
            errors.push(FieldError::new(
                format!("{path}/records"),
                "`own` and `team` need `access.person_field`: the field saying whose a record is",
            ));
        }
        for (field, rule) in &rules.fields {
            let at = format!("{path}/fields/{}", escape_pointer_token(field));
            if field_type(field).is_none() {
                errors.push(FieldError::new(at, format!("`{field}` is not a top-level property of the schema")));
            } else if *rule == FieldRule::Hidden
                && rules.records != RecordScope::All
                && policy.person_field.as_deref() == Some(field)
            {
                errors.push(FieldError::new(
                    at,
                    format!("`{field}` decides which records this role reaches, so it cannot be hidden from it"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{CompiledForm, FormDef};

    fn compile(access: serde_json::Value) -> Result<CompiledForm, Vec<(String, String)>> {
        let def = json!({
            "schema": { "type": "object", "properties": {
                "name": { "type": "string" }, "csm": { "type": "string" },
                "arr": { "type": "number" }, "notes": { "type": "string" } } },
            "access": access,
        });
        let def =
            FormDef::from_json(&def).map_err(|e| e.0.into_iter().map(|e| (e.path, e.message)).collect::<Vec<_>>())?;
        CompiledForm::compile(def).map_err(|e| e.0.into_iter().map(|e| (e.path, e.message)).collect())
    }

    #[test]
    fn a_policy_reads_and_round_trips() {
        let access = json!({ "person_field": "csm", "roles": {
            "member": { "records": "own", "fields": { "arr": "read_only", "notes": "hidden" } },
            "viewer": { "records": "team" } } });
        let form = compile(access.clone()).expect("valid");
        let policy = form.def().access.as_ref().expect("policy");
        assert_eq!(policy.role("member").map(|r| r.records), Some(super::RecordScope::Own));
        assert_eq!(policy.role("member").and_then(|r| r.fields.get("notes")), Some(&super::FieldRule::Hidden));
        assert_eq!(policy.role("admin"), None);
        assert_eq!(serde_json::to_value(policy).expect("json"), access);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let errors = compile(json!({ "person_field": "arr", "roles": {
            "boss": {},
            "member": { "records": "own", "fields": { "nope": "hidden", "arr": "hidden" } } } }))
        .expect_err("invalid");
        let paths: Vec<&str> = errors.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/access/person_field",
                "/access/roles/boss",
                "/access/roles/member/fields/arr",
                "/access/roles/member/fields/nope"
            ],
            "{errors:?}"
        );
        let errors = compile(json!({ "person_field": "missing" })).expect_err("unknown person field");
        assert_eq!(errors[0].0, "/access/person_field");
        assert!(errors[0].1.contains("`missing` is not a top-level property"), "{errors:?}");
        let errors = compile(json!({ "roles": { "viewer": { "records": "team" } } })).expect_err("no person field");
        assert_eq!(errors[0].0, "/access/roles/viewer/records");
    }

    #[test]
    fn shape_errors_name_where() {
        let errors = compile(json!({ "roles": { "member": { "records": "mine" } } })).expect_err("bad scope");
        assert_eq!(errors[0].0, "/access/roles/member/records");
        let errors =
            compile(json!({ "roles": { "member": { "fields": { "arr": "secret" } } } })).expect_err("bad rule");
        assert_eq!(errors[0].0, "/access/roles/member/fields/arr");
    }
}
