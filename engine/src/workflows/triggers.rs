//! Triggers: which shape a definition's trigger has, whether it fits the space's forms, and
//! its parsed form (offsets, delays, cron schedules, zones) ready for the scheduler.

use std::sync::Arc;

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;
use forms::{FieldError, FieldType, HookName, SpaceName};

use super::{Misfire, Trigger, Zone};
use crate::calendar::{self, CronSchedule, Span};
use crate::model::EventKind;
use crate::{Engine, LoadedForm};

/// How far back missed timers still fire, unless a workflow says otherwise.
const DEFAULT_CATCH_UP_DAYS: i64 = 7;

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

/// Where a timer's local time is read.
#[derive(Debug, Clone)]
pub(crate) enum ZoneSource {
    /// A fixed IANA zone.
    Fixed(Tz),
    /// A record field holding an IANA name; the space's zone when the field is empty or invalid.
    Field(String),
    /// The space's zone.
    Space,
}

/// A trigger parsed for the scheduler.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTrigger {
    pub(crate) kind: TriggerKind,
    /// Date offsets as written and parsed.
    pub(crate) offsets: Vec<(String, Span)>,
    /// Local time of day of date offsets.
    pub(crate) time: Option<NaiveTime>,
    pub(crate) zone: ZoneSource,
    pub(crate) delay: Option<(String, Span)>,
    pub(crate) cron: Option<CronSchedule>,
    pub(crate) business_days: bool,
    pub(crate) misfire: Misfire,
    pub(crate) catch_up: Duration,
    /// Whether the `at` field holds a date-time (a date otherwise).
    pub(crate) at_is_instant: bool,
}

impl CompiledTrigger {
    fn new(kind: TriggerKind) -> Self {
        CompiledTrigger {
            kind,
            offsets: Vec::new(),
            time: None,
            zone: ZoneSource::Space,
            delay: None,
            cron: None,
            business_days: false,
            misfire: Misfire::Fire,
            catch_up: Duration::days(DEFAULT_CATCH_UP_DAYS),
            at_is_instant: false,
        }
    }
}

/// Keys each kind of trigger may have besides its own.
fn misplaced(trigger: &Trigger, kind: TriggerKind) -> Vec<&'static str> {
    let present = [
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
        ("hook", trigger.hook.is_some()),
    ];
    let allowed: &[&str] = match kind {
        TriggerKind::RecordEvents => &["form", "on", "fields"],
        TriggerKind::Delay => &["form", "on", "fields", "delay", "business_days", "timezone", "misfire", "catch_up"],
        TriggerKind::DateOffsets => {
            &["form", "at", "offsets", "time", "timezone", "business_days", "misfire", "catch_up"]
        }
        TriggerKind::Cron => &["cron", "timezone", "misfire", "catch_up"],
        TriggerKind::Hook => &["hook"],
    };
    present.iter().filter(|(key, set)| *set && !allowed.contains(key)).map(|(key, _)| *key).collect()
}

fn kind_label(kind: TriggerKind) -> &'static str {
    match kind {
        TriggerKind::RecordEvents => "a record-event trigger",
        TriggerKind::Delay => "a delay trigger",
        TriggerKind::DateOffsets => "a date trigger (`at`)",
        TriggerKind::Cron => "a cron trigger",
        TriggerKind::Hook => "an inbound hook trigger",
    }
}

