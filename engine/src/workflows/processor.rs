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
}

impl Processor {
    pub(crate) fn new(config: ProcessorConfig) -> Self {
        Self { config, wake: tokio::sync::Notify::new(), cron_runs: Default::default() }
    }

    /// Rings the processor's bell: there are events to read.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// The processor's settings.
    pub(crate) fn config(&self) -> &ProcessorConfig {
        &self.config
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
            if let Err(err) = self.process_pending().await {
                tracing::error!(error = %err, "workflow processor pass failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
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

    /// The last event the processor has finished with.
    pub fn processor_position(&self) -> Result<u64> {
        Ok(self.store().cursor(PROCESSOR_CURSOR)?)
    }

    /// Processes every event after the cursor; returns how many it processed.
    pub async fn process_pending(&self) -> Result<usize> {
        let mut processed = 0;
        loop {
            let cursor = self.store().cursor(PROCESSOR_CURSOR)?;
            let events = self.store().events_after(cursor, BATCH)?;
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
        while start < events.len() {
            let _shared = self.inner.definitions.shared().await;
            let (writes, extras, planned) = self.plan_batch(&events[start..])?;
            let statuses: Vec<RunStatus> = extras.runs.iter().map(|(_, run)| run.status).collect();
            match self.commit(writes, extras).await {
                Ok(_) => {
                    for status in statuses {
                        metrics::counter!("tend_workflow_runs_total", "status" => status.as_str()).increment(1);
                    }
                    start += planned;
                    conflicts = 0;
                }
                // A client changed a record these runs write: plan again on fresh data.
                Err(StoreError::VersionConflict { .. }) if conflicts < CONFLICT_RETRIES => conflicts += 1,
                Err(err) => return Err(err.into()),
            }
        }
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
                let mut effects = Effects { assignments: assignments.clone(), ..Effects::default() };
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

/// For `updated` events with trigger `fields`, whether one of them changed.
fn fields_changed(workflow: &CompiledWorkflow, event: &Event) -> bool {
    let fields = &workflow.stored.definition.trigger.fields;
    if event.kind != EventKind::Updated || fields.is_empty() {
        return true;
    }
    let get = |data: &Option<Value>, field: &str| data.as_ref().and_then(|d| d.get(field)).cloned();
    fields.iter().any(|field| get(&event.before, field) != get(&event.after, field))
}
