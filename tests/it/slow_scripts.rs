//! Slow scripts hold up only their own work: computed fields run off the server's async
//! threads, so `/healthz` and writes elsewhere answer while they spin; the workflow processor
//! runs each space's events in a lane of its own, so a slow `when` in one space does not
//! delay another space's runs. Bounds are relative to the slow script's duration (its
//! timeout), far above what the fast side needs even on a loaded machine.

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

/// Before, one queue served every space: a space whose `when` spins for its whole timeout
/// held up every other space's runs behind each of its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_when_in_one_space_does_not_delay_another_spaces_runs() {
    let app = slow_scripts_app().await;
    let plain = json!({ "schema": { "type": "object", "properties": {
        "name": { "type": "string" }, "seen": { "type": "boolean" } } } });
    for space in ["slow", "fast"] {
        app.create_space(space).await;
        app.put_form(space, "thing", &plain).await;
    }
    let spin = json!({ "trigger": { "form": "thing", "on": ["created"] }, "when": SPIN,
                       "actions": [ { "set": { "seen": "true" } } ] });
    expect_json(app.put("/api/v1/spaces/slow/workflows/spin", &spin).await, StatusCode::CREATED).await;
    let mark = json!({ "trigger": { "form": "thing", "on": ["created"] },
                       "actions": [ { "set": { "seen": "true" } } ] });
    expect_json(app.put("/api/v1/spaces/fast/workflows/mark", &mark).await, StatusCode::CREATED).await;

    for i in 0..3 {
        app.create_record("slow", "thing", &json!({ "name": format!("s{i}") })).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = Instant::now();
    app.create_record("fast", "thing", &json!({ "name": "quick" })).await;
    let fast_took = loop {
        let runs = runs_of(&app, "fast").await;
        if runs.iter().any(|run| run["status"] == "succeeded") {
            break probe.elapsed();
        }
        assert!(probe.elapsed() < SLOW * 6, "the fast space's run never came: {runs:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(fast_took < SLOW / 2, "the fast space's run took {fast_took:?} behind the slow space");

    // The slow space's runs all happen, each stopped by its timeout, one after the other.
    let deadline = Instant::now() + SLOW * 10;
    let slow_runs = loop {
        let runs = runs_of(&app, "slow").await;
        if runs.len() == 3 {
            break runs;
        }
        assert!(Instant::now() < deadline, "the slow space has {} runs", runs.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for run in &slow_runs {
        assert_eq!(run["status"], "failed", "{run:#?}");
        assert!(run["error"].as_str().unwrap().contains("timeout_ms"), "{run:#?}");
    }
}

async fn runs_of(app: &TestApp, space: &str) -> Vec<Value> {
    let page = expect_json(app.get(&format!("/api/v1/spaces/{space}/runs?limit=100")).await, StatusCode::OK).await;
    page["items"].as_array().expect("items").clone()
}
