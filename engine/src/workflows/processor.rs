//! The workflow processor: reads the event log from a durable cursor and runs the workflows
//! each event triggers.
//!
//! Exactly once: for one event, the effects of every run (record writes and their events,
//! outbox deliveries), the run records and the cursor's advance past the event are committed
//! in ONE atomic batch. A crash before that batch loses nothing (the event is processed again,
//! from scratch); after it, the cursor is past the event, so nothing is repeated. A failed run
//! applies no effect, is recorded, and never blocks later events.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use forms::{SpaceName, WorkflowName};
use serde_json::Value;
use uuid::Uuid;

use super::{CompiledWorkflow, Delivery, Run, RunStatus, TriggerKind};
use crate::error::{EngineError, Result};
use crate::model::{timestamp, Cause, Event, EventKind, Record};
use crate::records::{create_write, update_write};
use crate::rules::ScriptVars;
use crate::store::Store as _;
use crate::store::{Extras, RecordWrite, StoreError, TimerOp};
use crate::timers::misfire;
use crate::{Engine, LoadedForm, Scripted};

/// The name of the processor's cursor.
pub const PROCESSOR_CURSOR: &str = "workflows";
/// The most records one `query(form, filter)` returns.
pub const QUERY_LIMIT: usize = 1_000;
/// Events read per pass.
const BATCH: usize = 256;
/// Attempts at one batch when concurrent writes keep changing the records it touches.
const CONFLICT_RETRIES: usize = 16;
/// A batch stops growing past this many record writes.
const MAX_BATCH_WRITES: usize = 2_000;
/// Events read ahead and not yet finished, across every space's lane: past this, reading waits
/// for lanes to finish. A space with a longer backlog than this can still hold up the events
/// of other spaces read after it, until its lane works through it.
const MAX_IN_FLIGHT: usize = 4 * BATCH;
/// How far behind the last event the processor may fall before record writes wait for it
/// (`Engine::pace_writes`): one batch, so it still reads full batches.
const PACED_BACKLOG: u64 = BATCH as u64;
/// The longest a record write waits for a processor that is not moving.
const PACE_LIMIT: Duration = Duration::from_secs(2);

/// Marks the processor as running while it lives; writes stop waiting for it once it ends.
struct Running<'a>(&'a Processor);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Relaxed);
        self.0.progressed.notify_waiters();
    }
}

/// The cursor of one space's lane: the last event of that space whose runs are committed.
fn lane_cursor(space: &SpaceName) -> String {
    format!("{PROCESSOR_CURSOR}/{space}")
}

/// What reading the log after the cursor gave.
enum Read {
    /// The events read that trigger something, and the last event read.
    Events(Vec<Event>, u64),
    /// This event can't be read: it is passed.
    Unreadable(u64),
}

/// The events read and not yet finished, by space, and the lanes running them: one task per
/// space at most, so a space's events run in log order while other spaces' run beside them.
#[derive(Default)]
struct Lanes {
    /// Events waiting for their space's lane, in log order.
    waiting: HashMap<SpaceName, VecDeque<Event>>,
    /// Each space's lane cursor, read when the space is first seen.
    cursors: HashMap<SpaceName, u64>,
    /// The first event of each running (or failed) batch, by space.
    running: HashMap<SpaceName, u64>,
    tasks: tokio::task::JoinSet<(SpaceName, usize, Result<()>)>,
    in_flight: usize,
}

impl Lanes {
    /// Queues an event for its space's lane, unless that lane committed it before (the
    /// global cursor lags the lanes).
    fn add(&mut self, engine: &Engine, event: Event) -> Result<()> {
        let cursor = match self.cursors.get(&event.space) {
            Some(cursor) => *cursor,
            None => {
                let cursor = engine.store().cursor(&lane_cursor(&event.space))?;
                self.cursors.insert(event.space.clone(), cursor);
                cursor
            }
        };
        if event.seq > cursor {
            self.in_flight += 1;
            self.waiting.entry(event.space.clone()).or_default().push_back(event);
        }
        Ok(())
    }

    /// Starts a batch in every lane that has events waiting and none running.
    fn start(&mut self, engine: &Engine) {
        for (space, waiting) in &mut self.waiting {
            if waiting.is_empty() || self.running.contains_key(space) {
                continue;
            }
            let batch: Vec<Event> = waiting.drain(..waiting.len().min(BATCH)).collect();
            self.running.insert(space.clone(), batch[0].seq);
            let (engine, space) = (engine.clone(), space.clone());
            self.tasks.spawn(async move {
                let count = batch.len();
                let outcome = engine.process_lane(batch).await;
                (space, count, outcome)
            });
        }
        self.waiting.retain(|_, waiting| !waiting.is_empty());
    }

    /// Takes in a lane's outcome; a failed batch stays running, so the global cursor stays
    /// before it.
    fn finish(
        &mut self,
        finished: std::result::Result<(SpaceName, usize, Result<()>), tokio::task::JoinError>,
        failure: &mut Option<EngineError>,
    ) {
        match finished {
            Ok((space, count, Ok(()))) => {
                self.running.remove(&space);
                self.in_flight -= count;
            }
            Ok((_, _, Err(err))) => *failure = failure.take().or(Some(err)),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => *failure = failure.take().or(Some(EngineError::Internal(format!("a lane stopped: {err}")))),
        }
    }

    /// The last event up to which every event read is finished.
    fn done_through(&self, read_to: u64) -> u64 {
        let waiting = self.waiting.values().filter_map(|waiting| waiting.front().map(|event| event.seq));
        waiting.chain(self.running.values().copied()).min().map_or(read_to, |first| first - 1)
    }
}

