//! The foundation benchmark: how fast Tend's base layer writes and queries, measured against
//! the storage engine it sits on.
//!
//! One run prints a plain-text report with five sections:
//! 1. **engine creates/s**: `Engine::create_record` called directly (no HTTP) by 16 concurrent
//!    tasks, on a fresh data dir, with realistic CS `account` payloads validated against a JSON
//!    Schema (enums, ranges, formats) and written with 4 secondary indexes and an event;
//! 2. **raw sled and raw fjall inserts/s**: the same payload bytes inserted by 16 concurrent
//!    writers into a bare database of each engine opened with the engine's settings, each
//!    write acknowledged only after a flush that started after it (the engine's group-commit
//!    scheme, re-implemented minimally here), and the engine's ratio to each (new data dirs
//!    are fjall, so raw fjall is the engine's own floor). Sections 1 and 2 run in rounds, the
//!    three in a different order each round, and the ratios are of the rounds' means;
//! 3. **HTTP creates/s**: the real server (`Application::build`) in this process, 16 keep-alive
//!    clients POSTing records, with p50/p99/max latency from send to full response; once with
//!    the first admin token (a bootstrap superadmin: no space role to look up) and once with a
//!    member's browser session (cookie, CSRF check, the user and their standing in the space
//!    resolved on every request), and what authorization costs the write path between the two;
//!    then **sign-in latency**: password sign-ins (argon2id at the OWASP parameters, m=19456
//!    KiB, t=2, p=1) one after another, p50/p99/max;
//! 4. **query latency on N records** (100k by default): indexed filters, sorts and a broad
//!    query, through HTTP and through `Engine::list_records`, with the plan each one used, plus
//!    an unindexed query that has to read every record, for comparison;
//! 5. **RSS**: current and peak resident memory after loading and at the end; with the query
//!    section, the disk the loaded records take against their JSON size;
//! 6. **served apart** (with the query section): pending timers are added to the loaded data
//!    dir (as many as records, `TEND_BENCH_TIMERS`), the in-process server is stopped, and
//!    `tend serve` (the binary Cargo built with this benchmark) serves the data dir as its own
//!    process: the start-up time to the first `/readyz` 200, the indexed queries over HTTP,
//!    and that process's resident memory.
//!
//! Beside each write figure, two diagnostics say what limited it: the CPU the whole process
//! used during the run (cores busy) and the group-commit flushes (how many, writes per flush,
//! mean flush time, how busy the flusher was; for the engine, a "flush" is one committer batch:
//! apply and fsync).
//!
//! Every request is checked: a failed create, a non-2xx answer or an empty result page panics
//! with the reason instead of producing figures over errors.
//!
//! Run it in release (Cargo's bench profile):
//!
//! ```text
//! cargo bench -p web --bench foundation
//! ```
//!
//! Scale knobs (environment variables, defaults in brackets): `TEND_BENCH_RECORDS` [100000]
//! records loaded for the query section, `TEND_BENCH_WRITES` [20000] measured engine creates
//! and raw engine inserts, `TEND_BENCH_HTTP_WRITES` [30000] measured HTTP creates,
//! `TEND_BENCH_WARMUP` [2000] unmeasured writes before each write measurement,
//! `TEND_BENCH_QUERY_ITERS` [200] runs of each indexed query, `TEND_BENCH_SCAN_ITERS` [10] runs
//! of the unindexed one, `TEND_BENCH_SIGN_INS` [200] timed password sign-ins, `TEND_BENCH_ROUNDS`
//! [3] rounds of sections 1 and 2;
//! `TEND_BENCH_SECTIONS` [engine,http,queries] the sections to run. A quick run: `TEND_BENCH_RECORDS=10000 TEND_BENCH_WRITES=2000
//! TEND_BENCH_HTTP_WRITES=3000 cargo bench -p web --bench foundation`.
//!
//! Data directories are temporary directories under `$TMPDIR` (default `/tmp`), so the disk
//! behind it is what the flush figures measure.

#[path = "support.rs"]
mod support;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};
use engine::{Access, Engine, EngineConfig, FormName, ListQuery, Page, Record, SpaceName, WorkflowName};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;
use tempfile::TempDir;
use tokio::sync::{oneshot, watch};
use web::config::{Config, LogFormat};
use web::startup::Application;

/// Concurrent writers in every write section: group commit only pays off with concurrency,
/// and 16 is a modest number of simultaneous users for one department's server.
const CONCURRENCY: usize = 16;
const SPACE: &str = "bench";
const FORM: &str = "account";
/// Page size of every timed query.
const PAGE: usize = 50;
/// Renewal dates are spread over the year starting here.
const RENEWALS_FROM: (i32, u32, u32) = (2026, 1, 1);

fn main() {
    let settings = Settings::from_env();
    // Same observability as `tend serve`: the Prometheus recorder is installed, so the engine's
    // and the router's metrics cost what they cost in production. Logs at `warn` keep the
    // report readable while still showing anything going wrong in the server.
    web::telemetry::init_tracing(LogFormat::Text, "warn");
    let _metrics = web::telemetry::metrics_handle();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("building the tokio runtime");
    runtime.block_on(run(&settings));
}

async fn run(settings: &Settings) {
    settings.print();
    if settings.runs("engine") {
        engine_against_raw(settings).await;
    }
    if settings.runs("http") {
        let admin = http_creates(settings, As::AdminToken).await;
        let member = http_creates(settings, As::MemberSession).await;
        let cost = (admin - member) / admin * 100.0;
        println!();
        println!(
            "  authorization's cost on the write path (member session vs admin token): {cost:.1}% fewer creates/s   \
             (target <= 5%: {})",
            verdict(cost <= 5.0)
        );
        sign_ins(settings).await;
    }
    if settings.runs("queries") {
        queries(settings).await;
    }
    println!();
    println!("== 5. Memory at the end ==");
    print_rss("at the end");
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    records: usize,
    writes: usize,
    http_writes: usize,
    warmup: usize,
    query_iters: usize,
    scan_iters: usize,
    sign_ins: usize,
    timers: usize,
    rounds: usize,
    sections: Vec<String>,
}

