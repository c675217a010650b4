//! How people and programs reach Tend: the `tend` CLI, configuration, the HTTP API.
//!
//! - [`cli`]: argument parsing and the commands (`serve`, `token create`, `simulate`, `pack`, `space`);
//! - [`simulate`]: `tend simulate`, the next days' runs on a copy of the data;
//! - [`config`]: `tend.toml` < `TEND_*` environment < flags;
//! - [`packs`]: template packs: reading, checking, testing, installing; the demo data;
//! - [`startup`]: [`startup::Application`] builds the engine and the HTTP server and runs them until shutdown;
//! - `api`: the routes, one module per resource, thin handlers over the engine;
//! - [`delivery`]: the outbox's transport: signed webhooks over HTTP, email over SMTP;
//! - [`telemetry`]: tracing and Prometheus metrics;
//! - [`ui`]: the embedded web app, served at `/`.
//!
//! Architecture invariant: handlers parse, authorize, make one engine call and map its
//! errors; domain logic lives in `engine` and `forms`.

mod api;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod packs;
pub mod simulate;
pub mod startup;
pub mod telemetry;
pub mod ui;
