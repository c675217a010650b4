//! kill -9 while the outbox delivers: after a restart every delivery ends `delivered`, the
//! receiver saw every `webhook-id`, and the duplicates stay within the documented window (at
//! most `max_in_flight` per crash: sent, answered 2xx, not yet recorded).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::workflows::DeliveryStatus;
use engine::{Access, Engine, EngineConfig, EventKind, FormName, SpaceName};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const DELIVERIES: usize = 2_000;
const MAX_IN_FLIGHT: usize = 64;

/// Space `cs` with the account form, a `counter` endpoint at `receiver`, and the `tell`
/// workflow that notifies it of every account created (with the account's name).
async fn announce_accounts(client: &reqwest::Client, base: &str, token: &str, receiver: &Receiver) {
    let put = |path: &str, body: Value| client.put(format!("{base}{path}")).bearer_auth(token).json(&body).send();
    let created = client.post(format!("{base}/api/v1/spaces")).bearer_auth(token).json(&json!({ "name": "cs" }));
    assert_eq!(created.send().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(put("/api/v1/spaces/cs/forms/account", account_form()).await.unwrap().status(), StatusCode::CREATED);
    let endpoint = put("/api/v1/spaces/cs/webhooks/counter", json!({ "url": receiver.url("/count") })).await.unwrap();
    assert_eq!(endpoint.status(), StatusCode::CREATED);
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                           "actions": [ { "notify": { "webhook": "counter", "body": "#{ name: record.name }" } } ] });
    assert_eq!(put("/api/v1/spaces/cs/workflows/tell", workflow).await.unwrap().status(), StatusCode::CREATED);
}

