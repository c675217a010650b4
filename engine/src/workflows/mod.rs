//! Workflows: versioned definitions checked against the space's forms when saved, compiled
//! once per version, and found for an event through the trigger index (space + form + event
//! kind → workflows in run order), never by scanning every workflow. The processor that runs
//! them lives in `processor`.

mod actions;
mod assign;
mod processor;
mod runs;
mod script_context;
mod script_effects;
mod seen;
mod triggers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use forms::{DefinitionErrors, FieldError, FormName, SpaceName, WorkflowName};
use serde_json::Value;
use uuid::Uuid;

pub(crate) use self::processor::Processor;
pub use self::processor::{ProcessorConfig, PROCESSOR_CURSOR, QUERY_LIMIT};
pub use self::runs::{DryRun, DryRunInput};
pub(crate) use self::triggers::{CompiledTrigger, TriggerKind, ZoneSource};
use crate::error::{EngineError, Result};
// Deliveries belong to the outbox (`engine::outbox`); they are also named here, where
// callers first met them.
use crate::model::{Access, Actor, EventKind};
pub use crate::model::{
    Action, Assign, Attempt, Delivery, DeliveryStatus, DeliveryTarget, Email, Misfire, Notify, Run, RunStatus,
    StoredWorkflow, Strategy, Trigger, WorkflowDef, Zone, MAX_KEPT_ATTEMPTS,
};
use crate::rules::{Script, ScriptOrigin};
use crate::store::Store as _;
use crate::store::TimerOp;
use crate::Engine;

/// A workflow version ready to run: every expression compiled.
#[derive(Debug)]
pub(crate) struct CompiledWorkflow {
    pub(crate) stored: StoredWorkflow,
    pub(crate) when: Option<Arc<Script>>,
    pub(crate) actions: Vec<CompiledAction>,
    pub(crate) trigger: CompiledTrigger,
}

/// Field → compiled expression.
type Assignments = Vec<(String, Arc<Script>)>;

#[derive(Debug)]
pub(crate) enum CompiledAction {
    Set(Assignments),
    Create { form: FormName, data: Assignments },
    Transition(String),
    Notify { target: DeliveryTarget, body: Option<Arc<Script>>, email: Option<[Arc<Script>; 3]> },
    Script(Arc<Script>),
    Assign(Assign),
}

/// The result of storing a workflow definition.
#[derive(Debug, Clone)]
pub struct PutWorkflowOutcome {
    /// The version now current.
    pub workflow: StoredWorkflow,
    /// False when the definition equals the current one (nothing was stored).
    pub changed: bool,
}

impl Engine {
    /// Stores `definition` as the next version of workflow `name`, after checking it against the
    /// space's forms and compiling its expressions.
    pub async fn put_workflow(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: &WorkflowName,
        definition: &Value,
    ) -> Result<PutWorkflowOutcome> {
        self.space(space)?;
        let name = name.clone();
        let definition: WorkflowDef = forms::parse_definition(definition, "a workflow definition")?;
        let outcome = {
            let _exclusive = self.inner.definitions.exclusive().await;
            self.put_workflow_locked(actor, space, name, definition).await?
        };
        self.store().barrier().await?;
        self.inner.processor.wake();
        Ok(outcome)
    }

    /// Changes part of a workflow's definition: `merge` is a JSON merge patch (RFC 7386)
    /// applied to the current version, which must be `expected_version` when one is given; the
    /// result is stored as the next version exactly as [`Engine::put_workflow`] would store it,
    /// under one hold of the schema lock.
    pub async fn patch_workflow(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: &WorkflowName,
        merge: &Value,
        expected_version: Option<u32>,
    ) -> Result<PutWorkflowOutcome> {
        self.space(space)?;
        let name = name.clone();
        let outcome = {
            let _exclusive = self.inner.definitions.exclusive().await;
            let current = self.store().workflow_version(space, &name, None)?;
            let current = current.ok_or_else(|| EngineError::not_found("workflow", name.as_str()))?;
            let definition = crate::definitions::merged(&current.definition, current.version, merge, expected_version)?;
            let definition: WorkflowDef = forms::parse_definition(&definition, "a workflow definition")?;
            self.put_workflow_locked(actor, space, name, definition).await?
        };
        self.store().barrier().await?;
        self.inner.processor.wake();
        Ok(outcome)
    }

