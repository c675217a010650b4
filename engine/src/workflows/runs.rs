//! Runs started by hand: a manual run of a workflow, the retry of a run, and the dry run that
//! shows what a workflow would do and stores nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use forms::{FormName, SpaceName, WorkflowName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::processor::{Effects, Touched};
use super::{CompiledWorkflow, Run};
use crate::error::{EngineError, Result};
use crate::model::{Access, Actor, Cause, Event, EventKind, Record};
use crate::store::Store as _;
use crate::store::{Extras, StoreError};
use crate::{Engine, Scripted};

/// How often a manual run is re-planned when a client keeps changing its record.
const CONFLICT_RETRIES: usize = 16;

/// What a dry run is given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunInput {
    /// A stored record of the trigger form to run against.
    pub record_id: Option<String>,
    /// Or a hypothetical record's data.
    pub record: Option<Value>,
    /// The record before the change (`old`), for `updated` triggers.
    pub old: Option<Value>,
    /// The event kind to pretend (default `updated`).
    pub event: Option<EventKind>,
    /// The instant to pretend it is.
    pub now: Option<DateTime<Utc>>,
}

/// What a dry run found: what the run would be and what it would write. Nothing was stored.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    /// The run as it would be recorded.
    pub run: Run,
    /// Records that would be written, as they would be stored.
    pub records: Vec<Record>,
    /// Deliveries that would be written to the outbox.
    pub deliveries: Vec<super::Delivery>,
}

impl Engine {
    /// Runs a workflow now, for one record of its trigger form or for none, and commits its
    /// effects and its run together. The record must be in the scope of the caller's `access`
    /// (else it is not found); the run is answered as the caller may see it.
    pub async fn run_workflow_now(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        name: &WorkflowName,
        record: Option<&str>,
    ) -> Result<Run> {
        let stored = self.workflow(space, name, None)?;
        let workflow = self.compiled_workflow(space, &stored.name, stored.version)?;
        let record = match record {
            Some(id) => Some(self.record_in_scope(access, space, trigger_form(&workflow)?, id)?),
            None => None,
        };
        let event = manual_event(space, &workflow, record.as_ref(), actor, self.now());
        let run = self.commit_run(space, &workflow, &event, None).await?;
        Ok(self.run_as_seen(space, access, run.clone())?.unwrap_or_else(|| stripped(run)))
    }

    /// The stored record `id` of `form` (whole: a run reads every field) if `access` reaches it.
    fn record_in_scope(&self, access: &Access, space: &SpaceName, form: &FormName, id: &str) -> Result<Record> {
        let loaded = self.loaded_form(space, form)?;
        let id = Uuid::parse_str(id).map_err(|_| EngineError::not_found("record", id))?;
        self.current_record(&loaded, &id, &crate::policy::Policy::new(loaded.compiled.def(), access))
    }

    /// Runs a run's workflow again, at its current version, on the same triggering event. A
    /// run the caller's `access` may not see is not found.
    pub async fn retry_run(&self, actor: &Actor, access: &Access, space: &SpaceName, id: &str) -> Result<Run> {
        let original = self.run(access, space, id)?;
        let stored = self.workflow(space, &original.workflow, None)?;
        let workflow = self.compiled_workflow(space, &stored.name, stored.version)?;
        let event = if original.event == 0 {
            let record = match original.record.is_nil() {
                true => None,
                false => {
                    Some(self.record_in_scope(access, space, trigger_form(&workflow)?, &original.record.to_string())?)
                }
            };
            manual_event(space, &workflow, record.as_ref(), actor, self.now())
        } else {
            self.store()
                .event(original.event)?
                .ok_or_else(|| EngineError::not_found("event", original.event.to_string()))?
        };
        let run = self.commit_run(space, &workflow, &event, Some(original.id)).await?;
        Ok(self.run_as_seen(space, access, run.clone())?.unwrap_or_else(|| stripped(run)))
    }

