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

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
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
    child: Child,
    base: String,
    token: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tend"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env_remove("TEND_CONFIG")
            .env("TEND_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tend serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut token, mut base) = (None, None);
        for line in lines.by_ref() {
            let line = line.expect("banner");
            if line.starts_with("tend_") {
                token = Some(line.trim().to_owned());
            }
            if let Some(url) = line.strip_prefix("Tend is listening on ") {
                base = Some(url.trim().to_owned());
                break;
            }
        }
        // Keep reading the banner's pipe so the server never blocks on a full one.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, base: base.expect("the server's address"), token: token.expect("the first admin token") }
    }

    /// The child's peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 =
            status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb / 1024.0)
    }

    /// The child's user + system CPU time so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
