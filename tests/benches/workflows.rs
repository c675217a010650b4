//! The workflow-processor benchmark: how fast the processor turns logged record events into
//! workflow runs, what one `when` costs, and how far the processor trails the write path.
//!
//! One run prints a plain-text report with three sections:
//! 1. **drain rate**: a fresh engine (no HTTP, no background processor) with an `account` form
//!    (15 fields), a `task` form and N workflows on `account` `updated` whose action creates a
//!    task; E updates are written first (`Engine::patch_record`, 16 concurrent tasks), then one
//!    timed `Engine::process_pending` drains the backlog. Cases: 1, 10 and 100 workflows on
//!    the form, and 100 workflows split over 10 forms with only 10 on the written form (so
//!    per-event cost can be compared with the 10-workflow case: the trigger index must make the
//!    other 90 free). Workflow i of a form holds for `record.segment == "s<i>" &&
//!    record.health < 10`; every tenth update has `health < 10` and the segments cycle over the
//!    form's workflows, so exactly 10% of events make one `when` hold and the other 90% make
//!    none. Checked after each drain: runs == events × workflows on the form (one run per
//!    triggered workflow, skipped or succeeded), succeeded runs == tasks == matching events, no
//!    failed run;
//! 2. **one `when` evaluation**: the same expression through `engine::rules::Scripts` on a
//!    15-field record, with the variables the processor binds and with `record` alone, plus a
//!    constant script to show what binding the variables costs by itself; and the per-`when`
//!    cost derived from section 1;
//! 3. **end-to-end lag under sustained load**: the real server (`Application::build`, which
//!    runs the processor) in this process, 10 workflows on `account` `updated` (10% of writes
//!    match), 16 keep-alive clients PATCHing accounts as fast as the server answers. For a
//!    sample of writes (each to an account written only once) the lag runs from the moment the
//!    client has read the 2xx to the moment the write's runs are committed: a thread reads
//!    `Engine::processor_position` every millisecond, and the cursor moves past an event in the
//!    same atomic batch that commits its runs, so the first reading at or past the write's event
//!    (its sequence number from the record's history) is when its runs were committed. Reading
//!    the runs themselves would cost far more (`GET .../runs?record=` reads every run of the
//!    space, and decoding every new run took ~half a core on a 2-core machine); the runs are
//!    checked once at the end instead. Also: the processor's rate against the log's, the
//!    backlog over time (`Engine::last_event_seq` − `Engine::processor_position`), and how long
//!    the processor needed to catch up after the load stopped.
//!
//! Every write, drain and count is checked: an error or a count that doesn't add up panics
//! with the reason instead of producing figures over errors.
//!
//! Run it in release (Cargo's bench profile):
//!
//! ```text
//! cargo bench -p web --bench workflows
//! ```
//!
//! Scale knobs (environment variables, defaults in brackets): `TEND_BENCH_WF_EVENTS` [20000]
//! update events drained per section-1 case, `TEND_BENCH_WF_ACCOUNTS` [1000] accounts they
//! update, `TEND_BENCH_WF_EVALS` [100000] evaluations per section-2 measurement,
//! `TEND_BENCH_WF_LOAD_SECS` [10] seconds of HTTP load in section 3, `TEND_BENCH_WF_SAMPLES`
//! [500] writes whose lag is measured, `TEND_BENCH_WF_DRAIN_TIMEOUT_SECS` [900] how long
//! section 3 waits for the processor to catch up before giving up, `TEND_BENCH_WF_SECTIONS`
//! [1,2,3] which sections to run (e.g. `3` alone under a profiler). A quick run:
//! `TEND_BENCH_WF_EVENTS=2000 TEND_BENCH_WF_EVALS=10000 TEND_BENCH_WF_LOAD_SECS=3 cargo bench
//! -p web --bench workflows`.
//!
//! Data directories are temporary directories under `$TMPDIR` (default `/tmp`).

#[path = "support.rs"]
mod support;

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::rules::{ScriptLimits, ScriptOrigin, ScriptVars, Scripts};
use engine::workflows::{Run, RunFilter, RunStatus};
use engine::{Access, Engine, EngineConfig, EventKind, FormName, ListQuery, SpaceName, SystemClock, WorkflowName};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;
use tempfile::TempDir;
use uuid::Uuid;
use web::config::{Config, LogFormat};
use web::startup::Application;

/// Concurrent writers, as in the foundation benchmark.
const CONCURRENCY: usize = 16;
const SPACE: &str = "bench";
const ACCOUNT: &str = "account";
const TASK: &str = "task";
/// One event in this many makes a `when` hold.
const MATCH_EVERY: usize = 10;
/// Workflows on `account` in section 3.
const LAG_WORKFLOWS: usize = 10;

fn main() {
    let settings = Settings::from_env();
    // As in `tend serve`: the Prometheus recorder is installed (the processor counts runs), and
    // logs at `warn` show anything going wrong without drowning the report.
    web::telemetry::init_tracing(LogFormat::Text, "warn");
    let _metrics = web::telemetry::metrics_handle();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("building the tokio runtime");
    runtime.block_on(run(&settings));
}

