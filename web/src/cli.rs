//! The command line: `tend serve [--demo]`, `tend token create|list|revoke`,
//! `tend user create|reset-password`, `tend simulate`,
//! `tend pack check|test|install|list|export`, `tend space copy`, `tend import`, `tend export`,
//! `tend backup` and `tend restore`. `token list|revoke`, `import`, `export` and `pack export` talk to the
//! running server's API (`remote`); `backup` does when a server runs, else it reads the data
//! directory; the others open the data directory.
//!
//! Commands print their result on stdout (a token alone on its line, so scripts can capture
//! it) and logs on stderr. Any failure is one line on stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use engine::people::NewUser;
use engine::{Actor, Engine, EngineConfig, NewToken, Role, SpaceName};

use crate::config::{Config, LogFormat, Overrides};
use crate::remote::{ExportArgs, Remote};
use crate::simulate::Simulation;
use crate::startup::{self, Application};
use crate::{packs, telemetry};

/// Tend: a low-code workflow engine for customer-success teams.
///
/// Describe your CRM objects as forms, keep their records behind one REST API, and let
/// workflows, timers, webhooks and email act on every change. One binary, one data directory.
#[derive(Debug, Parser)]
#[command(
    name = "tend",
    version,
    after_help = "Examples:\n  tend serve --demo                 run with a demo customer-success space on http://127.0.0.1:8080\n  tend token create --admin         make an API token (server stopped)\n  tend pack check examples/customer-success\n  tend simulate --days 30           what the next 30 days would fire\n\nRun `tend <command> --help` for a command's options."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the API, workflows, timers and deliveries.
    ///
    /// Opens (or creates) the data directory, prints a first admin token when there is none,
    /// and serves until Ctrl-C or SIGTERM. Settings come from tend.toml, TEND_* variables and
    /// these flags.
    #[command(
        after_help = "Examples:\n  tend serve\n  tend serve --demo --data-dir ./demo-data --bind 127.0.0.1:9090"
    )]
    Serve(ServeArgs),
    /// Create, list and revoke API tokens.
    #[command(after_help = "Examples:\n  tend token create --admin --label ci\n  TEND_TOKEN=tend_... tend token list")]
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Create users and reset their passwords (server stopped: works on the data directory).
    ///
    /// The password is read from stdin (prompted for, without echo, on a terminal).
    #[command(
        after_help = "Examples:\n  tend user create --email ana@example.com --name \"Ana Lima\" --superadmin\n  echo 'a long passphrase' | tend user reset-password --email ana@example.com"
    )]
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check, test, install and list template packs (forms, workflows and sample data).
    #[command(after_help = "Examples:\n  tend pack list\n  tend pack check examples/customer-success")]
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
    /// Copy spaces (a department's forms and workflows).
    #[command(after_help = "Example:\n  tend space copy cs cs-emea")]
    Space {
        #[command(subcommand)]
        command: SpaceCommand,
    },
    /// Print every workflow run the next days would bring.
    ///
    /// Runs on a copy of a stopped server's data with a simulated clock: nothing is changed
    /// or sent. Deliveries that would fail (an endpoint the space lacks, email without an
    /// [smtp] host) are marked.
    #[command(
        after_help = "Examples:\n  tend simulate --days 90\n  tend simulate --space demo --start 2027-01-01T00:00:00Z"
    )]
    Simulate(SimulateArgs),
    /// Import a CSV, NDJSON or XLSX file into a form of a running server.
    ///
    /// Columns match fields by name or title (`--map` overrides); cells are read as their
    /// field's type. Prints what was created, updated and refused, row by row; exits non-zero
    /// when a row failed.
    #[command(
        after_help = "Examples:\n  TEND_TOKEN=tend_... tend import accounts.csv --space cs --form account --dry-run\n  tend import contacts.xlsx --space cs --form contact --map \"Company=account\" --key email --no-workflows"
    )]
    Import(ImportArgs),
    /// Export a form's records from a running server as CSV, NDJSON or XLSX.
    #[command(
        after_help = "Examples:\n  TEND_TOKEN=tend_... tend export --space cs --form account --out accounts.csv\n  tend export --space cs --form account --format xlsx --filter 'health < 50' --out at-risk.xlsx"
    )]
    Export(ExportCommand),
    /// Back up everything (spaces, forms, records, history, workflows, runs, timers, the
    /// outbox, tokens) into one archive file, while the server runs.
    ///
    /// With a token, the running server takes a consistent snapshot and streams it (writes go
    /// on meanwhile); with no server running, the data directory is read directly. The archive
    /// carries a format version and a checksum, and holds webhook secrets and token hashes: it
    /// is written readable by you only; keep it as safe as the data directory.
    #[command(
        after_help = "Examples:\n  TEND_TOKEN=tend_... tend backup --out tend-2026-12-01.tend\n  tend backup --out nightly.tend --data-dir /var/lib/tend    (server stopped)\n\nRestore with `tend restore FILE --data-dir NEW_DIR`."
    )]
    Backup(BackupArgs),
    /// Restore a backup into a new (missing or empty) data directory.
    ///
    /// Checks the whole archive first (its format, its framing and its checksum) and refuses a
    /// damaged, truncated or foreign file, or one made by a newer Tend, without writing
    /// anything. Then start a server on the directory: pending timers fire and the outbox
    /// resumes where the backup left them.
    #[command(
        after_help = "Example:\n  tend restore tend-2026-12-01.tend --data-dir ./tend-data-restored\n  tend serve --data-dir ./tend-data-restored"
    )]
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The archive to write (replaced if it exists; mode 0600).
    #[arg(long)]
    out: PathBuf,
    /// The running server's base URL [default: http://<bind from the config>].
    #[arg(long, env = "TEND_SERVER")]
    server: Option<String>,
    /// An admin token of that server. Without one, the data directory is read directly, which
    /// needs the server stopped.
    #[arg(long, env = "TEND_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The archive, as `tend backup` wrote it.
    file: PathBuf,
    /// The data directory to create (it must be missing or empty).
    #[arg(long)]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The file: .csv (UTF-8 or GBK), .ndjson or .xlsx.
    file: PathBuf,
    /// The space.
    #[arg(long)]
    space: String,
    /// The form.
    #[arg(long)]
    form: String,
    /// Check every row, store nothing.
    #[arg(long)]
    dry_run: bool,
    /// `Column=field`: the field a column fills (`Column=` leaves it out). Repeatable.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    map: Vec<String>,
    /// Upsert by this indexed field: matching records are updated, others created.
    #[arg(long)]
    key: Option<String>,
    /// Don't trigger workflows with the imported rows.
    #[arg(long)]
    no_workflows: bool,
    /// `all`: nothing stored if a row fails; `resumable`: valid rows stored as it goes.
    #[arg(long, value_parser = ["all", "resumable"])]
    mode: Option<String>,
    /// Skip rows numbered below this (continuing a resumable import).
    #[arg(long)]
    start_row: Option<u64>,
    /// The file's format, when its name doesn't say (csv, ndjson, xlsx).
    #[arg(long)]
    format: Option<String>,
    /// Read 03/04/2026 as the 3rd of April.
    #[arg(long)]
    day_first: bool,
    /// Read 1.234,5 as 1234.5.
    #[arg(long)]
    decimal_comma: bool,
    /// The zone of date-times written without an offset (default UTC).
    #[arg(long)]
    timezone: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl ImportArgs {
    /// The import's query string.
    fn query(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut query = Vec::new();
        for map in &self.map {
            let Some((column, field)) = map.rsplit_once('=') else {
                anyhow::bail!("--map {map:?}: give COLUMN=FIELD");
            };
            query.push(("map".to_owned(), format!("{column}:{field}")));
        }
        let flags = [("dry_run", self.dry_run), ("day_first", self.day_first), ("decimal_comma", self.decimal_comma)];
        query.extend(flags.iter().filter(|(_, on)| *on).map(|(key, _)| ((*key).to_owned(), "true".to_owned())));
        if self.no_workflows {
            query.push(("workflows".to_owned(), "false".to_owned()));
        }
        let options = [
            ("key", self.key.clone()),
            ("mode", self.mode.clone()),
            ("start_row", self.start_row.map(|row| row.to_string())),
            ("format", self.format.clone()),
            ("timezone", self.timezone.clone()),
        ];
        query.extend(options.into_iter().filter_map(|(key, value)| value.map(|v| (key.to_owned(), v))));
        Ok(query)
    }
}

