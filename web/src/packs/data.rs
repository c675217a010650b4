//! Sample records (`data/<form>.ndjson`) and the record data in workflow tests.
//!
//! Record ids are made by the engine, and sample data must stay realistic whatever day it is
//! installed, so data may use three placeholders, resolved when the record is written:
//! - `{"$ref": "acme"}`: the id of the record given `"$id": "acme"` earlier (a row's `$id`
//!   key names it and is not stored);
//! - `{"$date": "+90d"}`: today (UTC, by the engine's clock) moved by an offset;
//! - `{"$datetime": "-2h"}`: now moved by an offset.
//!
//! Offsets are a sign and a duration (`30m`, `12h`, `3d`, `2w`), or `0d` for today.
//!
//! A person field (`x-person`) holds a user id, and sample data names people by email: each
//! such email becomes the id of the user with that email, who is made (named from the
//! address, without a password) and added to the space as a `member` when missing. The sample
//! data brings its people, so record scopes work on it at once.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use engine::auth::{Principal, Role};
use engine::people::NewUser;
use engine::{Access, Actor, Engine, EngineError, FormName, SpaceName, SpaceRole};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Problem;

/// Aliases given with `$id` → record id.
pub(crate) type Aliases = HashMap<String, Uuid>;

/// `ana.silva@example.com` → `Ana Silva`.
pub(crate) fn name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local
        .split(['.', '_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The people sample data names by email in one space: user ids by email, made on first use.
struct SamplePeople {
    space: SpaceName,
    /// Lower-cased email → user id.
    ids: HashMap<String, String>,
    members: BTreeSet<String>,
    /// Emails of the users made here.
    made: Vec<String>,
}

impl SamplePeople {
    fn new(engine: &Engine, space: &SpaceName) -> Result<Self, EngineError> {
        let members = engine.members(space)?.into_iter().map(|(m, _)| m.user_id).collect();
        Ok(Self { space: space.clone(), ids: HashMap::new(), members, made: Vec::new() })
    }

    /// `data` with every email in a person field of `form` replaced by its user's id.
    async fn resolve(&mut self, engine: &Engine, form: &FormName, mut data: Value) -> Result<Value, EngineError> {
        let loaded = engine.loaded_form(&self.space, form)?;
        for field in loaded.compiled.person_fields() {
            match data.get_mut(field) {
                Some(Value::String(value)) if value.contains('@') => *value = self.id_of(engine, value).await?,
                Some(Value::Array(values)) => {
                    for value in values {
                        if let Value::String(email) = value {
                            if email.contains('@') {
                                *email = self.id_of(engine, email).await?;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(data)
    }

    async fn id_of(&mut self, engine: &Engine, email: &str) -> Result<String, EngineError> {
        let key = email.to_lowercase();
        if let Some(id) = self.ids.get(&key) {
            return Ok(id.clone());
        }
        let user = match engine.user_by_email(email) {
            Ok(user) => user,
            Err(err) if err.code() == engine::ErrorCode::NotFound => {
                let new = NewUser { email: email.to_owned(), name: name_from_email(email), ..NewUser::default() };
                let user = engine.create_user(new).await?;
                self.made.push(user.email.clone());
                user
            }
            Err(err) => return Err(err),
        };
        if self.members.insert(user.id.clone()) {
            let installer = Principal { superadmin: true, role: Role::Admin, ..Principal::default() };
            engine.put_member(&installer, &self.space, &user.id, SpaceRole::Member, &[]).await?;
        }
        self.ids.insert(key, user.id.clone());
        Ok(user.id)
    }
}

/// Parses `+90d`, `-2h`, `3d`, `0d`.
pub(crate) fn parse_offset(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest.len() >= 2 && rest[..rest.len() - 1].bytes().all(|b| b == b'0') {
        return Ok(chrono::Duration::zero());
    }
    let duration = forms::parse_duration(rest)?;
    let duration = chrono::Duration::from_std(duration).map_err(|_| format!("`{text}` is too long an offset"))?;
    Ok(duration * sign)
}

/// Replaces the placeholders in `value`; errors name the pointer.
pub(crate) fn resolve(value: &Value, aliases: &Aliases, now: DateTime<Utc>, pointer: &str) -> Result<Value, String> {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("$ref") => {
            let alias = map.get("$ref").and_then(Value::as_str).unwrap_or("");
            aliases
                .get(alias)
                .map(|id| Value::String(id.to_string()))
                .ok_or_else(|| format!("{pointer}: no record was given `\"$id\": \"{alias}\"` before"))
        }
        Value::Object(map) if map.len() == 1 && (map.contains_key("$date") || map.contains_key("$datetime")) => {
            let (key, offset) = map.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or(("", &Value::Null));
            let offset =
                offset.as_str().ok_or_else(|| format!("{pointer}: `{key}` takes an offset such as \"+90d\""))?;
            let at = now + parse_offset(offset).map_err(|err| format!("{pointer}: {err}"))?;
            Ok(Value::String(if key == "$date" { at.date_naive().to_string() } else { engine::model::timestamp(&at) }))
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                out.insert(key.clone(), resolve(child, aliases, now, &format!("{pointer}/{key}"))?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| resolve(item, aliases, now, &format!("{pointer}/{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// One parsed line of a data file.
struct Row {
    file: String,
    line: usize,
    form: FormName,
    alias: Option<String>,
    data: Value,
}

/// The aliases `value` refers to.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("$ref") => {
            if let Some(alias) = map.get("$ref").and_then(Value::as_str) {
                out.insert(alias.to_owned());
            }
        }
        Value::Object(map) => map.values().for_each(|v| references(v, out)),
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Writes the sample records of `files` ((path, form, text)) into `space`: files whose rows
/// are referred to first. Returns how many records were written and every problem, each at
/// its file and line.
pub(crate) async fn load(
    engine: &Engine,
    actor: &Actor,
    space: &SpaceName,
    files: &[(String, String, String)],
) -> (usize, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut by_file: Vec<(String, Vec<Row>)> = Vec::new();
    for (file, form, text) in files {
        let Ok(form) = FormName::parse(form) else {
            problems.push(Problem { file: file.clone(), line: None, message: format!("there is no form `{form}`") });
            continue;
        };
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |message: String| Problem { file: file.clone(), line: Some(i + 1), message };
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(mut map)) => {
                    let alias = match map.remove("$id") {
                        None => None,
                        Some(Value::String(alias)) => Some(alias),
                        Some(_) => {
                            problems.push(at("`$id` must be a string".into()));
                            continue;
                        }
                    };
                    rows.push(Row {
                        file: file.clone(),
                        line: i + 1,
                        form: form.clone(),
                        alias,
                        data: Value::Object(map),
                    });
                }
                Ok(_) => problems.push(at("each line must be one JSON object".into())),
                Err(err) => problems.push(at(format!("not valid JSON: {err}"))),
            }
        }
        by_file.push((file.clone(), rows));
    }

    // A file comes after the files defining the aliases its rows refer to.
    let defined_in: HashMap<String, usize> = by_file
        .iter()
        .enumerate()
        .flat_map(|(i, (_, rows))| rows.iter().filter_map(move |r| r.alias.clone().map(|a| (a, i))))
        .collect();
    let depends: Vec<BTreeSet<usize>> = by_file
        .iter()
        .enumerate()
        .map(|(i, (_, rows))| {
            let mut refs = BTreeSet::new();
            rows.iter().for_each(|r| references(&r.data, &mut refs));
            refs.iter().filter_map(|a| defined_in.get(a).copied()).filter(|&j| j != i).collect()
        })
        .collect();
    let mut order = Vec::new();
    let mut placed = vec![false; by_file.len()];
    while order.len() < by_file.len() {
        let next = (0..by_file.len())
            .find(|&i| !placed[i] && depends[i].iter().all(|&j| placed[j]))
            // A cycle: take the first remaining file; its unresolved references are reported.
            .or_else(|| (0..by_file.len()).find(|&i| !placed[i]));
        let Some(next) = next else { break };
        placed[next] = true;
        order.push(next);
    }

    let mut people = match SamplePeople::new(engine, space) {
        Ok(people) => people,
        Err(err) => {
            problems.push(Problem { file: String::new(), line: None, message: err.to_string() });
            return (0, problems);
        }
    };
    let mut aliases = Aliases::new();
    let mut written = 0;
    let mut slots: Vec<Option<(String, Vec<Row>)>> = by_file.into_iter().map(Some).collect();
    for index in order {
        let Some((_, rows)) = slots[index].take() else { continue };
        for row in rows {
            let at = |message: String| Problem { file: row.file.clone(), line: Some(row.line), message };
            let data = match resolve(&row.data, &aliases, engine.now(), "") {
                Ok(data) => data,
                Err(message) => {
                    problems.push(at(message));
                    continue;
                }
            };
            let data = match people.resolve(engine, &row.form, data).await {
                Ok(data) => data,
                Err(err) => {
                    problems.push(at(format!("naming the people of this record: {err}")));
                    continue;
                }
            };
            match engine.create_record(actor, &Access::unrestricted(), space, &row.form, data).await {
                Ok(record) => {
                    written += 1;
                    if let Some(alias) = row.alias {
                        aliases.insert(alias, record.id);
                    }
                }
                Err(err) => {
                    let errors = err.field_errors();
                    if errors.is_empty() {
                        problems.push(at(err.to_string()));
                    }
                    for error in errors {
                        let path = if error.path.is_empty() { String::new() } else { format!("{}: ", error.path) };
                        problems.push(at(format!("{path}{}", error.message)));
                    }
                }
            }
        }
    }
    if !people.made.is_empty() {
        tracing::info!(
            %space,
            users = people.made.join(", "),
            "made users for the people the sample data names; they sign in once given a password (`tend user reset-password`)"
        );
    }
    (written, problems)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholders_resolve_against_the_clock_and_aliases() {
        let now = Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).single().expect("instant");
        let mut aliases = Aliases::new();
        let id = Uuid::nil();
        aliases.insert("acme".into(), id);
        let value = json!({ "a": { "$ref": "acme" }, "d": { "$date": "+90d" }, "t": { "$datetime": "-2h" },
                            "z": { "$date": "0d" }, "list": [{ "$date": "-1w" }], "plain": { "x": 1 } });
        let resolved = resolve(&value, &aliases, now, "").expect("resolved");
        assert_eq!(
            resolved,
            json!({ "a": id.to_string(), "d": "2027-04-04", "t": "2027-01-04T06:00:00.000000Z", "z": "2027-01-04",
                    "list": ["2026-12-28"], "plain": { "x": 1 } })
        );
        let err = resolve(&json!({ "a": [{ "$ref": "nope" }] }), &aliases, now, "").expect_err("unknown alias");
        assert!(err.starts_with("/a/0: "), "{err}");
        assert!(resolve(&json!({ "$date": "soon" }), &aliases, now, "").is_err());
    }
}
