//! The two ordered key-value engines the backend runs on, behind one small interface: fjall
//! (a log-structured merge tree, for new data dirs) and sled 0.34 (a copy-on-write B-tree, for
//! data dirs made before fjall). The rest
//! of the backend (key layout, committer, staging, timers, snapshots) is written once against
//! [`Db`] and [`Tree`]; this file is the only one that names either engine's API.
//!
//! What each engine gives the backend:
//! - `Tree::apply_batch` is atomic after a crash (sled: one batch in its log; fjall: one
//!   journal entry);
//! - `Db::flush` makes everything applied before it durable (sled: its log, fsynced; fjall:
//!   its journal, fsynced);
//! - reads see everything applied, flushed or not. sled's iterators see writes made while they
//!   run; fjall's read the instant they were made. The snapshot reader (`snapshot`) does not
//!   rely on either.
//!
//! Values are handed out as [`sled::IVec`] whichever engine holds them (fjall's are copied into
//! one), so the backend has one byte type.

use std::fs::File;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::super::{BackendError, StorageConfig, StorageEngine, StoreError};

pub(super) use sled::IVec;

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        match err {
            sled::Error::Corruption { .. } => Self::Unreadable(Arc::new(err)),
            err => Self::backend(err),
        }
    }
}

impl From<fjall::Error> for StoreError {
    fn from(err: fjall::Error) -> Self {
        use fjall::LsmError as Lsm;
        match &err {
            fjall::Error::Storage(
                Lsm::Decompress(_) | Lsm::Decode(_) | Lsm::InvalidChecksum(_) | Lsm::Unrecoverable,
            )
            | fjall::Error::Decode(_) => Self::Unreadable(Arc::new(err)),
            // A block whose damaged header gives a length past the end of its file.
            fjall::Error::Storage(Lsm::Io(io)) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                Self::Unreadable(Arc::new(err))
            }
            _ => Self::backend(err),
        }
    }
}

/// Where fjall keeps its files inside a data dir (sled's live at the top, for data dirs written
/// before fjall was an option).
const FJALL_DIR: &str = "kv";
/// The file the backend locks while it has a fjall database open, since fjall takes no lock of
/// its own (sled locks its `db` file itself).
const FJALL_LOCK: &str = "kv.lock";

/// One open database.
#[derive(Clone)]
pub(super) enum Db {
    Sled(sled::Db),
    Fjall(Fjall),
}

/// An open fjall keyspace and the lock that keeps a second process out.
#[derive(Clone)]
pub(super) struct Fjall {
    keyspace: fjall::Keyspace,
    _lock: Arc<File>,
    /// Serialises [`Tree::insert_if_absent`], which fjall has no single call for.
    absent: Arc<Mutex<()>>,
}

/// One named tree of a [`Db`]. In fjall a tree is one partition, or several: a tree opened
/// with key families ([`Db::open_tree_with_families`]) keeps the keys of each family (told by
/// their first byte) in a partition of its own, and the rest in the tree's own partition.
#[derive(Clone)]
pub(super) enum Tree {
    Sled(sled::Tree),
    Fjall { keyspace: Fjall, partitions: Arc<Partitions> },
}

/// The fjall partitions of one tree, and which of them each first byte of a key goes to.
///
/// Why families: an LSM tree compacts by merging segments whose key ranges overlap. In one
/// partition, every memtable flush held records, index entries, events and history side by
/// side, so every segment overlapped every other and compaction rewrote each record and event
/// again and again (about a tenth of the server's CPU under a steady write load). Apart, the
/// families written in key order (events by sequence number, records, history and runs by
/// UUIDv7 id) flush into segments that don't overlap what is below them, which compaction
/// moves instead of rewriting; index entries, written in value order, still merge, but they
/// are small. One fjall batch spans partitions and is one journal entry, so a batch stays
/// atomic, and one journal fsync still makes it durable.
pub(super) struct Partitions {
    /// `all[0]` is the tree's own partition.
    all: Vec<fjall::PartitionHandle>,
    /// The index in `all` of the partition keys beginning with each byte go to.
    route: [u8; 256],
}

impl Partitions {
    fn of(&self, key: &[u8]) -> &fjall::PartitionHandle {
        &self.all[usize::from(self.route[usize::from(key.first().copied().unwrap_or(0))])]
    }

