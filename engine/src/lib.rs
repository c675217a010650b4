//! What happens when records change.
//!
//! The [`Engine`] façade is the crate's API boundary: callers (the `web` crate, the CLI, tests,
//! benchmarks) create spaces, store form definitions and read and write records through it,
//! and get plain Rust types and [`EngineError`]s back. Inside:
//! - `model` holds the stored types; `store` is the storage trait and its sled backend (the
//!   only code that names sled), crate-private;
//! - `definitions` stores form versions and keeps indexes in step with them;
//! - `records` is the write path: compute fields, validate, check rules and pipelines,
//!   compute index entries, commit record + index + event in one transaction, wait for the
//!   group-commit flush;
//! - `listing` plans and runs filtered, sorted, paginated queries;
//! - [`query`] is the filter/sort language, the index key encoding and cursors;
//! - [`rules`] is the sandboxed rhai layer behind computed fields and rules;
//! - `spaces` makes spaces from template packs and copies of other spaces;
//! - [`workflows`] stores workflow definitions and runs them from the event log, exactly once;
//! - [`outbox`] delivers what workflows send (through a [`outbox::Transport`] the caller
//!   implements) and turns posts to inbound hooks into events;
//! - [`clock`] is the one source of time; `calendar` is zone, DST and cron arithmetic;
//! - [`policy`]: a form's record policy applied to one caller (scope, hidden and read-only
//!   fields), asked wherever record data enters or leaves;
//! - [`views`]: saved views (filter, sort, columns) of a form, personal or shared;
//! - [`sessions`]: browser sessions and one-time sign-in links, beside the tokens of [`auth`];
//! - [`people`]: users, space memberships (roles, teams), a caller's standing in a space, the
//!   audit log;
//! - [`backup`]: a consistent snapshot of the whole database as one archive, and its restore.
//!
//! The modules are layered (ARCHITECTURE.md, "Layers inside `engine`"): none imports from a
//! layer above its own.
//!
//! Architecture invariant: the engine knows no HTTP (no axum, hyper, tower, reqwest, lettre).

pub mod aggregate;
pub mod auth;
pub mod backup;
mod calendar;
pub mod clock;
mod counting;
pub mod dashboards;
mod definitions;
mod drafts;
mod error;
mod fault;
mod import;
mod listing;
pub mod model;
pub mod outbox;
pub mod people;
pub mod policy;
pub mod query;
mod records;
pub mod rules;
pub mod sessions;
mod spaces;
mod store;
pub mod timers;
pub mod upcoming;
pub mod views;
pub mod workflows;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use forms::CompiledForm;
use uuid::Uuid;

pub use crate::auth::{NewToken, Principal, Role, TokenInfo};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::definitions::PutFormOutcome;
pub use crate::drafts::{ComputedOutcome, DraftEvaluation, RuleOutcome, ScriptProblem};
pub use crate::error::{EngineError, ErrorCode, FailingRecord, Result};
pub use crate::fault::FAULT_VAR;
pub use crate::import::{
    ImportMode, ImportOptions, ImportReport, ImportRow, Importer, RowError, DEFAULT_CHUNK_ROWS, MAX_REPORTED_ERRORS,
};
pub use crate::listing::{ListQuery, Page, QueryPlan, MAX_LIMIT};
pub use crate::model::{
    Access, Actor, CopiedFrom, Event, EventKind, Record, Space, SpaceRole, StoredForm, TemplateRef,
};
pub use crate::store::{database_lock_file, StorageConfig, StorageEngine, StoreError, CRASH_POINT_VAR};
use crate::store::{Backend, Store};
pub use forms::{DashboardName, EndpointName, FormName, HookName, SpaceName, ViewName, WorkflowName};

/// How to open an engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Limits for every script evaluation.
    pub script_limits: rules::ScriptLimits,
    /// Workflow processor settings.
    pub processor: workflows::ProcessorConfig,
    /// Database settings.
    pub storage: StorageConfig,
}

impl EngineConfig {
    /// Production settings for `data_dir`: the system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            clock: Arc::new(SystemClock),
            script_limits: rules::ScriptLimits::default(),
            processor: workflows::ProcessorConfig::default(),
            storage: StorageConfig::default(),
        }
    }
}

