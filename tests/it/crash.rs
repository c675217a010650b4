//! kill -9 while clients write: after a restart, every write that got a 2xx is there, and the
//! event log holds exactly one event per acknowledged write, gapless, without duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::{Access, Engine, EngineConfig, FormName, SpaceName};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// What the clients were told succeeded: record id → (version, data) of the last acked write.
/// Each record is written by one client only, so acks of one record arrive in order.
type Acked = Arc<Mutex<HashMap<String, (u64, Value)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_loses_no_acknowledged_write() {
    let rounds = if std::env::var_os("TEND_SLOW_TESTS").is_some() { 10 } else { 3 };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    assert_eq!(post("/api/v1/spaces", json!({ "name": "cs" })).await.unwrap().status(), StatusCode::CREATED);
    let form = client
        .put(format!("{base}/api/v1/spaces/cs/forms/account"))
        .bearer_auth(&token)
        .json(&account_form())
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::CREATED);

    let acked: Acked = Arc::default();
    let mut server = Some(server);
    for round in 0..rounds {
        let running = server.take().unwrap_or_else(|| ServerProcess::start(dir.path()));
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                tokio::spawn(write_until_refused(
                    running.base.clone(),
                    token.clone(),
                    writer,
                    round,
                    Arc::clone(&acked),
                ))
            })
            .collect();
        let acked_before = acked.lock().unwrap().len();
        if round % 2 == 0 {
            let delay = rand::thread_rng().gen_range(300..1200);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            running.kill9();
        } else {
            // The next start aborts where a batch is applied and not yet flushed.
            aborted(running).await;
        }
        for writer in writers {
            writer.await.unwrap();
        }
        assert!(acked.lock().unwrap().len() > acked_before, "writes were flowing at the kill of round {round}");
        if round % 2 == 0 && round + 1 < rounds {
            let fault = format!("committer-applied:{}", 40 + 30 * round);
            server = Some(ServerProcess::start_with_env(dir.path(), &[(engine::FAULT_VAR, &fault)]));
        }
    }

    // Every acknowledged write is readable after a restart...
    let restarted = ServerProcess::start(dir.path());
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "the clients got few writes through ({}), the test proves little", acked.len());
    for (id, (version, data)) in &acked {
        let response = client
            .get(format!("{}{}/{id}", restarted.base, records_path("cs", "account")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let record = expect_json(response, StatusCode::OK).await;
        // A write can be durable yet unacknowledged (killed between flush and response), so a
        // record may be ahead of what its client saw, never behind.
        let stored_version = record["version"].as_u64().unwrap();
        assert!(stored_version >= *version, "{id}: acknowledged v{version}, found v{stored_version}");
        if stored_version == *version {
            assert_eq!(&record["data"], data, "{id}");
        }
    }
    restarted.kill9();

    // ...and the event log has one event per acknowledged write: gapless, no duplicates.
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let events = engine.events_after(0, usize::MAX).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "sequence numbers are gapless");
    let mut seen = HashSet::new();
    for event in &events {
        assert!(seen.insert((event.record, event.version)), "duplicate event for {} v{}", event.record, event.version);
    }
    for (id, (version, _)) in &acked {
        let id = uuid::Uuid::parse_str(id).unwrap();
        for v in 1..=*version {
            assert!(seen.contains(&(id, v)), "acknowledged write {id} v{v} has no event");
        }
    }
    engine.close().unwrap();
}

/// Waits for a server started with a `TEND_FAULT` kill point to abort there.
async fn aborted(mut server: ServerProcess) {
    use std::os::unix::process::ExitStatusExt as _;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the kill point was never reached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(status.signal(), Some(6), "aborted at the kill point: {status}");
}

/// Creates records and updates them until the server stops answering; records what was acked.
async fn write_until_refused(base: String, token: String, writer: usize, round: usize, acked: Acked) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let records = format!("{base}{}", records_path("cs", "account"));
    let mut mine: Vec<String> = Vec::new();
    for n in 0.. {
        if n % 4 == 3 && !mine.is_empty() {
            let id = &mine[n % mine.len()];
            let Some(record) = patch_acknowledged(&client, &format!("{records}/{id}"), &token, n % 101).await else {
                return;
            };
            acked.lock().unwrap().insert(id.clone(), (record["version"].as_u64().unwrap(), record["data"].clone()));
        } else {
            let data = account(&format!("w{writer}-r{round}-{n}"), "growth", (n % 101) as i64);
            let Ok(response) = client.post(&records).bearer_auth(&token).json(&data).send().await else { return };
            if response.status() != StatusCode::CREATED {
                return;
            }
            let Ok(record) = response.json::<Value>().await else { return };
            let id = record["id"].as_str().unwrap().to_owned();
            acked.lock().unwrap().insert(id.clone(), (1, record["data"].clone()));
            mine.push(id);
        }
    }
}