    /// The entries in `range`, read from each partition its keys' first bytes go to, in key
    /// order: a run of first bytes that go to one partition is one range read of it.
    fn range(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Iter {
        let first = |bound: &Bound<Vec<u8>>, unbounded: u8| match bound {
            Bound::Included(key) | Bound::Excluded(key) => key.first().copied().unwrap_or(0),
            Bound::Unbounded => unbounded,
        };
        let empty = || Iter(Box::new(std::iter::empty()));
        let low = first(&start, 0);
        // A prefix's end (`keys::prefix_end`) is often the next first byte alone, which holds
        // nothing of the range: its partition is not read.
        let high = match &end {
            Bound::Excluded(key) if key.len() == 1 => match key[0].checked_sub(1) {
                Some(byte) => byte,
                None => return empty(),
            },
            bound => first(bound, u8::MAX),
        };
        if low > high {
            return empty();
        }
        let mut runs: Vec<(u8, u8)> = Vec::new();
        for byte in low..=high {
            match runs.last_mut() {
                Some((_, last)) if self.route[usize::from(*last)] == self.route[usize::from(byte)] => *last = byte,
                _ => runs.push((byte, byte)),
            }
        }
        if let [(byte, _)] = runs[..] {
            return Iter::fjall(self.of(&[byte]).range((start, end)));
        }
        let reads = runs.into_iter().map(|(from, to)| {
            let lower = if from == low { start.clone() } else { Bound::Included(vec![from]) };
            // `to` < `high` <= u8::MAX here, so `to + 1` is a byte.
            let upper = if to == high { end.clone() } else { Bound::Excluded(vec![to + 1]) };
            Iter::fjall(self.of(&[from]).range((lower, upper)))
        });
        // Chained, the reads are one iterator from either end.
        reads.reduce(|front, back| Iter(Box::new(front.chain(back)))).unwrap_or_else(empty)
    }
}

/// Writes to one tree, applied together or not at all. Later writes to a key replace earlier
/// ones of the same batch.
#[derive(Default)]
pub(super) struct Batch {
    writes: std::collections::BTreeMap<Vec<u8>, Option<IVec>>,
}

impl Batch {
    pub(super) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<IVec>) {
        self.writes.insert(key.into(), Some(value.into()));
    }

    pub(super) fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.writes.insert(key.into(), None);
    }

    pub(super) fn len(&self) -> usize {
        self.writes.len()
    }

    /// The keys the batch writes or removes.
    pub(super) fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.writes.keys().map(Vec::as_slice)
    }
}

/// Entries in key order, either way.
pub(super) struct Iter(Box<dyn DoubleEndedIterator<Item = Result<(IVec, IVec), StoreError>>>);

