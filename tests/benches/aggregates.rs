//! The aggregate benchmark: how long the dashboard questions take on a realistic account base.
//!
//! N accounts (`TEND_BENCH_RECORDS` [100000]) are written through `Engine::create_record` with
//! 16 concurrent tasks, then three aggregates are timed through `Engine::aggregate` (each run
//! once untimed, which builds the form's aggregate columns when it needs fields they lack, and
//! is printed; then a few more untimed, then `TEND_BENCH_AGG_ITERS` [20] times), p50 target ≤
//! 50 ms:
//! 1. the count of accounts by tier;
//! 2. the sum of ARR by month of `renewal_date`, filtered to the next year (renewals are spread
//!    over two years, so the filter keeps about half);
//! 3. the average health by owner (10 owners).
//!
//! ```text
//! cargo bench -p web --bench aggregates
//! TEND_BENCH_RECORDS=1000000 cargo bench -p web --bench aggregates
//! ```
//!
//! Printed besides: the process's resident memory after loading and after the queries, and the
//! aggregate columns' estimated size. The data directory is a temporary directory under
//! `$TMPDIR`, removed at the end.

#[path = "support.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use engine::{Access, Engine, EngineConfig, FormName, SpaceName};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::{actor, env_count, ms, percentiles, print_rss, verdict};

const SPACE: &str = "bench";
const FORM: &str = "account";
const CONCURRENCY: usize = 16;
const OWNERS: &[&str] = &["ana", "bruno", "chloe", "dmitri", "emma", "farid", "grace", "hugo", "ines", "jonas"];
/// "Today" for the benchmark: renewals run from here for two years.
const TODAY: (i32, u32, u32) = (2026, 12, 1);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

fn account_form() -> Value {
    json!({
        "schema": { "type": "object", "required": ["name", "tier"], "properties": {
            "name": { "type": "string" },
            "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
            "health": { "type": "integer", "minimum": 0, "maximum": 100 },
            "arr": { "type": "number", "minimum": 0 },
            "owner": { "type": "string" },
            "renewal_date": { "type": "string", "format": "date" },
            "region": { "type": "string" },
            "notes": { "type": "string" }
        } },
        "indexes": ["health", "tier", "renewal_date", "name"]
    })
}

fn account(rng: &mut StdRng, i: usize, today: NaiveDate) -> Value {
    let tier = match rng.gen_range(0..100) {
        0..=49 => "starter",
        50..=84 => "growth",
        _ => "enterprise",
    };
    let region = ["amer", "emea", "apac"][rng.gen_range(0..3)];
    json!({
        "name": format!("Account {i}"),
        "tier": tier,
        "health": rng.gen_range(0..=100),
        "arr": f64::from(rng.gen_range(100_000..50_000_000)) / 100.0,
        "owner": OWNERS[rng.gen_range(0..OWNERS.len())],
        "renewal_date": (today + Days::days(rng.gen_range(0..730))).format("%Y-%m-%d").to_string(),
        "region": region,
        "notes": "Quarterly business review scheduled; sponsor asked for a roadmap preview and SSO audit logs.",
    })
}

async fn run() {
    let records = env_count("TEND_BENCH_RECORDS", 100_000);
    let iterations = env_count("TEND_BENCH_AGG_ITERS", 20);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("Tend aggregate benchmark: {records} accounts, {iterations} timed runs per query, {cores} cores");
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    engine.create_space(&actor(), &SpaceName::from_static(SPACE), None).await.expect("space");
    engine
        .put_form(&actor(), &SpaceName::from_static(SPACE), &FormName::from_static(FORM), &account_form(), false)
        .await
        .expect("form");

    let (y, m, d) = TODAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
    let mut rng = StdRng::seed_from_u64(7);
    // Generated as they are written: a million accounts held at once would take gigabytes.
    let data = (0..records).map(move |i| account(&mut rng, i, today));
    let started = Instant::now();
    futures::stream::iter(data)
        .map(|data| {
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
                    .expect("create")
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
    let load = started.elapsed();
    println!("  loaded in {:.1} s ({:.0}/s)", load.as_secs_f64(), records as f64 / load.as_secs_f64());
    print_rss("after loading");

    let next_year = today + Days::days(365);
    let queries = [
        ("count by tier", json!({ "group_by": ["tier"] })),
        (
            "sum ARR by month of renewal_date, next year",
            json!({ "filter": format!("renewal_date >= \"{today}\" and renewal_date < \"{next_year}\""),
                "group_by": [{ "field": "renewal_date", "bucket": "month" }],
                "metrics": [{ "op": "sum", "field": "arr", "as": "arr" }] }),
        ),
        ("avg health by owner", json!({ "group_by": ["owner"], "metrics": [{ "op": "avg", "field": "health" }] })),
    ];
    println!(
        "  {:<45} {:<8} {:>7} {:>11} {:>10} {:>10} {:>10} {:>10}  target",
        "query", "plan", "groups", "first run", "p50", "p95", "p99", "max"
    );
    for (label, query) in &queries {
        let run = || {
            engine
                .aggregate(&Access::unrestricted(), &SpaceName::from_static(SPACE), &FormName::from_static(FORM), query)
                .unwrap_or_else(|err| panic!("{label}: {err}"))
        };
        let started = Instant::now();
        run();
        let first = started.elapsed();
        for _ in 0..iterations.div_ceil(5) {
            run();
        }
        let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
        let mut last = None;
        for _ in 0..iterations {
            let started = Instant::now();
            let result = run();
            samples.push(started.elapsed());
            last = Some(result);
        }
        let last = last.expect("one run");
        let counted: u64 = last.groups.iter().map(|g| g.values.get("count").and_then(Value::as_u64).unwrap_or(0)).sum();
        assert!(!last.groups.is_empty(), "{label}: no groups, the timing would be meaningless");
        if label.starts_with("count") {
            assert_eq!(counted, records as u64, "{label}: every account counted");
        }
        let p = percentiles(&mut samples);
        println!(
            "  {label:<45} {:<8} {:>7} {:>11} {:>10} {:>10} {:>10} {:>10}  p50 ≤ 50 ms: {}",
            last.plan.to_string(),
            last.groups.len(),
            ms(first),
            ms(p.p50),
            ms(p.p95),
            ms(p.p99),
            ms(p.max),
            verdict(p.p50 <= Duration::from_millis(50))
        );
    }
    println!(
        "  aggregate columns: {:.1} MiB (estimated, every form)",
        engine.aggregate_columns_bytes() as f64 / (1024.0 * 1024.0)
    );
    print_rss("after the queries");
    engine.close().expect("close");
    drop(dir);
}
