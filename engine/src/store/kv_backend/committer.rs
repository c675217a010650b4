//! The committer: one thread that applies every record write and makes it durable.
//!
//! sled 0.34 keeps writes in memory until the log is flushed, and every batch or transaction
//! takes a process-wide lock that a running flush holds for its whole fsync. Writers that each
//! committed and then waited for a shared flush would spend the fsync blocked on that lock. So
//! writers hand their writes to this thread instead and wait without blocking: the thread takes
//! everything queued, has `staging` check versions, assign sequence numbers and lay out the
//! keys, applies it all as ONE atomic batch, flushes, and only then answers every writer. One batch and one fsync serve every
//! write that arrived during the previous fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::engines::{Db, Tree};
use super::snapshot::Snapshots;
use super::staging::{BatchBuilder, Built, Staging};
use super::{Shared, Trees, TIMER_QUEUE};
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
    /// The last event committed (read by `Store::last_seq`): published once its batch is
    /// durable, and read without waiting for a batch being flushed.
    pub(super) last_seq: Arc<AtomicU64>,
}

impl Committer {
    pub(super) fn start(shared: Arc<Shared>, trees: Trees, snapshots: Arc<Snapshots>, last_seq: u64) -> Committer {
        let (sender, receiver) = mpsc::channel();
        let last_seq = Arc::new(AtomicU64::new(last_seq));
        let crash_when_outbox_applied = std::env::var(CRASH_POINT_VAR).is_ok_and(|point| point == "outbox-applied");
        let worker = Worker {
            shared,
            db: Some(trees.db),
            data: Some(trees.data),
            snapshots,
            last_seq: Arc::clone(&last_seq),
            crash_when_outbox_applied,
        };
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
    shared: Arc<Shared>,
    /// The open database (`None` only while it is reopened).
    db: Option<Db>,
    data: Option<Tree>,
    /// Batches are applied through it, so a backup being read sees none of them.
    snapshots: Arc<Snapshots>,
    /// The last event committed.
    /// The committer alone writes it; readers share it (`Committer::last_seq`).
    last_seq: Arc<AtomicU64>,
    /// The `outbox-applied` crash point ([`CRASH_POINT_VAR`]).
    crash_when_outbox_applied: bool,
}

/// A request's answer, sent once the batch it was in is durable.
enum Pending {
    Write(oneshot::Sender<Result<Vec<Event>, StoreError>>, Result<Vec<Event>, StoreError>),
    Barrier(oneshot::Sender<Result<(), StoreError>>),
}

impl Worker {
    fn run(mut self, receiver: Receiver<Request>) {
        loop {
            let first = match receiver.recv_timeout(Duration::from_secs(1)) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => {
                    if self.shared.problem().is_some() {
                        self.recover();
                    }
                    continue;
                }
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

    fn commit(&mut self, requests: Vec<Request>) {
        if let Some(problem) = self.shared.problem() {
            if !self.recover() {
                // Nothing is applied while storage is failing: sled keeps what it applied in
                // memory, readable, though a crash would lose it.
                let refused = StoreError::Durability(Arc::new(std::io::Error::other(problem)));
                for request in requests {
                    match request {
                        Request::Barrier { reply } => drop(reply.send(Err(refused.clone()))),
                        Request::Write { reply, .. } => drop(reply.send(Err(refused.clone()))),
                    }
                }
                return;
            }
        }
        let (Some(db), Some(data)) = (self.db.clone(), self.data.clone()) else { return };
        let mut pending = Vec::with_capacity(requests.len());
        let mut builder = BatchBuilder::new(&data, self.last_seq.load(Ordering::Relaxed));
        let mut written = 0u64;
        let mut writes_outbox = false;
        let mut queued = Vec::new();
        for request in requests {
            match request {
                Request::Barrier { reply } => pending.push(Pending::Barrier(reply)),
                Request::Write { writes, events, timers, entries, reply } => {
                    writes_outbox |= entries
                        .iter()
                        .any(|(key, value)| value.is_some() && key.first() == super::keys::delivery_prefix().first());
                    let due = |key: &Vec<u8>| key.first() == super::keys::due_prefix().first();
                    queued.extend(entries.iter().filter(|(key, value)| value.is_some() && due(key)).filter_map(
                        |(key, _)| super::keys::parse_due(key).map(|(group, at, _)| (group.to_owned(), at)),
                    ));
                    let result = builder.stage(Staging { writes, standalone: events, timers, entries });
                    if let Ok(events) = &result {
                        written += events.len() as u64;
                    }
                    pending.push(Pending::Write(reply, result));
                }
            }
        }
        let Built { batch, seq, applied, earliest_timer } = builder.finish();
        let started = Instant::now();
        let outcome = self
            .snapshots
            .apply(&data, batch)
            .map_err(|err| match err {
                StoreError::Backend(source) => StoreError::Durability(source),
                other => other,
            })
            .inspect(|()| {
                if self.crash_when_outbox_applied && writes_outbox {
                    std::thread::sleep(Duration::from_millis(1_500));
                    std::process::abort();
                }
                crate::fault::reached("committer-applied");
            })
            .and_then(|()| super::flush_db(&db));
        // Once applied, a delivery or timer queued is where readers of its queue look for it.
        for (group, at) in &queued {
            self.shared.due_floors.lower(group, *at);
        }
        if let Some(floor) = earliest_timer {
            self.shared.timer_floor.lower(TIMER_QUEUE, floor);
        }
        metrics::histogram!("tend_store_flush_seconds").record(started.elapsed().as_secs_f64());
        match &outcome {
            Ok(()) => {
                // Before any writer is answered: a read after the answer sees the write.
                if let Some(observer) = self.shared.observer() {
                    if !applied.is_empty() {
                        observer.applied(applied);
                    }
                }
                self.last_seq.store(seq, Ordering::Release);
                metrics::counter!("tend_records_written_total").increment(written);
                metrics::counter!("tend_events_appended_total").increment(written);
            }
            Err(err) => {
                tracing::error!(error = %err, "committing a batch failed");
                let problem = match err {
                    StoreError::Durability(source) => source.to_string(),
                    other => other.to_string(),
                };
                self.shared.set_problem(Some(problem));
                // Views built from reads may hold the batch: dropped before its writers hear of
                // the failure, and again after the reopen below (a view built meanwhile read the
                // old database).
                if let Some(observer) = self.shared.observer() {
                    observer.reset();
                }
            }
        }
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
        if outcome.is_err() {
            // What the batch applied is in sled's memory but maybe not on disk, and sled may
            // refuse every later write: start again from what is on disk.
            drop((db, data));
            let trees = self.shared.reopen(|| {
                self.db = None;
                self.data = None;
            });
            match trees.last_seq() {
                Ok(seq) => self.last_seq.store(seq, Ordering::Release),
                Err(err) => tracing::error!(error = %err, "reading the event log after a reopen"),
            }
            self.db = Some(trees.db);
            self.data = Some(trees.data);
            if let Some(observer) = self.shared.observer() {
                observer.reset();
            }
        }
    }

    /// Whether storage takes writes again (after a failed flush): a small file can be written
    /// and synced beside the database, and a flush succeeds. Clears the problem when it does.
    fn recover(&mut self) -> bool {
        let probe = self.shared.dir().join(".tend-write-probe");
        let written = std::fs::File::create(&probe)
            .and_then(|mut file| {
                std::io::Write::write_all(&mut file, &[0; 64 * 1024])?;
                file.sync_all()
            })
            .map_err(|err| StoreError::Durability(Arc::new(err)));
        let _ = std::fs::remove_file(&probe);
        let flushed = match &self.db {
            Some(db) => written.and_then(|()| super::flush_db(db)),
            None => return false,
        };
        match flushed {
            Ok(()) => {
                self.shared.set_problem(None);
                true
            }
            Err(err) => {
                tracing::debug!(error = %err, "storage is still not writable");
                false
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
