//! Slow scripts hold up only their own work: computed fields run off the server's async
//! threads, so `/healthz` and writes elsewhere answer while they spin. Bounds are relative to
//! the slow script's duration (its timeout), far above what the fast side needs even on a
//! loaded machine.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// How long each slow script spins: it loops until its timeout stops it.
const SLOW: Duration = Duration::from_millis(2_000);
const SPIN: &str = "let x = 0; loop { x += 1; }";

async fn slow_scripts_app() -> TestApp {
    TestApp::spawn_configured(|config| {
        config.scripts.timeout_ms = SLOW.as_millis() as u64;
        config.scripts.max_operations = 0;
    })
    .await
}

fn form_with_computed(expr: &str) -> Value {
    json!({ "schema": { "type": "object", "properties": {
                "name": { "type": "string" }, "size": {}, "seen": { "type": "boolean" } } },
            "computed": { "size": { "expr": expr } } })
}

/// Two runtime threads, as on a two-core machine: before, four writes spinning in computed
/// fields held both, and `/healthz` and a write in another space waited for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_computed_fields_do_not_stall_health_or_writes_in_other_spaces() {
    let app = slow_scripts_app().await;
    app.create_space("slow").await;
    app.put_form("slow", "thing", &form_with_computed(SPIN)).await;
    app.create_space("fast").await;
    app.put_form("fast", "note", &form_with_computed("record.name.len()")).await;

    let started = Instant::now();
    let slow_writes: Vec<_> = (0..4)
        .map(|i| {
            let request = app
                .request(reqwest::Method::POST, &records_path("slow", "thing"))
                .json(&json!({ "name": format!("t{i}") }));
            tokio::spawn(async move { request.send().await.expect("answered").status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let probe = Instant::now();
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let health_took = probe.elapsed();
    let probe = Instant::now();
    let note = app.create_record("fast", "note", &json!({ "name": "quick" })).await;
    let write_took = probe.elapsed();
    assert_eq!(note["data"]["size"], 5);

    for slow in slow_writes {
        assert_eq!(slow.await.expect("no panic"), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(started.elapsed() >= SLOW, "the slow writes were slow");
    assert!(health_took < SLOW / 2, "/healthz took {health_took:?} while scripts spun");
    assert!(write_took < SLOW / 2, "a write in another space took {write_took:?} while scripts spun");
}
