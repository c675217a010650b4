//! Where a form's scripts run: in place on the async runtime, or on a blocking thread.
//!
//! A script may spin until its timeout, and on a runtime thread it would hold up every other
//! request and task that thread serves (`/healthz`, writes in other spaces). But handing each
//! of many small evaluations to a blocking thread costs more than the evaluation itself: a
//! computed field on every create spent more time in the hand-off than in the script. So a
//! form's writes are evaluated on a blocking thread until [`PROVEN`] of them in a row have each
//! taken under [`IN_PLACE_LIMIT`] of CPU time, and in place after that, until they prove slow:
//! from then on they go to a blocking thread for as long as that form version is loaded.
//!
//! Proving slow in place takes one evaluation over [`SURELY_SLOW`], or [`TOLERATED`] over
//! [`IN_PLACE_LIMIT`] with fewer than [`FORGIVEN_AFTER`] fast ones after each. One evaluation
//! over 1 ms is not enough: a thread's CPU clock also runs while a virtual machine's host has
//! its CPU away (steal time), and on a busy shared machine 12 evaluations in 168,553 of a
//! computed field that takes ~30 µs measured 1 to 12 ms that way. Deciding on the first
//! one sent every form's writes to a blocking thread within seconds of load. A runtime thread
//! is thus held up by one form version at most [`TOLERATED`] times in a row, each for less
//! than [`SURELY_SLOW`] or for one evaluation's timeout once.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Evaluations in a row that must each finish under [`IN_PLACE_LIMIT`] on a blocking thread before a
/// form's scripts run in place.
pub const PROVEN: u32 = 64;

/// The most CPU time a write's work may take and still run in place.
pub const IN_PLACE_LIMIT: Duration = Duration::from_millis(1);

/// An evaluation this long in place is the script's own doing, never the machine's: its
/// form's scripts leave the runtime at once.
pub const SURELY_SLOW: Duration = Duration::from_millis(50);

/// Evaluations over [`IN_PLACE_LIMIT`] that a form's scripts may have in place, not forgiven,
/// before they leave the runtime.
pub const TOLERATED: u32 = 16;

/// Fast evaluations in place that forgive one slow one.
pub const FORGIVEN_AFTER: u32 = 256;

/// How long one form version's script work has taken so far.
#[derive(Debug, Default)]
pub struct ScriptPace {
    fast: AtomicU32,
    /// Slow evaluations in place not yet forgiven.
    strikes: AtomicU32,
    /// Fast evaluations in place since a strike was last forgiven or taken.
    since_strike: AtomicU32,
    slow: AtomicBool,
}

impl ScriptPace {
    /// Whether the next evaluation may run in place.
    pub fn in_place(&self) -> bool {
        !self.slow.load(Ordering::Relaxed) && self.fast.load(Ordering::Relaxed) >= PROVEN
    }

    /// Takes in how long one evaluation took.
    pub fn record(&self, took: Duration) {
        let proving = self.fast.load(Ordering::Relaxed) < PROVEN;
        if proving {
            if took <= IN_PLACE_LIMIT {
                self.fast.fetch_add(1, Ordering::Relaxed);
            } else {
                // On a blocking thread still: a form's first writes also pay for one-time work
                // (caches filled, validators built), so a slow one starts the count again.
                self.fast.store(0, Ordering::Relaxed);
            }
        } else if took > SURELY_SLOW {
            self.slow.store(true, Ordering::Relaxed);
        } else if took > IN_PLACE_LIMIT {
            self.since_strike.store(0, Ordering::Relaxed);
            if self.strikes.fetch_add(1, Ordering::Relaxed) + 1 >= TOLERATED {
                self.slow.store(true, Ordering::Relaxed);
            }
        } else if self.since_strike.fetch_add(1, Ordering::Relaxed) + 1 >= FORGIVEN_AFTER {
            self.since_strike.store(0, Ordering::Relaxed);
            // Never below zero: a failed update means there was nothing to forgive.
            let _ = self.strikes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_micros(50);
    const HICCUP: Duration = Duration::from_millis(3);

    fn proven() -> ScriptPace {
        let pace = ScriptPace::default();
        for _ in 0..PROVEN {
            pace.record(FAST);
        }
        assert!(pace.in_place(), "proven: every evaluation within the limit");
        pace
    }

    #[test]
    fn scripts_run_in_place_once_proven_fast() {
        let pace = ScriptPace::default();
        for _ in 0..PROVEN - 1 {
            pace.record(FAST);
        }
        assert!(!pace.in_place(), "not proven yet");
        pace.record(IN_PLACE_LIMIT);
        assert!(pace.in_place());
    }

    #[test]
    fn one_surely_slow_evaluation_sends_the_form_to_a_blocking_thread_for_good() {
        let pace = proven();
        pace.record(SURELY_SLOW + Duration::from_micros(1));
        assert!(!pace.in_place(), "one evaluation past any hiccup is enough");
        for _ in 0..4 * FORGIVEN_AFTER {
            pace.record(FAST);
        }
        assert!(!pace.in_place(), "for good");
    }

    #[test]
    fn scripts_slow_every_time_leave_the_runtime_after_the_tolerated_strikes() {
        let pace = proven();
        for _ in 0..TOLERATED - 1 {
            pace.record(HICCUP);
        }
        assert!(pace.in_place(), "{} strikes are tolerated", TOLERATED - 1);
        pace.record(HICCUP);
        assert!(!pace.in_place(), "the {TOLERATED}th is not");
    }

    #[test]
    fn hiccups_among_many_fast_evaluations_are_forgiven() {
        let pace = proven();
        // One 1-to-12 ms measure among ~14,000 fast ones is what a busy virtual machine showed;
        // far more often than that must still stay in place.
        for _ in 0..10 * TOLERATED {
            pace.record(HICCUP);
            for _ in 0..FORGIVEN_AFTER {
                pace.record(FAST);
            }
        }
        assert!(pace.in_place());
    }

    #[test]
    fn scripts_slow_more_often_than_they_are_forgiven_leave_the_runtime() {
        let pace = proven();
        for _ in 0..TOLERATED {
            pace.record(HICCUP);
            for _ in 0..FORGIVEN_AFTER / 2 {
                pace.record(FAST);
            }
        }
        assert!(!pace.in_place(), "one slow evaluation in {} is too many", FORGIVEN_AFTER / 2 + 1);
    }

    #[test]
    fn a_slow_evaluation_while_proving_starts_the_count_again() {
        let pace = ScriptPace::default();
        for _ in 0..PROVEN - 1 {
            pace.record(FAST);
        }
        pace.record(Duration::from_millis(5));
        for _ in 0..PROVEN - 1 {
            pace.record(FAST);
        }
        assert!(!pace.in_place(), "{PROVEN} fast ones in a row are needed");
        pace.record(FAST);
        assert!(pace.in_place());
    }
}
