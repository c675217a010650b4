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
//! - [`inbound`]: posts to inbound hooks: the hook's own authentication, then the engine;
//! - [`telemetry`]: tracing and Prometheus metrics.
//!
//! Architecture invariant: handlers parse, authorize, make one engine call and map its
//! errors; domain logic lives in `engine` and `forms`.

mod api;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod inbound;
pub mod packs;
pub mod simulate;
pub mod spaces;
pub mod startup;
pub mod telemetry;
