//! The delivery benchmark: how fast the outbox is delivered to a fast local receiver, how long
//! a triggering write takes to reach the receiver, and whether slow and hanging endpoints delay
//! the others.
//!
//! Everything is real: the server (`Application::build`, with its workflow processor and
//! delivery worker, signing with Standard Webhooks and sending with its HTTP client) and a
//! receiver (an axum server) run in this process and talk over loopback. A workflow on
//! `account` `created` notifies endpoint `fast` with `{n}`; the receiver notes when each `n`
//! arrives.
//!
//! 1. **throughput**: B accounts are written through the engine and processed before the
//!    server starts, so B deliveries wait in the outbox; then the server starts and the time
//!    until the receiver has all B gives deliveries/s (each delivery: read, sign, POST, answer,
//!    outcome flushed).
//! 2. **lag**: W writers POST accounts over HTTP at a steady total rate R for S seconds; the lag
//!    runs from the client sending the write to the receiver getting the delivery (so it
//!    includes the write itself: the delivery often arrives before the client has read its 201).
//! 3. **isolation**: as 2, but the workflow also notifies `slow` (answers after 500 ms) and
//!    `hang` (never answers; attempts time out after 5 s) on every write; the lag to `fast` is
//!    measured again.
//!
//! ```text
//! cargo bench -p web --bench deliveries
//! ```
//!
//! Knobs (defaults in brackets): `TEND_BENCH_DL_BACKLOG` [20000] deliveries in section 1,
//! `TEND_BENCH_DL_RATE` [200] writes per second in sections 2 and 3, `TEND_BENCH_DL_SECS` [5]
//! seconds of writes.

#[path = "support.rs"]
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use engine::{Access, EndpointName, Engine, FormName, SpaceName, WorkflowName};
use futures::StreamExt;
use serde_json::{json, Value};
use support::{actor, env_count, ms, percentiles, verdict};
use web::config::Config;
use web::startup::Application;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let backlog = env_count("TEND_BENCH_DL_BACKLOG", 20_000);
    let rate = env_count("TEND_BENCH_DL_RATE", 200);
    let secs = env_count("TEND_BENCH_DL_SECS", 5);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("delivery benchmark: {cores} cores; backlog {backlog}; {rate} writes/s for {secs} s");

    let per_second = throughput(backlog).await;
    let (lag, _) = measure_lag(rate, secs, false).await;
    let (isolated, others) = measure_lag(rate, secs, true).await;

    println!();
    println!("== summary");
    println!("throughput: {per_second:.0} deliveries/s (target ≥ 2000: {})", verdict(per_second >= 2000.0));
    println!(
        "lag write sent → hit: p50 {} p99 {} (target p99 < 250 ms: {})",
        ms(lag.0),
        ms(lag.1),
        verdict(lag.1 < Duration::from_millis(250))
    );
    println!(
        "lag with slow + hanging endpoints: p50 {} p99 {} (target p99 < 250 ms: {}); {others}",
        ms(isolated.0),
        ms(isolated.1),
        verdict(isolated.1 < Duration::from_millis(250))
    );
}

/// When each `n` reached `/fast`.
#[derive(Default)]
struct Sink {
    hits: Mutex<HashMap<i64, Instant>>,
    count: AtomicUsize,
    slow: AtomicUsize,
}

async fn receiver() -> (SocketAddr, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let app = Router::new()
        .route(
            "/fast",
            post(|State(sink): State<Arc<Sink>>, body: Bytes| async move {
                let n = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["n"].as_i64()).unwrap_or(-1);
                sink.hits.lock().unwrap().entry(n).or_insert_with(Instant::now);
                sink.count.fetch_add(1, Ordering::Relaxed);
                "ok"
            }),
        )
        .route(
            "/slow",
            post(|State(sink): State<Arc<Sink>>| async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                sink.slow.fetch_add(1, Ordering::Relaxed);
                "ok"
            }),
        )
        .route("/hang", post(|| async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .with_state(Arc::clone(&sink));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the receiver");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, sink)
}

struct Server {
    app: Option<Application>,
    engine: Engine,
    base: String,
    token: String,
    _dir: tempfile::TempDir,
}

/// A server (not yet running) with space `b`: form `account {n}`, the endpoints, and a
/// workflow notifying `fast` (and `slow` and `hang` when `crowded`) on every new account.
async fn server(receiver: SocketAddr, crowded: bool) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config { data_dir: dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
    config.webhooks.allow_private_targets = true;
    config.webhooks.timeout_ms = 5_000;
    config.log_level = "warn".into();
    let app = Application::build(config).await.unwrap_or_else(|err| panic!("building the server: {err:#}"));
    let engine = app.engine().clone();
    let base = format!("http://{}", app.local_addr());
    let token = app.first_admin_token().expect("first token").to_owned();
    engine.create_space(&actor(), &SpaceName::from_static("b"), None).await.expect("space");
    let form = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
    engine
        .put_form(&actor(), &SpaceName::from_static("b"), &FormName::from_static("account"), &form, false)
        .await
        .expect("form");
    let mut actions = vec![json!({ "notify": { "webhook": "fast", "body": "#{ n: record.n }" } })];
    for name in ["fast", "slow", "hang"] {
        let url = format!("http://{receiver}/{name}");
        engine
            .put_endpoint(&SpaceName::from_static("b"), &EndpointName::from_static(name), &json!({ "url": url }))
            .await
            .expect("endpoint");
        if crowded && name != "fast" {
            actions.push(json!({ "notify": { "webhook": name, "body": "#{ n: record.n }" } }));
        }
    }
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": actions });
    engine
        .put_workflow(&actor(), &SpaceName::from_static("b"), &WorkflowName::from_static("tell"), &workflow)
        .await
        .expect("workflow");
    Server { app: Some(app), engine, base, token, _dir: dir }
}

impl Server {
    fn start(&mut self) -> tokio::sync::oneshot::Sender<()> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = self.app.take().expect("not started yet");
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        stop
    }
}