impl Iterator for Iter {
    type Item = Result<(IVec, IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl Iter {
    /// The keys alone.
    pub(super) fn keys(self) -> impl DoubleEndedIterator<Item = Result<IVec, StoreError>> {
        self.map(|item| item.map(|(key, _)| key))
    }

    fn sled(iter: sled::Iter) -> Iter {
        Iter(Box::new(iter.map(|item| item.map_err(StoreError::from))))
    }

    fn fjall(iter: impl DoubleEndedIterator<Item = fjall::Result<fjall::KvPair>> + 'static) -> Iter {
        Iter(Box::new(iter.map(|item| {
            let (key, value) = item.map_err(StoreError::from)?;
            Ok((IVec::from(&*key), IVec::from(&*value)))
        })))
    }
}

/// What went wrong opening a database.
pub(super) enum OpenError {
    Sled(sled::Error),
    Fjall(fjall::Error),
}

impl OpenError {
    /// What is wrong with the files, when the engine found them damaged.
    pub(super) fn damage(&self) -> Option<String> {
        match self {
            OpenError::Sled(sled::Error::Corruption { .. }) => Some("its files hold data that can't be read".into()),
            OpenError::Sled(sled::Error::Unsupported(reason) | sled::Error::ReportableBug(reason)) => {
                Some(reason.clone())
            }
            OpenError::Fjall(
                err @ (fjall::Error::Decode(_)
                | fjall::Error::JournalRecovery(_)
                | fjall::Error::InvalidVersion(_)
                | fjall::Error::Storage(_)),
            ) => Some(err.to_string()),
            _ => None,
        }
    }

    pub(super) fn into_source(self) -> BackendError {
        match self {
            OpenError::Sled(err) => Arc::new(err),
            OpenError::Fjall(err) => Arc::new(err),
        }
    }
}

impl Db {
    /// Opens the database in `dir` with the engine that wrote it, or creates one with
    /// `settings.engine`. `periodic_flush` lets the engine flush on its own as well (crash
    /// tests turn it off, so applied writes stay unflushed until a crash point fires).
    pub(super) fn open(dir: &Path, settings: &StorageConfig, periodic_flush: bool) -> Result<Db, OpenError> {
        match engine_in(dir).unwrap_or(settings.engine) {
            StorageEngine::Sled => sled::Config::new()
                .path(dir)
                .cache_capacity(settings.cache_mb.max(1) * 1024 * 1024)
                .mode(sled::Mode::HighThroughput)
                // Durability comes from the committer's group commit; sled's own periodic flush
                // is kept because without it sled 0.34 does not trim its in-memory state and
                // memory grows with the data (a million small keys took 1.7 GB, not 0.4 GB).
                .flush_every_ms(periodic_flush.then_some(500))
                .open()
                .map(Db::Sled)
                .map_err(OpenError::Sled),
            StorageEngine::Fjall => {
                let lock =
                    private_file(&dir.join(FJALL_LOCK)).map_err(|err| OpenError::Fjall(fjall::Error::Io(err)))?;
                lock.try_lock().map_err(|err| {
                    OpenError::Fjall(fjall::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        format!("the database is locked: {err}"),
                    )))
                })?;
                let keyspace = fjall::Config::new(dir.join(FJALL_DIR))
                    .cache_size(settings.cache_mb.max(1) * 1024 * 1024)
                    // The committer persists each batch itself.
                    .manual_journal_persist(true)
                    .fsync_ms(periodic_flush.then_some(500))
                    .open()
                    .map_err(OpenError::Fjall)?;
                Ok(Db::Fjall(Fjall { keyspace, _lock: Arc::new(lock), absent: Arc::default() }))
            }
        }
    }

    pub(super) fn open_tree(&self, name: &str) -> Result<Tree, StoreError> {
        self.open_tree_with_families(name, &[])
    }

    /// Opens the tree `name`, whose keys beginning with each family's byte fjall keeps in a
    /// partition of their own, named `{name}-{family}` (see [`Partitions`]); sled keeps a tree
    /// in one B-tree whatever its families. A fjall data dir written before a family had its
    /// partition has its keys in the tree's own partition until [`Tree::separate_families`]
    /// moves them.
    pub(super) fn open_tree_with_families(&self, name: &str, families: &[(u8, &str)]) -> Result<Tree, StoreError> {
        Ok(match self {
            Db::Sled(db) => Tree::Sled(db.open_tree(name)?),
            Db::Fjall(fjall) => {
                let open = |name: &str| fjall.keyspace.open_partition(name, fjall::PartitionCreateOptions::default());
                let mut all = vec![open(name)?];
                let mut route = [0u8; 256];
                for (byte, family) in families {
                    route[usize::from(*byte)] = u8::try_from(all.len()).expect("fewer than 256 families");
                    all.push(open(&format!("{name}-{family}"))?);
                }
                Tree::Fjall { keyspace: fjall.clone(), partitions: Arc::new(Partitions { all, route }) }
            }
        })
    }

