//! The shape of a form definition as an admin writes it, and how it is read from JSON.
//!
//! This module only knows the *shape* (which keys, which types). Whether the parts agree with
//! each other and with the JSON Schema (an index on a declared field, a known stage, ...) is
//! judged by [`CompiledForm::compile`](crate::CompiledForm::compile).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{escape_pointer_token, DefinitionErrors, FieldError};

/// System fields of every record. The engine owns them, so a client can never set them and a
/// form may not declare them.
pub const RESERVED_FIELDS: &[&str] = &["id", "version", "created_at", "created_by", "updated_at", "updated_by"];

/// Whether `name` is one of [`RESERVED_FIELDS`].
pub fn is_reserved_field(name: &str) -> bool {
    RESERVED_FIELDS.contains(&name)
}

/// An entity form: a JSON Schema 2020-12 for the record data plus Tend's extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// Human title, e.g. "Account".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Longer help text for admins and the generated API docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema 2020-12 for the record data; its root is an object schema.
    pub schema: Value,
    /// Free-form presentation hints (field order, list columns, widgets). Always an object.
    #[serde(default, deserialize_with = "ui_object", skip_serializing_if = "Option::is_none")]
    pub ui: Option<Value>,
    /// Top-level scalar fields that can be filtered and sorted fast.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
    /// Fields recomputed on every write, keyed by the (declared) field they set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub computed: BTreeMap<String, ComputedField>,
    /// Cross-field checks run on every write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Stages a record moves through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    /// Who reaches which records and fields, per space role (`crate::AccessPolicy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<crate::access::AccessPolicy>,
}

impl FormDef {
    /// Reads a definition from JSON, reporting a shape problem (unknown key, wrong type,
    /// missing `schema`) with the JSON pointer where it is.
    ///
    /// Serde stops at the first shape problem, so the list holds exactly one error; the
    /// cross-checks of [`CompiledForm::compile`](crate::CompiledForm::compile) gather all.
    pub fn from_json(value: &Value) -> Result<FormDef, DefinitionErrors> {
        parse_definition(value, "a form definition")
    }
}

/// Reads a definition (`what`, e.g. "a workflow definition") of shape `T` from JSON; a shape
/// error names the pointer where it is.
pub fn parse_definition<T: de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, DefinitionErrors> {
    if !value.is_object() {
        return Err(DefinitionErrors(vec![FieldError::new("", format!("{what} must be a JSON object"))]));
    }
    serde_path_to_error::deserialize(value).map_err(|err| DefinitionErrors(vec![shape_error(&err)]))
}

/// Turns a serde error into a pointer and message. The path tracker already includes an
/// unknown key itself, which is where an admin should be pointed.
fn shape_error(err: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let mut path = String::new();
    for segment in err.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                path.push('/');
                path.push_str(&index.to_string());
            }
            serde_path_to_error::Segment::Map { key } => {
                path.push('/');
                path.push_str(&escape_pointer_token(key));
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    FieldError::new(path, err.inner().to_string())
}

fn ui_object<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(ui @ Value::Object(_)) => Ok(Some(ui)),
        Some(_) => Err(de::Error::custom(UI_NOT_OBJECT)),
    }
}

/// Shared by the shape check and the compile check so both say the same thing.
pub(crate) const UI_NOT_OBJECT: &str = "`ui` must be an object";

/// A field whose value is an expression evaluated on every write.
///
/// Written either as the bare expression (`"total": "price * qty"`) or as an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedField {
    /// rhai expression producing the field's value.
    pub expr: String,
    /// What the field means, for admins.
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComputedFieldObject {
    expr: String,
    #[serde(default)]
    description: Option<String>,
}

impl<'de> Deserialize<'de> for ComputedField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrObject::new(
            "an expression string or an object with `expr`",
            |expr| ComputedField { expr, description: None },
            |o: ComputedFieldObject| ComputedField { expr: o.expr, description: o.description },
        ))
    }
}

impl Serialize for ComputedField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.description {
            // Round-trips to the shorthand so stored definitions look like what admins write.
            None => serializer.serialize_str(&self.expr),
            Some(description) => {
                let mut s = serializer.serialize_struct("ComputedField", 2)?;
                s.serialize_field("expr", &self.expr)?;
                s.serialize_field("description", description)?;
                s.end()
            }
        }
    }
}

/// A cross-field check: when `expr` is false the write fails with `message` at `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Optional label, for logs and admin screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// rhai boolean expression that must hold.
    pub expr: String,
    /// What the user sees when it does not.
    pub message: String,
    /// JSON pointer of the field the message is about (`""` = the whole record).
    #[serde(default)]
    pub path: String,
}

