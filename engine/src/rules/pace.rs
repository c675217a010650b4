//! Where a form's scripts run: in place on the async runtime, or on a blocking thread.
//!
//! A script may spin until its timeout, and on a runtime thread it would hold up every other
//! request and task that thread serves (`/healthz`, writes in other spaces). But handing each
//! of many small evaluations to a blocking thread costs more than the evaluation itself: a
//! computed field on every create spent more time in the hand-off than in the script. So a
//! form's writes are evaluated on a blocking thread until [`PROVEN`] of them in a row have each
//! taken under [`IN_PLACE_LIMIT`] of CPU time, and in place after that, until one takes longer: from then on they
//! go to a blocking thread for as long as that form version is loaded. A runtime thread is held
//! up at most once per form version, for at most one evaluation's timeout.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Evaluations in a row that must each finish under [`IN_PLACE_LIMIT`] on a blocking thread before a
/// form's scripts run in place.
pub const PROVEN: u32 = 64;

/// The most CPU time a write's work may take and still run in place.
pub const IN_PLACE_LIMIT: Duration = Duration::from_millis(1);

/// How long one form version's script work has taken so far.
#[derive(Debug, Default)]
pub struct ScriptPace {
    fast: AtomicU32,
    slow: AtomicBool,
}

impl ScriptPace {
    /// Whether the next evaluation may run in place.
    pub fn in_place(&self) -> bool {
        !self.slow.load(Ordering::Relaxed) && self.fast.load(Ordering::Relaxed) >= PROVEN
    }

    /// Takes in how long one evaluation took.
    pub fn record(&self, took: Duration) {
        let fast = self.fast.load(Ordering::Relaxed);
        if took <= IN_PLACE_LIMIT {
            if fast < PROVEN {
                self.fast.fetch_add(1, Ordering::Relaxed);
            }
        } else if fast < PROVEN {
            // Still proving, on a blocking thread: a form's first writes also pay for one-time
            // work (caches filled, validators built), so a slow one starts the count again.
            self.fast.store(0, Ordering::Relaxed);
        } else {
            self.slow.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_in_place_once_proven_fast_and_never_again_after_one_slow_evaluation() {
        let pace = ScriptPace::default();
        for _ in 0..PROVEN - 1 {
            pace.record(Duration::from_micros(50));
        }
        assert!(!pace.in_place(), "not proven yet");
        pace.record(IN_PLACE_LIMIT);
        assert!(pace.in_place(), "proven: every evaluation within the limit");
        pace.record(IN_PLACE_LIMIT + Duration::from_micros(1));
        assert!(!pace.in_place(), "one slow evaluation sends the form back to a blocking thread");
        for _ in 0..2 * PROVEN {
            pace.record(Duration::from_micros(50));
        }
        assert!(!pace.in_place(), "for good");
    }

    #[test]
    fn a_slow_evaluation_while_proving_starts_the_count_again() {
        let pace = ScriptPace::default();
        for _ in 0..PROVEN - 1 {
            pace.record(Duration::from_micros(50));
        }
        pace.record(Duration::from_millis(5));
        for _ in 0..PROVEN - 1 {
            pace.record(Duration::from_micros(50));
        }
        assert!(!pace.in_place(), "{PROVEN} fast ones in a row are needed");
        pace.record(Duration::from_micros(50));
        assert!(pace.in_place());
    }
}
