//! The write path of records: validate, compute index entries, commit the record, its index
//! entries and its event in one transaction, then wait for the group-commit flush.

use crate::store::Store as _;
use crate::store::TimerOp;
use crate::timers::sla_op;
use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use forms::{FieldError, FormName, SpaceName, ValidationErrors, RESERVED_FIELDS};
use serde_json::Value;
use uuid::Uuid;

use crate::definitions::index_entries;
use crate::error::{EngineError, Result};
use crate::model::{Access, Actor, Event, EventKind, Record};
use crate::policy::Policy;
use crate::rules::{ScriptError, ScriptVars};
use crate::store::{Extras, IndexEntry, RecordWrite, StoreError};
use crate::{Engine, LoadedForm, Scripted};

/// How often an update without `If-Match` retries when another write got in first.
const CONFLICT_RETRIES: usize = 16;

impl Engine {
    /// Creates a record from `data`, which must be valid for the form's latest version, as a
    /// caller with `access` (the form's record policy: it may not set read-only or hidden
    /// fields, and an `own`/`team` caller creates records that are its own, or its team's; one
    /// that names no person gets itself). The answer is the record as the caller may see it.
    pub async fn create_record(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        data: Value,
    ) -> Result<Record> {
        self.pace_writes().await;
        // Held until the write is committed, so a form change never sees it half-done.
        let _shared = self.inner.definitions.shared().await;
        let (actor, access, space, form) = (actor.clone(), access.clone(), space.to_owned(), form.to_owned());
        let scripted = self.scripted(&space, &form);
        let (record, write) = self
            .evaluating(scripted, move |engine| engine.prepare_create(&actor, &access, &space, &form, data))
            .await?;
        self.commit(vec![write], Extras::default()).await?;
        Ok(record)
    }

    /// What writing a record of the form evaluates: its scripts (computed fields, rules), or
    /// none for a form without any or one that doesn't exist, whose write fails at once.
    fn scripted(&self, space: &SpaceName, form: &FormName) -> Scripted {
        match self.loaded_form(space, form) {
            Ok(loaded) if !loaded.computed.is_empty() || !loaded.rules.is_empty() => {
                Scripted::Form(Arc::clone(&loaded.pace))
            }
            _ => Scripted::No,
        }
    }

    fn prepare_create(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        mut data: Value,
    ) -> Result<(Record, RecordWrite)> {
        let loaded = self.loaded_form(space, form)?;
        reject_computed(&loaded, &data)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        policy.check_input(None, &data)?;
        policy.fill_person(&mut data);
        // Before the data is validated: a reference out of scope must fail alone, exactly like
        // a missing one, whatever else is wrong with the data.
        self.check_references_seen(&loaded, access, None, &data)?;
        let record = self.new_record(space, &loaded, data, actor)?;
        policy.check_scope_after(&record.data)?;
        let write = create_write(space, &loaded, &record);
        Ok((policy.redact_record(record), write))
    }

    /// A new record of `loaded` from `data` (version 1, initial pipeline stage, computed
    /// fields), checked like every write; shared by the API and workflow runs.
    pub(crate) fn new_record(
        &self,
        space: &SpaceName,
        loaded: &LoadedForm,
        mut data: Value,
        actor: &Actor,
    ) -> Result<Record> {
        apply_initial_stage(loaded, &mut data);
        let now = self.now();
        let id = self.new_record_id(now);
        self.prepare_data(space, loaded, &id, &mut data)?;
        Ok(Record {
            id,
            form: loaded.stored.name.clone(),
            version: 1,
            form_version: loaded.stored.version,
            stage: stage_of(loaded, &data),
            data,
            created_at: now,
            created_by: actor.clone(),
            updated_at: now,
            updated_by: actor.clone(),
        })
    }