async fn run(settings: &Settings) {
    settings.print();
    let drains = if settings.runs(1) { drain_rates(settings).await } else { Vec::new() };
    if settings.runs(2) {
        when_costs(settings, &drains);
    }
    if settings.runs(3) {
        lag_under_load(settings).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    events: usize,
    accounts: usize,
    evals: usize,
    load: Duration,
    samples: usize,
    drain_timeout: Duration,
    /// Which sections to run (all by default).
    sections: Vec<usize>,
}

impl Settings {
    fn from_env() -> Self {
        Self {
            events: env_count("TEND_BENCH_WF_EVENTS", 20_000),
            accounts: env_count("TEND_BENCH_WF_ACCOUNTS", 1_000),
            evals: env_count("TEND_BENCH_WF_EVALS", 100_000),
            load: Duration::from_secs(env_count("TEND_BENCH_WF_LOAD_SECS", 10) as u64),
            samples: env_count("TEND_BENCH_WF_SAMPLES", 500),
            drain_timeout: Duration::from_secs(env_count("TEND_BENCH_WF_DRAIN_TIMEOUT_SECS", 900) as u64),
            sections: std::env::var("TEND_BENCH_WF_SECTIONS").map_or_else(
                |_| vec![1, 2, 3],
                |text| {
                    let parse = |s: &str| s.trim().parse().ok().filter(|n| (1..=3).contains(n));
                    let sections: Option<Vec<usize>> = text.split(',').map(parse).collect();
                    sections.unwrap_or_else(|| panic!("TEND_BENCH_WF_SECTIONS={text:?}: expected e.g. 1,3"))
                },
            ),
        }
    }

    fn runs(&self, section: usize) -> bool {
        self.sections.contains(&section)
    }

    fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("Tend workflow-processor benchmark");
        println!("  machine: {cores} cores (nproc); data dirs under {}", std::env::temp_dir().display());
        println!(
            "  settings: events={} accounts={} evals={} load={} s samples={} drain_timeout={} s sections={:?} \
             concurrency={CONCURRENCY}",
            self.events,
            self.accounts,
            self.evals,
            self.load.as_secs(),
            self.samples,
            self.drain_timeout.as_secs(),
            self.sections
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The workload: accounts, tasks, and workflows that create a task when an account's health is low

/// 15 fields, 3 of them indexed.
fn account_form() -> Value {
    json!({
        "schema": {
            "type": "object",
            "required": ["name", "tier"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
                "health": { "type": "integer", "minimum": 0, "maximum": 100 },
                "segment": { "type": "string", "maxLength": 20 },
                "arr": { "type": "number", "minimum": 0 },
                "owner": { "type": "string", "format": "email" },
                "website": { "type": "string", "format": "uri" },
                "renewal_date": { "type": "string", "format": "date" },
                "last_contact_at": { "type": "string", "format": "date-time" },
                "region": { "type": "string", "enum": ["amer", "emea", "apac"] },
                "employees": { "type": "integer", "minimum": 1 },
                "seats": { "type": "integer", "minimum": 0 },
                "tags": { "type": "array", "maxItems": 10, "items": { "type": "string" } },
                "notes": { "type": "string", "maxLength": 2000 },
                "touches": { "type": "integer", "minimum": 0 }
            }
        },
        "indexes": ["health", "tier", "segment"]
    })
}

fn task_form() -> Value {
    json!({ "schema": { "type": "object", "required": ["title"], "properties": {
        "title": { "type": "string", "minLength": 1 },
        "account": { "type": "string", "x-ref": ACCOUNT },
        "assignee": { "type": "string" },
        "status": { "type": "string", "enum": ["open", "done"] } } } })
}

/// An account as a client would create it: every field but `touches` set.
fn account(rng: &mut StdRng) -> Value {
    let n: usize = rng.gen_range(0..1_000_000);
    let (tier, region) = (["starter", "growth", "enterprise"][n % 3], ["amer", "emea", "apac"][n % 3]);
    json!({
        "name": format!("Account {n}"),
        "tier": tier,
        "health": rng.gen_range(10..=100),
        "segment": "s0",
        "arr": f64::from(rng.gen_range(100_000..50_000_000)) / 100.0,
        "owner": format!("csm{}@example.com", n % 40),
        "website": format!("https://account{n}.example.com/"),
        "renewal_date": format!("2026-{:02}-{:02}", 1 + n % 12, 1 + n % 28),
        "last_contact_at": "2025-11-03T09:30:00Z",
        "region": region,
        "employees": rng.gen_range(1..50_000),
        "seats": rng.gen_range(0..500),
        "tags": ["expansion", "sso"],
        "notes": "Quarterly business review scheduled; sponsor asked for a roadmap preview.",
        "touches": 0
    })
}

fn when_source(segment: usize) -> String {
    format!("record.segment == \"s{segment}\" && record.health < 10")
}

/// Workflow `segment` of a form: on `updated`, when the account is in that segment and its
/// health is below 10, create a task.
fn workflow(form: &str, segment: usize) -> Value {
    json!({
        "title": format!("Low health in segment s{segment}"),
        "trigger": { "form": form, "on": ["updated"] },
        "when": when_source(segment),
        "actions": [ { "create": { "form": TASK, "data": {
            "title": "`Health ${record.health} for ${record.name}`",
            "account": "record.id",
            "status": "\"open\"" } } } ]
    })
}

/// The forms workflows are spread over: `account` first, then copies of it.
fn form_name(index: usize) -> String {
    if index == 0 {
        ACCOUNT.to_owned()
    } else {
        format!("other-{index}")
    }
}

/// A space with `forms` account-shaped forms (`account` first), `task`, and `per_form`
/// workflows on each account-shaped form.
async fn setup_space(engine: &Engine, forms: usize, per_form: usize) {
    engine
        .create_space(&actor(), &SpaceName::from_static(SPACE), None)
        .await
        .unwrap_or_else(|err| panic!("creating the space: {err}"));
    for index in 0..forms {
        let form = form_name(index);
        engine
            .put_form(
                &actor(),
                &SpaceName::from_static(SPACE),
                &FormName::parse(&form).expect("name"),
                &account_form(),
                false,
            )
            .await
            .unwrap_or_else(|err| panic!("storing form {form}: {err}"));
    }
    engine
        .put_form(&actor(), &SpaceName::from_static(SPACE), &FormName::from_static(TASK), &task_form(), false)
        .await
        .unwrap_or_else(|err| panic!("task form: {err}"));
    for index in 0..forms {
        let form = form_name(index);
        for segment in 0..per_form {
            let name = format!("{form}-low-s{segment}");
            engine
                .put_workflow(
                    &actor(),
                    &SpaceName::from_static(SPACE),
                    &WorkflowName::parse(&name).expect("name"),
                    &workflow(&form, segment),
                )
                .await
                .unwrap_or_else(|err| panic!("storing workflow {name}: {err}"));
        }
    }
}

/// Creates `count` accounts through the engine with [`CONCURRENCY`] tasks; returns their ids.
async fn create_accounts(engine: &Engine, count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let accounts: Vec<Value> = (0..count).map(|_| account(&mut rng)).collect();
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let (engine, sink) = (engine.clone(), Arc::clone(&ids));
    concurrently(accounts, move |data| {
        let (engine, sink) = (engine.clone(), Arc::clone(&sink));
        async move {
            let record = engine
                .create_record(
                    &actor(),
                    &Access::unrestricted(),
                    &SpaceName::from_static(SPACE),
                    &FormName::from_static(ACCOUNT),
                    data,
                )
                .await
                .unwrap_or_else(|err| panic!("creating an account: {err}"));
            sink.lock().expect("ids lock").push(record.id.to_string());
        }
    })
    .await;
    let ids = std::mem::take(&mut *ids.lock().expect("ids lock"));
    ids
}

/// Runs `op` on every item with [`CONCURRENCY`] tasks pulling from one queue; returns the wall
/// time.
async fn concurrently<T, F, Fut>(items: Vec<T>, op: F) -> Duration
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (queue, op) = (Arc::clone(&queue), op.clone());
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().expect("queue lock").next();
                    let Some(item) = next else { break };
                    op(item).await;
                }
            })
        })
        .collect();
    for worker in workers {
        // A failed write panics in its task; the benchmark stops with its message.
        worker.await.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
    }
    started.elapsed()
}