    /// Stores `definition` as the next version of workflow `name`; the caller holds the schema
    /// lock exclusively.
    async fn put_workflow_locked(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: WorkflowName,
        definition: WorkflowDef,
    ) -> Result<PutWorkflowOutcome> {
        let previous = self.store().workflow_version(space, &name, None)?;
        if previous.as_ref().is_some_and(|p| p.definition == definition) {
            let workflow = previous.ok_or_else(|| EngineError::not_found("workflow", name.as_str()))?;
            return Ok(PutWorkflowOutcome { workflow, changed: false });
        }
        let stored = StoredWorkflow {
            name: name.clone(),
            version: previous.as_ref().map_or(1, |p| p.version + 1),
            definition,
            created_at: self.now(),
            created_by: actor.clone(),
        };
        let compiled = self.compile_workflow(space, stored.clone())?;
        let retired = previous.as_ref().map(|p| trigger_entries(&p.definition)).unwrap_or_default();
        let triggers = trigger_entries(&stored.definition);
        self.store().insert_workflow_version(space, &stored, &retired, &triggers)?;
        self.inner.definitions.triggers.clear();
        self.reschedule(space, &compiled).await?;
        Ok(PutWorkflowOutcome { workflow: stored, changed: true })
    }

    /// Replaces a workflow's pending timers with those its new version wants: a changed or
    /// disabled workflow's old timers never fire.
    async fn reschedule(&self, space: &SpaceName, workflow: &CompiledWorkflow) -> Result<()> {
        const OPS_PER_COMMIT: usize = 5_000;
        let cancel = TimerOp::CancelWorkflow { space: space.clone(), workflow: workflow.stored.name.to_string() };
        let mut ops = vec![cancel];
        ops.extend(self.backfill_timers(workflow, space)?);
        while !ops.is_empty() {
            let rest = ops.split_off(ops.len().min(OPS_PER_COMMIT));
            self.commit(Vec::new(), crate::store::Extras { timers: ops, ..Default::default() }).await?;
            ops = rest;
        }
        Ok(())
    }

    /// One version of a workflow, or its latest.
    pub fn workflow(&self, space: &SpaceName, name: &WorkflowName, version: Option<u32>) -> Result<StoredWorkflow> {
        self.space(space)?;
        self.store().workflow_version(space, name, version)?.ok_or_else(|| match version {
            Some(version) => EngineError::not_found("workflow version", format!("{name}@{version}")),
            None => EngineError::not_found("workflow", name.as_str()),
        })
    }

    /// The latest version of every workflow of a space, in run order (`order`, then name).
    pub fn workflows(&self, space: &SpaceName) -> Result<Vec<StoredWorkflow>> {
        self.space(space)?;
        let mut workflows = self.store().latest_workflows(space)?;
        workflows.sort_by(|a, b| (a.definition.order, &a.name).cmp(&(b.definition.order, &b.name)));
        Ok(workflows)
    }

    /// The workflows an event of `kind` on `form` triggers, in run order (cached index reads).
    pub(crate) fn triggered(
        &self,
        space: &SpaceName,
        source: &str,
        kind: EventKind,
    ) -> Result<Arc<Vec<(WorkflowName, u32)>>> {
        let key = (space.clone(), source.to_owned(), kind);
        if let Some(found) = self.inner.definitions.triggers.get(&key) {
            return Ok(found);
        }
        let found = Arc::new(self.store().triggered(space, source, kind)?);
        self.inner.definitions.triggers.insert(key, Arc::clone(&found));
        Ok(found)
    }

    /// A compiled workflow version (cached).
    pub(crate) fn compiled_workflow(
        &self,
        space: &SpaceName,
        name: &WorkflowName,
        version: u32,
    ) -> Result<Arc<CompiledWorkflow>> {
        let key = (space.clone(), name.clone(), version);
        if let Some(compiled) = self.inner.definitions.workflows.get(&key) {
            return Ok(compiled);
        }
        let stored = self
            .store()
            .workflow_version(space, name, Some(version))?
            .ok_or_else(|| EngineError::not_found("workflow version", format!("{name}@{version}")))?;
        let compiled = Arc::new(self.compile_workflow(space, stored)?);
        self.inner.definitions.workflows.insert(key, Arc::clone(&compiled));
        Ok(compiled)
    }