    /// A record by id, as a caller with `access` may see it: one out of its scope is not
    /// found, exactly like one that does not exist, and hidden fields are left out.
    pub fn record(&self, access: &Access, space: &SpaceName, form: &FormName, id: &str) -> Result<Record> {
        let loaded = self.loaded_form(space, form)?;
        let id = parse_id(id)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        self.current_record(&loaded, &id, &policy).map(|record| policy.redact_record(record))
    }

    /// The stored record `id` of `loaded` if the caller's policy reaches it (not redacted);
    /// not found otherwise, the same error a missing record gives.
    pub(crate) fn current_record(&self, loaded: &LoadedForm, id: &Uuid, policy: &Policy<'_>) -> Result<Record> {
        self.store()
            .record(&loaded.space, &loaded.stored.name, id)?
            .filter(|record| policy.sees_record(record))
            .ok_or_else(|| EngineError::not_found("record", id.to_string()))
    }

    /// Applies a JSON merge patch (RFC 7396) to a record's data.
    ///
    /// With `if_match`, the record must still be at that version (else `PreconditionFailed`).
    /// Without it, a concurrent change is re-read and the patch re-applied on top of it. A
    /// patch that changes nothing stores nothing and returns the record as it is.
    #[allow(clippy::too_many_arguments)] // who, with which rights, which record, what, at which version
    pub async fn patch_record(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &str,
        patch: &Value,
        if_match: Option<u64>,
    ) -> Result<Record> {
        let id = parse_id(id)?;
        check_patch(patch)?;
        let scripted = self.scripted(space, form);
        let (actor, access, space, form, patch) =
            (actor.clone(), access.clone(), space.to_owned(), form.to_owned(), patch.clone());
        self.commit_with_retries(&id, if_match, scripted, move |engine| {
            engine.patch_record_now(&actor, &access, &space, &form, &id, &patch, if_match)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)] // one write's inputs, passed through from the façade
    fn patch_record_now(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &Uuid,
        patch: &Value,
        if_match: Option<u64>,
    ) -> Result<(Record, Option<RecordWrite>)> {
        let loaded = self.loaded_form(space, form)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        let current = self.current_record(&loaded, id, &policy)?;
        if let Some(expected) = if_match {
            if expected != current.version {
                return Err(EngineError::PreconditionFailed { current: current.version });
            }
        }
        reject_computed(&loaded, patch)?;
        policy.check_input(Some(&current.data), patch)?;
        let mut data = current.data.clone();
        json_patch::merge(&mut data, patch);
        self.check_references_seen(&loaded, access, Some(&current.data), &data)?;
        self.prepare_data(space, &loaded, id, &mut data)?;
        if data == current.data {
            return Ok((policy.redact_record(current), None));
        }
        policy.check_scope_after(&data)?;
        if let Some(pipeline) = &loaded.compiled.def().pipeline {
            if data.get(&pipeline.field) != current.data.get(&pipeline.field) {
                let message = "the stage changes only through POST .../records/{id}/transition";
                return Err(ValidationErrors(vec![FieldError::new(format!("/{}", pipeline.field), message)]).into());
            }
        }
        let (record, write) = update_write(space, &loaded, &current, data, EventKind::Updated, actor, self.now());
        Ok((policy.redact_record(record), Some(write)))
    }

    /// Moves a record to pipeline stage `to`, if the pipeline allows that move and the current
    /// stage's checklist is done.
    #[allow(clippy::too_many_arguments)] // who, with which rights, which record, what, at which version
    pub async fn transition_record(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &str,
        to: &str,
        if_match: Option<u64>,
    ) -> Result<Record> {
        let id = parse_id(id)?;
        let scripted = self.scripted(space, form);
        let (actor, access, space, form, to) =
            (actor.clone(), access.clone(), space.to_owned(), form.to_owned(), to.to_owned());
        self.commit_with_retries(&id, if_match, scripted, move |engine| {
            engine.transition_record_now(&actor, &access, &space, &form, &id, &to, if_match)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)] // one write's inputs, passed through from the façade
    fn transition_record_now(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &Uuid,
        to: &str,
        if_match: Option<u64>,
    ) -> Result<(Record, Option<RecordWrite>)> {
        let loaded = self.loaded_form(space, form)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        let current = self.current_record(&loaded, id, &policy)?;
        if let Some(expected) = if_match {
            if expected != current.version {
                return Err(EngineError::PreconditionFailed { current: current.version });
            }
        }
        if let Some(pipeline) = &loaded.compiled.def().pipeline {
            // The stage is a field: a role that may not write it may not move the record.
            let mut moved = serde_json::Map::new();
            moved.insert(pipeline.field.clone(), Value::String(to.to_owned()));
            policy.check_input(Some(&current.data), &Value::Object(moved))?;
        }
        let mut data = current.data.clone();
        move_to_stage(&loaded, &mut data, to).map_err(|(reason, unchecked)| EngineError::TransitionRefused {
            from: stage_of(&loaded, &current.data),
            to: to.to_owned(),
            reason,
            unchecked,
        })?;
        self.prepare_data(space, &loaded, id, &mut data)?;
        policy.check_scope_after(&data)?;
        let (record, write) = update_write(space, &loaded, &current, data, EventKind::StageChanged, actor, self.now());
        Ok((policy.redact_record(record), Some(write)))
    }

    /// Deletes a record (its history stays in the event log).
    pub async fn delete_record(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &str,
        if_match: Option<u64>,
    ) -> Result<()> {
        let id = parse_id(id)?;
        let (actor, access, space, form) = (actor.clone(), access.clone(), space.to_owned(), form.to_owned());
        self.commit_with_retries(&id, if_match, Scripted::No, move |engine| {
            engine.delete_record_now(&actor, &access, &space, &form, &id, if_match).map(|write| ((), Some(write)))
        })
        .await
    }

    /// Runs `attempt` (read the record, compute the change) and commits what it asks, until it
    /// commits. With `If-Match`, a concurrent change is a 412; without, the attempt is re-run
    /// on the fresh record. An attempt that changes nothing asks for no write. A `scripted`
    /// attempt runs off the runtime's threads (`Engine::evaluating`).
    async fn commit_with_retries<T: Send + 'static>(
        &self,
        id: &Uuid,
        if_match: Option<u64>,
        scripted: Scripted,
        attempt: impl Fn(&Engine) -> Result<(T, Option<RecordWrite>)> + Send + Sync + 'static,
    ) -> Result<T> {
        let attempt = Arc::new(attempt);
        for _ in 0..CONFLICT_RETRIES {
            self.pace_writes().await;
            // Held until the write is committed, so a form change never sees it half-done.
            let _shared = self.inner.definitions.shared().await;
            let attempt = attempt.clone();
            let committed = match self.evaluating(scripted.clone(), move |engine| attempt(engine)).await {
                Ok((value, Some(write))) => {
                    self.commit(vec![write], Extras::default()).await.map(|_| value).map_err(EngineError::from)
                }
                Ok((value, None)) => Ok(value),
                Err(err) => Err(err),
            };
            match committed {
                Ok(value) => return Ok(value),
                Err(EngineError::Store(StoreError::VersionConflict { current })) => match (if_match, current) {
                    (Some(_), Some(current)) => return Err(EngineError::PreconditionFailed { current }),
                    (_, None) => return Err(EngineError::not_found("record", id.to_string())),
                    (None, Some(_)) => continue,
                },
                Err(err) => return Err(err),
            }
        }
        Err(EngineError::Internal("too many concurrent updates of one record".into()))
    }

    fn delete_record_now(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &Uuid,
        if_match: Option<u64>,
    ) -> Result<RecordWrite> {
        let loaded = self.loaded_form(space, form)?;
        let current = self.current_record(&loaded, id, &Policy::new(loaded.compiled.def(), access))?;
        if let Some(expected) = if_match {
            if expected != current.version {
                return Err(EngineError::PreconditionFailed { current: current.version });
            }
        }
        debug_assert_eq!(space, &loaded.space);
        Ok(delete_write(&loaded, &current, actor, self.now()))
    }

    /// A record's events, oldest first, after sequence number `after` (0 = from the start).
    /// Also answers for deleted records: their history outlives them.
    ///
    /// For a caller with `access`: a record out of its scope (as it is now, or as it was when
    /// deleted) has no history to show, and every version shown leaves hidden fields out.
    pub fn record_history(
        &self,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let loaded = self.loaded_form(space, form)?;
        let id = parse_id(id)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        if !policy.is_unrestricted() && !self.seen_in_scope(&loaded, &id, &policy)? {
            return Err(EngineError::not_found("record", id.to_string()));
        }
        let events = self.store().record_events(&loaded.space, &loaded.stored.name, &id, after, limit)?;
        if events.is_empty() && after == 0 {
            return Err(EngineError::not_found("record", id.to_string()));
        }
        Ok(events.into_iter().map(|event| policy.redact_event(event)).collect())
    }

    /// Refuses a write that makes `data` point (`x-ref`) at a record the caller's `access` can't
    /// see, or at one that does not exist, with the same error for both, so references can't
    /// probe for records out of scope. Called before the data is validated, so the answer is the
    /// same whatever else is wrong. References `before` already held are left alone: a task
    /// stays valid when its account moves to another CSM.
    fn check_references_seen(
        &self,
        loaded: &LoadedForm,
        access: &Access,
        before: Option<&Value>,
        data: &Value,
    ) -> Result<()> {
        if access.is_unrestricted() {
            return Ok(());
        }
        let held: HashSet<(String, String)> = before
            .map(|before| loaded.compiled.references(before).into_iter().map(|r| (r.path, r.id)).collect())
            .unwrap_or_default();
        let mut errors = Vec::new();
        for reference in loaded.compiled.references(data) {
            if held.contains(&(reference.path.clone(), reference.id.clone())) {
                continue;
            }
            let target = self.loaded_form(&loaded.space, &reference.form)?;
            let policy = Policy::new(target.compiled.def(), access);
            let seen = match Uuid::parse_str(&reference.id).map(|id| self.current_record(&target, &id, &policy)) {
                Ok(Ok(_)) => true,
                Ok(Err(EngineError::NotFound { .. })) | Err(_) => false,
                Ok(Err(err)) => return Err(err),
            };
            if !seen {
                errors.push(missing_reference(reference));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors).into())
        }
    }

