//! Record policy: what one caller ([`Access`]) may see and change of one form's records, as the
//! form's `access` definition ([`forms::AccessPolicy`]) says. Every path where record data
//! enters or leaves the engine asks a [`Policy`]:
//! - [`Policy::sees`]: is this record in the caller's scope (`all`, `team`, `own`)? A record out
//!   of scope is answered like one that does not exist;
//! - [`Policy::redact`]: drop hidden fields from record data;
//! - [`Policy::check_readable`]: may a query filter, sort, group or measure on these fields?
//! - [`Policy::check_input`] and [`Policy::check_scope_after`]: may a write set these fields,
//!   and does the record stay the caller's?
//! - [`Policy::fill_person`]: a create by an `own` or `team` caller that names no person is
//!   the caller's.
//!
//! A caller without a role ([`Access::unrestricted`]: a superadmin, a token of before people,
//! the engine's own workflows and timers) is never restricted, nor is a role the form's policy
//! does not list.

use forms::{AccessPolicy, FieldError, FieldRule, FormDef, RecordScope, RolePolicy};
use serde_json::{Map, Value};

use crate::error::{EngineError, Result};
use crate::model::{Access, Event, Record};
use crate::query::Filter;

/// One caller's rules for one form.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    access: &'a Access,
    person_field: Option<&'a str>,
    /// `None`: nothing is restricted.
    rules: Option<&'a RolePolicy>,
}

impl<'a> Policy<'a> {
    /// The rules `access` is under in the form defined by `def`.
    pub fn new(def: &'a FormDef, access: &'a Access) -> Self {
        Self::of(def.access.as_ref(), access)
    }

    /// The rules `access` is under with the form policy `policy` (none: no restriction).
    pub fn of(policy: Option<&'a AccessPolicy>, access: &'a Access) -> Self {
        let rules = match (policy, access.role) {
            (Some(policy), Some(role)) => policy.role(role.as_str()),
            _ => None,
        };
        Policy { access, person_field: policy.and_then(|p| p.person_field.as_deref()), rules }
    }

    /// Whether this caller sees every record and every field.
    pub fn is_unrestricted(&self) -> bool {
        self.rules.is_none_or(|rules| rules.records == RecordScope::All && rules.fields.is_empty())
    }

    /// Which records the caller reaches.
    pub fn scope(&self) -> RecordScope {
        self.rules.map_or(RecordScope::All, |rules| rules.records)
    }

