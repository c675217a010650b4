//! Timers in storage: two key families kept in step inside the committer's batches.
//!
//! - `t{due}{id}` → owner key: the queue, in due order; the scheduler reads only its head, and
//!   listings filter on the owner key (space, workflow) without decoding timers;
//! - `w{space}\0{record}{workflow}\0{spec}` → `{due}{id}` ++ timer: the owner index and the
//!   timer itself, so a record's timers are found and replaced without a scan, with at most one
//!   pending timer per owner.
//!
//! Two small keys per timer rather than three: with sled 0.34, memory and the log grow with
//! the number of keys written in random order, and due instants come in random order.
//!
//! Timer changes (`TimerOp`) go through the committer like record writes, so they are atomic
//! with the record writes, events, runs and cursor of the same commit, and ops of one batch see
//! each other (an overlay of the keys already changed in the batch).

use std::collections::BTreeMap;

use chrono::DateTime;
use forms::{FormName, SpaceName, WorkflowName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::engines::Tree;
use super::{corrupt, keys};
use crate::model::{Event, Timer, TimerKind};
use crate::store::{StoreError, TimerOp};

type KeyValue = (Vec<u8>, Vec<u8>);

/// The length of a timer position (due ++ id) at the front of an owner entry.
pub(super) const POSITION: usize = 24;

/// What an owner entry holds of a timer besides its position: everything the owner key and
/// the position don't say, under short names (a million timers are a million of these).
#[derive(Serialize, Deserialize)]
struct StoredTimer {
    #[serde(rename = "k")]
    kind: TimerKind,
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    workflow_version: Option<u32>,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    form: Option<FormName>,
    #[serde(rename = "z")]
    timezone: String,
    /// Microseconds since the epoch.
    #[serde(rename = "c")]
    created_at: i64,
}

fn encode_owner_entry(position: &[u8], timer: &Timer) -> Result<Vec<u8>, StoreError> {
    let stored = StoredTimer {
        kind: timer.kind,
        workflow_version: timer.workflow_version,
        form: timer.form.clone(),
        timezone: timer.timezone.clone(),
        created_at: timer.created_at.timestamp_micros(),
    };
    let mut value = position.to_vec();
    serde_json::to_writer(&mut value, &stored).map_err(StoreError::encoding)?;
    Ok(value)
}

/// The timer of an owner entry: its owner key, position and stored remainder.
pub(super) fn decode_owner_entry(owner: &[u8], value: &[u8]) -> Result<Timer, StoreError> {
    let bad = |reason: &str| corrupt(owner, reason);
    let (space, record, workflow, spec) = keys::parse_owner(owner).ok_or_else(|| bad("bad timer owner key"))?;
    let position = value.get(..POSITION).ok_or_else(|| bad("short timer"))?;
    let due = keys::position_due(position).and_then(DateTime::from_timestamp_micros).ok_or_else(|| bad("bad due"))?;
    let id = Uuid::from_slice(&position[8..]).map_err(|_| bad("bad timer id"))?;
    let stored: StoredTimer = super::from_json(&value[POSITION..]).map_err(|err| bad(&err.to_string()))?;
    Ok(Timer {
        id,
        space: SpaceName::parse(space).map_err(|_| bad("bad space"))?,
        kind: stored.kind,
        workflow: match workflow {
            "" => None,
            name => Some(WorkflowName::parse(name).map_err(|_| bad("bad workflow"))?),
        },
        workflow_version: stored.workflow_version,
        form: stored.form,
        record,
        spec: spec.to_owned(),
        due,
        timezone: stored.timezone,
        created_at: DateTime::from_timestamp_micros(stored.created_at).ok_or_else(|| bad("bad created_at"))?,
    })
}

/// Timer keys changed by the batch being built, which the tree doesn't show yet.
pub(super) type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Stages timer ops against the tree plus the overlay; returns the events of fired timers
/// (without sequence numbers).
pub(super) fn stage_ops(
    data: &Tree,
    ops: Vec<TimerOp>,
    overlay: &mut Overlay,
    staged: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> Result<Vec<Event>, StoreError> {
    let mut view = View { data, overlay, staged };
    let mut events = Vec::new();
    for op in ops {
        match op {
            TimerOp::Replace { space, record, workflow, timers } => {
                view.cancel_prefix(&keys::timers_of_owner(&space, &record, &workflow))?;
                for timer in &timers {
                    view.put(timer)?;
                }
            }
            TimerOp::Put(timer) => view.put(&timer)?,
            TimerOp::CancelRecord { space, record } => view.cancel_prefix(&keys::timers_of_record(&space, &record))?,
            TimerOp::CancelWorkflow { space, workflow } => {
                let prefix = keys::timer_owners_of(&space);
                for (owner, value) in view.scan(&prefix)? {
                    if keys::owner_workflow(&owner, prefix.len()) == Some(workflow.as_bytes()) {
                        view.remove_at(&value[..POSITION])?;
                    }
                }
            }
            TimerOp::Fire { timer, event, next } => {
                let position = keys::timer_position(timer.due_micros(), &timer.id);
                if view.get(&keys::timer(&position))?.is_none() {
                    continue;
                }
                view.remove_at(&position)?;
                if let Some(next) = next {
                    view.put(&next)?;
                }
                events.extend(event.map(|event| *event));
            }
        }
    }
    Ok(events)
}

/// The tree as this batch will leave it.
struct View<'a> {
    data: &'a Tree,
    overlay: &'a mut Overlay,
    staged: &'a mut Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl View<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.overlay.get(key) {
            Some(value) => Ok(value.clone()),
            None => Ok(self.data.get(key)?.map(|v| v.to_vec())),
        }
    }

    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.overlay.insert(key.clone(), value.clone());
        self.staged.push((key, value));
    }

    /// Live keys under `prefix`, the overlay applied.
    fn scan(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let mut found: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in self.data.scan_prefix(prefix) {
            let (key, value) = item?;
            found.insert(key.to_vec(), value.to_vec());
        }
        for (key, value) in self.overlay.range(prefix.to_vec()..keys::prefix_end(prefix)) {
            match value {
                Some(value) => found.insert(key.clone(), value.clone()),
                None => found.remove(key),
            };
        }
        Ok(found.into_iter().collect())
    }

    fn put(&mut self, timer: &Timer) -> Result<(), StoreError> {
        let owner = keys::timer_owner(&timer.space, &timer.record, timer.owner_workflow(), &timer.spec);
        if let Some(previous) = self.get(&owner)? {
            self.remove_at(previous.get(..POSITION).ok_or_else(|| corrupt(&owner, "short timer"))?)?;
        }
        let position = keys::timer_position(timer.due_micros(), &timer.id);
        self.set(keys::timer(&position), Some(owner.clone()));
        self.set(owner, Some(encode_owner_entry(&position, timer)?));
        Ok(())
    }

    /// Removes the timer at `position` and its owner entry, if the owner still has this timer.
    fn remove_at(&mut self, position: &[u8]) -> Result<(), StoreError> {
        let key = keys::timer(position);
        let Some(owner) = self.get(&key)? else { return Ok(()) };
        self.set(key, None);
        if self.get(&owner)?.as_deref().and_then(|value| value.get(..POSITION)) == Some(position) {
            self.set(owner, None);
        }
        Ok(())
    }

    fn cancel_prefix(&mut self, owners: &[u8]) -> Result<(), StoreError> {
        for (owner, value) in self.scan(owners)? {
            self.remove_at(value.get(..POSITION).ok_or_else(|| corrupt(&owner, "short timer"))?)?;
        }
        Ok(())
    }
}
