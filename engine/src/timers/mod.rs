//! Timers: date offsets from a record's date field, delays after record events, cron schedules
//! and pipeline SLAs. Calendar arithmetic (zones, DST, cron) is `crate::calendar`.
//!
//! //! - `misfire`: what a late timer's run does (lateness is decided once, when it fires);
//! - `plan`: which timers a workflow or a pipeline stage wants for a record or a schedule;
//! - `scheduler`: fires due timers into the event log, and drives simulated time;
//! - the API-facing listing lives here.
//!
//! Timers are stored by `store` (see `store::kv_backend::timers` for the key layout) and changed only
//! through commits, atomically with what causes them.

pub(crate) mod misfire;
mod plan;
mod scheduler;

pub(crate) use self::scheduler::Scheduler;

pub(crate) use self::plan::sla_op;
pub use crate::model::{Timer, TimerKind, TimerPosition};
use chrono::{DateTime, Utc};
use forms::SpaceName;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::store::Store as _;
use crate::Engine;

/// Which timers to list.
#[derive(Debug, Clone, Default)]
pub struct TimerFilter {
    /// Only this workflow's timers.
    pub workflow: Option<String>,
    /// Only this record's timers.
    pub record: Option<Uuid>,
    /// Only timers due before this instant.
    pub before: Option<DateTime<Utc>>,
}

impl Engine {
    /// Pending timers of a space in due order, filtered; `cursor` is the `next_cursor` of the
    /// previous page. Returns up to `limit` timers and the cursor of the next page.
    pub fn timers(
        &self,
        space: &SpaceName,
        filter: &TimerFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Timer>, Option<String>)> {
        self.space(space)?;
        let after = match cursor {
            Some(cursor) => Some(decode_cursor(cursor)?),
            None => None,
        };
        let before = filter.before.map(|at| at.timestamp_micros());
        let in_range = |timer: &Timer| before.is_none_or(|before| timer.due_micros() < before);
        let mut found = match filter.record {
            Some(record) => {
                let mut all = self.store().timers_of_record(space, &record)?;
                all.retain(|timer| {
                    after.is_none_or(|after| timer.position() > after)
                        && filter.workflow.as_deref().is_none_or(|w| timer.owner_workflow() == w)
                        && in_range(timer)
                });
                all.truncate(limit + 1);
                all
            }
            None => self.store().timers_in_due_order(
                space,
                filter.workflow.as_deref(),
                after,
                limit.saturating_add(1),
                &mut |timer: &Timer| in_range(timer),
            )?,
        };
        let more = found.len() > limit;
        found.truncate(limit);
        let next = if more { found.last().map(|timer| encode_cursor(timer.position())) } else { None };
        Ok((found, next))
    }
}

/// A page cursor: the last timer's position, as hex of its due instant (sign-flipped, so
/// that byte order is time order) and id.
fn encode_cursor(position: TimerPosition) -> String {
    let due = (position.due_micros as u64) ^ (1 << 63);
    hex::encode([due.to_be_bytes().as_slice(), position.id.as_bytes()].concat())
}

fn decode_cursor(cursor: &str) -> Result<TimerPosition> {
    let invalid = || EngineError::InvalidQuery(crate::query::QueryError::new("invalid cursor"));
    let bytes = hex::decode(cursor).map_err(|_| invalid())?;
    let (due, id) = (bytes.get(..8).ok_or_else(invalid)?, bytes.get(8..).ok_or_else(invalid)?);
    let due = u64::from_be_bytes(due.try_into().map_err(|_| invalid())?) ^ (1 << 63);
    let id = Uuid::from_slice(id).map_err(|_| invalid())?;
    Ok(TimerPosition { due_micros: due as i64, id })
}

#[cfg(test)]
mod tests;
