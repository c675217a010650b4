//! The write-path benchmark: HTTP creates as a client sees them, against the ceiling of the HTTP
//! stack itself and against the previous release, with and without a workflow.
//!
//! Load comes from `wrk` (a separate process, as in the published comparisons; Debian's `wrk`
//! package), 16 keep-alive connections by default, each POSTing the same ~1 KB `account` body.
//! Every server runs as its own process or runtime on this machine's loopback. Sections:
//! 1. **ceiling**: an axum server in this process answering the same route shape with a no-op
//!    JSON handler (parse the body, answer 201 with an id and the data): what the stack itself
//!    can do on this machine;
//! 2. **tend**: the real `tend serve` (the binary Cargo built with this benchmark), a form with
//!    validation (enums, ranges, formats), one computed field and 4 indexes; its ratio to the
//!    ceiling;
//! 3. **previous release** (optional): the same against a `tend` built from git at
//!    `TEND_BENCH_BASELINE_REV` (built once under `target/bench-baseline/<rev>`), or an existing
//!    binary at `TEND_BENCH_BASELINE_BIN`; the ratio new/old. The two are measured in turns
//!    (this build first in odd rounds, the previous one first in even rounds), and sections 2
//!    and 3 give the means and the range of the runs: on a shared machine the load of its
//!    other tenants drifts over minutes, and one run of each in a fixed order measured that
//!    drift as much as the builds. (The same binary in both places, two rounds of 12 s: runs
//!    of 7.4k to 11.5k creates/s, a ratio of 0.82×.) Read a ratio against that spread;
//! 4. **with a workflow**: one record-triggered workflow that sets a field on every created
//!    record; the ratio to section 2, the backlog (creates acknowledged minus runs done, from
//!    `/metrics`) sampled every 5 s over a longer run, the time to drain it after the load stops,
//!    and the lag from a record's creation to the workflow's write (its `updated_at` minus its
//!    `created_at`), p50/p99/max over every record.
//!
//! Beside each of Tend's figures: the server process's CPU time (all threads) per create
//! acknowledged, which tells a change in cost from a change in what else the machine ran, and
//! the share of the machine's CPU time a virtual machine's host stole meanwhile (from
//! `/proc/stat`): stolen time counts in a process's CPU time too. On a shared machine the CPU
//! per create of one binary drifted from 122 to 158 µs within minutes: read it beside the steal.
//!
//! Every response is checked: wrk's count of non-2xx answers must be zero, and the records the
//! server holds afterwards must number the requests wrk completed.
//!
//! ```text
//! cargo bench -p web --bench write_path
//! TEND_BENCH_BASELINE_REV=v0.1.0 cargo bench -p web --bench write_path
//! ```
//!
//! Knobs (defaults in brackets): `TEND_BENCH_SECONDS` [15] each measured run,
//! `TEND_BENCH_CONNECTIONS` [16], `TEND_BENCH_BACKLOG_SECONDS` [60] the run of section 4,
//! `TEND_BENCH_ROUNDS` [2] rounds of sections 2 and 3 when there is a previous release.

#[path = "support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::*;
use tempfile::TempDir;

const SPACE: &str = "bench";
const FORM: &str = "account";
const RECORDS: &str = "/api/v1/spaces/bench/forms/account/records";

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run(&settings));
}

struct Settings {
    seconds: usize,
    connections: usize,
    backlog_seconds: usize,
    baseline: Option<Baseline>,
    rounds: usize,
}

enum Baseline {
    Rev(String),
    Bin(PathBuf),
}

impl Settings {
    fn from_env() -> Settings {
        let baseline = match (std::env::var("TEND_BENCH_BASELINE_BIN"), std::env::var("TEND_BENCH_BASELINE_REV")) {
            (Ok(bin), _) => Some(Baseline::Bin(PathBuf::from(bin))),
            (_, Ok(rev)) => Some(Baseline::Rev(rev)),
            _ => None,
        };
        Settings {
            seconds: env_count("TEND_BENCH_SECONDS", 15),
            connections: env_count("TEND_BENCH_CONNECTIONS", 16),
            backlog_seconds: env_count("TEND_BENCH_BACKLOG_SECONDS", 60),
            baseline,
            rounds: env_count("TEND_BENCH_ROUNDS", 2).max(1),
        }
    }
}