/// Processor settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessorConfig {
    /// Writes made by workflows trigger workflows; a chain longer than this stops with a
    /// failed run that shows it.
    pub max_cascade_depth: usize,
    /// The most work (record writes plus runs) one event may cause through the workflows it
    /// triggers, every level of its cascade together; a run that would go past it fails and
    /// says so. Above what one script may ask for (1,000 effects), so a single run fits.
    pub max_cascade_work: u64,
    /// Runs are kept this many days, then pruned in the background; only age prunes them, so
    /// a flood of new runs never erases recent history.
    pub run_retention_days: u32,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self { max_cascade_depth: 8, max_cascade_work: 2_000, run_retention_days: 90 }
    }
}

/// The processor's state: its settings, its bell, and when each cron workflow's last run
/// ended.
pub(crate) struct Processor {
    config: ProcessorConfig,
    /// Woken by every commit that appends events, so new events are picked up at once.
    wake: tokio::sync::Notify,
    /// When the last run of each cron workflow ended, by (space, workflow): a run that starts
    /// after its occurrence because the previous one was still going says so.
    cron_runs: std::sync::Mutex<std::collections::HashMap<(String, String), DateTime<Utc>>>,
    /// Why the last pass failed, while the processor cannot go on (readiness says so).
    stalled: std::sync::Mutex<Option<String>>,
    /// The last event every lane is done with, ahead of the stored global cursor, which is
    /// saved every so many events.
    done_through: AtomicU64,
    /// Whether `run_processor` is running: only then do writes wait for it (`pace_writes`).
    running: AtomicBool,
    /// Rung whenever `done_through` moves, for the writes `pace_writes` holds.
    progressed: tokio::sync::Notify,
}

impl Processor {
    pub(crate) fn new(config: ProcessorConfig) -> Self {
        Self {
            config,
            wake: tokio::sync::Notify::new(),
            cron_runs: Default::default(),
            stalled: Default::default(),
            done_through: AtomicU64::new(0),
            running: AtomicBool::new(false),
            progressed: tokio::sync::Notify::new(),
        }
    }

    /// Records that every event up to `done` is finished, for the writes waiting on it.
    fn advance(&self, done: u64) {
        if self.done_through.fetch_max(done, Ordering::Relaxed) < done {
            self.progressed.notify_waiters();
        }
    }

    /// Rings the processor's bell: there are events to read.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// The processor's settings.
    pub(crate) fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// Notes a pass that failed: one log line when the processor stops going on, not one per
    /// retry.
    fn stall(&self, reason: String) {
        let mut stalled = self.stalled.lock().unwrap_or_else(|p| p.into_inner());
        if stalled.is_none() {
            tracing::error!(reason = %reason, "the workflow processor cannot go on; retrying until it can");
        }
        metrics::gauge!("tend_workflow_processor_stalled").set(1.0);
        *stalled = Some(reason);
    }

    /// Notes a pass that succeeded, saying so once if the processor had stalled.
    fn going(&self) {
        let mut stalled = self.stalled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = stalled.take() {
            tracing::info!(was = %reason, "the workflow processor goes on again");
        }
        metrics::gauge!("tend_workflow_processor_stalled").set(0.0);
    }

    /// Records that a cron workflow's run for an occurrence due at `due` ended at `ended`;
    /// returns when the previous run ended if that was after `due` (this run waited for it).
    fn cron_run_ended(&self, key: (String, String), due: DateTime<Utc>, ended: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut last_ends = self.cron_runs.lock().unwrap_or_else(|p| p.into_inner());
        let waited_for = last_ends.get(&key).copied().filter(|end| *end > due);
        last_ends.insert(key, ended);
        waited_for
    }
}

/// How often the processor prunes old runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A record one event's runs change: as stored before, and as it will be.
#[derive(Clone)]
pub(super) struct Touched {
    pub(super) loaded: Arc<LoadedForm>,
    pub(super) before: Option<Record>,
    pub(super) after: Record,
    pub(super) cause: Cause,
}

/// Everything one event's runs will commit.
#[derive(Clone, Default)]
pub(super) struct Effects {
    touched: BTreeMap<Uuid, Touched>,
    order: Vec<Uuid>,
    pub(super) deliveries: Vec<Delivery>,
    /// Round-robin positions moved by `assign`: (workflow, action index) → next position.
    assignments: BTreeMap<(String, u32), u64>,
    /// Timers scheduled or moved by date and delay workflows.
    pub(super) timers: Vec<TimerOp>,
    /// Planned by the processor from a logged event: a crash before the commit makes it plan
    /// the event again, which must give its deliveries the same ids (`delivery_id`).
    pub(super) redoable: bool,
}

impl Effects {
    /// The moved round-robin positions, as the store takes them.
    pub(super) fn assignments(&self, space: &SpaceName) -> Vec<(SpaceName, String, u32, u64)> {
        self.assignments
            .iter()
            .map(|((workflow, action), next)| (space.clone(), workflow.clone(), *action, *next))
            .collect()
    }

    /// Starts from `touched` for record `id` instead of reading it from the store (dry runs),
    /// or adds a record a run creates.
    pub(super) fn seed(&mut self, id: Uuid, touched: Touched) {
        self.order.push(id);
        self.touched.insert(id, touched);
    }

    /// How many records these runs write: those they create, and those they change.
    pub(super) fn writes(&self) -> usize {
        self.touched
            .values()
            .filter(|touched| touched.before.as_ref().is_none_or(|before| before.data != touched.after.data))
            .count()
    }