impl Settings {
    fn from_env() -> Self {
        Self {
            records: env_count("TEND_BENCH_RECORDS", 100_000),
            writes: env_count("TEND_BENCH_WRITES", 20_000),
            http_writes: env_count("TEND_BENCH_HTTP_WRITES", 30_000),
            warmup: env_count("TEND_BENCH_WARMUP", 2_000),
            query_iters: env_count("TEND_BENCH_QUERY_ITERS", 200),
            scan_iters: env_count("TEND_BENCH_SCAN_ITERS", 10),
            sign_ins: env_count("TEND_BENCH_SIGN_INS", 200),
            timers: env_count("TEND_BENCH_TIMERS", env_count("TEND_BENCH_RECORDS", 100_000)),
            rounds: env_count("TEND_BENCH_ROUNDS", 3).max(1),
            sections: std::env::var("TEND_BENCH_SECTIONS")
                .unwrap_or_else(|_| "engine,http,queries".into())
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect(),
        }
    }

    fn runs(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }

    fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines().find_map(|l| {
                    l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
                })
            })
            .unwrap_or_else(|| "unknown CPU".into());
        println!("Tend foundation benchmark");
        println!("  machine: {cores} cores (nproc), {cpu}; data dirs under {}", std::env::temp_dir().display());
        println!(
            "  settings: records={} writes={} http_writes={} warmup={} query_iters={} scan_iters={} rounds={} \
             concurrency={CONCURRENCY}",
            self.records, self.writes, self.http_writes, self.warmup, self.query_iters, self.scan_iters, self.rounds
        );
        println!("  tokio multi-thread runtime with {cores} workers; metrics recorder installed as in `tend serve`");
    }
}

// ---------------------------------------------------------------------------------------------
// The workload: a CS `account` form and realistic records for it

/// The `account` form of the integration tests' fixtures, with a few more fields so records
/// are the size of real ones (~400 bytes of JSON).
const NAME_HEADS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Monarch",
    "Oscorp",
    "Massive",
    "Gringotts",
    "Nakatomi",
    "Dunder",
    "Sterling",
    "Bluth",
    "Prestige",
];
const NAME_MIDS: &[&str] = &[
    "Analytics",
    "Logistics",
    "Health",
    "Robotics",
    "Foods",
    "Energy",
    "Media",
    "Capital",
    "Labs",
    "Systems",
    "Retail",
    "Mobility",
    "Security",
    "Biotech",
    "Travel",
    "Software",
    "Insurance",
    "Freight",
    "Studios",
    "Cloud",
    "Textiles",
    "Pharma",
    "Telecom",
    "Farms",
];
const NAME_TAILS: &[&str] = &["Inc", "GmbH", "Ltd", "SA", "BV", "LLC", "AB", "Group", "Holdings", "Partners"];
const OWNERS: &[&str] = &["ana", "bruno", "chloe", "dmitri", "emma", "farid", "grace", "hugo", "ines", "jonas"];
const TAGS: &[&str] = &["champion-left", "expansion", "at-risk", "reference", "beta", "multi-region", "sso", "api"];
const NOTES: &[&str] = &[
    "Quarterly business review scheduled; sponsor asked for a roadmap preview and SSO audit logs.",
    "Usage dipped after the reorg. New admin onboarded, follow up on training in two weeks.",
    "Expansion talks with the EMEA team; procurement needs the security questionnaire first.",
    "Happy with support response times. Wants bulk import and a sandbox before renewal.",
];

/// Deterministic account records: the same seed gives the same sequence, so the engine and the
/// raw-engine baselines write identical payloads.
struct Accounts {
    rng: StdRng,
}

impl Accounts {
    fn new(seed: u64) -> Self {
        Self { rng: StdRng::seed_from_u64(seed) }
    }

    fn next(&mut self) -> Value {
        let rng = &mut self.rng;
        let name = format!("{} {} {}", pick(rng, NAME_HEADS), pick(rng, NAME_MIDS), pick(rng, NAME_TAILS));
        // Tiers are skewed the way customer bases are: few enterprise accounts.
        let tier = match rng.gen_range(0..100) {
            0..=49 => "starter",
            50..=84 => "growth",
            _ => "enterprise",
        };
        let renewal = renewals_start() + Days::days(rng.gen_range(0..365));
        let last_contact = Utc.timestamp_opt(1_735_689_600 + rng.gen_range(0..31_536_000), 0).unwrap();
        let slug: String = name.split(' ').next().unwrap_or("acme").to_lowercase();
        let tags: Vec<&str> = (0..rng.gen_range(0..=3)).map(|_| pick(rng, TAGS)).collect();
        json!({
            "name": name,
            "tier": tier,
            "health": rng.gen_range(0..=100),
            "arr": f64::from(rng.gen_range(100_000..50_000_000)) / 100.0,
            "owner": format!("{}.{}@example.com", pick(rng, OWNERS), pick(rng, OWNERS)),
            "website": format!("https://www.{slug}.example.com/"),
            "renewal_date": renewal.format("%Y-%m-%d").to_string(),
            "last_contact_at": last_contact.to_rfc3339(),
            "region": pick(rng, &["amer", "emea", "apac"]),
            "employees": rng.gen_range(1..50_000),
            "tags": tags,
            "notes": pick(rng, NOTES),
        })
    }

