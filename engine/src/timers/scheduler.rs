//! The scheduler: fires timers when they fall due.
//!
//! It keeps nothing in memory but what the head of the timer queue says: it reads the first
//! due instant, sleeps until then (at most a second, so a clock that jumps is noticed) or until
//! a commit schedules a timer, and fires every timer due by then. Firing is one commit per
//! batch of timers: each timer is removed, its `timer_fired` (or `sla_breached`) event appended
//! and, for a cron schedule, its next occurrence inserted. The workflow processor then runs
//! the workflow from the event like any other, so effects stay exactly-once. A timer that was
//! replaced or cancelled between being read and being fired is skipped inside the commit.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::misfire;
use crate::clock::ManualClock;
use crate::error::Result;
use crate::model::{Actor, Event, EventKind, FiredTimer};
use crate::model::{Timer, TimerKind};
use crate::store::Store as _;
use crate::store::{Extras, TimerOp};
use crate::Engine;

/// Timers fired per commit.
const FIRE_BATCH: usize = 1024;
/// The longest the scheduler sleeps without looking at the clock again.
const MAX_SLEEP: StdDuration = StdDuration::from_secs(1);
/// The scheduler's state: only its bell. Everything else it needs is the queue's head, read
/// from the store each time.
#[derive(Default)]
pub(crate) struct Scheduler {
    /// Woken by every commit that changes timers, so an earlier timer is seen at once.
    wake: tokio::sync::Notify,
}

impl Scheduler {
    /// Rings the scheduler's bell: the timers changed.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Engine {
    /// Runs the scheduler until `stop` turns true.
    pub async fn run_scheduler(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let sleep = match self.fire_due().await {
                Ok(fired) if fired >= FIRE_BATCH => StdDuration::ZERO,
                Ok(_) => self.until_next_due(),
                Err(err) => {
                    tracing::error!(error = %err, "firing timers failed; retrying");
                    StdDuration::from_millis(500)
                }
            };
            if sleep.is_zero() {
                tokio::task::yield_now().await;
                if *stop.borrow() {
                    return;
                }
                continue;
            }
            tokio::select! {
                () = self.inner.scheduler.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// How long until the first pending timer is due, capped at [`MAX_SLEEP`].
    fn until_next_due(&self) -> StdDuration {
        match self.store().first_due() {
            Ok(Some(due)) => {
                let wait = due - self.now().timestamp_micros();
                if wait <= 0 {
                    StdDuration::ZERO
                } else {
                    StdDuration::from_micros(wait as u64).min(MAX_SLEEP)
                }
            }
            Ok(None) => MAX_SLEEP,
            Err(err) => {
                tracing::error!(error = %err, "reading the timer queue failed");
                MAX_SLEEP
            }
        }
    }

    /// Fires up to one batch of timers due now; returns how many it fired.
    pub async fn fire_due(&self) -> Result<usize> {
        let now = self.now();
        let due = self.store().due_timers(now.timestamp_micros(), FIRE_BATCH)?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut ops = Vec::with_capacity(due.len());
        for timer in &due {
            let lateness = (now - timer.due).to_std().unwrap_or_default();
            metrics::histogram!("tend_timer_lateness_seconds").record(lateness.as_secs_f64());
            ops.push(self.fire_op(timer.clone(), now)?);
        }
        let fired = ops.len();
        let events = self.commit(Vec::new(), Extras { timers: ops, ..Extras::default() }).await?;
        metrics::counter!("tend_timers_fired_total").increment(events.len() as u64);
        Ok(fired)
    }

    /// What firing `timer` at `now` commits: the event it raises (none if its record is gone or
    /// has left the SLA's stage) and a cron schedule's next occurrence.
    fn fire_op(&self, timer: Timer, now: DateTime<Utc>) -> Result<TimerOp> {
        let fired = FiredTimer {
            id: timer.id,
            workflow: timer.workflow.clone(),
            workflow_version: timer.workflow_version,
            due: timer.due,
            spec: timer.spec.clone(),
            late: misfire::is_late(timer.due, now),
        };
        let kind = if timer.kind == TimerKind::Sla { EventKind::SlaBreached } else { EventKind::TimerFired };
        let mut event = Event::bare(timer.space.clone(), kind, Actor("timer".into()), now);
        event.timer = Some(fired);
        let mut next = None;
        let mut raise = true;
        if let Some(form) = &timer.form {
            match self.store().record(&timer.space, form, &timer.record)? {
                Some(record) => {
                    raise = timer.kind != TimerKind::Sla || record.stage.as_deref() == Some(timer.spec.as_str());
                    event.form = Some(record.form.clone());
                    event.record = record.id;
                    event.version = record.version;
                    event.after = Some(record.data);
                }
                None => raise = false,
            }
        }
        if timer.kind == TimerKind::Cron {
            // All missed occurrences fire as one: the next one is the first after now.
            next = self.next_cron_timer(&timer, now)?;
            crate::fault::reached("cron-fire");
        }
        Ok(TimerOp::Fire { timer, event: raise.then(|| Box::new(event)), next: next.map(Box::new) })
    }

    fn next_cron_timer(&self, timer: &Timer, now: DateTime<Utc>) -> Result<Option<Timer>> {
        let (Some(name), Some(version)) = (&timer.workflow, timer.workflow_version) else { return Ok(None) };
        let workflow = match self.compiled_workflow(&timer.space, name, version) {
            Ok(workflow) => workflow,
            Err(err) => {
                tracing::warn!(workflow = %name, error = %err, "a cron workflow can't be compiled; not rescheduled");
                return Ok(None);
            }
        };
        Ok(self.cron_timer(&timer.space, &workflow, now, now))
    }

    /// Moves a simulated clock to `until`, firing every timer that falls due on the way at its
    /// due instant and processing the events each causes, in order; everything is processed
    /// when it returns. For tests, `tend simulate` and pack tests.
    pub async fn simulate_until(&self, clock: &ManualClock, until: DateTime<Utc>) -> Result<()> {
        loop {
            self.process_pending().await?;
            let Some(due) = self.store().first_due()? else { break };
            let Some(due) = DateTime::<Utc>::from_timestamp_micros(due) else { break };
            if due > until {
                break;
            }
            if due > self.now() {
                clock.set(due);
            }
            self.fire_due().await?;
        }
        if until > self.now() {
            clock.set(until);
        }
        self.process_pending().await?;
        Ok(())
    }

    /// How many timers are pending.
    pub fn pending_timers(&self) -> usize {
        self.store().count_timers()
    }

    /// Schedules arbitrary timers (benchmarks and tests build queues with it).
    pub async fn schedule_timers(&self, timers: Vec<Timer>) -> Result<()> {
        let ops = timers.into_iter().map(|timer| TimerOp::Put(Box::new(timer))).collect();
        self.commit(Vec::new(), Extras { timers: ops, ..Extras::default() }).await?;
        Ok(())
    }

    /// A fresh timer id for `at`.
    pub fn new_timer_id(&self, at: DateTime<Utc>) -> Uuid {
        self.new_record_id(at)
    }
}
