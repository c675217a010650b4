//! The engine's plain data: spaces, stored form versions, records, events and the actors behind
//! them. These are what the store persists and what the engine hands to its callers; they carry
//! no behaviour beyond lookups.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use forms::{FieldType, FormDef, FormName, SpaceName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::query::FieldLookup;

mod access;
mod dashboard;
mod delivery;
mod integration;
mod person;
mod projection;
mod session;
mod timer;
mod token;
mod view;
mod workflow;

pub use self::access::*;
pub use self::dashboard::*;
pub use self::delivery::*;
pub use self::integration::*;
pub use self::person::*;
pub use self::projection::record_with_fields;
pub use self::session::*;
pub use self::timer::*;
pub use self::token::*;
pub use self::view::*;
pub use self::workflow::*;

/// Who made a change: recorded on records (`created_by`, `updated_by`) and events (`actor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(pub String);

impl Actor {
    /// The engine acting on its own behalf (start-up tasks, migrations).
    pub fn system() -> Self {
        Self("system".into())
    }
}

/// A department's namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// Slug, unique.
    pub name: SpaceName,
    /// Human title; defaults to the name.
    pub title: String,
    /// The IANA zone timers use when a workflow names none; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: Actor,
    /// For a space made as a copy of another: which, and the definition versions copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<CopiedFrom>,
    /// For a space made from a template pack: which pack, at which version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
}

/// Where a copied space's definitions came from, so a department can tell what it started
/// from after both spaces have moved on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopiedFrom {
    /// The space copied.
    pub space: SpaceName,
    /// Form name → the version copied.
    pub forms: std::collections::BTreeMap<String, u32>,
    /// Workflow name → the version copied.
    pub workflows: std::collections::BTreeMap<String, u32>,
}

/// The template pack a space was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRef {
    /// The pack's name (`customer-success`).
    pub name: String,
    /// The pack's version, as its `pack.json` says.
    pub version: String,
}

/// One version of a form definition as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredForm {
    /// The form's name.
    pub name: FormName,
    /// 1 for the first definition, +1 for each change.
    pub version: u32,
    /// The definition as the admin wrote it.
    pub definition: FormDef,
    /// When this version was stored.
    pub created_at: DateTime<Utc>,
    /// Who stored it.
    pub created_by: Actor,
}

/// A record: one entity of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// UUIDv7: time-ordered, so id order is creation order.
    pub id: Uuid,
    /// The form this record belongs to.
    pub form: FormName,
    /// The record's own version (its ETag): 1 at creation, +1 on every change.
    pub version: u64,
    /// The version of the form definition the record was last written with.
    pub form_version: u32,
    /// The admin-defined fields, valid against the form's schema.
    pub data: Value,
    /// The pipeline stage, for forms with a pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Creator.
    pub created_by: Actor,
    /// Last change instant.
    pub updated_at: DateTime<Utc>,
    /// Last changer.
    pub updated_by: Actor,
}

/// The fields every record has besides its data, with the types filters and sorts see.
pub const SYSTEM_FIELDS: &[(&str, FieldType)] = &[
    ("id", FieldType::String),
    ("version", FieldType::Integer),
    ("created_at", FieldType::DateTime),
    ("created_by", FieldType::String),
    ("updated_at", FieldType::DateTime),
    ("updated_by", FieldType::String),
];

impl FieldLookup for Record {
    fn lookup(&self, field: &str) -> Option<Cow<'_, Value>> {
        let system = match field {
            "id" => Some(Value::String(self.id.to_string())),
            "version" => Some(Value::from(self.version)),
            "created_at" => Some(Value::String(timestamp(&self.created_at))),
            "updated_at" => Some(Value::String(timestamp(&self.updated_at))),
            "created_by" => Some(Value::String(self.created_by.0.clone())),
            "updated_by" => Some(Value::String(self.updated_by.0.clone())),
            _ => None,
        };
        if let Some(value) = system {
            return Some(Cow::Owned(value));
        }
        let mut current = &self.data;
        for part in field.split('.') {
            current = current.get(part)?;
        }
        Some(Cow::Borrowed(current))
    }
}

/// RFC 3339 in UTC with microseconds, the one timestamp format the engine writes.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A record was created.
    Created,
    /// A record's data changed.
    Updated,
    /// A record was deleted.
    Deleted,
    /// A record moved to another pipeline stage.
    StageChanged,
    /// Someone ran a workflow by hand (never in the log: manual runs commit directly).
    Manual,
    /// A timer fell due: a date offset, a delay or a cron occurrence of one workflow.
    TimerFired,
    /// A record stayed in a pipeline stage past the stage's SLA.
    SlaBreached,
    /// An outside system posted to an inbound webhook of the space.
    Inbound,
}

/// One entry of the durable, ordered event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log: gapless, starting at 1.
    pub seq: u64,
    /// Space of the record.
    pub space: SpaceName,
    /// Form of the record; none for events about no record (cron occurrences, inbound hooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormName>,
    /// The record concerned (the nil UUID for none).
    pub record: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// The record's version after the change (the deleted version for deletions).
    pub version: u64,
    /// The record's data before the change (none for a creation).
    pub before: Option<Value>,
    /// The record's data after the change (none for a deletion).
    pub after: Option<Value>,
    /// Who made the change.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The workflow run that made the change, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// For `timer_fired` and `sla_breached`: the timer that fell due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<FiredTimer>,
    /// For `inbound`: the hook posted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// For `inbound`: the body posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Written by an import asked not to trigger workflows: the processor moves past it
    /// without running anything (it stays in the log and the record's history).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_workflows: bool,
}

impl EventKind {
    /// The serde name (`stage_changed`), used in trigger keys.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

impl Event {
    /// An event about no record yet: kind, space, actor and instant; callers fill in the rest.
    pub fn bare(space: SpaceName, kind: EventKind, actor: Actor, at: DateTime<Utc>) -> Self {
        Event {
            seq: 0,
            space,
            form: None,
            record: Uuid::nil(),
            kind,
            version: 0,
            before: None,
            after: None,
            actor,
            at,
            cause: None,
            timer: None,
            hook: None,
            payload: None,
            skip_workflows: false,
        }
    }

    /// What the trigger index is searched by, with the event kind: the hook of an inbound
    /// event, the form of any other.
    pub fn trigger_source(&self) -> &str {
        self.hook.as_deref().or(self.form.as_ref().map(FormName::as_str)).unwrap_or_default()
    }
}

/// The timer behind a `timer_fired` or `sla_breached` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredTimer {
    /// The timer's id.
    pub id: Uuid,
    /// The workflow it belongs to (none for a pipeline SLA, which belongs to the form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<forms::WorkflowName>,
    /// The workflow version that scheduled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u32>,
    /// When it was due.
    pub due: DateTime<Utc>,
    /// The offset (`-30d`), delay (`7d`) or cron expression it came from; the stage, for an SLA.
    pub spec: String,
    /// Whether it fired later than due (the server was down or behind).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

/// Why a workflow wrote: the run, and the chain of workflows that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    /// The run that wrote.
    pub run: Uuid,
    /// Workflows from the first to the one that wrote; its length is the cascade depth.
    pub chain: Vec<String>,
    /// The share of the cascade's work budget (`max_cascade_work`) left for what this write's
    /// event may cause; absent in events written before budgets existed, which get it whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u64>,
}
