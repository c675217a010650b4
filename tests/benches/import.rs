//! The import benchmark: a 10-column CSV file uploaded to `POST .../import` of a real
//! `tend serve` (the release binary, a child process on loopback), workflows off. Prints rows/s
//! (from the first byte sent to the report) and the server process's peak resident memory, at
//! two file sizes (a tenth of the rows and all of them) in both modes, resumable and
//! all-or-nothing, to show that memory does not grow with the file: the upload is read as a
//! stream and stored a chunk at a time (all-or-nothing: checked whole first from a temporary
//! copy, then stored with an undo journal); only sled's bounded page cache grows with the data.
//!
//! Each run starts its own server on a fresh data dir, so each peak (the child's VmHWM) is that
//! run's own, and it includes everything the server does: HTTP, parsing, coercion, validation,
//! indexing, the commits.
//!
//! ```text
//! cargo bench -p web --bench import
//! TEND_BENCH_ROWS=200000 cargo bench -p web --bench import
//! ```
//!
//! Knobs: `TEND_BENCH_ROWS` [100000] the larger file; the smaller one has a tenth as many rows.

#[path = "support.rs"]
mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{json, Value};
use support::*;
use tokio::io::AsyncReadExt as _;

const TARGET_ROWS_PER_SEC: f64 = 20_000.0;

fn main() {
    let rows = env_count("TEND_BENCH_ROWS", 100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!("import benchmark: a 10-column CSV through the HTTP API of `tend serve`, workflows off");
    for (count, mode) in [(rows / 10, "resumable"), (rows, "resumable"), (rows / 10, "all"), (rows, "all")] {
        runtime.block_on(measure(count, mode));
    }
}

/// `tend serve` on a fresh data dir, with its base URL and first admin token.
struct Server {
    serve: TendServe,
    base: String,
    token: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        std::fs::create_dir_all(dir).expect("the data dir");
        let serve = spawn_tend(std::path::Path::new(env!("CARGO_BIN_EXE_tend")), dir);
        let token = serve.token.clone().expect("the first admin token");
        Server { base: serve.base.clone(), token, serve }
    }

    /// The child's peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        Some(rss_of(self.serve.child.id()).1)
    }

    /// The child's user + system CPU time so far.
    fn cpu(&self) -> Duration {
        cpu_of(&self.serve.child.id().to_string())
    }
}

fn csv_file(dir: &std::path::Path, rows: usize) -> std::path::PathBuf {
    let path = dir.join(format!("accounts-{rows}.csv"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("csv file"));
    writeln!(file, "Name,Tier,Health,ARR,Seats,Owner,Region,Renewal Date,Active,Notes").expect("header");
    for i in 0..rows {
        let tier = ["Starter", "Growth", "Enterprise"][i % 3];
        let region = ["APAC", "EMEA", "AMER"][i % 3];
        writeln!(
            file,
            "Account {i},{tier},{},\"{},{:03}.50\",{},csm{}@example.com,{region},2027/{}/{},{},\"note {i}, with a comma\"",
            i % 101,
            1 + i % 900,
            i % 1000,
            1 + i % 500,
            i % 40,
            1 + i % 12,
            1 + i % 28,
            if i % 2 == 0 { "yes" } else { "no" },
        )
        .expect("row");
    }
    file.flush().expect("flush");
    path
}

async fn measure(rows: usize, mode: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.base);
    let created = client.post(api("/spaces")).bearer_auth(&server.token).json(&json!({ "name": "bench" })).send().await;
    assert!(created.expect("create the space").status().is_success());
    let form = json!({
        "schema": { "type": "object", "required": ["name", "tier"], "properties": {
            "name": { "type": "string" },
            "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
            "health": { "type": "integer", "minimum": 0, "maximum": 100 },
            "arr": { "type": "number", "minimum": 0 },
            "seats": { "type": "integer" },
            "owner": { "type": "string", "format": "email" },
            "region": { "type": "string" },
            "renewal_date": { "type": "string", "format": "date" },
            "active": { "type": "boolean" },
            "notes": { "type": "string" } } },
        "indexes": ["name", "tier", "health", "renewal_date"]
    });
    let stored = client.put(api("/spaces/bench/forms/account")).bearer_auth(&server.token).json(&form).send().await;
    assert!(stored.expect("store the form").status().is_success());
    let path = csv_file(dir.path(), rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let idle_rss = server.peak_rss_mib();
    let cpu = server.cpu();
    let started = Instant::now();
    let file = tokio::fs::File::open(&path).await.expect("open csv");
    let body = futures::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(buffer), file))
            }
            Err(err) => Some((Err(err), file)),
        }
    });
    let response = client
        .post(api("/spaces/bench/forms/account/import"))
        .query(&[("workflows", "false"), ("mode", mode)])
        .bearer_auth(&server.token)
        .header(reqwest::header::CONTENT_TYPE, "text/csv")
        .body(reqwest::Body::wrap_stream(body.boxed()))
        .send()
        .await
        .expect("upload");
    assert!(response.status().is_success(), "import: {}", response.status());
    let report: Value = response.json().await.expect("report");
    let elapsed = started.elapsed();
    let cpu = server.cpu().saturating_sub(cpu);
    assert_eq!(report["failed"], 0, "{:?}", report["errors"].get(0));
    assert_eq!(report["created"].as_u64(), Some(rows as u64));
    let rate = rows as f64 / elapsed.as_secs_f64();
    let mib = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1} MiB"));
    println!(
        "  {rows} rows ({:.1} MiB, {mode}): {:.2} s, {:.0} rows/s (target ≥ {TARGET_ROWS_PER_SEC:.0}: {}), server CPU {:.2} s, server peak RSS {} (idle before: {})",
        size as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64(),
        rate,
        verdict(rate >= TARGET_ROWS_PER_SEC),
        cpu.as_secs_f64(),
        mib(server.peak_rss_mib()),
        mib(idle_rss),
    );
}
