//! The key-value backend of [`Store`], over fjall (new data dirs) or sled (data dirs made
//! before fjall); `engines` is the only file that calls either engine.
//!
//! Three trees: `defs` (spaces and definitions), `data` (records, index entries, events,
//! history, runs, the outbox, cursors, timers, told apart by a leading key byte, so that one
//! batch on one tree is one atomic commit), `auth` (tokens). The key layout is in `keys`; the
//! committer thread (`committer`) applies every commit and flushes before it answers; timer
//! ops are staged by `timers`.

mod committer;
mod due_floors;
mod engines;
mod events;
mod keys;
mod snapshot;
mod staging;
mod timers;

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use forms::{DashboardName, EndpointName, FormName, HookName, SpaceName, ViewName, WorkflowName};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use uuid::Uuid;

use self::due_floors::DueFloors;
pub(super) use self::engines::lock_file;
use self::engines::{Batch, Db, IVec, OpenError, Tree};
use self::snapshot::Snapshots;
use self::timers::decode_owner_entry;
use super::{
    BackendError, Extras, InboundReceipt, Items, RecordWrite, SnapshotEntry, SnapshotVisitor, StorageConfig, Store,
    StoreError, ValueRange, WriteObserver,
};
use crate::model::{
    AuditEntry, Delivery, Endpoint, Event, EventKind, Hook, Membership, Record, Run, Session, SignInLink, Space,
    StoredDashboard, StoredForm, StoredView, StoredWorkflow, Timer, TimerPosition, TokenInfo, User,
};

/// The database and its trees, shared with the committer, which reopens the database
/// after a failed flush (see [`Shared`]).
pub(crate) struct KvStore {
    shared: Arc<Shared>,
    committer: committer::Committer,
    /// Every write goes through it, so a backup sees the database at one instant.
    snapshots: Arc<Snapshots>,
}

/// Handles on one open database.
#[derive(Clone)]
struct Trees {
    db: Db,
    defs: Tree,
    /// Records, index entries, events and history, told apart by a leading key byte.
    data: Tree,
    auth: Tree,
}

impl Trees {
    fn open(dir: &Path, settings: &StorageConfig) -> Result<Trees, StoreError> {
        // A crash point (crash tests) needs applied writes to stay unflushed until it fires.
        let periodic_flush = std::env::var_os(super::CRASH_POINT_VAR).is_none();
        let db = Db::open(dir, settings, periodic_flush).map_err(|err| open_failed(dir, err))?;
        Ok(Trees { data: open_tree(&db, "data")?, defs: open_tree(&db, "defs")?, auth: open_tree(&db, "auth")?, db })
    }

    /// The last event's sequence number.
    fn last_seq(&self) -> Result<u64, StoreError> {
        match self.data.scan_prefix(keys::events()).next_back().transpose()? {
            Some((key, _)) => keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad event key")),
            None => Ok(0),
        }
    }
}

/// Opens one of the backend's trees: `data` with its key families apart.
fn open_tree(db: &Db, name: &str) -> Result<Tree, StoreError> {
    match name {
        "data" => db.open_tree_with_families(name, &keys::DATA_FAMILIES),
        _ => db.open_tree(name),
    }
}

/// What the store and its committer share: the open database, and whether storage is
/// failing. sled 0.34 keeps an I/O error of its log (a full disk) for good, refusing every
/// later write and some reads, and what it applied before the failed flush stays in its
/// memory though not on disk; so after a failed flush the committer closes the database and
/// opens it again from what is on disk. Readers wait for that (briefly) rather than fail.
struct Shared {
    dir: std::path::PathBuf,
    settings: StorageConfig,
    /// `None` while the committer reopens the database.
    trees: Mutex<Option<Trees>>,
    reopened: Condvar,
    /// Why storage is not writable, from a failed flush until a flush succeeds again.
    problem: Mutex<Option<String>>,
    /// Told about every committed record write (`Store::observe`).
    observer: Mutex<Option<Arc<dyn WriteObserver>>>,
    /// Where the outbox's due entries begin (`due_floors`).
    due_floors: DueFloors,
    /// Where the timer queue begins, under the one group [`TIMER_QUEUE`]: fired timers leave
    /// tombstones at its head just as sent deliveries do.
    timer_floor: DueFloors,
}

/// The timer queue's group in [`Shared::timer_floor`].
const TIMER_QUEUE: &str = "";

/// How long a reader waits for a reopen before it fails.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

impl Shared {
    /// The observer of committed writes, if one is set.
    fn observer(&self) -> Option<Arc<dyn WriteObserver>> {
        lock(&self.observer).clone()
    }