/// The stages of a record's life, kept in a string field of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The top-level string property holding the current stage.
    pub field: String,
    /// Stage of a new record; the first stage when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
    /// Stages in display order.
    pub stages: Vec<Stage>,
    /// Allowed moves: stage -> stages it may move to. Empty means any move is allowed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transitions: BTreeMap<String, Vec<String>>,
    /// The top-level object property holding checklist state (`{"<item id>": true}`); defaults
    /// to `checklist`. Kept in the data so users tick items with an ordinary merge patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist_field: Option<String>,
}

impl Pipeline {
    /// The stage a new record starts in.
    pub fn initial_stage(&self) -> Option<&str> {
        self.initial.as_deref().or_else(|| self.stages.first().map(|s| s.name.as_str()))
    }

    /// The stage called `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The property holding checklist state.
    pub fn checklist_field(&self) -> &str {
        self.checklist_field.as_deref().unwrap_or("checklist")
    }

    /// Items of `stage`'s checklist that `data` does not mark done.
    pub fn unchecked_items<'a>(&'a self, stage: &str, data: &serde_json::Value) -> Vec<&'a str> {
        let state = data.get(self.checklist_field());
        self.stage(stage)
            .map(|stage| {
                stage
                    .checklist
                    .iter()
                    .filter(|item| state.and_then(|s| s.get(&item.id)) != Some(&serde_json::Value::Bool(true)))
                    .map(|item| item.id.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a record may move from stage `from` to stage `to`.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        if self.stage(to).is_none() {
            return false;
        }
        if self.transitions.is_empty() {
            return true;
        }
        self.transitions.get(from).is_some_and(|targets| targets.iter().any(|t| t == to))
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The value stored in the pipeline field.
    pub name: String,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Things to do while in this stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<ChecklistItem>,
    /// How long a record may stay in this stage, e.g. `3d` (see [`parse_duration`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// A date or date-time field: a record created (or imported) already in this stage entered
    /// it at that field's value, when set and not later than the write, so its SLA counts from
    /// there (an onboarding imported in kickoff counts from its kickoff date, not from the
    /// import). Moving into the stage later counts from the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_from: Option<String>,
}

/// One checklist entry of a stage. A bare string is both its id and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Stable key the engine records completion under.
    pub id: String,
    /// What the user sees.
    pub label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistItemObject {
    id: String,
    label: String,
}

impl<'de> Deserialize<'de> for ChecklistItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrObject::new(
            "a string or an object with `id` and `label`",
            |label: String| ChecklistItem { id: label.clone(), label },
            |o: ChecklistItemObject| ChecklistItem { id: o.id, label: o.label },
        ))
    }
}

impl Serialize for ChecklistItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.id == self.label {
            serializer.serialize_str(&self.label)
        } else {
            let mut s = serializer.serialize_struct("ChecklistItem", 2)?;
            s.serialize_field("id", &self.id)?;
            s.serialize_field("label", &self.label)?;
            s.end()
        }
    }
}

/// Reads a value written either as a bare string shorthand or as a full object.
///
/// A hand-written visitor instead of `#[serde(untagged)]`: untagged enums swallow the inner
/// error ("did not match any variant"), and admins need to hear which key is wrong and where.
struct StringOrObject<T, O, S, M> {
    expecting: &'static str,
    from_str: S,
    from_object: M,
    marker: PhantomData<fn() -> (T, O)>,
}

impl<T, O, S, M> StringOrObject<T, O, S, M>
where
    S: FnOnce(String) -> T,
    M: FnOnce(O) -> T,
{
    fn new(expecting: &'static str, from_str: S, from_object: M) -> Self {
        Self { expecting, from_str, from_object, marker: PhantomData }
    }
}

impl<'de, T, O, S, M> Visitor<'de> for StringOrObject<T, O, S, M>
where
    O: Deserialize<'de>,
    S: FnOnce(String) -> T,
    M: FnOnce(O) -> T,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.from_str)(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok((self.from_str)(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        O::deserialize(de::value::MapAccessDeserializer::new(map)).map(self.from_object)
    }
}

/// Parses a duration written as a positive whole number and a unit: `30m`, `12h`, `3d`, `2w`.
///
/// Used for stage SLAs and, by other crates, for workflow delays and offsets.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{s}` is not a duration: write a positive whole number followed by m, h, d or w \
             (e.g. 30m, 12h, 3d, 2w)"
        )
    };
    let Some((split, unit)) = s.char_indices().last() else {
        return Err(invalid());
    };
    let unit_secs: u64 = match unit {
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        'w' => 7 * 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    let digits = &s[..split];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let count: u64 = digits.parse().map_err(|_| format!("`{s}` is too long a duration"))?;
    if count == 0 {
        return Err(format!("`{s}` is not a duration: it must be longer than zero"));
    }
    count.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(|| format!("`{s}` is too long a duration"))
}

#[cfg(test)]
mod tests;
