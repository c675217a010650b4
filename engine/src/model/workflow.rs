//! What a workflow is, as admins write it and as it is stored, and what its runs leave behind:
//! run records and outbox deliveries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use forms::{FormName, WorkflowName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{Actor, EventKind};

/// A workflow definition: trigger, condition, actions. Values in actions are rhai expressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A disabled workflow keeps its definition and its runs but is not triggered.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Workflows triggered by one event run by `order`, then by name.
    #[serde(default)]
    pub order: i64,
    /// What starts a run.
    pub trigger: Trigger,
    /// A rhai boolean over `record`, `old`, `event`, `space`; absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// What a run does, in order.
    #[serde(default)]
    pub actions: Vec<Action>,
}

fn enabled() -> bool {
    true
}

/// What starts a run. One shape for every kind, told apart by which keys are present:
/// - record events: `{form, on, fields?}`;
/// - a delay after record events: `{form, on, delay, business_days?}`;
/// - a date field with offsets: `{form, at, offsets, time?, timezone?, business_days?}`;
/// - a cron schedule: `{cron, timezone?}`;
/// - an inbound webhook: `{hook}`.
///
/// Timer triggers also take `misfire` and `catch_up` (what to do with occurrences missed
/// while the server was down).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The form whose records are watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormName>,
    /// Which record events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on: Vec<EventKind>,
    /// For `updated`: run only when one of these fields changed (empty: any change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A date or date-time field: the run happens at offsets from its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Offsets from the `at` field's date: `-90d`, `-2w`, `1d`, `0d`, `-4h`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<String>,
    /// Local time of day (`09:00`) for date offsets; default 09:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The time zone of `time` and `cron`: an IANA name, or `{"field": "timezone"}` to read it
    /// from the record; default: the space's zone (UTC unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<Zone>,
    /// Run this long after the event (`7d`, `4h`, `30m`), re-checking `when` then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Count days of offsets and delays as business days (Monday to Friday).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_days: bool,
    /// A crontab schedule (5 fields; 6 or 7 with seconds and years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// What to do with a timer that fell due while the server was down; default `fire`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misfire: Option<Misfire>,
    /// How far back missed timers still fire (`7d` by default); older ones are recorded as
    /// skipped runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<String>,
    /// An inbound webhook of the space, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
}

/// A time zone: fixed, or read from a field of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Zone {
    /// An IANA name such as `Asia/Shanghai`.
    Named(String),
    /// The record field holding an IANA name.
    Field {
        /// The field.
        field: String,
    },
}

/// What a timer that fell due during downtime does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// Fire late (the run says so).
    #[default]
    Fire,
    /// Record a skipped run instead.
    Skip,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Set fields of the triggering record: field → expression.
    Set(BTreeMap<String, String>),
    /// Create a record in a form of the space.
    Create {
        /// The form.
        form: FormName,
        /// Field → expression.
        data: BTreeMap<String, String>,
    },
    /// Move the triggering record to a pipeline stage.
    Transition {
        /// The stage.
        to: String,
    },
    /// Write a delivery to the outbox.
    Notify(Notify),
    /// A rhai script that may call `create`, `update`, `transition` and `notify`; what it asks
    /// for is applied only if the whole script succeeds.
    Script(String),
    /// Set a field of the triggering record to a person from a pool.
    Assign(Assign),
}

/// Assignment rules, as CRMs have them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// The field that holds the assignee.
    pub field: String,
    /// Who can be assigned, in rotation order.
    pub pool: Vec<String>,
    /// How to choose.
    #[serde(default)]
    pub strategy: Strategy,
    /// For `least_open`: a filter telling which records of the form count as open
    /// (e.g. `status != "closed"`); all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
}

/// How `assign` chooses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each in turn; the position is kept durably, per workflow and action.
    #[default]
    RoundRobin,
    /// The one with the fewest open records of the form (ties: pool order).
    LeastOpen,
}

/// Where and what to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// A webhook endpoint of the space, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// A URL to post to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Expression for the webhook body (a map); defaults to the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// An email whose parts are expressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    /// Recipient expression.
    pub to: String,
    /// Subject expression (a string or a template literal).
    pub subject: String,
    /// Body expression.
    pub body: String,
}

/// One version of a workflow as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredWorkflow {
    /// Its name.
    pub name: WorkflowName,
    /// 1, 2, ...
    pub version: u32,
    /// As the admin wrote it.
    pub definition: WorkflowDef,
    /// When this version was stored.
    pub created_at: DateTime<Utc>,
    /// Who stored it.
    pub created_by: Actor,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// `when` held and every effect was applied.
    Succeeded,
    /// `when` did not hold; nothing was done.
    Skipped,
    /// Something failed; no effect was applied.
    Failed,
}

impl RunStatus {
    /// The status as a word (metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// One execution of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// UUIDv7.
    pub id: Uuid,
    /// The workflow.
    pub workflow: WorkflowName,
    /// The version that ran.
    pub workflow_version: u32,
    /// The triggering event's sequence number (0 for a manual run, which no event triggers).
    pub event: u64,
    /// The triggering record (the nil UUID for a manual run without one).
    pub record: Uuid,
    /// The result of `when` (none if it was not reached).
    pub when: Option<bool>,
    /// How it ended.
    pub status: RunStatus,
    /// What it did (or would have done, for a failed run: nothing was applied).
    pub effects: Vec<Value>,
    /// Lines printed by its scripts.
    pub output: Vec<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failed run this one retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<Uuid>,
    /// Whether its timer fired late (the server was down or behind when it fell due).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Why it ran as it did, when that is not obvious: a missed timer skipped by the misfire
    /// policy, a cron run that waited for the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long evaluating it took, in microseconds.
    pub duration_us: u64,
}
