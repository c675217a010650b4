//! How people and programs reach Tend: the `tend` CLI, configuration, the HTTP API.
//!
//! - [`cli`]: argument parsing and the commands (`serve`, `token create`, `simulate`, `pack`, `space`);
//! - [`simulate`]: `tend simulate`, the next days' runs on a copy of the data;
//! - [`config`]: `tend.toml` < `TEND_*` environment < flags;
//! - [`packs`]: template packs: reading, checking, testing, installing; the demo data;
//! - [`spaces`]: making a space: empty, a copy, or from a template pack;
//! - [`startup`]: [`startup::Application`] builds the engine and the HTTP server and runs them until shutdown;
//! - `api`: the routes, one module per resource, thin handlers over the engine;
//! - [`delivery`]: the outbox's transport: signed webhooks over HTTP, email over SMTP;
//! - `inbound`: posts to inbound hooks: the hook's own authentication, then the engine;
//! - [`targets`]: which webhook addresses are refused (loopback, private, special ranges);
//! - `http_server`: the accept loop (header timeout, connection cap, bounded shutdown);
//! - [`data_dir`]: the data directory's permissions;
//! - [`remote`]: CLI commands that talk to a running server's API;
//! - [`telemetry`]: tracing and Prometheus metrics;
//! - [`tabular`]: reading imported files and writing exported ones (CSV in UTF-8 or GBK, NDJSON, XLSX);
//! - [`export`]: a form's records streamed out as a file;
//! - [`ui`]: the embedded web app, served at `/`.
//!
//! Architecture invariant: handlers parse, authorize, make one engine call and map its
//! errors; domain logic lives in `engine` and `forms`.

mod api;
pub mod backup;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod delivery;
pub mod export;
mod http_server;
pub mod import;
mod inbound;
pub mod packs;
pub mod remote;
pub mod simulate;
pub mod spaces;
pub mod startup;
pub mod tabular;
pub mod targets;
pub mod telemetry;
pub mod ui;
