//! The committer: one thread that applies every record write and makes it durable.
//!
//! sled 0.34 keeps writes in memory until the log is flushed, and every batch or transaction
//! takes a process-wide lock that a running flush holds for its whole fsync. Writers that each
//! committed and then waited for a shared flush would spend the fsync blocked on that lock. So
//! writers hand their writes to this thread instead and wait without blocking: the thread takes
//! everything queued, has `staging` check versions, assign sequence numbers and lay out the
//! keys, applies it all as ONE atomic batch, flushes, and only then answers every writer. One batch and one fsync serve every
//! write that arrived during the previous fsync.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::snapshot::Snapshots;
use super::staging::{BatchBuilder, Staging};
use crate::model::Event;
use crate::store::{RecordWrite, StoreError, TimerOp, CRASH_POINT_VAR};

/// The most writes one batch takes, so one huge queue can't make a batch unbounded.
const MAX_BATCH: usize = 4096;

pub(super) enum Request {
    /// Record writes, applied together or not at all; answered with their events once durable.
    Write {
        writes: Vec<RecordWrite>,
        /// Events without a record write.
        events: Vec<Event>,
        /// Timer changes.
        timers: Vec<TimerOp>,
        /// Other keys written (or removed, for `None`) with them: runs, outbox rows, cursors.
        entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        reply: oneshot::Sender<Result<Vec<Event>, StoreError>>,
    },
    /// Answered after the next flush: makes writes outside the committer (definitions, tokens) durable.
    Barrier { reply: oneshot::Sender<Result<(), StoreError>> },
}

/// The handle writers talk to.
pub(super) struct Committer {
    sender: Mutex<Option<Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Last assigned event sequence number (read by `Store::last_seq`).
    pub(super) last_seq: Arc<Mutex<u64>>,
}

impl Committer {
    pub(super) fn start(db: sled::Db, data: sled::Tree, snapshots: Arc<Snapshots>, last_seq: u64) -> Committer {
        let (sender, receiver) = mpsc::channel();
        let last_seq = Arc::new(Mutex::new(last_seq));
        let crash_when_outbox_applied = std::env::var(CRASH_POINT_VAR).is_ok_and(|point| point == "outbox-applied");
        let worker = Worker { db, data, snapshots, last_seq: Arc::clone(&last_seq), crash_when_outbox_applied };
        let thread = std::thread::Builder::new()
            .name("tend-committer".into())
            .spawn(move || worker.run(receiver))
            .expect("spawning the committer thread");
        Committer { sender: Mutex::new(Some(sender)), thread: Mutex::new(Some(thread)), last_seq }
    }

    pub(super) fn send(&self, request: Request) -> Result<(), StoreError> {
        let sender = lock(&self.sender);
        let sender = sender.as_ref().ok_or_else(|| StoreError::Closed)?;
        sender.send(request).map_err(|_| StoreError::Closed)
    }

    /// Lets queued writes finish, then stops the thread.
    pub(super) fn stop(&self) {
        lock(&self.sender).take();
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    db: sled::Db,
    data: sled::Tree,
    /// Batches are applied through it, so a backup being read sees none of them.
    snapshots: Arc<Snapshots>,
    last_seq: Arc<Mutex<u64>>,
    /// The `outbox-applied` crash point ([`CRASH_POINT_VAR`]).
    crash_when_outbox_applied: bool,
}

/// A request's answer, sent once the batch it was in is durable.
enum Pending {
    Write(oneshot::Sender<Result<Vec<Event>, StoreError>>, Result<Vec<Event>, StoreError>),
    Barrier(oneshot::Sender<Result<(), StoreError>>),
}

impl Worker {
    fn run(self, receiver: Receiver<Request>) {
        loop {
            let first = match receiver.recv_timeout(Duration::from_secs(1)) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut requests = vec![first];
            while requests.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(request) => requests.push(request),
                    Err(_) => break,
                }
            }
            self.commit(requests);
        }
    }

    fn commit(&self, requests: Vec<Request>) {
        let mut pending = Vec::with_capacity(requests.len());
        let mut last_seq = lock(&self.last_seq);
        let mut builder = BatchBuilder::new(&self.data, *last_seq);
        let mut written = 0u64;
        let mut writes_outbox = false;
        for request in requests {
            match request {
                Request::Barrier { reply } => pending.push(Pending::Barrier(reply)),
                Request::Write { writes, events, timers, entries, reply } => {
                    writes_outbox |= entries
                        .iter()
                        .any(|(key, value)| value.is_some() && key.first() == super::keys::delivery_prefix().first());
                    let result = builder.stage(Staging { writes, standalone: events, timers, entries });
                    if let Ok(events) = &result {
                        written += events.len() as u64;
                    }
                    pending.push(Pending::Write(reply, result));
                }
            }
        }
        let (batch, seq) = builder.finish();
        let started = Instant::now();
        let outcome = self
            .snapshots
            .apply(&self.data, batch)
            .map_err(|err| match err {
                StoreError::Backend(source) => StoreError::Durability(source),
                other => other,
            })
            .inspect(|()| {
                if self.crash_when_outbox_applied && writes_outbox {
                    std::thread::sleep(Duration::from_millis(1_500));
                    std::process::abort();
                }
            })
            .and_then(|()| self.db.flush().map(|_| ()).map_err(|err| StoreError::Durability(Arc::new(err))));
        metrics::histogram!("tend_store_flush_seconds").record(started.elapsed().as_secs_f64());
        match &outcome {
            Ok(()) => {
                *last_seq = seq;
                metrics::counter!("tend_records_written_total").increment(written);
                metrics::counter!("tend_events_appended_total").increment(written);
            }
            Err(err) => tracing::error!(error = %err, "committing a batch failed"),
        }
        drop(last_seq);
        for answer in pending {
            match answer {
                Pending::Barrier(reply) => {
                    let _ = reply.send(outcome.clone());
                }
                Pending::Write(reply, result) => {
                    let _ = reply.send(outcome.clone().and(result));
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