    /// Checks a definition against the space's forms and compiles its expressions; every
    /// problem is reported with its pointer in the definition.
    fn compile_workflow(&self, space: &SpaceName, stored: StoredWorkflow) -> Result<CompiledWorkflow> {
        let mut errors = Vec::new();
        let definition = &stored.definition;
        let origin = |what: &str| ScriptOrigin(format!("workflow {space}/{}, {what}", stored.name));
        let mut compile = |what: &str, path: String, source: &str| {
            self.inner
                .scripts
                .compile(&origin(what), source)
                .map_err(|err| errors.push(FieldError::new(path, err.message())))
                .ok()
        };
        let mut problems = Vec::new();
        let (trigger_form, trigger) = self.check_trigger(space, &definition.trigger, &mut problems);
        let about_no_record = matches!(trigger.kind, TriggerKind::Cron | TriggerKind::Hook);
        let form_label = definition.trigger.form.as_ref().map_or("", FormName::as_str);
        let when = definition.when.as_deref().and_then(|source| compile("when", "/when".into(), source));
        let mut actions = Vec::new();
        for (i, action) in definition.actions.iter().enumerate() {
            let at = format!("/actions/{i}");
            if about_no_record && matches!(action, Action::Set(_) | Action::Transition { .. } | Action::Assign(_)) {
                problems.push(FieldError::new(
                    at.clone(),
                    "this trigger has no triggering record to change: use `create`, `notify`, or a `script` \
                     that calls `update(form, id, data)`",
                ));
            }
            match action {
                Action::Set(fields) => {
                    let mut assignments = Vec::new();
                    for (field, expr) in fields {
                        let path = format!("{at}/set/{field}");
                        if let Some(form) = &trigger_form {
                            if form.compiled.field_type(field).is_none() {
                                problems.push(FieldError::new(
                                    path.clone(),
                                    format!("`{field}` is not a field of `{}`", form_label),
                                ));
                            } else if form.computed.iter().any(|(name, _)| name == field) {
                                problems.push(FieldError::new(path.clone(), format!("`{field}` is computed")));
                            }
                        }
                        if let Some(script) = compile(&format!("action {i} set `{field}`"), path, expr) {
                            assignments.push((field.clone(), script));
                        }
                    }
                    actions.push(CompiledAction::Set(assignments));
                }
                Action::Create { form, data } => {
                    let target = self.loaded_form(space, form).ok();
                    if target.is_none() {
                        problems.push(FieldError::new(
                            format!("{at}/create/form"),
                            format!("no form `{form}` in this space"),
                        ));
                    }
                    let mut assignments = Vec::new();
                    for (field, expr) in data {
                        let path = format!("{at}/create/data/{field}");
                        if target.as_ref().is_some_and(|t| t.compiled.field_type(field).is_none()) {
                            problems
                                .push(FieldError::new(path.clone(), format!("`{field}` is not a field of `{form}`")));
                        }
                        if let Some(script) = compile(&format!("action {i} create `{field}`"), path, expr) {
                            assignments.push((field.clone(), script));
                        }
                    }
                    actions.push(CompiledAction::Create { form: form.clone(), data: assignments });
                }
                Action::Transition { to } => {
                    let pipeline = trigger_form.as_ref().and_then(|f| f.compiled.def().pipeline.clone());
                    match pipeline {
                        Some(pipeline) if pipeline.stage(to).is_some() => {}
                        Some(_) => problems
                            .push(FieldError::new(format!("{at}/transition/to"), format!("`{to}` is not a stage"))),
                        None => problems.push(FieldError::new(
                            format!("{at}/transition"),
                            format!("form `{}` has no pipeline", form_label),
                        )),
                    }
                    actions.push(CompiledAction::Transition(to.clone()));
                }
                Action::Assign(assign) => {
                    if assign.pool.is_empty() || assign.pool.iter().any(|p| p.trim().is_empty()) {
                        problems
                            .push(FieldError::new(format!("{at}/assign/pool"), "list at least one person, none empty"));
                    }
                    if let Some(form) = &trigger_form {
                        if form.compiled.field_type(&assign.field) != Some(forms::FieldType::String) {
                            problems.push(FieldError::new(
                                format!("{at}/assign/field"),
                                format!("`{}` is not a string field of `{}`", assign.field, form_label),
                            ));
                        }
                        if let Some(open) = &assign.open {
                            let resolve = |field: &str| crate::listing::field_type(&form.compiled, field);
                            if let Err(err) = crate::query::Filter::parse(open, &resolve) {
                                problems.push(FieldError::new(format!("{at}/assign/open"), err.message));
                            }
                        }
                    }
                    actions.push(CompiledAction::Assign(assign.clone()));
                }
                Action::Script(source) => {
                    if let Some(script) = compile(&format!("action {i} script"), format!("{at}/script"), source) {
                        actions.push(CompiledAction::Script(script));
                    }
                }
                Action::Notify(notify) => {
                    let target = match (&notify.webhook, &notify.url, &notify.email) {
                        (Some(name), None, None) => Some(DeliveryTarget::Webhook(name.clone())),
                        (None, Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {
                            Some(DeliveryTarget::Url(url.clone()))
                        }
                        (None, Some(_), None) => {
                            problems.push(FieldError::new(
                                format!("{at}/notify/url"),
                                "must be an http:// or https:// URL",
                            ));
                            None
                        }
                        // The message is evaluated when the action runs.
                        (None, None, Some(_)) => Some(DeliveryTarget::Email(Value::Object(Default::default()))),
                        _ => {
                            problems.push(FieldError::new(
                                format!("{at}/notify"),
                                "give exactly one of `webhook`, `url`, `email`",
                            ));
                            None
                        }
                    };
                    let body = notify
                        .body
                        .as_deref()
                        .and_then(|b| compile(&format!("action {i} notify body"), format!("{at}/notify/body"), b));
                    let email = notify.email.as_ref().and_then(|email| {
                        let to = compile(&format!("action {i} email to"), format!("{at}/notify/email/to"), &email.to);
                        let subject = compile(
                            &format!("action {i} email subject"),
                            format!("{at}/notify/email/subject"),
                            &email.subject,
                        );
                        let body =
                            compile(&format!("action {i} email body"), format!("{at}/notify/email/body"), &email.body);
                        Some([to?, subject?, body?])
                    });
                    if let Some(target) = target {
                        actions.push(CompiledAction::Notify { target, body, email });
                    }
                }
            }
        }
        errors.extend(problems);
        if !errors.is_empty() {
            return Err(DefinitionErrors(errors).into());
        }
        Ok(CompiledWorkflow { stored, when, actions, trigger })
    }
}

/// The trigger index entries of a definition: (form or hook, event kind, order). The events
/// listed are those the processor must see for the workflow: the events that run it, those
/// that start its delay, those that move its date timers; none for a disabled workflow.
pub(crate) fn trigger_entries(definition: &WorkflowDef) -> Vec<(String, EventKind, i64)> {
    let trigger = &definition.trigger;
    if !definition.enabled {
        return Vec::new();
    }
    let entry = |source: &str, kind: EventKind| (source.to_owned(), kind, definition.order);
    if let Some(hook) = &trigger.hook {
        return vec![entry(hook, EventKind::Inbound)];
    }
    let Some(form) = &trigger.form else { return Vec::new() };
    if trigger.at.is_some() {
        return [EventKind::Created, EventKind::Updated, EventKind::Deleted]
            .into_iter()
            .map(|kind| entry(form.as_str(), kind))
            .collect();
    }
    trigger.on.iter().map(|kind| entry(form.as_str(), *kind)).collect()
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only this workflow's runs.
    pub workflow: Option<String>,
    /// Only runs that ended so.
    pub status: Option<RunStatus>,
    /// Only runs triggered by this record.
    pub record: Option<Uuid>,
    /// Only runs started at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only runs started before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl RunFilter {
    /// Whether `run` is one this filter lists.
    fn keeps(&self, run: &Run) -> bool {
        self.workflow.as_deref().is_none_or(|w| run.workflow.as_str() == w)
            && self.status.is_none_or(|s| run.status == s)
            && self.record.is_none_or(|r| run.record == r)
            && self.since.is_none_or(|since| run.started_at >= since)
            && self.until.is_none_or(|until| run.started_at < until)
    }
}

impl Engine {
    /// Runs of a space, newest first, matching `filter`; `before` is the last run of the
    /// previous page. Returns up to `limit` runs and whether there are more.
    ///
    /// A caller with `access` sees only the runs of records in its scope (`seen`).
    pub fn runs(
        &self,
        access: &Access,
        space: &SpaceName,
        filter: &RunFilter,
        limit: usize,
        before: Option<Uuid>,
    ) -> Result<(Vec<Run>, bool)> {
        self.space(space)?;
        // Newest first (ids are UUIDv7 of the start, to the millisecond): once runs start well
        // before `since`, every later one does too.
        let stop_before = filter.since.and_then(|since| since.checked_sub_signed(chrono::Duration::seconds(1)));
        let mut runs = Vec::new();
        for run in self.store().runs(space, before) {
            let run = run?;
            if stop_before.is_some_and(|stop| run.started_at < stop) {
                break;
            }
            let keep = filter.keeps(&run);
            let Some(run) = (if keep { self.run_as_seen(space, access, run)? } else { None }) else {
                continue;
            };
            if runs.len() == limit {
                return Ok((runs, true));
            }
            runs.push(run);
        }
        Ok((runs, false))
    }

