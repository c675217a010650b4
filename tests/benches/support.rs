//! What both benchmarks share: settings from the environment, percentiles, CPU time, and the
//! way figures and verdicts are printed.

// Each benchmark is its own crate and uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine::Actor;
use serde_json::{json, Value};

/// A positive count from the environment variable `name`, or `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => match text.trim().replace('_', "").parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={text:?}: expected a positive integer"),
        },
        Err(_) => default,
    }
}

/// The writer benchmarks' records and runs are attributed to.
pub fn actor() -> Actor {
    Actor("bench".into())
}

/// Nearest-rank percentiles of a set of latencies.
pub struct Percentiles {
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Nearest-rank percentiles (sorts `samples`).
pub fn percentiles(samples: &mut [Duration]) -> Percentiles {
    assert!(!samples.is_empty(), "no samples to summarise");
    samples.sort_unstable();
    let rank = |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    Percentiles { p50: rank(0.50), p95: rank(0.95), p99: rank(0.99), max: samples[samples.len() - 1] }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// Prints this process's resident memory now and at its peak.
pub fn print_rss(when: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or_else(|| "n/a".to_owned(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0))
    };
    println!(
        "  RSS {when}: current {} (VmRSS), peak {} (VmHWM, whole process so far)",
        field("VmRSS:"),
        field("VmHWM:")
    );
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// User + system CPU time of the whole process so far (all threads: tokio workers, sled's IO
/// threads, the committer), from /proc/self/stat in USER_HZ ticks, which Linux fixes at 100/s.
pub fn process_cpu() -> Duration {
    cpu_of("self")
}

/// [`process_cpu`] of another process, by pid (`"self"` for this one).
pub fn cpu_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

/// The machine's CPU time so far, all CPUs: (busy or idle in this machine's accounting, stolen
/// by a virtual machine's host), in `/proc/stat` ticks. Stolen time is also counted in a
/// process's own CPU time while it runs, so a run's steal share says how much of a CPU figure
/// was the host's doing.
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // `cpu  user nice system idle iowait irq softirq steal guest guest_nice`
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|n| n.parse().ok())
        .collect();
    let steal = ticks.get(7).copied().unwrap_or(0);
    (ticks.iter().sum::<u64>().saturating_sub(steal), steal)
}

/// The share of the machine's CPU time its host took between two [`machine_ticks`] readings.
pub fn steal_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let (own, steal) = (after.0.saturating_sub(before.0), after.1.saturating_sub(before.1));
    if own + steal == 0 {
        0.0
    } else {
        steal as f64 / (own + steal) as f64
    }
}

/// The CS `account` form the write benchmarks store: 12 fields of every kind a real one has
/// (enums, ranges, formats, a list, long text), 4 of them indexed.
pub fn account_form() -> Value {
    json!({
        "title": "Account",
        "schema": {
            "type": "object",
            "required": ["name", "tier"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
                "health": { "type": "integer", "minimum": 0, "maximum": 100 },
                "arr": { "type": "number", "minimum": 0 },
                "owner": { "type": "string", "format": "email" },
                "website": { "type": "string", "format": "uri" },
                "renewal_date": { "type": "string", "format": "date" },
                "last_contact_at": { "type": "string", "format": "date-time" },
                "region": { "type": "string", "enum": ["amer", "emea", "apac"] },
                "employees": { "type": "integer", "minimum": 1 },
                "tags": { "type": "array", "maxItems": 10, "items": { "type": "string", "maxLength": 40 } },
                "notes": { "type": "string", "maxLength": 2000 }
            }
        },
        "ui": { "list_columns": ["name", "tier", "health", "renewal_date"] },
        "indexes": ["health", "tier", "renewal_date", "name"]
    })
}

/// A `tend serve` process on a free loopback port; killed when dropped.
pub struct TendServe {
    pub child: Child,
    pub base: String,
    /// The first admin token, printed when the data dir had none.
    pub token: Option<String>,
}

impl Drop for TendServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary serve` on `data_dir` and returns once it prints the address it listens on.
pub fn spawn_tend(binary: &Path, data_dir: &Path) -> TendServe {
    let mut child = Command::new(binary)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .current_dir(data_dir)
        .env_remove("TEND_CONFIG")
        .env("TEND_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let (mut base, mut token) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while base.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        // The token stands alone on its line; other lines quote it inside examples.
        if token.is_none() && line.trim().starts_with("tend_") && !line.trim().contains(' ') {
            token = Some(line.trim().to_owned());
        }
        if let Some((_, url)) = line.split_once("listening on ") {
            base = Some(url.split_whitespace().next().unwrap_or(url).trim_end_matches('/').to_owned());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let base = base.unwrap_or_else(|| panic!("{} printed no address", binary.display()));
    TendServe { child, base, token }
}

/// Resident memory of process `pid` in MiB: current (VmRSS) and peak (VmHWM).
pub fn rss_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A pending delay timer of workflow `follow-up` (at `version`, delay `spec`) in space `bench`,
/// due at `due`, for a record of its own.
pub fn delay_timer(
    engine: &engine::Engine,
    version: u32,
    spec: &str,
    due: chrono::DateTime<chrono::Utc>,
) -> engine::timers::Timer {
    let now = chrono::Utc::now();
    engine::timers::Timer {
        id: engine.new_timer_id(now),
        space: forms::SpaceName::parse("bench").expect("space name"),
        kind: engine::timers::TimerKind::Delay,
        workflow: Some(forms::WorkflowName::parse("follow-up").expect("workflow name")),
        workflow_version: Some(version),
        form: None,
        // Records are created over time, so their UUIDv7 ids come in order; their due instants don't.
        record: engine.new_timer_id(now),
        spec: spec.into(),
        due,
        timezone: "UTC".into(),
        created_at: now,
    }
}
