//! Effects a workflow script asks for (`create`, `update`, `update(form, id, data)`,
//! `transition`, `notify`), applied to the event's [`Effects`] like the built-in actions.

use uuid::Uuid;

use super::actions::{merge_into, move_to_stage};
use super::processor::{Effects, Touched};
use super::CompiledWorkflow;
use crate::model::{Actor, Cause, DeliveryTarget, Event};
use crate::rules::{ScriptEffect, ScriptVars};
use crate::Engine;

impl Engine {
    /// Applies one effect a workflow script asked for.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_script_effect(
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
        let triggering = (&event.space, event.form.as_ref(), event.record);
        match requested {
            ScriptEffect::Create { form, data } => {
                let record = self.plan_create(&event.space, &form, data, actor)?;
                let id = record.after.id;
                effects.seed(id, Touched { cause: cause.clone(), ..record });
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
                self.change_record((&event.space, Some(&form), id), effects, cause, actor, |d, _| {
                    merge_into(d, &values);
                    Ok(())
                })?;
            }
            ScriptEffect::Transition { to } => {
                self.change_record(triggering, effects, cause, actor, |d, loaded| move_to_stage(d, loaded, &to))?;
            }
            ScriptEffect::Notify { webhook, url, email, body } => {
                let target = match (webhook, url, email) {
                    (Some(name), _, _) => DeliveryTarget::Webhook(name),
                    (_, Some(url), _) => DeliveryTarget::Url(url),
                    (_, _, Some(email)) => DeliveryTarget::Email(email),
                    _ => return Err("`notify` needs a webhook, url or email".into()),
                };
                let body = if body.is_null() { vars.record.clone() } else { body };
                let derived = effects.delivery_id(event, &workflow.stored.name);
                effects.deliveries.push(self.new_delivery(
                    &event.space,
                    &workflow.stored.name,
                    run,
                    target,
                    body,
                    derived,
                ));
            }
        }
        Ok(())
    }
}