async fn run(settings: &Settings) {
    let wrk_found = Command::new("wrk").arg("--version").output().is_ok();
    assert!(wrk_found, "the write-path benchmark drives load with wrk: apt-get install wrk");
    println!(
        "== write path: wrk, {} connections, {} s per run, ~1 KB account POSTs, loopback, {} cores",
        settings.connections,
        settings.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let ceiling = no_op_ceiling(settings).await;
    ceiling.print("no-op JSON handler (the stack's ceiling)");

    let this_build = Path::new(env!("CARGO_BIN_EXE_tend"));
    const TEND: &str = "tend: validation + computed field + 4 indexes";
    let tend = match baseline_binary(settings) {
        None => {
            let tend = measure_tend(this_build, settings, false).await;
            tend.print(TEND);
            println!("previous release: skipped (set TEND_BENCH_BASELINE_REV=<git rev> or TEND_BENCH_BASELINE_BIN)");
            Mean::of(&[tend])
        }
        Some((label, previous)) => {
            let (ours, theirs) = measure_in_turns(this_build, &previous, settings).await;
            let (ours, theirs) = (Mean::of(&ours), Mean::of(&theirs));
            ours.print(&format!("{TEND}, mean"));
            theirs.print(&format!("previous release ({label}), mean"));
            let speedup = ours.rate / theirs.rate;
            println!("  this build / previous: {speedup:.2}× (target ≥ 2×: {})", verdict(speedup >= 2.0));
            let cost = ours.cpu_per_create.as_secs_f64() / theirs.cpu_per_create.as_secs_f64();
            println!("  CPU per create, this build / previous: {cost:.2}×");
            ours
        }
    };
    let ratio = tend.rate / ceiling.rate;
    println!("  ratio to the ceiling: {ratio:.2} (target ≥ 0.5: {})", verdict(ratio >= 0.5));

    let with_workflow = measure_tend(this_build, settings, true).await;
    with_workflow.print("tend + one record-triggered workflow setting a field");
    let ratio = with_workflow.load.rate / tend.rate;
    println!("  ratio to no workflow: {ratio:.2} (target ≥ 0.8: {})", verdict(ratio >= 0.8));
    if let Some(workflow) = with_workflow.workflow {
        workflow.print(settings);
    }
}

// ---------------------------------------------------------------------------------------------
// wrk

/// What one wrk run measured.
struct Load {
    rate: f64,
    requests: u64,
    p50: String,
    p99: String,
}

impl Load {
    fn print(&self, label: &str) {
        println!(
            "{label:<56} {:>9.0} req/s   p50 {:>9}   p99 {:>9}   ({} requests)",
            self.rate, self.p50, self.p99, self.requests
        );
    }
}

/// Runs wrk for `seconds` against `url` with the account body; panics on any non-2xx answer.
fn wrk(url: &str, token: &str, seconds: usize, connections: usize) -> Load {
    let script = tempfile::Builder::new().suffix(".lua").tempfile().expect("a temp file");
    let body = account_body().to_string().replace('\\', "\\\\").replace('\'', "\\'");
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
    );
    std::fs::write(script.path(), lua).expect("writing the wrk script");
    let output = Command::new("wrk")
        .args(["--latency", "-t", "2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "-s"])
        .arg(script.path())
        .arg(url)
        .output()
        .expect("running wrk");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("Non-2xx or 3xx responses"), "the server refused requests:\n{text}");
    assert!(!text.contains("Socket errors"), "connections failed:\n{text}");
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix).map(|rest| rest.trim().to_owned()))
            .unwrap_or_else(|| panic!("wrk printed no `{prefix}`:\n{text}"))
    };
    let rate: f64 = field("Requests/sec:").parse().expect("a rate");
    let requests = text
        .lines()
        .find(|line| line.contains("requests in"))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("wrk printed no request count:\n{text}"));
    Load { rate, requests, p50: field("50%"), p99: field("99%") }
}

fn account_body() -> Value {
    json!({
        "name": "Globex Industrial Holdings", "tier": "enterprise", "arr": 184000.5,
        "owner": "li.wei@example.com", "website": "https://globex.example.com/accounts/emea",
        "renewal_date": "2027-03-31", "last_contact_at": "2026-11-20T09:30:00Z", "region": "emea",
        "employees": 4200, "usage_score": 72, "nps": 8,
        "tags": ["strategic", "multi-region", "sso", "premium-support"],
        "notes": "Renewal owner changed in Q3; procurement wants a three-year term with a price cap. Champion is the VP Ops; the CFO joined the last QBR and asked for usage figures by region. Expansion to the APAC subsidiary is likely if the SSO rollout finishes before the renewal. Open risk: two sev-2 tickets about exports."
    })
}

