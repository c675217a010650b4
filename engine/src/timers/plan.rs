//! Which timers a workflow or a pipeline wants: the date offsets of a record, the delay after an
//! event, the next occurrence of a cron schedule, the SLA of a stage.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use forms::{FormName, SpaceName};
use serde_json::Value;
use uuid::Uuid;

use crate::calendar::{self, Span};
use crate::model::{Event, EventKind, Record};
use crate::model::{Timer, TimerKind};
use crate::store::Store as _;
use crate::store::TimerOp;
use crate::workflows::{CompiledTrigger, CompiledWorkflow, TriggerKind, ZoneSource};
use crate::{Engine, LoadedForm};

/// The local time of day of date offsets when a workflow gives none.
fn default_time() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN)
}

/// The zone a trigger's times are in, for a record with `data`, given the space's zone.
fn trigger_zone(trigger: &CompiledTrigger, data: Option<&Value>, space_zone: Tz) -> Tz {
    match &trigger.zone {
        ZoneSource::Fixed(zone) => *zone,
        ZoneSource::Field(field) => data
            .and_then(|d| d.get(field))
            .and_then(Value::as_str)
            .and_then(|name| calendar::parse_zone(name).ok())
            .unwrap_or(space_zone),
        ZoneSource::Space => space_zone,
    }
}

/// A timer id: UUIDv7 stamped with the instant it was scheduled at (not the wall clock).
fn timer_id(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos()))
}

/// What a timer's owner and schedule are; the rest is filled in by [`new_timer`].
struct Planned<'a> {
    space: &'a SpaceName,
    kind: TimerKind,
    workflow: Option<&'a CompiledWorkflow>,
    form: Option<&'a FormName>,
    record: Uuid,
    spec: String,
    due: DateTime<Utc>,
    zone: Tz,
}

fn new_timer(planned: Planned<'_>, now: DateTime<Utc>) -> Timer {
    Timer {
        id: timer_id(now),
        space: planned.space.clone(),
        kind: planned.kind,
        workflow: planned.workflow.map(|w| w.stored.name.clone()),
        workflow_version: planned.workflow.map(|w| w.stored.version),
        form: planned.form.cloned(),
        record: planned.record,
        spec: planned.spec,
        due: planned.due,
        timezone: planned.zone.name().to_owned(),
        created_at: now,
    }
}

impl Engine {
    /// A space's default zone: UTC unless the space sets one.
    pub(crate) fn space_zone(&self, space: &SpaceName) -> Tz {
        let generation = match self.inner.definitions.zones.get(space) {
            Ok(zone) => return zone,
            Err(generation) => generation,
        };
        let stored = self.store().space(space).ok().flatten();
        let zone = stored
            .as_ref()
            .and_then(|space| space.timezone.as_deref())
            .and_then(|zone| calendar::parse_zone(zone).ok());
        // A space that doesn't exist yet may be created with a zone.
        if stored.is_some() {
            self.inner.definitions.zones.keep(generation, space, zone.unwrap_or(Tz::UTC));
        }
        zone.unwrap_or(Tz::UTC)
    }

    /// The zone the scripts of a run caused by `event` read dates in (`today()`,
    /// `days_until`): a fired timer's trigger zone (fixed, or the record's zone field), else
    /// the space's zone, else UTC.
    pub(crate) fn zone_in_force(&self, event: &Event) -> Tz {
        let space_zone = self.space_zone(&event.space);
        let Some((workflow, version)) =
            event.timer.as_ref().and_then(|timer| Some((timer.workflow.as_ref()?, timer.workflow_version?)))
        else {
            return space_zone;
        };
        match self.compiled_workflow(&event.space, workflow, version) {
            Ok(compiled) => trigger_zone(&compiled.trigger, event.after.as_ref(), space_zone),
            Err(_) => space_zone,
        }
    }