    /// Makes `data` what is stored: computes the computed fields into it, then checks the
    /// schema, the rules, the pipeline stage and the references, every failure in one list.
    pub(crate) fn prepare_data(
        &self,
        space: &SpaceName,
        loaded: &LoadedForm,
        id: &Uuid,
        data: &mut Value,
    ) -> Result<()> {
        let check = self.check_data(space, loaded, id, data)?;
        if check.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(check.errors).into())
        }
    }

    /// What [`Engine::prepare_data`] does, told in full: each computed field's value or script
    /// error, each rule's outcome, and every failure that refuses the write (empty when the
    /// data may be stored). Reads the store only to check references; writes nothing.
    pub(crate) fn check_data(
        &self,
        space: &SpaceName,
        loaded: &LoadedForm,
        id: &Uuid,
        data: &mut Value,
    ) -> Result<DataCheck> {
        // Bounded where data enters (the API, workflows, imports), before any script sees it.
        if let Err(error) = forms::check_depth(data, forms::MAX_DATA_DEPTH) {
            return Ok(DataCheck { computed: Vec::new(), rules: Vec::new(), errors: vec![error] });
        }
        let mut errors = Vec::new();
        let mut computed = Vec::with_capacity(loaded.computed.len());
        // Scripts read dates in the space's zone; looked up only for forms that have scripts.
        let zone = (!loaded.computed.is_empty() || !loaded.rules.is_empty()).then(|| self.space_zone(&loaded.space));
        // The data is lent to each script and taken back, not copied.
        let mut vars = script_vars(space, id, std::mem::take(data), zone);
        for (field, script) in &loaded.computed {
            let evaluated = self.inner.scripts.eval(script, &vars);
            let data = &mut vars.record;
            match evaluated {
                Ok(evaluation) => {
                    if let Some(object) = data.as_object_mut() {
                        match &evaluation.value {
                            Value::Null => object.remove(field),
                            value => object.insert(field.clone(), value.clone()),
                        };
                    }
                    computed.push((field.clone(), Ok(evaluation.value)));
                }
                Err(err) => {
                    errors.push(FieldError::new(format!("/{field}"), format!("could not be computed: {err}")));
                    computed.push((field.clone(), Err(err)));
                }
            }
        }
        // A computed field may build deep values of its own.
        if let Err(error) = forms::check_depth(&vars.record, forms::MAX_DATA_DEPTH) {
            errors.push(error);
        }
        if let Err(ValidationErrors(schema_errors)) = loaded.compiled.validate(&vars.record) {
            errors.extend(schema_errors);
        }
        // Rules read typed fields, so they only run on data the schema accepts.
        let mut rules = Vec::with_capacity(loaded.rules.len());
        if errors.is_empty() {
            for (rule, script) in &loaded.rules {
                let outcome = match self.inner.scripts.eval(script, &vars).map(|evaluation| evaluation.as_bool()) {
                    Ok(Some(true)) => RuleCheck::Passed,
                    Ok(Some(false)) => {
                        errors.push(FieldError::new(rule.path.clone(), rule.message.clone()));
                        RuleCheck::Failed
                    }
                    Ok(None) => {
                        errors.push(FieldError::new(
                            rule.path.clone(),
                            format!("rule `{}` did not give true or false", rule.expr),
                        ));
                        RuleCheck::NotBoolean
                    }
                    Err(err) => {
                        errors.push(FieldError::new(rule.path.clone(), format!("rule could not be evaluated: {err}")));
                        RuleCheck::Error(err)
                    }
                };
                rules.push(outcome);
            }
        } else {
            rules.resize_with(loaded.rules.len(), || RuleCheck::Skipped);
        }
        *data = std::mem::take(&mut vars.record);
        let data = &*data;
        if let Some(pipeline) = &loaded.compiled.def().pipeline {
            if let Some(stage) = data.get(&pipeline.field).and_then(Value::as_str) {
                if pipeline.stage(stage).is_none() {
                    errors.push(FieldError::new(
                        format!("/{}", pipeline.field),
                        format!("`{stage}` is not a stage of this form's pipeline"),
                    ));
                }
            }
        }
        for reference in loaded.compiled.references(data) {
            let exists = match Uuid::parse_str(&reference.id) {
                Ok(id) => self.store().record(&loaded.space, &reference.form, &id)?.is_some(),
                Err(_) => false,
            };
            if !exists {
                errors.push(missing_reference(reference));
            }
        }
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.dedup();
        Ok(DataCheck { computed, rules, errors })
    }
}

