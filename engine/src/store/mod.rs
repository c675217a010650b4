//! The storage boundary: what the engine needs from a database, as a trait.
//!
//! [`Store`] speaks the engine's own types (spaces, form and workflow versions, records, index
//! entries, events, runs, deliveries, timers, tokens), never a backend's. The one backend today
//! is [`kv_backend::KvStore`] (over fjall or sled), the only code that names a storage engine; a second backend implements
//! the same trait and passes the same conformance suite
//! (`conformance`, run against every backend).
//!
//! Guarantees every backend gives:
//! - one [`Store::commit`] (records, index entries, events, history, runs, deliveries,
//!   cursors, timers) is atomic: after a crash it is entirely there or entirely absent;
//! - event sequence numbers are gapless, start at 1 and follow commit order;
//! - [`Store::commit`] and [`Store::barrier`] answer only once what they cover is on disk;
//! - a record write whose expected version is not the stored one fails with
//!   [`StoreError::VersionConflict`] and changes nothing.

#[cfg(test)]
mod conformance;
mod kv_backend;

use std::future::Future;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use forms::{DashboardName, EndpointName, FormName, HookName, SpaceName, ViewName, WorkflowName};
use uuid::Uuid;

use crate::model::{
    AuditEntry, Delivery, Endpoint, Event, EventKind, Hook, Membership, Record, Run, Session, SignInLink, Space,
    StoredDashboard, StoredForm, StoredView, StoredWorkflow, Timer, TimerPosition, TokenInfo, User,
};

/// The backend the engine runs on.
pub(crate) type Backend = kv_backend::KvStore;

/// The file a process holding the database in `dir` keeps locked, if `dir` holds one: for
/// tools that must tell a stopped data dir from a running one, or from no data dir at all.
pub fn database_lock_file(dir: &Path) -> Option<PathBuf> {
    kv_backend::lock_file(dir)
}

/// The environment variable that names a crash point, for crash tests that must stop the
/// process at a known place rather than wherever a SIGKILL lands. `outbox-applied`: the first
/// batch that writes an outbox row is applied, the process lives on for 1.5 s (longer than the
/// delivery worker sleeps: time for anything that reads applied but unflushed state to act on
/// it), then aborts before the flush; the backend's own periodic flush is off while a crash
/// point is set.
pub const CRASH_POINT_VAR: &str = "TEND_TEST_CRASH_POINT";

/// A boxed iterator over stored items, borrowing the store.
pub(crate) type Items<'s, T> = Box<dyn Iterator<Item = Result<T, StoreError>> + 's>;

/// What a snapshot calls with each stored entry: (part, key, value).
pub(crate) type SnapshotVisitor<'a> = dyn FnMut(&str, &[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// One entry of a snapshot: (part, key, value).
pub(crate) type SnapshotEntry = (String, Vec<u8>, Vec<u8>);

/// A range of encoded index values (see `query::IndexScan`).
pub(crate) type ValueRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The error a backend failed with, kept whole as the source of a [`StoreError`]. Shared, so
/// that one failed flush can answer every writer of its batch.
pub type BackendError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Failures of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database (a second server on the same data dir).
    #[error("the database in {} is in use by another process", path.display())]
    InUse {
        /// The data dir.
        path: PathBuf,
    },
    /// The database could not be opened (or its directory created).
    #[error("opening the database in {}: {source}", path.display())]
    Open {
        /// The data dir.
        path: PathBuf,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// The database's files are damaged: they can't be read back as a database.
    #[error(
        "the database in {} is damaged ({reason}); restore the data dir from a backup copy, or move it aside to start with an empty one",
        path.display()
    )]
    Damaged {
        /// The data dir.
        path: PathBuf,
        /// What the backend found.
        reason: String,
    },
    /// The database could not be read or written.
    #[error("storage error: {0}")]
    Backend(#[source] BackendError),
    /// Part of the database's files could not be read back (the engine found a block it
    /// can't decompress or whose checksum is wrong): damage the open did not see, since a
    /// storage engine reads its data blocks only when a read needs them.
    #[error(
        "part of the stored data can't be read back, its files are damaged ({0}); restore the data dir from a backup copy"
    )]
    Unreadable(#[source] BackendError),
    /// A value could not be encoded for storage.
    #[error("encoding a stored value: {0}")]
    Encoding(#[source] Arc<serde_json::Error>),
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
    Durability(#[source] BackendError),
    /// The data dir was written by a newer Tend, in a storage format this one doesn't know.
    #[error("the data dir is in storage format {found}; this Tend reads formats up to {supported}")]
    UnsupportedFormat {
        /// The data dir's format.
        found: u32,
        /// The newest format this build reads.
        supported: u32,
    },
    /// The store was closed (or its writer stopped) before the write was made durable.
    #[error("the write could not be made durable: the store is closed")]
    Closed,
}

impl StoreError {
    /// A backend failure from any error type.
    pub(crate) fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Arc::new(err))
    }

    /// A value that could not be encoded.
    pub(crate) fn encoding(err: serde_json::Error) -> Self {
        Self::Encoding(Arc::new(err))
    }
}