    /// One run, as a caller with `access` may see it (one it may not is not found).
    pub fn run(&self, access: &Access, space: &SpaceName, id: &str) -> Result<Run> {
        self.space(space)?;
        let id = Uuid::parse_str(id).map_err(|_| EngineError::not_found("run", id))?;
        let run = self.store().run(space, &id)?.ok_or_else(|| EngineError::not_found("run", id.to_string()))?;
        self.run_as_seen(space, access, run)?.ok_or_else(|| EngineError::not_found("run", id.to_string()))
    }

    /// The outbox, oldest first (deliveries are sent by the delivery worker).
    pub fn deliveries(&self) -> Result<Vec<Delivery>> {
        Ok(self.store().deliveries().collect::<std::result::Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::{EngineConfig, ManualClock};

    /// Runs older than the retention are pruned; newer ones stay, however many there are.
    #[tokio::test]
    async fn runs_are_pruned_by_age_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).single().expect("a valid instant"));
        let config = EngineConfig { clock: Arc::new(clock.clone()), ..EngineConfig::new(dir.path()) };
        let engine = Engine::open(config).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &SpaceName::from_static("s"), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
        engine
            .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("f"), &form, false)
            .await
            .expect("form");
        let workflow = json!({ "trigger": { "form": "f", "on": ["created"] }, "when": "record.n > 100" });
        engine
            .put_workflow(&actor, &SpaceName::from_static("s"), &WorkflowName::from_static("w"), &workflow)
            .await
            .expect("workflow");
        let write_and_process = async |count: i64| {
            for n in 0..count {
                engine
                    .create_record(
                        &actor,
                        &crate::Access::unrestricted(),
                        &SpaceName::from_static("s"),
                        &FormName::from_static("f"),
                        json!({ "n": n }),
                    )
                    .await
                    .expect("record");
            }
            engine.process_pending().await.expect("processed");
        };
        write_and_process(3).await;
        clock.advance(Duration::days(80));
        write_and_process(50).await;
        clock.advance(Duration::days(20));
        assert_eq!(engine.prune_runs().expect("pruned"), 3, "only the runs older than 90 days");
        let (runs, _) = engine
            .runs(&crate::Access::unrestricted(), &SpaceName::from_static("s"), &RunFilter::default(), 1000, None)
            .expect("runs");
        assert_eq!(runs.len(), 50);
        assert_eq!(engine.prune_runs().expect("pruned"), 0);
        engine.close().expect("close");
    }

    /// `since` and `until` keep the runs that started in the window, newest first.
    #[tokio::test]
    async fn runs_are_listed_by_when_they_started() {
        let dir = tempfile::tempdir().expect("temp dir");
        let start = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).single().expect("a valid instant");
        let clock = ManualClock::new(start);
        let config = EngineConfig { clock: Arc::new(clock.clone()), ..EngineConfig::new(dir.path()) };
        let engine = Engine::open(config).expect("engine");
        let actor = Actor::system();
        let all = crate::Access::unrestricted();
        engine.create_space(&actor, &SpaceName::from_static("s"), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
        engine
            .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("f"), &form, false)
            .await
            .expect("form");
        let workflow = json!({ "trigger": { "form": "f", "on": ["created"] } });
        engine
            .put_workflow(&actor, &SpaceName::from_static("s"), &WorkflowName::from_static("w"), &workflow)
            .await
            .expect("workflow");
        for n in 0..4 {
            engine
                .create_record(
                    &actor,
                    &all,
                    &SpaceName::from_static("s"),
                    &FormName::from_static("f"),
                    json!({ "n": n }),
                )
                .await
                .expect("record");
            engine.process_pending().await.expect("processed");
            clock.advance(Duration::hours(1));
        }
        let started = |filter: RunFilter| {
            let (runs, _) = engine.runs(&all, &SpaceName::from_static("s"), &filter, 100, None).expect("runs");
            runs.iter().map(|run| (run.started_at - start).num_hours()).collect::<Vec<_>>()
        };
        assert_eq!(started(RunFilter::default()), [3, 2, 1, 0]);
        let since = Some(start + Duration::hours(1));
        let until = Some(start + Duration::hours(3));
        assert_eq!(started(RunFilter { since, ..RunFilter::default() }), [3, 2, 1]);
        assert_eq!(started(RunFilter { until, ..RunFilter::default() }), [2, 1, 0]);
        assert_eq!(started(RunFilter { since, until, ..RunFilter::default() }), [2, 1]);
        let earliest = Some(DateTime::<Utc>::MIN_UTC);
        assert_eq!(started(RunFilter { since: earliest, ..RunFilter::default() }), [3, 2, 1, 0], "no overflow");
        engine.close().expect("close");
    }
}