    /// The date-offset timers of `workflow` for a record: one per offset that falls after
    /// `now` (an offset already past when the record is written does not fire). `space_zone`
    /// is read once by the caller, who may ask for many records.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn date_offset_timers(
        &self,
        workflow: &CompiledWorkflow,
        space: &SpaceName,
        space_zone: Tz,
        form: &FormName,
        record: Uuid,
        data: &Value,
        now: DateTime<Utc>,
    ) -> Vec<Timer> {
        let trigger = &workflow.trigger;
        let Some(at) = workflow.stored.definition.trigger.at.as_deref() else { return Vec::new() };
        let zone = trigger_zone(trigger, Some(data), space_zone);
        let Some(text) = data.get(at).and_then(Value::as_str) else { return Vec::new() };
        let (date, time) = if trigger.at_is_instant {
            let Ok(instant) = DateTime::parse_from_rfc3339(text) else { return Vec::new() };
            let local = instant.with_timezone(&zone).naive_local();
            (local.date(), trigger.time.unwrap_or(local.time()))
        } else {
            let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else { return Vec::new() };
            (date, trigger.time.unwrap_or_else(default_time))
        };
        trigger
            .offsets
            .iter()
            .filter_map(|(spec, offset)| {
                let due = calendar::date_offset(date, *offset, time, zone, trigger.business_days);
                (due > now).then(|| {
                    let planned = Planned {
                        space,
                        kind: TimerKind::DateOffset,
                        workflow: Some(workflow),
                        form: Some(form),
                        record,
                        spec: spec.clone(),
                        due,
                        zone,
                    };
                    new_timer(planned, now)
                })
            })
            .collect()
    }

    /// The next occurrence of a cron workflow strictly after `after`.
    pub(crate) fn cron_timer(
        &self,
        space: &SpaceName,
        workflow: &CompiledWorkflow,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Timer> {
        let schedule = workflow.trigger.cron.as_ref()?;
        let zone = trigger_zone(&workflow.trigger, None, self.space_zone(space));
        let (due, _) = schedule.next_after(after, zone)?;
        let spec = workflow.stored.definition.trigger.cron.clone().unwrap_or_default();
        let planned = Planned {
            space,
            kind: TimerKind::Cron,
            workflow: Some(workflow),
            form: None,
            record: Uuid::nil(),
            spec,
            due,
            zone,
        };
        Some(new_timer(planned, now))
    }

    /// The timer changes a record event asks of a date or delay workflow: date timers move
    /// when the record is created, its date (or zone) field changes, or it is deleted; a delay
    /// starts (again) on each triggering event.
    pub(crate) fn timer_ops_for_event(&self, workflow: &CompiledWorkflow, event: &Event) -> Option<TimerOp> {
        let definition = &workflow.stored.definition.trigger;
        let form = event.form.as_ref()?;
        let replace = |timers: Vec<Timer>| TimerOp::Replace {
            space: event.space.clone(),
            record: event.record,
            workflow: workflow.stored.name.to_string(),
            timers,
        };
        match workflow.trigger.kind {
            TriggerKind::DateOffsets => match event.kind {
                EventKind::Deleted => Some(replace(Vec::new())),
                EventKind::Created | EventKind::Updated | EventKind::StageChanged => {
                    let after = event.after.as_ref()?;
                    let zone_field = match &workflow.trigger.zone {
                        ZoneSource::Field(field) => Some(field.as_str()),
                        _ => None,
                    };
                    let changed = |field: &str| {
                        event.before.as_ref().and_then(|b| b.get(field))
                            != event.after.as_ref().and_then(|a| a.get(field))
                    };
                    let moved = event.kind == EventKind::Created
                        || definition.at.as_deref().is_some_and(changed)
                        || zone_field.is_some_and(changed);
                    moved.then(|| {
                        let space_zone = self.space_zone(&event.space);
                        let timers = self.date_offset_timers(
                            workflow,
                            &event.space,
                            space_zone,
                            form,
                            event.record,
                            after,
                            event.at,
                        );
                        replace(timers)
                    })
                }
                _ => None,
            },
            TriggerKind::Delay => {
                let (spec, delay) = workflow.trigger.delay.as_ref()?;
                if !definition.on.contains(&event.kind) {
                    return None;
                }
                let zone = trigger_zone(&workflow.trigger, event.after.as_ref(), self.space_zone(&event.space));
                let due = calendar::after_delay(event.at, *delay, zone, workflow.trigger.business_days);
                let planned = Planned {
                    space: &event.space,
                    kind: TimerKind::Delay,
                    workflow: Some(workflow),
                    form: Some(form),
                    record: event.record,
                    spec: spec.clone(),
                    due,
                    zone,
                };
                Some(replace(vec![new_timer(planned, event.at)]))
            }
            _ => None,
        }
    }

    /// Every timer a workflow version wants now, for all records of its form: run when it is
    /// stored, after its previous version's timers were cancelled.
    pub(crate) fn backfill_timers(
        &self,
        workflow: &CompiledWorkflow,
        space: &SpaceName,
    ) -> crate::Result<Vec<TimerOp>> {
        let now = self.now();
        let mut ops = Vec::new();
        if !workflow.stored.definition.enabled {
            return Ok(ops);
        }
        match workflow.trigger.kind {
            TriggerKind::Cron => {
                if let Some(timer) = self.cron_timer(space, workflow, now, now) {
                    ops.push(TimerOp::Replace {
                        space: space.clone(),
                        record: Uuid::nil(),
                        workflow: workflow.stored.name.to_string(),
                        timers: vec![timer],
                    });
                }
            }
            TriggerKind::DateOffsets => {
                let Some(form) = workflow.stored.definition.trigger.form.as_ref() else { return Ok(ops) };
                let space_zone = self.space_zone(space);
                for record in self.store().scan_records(space, form, None, false) {
                    let record = record?;
                    let timers =
                        self.date_offset_timers(workflow, space, space_zone, form, record.id, &record.data, now);
                    if !timers.is_empty() {
                        ops.push(TimerOp::Replace {
                            space: space.clone(),
                            record: record.id,
                            workflow: workflow.stored.name.to_string(),
                            timers,
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(ops)
    }
}

/// When a record entered its stage by a date (its start, UTC) or date-time field's value.
fn entered_at(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_time(NaiveTime::MIN).and_utc())
}

/// The SLA timer change of a record write: entering a stage with an `sla` schedules its
/// breach; leaving it (or being deleted) cancels it.
pub(crate) fn sla_op(
    space: &SpaceName,
    loaded: &LoadedForm,
    before: Option<&Record>,
    after: Option<&Record>,
) -> Option<TimerOp> {
    let pipeline = loaded.compiled.def().pipeline.as_ref()?;
    let Some(after) = after else {
        let before = before?;
        return Some(TimerOp::CancelRecord { space: space.clone(), record: before.id });
    };
    if before.is_some_and(|b| b.stage == after.stage) {
        return None;
    }
    let replace = |timers| TimerOp::Replace { space: space.clone(), record: after.id, workflow: String::new(), timers };
    let stage = after.stage.as_deref().and_then(|name| pipeline.stage(name));
    let Some((stage, sla)) = stage.and_then(|stage| Some((stage, stage.sla.as_deref()?))) else {
        // Left a stage that may have had an SLA.
        return before.map(|_| replace(Vec::new()));
    };
    let span = Span::parse(sla, false).ok()?;
    let entered = match (before, &stage.sla_from) {
        (None, Some(field)) => entered_at(&after.data[field.as_str()]).filter(|at| *at <= after.updated_at),
        _ => None,
    }
    .unwrap_or(after.updated_at);
    let planned = Planned {
        space,
        kind: TimerKind::Sla,
        workflow: None,
        form: Some(&after.form),
        record: after.id,
        spec: stage.name.clone(),
        due: entered + span.exact(),
        zone: Tz::UTC,
    };
    Some(replace(vec![new_timer(planned, entered)]))
}
