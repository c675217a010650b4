//! Timers in storage: three key families kept in step inside the committer's batches.
//!
//! - `t{due}{id}` → Timer: the queue, in due order; the scheduler reads only its head;
//! - `v{space}\0{workflow}\0{due}{id}`: a workflow's timers, in due order (listing, and
//!   cancelling them all when the workflow changes);
//! - `w{space}\0{record}{workflow}\0{spec}` → `{due}{id}`: the owner index, so a record's timers
//!   can be found and replaced, with at most one pending timer per owner.
//!
//! Timer changes ([`TimerOp`]) go through the committer like record writes, so they are atomic
//! with the record writes, events, runs and cursor of the same commit, and ops of one batch see
//! each other (an overlay of the keys already changed in the batch).

use std::collections::BTreeMap;

use uuid::Uuid;

use super::{corrupt, decode_pair, encode, keys, Store, StoreError};
use crate::model::Event;
use crate::timers::Timer;

/// A change to the pending timers.
#[derive(Debug, Clone)]
pub enum TimerOp {
    /// Replaces every pending timer of (space, record, workflow) with `timers` (`workflow` ""
    /// for pipeline SLAs; each timer's owner must match).
    Replace {
        /// The space.
        space: String,
        /// The record (nil for cron).
        record: Uuid,
        /// The workflow, or "".
        workflow: String,
        /// The new timers.
        timers: Vec<Timer>,
    },
    /// Cancels every pending timer of a record (it was deleted).
    CancelRecord {
        /// The space.
        space: String,
        /// The record.
        record: Uuid,
    },
    /// Cancels every pending timer of a workflow (it changed or was disabled).
    CancelWorkflow {
        /// The space.
        space: String,
        /// The workflow.
        workflow: String,
    },
    /// Fires a timer: if it is still pending, removes it, appends `event` (if any) and
    /// schedules `next` (a cron schedule's next occurrence); if it is gone (replaced or
    /// cancelled since it was read), does nothing.
    Fire {
        /// The timer as read.
        timer: Timer,
        /// The event it raises; none to drop it silently (its record is gone).
        event: Option<Box<Event>>,
        /// The next occurrence.
        next: Option<Box<Timer>>,
    },
}

type KeyValue = (Vec<u8>, Vec<u8>);

