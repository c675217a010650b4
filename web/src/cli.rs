//! The command line: `tend serve`, `tend token create` and `tend simulate`.
//!
//! Commands print their result on stdout (a token alone on its line, so scripts can capture
//! it) and logs on stderr. Any failure is one line on stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use engine::{EngineConfig, Role};

use crate::config::{Config, LogFormat, Overrides};
use crate::simulate::Simulation;
use crate::startup::{self, Application};
use crate::telemetry;

/// Tend: a low-code workflow engine for customer-success teams.
#[derive(Debug, Parser)]
#[command(name = "tend", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print every workflow run the next days would bring, on a copy of a stopped server's
    /// data with a simulated clock (nothing is changed or sent).
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
struct SimulateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// How many days ahead.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Print only this space's runs.
    #[arg(long)]
    space: Option<String>,
    /// Start at this instant (RFC 3339) instead of now.
    #[arg(long)]
    start: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where the data and the config are (shared by every command).
#[derive(Debug, Args)]
struct DataArgs {
    /// Data directory [default: ./tend-data].
    #[arg(long, env = "TEND_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Config file [default: ./tend.toml when present].
    #[arg(long, env = "TEND_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TEND_BIND")]
    bind: Option<String>,
    /// Log format.
    #[arg(long, env = "TEND_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (only its hash is stored).
    Create {
        /// Give the token every right in every space.
        #[arg(long, required = true)]
        admin: bool,
        /// A note to tell tokens apart.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&anyhow::Error::from(err)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Simulate(args) => {
            let overrides = Overrides { data_dir: args.data.data_dir, ..Default::default() };
            let config = Config::load(args.data.config.as_deref(), &overrides)?;
            let simulation = Simulation { config: &config, days: args.days, space: args.space, start: args.start };
            simulation.run().await.map(|_| ())
        }
        Command::Token { command: TokenCommand::Create { admin, label, data } } => {
            debug_assert!(admin, "clap requires --admin");
            let config =
                Config::load(data.config.as_deref(), &Overrides { data_dir: data.data_dir, ..Default::default() })?;
            let engine = startup::open_engine(EngineConfig::new(&config.data_dir))?;
            let (secret, _) = engine.create_token(Role::Admin, label).await?;
            engine.close().context("flushing the database")?;
            println!("{secret}");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides { data_dir: args.data.data_dir, bind: args.bind, log_format: args.log_format };
    let config = Config::load(args.data.config.as_deref(), &overrides)?;
    telemetry::init_tracing(config.log_format, &config.log_level);
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    if let Some(token) = app.first_admin_token() {
        println!("Created the first admin token (shown only once, keep it safe):");
        println!("{token}");
        println!("Try: curl -H 'Authorization: Bearer {token}' {url}/api/v1/spaces");
    }
    // Always the last line of the banner: scripts and tests wait for it.
    println!("Tend is listening on {url}");
    app.run_until(startup::shutdown_signal()).await
}