/// Storage settings (`[storage]` in `tend.toml`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The engine's cache, in MiB: fjall's block cache, or sled's page cache. sled 0.34 uses
    /// about twice this plus what its log needs, so on sled it sets most of the memory Tend
    /// takes; the operating system's file cache serves reads past it.
    pub cache_mb: u64,
    /// The key-value engine a new data dir is created with. A data dir keeps the engine it
    /// was created with (a backup restored into a new data dir moves it to this one).
    pub engine: StorageEngine,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { cache_mb: 64, engine: StorageEngine::default() }
    }
}

/// The ordered key-value engine under the store (`[storage] engine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageEngine {
    /// sled 0.34, a copy-on-write B-tree: the engine of data dirs made before fjall.
    Sled,
    /// fjall, a log-structured merge tree: several times sled's write throughput and a
    /// fraction of its disk use (see ARCHITECTURE.md).
    #[default]
    Fjall,
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
    pub space: SpaceName,
    /// Form of the record.
    pub form: FormName,
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
    /// The event to append; its `seq` is assigned here. As the model says, its `after` is the
    /// data of `record` and its `before` the data of the record it replaces (at
    /// `expected_version`): a backend may store them as references to the records rather than
    /// as copies (the sled backend does), and reads them back the same.
    pub event: Event,
    /// Timer changes that come with the write (a pipeline SLA; cancelling a deleted record's timers).
    pub timers: Vec<TimerOp>,
}

/// A record write a commit made durable, as a [`WriteObserver`] sees it.
#[derive(Debug)]
pub(crate) struct AppliedWrite {
    /// Space of the record.
    pub space: SpaceName,
    /// Form of the record.
    pub form: FormName,
    /// The record's id.
    pub id: Uuid,
    /// The record after the write; `None`: it was deleted.
    pub record: Option<Record>,
}

/// What is told about every record write a commit makes durable: in-memory views derived from
/// the records (the aggregate columns) keep up through it.
pub(crate) trait WriteObserver: Send + Sync + 'static {
    /// The record writes of one commit (every batch of the backend, in commit order), called
    /// once they are durable and before any of their writers is answered. Writes that failed a
    /// version check are not among them.
    fn applied(&self, writes: Vec<AppliedWrite>);

    /// The backend lost writes it had applied but not made durable (a failed flush made it
    /// reopen the database): anything derived from reads made until now may hold them.
    fn reset(&self);
}

/// A message id an inbound hook has taken: a second post with it is a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InboundReceipt {
    /// The hook's space.
    pub space: SpaceName,
    /// The hook.
    pub hook: String,
    /// The sender's id of the message (`webhook-id`).
    pub message_id: String,
}