    fn take(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn pick<'a>(rng: &mut StdRng, choices: &[&'a str]) -> &'a str {
    choices[rng.gen_range(0..choices.len())]
}

fn renewals_start() -> NaiveDate {
    let (y, m, d) = RENEWALS_FROM;
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn mean_size(payloads: &[Vec<u8>]) -> usize {
    payloads.iter().map(Vec::len).sum::<usize>() / payloads.len().max(1)
}

fn to_bytes(records: &[Value]) -> Vec<Vec<u8>> {
    records.iter().map(|r| serde_json::to_vec(r).expect("a JSON value serialises")).collect()
}

// ---------------------------------------------------------------------------------------------
// Running concurrent load and summarising latencies

/// What a concurrent run measured: wall time, one latency per operation, and the CPU time the
/// whole process used meanwhile (to tell a CPU-bound run from one waiting on the disk).
struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
    cpu: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Average number of cores the process kept busy.
    fn cores_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }
}

/// Group-commit flushes: how many ran and how long they took in total. With a fixed number of
/// writers, throughput is bounded by writers / (commit time + wait for a flush), so these
/// figures tell whether the disk or the CPU limits a write run.
#[derive(Clone, Copy, Default)]
struct Flushes {
    count: u64,
    busy: Duration,
}

impl Flushes {
    /// The flushes the engine ran so far, from its `tend_store_flush_seconds` histogram (the
    /// Prometheus recorder is process-wide, and sections run one after the other).
    fn of_engine() -> Self {
        let text = web::telemetry::metrics_handle().render();
        let value = |name: &str| {
            text.lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().last()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Self {
            count: value("tend_store_flush_seconds_count") as u64,
            busy: Duration::from_secs_f64(value("tend_store_flush_seconds_sum")),
        }
    }

    fn since(self, earlier: Flushes) -> Flushes {
        Flushes { count: self.count - earlier.count, busy: self.busy.saturating_sub(earlier.busy) }
    }

    fn describe(self, run: &Run) -> String {
        let count = self.count.max(1);
        format!(
            "{} flushes, {:.1} writes per flush, mean flush {}, flusher busy {:.0}% of the run",
            self.count,
            run.latencies.len() as f64 / count as f64,
            ms(self.busy.div_f64(count as f64)),
            100.0 * self.busy.as_secs_f64() / run.elapsed.as_secs_f64()
        )
    }
}

/// Runs `op` on every item with [`CONCURRENCY`] tasks pulling from one queue (so all tasks stay
/// busy until the queue is empty) and times each call. `op` gets the worker number, so a
/// worker can use its own client.
async fn drive<T, F, Fut>(items: Vec<T>, op: F) -> Run
where
    T: Send + 'static,
    F: Fn(usize, T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let (started, cpu_before) = (Instant::now(), process_cpu());
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|worker| {
            let queue = Arc::clone(&queue);
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let next = queue.lock().expect("queue lock").next();
                    let Some(item) = next else { break };
                    let sent = Instant::now();
                    op(worker, item).await;
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        // A panicking operation (a failed request) aborts the whole benchmark with its message.
        latencies.extend(worker.await.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic())));
    }
    Run { elapsed: started.elapsed(), latencies, cpu: process_cpu().saturating_sub(cpu_before) }
}

/// Prints a write run and the flushes that made it durable; returns its rate.
fn report_writes(label: &str, mut run: Run, flushes: Flushes) -> f64 {
    let rate = run.rate();
    let p = percentiles(&mut run.latencies);
    println!(
        "  {label}: {rate:.0}/s  ({} ops in {:.2} s; per-op latency p50 {} p99 {} max {}; process CPU {:.2} cores busy)",
        run.latencies.len(),
        run.elapsed.as_secs_f64(),
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
        run.cores_busy()
    );
    println!("    group commit: {}", flushes.describe(&run));
    rate
}