impl Engine {
    /// Checks a trigger against the space's forms and parses its time parts; returns the form
    /// it watches (if it watches one that exists) and the parsed trigger. Every problem goes
    /// to `problems`, with its pointer.
    pub(super) fn check_trigger(
        &self,
        space: &SpaceName,
        trigger: &Trigger,
        problems: &mut Vec<FieldError>,
    ) -> (Option<Arc<LoadedForm>>, CompiledTrigger) {
        let kind = trigger.kind();
        let mut compiled = CompiledTrigger::new(kind);
        for key in misplaced(trigger, kind) {
            problems.push(FieldError::new(format!("/trigger/{key}"), format!("not allowed in {}", kind_label(kind))));
        }
        if kind == TriggerKind::Hook {
            self.check_hook_trigger(space, trigger, problems);
            return (None, compiled);
        }
        compiled.business_days = trigger.business_days;
        compiled.misfire = trigger.misfire.unwrap_or_default();
        if let Some(window) = &trigger.catch_up {
            match Span::parse(window, false) {
                Ok(span) => compiled.catch_up = span.exact(),
                Err(message) => problems.push(FieldError::new("/trigger/catch_up", message)),
            }
        }
        compiled.zone = match &trigger.timezone {
            None => ZoneSource::Space,
            Some(Zone::Named(name)) => match calendar::parse_zone(name) {
                Ok(zone) => ZoneSource::Fixed(zone),
                Err(message) => {
                    problems.push(FieldError::new("/trigger/timezone", message));
                    ZoneSource::Space
                }
            },
            Some(Zone::Field { field }) => ZoneSource::Field(field.clone()),
        };
        if kind == TriggerKind::Cron {
            if matches!(compiled.zone, ZoneSource::Field(_)) {
                problems
                    .push(FieldError::new("/trigger/timezone", "a cron schedule has no record to read a zone from"));
            }
            match CronSchedule::parse(trigger.cron.as_deref().unwrap_or_default()) {
                Ok(schedule) => compiled.cron = Some(schedule),
                Err(message) => problems.push(FieldError::new("/trigger/cron", message)),
            }
            return (None, compiled);
        }
        let Some(form_name) = &trigger.form else {
            problems.push(FieldError::new("/trigger/form", "name the form whose records start a run"));
            return (None, compiled);
        };
        let form = match self.loaded_form(space, form_name) {
            Ok(form) => Some(form),
            Err(_) => {
                problems.push(FieldError::new("/trigger/form", format!("no form `{form_name}` in this space")));
                None
            }
        };
        let field_type = |field: &str| form.as_ref().and_then(|f| f.compiled.field_type(field));
        if let (ZoneSource::Field(field), Some(_)) = (&compiled.zone, &form) {
            if field_type(field) != Some(FieldType::String) {
                problems.push(FieldError::new(
                    "/trigger/timezone/field",
                    format!("`{field}` is not a string field of `{form_name}`"),
                ));
            }
        }
        if kind == TriggerKind::DateOffsets {
            let at = trigger.at.as_deref().unwrap_or_default();
            match field_type(at) {
                Some(FieldType::Date) => {}
                Some(FieldType::DateTime) => compiled.at_is_instant = true,
                Some(_) => problems.push(FieldError::new(
                    "/trigger/at",
                    format!("`{at}` is not a date or date-time field of `{form_name}`"),
                )),
                None if form.is_some() => {
                    problems.push(FieldError::new("/trigger/at", format!("`{at}` is not a field of `{form_name}`")))
                }
                None => {}
            }
            if trigger.offsets.is_empty() {
                problems
                    .push(FieldError::new("/trigger/offsets", "list at least one offset, e.g. [\"-30d\"] or [\"0d\"]"));
            }
            for (i, offset) in trigger.offsets.iter().enumerate() {
                if trigger.offsets[..i].contains(offset) {
                    problems
                        .push(FieldError::new(format!("/trigger/offsets/{i}"), format!("`{offset}` is listed twice")));
                    continue;
                }
                match Span::parse(offset, true) {
                    Ok(span) => compiled.offsets.push((offset.clone(), span)),
                    Err(message) => problems.push(FieldError::new(format!("/trigger/offsets/{i}"), message)),
                }
            }
            compiled.time = match &trigger.time {
                Some(time) => match calendar::parse_time_of_day(time) {
                    Ok(time) => Some(time),
                    Err(message) => {
                        problems.push(FieldError::new("/trigger/time", message));
                        None
                    }
                },
                None => None,
            };
            return (form, compiled);
        }
        if kind == TriggerKind::Delay {
            let delay = trigger.delay.as_deref().unwrap_or_default();
            match Span::parse(delay, false) {
                Ok(span) => compiled.delay = Some((delay.to_owned(), span)),
                Err(message) => problems.push(FieldError::new("/trigger/delay", message)),
            }
        }
        if trigger.on.contains(&EventKind::Manual) {
            problems.push(FieldError::new(
                "/trigger/on",
                "`manual` is not an event: any workflow can be run with POST .../run",
            ));
        }
        for (i, kind) in trigger.on.iter().enumerate() {
            if matches!(kind, EventKind::TimerFired | EventKind::Inbound) {
                problems.push(FieldError::new(
                    format!("/trigger/on/{i}"),
                    "not a record event: use `at`, `delay` or `cron` for timers and `hook` for inbound webhooks",
                ));
            }
        }
        if trigger.on.is_empty() {
            problems.push(FieldError::new(
                "/trigger/on",
                "list at least one event: created, updated, deleted, stage_changed, sla_breached",
            ));
        }
        if trigger.on.contains(&EventKind::SlaBreached) {
            let has_sla = form
                .as_ref()
                .and_then(|f| f.compiled.def().pipeline.as_ref())
                .is_some_and(|pipeline| pipeline.stages.iter().any(|stage| stage.sla.is_some()));
            if form.is_some() && !has_sla {
                problems.push(FieldError::new(
                    "/trigger/on",
                    format!("form `{form_name}` has no pipeline stage with an `sla`, so `sla_breached` never happens"),
                ));
            }
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
        (form, compiled)
    }

    fn check_hook_trigger(&self, space: &SpaceName, trigger: &Trigger, problems: &mut Vec<FieldError>) {
        let hook = trigger.hook.as_deref().unwrap_or_default();
        if !HookName::parse(hook).is_ok_and(|name| self.hook_exists(space, &name)) {
            problems.push(FieldError::new(
                "/trigger/hook",
                format!("no inbound hook `{hook}` in this space (PUT .../hooks/{hook} first)"),
            ));
        }
    }
}