/// Everything [`Engine::check_data`] found, in the form's order of computed fields and rules.
pub(crate) struct DataCheck {
    /// Each computed field with its value (null: the field is left out) or why it failed.
    pub(crate) computed: Vec<(String, std::result::Result<Value, ScriptError>)>,
    /// Each rule's outcome, in the order of `LoadedForm::rules`.
    pub(crate) rules: Vec<RuleCheck>,
    /// Every failure that refuses the write, sorted by path.
    pub(crate) errors: Vec<FieldError>,
}

/// How one rule came out.
pub(crate) enum RuleCheck {
    /// It gave true.
    Passed,
    /// It gave false: the write fails with its message.
    Failed,
    /// It gave something other than true or false.
    NotBoolean,
    /// It did not finish.
    Error(ScriptError),
    /// Not run: the data failed the schema (or a computed field failed) first.
    Skipped,
}

/// The error of a reference to a record that does not exist, or that the writer can't see:
/// the same words for both.
fn missing_reference(reference: forms::Reference) -> FieldError {
    FieldError::new(reference.path, format!("no `{}` record with id `{}` exists", reference.form, reference.id))
}

/// The event for a change of `record` (as it is after the change; for a deletion, as it was).
pub(crate) fn record_event(
    space: &SpaceName,
    record: &Record,
    kind: EventKind,
    before: Option<Value>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Event {
    Event {
        form: Some(record.form.clone()),
        record: record.id,
        kind,
        version: record.version,
        before,
        after: (kind != EventKind::Deleted).then(|| record.data.clone()),
        ..Event::bare(space.clone(), kind, actor.clone(), at)
    }
}

/// What scripts see of a record being written: its data, plus its `id`; dates in `zone`.
fn script_vars(space: &SpaceName, id: &Uuid, data: Value, zone: Option<chrono_tz::Tz>) -> ScriptVars {
    ScriptVars {
        record: data,
        record_id: Some(id.to_string()),
        space: Some(space.to_string()),
        timezone: zone,
        ..ScriptVars::default()
    }
}

/// Computed fields are the engine's to write: a client sending one is told so.
fn reject_computed(loaded: &LoadedForm, data: &Value) -> Result<()> {
    let errors: Vec<FieldError> = loaded
        .computed
        .iter()
        .filter(|(field, _)| data.get(field).is_some())
        .map(|(field, _)| FieldError::new(format!("/{field}"), format!("`{field}` is computed and cannot be set")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors).into())
    }
}