    /// The open database's handles, waiting for a reopen under way.
    fn trees(&self) -> Result<Trees, StoreError> {
        let deadline = Instant::now() + REOPEN_WAIT;
        let mut trees = lock(&self.trees);
        loop {
            if let Some(trees) = trees.as_ref() {
                return Ok(trees.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Durability(Arc::new(std::io::Error::other(
                    "the database is being reopened after a failed write",
                ))));
            }
            trees = self.reopened.wait_timeout(trees, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
    }

    /// Closes the database and opens it again from what is on disk, once nothing else holds
    /// the old one (readers finish with it, or give up waiting). `drop_own` drops the caller's
    /// handles first. Returns the reopened handles.
    fn reopen(&self, drop_own: impl FnOnce()) -> Trees {
        let old = lock(&self.trees).take();
        drop(old);
        drop_own();
        let mut delay = Duration::from_millis(10);
        loop {
            match Trees::open(&self.dir, &self.settings) {
                Ok(trees) => {
                    self.due_floors.forget();
                    self.timer_floor.forget();
                    *lock(&self.trees) = Some(trees.clone());
                    self.reopened.notify_all();
                    tracing::warn!("reopened the database after a failed write");
                    return trees;
                }
                Err(err) => {
                    tracing::debug!(error = %err, "reopening the database");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Why storage is not writable, if it isn't.
    fn problem(&self) -> Option<String> {
        lock(&self.problem).clone()
    }

    fn set_problem(&self, problem: Option<String>) {
        let mut current = lock(&self.problem);
        match (&*current, &problem) {
            (None, Some(problem)) => {
                tracing::error!(%problem, "storage is not writable; writes are refused until it is")
            }
            (Some(_), None) => tracing::info!("storage is writable again"),
            _ => {}
        }
        *current = problem;
    }

    /// The data dir.
    fn dir(&self) -> &Path {
        &self.dir
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore").finish_non_exhaustive()
    }
}

impl KvStore {
    fn data(&self) -> Result<Tree, StoreError> {
        Ok(self.shared.trees()?.data)
    }

    fn defs(&self) -> Result<Tree, StoreError> {
        Ok(self.shared.trees()?.defs)
    }

    fn auth(&self) -> Result<Tree, StoreError> {
        Ok(self.shared.trees()?.auth)
    }

    fn db(&self) -> Result<Db, StoreError> {
        Ok(self.shared.trees()?.db)
    }
}

impl Store for KvStore {
    /// Opens (or creates) the database in `dir`.
    fn open(dir: &Path, settings: &StorageConfig) -> Result<KvStore, StoreError> {
        let open_error = |source: BackendError| StoreError::Open { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(|err| open_error(Arc::new(err)))?;
        if database_in_use(dir) {
            return Err(StoreError::InUse { path: dir.to_owned() });
        }
        // sled 0.34 panics on some damaged files (a log cut short) instead of failing.
        let (trees, last_seq) = catching_panics(dir, || {
            let trees = Trees::open(dir, settings)?;
            migrate(&trees.db, &trees.defs, &trees.data)?;
            let last_seq = trees.last_seq()?;
            Ok((trees, last_seq))
        })?;
        check_closed_at(dir, last_seq)?;
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            settings: settings.clone(),
            trees: Mutex::new(Some(trees.clone())),
            reopened: Condvar::new(),
            problem: Mutex::new(None),
            observer: Mutex::new(None),
            due_floors: DueFloors::default(),
            timer_floor: DueFloors::default(),
        });
        let snapshots = Arc::new(Snapshots::default());
        let committer = committer::Committer::start(Arc::clone(&shared), trees, Arc::clone(&snapshots), last_seq);
        Ok(KvStore { committer, shared, snapshots })
    }

    /// Applies record writes, and what workflow runs write besides, atomically (all or none),
    /// and returns the writes' events, with sequence numbers, once they are on disk.
    async fn commit(&self, writes: Vec<RecordWrite>, extras: Extras) -> Result<Vec<Event>, StoreError> {
        let mut entries = Vec::new();
        for (space, run) in &extras.runs {
            entries.push((keys::run(space, &run.id), Some(encode(run)?)));
        }
        for delivery in &extras.deliveries {
            entries.push((keys::delivery(&delivery.id), Some(encode(delivery)?)));
            entries.push((keys::space_delivery(&delivery.space, &delivery.id), Some(Vec::new())));
            if let Some(due) = delivery.next_attempt_at {
                entries.push((keys::due(&delivery.group(), micros(due), &delivery.id), Some(Vec::new())));
            }
        }
        for (space, workflow, action, next) in &extras.assignments {
            entries.push((keys::assignment(space, workflow, *action), Some(next.to_be_bytes().to_vec())));
        }
        for (receipt, received) in &extras.inbound_receipts {
            let key = keys::inbound_receipt(&receipt.space, &receipt.hook, &receipt.message_id);
            entries.push((key, received.map(|at| micros(at).to_be_bytes().to_vec())));
        }
        if let Some((name, position)) = &extras.cursor {
            entries.push((keys::cursor(name), Some(position.to_be_bytes().to_vec())));
        }
        for (import, chunk, entry) in extras.import_journal {
            entries.push((keys::import_journal(&import, chunk), entry));
        }
        let (reply, answer) = oneshot::channel();
        let request =
            committer::Request::Write { writes, events: extras.events, timers: extras.timers, entries, reply };
        self.committer.send(request)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn observe(&self, observer: Arc<dyn WriteObserver>) {
        *lock(&self.shared.observer) = Some(observer);
    }

    /// Waits until every write made so far (definitions and tokens included) is on disk.
    async fn barrier(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.committer.send(committer::Request::Barrier { reply })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Finishes queued writes, stops the committer, flushes, and writes the engine's memtables
    /// out so that the next open replays nothing; the store must not be written afterwards.
    fn close(&self) -> Result<(), StoreError> {
        self.committer.stop();
        self.flush()?;
        // Durable already: what this saves is the next start's replay of the journal.
        if let Err(err) = self.db().and_then(|db| db.settle(Duration::from_secs(10))) {
            tracing::warn!(error = %err, "writing the memtables out on close; the next start replays the journal");
        }
        let last_seq = self.committer.last_seq.load(std::sync::atomic::Ordering::Acquire);
        engines::private_file(&self.shared.dir.join(CLOSED_AT))
            .and_then(|mut file| std::io::Write::write_all(&mut file, last_seq.to_string().as_bytes()))
            .map_err(|err| StoreError::Durability(Arc::new(err)))
    }

    /// Whether the database answers reads.
    fn problem(&self) -> Option<String> {
        if let Some(problem) = self.shared.problem() {
            return Some(problem);
        }
        match self.defs().and_then(|defs| defs.get(keys::spaces())) {
            Ok(_) => None,
            Err(err) => Some(err.to_string()),
        }
    }

    // ---- backups ----

    fn storage_format() -> u32 {
        FORMAT
    }

    /// The three trees, each walked in key order (then the keys removed since the snapshot's
    /// start that the walk did not meet); see `snapshot` for how the instant is kept.
    fn snapshot(&self, visit: &mut SnapshotVisitor<'_>) -> Result<(), StoreError> {
        let open = self.shared.trees()?;
        let trees = [("defs", &open.defs), ("data", &open.data), ("auth", &open.auth)];
        self.snapshots.read(&trees, visit)
    }

    fn load_snapshot(
        dir: &Path,
        settings: &StorageConfig,
        entries: &mut dyn Iterator<Item = Result<SnapshotEntry, StoreError>>,
    ) -> Result<u64, StoreError> {
        let open_error = |source: BackendError| StoreError::Open { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(|err| open_error(Arc::new(err)))?;
        // No periodic flusher: the load flushes once at its end.
        let db = Db::open(dir, settings, false).map_err(|err| open_failed(dir, err))?;
        let mut batches: Vec<(String, Tree, Batch, usize)> = Vec::new();
        let mut written = 0;
        for entry in entries {
            let (part, key, value) = entry?;
            if !["defs", "data", "auth"].contains(&part.as_str()) {
                return Err(corrupt(part.as_bytes(), "not a tree of this storage backend"));
            }
            let index = match batches.iter().position(|(name, ..)| *name == part) {
                Some(index) => index,
                None => {
                    let tree = open_tree(&db, &part)?;
                    batches.push((part, tree, Batch::default(), 0));
                    batches.len() - 1
                }
            };
            let (_, tree, batch, pending) = &mut batches[index];
            batch.insert(key, value);
            *pending += 1;
            written += 1;
            if *pending == 10_000 {
                tree.apply_batch(std::mem::take(batch))?;
                *pending = 0;
            }
        }
        for (_, tree, batch, _) in batches {
            tree.apply_batch(batch)?;
        }
        db.flush()?;
        drop(db);
        // sled's own threads let go of the database (and its lock) shortly after the last handle
        // is dropped; wait for that, so a server can open the directory at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while database_in_use(dir) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(written)
    }

    // ---- spaces and definitions ----

    /// Stores a new space; `AlreadyExists` if the name is taken. Durable after [`Store::barrier`].
    fn insert_space(&self, space: &Space) -> Result<(), StoreError> {
        let (key, value) = (keys::space(&space.name), encode(space)?);
        let previous = self.put_if_absent(&self.defs()?, key, value)?;
        if previous.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    /// Overwrites a space. Durable after [`Store::barrier`].
    fn put_space(&self, space: &Space) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::space(&space.name), Some(encode(space)?))?;
        Ok(())
    }

    /// A space by name.
    fn space(&self, name: &SpaceName) -> Result<Option<Space>, StoreError> {
        get(&self.defs()?, &keys::space(name))
    }

    /// All spaces in name order.
    fn spaces(&self) -> Result<Vec<Space>, StoreError> {
        self.defs()?.scan_prefix(keys::spaces()).map(|item| decode_pair(item?)).collect()
    }

    /// Stores a form version; `AlreadyExists` if that version is taken. Durable after [`Store::barrier`].
    fn insert_form_version(&self, space: &SpaceName, form: &StoredForm) -> Result<(), StoreError> {
        let key = keys::form_version(space, &form.name, form.version);
        let previous = self.put_if_absent(&self.defs()?, key, encode(form)?)?;
        if previous.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    /// One version of a form, or its latest when `version` is `None`.
    fn form_version(
        &self,
        space: &SpaceName,
        form: &FormName,
        version: Option<u32>,
    ) -> Result<Option<StoredForm>, StoreError> {
        let exact = version.map(|version| keys::form_version(space, form, version));
        self.definition_version(exact, keys::form_versions(space, form))
    }

    /// The latest version of every form of a space, in name order.
    fn latest_forms(&self, space: &SpaceName) -> Result<Vec<StoredForm>, StoreError> {
        self.latest_definitions(keys::forms_of(space), |form: &StoredForm| form.name.clone())
    }

    // ---- records ----

    /// A record by id.
    fn record(&self, space: &SpaceName, form: &FormName, id: &Uuid) -> Result<Option<Record>, StoreError> {
        match self.data()?.get(keys::record(space, form, id))? {
            Some(bytes) => decode_record(&keys::record(space, form, id), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Records of a form in id order (reverse: newest first), strictly after `after` in that
    /// direction when given.
    fn scan_records<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        after: Option<Uuid>,
        reverse: bool,
    ) -> Items<'s, Record> {
        let prefix = keys::records_of(space, form);
        let (lower, upper) = match (after, reverse) {
            (Some(id), false) => {
                (Bound::Excluded(keys::record(space, form, &id)), Bound::Excluded(keys::prefix_end(&prefix)))
            }
            (Some(id), true) => (Bound::Included(prefix.clone()), Bound::Excluded(keys::record(space, form, &id))),
            (None, _) => (Bound::Included(prefix.clone()), Bound::Excluded(keys::prefix_end(&prefix))),
        };
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        let range = data.range::<Vec<u8>, _>((lower, upper));
        let iter: Box<dyn Iterator<Item = Result<(IVec, IVec), StoreError>>> =
            if reverse { Box::new(range.rev()) } else { Box::new(range) };
        Box::new(iter.map(|item| {
            let (key, value) = item?;
            decode_record(&key, &value)
        }))
    }

    fn scan_records_with_fields<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        fields: &[String],
    ) -> Items<'s, Record> {
        let prefix = keys::records_of(space, form);
        let fields = fields.to_vec();
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        Box::new(
            data.range::<Vec<u8>, _>((Bound::Included(prefix.clone()), Bound::Excluded(keys::prefix_end(&prefix))))
                .map(move |item| {
                    let (key, value) = item?;
                    let json = value.get(8..).ok_or_else(|| corrupt(&key, "short record"))?;
                    crate::model::record_with_fields(json, &fields).map_err(|err| corrupt(&key, &err.to_string()))
                }),
        )
    }

    /// Index entries of one field, as (encoded value, record id), within value bounds given on
    /// encoded values (see `query::IndexScan`), after `resume` (a full `value ++ id` position,
    /// exclusive, in the scan direction) when given.
    fn scan_index<'s>(
        &'s self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        range: ValueRange,
        resume: Option<(&[u8], &Uuid)>,
        reverse: bool,
    ) -> Items<'s, (Vec<u8>, Uuid)> {
        let prefix_len = keys::index_of(space, form, field).len();
        Box::new(self.index_keys(space, form, field, range, resume, reverse).map(move |item| {
            let key = item?;
            let id = keys::trailing_id(&key).ok_or_else(|| corrupt(&key, "index key without id"))?;
            let value = key.get(prefix_len..key.len() - 16).ok_or_else(|| corrupt(&key, "short index key"))?;
            Ok((value.to_vec(), id))
        }))
    }

    /// Counts index entries in a value range, stopping at `cap` (a cheap selectivity estimate:
    /// keys only, nothing decoded).
    fn count_index(
        &self,
        space: &SpaceName,
        form: &FormName,
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

    /// Replaces every entry of one index with `entries` (used when a form starts indexing a
    /// field). Not atomic with the form change: callers write entries before the definition
    /// that uses them, and clear a field's index before rebuilding it.
    fn rebuild_index(
        &self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        entries: &mut dyn Iterator<Item = (Vec<u8>, Uuid)>,
    ) -> Result<(), StoreError> {
        self.drop_index(space, form, field)?;
        let mut changes = Batch::default();
        for (value, id) in entries {
            changes.insert(keys::index_entry(space, form, field, &value, &id), Vec::new());
            if changes.len() == 10_000 {
                self.snapshots.apply(&self.data()?, std::mem::take(&mut changes))?;
            }
        }
        self.snapshots.apply(&self.data()?, changes)
    }

    /// Removes every entry of one index.
    fn drop_index(&self, space: &SpaceName, form: &FormName, field: &str) -> Result<(), StoreError> {
        let mut changes = Batch::default();
        for item in self.data()?.scan_prefix(keys::index_of(space, form, field)).keys() {
            changes.remove(item?.to_vec());
        }
        self.snapshots.apply(&self.data()?, changes)
    }

    /// The events of one record, oldest first, after sequence number `after`.
    fn record_events(
        &self,
        space: &SpaceName,
        form: &FormName,
        id: &Uuid,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let prefix = keys::history_of(id);
        let start = keys::history_entry(id, after.saturating_add(1));
        let mut events = Vec::new();
        for item in self.data()?.range(start.to_vec()..keys::prefix_end(&prefix)).keys() {
            if events.len() == limit {
                break;
            }
            let key = item?;
            let seq = keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad history key"))?;
            let event = self.event(seq)?.ok_or_else(|| corrupt(&key, "history names a missing event"))?;
            if event.space == *space && event.form.as_ref() == Some(form) {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// One event of the log.
    fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        let key = keys::event(seq);
        match self.data()?.get(key)? {
            Some(bytes) => self.read_event(&key, seq, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Events after sequence number `after`, in order, up to the last durable one: a batch
    /// applied but not yet flushed may still fail, and nothing may act on its events before.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.events_after_where(after, limit, &mut |_| true).map(|(events, _)| events)
    }

    fn events_after_where(
        &self,
        after: u64,
        limit: usize,
        wanted: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<(Vec<Event>, u64), StoreError> {
        let end = keys::event(self.last_seq().saturating_add(1));
        let mut events = Vec::new();
        let mut through = after;
        for item in self.data()?.range(keys::event(after.saturating_add(1)).to_vec()..end.to_vec()).take(limit) {
            let (key, bytes) = item?;
            let seq = keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad event key"))?;
            if wanted(&events::decode_head(&key, seq, &bytes)?) {
                events.push(self.resolve_event(events::decode(&key, seq, &bytes)?)?);
            }
            through = seq;
        }
        Ok((events, through))
    }

    /// The last event committed, as the committer published it.
    fn last_seq(&self) -> u64 {
        self.committer.last_seq.load(std::sync::atomic::Ordering::Acquire)
    }

    // ---- workflows ----

    /// Stores a workflow version and replaces the previous version's trigger entries
    /// (`retired`) with `triggers`, each (form or hook, event kind, order), atomically. Durable
    /// after [`Store::barrier`].
    fn insert_workflow_version(
        &self,
        space: &SpaceName,
        workflow: &StoredWorkflow,
        retired: &[(String, EventKind, i64)],
        triggers: &[(String, EventKind, i64)],
    ) -> Result<(), StoreError> {
        let key = keys::workflow_version(space, &workflow.name, workflow.version);
        if self.defs()?.contains_key(&key)? {
            return Err(StoreError::AlreadyExists);
        }
        let mut changes = Batch::default();
        for (source, kind, order) in retired {
            changes.remove(keys::trigger(space, source, &kind.name(), *order, &workflow.name));
        }
        for (form, kind, order) in triggers {
            changes.insert(
                keys::trigger(space, form, &kind.name(), *order, &workflow.name),
                workflow.version.to_be_bytes().to_vec(),
            );
        }
        changes.insert(key, encode(workflow)?);
        self.snapshots.apply(&self.defs()?, changes)
    }

    /// One version of a workflow, or its latest.
    fn workflow_version(
        &self,
        space: &SpaceName,
        workflow: &WorkflowName,
        version: Option<u32>,
    ) -> Result<Option<StoredWorkflow>, StoreError> {
        let exact = version.map(|version| keys::workflow_version(space, workflow, version));
        self.definition_version(exact, keys::workflow_versions(space, workflow))
    }

    /// The latest version of every workflow of a space, in name order.
    fn latest_workflows(&self, space: &SpaceName) -> Result<Vec<StoredWorkflow>, StoreError> {
        self.latest_definitions(keys::workflows_of(space), |workflow: &StoredWorkflow| workflow.name.clone())
    }

    /// The workflows an event of `kind` on `form` triggers, in run order: (name, version).
    fn triggered(
        &self,
        space: &SpaceName,
        source: &str,
        kind: EventKind,
    ) -> Result<Vec<(WorkflowName, u32)>, StoreError> {
        let prefix = keys::triggers_of(space, source, &kind.name());
        let mut found = Vec::new();
        for item in self.defs()?.scan_prefix(&prefix) {
            let (key, value) = item?;
            let name = keys::trigger_workflow(&key, prefix.len()).ok_or_else(|| corrupt(&key, "bad trigger key"))?;
            let version: [u8; 4] = value.as_ref().try_into().map_err(|_| corrupt(&key, "bad trigger version"))?;
            let name = WorkflowName::parse(name).map_err(|_| corrupt(&key, "bad workflow name in a trigger key"))?;
            found.push((name, u32::from_be_bytes(version)));
        }
        Ok(found)
    }

    /// Where the log reader `name` stands (0: nothing processed).
    fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        match self.data()?.get(keys::cursor(name))? {
            Some(bytes) => {
                let bytes: [u8; 8] =
                    bytes.as_ref().try_into().map_err(|_| corrupt(&keys::cursor(name), "bad cursor"))?;
                Ok(u64::from_be_bytes(bytes))
            }
            None => Ok(0),
        }
    }

    /// The next round-robin position of an `assign` action.
    fn assignment_position(&self, space: &SpaceName, workflow: &str, action: u32) -> Result<u64, StoreError> {
        let key = keys::assignment(space, workflow, action);
        match self.data()?.get(&key)? {
            Some(bytes) => {
                Ok(u64::from_be_bytes(bytes.as_ref().try_into().map_err(|_| corrupt(&key, "bad position"))?))
            }
            None => Ok(0),
        }
    }

    /// A run by id.
    fn run(&self, space: &SpaceName, id: &Uuid) -> Result<Option<Run>, StoreError> {
        get(&self.data()?, &keys::run(space, id))
    }

    /// Runs of a space, newest first, older than `before` when given.
    fn runs<'s>(&'s self, space: &SpaceName, before: Option<Uuid>) -> Items<'s, Run> {
        let prefix = keys::runs_of(space);
        let upper = match before {
            Some(id) => keys::run(space, &id),
            None => keys::prefix_end(&prefix),
        };
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        Box::new(data.range(prefix..upper).rev().map(|item| decode_pair(item?)))
    }

    /// Deletes a space's runs that started before `cutoff`. Run ids are UUIDv7, so the oldest
    /// come first and the walk stops at the first run to keep.
    fn prune_runs(&self, space: &SpaceName, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, StoreError> {
        let mut changes = Batch::default();
        let mut pruned = 0;
        for item in self.data()?.scan_prefix(keys::runs_of(space)) {
            let (key, value) = item?;
            let run: Run = from_json(&value).map_err(|err| corrupt(&key, &err.to_string()))?;
            if run.started_at >= cutoff {
                break;
            }
            changes.remove(key.to_vec());
            pruned += 1;
        }
        self.snapshots.apply(&self.data()?, changes)?;
        Ok(pruned)
    }

    /// The outbox, oldest first.
    fn deliveries(&self) -> Items<'_, Delivery> {
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        Box::new(data.scan_prefix(keys::delivery_prefix()).map(|item| decode_pair(item?)))
    }

    fn import_journal(&self) -> Result<Vec<(Uuid, u32, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.data()?.scan_prefix(keys::import_journal_prefix()) {
            let (key, value) = item?;
            let (Some(import), Some(chunk)) = (
                key.get(1..17).and_then(|id| Uuid::from_slice(id).ok()),
                key.get(17..21).and_then(|chunk| <[u8; 4]>::try_from(chunk).ok()),
            ) else {
                return Err(corrupt(&key, "short import journal key"));
            };
            out.push((import, u32::from_be_bytes(chunk), value.to_vec()));
        }
        Ok(out)
    }

    /// One delivery.
    fn delivery(&self, id: &Uuid) -> Result<Option<Delivery>, StoreError> {
        get(&self.data()?, &keys::delivery(id))
    }

    /// The outbox, newest first, older than `before` when given.
    fn space_deliveries_newest_first(&self, space: &SpaceName, before: Option<Uuid>) -> Items<'_, Delivery> {
        let prefix = keys::deliveries_of(space);
        let upper = match before {
            Some(id) => keys::space_delivery(space, &id),
            None => keys::prefix_end(&prefix),
        };
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        let range = data.range(prefix..upper);
        Box::new(range.keys().rev().map(move |key| {
            let key = key?;
            let id = keys::trailing_id(&key).ok_or_else(|| corrupt(&key, "bad space delivery key"))?;
            get(&data, &keys::delivery(&id))?.ok_or_else(|| corrupt(&key, "indexes a missing delivery"))
        }))
    }

    /// The concurrency groups that have deliveries to send (now or later), in name order.
    /// One seek per group: the walk jumps over each group's entries, and into a group it has
    /// read before at that group's floor, past the tombstones of what was sent.
    fn due_groups(&self) -> Result<Vec<String>, StoreError> {
        let floors = &self.shared.due_floors;
        let start = floors.start();
        let data = self.data()?;
        let first_key = |from: Vec<u8>, to: Vec<u8>| -> Result<Option<IVec>, StoreError> {
            if from >= to {
                return Ok(None);
            }
            data.range(from..to).keys().next().transpose()
        };
        let mut groups = Vec::new();
        let mut from = keys::due_prefix().to_vec();
        let end = keys::prefix_end(&keys::due_prefix());
        let mut known = start.groups().map(|(group, floor)| (keys::due_of(group), group, floor)).collect::<Vec<_>>();
        known.sort();
        let mut known = known.into_iter().peekable();
        loop {
            // Groups not read before, up to the next one that was.
            while let Some((next, _, _)) = known.peek() {
                if *next < from {
                    known.next();
                } else {
                    break;
                }
            }
            let gap_end = known.peek().map_or_else(|| end.clone(), |(prefix, _, _)| prefix.clone());
            if let Some(key) = first_key(from.clone(), gap_end)? {
                let (group, _, _) = keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?;
                from = keys::prefix_end(&keys::due_of(group));
                groups.push(group.to_owned());
                continue;
            }
            let Some((prefix, group, floor)) = known.next() else { break };
            let group_end = keys::prefix_end(&prefix);
            match first_key(keys::due(group, floor, &Uuid::nil()), group_end.clone())? {
                Some(key) => {
                    let (_, at, _) = keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?;
                    floors.raise(&start, group, at);
                    groups.push(group.to_owned());
                }
                None => floors.raise(&start, group, u64::MAX),
            }
            from = group_end;
        }
        Ok(groups)
    }

    /// A group's deliveries due at or before `until`, in due order: (due, id); at most `limit`.
    fn due_in_group(
        &self,
        group: &str,
        until: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, Uuid)>, StoreError> {
        let floors = &self.shared.due_floors;
        let start = floors.start();
        let floor = start.floor(group);
        let past_until = micros(until).saturating_add(1);
        let mut due = Vec::new();
        if floor < past_until {
            let range = keys::due(group, floor, &Uuid::nil())..keys::due(group, past_until, &Uuid::nil());
            for key in self.data()?.range(range).keys().take(limit) {
                let key = key?;
                let (_, at, id) = keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?;
                due.push((from_micros(at), id));
            }
            floors.raise(&start, group, due.first().map_or(past_until, |(at, _)| micros(*at)));
        }
        Ok(due)
    }

    /// When a group's first delivery due after `after` is due.
    fn next_due_in_group(
        &self,
        group: &str,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let start = keys::due(group, micros(after).saturating_add(1), &Uuid::nil());
        let end = keys::prefix_end(&keys::due_of(group));
        match self.data()?.range(start..end).keys().next().transpose()? {
            Some(key) => Ok(Some(from_micros(keys::parse_due(&key).ok_or_else(|| corrupt(&key, "bad due key"))?.1))),
            None => Ok(None),
        }
    }

    /// Stores new states of deliveries (attempt recorded, rescheduled, delivered, dead) with
    /// their due entries moved, atomically and durably. `previous_due` is each delivery's
    /// due time as stored before this change.
    async fn update_deliveries(
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
            entries.push((keys::space_delivery(&delivery.space, &delivery.id), Some(Vec::new())));
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
        answer.await.map_err(|_| StoreError::Closed)??;
        Ok(())
    }

    // ---- integrations ----

    /// Stores an outgoing webhook endpoint (replacing one of that name). Durable after
    /// [`Store::barrier`].
    fn put_endpoint(&self, space: &SpaceName, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::endpoint(space, &endpoint.name), Some(encode(endpoint)?))?;
        Ok(())
    }

    /// An outgoing webhook endpoint by name.
    fn endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<Option<Endpoint>, StoreError> {
        get(&self.defs()?, &keys::endpoint(space, name))
    }

    /// Every outgoing webhook endpoint of a space, in name order.
    fn endpoints(&self, space: &SpaceName) -> Result<Vec<Endpoint>, StoreError> {
        self.defs()?.scan_prefix(keys::endpoints_of(space)).map(|item| decode_pair(item?)).collect()
    }

    /// Deletes an outgoing webhook endpoint. Durable after [`Store::barrier`].
    fn remove_endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::endpoint(space, name), None)?;
        Ok(())
    }

    /// Stores an inbound hook (replacing one of that name). Durable after [`Store::barrier`].
    fn put_hook(&self, space: &SpaceName, hook: &Hook) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::hook(space, &hook.name), Some(encode(hook)?))?;
        Ok(())
    }

    /// An inbound hook by name.
    fn hook(&self, space: &SpaceName, name: &HookName) -> Result<Option<Hook>, StoreError> {
        get(&self.defs()?, &keys::hook(space, name))
    }

    /// Every inbound hook of a space, in name order.
    fn hooks(&self, space: &SpaceName) -> Result<Vec<Hook>, StoreError> {
        self.defs()?.scan_prefix(keys::hooks_of(space)).map(|item| decode_pair(item?)).collect()
    }

    /// Deletes an inbound hook. Durable after [`Store::barrier`].
    fn remove_hook(&self, space: &SpaceName, name: &HookName) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::hook(space, name), None)?;
        Ok(())
    }

