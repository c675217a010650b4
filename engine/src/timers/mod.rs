//! Timers: date offsets from a record's date field, delays after record events, cron schedules
//! and pipeline SLAs.
//!
//! - `calendar`: local times in IANA zones across DST, offsets, business days, cron;
//! - `plan`: which timers a workflow or a pipeline stage wants for a record or a schedule;
//! - `scheduler`: fires due timers into the event log, and drives simulated time;
//! - the API-facing listing lives here.
//!
//! Timers are stored by `store` (see `store::timers` for the key layout) and changed only
//! through commits, atomically with what causes them.

pub mod calendar;
mod model;
mod plan;
mod scheduler;

pub use self::model::*;
pub(crate) use self::plan::sla_op;
pub(crate) use self::scheduler::LATE_AFTER;
use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// Pending timers of a space in due order, filtered; `cursor` is the `next_cursor` of the
    /// previous page. Returns up to `limit` timers and the cursor of the next page.
    pub fn timers(
        &self,
        space: &str,
        filter: &TimerFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Timer>, Option<String>)> {
        let space = self.space(space)?.name;
        let after = match cursor {
            Some(cursor) => Some(decode_cursor(cursor)?),
            None => None,
        };
        let before = filter.before.map(|at| at.timestamp_micros());
        let in_range = |timer: &Timer| before.is_none_or(|before| timer.due_micros() < before);
        let mut found = match filter.record {
            Some(record) => {
                let mut all = self.store().timers_of_record(space.as_str(), &record)?;
                all.retain(|(position, timer)| {
                    after.as_ref().is_none_or(|after| position > after)
                        && filter.workflow.as_deref().is_none_or(|w| timer.owner_workflow() == w)
                        && in_range(timer)
                });
                all.truncate(limit + 1);
                all
            }
            None => self.store().timers_in_due_order(
                space.as_str(),
                filter.workflow.as_deref(),
                after.as_deref(),
                limit + 1,
                in_range,
            )?,
        };
        let more = found.len() > limit;
        found.truncate(limit);
        let next = if more { found.last().map(|(position, _)| hex::encode(position)) } else { None };
        Ok((found.into_iter().map(|(_, timer)| timer).collect(), next))
    }
}

fn decode_cursor(cursor: &str) -> Result<Vec<u8>> {
    hex::decode(cursor)
        .ok()
        .filter(|bytes| bytes.len() == 24)
        .ok_or_else(|| EngineError::InvalidQuery(crate::query::QueryError::new("invalid cursor")))
}

#[cfg(test)]
mod tests;
