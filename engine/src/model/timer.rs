//! What a timer is, as stored and as the API shows it.

use chrono::{DateTime, NaiveDateTime, Utc};
use forms::{FormName, SpaceName, WorkflowName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a timer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// An offset from a date field of a record (`renewal_date` −30d at 09:00).
    DateOffset,
    /// A delay after a record event.
    Delay,
    /// The next occurrence of a cron schedule.
    Cron,
    /// A pipeline stage's SLA.
    Sla,
}

/// A pending timer. Stored in due order; each has one owner (space, record, workflow, spec), and
/// scheduling for an owner replaces its pending timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    /// UUIDv7.
    pub id: Uuid,
    /// The space.
    pub space: SpaceName,
    /// Where it came from.
    pub kind: TimerKind,
    /// The workflow it runs (none for an SLA, which raises `sla_breached` on the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowName>,
    /// The workflow version that scheduled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u32>,
    /// The record's form (none for cron).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormName>,
    /// The record (the nil UUID for cron).
    pub record: Uuid,
    /// The offset (`-30d`), delay (`7d`), cron expression or pipeline stage.
    pub spec: String,
    /// When it falls due.
    pub due: DateTime<Utc>,
    /// The IANA zone its local time is in.
    pub timezone: String,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
}

impl Timer {
    /// The owner's workflow part: the workflow name, or "" for an SLA.
    pub fn owner_workflow(&self) -> &str {
        self.workflow.as_ref().map_or("", WorkflowName::as_str)
    }

    /// Its due instant on the wall clock of its zone.
    pub fn local(&self) -> NaiveDateTime {
        match crate::calendar::parse_zone(&self.timezone) {
            Ok(zone) => self.due.with_timezone(&zone).naive_local(),
            Err(_) => self.due.naive_utc(),
        }
    }

    /// Its due instant in microseconds since the epoch (the store's sort key).
    pub fn due_micros(&self) -> i64 {
        self.due.timestamp_micros()
    }
}

/// A timer's place in the due-order queue: its due instant, then its id to order timers due
/// at the same instant. Listings resume after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerPosition {
    /// The due instant, in microseconds since the epoch.
    pub due_micros: i64,
    /// The timer's id.
    pub id: Uuid,
}

impl Timer {
    /// Where it stands in the queue.
    pub fn position(&self) -> TimerPosition {
        TimerPosition { due_micros: self.due_micros(), id: self.id }
    }
}
