//! The web app benchmark: how long a person waits from navigating to a grid until its first
//! page of rows is on screen, on the demo's accounts and on a form of 100,000 records, and how
//! big the app's bundles are.
//!
//! Everything is real: the server (`Application::build`, in this process) serves the embedded
//! app; Debian's Chromium, headless, driven through chromedriver (`fantoccini`), loads it.
//! Each figure is a full navigation (index.html, the app's chunks from the browser cache, who
//! is signed in, the form, the first page and the count) until the first rows render: the app
//! marks that moment (`performance.mark`), and the browser measures it from the navigation's
//! start, so WebDriver's own round trips are not counted.
//!
//! ```text
//! cargo bench -p web --bench ui
//! ```
//!
//! Knobs (defaults in brackets): `TEND_BENCH_UI_RECORDS` [100000] records in the large form,
//! `TEND_BENCH_UI_RUNS` [7] navigations measured per grid.

#[path = "support.rs"]
mod support;

use engine::{FormName, SpaceName};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use futures::StreamExt;
use serde_json::json;
use support::{actor, env_count, ms, percentiles};
use web::config::Config;
use web::startup::Application;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

async fn run() {
    let records = env_count("TEND_BENCH_UI_RECORDS", 100_000);
    let runs = env_count("TEND_BENCH_UI_RUNS", 7);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("web app benchmark: {cores} cores; {records} records in the large form; {runs} navigations per grid");

    bundle_sizes();
    if !web::ui::is_built() {
        println!("this binary has no web app (built without Node.js or with TEND_UI=skip): nothing to navigate");
        return;
    }
    let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver")) else {
        println!("chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver): no navigation figures");
        return;
    };

    let data = tempfile::TempDir::new().expect("data dir");
    let config = Config { data_dir: data.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
    let app = Application::build(config).await.expect("server");
    let base = format!("http://{}", app.local_addr());
    let engine = app.engine().clone();
    let started = Instant::now();
    web::packs::demo::install_demo(&engine, false).await.expect("demo");
    println!("demo installed in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    load_large_form(&engine, records).await;
    println!("{records} records written in {:.1} s", started.elapsed().as_secs_f64());
    let (code, _) = engine.create_sign_in_link(None).await.expect("sign-in link");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let mut driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver");
    let profile = tempfile::TempDir::new().expect("profile");
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1440,900",
    ];
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => break client,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    client.goto(&format!("{base}/api/v1/auth/link/{code}")).await.expect("sign in");
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=space-demo]"))
        .await
        .expect("signed in");

    for (label, path) in [
        ("demo accounts (300)", "/s/demo/account"),
        ("demo accounts, at-risk filter, by health", "/s/demo/account?filter=health%20%3C%2050&sort=health"),
        ("large form", "/s/bench/ticket"),
        ("large form, sorted by an indexed field", "/s/bench/ticket?sort=-opened"),
    ] {
        let (mut samples, mut outside) = (Vec::new(), Vec::new());
        for run in 0..=runs {
            client.goto("about:blank").await.expect("blank");
            let started = Instant::now();
            client.goto(&format!("{base}{path}")).await.expect("grid");
            client
                .wait()
                .at_most(Duration::from_secs(60))
                .every(Duration::from_millis(10))
                .for_element(Locator::Css("[data-testid=grid-row]"))
                .await
                .expect("first row");
            // The app marks the moment the first rows render; the browser counts from the
            // navigation's start. WebDriver's own round trips are not in the figure.
            let mark = client
                .execute("return performance.getEntriesByName('tend:grid-first-page')[0].startTime", vec![])
                .await
                .expect("the first-page mark");
            let in_page = Duration::from_secs_f64(mark.as_f64().expect("a number of ms") / 1000.0);
            // The first navigation fills the browser's cache with the app's chunks: not counted.
            if run > 0 {
                samples.push(in_page);
                outside.push(started.elapsed());
            }
        }
        let p = percentiles(&mut samples);
        let w = percentiles(&mut outside);
        println!(
            "navigation → first grid page, {label}: p50 {} · max {} (as WebDriver sees it: p50 {})",
            ms(p.p50),
            ms(p.max),
            ms(w.p50)
        );
    }

    let _ = client.close().await;
    let _ = driver.kill();
    let _ = driver.wait();
    let _ = stop.send(());
    let _ = server.await;
}

/// A `ticket` form in space `bench` with `count` records, written concurrently.
async fn load_large_form(engine: &engine::Engine, count: usize) {
    let actor = actor();
    engine.create_space(&actor, &SpaceName::from_static("bench"), Some("Benchmark".into())).await.expect("space");
    let form = json!({
        "title": "Ticket",
        "schema": { "type": "object", "required": ["subject"], "properties": {
            "subject": { "type": "string" }, "priority": { "type": "string", "enum": ["low", "normal", "high", "urgent"] },
            "requester": { "type": "string", "format": "email" }, "opened": { "type": "string", "format": "date" },
            "minutes": { "type": "integer", "minimum": 0 } } },
        "indexes": ["priority", "opened"]
    });
    engine
        .put_form(&actor, &SpaceName::from_static("bench"), &FormName::from_static("ticket"), &form, false)
        .await
        .expect("form");
    let engine = Arc::new(engine.clone());
    futures::stream::iter(0..count)
        .map(|i| {
            let (engine, actor) = (Arc::clone(&engine), actor.clone());
            async move {
                let priority = ["low", "normal", "high", "urgent"][i % 4];
                let data = json!({
                    "subject": format!("Ticket {i}"), "priority": priority,
                    "requester": format!("user{}@example.com", i % 977), "opened": format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                    "minutes": i % 500 });
                engine.create_record(&actor, &engine::Access::unrestricted(), &SpaceName::from_static("bench"), &FormName::from_static("ticket"), data).await.expect("record");
            }
        })
        .buffer_unordered(256)
        .collect::<Vec<()>>()
        .await;
}

/// The build's sizes, through the same script CI checks the budget with.
fn bundle_sizes() {
    let dir = Path::new(env!("TEND_UI_DIR"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/scripts/budget.mjs");
    if !dir.join(".vite/manifest.json").is_file() {
        println!("bundle sizes: no build output (the app was not built)");
        return;
    }
    match Command::new("node").arg(&script).arg(dir).output() {
        Ok(output) => {
            println!("bundle sizes (gzip -9):");
            print!("{}", String::from_utf8_lossy(&output.stdout));
        }
        Err(err) => println!("bundle sizes: node is needed to read them ({err})"),
    }
}
