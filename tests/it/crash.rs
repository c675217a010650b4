//! kill -9 while clients write: after a restart, every write that got a 2xx is there, and the
//! event log holds exactly one event per acknowledged write, gapless, without duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::{Engine, EngineConfig};
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
        let delay = rand::thread_rng().gen_range(300..1200);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        running.kill9();
        for writer in writers {
            writer.await.unwrap();
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

/// Creates records and updates them until the server stops answering; records what was acked.
async fn write_until_refused(base: String, token: String, writer: usize, round: usize, acked: Acked) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let records = format!("{base}{}", records_path("cs", "account"));
    let mut mine: Vec<String> = Vec::new();
    for n in 0.. {
        if n % 4 == 3 && !mine.is_empty() {
            let id = &mine[n % mine.len()];
            let patch = json!({ "health": n % 101 });
            let Ok(response) = client
                .patch(format!("{records}/{id}"))
                .bearer_auth(&token)
                .header("content-type", "application/merge-patch+json")
                .body(patch.to_string())
                .send()
                .await
            else {
                return;
            };
            if response.status() != StatusCode::OK {
                return;
            }
            let Ok(record) = response.json::<Value>().await else { return };
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
