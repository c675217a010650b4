//! What would fire in a space over the next days: a calendar read from what is stored, changing
//! nothing.
//!
//! Every date offset, delay and SLA that can fire is already a pending timer (a workflow's
//! timers are backfilled when it is stored and moved with each record write), and a cron
//! schedule's next occurrence is one too; its later occurrences follow from its expression.
//! So the calendar is the pending timers in due order up to the window's end, plus each cron
//! schedule's further occurrences, with each record's label and person. It is computed from
//! the store alone: no workflow runs, no clock moves, nothing is written (unlike `tend
//! simulate`, which runs everything on a copy of the data). What it leaves out is what only a
//! run would make: a timer on a record that a run in the window creates or moves, and a
//! workflow's `when` condition, which is checked when the timer fires (the item carries it).
//!
//! Bounded: the window is at most [`MAX_DAYS`], the answer at most `limit` items (then
//! `truncated`), and at most [`SCAN_BUDGET`] stored timers are read for one answer.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use forms::{FormDef, SpaceName};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::model::{Access, EventKind, Timer, TimerKind, TimerPosition};
use crate::policy::Policy;
use crate::store::Store as _;
use crate::{calendar, Engine};

/// The longest window asked for, in days.
pub const MAX_DAYS: u32 = 92;
/// The most items one answer holds.
pub const MAX_ITEMS: usize = 2000;
/// The most stored timers read for one answer (records out of the caller's scope are read and
/// skipped, so this can exceed what is answered).
const SCAN_BUDGET: usize = 20_000;
/// Timers read from the store at a time.
const PAGE: usize = 256;

/// One thing that would fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpcomingItem {
    /// When, in UTC.
    pub at: DateTime<Utc>,
    /// When, on the wall clock of `timezone`.
    pub local: NaiveDateTime,
    /// The IANA zone the timer's time is in.
    pub timezone: String,
    /// What kind of timer: a date offset, a delay, a cron schedule or an SLA.
    pub kind: TimerKind,
    /// The offset (`-30d`), delay, cron expression, or the stage whose SLA breaches.
    pub spec: String,
    /// The workflows that run: the timer's own, or for an SLA those triggered by its breach.
    pub workflows: Vec<String>,
    /// The workflow's title, when it has one (and there is one workflow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The condition the workflow checks when it fires (`when`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The record's form (none for a cron schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// The record (none for a cron schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    /// The record's label: its name-like field, else its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whom it concerns: the value of the record's person field (a user id or an email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Due before the window began: it fires as soon as the scheduler runs.
    pub overdue: bool,
}

/// The calendar of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upcoming {
    /// The window's start (now).
    pub from: DateTime<Utc>,
    /// The window's end.
    pub until: DateTime<Utc>,
    /// The space's zone (UTC when it sets none).
    pub timezone: String,
    /// What fires, in order.
    pub items: Vec<UpcomingItem>,
    /// More would fire in the window than `items` holds.
    pub truncated: bool,
}

impl Engine {
    /// What would fire in `space` over the next `days` (1..=[`MAX_DAYS`]) that `access` may
    /// see, at most `limit` items (1..=[`MAX_ITEMS`]). Reads only.
    pub fn upcoming(&self, access: &Access, space: &SpaceName, days: u32, limit: usize) -> Result<Upcoming> {
        if days == 0 || days > MAX_DAYS {
            return Err(invalid(format!("days must be between 1 and {MAX_DAYS}")));
        }
        if limit == 0 || limit > MAX_ITEMS {
            return Err(invalid(format!("limit must be between 1 and {MAX_ITEMS}")));
        }
        let space = self.space(space)?;
        let from = self.now();
        let until = from + Duration::days(i64::from(days));
        let reader = Reader { engine: self, access, space: &space.name, from };
        let (mut items, mut truncated) = reader.stored(until, limit)?;
        // A truncated scan stops at its last item: cron occurrences after it would jump the gap.
        let horizon = if truncated { items.last().map_or(from, |item| item.at) } else { until };
        items.extend(reader.cron_occurrences(horizon, limit)?);
        items.sort_by(|a, b| (a.at, &a.workflows, a.record).cmp(&(b.at, &b.workflows, b.record)));
        if items.len() > limit {
            items.truncate(limit);
            truncated = true;
        }
        let timezone = self.space_zone(&space.name).name().to_owned();
        Ok(Upcoming { from, until, timezone, items, truncated })
    }
}

