//! Triggers: which shape a definition's trigger has, and whether it fits the space's forms.

use std::sync::Arc;

use forms::{FieldError, SpaceName};

use super::Trigger;
use crate::model::EventKind;
use crate::{Engine, LoadedForm};

/// The kinds of trigger, told apart by which keys a definition has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerKind {
    /// `{form, on, fields?}`.
    RecordEvents,
    /// `{form, on, delay}`.
    Delay,
    /// `{form, at, offsets}`.
    DateOffsets,
    /// `{cron}`.
    Cron,
    /// `{hook}`.
    Hook,
}

impl Trigger {
    /// The kind of this trigger.
    pub(crate) fn kind(&self) -> TriggerKind {
        if self.hook.is_some() {
            TriggerKind::Hook
        } else if self.cron.is_some() {
            TriggerKind::Cron
        } else if self.at.is_some() {
            TriggerKind::DateOffsets
        } else if self.delay.is_some() {
            TriggerKind::Delay
        } else {
            TriggerKind::RecordEvents
        }
    }
}

impl Engine {
    /// Checks a trigger against the space's forms; returns the form it watches, if it watches
    /// one that exists. Every problem goes to `problems`, with its pointer.
    pub(super) fn check_trigger(
        &self,
        space: &SpaceName,
        trigger: &Trigger,
        problems: &mut Vec<FieldError>,
    ) -> Option<Arc<LoadedForm>> {
        let kind = trigger.kind();
        if kind == TriggerKind::Hook {
            self.check_hook_trigger(space, trigger, problems);
            return None;
        }
        if matches!(kind, TriggerKind::Hook | TriggerKind::Cron | TriggerKind::DateOffsets | TriggerKind::Delay) {
            problems.push(FieldError::new("/trigger", "this kind of trigger is not available yet"));
            return None;
        }
        let Some(form_name) = &trigger.form else {
            problems.push(FieldError::new("/trigger/form", "name the form whose records start a run"));
            return None;
        };
        let form = match self.loaded_form(space.as_str(), form_name.as_str()) {
            Ok(form) => Some(form),
            Err(_) => {
                problems.push(FieldError::new("/trigger/form", format!("no form `{form_name}` in this space")));
                None
            }
        };
        if trigger.on.contains(&EventKind::Manual) {
            problems.push(FieldError::new(
                "/trigger/on",
                "`manual` is not an event: any workflow can be run with POST .../run",
            ));
        }
        if trigger.on.is_empty() {
            problems.push(FieldError::new(
                "/trigger/on",
                "list at least one event: created, updated, deleted, stage_changed",
            ));
        }
        if let Some(form) = &form {
            for (i, field) in trigger.fields.iter().enumerate() {
                if form.compiled.field_type(field).is_none() {
                    problems.push(FieldError::new(
                        format!("/trigger/fields/{i}"),
                        format!("`{field}` is not a field of `{form_name}`"),
                    ));
                }
            }
        }
        form
    }

    /// `{hook}`: the hook must exist in the space, and nothing about records or time goes with
    /// it. An inbound run has no triggering record; its scripts see the body as `payload`.
    fn check_hook_trigger(&self, space: &SpaceName, trigger: &Trigger, problems: &mut Vec<FieldError>) {
        let hook = trigger.hook.as_deref().unwrap_or_default();
        if !self.hook_exists(space, hook) {
            problems.push(FieldError::new(
                "/trigger/hook",
                format!("no inbound hook `{hook}` in this space (PUT .../hooks/{hook} first)"),
            ));
        }
        let extra = [
            ("form", trigger.form.is_some()),
            ("on", !trigger.on.is_empty()),
            ("fields", !trigger.fields.is_empty()),
            ("at", trigger.at.is_some()),
            ("offsets", !trigger.offsets.is_empty()),
            ("time", trigger.time.is_some()),
            ("timezone", trigger.timezone.is_some()),
            ("delay", trigger.delay.is_some()),
            ("business_days", trigger.business_days),
            ("cron", trigger.cron.is_some()),
            ("misfire", trigger.misfire.is_some()),
            ("catch_up", trigger.catch_up.is_some()),
        ];
        for (key, present) in extra {
            if present {
                problems.push(FieldError::new(format!("/trigger/{key}"), "a `hook` trigger takes no other keys"));
            }
        }
    }
}
