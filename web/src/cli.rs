//! The command line: `tend serve [--demo]`, `tend token create`, `tend simulate`,
//! `tend pack check|test|install|list` and `tend space copy`.
//!
//! Commands print their result on stdout (a token alone on its line, so scripts can capture
//! it) and logs on stderr. Any failure is one line on stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use engine::{Actor, Engine, EngineConfig, Role};

use crate::config::{Config, LogFormat, Overrides};
use crate::packs;
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
    /// Check, test and install template packs.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
    /// Manage spaces.
    Space {
        #[command(subcommand)]
        command: SpaceCommand,
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
    /// Install the customer-success pack with sample data into a space `demo` (once).
    #[arg(long)]
    demo: bool,
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

#[derive(Debug, Subcommand)]
enum PackCommand {
    /// Check every definition, script, reference, sample record and test of a pack.
    Check {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
    },
    /// Run a pack's workflow tests on a throwaway database with a simulated clock.
    Test {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
        /// Only the tests whose file or name contains this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Install a pack into a space (created if missing; stop the server first).
    Install {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
        /// The space to install into.
        #[arg(long)]
        space: String,
        /// Also write the pack's sample records.
        #[arg(long)]
        sample_data: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the packs built into this binary.
    List,
}

#[derive(Debug, Subcommand)]
enum SpaceCommand {
    /// Copy a space's forms and workflows (not its records) into a new space (stop the server
    /// first).
    Copy {
        /// The space to copy.
        from: String,
        /// The new space's name.
        to: String,
        /// The new space's title.
        #[arg(long)]
        title: Option<String>,
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
        Command::Pack { command } => pack(command).await,
        Command::Space { command: SpaceCommand::Copy { from, to, title, data } } => {
            let engine = open_data_dir(&data)?;
            let copied = engine.copy_space(&Actor("cli".into()), &from, &to, title).await;
            engine.close().context("flushing the database")?;
            let space = copied?;
            let origin = space.copied_from.as_ref();
            println!(
                "Copied space `{from}` to `{}`: {} form(s), {} workflow(s), no records",
                space.name,
                origin.map_or(0, |o| o.forms.len()),
                origin.map_or(0, |o| o.workflows.len())
            );
            Ok(())
        }
    }
}

fn open_data_dir(data: &DataArgs) -> anyhow::Result<Engine> {
    let config =
        Config::load(data.config.as_deref(), &Overrides { data_dir: data.data_dir.clone(), ..Default::default() })?;
    startup::open_engine(EngineConfig::new(&config.data_dir))
}

async fn pack(command: PackCommand) -> anyhow::Result<()> {
    match command {
        PackCommand::List => {
            for name in packs::embedded_names() {
                if let Some(pack) = packs::embedded(&name) {
                    println!("{name} {}: {}", pack.meta.version, pack.meta.title);
                }
            }
            Ok(())
        }
        PackCommand::Check { pack } => {
            let loaded = packs::load(&pack)?;
            let report = checked(&loaded, "").await?;
            println!(
                "{} {}: ok ({} forms, {} workflows, {} views, {} scripts, {} sample records, {} tests)",
                report.meta.name,
                report.meta.version,
                report.forms,
                report.workflows,
                report.views,
                report.scripts,
                report.records,
                report.tests
            );
            Ok(())
        }
        PackCommand::Test { pack, only } => {
            let loaded = packs::load(&pack)?;
            let outcomes = packs::run_tests(&loaded, only.as_deref()).await?;
            for outcome in &outcomes {
                let verdict = if outcome.passed() { "ok  " } else { "FAIL" };
                println!("{verdict} {}: {}", outcome.file, outcome.name);
                for failure in &outcome.failures {
                    println!("     {failure}");
                }
            }
            let failed = outcomes.iter().filter(|o| !o.passed()).count();
            anyhow::ensure!(!outcomes.is_empty(), "pack `{}` has no tests matching", loaded.meta.name);
            anyhow::ensure!(
                failed == 0,
                "{failed} of {} test(s) failed in pack `{}`",
                outcomes.len(),
                loaded.meta.name
            );
            println!("{} test(s) passed", outcomes.len());
            Ok(())
        }
        PackCommand::Install { pack, space, sample_data, data } => {
            let loaded = packs::load(&pack)?;
            checked(&loaded, "; nothing installed").await?;
            let engine = open_data_dir(&data)?;
            let installed = install_into(&engine, &loaded, &space, sample_data).await;
            engine.close().context("flushing the database")?;
            let installed = installed?;
            println!(
                "Installed {} {} into space `{}`: {} form(s) and {} workflow(s) stored, {} sample record(s)",
                loaded.meta.name,
                loaded.meta.version,
                installed.space.name,
                installed.forms,
                installed.workflows,
                installed.records
            );
            Ok(())
        }
    }
}

/// A new space is made from the pack (and remembers it); an existing one gets new versions.
async fn install_into(
    engine: &Engine,
    pack: &packs::Pack,
    space: &str,
    sample_data: bool,
) -> anyhow::Result<packs::Installed> {
    let actor = Actor("cli".into());
    let installed = match engine.space(space) {
        Ok(_) => {
            let mut installed = packs::install(engine, &actor, pack, space).await?;
            if sample_data {
                installed.records = packs::install_data(engine, &actor, pack, space).await?;
            }
            installed
        }
        Err(err) if err.code() == engine::ErrorCode::NotFound => {
            packs::install_new(engine, &actor, pack, space, None, sample_data).await?
        }
        Err(err) => return Err(err.into()),
    };
    Ok(installed)
}

/// Installs the demo on first start and says how to look at it.
async fn demo_banner(app: &Application, url: &str) -> anyhow::Result<()> {
    let engine = app.engine();
    let space = packs::demo::DEMO_SPACE;
    match engine.space(space) {
        Ok(_) => println!("Demo: space `{space}` is already installed; serving it as it is."),
        Err(err) if err.code() == engine::ErrorCode::NotFound => {
            println!("Demo: installing the customer-success pack with sample data into space `{space}`...");
            let installed = packs::demo::install_demo(engine).await?;
            println!(
                "Demo: {} forms, {} workflows and {} sample records in space `{space}`.",
                installed.forms, installed.workflows, installed.records
            );
        }
        Err(err) => return Err(err.into()),
    }
    if app.first_admin_token().is_none() {
        println!("Log in with the admin token printed at first start (or stop the server and run `tend token create --admin`).");
    }
    println!(
        "At-risk accounts, in the web app once signed in: {url}/s/{space}/account?filter=health%20%3C%2050&sort=health"
    );
    println!("What fires over the next days: stop the server, then `tend simulate --days 30`.");
    Ok(())
}

/// A problem with the pack's folder in front of its file, so editors can jump to it.
/// Checks a pack, printing every problem where it is; an error naming how many if any.
async fn checked(loaded: &packs::Pack, consequence: &str) -> anyhow::Result<packs::CheckReport> {
    let report = packs::check(loaded).await?;
    for problem in &report.problems {
        println!("{}", located(loaded, problem));
    }
    anyhow::ensure!(
        report.problems.is_empty(),
        "{} problem(s) in pack `{}`{consequence}",
        report.problems.len(),
        report.meta.name
    );
    Ok(report)
}

fn located(pack: &packs::Pack, problem: &packs::Problem) -> String {
    if std::path::Path::new(&pack.origin).is_dir() {
        format!("{}/{problem}", pack.origin.trim_end_matches('/'))
    } else {
        problem.to_string()
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let demo = args.demo;
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
    // A fresh link every start: it works once, for 15 minutes, and needs no token at hand.
    let (code, _) = app.engine().create_sign_in_link().await?;
    println!(
        "Open the web app (sign-in link, valid 15 minutes, once): {url}{}",
        crate::api::sessions::link_path(&code)
    );
    if demo {
        demo_banner(&app, &url).await?;
    }
    // Always the last line of the banner: scripts and tests wait for it.
    println!("Tend is listening on {url}");
    app.run_until(startup::shutdown_signal()).await
}