// ---------------------------------------------------------------------------------------------
// The ceiling

async fn no_op(Json(data): Json<Value>) -> (StatusCode, Json<Value>) {
    let id = uuid::Uuid::now_v7();
    (StatusCode::CREATED, Json(json!({ "id": id, "version": 1, "data": data })))
}

async fn no_op_ceiling(settings: &Settings) -> Load {
    let app = Router::new().route("/api/v1/spaces/{space}/forms/{form}/records", post(no_op));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the ceiling server");
    let url = format!("http://{}{RECORDS}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (seconds, connections) = (settings.seconds, settings.connections);
    let load = tokio::task::spawn_blocking(move || wrk(&url, "none", seconds, connections)).await.expect("wrk task");
    server.abort();
    load
}

// ---------------------------------------------------------------------------------------------
// Tend as a process

struct TendProcess {
    serve: TendServe,
    base: String,
    token: String,
    _data: TempDir,
}

fn start_tend(binary: &Path) -> TendProcess {
    let data = tempfile::tempdir().expect("a data dir");
    let serve = spawn_tend(binary, data.path());
    let token = serve.token.clone().unwrap_or_else(|| panic!("{} printed no first admin token", binary.display()));
    TendProcess { base: serve.base.clone(), serve, token, _data: data }
}

/// What a run against Tend measured.
struct TendRun {
    load: Load,
    workflow: Option<WorkflowFigures>,
    /// The server's CPU time (every thread, user and system) per create acknowledged: what a
    /// create costs, whatever else this machine was doing (but see `steal`).
    cpu_per_create: Duration,
    /// The share of the machine's CPU time its host took during the run; it counts in
    /// `cpu_per_create` too, and it drifts from run to run on a shared virtual machine.
    steal: f64,
}

impl TendRun {
    fn print(&self, label: &str) {
        self.load.print(label);
        println!(
            "  server CPU per create: {:.0} µs (the host stole {:.1} % of the machine's CPU time meanwhile)",
            self.cpu_per_create.as_secs_f64() * 1e6,
            self.steal * 100.0
        );
    }
}

async fn measure_tend(binary: &Path, settings: &Settings, with_workflow: bool) -> TendRun {
    let server = start_tend(binary);
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        client.request(method, format!("{}{path}", server.base)).bearer_auth(&server.token).json(&body).send()
    };
    let created = call(reqwest::Method::POST, "/api/v1/spaces", json!({ "name": SPACE })).await.expect("space");
    assert!(created.status().is_success(), "creating the space: {}", created.status());
    let form = call(reqwest::Method::PUT, &format!("/api/v1/spaces/{SPACE}/forms/{FORM}"), account_form())
        .await
        .expect("form");
    assert!(
        form.status().is_success(),
        "storing the form: {} {}",
        form.status(),
        form.text().await.unwrap_or_default()
    );
    if with_workflow {
        let path = format!("/api/v1/spaces/{SPACE}/workflows/segment");
        let stored = call(reqwest::Method::PUT, &path, segment_workflow()).await.expect("workflow");
        assert!(stored.status().is_success(), "storing the workflow: {}", stored.text().await.unwrap_or_default());
    }
    let url = format!("{}{RECORDS}", server.base);
    let token = server.token.clone();
    let (connections, warmup) = (settings.connections, 3);
    {
        let (url, token) = (url.clone(), token.clone());
        tokio::task::spawn_blocking(move || wrk(&url, &token, warmup, connections)).await.expect("warm-up");
    }
    let seconds = if with_workflow { settings.backlog_seconds } else { settings.seconds };
    let before = scrape(&client, &server.base).await;
    let pid = server.serve.child.id().to_string();
    let cpu_before = cpu_of(&pid);
    let machine_before = machine_ticks();
    let sampler = with_workflow.then(|| {
        let (client, base) = (client.clone(), server.base.clone());
        tokio::spawn(async move { sample_backlog(&client, &base, seconds).await })
    });
    let load = tokio::task::spawn_blocking(move || wrk(&url, &token, seconds, connections)).await.expect("wrk task");
    let after = scrape(&client, &server.base).await;
    let cpu = cpu_of(&pid).saturating_sub(cpu_before);
    let steal = steal_share(machine_before, machine_ticks());
    // Requests still in flight when wrk stops are answered after it stopped counting.
    let created = (after.creates - before.creates) as u64;
    assert!(
        (load.requests..=load.requests + connections as u64).contains(&created),
        "every request wrk completed created one record: {} requests, {created} creates",
        load.requests
    );
    let workflow = match sampler {
        None => None,
        Some(sampler) => {
            let samples = sampler.await.expect("sampler");
            let stopped = Instant::now();
            let mut now = after;
            while now.runs < now.creates {
                assert!(stopped.elapsed() < Duration::from_secs(300), "the processor did not catch up in 5 minutes");
                tokio::time::sleep(Duration::from_millis(20)).await;
                now = scrape(&client, &server.base).await;
            }
            let drained = stopped.elapsed();
            let lags = workflow_lags(&client, &server).await;
            Some(WorkflowFigures { samples, drained, lags })
        }
    };
    let cpu_per_create = cpu / u32::try_from(created.max(1)).unwrap_or(u32::MAX);
    TendRun { load, workflow, cpu_per_create, steal }
}