/// Runs of the space by status: (succeeded, skipped, failed). Pages through every run, showing
/// each to `each`.
fn count_runs(engine: &Engine, mut each: impl FnMut(&Run)) -> (usize, usize, usize) {
    let (mut succeeded, mut skipped, mut failed) = (0, 0, 0);
    let mut before = None;
    loop {
        let (runs, more) = engine
            .runs(&Access::unrestricted(), &SpaceName::from_static(SPACE), &RunFilter::default(), 10_000, before)
            .unwrap_or_else(|err| panic!("listing runs: {err}"));
        for run in &runs {
            each(run);
            match run.status {
                RunStatus::Succeeded => succeeded += 1,
                RunStatus::Skipped => skipped += 1,
                RunStatus::Failed => {
                    failed += 1;
                    if failed == 1 {
                        eprintln!("first failed run: {run:?}");
                    }
                }
            }
        }
        match runs.last() {
            Some(last) if more => before = Some(last.id),
            _ => return (succeeded, skipped, failed),
        }
    }
}

/// Records of `form`, counted page by page.
fn count_records(engine: &Engine, form: &str) -> usize {
    let (mut count, mut cursor) = (0, None);
    loop {
        let query = ListQuery { filter: None, sort: None, limit: Some(engine::MAX_LIMIT), cursor };
        let page = engine
            .list_records(
                &Access::unrestricted(),
                &SpaceName::from_static(SPACE),
                &FormName::parse(form).expect("name"),
                &query,
            )
            .unwrap_or_else(|err| panic!("listing {form}: {err}"));
        count += page.items.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return count,
        }
    }
}

/// Checks what the processor left: one run per triggered workflow, a task per match.
fn check_runs_and_tasks(engine: &Engine, events: usize, per_form: usize, matches: usize, each: impl FnMut(&Run)) {
    let (succeeded, skipped, failed) = count_runs(engine, each);
    assert_eq!(failed, 0, "no run may fail");
    assert_eq!(succeeded + skipped, events * per_form, "one run per event and workflow on the form");
    assert_eq!(succeeded, matches, "one succeeded run per matching event");
    assert_eq!(count_records(engine, TASK), matches, "one task per matching event");
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// The engine's flushes so far (count, total time), from its `tend_store_flush_seconds`
/// histogram: the recorder is process-wide and the sections run one after the other.
fn flushes() -> (u64, Duration) {
    let text = web::telemetry::metrics_handle().render();
    let value = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().last()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("tend_store_flush_seconds_count") as u64, Duration::from_secs_f64(value("tend_store_flush_seconds_sum")))
}

/// Flushes since `before`: how many and the mean flush time.
fn flushes_since(before: (u64, Duration)) -> (u64, Duration) {
    let (count, busy) = flushes();
    let count = count - before.0;
    (count, busy.saturating_sub(before.1).div_f64(count.max(1) as f64))
}

// ---------------------------------------------------------------------------------------------
// 1. Drain rate