/// The next version of `current` with `data`, and the write that stores it.
pub(crate) fn update_write(
    space: &SpaceName,
    loaded: &LoadedForm,
    current: &Record,
    data: Value,
    kind: EventKind,
    actor: &Actor,
    now: DateTime<Utc>,
) -> (Record, RecordWrite) {
    // Field by field: `..current.clone()` would copy the current data only to drop it.
    let record = Record {
        id: current.id,
        form: current.form.clone(),
        version: current.version + 1,
        form_version: loaded.stored.version,
        stage: stage_of(loaded, &data),
        data,
        created_at: current.created_at,
        created_by: current.created_by.clone(),
        updated_at: now,
        updated_by: actor.clone(),
    };
    let (index_remove, index_add) =
        index_diff(index_entries(&loaded.compiled, current), index_entries(&loaded.compiled, &record));
    let event = record_event(space, &record, kind, Some(current.data.clone()), actor, now);
    let write = RecordWrite {
        space: space.clone(),
        form: record.form.clone(),
        id: record.id,
        expected_version: Some(current.version),
        record: Some(record.clone()),
        index_remove,
        index_add,
        event,
        timers: sla_op(space, loaded, Some(current), Some(&record)).into_iter().collect(),
    };
    (record, write)
}

/// The write that stores a new record.
/// The write that deletes `current`.
pub(crate) fn delete_write(loaded: &LoadedForm, current: &Record, actor: &Actor, now: DateTime<Utc>) -> RecordWrite {
    let event = record_event(&loaded.space, current, EventKind::Deleted, Some(current.data.clone()), actor, now);
    RecordWrite {
        space: loaded.space.clone(),
        form: loaded.stored.name.clone(),
        id: current.id,
        expected_version: Some(current.version),
        record: None,
        index_remove: index_entries(&loaded.compiled, current),
        index_add: Vec::new(),
        event,
        // A deleted record's timers (its SLA, its reminders) die with it.
        timers: vec![TimerOp::CancelRecord { space: loaded.space.clone(), record: current.id }],
    }
}