    /// A record these runs changed or created, as they leave it.
    pub(super) fn touched_mut(&mut self, id: &Uuid) -> Option<&mut Touched> {
        self.touched.get_mut(id)
    }

    /// The id of the next delivery these runs ask for: derived from what caused it (the
    /// event, the workflow, how many deliveries the event's runs asked for before) when the
    /// event may be planned again after a crash, so a redone run re-creates the same id; a
    /// fresh one for manual runs, retries and dry runs, which are never redone.
    pub(super) fn delivery_id(&self, event: &Event, workflow: &WorkflowName) -> Option<Uuid> {
        use sha2::Digest as _;
        if !self.redoable {
            return None;
        }
        let mut hash = sha2::Sha256::new();
        for part in [event.space.as_str(), workflow.as_str()] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.update(event.seq.to_be_bytes());
        hash.update((self.deliveries.len() as u64).to_be_bytes());
        let digest = hash.finalize();
        let mut random = [0u8; 10];
        random.copy_from_slice(&digest[..10]);
        // UUIDv7-shaped on the event's instant, so deliveries still list in time order.
        let millis = u64::try_from(event.at.timestamp_millis()).unwrap_or(0);
        Some(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    /// The next round-robin position of an `assign`, if these runs moved it.
    pub(super) fn assignment(&self, key: &(String, u32)) -> Option<u64> {
        self.assignments.get(key).copied()
    }

    /// Moves an `assign`'s round-robin position.
    pub(super) fn set_assignment(&mut self, key: (String, u32), next: u64) {
        self.assignments.insert(key, next);
    }
}

impl Engine {
    /// Runs the processor until `stop` turns true: processes what is pending, then sleeps until
    /// a write wakes it.
    pub async fn run_processor(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut pruned_at: Option<Instant> = None;
        let processor = &self.inner.processor;
        if let Ok(position) = self.store().cursor(PROCESSOR_CURSOR) {
            processor.done_through.fetch_max(position, Ordering::Relaxed);
        }
        processor.running.store(true, Ordering::Relaxed);
        // Whatever ends the loop, writes stop waiting for a processor that is gone.
        let _running = Running(processor);
        loop {
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                match self.prune_runs() {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "pruned workflow runs past their retention"),
                    Err(err) => tracing::error!(error = %err, "pruning workflow runs failed"),
                }
                pruned_at = Some(Instant::now());
            }
            match self.process_pending().await {
                Ok(_) => self.inner.processor.going(),
                Err(err) => {
                    self.inner.processor.stall(err.to_string());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            tokio::select! {
                () = self.inner.processor.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Deletes runs that started more than `run_retention_days` ago; returns how many.
    pub fn prune_runs(&self) -> Result<usize> {
        let cutoff = self.now() - chrono::Duration::days(i64::from(self.inner.processor.config.run_retention_days));
        let mut pruned = 0;
        for space in self.spaces()? {
            pruned += self.store().prune_runs(&space.name, cutoff)?;
        }
        Ok(pruned)
    }

    /// Why the workflow processor cannot go on, while it cannot (storage failing): readiness
    /// reports it. An event that cannot be processed does not stall it: it becomes failed runs.
    pub fn processor_stalled(&self) -> Option<String> {
        self.inner.processor.stalled.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The last event the processor has finished with (every event up to it, in every space).
    pub fn processor_position(&self) -> Result<u64> {
        let stored = self.store().cursor(PROCESSOR_CURSOR)?;
        let in_memory = self.inner.processor.done_through.load(Ordering::Relaxed);
        Ok(stored.max(in_memory).max(self.done_by_lanes(stored)?))
    }

    /// How far past the stored global cursor the lanes' own cursors say every event is done:
    /// the global cursor is saved now and then, so after a restart the events just after it
    /// may have been committed by their lanes already. Looks at most one read-ahead of events.
    fn done_by_lanes(&self, global: u64) -> Result<u64> {
        let mut lanes: HashMap<SpaceName, u64> = HashMap::new();
        let mut done = global;
        for event in self.store().events_after(global, MAX_IN_FLIGHT)? {
            let lane = match lanes.get(&event.space) {
                Some(lane) => *lane,
                None => {
                    let lane = self.store().cursor(&lane_cursor(&event.space))?;
                    lanes.insert(event.space.clone(), lane);
                    lane
                }
            };
            if event.seq > lane {
                break;
            }
            done = event.seq;
        }
        Ok(done)
    }

    /// Processes every event after the cursor, each space's in a lane of its own; returns how
    /// many it processed (events read, including those that trigger nothing).
    ///
    /// A lane runs its space's events in log order, one batch at a time, and commits each
    /// batch's effects and runs with the lane's cursor (the last event of that space it is
    /// done with); lanes of different spaces run at once, so a space whose scripts are slow
    /// holds up only its own events. Records and their workflows belong to one space, so
    /// per-record order is the order within a lane. The global cursor is the low-water mark
    /// (every event up to it is done in every lane): reading resumes from it after a restart,
    /// and an event at or before its space's lane cursor is skipped, having been committed
    /// already: each event's runs are still committed exactly once.
    pub async fn process_pending(&self) -> Result<usize> {
        let mut lanes = Lanes::default();
        let mut read_to = self.store().cursor(PROCESSOR_CURSOR)?;
        let mut saved = read_to;
        let mut processed = 0;
        let mut failure: Option<EngineError> = None;
        let mut drained = false;
        loop {
            // Lanes that finished get their next batch before more is read: the read runs on
            // this task, and a lane left waiting for it would make reading and running take
            // turns instead of overlapping.
            if failure.is_none() {
                lanes.start(self);
            }
            if failure.is_none() && lanes.in_flight < MAX_IN_FLIGHT {
                match self.read_after(read_to) {
                    Ok(Read::Events(events, through)) => {
                        drained = through == read_to;
                        self.report_lag(saved);
                        let queued = events.into_iter().try_for_each(|event| lanes.add(self, event));
                        // Past `read_to` only once queued: the global cursor may pass it.
                        match queued {
                            Ok(()) => {
                                processed += (through - read_to) as usize;
                                read_to = through;
                            }
                            Err(err) => failure = Some(err),
                        }
                    }
                    Ok(Read::Unreadable(seq)) => {
                        read_to = seq;
                        processed += 1;
                        drained = false;
                    }
                    Err(err) => failure = Some(err),
                }
            }
            if failure.is_none() {
                lanes.start(self);
            }
            if lanes.tasks.is_empty() {
                if failure.is_some() || drained {
                    break;
                }
                continue;
            }
            let more_to_read = failure.is_none() && !drained && lanes.in_flight < MAX_IN_FLIGHT;
            if more_to_read {
                while let Some(finished) = lanes.tasks.try_join_next() {
                    lanes.finish(finished, &mut failure);
                }
            } else {
                tokio::select! {
                    Some(finished) = lanes.tasks.join_next() => lanes.finish(finished, &mut failure),
                    // New events: read them while the lanes run.
                    () = self.inner.processor.wake.notified(), if failure.is_none() => {}
                    () = tokio::time::sleep(Duration::from_millis(250)), if failure.is_none() => {}
                }
            }
            let done = lanes.done_through(read_to);
            self.inner.processor.advance(done);
            if done >= saved + BATCH as u64 {
                match self.save_position(done).await {
                    Ok(()) => {
                        saved = done;
                        self.report_lag(saved);
                    }
                    Err(err) => failure = failure.or(Some(err)),
                }
            }
        }
        let done = lanes.done_through(read_to);
        if done > saved {
            match self.save_position(done).await {
                Ok(()) => saved = done,
                Err(err) => failure = failure.or(Some(err)),
            }
        }
        self.report_lag(saved);
        match failure {
            Some(err) => Err(err),
            None => Ok(processed),
        }
    }

    /// The lag gauge: the events after the saved global cursor, which a restart would read
    /// again; 0 only once the processor is done with every event and has saved so.
    fn report_lag(&self, saved: u64) {
        metrics::gauge!("tend_workflow_processor_lag_events").set(self.last_event_seq().saturating_sub(saved) as f64);
    }

    /// Moves the global cursor to `done`: every event up to it is finished in every lane.
    async fn save_position(&self, done: u64) -> Result<()> {
        let extras = Extras { cursor: Some((PROCESSOR_CURSOR.into(), done)), ..Extras::default() };
        self.commit(Vec::new(), extras).await?;
        self.inner.processor.advance(done);
        Ok(())
    }

    /// Holds a record write from outside the processor while the processor is more than
    /// [`PACED_BACKLOG`] events behind, so record-triggered workflows keep up with the writes
    /// that trigger them (a bounded lag) instead of falling ever further behind when writes
    /// come faster than their workflows run. A write waits [`PACE_LIMIT`] at most: a stalled
    /// processor must not stop writes.
    pub(crate) async fn pace_writes(&self) {
        let processor = &self.inner.processor;
        let deadline = tokio::time::Instant::now() + PACE_LIMIT;
        loop {
            let progressed = processor.progressed.notified();
            let behind = self.last_event_seq().saturating_sub(processor.done_through.load(Ordering::Relaxed));
            if !processor.running.load(Ordering::Relaxed) || behind <= PACED_BACKLOG {
                return;
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                return;
            }
        }
    }

    /// The events after `after`, one at a time after a batch that can't be read, to find the
    /// event that can't; that one is passed (the log and a metric say so).
    fn read_after(&self, after: u64) -> Result<Read> {
        let mut wanted = |event: &Event| self.triggers_something(event);
        let err = match self.store().events_after_where(after, BATCH, &mut wanted) {
            Ok((events, through)) => return Ok(Read::Events(events, through)),
            Err(err) => err,
        };
        if is_transient(&err) {
            return Err(err.into());
        }
        match self.store().events_after_where(after, 1, &mut wanted) {
            Ok((events, through)) => Ok(Read::Events(events, through)),
            Err(err) if !is_transient(&err) => {
                tracing::error!(seq = after + 1, error = %err, "an event of the log cannot be read; the processor goes on past it");
                metrics::counter!("tend_workflow_events_failed_total").increment(1);
                Ok(Read::Unreadable(after + 1))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Runs one space's events in order and commits their runs in as few batches as possible:
    /// one batch carries the effects and runs of many events and the lane's cursor past the
    /// last of them. An event whose runs change a record that an earlier event of the batch
    /// changes starts the next batch, so that every plan reads what it changes as committed.
    /// Planning evaluates scripts, so it runs off the runtime's threads.
    async fn process_lane(&self, events: Vec<Event>) -> Result<()> {
        let events = Arc::new(events);
        let mut start = 0;
        let mut conflicts = 0;
        // After a failure, events are planned one at a time until the one that fails is found.
        let mut one_by_one = false;
        while start < events.len() {
            let shared = self.inner.definitions.shared().await;
            let end = if one_by_one { start + 1 } else { events.len() };
            let batch = events.clone();
            let planned = self.evaluating(Scripted::Yes, move |engine| engine.plan_batch(&batch[start..end])).await;
            let (writes, extras, planned) = match planned {
                Ok(batch) => batch,
                Err(err) if is_transient_engine(&err) => return Err(err),
                Err(_) if !one_by_one => {
                    one_by_one = true;
                    continue;
                }
                Err(err) => {
                    drop(shared);
                    self.give_up(&events[start], &err.to_string()).await?;
                    start += 1;
                    one_by_one = false;
                    continue;
                }
            };
            // Events that trigger nothing need no commit: the global cursor passes them.
            let nothing_to_commit = writes.is_empty()
                && extras.runs.is_empty()
                && extras.deliveries.is_empty()
                && extras.timers.is_empty()
                && extras.assignments.is_empty();
            if nothing_to_commit {
                start += planned;
                one_by_one = false;
                continue;
            }
            let statuses: Vec<RunStatus> = extras.runs.iter().map(|(_, run)| run.status).collect();
            crate::fault::reached("processor-batch");
            match self.commit(writes, extras).await {
                Ok(_) => {
                    for status in statuses {
                        metrics::counter!("tend_workflow_runs_total", "status" => status.as_str()).increment(1);
                    }
                    start += planned;
                    conflicts = 0;
                    one_by_one = false;
                }
                // A client changed a record these runs write: plan again on fresh data.
                Err(StoreError::VersionConflict { .. }) if conflicts < CONFLICT_RETRIES => conflicts += 1,
                Err(err) if is_transient(&err) => return Err(err.into()),
                Err(_) if !one_by_one => one_by_one = true,
                Err(err) => {
                    drop(shared);
                    self.give_up(&events[start], &err.to_string()).await?;
                    start += 1;
                    one_by_one = false;
                }
            }
        }
        Ok(())
    }

    /// Records an event the processor cannot process (its runs' effects cannot be planned or
    /// stored, whatever the retries) as a failed run of each workflow it triggers, with the
    /// reason, and moves its lane's cursor past it: the rest of the log goes on.
    async fn give_up(&self, event: &Event, reason: &str) -> Result<()> {
        tracing::error!(seq = event.seq, space = %event.space, reason, "an event could not be processed; its runs are recorded as failed");
        metrics::counter!("tend_workflow_events_failed_total").increment(1);
        let candidates = match (&event.kind, &event.timer) {
            (EventKind::TimerFired, Some(timer)) => match (&timer.workflow, timer.workflow_version) {
                (Some(name), Some(version)) => vec![(name.clone(), version)],
                _ => Vec::new(),
            },
            _ => {
                self.triggered(&event.space, event.trigger_source(), event.kind).map(|c| c.to_vec()).unwrap_or_default()
            }
        };
        let mut extras = Extras { cursor: Some((lane_cursor(&event.space).into(), event.seq)), ..Extras::default() };
        for (name, version) in candidates {
            let mut run = self.new_run(name, version, event, None);
            run.status = RunStatus::Failed;
            run.error = Some(format!("the processor could not process this event: {reason}"));
            extras.runs.push((event.space.clone(), run));
        }
        let failed = extras.runs.len() as u64;
        self.commit(Vec::new(), extras).await?;
        metrics::counter!("tend_workflow_runs_total", "status" => RunStatus::Failed.as_str()).increment(failed);
        Ok(())
    }

    /// Plans events from the front of `events` into one batch; returns it and how many events
    /// it covers (at least one).
    fn plan_batch(&self, events: &[Event]) -> Result<(Vec<RecordWrite>, Extras, usize)> {
        let mut writes = Vec::new();
        let mut extras = Extras::default();
        let mut assignments = BTreeMap::new();
        let mut changed: HashSet<Uuid> = HashSet::new();
        let mut planned = 0;
        for event in events {
            let candidates = self.candidates(event)?;
            if !candidates.is_empty() {
                let mut effects = Effects { assignments: assignments.clone(), redoable: true, ..Effects::default() };
                let runs = self.plan_event(event, &candidates, &mut effects)?;
                if planned > 0 && effects.order.iter().any(|id| changed.contains(id)) {
                    break;
                }
                changed.extend(effects.order.iter().copied());
                writes.extend(self.writes_of(&event.space, &effects));
                extras.runs.extend(runs.into_iter().map(|run| (event.space.clone(), run)));
                extras.assignments.extend(effects.assignments(&event.space));
                extras.deliveries.extend(effects.deliveries);
                extras.timers.extend(effects.timers);
                assignments = effects.assignments;
            }
            extras.cursor = Some((lane_cursor(&event.space).into(), event.seq));
            planned += 1;
            if writes.len() >= MAX_BATCH_WRITES {
                break;
            }
        }
        Ok((writes, extras, planned))
    }

    /// The workflow versions `event` may run, in order: those its form or hook and kind
    /// trigger, or the one a fired timer belongs to.
    fn candidates(&self, event: &Event) -> Result<Arc<Vec<(WorkflowName, u32)>>> {
        Ok(match (&event.kind, &event.timer) {
            _ if event.skip_workflows => Arc::new(Vec::new()),
            (EventKind::TimerFired, Some(timer)) => match (&timer.workflow, timer.workflow_version) {
                (Some(name), Some(version)) => Arc::new(vec![(name.clone(), version)]),
                _ => Arc::new(Vec::new()),
            },
            _ => self.triggered(&event.space, event.trigger_source(), event.kind)?,
        })
    }

    /// Whether `event` may run a workflow, so the processor reads it whole and plans it; most
    /// events trigger nothing, and pass without their record being read. One whose triggers
    /// can't be read is kept, so that planning it reports why.
    fn triggers_something(&self, event: &Event) -> bool {
        self.candidates(event).map_or(true, |candidates| !candidates.is_empty())
    }

    /// Runs every workflow the event triggers, in order, against the event's snapshot; their
    /// effects go to `effects`.
    ///
    /// The event's share of its cascade's work budget (`max_cascade_work`, whole for an event
    /// no workflow wrote) pays for each run and each record write; a run that would overspend
    /// it fails with its effects discarded. What is left is split evenly among the writes, and
    /// each write's event carries its share in its cause: a cascade's events then never do more
    /// work in all than the budget, with no counter shared between them to keep consistent.
    fn plan_event(&self, event: &Event, candidates: &[(WorkflowName, u32)], effects: &mut Effects) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        // Built once: every workflow of the event sees the same snapshot.
        let vars = self.event_vars(event, None);
        let max_work = self.inner.processor.config.max_cascade_work;
        let budget = event.cause.as_ref().and_then(|cause| cause.budget).unwrap_or(max_work);
        for (name, version) in candidates {
            let before_run = effects.clone();
            let run = match self.compiled_workflow(&event.space, name, *version) {
                Ok(workflow) if !fields_changed(&workflow, event) => continue,
                Ok(workflow) if event.kind == EventKind::TimerFired => {
                    self.execute_timer(&workflow, event, &vars, effects)
                }
                Ok(workflow) if matches!(workflow.trigger.kind, TriggerKind::DateOffsets | TriggerKind::Delay) => {
                    // The event moves the workflow's timers; the run happens when one fires.
                    effects.timers.extend(self.timer_ops_for_event(&workflow, event));
                    continue;
                }
                Ok(workflow) => self.execute(&workflow, event, &vars, effects),
                Err(err) => {
                    let mut run = self.new_run(name.clone(), *version, event, None);
                    run.status = RunStatus::Failed;
                    run.error = Some(format!("the workflow no longer fits its forms: {err}"));
                    run
                }
            };
            let mut run = run;
            let work = runs.len() as u64 + 1 + effects.writes() as u64;
            if work > budget {
                *effects = before_run;
                run.status = RunStatus::Failed;
                run.error = Some(format!(
                    "cascade stopped: this run would take the work caused by one event past its budget \
                     (max_cascade_work = {max_work}); {budget} record writes and runs were left for this \
                     event, and its runs would need {work}"
                ));
            }
            runs.push(run);
        }
        let writes = effects.writes() as u64;
        if let Some(share) = budget.saturating_sub(runs.len() as u64 + writes).checked_div(writes) {
            for touched in effects.touched.values_mut() {
                touched.cause.budget = Some(share);
            }
        }
        Ok(runs)
    }

    /// One run of `workflow` for `event`: its effects are added to `effects`, or, if it fails,
    /// none of them are.
    pub(super) fn execute(
        &self,
        workflow: &CompiledWorkflow,
        event: &Event,
        vars: &ScriptVars,
        effects: &mut Effects,
    ) -> Run {
        let started = Instant::now();
        let mut run = self.new_run(workflow.stored.name.clone(), workflow.stored.version, event, vars.now);
        let snapshot = effects.clone();
        if let Err(message) = self.run_workflow(workflow, event, vars, &mut run, effects) {
            *effects = snapshot;
            run.status = RunStatus::Failed;
            run.error = Some(message);
        }
        run.duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        run
    }

    /// The run of a fired timer: late timers follow the workflow's misfire policy and catch-up
    /// window (`timers::misfire`; a skipped run says why), and a cron run says if it waited
    /// for the previous one.
    fn execute_timer(
        &self,
        workflow: &CompiledWorkflow,
        event: &Event,
        vars: &ScriptVars,
        effects: &mut Effects,
    ) -> Run {
        let Some(timer) = &event.timer else { return self.execute(workflow, event, vars, effects) };
        let trigger = &workflow.trigger;
        let mut run = match misfire::skip_note(timer, event.at, trigger.misfire, trigger.catch_up) {
            Some(note) => {
                let mut run = self.new_run(workflow.stored.name.clone(), workflow.stored.version, event, vars.now);
                run.note = Some(note);
                run
            }
            None => self.execute(workflow, event, vars, effects),
        };
        run.late = timer.late;
        if trigger.kind == TriggerKind::Cron && run.note.is_none() {
            let key = (event.space.to_string(), workflow.stored.name.to_string());
            let ended = run.started_at + chrono::Duration::microseconds(run.duration_us as i64);
            if let Some(previous_end) = self.inner.processor.cron_run_ended(key, timer.due, ended) {
                run.note = Some(format!(
                    "waited for the previous run of this schedule, which ended at {}",
                    timestamp(&previous_end)
                ));
            }
        }
        run
    }

    fn new_run(&self, workflow: forms::WorkflowName, version: u32, event: &Event, now: Option<DateTime<Utc>>) -> Run {
        let now = now.unwrap_or_else(|| self.now());
        Run {
            id: self.new_record_id(now),
            workflow,
            workflow_version: version,
            event: event.seq,
            record: event.record,
            when: None,
            status: RunStatus::Skipped,
            effects: Vec::new(),
            output: Vec::new(),
            error: None,
            retry_of: None,
            late: false,
            note: None,
            started_at: now,
            duration_us: 0,
        }
    }

    /// The record writes of an event's effects: one per touched record, whatever number of
    /// runs changed it.
    pub(super) fn writes_of(&self, space: &SpaceName, effects: &Effects) -> Vec<RecordWrite> {
        let mut writes = Vec::new();
        for id in &effects.order {
            let Some(touched) = effects.touched.get(id) else { continue };
            let after = &touched.after;
            let mut write = match &touched.before {
                Some(before) if before.data == after.data => continue,
                Some(before) => {
                    let kind = if before.stage != after.stage { EventKind::StageChanged } else { EventKind::Updated };
                    let data = after.data.clone();
                    update_write(space, &touched.loaded, before, data, kind, &after.updated_by, after.updated_at).1
                }
                None => create_write(space, &touched.loaded, after),
            };
            write.event.cause = Some(touched.cause.clone());
            writes.push(write);
        }
        writes
    }
}

/// Whether a storage error may pass by itself (the disk, the database), so the event is
/// retried rather than given up; the rest (data that can't be decoded, or read back from
/// damaged files, and encoding) stay as they are however often it is retried.
fn is_transient(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Backend(_)
            | StoreError::Durability(_)
            | StoreError::Closed
            | StoreError::Open { .. }
            | StoreError::InUse { .. }
    )
}

fn is_transient_engine(err: &crate::error::EngineError) -> bool {
    matches!(err, crate::error::EngineError::Store(store) if is_transient(store))
}

/// For `updated` events with trigger `fields`, whether one of them changed.
fn fields_changed(workflow: &CompiledWorkflow, event: &Event) -> bool {
    let fields = &workflow.stored.definition.trigger.fields;
    if event.kind != EventKind::Updated || fields.is_empty() {
        return true;
    }
    let get = |data: &Option<Value>, field: &str| data.as_ref().and_then(|d| d.get(field)).cloned();
    fields.iter().any(|field| get(&event.before, field) != get(&event.after, field))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workflows::RunFilter;
    use crate::{Actor, EngineConfig, FormName};

    /// A damaged file stays damaged: its event is passed, where a disk error is retried.
    #[test]
    fn damaged_files_are_not_retried_as_a_disk_error_is() {
        let cause = || Arc::new(std::io::Error::other("read")) as crate::store::BackendError;
        assert!(!is_transient(&StoreError::Unreadable(cause())));
        assert!(is_transient(&StoreError::Backend(cause())));
    }

    fn cs() -> SpaceName {
        SpaceName::from_static("cs")
    }

    fn account() -> FormName {
        FormName::from_static("account")
    }

    /// An engine with a space `cs` whose `account` form holds a name.
    async fn space_with_names() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "name": { "type": "string" } } } });
        engine.put_form(&actor, &cs(), &account(), &form, false).await.expect("form");
        (dir, engine)
    }

    /// A write waits while the running processor is more than a batch behind, and goes on as
    /// soon as it catches up; without a running processor, or once one stops, nothing waits.
    #[tokio::test]
    async fn writes_wait_for_a_processor_that_falls_behind() {
        let (_dir, engine) = space_with_names().await;
        let actor = Actor::system();
        for n in 0..PACED_BACKLOG + 10 {
            engine
                .create_record(
                    &actor,
                    &crate::Access::unrestricted(),
                    &cs(),
                    &account(),
                    json!({ "name": format!("a{n}") }),
                )
                .await
                .expect("record");
        }
        let processor = &engine.inner.processor;
        let paced = || tokio::time::timeout(Duration::from_millis(200), engine.pace_writes());
        assert!(paced().await.is_ok(), "no processor runs: nothing waits");

        processor.running.store(true, Ordering::Relaxed);
        assert!(paced().await.is_err(), "a processor more than a batch behind holds the write");
        let waiting = engine.pace_writes();
        let caught_up = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            processor.advance(engine.last_event_seq() - 1);
        };
        let ((), ()) = tokio::time::timeout(Duration::from_secs(1), async { tokio::join!(waiting, caught_up) })
            .await
            .expect("released once the processor is within a batch");

        drop(Running(processor));
        assert!(paced().await.is_ok(), "a stopped processor holds nothing");
    }

    /// Planning the same events again (what the processor does after a crash before their
    /// commit) gives their deliveries the same ids, so a receiver dedupes a redone run's
    /// webhooks; two deliveries of one run, and of different events, differ.
    #[tokio::test]
    async fn a_redone_run_recreates_the_same_delivery_ids() {
        let (_dir, engine) = space_with_names().await;
        let actor = Actor::system();
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [
            { "notify": { "url": "https://example.com/a" } },
            { "notify": { "url": "https://example.com/b" } } ] });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("tell"), &workflow).await.expect("workflow");
        for name in ["a", "b"] {
            engine
                .create_record(&actor, &crate::Access::unrestricted(), &cs(), &account(), json!({ "name": name }))
                .await
                .expect("record");
        }
        let events = engine.store().events_after(engine.processor_position().expect("cursor"), 10).expect("events");
        let ids = |engine: &Engine| -> Vec<Uuid> {
            let (_, extras, _) = engine.plan_batch(&events).expect("planned");
            extras.deliveries.iter().map(|delivery| delivery.id).collect()
        };
        let first = ids(&engine);
        assert_eq!(first.len(), 4);
        assert_eq!(first.iter().collect::<HashSet<_>>().len(), 4, "distinct ids: {first:?}");
        assert_eq!(ids(&engine), first, "the same ids when planned again");
    }

    /// A workflow creating two records of its own form doubles each level of its cascade;
    /// depth alone stopped it at 511 records. The events share the budget instead: with 30,
    /// 1 + 2 + 4 + 8 records are written, and the eight runs of the last level fail, naming
    /// the budget and applying nothing.
    #[tokio::test]
    async fn a_cascade_shares_its_work_budget_among_its_events() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EngineConfig::new(dir.path());
        config.processor.max_cascade_work = 30;
        let engine = Engine::open(config).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "generation": { "type": "integer" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("cell"), &form, false).await.expect("form");
        let child = json!({ "create": { "form": "cell", "data": { "generation": "record.generation + 1" } } });
        let divide = json!({ "trigger": { "form": "cell", "on": ["created"] }, "actions": [child, child] });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("divide"), &divide).await.expect("workflow");
        engine
            .create_record(
                &actor,
                &crate::Access::unrestricted(),
                &cs(),
                &FormName::from_static("cell"),
                json!({ "generation": 0 }),
            )
            .await
            .expect("record");
        engine.process_pending().await.expect("processed");

        let (runs, _) =
            engine.runs(&crate::Access::unrestricted(), &cs(), &RunFilter::default(), 100, None).expect("runs");
        let failed: Vec<&Run> = runs.iter().filter(|run| run.status == RunStatus::Failed).collect();
        assert_eq!((runs.len(), failed.len()), (15, 8));
        for run in failed {
            let error = run.error.as_deref().unwrap_or_default();
            assert!(error.contains("max_cascade_work = 30"), "{error}");
        }
        let cells = engine
            .list_records(
                &crate::Access::unrestricted(),
                &cs(),
                &FormName::from_static("cell"),
                &crate::ListQuery::default(),
            )
            .expect("cells");
        assert_eq!(cells.items.len(), 15);
    }

    /// The global cursor lags the lanes (it is saved every so many events): when reading
    /// resumes before events that lanes committed, as after a crash, they are skipped, not run
    /// again, and those not committed yet are run once.
    #[tokio::test]
    async fn events_a_lane_committed_are_not_run_again_from_a_lagging_cursor() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        let form = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "seen": { "type": "boolean" } } } });
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                               "actions": [ { "set": { "seen": "true" } } ] });
        for space in [SpaceName::from_static("a"), SpaceName::from_static("b")] {
            let space = &space;
            engine.create_space(&actor, space, None).await.expect("space");
            engine.put_form(&actor, space, &account(), &form, false).await.expect("form");
            engine.put_workflow(&actor, space, &WorkflowName::from_static("mark"), &workflow).await.expect("workflow");
            engine
                .create_record(&actor, &crate::Access::unrestricted(), space, &account(), json!({ "name": "first" }))
                .await
                .expect("record");
        }
        engine.process_pending().await.expect("processed");
        engine
            .create_record(
                &actor,
                &crate::Access::unrestricted(),
                &SpaceName::from_static("b"),
                &account(),
                json!({ "name": "second" }),
            )
            .await
            .expect("record");

        let rewind = Extras { cursor: Some((PROCESSOR_CURSOR.into(), 0)), ..Extras::default() };
        engine.commit(Vec::new(), rewind).await.expect("rewound");
        engine.process_pending().await.expect("processed again");
        let runs = |space: &'static str| {
            engine
                .runs(&crate::Access::unrestricted(), &SpaceName::from_static(space), &RunFilter::default(), 100, None)
                .expect("runs")
                .0
                .len()
        };
        assert_eq!((runs("a"), runs("b")), (1, 2));
        assert_eq!(engine.store().cursor(PROCESSOR_CURSOR).expect("cursor"), engine.last_event_seq());
    }

    /// An event that cannot be processed does not stop the log: an unreadable one is passed
    /// (the log and a metric say so), one whose data nests past serde_json's default limit (as
    /// stored before data was bounded at entry) is read and run, and every later event is
    /// processed; the processor is not left stalled. Before, both stopped the processor for
    /// every space, retrying forever.
    #[tokio::test]
    async fn events_that_cannot_be_processed_do_not_stop_the_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "extra": {}, "seen": { "type": "boolean" } } } });
        engine.put_form(&actor, &cs(), &account(), &form, false).await.expect("form");
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                               "actions": [ { "set": { "seen": "true" } } ] });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("mark"), &workflow).await.expect("workflow");
        let mut seqs = Vec::new();
        for name in ["a", "deep", "damaged", "d"] {
            engine
                .create_record(&actor, &crate::Access::unrestricted(), &cs(), &account(), json!({ "name": name }))
                .await
                .expect("record");
            seqs.push(engine.last_event_seq());
        }
        let deep_event = engine.store().events_after(seqs[1] - 1, 1).expect("read").remove(0);
        let mut deep = serde_json::to_value(&deep_event).expect("encode");
        let nested = (0..140).fold(json!(1), |inner, _| json!([inner]));
        deep["after"]["extra"] = nested.clone();
        engine.store().damage_event(seqs[1], deep.to_string().as_bytes());
        engine.store().damage_event(seqs[2], b"{\"seq\": not json");

        engine.process_pending().await.expect("the processor goes on");
        // Past every event, the updates the runs made included.
        assert!(engine.last_event_seq() > seqs[3]);
        assert_eq!(engine.processor_position().expect("cursor"), engine.last_event_seq());
        assert_eq!(engine.processor_stalled(), None);
        let (runs, _) =
            engine.runs(&crate::Access::unrestricted(), &cs(), &RunFilter::default(), 100, None).expect("runs");
        let mut by_event: Vec<(u64, RunStatus)> = runs.iter().map(|run| (run.event, run.status)).collect();
        by_event.sort_by_key(|(seq, _)| *seq);
        assert_eq!(
            by_event,
            vec![(seqs[0], RunStatus::Succeeded), (seqs[1], RunStatus::Succeeded), (seqs[3], RunStatus::Succeeded)]
        );
    }
}