#[derive(Debug, Args)]
struct ExportCommand {
    /// The space.
    #[arg(long)]
    space: String,
    /// The form.
    #[arg(long)]
    form: String,
    /// csv (default), ndjson or xlsx.
    #[arg(long)]
    format: Option<String>,
    /// Only records matching this filter (as for a list).
    #[arg(long)]
    filter: Option<String>,
    /// Sort (as for a list).
    #[arg(long)]
    sort: Option<String>,
    /// Comma-separated columns.
    #[arg(long)]
    fields: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgs,
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
    space: Option<SpaceName>,
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
enum UserCommand {
    /// Create a user; the password comes from stdin (empty: none yet).
    #[command(
        after_help = "Example:\n  tend user create --email ana@example.com --name \"Ana Lima\" --time-zone Europe/Lisbon"
    )]
    Create {
        /// Their email (unique, case-insensitive).
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        /// IANA time zone [default: UTC].
        #[arg(long)]
        time_zone: Option<String>,
        /// Language tag [default: en].
        #[arg(long)]
        locale: Option<String>,
        /// Instance-level rights: users, spaces, packs, backups, every space.
        #[arg(long)]
        superadmin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a user's password (read from stdin).
    #[command(after_help = "Example:\n  tend user reset-password --email ana@example.com")]
    ResetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it alone on stdout (only its hash is stored).
    ///
    /// Works on the data directory, so stop the server first.
    #[command(
        after_help = "Examples:\n  TOKEN=$(tend token create --admin --label ci)\n  tend token create --user ana@example.com --space cs --read-only --expires-in-days 30"
    )]
    #[command(group(clap::ArgGroup::new("whose").required(true).args(["admin", "user"])))]
    Create {
        /// A bootstrap token: every right in every space.
        #[arg(long)]
        admin: bool,
        /// The user (by email) the token acts for, with at most their rights.
        #[arg(long)]
        user: Option<String>,
        /// Narrow the token to one space.
        #[arg(long)]
        space: Option<SpaceName>,
        /// Only reads.
        #[arg(long)]
        read_only: bool,
        /// Stop working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// A note to tell tokens apart.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the tokens of a running server (ids, roles, labels; never secrets).
    ///
    /// Talks to the server's API, so it works while the server runs.
    #[command(after_help = "Example:\n  TEND_TOKEN=tend_... tend token list --server http://127.0.0.1:8080")]
    List {
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Revoke a token of a running server: it is refused from then on.
    ///
    /// Talks to the server's API, so it works while the server runs. Revoking the last admin
    /// token locks the API until `tend token create --admin` is run with the server stopped.
    #[command(after_help = "Example:\n  TEND_TOKEN=tend_... tend token revoke 3f9a1c0b7d2e")]
    Revoke {
        /// The token's id, as `tend token list` shows it.
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// How to reach a running server.
#[derive(Debug, Args)]
struct RemoteArgs {
    /// The server's base URL [default: http://<bind from the config>].
    #[arg(long, env = "TEND_SERVER")]
    server: Option<String>,
    /// An admin token of that server.
    #[arg(long, env = "TEND_TOKEN", hide_env_values = true)]
    token: String,
    /// Config file, read for the address the server binds to [default: ./tend.toml when present].
    #[arg(long, env = "TEND_CONFIG")]
    config: Option<PathBuf>,
}

impl RemoteArgs {
    fn remote(self) -> anyhow::Result<Remote> {
        let config = Config::load(self.config.as_deref(), &Overrides::default())?;
        Remote::new(self.server, self.token, &config)
    }
}

#[derive(Debug, Subcommand)]
enum PackCommand {
    /// Check every definition, script, reference, sample record and test of a pack.
    #[command(
        after_help = "Examples:\n  tend pack check examples/customer-success\n  tend pack check customer-success"
    )]
    Check {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
    },
    /// Run a pack's workflow tests on a throwaway database with a simulated clock.
    #[command(
        after_help = "Examples:\n  tend pack test examples/customer-success\n  tend pack test customer-success --only renewal"
    )]
    Test {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
        /// Only the tests whose file or name contains this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Install a pack into a space (created if missing; stop the server first).
    #[command(after_help = "Example:\n  tend pack install customer-success --space cs --sample-data")]
    Install {
        /// The pack's folder, or the name of a built-in pack.
        pack: String,
        /// The space to install into.
        #[arg(long)]
        space: SpaceName,
        /// Also write the pack's sample records.
        #[arg(long)]
        sample_data: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the packs built into this binary.
    #[command(after_help = "Example:\n  tend pack list")]
    List,
    /// Export a space of a running server as a pack folder (its forms, workflows, shared views
    /// and dashboards; no records), which `tend pack check` reads and which installs elsewhere.
    #[command(
        after_help = "Example:\n  TEND_TOKEN=tend_... tend pack export --space support-emea --out packs/support-emea"
    )]
    Export {
        /// The space to export.
        #[arg(long)]
        space: SpaceName,
        /// The folder to write (created; must be empty if it exists).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SpaceCommand {
    /// Copy a space's forms and workflows (not its records) into a new space (stop the server
    /// first).
    #[command(after_help = "Example:\n  tend space copy cs cs-emea --title \"Customer Success EMEA\"")]
    Copy {
        /// The space to copy.
        from: SpaceName,
        /// The new space's name.
        to: SpaceName,
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
        Command::Token {
            command: TokenCommand::Create { admin, user, space, read_only, expires_in_days, label, data },
        } => {
            let (engine, dir) = open_data_dir(&data)?;
            let made = async {
                let user_id = match user {
                    Some(email) if !admin => Some(engine.user_by_email(&email)?.id),
                    _ => None,
                };
                let role = if user_id.is_some() { Role::User } else { Role::Admin };
                let expires_at = expires_in_days.map(|days| engine.now() + chrono::Duration::days(i64::from(days)));
                engine.create_token(NewToken { role, label, user_id, space, read_only, expires_at }).await
            }
            .await;
            startup::close_engine(&engine, &dir)?;
            println!("{}", made?.0);
            Ok(())
        }
        Command::User { command } => user(command).await,
        Command::Token { command: TokenCommand::List { remote } } => remote.remote()?.list_tokens().await,
        Command::Token { command: TokenCommand::Revoke { id, remote } } => remote.remote()?.revoke_token(&id).await,
        Command::Pack { command } => pack(command).await,
        Command::Import(args) => {
            let query = args.query()?;
            args.remote.remote()?.import(&args.file, &args.space, &args.form, &query).await
        }
        Command::Export(args) => {
            let export = ExportArgs { format: args.format, filter: args.filter, sort: args.sort, fields: args.fields };
            args.remote.remote()?.export(&args.space, &args.form, &export, args.out.as_deref()).await
        }
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(args).await,
        Command::Space { command: SpaceCommand::Copy { from, to, title, data } } => {
            let (engine, dir) = open_data_dir(&data)?;
            let copied = engine.copy_space(&Actor("cli".into()), &from, &to, title).await;
            startup::close_engine(&engine, &dir)?;
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

/// Through the running server when there is a token and the server answers; else from the
/// data directory.
async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let config = Config::load(
        args.data.config.as_deref(),
        &Overrides { data_dir: args.data.data_dir.clone(), ..Default::default() },
    )?;
    let archive = crate::backup::Archive::create(&args.out)?;
    let written = match args.token {
        Some(token) => match Remote::new(args.server, token, &config)?.backup(archive).await? {
            Ok(written) => written,
            Err(archive) => {
                eprintln!("No server answers; reading the data directory {} directly.", config.data_dir.display());
                backup_data_dir(&args.data, archive).await?
            }
        },
        None => backup_data_dir(&args.data, archive)
            .await
            .map_err(|err| err.context("to back up a running server, give its admin token (TEND_TOKEN or --token)"))?,
    };
    println!(
        "Backed up {} entries ({} bytes) to {} (checksum verified)",
        written.entries,
        written.bytes,
        args.out.display()
    );
    Ok(())
}

async fn backup_data_dir(data: &DataArgs, archive: crate::backup::Archive) -> anyhow::Result<crate::backup::Written> {
    let config =
        Config::load(data.config.as_deref(), &Overrides { data_dir: data.data_dir.clone(), ..Default::default() })?;
    // Opening a missing data dir would create one and back up nothing.
    anyhow::ensure!(
        engine::database_lock_file(&config.data_dir).is_some(),
        "there is no Tend data directory at {}",
        config.data_dir.display()
    );
    let (engine, dir) = open_data_dir(data)?;
    let copy = engine.clone();
    let written = tokio::task::spawn_blocking(move || archive.write_with(|out| Ok(copy.backup(out)?.bytes)))
        .await
        .context("the backup task failed")?;
    startup::close_engine(&engine, &dir)?;
    written
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let (file, dir) = (args.file.clone(), args.data_dir.clone());
    // The restored data dir is created with the configured storage engine.
    let storage = Config::load(None, &Overrides::default())?.storage;
    let info = tokio::task::spawn_blocking(move || engine::backup::restore(&file, &dir, &storage))
        .await
        .context("the restore task failed")??;
    crate::data_dir::restrict(&args.data_dir)?;
    println!(
        "Restored {} entries from a backup taken at {} into {}",
        info.entries,
        info.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        args.data_dir.display()
    );
    println!("Start it with: {} serve --data-dir {}", invoked_as(), args.data_dir.display());
    Ok(())
}

/// A password from stdin: prompted for without echo on a terminal, else its first line.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { email, name, time_zone, locale, superadmin, data } => {
            let password = Some(read_password("Password (empty: none yet): ")?).filter(|p| !p.is_empty());
            let (engine, dir) = open_data_dir(&data)?;
            let new = NewUser { email, name, time_zone, locale, password, superadmin };
            let created = engine.create_user(new).await;
            startup::close_engine(&engine, &dir)?;
            let user = created?;
            println!("{}", user.id);
            Ok(())
        }
        UserCommand::ResetPassword { email, data } => {
            let password = read_password("New password: ")?;
            let (engine, dir) = open_data_dir(&data)?;
            let reset = engine.reset_password(&email, password).await;
            startup::close_engine(&engine, &dir)?;
            let user = reset?;
            println!("Password set for {} ({})", user.email, user.id);
            Ok(())
        }
    }
}