/// Bytes the files under `dir` take on disk (allocated blocks, as `du` counts them).
fn disk_usage(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_usage(&entry.path()),
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Disk per record: what loading `records` added to the data dir against their JSON size (the
/// request bodies), after sled wrote its log out (every create was flushed when acknowledged).
fn print_disk(dir: &std::path::Path, before: u64, json_bytes: u64, records: usize) {
    let added = disk_usage(dir).saturating_sub(before);
    let per_record = added as f64 / records.max(1) as f64;
    let json_per_record = json_bytes as f64 / records.max(1) as f64;
    let ratio = added as f64 / json_bytes.max(1) as f64;
    println!(
        "  disk: {:.1} MiB for {records} records, {per_record:.0} B/record for {json_per_record:.0} B of JSON data: \
         {ratio:.2}× (target ≤ 2.5×: {})",
        added as f64 / 1048576.0,
        if ratio <= 2.5 { "met" } else { "MISSED" }
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Engine creates

fn open_engine(dir: &TempDir) -> Engine {
    Engine::open(EngineConfig::new(dir.path())).unwrap_or_else(|err| panic!("opening the engine: {err}"))
}

async fn engine_with_accounts(engine: &Engine) {
    engine
        .create_space(&actor(), &SpaceName::from_static(SPACE), None)
        .await
        .unwrap_or_else(|err| panic!("creating the space: {err}"));
    engine
        .put_form(&actor(), &SpaceName::from_static(SPACE), &FormName::from_static(FORM), &account_form(), false)
        .await
        .unwrap_or_else(|err| panic!("storing the form: {err}"));
}

/// Creates every record through the engine with [`CONCURRENCY`] tasks.
async fn engine_load(engine: &Engine, records: Vec<Value>) -> Run {
    let engine = engine.clone();
    drive(records, move |_, data| {
        let engine = engine.clone();
        async move {
            engine
                .create_record(
                    &actor(),
                    &Access::unrestricted(),
                    &SpaceName::from_static(SPACE),
                    &FormName::from_static(FORM),
                    data,
                )
                .await
                .unwrap_or_else(|err| panic!("engine create_record failed: {err}"));
        }
    })
    .await
}

async fn engine_creates(settings: &Settings) -> f64 {
    println!();
    println!("== 1. Engine creates (Engine::create_record, no HTTP) ==");
    let dir = TempDir::new().expect("temp dir");
    let engine = open_engine(&dir);
    engine_with_accounts(&engine).await;
    let mut accounts = Accounts::new(1);
    let warmup = accounts.take(settings.warmup);
    let measured = accounts.take(settings.writes);
    println!(
        "  {CONCURRENCY} tasks; JSON Schema validation with formats; per record 7 keys (record, 4 index entries, \
         event, history entry) in the committer's atomic batch; one flush per batch; mean payload {} bytes",
        mean_size(&to_bytes(&measured))
    );
    let before = engine.last_event_seq();
    engine_load(&engine, warmup).await;
    let flushes = Flushes::of_engine();
    let run = engine_load(&engine, measured).await;
    let flushes = Flushes::of_engine().since(flushes);
    let written = engine.last_event_seq() - before;
    assert_eq!(written as usize, settings.warmup + settings.writes, "every create must have written one event");
    let rate = report_writes("engine creates/s with validation", run, flushes);
    engine.close().unwrap_or_else(|err| panic!("closing the engine: {err}"));
    rate
}

/// Sections 1 and 2 in rounds, each round running the three in a different order (engine,
/// sled, fjall; then sled, fjall, engine; ...): on a shared machine the throughput of all three
/// drifts by a third within minutes, and one run of each measured that drift as much as the
/// engine. The ratios are of the means, with the range of the rounds' own ratios beside them.
async fn engine_against_raw(settings: &Settings) {
    #[derive(Clone, Copy)]
    enum Side {
        Engine,
        Raw(Raw),
    }
    let sides = [Side::Engine, Side::Raw(Raw::Sled), Side::Raw(Raw::Fjall)];
    // Rates by side, in the order of `sides`, one per round.
    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 0..settings.rounds {
        println!();
        println!("-- round {} of {}", round + 1, settings.rounds);
        for turn in 0..sides.len() {
            let side = (round + turn) % sides.len();
            let rate = match sides[side] {
                Side::Engine => engine_creates(settings).await,
                Side::Raw(raw) => raw_inserts(settings, raw).await,
            };
            rates[side].push(rate);
        }
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    println!();
    println!("== Engine against the raw engines, {} rounds ==", settings.rounds);
    let engine = mean(&rates[0]);
    println!("  engine creates/s, mean {engine:.0}  (rounds: {})", listed(&rates[0]));
    for (raw, raw_rates) in [(Raw::Sled, &rates[1]), (Raw::Fjall, &rates[2])] {
        let ratio = engine / mean(raw_rates);
        let per_round: Vec<f64> = rates[0].iter().zip(raw_rates).map(|(engine, raw)| engine / raw).collect();
        let (low, high) = per_round.iter().fold((f64::MAX, f64::MIN), |(low, high), r| (low.min(*r), high.max(*r)));
        println!("  raw {} inserts/s, mean {:.0}  (rounds: {})", raw.name(), mean(raw_rates), listed(raw_rates));
        println!(
            "  ratio engine / raw {}: {ratio:.2}   (rounds {low:.2} to {high:.2}; target >= 0.50: {})",
            raw.name(),
            verdict(ratio >= 0.5)
        );
    }
}

fn listed(rates: &[f64]) -> String {
    rates.iter().map(|rate| format!("{rate:.0}")).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------------
// 2. The raw engines (sled, fjall) with the same durability

/// The engine's group-commit scheme, minimal: writers take a generation number after their
/// insert; one flusher thread flushes back to back while writes are pending and publishes the
/// generation each flush covered. A write is acknowledged once a flush that started after it
/// finished, exactly the guarantee `Engine::create_record` gives.
struct GroupCommit {
    pending: Mutex<Pending>,
    wake: Condvar,
    flushed: watch::Sender<u64>,
    flush_count: AtomicU64,
    flush_nanos: AtomicU64,
}

#[derive(Default)]
struct Pending {
    written: u64,
    flushing: u64,
    stop: bool,
}

impl GroupCommit {
    fn start(db: RawDb) -> (Arc<Self>, std::thread::JoinHandle<()>) {
        let commit = Arc::new(Self {
            pending: Mutex::default(),
            wake: Condvar::new(),
            flushed: watch::Sender::new(0),
            flush_count: AtomicU64::new(0),
            flush_nanos: AtomicU64::new(0),
        });
        let worker = Arc::clone(&commit);
        let thread = std::thread::spawn(move || worker.flush_loop(&db));
        (commit, thread)
    }

    fn flush_loop(&self, db: &RawDb) {
        loop {
            let target = {
                let mut pending = self.pending.lock().expect("pending lock");
                while pending.written == pending.flushing && !pending.stop {
                    pending = self.wake.wait(pending).expect("pending lock");
                }
                if pending.written == pending.flushing {
                    return;
                }
                pending.flushing = pending.written;
                pending.written
            };
            let started = Instant::now();
            db.flush();
            self.flush_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.flush_count.fetch_add(1, Ordering::Relaxed);
            self.flushed.send_replace(target);
        }
    }

    async fn write_durably(&self, db: &RawDb, key: [u8; 16], value: Vec<u8>) {
        db.insert(key, value);
        let ticket = {
            let mut pending = self.pending.lock().expect("pending lock");
            pending.written += 1;
            pending.written
        };
        self.wake.notify_one();
        let mut flushed = self.flushed.subscribe();
        flushed.wait_for(|&upto| upto >= ticket).await.expect("the raw flusher stopped");
    }

    fn flushes(&self) -> Flushes {
        Flushes {
            count: self.flush_count.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.flush_nanos.load(Ordering::Relaxed)),
        }
    }

    fn stop(&self, thread: std::thread::JoinHandle<()>) {
        self.pending.lock().expect("pending lock").stop = true;
        self.wake.notify_one();
        thread.join().expect("the raw flusher panicked");
    }
}

/// A raw engine of the baseline.
#[derive(Clone, Copy)]
enum Raw {
    Sled,
    Fjall,
}

impl Raw {
    fn name(self) -> &'static str {
        match self {
            Raw::Sled => "sled 0.34",
            Raw::Fjall => "fjall",
        }
    }
}

/// An open raw database, with the settings the engine gives it
/// (engine/src/store/kv_backend/engines.rs, `Db::open`).
#[derive(Clone)]
enum RawDb {
    Sled(sled::Db),
    Fjall(fjall::Keyspace, fjall::PartitionHandle),
}

impl RawDb {
    fn open(raw: Raw, dir: &TempDir) -> RawDb {
        let cache = engine::StorageConfig::default().cache_mb * 1024 * 1024;
        match raw {
            Raw::Sled => RawDb::Sled(
                sled::Config::new()
                    .path(dir.path())
                    .cache_capacity(cache)
                    .mode(sled::Mode::HighThroughput)
                    .flush_every_ms(Some(500))
                    .open()
                    .unwrap_or_else(|err| panic!("opening raw sled: {err}")),
            ),
            Raw::Fjall => {
                let keyspace = fjall::Config::new(dir.path())
                    .cache_size(cache)
                    .manual_journal_persist(true)
                    .fsync_ms(Some(500))
                    .open()
                    .unwrap_or_else(|err| panic!("opening raw fjall: {err}"));
                let partition = keyspace
                    .open_partition("data", fjall::PartitionCreateOptions::default())
                    .unwrap_or_else(|err| panic!("opening raw fjall's partition: {err}"));
                RawDb::Fjall(keyspace, partition)
            }
        }
    }

    fn insert(&self, key: [u8; 16], value: Vec<u8>) {
        match self {
            RawDb::Sled(db) => drop(db.insert(key, value).unwrap_or_else(|err| panic!("raw sled insert: {err}"))),
            RawDb::Fjall(_, partition) => {
                partition.insert(key, value).unwrap_or_else(|err| panic!("raw fjall insert: {err}"))
            }
        }
    }

    fn flush(&self) {
        match self {
            RawDb::Sled(db) => drop(db.flush().unwrap_or_else(|err| panic!("raw sled flush: {err}"))),
            RawDb::Fjall(keyspace, _) => {
                keyspace.persist(fjall::PersistMode::SyncAll).unwrap_or_else(|err| panic!("raw fjall persist: {err}"))
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            RawDb::Sled(db) => db.len(),
            RawDb::Fjall(_, partition) => partition.len().unwrap_or_else(|err| panic!("raw fjall len: {err}")),
        }
    }
}

async fn raw_load(db: &RawDb, commit: &Arc<GroupCommit>, payloads: Vec<Vec<u8>>) -> Run {
    let (db, commit) = (db.clone(), Arc::clone(commit));
    drive(payloads, move |_, value| {
        let (db, commit) = (db.clone(), Arc::clone(&commit));
        // UUIDv7: 16 bytes, time-ordered, like the record ids the engine uses as keys.
        async move { commit.write_durably(&db, uuid::Uuid::now_v7().into_bytes(), value).await }
    })
    .await
}

async fn raw_inserts(settings: &Settings, raw: Raw) -> f64 {
    println!();
    println!("== 2. Raw {} inserts, same durability (baseline) ==", raw.name());
    // sled 0.34's transaction lock is process-wide: once section 1 ran a transaction, these plain
    // inserts and flushes take its shared side too. That can only slow the baseline down, so it
    // never flatters the ratio.
    let dir = TempDir::new().expect("temp dir");
    let db = RawDb::open(raw, &dir);
    let (commit, flusher) = GroupCommit::start(db.clone());
    // The same seed as section 1: byte-for-byte the payloads the engine stored.
    let mut accounts = Accounts::new(1);
    let warmup = to_bytes(&accounts.take(settings.warmup));
    let measured = to_bytes(&accounts.take(settings.writes));
    println!(
        "  {CONCURRENCY} tasks; one tree, 16-byte UUIDv7 keys, serde_json payloads (mean {} bytes), group commit",
        mean_size(&measured)
    );
    raw_load(&db, &commit, warmup).await;
    let flushes = commit.flushes();
    let run = raw_load(&db, &commit, measured).await;
    let flushes = commit.flushes().since(flushes);
    assert_eq!(db.len(), settings.warmup + settings.writes, "every insert must be in the tree");
    let rate = report_writes(&format!("raw {} inserts/s", raw.name()), run, flushes);
    commit.stop(flusher);
    rate
}

// ---------------------------------------------------------------------------------------------
// The real server, in this process

struct Server {
    base: String,
    token: String,
    engine: Engine,
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: TempDir,
}

impl Server {
    /// `Application::build` with the default config, a fresh temp data dir and a free port;
    /// the space and the `account` form are created through the API.
    async fn start() -> Server {
        let dir = TempDir::new().expect("temp dir");
        let config = Config { data_dir: dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
        let app = Application::build(config).await.unwrap_or_else(|err| panic!("building the server: {err:#}"));
        let base = format!("http://{}", app.local_addr());
        let token = app.first_admin_token().expect("an empty data dir gets an admin token").to_owned();
        let engine = app.engine().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async {
            let _ = stop.await;
        }));
        let server = Server { base, token, engine, shutdown, serving, dir };
        let client = reqwest::Client::new();
        let space = client.post(server.url("/api/v1/spaces")).json(&json!({ "name": SPACE }));
        expect_status(server.authorized(space), StatusCode::CREATED).await;
        let form = client.put(server.url(&format!("/api/v1/spaces/{SPACE}/forms/{FORM}"))).json(&account_form());
        expect_status(server.authorized(form), StatusCode::CREATED).await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn records_url(&self) -> String {
        self.url(&format!("/api/v1/spaces/{SPACE}/forms/{FORM}/records"))
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(&self.token)
    }

    /// Graceful shutdown: in-flight requests finish, the database is flushed and closed.
    /// Stops the server and closes its database; the data dir is the caller's to keep or drop.
    async fn stop(self) -> TempDir {
        let _ = self.shutdown.send(());
        self.serving.await.expect("server task").unwrap_or_else(|err| panic!("server stopped with {err:#}"));
        self.dir
    }
}

/// Sends, reads the whole body and panics unless the status is `expected`.
async fn expect_status(
    request: reqwest::RequestBuilder,
    expected: StatusCode,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = request.send().await.unwrap_or_else(|err| panic!("request failed: {err}"));
    let (status, url, headers) = (response.status(), response.url().clone(), response.headers().clone());
    let body = response.bytes().await.unwrap_or_else(|err| panic!("{url}: reading the body failed: {err}"));
    assert_eq!(status, expected, "{url}: {}", String::from_utf8_lossy(&body));
    (headers, body.to_vec())
}

// ---------------------------------------------------------------------------------------------
// 3. HTTP creates

/// Who the HTTP creates are sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum As {
    /// The first admin token: the bootstrap superadmin.
    AdminToken,
    /// A member of the space signed in with a password: a session cookie from the app's own
    /// origin.
    MemberSession,
}

/// The password of the benchmark's member.
const MEMBER_PASSWORD: &str = "benchmark passphrase";

impl Server {
    /// A user who is a member of the space, with a password: their id.
    async fn add_member(&self, email: &str) -> String {
        let client = reqwest::Client::new();
        let body = json!({ "email": email, "name": "Bench Member", "password": MEMBER_PASSWORD });
        let (_, user) =
            expect_status(self.authorized(client.post(self.url("/api/v1/users")).json(&body)), StatusCode::CREATED)
                .await;
        let user: Value = serde_json::from_slice(&user).expect("user JSON");
        let id = user["id"].as_str().expect("an id").to_owned();
        let member =
            client.put(self.url(&format!("/api/v1/spaces/{SPACE}/members/{id}"))).json(&json!({ "role": "member" }));
        expect_status(self.authorized(member), StatusCode::CREATED).await;
        id
    }

    /// Signs in with a password: the session cookie pair.
    async fn sign_in(&self, client: &reqwest::Client, email: &str) -> String {
        let request = client
            .post(self.url("/api/v1/auth/login"))
            .header(reqwest::header::ORIGIN, self.base.as_str())
            .json(&json!({ "email": email, "password": MEMBER_PASSWORD }));
        let (headers, _) = expect_status(request, StatusCode::CREATED).await;
        let cookie = headers[reqwest::header::SET_COOKIE].to_str().expect("ASCII");
        cookie.split(';').next().expect("a cookie pair").to_owned()
    }
}

/// HTTP creates as `who`; creates/s.
async fn http_creates(settings: &Settings, who: As) -> f64 {
    println!();
    println!("== 3. HTTP creates (POST /api/v1/spaces/{SPACE}/forms/{FORM}/records) as {who:?} ==");
    println!(
        "  real server in-process; {CONCURRENCY} client tasks, one keep-alive reqwest client each; the load generator \
         shares this process and its {} cores with the server",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let server = Server::start().await;
    let clients: Arc<Vec<reqwest::Client>> = Arc::new((0..CONCURRENCY).map(|_| reqwest::Client::new()).collect());
    let credential = match who {
        As::AdminToken => (reqwest::header::AUTHORIZATION, format!("Bearer {}", server.token)),
        As::MemberSession => {
            server.add_member("member@bench.example").await;
            (reqwest::header::COOKIE, server.sign_in(&clients[0], "member@bench.example").await)
        }
    };
    let (url, credential, origin) =
        (Arc::new(server.records_url()), Arc::new(credential), Arc::new(server.base.clone()));
    let post = move |worker: usize, body: Vec<u8>| {
        let (clients, url, credential, origin) =
            (Arc::clone(&clients), Arc::clone(&url), Arc::clone(&credential), Arc::clone(&origin));
        async move {
            let request = clients[worker]
                .post(url.as_str())
                .header(credential.0.clone(), credential.1.as_str())
                .header(reqwest::header::ORIGIN, origin.as_str())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            // Latency runs to the end of the response body, which is what a client waits for.
            expect_status(request, StatusCode::CREATED).await;
        }
    };
    let mut accounts = Accounts::new(2);
    let warmup = to_bytes(&accounts.take(settings.warmup));
    let measured = to_bytes(&accounts.take(settings.http_writes));
    let before = server.engine.last_event_seq();
    drive(warmup, post.clone()).await;
    let flushes = Flushes::of_engine();
    let mut run = drive(measured, post).await;
    let flushes = Flushes::of_engine().since(flushes);
    let written = server.engine.last_event_seq() - before;
    assert_eq!(written as usize, settings.warmup + settings.http_writes, "every 201 must have written one event");
    let rate = run.rate();
    let p = percentiles(&mut run.latencies);
    println!(
        "  HTTP creates/s: {rate:.0}/s  ({} requests in {:.2} s; process CPU, server + clients, {:.2} cores busy)   \
         (target >= 8000/s: {})",
        run.latencies.len(),
        run.elapsed.as_secs_f64(),
        run.cores_busy(),
        verdict(rate >= 8000.0)
    );
    println!(
        "  latency send -> full response: p50 {}  p99 {}  max {}   (target p99 <= 15 ms: {})",
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
        verdict(p.p99 <= Duration::from_millis(15))
    );
    println!("    group commit: {}", flushes.describe(&run));
    server.stop().await;
    rate
}

/// Password sign-ins one after another: each verifies an argon2id hash (off the async
/// runtime) and opens a session (a durable write).
async fn sign_ins(settings: &Settings) {
    println!();
    println!("== 3b. Sign-in latency (POST /api/v1/auth/login, argon2id m=19456 KiB, t=2, p=1) ==");
    let server = Server::start().await;
    server.add_member("member@bench.example").await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        server.sign_in(&client, "member@bench.example").await;
    }
    let mut latencies = Vec::with_capacity(settings.sign_ins);
    for _ in 0..settings.sign_ins {
        let started = Instant::now();
        server.sign_in(&client, "member@bench.example").await;
        latencies.push(started.elapsed());
    }
    let p = percentiles(&mut latencies);
    println!(
        "  {} sign-ins, one at a time: p50 {}  p99 {}  max {}   (target p99 < 100 ms: {})",
        settings.sign_ins,
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
        verdict(p.p99 < Duration::from_millis(100))
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Query latency

/// One timed query.
struct QuerySpec {
    label: String,
    filter: Option<String>,
    sort: Option<String>,
    /// Indexed queries have a latency target; the unindexed one is there for comparison.
    indexed: bool,
}

impl QuerySpec {
    fn new(label: &str, filter: Option<String>, sort: Option<&str>, indexed: bool) -> Self {
        Self { label: label.to_owned(), filter, sort: sort.map(str::to_owned), indexed }
    }

    fn list_query(&self) -> ListQuery {
        ListQuery { filter: self.filter.clone(), sort: self.sort.clone(), limit: Some(PAGE), cursor: None }
    }

    fn http_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("limit", PAGE.to_string())];
        params.extend(self.filter.clone().map(|f| ("filter", f)));
        params.extend(self.sort.clone().map(|s| ("sort", s)));
        params
    }
}

/// What one query answered: the plan it used and how many records came back.
trait Answer {
    fn plan(&self) -> String;
    fn items(&self) -> usize;
}

impl Answer for Page<Record> {
    fn plan(&self) -> String {
        self.plan.to_string()
    }
    fn items(&self) -> usize {
        self.items.len()
    }
}

/// An HTTP answer is kept raw while timing; its body is parsed afterwards, outside the clock.
struct HttpAnswer {
    plan: String,
    body: Vec<u8>,
}

impl Answer for HttpAnswer {
    fn plan(&self) -> String {
        self.plan.clone()
    }
    fn items(&self) -> usize {
        let page: Value = serde_json::from_slice(&self.body).expect("a list answer is JSON");
        page["items"].as_array().map_or(0, Vec::len)
    }
}

struct Timing {
    percentiles: Percentiles,
    plan: String,
    items: usize,
}

/// Runs `query` a few times untimed (caches, allocator), then `iterations` times timed.
/// Sends a list request; the page and the plan that answered it.
async fn list(request: reqwest::RequestBuilder) -> HttpAnswer {
    let (headers, body) = expect_status(request, StatusCode::OK).await;
    let plan = headers.get("tend-query-plan").and_then(|v| v.to_str().ok()).expect("a Tend-Query-Plan header");
    HttpAnswer { plan: plan.to_owned(), body }
}

async fn time_queries<A, F, Fut>(iterations: usize, mut query: F) -> Timing
where
    A: Answer,
    F: FnMut() -> Fut,
    Fut: Future<Output = A>,
{
    for _ in 0..iterations.div_ceil(10) {
        query().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    let mut last = None;
    for _ in 0..iterations {
        let started = Instant::now();
        let answer = query().await;
        samples.push(started.elapsed());
        last = Some(answer);
    }
    let last = last.expect("at least one iteration");
    Timing { percentiles: percentiles(&mut samples), plan: last.plan(), items: last.items() }
}

async fn queries(settings: &Settings) {
    println!();
    println!("== 4. Query latency on {} records (limit {PAGE}) ==", settings.records);
    let server = Server::start().await;
    let records = Accounts::new(3).take(settings.records);
    // A name that exists, so the equality query has something to find.
    let some_name = records[records.len() / 2]["name"].as_str().expect("a name").to_owned();
    let json_bytes: u64 = records.iter().map(|data| serde_json::to_vec(data).expect("json").len() as u64).sum();
    let disk_before = disk_usage(server.dir.path());
    let load = engine_load(&server.engine, records).await;
    println!(
        "  loaded through Engine::create_record with {CONCURRENCY} tasks in {:.1} s ({:.0}/s)",
        load.elapsed.as_secs_f64(),
        load.rate()
    );
    print_rss(&format!("after loading {} records", settings.records));
    print_disk(server.dir.path(), disk_before, json_bytes, settings.records);
    schedule_timers(&server.engine, settings.timers).await;

    let week = renewals_start() + Days::days(150);
    let specs = [
        QuerySpec::new(
            "health < 30 and tier = \"enterprise\", sort -health",
            Some(r#"health < 30 and tier = "enterprise""#.into()),
            Some("-health"),
            true,
        ),
        QuerySpec::new("tier = \"enterprise\", default order", Some(r#"tier = "enterprise""#.into()), None, true),
        QuerySpec::new(
            "renewal_date in one week, default order",
            Some(format!(r#"renewal_date >= "{week}" and renewal_date < "{}""#, week + Days::days(7))),
            None,
            true,
        ),
        QuerySpec::new("name = <an existing name>", Some(format!("name = {}", Value::from(some_name))), None, true),
        QuerySpec::new("health < 60 (broad), default order", Some("health < 60".into()), None, true),
        QuerySpec::new("UNINDEXED arr >= 250000, sort -arr (scan)", Some("arr >= 250000".into()), Some("-arr"), false),
    ];
    let client = reqwest::Client::new();
    let url = server.records_url();
    println!("  one client, sequential requests, otherwise idle server; HTTP latency is send -> full response body");
    println!("  {:<52} {:<7} {:<22} {:>5} {:>10} {:>10}  target", "query", "via", "plan", "items", "p50", "p99");
    for spec in &specs {
        if !spec.indexed {
            // The scan below holds every record in memory at once; RSS before it is the fair figure.
            print_rss("after the indexed queries");
        }
        let iterations = if spec.indexed { settings.query_iters } else { settings.scan_iters };
        let http =
            time_queries(iterations, || list(server.authorized(client.get(&url).query(&spec.http_params())))).await;
        let query = spec.list_query();
        let engine = time_queries(iterations, || {
            let page = server
                .engine
                .list_records(
                    &Access::unrestricted(),
                    &SpaceName::from_static(SPACE),
                    &FormName::from_static(FORM),
                    &query,
                )
                .unwrap_or_else(|err| panic!("list_records({}): {err}", spec.label));
            async move { page }
        })
        .await;
        for (via, timing) in [("http", &http), ("engine", &engine)] {
            assert!(timing.items > 0, "{}: no records matched, the timing would be meaningless", spec.label);
            let target = if spec.indexed {
                format!("p50 < 5 ms: {}", verdict(timing.percentiles.p50 < Duration::from_millis(5)))
            } else {
                format!("comparison only ({iterations} runs)")
            };
            println!(
                "  {:<52} {via:<7} {:<22} {:>5} {:>10} {:>10}  {target}",
                spec.label,
                timing.plan,
                timing.items,
                ms(timing.percentiles.p50),
                ms(timing.percentiles.p99)
            );
        }
        assert_eq!(http.plan, engine.plan, "{}: HTTP and engine must answer with the same plan", spec.label);
    }
    let token = server.token.clone();
    let dir = server.stop().await;
    served_apart(settings, &dir, &token, &specs).await;
}

/// Pending timers on the loaded data dir, as many as records by default: delay timers of a
/// follow-up workflow due at random instants over the next year, in commits of 1,000.
async fn schedule_timers(engine: &Engine, count: usize) {
    let workflow = json!({ "trigger": { "form": FORM, "on": ["updated"], "delay": "30d" } });
    let stored = engine
        .put_workflow(&actor(), &SpaceName::from_static(SPACE), &WorkflowName::from_static("follow-up"), &workflow)
        .await
        .expect("workflow");
    let mut rng = rand::thread_rng();
    let started = Instant::now();
    let mut left = count;
    while left > 0 {
        let batch = (0..left.min(1_000))
            .map(|_| {
                let due = Utc::now() + Days::seconds(rng.gen_range(3_600..365 * 24 * 3_600));
                delay_timer(engine, stored.workflow.version, "30d", due)
            })
            .collect::<Vec<_>>();
        left -= batch.len();
        engine.schedule_timers(batch).await.expect("timers scheduled");
    }
    println!("  scheduled {count} pending timers in {:.1} s", started.elapsed().as_secs_f64());
}

/// The loaded data dir served by `tend serve` as a process of its own, as in production: how
/// long it takes to answer `/readyz` with every record and timer present, the indexed queries
/// over HTTP, and the server's own resident memory (this benchmark's process holds the
/// generated records and the in-process server's leftovers, so its RSS says little).
async fn served_apart(settings: &Settings, dir: &TempDir, token: &str, specs: &[QuerySpec]) {
    println!();
    println!(
        "== 6. The same data dir served by `tend serve` as its own process ({} records, {} timers) ==",
        settings.records, settings.timers
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    let serve = spawn_tend(std::path::Path::new(env!("CARGO_BIN_EXE_tend")), dir.path());
    let listening = started.elapsed();
    loop {
        let ready = client.get(format!("{}/readyz", serve.base)).send().await;
        if ready.is_ok_and(|answer| answer.status().is_success()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the server did not get ready in 2 minutes");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ready = started.elapsed();
    println!(
        "  start-up, process spawned to first /readyz 200: {} (target < 2 s: {}; listening after {})",
        ms(ready),
        verdict(ready < Duration::from_secs(2)),
        ms(listening)
    );
    let (rss, _) = rss_of(serve.child.id());
    println!("  server RSS once ready: {rss:.1} MiB");
    let url = format!("{}/api/v1/spaces/{SPACE}/forms/{FORM}/records", serve.base);
    println!("  {:<52} {:<22} {:>5} {:>10} {:>10}  target", "query (HTTP)", "plan", "items", "p50", "p99");
    for spec in specs.iter().filter(|spec| spec.indexed) {
        let timing =
            time_queries(settings.query_iters, || list(client.get(&url).bearer_auth(token).query(&spec.http_params())))
                .await;
        assert!(timing.items > 0, "{}: no records matched", spec.label);
        println!(
            "  {:<52} {:<22} {:>5} {:>10} {:>10}  p50 < 5 ms: {}",
            spec.label,
            timing.plan,
            timing.items,
            ms(timing.percentiles.p50),
            ms(timing.percentiles.p99),
            verdict(timing.percentiles.p50 < Duration::from_millis(5))
        );
    }
    let (rss, peak) = rss_of(serve.child.id());
    println!(
        "  server RSS after the queries: {rss:.1} MiB, peak {peak:.1} MiB (target ≤ 350 MB with the default cache: {})",
        verdict(peak * 1.048_576 <= 350.0)
    );
}