fn invalid(message: String) -> EngineError {
    EngineError::InvalidQuery(crate::query::QueryError::new(message))
}

struct Reader<'a> {
    engine: &'a Engine,
    access: &'a Access,
    space: &'a SpaceName,
    from: DateTime<Utc>,
}

impl Reader<'_> {
    /// The stored timers due before `until` the caller may see, at most `limit`, and whether
    /// there were more (or the scan budget ran out first).
    fn stored(&self, until: DateTime<Utc>, limit: usize) -> Result<(Vec<UpcomingItem>, bool)> {
        let end = until.timestamp_micros();
        let mut items = Vec::new();
        let mut after: Option<TimerPosition> = None;
        let mut scanned = 0;
        loop {
            let page = self
                .engine
                .store()
                .timers_in_due_order(self.space, None, after, PAGE, &mut |t| t.due_micros() < end)?;
            let exhausted = page.len() < PAGE;
            for timer in page {
                scanned += 1;
                after = Some(timer.position());
                if let Some(item) = self.item(&timer)? {
                    if items.len() == limit {
                        return Ok((items, true));
                    }
                    items.push(item);
                }
            }
            if exhausted {
                return Ok((items, false));
            }
            if scanned >= SCAN_BUDGET {
                return Ok((items, true));
            }
        }
    }

    /// A stored timer as an item, or none when its record is gone or out of the caller's scope.
    fn item(&self, timer: &Timer) -> Result<Option<UpcomingItem>> {
        let mut item = UpcomingItem {
            at: timer.due,
            local: timer.local(),
            timezone: timer.timezone.clone(),
            kind: timer.kind,
            spec: timer.spec.clone(),
            workflows: Vec::new(),
            title: None,
            condition: None,
            form: None,
            record: None,
            label: None,
            person: None,
            overdue: timer.due < self.from,
        };
        if let Some(form) = &timer.form {
            let Some(record) = self.engine.store().record(self.space, form, &timer.record)? else { return Ok(None) };
            let loaded = match self.engine.loaded_form(self.space, form) {
                Ok(loaded) => loaded,
                Err(EngineError::NotFound { .. }) => return Ok(None),
                Err(err) => return Err(err),
            };
            let def = loaded.compiled.def();
            let policy = Policy::new(def, self.access);
            if !policy.sees_record(&record) {
                return Ok(None);
            }
            let field = |name: &str| (!policy.is_hidden(name)).then(|| text(&record.data, name)).flatten();
            let person_fields = loaded.compiled.person_fields();
            let person = person_field(def, person_fields);
            let label = match label_field(def).and_then(field) {
                Some(label) => Some(label),
                None => self.referenced_label(def, &policy, &record.data)?,
            };
            let label = label.or_else(|| column_label_field(def, person).and_then(field));
            item.label = Some(label.unwrap_or_else(|| record.id.to_string()));
            item.person = person.and_then(field);
            item.form = Some(form.to_string());
            item.record = Some(record.id);
        }
        let runs = match (&timer.workflow, timer.workflow_version) {
            (Some(name), Some(version)) => vec![(name.clone(), version)],
            // An SLA raises `sla_breached` on its record; the workflows listening to it run.
            _ => match &timer.form {
                Some(form) => self.engine.triggered(self.space, form.as_str(), EventKind::SlaBreached)?.to_vec(),
                None => Vec::new(),
            },
        };
        item.workflows = runs.iter().map(|(name, _)| name.to_string()).collect();
        if let [(name, version)] = runs.as_slice() {
            if let Ok(workflow) = self.engine.workflow(self.space, name, Some(*version)) {
                item.title = workflow.definition.title.clone();
                item.condition = workflow.definition.when.clone();
            }
        }
        Ok(Some(item))
    }

    /// A record without a name-like field named by the record it references (an onboarding by
    /// its account): the first reference field's record's label, if the caller sees it.
    fn referenced_label(&self, def: &FormDef, policy: &Policy<'_>, data: &Value) -> Result<Option<String>> {
        let Some(properties) = def.schema.get("properties").and_then(Value::as_object) else { return Ok(None) };
        let reference = properties.iter().find_map(|(field, schema)| {
            let target = schema.get("x-ref")?.as_str()?;
            let id = (!policy.is_hidden(field)).then(|| data.get(field)?.as_str()?.parse::<Uuid>().ok()).flatten()?;
            Some((target, id))
        });
        let Some((target, id)) = reference else { return Ok(None) };
        let Ok(target) = forms::FormName::parse(target) else { return Ok(None) };
        let Some(record) = self.engine.store().record(self.space, &target, &id)? else { return Ok(None) };
        let Ok(loaded) = self.engine.loaded_form(self.space, &target) else { return Ok(None) };
        let def = loaded.compiled.def();
        let policy = Policy::new(def, self.access);
        if !policy.sees_record(&record) {
            return Ok(None);
        }
        Ok(label_field(def).filter(|f| !policy.is_hidden(f)).and_then(|f| text(&record.data, f)))
    }

    /// Each cron schedule's occurrences after its pending one, before `until`, at most `limit`
    /// in all.
    fn cron_occurrences(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<UpcomingItem>> {
        let mut items = Vec::new();
        for timer in self.engine.store().timers_of_record(self.space, &Uuid::nil())? {
            if timer.kind != TimerKind::Cron || timer.due >= until {
                continue;
            }
            let (Some(name), Some(version)) = (&timer.workflow, timer.workflow_version) else { continue };
            let Ok(workflow) = self.engine.compiled_workflow(self.space, name, version) else { continue };
            let Some(schedule) = workflow.trigger.cron.as_ref() else { continue };
            let Ok(zone) = calendar::parse_zone(&timer.timezone) else { continue };
            let Some(first) = self.item(&timer)? else { continue };
            let mut after = timer.due;
            while let Some((due, local)) = schedule.next_after(after, zone) {
                if due >= until || items.len() > limit {
                    break;
                }
                items.push(UpcomingItem { at: due, local, overdue: false, ..first.clone() });
                after = due;
            }
        }
        Ok(items)
    }
}