async fn count_records(client: &reqwest::Client, base: &str, token: &str) -> usize {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}{}?limit=1000", records_path("cs", "account"));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        count += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return count,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_2000_deliveries_loses_none_and_bounds_duplicates() {
    let receiver = Receiver::start(Behaviour::Succeed).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tend.toml"),
        format!("[webhooks]\nallow_private_targets = true\nbackoff_base_ms = 50\nbackoff_max_ms = 500\nmax_in_flight = {MAX_IN_FLIGHT}\n"),
    )
    .unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let base = server.base.clone();
    announce_accounts(&client, &base, &token, &receiver).await;

    // Writers create the accounts (one delivery each) while the worker delivers; the server is
    // killed once deliveries are flowing.
    let next = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, next) = (base.clone(), token.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= DELIVERIES {
                        return;
                    }
                    let request = client.post(format!("{base}{}", records_path("cs", "account")));
                    let sent = request.bearer_auth(&token).json(&account(&format!("a{n}"), "growth", 50)).send().await;
                    if !sent.is_ok_and(|r| r.status() == StatusCode::CREATED) {
                        // The server is gone: put the number back for after the restart.
                        next.fetch_sub(1, Ordering::SeqCst);
                        return;
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.hits().len() < DELIVERIES / 4 {
        assert!(Instant::now() < deadline, "deliveries did not start: {} hits", receiver.hits().len());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    let hits_at_crash = receiver.hits().len();
    for writer in writers {
        writer.await.unwrap();
    }
    {
        // A backlog at the kill: events not processed or deliveries not delivered.
        let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
        let unprocessed = engine.last_event_seq() - engine.processor_position().unwrap();
        let undelivered = engine.deliveries().unwrap().iter().filter(|d| d.status != DeliveryStatus::Delivered).count();
        assert!(unprocessed > 0 || undelivered > 0, "nothing was pending at the kill");
        engine.close().unwrap();
    }

    // After the restart the rest of the accounts are written and everything is delivered.
    let restarted = ServerProcess::start(dir.path());
    let base = restarted.base.clone();
    let client = reqwest::Client::new();
    let records = count_records(&client, &base, &token).await;
    for n in records..DELIVERIES {
        let response = client
            .post(format!("{base}{}", records_path("cs", "account")))
            .bearer_auth(&token)
            .json(&account(&format!("b{n}"), "growth", 50))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for hit in receiver.hits() {
            *seen.entry(hit.header("webhook-id")).or_default() += 1;
        }
        if seen.len() >= DELIVERIES {
            break seen;
        }
        assert!(Instant::now() < deadline, "the receiver saw {} of {DELIVERIES} deliveries", seen.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Let the last outcomes be recorded, then look at the store itself.
    let pending_deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = format!("{base}/api/v1/spaces/cs/deliveries?status=pending&limit=1");
        let page: Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let url = format!("{base}/api/v1/spaces/cs/deliveries?status=delivering&limit=1");
        let busy: Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if page["items"].as_array().unwrap().is_empty() && busy["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < pending_deadline, "deliveries still pending: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    restarted.kill9();

    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let accounts = engine
        .events_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Created && e.form.as_ref().is_some_and(|f| f.as_str() == "account"))
        .count();
    let deliveries = engine.deliveries().unwrap();
    assert_eq!(accounts, DELIVERIES);
    assert_eq!(deliveries.len(), DELIVERIES, "one delivery per account, none lost, none doubled");
    for delivery in &deliveries {
        assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
        assert!(seen.contains_key(&delivery.id.to_string()), "the receiver never saw {}", delivery.id);
    }
    // No extras: the receiver saw exactly the stored ids, each time with the stored body.
    let stored: HashMap<String, Value> = deliveries.iter().map(|d| (d.id.to_string(), d.body.clone())).collect();
    assert_eq!(seen.len(), stored.len(), "the receiver saw ids the store does not hold");
    for hit in receiver.hits() {
        let id = hit.header("webhook-id");
        let body: Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(stored.get(&id), Some(&body), "{id} was sent with the body stored for it");
    }
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!("{DELIVERIES} deliveries; {hits_at_crash} hits before the kill; {duplicates} duplicates after it");
    assert!(duplicates <= MAX_IN_FLIGHT, "{duplicates} duplicates, more than max_in_flight = {MAX_IN_FLIGHT}");
    engine.close().unwrap();
}

/// A crash after the processor's batch is applied and before it is flushed (a controlled
/// crash point, not a SIGKILL landing anywhere): nothing of that batch may have left, since the
/// run is redone after the restart. Before, the worker read the applied, unflushed outbox rows
/// and sent them, and the redone runs sent them again under new ids. Checks the backlog at the
/// crash, and after the restart exactly one hit per delivery, with the ids and bodies the
/// store holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_leave_only_once_the_batch_that_wrote_them_is_durable() {
    const ACCOUNTS: usize = 20;
    let receiver = Receiver::start(Behaviour::Succeed).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tend.toml"), "[webhooks]\nallow_private_targets = true\n").unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let base = server.base.clone();
    announce_accounts(&client, &base, &token, &receiver).await;
    assert!(server.terminate(), "graceful stop");

    // The backlog: accounts written while no processor runs.
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let actor = engine::Actor("ops".into());
    for n in 0..ACCOUNTS {
        let data = account(&format!("a{n}"), "growth", 50);
        engine
            .create_record(
                &actor,
                &Access::unrestricted(),
                &SpaceName::from_static("cs"),
                &FormName::from_static("account"),
                data,
            )
            .await
            .unwrap();
    }
    let backlog = engine.last_event_seq() - engine.processor_position().unwrap();
    assert!(backlog >= ACCOUNTS as u64, "a backlog of {backlog} events at the crash");
    engine.close().unwrap();
    drop(engine);

    // The processor plans the backlog into one batch with its deliveries; the process aborts
    // after applying it, before the flush.
    let mut crashing = tend();
    crashing.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"]).arg(dir.path());
    let mut child = crashing
        .env(engine::CRASH_POINT_VAR, "outbox-applied")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the crash point ended the server: {status}");
    assert_eq!(receiver.hits().len(), 0, "nothing left before its batch was durable");

    let restarted = ServerProcess::start(dir.path());
    receiver.wait_for(ACCOUNTS, Duration::from_secs(60)).await;
    let pending_deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = format!("{}/api/v1/spaces/cs/deliveries?status=delivered&limit=100", restarted.base);
        let page: Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if page["items"].as_array().unwrap().len() == ACCOUNTS {
            break;
        }
        assert!(Instant::now() < pending_deadline, "deliveries not all delivered: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(restarted.terminate(), "graceful stop");

    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let mut stored: Vec<(String, Value)> =
        engine.deliveries().unwrap().into_iter().map(|d| (d.id.to_string(), d.body)).collect();
    let mut sent: Vec<(String, Value)> = receiver
        .hits()
        .iter()
        .map(|hit| (hit.header("webhook-id"), serde_json::from_slice(&hit.body).unwrap()))
        .collect();
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(sent, stored, "each delivery sent once, with its id and body");
    let mut names: Vec<String> = stored.iter().map(|(_, body)| body["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = (0..ACCOUNTS).map(|n| format!("a{n}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    engine.close().unwrap();
}
