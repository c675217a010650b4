//! The storage boundary: the only module that names sled.
//!
//! Everything durable goes through [`Store`], whose methods speak the engine's own types
//! (spaces, form versions, records, index entries, events, tokens). Keeping this interface
//! narrow is what lets a second backend replace sled later without touching the rest.
//!
//! Guarantees:
//! - a record write (record, its index entries, its event, its history entry) is part of one
//!   atomic sled batch: after a crash it is entirely there or entirely absent;
//! - event sequence numbers are gapless and in commit order (one thread commits);
//! - [`Store::commit`] answers only once the write is flushed to disk.

mod committer;
mod keys;
mod sessions;
mod timers;
mod views;

use std::ops::Bound;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::auth::TokenInfo;
use crate::model::{Event, EventKind, Record, Space, StoredForm};
use crate::outbox::{Endpoint, Hook};
use crate::workflows::{kind_name, Delivery, Run, StoredWorkflow};

pub use self::timers::TimerOp;

/// Failures of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("storage error: {0}")]
    Backend(String),
    /// A stored value could not be decoded (corruption or an incompatible version).
    #[error("corrupt stored value under {key}: {reason}")]
    Corrupt {
        /// Printable key.
        key: String,
        /// Decoder message.
        reason: String,
    },
    /// The record changed since the caller read it (optimistic concurrency).
    #[error("the record is at version {current:?}, not the expected one")]
    VersionConflict {
        /// The version now stored, none if the record is gone.
        current: Option<u64>,
    },
    /// A value that must be unique already exists.
    #[error("already exists")]
    AlreadyExists,
    /// A flush failed, so the write may not survive a crash.
    #[error("the write could not be made durable: {0}")]
    Durability(String),
}

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        Self::Backend(err.to_string())
    }
}

/// Storage settings (`[storage]` in `tend.toml`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// sled's page cache, in MiB. sled 0.34 uses about twice this plus what its log needs, so
    /// it sets most of the memory Tend takes; the operating system's file cache serves reads
    /// past it. 64 keeps a million pending timers under 300 MB (see the timers benchmark).
    pub cache_mb: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { cache_mb: 64 }
    }
}

/// One index entry of a record: field name and encoded value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// Indexed field.
    pub field: String,
    /// Order-preserving encoding of its value (`query::encoding`).
    pub value: Vec<u8>,
}

/// Everything one record write changes, applied atomically by [`Store::commit`].
#[derive(Debug)]
pub struct RecordWrite {
    /// Space of the record.
    pub space: String,
    /// Form of the record.
    pub form: String,
    /// The record's id.
    pub id: Uuid,
    /// The version the caller read; the write fails with `VersionConflict` unless the stored
    /// record is at exactly this version (`None`: the record must not exist yet).
    pub expected_version: Option<u64>,
    /// The record after the write; `None` deletes it.
    pub record: Option<Record>,
    /// Index entries to remove (those of the old data that change).
    pub index_remove: Vec<IndexEntry>,
    /// Index entries to add.
    pub index_add: Vec<IndexEntry>,
    /// The event to append; its `seq` is assigned here.
    pub event: Event,
    /// Timer changes that come with the write (a pipeline SLA; cancelling a deleted record's timers).
    pub timers: Vec<TimerOp>,
}

/// What a workflow run commits besides record writes.
#[derive(Debug, Default)]
pub struct Extras {
    /// Run records, with their space.
    pub runs: Vec<(String, Run)>,
    /// Outbox deliveries.
    pub deliveries: Vec<Delivery>,
    /// A log reader's new position: (reader name, last processed sequence number).
    pub cursor: Option<(&'static str, u64)>,
    /// New round-robin positions: (space, workflow, action index, next position).
    pub assignments: Vec<(String, String, u32, u64)>,
    /// Events that come with no record write (a timer fell due, an inbound hook was posted),
    /// appended after the writes' events; those about a record join its history.
    pub events: Vec<Event>,
    /// Timers scheduled, replaced, cancelled or fired.
    pub timers: Vec<TimerOp>,
}

/// The sled database and its trees.
pub struct Store {
    db: sled::Db,
    defs: sled::Tree,
    /// Records, index entries, events and history, told apart by a leading key byte.
    data: sled::Tree,
    auth: sled::Tree,
    committer: committer::Committer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path, settings: &StorageConfig) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(settings.cache_mb.max(1) * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            // Durability comes from the committer's group commit; sled's own periodic flush is
            // kept because without it sled 0.34 does not trim its in-memory state and memory
            // grows with the data (a million small keys took 1.7 GB instead of 0.4 GB).
            .flush_every_ms(Some(500))
            .open()
            .map_err(|err| StoreError::Backend(format!("opening {}: {err}", dir.display())))?;
        let tree = |name: &str| db.open_tree(name).map_err(StoreError::from);
        let data = tree("data")?;
        let last_seq = match data.scan_prefix(keys::events()).next_back().transpose()? {
            Some((key, _)) => keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad event key"))?,
            None => 0,
        };
        Ok(Store {
            defs: tree("defs")?,
            auth: tree("auth")?,
            committer: committer::Committer::start(db.clone(), data.clone(), last_seq),
            data,
            db,
        })
    }