struct DrainCase {
    label: &'static str,
    /// Forms the workflows are spread over (`account` first).
    forms: usize,
    /// Workflows on each of them.
    per_form: usize,
}

struct Drained {
    label: &'static str,
    per_form: usize,
    elapsed: Duration,
    events: usize,
}

impl Drained {
    fn per_event(&self) -> Duration {
        self.elapsed.div_f64(self.events as f64)
    }

    fn per_when(&self) -> Duration {
        self.elapsed.div_f64((self.events * self.per_form) as f64)
    }
}

/// Update `j` of section 1: a new `touches` (so it always changes the record), health below 10
/// for every tenth update only, segments cycling over the form's workflows. Returns whether
/// one `when` holds for it.
fn drain_patch(j: usize, per_form: usize) -> (Value, bool) {
    let matches = j.is_multiple_of(MATCH_EVERY);
    let health = if matches { (j / MATCH_EVERY) % 10 } else { 10 + j % 90 };
    let segment = (j / MATCH_EVERY) % per_form;
    (json!({ "health": health, "segment": format!("s{segment}"), "touches": j + 1 }), matches)
}

async fn drain_rates(settings: &Settings) -> Vec<Drained> {
    println!();
    println!("== 1. Processor drain rate (Engine::process_pending over a backlog, no HTTP) ==");
    println!(
        "  per case: a fresh engine; {} updates to {} accounts written by {CONCURRENCY} tasks (Engine::patch_record) \
         with no processor running, then ONE timed process_pending",
        settings.events, settings.accounts
    );
    println!(
        "  matching: workflow i of a form holds for `{}` (i = 0..N); update j has health < 10 iff j % {MATCH_EVERY} \
         == 0 and segment s<(j / {MATCH_EVERY}) % N>, so exactly 1 event in {MATCH_EVERY} makes exactly one `when` \
         hold (and creates one task)",
        when_source(0).replace("s0", "s<i>")
    );
    let cases = [
        DrainCase { label: "1 workflow on the form", forms: 1, per_form: 1 },
        DrainCase { label: "10 workflows on the form", forms: 1, per_form: 10 },
        DrainCase { label: "100 workflows on the form", forms: 1, per_form: 100 },
        DrainCase { label: "100 workflows over 10 forms, 10 on it", forms: 10, per_form: 10 },
    ];
    let mut results = Vec::new();
    for case in &cases {
        results.push(drain_case(settings, case).await);
    }
    println!();
    println!("  summary (µs/`when` = drain time ÷ `when` evaluations, everything included):");
    println!(
        "  {:<40} {:>10} {:>10} {:>11} {:>10} {:>11}",
        "case", "events/s", "runs/s", "whens/event", "µs/event", "µs/`when`"
    );
    for r in &results {
        println!(
            "  {:<40} {:>10.0} {:>10.0} {:>11} {:>10.1} {:>11.2}",
            r.label,
            r.events as f64 / r.elapsed.as_secs_f64(),
            (r.events * r.per_form) as f64 / r.elapsed.as_secs_f64(),
            r.per_form,
            r.per_event().as_secs_f64() * 1e6,
            r.per_when().as_secs_f64() * 1e6
        );
    }
    let (one, ten, hundred, split) = (&results[0], &results[1], &results[2], &results[3]);
    // Two points give a line: cost per event = fixed + N × marginal cost of one more workflow.
    let marginal = (hundred.per_event().as_secs_f64() - one.per_event().as_secs_f64()) / 99.0;
    let fixed = one.per_event().as_secs_f64() - marginal;
    println!(
        "  per event = {:.1} µs fixed + {:.2} µs per triggered workflow (line through the 1- and 100-workflow cases; \
         the 10-workflow case predicts {:.1} µs, measured {:.1} µs)",
        fixed * 1e6,
        marginal * 1e6,
        (fixed + 10.0 * marginal) * 1e6,
        ten.per_event().as_secs_f64() * 1e6
    );
    let ratio = split.per_event().as_secs_f64() / ten.per_event().as_secs_f64();
    println!(
        "  index, not scan: 100 workflows of which 10 on the form cost {ratio:.2}× the 10-workflow case per event \
         (target: flat, <= 1.25×: {})",
        verdict(ratio <= 1.25)
    );
    results
}