    /// The field a scope other than `all` reads, when it reads one.
    pub fn scope_field(&self) -> Option<&'a str> {
        (self.scope() != RecordScope::All).then_some(self.person_field).flatten()
    }

    /// The rule for a top-level field, if any.
    pub fn rule(&self, field: &str) -> Option<FieldRule> {
        self.rules.and_then(|rules| rules.fields.get(field).copied())
    }

    /// Whether the field at `path` (a name, or a dotted path into one) is hidden from the caller.
    pub fn is_hidden(&self, path: &str) -> bool {
        let top = path.split('.').next().unwrap_or(path);
        self.rule(top) == Some(FieldRule::Hidden)
    }

    /// The fields hidden from the caller.
    pub fn hidden_fields(&self) -> impl Iterator<Item = &'a str> {
        self.fields_ruled(FieldRule::Hidden)
    }

    /// The fields the caller may read but not write.
    pub fn read_only_fields(&self) -> impl Iterator<Item = &'a str> {
        self.fields_ruled(FieldRule::ReadOnly)
    }

    fn fields_ruled(&self, wanted: FieldRule) -> impl Iterator<Item = &'a str> {
        self.rules
            .into_iter()
            .flat_map(|rules| rules.fields.iter())
            .filter(move |(_, rule)| **rule == wanted)
            .map(|(name, _)| name.as_str())
    }

    /// Whether a record with this data is in the caller's scope.
    pub fn sees(&self, data: &Value) -> bool {
        let person = || self.person_field.and_then(|field| data.get(field)).and_then(Value::as_str);
        match self.scope() {
            RecordScope::All => true,
            RecordScope::Own => person().is_some_and(|person| self.access.user_id.as_deref() == Some(person)),
            RecordScope::Team => person().is_some_and(|person| {
                self.access.team_members.contains(person) || self.access.user_id.as_deref() == Some(person)
            }),
        }
    }

    /// Whether the caller sees this record.
    pub fn sees_record(&self, record: &Record) -> bool {
        self.sees(&record.data)
    }

    /// Removes hidden fields from record data.
    pub fn redact(&self, data: &mut Value) {
        if let Value::Object(fields) = data {
            for hidden in self.hidden_fields() {
                fields.remove(hidden);
            }
        }
    }

    /// The record as the caller may see it: hidden fields removed.
    pub fn redact_record(&self, mut record: Record) -> Record {
        self.redact(&mut record.data);
        record
    }

    /// An event of this form's record as the caller may see it: hidden fields removed from the
    /// data before and after.
    pub fn redact_event(&self, mut event: Event) -> Event {
        for data in [&mut event.before, &mut event.after].into_iter().flatten() {
            self.redact(data);
        }
        event
    }

    /// Refuses a query that names a hidden field: `at` is the pointer of the query part
    /// (`/filter`, `/sort`, `/group_by/0/field`) each field was named in.
    pub fn check_readable<'f>(&self, fields: impl IntoIterator<Item = (&'f str, String)>) -> Result<()> {
        let refused: Vec<(&str, String)> = fields.into_iter().filter(|(field, _)| self.is_hidden(field)).collect();
        if refused.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = refused.iter().map(|(field, _)| *field).collect();
        Err(EngineError::Forbidden {
            message: format!("your role may not query on hidden field(s): {}", names.join(", ")),
            errors: refused
                .iter()
                .map(|(field, at)| FieldError::new(at.clone(), format!("`{field}` is hidden from your role")))
                .collect(),
        })
    }

    /// Refuses a write whose `input` (the data of a create, the merge patch of an update: its
    /// top-level keys) sets or changes a field the caller may not write (read-only or hidden).
    /// `before` is the stored data (none for a create). A value equal to the stored one is not
    /// a change, so a client may send back what it read.
    pub fn check_input(&self, before: Option<&Value>, input: &Value) -> Result<()> {
        let Value::Object(input) = input else { return Ok(()) };
        let mut errors = Vec::new();
        for (field, value) in input {
            let Some(rule) = self.rule(field) else { continue };
            let old = before.and_then(|data| data.get(field)).filter(|v| !v.is_null());
            let new = (!value.is_null()).then_some(value);
            if old != new {
                let why = match rule {
                    FieldRule::ReadOnly => "is read-only for your role",
                    FieldRule::Hidden => "is hidden from your role and cannot be written",
                };
                errors.push(FieldError::new(
                    format!("/{}", forms::escape_pointer_token(field)),
                    format!("`{field}` {why}"),
                ));
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        Err(EngineError::Forbidden { message: "your role may not write these fields".into(), errors })
    }

    /// Refuses a write that would leave the record outside the caller's scope (an `own` caller
    /// naming someone else in the person field, a `team` caller someone outside the team).
    pub fn check_scope_after(&self, data: &Value) -> Result<()> {
        if self.sees(data) {
            return Ok(());
        }
        let field = self.person_field.unwrap_or("");
        let whose = match self.scope() {
            RecordScope::Own => "yourself",
            _ => "yourself or a member of your team",
        };
        Err(EngineError::Forbidden {
            message: format!("your role may only write records whose `{field}` is {whose}"),
            errors: vec![FieldError::new(
                format!("/{}", forms::escape_pointer_token(field)),
                format!("must be {whose}"),
            )],
        })
    }

    /// For a create by an `own` or `team` caller that leaves the person field empty: the record
    /// is the caller's.
    pub fn fill_person(&self, data: &mut Value) {
        let (Some(field), Some(user)) = (self.scope_field(), self.access.user_id.as_deref()) else {
            return;
        };
        if let Value::Object(fields) = data {
            if fields.get(field).is_none_or(Value::is_null) {
                fields.insert(field.to_owned(), Value::String(user.to_owned()));
            }
        }
    }

    /// The caller's scope as a filter on the person field (`csm = "ann"`, `csm in [...]`), so a
    /// query planner can use an index on it; `None` for `all`, or when it can't be written
    /// (no user, a team too large for a filter). [`Policy::sees`] decides either way.
    pub fn scope_filter(&self, resolve: &dyn Fn(&str) -> Option<forms::FieldType>) -> Option<Filter> {
        let field = self.scope_field()?;
        let user = self.access.user_id.as_deref()?;
        let src = match self.scope() {
            RecordScope::All => return None,
            RecordScope::Own => format!("{field} = {}", Value::from(user)),
            RecordScope::Team => {
                let mut people: Vec<&str> = self.access.team_members.iter().map(String::as_str).collect();
                people.push(user);
                format!("{field} in {}", Value::from(people))
            }
        };
        Filter::parse(&src, resolve).ok()
    }

    /// A form's data schema (as the OpenAPI document shows it) for the caller: hidden
    /// properties removed, read-only ones marked `readOnly`.
    pub fn schema(&self, mut schema: Value) -> Value {
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            for hidden in self.hidden_fields() {
                properties.remove(hidden);
            }
            for read_only in self.read_only_fields() {
                if let Some(Value::Object(property)) = properties.get_mut(read_only) {
                    property.insert("readOnly".into(), Value::Bool(true));
                }
            }
        }
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|name| name.as_str().is_none_or(|name| !self.is_hidden(name)));
        }
        schema
    }

    /// A JSON object's keys that are hidden, removed (for effects and other maps of fields).
    pub fn redact_map(&self, fields: &mut Map<String, Value>) {
        for hidden in self.hidden_fields() {
            fields.remove(hidden);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::model::SpaceRole;

    fn def() -> FormDef {
        FormDef::from_json(&json!({
            "schema": { "type": "object", "required": ["name", "notes"], "properties": {
                "name": { "type": "string" }, "csm": { "type": "string" },
                "arr": { "type": "number" }, "notes": { "type": "string" } } },
            "access": { "person_field": "csm", "roles": {
                "member": { "records": "own", "fields": { "arr": "read_only", "notes": "hidden" } },
                "viewer": { "records": "team", "fields": { "notes": "hidden" } } } }
        }))
        .expect("definition")
    }

    fn access(role: Option<SpaceRole>, user: &str, team: &[&str]) -> Access {
        Access {
            user_id: Some(user.to_owned()),
            role,
            team_members: team.iter().map(|m| (*m).to_owned()).collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn scope_decides_which_records_are_seen() {
        let def = def();
        let (mine, theirs, nobodys) =
            (json!({ "csm": "ann" }), json!({ "csm": "bob" }), json!({ "name": "unassigned" }));
        let member = access(Some(SpaceRole::Member), "ann", &["ann"]);
        let policy = Policy::new(&def, &member);
        assert!(policy.sees(&mine) && !policy.sees(&theirs) && !policy.sees(&nobodys));
        let viewer = access(Some(SpaceRole::Viewer), "cat", &["cat", "bob"]);
        let policy = Policy::new(&def, &viewer);
        assert!(!policy.sees(&mine) && policy.sees(&theirs) && !policy.sees(&nobodys));
        // A team the people subsystem gave without the caller still reaches the caller's own.
        let lonely = access(Some(SpaceRole::Viewer), "ann", &[]);
        assert!(Policy::new(&def, &lonely).sees(&mine));
        for unlimited in [Access::unrestricted(), access(Some(SpaceRole::Admin), "x", &[])] {
            let policy = Policy::new(&def, &unlimited);
            assert!(policy.is_unrestricted() && policy.sees(&theirs) && policy.sees(&nobodys));
        }
        // `own` without a user (a role but no person) reaches nothing.
        let nobody = Access { user_id: None, role: Some(SpaceRole::Member), team_members: BTreeSet::new() };
        assert!(!Policy::new(&def, &nobody).sees(&mine));
    }

    #[test]
    fn hidden_fields_leave_data_events_and_schemas() {
        let def = def();
        let member = access(Some(SpaceRole::Member), "ann", &["ann"]);
        let policy = Policy::new(&def, &member);
        let mut data = json!({ "name": "Acme", "csm": "ann", "notes": "secret", "arr": 5 });
        policy.redact(&mut data);
        assert_eq!(data, json!({ "name": "Acme", "csm": "ann", "arr": 5 }));
        assert!(policy.is_hidden("notes") && policy.is_hidden("notes.inner") && !policy.is_hidden("arr"));
        let schema = policy.schema(def.schema.clone());
        assert_eq!(schema["required"], json!(["name"]));
        assert!(schema["properties"].get("notes").is_none());
        assert_eq!(schema["properties"]["arr"]["readOnly"], true);
        let admin = access(Some(SpaceRole::Admin), "x", &[]);
        assert_eq!(Policy::new(&def, &admin).schema(def.schema.clone()), def.schema);
    }

    #[test]
    fn queries_on_hidden_fields_are_refused_naming_them() {
        let def = def();
        let member = access(Some(SpaceRole::Member), "ann", &["ann"]);
        let policy = Policy::new(&def, &member);
        policy.check_readable([("arr", "/filter".to_owned()), ("csm", "/sort".to_owned())]).expect("visible");
        let err = policy
            .check_readable([("name", "/filter".to_owned()), ("notes.x", "/sort".to_owned())])
            .expect_err("hidden");
        assert!(matches!(&err, EngineError::Forbidden { .. }));
        assert_eq!(err.field_errors(), vec![FieldError::new("/sort", "`notes.x` is hidden from your role")]);
        assert!(err.to_string().contains("notes.x"), "{err}");
    }

    #[test]
    fn writes_to_read_only_or_hidden_fields_are_refused() {
        let def = def();
        let member = access(Some(SpaceRole::Member), "ann", &["ann"]);
        let policy = Policy::new(&def, &member);
        let stored = json!({ "name": "Acme", "csm": "ann", "arr": 5, "notes": "n" });
        policy.check_input(Some(&stored), &json!({ "name": "New", "arr": 5 })).expect("unchanged read-only");
        let err = policy.check_input(Some(&stored), &json!({ "arr": 6, "notes": null })).expect_err("changes");
        let paths: Vec<String> = err.field_errors().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/arr", "/notes"]);
        policy.check_input(None, &json!({ "name": "A", "arr": null })).expect("null is not setting");
        assert!(policy.check_input(None, &json!({ "arr": 1 })).is_err());
    }

    #[test]
    fn an_own_caller_creates_its_own_records_only() {
        let def = def();
        let member = access(Some(SpaceRole::Member), "ann", &["ann"]);
        let policy = Policy::new(&def, &member);
        let mut data = json!({ "name": "A" });
        policy.fill_person(&mut data);
        assert_eq!(data["csm"], "ann");
        policy.check_scope_after(&data).expect("own");
        let mut theirs = json!({ "name": "A", "csm": "bob" });
        policy.fill_person(&mut theirs);
        let err = policy.check_scope_after(&theirs).expect_err("someone else's");
        assert_eq!(err.field_errors()[0].path, "/csm");
        // An unrestricted caller's data is left as it is.
        let mut data = json!({ "name": "A" });
        Policy::new(&def, &Access::unrestricted()).fill_person(&mut data);
        assert_eq!(data, json!({ "name": "A" }));
    }
}
