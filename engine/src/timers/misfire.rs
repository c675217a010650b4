//! Misfire rules: what happens to a timer that fired late (the server was down or behind
//! when it fell due). Lateness is decided once, by the scheduler when it fires the timer
//! ([`LATE_AFTER`], stored as `FiredTimer::late`); the rules here read that.

use chrono::{DateTime, Duration, Utc};

use crate::model::{timestamp, FiredTimer, Misfire};

/// A timer fired later than this after its due instant counts as late (missed while the
/// server was down or the scheduler behind); misfire policies apply to late timers only.
pub(crate) const LATE_AFTER: Duration = Duration::seconds(60);

/// Whether firing at `fired_at` is late for a timer due at `due`.
pub(crate) fn is_late(due: DateTime<Utc>, fired_at: DateTime<Utc>) -> bool {
    fired_at - due > LATE_AFTER
}

/// Why a late timer's run is skipped instead of run, if it is: the workflow's misfire policy
/// is `skip`, or the timer is older than its catch-up window. The note says when it was due
/// and when it fired, so a skipped run is never silent.
pub(crate) fn skip_note(
    timer: &FiredTimer,
    fired_at: DateTime<Utc>,
    misfire: Misfire,
    catch_up: Duration,
) -> Option<String> {
    if !timer.late {
        return None;
    }
    let lateness = fired_at - timer.due;
    let missed = |why: &str| {
        format!("due {} but fired {} ({} late): {why}", timestamp(&timer.due), timestamp(&fired_at), humanize(lateness))
    };
    if misfire == Misfire::Skip {
        Some(missed("the workflow's misfire policy is `skip`"))
    } else if lateness > catch_up {
        Some(missed(&format!("older than the catch-up window of {}", humanize(catch_up))))
    } else {
        None
    }
}

/// A duration in the largest whole unit that fits, for run notes.
pub(crate) fn humanize(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds();
    match seconds {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}