    /// Applies record writes, and what workflow runs write besides, atomically (all or none),
    /// and returns the writes' events, with sequence numbers, once they are on disk.
    pub async fn commit(&self, writes: Vec<RecordWrite>, extras: Extras) -> Result<Vec<Event>, StoreError> {
        let mut entries = Vec::new();
        for (space, run) in &extras.runs {
            entries.push((keys::run(space, &run.id), Some(encode(run)?)));
        }
        for delivery in &extras.deliveries {
            entries.push((keys::delivery(&delivery.id), Some(encode(delivery)?)));
            if let Some(due) = delivery.next_attempt_at {
                entries.push((keys::due(&delivery.group(), micros(due), &delivery.id), Some(Vec::new())));
            }
        }
        for (space, workflow, action, next) in &extras.assignments {
            entries.push((keys::assignment(space, workflow, *action), Some(next.to_be_bytes().to_vec())));
        }
        if let Some((name, position)) = &extras.cursor {
            entries.push((keys::cursor(name), Some(position.to_be_bytes().to_vec())));
        }
        let (reply, answer) = oneshot::channel();
        let request =
            committer::Request::Write { writes, events: extras.events, timers: extras.timers, entries, reply };
        self.committer.send(request)?;
        answer.await.map_err(|_| StoreError::Durability("the committer stopped".into()))?
    }

    /// Waits until every write made so far (definitions and tokens included) is on disk.
    pub async fn barrier(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.committer.send(committer::Request::Barrier { reply })?;
        answer.await.map_err(|_| StoreError::Durability("the committer stopped".into()))?
    }

    /// Flushes everything now, blocking (for the CLI and shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Finishes queued writes, stops the committer and flushes; the store must not be written
    /// afterwards.
    pub fn close(&self) -> Result<(), StoreError> {
        self.committer.stop();
        self.flush()
    }

    /// Whether the database answers reads.
    pub fn is_healthy(&self) -> bool {
        self.defs.get(keys::spaces()).is_ok()
    }

    // ---- spaces and definitions ----