    /// When the hook took the message id, if it did.
    fn inbound_receipt(&self, receipt: &InboundReceipt) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let key = keys::inbound_receipt(&receipt.space, &receipt.hook, &receipt.message_id);
        match self.data()?.get(&key)? {
            Some(bytes) => {
                let bytes: [u8; 8] = bytes.as_ref().try_into().map_err(|_| corrupt(&key, "bad receipt"))?;
                Ok(Some(from_micros(u64::from_be_bytes(bytes))))
            }
            None => Ok(None),
        }
    }

    /// Every message id taken before `cutoff` (a walk over all receipts: there are only as
    /// many as the replay window holds).
    fn inbound_receipts_before(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<InboundReceipt>, StoreError> {
        let mut expired = Vec::new();
        for item in self.data()?.scan_prefix(keys::inbound_receipts()) {
            let (key, value) = item?;
            let received: [u8; 8] = value.as_ref().try_into().map_err(|_| corrupt(&key, "bad receipt"))?;
            if u64::from_be_bytes(received) >= micros(cutoff) {
                continue;
            }
            let (space, hook, message_id) =
                keys::parse_inbound_receipt(&key).ok_or_else(|| corrupt(&key, "bad receipt key"))?;
            let space = SpaceName::parse(space).map_err(|_| corrupt(&key, "bad receipt key"))?;
            expired.push(InboundReceipt { space, hook: hook.to_owned(), message_id: message_id.to_owned() });
        }
        Ok(expired)
    }

    // ---- auth ----

    /// Stores a token by the hash of its secret. Durable after [`Store::barrier`].
    fn insert_token(&self, hash_hex: &str, info: &TokenInfo) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::token(hash_hex), Some(encode(info)?))?;
        Ok(())
    }

    /// The token whose secret hashes to `hash_hex`.
    fn token(&self, hash_hex: &str) -> Result<Option<TokenInfo>, StoreError> {
        get(&self.auth()?, &keys::token(hash_hex))
    }

    /// Every token with the hash of its secret, in hash order.
    fn tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError> {
        self.by_hash(&keys::tokens())
    }

    /// Removes the token whose secret hashes to `hash_hex`. Durable after [`Store::barrier`].
    fn remove_token(&self, hash_hex: &str) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::token(hash_hex), None)?;
        Ok(())
    }

    /// Whether any token exists.
    fn has_tokens(&self) -> Result<bool, StoreError> {
        Ok(self.auth()?.scan_prefix(keys::tokens()).next().transpose()?.is_some())
    }

    // ---- browser sessions and sign-in links ----

    fn insert_session(&self, hash_hex: &str, session: &Session) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::session(hash_hex), Some(encode(session)?))?;
        Ok(())
    }

    fn session(&self, hash_hex: &str) -> Result<Option<Session>, StoreError> {
        get(&self.auth()?, &keys::session(hash_hex))
    }

    fn remove_session(&self, hash_hex: &str) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::session(hash_hex), None)?;
        Ok(())
    }

    fn sessions(&self) -> Result<Vec<(String, Session)>, StoreError> {
        self.by_hash(&keys::sessions())
    }

    fn remove_sessions_where(&self, expired: &dyn Fn(&Session) -> bool) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.auth()?.scan_prefix(keys::sessions()) {
            let (key, value) = item?;
            let session: Session = decode_pair((key.clone(), value))?;
            if expired(&session) {
                self.put(&self.auth()?, key.to_vec(), None)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn insert_sign_in_link(&self, hash_hex: &str, link: &SignInLink) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::sign_in_link(hash_hex), Some(encode(link)?))?;
        Ok(())
    }

    fn take_sign_in_link(&self, hash_hex: &str) -> Result<Option<SignInLink>, StoreError> {
        let key = keys::sign_in_link(hash_hex);
        match self.take(&self.auth()?, key.clone())? {
            Some(value) => decode_pair((key.into(), value)).map(Some),
            None => Ok(None),
        }
    }

    fn remove_sign_in_links_where(&self, expired: &dyn Fn(&SignInLink) -> bool) -> Result<(), StoreError> {
        for item in self.auth()?.scan_prefix(keys::sign_in_links()) {
            let (key, value) = item?;
            let link: SignInLink = decode_pair((key.clone(), value))?;
            if expired(&link) {
                self.put(&self.auth()?, key.to_vec(), None)?;
            }
        }
        Ok(())
    }

    // ---- people ----

    fn insert_user(&self, email_key: &str, user: &User) -> Result<(), StoreError> {
        let auth = self.auth()?;
        if self.put_if_absent(&auth, keys::user_email(email_key), encode(&user.id)?)?.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        self.put(&auth, keys::user(&user.id), Some(encode(user)?))?;
        Ok(())
    }

    fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::user(&user.id), Some(encode(user)?))?;
        Ok(())
    }

    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        get(&self.auth()?, &keys::user(id))
    }

    fn user_id_by_email(&self, email_key: &str) -> Result<Option<String>, StoreError> {
        get(&self.auth()?, &keys::user_email(email_key))
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.auth()?.scan_prefix(keys::users()).map(|item| decode_pair(item?)).collect()
    }

    fn put_membership(&self, space: &SpaceName, membership: &Membership) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::membership(space, &membership.user_id), Some(encode(membership)?))?;
        Ok(())
    }

    fn remove_membership(&self, space: &SpaceName, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.take(&self.auth()?, keys::membership(space, user_id))?.is_some())
    }

    fn membership(&self, space: &SpaceName, user_id: &str) -> Result<Option<Membership>, StoreError> {
        get(&self.auth()?, &keys::membership(space, user_id))
    }

    fn members(&self, space: &SpaceName) -> Result<Vec<Membership>, StoreError> {
        self.auth()?.scan_prefix(keys::members_of(space)).map(|item| decode_pair(item?)).collect()
    }

    fn memberships_of(&self, user_id: &str) -> Result<Vec<(String, Membership)>, StoreError> {
        let prefix = keys::memberships();
        let mut found = Vec::new();
        for item in self.auth()?.scan_prefix(&prefix) {
            let (key, value) = item?;
            let membership: Membership = decode_pair((key.clone(), value))?;
            if membership.user_id == user_id {
                let rest = &key[prefix.len()..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                found.push((String::from_utf8_lossy(&rest[..end]).into_owned(), membership));
            }
        }
        Ok(found)
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.put(&self.auth()?, keys::audit_entry(&entry.id), Some(encode(entry)?))?;
        Ok(())
    }

    fn audit(
        &self,
        before: Option<Uuid>,
        limit: usize,
        keep: &dyn Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let start = keys::audit_log();
        let end = before.map_or_else(|| keys::prefix_end(&start), |id| keys::audit_entry(&id));
        let mut found = Vec::new();
        for item in self.auth()?.range(start..end).rev() {
            let entry: AuditEntry = decode_pair(item?)?;
            if keep(&entry) {
                found.push(entry);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    // ---- dashboards ----

    fn insert_dashboard_version(&self, space: &SpaceName, dashboard: &StoredDashboard) -> Result<(), StoreError> {
        let key = keys::dashboard_version(space, &dashboard.name, dashboard.version);
        let previous = self.put_if_absent(&self.defs()?, key, encode(dashboard)?)?;
        if previous.is_err() {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    fn dashboard_version(
        &self,
        space: &SpaceName,
        name: &DashboardName,
        version: Option<u32>,
    ) -> Result<Option<StoredDashboard>, StoreError> {
        let exact = version.map(|version| keys::dashboard_version(space, name, version));
        self.definition_version(exact, keys::dashboard_versions(space, name))
    }

    fn latest_dashboards(&self, space: &SpaceName) -> Result<Vec<StoredDashboard>, StoreError> {
        self.latest_definitions(keys::dashboards_of(space), |dashboard: &StoredDashboard| dashboard.name.clone())
    }

    fn remove_dashboard(&self, space: &SpaceName, name: &DashboardName) -> Result<(), StoreError> {
        let mut changes = Batch::default();
        for item in self.defs()?.scan_prefix(keys::dashboard_versions(space, name)).keys() {
            changes.remove(item?.to_vec());
        }
        self.snapshots.apply(&self.defs()?, changes)
    }

    // ---- saved views ----

    fn put_view(&self, space: &SpaceName, form: &FormName, view: &StoredView) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::view(space, form, &view.name), Some(encode(view)?))?;
        Ok(())
    }

    fn view(&self, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<Option<StoredView>, StoreError> {
        get(&self.defs()?, &keys::view(space, form, name))
    }

    fn views(&self, space: &SpaceName, form: &FormName) -> Result<Vec<StoredView>, StoreError> {
        self.defs()?.scan_prefix(keys::views_of(space, form)).map(|item| decode_pair(item?)).collect()
    }

    fn remove_view(&self, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<(), StoreError> {
        self.put(&self.defs()?, keys::view(space, form, name), None)?;
        Ok(())
    }

    // ---- timers ----

    /// The due instant (microseconds) of the first pending timer.
    fn first_due(&self) -> Result<Option<i64>, StoreError> {
        let floors = &self.shared.timer_floor;
        let start = floors.start();
        let data = self.data()?;
        let first =
            data.range(keys::timers_from(start.floor(TIMER_QUEUE))..keys::prefix_end(&keys::timers())).keys().next();
        match first {
            Some(key) => {
                let key = key?;
                let floor = keys::timer_floor(&key).ok_or_else(|| corrupt(&key, "bad timer key"))?;
                floors.raise(&start, TIMER_QUEUE, floor);
                Ok(Some(keys::position_due(&key[1..]).ok_or_else(|| corrupt(&key, "bad timer key"))?))
            }
            None => {
                floors.raise(&start, TIMER_QUEUE, u64::MAX);
                Ok(None)
            }
        }
    }

    /// Pending timers due at or before `until` (microseconds), oldest first, at most `limit`.
    /// Read from the queue's floor, past the tombstones of timers already fired.
    fn due_timers(&self, until: i64, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let floors = &self.shared.timer_floor;
        let start = floors.start();
        let floor = start.floor(TIMER_QUEUE);
        let past_until = keys::timer_floor_of(until.saturating_add(1));
        let mut timers = Vec::new();
        if floor >= past_until {
            return Ok(timers);
        }
        let data = self.data()?;
        let mut first = None;
        for item in data.range(keys::timers_from(floor)..keys::timers_from(past_until)).take(limit) {
            let (key, owner) = item?;
            first = first.or_else(|| keys::timer_floor(&key));
            if let Some(value) = data.get(&owner)? {
                timers.push(decode_owner_entry(&owner, &value)?);
            }
        }
        // Nothing found: nothing is due up to `until`, so the queue begins after it.
        floors.raise(&start, TIMER_QUEUE, first.unwrap_or(past_until));
        Ok(timers)
    }

    /// A space's pending timers in due order after `after` (a position), optionally only one
    /// workflow's, while `keep` says so; at most `limit`, each with its position.
    fn timers_in_due_order(
        &self,
        space: &SpaceName,
        workflow: Option<&str>,
        after: Option<TimerPosition>,
        limit: usize,
        keep: &mut dyn FnMut(&Timer) -> bool,
    ) -> Result<Vec<Timer>, StoreError> {
        let space_prefix = keys::timer_owners_of(space);
        let start = match after {
            Some(position) => [keys::timer(&keys::timer_position(position.due_micros, &position.id)), vec![0]].concat(),
            None => keys::timers_from(self.shared.timer_floor.start().floor(TIMER_QUEUE)),
        };
        let mut found = Vec::new();
        for item in self.data()?.range(start..keys::prefix_end(&keys::timers())) {
            let (_, owner) = item?;
            // The owner key says whose timer it is: no decoding for the others.
            let ours = owner.starts_with(&space_prefix)
                && workflow.is_none_or(|w| keys::owner_workflow(&owner, space_prefix.len()) == Some(w.as_bytes()));
            if !ours {
                continue;
            }
            let Some(value) = self.data()?.get(&owner)? else { continue };
            let timer = decode_owner_entry(&owner, &value)?;
            if !keep(&timer) {
                break;
            }
            found.push(timer);
            if found.len() == limit {
                break;
            }
        }
        Ok(found)
    }

    /// The pending timers of one record, in due order.
    fn timers_of_record(&self, space: &SpaceName, record: &Uuid) -> Result<Vec<Timer>, StoreError> {
        let mut found = Vec::new();
        for item in self.data()?.scan_prefix(keys::timers_of_record(space, record)) {
            let (owner, value) = item?;
            found.push(decode_owner_entry(&owner, &value)?);
        }
        found.sort_by_key(Timer::position);
        Ok(found)
    }

    /// How many timers are pending (a full count: for tests, benchmarks and the CLI).
    fn count_timers(&self) -> usize {
        self.data().map_or(0, |data| data.scan_prefix(keys::timers()).keys().count())
    }
}

impl KvStore {
    /// Decodes a stored event and fills in what it references (see `events`).
    fn read_event(&self, key: &[u8], seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
        self.resolve_event(events::decode(key, seq, bytes)?)
    }

    /// A decoded event with its record's data filled in where the log references it.
    fn resolve_event(&self, stored: events::Stored) -> Result<Event, StoreError> {
        let mut event = stored.event;
        if stored.after_is_record {
            event.after = Some(self.record_data_at(&event)?);
        }
        Ok(event)
    }

    /// The data of `event`'s record at `event.version`: the stored record while it is at that
    /// version, else what the record's next write replaced (kept with that write's event).
    /// The event and its record were written in one batch, so the record read after the event
    /// is at that version or later, and every later write's event is in its history.
    fn record_data_at(&self, event: &Event) -> Result<serde_json::Value, StoreError> {
        let key = keys::event(event.seq);
        let form = event.form.as_ref().ok_or_else(|| corrupt(&key, "a record's event without its form"))?;
        let record_key = keys::record(&event.space, form, &event.record);
        if let Some(bytes) = self.data()?.get(&record_key)? {
            // The version heads the stored value: a record already past the event is not decoded.
            if record_version(&record_key, &bytes)? == event.version {
                return decode_record_data(&record_key, &bytes);
            }
        }
        let prefix = keys::history_of(&event.record);
        let start = keys::history_entry(&event.record, event.seq.saturating_add(1));
        for item in self.data()?.range(start.to_vec()..keys::prefix_end(&prefix)).keys() {
            let history_key = item?;
            let seq = keys::trailing_seq(&history_key).ok_or_else(|| corrupt(&history_key, "bad history key"))?;
            let event_key = keys::event(seq);
            let Some(bytes) = self.data()?.get(event_key)? else { continue };
            if let Some(replaced) = events::replaced_record(&event_key, &bytes)? {
                if replaced.space == event.space.as_str() && replaced.form == Some(form.as_str()) {
                    return decode_record_data(&event_key, replaced.record);
                }
            }
        }
        Err(corrupt(&key, "the record's state at this event is gone"))
    }

    /// The definition under `exact`, or the last one under `versions` (its latest version).
    fn definition_version<T: DeserializeOwned>(
        &self,
        exact: Option<Vec<u8>>,
        versions: Vec<u8>,
    ) -> Result<Option<T>, StoreError> {
        match exact {
            Some(key) => get(&self.defs()?, &key),
            None => match self.defs()?.scan_prefix(versions).next_back() {
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
        for item in self.defs()?.scan_prefix(prefix) {
            let definition: T = decode_pair(item?)?;
            match latest.last_mut() {
                // Versions of one definition are adjacent and ascending, so the last one wins.
                Some(last) if name(last) == name(&definition) => *last = definition,
                _ => latest.push(definition),
            }
        }
        Ok(latest)
    }

    /// The raw keys of an index range (see [`Store::scan_index`]).
    fn index_keys(
        &self,
        space: &SpaceName,
        form: &FormName,
        field: &str,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        resume: Option<(&[u8], &Uuid)>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Result<IVec, StoreError>>> {
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
        let data = match self.data() {
            Ok(data) => data,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        let range = data.range::<Vec<u8>, _>((lower, upper)).keys();
        if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        }
    }

    /// Writes (`Some`) or removes (`None`) one key, as a snapshot being read expects.
    fn put(&self, tree: &Tree, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<(), StoreError> {
        self.snapshots.write(tree, [&key], || match value {
            Some(value) => tree.insert(&key, value),
            None => tree.remove(&key).map(drop),
        })
    }

    /// Removes one key, as a snapshot being read expects; what it held.
    fn take(&self, tree: &Tree, key: Vec<u8>) -> Result<Option<IVec>, StoreError> {
        self.snapshots.write(tree, [&key], || tree.remove(&key))
    }

    /// Writes one key unless it exists; `Err(())` when it did.
    fn put_if_absent(&self, tree: &Tree, key: Vec<u8>, value: Vec<u8>) -> Result<Result<(), ()>, StoreError> {
        self.snapshots.write(tree, [&key], || tree.insert_if_absent(&key, value))
    }

    /// Every `auth` entry under `prefix` keyed by a secret's hash (`{kind}\0{hash}\0`: the hash
    /// sits between the prefix and the final separator), with that hash.
    fn by_hash<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<(String, T)>, StoreError> {
        self.auth()?
            .scan_prefix(prefix)
            .map(|item| {
                let (key, value) = item?;
                let hash = key[prefix.len()..].strip_suffix(&[0]).unwrap_or(&key[prefix.len()..]);
                let hash = String::from_utf8_lossy(hash).into_owned();
                Ok((hash, decode_pair((key, value))?))
            })
            .collect()
    }

    /// Flushes everything now, blocking (for the CLI and shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        flush_db(&self.db()?)
    }
}

/// Why the database in `dir` could not be opened: damaged files, or another failure.
fn open_failed(dir: &Path, err: OpenError) -> StoreError {
    match err.damage() {
        Some(reason) => StoreError::Damaged { path: dir.to_owned(), reason },
        None => StoreError::Open { path: dir.to_owned(), source: err.into_source() },
    }
}

/// The file a clean close leaves beside the database: the last event's sequence number then.
const CLOSED_AT: &str = "closed-at-event";

/// Refuses a database whose log ends before the event it was closed at: both engines recover
/// a log whose tail is damaged by dropping the tail without an error, which would lose
/// acknowledged writes silently. (After a crash there is no such file, and nothing to compare.)
fn check_closed_at(dir: &Path, last_seq: u64) -> Result<(), StoreError> {
    let marker = dir.join(CLOSED_AT);
    let Ok(text) = std::fs::read_to_string(&marker) else { return Ok(()) };
    if let Ok(closed_at) = text.trim().parse::<u64>() {
        if last_seq < closed_at {
            return Err(StoreError::Damaged {
                path: dir.to_owned(),
                reason: format!("its log ends at event {last_seq}, but it was closed at event {closed_at}"),
            });
        }
    }
    // Only the last clean close counts: the database is written again from here on.
    std::fs::remove_file(&marker).map_err(|err| StoreError::Open { path: dir.to_owned(), source: Arc::new(err) })
}

thread_local! {
    /// Set while [`catching_panics`] runs on this thread: the panic hook stays quiet.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `open`, turning a panic in it into [`StoreError::Damaged`] without the panic's message
/// and backtrace on stderr (the error says what happened, once).
fn catching_panics<T>(dir: &Path, open: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    CATCHING.with(|catching| catching.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(open));
    CATCHING.with(|catching| catching.set(false));
    outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(StoreError::Damaged { path: dir.to_owned(), reason: format!("reading it back failed: {message}") })
    })
}

/// Flushes the database (or fails the way a fault says, see `crate::fault`).
fn flush_db(db: &Db) -> Result<(), StoreError> {
    if let Some(err) = crate::fault::flush_failure() {
        return Err(StoreError::Durability(Arc::new(err)));
    }
    db.flush()
}

/// Whether another process holds the lock on the database (sled's `db` file, or the lock file
/// kept beside fjall's). The engines report a held lock only as a message, so the lock is
/// probed here first, and released at once: the engine takes it itself (on its own file
/// handle) right after. A process that takes it in between makes the open fail, which is
/// reported as [`StoreError::Open`].
fn database_in_use(dir: &Path) -> bool {
    let Some(Ok(file)) = lock_file(dir).map(std::fs::File::open) else { return false };
    // A database this process closed a moment ago is released when sled's background threads
    // let go of it, which a busy machine may delay: a short wait tells that from another
    // holder.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(std::fs::TryLockError::WouldBlock) => return true,
            _ => return false,
        }
    }
}

/// The storage format this code reads and writes:
/// - 1 (no format key): the layout before deliveries were indexed by space;
/// - 2: `p{space}\0{id}` keys index the outbox by space;
/// - 3: events in the binary layout of `events`, referencing the record rather than copying
///   it; history keys `h{id}{seq}` instead of `h{space}\0{form}\0{id}{seq}`;
/// - 4: the same keys, but fjall keeps the `data` tree's records, index entries, events,
///   history and runs in partitions of their own (`keys::DATA_FAMILIES`); sled's layout is
///   unchanged. An older Tend reading such a data dir would find those keys missing, so the
///   format says it can't.
const FORMAT: u32 = 4;

/// Brings a data dir written in an older format up to [`FORMAT`], before anything else reads
/// it; refuses one written by a newer Tend. Each step is idempotent and the format key is
/// written only after its step is flushed, so a crash during a migration reruns it.
fn migrate(db: &Db, defs: &Tree, data: &Tree) -> Result<(), StoreError> {
    let found = match defs.get(keys::format())? {
        Some(bytes) => {
            u32::from_be_bytes(bytes.as_ref().try_into().map_err(|_| corrupt(keys::format(), "bad storage format"))?)
        }
        None => 1,
    };
    if found > FORMAT {
        return Err(StoreError::UnsupportedFormat { found, supported: FORMAT });
    }
    if found == FORMAT {
        return Ok(());
    }
    // First: the steps below read the data tree through its family partitions.
    if found < 4 {
        let moved = data.separate_families()?;
        if moved > 0 {
            tracing::info!(
                from = found,
                to = FORMAT,
                moved,
                "migrated the data dir: key families in partitions of their own"
            );
        }
    }
    if found < 2 {
        // Index every delivery by its space.
        let mut batch = Batch::default();
        let mut pending = 0;
        for item in data.scan_prefix(keys::delivery_prefix()) {
            let (key, value) = item?;
            let delivery: Delivery = from_json(&value).map_err(|err| corrupt(&key, &err.to_string()))?;
            batch.insert(keys::space_delivery(&delivery.space, &delivery.id), &[]);
            pending += 1;
            if pending == 10_000 {
                data.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        data.apply_batch(batch)?;
        tracing::info!(from = found, to = FORMAT, "migrated the data dir: deliveries indexed by space");
    }
    if found < 3 {
        compact_events_and_history(data)?;
        tracing::info!(from = found, to = FORMAT, "migrated the data dir: events and history compacted");
    }
    db.flush()?;
    defs.insert(keys::format(), &FORMAT.to_be_bytes())?;
    db.flush()?;
    Ok(())
}

/// Format 3: JSON events rewritten in the binary layout (their `before` and `after` kept as
/// they were), history entries keyed by record id alone. Idempotent: events already in the
/// new layout and history keys of the new length are left as they are.
fn compact_events_and_history(data: &Tree) -> Result<(), StoreError> {
    let mut batch = Batch::default();
    let mut pending = 0;
    let apply = |batch: &mut Batch, pending: &mut usize| -> Result<(), StoreError> {
        *pending += 1;
        if *pending >= 10_000 {
            data.apply_batch(std::mem::take(batch))?;
            *pending = 0;
        }
        Ok(())
    };
    for item in data.scan_prefix(keys::events()) {
        let (key, value) = item?;
        if value.first() != Some(&b'{') {
            continue;
        }
        let seq = keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad event key"))?;
        let event = events::decode(&key, seq, &value)?.event;
        batch.insert(key.to_vec(), events::encode(&event, false, None)?);
        apply(&mut batch, &mut pending)?;
    }
    let new_len = keys::history_entry(&Uuid::nil(), 0).len();
    for item in data.scan_prefix(keys::histories()).keys() {
        let key = item?;
        if key.len() == new_len {
            continue;
        }
        // `h{space}\0{form}\0{id}{seq}`: the id and sequence number are the last 24 bytes.
        let tail = key.len().checked_sub(24).ok_or_else(|| corrupt(&key, "short history key"))?;
        let id = Uuid::from_slice(&key[tail..tail + 16]).map_err(|_| corrupt(&key, "bad history key"))?;
        let seq = keys::trailing_seq(&key).ok_or_else(|| corrupt(&key, "bad history key"))?;
        batch.insert(keys::history_entry(&id, seq), &[]);
        batch.remove(key.to_vec());
        apply(&mut batch, &mut pending)?;
    }
    data.apply_batch(batch)?;
    Ok(())
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
    serde_json::to_writer(&mut bytes, record).map_err(StoreError::encoding)?;
    Ok(bytes)
}

pub(super) fn record_version(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let head: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt(key, "short record"))?;
    Ok(u64::from_be_bytes(head))
}

pub(super) fn decode_record(key: &[u8], bytes: &[u8]) -> Result<Record, StoreError> {
    let json = bytes.get(8..).ok_or_else(|| corrupt(key, "short record"))?;
    from_json(json).map_err(|err| corrupt(key, &err.to_string()))
}

/// The data of a stored record alone: the rest of the record is skipped, not decoded.
pub(super) fn decode_record_data(key: &[u8], bytes: &[u8]) -> Result<serde_json::Value, StoreError> {
    #[derive(Deserialize)]
    struct DataOnly {
        data: serde_json::Value,
    }
    let json = bytes.get(8..).ok_or_else(|| corrupt(key, "short record"))?;
    from_json::<DataOnly>(json).map(|record| record.data).map_err(|err| corrupt(key, &err.to_string()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::encoding)
}

fn get<T: DeserializeOwned>(tree: &Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => from_json(&bytes).map(Some).map_err(|err| corrupt(key, &err.to_string())),
        None => Ok(None),
    }
}

fn decode_pair<T: DeserializeOwned>((key, value): (IVec, IVec)) -> Result<T, StoreError> {
    from_json(&value).map_err(|err| corrupt(&key, &err.to_string()))
}

/// The deepest nesting a stored value may have to be read. Data enters at most 64 levels deep
/// (record data 32) and the envelopes add a few; values stored before those bounds existed
/// reach about 130, past serde_json's default limit of 128, so the limit here is ours: high
/// enough for anything Tend ever stored, low enough that decoding never exhausts the stack.
const MAX_STORED_DEPTH: usize = 512;

/// Decodes a stored JSON value whatever its nesting up to [`MAX_STORED_DEPTH`] (serde_json's
/// own limit is lifted after a scan checks the bound without recursing).
pub(super) fn from_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    if nesting(json) > MAX_STORED_DEPTH {
        return Err(serde::de::Error::custom(format_args!("the value nests more than {MAX_STORED_DEPTH} levels deep")));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    deserializer.disable_recursion_limit();
    let value = T::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored).
fn nesting(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

pub(super) fn corrupt(key: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt { key: keys::printable(key), reason: reason.to_owned() }
}

#[cfg(test)]
impl KvStore {
    /// Overwrites event `seq` with `bytes`, as damage on disk would: tests of what the log's
    /// readers do with an event they cannot read, or one written before data was bounded.
    pub(crate) fn damage_event(&self, seq: u64, bytes: &[u8]) {
        self.data().expect("the database").insert(keys::event(seq), bytes).expect("write the event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second open of a held database is `InUse`, told apart by its variant (start-up
    /// matches on it), not by a message; once the first is closed and dropped it opens.
    #[test]
    fn a_held_database_is_in_use() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = KvStore::open(dir.path(), &StorageConfig::default()).expect("first open");
        match KvStore::open(dir.path(), &StorageConfig::default()) {
            Err(StoreError::InUse { path }) => assert_eq!(path, dir.path()),
            other => panic!("expected InUse, got {other:?}"),
        }
        first.close().expect("close");
        drop(first);
        KvStore::open(dir.path(), &StorageConfig::default()).expect("opens once released");
    }

    /// A stored value is read back whatever it nests, past serde_json's default limit of 128
    /// (values stored before data was bounded at entry reach about 130 inside their
    /// envelope); only what no Tend ever stored is refused, as an error, never a stack overflow.
    #[test]
    fn stored_values_nested_past_serde_json_limit_are_readable() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(serde_json::from_str::<serde_json::Value>(&nested(140)).is_err(), "the default limit is 128");
        let value: serde_json::Value = from_json(nested(140).as_bytes()).expect("readable");
        assert_eq!(serde_json::to_string(&value).expect("encodes"), nested(140));
        assert!(from_json::<serde_json::Value>(nested(MAX_STORED_DEPTH + 1).as_bytes()).is_err());
        let in_strings: serde_json::Value =
            from_json(format!("[\"{}\\\"[\"]", "[".repeat(600)).as_bytes()).expect("readable");
        assert_eq!(in_strings[0].as_str().map(str::len), Some(602));
    }

    /// A new data dir is written in the current format; one written by a newer Tend is refused
    /// rather than read with the wrong layout.
    #[test]
    fn the_storage_format_is_recorded_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = KvStore::open(dir.path(), &StorageConfig::default()).expect("open");
        let format = store.defs().expect("defs").get(keys::format()).expect("read").expect("the format is recorded");
        assert_eq!(format.as_ref(), FORMAT.to_be_bytes());
        store.defs().expect("defs").insert(keys::format(), &(FORMAT + 1).to_be_bytes()).expect("write");
        store.close().expect("close");
        drop(store);
        match KvStore::open(dir.path(), &StorageConfig::default()) {
            Err(StoreError::UnsupportedFormat { found, supported }) => {
                assert_eq!((found, supported), (FORMAT + 1, FORMAT))
            }
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }
}
