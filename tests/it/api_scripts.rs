//! Forms come alive: computed fields evaluated on every write, rules rejecting writes with every
//! broken rule listed, scripts checked when a definition is saved, and the sandbox stopping
//! runaway scripts while everyone else keeps writing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// An account whose health is a weighted score of usage and NPS, with the weights in one place.
fn scored_account_form() -> Value {
    json!({
        "schema": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" },
            "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
            "usage": { "type": "integer", "minimum": 0, "maximum": 100 },
            "nps": { "type": "integer", "minimum": 0, "maximum": 10 },
            "arr": { "type": "number" },
            "discount": { "type": "number" },
            "renewal_date": { "type": "string", "format": "date" },
            "health": { "type": "integer", "minimum": 0, "maximum": 100 },
            "band": { "type": "string" } } },
        "indexes": ["health"],
        "computed": {
            "health": "let w = #{ usage: 0.6, nps: 0.4 }; let u = record.usage ?? 0; let n = (record.nps ?? 0) * 10; to_int(round(u * w.usage + n * w.nps, 0))",
            "band": { "expr": "if record.health >= 70 { \"healthy\" } else if record.health >= 40 { \"watch\" } else { \"at risk\" }" }
        },
        "rules": [
            { "name": "enterprise-arr", "expr": "record.tier != \"enterprise\" || (record.arr ?? 0) >= 50000", "message": "enterprise accounts have at least 50k ARR", "path": "/arr" },
            { "expr": "(record.discount ?? 0) <= 0.3", "message": "discounts above 30% need approval", "path": "/discount" },
            { "expr": "record.renewal_date == () || days_until(record.renewal_date) > -365", "message": "renewal date is more than a year in the past", "path": "/renewal_date" }
        ]
    })
}

#[tokio::test]
async fn computed_fields_are_evaluated_on_every_write_and_cannot_be_set() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.put_form("cs", "account", &scored_account_form()).await;
    let created = app.create_record("cs", "account", &json!({ "name": "Acme", "usage": 80, "nps": 9 })).await;
    // 80 * 0.6 + 90 * 0.4 = 84; computed fields see earlier ones (name order: band < health,
    // so band saw no health yet and is recomputed on the next write).
    assert_eq!(created["data"]["health"], 84);
    let record = format!("{}/{}", records_path("cs", "account"), created["id"].as_str().unwrap());
    let patched = expect_json(app.patch(&record, &json!({ "usage": 10, "nps": 2 }), None).await, StatusCode::OK).await;
    assert_eq!(patched["data"]["health"], 14);

    let problem = expect_problem(
        app.post(&records_path("cs", "account"), &json!({ "name": "Beta", "health": 100 })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/health"]);
    expect_problem(
        app.patch(&record, &json!({ "health": 100 }), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;

    // Computed values are indexed like any field.
    let response = app.get(&format!("{}?filter=health%20%3C%2020", records_path("cs", "account"))).await;
    assert_eq!(response.headers()["tend-query-plan"], "index:health");
    assert_eq!(expect_json(response, StatusCode::OK).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rules_reject_a_write_listing_every_broken_rule() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.put_form("cs", "account", &scored_account_form()).await;
    let bad =
        json!({ "name": "Acme", "tier": "enterprise", "arr": 1000, "discount": 0.5, "renewal_date": "2020-01-01" });
    let problem = expect_problem(
        app.post(&records_path("cs", "account"), &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/arr", "/discount", "/renewal_date"], "{problem}");
    let messages: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(messages.contains(&"enterprise accounts have at least 50k ARR"), "{messages:?}");
    let good = json!({ "name": "Acme", "tier": "enterprise", "arr": 90000, "discount": 0.1 });
    app.create_record("cs", "account", &good).await;
}

#[tokio::test]
async fn script_errors_are_refused_when_the_definition_is_saved() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let mut definition = scored_account_form();
    definition["computed"]["health"] = json!("let x = ;\nx");
    definition["rules"][1]["expr"] = json!("no_such_function(record.arr)");
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/forms/account", &definition).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/computed/health", "/rules/1/expr"], "{problem}");
    let syntax = problem["errors"].as_array().unwrap().iter().find(|e| e["path"] == "/computed/health").unwrap();
    assert!(syntax["message"].as_str().unwrap().contains("line 1"), "{syntax}");
    let unknown = problem["errors"].as_array().unwrap().iter().find(|e| e["path"] == "/rules/1/expr").unwrap();
    assert!(unknown["message"].as_str().unwrap().contains("no_such_function"), "{unknown}");
    expect_problem(app.get("/api/v1/spaces/cs/forms/account").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_scripts_end_within_a_second_while_other_writes_succeed() {
    // No operation limit, so the endless loop runs until its 400 ms deadline: long enough to
    // see other writes go through meanwhile. The other bombs hit their own limits sooner.
    let app = TestApp::spawn_configured(|config| {
        config.scripts.max_operations = 0;
        config.scripts.timeout_ms = 400;
    })
    .await;
    app.create_space("cs").await;
    app.put_form("cs", "account", &account_form()).await;
    let bombs = [
        ("loop", "loop { }", "timeout_ms"),
        ("strings", "let s = \"x\"; loop { s += s; } s", "max_string_size"),
        ("recursion", "fn f(n) { f(n + 1) } f(0)", "max_call_depth"),
        ("array", "let a = []; a.pad(10000000, 0); a.len()", "max_array_size"),
    ];
    let mut long_bombs = 0;
    for (name, expr, expected) in bombs {
        let form = format!("bomb-{name}");
        let definition = json!({
            "schema": { "type": "object", "properties": { "n": { "type": "integer" }, "out": {} } },
            "computed": { "out": expr }
        });
        app.put_form("cs", &form, &definition).await;

        let bomb_running = std::sync::atomic::AtomicBool::new(true);
        let bomb = async {
            let started = Instant::now();
            let response = app.post(&records_path("cs", &form), &json!({ "n": 1 })).await;
            bomb_running.store(false, std::sync::atomic::Ordering::SeqCst);
            (started.elapsed(), expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await)
        };
        // Writes that completed while the script was still running.
        let bystanders = async {
            let mut written_during = 0;
            while bomb_running.load(std::sync::atomic::Ordering::SeqCst) {
                app.create_record("cs", "account", &account("Bystander", "growth", 50)).await;
                if bomb_running.load(std::sync::atomic::Ordering::SeqCst) {
                    written_during += 1;
                }
            }
            written_during
        };
        let ((elapsed, problem), written_during) = tokio::join!(bomb, bystanders);
        assert!(elapsed < Duration::from_secs(1), "{name} took {elapsed:?}");
        let message = problem["errors"][0]["message"].as_str().unwrap().to_lowercase();
        // The message names the definition, the place and the limit that stopped it.
        assert!(message.contains(expected), "{name}: {message}");
        assert!(message.contains("line 1"), "{name}: {message}");
        assert!(message.contains(&format!("bomb-{name}")), "the error names the definition: {message}");
        // A write takes a few milliseconds: a script that ran a tenth of a second had room for
        // several, and they must have gone through while it ran.
        if elapsed >= Duration::from_millis(100) {
            assert!(written_during >= 2, "{name} ran {elapsed:?} and only {written_during} other writes went through");
            long_bombs += 1;
        }
    }
    assert!(long_bombs > 0, "no script ran long enough to show other writes going on meanwhile")
}