    /// Stores a new space; `AlreadyExists` if the name is taken. Durable after [`Store::barrier`].
    pub fn insert_space(&self, space: &Space) -> Result<(), StoreError> {
        let value = encode(space)?;
        let previous =
            self.defs.compare_and_swap(keys::space(space.name.as_str()), None as Option<&[u8]>, Some(value))?;
        if previous.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    /// Overwrites a space. Durable after [`Store::barrier`].
    pub fn put_space(&self, space: &Space) -> Result<(), StoreError> {
        self.defs.insert(keys::space(space.name.as_str()), encode(space)?)?;
        Ok(())
    }

    /// A space by name.
    pub fn space(&self, name: &str) -> Result<Option<Space>, StoreError> {
        get(&self.defs, &keys::space(name))
    }

    /// All spaces in name order.
    pub fn spaces(&self) -> Result<Vec<Space>, StoreError> {
        self.defs.scan_prefix(keys::spaces()).map(|item| decode_pair(item?)).collect()
    }

    /// Stores a form version; `AlreadyExists` if that version is taken. Durable after [`Store::barrier`].
    pub fn insert_form_version(&self, space: &str, form: &StoredForm) -> Result<(), StoreError> {
        let key = keys::form_version(space, form.name.as_str(), form.version);
        let previous = self.defs.compare_and_swap(key, None as Option<&[u8]>, Some(encode(form)?))?;
        if previous.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    /// One version of a form, or its latest when `version` is `None`.
    pub fn form_version(
        &self,
        space: &str,
        form: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredForm>, StoreError> {
        let exact = version.map(|version| keys::form_version(space, form, version));
        self.definition_version(exact, keys::form_versions(space, form))
    }

    /// The latest version of every form of a space, in name order.
    pub fn latest_forms(&self, space: &str) -> Result<Vec<StoredForm>, StoreError> {
        self.latest_definitions(keys::forms_of(space), |form: &StoredForm| form.name.clone())
    }

    /// The definition under `exact`, or the last one under `versions` (its latest version).
    fn definition_version<T: DeserializeOwned>(
        &self,
        exact: Option<Vec<u8>>,
        versions: Vec<u8>,
    ) -> Result<Option<T>, StoreError> {
        match exact {
            Some(key) => get(&self.defs, &key),
            None => match self.defs.scan_prefix(versions).next_back() {
                Some(item) => decode_pair(item?).map(Some),
                None => Ok(None),
            },
        }
    }

    /// The latest version of every definition under `prefix`, in name order.
    fn latest_definitions<T: DeserializeOwned, N: PartialEq>(
        &self,
        prefix: Vec<u8>,
        name: impl Fn(&T) -> N,
    ) -> Result<Vec<T>, StoreError> {
        let mut latest: Vec<T> = Vec::new();
        for item in self.defs.scan_prefix(prefix) {
            let definition: T = decode_pair(item?)?;
            match latest.last_mut() {
                // Versions of one definition are adjacent and ascending, so the last one wins.
                Some(last) if name(last) == name(&definition) => *last = definition,
                _ => latest.push(definition),
            }
        }
        Ok(latest)
    }

    // ---- records ----

    /// A record by id.
    pub fn record(&self, space: &str, form: &str, id: &Uuid) -> Result<Option<Record>, StoreError> {
        match self.data.get(keys::record(space, form, id))? {
            Some(bytes) => decode_record(&keys::record(space, form, id), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Records of a form in id order (reverse: newest first), strictly after `after` in that
    /// direction when given.
    pub fn scan_records<'s>(
        &'s self,
        space: &str,
        form: &str,
        after: Option<Uuid>,
        reverse: bool,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + 's {
        let prefix = keys::records_of(space, form);
        let (lower, upper) = match (after, reverse) {
            (Some(id), false) => {
                (Bound::Excluded(keys::record(space, form, &id)), Bound::Excluded(keys::prefix_end(&prefix)))
            }
            (Some(id), true) => (Bound::Included(prefix.clone()), Bound::Excluded(keys::record(space, form, &id))),
            (None, _) => (Bound::Included(prefix.clone()), Bound::Excluded(keys::prefix_end(&prefix))),
        };
        let range = self.data.range::<Vec<u8>, _>((lower, upper));
        let iter: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            if reverse { Box::new(range.rev()) } else { Box::new(range) };
        iter.map(|item| {
            let (key, value) = item?;
            decode_record(&key, &value)
        })
    }

    /// Index entries of one field, as (encoded value, record id), within value bounds given on
    /// encoded values (see `query::IndexScan`), after `resume` (a full `value ++ id` position,
    /// exclusive, in the scan direction) when given.
    pub fn scan_index<'s>(
        &'s self,
        space: &str,
        form: &str,
        field: &str,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        resume: Option<(&[u8], &Uuid)>,
        reverse: bool,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Uuid), StoreError>> + 's {
        let prefix_len = keys::index_of(space, form, field).len();
        self.index_keys(space, form, field, range, resume, reverse).map(move |item| {
            let key = item?;
            let id = keys::trailing_id(&key).ok_or_else(|| corrupt(&key, "index key without id"))?;
            let value = key.get(prefix_len..key.len() - 16).ok_or_else(|| corrupt(&key, "short index key"))?;
            Ok((value.to_vec(), id))
        })
    }

    /// Counts index entries in a value range, stopping at `cap` (a cheap selectivity estimate:
    /// keys only, nothing decoded).
    pub fn count_index(
        &self,
        space: &str,
        form: &str,
        field: &str,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        cap: usize,
    ) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.index_keys(space, form, field, range, None, false).take(cap) {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// The raw keys of an index range (see [`Store::scan_index`]).
    fn index_keys(
        &self,
        space: &str,
        form: &str,
        field: &str,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        resume: Option<(&[u8], &Uuid)>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Result<sled::IVec, StoreError>>> {
        let prefix = keys::index_of(space, form, field);
        let with_prefix = |value: &[u8]| [prefix.as_slice(), value].concat();
        // Bounds on values become bounds on `prefix ++ value ++ id`: every id of a value sorts
        // after the bare value and before the value followed by 0xFF * 16 (encodings are prefix-free).
        let after_all_ids = |value: &[u8]| [with_prefix(value).as_slice(), &[0xFF; 17]].concat();
        let mut lower = match range.0 {
            Bound::Included(value) => Bound::Included(with_prefix(&value)),
            Bound::Excluded(value) => Bound::Excluded(after_all_ids(&value)),
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let mut upper = match range.1 {
            Bound::Included(value) => Bound::Included(after_all_ids(&value)),
            Bound::Excluded(value) => Bound::Excluded(with_prefix(&value)),
            Bound::Unbounded => Bound::Excluded(keys::prefix_end(&prefix)),
        };
        if let Some((value, id)) = resume {
            let position = [with_prefix(value).as_slice(), id.as_bytes()].concat();
            if reverse {
                if bound_after(&upper, &position) {
                    upper = Bound::Excluded(position);
                }
            } else if bound_before(&lower, &position) {
                lower = Bound::Excluded(position);
            }
        }
        let empty = match (&lower, &upper) {
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l > u,
            _ => false,
        };
        if empty {
            return Box::new(std::iter::empty());
        }
        let range = self.data.range::<Vec<u8>, _>((lower, upper)).keys();
        let keys: Box<dyn Iterator<Item = sled::Result<sled::IVec>>> =
            if reverse { Box::new(range.rev()) } else { Box::new(range) };
        Box::new(keys.map(|key| key.map_err(StoreError::from)))
    }

    /// Replaces every entry of one index with `entries` (used when a form starts indexing a
    /// field). Not atomic with the form change: callers write entries before the definition
    /// that uses them, and clear a field's index before rebuilding it.
    pub fn rebuild_index(
        &self,
        space: &str,
        form: &str,
        field: &str,
        entries: impl Iterator<Item = (Vec<u8>, Uuid)>,
    ) -> Result<(), StoreError> {
        self.drop_index(space, form, field)?;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for (value, id) in entries {
            batch.insert(keys::index_entry(space, form, field, &value, &id), &[]);
            n += 1;
            if n % 10_000 == 0 {
                self.data.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        self.data.apply_batch(batch)?;
        Ok(())
    }

    /// Removes every entry of one index.
    pub fn drop_index(&self, space: &str, form: &str, field: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for item in self.data.scan_prefix(keys::index_of(space, form, field)).keys() {
            batch.remove(item?);
        }
        self.data.apply_batch(batch)?;
        Ok(())
    }

    /// The events of one record, oldest first, after sequence number `after`.
    pub fn record_events(
        &self,
        space: &str,
        form: &str,
        id: &Uuid,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let prefix = keys::history_of(space, form, id);
        let start = keys::history_entry(space, form, id, after.saturating_add(1));
        let mut events = Vec::new();
        for item in self.data.range(start..keys::prefix_end(&prefix)).keys().take(limit) {
            let key = item?;
            let seq = keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad history key"))?;
            let event =
                get(&self.data, &keys::event(seq))?.ok_or_else(|| corrupt(&key, "history names a missing event"))?;
            events.push(event);
        }
        Ok(events)
    }

    /// One event of the log.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        get(&self.data, &keys::event(seq))
    }

    /// Events after sequence number `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let end = keys::prefix_end(&keys::events());
        self.data
            .range(keys::event(after.saturating_add(1)).to_vec()..end)
            .take(limit)
            .map(|item| decode_pair(item?))
            .collect()
    }

    /// The last assigned event sequence number.
    pub fn last_seq(&self) -> u64 {
        *self.committer.last_seq.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- workflows ----

    /// Stores a workflow version and replaces the previous version's trigger entries
    /// (`retired`) with `triggers`, each (form or hook, event kind, order), atomically. Durable
    /// after [`Store::barrier`].
    pub fn insert_workflow_version(
        &self,
        space: &str,
        workflow: &StoredWorkflow,
        retired: &[(String, String, i64)],
        triggers: &[(String, String, i64)],
    ) -> Result<(), StoreError> {
        let key = keys::workflow_version(space, workflow.name.as_str(), workflow.version);
        if self.defs.contains_key(&key)? {
            return Err(StoreError::AlreadyExists);
        }
        let mut batch = sled::Batch::default();
        for (source, kind, order) in retired {
            batch.remove(keys::trigger(space, source, kind, *order, workflow.name.as_str()));
        }
        for (form, kind, order) in triggers {
            batch.insert(
                keys::trigger(space, form, kind, *order, workflow.name.as_str()),
                &workflow.version.to_be_bytes(),
            );
        }
        batch.insert(key, encode(workflow)?);
        self.defs.apply_batch(batch)?;
        Ok(())
    }

    /// One version of a workflow, or its latest.
    pub fn workflow_version(
        &self,
        space: &str,
        workflow: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredWorkflow>, StoreError> {
        let exact = version.map(|version| keys::workflow_version(space, workflow, version));
        self.definition_version(exact, keys::workflow_versions(space, workflow))
    }

    /// The latest version of every workflow of a space, in name order.
    pub fn latest_workflows(&self, space: &str) -> Result<Vec<StoredWorkflow>, StoreError> {
        self.latest_definitions(keys::workflows_of(space), |workflow: &StoredWorkflow| workflow.name.clone())
    }

    /// The workflows an event of `kind` on `form` triggers, in run order: (name, version).
    pub fn triggered(&self, space: &str, form: &str, kind: EventKind) -> Result<Vec<(String, u32)>, StoreError> {
        let prefix = keys::triggers_of(space, form, &kind_name(kind));
        let mut found = Vec::new();
        for item in self.defs.scan_prefix(&prefix) {
            let (key, value) = item?;
            let name = keys::trigger_workflow(&key, prefix.len()).ok_or_else(|| corrupt(&key, "bad trigger key"))?;
            let version: [u8; 4] = value.as_ref().try_into().map_err(|_| corrupt(&key, "bad trigger version"))?;
            found.push((name.to_owned(), u32::from_be_bytes(version)));
        }
        Ok(found)
    }

    /// Where the log reader `name` stands (0: nothing processed).
    pub fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        match self.data.get(keys::cursor(name))? {
            Some(bytes) => {
                let bytes: [u8; 8] =
                    bytes.as_ref().try_into().map_err(|_| corrupt(&keys::cursor(name), "bad cursor"))?;
                Ok(u64::from_be_bytes(bytes))
            }
            None => Ok(0),
        }
    }

    /// The next round-robin position of an `assign` action.
    pub fn assignment_position(&self, space: &str, workflow: &str, action: u32) -> Result<u64, StoreError> {
        let key = keys::assignment(space, workflow, action);
        match self.data.get(&key)? {
            Some(bytes) => {
                Ok(u64::from_be_bytes(bytes.as_ref().try_into().map_err(|_| corrupt(&key, "bad position"))?))
            }
            None => Ok(0),
        }
    }

    /// A run by id.
    pub fn run(&self, space: &str, id: &Uuid) -> Result<Option<Run>, StoreError> {
        get(&self.data, &keys::run(space, id))
    }

    /// Runs of a space, newest first, older than `before` when given.
    pub fn runs<'s>(&'s self, space: &str, before: Option<Uuid>) -> impl Iterator<Item = Result<Run, StoreError>> + 's {
        let prefix = keys::runs_of(space);
        let upper = match before {
            Some(id) => keys::run(space, &id),
            None => keys::prefix_end(&prefix),
        };
        self.data.range(prefix..upper).rev().map(|item| decode_pair(item?))
    }

    /// Deletes a space's runs that started before `cutoff`. Run ids are UUIDv7, so the oldest
    /// come first and the walk stops at the first run to keep.
    pub fn prune_runs(&self, space: &str, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut pruned = 0;
        for item in self.data.scan_prefix(keys::runs_of(space)) {
            let (key, value) = item?;
            let run: Run = serde_json::from_slice(&value).map_err(|err| corrupt(&key, &err.to_string()))?;
            if run.started_at >= cutoff {
                break;
            }
            batch.remove(key);
            pruned += 1;
        }
        self.data.apply_batch(batch)?;
        Ok(pruned)
    }

    /// The outbox, oldest first.
    pub fn deliveries(&self) -> impl Iterator<Item = Result<Delivery, StoreError>> + '_ {
        self.data.scan_prefix(keys::delivery_prefix()).map(|item| decode_pair(item?))
    }

    /// One delivery.
    pub fn delivery(&self, id: &Uuid) -> Result<Option<Delivery>, StoreError> {
        get(&self.data, &keys::delivery(id))
    }

    /// The outbox, newest first, older than `before` when given.
    pub fn deliveries_newest_first(
        &self,
        before: Option<Uuid>,
    ) -> impl Iterator<Item = Result<Delivery, StoreError>> + '_ {
        let prefix = keys::delivery_prefix().to_vec();
        let upper = match before {
            Some(id) => keys::delivery(&id),
            None => keys::prefix_end(&prefix),
        };
        self.data.range(prefix..upper).rev().map(|item| decode_pair(item?))
    }

    /// The concurrency groups that have deliveries to send (now or later), in name order.
    /// One seek per group: the walk jumps over each group's entries.
    pub fn due_groups(&self) -> Result<Vec<String>, StoreError> {
        let mut groups = Vec::new();
        let mut from = keys::due_prefix().to_vec();
        let end = keys::prefix_end(&keys::due_prefix());
        while let Some(item) = self.data.range(from..end.clone()).keys().next() {
            let key = item?;
            let (group, _, _) = keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?;
            from = keys::prefix_end(&keys::due_of(group));
            groups.push(group.to_owned());
        }
        Ok(groups)
    }

    /// A group's deliveries due at or before `until`, in due order: (due, id); at most `limit`.
    pub fn due_in_group(
        &self,
        group: &str,
        until: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, Uuid)>, StoreError> {
        let start = keys::due_of(group);
        let end = keys::due(group, micros(until).saturating_add(1), &Uuid::nil());
        let mut due = Vec::new();
        for key in self.data.range(start..end).keys().take(limit) {
            let key = key?;
            let (_, at, id) = keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?;
            due.push((from_micros(at), id));
        }
        Ok(due)
    }

    /// When a group's first delivery due after `after` is due.
    pub fn next_due_in_group(
        &self,
        group: &str,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let start = keys::due(group, micros(after).saturating_add(1), &Uuid::nil());
        let end = keys::prefix_end(&keys::due_of(group));
        match self.data.range(start..end).keys().next().transpose()? {
            Some(key) => Ok(Some(from_micros(keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?.1))),
            None => Ok(None),
        }
    }

    /// Stores new states of deliveries (attempt recorded, rescheduled, delivered, dead) with
    /// their due entries moved, atomically and durably. `previous_due` is each delivery's
    /// due time as stored before this change.
    pub async fn update_deliveries(
        &self,
        updates: Vec<(Delivery, Option<chrono::DateTime<chrono::Utc>>)>,
    ) -> Result<(), StoreError> {
        let mut entries = Vec::with_capacity(updates.len() * 3);
        for (delivery, previous_due) in &updates {
            let group = delivery.group();
            if let Some(previous) = previous_due {
                entries.push((keys::due(&group, micros(*previous), &delivery.id), None));
            }
            entries.push((keys::delivery(&delivery.id), Some(encode(delivery)?)));
            if let Some(due) = delivery.next_attempt_at {
                entries.push((keys::due(&group, micros(due), &delivery.id), Some(Vec::new())));
            }
        }
        let (reply, answer) = oneshot::channel();
        self.committer.send(committer::Request::Write {
            writes: Vec::new(),
            events: Vec::new(),
            timers: Vec::new(),
            entries,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Durability("the committer stopped".into()))??;
        Ok(())
    }

    // ---- integrations ----

    /// Stores an outgoing webhook endpoint (replacing one of that name). Durable after
    /// [`Store::barrier`].
    pub fn put_endpoint(&self, space: &str, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.defs.insert(keys::endpoint(space, endpoint.name.as_str()), encode(endpoint)?)?;
        Ok(())
    }

    /// An outgoing webhook endpoint by name.
    pub fn endpoint(&self, space: &str, name: &str) -> Result<Option<Endpoint>, StoreError> {
        get(&self.defs, &keys::endpoint(space, name))
    }

    /// Every outgoing webhook endpoint of a space, in name order.
    pub fn endpoints(&self, space: &str) -> Result<Vec<Endpoint>, StoreError> {
        self.defs.scan_prefix(keys::endpoints_of(space)).map(|item| decode_pair(item?)).collect()
    }

    /// Stores an inbound hook (replacing one of that name). Durable after [`Store::barrier`].
    pub fn put_hook(&self, space: &str, hook: &Hook) -> Result<(), StoreError> {
        self.defs.insert(keys::hook(space, hook.name.as_str()), encode(hook)?)?;
        Ok(())
    }

    /// An inbound hook by name.
    pub fn hook(&self, space: &str, name: &str) -> Result<Option<Hook>, StoreError> {
        get(&self.defs, &keys::hook(space, name))
    }

    /// Every inbound hook of a space, in name order.
    pub fn hooks(&self, space: &str) -> Result<Vec<Hook>, StoreError> {
        self.defs.scan_prefix(keys::hooks_of(space)).map(|item| decode_pair(item?)).collect()
    }

    // ---- auth ----

    /// Stores a token by the hash of its secret. Durable after [`Store::barrier`].
    pub fn insert_token(&self, hash_hex: &str, info: &TokenInfo) -> Result<(), StoreError> {
        self.auth.insert(keys::token(hash_hex), encode(info)?)?;
        Ok(())
    }

    /// The token whose secret hashes to `hash_hex`.
    pub fn token(&self, hash_hex: &str) -> Result<Option<TokenInfo>, StoreError> {
        get(&self.auth, &keys::token(hash_hex))
    }

    /// Whether any token exists.
    pub fn has_tokens(&self) -> Result<bool, StoreError> {
        Ok(self.auth.scan_prefix(keys::tokens()).next().transpose()?.is_some())
    }
}

fn bound_before(bound: &Bound<Vec<u8>>, position: &[u8]) -> bool {
    match bound {
        Bound::Included(key) | Bound::Excluded(key) => key.as_slice() <= position,
        Bound::Unbounded => true,
    }
}

fn bound_after(bound: &Bound<Vec<u8>>, position: &[u8]) -> bool {
    match bound {
        Bound::Included(key) | Bound::Excluded(key) => key.as_slice() >= position,
        Bound::Unbounded => true,
    }
}

/// Microseconds since the epoch, for time-ordered keys (instants before 1970 sort first).
fn micros(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp_micros()).unwrap_or(0)
}

fn from_micros(micros: u64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(i64::try_from(micros).unwrap_or(i64::MAX)).unwrap_or_default()
}

/// Records are stored as `version: u64 BE ++ JSON`, so the optimistic-concurrency check inside
/// the commit transaction reads eight bytes instead of decoding the record.
pub(super) fn encode_record(record: &Record) -> Result<Vec<u8>, StoreError> {
    let mut bytes = record.version.to_be_bytes().to_vec();
    serde_json::to_writer(&mut bytes, record).map_err(|err| StoreError::Backend(format!("encoding: {err}")))?;
    Ok(bytes)
}

pub(super) fn record_version(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let head: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt(key, "short record"))?;
    Ok(u64::from_be_bytes(head))
}

fn decode_record(key: &[u8], bytes: &[u8]) -> Result<Record, StoreError> {
    let json = bytes.get(8..).ok_or_else(|| corrupt(key, "short record"))?;
    serde_json::from_slice(json).map_err(|err| corrupt(key, &err.to_string()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Backend(format!("encoding: {err}")))
}

fn get<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| corrupt(key, &err.to_string())),
        None => Ok(None),
    }
}

fn decode_pair<T: DeserializeOwned>((key, value): (sled::IVec, sled::IVec)) -> Result<T, StoreError> {
    serde_json::from_slice(&value).map_err(|err| corrupt(&key, &err.to_string()))
}

fn corrupt(key: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: reason.to_owned() }
}