pub(crate) fn create_write(space: &SpaceName, loaded: &LoadedForm, record: &Record) -> RecordWrite {
    RecordWrite {
        space: space.clone(),
        form: record.form.clone(),
        id: record.id,
        expected_version: None,
        record: Some(record.clone()),
        index_remove: Vec::new(),
        index_add: index_entries(&loaded.compiled, record),
        event: record_event(space, record, EventKind::Created, None, &record.created_by, record.created_at),
        timers: sla_op(space, loaded, None, Some(record)).into_iter().collect(),
    }
}

/// Moves `data` to pipeline stage `to` if the form's pipeline allows the move from the stage
/// it is in and that stage's checklist is done; else why not, and the items not done.
pub(crate) fn move_to_stage(loaded: &LoadedForm, data: &mut Value, to: &str) -> Result<(), (String, Vec<String>)> {
    let Some(pipeline) = &loaded.compiled.def().pipeline else {
        return Err((format!("form `{}` has no pipeline", loaded.stored.name), Vec::new()));
    };
    if pipeline.stage(to).is_none() {
        let stages: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
        return Err((format!("`{to}` is not a stage; the stages are {stages:?}"), Vec::new()));
    }
    let from = data.get(&pipeline.field).and_then(Value::as_str).unwrap_or("").to_owned();
    if from == to {
        return Err((format!("the record is already in `{to}`"), Vec::new()));
    }
    if !from.is_empty() && !pipeline.allows(&from, to) {
        let allowed = pipeline.transitions.get(&from).cloned().unwrap_or_default();
        return Err((format!("the pipeline allows moving from `{from}` only to {allowed:?}"), Vec::new()));
    }
    let unchecked: Vec<String> = pipeline.unchecked_items(&from, data).into_iter().map(str::to_owned).collect();
    if !unchecked.is_empty() {
        return Err((format!("checklist items of `{from}` not done: {unchecked:?}"), unchecked));
    }
    if let Some(object) = data.as_object_mut() {
        object.insert(pipeline.field.clone(), Value::String(to.to_owned()));
    }
    Ok(())
}

