//! Tend's integration tests: one binary (one link step), one module per capability.
//!
//! Every test starts the real server on an ephemeral loopback port with its own temporary data
//! directory (`support::TestApp`), or runs the real `tend` executable for CLI and crash tests.

mod support;

mod api_aggregates;
mod api_auth;
mod api_counts;
mod api_dashboards;
mod api_forms;
mod api_listing;
mod api_pipeline;
mod api_records;
mod api_scripts;
mod api_views;
mod authz;
mod backup;
mod bad_input;
mod cli;
mod connections;
mod crash;
mod delivery_crash;
mod export;
mod fault_kills;
mod import;
mod integrations;
mod migration;
mod observability;
mod packs;
mod people;
mod readme;
mod record_policy;
mod restart;
mod slow_scripts;
mod storage_failures;
mod templates;
mod tidy;
mod timers;
mod ui;
mod web_app;
mod web_sessions;
mod workflows;
