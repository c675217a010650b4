//! Where a queue's due entries begin, as far as this process has read: each concurrency
//! group of the outbox's due index, and the timer queue (one instance each, so that inserts
//! into one queue don't hold back the floors of the other).
//!
//! A removed key stays in fjall as a tombstone until compaction drops it, and a range read
//! walks the tombstones in its range: a queue read from its start walks every delivery already
//! sent, or every timer already fired (a backlog of 20,000 deliveries drained at ~900/s
//! instead of ~7,400/s). So reads start at the group's floor. The committer lowers a group's floor to each entry it inserts, once the
//! entry is applied, and that counts as a change; a read raises the floor to what it found
//! only if nothing changed while it read. So a read that could not see an entry either has
//! its raise refused, or raised the floor before the entry's lowering, which undoes it: after
//! every applied insert, no due entry of a group is earlier than its floor.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct DueFloors(Mutex<Floors>);

#[derive(Default)]
struct Floors {
    /// Bumped by every insert and by [`DueFloors::forget`].
    changes: u64,
    /// By group: no due entry is earlier (µs since the epoch). A group not here reads from
    /// its start.
    floors: BTreeMap<String, u64>,
}

/// What a read starts from: the floors as they were, and the change count then.
pub(super) struct Start {
    changes: u64,
    floors: BTreeMap<String, u64>,
}

impl Start {
    /// Where `group`'s entries begin.
    pub(super) fn floor(&self, group: &str) -> u64 {
        self.floors.get(group).copied().unwrap_or(0)
    }

    /// The groups with a floor, in name order.
    pub(super) fn groups(&self) -> impl Iterator<Item = (&str, u64)> {
        self.floors.iter().map(|(group, floor)| (group.as_str(), *floor))
    }
}

impl DueFloors {
    pub(super) fn start(&self) -> Start {
        let floors = self.lock();
        Start { changes: floors.changes, floors: floors.floors.clone() }
    }

    /// `group` has no due entry before `to`, as read since `start`: kept unless an insert
    /// came in meanwhile.
    pub(super) fn raise(&self, start: &Start, group: &str, to: u64) {
        let mut floors = self.lock();
        if floors.changes == start.changes {
            let floor = floors.floors.entry(group.to_owned()).or_insert(0);
            *floor = (*floor).max(to);
        }
    }

    /// An entry due at `at` was inserted (applied).
    pub(super) fn lower(&self, group: &str, at: u64) {
        let mut floors = self.lock();
        floors.changes += 1;
        if let Some(floor) = floors.floors.get_mut(group) {
            *floor = (*floor).min(at);
        }
    }

    /// The database was reopened, and writes it had applied may be gone: removed entries may
    /// be back.
    pub(super) fn forget(&self) {
        let mut floors = self.lock();
        floors.changes += 1;
        floors.floors.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Floors> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_raises_the_floor_unless_an_insert_came_in_meanwhile() {
        let floors = DueFloors::default();
        let start = floors.start();
        assert_eq!(start.floor("g"), 0);
        floors.raise(&start, "g", 100);
        assert_eq!(floors.start().floor("g"), 100);

        let start = floors.start();
        floors.lower("g", 40);
        floors.raise(&start, "g", 200);
        assert_eq!(floors.start().floor("g"), 40, "the insert at 40 is not skipped");

        floors.forget();
        assert_eq!(floors.start().floor("g"), 0);
        assert_eq!(floors.start().groups().count(), 0);
    }
}