/// Timer keys changed by the batch being built, which the tree doesn't show yet.
pub(super) type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Stages timer ops against the tree plus the overlay; returns the events of fired timers
/// (without sequence numbers).
pub(super) fn stage_ops(
    data: &sled::Tree,
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
            TimerOp::CancelRecord { space, record } => view.cancel_prefix(&keys::timers_of_record(&space, &record))?,
            TimerOp::CancelWorkflow { space, workflow } => {
                let prefix = keys::timers_of_workflow(&space, &workflow);
                for (key, _) in view.scan(&prefix)? {
                    view.remove_at(&key[prefix.len()..])?;
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
    data: &'a sled::Tree,
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
        let owner = keys::timer_owner(timer.space.as_str(), &timer.record, timer.owner_workflow(), &timer.spec);
        if let Some(previous) = self.get(&owner)? {
            self.remove_at(&previous)?;
        }
        let position = keys::timer_position(timer.due_micros(), &timer.id);
        self.set(keys::timer(&position), Some(encode(timer)?));
        self.set(keys::timer_of_workflow(timer.space.as_str(), timer.owner_workflow(), &position), Some(Vec::new()));
        self.set(owner, Some(position.to_vec()));
        Ok(())
    }

    /// Removes the timer at `position` and its index entries; its owner entry only if it still
    /// points at this timer.
    fn remove_at(&mut self, position: &[u8]) -> Result<(), StoreError> {
        let key = keys::timer(position);
        let Some(bytes) = self.get(&key)? else { return Ok(()) };
        let timer: Timer = serde_json::from_slice(&bytes).map_err(|err| corrupt(&key, &err.to_string()))?;
        self.set(key, None);
        self.set(keys::timer_of_workflow(timer.space.as_str(), timer.owner_workflow(), position), None);
        let owner = keys::timer_owner(timer.space.as_str(), &timer.record, timer.owner_workflow(), &timer.spec);
        if self.get(&owner)?.as_deref() == Some(position) {
            self.set(owner, None);
        }
        Ok(())
    }

    fn cancel_prefix(&mut self, owners: &[u8]) -> Result<(), StoreError> {
        for (_, position) in self.scan(owners)? {
            self.remove_at(&position)?;
        }
        Ok(())
    }
}

impl Store {
    /// The due instant (microseconds) of the first pending timer.
    pub fn first_due(&self) -> Result<Option<i64>, StoreError> {
        match self.data.scan_prefix(keys::timers()).keys().next() {
            Some(key) => {
                let key = key?;
                Ok(Some(keys::position_due(&key[1..]).ok_or_else(|| corrupt(&key, "bad timer key"))?))
            }
            None => Ok(None),
        }
    }

    /// Pending timers due at or before `until` (microseconds), oldest first, at most `limit`.
    pub fn due_timers(&self, until: i64, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let end = keys::timer(&keys::timer_position(until, &Uuid::max()));
        let mut timers = Vec::new();
        for item in self.data.range(keys::timers().to_vec()..=end).take(limit) {
            timers.push(decode_pair(item?)?);
        }
        Ok(timers)
    }

    /// Pending timers in due order after `after` (a position), optionally only one
    /// workflow's, while `keep` says so; at most `limit`.
    pub fn timers_in_due_order(
        &self,
        space: &str,
        workflow: Option<&str>,
        after: Option<&[u8]>,
        limit: usize,
        mut keep: impl FnMut(&Timer) -> bool,
    ) -> Result<Vec<(Vec<u8>, Timer)>, StoreError> {
        let mut found = Vec::new();
        match workflow {
            Some(workflow) => {
                let prefix = keys::timers_of_workflow(space, workflow);
                let start = match after {
                    Some(position) => [keys::timer_of_workflow(space, workflow, position), vec![0]].concat(),
                    None => prefix.clone(),
                };
                for item in self.data.range(start..keys::prefix_end(&prefix)).keys() {
                    let key = item?;
                    let position = key[prefix.len()..].to_vec();
                    let Some(bytes) = self.data.get(keys::timer(&position))? else { continue };
                    let timer: Timer = serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, &e.to_string()))?;
                    if !keep(&timer) {
                        break;
                    }
                    found.push((position, timer));
                    if found.len() == limit {
                        break;
                    }
                }
            }
            None => {
                let start = match after {
                    Some(position) => [keys::timer(position), vec![0]].concat(),
                    None => keys::timers().to_vec(),
                };
                for item in self.data.range(start..keys::prefix_end(&keys::timers())) {
                    let (key, value) = item?;
                    let timer: Timer = serde_json::from_slice(&value).map_err(|e| corrupt(&key, &e.to_string()))?;
                    if timer.space.as_str() != space {
                        continue;
                    }
                    if !keep(&timer) {
                        break;
                    }
                    found.push((key[1..].to_vec(), timer));
                    if found.len() == limit {
                        break;
                    }
                }
            }
        }
        Ok(found)
    }

    /// The pending timers of one record, in due order.
    pub fn timers_of_record(&self, space: &str, record: &Uuid) -> Result<Vec<(Vec<u8>, Timer)>, StoreError> {
        let mut found = Vec::new();
        for item in self.data.scan_prefix(keys::timers_of_record(space, record)).values() {
            let position = item?.to_vec();
            let key = keys::timer(&position);
            if let Some(bytes) = self.data.get(&key)? {
                found.push((position, serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, &e.to_string()))?));
            }
        }
        found.sort_by(|a: &(Vec<u8>, Timer), b| a.0.cmp(&b.0));
        Ok(found)
    }

    /// How many timers are pending (a full count: for tests, benchmarks and the CLI).
    pub fn count_timers(&self) -> usize {
        self.data.scan_prefix(keys::timers()).keys().count()
    }
}
