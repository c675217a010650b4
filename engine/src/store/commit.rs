//! Group commit: many writers, one flush.
//!
//! sled 0.34 keeps committed transactions in memory until the log is flushed. A write is only
//! acknowledged once a flush that started after it has finished. One flusher thread runs
//! flushes back to back; every write that committed while a flush was running waits for the
//! next one, so a single fsync serves every writer waiting for it, and throughput grows with
//! the number of concurrent writers instead of being capped at one fsync per write.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::StoreError;

/// A write that committed in memory and waits to be flushed: its generation number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a write is only durable once its ticket has been awaited with Store::durable"]
pub struct Ticket(u64);

#[derive(Debug, Default)]
struct Pending {
    /// Generations handed out so far.
    written: u64,
    /// Generation covered by the last flush that was started.
    flushing: u64,
    stop: bool,
}

#[derive(Debug, Clone, Default)]
struct Flushed {
    /// Every generation up to this one is durable.
    upto: u64,
    /// Generations up to `failed_upto` were covered by a failed flush.
    failed_upto: u64,
    error: Option<Arc<String>>,
}

/// The flusher thread and the state writers wait on.
pub(super) struct GroupCommit {
    pending: Mutex<Pending>,
    wake: Condvar,
    flushed: watch::Sender<Flushed>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub(super) fn start(db: sled::Db) -> Arc<Self> {
        let commit = Arc::new(Self {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            flushed: watch::Sender::new(Flushed::default()),
            thread: Mutex::new(None),
        });
        let worker = Arc::clone(&commit);
        let handle = std::thread::Builder::new()
            .name("tend-flusher".into())
            .spawn(move || worker.run(db))
            .expect("spawning the flusher thread");
        *lock(&commit.thread) = Some(handle);
        commit
    }

    fn run(&self, db: sled::Db) {
        loop {
            let target = {
                let mut pending = lock(&self.pending);
                while pending.written == pending.flushing && !pending.stop {
                    pending = self.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
                }
                if pending.written == pending.flushing {
                    return; // stop requested and nothing left to flush
                }
                pending.flushing = pending.written;
                pending.written
            };
            let started = std::time::Instant::now();
            let result = db.flush();
            metrics::histogram!("tend_store_flush_seconds").record(started.elapsed().as_secs_f64());
            self.flushed.send_modify(|flushed| match result {
                Ok(_) => flushed.upto = target,
                Err(err) => {
                    tracing::error!(error = %err, "flushing the database failed");
                    flushed.failed_upto = target;
                    flushed.error = Some(Arc::new(err.to_string()));
                }
            });
        }
    }

    /// Records that a write committed in memory; the ticket says which flush makes it durable.
    pub(super) fn note_write(&self) -> Ticket {
        let mut pending = lock(&self.pending);
        pending.written += 1;
        let ticket = Ticket(pending.written);
        drop(pending);
        self.wake.notify_one();
        ticket
    }

    /// Waits until the write behind `ticket` is on disk.
    pub(super) async fn durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        let mut flushed = self.flushed.subscribe();
        let state = flushed
            .wait_for(|f| f.upto >= ticket.0 || f.failed_upto >= ticket.0)
            .await
            .map_err(|_| StoreError::Durability("the flusher stopped".into()))?;
        if state.upto >= ticket.0 {
            Ok(())
        } else {
            let reason = state.error.as_deref().cloned().unwrap_or_default();
            Err(StoreError::Durability(reason))
        }
    }

    /// Flushes what is pending and stops the thread.
    pub(super) fn stop(&self) {
        lock(&self.pending).stop = true;
        self.wake.notify_one();
        if let Some(handle) = lock(&self.thread).take() {
            let _ = handle.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
