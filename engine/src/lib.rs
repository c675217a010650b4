//! What happens when records change.
//!
//! The [`Engine`] façade is the crate's API boundary: callers (the `web` crate, the CLI, tests,
//! benchmarks) create spaces, store form definitions and read and write records through it,
//! and get plain Rust types and [`EngineError`]s back. Inside:
//! - [`store`] owns the sled database (the only module that names sled);
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
//! - [`clock`] is the one source of time;
//! - [`views`]: saved views (filter, sort, columns) of a form, personal or shared;
//! - [`sessions`]: browser sessions and one-time sign-in links, beside the tokens of [`auth`].
//!
//! Architecture invariant: the engine knows no HTTP (no axum, hyper, tower, reqwest, lettre).

pub mod auth;
pub mod clock;
mod counting;
mod definitions;
mod error;
mod listing;
pub mod model;
pub mod outbox;
pub mod query;
mod records;
pub mod rules;
pub mod sessions;
mod spaces;
pub mod store;
pub mod timers;
pub mod views;
pub mod workflows;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, SubsecRound, Utc};
use forms::{CompiledForm, FormName, SpaceName};
use uuid::Uuid;

pub use crate::auth::{Principal, Role, TokenInfo};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::definitions::PutFormOutcome;
pub use crate::error::{EngineError, ErrorCode, FailingRecord, Result};
pub use crate::listing::{ListQuery, Page, QueryPlan, MAX_LIMIT};
pub use crate::model::{Actor, CopiedFrom, Event, EventKind, Record, Space, StoredForm, TemplateRef};
use crate::store::Store;

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
    pub storage: store::StorageConfig,
}

impl EngineConfig {
    /// Production settings for `data_dir`: the system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            clock: Arc::new(SystemClock),
            script_limits: rules::ScriptLimits::default(),
            processor: workflows::ProcessorConfig::default(),
            storage: store::StorageConfig::default(),
        }
    }
}

/// A form version ready to validate records: the stored definition, its compiled schema and
/// its compiled scripts.
#[derive(Debug, Clone)]
pub struct LoadedForm {
    /// As stored.
    pub stored: StoredForm,
    /// Compiled.
    pub compiled: CompiledForm,
    /// Computed fields in evaluation order (name order), each with its compiled expression.
    pub computed: Vec<(String, Arc<rules::Script>)>,
    /// Rules with their compiled expressions.
    pub rules: Vec<(forms::Rule, Arc<rules::Script>)>,
}

