//! `tend simulate`: what would happen over the next days, run on a copy of a stopped server's
//! data with a simulated clock. Every timer that falls due fires at its instant, the workflows
//! run with their real definitions and data, and each run is printed with its effects, in
//! order. Nothing real is touched: the copy is thrown away, and nothing is delivered.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use engine::workflows::{Run, RunFilter, RunStatus};
use engine::{Access, EndpointName, Engine, EngineConfig, ManualClock, SpaceName};
use serde_json::Value;
use uuid::Uuid;

use crate::config::Config;

/// What to simulate.
pub struct Simulation<'a> {
    /// Settings (data dir, script limits, processor).
    pub config: &'a Config,
    /// How far ahead.
    pub days: u32,
    /// Only this space's runs are printed (all spaces still run).
    pub space: Option<SpaceName>,
    /// When the simulation starts; now by default.
    pub start: Option<DateTime<Utc>>,
}

/// One run the simulation produced, with its space.
pub struct SimulatedRun {
    /// The space.
    pub space: SpaceName,
    /// The run.
    pub run: Run,
}

impl Simulation<'_> {
    /// Runs the simulation and returns its runs, oldest first.
    pub async fn run(&self) -> anyhow::Result<Vec<SimulatedRun>> {
        if self.days == 0 || self.days > 3660 {
            bail!("--days must be between 1 and 3660");
        }
        let source = &self.config.data_dir;
        let Some(lock) = engine::database_lock_file(source) else {
            bail!("{} holds no Tend database", source.display());
        };
        let copy = tempfile::tempdir().context("creating a temporary directory")?;
        copy_stopped_database(source, &lock, copy.path())?;
        let start = self.start.unwrap_or_else(Utc::now);
        let clock = ManualClock::new(start);
        let engine = Engine::open(EngineConfig {
            clock: Arc::new(clock.clone()),
            script_limits: self.config.scripts.clone(),
            processor: self.config.workflows.clone(),
            storage: self.config.storage.clone(),
            ..EngineConfig::new(copy.path())
        })
        .map_err(|err| anyhow::anyhow!("opening the copy: {err}"))?;
        let spaces: Vec<SpaceName> = match &self.space {
            Some(space) => vec![engine.space(space)?.name],
            None => engine.spaces()?.into_iter().map(|s| s.name).collect(),
        };
        let newest_before: Vec<Option<Uuid>> = spaces
            .iter()
            .map(|space| {
                Ok(engine.runs(&Access::unrestricted(), space, &RunFilter::default(), 1, None)?.0.first().map(|r| r.id))
            })
            .collect::<anyhow::Result<_>>()?;
        engine.simulate_until(&clock, start + Duration::days(i64::from(self.days))).await?;
        let mut runs = Vec::new();
        for (space, newest) in spaces.iter().zip(newest_before) {
            let (all, _) = engine.runs(&Access::unrestricted(), space, &RunFilter::default(), usize::MAX, None)?;
            runs.extend(
                all.into_iter()
                    .take_while(|run| newest.is_none_or(|newest| run.id > newest))
                    .map(|run| SimulatedRun { space: space.clone(), run }),
            );
        }
        runs.sort_by_key(|r| (r.run.started_at, r.run.id));
        let mail = self.config.smtp.host.is_some();
        let lines = runs.iter().map(|r| describe(&engine, r, mail)).collect::<Vec<_>>();
        engine.close()?;
        for line in lines {
            println!("{line}");
        }
        let count = |status| runs.iter().filter(|r| r.run.status == status).count();
        println!(
            "{} runs over {} days from {} ({} succeeded, {} skipped, {} failed); simulated on a copy, nothing was changed or sent",
            runs.len(),
            self.days,
            start.format("%Y-%m-%d %H:%M UTC"),
            count(RunStatus::Succeeded),
            count(RunStatus::Skipped),
            count(RunStatus::Failed)
        );
        Ok(runs)
    }
}

/// Copies a database directory, refusing if a server holds it (a copy taken under a running
/// server could be torn). The lock is held during the copy so no server starts meanwhile.
fn copy_stopped_database(source: &Path, lock: &Path, target: &Path) -> anyhow::Result<()> {
    let lock = File::open(lock).with_context(|| format!("opening {}", source.display()))?;
    if lock.try_lock().is_err() {
        bail!("{} is in use by a running Tend server: stop it first, or copy its data dir", source.display());
    }
    copy_dir(source, target)?;
    drop(lock);
    Ok(())
}

