//! Configuration: defaults < `tend.toml` < `TEND_*` environment variables < command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "tend.toml";

/// Keys that may come from `TEND_*` variables (`TEND_HTTP__BODY_LIMIT` sets `http.body_limit`).
const ENV_KEYS: &[&str] = &[
    "data_dir",
    "bind",
    "log_format",
    "log_level",
    "http.body_limit",
    "http.import_limit",
    "http.import_timeout_secs",
    "http.request_timeout_secs",
    "http.header_read_timeout_secs",
    "http.max_connections",
    "http.shutdown_grace_secs",
    "scripts.max_operations",
    "scripts.timeout_ms",
    "workflows.max_cascade_depth",
    "workflows.max_cascade_work",
    "workflows.run_retention_days",
    "storage.cache_mb",
    "storage.engine",
    "webhooks.allow_private_targets",
    "webhooks.timeout_ms",
    "webhooks.max_attempts",
    "webhooks.backoff_base_ms",
    "webhooks.backoff_max_ms",
    "webhooks.per_endpoint_concurrency",
    "webhooks.max_in_flight",
    "smtp.host",
    "smtp.port",
    "smtp.security",
    "smtp.username",
    "smtp.password",
    "smtp.from",
    "smtp.timeout_ms",
];

/// Everything `tend serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `tend=debug,info`.
    pub log_level: String,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Limits for every script evaluation (computed fields, rules).
    pub scripts: engine::rules::ScriptLimits,
    /// The workflow processor.
    pub workflows: engine::workflows::ProcessorConfig,
    /// Outgoing webhooks: delivery, retries, which targets are allowed.
    pub webhooks: WebhooksConfig,
    /// The mail server email deliveries go through.
    pub smtp: SmtpConfig,
    /// The database.
    pub storage: engine::StorageConfig,
}

/// How deliveries are sent and retried (`[webhooks]`; email deliveries share the retry
/// settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow targets that resolve to loopback, private, link-local or metadata addresses.
    pub allow_private_targets: bool,
    /// An attempt not answered within this many milliseconds fails.
    pub timeout_ms: u64,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// Delay after the first failure, doubled after each one (with jitter).
    pub backoff_base_ms: u64,
    /// The longest delay between attempts.
    pub backoff_max_ms: u64,
    /// Attempts in flight at once per endpoint (a bare URL: per host; email: in all).
    pub per_endpoint_concurrency: usize,
    /// Attempts in flight at once in all; also the most deliveries a crash can make the
    /// worker send twice.
    pub max_in_flight: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let policy = engine::outbox::DeliveryPolicy::default();
        Self {
            allow_private_targets: false,
            timeout_ms: millis(policy.timeout),
            max_attempts: policy.max_attempts,
            backoff_base_ms: millis(policy.backoff_base),
            backoff_max_ms: millis(policy.backoff_max),
            per_endpoint_concurrency: policy.per_target_concurrency,
            max_in_flight: policy.max_in_flight,
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl WebhooksConfig {
    /// The delivery worker's settings.
    pub fn policy(&self) -> engine::outbox::DeliveryPolicy {
        use std::time::Duration;
        engine::outbox::DeliveryPolicy {
            max_attempts: self.max_attempts,
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms),
            per_target_concurrency: self.per_endpoint_concurrency,
            max_in_flight: self.max_in_flight,
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }
}

/// The SMTP server (`[smtp]`); without a `host`, email deliveries fail their attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name.
    pub host: Option<String>,
    /// Default: 587 for STARTTLS, 465 for TLS, 25 for none.
    pub port: Option<u16>,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// Login, when the server wants one (`TEND_SMTP__USERNAME`).
    pub username: Option<String>,
    /// Password (`TEND_SMTP__PASSWORD`, to keep it out of files).
    pub password: Option<String>,
    /// The sender, e.g. `Tend <tend@example.com>`.
    pub from: String,
    /// A conversation with the server that takes longer fails.
    pub timeout_ms: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Tend <tend@localhost>".into(),
            timeout_ms: 10_000,
        }
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