/// The engine on the data dir `data` names, and that directory (to close it with
/// [`startup::close_engine`]).
fn open_data_dir(data: &DataArgs) -> anyhow::Result<(Engine, PathBuf)> {
    let config =
        Config::load(data.config.as_deref(), &Overrides { data_dir: data.data_dir.clone(), ..Default::default() })?;
    Ok((startup::open_engine(EngineConfig::new(&config.data_dir))?, config.data_dir))
}

async fn pack(command: PackCommand) -> anyhow::Result<()> {
    match command {
        PackCommand::Export { space, out, remote } => {
            let pack = remote.remote()?.pack(space.as_str()).await?;
            pack.write_dir(&out)?;
            println!(
                "Exported space {space} as a pack into {}: check it with `tend pack check {}`",
                out.display(),
                out.display()
            );
            Ok(())
        }
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
                "{} {}: ok ({} forms, {} workflows, {} views, {} dashboards, {} scripts, {} sample records, {} tests)",
                report.meta.name,
                report.meta.version,
                report.forms,
                report.workflows,
                report.views,
                report.dashboards,
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
            let (engine, dir) = open_data_dir(&data)?;
            let installed = install_into(&engine, &loaded, &space, sample_data).await;
            startup::close_engine(&engine, &dir)?;
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
    space: &SpaceName,
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

/// How to call this executable again, as it was called (`tend` when found on the PATH,
/// `./target/release/tend` after `cargo run --release`), so advice printed in the banner
/// works when pasted.
fn invoked_as() -> String {
    let called = std::env::args_os().next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("tend"));
    if called.components().count() > 1 && called.is_relative() && !called.starts_with(".") {
        format!("./{}", called.display())
    } else {
        called.display().to_string()
    }
}

/// Installs the demo on first start and says how to look at it. `mail`: an SMTP host is
/// configured.
async fn demo_banner(app: &Application, url: &str, mail: bool) -> anyhow::Result<()> {
    let engine = app.engine();
    let space = packs::demo::demo_space();
    match engine.space(&space) {
        Ok(_) => println!("Demo: space `{space}` is already installed; serving it as it is."),
        Err(err) if err.code() == engine::ErrorCode::NotFound => {
            println!("Demo: installing the customer-success pack with sample data into space `{space}`...");
            let (installed, users) = packs::demo::install_demo(engine, mail).await?;
            println!(
                "Demo: {} forms, {} workflows and {} sample records in space `{space}`.",
                installed.forms, installed.workflows, installed.records
            );
            println!("Demo users (sign in with email and password; the passwords are shown only now):");
            for user in &users {
                println!(
                    "Demo user: {} / {} ({}, team {})",
                    user.email,
                    user.password,
                    user.role.as_str(),
                    user.teams.join(", ")
                );
            }
            println!(
                "Demo: webhook endpoints {} are sinks: deliveries are recorded, never sent.",
                packs::demo::DEMO_ENDPOINTS.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" and ")
            );
            if !mail {
                println!("Demo: no [smtp] host is configured, so the workflow that emails is stored disabled.");
            }
        }
        Err(err) => return Err(err.into()),
    }
    if app.first_admin_token().is_none() {
        println!(
            "Log in with the admin token printed at first start (or stop the server and run `{} token create --admin`).",
            invoked_as()
        );
    }
    println!(
        "At-risk accounts, in the web app once signed in: {url}/s/{space}/account?filter=health%20%3C%2050&sort=health"
    );
    println!("What fires over the next days: stop the server, then `{} simulate --days 30`.", invoked_as());
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
    let mail = config.smtp.host.is_some();
    telemetry::init_tracing(config.log_format, &config.log_level);
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    if let Some(token) = app.first_admin_token() {
        println!("Created the first admin token (shown only once, keep it safe):");
        println!("{token}");
        println!("Try: curl -H 'Authorization: Bearer {token}' {url}/api/v1/spaces");
    }
    if let Some(user) = app.first_superadmin() {
        println!("Created the first superadmin user {} (no password yet: sign in with the link below,", user.email);
        println!("then set one with PATCH /api/v1/users/{} or `tend user reset-password`)", user.id);
    }
    // A fresh link every start: it works once, for 15 minutes, and needs no token at hand. It
    // signs in as the first superadmin.
    let first = app.engine().users()?.into_iter().find(|user| user.superadmin && !user.disabled);
    let (code, _) = app.engine().create_sign_in_link(first.map(|user| user.id)).await?;
    println!(
        "Open the web app (sign-in link, valid 15 minutes, once): {url}{}",
        crate::api::sessions::link_path(&code)
    );
    if demo {
        demo_banner(&app, &url, mail).await?;
    }
    // Always the last line of the banner: scripts and tests wait for it.
    println!("Tend is listening on {url}");
    app.run_until(startup::shutdown_signal()).await
}
