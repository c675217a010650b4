//! The import benchmark: a 10-column CSV file imported through the code the import endpoint
//! runs (`web::import::run`: read, coerce, validate, index, commit a chunk at a time), with
//! workflows off. Prints rows/s and the peak resident memory of each run, at two file sizes, to
//! show that memory does not grow with the file (the file is read as a stream; only sled's
//! bounded page cache grows with the data).
//!
//! Each size runs on a fresh data dir; the process's peak (VmHWM) is reset between runs
//! (`/proc/self/clear_refs`), so each figure is that run's own peak.
//!
//! ```text
//! cargo bench -p web --bench import
//! TEND_BENCH_ROWS=100000 cargo bench -p web --bench import
//! ```
//!
//! Knobs: `TEND_BENCH_ROWS` [100000] the smaller file; the larger one has twice as many rows.

#[path = "support.rs"]
mod support;

use std::io::Write as _;
use std::time::Instant;

use engine::{Engine, EngineConfig, ImportMode, ImportOptions};
use forms::CoerceOptions;
use serde_json::json;
use support::*;
use web::import::{run, ImportRequest};
use web::tabular::FileFormat;

const TARGET_ROWS_PER_SEC: f64 = 20_000.0;

fn main() {
    let rows = env_count("TEND_BENCH_ROWS", 100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!("import benchmark: a 10-column CSV, workflows off, all-or-nothing and resumable");
    for (count, mode) in [(rows, ImportMode::Resumable), (rows * 2, ImportMode::Resumable), (rows, ImportMode::All)] {
        runtime.block_on(measure(count, mode));
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

async fn measure(rows: usize, mode: ImportMode) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path().join("data"))).expect("engine");
    let actor = actor();
    engine.create_space(&actor, "bench", None).await.expect("space");
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
    engine.put_form(&actor, "bench", "account", &form, false).await.expect("form");
    let path = csv_file(dir.path(), rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // Resets VmHWM to the current RSS, so the peak printed is this run's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let cpu = process_cpu();
    let request = ImportRequest {
        format: FileFormat::Csv,
        overrides: Vec::new(),
        coerce: CoerceOptions::default(),
        options: ImportOptions { workflows: false, mode, ..ImportOptions::default() },
    };
    let file = std::fs::File::open(&path).expect("open csv");
    let worker = engine.clone();
    let outcome = tokio::task::spawn_blocking(move || run(&worker, &actor, "bench", "account", request, file))
        .await
        .expect("import task")
        .expect("import");
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu);
    let report = outcome.report;
    assert_eq!(report.failed, 0, "{:?}", report.errors.first());
    assert_eq!(report.created, rows as u64);
    let rate = rows as f64 / elapsed.as_secs_f64();
    println!(
        "  {rows} rows ({:.1} MiB, {mode:?}): {:.2} s, {:.0} rows/s (target ≥ {TARGET_ROWS_PER_SEC:.0}: {}), CPU {:.2} s, peak RSS {}",
        size as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64(),
        rate,
        verdict(rate >= TARGET_ROWS_PER_SEC),
        cpu.as_secs_f64(),
        peak_rss(),
    );
    engine.close().expect("close");
}

fn peak_rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(|| "n/a".to_owned(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0))
}