    async fn commit_run(
        &self,
        space: &SpaceName,
        workflow: &Arc<CompiledWorkflow>,
        event: &Event,
        retry_of: Option<Uuid>,
    ) -> Result<Run> {
        for _ in 0..CONFLICT_RETRIES {
            let _shared = self.inner.definitions.shared().await;
            let (planned, event) = (workflow.clone(), event.clone());
            let (mut run, effects) = self
                .evaluating(Scripted::Yes, move |engine| {
                    let mut effects = Effects::default();
                    let run = engine.execute(&planned, &event, &engine.event_vars(&event, None), &mut effects);
                    Ok((run, effects))
                })
                .await?;
            run.retry_of = retry_of;
            let writes = self.writes_of(space, &effects);
            let extras = Extras {
                runs: vec![(space.clone(), run.clone())],
                assignments: effects.assignments(space),
                deliveries: effects.deliveries,
                ..Extras::default()
            };
            match self.commit(writes, extras).await {
                Ok(_) => return Ok(run),
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(EngineError::Internal("the run's records kept changing; try again".into()))
    }

    /// What a workflow would do with a sample record; stores nothing. Its scripts run off the
    /// runtime's threads (`Engine::evaluating`). A stored record must be in the scope of the
    /// caller's `access`, and the answer shows what the caller may see.
    pub async fn test_workflow(
        &self,
        access: &Access,
        space: &SpaceName,
        name: &WorkflowName,
        input: &DryRunInput,
    ) -> Result<DryRun> {
        let (access, space, name, input) = (access.clone(), space.clone(), name.clone(), input.clone());
        self.evaluating(Scripted::Yes, move |engine| engine.test_workflow_now(&access, &space, &name, &input)).await
    }

    fn test_workflow_now(
        &self,
        access: &Access,
        space: &SpaceName,
        name: &WorkflowName,
        input: &DryRunInput,
    ) -> Result<DryRun> {
        let stored = self.workflow(space, name, None)?;
        let workflow = self.compiled_workflow(space, &stored.name, stored.version)?;
        let now = input.now.unwrap_or_else(|| self.now());
        if workflow.stored.definition.trigger.form.is_none() && input.record_id.is_none() && input.record.is_none() {
            // A cron schedule (or hook) runs about no record: pretend its timer fired now.
            let kind = input.event.unwrap_or(EventKind::TimerFired);
            let event = Event::bare(space.clone(), kind, Actor("dry-run".into()), now);
            let dry = self.dry_run(space, &workflow, &event, now, Effects::default());
            return self.dry_run_as_seen(space, access, None, dry);
        }
        let form = trigger_form(&workflow)?.clone();
        let loaded = self.loaded_form(space, &form)?;
        let record = match (&input.record_id, &input.record) {
            (Some(id), None) => self.record_in_scope(access, space, &form, id)?,
            (None, Some(data)) => sample_record(&form, data.clone(), loaded.stored.version, now),
            _ => {
                return Err(forms::ValidationErrors(vec![forms::FieldError::new(
                    "",
                    "give either `record_id` (a stored record) or `record` (sample data)",
                )])
                .into())
            }
        };
        let kind = input.event.unwrap_or(EventKind::Updated);
        let before = input.old.clone().or_else(|| (kind != EventKind::Created).then(|| record.data.clone()));
        let event = Event {
            form: Some(form.clone()),
            record: record.id,
            version: record.version,
            before: before.clone(),
            after: (kind != EventKind::Deleted).then(|| record.data.clone()),
            ..Event::bare(space.clone(), kind, Actor("dry-run".into()), now)
        };
        // The sample is the record the run changes; it is never read from or written to the store.
        let mut effects = Effects::default();
        let cause = Cause { run: Uuid::nil(), chain: Vec::new(), budget: None };
        effects.seed(record.id, Touched { loaded, before: Some(record.clone()), after: record, cause });
        let dry = self.dry_run(space, &workflow, &event, now, effects);
        self.dry_run_as_seen(space, access, Some(&form), dry)
    }

    fn dry_run(
        &self,
        space: &SpaceName,
        workflow: &CompiledWorkflow,
        event: &Event,
        now: DateTime<Utc>,
        mut effects: Effects,
    ) -> DryRun {
        let run = self.execute(workflow, event, &self.event_vars(event, Some(now)), &mut effects);
        let records = self.writes_of(space, &effects).into_iter().filter_map(|write| write.record).collect();
        DryRun { run, records, deliveries: effects.deliveries }
    }
}

fn manual_event(
    space: &SpaceName,
    workflow: &CompiledWorkflow,
    record: Option<&Record>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Event {
    Event {
        form: workflow.stored.definition.trigger.form.clone(),
        record: record.map_or(Uuid::nil(), |r| r.id),
        version: record.map_or(0, |r| r.version),
        before: record.map(|r| r.data.clone()),
        after: record.map(|r| r.data.clone()),
        ..Event::bare(space.clone(), EventKind::Manual, actor.clone(), at)
    }
}

/// The form a workflow's trigger watches; an error for triggers about no form (cron, hooks),
/// which have no record to run against.
fn trigger_form(workflow: &CompiledWorkflow) -> Result<&FormName> {
    workflow.stored.definition.trigger.form.as_ref().ok_or_else(|| {
        forms::ValidationErrors(vec![forms::FieldError::new(
            "/record_id",
            format!("workflow `{}` watches no form, so it runs without a record", workflow.stored.name),
        )])
        .into()
    })
}

fn sample_record(form: &FormName, data: Value, form_version: u32, now: DateTime<Utc>) -> Record {
    let actor = Actor("dry-run".into());
    Record {
        id: Uuid::nil(),
        form: form.clone(),
        version: 1,
        form_version,
        data,
        stage: None,
        created_at: now,
        created_by: actor.clone(),
        updated_at: now,
        updated_by: actor,
    }
}

/// What a caller is answered about a run it started but may not see (a workflow moved its
/// record out of the caller's scope): that it ran and how it ended, nothing of what it did.
fn stripped(mut run: Run) -> Run {
    run.record = Uuid::nil();
    run.event = 0;
    run.effects.clear();
    run.output.clear();
    run.error = None;
    run.note = Some("the run's record is out of your scope now; its details are hidden".into());
    run
}
