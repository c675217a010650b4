//! Fault injection for tests, compiled into every build and inert unless [`FAULT_VAR`] is set:
//! crash tests stop the server at a named point instead of wherever a SIGKILL lands, and
//! disk-full tests make the store's flushes fail. Never set it in production.
//!
//! `TEND_FAULT` is a comma-separated list of:
//! - `<point>:<n>`: abort the process (SIGABRT, no unwinding, nothing flushed) the n-th time
//!   `point` is reached, counting from 1. Points: `committer-applied` (a batch is applied, not
//!   yet flushed), `processor-batch` (the processor has planned part of a batch of events and
//!   committed nothing of it), `cron-fire` (the scheduler has read a due cron timer and
//!   computed its next occurrence, committed nothing), `import-chunk-stored` (a chunk of an
//!   import is committed; an all-or-nothing import has not finished);
//! - `flush-enospc:<file>`: every flush of the store fails with "no space left on device"
//!   while `file` exists.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that sets faults.
pub const FAULT_VAR: &str = "TEND_FAULT";

struct Faults {
    /// (point, n, times reached so far).
    aborts: Vec<(String, u64, AtomicU64)>,
    /// Flushes fail while this file exists.
    flush_fails_while: Option<PathBuf>,
}

fn faults() -> &'static Faults {
    static FAULTS: OnceLock<Faults> = OnceLock::new();
    FAULTS.get_or_init(|| {
        let mut faults = Faults { aborts: Vec::new(), flush_fails_while: None };
        let spec = std::env::var(FAULT_VAR).unwrap_or_default();
        for fault in spec.split(',').filter(|fault| !fault.is_empty()) {
            match fault.split_once(':') {
                Some(("flush-enospc", file)) => faults.flush_fails_while = Some(PathBuf::from(file)),
                Some((point, n)) if n.parse::<u64>().is_ok_and(|n| n > 0) => {
                    faults.aborts.push((point.to_owned(), n.parse().unwrap_or(1), AtomicU64::new(0)));
                }
                _ => {
                    tracing::warn!(fault, "ignoring a {FAULT_VAR} entry that is not <point>:<n> or flush-enospc:<file>")
                }
            }
        }
        faults
    })
}

/// Marks `point` reached; aborts the process if a fault names this time.
pub(crate) fn reached(point: &str) {
    for (name, n, times) in &faults().aborts {
        if name == point && times.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            eprintln!("{FAULT_VAR}: aborting at {point} ({n})");
            std::process::abort();
        }
    }
}

/// The error a flush fails with now, if a fault says it fails.
pub(crate) fn flush_failure() -> Option<std::io::Error> {
    let file = faults().flush_fails_while.as_ref()?;
    file.exists().then(|| std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"))
}