/// This build and the previous one, measured `settings.rounds` times each, in turns: this
/// build first in odd rounds, the previous one first in even rounds. Each run is printed.
async fn measure_in_turns(this: &Path, previous: &Path, settings: &Settings) -> (Vec<TendRun>, Vec<TendRun>) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=settings.rounds {
        let order = if round % 2 == 1 { [true, false] } else { [false, true] };
        for is_ours in order {
            let binary = if is_ours { this } else { previous };
            let run = measure_tend(binary, settings, false).await;
            run.print(&format!("  round {round}: {}", if is_ours { "this build" } else { "previous release" }));
            if is_ours {
                ours.push(run)
            } else {
                theirs.push(run)
            }
        }
    }
    (ours, theirs)
}

/// The mean rate and CPU per create of several runs of one build, and the range of the rates.
struct Mean {
    rate: f64,
    cpu_per_create: Duration,
    steal: f64,
    runs: usize,
    slowest: f64,
    fastest: f64,
}

impl Mean {
    fn of(runs: &[TendRun]) -> Mean {
        let count = runs.len().max(1);
        let rates = runs.iter().map(|run| run.load.rate);
        let cpu = runs.iter().map(|run| run.cpu_per_create).sum::<Duration>() / u32::try_from(count).unwrap_or(1);
        Mean {
            rate: rates.clone().sum::<f64>() / count as f64,
            cpu_per_create: cpu,
            steal: runs.iter().map(|run| run.steal).sum::<f64>() / count as f64,
            runs: runs.len(),
            slowest: rates.clone().fold(f64::INFINITY, f64::min),
            fastest: rates.fold(0.0, f64::max),
        }
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<56} {:>9.0} req/s   server CPU per create {:.0} µs, steal {:.1} %   ({} runs, {:.0} to {:.0} req/s)",
            self.rate,
            self.cpu_per_create.as_secs_f64() * 1e6,
            self.steal * 100.0,
            self.runs,
            self.slowest,
            self.fastest
        );
    }
}

/// The foundation benchmark's account form, plus what this benchmark's body and workflow use:
/// usage and NPS inputs, a computed health and the segment the workflow sets.
fn account_form() -> Value {
    let mut form = support::account_form();
    let properties = &mut form["schema"]["properties"];
    properties["usage_score"] = json!({ "type": "integer", "minimum": 0, "maximum": 100 });
    properties["nps"] = json!({ "type": "integer", "minimum": 0, "maximum": 10 });
    properties["segment"] = json!({ "type": "string" });
    form["computed"] = json!({
        "health": { "expr": "let h = ((record.usage_score ?? 50) * 7 + (record.nps ?? 5) * 30) / 10; if h > 100 { 100 } else { h }" }
    });
    form
}

fn segment_workflow() -> Value {
    json!({
        "trigger": { "form": FORM, "on": ["created"] },
        "actions": [ { "set": { "segment": "if record.arr >= 100000.0 { \"strategic\" } else { \"scale\" }" } } ]
    })
}

// ---------------------------------------------------------------------------------------------
// The workflow's figures

struct Counters {
    creates: f64,
    runs: f64,
}

