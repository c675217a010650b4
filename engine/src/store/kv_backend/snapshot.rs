//! Consistent snapshots of the live database, for backups.
//!
//! sled 0.34 has no snapshots, and its iterators see writes made while they run, so a backup
//! that only walked the trees could hold half of a batch. A snapshot here is one instant kept
//! by copy-on-write: while a snapshot is being read, every write first saves the value each
//! key it changes had (its before-image), once per key, and the reader takes a saved value
//! over the live one. Writes go on during the whole read; they pause only while a snapshot
//! starts, for as long as writes already being applied take to finish (`gate`).
//!
//! Why the reader's result is the database at that instant, key by key:
//! - a key no write touched since the start is read live, and its live value is the old one;
//! - a key written since has a before-image, saved under `active`'s lock before the write
//!   was applied; the reader looks for it under the same lock after reading the key, so it
//!   never emits a value written after the start;
//! - a key removed since the start is missing from the walk: its before-image is emitted at
//!   the end of the tree, unless the walk had already passed it (the reader's position is
//!   kept beside the before-images for that).
//!
//! What it costs: while a snapshot is read, each write reads the old values of the keys it
//! changes (once per key) and keeps them in memory until the snapshot ends, so memory grows
//! with the number of distinct keys written during the backup.

use super::engines::{Batch, IVec, Tree};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, RwLock};

use crate::store::{SnapshotVisitor, StoreError};

/// The snapshot machinery shared by every writer of the store.
#[derive(Default)]
pub(super) struct Snapshots {
    /// Writers hold it shared while they save before-images and apply; a snapshot starts under
    /// it exclusively, so no write is half-way between the two then.
    gate: RwLock<()>,
    /// The before-images of the snapshot being read, if one is.
    active: Mutex<Option<HashMap<IVec, TreeImages>>>,
    /// One snapshot at a time.
    reading: Mutex<()>,
}

#[derive(Default)]
struct TreeImages {
    /// How far the reader has walked this tree.
    position: Position,
    /// Values as of the snapshot (`None`: absent then) of the keys written since.
    before: BTreeMap<Vec<u8>, BeforeImage>,
}

#[derive(Default)]
enum Position {
    #[default]
    NotStarted,
    /// The last key taken from the live tree.
    At(Vec<u8>),
    Finished,
}

struct BeforeImage {
    value: Option<IVec>,
    /// Whether the reader has emitted this key (or passed its place with its old value).
    emitted: bool,
}

impl Snapshots {
    /// Runs `apply`, which changes `keys` of `tree` (and nothing else), so that a snapshot being
    /// read sees none of it.
    pub(super) fn write<T, K: AsRef<[u8]>>(
        &self,
        tree: &Tree,
        keys: impl IntoIterator<Item = K>,
        apply: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _gate = self.save_before_images(tree, keys)?;
        apply()
    }

    /// Applies `batch` to `tree`, so that a snapshot being read sees none of it.
    pub(super) fn apply(&self, tree: &Tree, batch: Batch) -> Result<(), StoreError> {
        let _gate = self.save_before_images(tree, batch.keys())?;
        tree.apply_batch(batch)
    }

    /// Saves what `keys` of `tree` hold, if a snapshot is being read; the write that follows
    /// must happen while the returned gate is held.
    fn save_before_images<K: AsRef<[u8]>>(
        &self,
        tree: &Tree,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<std::sync::RwLockReadGuard<'_, ()>, StoreError> {
        let gate = self.gate.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(active) = lock(&self.active).as_mut() {
            let images = active.entry(tree.name()).or_default();
            for key in keys {
                images.save(tree, key.as_ref())?;
            }
        }
        Ok(gate)
    }

    /// Calls `visit(tree name, key, value)` with every entry of `trees` as they were at one
    /// instant, while writes go on.
    pub(super) fn read(&self, trees: &[(&str, &Tree)], visit: &mut SnapshotVisitor<'_>) -> Result<(), StoreError> {
        let _one_at_a_time = lock(&self.reading);
        {
            let _gate = self.gate.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            *lock(&self.active) = Some(HashMap::new());
        }
        let read = trees.iter().try_for_each(|(name, tree)| self.read_tree(name, tree, visit));
        *lock(&self.active) = None;
        read
    }

