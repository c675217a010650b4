//! What scripts of a run see: the event's snapshot (`record`, `old`, `event`, `space`,
//! `payload`) and `query(form, filter)` over the space's records.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use forms::{FormName, SpaceName};
use serde_json::{json, Value};

use super::QUERY_LIMIT;
use crate::model::Event;
use crate::rules::{RecordQuery, ScriptVars};
use crate::Engine;

impl Engine {
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
            timezone: Some(self.zone_in_force(event)),
            ..ScriptVars::default()
        }
    }

    /// What `query(form, filter)` reads in this space's workflow scripts.
    fn record_query(&self, space: &SpaceName) -> RecordQuery {
        let engine = self.clone();
        let space = space.clone();
        RecordQuery(Arc::new(move |form: &str, filter: &str| {
            let form = FormName::parse(form).map_err(|_| format!("there is no form `{form}`"))?;
            let query =
                crate::ListQuery { filter: Some(filter.to_owned()), limit: Some(QUERY_LIMIT), ..Default::default() };
            let page = engine
                .list_records(&crate::Access::unrestricted(), &space, &form, &query)
                .map_err(|err| err.to_string())?;
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
}