/// The engine. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    scripts: rules::Scripts,
    /// Latest version of each form, compiled once: compiling a schema costs far more than
    /// validating a record against it.
    forms: RwLock<HashMap<(SpaceName, FormName), Arc<LoadedForm>>>,
    /// Record writes hold it shared; a form change holds it exclusively, so the check "every
    /// stored record fits the new schema" and the index rebuild see no concurrent writes.
    schema_lock: tokio::sync::RwLock<()>,
    /// Compiled workflow versions.
    workflows: workflows::WorkflowCache,
    /// The trigger index, as read from the store; cleared whenever a workflow is stored.
    triggers: workflows::TriggerCache,
    /// Woken by every commit, so the processor picks up new events at once.
    processor_wake: tokio::sync::Notify,
    /// Woken by every commit that changes timers, so the scheduler sees an earlier one at once.
    scheduler_wake: tokio::sync::Notify,
    /// When the last run of each cron workflow ended, by (space, workflow): a run that starts
    /// after its occurrence because the previous one was still going says so.
    cron_runs: Mutex<HashMap<(String, String), DateTime<Utc>>>,
    processor: workflows::ProcessorConfig,
    /// Deliveries being attempted, and the delivery worker's bell.
    outbox: outbox::OutboxState,
    /// Tokens seen, by hash: every request authenticates, and tokens are never changed in
    /// place, so a hit needs no storage read.
    tokens: RwLock<HashMap<String, Principal>>,
    /// Keeps UUIDv7 ids strictly increasing within one millisecond.
    ids: Mutex<uuid::ContextV7>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the database in `config.data_dir`, creating it if needed.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|err| store::StoreError::Backend(format!("creating {}: {err}", config.data_dir.display())))?;
        let store = Store::open(&config.data_dir, &config.storage)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                scripts: rules::Scripts::new(config.script_limits, Arc::clone(&config.clock)),
                clock: config.clock,
                forms: RwLock::new(HashMap::new()),
                schema_lock: tokio::sync::RwLock::new(()),
                tokens: RwLock::new(HashMap::new()),
                workflows: RwLock::new(HashMap::new()),
                triggers: RwLock::new(HashMap::new()),
                processor_wake: tokio::sync::Notify::new(),
                scheduler_wake: tokio::sync::Notify::new(),
                cron_runs: Mutex::new(HashMap::new()),
                processor: config.processor,
                outbox: outbox::OutboxState::default(),
                ids: Mutex::new(uuid::ContextV7::new()),
            }),
        })
    }

    /// Flushes everything and stops background work. Call once, at shutdown.
    pub fn close(&self) -> Result<()> {
        self.inner.store.close()?;
        Ok(())
    }

    /// Whether storage answers (for readiness probes).
    pub fn is_healthy(&self) -> bool {
        self.inner.store.is_healthy()
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

    fn store(&self) -> &Store {
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
            self.inner.processor_wake.notify_one();
        }
        if changes_timers {
            self.inner.scheduler_wake.notify_one();
        }
        if delivers {
            self.inner.outbox.wake.notify_one();
        }
        Ok(events)
    }

    fn new_record_id(&self, at: DateTime<Utc>) -> Uuid {
        let context = self.inner.ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
        Uuid::new_v7(uuid::Timestamp::from_unix(&*context, seconds, at.timestamp_subsec_nanos()))
    }

    // ---- spaces ----

    /// Creates an empty space.
    pub async fn create_space(&self, actor: &Actor, name: &str, title: Option<String>) -> Result<Space> {
        let space = self.new_space(actor, name, title)?;
        self.insert_space(space).await
    }

    /// A space not stored yet; callers fill in where it comes from.
    fn new_space(&self, actor: &Actor, name: &str, title: Option<String>) -> Result<Space> {
        let name = SpaceName::parse(name)?;
        Ok(Space {
            title: title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| name.to_string()),
            name,
            timezone: None,
            created_at: self.now(),
            created_by: actor.clone(),
            copied_from: None,
            template: None,
        })
    }

    async fn insert_space(&self, space: Space) -> Result<Space> {
        self.store().insert_space(&space).map_err(|err| match err {
            store::StoreError::AlreadyExists => {
                EngineError::AlreadyExists { what: "space", name: space.name.to_string() }
            }
            other => other.into(),
        })?;
        self.store().barrier().await?;
        Ok(space)
    }

    /// Changes a space's title or default time zone (`Some("")` clears the zone).
    pub async fn update_space(&self, name: &str, title: Option<String>, timezone: Option<String>) -> Result<Space> {
        let mut space = self.space(name)?;
        if let Some(title) = title {
            if title.trim().is_empty() {
                return Err(forms::ValidationErrors(vec![forms::FieldError::new("/title", "must not be empty")]).into());
            }
            space.title = title;
        }
        if let Some(zone) = timezone {
            if zone.is_empty() {
                space.timezone = None;
            } else {
                timers::calendar::parse_zone(&zone)
                    .map_err(|message| forms::ValidationErrors(vec![forms::FieldError::new("/timezone", message)]))?;
                space.timezone = Some(zone);
            }
        }
        self.store().put_space(&space)?;
        self.store().barrier().await?;
        Ok(space)
    }

    /// A space by name.
    pub fn space(&self, name: &str) -> Result<Space> {
        // A name that is not a slug can't exist: that is a 404 for a lookup, not a 422.
        let name = SpaceName::parse(name).map_err(|_| EngineError::not_found("space", name))?;
        self.store().space(name.as_str())?.ok_or_else(|| EngineError::not_found("space", name.as_str()))
    }

    /// All spaces, in name order.
    pub fn spaces(&self) -> Result<Vec<Space>> {
        Ok(self.store().spaces()?)
    }

    // ---- tokens ----

    /// Creates a token and returns its secret, which is not stored and can't be shown again.
    pub async fn create_token(&self, role: Role, label: Option<String>) -> Result<(String, TokenInfo)> {
        let secret = auth::new_secret();
        let hash = auth::hash_secret(&secret);
        let info = TokenInfo { id: hash[..12].to_owned(), role, label, created_at: self.now() };
        self.store().insert_token(&hash, &info)?;
        self.store().barrier().await?;
        Ok((secret, info))
    }

    /// The caller a bearer secret belongs to, if any.
    pub fn authenticate(&self, secret: &str) -> Result<Option<Principal>> {
        if !auth::looks_like_token(secret) {
            return Ok(None);
        }
        let hash = auth::hash_secret(secret);
        if let Some(principal) = self.inner.tokens.read().unwrap_or_else(|p| p.into_inner()).get(&hash) {
            return Ok(Some(principal.clone()));
        }
        let Some(info) = self.store().token(&hash)? else {
            return Ok(None);
        };
        let principal = Principal { token_id: info.id, role: info.role };
        self.inner.tokens.write().unwrap_or_else(|p| p.into_inner()).insert(hash, principal.clone());
        Ok(Some(principal))
    }

    /// Whether any token exists (an empty data dir gets a first admin token at start).
    pub fn has_tokens(&self) -> Result<bool> {
        Ok(self.store().has_tokens()?)
    }
}
