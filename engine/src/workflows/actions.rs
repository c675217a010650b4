//! The actions of a run: `when`, then `set`, `assign`, `transition`, `create`, `notify` and
//! `script`, each collecting its effects (changed and new records, deliveries) into the
//! event's [`Effects`] without writing anything; the processor commits them.

use std::sync::Arc;

use forms::{FieldError, FormName, SpaceName, ValidationErrors};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::processor::{Effects, Touched};
use super::{CompiledAction, CompiledWorkflow, Run, RunStatus};
use crate::error::EngineError;
use crate::model::{Actor, Cause, DeliveryTarget, Event};
use crate::records::stage_of;
use crate::rules::{Script, ScriptVars};
use crate::store::Store as _;
use crate::{Engine, LoadedForm};

/// Why an action that changes the triggering record fails on an event about no record (an
/// inbound post).
pub(super) const NO_RECORD: &str = "the event is about no record to change";

impl Engine {
    /// Evaluates `when` and the actions; an `Err` is the run's error and discards its effects.
    pub(super) fn run_workflow(
        &self,
        workflow: &CompiledWorkflow,
        event: &Event,
        vars: &ScriptVars,
        run: &mut Run,
        effects: &mut Effects,
    ) -> std::result::Result<(), String> {
        let name = workflow.stored.name.to_string();
        let chain: Vec<String> = event.cause.as_ref().map(|c| c.chain.clone()).unwrap_or_default();
        if chain.len() >= self.inner.processor.config().max_cascade_depth {
            let mut shown = chain.clone();
            shown.push(name);
            return Err(format!(
                "cascade stopped: workflows triggered each other {} levels deep (max_cascade_depth = {}): {}",
                chain.len(),
                self.inner.processor.config().max_cascade_depth,
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
        let cause = Cause { run: run.id, chain: cause_chain, budget: None };
        let actor = Actor(format!("workflow:{name}"));
        let triggering = (&event.space, event.form.as_ref(), event.record);
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
                    let record = self.plan_create(&event.space, form, Value::Object(values), &actor)?;
                    let id = record.after.id;
                    effects.seed(id, Touched { cause: cause.clone(), ..record });
                    json!({ "create": { "form": form, "id": id } })
                }
                CompiledAction::Notify { target, body, email } => {
                    let mut target = target.clone();
                    if let Some([to, subject, body]) = email {
                        // `role:…`, `team:…` and user ids become the people's emails; one
                        // person's email is written in their time zone.
                        let to = self.eval(to, vars, run)?;
                        let recipients = self.email_recipients(&event.space, &to).map_err(|e| e.to_string())?;
                        let local = ScriptVars { timezone: recipients.time_zone.or(vars.timezone), ..vars.clone() };
                        let mut parts = Map::new();
                        parts.insert("to".into(), recipients.to);
                        parts.insert("subject".into(), self.eval(subject, &local, run)?);
                        parts.insert("body".into(), self.eval(body, &local, run)?);
                        target = DeliveryTarget::Email(Value::Object(parts));
                    }
                    let payload = match body {
                        Some(script) => self.eval(script, vars, run)?,
                        None => vars.record.clone(),
                    };
                    let derived = effects.delivery_id(event, &workflow.stored.name);
                    let delivery = self.new_delivery(
                        &event.space,
                        &workflow.stored.name,
                        run.id,
                        target.clone(),
                        payload,
                        derived,
                    );
                    let id = delivery.id;
                    effects.deliveries.push(delivery);
                    json!({ "notify": { "target": target, "delivery": id } })
                }
            };
            run.effects.push(effect);
        }
        run.status = RunStatus::Succeeded;
        Ok(())
    }

    pub(super) fn eval(&self, script: &Script, vars: &ScriptVars, run: &mut Run) -> std::result::Result<Value, String> {
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

    /// Applies `change` to the triggering record as this event's runs leave it.
    pub(super) fn change_record(
        &self,
        target: (&SpaceName, Option<&FormName>, Uuid),
        effects: &mut Effects,
        cause: &Cause,
        actor: &Actor,
        change: impl FnOnce(&mut Value, &LoadedForm) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        let (space, id) = (target.0, target.2);
        let form = target.1.ok_or(NO_RECORD)?;
        if effects.touched_mut(&id).is_none() {
            let loaded = self.loaded_form(space, form).map_err(|e| e.to_string())?;
            let current = self
                .store()
                .record(&loaded.space, &loaded.stored.name, &id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no `{form}` record {id} (any more)"))?;
            effects.seed(id, Touched { loaded, before: Some(current.clone()), after: current, cause: cause.clone() });
        }
        let touched = effects.touched_mut(&id).ok_or("the record no longer exists")?;
        if &touched.after.form != form {
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

    pub(super) fn plan_create(
        &self,
        space: &SpaceName,
        form: &FormName,
        data: Value,
        actor: &Actor,
    ) -> std::result::Result<Touched, String> {
        let loaded = self.loaded_form(space, form).map_err(|e| e.to_string())?;
        let after = self.new_record(space, &loaded, data, actor).map_err(describe)?;
        Ok(Touched { loaded, before: None, after, cause: Cause { run: Uuid::nil(), chain: Vec::new(), budget: None } })
    }
}

/// Moves `data` to pipeline stage `to`, as a run's error if the pipeline refuses.
pub(super) fn move_to_stage(data: &mut Value, loaded: &LoadedForm, to: &str) -> std::result::Result<(), String> {
    crate::records::move_to_stage(loaded, data, to).map_err(|(reason, _)| reason)
}

pub(super) fn merge_into(data: &mut Value, values: &Map<String, Value>) {
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
pub(super) fn describe(err: EngineError) -> String {
    match err {
        EngineError::Validation(ValidationErrors(errors)) => errors
            .iter()
            .map(|FieldError { path, message }| format!("{path}: {message}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
