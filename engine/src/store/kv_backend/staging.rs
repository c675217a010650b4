//! What write requests put in a batch: the store's own layout of a write. For each request,
//! the record versions are checked (against the tree and against what earlier requests of the
//! same batch wrote), sequence numbers are assigned, and the keys of records, index entries,
//! events, history and timers (through `timers`) are staged; a request that fails a check
//! stages nothing. The committer only queues requests, applies the batch, flushes and answers.

use std::collections::HashMap;

use super::engines::{Batch, IVec, Tree};
use super::{encode_record, events, keys, record_version, timers};
use crate::model::Event;
use crate::store::{AppliedWrite, RecordWrite, StoreError, TimerOp};

/// One write request's parts.
pub(super) struct Staging {
    pub(super) writes: Vec<RecordWrite>,
    /// Events without a record write.
    pub(super) standalone: Vec<Event>,
    pub(super) timers: Vec<TimerOp>,
    /// Other keys written (or removed, for `None`): runs, outbox rows, cursors.
    pub(super) entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A batch being built from the requests the committer took.
pub(super) struct BatchBuilder<'a> {
    data: &'a Tree,
    changes: Batch,
    /// Records written earlier in this batch, which the tree doesn't show yet: (version,
    /// stored value), none for a deletion.
    versions: HashMap<Vec<u8>, Option<(u64, IVec)>>,
    /// Timer keys changed earlier in this batch.
    timers: timers::Overlay,
    /// The last sequence number assigned.
    seq: u64,
    /// The record writes of the requests staged, for the store's observer.
    applied: Vec<AppliedWrite>,
    /// The earliest timer queued by the batch, as a queue floor (`keys::timer_floor`).
    earliest_timer: Option<u64>,
}

/// A batch built: its changes, the last sequence number it assigns, its record writes and the
/// earliest timer it queues.
pub(super) struct Built {
    pub(super) batch: Batch,
    pub(super) seq: u64,
    pub(super) applied: Vec<AppliedWrite>,
    pub(super) earliest_timer: Option<u64>,
}

impl<'a> BatchBuilder<'a> {
    /// An empty batch over `data`, numbering events after `last_seq`.
    pub(super) fn new(data: &'a Tree, last_seq: u64) -> Self {
        Self {
            data,
            changes: Batch::default(),
            versions: HashMap::new(),
            timers: timers::Overlay::new(),
            seq: last_seq,
            applied: Vec::new(),
            earliest_timer: None,
        }
    }

    pub(super) fn finish(self) -> Built {
        Built { batch: self.changes, seq: self.seq, applied: self.applied, earliest_timer: self.earliest_timer }
    }

    /// Checks one request's versions and adds its keys to the batch; a request that fails
    /// adds nothing.
    pub(super) fn stage(&mut self, request: Staging) -> Result<Vec<Event>, StoreError> {
        let Staging { writes, standalone, mut timers, entries } = request;
        let mut staged: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        // Looked up once per write: a map, since one request may hold a whole import's writes.
        let mut staged_versions: HashMap<Vec<u8>, Option<(u64, IVec)>> = HashMap::new();
        let mut events = Vec::with_capacity(writes.len());
        let mut next_seq = self.seq;
        let mut write_timers = Vec::new();
        let mut applied = Vec::with_capacity(writes.len());
        for write in writes {
            let (space, form, id) = (&write.space, &write.form, write.id);
            let record_key = keys::record(space, form, &id);
            let earlier = staged_versions.get(&record_key);
            // The stored record this write replaces: its version is checked, and its value is
            // kept with the event (the record's state before the change; see `events`).
            let current = match earlier.or_else(|| self.versions.get(&record_key)) {
                Some(stored) => stored.clone(),
                None => match self.data.get(&record_key)? {
                    Some(bytes) => Some((record_version(&record_key, &bytes)?, bytes)),
                    None => None,
                },
            };
            let current_version = current.as_ref().map(|(version, _)| *version);
            if current_version != write.expected_version {
                return Err(StoreError::VersionConflict { current: current_version });
            }
            let value = write.record.as_ref().map(encode_record).transpose()?.map(IVec::from);
            staged.push((record_key.clone(), value.as_ref().map(|bytes| bytes.to_vec())));
            for entry in &write.index_remove {
                staged.push((keys::index_entry(space, form, &entry.field, &entry.value, &id), None));
            }
            for entry in &write.index_add {
                staged.push((keys::index_entry(space, form, &entry.field, &entry.value, &id), Some(Vec::new())));
            }
            next_seq += 1;
            let mut event = write.event;
            event.seq = next_seq;
            // An event's `after` is the data of the record its write stores: referenced, not copied.
            let after_is_record = match (&write.record, &event.after) {
                (Some(record), Some(after)) => {
                    debug_assert!(record.version == event.version && &record.data == after);
                    true
                }
                _ => false,
            };
            let replaced = current.as_ref().map(|(_, bytes)| bytes.as_ref());
            let stored = events::encode(&event, after_is_record, replaced)?;
            staged.push((keys::event(event.seq).to_vec(), Some(stored)));
            staged.push((keys::history_entry(&id, event.seq).to_vec(), Some(Vec::new())));
            let version = write.record.as_ref().map_or(0, |record| record.version);
            staged_versions.insert(record_key, value.map(|bytes| (version, bytes)));
            events.push(event);
            write_timers.extend(write.timers);
            applied.push(AppliedWrite { space: write.space, form: write.form, id, record: write.record });
        }
        // Timer ops come last: they can't conflict, so a request that gets here is accepted
        // (only a storage error could still fail it, leaving the timer overlay ahead of the batch).
        write_timers.append(&mut timers);
        let fired = timers::stage_ops(self.data, write_timers, &mut self.timers, &mut staged)?;
        for mut event in standalone.into_iter().chain(fired) {
            next_seq += 1;
            event.seq = next_seq;
            staged.push((keys::event(event.seq).to_vec(), Some(events::encode(&event, false, None)?)));
            if event.form.is_some() && !event.record.is_nil() {
                staged.push((keys::history_entry(&event.record, event.seq).to_vec(), Some(Vec::new())));
            }
            events.push(event);
        }
        // A request's keys join the shared batch only when all its checks passed.
        for (key, value) in staged.into_iter().chain(entries) {
            match value {
                Some(value) => {
                    if let Some(floor) = keys::timer_floor(&key) {
                        self.earliest_timer = Some(self.earliest_timer.map_or(floor, |earliest| earliest.min(floor)));
                    }
                    self.changes.insert(key, value)
                }
                None => self.changes.remove(key),
            }
        }
        self.versions.extend(staged_versions);
        self.applied.append(&mut applied);
        self.seq = next_seq;
        Ok(events)
    }
}
