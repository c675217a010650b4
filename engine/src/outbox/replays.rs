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

#[cfg(test)]
mod tests {
    use forms::HookName;
    use std::sync::Arc;

    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::REPLAY_WINDOW;
    use crate::outbox::Inbound;
    use crate::store::{InboundReceipt, Store as _};
    use crate::{Actor, Engine, EngineConfig, ManualClock, SpaceName};

    fn receipt(message_id: &str) -> InboundReceipt {
        InboundReceipt {
            space: forms::SpaceName::parse("cs").expect("name"),
            hook: "usage".into(),
            message_id: message_id.into(),
        }
    }

    /// A message id is a replay within the window, is forgotten after it (storage holds one
    /// window's ids), and then counts as a new post.
    #[tokio::test]
    async fn message_ids_are_refused_within_the_window_and_forgotten_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let start: DateTime<Utc> = "2027-01-04T10:00:00Z".parse().expect("instant");
        let clock = ManualClock::new(start);
        let engine = Engine::open(EngineConfig { clock: Arc::new(clock.clone()), ..EngineConfig::new(dir.path()) })
            .expect("engine");
        let actor = Actor::system();
        let (cs, usage) = (SpaceName::from_static("cs"), HookName::from_static("usage"));
        engine.create_space(&actor, &cs, None).await.expect("space");
        engine.put_hook(&cs, &usage, &json!({})).await.expect("hook");
        let post = |id: &'static str| engine.receive_inbound(&actor, &cs, &usage, json!({}), Some(id));

        assert!(matches!(post("m1").await.expect("first"), Inbound::Appended(_)));
        clock.advance(REPLAY_WINDOW - chrono::Duration::seconds(1));
        assert!(matches!(post("m1").await.expect("replay"), Inbound::Replay));
        assert!(engine.store().inbound_receipt(&receipt("m1")).expect("read").is_some());

        clock.advance(chrono::Duration::minutes(2));
        assert!(matches!(post("m2").await.expect("another"), Inbound::Appended(_)));
        assert_eq!(engine.store().inbound_receipt(&receipt("m1")).expect("read"), None, "m1 expired");
        assert!(matches!(post("m1").await.expect("after the window"), Inbound::Appended(_)));
        assert_eq!(engine.events_after(0, 100).expect("events").len(), 3, "three posts appended, the replay not");
    }
}