/// kill -9 while updates trigger a workflow: after restart the processor catches up, and every
/// triggering event has exactly one run, one created note and one outbox delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_workflow_runs_repeats_and_loses_no_effect() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        client.request(method, format!("{base}{path}")).bearer_auth(&token).json(&body).send()
    };
    send(reqwest::Method::POST, "/api/v1/spaces", json!({ "name": "cs" })).await.unwrap();
    send(reqwest::Method::PUT, "/api/v1/spaces/cs/forms/account", account_form()).await.unwrap();
    let note = json!({ "schema": { "type": "object", "properties": {
        "account": { "type": "string" }, "seq": { "type": "integer" }, "health": { "type": "integer" } } } });
    send(reqwest::Method::PUT, "/api/v1/spaces/cs/forms/note", note).await.unwrap();
    let audit = json!({
        "trigger": { "form": "account", "on": ["updated"] },
        "actions": [
            { "create": { "form": "note", "data": { "account": "record.id", "seq": "event.seq", "health": "record.health" } } },
            { "notify": { "url": "http://127.0.0.1:9/audit", "body": "#{ seq: event.seq }" } }
        ]
    });
    let response = send(reqwest::Method::PUT, "/api/v1/spaces/cs/workflows/audit", audit).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let mut ids = Vec::new();
    for i in 0..20 {
        let response =
            send(reqwest::Method::POST, &records_path("cs", "account"), account(&format!("A{i}"), "growth", 50))
                .await
                .unwrap();
        ids.push(expect_json(response, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned());
    }

    let acked: Acked = Arc::default();
    let mut server = Some(server);
    for round in 0..3 {
        // The first round ends with a SIGKILL anywhere; the others abort where the processor
        // has planned a batch of runs and committed none of it.
        let running = server.take().unwrap_or_else(|| {
            let fault = format!("processor-batch:{}", 40 + 40 * round);
            ServerProcess::start_with_env(dir.path(), &[(engine::FAULT_VAR, &fault)])
        });
        let writers: Vec<_> = (0..8)
            .map(|w| {
                tokio::spawn(patch_until_refused(
                    running.base.clone(),
                    token.clone(),
                    ids.clone(),
                    w + 8 * round,
                    Arc::clone(&acked),
                ))
            })
            .collect();
        if round == 0 {
            // Runs until its share of the updates is acknowledged, then a little longer by
            // chance, so the kill lands mid-stream however fast the machine is.
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().unwrap().len() < 350 {
                assert!(Instant::now() < deadline, "updates stalled before the kill");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(0..200))).await;
            running.kill9();
        } else {
            aborted(running).await;
        }
        for writer in writers {
            writer.await.unwrap();
        }
        if round > 0 {
            let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
            let backlog = engine.last_event_seq() - engine.processor_position().unwrap();
            assert!(backlog > 0, "events were waiting for the processor at the kill of round {round}");
            engine.close().unwrap();
        }
    }
    let acknowledged = acked.lock().unwrap().len();
    assert!(acknowledged >= 500, "{acknowledged} acknowledged updates");

    // The restarted server's processor catches up by itself.
    let restarted = ServerProcess::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = client.get(format!("{}/metrics", restarted.base)).send().await.unwrap().text().await.unwrap();
        let lag = metrics.lines().find_map(|l| l.strip_prefix("tend_workflow_processor_lag_events ")).map(str::trim);
        if lag == Some("0") {
            break;
        }
        assert!(Instant::now() < deadline, "the processor did not catch up: lag {lag:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    restarted.kill9();

    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    assert_eq!(engine.processor_position().unwrap(), engine.last_event_seq(), "nothing left to process");
    let updates: Vec<u64> = engine
        .events_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.form.as_ref().is_some_and(|f| f.as_str() == "account") && e.kind == engine::EventKind::Updated)
        .map(|e| e.seq)
        .collect();
    assert!(updates.len() >= acked.lock().unwrap().len(), "every acknowledged update is in the log");

    let (runs, more) = engine
        .runs(
            &Access::unrestricted(),
            &SpaceName::from_static("cs"),
            &engine::workflows::RunFilter::default(),
            1_000_000,
            None,
        )
        .unwrap();
    assert!(!more);
    let mut run_events: Vec<u64> = runs.iter().map(|r| r.event).collect();
    run_events.sort_unstable();
    assert_eq!(run_events, updates, "exactly one run per triggering event");
    assert!(runs.iter().all(|r| r.status == engine::workflows::RunStatus::Succeeded));

    let mut note_seqs = Vec::new();
    let mut cursor = None;
    loop {
        let query = engine::ListQuery { limit: Some(1000), cursor, ..Default::default() };
        let page = engine
            .list_records(
                &Access::unrestricted(),
                &SpaceName::from_static("cs"),
                &FormName::from_static("note"),
                &query,
            )
            .unwrap();
        note_seqs.extend(page.items.iter().map(|n| n.data["seq"].as_u64().unwrap()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    note_seqs.sort_unstable();
    assert_eq!(note_seqs, updates, "exactly one note per triggering event");
    let mut delivered: Vec<u64> =
        engine.deliveries().unwrap().iter().map(|d| d.body["seq"].as_u64().unwrap()).collect();
    delivered.sort_unstable();
    assert_eq!(delivered, updates, "exactly one outbox delivery per triggering event");
    engine.close().unwrap();
}

/// Patches the accounts' health until the server stops answering; records acked versions.
async fn patch_until_refused(base: String, token: String, ids: Vec<String>, writer: usize, acked: Acked) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for n in 0.. {
        let id = &ids[(writer * 7 + n) % ids.len()];
        let url = format!("{base}{}/{id}", records_path("cs", "account"));
        let Some(record) = patch_acknowledged(&client, &url, &token, (writer * 13 + n) % 101).await else {
            return;
        };
        acked.lock().unwrap().insert(format!("{id}@{}", record["version"]), (0, Value::Null));
    }
}

/// Sets a record's health; the record as answered, or `None` once the server stops answering.
async fn patch_acknowledged(client: &reqwest::Client, url: &str, token: &str, health: usize) -> Option<Value> {
    let response = client
        .patch(url)
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "health": health }).to_string())
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    response.json::<Value>().await.ok()
}