async fn throughput(backlog: usize) -> f64 {
    println!();
    println!("== 1. throughput: {backlog} deliveries waiting in the outbox, one fast endpoint");
    let (addr, sink) = receiver().await;
    let mut server = server(addr, false).await;
    let engine = server.engine.clone();
    futures::stream::iter(0..backlog)
        .map(|n| {
            let engine = engine.clone();
            async move {
                engine
                    .create_record(
                        &actor(),
                        &Access::unrestricted(),
                        &SpaceName::from_static("b"),
                        &FormName::from_static("account"),
                        json!({ "n": n }),
                    )
                    .await
                    .expect("record")
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    engine.process_pending().await.expect("processed");
    assert_eq!(engine.deliveries().expect("outbox").len(), backlog, "one delivery per account");
    let cpu = support::process_cpu();
    let started = Instant::now();
    let stop = server.start();
    while sink.count.load(Ordering::Relaxed) < backlog {
        assert!(started.elapsed() < Duration::from_secs(600), "only {} delivered", sink.count.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let received = started.elapsed();
    // Every outcome recorded as well, not just received.
    loop {
        let counts = engine.delivery_counts(&SpaceName::from_static("b")).expect("counts");
        if counts.get("delivered").copied().unwrap_or(0) == backlog {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded = started.elapsed();
    let cpu = support::process_cpu().saturating_sub(cpu);
    let per_second = backlog as f64 / received.as_secs_f64();
    println!("received all in {} → {per_second:.0} deliveries/s", ms(received));
    println!("all recorded delivered after {} → {:.0}/s", ms(recorded), backlog as f64 / recorded.as_secs_f64());
    println!("CPU (server + receiver, same process): {:.2} s", cpu.as_secs_f64());
    let _ = stop.send(());
    per_second
}

/// Writes at `rate`/s for `secs` s over HTTP; returns the write→hit lag (p50, p99) of the
/// `fast` endpoint and, when crowded, what happened to the others.
async fn measure_lag(rate: usize, secs: usize, crowded: bool) -> ((Duration, Duration), String) {
    println!();
    if crowded {
        println!("== 3. isolation: every write also notifies `slow` (500 ms) and `hang` (times out after 5 s)");
    } else {
        println!("== 2. lag: {rate} writes/s over HTTP for {secs} s, write sent → receiver hit");
    }
    let (addr, sink) = receiver().await;
    let mut server = server(addr, crowded).await;
    let stop = server.start();
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/spaces/b/forms/account/records", server.base);
    let total = rate * secs;
    let writers = 4;
    let acks: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (client, url, token, acks) = (client.clone(), url.clone(), server.token.clone(), Arc::clone(&acks));
            tokio::spawn(async move {
                let mut n = w;
                while n < total {
                    // Writer w sends writes w, w + W, w + 2W, ... each at its slot in the schedule.
                    let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                    let sent = Instant::now();
                    let response =
                        client.post(&url).bearer_auth(&token).json(&json!({ "n": n })).send().await.expect("POST");
                    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
                    acks.lock().unwrap().insert(n as i64, sent);
                    n += writers;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.hits.lock().unwrap().len() < total {
        assert!(Instant::now() < deadline, "only {} of {total} reached the receiver", sink.hits.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hits = sink.hits.lock().unwrap().clone();
    let acks = acks.lock().unwrap().clone();
    let mut lags: Vec<Duration> = acks
        .iter()
        .map(|(n, acked)| hits.get(n).map_or(Duration::ZERO, |hit| hit.saturating_duration_since(*acked)))
        .collect();
    let p = percentiles(&mut lags);
    println!("{total} writes in {}; lag p50 {} p99 {} max {}", ms(started.elapsed()), ms(p.p50), ms(p.p99), ms(p.max));
    let mut others = String::new();
    if crowded {
        let counts = server.engine.delivery_counts(&SpaceName::from_static("b")).expect("counts");
        others =
            format!("meanwhile `slow` answered {} and the outbox held {counts:?}", sink.slow.load(Ordering::Relaxed));
        println!("{others}");
    }
    let _ = stop.send(());
    ((p.p50, p.p99), others)
}