/// A new record of a form with a pipeline starts in the initial stage unless it names one.
pub(crate) fn apply_initial_stage(loaded: &LoadedForm, data: &mut Value) {
    if let (Some(pipeline), Some(object)) = (loaded.compiled.def().pipeline.as_ref(), data.as_object_mut()) {
        if object.get(&pipeline.field).is_none_or(Value::is_null) {
            if let Some(initial) = pipeline.initial_stage() {
                object.insert(pipeline.field.clone(), Value::String(initial.to_owned()));
            }
        }
    }
}

/// The pipeline stage `data` is in, for forms with a pipeline.
pub(crate) fn stage_of(loaded: &LoadedForm, data: &Value) -> Option<String> {
    let pipeline = loaded.compiled.def().pipeline.as_ref()?;
    data.get(&pipeline.field)?.as_str().map(str::to_owned)
}

/// A merge patch must be an object and must not touch system fields.
fn check_patch(patch: &Value) -> Result<()> {
    let Some(object) = patch.as_object() else {
        return Err(ValidationErrors(vec![FieldError::new("", "a merge patch must be a JSON object")]).into());
    };
    let errors: Vec<FieldError> = RESERVED_FIELDS
        .iter()
        .filter(|field| object.contains_key(**field))
        .map(|field| FieldError::new(format!("/{field}"), format!("`{field}` is a system field and cannot be set")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors).into())
    }
}

fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| EngineError::not_found("record", id))
}

/// Entries to remove and to add to go from `old` to `new`, leaving unchanged ones alone.
pub(crate) fn index_diff(old: Vec<IndexEntry>, new: Vec<IndexEntry>) -> (Vec<IndexEntry>, Vec<IndexEntry>) {
    let old_set: HashSet<&IndexEntry> = old.iter().collect();
    let new_set: HashSet<&IndexEntry> = new.iter().collect();
    let remove = old.iter().filter(|e| !new_set.contains(e)).cloned().collect();
    let add = new.iter().filter(|e| !old_set.contains(e)).cloned().collect();
    (remove, add)
}

#[cfg(test)]
mod policy_tests;
