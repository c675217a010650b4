//! The workflow processor: reads the event log from a durable cursor and runs the workflows
//! each event triggers.
//!
//! Exactly once: for one event, the effects of every run (record writes and their events,
//! outbox deliveries), the run records and the cursor's advance past the event are committed
//! in ONE atomic batch. A crash before that batch loses nothing (the event is processed again,
//! from scratch); after it, the cursor is past the event, so nothing is repeated. A failed run
//! applies no effect, is recorded, and never blocks later events.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use forms::{SpaceName, WorkflowName};
use serde_json::Value;
use uuid::Uuid;

use super::{CompiledWorkflow, Delivery, Run, RunStatus, TriggerKind};
use crate::error::Result;
use crate::model::{timestamp, Cause, Event, EventKind, Record};
use crate::records::{create_write, update_write};
use crate::rules::ScriptVars;
use crate::store::Store as _;
use crate::store::{Extras, RecordWrite, StoreError, TimerOp};
use crate::timers::misfire;
use crate::{Engine, LoadedForm};

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

/// Processor settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessorConfig {
    /// Writes made by workflows trigger workflows; a chain longer than this stops with a
    /// failed run that shows it.
    pub max_cascade_depth: usize,
    /// Runs are kept this many days, then pruned in the background; only age prunes them, so
    /// a flood of new runs never erases recent history.
    pub run_retention_days: u32,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self { max_cascade_depth: 8, run_retention_days: 90 }
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
}

impl Processor {
    pub(crate) fn new(config: ProcessorConfig) -> Self {
        Self { config, wake: tokio::sync::Notify::new(), cron_runs: Default::default(), stalled: Default::default() }
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

    /// The last event the processor has finished with.
    pub fn processor_position(&self) -> Result<u64> {
        Ok(self.store().cursor(PROCESSOR_CURSOR)?)
    }

    /// Processes every event after the cursor; returns how many it processed.
    pub async fn process_pending(&self) -> Result<usize> {
        let mut processed = 0;
        loop {
            let cursor = self.store().cursor(PROCESSOR_CURSOR)?;
            let events = match self.store().events_after(cursor, BATCH) {
                Ok(events) => events,
                // One event of the batch cannot be read: read them one by one to find it.
                Err(err) if !is_transient(&err) => match self.store().events_after(cursor, 1) {
                    Ok(events) => events,
                    Err(err) if !is_transient(&err) => {
                        self.give_up_unreadable(cursor + 1, &err).await?;
                        processed += 1;
                        continue;
                    }
                    Err(err) => return Err(err.into()),
                },
                Err(err) => return Err(err.into()),
            };
            if events.is_empty() {
                metrics::gauge!("tend_workflow_processor_lag_events").set(0.0);
                return Ok(processed);
            }
            metrics::gauge!("tend_workflow_processor_lag_events")
                .set(self.last_event_seq().saturating_sub(cursor) as f64);
            self.process_events(&events).await?;
            processed += events.len();
        }
    }

    /// Commits the events' runs in as few batches as possible: one batch carries the effects
    /// and runs of many events and the cursor past the last of them. An event whose runs change
    /// a record that an earlier event of the batch changes starts the next batch, so that every
    /// plan reads what it changes as committed.
    async fn process_events(&self, events: &[Event]) -> Result<()> {
        let mut start = 0;
        let mut conflicts = 0;
        // After a failure, events are planned one at a time until the one that fails is found.
        let mut one_by_one = false;
        while start < events.len() {
            let shared = self.inner.definitions.shared().await;
            let end = if one_by_one { start + 1 } else { events.len() };
            let (writes, extras, planned) = match self.plan_batch(&events[start..end]) {
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
    /// reason, and moves the cursor past it: the rest of the log goes on.
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
        let mut extras = Extras { cursor: Some((PROCESSOR_CURSOR, event.seq)), ..Extras::default() };
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

    /// Moves the cursor past event `seq`, which cannot even be read (its space is unknown, so
    /// no run can hold it): one log line and the metric say so.
    async fn give_up_unreadable(&self, seq: u64, err: &StoreError) -> Result<()> {
        tracing::error!(seq, error = %err, "an event of the log cannot be read; the processor goes on past it");
        metrics::counter!("tend_workflow_events_failed_total").increment(1);
        let extras = Extras { cursor: Some((PROCESSOR_CURSOR, seq)), ..Extras::default() };
        self.commit(Vec::new(), extras).await?;
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
            let candidates = match (&event.kind, &event.timer) {
                _ if event.skip_workflows => Arc::new(Vec::new()),
                (EventKind::TimerFired, Some(timer)) => match (&timer.workflow, timer.workflow_version) {
                    (Some(name), Some(version)) => Arc::new(vec![(name.clone(), version)]),
                    _ => Arc::new(Vec::new()),
                },
                _ => self.triggered(&event.space, event.trigger_source(), event.kind)?,
            };
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
            extras.cursor = Some((PROCESSOR_CURSOR, event.seq));
            planned += 1;
            if writes.len() >= MAX_BATCH_WRITES {
                break;
            }
        }
        Ok((writes, extras, planned))
    }

    /// Runs every workflow the event triggers, in order, against the event's snapshot; their
    /// effects go to `effects`.
    fn plan_event(&self, event: &Event, candidates: &[(WorkflowName, u32)], effects: &mut Effects) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        // Built once: every workflow of the event sees the same snapshot.
        let vars = self.event_vars(event, None);
        for (name, version) in candidates {
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
            runs.push(run);
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
/// retried rather than given up; the rest (undecodable data, encoding) come from the event.
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
    use crate::{Actor, EngineConfig};

    /// Planning the same events again (what the processor does after a crash before their
    /// commit) gives their deliveries the same ids, so a receiver dedupes a redone run's
    /// webhooks; two deliveries of one run, and of different events, differ.
    #[tokio::test]
    async fn a_redone_run_recreates_the_same_delivery_ids() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, "cs", None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "name": { "type": "string" } } } });
        engine.put_form(&actor, "cs", "account", &form, false).await.expect("form");
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [
            { "notify": { "url": "https://example.com/a" } },
            { "notify": { "url": "https://example.com/b" } } ] });
        engine.put_workflow(&actor, "cs", "tell", &workflow).await.expect("workflow");
        for name in ["a", "b"] {
            engine.create_record(&actor, "cs", "account", json!({ "name": name })).await.expect("record");
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
        engine.create_space(&actor, "cs", None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "extra": {}, "seen": { "type": "boolean" } } } });
        engine.put_form(&actor, "cs", "account", &form, false).await.expect("form");
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                               "actions": [ { "set": { "seen": "true" } } ] });
        engine.put_workflow(&actor, "cs", "mark", &workflow).await.expect("workflow");
        let mut seqs = Vec::new();
        for name in ["a", "deep", "damaged", "d"] {
            engine.create_record(&actor, "cs", "account", json!({ "name": name })).await.expect("record");
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
        let (runs, _) = engine.runs("cs", &RunFilter::default(), 100, None).expect("runs");
        let mut by_event: Vec<(u64, RunStatus)> = runs.iter().map(|run| (run.event, run.status)).collect();
        by_event.sort_by_key(|(seq, _)| *seq);
        assert_eq!(
            by_event,
            vec![(seqs[0], RunStatus::Succeeded), (seqs[1], RunStatus::Succeeded), (seqs[3], RunStatus::Succeeded)]
        );
    }
}
