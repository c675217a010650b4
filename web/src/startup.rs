//! Building and running the server: open the engine, make sure an admin can log in, bind the
//! listener, serve (with the workflow processor and the delivery worker beside it) until told
//! to stop, then flush.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use engine::people::NewUser;
use engine::{Engine, EngineConfig, EngineError, StoreError};
use tokio::net::TcpListener;

use crate::api;
use crate::config::Config;
use crate::delivery::NetTransport;

/// The email of the superadmin a data dir without users gets at first start.
pub const FIRST_SUPERADMIN_EMAIL: &str = "admin@localhost";

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    engine: Engine,
    config: Config,
    first_admin_token: Option<String>,
    first_superadmin: Option<engine::model::User>,
    transport: Arc<NetTransport>,
}

impl Application {
    /// Opens the engine in `config.data_dir` and binds `config.bind` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let engine_config = EngineConfig {
            script_limits: config.scripts.clone(),
            processor: config.workflows.clone(),
            storage: config.storage.clone(),
            ..EngineConfig::new(&config.data_dir)
        };
        Self::build_with(config, engine_config).await
    }

    /// Like [`Application::build`] with explicit engine settings (tests use a manual clock).
    pub async fn build_with(config: Config, engine_config: EngineConfig) -> anyhow::Result<Application> {
        // Opening the database (sled reads its log) and building the HTTP and SMTP clients
        // (TLS roots) are independent: do them at once, so start-up waits for the slower one.
        let opening = tokio::task::spawn_blocking(move || open_engine(engine_config));
        let transport = Arc::new(NetTransport::new(&config.webhooks, &config.smtp)?);
        let engine = opening.await.context("opening the database")??;
        // An all-or-nothing import a crash cut short is undone before anyone reads its rows.
        engine.roll_back_imports().await.context("undoing unfinished imports")?;
        let first_admin_token = if engine.has_tokens()? {
            None
        } else {
            let (secret, _) = engine.create_admin_token(Some("first admin".into())).await?;
            Some(secret)
        };
        let first_superadmin = if engine.has_users()? {
            None
        } else {
            let first = NewUser {
                email: FIRST_SUPERADMIN_EMAIL.into(),
                name: "Admin".into(),
                superadmin: true,
                ..NewUser::default()
            };
            Some(engine.create_user(first).await?)
        };
        let listener = TcpListener::bind(&config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        Ok(Application { listener, engine, config, first_admin_token, first_superadmin, transport })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The admin token created because the data dir had none (shown once, never stored).
    pub fn first_admin_token(&self) -> Option<&str> {
        self.first_admin_token.as_deref()
    }

    /// The superadmin user created because the data dir had no users (no password yet).
    pub fn first_superadmin(&self) -> Option<&engine::model::User> {
        self.first_superadmin.as_ref()
    }

    /// The engine behind the server.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish, then flushes and
    /// closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let router = api::router(self.engine.clone(), &self.config);
        tracing::info!(addr = %self.local_addr(), data_dir = %self.config.data_dir.display(), "serving");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let engine = self.engine.clone();
        let processor = tokio::spawn(async move { engine.run_processor(stopped).await });
        let (engine, stopped) = (self.engine.clone(), stop.subscribe());
        let scheduler = tokio::spawn(async move { engine.run_scheduler(stopped).await });
        let (engine, stopped, policy) = (self.engine.clone(), stop.subscribe(), self.config.webhooks.policy());
        let transport: Arc<dyn engine::outbox::Transport> = self.transport;
        let deliveries = tokio::spawn(async move { engine.run_delivery_worker(transport, policy, stopped).await });
        crate::http_server::serve(self.listener, router, &self.config.http, shutdown).await;
        let _ = stop.send(true);
        let _ = processor.await;
        let _ = scheduler.await;
        let _ = deliveries.await;
        close_engine(&self.engine, &self.config.data_dir)?;
        tracing::info!("stopped; database flushed");
        Ok(())
    }
}

/// Closes an engine opened by [`open_engine`] on `dir`, and makes private what closing wrote
/// (the storage engine writes out its memtables as new files on close).
pub fn close_engine(engine: &Engine, dir: &Path) -> anyhow::Result<()> {
    let closed = engine.close();
    crate::data_dir::restrict(dir)?;
    closed.context("flushing the database")
}

/// Opens the engine in a data directory only its owner can read, turning "the database is in
/// use" into advice.
pub fn open_engine(config: EngineConfig) -> anyhow::Result<Engine> {
    let dir = config.data_dir.clone();
    crate::data_dir::restrict(&dir)?;
    let opened = Engine::open(config);
    if opened.is_ok() {
        crate::data_dir::restrict(&dir)?;
    }
    opened.map_err(|err| match err {
        EngineError::Store(StoreError::InUse { .. }) => {
            anyhow::anyhow!("the data directory {} is in use by another Tend process", dir.display())
        }
        // The engine's messages carry their sources' text already; `{:#}` would repeat it.
        other => anyhow::anyhow!(other.to_string()),
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
