//! The record-policy benchmark: what applying a form's record policy costs, engine-level (no
//! HTTP), for a caller with no restriction against a CSM (`member`: own records, one read-only
//! and one hidden field).
//!
//! The `account` form of the write benchmarks gets an index on `owner` and a policy. N accounts
//! (`TEND_BENCH_RECORDS` [20000]) spread over 50 owners are written first. Then, each timed as
//! the unrestricted caller and as the CSM, alternating rounds so both see the same machine:
//! 1. **creates**: `TEND_BENCH_WRITES` [2000] creates from 16 concurrent tasks; throughput,
//!    and the CSM's relative cost (target: at most 5 % slower);
//! 2. **list**: the first page of 50 in default order, `TEND_BENCH_ITERS` [200] times; p50/p99
//!    and the plan each used (the CSM's scope becomes a filter on the indexed person field);
//! 3. **count** and **aggregate** (accounts and ARR by tier): p50 over the same iterations/10.
//!
//! ```text
//! cargo bench -p web --bench policy
//! ```

#[path = "support.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Access, Engine, EngineConfig, FormName, ListQuery, SpaceName, SpaceRole};
use serde_json::{json, Value};
use support::{account_form, actor, env_count, ms, percentiles, verdict};

const SPACE: &str = "bench";
const FORM: &str = "account";
const CONCURRENCY: usize = 16;
const OWNERS: usize = 50;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

fn owner(i: usize) -> String {
    format!("csm{}@example.com", i % OWNERS)
}

fn account(i: usize, owner: &str) -> Value {
    let tier = ["starter", "growth", "enterprise"][i % 3];
    let region = ["amer", "emea", "apac"][i % 3];
    json!({ "name": format!("Account {i}"), "tier": tier, "health": i % 101, "owner": owner,
            "region": region, "employees": 10 + i % 500,
            "tags": ["bench"], "notes": "Renewal call went well; wants SSO." })
}

/// Writes accounts `start..start + count` as `access`: a CSM's are her own, the others spread
/// over the owners.
async fn write(engine: &Engine, access: &Access, start: usize, count: usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(start));
    let end = start + count;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (engine, access, next) = (engine.clone(), access.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let mut data = account(i, &access.user_id.clone().unwrap_or_else(|| owner(i)));
                if access.user_id.is_some() {
                    // Hidden from a CSM: not hers to write.
                    data.as_object_mut().map(|data| data.remove("notes"));
                }
                engine
                    .create_record(
                        &actor(),
                        &access,
                        &SpaceName::from_static(SPACE),
                        &FormName::from_static(FORM),
                        data,
                    )
                    .await
                    .expect("create");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer");
    }
}

async fn run() {
    let records = env_count("TEND_BENCH_RECORDS", 20_000);
    let writes = env_count("TEND_BENCH_WRITES", 2_000);
    let iters = env_count("TEND_BENCH_ITERS", 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    engine.create_space(&actor(), &SpaceName::from_static(SPACE), None).await.expect("space");
    let mut form = account_form();
    form["indexes"].as_array_mut().expect("indexes").push(json!("owner"));
    form["access"] = json!({ "person_field": "owner", "roles": {
        "member": { "records": "own", "fields": { "arr": "read_only", "notes": "hidden" } } } });
    engine
        .put_form(&actor(), &SpaceName::from_static(SPACE), &FormName::from_static(FORM), &form, false)
        .await
        .expect("form");

    let everyone = Access::unrestricted();
    let csm =
        Access { user_id: Some(owner(7)), role: Some(SpaceRole::Member), team_members: BTreeSet::from([owner(7)]) };
    let started = Instant::now();
    write(&engine, &everyone, 0, records).await;
    println!("seeded {records} accounts over {OWNERS} owners in {:.1} s", started.elapsed().as_secs_f64());

    // 1. Creates, alternating rounds.
    let rounds = 4;
    let per_round = (writes / rounds).max(1);
    let mut spent = [Duration::ZERO; 2];
    let mut next = records;
    for _ in 0..rounds {
        for (slot, access) in [(0, &everyone), (1, &csm)] {
            let started = Instant::now();
            write(&engine, access, next, per_round).await;
            spent[slot] += started.elapsed();
            next += per_round;
        }
    }
    let rate = |spent: Duration| (per_round * rounds) as f64 / spent.as_secs_f64();
    let (open, scoped) = (rate(spent[0]), rate(spent[1]));
    let cost = (open / scoped - 1.0) * 100.0;
    println!(
        "creates: unrestricted {open:.0}/s, CSM {scoped:.0}/s: the policy costs {cost:+.1} % (target ≤ 5 %: {})",
        verdict(cost <= 5.0)
    );

    // 2. The first page of a list.
    let query = ListQuery { limit: Some(50), ..ListQuery::default() };
    for (name, access) in [("unrestricted", &everyone), ("CSM", &csm)] {
        let mut samples = Vec::with_capacity(iters);
        let mut plan = String::new();
        for _ in 0..iters {
            let started = Instant::now();
            let page = engine
                .list_records(access, &SpaceName::from_static(SPACE), &FormName::from_static(FORM), &query)
                .expect("list");
            samples.push(started.elapsed());
            assert_eq!(page.items.len(), 50);
            plan = page.plan.to_string();
        }
        let p = percentiles(&mut samples);
        println!("list, first page of 50 ({name}, plan {plan}): p50 {}, p99 {}", ms(p.p50), ms(p.p99));
    }

    // 3. A count and an aggregate read every record the caller may see.
    let by_tier = json!({ "group_by": ["tier"], "metrics": [{ "op": "count" }, { "op": "sum", "field": "arr" }] });
    for (name, access) in [("unrestricted", &everyone), ("CSM", &csm)] {
        let (mut counts, mut aggregates) = (Vec::new(), Vec::new());
        for _ in 0..(iters / 10).max(3) {
            let started = Instant::now();
            engine
                .count_matching(access, &SpaceName::from_static(SPACE), &FormName::from_static(FORM), None)
                .expect("count");
            counts.push(started.elapsed());
            let started = Instant::now();
            engine
                .aggregate(access, &SpaceName::from_static(SPACE), &FormName::from_static(FORM), &by_tier)
                .expect("aggregate");
            aggregates.push(started.elapsed());
        }
        let (c, a) = (percentiles(&mut counts), percentiles(&mut aggregates));
        println!("count ({name}): p50 {}; aggregate by tier ({name}): p50 {}", ms(c.p50), ms(a.p50));
    }
    engine.close().expect("close");
}