/// Creates acknowledged (2xx answers to POST on the records route) and workflow runs done, from
/// the server's own Prometheus counters.
async fn scrape(client: &reqwest::Client, base: &str) -> Counters {
    let text = client.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("metrics text");
    let mut counters = Counters { creates: 0.0, runs: 0.0 };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let value: f64 = value.parse().unwrap_or(0.0);
        if series.starts_with("tend_http_requests_total{")
            && series.contains("method=\"POST\"")
            && series.contains("/records\"")
            && series.contains("status=\"2")
        {
            counters.creates += value;
        } else if series.starts_with("tend_workflow_runs_total") {
            counters.runs += value;
        }
    }
    counters
}

async fn sample_backlog(client: &reqwest::Client, base: &str, seconds: usize) -> Vec<(u64, f64)> {
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut next = Duration::from_secs(5);
    while next <= Duration::from_secs(seconds as u64) {
        tokio::time::sleep(next.saturating_sub(start.elapsed())).await;
        let now = scrape(client, base).await;
        samples.push((next.as_secs(), now.creates - now.runs));
        next += Duration::from_secs(5);
    }
    samples
}

/// Every record's lag from its creation to the workflow's write.
async fn workflow_lags(client: &reqwest::Client, server: &TendProcess) -> Vec<Duration> {
    let mut lags = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: Value = client
            .get(format!("{}{RECORDS}", server.base))
            .bearer_auth(&server.token)
            .query(&query)
            .send()
            .await
            .expect("listing records")
            .json()
            .await
            .expect("a page");
        for record in page["items"].as_array().expect("items") {
            assert!(record["data"]["segment"].is_string(), "the workflow set every record's segment: {record}");
            let at = |field: &str| {
                record[field].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()).expect("a timestamp")
            };
            lags.push((at("updated_at") - at("created_at")).to_std().unwrap_or_default());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return lags,
        }
    }
}

struct WorkflowFigures {
    samples: Vec<(u64, f64)>,
    drained: Duration,
    lags: Vec<Duration>,
}

impl WorkflowFigures {
    fn print(mut self, settings: &Settings) {
        let backlog: Vec<String> = self.samples.iter().map(|(at, n)| format!("{at}s:{n:.0}")).collect();
        println!(
            "  backlog (creates acknowledged − runs done) over {} s: {}",
            settings.backlog_seconds,
            backlog.join(" ")
        );
        let half = self.samples.len() / 2;
        let mean = |s: &[(u64, f64)]| s.iter().map(|(_, n)| n).sum::<f64>() / s.len().max(1) as f64;
        let (first, second) = (mean(&self.samples[..half]), mean(&self.samples[half..]));
        let growing = second > first * 1.5 + 100.0;
        println!(
            "  backlog mean, first half {first:.0}, second half {second:.0}: {}",
            if growing { "GROWING" } else { "not growing" }
        );
        println!("  drained {} after the load stopped", ms(self.drained));
        let p = percentiles(&mut self.lags);
        let met = p.p99 < Duration::from_millis(100);
        println!(
            "  lag creation → workflow write over {} records: p50 {}, p99 {}, max {} (p99 < 100 ms: {})",
            self.lags.len(),
            ms(p.p50),
            ms(p.p99),
            ms(p.max),
            verdict(met)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The previous release

/// The baseline `tend` binary: a given one, or one built from git at a revision (once; the
/// build is kept under `target/bench-baseline/<rev>`).
fn baseline_binary(settings: &Settings) -> Option<(String, PathBuf)> {
    match settings.baseline.as_ref()? {
        Baseline::Bin(path) => Some((path.display().to_string(), path.clone())),
        Baseline::Rev(rev) => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf();
            let git = |args: &[&str]| {
                let output = Command::new("git").args(args).current_dir(&root).output().expect("running git");
                assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
                String::from_utf8_lossy(&output.stdout).trim().to_owned()
            };
            let commit = git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")]);
            let dir = root.join("target/bench-baseline").join(&commit[..12]);
            let binary = dir.join("target/release/tend");
            if !binary.is_file() {
                if !dir.join("Cargo.toml").is_file() {
                    let _ = std::fs::remove_dir_all(&dir);
                    git(&["worktree", "add", "--detach", "--force", &dir.display().to_string(), &commit]);
                }
                println!("building the previous release ({rev} = {}) in {} ...", &commit[..12], dir.display());
                let status = Command::new("cargo")
                    .args(["build", "--release", "--locked", "--bin", "tend"])
                    .current_dir(&dir)
                    .env("TEND_UI", "skip")
                    .status()
                    .expect("running cargo");
                assert!(status.success(), "building the previous release failed");
            }
            Some((format!("{rev} = {}", &commit[..12]), binary))
        }
    }
}