fn text(data: &Value, field: &str) -> Option<String> {
    match data.get(field)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The field that names a record: the first of `name`, `title`, `subject` the schema has.
fn label_field(def: &FormDef) -> Option<&str> {
    let properties = def.schema.get("properties")?.as_object()?;
    ["name", "title", "subject"].into_iter().find(|field| is_text(properties.get(*field)))
}

/// Failing a name and a reference, the first free-text column of the grid (not a reference,
/// an option or the person).
fn column_label_field<'a>(def: &'a FormDef, person: Option<&str>) -> Option<&'a str> {
    let properties = def.schema.get("properties")?.as_object()?;
    let columns = def.ui.as_ref()?.get("list_columns")?.as_array()?;
    columns.iter().filter_map(Value::as_str).find(|field| Some(*field) != person && is_text(properties.get(*field)))
}

/// A plain text property: a string that is no reference and no choice of options.
fn is_text(schema: Option<&Value>) -> bool {
    schema.is_some_and(|p| {
        p.get("type") == Some(&Value::from("string")) && p.get("x-ref").is_none() && p.get("enum").is_none()
    })
}

/// The field saying whom a record concerns: the policy's person field, else the form's first
/// person field (`x-person`), else `owner` or `assignee` (free emails before people).
fn person_field<'a>(def: &'a FormDef, person_fields: &'a [String]) -> Option<&'a str> {
    if let Some(field) = def.access.as_ref().and_then(|access| access.person_field.as_deref()) {
        return Some(field);
    }
    if let Some(field) = person_fields.first() {
        return Some(field);
    }
    let properties = def.schema.get("properties")?.as_object()?;
    ["owner", "assignee"].into_iter().find(|field| properties.contains_key(*field))
}

#[cfg(test)]
mod tests;