async fn drain_case(settings: &Settings, case: &DrainCase) -> Drained {
    println!();
    println!("  -- {} ({} workflows in the space) --", case.label, case.forms * case.per_form);
    let dir = TempDir::new().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap_or_else(|err| panic!("opening the engine: {err}"));
    setup_space(&engine, case.forms, case.per_form).await;
    let ids = create_accounts(&engine, settings.accounts, 7).await;
    // The creations trigger nothing (workflows watch `updated`): move the cursor past them now.
    engine.process_pending().await.unwrap_or_else(|err| panic!("processing the creations: {err}"));

    let patches: Vec<(String, Value, bool)> = (0..settings.events)
        .map(|j| {
            let (patch, matches) = drain_patch(j, case.per_form);
            (ids[j % ids.len()].clone(), patch, matches)
        })
        .collect();
    let matches = patches.iter().filter(|(_, _, m)| *m).count();
    let before = engine.last_event_seq();
    let writer = engine.clone();
    let wrote = concurrently(patches, move |(id, patch, _)| {
        let engine = writer.clone();
        async move {
            engine
                .patch_record(
                    &actor(),
                    &Access::unrestricted(),
                    &SpaceName::from_static(SPACE),
                    &FormName::from_static(ACCOUNT),
                    &id,
                    &patch,
                    None,
                )
                .await
                .unwrap_or_else(|err| panic!("patching account {id}: {err}"));
        }
    })
    .await;
    let written = (engine.last_event_seq() - before) as usize;
    assert_eq!(written, settings.events, "every patch must have appended one `updated` event");
    println!(
        "  backlog: {written} events written in {:.2} s ({:.0}/s), {matches} of them matching",
        wrote.as_secs_f64(),
        written as f64 / wrote.as_secs_f64()
    );

    let (flushes_before, cpu_before, started) = (flushes(), process_cpu(), Instant::now());
    let processed = engine.process_pending().await.unwrap_or_else(|err| panic!("process_pending failed: {err}"));
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let (flush_count, mean_flush) = flushes_since(flushes_before);
    // The drain also reads the `created` events of the tasks it made (they trigger nothing).
    assert_eq!(processed, settings.events + matches, "process_pending must process every update and every new task");
    println!(
        "  drain: {} update events in {:.2} s = {:.0} events/s, {:.0} runs/s; {} per event, {} per `when` \
         ({} tasks' `created` events read too)",
        settings.events,
        elapsed.as_secs_f64(),
        settings.events as f64 / elapsed.as_secs_f64(),
        (settings.events * case.per_form) as f64 / elapsed.as_secs_f64(),
        us(elapsed.div_f64(settings.events as f64)),
        us(elapsed.div_f64((settings.events * case.per_form) as f64)),
        matches
    );
    println!(
        "    {flush_count} commits+flushes ({:.2} events per flush, mean flush {}, flushing {:.0}% of the drain); \
         process CPU {:.2} cores busy = {} of CPU per event",
        settings.events as f64 / flush_count.max(1) as f64,
        ms(mean_flush),
        100.0 * (mean_flush * flush_count as u32).as_secs_f64() / elapsed.as_secs_f64(),
        cpu.as_secs_f64() / elapsed.as_secs_f64(),
        us(cpu.div_f64(settings.events as f64))
    );
    check_runs_and_tasks(&engine, settings.events, case.per_form, matches, |_| {});
    println!(
        "    checked: {} runs (= events × {}), {matches} succeeded = {matches} tasks, none failed",
        settings.events * case.per_form,
        case.per_form
    );
    engine.close().unwrap_or_else(|err| panic!("closing the engine: {err}"));
    Drained { label: case.label, per_form: case.per_form, elapsed, events: settings.events }
}

// ---------------------------------------------------------------------------------------------
// 2. One `when`

/// Evaluates `script` `iterations` times (after a tenth as many untimed); returns the mean time
/// per evaluation. Panics unless every evaluation gives `expected`.
fn time_evals(scripts: &Scripts, source: &str, vars: &ScriptVars, iterations: usize, expected: bool) -> Duration {
    let script = scripts
        .compile(&ScriptOrigin(format!("bench `{source}`")), source)
        .unwrap_or_else(|err| panic!("compiling `{source}`: {}", err.message()));
    let once = || {
        let evaluation = scripts.eval(&script, black_box(vars)).unwrap_or_else(|err| panic!("{}", err.message()));
        assert_eq!(evaluation.as_bool(), Some(expected), "`{source}` gave {}", evaluation.value);
    };
    (0..iterations.div_ceil(10)).for_each(|_| once());
    let started = Instant::now();
    (0..iterations).for_each(|_| once());
    started.elapsed().div_f64(iterations as f64)
}