/// A form version ready to validate records: the stored definition, its compiled schema and
/// its compiled scripts.
#[derive(Debug, Clone)]
pub struct LoadedForm {
    /// The space it belongs to.
    pub space: SpaceName,
    /// As stored.
    pub stored: StoredForm,
    /// Compiled.
    pub compiled: CompiledForm,
    /// Computed fields in evaluation order (name order), each with its compiled expression.
    pub computed: Vec<(String, Arc<rules::Script>)>,
    /// Rules with their compiled expressions.
    pub rules: Vec<(forms::Rule, Arc<rules::Script>)>,
    /// How long writes evaluating its scripts have taken, which decides where they run.
    pub(crate) pace: Arc<rules::ScriptPace>,
}

/// What work passed to [`Engine::evaluating`] evaluates, which decides where it runs.
#[derive(Clone)]
pub(crate) enum Scripted {
    /// No scripts: it runs where it is, sparing it the hand-off.
    No,
    /// Scripts of unknown cost: on a blocking thread.
    Yes,
    /// A form's scripts: where their [`rules::ScriptPace`] says.
    Form(Arc<rules::ScriptPace>),
}

/// The engine. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// The façade's parts. The shared services (the store, the clock, scripts, ids) are used by
/// every subsystem; each subsystem owns its own in-memory state.
struct Inner {
    store: Backend,
    clock: Arc<dyn Clock>,
    scripts: rules::Scripts,
    /// Keeps UUIDv7 ids strictly increasing within one millisecond.
    ids: Mutex<uuid::ContextV7>,
    /// Compiled forms and workflows, the trigger index as read, the schema lock.
    definitions: definitions::Definitions,
    /// The workflow processor's settings, bell and cron bookkeeping.
    processor: workflows::Processor,
    /// The timer scheduler's bell.
    scheduler: timers::Scheduler,
    /// Deliveries being attempted, and the delivery worker's bell.
    deliveries: outbox::DeliveryWorker,
    /// Tokens already authenticated.
    tokens: auth::Tokens,
    /// Users and standings already read.
    people: people::People,
    /// Inbound posts being checked for replays.
    inbound: outbox::InboundReplays,
    /// The aggregate columns of the forms aggregates read (the store's observer of writes).
    columns: Arc<aggregate::ColumnStore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the database in `config.data_dir`, creating it if needed.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let store = Backend::open(&config.data_dir, &config.storage)?;
        let columns = Arc::new(aggregate::ColumnStore::default());
        store.observe(Arc::clone(&columns) as Arc<dyn store::WriteObserver>);
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                scripts: rules::Scripts::new(config.script_limits, Arc::clone(&config.clock)),
                clock: config.clock,
                ids: Mutex::new(uuid::ContextV7::new()),
                definitions: definitions::Definitions::default(),
                processor: workflows::Processor::new(config.processor),
                scheduler: timers::Scheduler::default(),
                deliveries: outbox::DeliveryWorker::default(),
                tokens: auth::Tokens::default(),
                people: people::People::default(),
                inbound: outbox::InboundReplays::default(),
                columns,
            }),
        })
    }

    /// Flushes everything and stops background work. Call once, at shutdown.
    pub fn close(&self) -> Result<()> {
        self.inner.store.close()?;
        Ok(())
    }

    /// Whether storage answers reads and takes writes (for readiness probes).
    pub fn is_healthy(&self) -> bool {
        self.storage_problem().is_none()
    }

    /// Why storage can't serve reads and writes now (a full disk, say), if it can't.
    pub fn storage_problem(&self) -> Option<String> {
        self.inner.store.problem()
    }

    /// The current instant, as the engine stores it (microsecond precision).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now().trunc_subsecs(6)
    }

    /// The last event sequence number.
    pub fn last_event_seq(&self) -> u64 {
        self.inner.store.last_seq()
    }

    /// Events after `after`, in order (the event log as a whole).
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        Ok(self.inner.store.events_after(after, limit)?)
    }

    fn store(&self) -> &Backend {
        &self.inner.store
    }

    /// Commits record writes (and what a run writes besides) through the store, then wakes the
    /// workflow processor for the events they appended. Every record write goes through here.
    async fn commit(
        &self,
        writes: Vec<store::RecordWrite>,
        extras: store::Extras,
    ) -> Result<Vec<Event>, store::StoreError> {
        let changes_timers = !extras.timers.is_empty() || writes.iter().any(|write| !write.timers.is_empty());
        let delivers = !extras.deliveries.is_empty();
        let events = self.store().commit(writes, extras).await?;
        if !events.is_empty() {
            self.inner.processor.wake();
        }
        if changes_timers {
            self.inner.scheduler.wake();
        }
        if delivers {
            self.inner.deliveries.wake();
        }
        Ok(events)
    }

    /// Runs `work`, which evaluates admins' scripts as `scripted` says, on a blocking thread
    /// unless that is known to cost more than the work: a script may spin until its timeout,
    /// and on a runtime thread it would hold up every other request and task that thread
    /// serves (`/healthz`, writes in other spaces). Work without scripts runs where it is, and
    /// so does a form's once its scripts have proved fast (`rules::pace`).
    pub(crate) async fn evaluating<T: Send + 'static>(
        &self,
        scripted: Scripted,
        work: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pace = match scripted {
            Scripted::No => return work(self),
            Scripted::Form(pace) if pace.in_place() => {
                metrics::counter!("tend_script_work_total", "thread" => "in_place").increment(1);
                return timed(&pace, || work(self));
            }
            Scripted::Form(pace) => Some(pace),
            Scripted::Yes => None,
        };
        metrics::counter!("tend_script_work_total", "thread" => "blocking").increment(1);
        let engine = self.clone();
        let blocking = tokio::task::spawn_blocking(move || match pace {
            Some(pace) => timed(&pace, || work(&engine)),
            None => work(&engine),
        });
        match blocking.await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(EngineError::Internal(format!("script evaluation was cancelled: {err}"))),
        }
    }

    fn new_record_id(&self, at: DateTime<Utc>) -> Uuid {
        let context = self.inner.ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
        Uuid::new_v7(uuid::Timestamp::from_unix(&*context, seconds, at.timestamp_subsec_nanos()))
    }

    // ---- tokens ----

    /// Creates a token and returns its secret, which is not stored and can't be shown again.
    /// A `Role::Admin` token acts for the bootstrap user (everything); a user's token is
    /// checked against its user (who must exist) and, when narrowed, its space.
    pub async fn create_token(&self, new: NewToken) -> Result<(String, TokenInfo)> {
        if let Some(user) = new.user_id.as_deref() {
            self.user(user)?;
        } else if new.role != Role::Admin {
            return Err(EngineError::Internal("a user token needs its user".into()));
        }
        if let Some(space) = &new.space {
            self.space(space)?;
        }
        self.inner.tokens.create(self.store(), new, self.now()).await
    }

    /// A bootstrap admin token (the first start, `tend token create --admin`).
    pub async fn create_admin_token(&self, label: Option<String>) -> Result<(String, TokenInfo)> {
        self.create_token(NewToken { role: Role::Admin, label, ..NewToken::default() }).await
    }

    /// The caller a bearer secret belongs to, if any: not for an expired token, nor for one
    /// whose user is disabled or gone.
    pub fn authenticate(&self, secret: &str) -> Result<Option<Principal>> {
        match self.inner.tokens.authenticate(self.store(), secret, self.now())? {
            Some(principal) => self.current_caller(principal),
            None => Ok(None),
        }
    }

    /// Tokens (without secrets), oldest first: every token for `None`, else one user's.
    pub fn tokens(&self, of_user: Option<&str>) -> Result<Vec<TokenInfo>> {
        let mut tokens = self.inner.tokens.list(self.store())?;
        if let Some(user) = of_user {
            tokens.retain(|token| token.user_id.as_deref() == Some(user));
        }
        Ok(tokens)
    }

    /// Revokes the token with public id `id` for `by` (its user's own, or any for a
    /// superadmin; someone else's answers like one that doesn't exist): from the answer on,
    /// its secret authenticates nothing.
    pub async fn revoke_token(&self, by: &Principal, id: &str) -> Result<TokenInfo> {
        if !by.superadmin {
            let own = self.tokens(by.user_id.as_deref())?;
            if by.user_id.is_none() || !own.iter().any(|token| token.id == id) {
                return Err(EngineError::not_found("token", id));
            }
        }
        self.inner.tokens.revoke(self.store(), id).await
    }

    /// Whether any token exists (an empty data dir gets a first admin token at start).
    pub fn has_tokens(&self) -> Result<bool> {
        Ok(self.store().has_tokens()?)
    }
}

/// Runs `work`, telling `pace` how much of this thread's CPU time it took: under load a
/// thread is descheduled often, and the wall-clock time of even a tiny evaluation would say
/// "slow".
fn timed<T>(pace: &rules::ScriptPace, work: impl FnOnce() -> T) -> T {
    let started = thread_time();
    let result = work();
    if let (Some(started), Some(ended)) = (started, thread_time()) {
        pace.record(ended.saturating_sub(started));
    } else {
        pace.record(Duration::MAX);
    }
    result
}

/// The CPU time this thread has used, where the platform tells it.
fn thread_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let now = nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID.now().ok()?;
        Some(Duration::new(u64::try_from(now.tv_sec()).ok()?, u32::try_from(now.tv_nsec()).ok()?))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