    fn read_tree(&self, name: &str, tree: &Tree, visit: &mut SnapshotVisitor<'_>) -> Result<(), StoreError> {
        let id = tree.name();
        for item in tree.iter() {
            let (key, live) = item?;
            let value = {
                let mut active = lock(&self.active);
                let images = active.get_or_insert_with(HashMap::new).entry(id.clone()).or_default();
                images.position = Position::At(key.to_vec());
                match images.before.get_mut(key.as_ref()) {
                    Some(image) => {
                        image.emitted = true;
                        image.value.clone()
                    }
                    None => Some(live),
                }
            };
            if let Some(value) = value {
                visit(name, &key, &value)?;
            }
        }
        // Keys removed (or removed and written again) since the start that the walk didn't meet.
        let removed: Vec<(Vec<u8>, IVec)> = {
            let mut active = lock(&self.active);
            let images = active.get_or_insert_with(HashMap::new).entry(id).or_default();
            images.position = Position::Finished;
            images
                .before
                .iter_mut()
                .filter(|(_, image)| !image.emitted)
                .filter_map(|(key, image)| {
                    image.emitted = true;
                    image.value.clone().map(|value| (key.clone(), value))
                })
                .collect()
        };
        for (key, value) in removed {
            visit(name, &key, &value)?;
        }
        Ok(())
    }
}

impl TreeImages {
    /// Saves `key`'s value unless it was saved already. Called before any write of the
    /// snapshot's lifetime reaches the key, so the value read is the one at the start.
    fn save(&mut self, tree: &Tree, key: &[u8]) -> Result<(), StoreError> {
        if self.before.contains_key(key) {
            return Ok(());
        }
        // A key at or before the reader's position was read live with this very value.
        let emitted = match &self.position {
            Position::NotStarted => false,
            Position::At(position) => key <= position.as_slice(),
            Position::Finished => true,
        };
        let value = tree.get(key)?;
        self.before.insert(key.to_vec(), BeforeImage { value, emitted });
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kv_backend::engines::Db;
    use crate::store::{StorageConfig, StorageEngine};

    fn collect(snapshots: &Snapshots, tree: &Tree, during: impl Fn(usize)) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut seen = BTreeMap::new();
        let mut step = 0;
        snapshots
            .read(&[("t", tree)], &mut |_, key, value| {
                during(step);
                step += 1;
                assert!(seen.insert(key.to_vec(), value.to_vec()).is_none(), "a key emitted twice");
                Ok(())
            })
            .expect("read");
        seen
    }

    /// Runs `test` on a tree of each engine.
    fn on_each_engine(test: impl Fn(&Tree)) {
        for engine in [StorageEngine::Sled, StorageEngine::Fjall] {
            let dir = tempfile::tempdir().expect("temp dir");
            let settings = StorageConfig { cache_mb: 8, engine };
            let db = Db::open(dir.path(), &settings, false).ok().expect("db");
            test(&db.open_tree("t").expect("tree"));
        }
    }

    #[test]
    fn writes_during_the_read_are_invisible() {
        on_each_engine(writes_during_the_read_are_invisible_on);
    }

    fn writes_during_the_read_are_invisible_on(tree: &Tree) {
        let snapshots = Snapshots::default();
        for n in 0u32..100 {
            tree.insert(n.to_be_bytes(), &n.to_be_bytes()).expect("insert");
        }
        let expected: BTreeMap<Vec<u8>, Vec<u8>> =
            (0u32..100).map(|n| (n.to_be_bytes().to_vec(), n.to_be_bytes().to_vec())).collect();
        let seen = collect(&snapshots, tree, |step| {
            let step = step as u32;
            // Change keys behind and ahead of the reader, remove some, add new ones.
            let mut changes = Batch::default();
            changes.insert((step * 7 % 100).to_be_bytes().to_vec(), b"changed".to_vec());
            changes.remove(((step * 13 + 5) % 100).to_be_bytes().to_vec());
            changes.insert((1000 + step).to_be_bytes().to_vec(), b"new".to_vec());
            snapshots.apply(tree, changes).expect("apply");
        });
        assert_eq!(seen, expected);
        // Nothing is kept once the snapshot is read, and writes apply as usual.
        assert!(lock(&snapshots.active).is_none());
        assert!(tree.get(1000u32.to_be_bytes()).expect("get").is_some());
    }

    #[test]
    fn single_writes_are_covered_too() {
        on_each_engine(single_writes_are_covered_too_on);
    }

    fn single_writes_are_covered_too_on(tree: &Tree) {
        let snapshots = Snapshots::default();
        tree.insert(b"a", b"1").expect("insert");
        tree.insert(b"b", b"2").expect("insert");
        let seen = collect(&snapshots, tree, |_| {
            snapshots.write(tree, [b"b"], || tree.remove(b"b")).expect("remove");
            snapshots.write(tree, [b"a"], || tree.insert(b"a", b"9")).expect("insert");
        });
        assert_eq!(seen.get(b"a".as_slice()).map(Vec::as_slice), Some(b"1".as_slice()));
        assert_eq!(seen.get(b"b".as_slice()).map(Vec::as_slice), Some(b"2".as_slice()));
    }
}
