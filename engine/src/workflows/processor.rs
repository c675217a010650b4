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

use forms::{FieldError, SpaceName, ValidationErrors};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{CompiledAction, CompiledWorkflow, Delivery, Run, RunStatus, TriggerKind};
use crate::error::{EngineError, Result};
use crate::model::{timestamp, Actor, Cause, Event, EventKind, Record};
use crate::records::{create_write, stage_of, update_write};
use crate::rules::{RecordQuery, Script, ScriptEffect, ScriptVars};
use crate::store::Store as _;
use crate::store::{Extras, RecordWrite, StoreError, TimerOp};
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
    pub(super) fn assignments(&self, space: &SpaceName) -> Vec<(String, String, u32, u64)> {
        self.assignments
            .iter()
            .map(|((workflow, action), next)| (space.to_string(), workflow.clone(), *action, *next))
            .collect()
    }

    /// Starts from `touched` for record `id` instead of reading it from the store (dry runs).
    pub(super) fn seed(&mut self, id: Uuid, touched: Touched) {
        self.order.push(id);
        self.touched.insert(id, touched);
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
                () = self.inner.processor_wake.notified() => {}
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
        let cutoff = self.now() - chrono::Duration::days(i64::from(self.inner.processor.run_retention_days));
        let mut pruned = 0;
        for space in self.spaces()? {
            pruned += self.store().prune_runs(space.name.as_str(), cutoff)?;
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
            let _shared = self.inner.schema_lock.read().await;
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
                (EventKind::TimerFired, Some(timer)) => match (&timer.workflow, timer.workflow_version) {
                    (Some(name), Some(version)) => Arc::new(vec![(name.to_string(), version)]),
                    _ => Arc::new(Vec::new()),
                },
                _ => self.triggered(event.space.as_str(), event.trigger_source(), event.kind)?,
            };
            if !candidates.is_empty() {
                let mut effects = Effects { assignments: assignments.clone(), ..Effects::default() };
                let runs = self.plan_event(event, &candidates, &mut effects)?;
                if planned > 0 && effects.order.iter().any(|id| changed.contains(id)) {
                    break;
                }
                changed.extend(effects.order.iter().copied());
                writes.extend(self.writes_of(&event.space, &effects));
                extras.runs.extend(runs.into_iter().map(|run| (event.space.to_string(), run)));
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
    fn plan_event(&self, event: &Event, candidates: &[(String, u32)], effects: &mut Effects) -> Result<Vec<Run>> {
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
                    let mut run = self.new_run(forms::WorkflowName::parse(name)?, *version, event, None);
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
    /// window (a skipped run says why), and a cron run says if it waited for the previous one.
    fn execute_timer(
        &self,
        workflow: &CompiledWorkflow,
        event: &Event,
        vars: &ScriptVars,
        effects: &mut Effects,
    ) -> Run {
        let Some(timer) = &event.timer else { return self.execute(workflow, event, vars, effects) };
        let lateness = event.at - timer.due;
        let late = lateness > crate::timers::LATE_AFTER;
        let trigger = &workflow.trigger;
        let missed = |why: &str| {
            format!(
                "due {} but fired {} ({} late): {why}",
                timestamp(&timer.due),
                timestamp(&event.at),
                humanize(lateness)
            )
        };
        let skip_because = if late && trigger.misfire == super::Misfire::Skip {
            Some(missed("the workflow's misfire policy is `skip`"))
        } else if late && lateness > trigger.catch_up {
            Some(missed(&format!("older than the catch-up window of {}", humanize(trigger.catch_up))))
        } else {
            None
        };
        let mut run = match skip_because {
            Some(note) => {
                let mut run = self.new_run(workflow.stored.name.clone(), workflow.stored.version, event, vars.now);
                run.note = Some(note);
                run
            }
            None => self.execute(workflow, event, vars, effects),
        };
        run.late = late;
        if trigger.kind == TriggerKind::Cron && run.note.is_none() {
            let key = (event.space.to_string(), workflow.stored.name.to_string());
            let mut last_ends = self.inner.cron_runs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(previous_end) = last_ends.get(&key).filter(|end| **end > timer.due) {
                run.note = Some(format!(
                    "waited for the previous run of this schedule, which ended at {}",
                    timestamp(previous_end)
                ));
            }
            let ended = run.started_at + chrono::Duration::microseconds(run.duration_us as i64);
            last_ends.insert(key, ended);
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

    /// Evaluates `when` and the actions; an `Err` is the run's error and discards its effects.
    fn run_workflow(
        &self,
        workflow: &CompiledWorkflow,
        event: &Event,
        vars: &ScriptVars,
        run: &mut Run,
        effects: &mut Effects,
    ) -> std::result::Result<(), String> {
        let name = workflow.stored.name.to_string();
        let chain: Vec<String> = event.cause.as_ref().map(|c| c.chain.clone()).unwrap_or_default();
        if chain.len() >= self.inner.processor.max_cascade_depth {
            let mut shown = chain.clone();
            shown.push(name);
            return Err(format!(
                "cascade stopped: workflows triggered each other {} levels deep (max_cascade_depth = {}): {}",
                chain.len(),
                self.inner.processor.max_cascade_depth,
                shown.join(" → ")
            ));
        }
        if let Some(when) = &workflow.when {
            let value = self.eval(when, vars, run)?;
            let holds = value.as_bool().ok_or_else(|| format!("`when` gave {value}, not true or false"))?;
            run.when = Some(holds);
            if !holds {
                run.status = RunStatus::Skipped;
                return Ok(());
            }
        } else {
            run.when = Some(true);
        }
        let mut cause_chain = chain;
        cause_chain.push(name.clone());
        let cause = Cause { run: run.id, chain: cause_chain };
        let actor = Actor(format!("workflow:{name}"));
        let triggering = (&event.space, event.form_name(), event.record);
        for (index, action) in workflow.actions.iter().enumerate() {
            let effect = match action {
                CompiledAction::Assign(assign) => {
                    let person = self.choose_assignee(assign, event, &name, index as u32, effects)?;
                    let values = Map::from_iter([(assign.field.clone(), Value::String(person.clone()))]);
                    self.change_record(triggering, effects, &cause, &actor, |data, _| {
                        merge_into(data, &values);
                        Ok(())
                    })?;
                    json!({ "assign": { "field": assign.field, "to": person } })
                }
                CompiledAction::Set(assignments) => {
                    let values = self.evaluate_all(assignments, vars, run)?;
                    self.change_record(triggering, effects, &cause, &actor, |data, _| {
                        merge_into(data, &values);
                        Ok(())
                    })?;
                    json!({ "set": values })
                }
                CompiledAction::Transition(to) => {
                    self.change_record(triggering, effects, &cause, &actor, |data, loaded| {
                        move_to_stage(data, loaded, to)
                    })?;
                    json!({ "transition": { "to": to } })
                }
                CompiledAction::Script(script) => {
                    let evaluation = self
                        .inner
                        .scripts
                        .eval(script, &ScriptVars { allow_effects: true, ..vars.clone() })
                        .map_err(|err| err.message())?;
                    run.output.extend(evaluation.output);
                    for requested in evaluation.effects {
                        let summary = serde_json::to_value(&requested).unwrap_or(Value::Null);
                        self.apply_script_effect(requested, event, workflow, run.id, effects, &cause, &actor, vars)?;
                        run.effects.push(json!({ "script": summary }));
                    }
                    continue;
                }
                CompiledAction::Create { form, data } => {
                    let values = self.evaluate_all(data, vars, run)?;
                    let record = self.plan_create(&event.space, form.as_str(), Value::Object(values), &actor)?;
                    let id = record.after.id;
                    effects.order.push(id);
                    effects.touched.insert(id, Touched { cause: cause.clone(), ..record });
                    json!({ "create": { "form": form, "id": id } })
                }
                CompiledAction::Notify { target, body, email } => {
                    let mut target = target.clone();
                    if let Some([to, subject, body]) = email {
                        let parts = [("to", to), ("subject", subject), ("body", body)]
                            .into_iter()
                            .map(|(key, script)| Ok((key.to_owned(), self.eval(script, vars, run)?)))
                            .collect::<std::result::Result<Map<String, Value>, String>>()?;
                        target = json!({ "email": parts });
                    }
                    let payload = match body {
                        Some(script) => self.eval(script, vars, run)?,
                        None => vars.record.clone(),
                    };
                    let id = self.queue_delivery(event, workflow, run.id, effects, target.clone(), payload);
                    json!({ "notify": { "target": target, "delivery": id } })
                }
            };
            run.effects.push(effect);
        }
        run.status = RunStatus::Succeeded;
        Ok(())
    }

    /// The person an `assign` action picks.
    fn choose_assignee(
        &self,
        assign: &super::Assign,
        event: &Event,
        workflow: &str,
        action: u32,
        effects: &mut Effects,
    ) -> std::result::Result<String, String> {
        match assign.strategy {
            super::Strategy::RoundRobin => {
                let key = (workflow.to_owned(), action);
                let position = match effects.assignments.get(&key) {
                    Some(position) => *position,
                    None => self
                        .store()
                        .assignment_position(event.space.as_str(), workflow, action)
                        .map_err(|e| e.to_string())?,
                };
                let person = assign.pool[(position % assign.pool.len() as u64) as usize].clone();
                effects.assignments.insert(key, position + 1);
                Ok(person)
            }
            super::Strategy::LeastOpen => {
                let mut best: Option<(usize, &String)> = None;
                for person in &assign.pool {
                    let mut filter =
                        format!("{} = {}", assign.field, serde_json::to_string(person).unwrap_or_default());
                    if let Some(open) = &assign.open {
                        filter = format!("{filter} and ({open})");
                    }
                    let open = self
                        .count_records(event.space.as_str(), event.form_name(), &filter)
                        .map_err(|e| e.to_string())?;
                    if best.is_none_or(|(fewest, _)| open < fewest) {
                        best = Some((open, person));
                    }
                }
                best.map(|(_, person)| person.clone()).ok_or_else(|| "the pool is empty".into())
            }
        }
    }

    /// How many records of a form match a filter.
    fn count_records(&self, space: &str, form: &str, filter: &str) -> Result<usize> {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let query = crate::ListQuery {
                filter: Some(filter.to_owned()),
                limit: Some(crate::MAX_LIMIT),
                cursor,
                ..Default::default()
            };
            let page = self.list_records(space, form, &query)?;
            count += page.items.len();
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Writes a delivery to the run's outbox rows; returns its id.
    fn queue_delivery(
        &self,
        event: &Event,
        workflow: &CompiledWorkflow,
        run: Uuid,
        effects: &mut Effects,
        target: Value,
        body: Value,
    ) -> Uuid {
        let now = self.now();
        let (space, name) = (event.space.to_string(), workflow.stored.name.clone());
        let delivery = Delivery::queued(self.new_record_id(now), space, name, run, target, body, now);
        let id = delivery.id;
        effects.deliveries.push(delivery);
        id
    }

    /// Applies one effect a workflow script asked for.
    #[allow(clippy::too_many_arguments)]
    fn apply_script_effect(
        &self,
        requested: ScriptEffect,
        event: &Event,
        workflow: &CompiledWorkflow,
        run: Uuid,
        effects: &mut Effects,
        cause: &Cause,
        actor: &Actor,
        vars: &ScriptVars,
    ) -> std::result::Result<(), String> {
        let triggering = (&event.space, event.form_name(), event.record);
        match requested {
            ScriptEffect::Create { form, data } => {
                let record = self.plan_create(&event.space, &form, data, actor)?;
                let id = record.after.id;
                effects.order.push(id);
                effects.touched.insert(id, Touched { cause: cause.clone(), ..record });
            }
            ScriptEffect::Update { data } => {
                let values = data.as_object().cloned().unwrap_or_default();
                self.change_record(triggering, effects, cause, actor, |d, _| {
                    merge_into(d, &values);
                    Ok(())
                })?;
            }
            ScriptEffect::UpdateRecord { form, id, data } => {
                let id = Uuid::parse_str(&id).map_err(|_| format!("`{id}` is not a record id"))?;
                let values = data.as_object().cloned().unwrap_or_default();
                self.change_record((&event.space, &form, id), effects, cause, actor, |d, _| {
                    merge_into(d, &values);
                    Ok(())
                })?;
            }
            ScriptEffect::Transition { to } => {
                self.change_record(triggering, effects, cause, actor, |d, loaded| move_to_stage(d, loaded, &to))?;
            }
            ScriptEffect::Notify { webhook, url, email, body } => {
                let target = match (webhook, url, email) {
                    (Some(name), _, _) => json!({ "webhook": name }),
                    (_, Some(url), _) => json!({ "url": url }),
                    (_, _, Some(email)) => json!({ "email": email }),
                    _ => return Err("`notify` needs a webhook, url or email".into()),
                };
                let body = if body.is_null() { vars.record.clone() } else { body };
                self.queue_delivery(event, workflow, run, effects, target, body);
            }
        }
        Ok(())
    }

    fn eval(&self, script: &Script, vars: &ScriptVars, run: &mut Run) -> std::result::Result<Value, String> {
        let evaluation = self.inner.scripts.eval(script, vars).map_err(|err| err.message())?;
        run.output.extend(evaluation.output);
        Ok(evaluation.value)
    }

    fn evaluate_all(
        &self,
        assignments: &[(String, Arc<Script>)],
        vars: &ScriptVars,
        run: &mut Run,
    ) -> std::result::Result<Map<String, Value>, String> {
        assignments.iter().map(|(field, script)| Ok((field.clone(), self.eval(script, vars, run)?))).collect()
    }

    /// What scripts see of an event: the record after it (before it, for a deletion).
    pub(super) fn event_vars(&self, event: &Event, now: Option<DateTime<Utc>>) -> ScriptVars {
        let with_id = |data: &Value| {
            let mut data = data.clone();
            if let Some(object) = data.as_object_mut() {
                object.insert("id".into(), Value::String(event.record.to_string()));
            }
            data
        };
        let record = event.after.as_ref().or(event.before.as_ref()).map(with_id).unwrap_or(Value::Null);
        let mut described = json!({ "kind": event.kind, "seq": event.seq, "actor": event.actor, "at": event.at,
                                    "form": event.form, "record": event.record, "hook": event.hook });
        if let (Some(timer), Some(object)) = (&event.timer, described.as_object_mut()) {
            object.insert("timer".into(), json!({ "due": timer.due, "spec": timer.spec, "late": timer.late }));
        }
        ScriptVars {
            record,
            // A fired timer's record is read as it is when the timer fires; there is no "before".
            old: event.before.as_ref().map(with_id),
            event: Some(described),
            space: Some(event.space.to_string()),
            payload: event.payload.clone(),
            now,
            query: Some(self.record_query(&event.space)),
            ..ScriptVars::default()
        }
    }

    /// What `query(form, filter)` reads in this space's workflow scripts.
    fn record_query(&self, space: &SpaceName) -> RecordQuery {
        let engine = self.clone();
        let space = space.to_string();
        RecordQuery(Arc::new(move |form: &str, filter: &str| {
            let query =
                crate::ListQuery { filter: Some(filter.to_owned()), limit: Some(QUERY_LIMIT), ..Default::default() };
            let page = engine.list_records(&space, form, &query).map_err(|err| err.to_string())?;
            if page.next_cursor.is_some() {
                return Err(format!("more than {QUERY_LIMIT} `{form}` records match `{filter}`: narrow the filter"));
            }
            Ok(page
                .items
                .into_iter()
                .map(|record| {
                    let mut data = record.data;
                    if let Some(object) = data.as_object_mut() {
                        object.insert("id".into(), Value::String(record.id.to_string()));
                    }
                    data
                })
                .collect())
        }))
    }

    /// Applies `change` to the triggering record as this event's runs leave it.
    fn change_record(
        &self,
        target: (&SpaceName, &str, Uuid),
        effects: &mut Effects,
        cause: &Cause,
        actor: &Actor,
        change: impl FnOnce(&mut Value, &LoadedForm) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        let (space, form, id) = (target.0.as_str(), target.1, target.2);
        if !effects.touched.contains_key(&id) {
            let loaded = self.loaded_form(space, form).map_err(|e| e.to_string())?;
            let current = self
                .store()
                .record(space, form, &id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no `{form}` record {id} (any more)"))?;
            effects.order.push(id);
            effects
                .touched
                .insert(id, Touched { loaded, before: Some(current.clone()), after: current, cause: cause.clone() });
        }
        let touched = effects.touched.get_mut(&id).ok_or("the record no longer exists")?;
        if touched.after.form.as_str() != form {
            return Err(format!("record {id} is not a `{form}` record"));
        }
        let mut data = touched.after.data.clone();
        change(&mut data, &touched.loaded)?;
        self.prepare_data(space, &touched.loaded, &id, &mut data).map_err(describe)?;
        touched.after.stage = stage_of(&touched.loaded, &data);
        touched.after.data = data;
        touched.after.updated_at = self.now();
        touched.after.updated_by = actor.clone();
        Ok(())
    }

    fn plan_create(
        &self,
        space: &SpaceName,
        form: &str,
        data: Value,
        actor: &Actor,
    ) -> std::result::Result<Touched, String> {
        let loaded = self.loaded_form(space.as_str(), form).map_err(|e| e.to_string())?;
        let after = self.new_record(space.as_str(), &loaded, data, actor).map_err(describe)?;
        Ok(Touched { loaded, before: None, after, cause: Cause { run: Uuid::nil(), chain: Vec::new() } })
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

/// A duration in the largest whole unit that fits, for run notes.
fn humanize(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds();
    match seconds {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Moves `data` to pipeline stage `to`, as a run's error if the pipeline refuses.
fn move_to_stage(data: &mut Value, loaded: &LoadedForm, to: &str) -> std::result::Result<(), String> {
    crate::records::move_to_stage(loaded, data, to).map_err(|(reason, _)| reason)
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

fn merge_into(data: &mut Value, values: &Map<String, Value>) {
    if let Some(object) = data.as_object_mut() {
        for (field, value) in values {
            match value {
                Value::Null => object.remove(field),
                value => object.insert(field.clone(), value.clone()),
            };
        }
    }
}

/// An engine error as a run's error text, with every failing field.
fn describe(err: EngineError) -> String {
    match err {
        EngineError::Validation(ValidationErrors(errors)) => errors
            .iter()
            .map(|FieldError { path, message }| format!("{path}: {message}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