fn when_costs(settings: &Settings, drains: &[Drained]) {
    println!();
    println!("== 2. Cost of one `when` evaluation ==");
    let scripts = Scripts::new(ScriptLimits::default(), Arc::new(SystemClock));
    let id = Uuid::now_v7().to_string();
    let with_id = |mut data: Value| {
        data["id"] = Value::String(id.clone());
        data
    };
    let mut rng = StdRng::seed_from_u64(3);
    let mut record = account(&mut rng);
    record["segment"] = json!("s3");
    record["health"] = json!(42);
    let old = with_id(record.clone());
    record["health"] = json!(41);
    let record = with_id(record);
    let fields = record.as_object().map_or(0, |o| o.len() - 1);
    // What the processor binds for an `updated` event (workflows::processor, `event_vars`).
    let processor_vars = ScriptVars {
        record: record.clone(),
        old: Some(old),
        event: Some(json!({ "kind": "updated", "seq": 12345, "actor": "bench", "at": "2026-01-05T10:00:00.123456Z",
                            "form": ACCOUNT, "record": id })),
        space: Some(SPACE.into()),
        ..ScriptVars::default()
    };
    let record_only = ScriptVars { record, ..ScriptVars::default() };
    let when = when_source(3);
    let n = settings.evals;
    println!("  engine::rules::Scripts (the engine's sandbox and limits), {fields}-field account record, {n} evaluations each, one thread");
    let full = time_evals(&scripts, &when, &processor_vars, n, false);
    println!("  `{when}` with record + old + event + space bound (as the processor does): {} per eval", us(full));
    let bare = time_evals(&scripts, &when, &record_only, n, false);
    println!("  the same with `record` alone: {} per eval", us(bare));
    let constant = time_evals(&scripts, "true", &processor_vars, n, true);
    println!(
        "  `true` with the same variables bound: {} per eval — the fixed cost of any evaluation (converting the \
         JSON into rhai values, scope, sandbox set-up), whatever the expression",
        us(constant)
    );
    if let [one, _, hundred, ..] = drains {
        let marginal = (hundred.per_event().as_secs_f64() - one.per_event().as_secs_f64()) / 99.0;
        println!(
            "  inside the processor (section 1): {:.2} µs per extra triggered workflow — its `when`, the run record \
             and its share of the commit — vs {} for the evaluation alone",
            marginal * 1e6,
            us(full)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Lag under sustained load

/// The processor's cursor as a thread reads it every millisecond.
#[derive(Default)]
struct Tracker {
    /// (when read, position), only when it changed: positions increase along the vector.
    positions: Mutex<Vec<(Instant, u64)>>,
    readings: AtomicU64,
    stop: AtomicBool,
}

impl Tracker {
    /// Reads `Engine::processor_position` every millisecond until told to stop. The cursor
    /// advances in the same atomic batch that commits the runs of the events it passes, so the
    /// first reading at or past an event's sequence number tells when its runs were committed
    /// (at most one reading interval late).
    fn run(&self, engine: &Engine) {
        let mut last = None;
        while !self.stop.load(Ordering::Relaxed) {
            let position = engine.processor_position().unwrap_or_else(|err| panic!("reading the cursor: {err}"));
            let read_at = Instant::now();
            if last != Some(position) {
                self.positions.lock().expect("positions lock").push((read_at, position));
                last = Some(position);
            }
            self.readings.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// When the cursor was first seen at or past `seq`.
    fn passed(&self, seq: u64) -> Option<Instant> {
        let positions = self.positions.lock().expect("positions lock");
        positions.get(positions.partition_point(|&(_, position)| position < seq)).map(|&(at, _)| at)
    }
}

/// The server, and the tracker reading its engine's cursor.
struct Lagged {
    base: String,
    token: String,
    engine: Engine,
    tracker: Arc<Tracker>,
    tracking: std::thread::JoinHandle<()>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: TempDir,
}

impl Lagged {
    async fn start(settings: &Settings) -> (Lagged, Vec<String>, Vec<String>) {
        let dir = TempDir::new().expect("temp dir");
        let config = Config { data_dir: dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
        let app = Application::build(config).await.unwrap_or_else(|err| panic!("building the server: {err:#}"));
        let base = format!("http://{}", app.local_addr());
        let token = app.first_admin_token().expect("an empty data dir gets an admin token").to_owned();
        let engine = app.engine().clone();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async {
            let _ = stop.await;
        }));
        setup_space(&engine, 1, LAG_WORKFLOWS).await;
        let accounts = create_accounts(&engine, settings.accounts, 11).await;
        // Written once each: the sampled writes, then two markers (before and after the load).
        let tracked = create_accounts(&engine, settings.samples + 2, 13).await;
        let tracker = Arc::new(Tracker::default());
        let tracking = {
            let (engine, tracker) = (engine.clone(), Arc::clone(&tracker));
            std::thread::Builder::new()
                .name("cursor-tracker".into())
                .spawn(move || tracker.run(&engine))
                .expect("spawning the cursor tracker")
        };
        (Lagged { base, token, engine, tracker, tracking, shutdown, serving, _dir: dir }, accounts, tracked)
    }

    fn patch_url(&self, id: &str) -> String {
        format!("{}/api/v1/spaces/{SPACE}/forms/{ACCOUNT}/records/{id}", self.base)
    }

    /// The sequence number of the one update of an account written once.
    fn update_seq(&self, id: &str) -> u64 {
        let history = self
            .engine
            .record_history(
                &Access::unrestricted(),
                &SpaceName::from_static(SPACE),
                &FormName::from_static(ACCOUNT),
                id,
                0,
                10,
            )
            .unwrap_or_else(|err| panic!("history of {id}: {err}"));
        let updates: Vec<u64> = history.iter().filter(|e| e.kind == EventKind::Updated).map(|e| e.seq).collect();
        assert_eq!(updates.len(), 1, "account {id} must have been updated exactly once");
        updates[0]
    }

    /// PATCHes an account written once and waits until its runs are committed; returns when.
    async fn marker(&self, id: &str, timeout: Duration) -> Instant {
        let quiet = json!({ "health": 50, "segment": "s0", "touches": 1 });
        http_patch(&reqwest::Client::new(), &self.patch_url(id), &self.token, &quiet).await;
        let seq = self.update_seq(id);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.tracker.passed(seq) {
                return at;
            }
            assert!(!self.tracking.is_finished(), "the cursor tracker stopped (see its panic above)");
            assert!(Instant::now() < deadline, "the processor did not reach event {seq} within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Log head, cursor and backlog now.
    fn tick(&self, started: Instant) -> Tick {
        let position = self.engine.processor_position().unwrap_or_else(|err| panic!("reading the cursor: {err}"));
        let head = self.engine.last_event_seq();
        Tick { at: started.elapsed(), head, position }
    }
}

/// A point of the backlog timeline.
struct Tick {
    at: Duration,
    /// `Engine::last_event_seq`.
    head: u64,
    /// `Engine::processor_position`, read just before `head`.
    position: u64,
}

impl Tick {
    fn backlog(&self) -> u64 {
        self.head.saturating_sub(self.position)
    }
}

/// One PATCH through HTTP; panics unless it answers 200 with a full body.
async fn http_patch(client: &reqwest::Client, url: &str, token: &str, patch: &Value) {
    let response = client
        .patch(url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("PATCH {url} failed: {err}"));
    let status = response.status();
    let body = response.bytes().await.unwrap_or_else(|err| panic!("PATCH {url}: reading the body failed: {err}"));
    assert_eq!(status, StatusCode::OK, "PATCH {url}: {}", String::from_utf8_lossy(&body));
}

/// A random section-3 update: health < 10 one time in ten, any of the 10 segments.
fn random_patch(rng: &mut StdRng, touches: u64) -> (Value, bool) {
    let matches = rng.gen_range(0..MATCH_EVERY) == 0;
    let health = if matches { rng.gen_range(0..10) } else { rng.gen_range(10..=100) };
    let segment = rng.gen_range(0..LAG_WORKFLOWS);
    (json!({ "health": health, "segment": format!("s{segment}"), "touches": touches }), matches)
}

/// What the load's clients share.
struct Load {
    url: String,
    token: String,
    accounts: Vec<String>,
    /// Accounts written once each, by the sampled writes.
    samples: Vec<String>,
    started: Instant,
    until: Instant,
    sample_every: Duration,
    next_sample: AtomicUsize,
    acked: Mutex<Vec<Option<Instant>>>,
    writes: AtomicU64,
    matching: AtomicU64,
}

impl Load {
    /// The next sampled write, when one is due (one every `sample_every`).
    fn claim_sample(&self) -> Option<usize> {
        let k = self.next_sample.load(Ordering::Relaxed);
        let due = self.started + self.sample_every * u32::try_from(k).ok()?;
        if k >= self.samples.len() || Instant::now() < due {
            return None;
        }
        self.next_sample.compare_exchange(k, k + 1, Ordering::Relaxed, Ordering::Relaxed).ok()
    }

    /// One client: PATCHes accounts back to back until the load ends; returns its latencies.
    async fn client(self: Arc<Self>, worker: usize) -> Vec<Duration> {
        let client = reqwest::Client::new();
        let mut rng = StdRng::seed_from_u64(100 + worker as u64);
        let mut latencies = Vec::new();
        while Instant::now() < self.until {
            let sample = self.claim_sample();
            let id = match sample {
                Some(k) => &self.samples[k],
                None => &self.accounts[rng.gen_range(0..self.accounts.len())],
            };
            let (patch, matches) = random_patch(&mut rng, self.writes.fetch_add(1, Ordering::Relaxed) + 1);
            let sent = Instant::now();
            http_patch(&client, &format!("{}/{id}", self.url), &self.token, &patch).await;
            let acked = Instant::now();
            latencies.push(acked - sent);
            if let Some(k) = sample {
                self.acked.lock().expect("acks lock")[k] = Some(acked);
            }
            if matches {
                self.matching.fetch_add(1, Ordering::Relaxed);
            }
        }
        latencies
    }
}

async fn lag_under_load(settings: &Settings) {
    println!();
    println!("== 3. End-to-end lag under sustained HTTP load ==");
    let (server, accounts, mut samples) = Lagged::start(settings).await;
    let (after_marker, before_marker) = (samples.pop().expect("a marker"), samples.pop().expect("a marker"));
    // The processor is idle once the marker written after the setup has its runs.
    server.marker(&before_marker, settings.drain_timeout).await;
    println!(
        "  real server in-process (Application::build, processor running); {LAG_WORKFLOWS} workflows on `{ACCOUNT}` \
         `updated`, each write matches one `when` with probability 1/{MATCH_EVERY}"
    );
    println!(
        "  {CONCURRENCY} keep-alive clients PATCH random accounts of {} back to back for {} s; {} sampled writes \
         (one every {}) go to accounts written once; a write's runs count as committed once a thread reading \
         Engine::processor_position every 1 ms sees the cursor at or past the write's event (the cursor moves in the \
         batch that commits the runs)",
        accounts.len(),
        settings.load.as_secs(),
        samples.len(),
        ms(settings.load / samples.len() as u32)
    );

    let load = Arc::new(Load {
        url: server.patch_url("").trim_end_matches('/').to_owned(),
        token: server.token.clone(),
        accounts,
        samples,
        started: Instant::now(),
        until: Instant::now() + settings.load,
        sample_every: settings.load / settings.samples as u32,
        next_sample: AtomicUsize::new(0),
        acked: Mutex::new(vec![None; settings.samples]),
        writes: AtomicU64::new(0),
        matching: AtomicU64::new(0),
    });
    let (flushes_before, cpu_before, readings_before) =
        (flushes(), process_cpu(), server.tracker.readings.load(Ordering::Relaxed));
    let at_start = server.tick(load.started);
    let clients: Vec<_> = (0..CONCURRENCY).map(|w| tokio::spawn(Arc::clone(&load).client(w))).collect();
    let mut timeline = Vec::new();
    while Instant::now() < load.until {
        tokio::time::sleep(Duration::from_secs(1).min(load.until.saturating_duration_since(Instant::now()))).await;
        timeline.push(server.tick(load.started));
    }
    let mut latencies = Vec::new();
    for handle in clients {
        latencies.extend(handle.await.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic())));
    }
    let load_end = Instant::now();
    let load_time = load_end - load.started;
    let at_end = server.tick(load.started);
    let (flush_count, mean_flush) = flushes_since(flushes_before);
    let cpu = process_cpu().saturating_sub(cpu_before);
    let readings = server.tracker.readings.load(Ordering::Relaxed) - readings_before;
    // Everything written before this marker is processed once it has its runs.
    let drain = server.marker(&after_marker, settings.drain_timeout).await - load_end;

    let writes = latencies.len();
    let write_rate = writes as f64 / load_time.as_secs_f64();
    let p = percentiles(&mut latencies);
    println!(
        "  write path: {writes} PATCH 200s in {:.2} s = {write_rate:.0}/s; latency p50 {} p99 {} max {}; process CPU \
         {:.2} cores busy; {flush_count} flushes, mean {}",
        load_time.as_secs_f64(),
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
        cpu.as_secs_f64() / load_time.as_secs_f64(),
        ms(mean_flush)
    );
    let per_second = |ticks: u64| ticks as f64 / load_time.as_secs_f64();
    let (grew, advanced) = (per_second(at_end.head - at_start.head), per_second(at_end.position - at_start.position));
    println!(
        "  during the load the log grew {grew:.0} events/s (the writes and the tasks the runs created) and the \
         processor's cursor advanced {advanced:.0} events/s = {:.0}%",
        100.0 * advanced / grew
    );
    let points: Vec<String> = timeline.iter().map(|t| format!("{:.0}s:{}", t.at.as_secs_f64(), t.backlog())).collect();
    println!(
        "  backlog (Engine::last_event_seq − Engine::processor_position, events) by second: {}  at the end: {}",
        points.join(" "),
        at_end.backlog()
    );
    let keeps_up = advanced >= 0.95 * grew && drain <= Duration::from_secs(1);
    println!(
        "  after the load stopped, the processor caught up in {} (a marker write's runs committed that long after the \
         load's end)   (target: keeps up with the write path, >= 95% of its rate and caught up within 1 s: {})",
        ms(drain),
        verdict(keeps_up)
    );
    let sampled = report_lags(&server, &load);
    println!(
        "    cursor read {readings} times during the load (every {} on average): a commit is seen at most that late",
        ms(load_time.div_f64(readings.max(1) as f64))
    );

    server.tracker.stop.store(true, Ordering::Relaxed);
    server.tracking.join().unwrap_or_else(|err| std::panic::resume_unwind(err));
    // Every account write (the load and both markers) ran the 10 workflows; every match made a
    // task; each sampled write has its 10 runs, for its event.
    let account_writes = writes + 2;
    let matching = load.matching.load(Ordering::Relaxed) as usize;
    let mut runs_of: HashMap<Uuid, (u64, usize)> = sampled.into_iter().map(|(id, seq)| (id, (seq, 0))).collect();
    check_runs_and_tasks(&server.engine, account_writes, LAG_WORKFLOWS, matching, |run| {
        if let Some((seq, count)) = runs_of.get_mut(&run.record) {
            assert_eq!(run.event, *seq, "a run of a sampled write is for its event");
            *count += 1;
        }
    });
    assert!(runs_of.values().all(|&(_, count)| count == LAG_WORKFLOWS), "each sampled write has its runs");
    println!(
        "    checked: {} runs (= {account_writes} writes × {LAG_WORKFLOWS}), {matching} succeeded = {matching} tasks, \
         none failed; {LAG_WORKFLOWS} runs for each sampled write's event",
        account_writes * LAG_WORKFLOWS
    );
    let _ = server.shutdown.send(());
    server.serving.await.expect("server task").unwrap_or_else(|err| panic!("server stopped with {err:#}"));
}

/// Prints the sampled writes' lags; returns each sampled account with its update's sequence
/// number.
fn report_lags(server: &Lagged, load: &Load) -> Vec<(Uuid, u64)> {
    let acked = load.acked.lock().expect("acks lock").clone();
    let (mut lags, mut by_second, mut sampled) = (Vec::new(), Vec::<Vec<Duration>>::new(), Vec::new());
    let mut early = 0;
    for (k, ack) in acked.iter().enumerate() {
        let Some(ack) = *ack else { continue };
        let seq = server.update_seq(&load.samples[k]);
        let committed =
            server.tracker.passed(seq).unwrap_or_else(|| panic!("sampled write {k} (event {seq}) never ran"));
        if committed < ack {
            early += 1;
        }
        let lag = committed.saturating_duration_since(ack);
        let second = (ack - load.started).as_secs() as usize;
        if by_second.len() <= second {
            by_second.resize(second + 1, Vec::new());
        }
        by_second[second].push(lag);
        lags.push(lag);
        sampled.push((Uuid::parse_str(&load.samples[k]).expect("a record id"), seq));
    }
    let p = percentiles(&mut lags);
    println!(
        "  lag 2xx -> runs committed, {} sampled writes: p50 {}  p99 {}  max {}   (target p99 < 100 ms: {})",
        lags.len(),
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
        verdict(p.p99 < Duration::from_millis(100))
    );
    println!(
        "    {early} of {} runs were committed before the client had read its 2xx (counted as 0: the processor \
         reads an event once its batch is applied, the 2xx waits for that batch's flush)",
        lags.len()
    );
    let per_second: Vec<String> = by_second
        .iter_mut()
        .enumerate()
        .filter(|(_, lags)| !lags.is_empty())
        .map(|(s, lags)| format!("{s}s:{:.1}", percentiles(lags).p50.as_secs_f64() * 1000.0))
        .collect();
    println!("    lag p50 (ms) by second of the load the write was acknowledged in: {}", per_second.join(" "));
    let half = by_second.len() / 2;
    let mut later: Vec<Duration> = by_second[half..].iter().flatten().copied().collect();
    if !later.is_empty() {
        let p = percentiles(&mut later);
        println!(
            "    writes acknowledged from second {half} of the load on ({} samples): p50 {}  p99 {}  max {}",
            later.len(),
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        );
    }
    sampled
}