    /// Makes everything applied so far durable.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        match self {
            Db::Sled(db) => db.flush().map(drop).map_err(|err| StoreError::Durability(Arc::new(err))),
            Db::Fjall(fjall) => fjall
                .keyspace
                .persist(fjall::PersistMode::SyncData)
                .map_err(|err| StoreError::Durability(Arc::new(err))),
        }
    }

    /// Writes what the engine holds in memory to its data files, so that the next open has
    /// nothing to replay: fjall seals every partition's memtable, its flusher writes each to a
    /// segment, and the journals that held them are then deleted (otherwise, a start replays
    /// them: 1.3 to 1.8 s for 100k records and timers written since). Gives up after `within`
    /// (a flusher failing on a full disk would never finish). sled has nothing of the kind.
    ///
    /// `rotate_memtable` is outside fjall's documented API (the version is pinned);
    /// `settling_leaves_no_journal_holding_writes_to_replay` checks that it still does this.
    pub(super) fn settle(&self, within: Duration) -> Result<(), StoreError> {
        let Db::Fjall(fjall) = self else { return Ok(()) };
        for name in fjall.keyspace.list_partitions() {
            // The partition is open: this hands back its handle, options untouched.
            let partition = fjall.keyspace.open_partition(&name, fjall::PartitionCreateOptions::default())?;
            partition.rotate_memtable()?;
        }
        let deadline = Instant::now() + within;
        // The journal being written stays; the sealed ones go once their memtables are flushed.
        while fjall.keyspace.journal_count() > 1 {
            if Instant::now() >= deadline {
                let waited =
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "the memtables were not flushed in time");
                return Err(StoreError::backend(waited));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

/// Opens `path` for writing, truncated, created readable by its owner alone as the rest of a
/// data dir is.
pub(super) fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = File::options();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The engine whose database `dir` holds, if any.
fn engine_in(dir: &Path) -> Option<StorageEngine> {
    if dir.join(FJALL_DIR).exists() {
        Some(StorageEngine::Fjall)
    } else if dir.join("db").exists() {
        Some(StorageEngine::Sled)
    } else {
        None
    }
}

/// The file a process that has the database in `dir` open holds a lock on, if `dir` holds one.
pub(crate) fn lock_file(dir: &Path) -> Option<PathBuf> {
    Some(match engine_in(dir)? {
        StorageEngine::Fjall => dir.join(FJALL_LOCK),
        StorageEngine::Sled => dir.join("db"),
    })
}

fn fjall_value(value: Option<fjall::Slice>) -> Option<IVec> {
    value.map(|value| IVec::from(&*value))
}

impl Tree {
    /// A name telling this tree from the other trees of its database.
    pub(super) fn name(&self) -> IVec {
        match self {
            Tree::Sled(tree) => tree.name(),
            Tree::Fjall { partitions, .. } => IVec::from(partitions.all[0].name.as_bytes()),
        }
    }

    pub(super) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.get(key)?,
            Tree::Fjall { partitions, .. } => fjall_value(partitions.of(key.as_ref()).get(key)?),
        })
    }

    pub(super) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.contains_key(key)?,
            Tree::Fjall { partitions, .. } => partitions.of(key.as_ref()).contains_key(key)?,
        })
    }

    pub(super) fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> Result<(), StoreError> {
        match self {
            Tree::Sled(tree) => drop(tree.insert(key, value)?),
            Tree::Fjall { partitions, .. } => partitions.of(key.as_ref()).insert(key.as_ref(), &*value.into())?,
        }
        Ok(())
    }

    /// Removes `key`, returning what was there.
    pub(super) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.remove(key)?,
            Tree::Fjall { partitions, .. } => {
                let key = key.as_ref();
                let partition = partitions.of(key);
                let previous = fjall_value(partition.get(key)?);
                if previous.is_some() {
                    partition.remove(key)?;
                }
                previous
            }
        })
    }

    /// Writes `value` under `key` unless the key holds something; `Err(())` when it does.
    pub(super) fn insert_if_absent(&self, key: &[u8], value: Vec<u8>) -> Result<Result<(), ()>, StoreError> {
        match self {
            Tree::Sled(tree) => Ok(tree.compare_and_swap(key, None as Option<&[u8]>, Some(value))?.map_err(|_| ())),
            Tree::Fjall { partitions, keyspace } => {
                let partition = partitions.of(key);
                let _one_at_a_time = keyspace.absent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if partition.contains_key(key)? {
                    return Ok(Err(()));
                }
                partition.insert(key, value)?;
                Ok(Ok(()))
            }
        }
    }

    pub(super) fn iter(&self) -> Iter {
        match self {
            Tree::Sled(tree) => Iter::sled(tree.iter()),
            Tree::Fjall { partitions, .. } => partitions.range(Bound::Unbounded, Bound::Unbounded),
        }
    }

    pub(super) fn range<K: AsRef<[u8]> + 'static, R: RangeBounds<K> + 'static>(&self, range: R) -> Iter {
        match self {
            Tree::Sled(tree) => Iter::sled(tree.range(range)),
            Tree::Fjall { partitions, .. } => {
                let owned = |bound: Bound<&K>| bound.map(|key| key.as_ref().to_vec());
                partitions.range(owned(range.start_bound()), owned(range.end_bound()))
            }
        }
    }

    pub(super) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        match self {
            Tree::Sled(tree) => Iter::sled(tree.scan_prefix(prefix)),
            Tree::Fjall { partitions, .. } => match prefix.as_ref() {
                [] => partitions.range(Bound::Unbounded, Bound::Unbounded),
                prefix => Iter::fjall(partitions.of(prefix).prefix(prefix)),
            },
        }
    }

    /// Moves the keys of each family that are still in the tree's own partition (a data dir
    /// written before the family had a partition) into the family's partition, 10,000 at a
    /// time: each move is one atomic batch, so a key is always in exactly one of the two, and
    /// a crash leaves the rest for the next call. How many keys moved; none in sled.
    pub(super) fn separate_families(&self) -> Result<usize, StoreError> {
        let Tree::Fjall { partitions, keyspace } = self else { return Ok(0) };
        let own = &partitions.all[0];
        let mut moved = 0;
        for byte in 0..=u8::MAX {
            let family = usize::from(partitions.route[usize::from(byte)]);
            if family == 0 {
                continue; // the tree's own partition
            }
            let family = &partitions.all[family];
            // fjall's iterator reads the instant it was made: the removals don't disturb it.
            let mut batch = fjall::Batch::with_capacity(keyspace.keyspace.clone(), 20_000);
            for item in own.prefix([byte]) {
                let (key, value) = item?;
                batch.insert(family, key.clone(), value);
                batch.remove(own, key);
                moved += 1;
                if moved % 10_000 == 0 {
                    std::mem::replace(&mut batch, fjall::Batch::with_capacity(keyspace.keyspace.clone(), 20_000))
                        .commit()?;
                }
            }
            batch.commit()?;
        }
        Ok(moved)
    }

    /// Applies `batch` atomically.
    pub(super) fn apply_batch(&self, batch: Batch) -> Result<(), StoreError> {
        match self {
            Tree::Sled(tree) => {
                let mut sled_batch = sled::Batch::default();
                for (key, value) in batch.writes {
                    match value {
                        Some(value) => sled_batch.insert(key, value),
                        None => sled_batch.remove(key),
                    }
                }
                Ok(tree.apply_batch(sled_batch)?)
            }
            Tree::Fjall { partitions, keyspace } => {
                let mut fjall_batch = fjall::Batch::with_capacity(keyspace.keyspace.clone(), batch.writes.len());
                for (key, value) in batch.writes {
                    let partition = partitions.of(&key);
                    match value {
                        Some(value) => fjall_batch.insert(partition, key, &*value),
                        None => fjall_batch.remove(partition, key),
                    }
                }
                Ok(fjall_batch.commit()?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const FAMILIES: [(u8, &str); 3] = [(b'e', "events"), (b'h', "history"), (b'r', "records")];

    fn fjall_db(dir: &Path) -> Db {
        let settings = StorageConfig { engine: StorageEngine::Fjall, ..StorageConfig::default() };
        Db::open(dir, &settings, false).unwrap_or_else(|_| panic!("fjall opens"))
    }

    fn read(iter: impl Iterator<Item = Result<(IVec, IVec), StoreError>>) -> Vec<(Vec<u8>, Vec<u8>)> {
        iter.map(|item| item.map(|(key, value)| (key.to_vec(), value.to_vec())).expect("read")).collect()
    }

    fn expected<'a>(entries: impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
        entries.map(|(key, value)| (key.clone(), value.clone())).collect()
    }

    /// Keys whose first bytes fall in families and around them, at both ends of the byte range.
    fn key() -> impl Strategy<Value = Vec<u8>> {
        let first = prop::sample::select(vec![0u8, b'a', b'd', b'e', b'f', b'h', b'i', b'r', b's', u8::MAX]);
        (first, prop::collection::vec(prop::sample::select(vec![0u8, b'e', b'r', u8::MAX]), 0..3))
            .prop_map(|(first, rest)| [vec![first], rest].concat())
    }

    fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
        prop_oneof![
            Just(Bound::Unbounded),
            key().prop_map(Bound::Included),
            key().prop_map(Bound::Excluded),
            Just(Bound::Included(Vec::new())),
        ]
    }

    proptest! {
        /// A tree whose families live in partitions of their own reads like one ordered map:
        /// whole, by range and by prefix, from either end.
        #[test]
        fn a_tree_split_into_families_reads_as_one_ordered_map(
            keys in prop::collection::btree_set(key(), 0..40),
            ranges in prop::collection::vec((bound(), bound()), 1..6),
            prefix in key(),
        ) {
            static TREES: AtomicUsize = AtomicUsize::new(0);
            static DIR: std::sync::LazyLock<(tempfile::TempDir, Db)> = std::sync::LazyLock::new(|| {
                let dir = tempfile::tempdir().expect("tempdir");
                let db = fjall_db(dir.path());
                (dir, db)
            });
            let name = format!("t{}", TREES.fetch_add(1, Ordering::Relaxed));
            let tree = DIR.1.open_tree_with_families(&name, &FAMILIES).expect("tree");
            let model: BTreeMap<Vec<u8>, Vec<u8>> = keys.iter().map(|key| (key.clone(), key.repeat(2))).collect();
            let mut batch = Batch::default();
            for (key, value) in &model {
                batch.insert(key.clone(), value.clone());
            }
            tree.apply_batch(batch).expect("apply");

            prop_assert_eq!(read(tree.iter()), expected(model.iter()));
            prop_assert_eq!(read(tree.iter().rev()), expected(model.iter().rev()));
            for (start, end) in ranges {
                let inverted = match (&start, &end) {
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a > b,
                    _ => false,
                };
                let empty = matches!((&start, &end), (Bound::Excluded(a), Bound::Excluded(b)) if a == b);
                if inverted || empty {
                    continue; // BTreeMap panics on these; fjall reads nothing
                }
                let wanted = expected(model.range((start.clone(), end.clone())));
                prop_assert_eq!(read(tree.range((start.clone(), end.clone()))), wanted.clone());
                let backwards: Vec<_> = wanted.into_iter().rev().collect();
                prop_assert_eq!(read(tree.range((start, end)).rev()), backwards);
            }
            let prefixed = expected(model.iter().filter(|(key, _)| key.starts_with(&prefix)));
            prop_assert_eq!(read(tree.scan_prefix(prefix.clone())), prefixed);
            prop_assert_eq!(read(tree.scan_prefix(Vec::<u8>::new())), expected(model.iter()));
            for (key, value) in &model {
                prop_assert_eq!(tree.get(key).expect("get").map(|value| value.to_vec()), Some(value.clone()));
            }
        }
    }

    /// A data dir written before its families had partitions keeps their keys in the tree's
    /// own partition; `separate_families` moves them, once, and the tree reads as before.
    #[test]
    fn keys_written_before_the_families_move_into_their_partitions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = fjall_db(dir.path());
        let before = db.open_tree("data").expect("tree");
        let mut model = BTreeMap::new();
        let mut batch = Batch::default();
        for n in 0u32..25_000 {
            let key = [&[b"aehrz"[n as usize % 5]], &n.to_be_bytes()[..]].concat();
            batch.insert(key.clone(), n.to_le_bytes().to_vec());
            model.insert(key, n.to_le_bytes().to_vec());
        }
        before.apply_batch(batch).expect("apply");

        let split = db.open_tree_with_families("data", &FAMILIES).expect("tree");
        assert_eq!(split.get([b'e', 0, 0, 0, 1]).expect("get"), None, "not moved yet");
        assert_eq!(split.separate_families().expect("moved"), 15_000);
        assert_eq!(read(split.iter()), expected(model.iter()));
        let own: Vec<u8> = read(before.iter()).iter().map(|(key, _)| key[0]).collect();
        assert!(own.iter().all(|first| [b'a', b'z'].contains(first)), "the tree's own partition keeps the rest");
        assert_eq!(split.separate_families().expect("moved"), 0, "once");
    }

    /// After a settle, the journals that held the writes are gone (nothing to replay at the
    /// next open) and the writes read back from the segments.
    #[test]
    fn settling_leaves_no_journal_holding_writes_to_replay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journals = || -> std::collections::BTreeSet<String> {
            std::fs::read_dir(dir.path().join(FJALL_DIR).join("journals"))
                .expect("fjall's journals")
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect()
        };
        let written: Vec<Vec<u8>> =
            FAMILIES.iter().map(|(family, _)| vec![*family, 1]).chain([b"d1".to_vec()]).collect();
        {
            let db = fjall_db(dir.path());
            let tree = db.open_tree_with_families("data", &FAMILIES).expect("tree");
            for key in &written {
                tree.insert(key, b"value".to_vec()).expect("insert");
            }
            db.flush().expect("flush");
            let holding = journals();
            db.settle(Duration::from_secs(30)).expect("settle");
            let left = journals();
            assert!(holding.is_disjoint(&left), "journals {holding:?} held the writes; {left:?} are left");
        }
        let db = fjall_db(dir.path());
        let tree = db.open_tree_with_families("data", &FAMILIES).expect("tree");
        for key in &written {
            assert_eq!(tree.get(key).expect("read").as_deref(), Some(&b"value"[..]), "{key:?} after a reopen");
        }
    }

    /// Which engine errors say the files are damaged: those the files themselves cause, not a
    /// disk that fails for now (a full one), which the processor retries.
    #[test]
    fn engine_errors_that_mean_damaged_files_are_unreadable() {
        use std::io::{Error, ErrorKind};
        let io = |kind: ErrorKind| fjall::Error::Storage(fjall::LsmError::Io(Error::new(kind, "read")));
        let unreadable = |err: StoreError| matches!(err, StoreError::Unreadable(_));
        assert!(unreadable(io(ErrorKind::UnexpectedEof).into()));
        assert!(unreadable(fjall::Error::Storage(fjall::LsmError::Unrecoverable).into()));
        assert!(unreadable(sled::Error::Corruption { at: None, bt: () }.into()));
        assert!(matches!(io(ErrorKind::StorageFull).into(), StoreError::Backend(_)));
        assert!(matches!(fjall::Error::Poisoned.into(), StoreError::Backend(_)));
        assert!(matches!(sled::Error::Io(Error::other("disk")).into(), StoreError::Backend(_)));
    }

    /// A data block that can't be read back is told apart from other storage errors, so the
    /// API can say the files are damaged (the open reads no data block, so it can't).
    #[test]
    fn a_damaged_segment_reads_as_unreadable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys: Vec<Vec<u8>> = (0..2_000u32).map(|n| [&b"r"[..], &n.to_be_bytes()].concat()).collect();
        {
            let db = fjall_db(dir.path());
            let tree = db.open_tree_with_families("data", &FAMILIES).expect("tree");
            for (n, key) in keys.iter().enumerate() {
                tree.insert(key, format!("value {n} {}", "x".repeat(200)).into_bytes()).expect("insert");
            }
            db.flush().expect("flush");
            db.settle(Duration::from_secs(30)).expect("settle");
        }
        let segment = walk(&dir.path().join(FJALL_DIR).join("partitions"))
            .into_iter()
            .filter(|path| path.components().any(|part| part.as_os_str() == "segments"))
            .max_by_key(|path| std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0))
            .expect("a segment");
        let mut bytes = std::fs::read(&segment).expect("segment");
        let middle = bytes.len() / 4;
        bytes[middle..middle + 256].fill(0xA5);
        std::fs::write(&segment, bytes).expect("damage");
        let db = fjall_db(dir.path());
        let tree = db.open_tree_with_families("data", &FAMILIES).expect("tree");
        let mut unreadable = 0;
        for key in &keys {
            match tree.get(key) {
                Ok(_) => {}
                Err(StoreError::Unreadable(_)) => unreadable += 1,
                Err(other) => panic!("{key:?}: {other}"),
            }
        }
        assert!(unreadable > 0, "the damage was read past");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .flat_map(|path| if path.is_dir() { walk(&path) } else { vec![path] })
            .collect()
    }

    /// sled keeps a tree in one B-tree whatever its families.
    #[test]
    fn sled_has_nothing_to_separate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = StorageConfig { engine: StorageEngine::Sled, ..StorageConfig::default() };
        let db = Db::open(dir.path(), &settings, false).unwrap_or_else(|_| panic!("sled opens"));
        let tree = db.open_tree_with_families("data", &FAMILIES).expect("tree");
        tree.insert(b"e1", b"x".to_vec()).expect("insert");
        assert_eq!(tree.separate_families().expect("separate"), 0);
        assert_eq!(read(db.open_tree("data").expect("tree").iter()).len(), 1);
    }
}