/// Limits that protect the server from oversized or stalled requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest accepted import file (`POST .../import`), in bytes.
    pub import_limit: usize,
    /// An import (reading its file and storing its rows) that takes longer gets a 408.
    pub import_timeout_secs: u64,
    /// A request (including reading its body) that takes longer gets a 408.
    pub request_timeout_secs: u64,
    /// A client must send a request's complete headers within this many seconds of connecting
    /// or of the previous answer on the connection, else the connection is closed: this bounds
    /// both slow (half-sent) headers and idle keep-alive connections.
    pub header_read_timeout_secs: u64,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// On shutdown, connections still open this many seconds after the signal are closed.
    pub shutdown_grace_secs: u64,
    /// Mark the browser session cookie `Secure` (set when Tend is served over HTTPS through a
    /// proxy that does not send `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tend-data"),
            bind: "127.0.0.1:8080".into(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            http: HttpConfig::default(),
            scripts: engine::rules::ScriptLimits::default(),
            workflows: engine::workflows::ProcessorConfig::default(),
            webhooks: WebhooksConfig::default(),
            smtp: SmtpConfig::default(),
            storage: engine::StorageConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            import_limit: 256 * 1024 * 1024,
            import_timeout_secs: 600,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            shutdown_grace_secs: 10,
            secure_cookies: false,
        }
    }
}

/// Values given as flags; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--bind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// `--log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the layers. `file` is `--config`: it must exist when given; otherwise
    /// `./tend.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.is_file(), "config file {} does not exist", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let env = Env::prefixed("TEND_").filter_map(|key| {
            let key = key.as_str().to_ascii_lowercase().replace("__", ".");
            ENV_KEYS.contains(&key.as_str()).then(|| key.into())
        });
        let config: Config = figment
            .merge(env)
            .merge(Serialized::globals(overrides))
            .extract()
            .map_err(|err| anyhow::anyhow!("{}", err.to_string().replace('\n', "; ")))
            .context("invalid configuration")?;
        anyhow::ensure!(config.http.body_limit > 0, "http.body_limit must be positive");
        anyhow::ensure!(config.http.request_timeout_secs > 0, "http.request_timeout_secs must be positive");
        anyhow::ensure!(config.http.header_read_timeout_secs > 0, "http.header_read_timeout_secs must be positive");
        anyhow::ensure!(config.http.max_connections > 0, "http.max_connections must be positive");
        anyhow::ensure!(config.webhooks.max_attempts > 0, "webhooks.max_attempts must be positive");
        anyhow::ensure!(config.webhooks.timeout_ms > 0, "webhooks.timeout_ms must be positive");
        anyhow::ensure!(
            config.webhooks.per_endpoint_concurrency > 0 && config.webhooks.max_in_flight > 0,
            "webhooks.per_endpoint_concurrency and webhooks.max_in_flight must be positive"
        );
        Ok(config)
    }
}

#[cfg(test)]
// figment's Jail returns its large error type from closures; that's its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "bind = \"127.0.0.1:1\"\ndata_dir = \"from-file\"\n[http]\nbody_limit = 10\n",
            )?;
            jail.set_env("TEND_BIND", "127.0.0.1:2");
            jail.set_env("TEND_HTTP__REQUEST_TIMEOUT_SECS", "7");
            jail.set_env("TEND_UNRELATED", "ignored");
            jail.set_env("TEND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true");
            jail.set_env("TEND_SMTP__PASSWORD", "from-env");
            let flags = Overrides { data_dir: Some("from-flag".into()), ..Overrides::default() };
            let config = Config::load(Some(Path::new("custom.toml")), &flags).map_err(|e| e.to_string())?;
            assert_eq!(config.bind, "127.0.0.1:2", "env beats file");
            assert_eq!(config.data_dir, PathBuf::from("from-flag"), "flag beats file");
            assert_eq!(config.http.body_limit, 10, "file beats default");
            assert_eq!(config.http.request_timeout_secs, 7);
            assert!(config.webhooks.allow_private_targets);
            assert_eq!(config.smtp.password.as_deref(), Some("from-env"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tend.toml", "bnd = \"x\"\n")?;
            let err = Config::load(None, &Overrides::default()).expect_err("typo must be refused");
            assert!(format!("{err:#}").contains("bnd"), "{err:#}");
            let err = Config::load(Some(Path::new("missing.toml")), &Overrides::default()).expect_err("missing");
            assert!(err.to_string().contains("does not exist"));
            Ok(())
        });
    }
}
