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
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::super::{BackendError, StorageConfig, StorageEngine, StoreError};

pub(super) use sled::IVec;

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        Self::backend(err)
    }
}

impl From<fjall::Error> for StoreError {
    fn from(err: fjall::Error) -> Self {
        Self::backend(err)
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

/// One named tree (a partition, in fjall's words) of a [`Db`].
#[derive(Clone)]
pub(super) enum Tree {
    Sled(sled::Tree),
    Fjall { keyspace: Fjall, partition: fjall::PartitionHandle },
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
        Ok(match self {
            Db::Sled(db) => Tree::Sled(db.open_tree(name)?),
            Db::Fjall(fjall) => Tree::Fjall {
                partition: fjall.keyspace.open_partition(name, fjall::PartitionCreateOptions::default())?,
                keyspace: fjall.clone(),
            },
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
            Tree::Fjall { partition, .. } => IVec::from(partition.name.as_bytes()),
        }
    }

    pub(super) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.get(key)?,
            Tree::Fjall { partition, .. } => fjall_value(partition.get(key)?),
        })
    }

    pub(super) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.contains_key(key)?,
            Tree::Fjall { partition, .. } => partition.contains_key(key)?,
        })
    }

    pub(super) fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> Result<(), StoreError> {
        match self {
            Tree::Sled(tree) => drop(tree.insert(key, value)?),
            Tree::Fjall { partition, .. } => partition.insert(key.as_ref(), &*value.into())?,
        }
        Ok(())
    }

    /// Removes `key`, returning what was there.
    pub(super) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, StoreError> {
        Ok(match self {
            Tree::Sled(tree) => tree.remove(key)?,
            Tree::Fjall { partition, .. } => {
                let key = key.as_ref();
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
            Tree::Fjall { partition, keyspace } => {
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
            Tree::Fjall { partition, .. } => Iter::fjall(partition.iter()),
        }
    }

    pub(super) fn range<K: AsRef<[u8]> + 'static, R: RangeBounds<K> + 'static>(&self, range: R) -> Iter {
        match self {
            Tree::Sled(tree) => Iter::sled(tree.range(range)),
            Tree::Fjall { partition, .. } => Iter::fjall(partition.range(range)),
        }
    }

    pub(super) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        match self {
            Tree::Sled(tree) => Iter::sled(tree.scan_prefix(prefix)),
            Tree::Fjall { partition, .. } => Iter::fjall(partition.prefix(prefix.as_ref())),
        }
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
            Tree::Fjall { partition, keyspace } => {
                let mut fjall_batch = fjall::Batch::with_capacity(keyspace.keyspace.clone(), batch.writes.len());
                for (key, value) in batch.writes {
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