/// What a workflow run commits besides record writes.
#[derive(Debug, Default)]
pub struct Extras {
    /// Run records, with their space.
    pub runs: Vec<(SpaceName, Run)>,
    /// Outbox deliveries.
    pub deliveries: Vec<Delivery>,
    /// A log reader's new position: (reader name, last processed sequence number).
    pub cursor: Option<(std::borrow::Cow<'static, str>, u64)>,
    /// New round-robin positions: (space, workflow, action index, next position).
    pub assignments: Vec<(SpaceName, String, u32, u64)>,
    /// Events that come with no record write (a timer fell due, an inbound hook was posted),
    /// appended after the writes' events; those about a record join its history.
    pub events: Vec<Event>,
    /// Timers scheduled, replaced, cancelled or fired.
    pub timers: Vec<TimerOp>,
    /// Inbound message ids taken (with when they were received) or forgotten (`None`).
    pub inbound_receipts: Vec<(InboundReceipt, Option<DateTime<Utc>>)>,
    /// Import journal entries written (or removed, `None`): (import id, chunk, what undoes
    /// the chunk, opaque to the store).
    pub import_journal: Vec<(Uuid, u32, Option<Vec<u8>>)>,
}

/// A change to the pending timers.
#[derive(Debug, Clone)]
pub enum TimerOp {
    /// Replaces every pending timer of (space, record, workflow) with `timers` (`workflow` ""
    /// for pipeline SLAs; each timer's owner must match).
    Replace {
        /// The space.
        space: SpaceName,
        /// The record (nil for cron).
        record: Uuid,
        /// The workflow, or "".
        workflow: String,
        /// The new timers.
        timers: Vec<Timer>,
    },
    /// Schedules one timer, replacing the pending timer of its owner (space, record, workflow,
    /// spec) if there is one.
    Put(Box<Timer>),
    /// Cancels every pending timer of a record (it was deleted).
    CancelRecord {
        /// The space.
        space: SpaceName,
        /// The record.
        record: Uuid,
    },
    /// Cancels every pending timer of a workflow (it changed or was disabled).
    CancelWorkflow {
        /// The space.
        space: SpaceName,
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

/// What the engine needs from a database. Methods that change definitions or tokens are
/// durable after [`Store::barrier`]; everything else changes only through [`Store::commit`]
/// (and [`Store::update_deliveries`]), which answers once durable.
pub(crate) trait Store: Send + Sync + Sized + 'static {
    /// Opens (or creates) the database in `dir`.
    fn open(dir: &Path, settings: &StorageConfig) -> Result<Self, StoreError>;

    /// Applies record writes, and what workflow runs write besides, atomically (all or none),
    /// and returns the events appended (writes' events first, then `extras.events`, then those
    /// of fired timers), with sequence numbers, once they are on disk.
    fn commit(
        &self,
        writes: Vec<RecordWrite>,
        extras: Extras,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// Tells `observer` about every record write committed from now on (replacing an earlier
    /// observer).
    fn observe(&self, observer: Arc<dyn WriteObserver>);

    /// Waits until every write made so far (definitions and tokens included) is on disk.
    fn barrier(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Finishes queued writes and flushes; the store must not be written afterwards.
    fn close(&self) -> Result<(), StoreError>;

    /// Why the database can't serve reads and writes now (a failed flush not yet followed by
    /// a successful one, or reads failing); `None` when it can.
    fn problem(&self) -> Option<String>;

    // ---- backups ----

    /// The storage format this backend writes (the layout of the entries a snapshot yields).
    fn storage_format() -> u32;
    /// Calls `visit(part, key, value)` with every stored entry as it was at one instant, while
    /// writes go on (a part is one of the backend's key spaces, e.g. a sled tree); `visit`'s
    /// error stops the walk and is returned.
    fn snapshot(&self, visit: &mut SnapshotVisitor<'_>) -> Result<(), StoreError>;
    /// Writes the entries of a snapshot into a new database in `dir` (created; it must hold no
    /// database) and flushes it; how many entries were written. `StoreError::Corrupt` for a
    /// part this backend doesn't have.
    fn load_snapshot(
        dir: &Path,
        settings: &StorageConfig,
        entries: &mut dyn Iterator<Item = Result<SnapshotEntry, StoreError>>,
    ) -> Result<u64, StoreError>;

    // ---- spaces and definitions ----

    /// Stores a new space; `AlreadyExists` if the name is taken.
    fn insert_space(&self, space: &Space) -> Result<(), StoreError>;
    /// Overwrites a space.
    fn put_space(&self, space: &Space) -> Result<(), StoreError>;
    /// A space by name.
    fn space(&self, name: &SpaceName) -> Result<Option<Space>, StoreError>;
    /// All spaces in name order.
    fn spaces(&self) -> Result<Vec<Space>, StoreError>;
    /// Stores a form version; `AlreadyExists` if that version is taken.
    fn insert_form_version(&self, space: &SpaceName, form: &StoredForm) -> Result<(), StoreError>;
    /// One version of a form, or its latest when `version` is `None`.
    fn form_version(
        &self,
        space: &SpaceName,
        form: &FormName,
        version: Option<u32>,
    ) -> Result<Option<StoredForm>, StoreError>;
    /// The latest version of every form of a space, in name order.
    fn latest_forms(&self, space: &SpaceName) -> Result<Vec<StoredForm>, StoreError>;
    /// Stores a workflow version and replaces the previous version's trigger entries
    /// (`retired`) with `triggers`, each (form or hook, event kind, order), atomically;
    /// `AlreadyExists` if that version is taken.
    fn insert_workflow_version(
        &self,
        space: &SpaceName,
        workflow: &StoredWorkflow,
        retired: &[(String, EventKind, i64)],
        triggers: &[(String, EventKind, i64)],
    ) -> Result<(), StoreError>;
    /// One version of a workflow, or its latest.
    fn workflow_version(
        &self,
        space: &SpaceName,
        workflow: &WorkflowName,
        version: Option<u32>,
    ) -> Result<Option<StoredWorkflow>, StoreError>;
    /// The latest version of every workflow of a space, in name order.
    fn latest_workflows(&self, space: &SpaceName) -> Result<Vec<StoredWorkflow>, StoreError>;
    /// The workflows an event of `kind` on `source` (a form or a hook) triggers, in run
    /// order (`order`, then name): (name, version).
    fn triggered(
        &self,
        space: &SpaceName,
        source: &str,
        kind: EventKind,
    ) -> Result<Vec<(WorkflowName, u32)>, StoreError>;

    // ---- records, indexes, the event log ----

    /// A record by id.
    fn record(&self, space: &SpaceName, form: &FormName, id: &Uuid) -> Result<Option<Record>, StoreError>;
    /// Records of a form in id order (reverse: newest first), strictly after `after` in that
    /// direction when given.
    fn scan_records<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        after: Option<Uuid>,
        reverse: bool,
    ) -> Items<'s, Record>;
    /// Every record of a form in id order, with only the named top-level data fields in its
    /// `data` (a dotted name keeps its first segment): for readers of many records that look at
    /// few fields (aggregates).
    fn scan_records_with_fields<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        fields: &[String],
    ) -> Items<'s, Record>;
    /// Index entries of one field, as (encoded value, record id), within `range` (bounds on
    /// encoded values), after `resume` (a value and id, exclusive, in the scan direction).
    fn scan_index<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        range: ValueRange,
        resume: Option<(&[u8], &Uuid)>,
        reverse: bool,
    ) -> Items<'s, (Vec<u8>, Uuid)>;
    /// Counts index entries in a value range, stopping at `cap`.
    fn count_index(
        &self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        range: ValueRange,
        cap: usize,
    ) -> Result<usize, StoreError>;
    /// Replaces every entry of one index with `entries` (a form starts indexing a field). Not
    /// atomic with the form change: callers write entries before the definition that uses them.
    fn rebuild_index(
        &self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        entries: &mut dyn Iterator<Item = (Vec<u8>, Uuid)>,
    ) -> Result<(), StoreError>;
    /// Removes every entry of one index.
    fn drop_index(&self, space: &SpaceName, form: &FormName, field: &str) -> Result<(), StoreError>;
    /// The events of one record, oldest first, after sequence number `after`.
    fn record_events(
        &self,
        space: &SpaceName,
        form: &FormName,
        id: &Uuid,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
    /// One event of the log.
    fn event(&self, seq: u64) -> Result<Option<Event>, StoreError>;
    /// Events after sequence number `after`, in order.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError>;
    /// Reads up to `limit` events after `after`, in order, and answers those `wanted` keeps,
    /// with the sequence number of the last event read (`after` if none). `wanted` sees each
    /// event's head alone: no `before`, `after`, cause or payload (a timer's event has its
    /// timer, an inbound one its hook); the kept events are read whole.
    fn events_after_where(
        &self,
        after: u64,
        limit: usize,
        wanted: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<(Vec<Event>, u64), StoreError>;
    /// The sequence number of the last event committed (durable); never waits for a batch
    /// being flushed.
    fn last_seq(&self) -> u64;

    // ---- what runs leave behind ----

    /// Where the log reader `name` stands (0: nothing processed).
    fn cursor(&self, name: &str) -> Result<u64, StoreError>;
    /// The next round-robin position of an `assign` action.
    fn assignment_position(&self, space: &SpaceName, workflow: &str, action: u32) -> Result<u64, StoreError>;
    /// A run by id.
    fn run(&self, space: &SpaceName, id: &Uuid) -> Result<Option<Run>, StoreError>;
    /// Runs of a space, newest first, older than `before` when given.
    fn runs<'s>(&'s self, space: &SpaceName, before: Option<Uuid>) -> Items<'s, Run>;
    /// Deletes a space's runs that started before `cutoff`; how many.
    fn prune_runs(&self, space: &SpaceName, cutoff: DateTime<Utc>) -> Result<usize, StoreError>;

    // ---- the outbox ----

    /// The outbox, oldest first.
    fn deliveries(&self) -> Items<'_, Delivery>;

    /// Every import journal entry, by import id and chunk: (import, chunk, entry).
    fn import_journal(&self) -> Result<Vec<(Uuid, u32, Vec<u8>)>, StoreError>;
    /// One delivery.
    fn delivery(&self, id: &Uuid) -> Result<Option<Delivery>, StoreError>;
    /// A space's outbox, newest first, older than `before` when given (never reads other
    /// spaces' deliveries).
    fn space_deliveries_newest_first(&self, space: &SpaceName, before: Option<Uuid>) -> Items<'_, Delivery>;
    /// The concurrency groups that have deliveries to send (now or later), in name order.
    fn due_groups(&self) -> Result<Vec<String>, StoreError>;
    /// A group's deliveries due at or before `until`, in due order: (due, id); at most `limit`.
    fn due_in_group(
        &self,
        group: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(DateTime<Utc>, Uuid)>, StoreError>;
    /// When a group's first delivery due after `after` is due.
    fn next_due_in_group(&self, group: &str, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Stores new states of deliveries with their due entries moved, atomically and durably.
    /// `previous_due` is each delivery's due time as stored before this change.
    fn update_deliveries(
        &self,
        updates: Vec<(Delivery, Option<DateTime<Utc>>)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // ---- integrations ----

    /// Stores an outgoing webhook endpoint (replacing one of that name).
    fn put_endpoint(&self, space: &SpaceName, endpoint: &Endpoint) -> Result<(), StoreError>;
    /// An outgoing webhook endpoint by name.
    fn endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<Option<Endpoint>, StoreError>;
    /// Every outgoing webhook endpoint of a space, in name order.
    fn endpoints(&self, space: &SpaceName) -> Result<Vec<Endpoint>, StoreError>;
    /// Deletes an outgoing webhook endpoint (nothing if there is none of that name).
    fn remove_endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<(), StoreError>;
    /// Stores an inbound hook (replacing one of that name).
    fn put_hook(&self, space: &SpaceName, hook: &Hook) -> Result<(), StoreError>;
    /// An inbound hook by name.
    fn hook(&self, space: &SpaceName, name: &HookName) -> Result<Option<Hook>, StoreError>;
    /// Every inbound hook of a space, in name order.
    fn hooks(&self, space: &SpaceName) -> Result<Vec<Hook>, StoreError>;
    /// Deletes an inbound hook (nothing if there is none of that name).
    fn remove_hook(&self, space: &SpaceName, name: &HookName) -> Result<(), StoreError>;
    /// When the hook took the message id, if it did.
    fn inbound_receipt(&self, receipt: &InboundReceipt) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Every message id taken before `cutoff`.
    fn inbound_receipts_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<InboundReceipt>, StoreError>;

    // ---- tokens ----

    /// Stores a token by the hash of its secret.
    fn insert_token(&self, hash_hex: &str, info: &TokenInfo) -> Result<(), StoreError>;
    /// The token whose secret hashes to `hash_hex`.
    fn token(&self, hash_hex: &str) -> Result<Option<TokenInfo>, StoreError>;
    /// Every token with the hash of its secret, in hash order.
    fn tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError>;
    /// Removes the token whose secret hashes to `hash_hex`.
    fn remove_token(&self, hash_hex: &str) -> Result<(), StoreError>;
    /// Whether any token exists.
    fn has_tokens(&self) -> Result<bool, StoreError>;

    // ---- browser sessions and sign-in links (keyed by the hash of their secret) ----

    /// Stores a session under the hash of its id.
    fn insert_session(&self, hash_hex: &str, session: &Session) -> Result<(), StoreError>;
    /// The session whose id hashes to `hash_hex`.
    fn session(&self, hash_hex: &str) -> Result<Option<Session>, StoreError>;
    /// Removes a session.
    fn remove_session(&self, hash_hex: &str) -> Result<(), StoreError>;
    /// Every session with the hash of its id.
    fn sessions(&self) -> Result<Vec<(String, Session)>, StoreError>;
    /// Removes every session for which `expired` holds; how many.
    fn remove_sessions_where(&self, expired: &dyn Fn(&Session) -> bool) -> Result<usize, StoreError>;
    /// Stores a sign-in link under the hash of its code.
    fn insert_sign_in_link(&self, hash_hex: &str, link: &SignInLink) -> Result<(), StoreError>;
    /// Removes the link whose code hashes to `hash_hex` and returns it: one atomic step, so two
    /// concurrent uses of the same link can't both get it.
    fn take_sign_in_link(&self, hash_hex: &str) -> Result<Option<SignInLink>, StoreError>;
    /// Removes every sign-in link for which `expired` holds.
    fn remove_sign_in_links_where(&self, expired: &dyn Fn(&SignInLink) -> bool) -> Result<(), StoreError>;

    // ---- people (durable after `barrier`) ----

    /// Stores a new user and claims their email (`email_key`: the lower-cased email);
    /// `AlreadyExists` if the email is taken.
    fn insert_user(&self, email_key: &str, user: &User) -> Result<(), StoreError>;
    /// Overwrites a user (their email stays claimed).
    fn put_user(&self, user: &User) -> Result<(), StoreError>;
    /// A user by id.
    fn user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The id of the user with this (lower-cased) email.
    fn user_id_by_email(&self, email_key: &str) -> Result<Option<String>, StoreError>;
    /// Every user, in id (creation) order.
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Stores (or replaces) a membership of `space`.
    fn put_membership(&self, space: &SpaceName, membership: &Membership) -> Result<(), StoreError>;
    /// Removes a membership; whether there was one.
    fn remove_membership(&self, space: &SpaceName, user_id: &str) -> Result<bool, StoreError>;
    /// One user's membership of a space.
    fn membership(&self, space: &SpaceName, user_id: &str) -> Result<Option<Membership>, StoreError>;
    /// The members of a space, in user id order.
    fn members(&self, space: &SpaceName) -> Result<Vec<Membership>, StoreError>;
    /// Every membership of one user: (space, membership), in space order.
    fn memberships_of(&self, user_id: &str) -> Result<Vec<(String, Membership)>, StoreError>;
    /// Appends an audit entry (keyed by its time-ordered id).
    fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Audit entries newest first, older than `before` when given, those `keep` accepts; at most
    /// `limit`.
    fn audit(
        &self,
        before: Option<uuid::Uuid>,
        limit: usize,
        keep: &dyn Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    // ---- dashboards ----

    /// Stores a dashboard version; `AlreadyExists` if that version is taken.
    fn insert_dashboard_version(&self, space: &SpaceName, dashboard: &StoredDashboard) -> Result<(), StoreError>;
    /// One version of a dashboard, or its latest when `version` is `None`.
    fn dashboard_version(
        &self,
        space: &SpaceName,
        name: &DashboardName,
        version: Option<u32>,
    ) -> Result<Option<StoredDashboard>, StoreError>;
    /// The latest version of every dashboard of a space, in name order.
    fn latest_dashboards(&self, space: &SpaceName) -> Result<Vec<StoredDashboard>, StoreError>;
    /// Removes every version of a dashboard.
    fn remove_dashboard(&self, space: &SpaceName, name: &DashboardName) -> Result<(), StoreError>;

    // ---- saved views ----

    /// Stores a view (replacing one of that name).
    fn put_view(&self, space: &SpaceName, form: &FormName, view: &StoredView) -> Result<(), StoreError>;
    /// A view by name.
    fn view(&self, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<Option<StoredView>, StoreError>;
    /// The views of a form, in name order.
    fn views(&self, space: &SpaceName, form: &FormName) -> Result<Vec<StoredView>, StoreError>;
    /// Removes a view.
    fn remove_view(&self, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<(), StoreError>;

    // ---- timers ----

    /// The due instant (microseconds) of the first pending timer.
    fn first_due(&self) -> Result<Option<i64>, StoreError>;
    /// Pending timers due at or before `until` (microseconds), oldest first, at most `limit`.
    fn due_timers(&self, until: i64, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// A space's pending timers in due order after `after`, optionally only one workflow's,
    /// while `keep` says so; at most `limit`.
    fn timers_in_due_order(
        &self,
        space: &SpaceName,
        workflow: Option<&str>,
        after: Option<TimerPosition>,
        limit: usize,
        keep: &mut dyn FnMut(&Timer) -> bool,
    ) -> Result<Vec<Timer>, StoreError>;
    /// The pending timers of one record, in due order.
    fn timers_of_record(&self, space: &SpaceName, record: &Uuid) -> Result<Vec<Timer>, StoreError>;
    /// How many timers are pending (a full count: for tests, benchmarks and the CLI).
    fn count_timers(&self) -> usize;
}
