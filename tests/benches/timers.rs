//! The timer benchmark: a million pending timers, and a burst of ten thousand falling due in
//! the same second.
//!
//! One run prints:
//! 1. **scheduling**: N pending timers (default 1,000,000; `TEND_BENCH_TIMERS`), one per
//!    record of a delay workflow, due at random instants over the next year, written through
//!    `Engine::schedule_timers` in commits of 1,000 (each timer: a queue key and an owner key,
//!    in one atomic batch with the rest of its commit): elapsed time and timers/s; the
//!    process's resident memory (VmRSS) before and after, and the growth; the database's size;
//! 2. **start with them present**: the engine is closed and the whole server is built again on
//!    the same data dir (`Application::build`: open the database, bind the listener) and started;
//!    the figure runs from the start of `build` to the first `/readyz` 200, with the RSS then;
//! 3. **firing lateness**: with the million still pending and the server running (real clock,
//!    its own scheduler and processor), B timers (default 10,000; `TEND_BENCH_BURST`) due at
//!    instants spread over one second two seconds ahead. Lateness of each = the instant its
//!    `timer_fired` event was appended (the event's `at`, taken just before the firing commit)
//!    − its due instant; p50/p99/max. Also the lateness of the runs the workflow makes of them
//!    (run start − due), which adds the processor's share. Checked: every timer fired once and
//!    ran once.
//!
//! Run it in release (Cargo's bench profile):
//!
//! ```text
//! cargo bench -p web --bench timers
//! ```

#[path = "support.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use engine::timers::Timer;
use engine::workflows::RunFilter;
use engine::{Access, Engine, EngineConfig, EventKind, FormName, SpaceName, WorkflowName};
use rand::Rng;
use serde_json::json;
use support::*;
use uuid::Uuid;
use web::config::Config;
use web::startup::Application;

const PER_COMMIT: usize = 1_000;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
                    _ => entry.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let timers = env_count("TEND_BENCH_TIMERS", 1_000_000);
    let burst = env_count("TEND_BENCH_BURST", 10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(timers, burst));
}

async fn run(count: usize, burst: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("timers benchmark: {count} pending timers, a burst of {burst}");

    // 1. Scheduling.
    let rss_before = rss_mb();
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    engine.create_space(&actor(), &SpaceName::from_static("bench"), None).await.expect("space");
    let task = json!({ "schema": { "type": "object", "properties": { "title": { "type": "string" } } } });
    engine
        .put_form(&actor(), &SpaceName::from_static("bench"), &FormName::from_static("task"), &task, false)
        .await
        .expect("form");
    let workflow = json!({ "trigger": { "form": "task", "on": ["created"], "delay": "1d" } });
    let version = engine
        .put_workflow(&actor(), &SpaceName::from_static("bench"), &WorkflowName::from_static("follow-up"), &workflow)
        .await
        .expect("workflow")
        .workflow
        .version;
    let mut rng = rand::thread_rng();
    let year = 365 * 24 * 3600;
    let started = Instant::now();
    for chunk in 0..count.div_ceil(PER_COMMIT) {
        let n = PER_COMMIT.min(count - chunk * PER_COMMIT);
        let batch = (0..n)
            .map(|_| {
                let due = Utc::now() + chrono::Duration::seconds(rng.gen_range(3600..year));
                delay_timer(&engine, version, "1d", due)
            })
            .collect();
        engine.schedule_timers(batch).await.expect("scheduled");
    }
    let scheduling = started.elapsed();
    let rss_scheduled = rss_mb();
    assert_eq!(engine.pending_timers(), count, "every timer is pending");
    println!("\n1. scheduling");
    println!(
        "   {count} timers in {:.2} s ({:.0} timers/s, {PER_COMMIT} per commit)",
        scheduling.as_secs_f64(),
        count as f64 / scheduling.as_secs_f64()
    );
    let growth = rss_scheduled - rss_before;
    println!(
        "   RSS {rss_before:.0} MB before, {rss_scheduled:.0} MB after: growth {growth:.0} MB (target < 300 MB: {})",
        verdict(growth < 300.0)
    );
    engine.close().expect("close");
    drop(engine);
    println!("   database on disk: {:.0} MB", dir_size(dir.path()) as f64 / 1e6);

    // 2. Start with them present.
    let config = Config { data_dir: dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
    let started = Instant::now();
    let app = Application::build(config).await.expect("the server builds");
    let built = started.elapsed();
    let base = format!("http://{}", app.local_addr());
    let engine = app.engine().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start_time = started.elapsed();
    println!("\n2. start with {count} timers pending");
    println!(
        "   build + first /readyz 200: {} (target < 1 s: {}; opening the database and binding took {}); RSS {:.0} MB",
        ms(start_time),
        verdict(start_time < Duration::from_secs(1)),
        ms(built),
        rss_mb()
    );

    // 3. A burst due within one second, two seconds ahead.
    let second = Utc::now() + chrono::Duration::seconds(2);
    let last_seq = engine.last_event_seq();
    let batch: Vec<Timer> = (0..burst)
        .map(|i| {
            delay_timer(&engine, version, "1d", second + chrono::Duration::microseconds((i * 1_000_000 / burst) as i64))
        })
        .collect();
    let ids: HashSet<Uuid> = batch.iter().map(|t| t.id).collect();
    engine.schedule_timers(batch).await.expect("burst scheduled");
    let deadline = Instant::now() + Duration::from_secs(120);
    let fired_events = loop {
        let events = engine.events_after(last_seq, usize::MAX).expect("events");
        let fired: Vec<_> = events.into_iter().filter(|e| e.kind == EventKind::TimerFired).collect();
        let position = engine.processor_position().expect("position");
        if fired.len() >= burst && position >= engine.last_event_seq() {
            break fired;
        }
        assert!(Instant::now() < deadline, "the burst did not fire: {} of {burst}", fired.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut firing = Vec::with_capacity(burst);
    let mut seen = HashSet::new();
    for event in &fired_events {
        let timer = event.timer.as_ref().expect("a fired timer");
        assert!(seen.insert(timer.id), "timer {} fired twice", timer.id);
        firing.push((event.at - timer.due).to_std().unwrap_or_default());
    }
    assert_eq!(seen, ids, "exactly the burst fired");
    let (runs, _) = engine
        .runs(&Access::unrestricted(), &SpaceName::from_static("bench"), &RunFilter::default(), usize::MAX, None)
        .expect("runs");
    assert_eq!(runs.len(), burst, "one run per fired timer");
    let due_of: std::collections::HashMap<u64, DateTime<Utc>> =
        fired_events.iter().map(|e| (e.seq, e.timer.as_ref().map_or(e.at, |t| t.due))).collect();
    let mut running: Vec<Duration> =
        runs.iter().map(|run| (run.started_at - due_of[&run.event]).to_std().unwrap_or_default()).collect();
    let firing = percentiles(&mut firing);
    let running = percentiles(&mut running);
    println!("\n3. {burst} timers due within one second, {count} others pending");
    println!(
        "   firing lateness (event appended − due): p50 {}, p99 {}, max {} (target p99 < 100 ms: {})",
        ms(firing.p50),
        ms(firing.p99),
        ms(firing.max),
        verdict(firing.p99 < Duration::from_millis(100))
    );
    println!(
        "   run lateness (run started − due): p50 {}, p99 {}, max {}",
        ms(running.p50),
        ms(running.p99),
        ms(running.max)
    );
    let _ = stop.send(());
    server.await.expect("server task").expect("server stopped");
}