fn copy_dir(source: &Path, target: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(source).with_context(|| format!("reading {}", source.display()))? {
        let entry = entry?;
        let to = target.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to).with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// One line per run: when (in the space's zone), which workflow, on what, how it ended, and
/// what it did; a delivery that would fail says why. `mail`: an SMTP host is configured.
fn describe(engine: &Engine, simulated: &SimulatedRun, mail: bool) -> String {
    let run = &simulated.run;
    let space = engine.space(&simulated.space).ok();
    let zone: Tz = space.and_then(|s| s.timezone).and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
    let local = run.started_at.with_timezone(&zone);
    let mut line =
        format!("{}  {}/{}  {}", local.format("%Y-%m-%d %H:%M %Z"), simulated.space, run.workflow, run.status.as_str());
    if run.late {
        line.push_str(" (late)");
    }
    if !run.record.is_nil() {
        line.push_str(&format!("  on {}", record_label(engine, &simulated.space, &run.record)));
    }
    for effect in &run.effects {
        line.push_str(&format!("\n    → {}", effect_label(engine, &simulated.space, effect, mail)));
    }
    if let Some(note) = &run.note {
        line.push_str(&format!("\n    note: {note}"));
    }
    if let Some(error) = &run.error {
        line.push_str(&format!("\n    error: {error}"));
    }
    line
}

/// A record by the first of its name-like fields, else its id.
fn record_label(engine: &Engine, space: &SpaceName, id: &Uuid) -> String {
    let found = engine.forms(space).ok().into_iter().flatten().find_map(|form| {
        engine
            .record(&Access::unrestricted(), space, &form.name, &id.to_string())
            .ok()
            .map(|record| (form.name, record))
    });
    match found {
        Some((form, record)) => {
            let name = ["name", "title", "subject"].iter().find_map(|field| record.data.get(*field)?.as_str());
            match name {
                Some(name) => format!("{form} \"{name}\""),
                None => format!("{form} {id}"),
            }
        }
        None => id.to_string(),
    }
}

fn effect_label(engine: &Engine, space: &SpaceName, effect: &Value, mail: bool) -> String {
    if let Some(create) = effect.get("create") {
        let id = create.get("id").and_then(Value::as_str).and_then(|id| Uuid::parse_str(id).ok());
        if let Some(id) = id {
            return format!("create {}", record_label(engine, space, &id));
        }
    }
    if let Some(target) = effect.get("notify").and_then(|notify| notify.get("target")) {
        return notify_label(engine, space, target, mail);
    }
    if let Some(Value::Object(fields)) = effect.get("set") {
        let pairs: Vec<String> = fields.iter().map(|(field, value)| format!("{field} = {value}")).collect();
        return format!("set {}", pairs.join(", "));
    }
    // What a script asked for: its kind and the record's name, rather than the whole request.
    if let Some(script) = effect.get("script") {
        let name = ["title", "name", "subject"].iter().find_map(|f| script.pointer(&format!("/data/{f}"))?.as_str());
        let form = script.get("form").and_then(Value::as_str).unwrap_or("record");
        match (script.get("effect").and_then(Value::as_str), name) {
            (Some("create"), Some(name)) => return format!("create {form} \"{name}\""),
            (Some("transition"), _) => return format!("transition to {}", script["to"]),
            (Some("notify"), _) => return notify_label(engine, space, script, mail),
            (Some(kind), _) => return format!("{kind} {}", script.get("data").unwrap_or(&Value::Null)),
            (None, _) => {}
        }
    }
    effect.to_string()
}

/// Where a delivery goes, and why it would fail when it would: a webhook endpoint the space
/// does not define or has disabled, email without an SMTP server.
fn notify_label(engine: &Engine, space: &SpaceName, target: &Value, mail: bool) -> String {
    if let Some(name) = target.get("webhook").and_then(Value::as_str) {
        let endpoint = EndpointName::parse(name).ok().and_then(|name| engine.endpoint(space, &name).ok());
        let problem = match endpoint {
            Some(endpoint) if endpoint.enabled => None,
            Some(_) => Some(format!("endpoint `{name}` is disabled")),
            None => Some(format!("the space defines no webhook endpoint `{name}`")),
        };
        return with_problem(format!("notify webhook `{name}`"), problem);
    }
    if let Some(url) = target.get("url").and_then(Value::as_str) {
        return format!("notify {url}");
    }
    if let Some(email) = target.get("email") {
        let text = |key: &str| match email.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
            _ => String::new(),
        };
        let problem = (!mail).then(|| "no [smtp] host is configured".to_owned());
        return with_problem(format!("email {} \"{}\"", text("to"), text("subject")), problem);
    }
    format!("notify {target}")
}

fn with_problem(label: String, problem: Option<String>) -> String {
    match problem {
        Some(problem) => format!("{label}  ✗ would fail: {problem}"),
        None => label,
    }
}
