//! Replays of inbound posts: a sender that did not see our answer (or an attacker who copied a
//! signed post) sends the same message again, with the same `webhook-id`. The message ids a
//! hook took are stored with the post's event, in the same batch, so a replay is recognised
//! after a restart too; they are forgotten once a replay could no longer pass the signature's
//! timestamp check, so storage stays bounded by the posts of one window.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// How far a signed post's timestamp may be from now (the Standard Webhooks tolerance, which
/// the `standardwebhooks` crate checks).
pub const SIGNATURE_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// How long a message id is kept: a post stamped up to one tolerance in the future can be
/// replayed until one tolerance after its stamp.
pub const REPLAY_WINDOW: TimeDelta = TimeDelta::minutes(10);

/// How often expired message ids are looked for.
const PRUNE_EVERY: TimeDelta = TimeDelta::minutes(1);

/// Serialises the check and the append of posts that share a message id, so two concurrent
/// copies of one post can't both pass the check, and remembers when receipts were last pruned.
pub(crate) struct InboundReplays {
    /// Posts take the lock their message id hashes to.
    locks: Vec<tokio::sync::Mutex<()>>,
    last_prune: Mutex<Option<DateTime<Utc>>>,
}

impl Default for InboundReplays {
    fn default() -> Self {
        Self { locks: (0..16).map(|_| tokio::sync::Mutex::new(())).collect(), last_prune: Mutex::new(None) }
    }
}

impl InboundReplays {
    /// The lock of posts with this message id.
    pub(crate) fn lock_for(&self, message_id: &str) -> &tokio::sync::Mutex<()> {
        let hash = message_id.bytes().fold(0usize, |hash, byte| hash.wrapping_mul(31).wrapping_add(byte.into()));
        &self.locks[hash % self.locks.len()]
    }

    /// Whether expired receipts are due to be looked for at `now` (and notes that they are).
    pub(crate) fn prune_due(&self, now: DateTime<Utc>) -> bool {
        let mut last = self.last_prune.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|last| now - last < PRUNE_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}
