//! Backups and restores with the real `tend` executable: a backup streamed from a running server
//! under concurrent writes, restored into a new data dir and served again (every write
//! acknowledged before the backup started is there, none is half there, pending timers fire
//! and the outbox resumes), and the archives a restore must refuse.

use engine::{FormName, SpaceName};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::*;

/// A write the server acknowledged: record id, name, version, when.
type Acknowledged = (String, String, u64, Instant);

/// Quick retries to a loopback receiver, the same on the source and the restored server.
fn delivering(config: &mut web::config::Config) {
    config.webhooks.allow_private_targets = true;
    config.webhooks.backoff_base_ms = 1_500;
    config.webhooks.backoff_max_ms = 1_500;
    config.webhooks.max_attempts = 100;
    config.webhooks.timeout_ms = 2_000;
}

/// Every record of a form, read page by page.
async fn all_records(app: &TestApp, form: &str, filter: Option<&str>) -> (Vec<Value>, BTreeSet<String>) {
    let mut items = Vec::new();
    let mut plans = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_owned())];
        query.extend(filter.map(|f| ("filter", f.to_owned())));
        query.extend(cursor.clone().map(|c| ("cursor", c)));
        let response = app.request(Method::GET, &records_path("cs", form)).query(&query).send().await.expect("list");
        plans.insert(response.headers()["tend-query-plan"].to_str().unwrap_or("").to_owned());
        let page = expect_json(response, StatusCode::OK).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, plans),
        }
    }
}

async fn wait_until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn run(command: &mut std::process::Command) -> (bool, String, String) {
    let output = command.output().expect("running tend");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn restore(archive: &Path, target: &Path) -> (bool, String, String) {
    run(tend().arg("restore").arg(archive).arg("--data-dir").arg(target))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_concurrent_writes_restores_every_acknowledged_write_timer_and_delivery() {
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let app = TestApp::spawn_configured(delivering).await;
    app.space_with_accounts("cs").await;
    // Enough data that the snapshot is read while the writers below go on.
    let rows: String = (0..3_000)
        .map(|n| {
            let tier = ["starter", "growth", "enterprise"][n % 3];
            format!("{}\n", json!({ "name": format!("imported-{n}"), "tier": tier, "health": n % 101 }))
        })
        .collect();
    let imported = app
        .request(Method::POST, "/api/v1/spaces/cs/forms/account/import")
        .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
        .body(rows)
        .send()
        .await
        .expect("import");
    assert_eq!(expect_json(imported, StatusCode::OK).await["created"], 3_000);

    // A delivery that keeps failing (so it is pending in the backup) and a timer not yet due.
    app.put_form(
        "cs",
        "signal",
        &json!({ "schema": { "type": "object", "properties": { "what": { "type": "string" } } } }),
    )
    .await;
    let tell = json!({ "trigger": { "form": "signal", "on": ["created"] },
                       "actions": [ { "notify": { "url": receiver.url("/hook"), "body": "#{ what: record.what }" } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/tell", &tell).await, StatusCode::CREATED).await;
    app.put_form(
        "cs",
        "reminder",
        &json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "remind_at": { "type": "string", "format": "date-time" } } } }),
    )
    .await;
    app.put_form(
        "cs",
        "task",
        &json!({ "schema": { "type": "object", "properties": { "title": { "type": "string" } } } }),
    )
    .await;
    let remind = json!({ "trigger": { "form": "reminder", "at": "remind_at", "offsets": ["0m"] },
                         "actions": [ { "create": { "form": "task", "data": { "title": "record.title" } } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/remind", &remind).await, StatusCode::CREATED).await;
    let due = Utc::now() + chrono::Duration::seconds(12);
    app.create_record(
        "cs",
        "reminder",
        &json!({ "title": "Call Acme", "remind_at": due.to_rfc3339_opts(SecondsFormat::Millis, true) }),
    )
    .await;
    app.create_record("cs", "signal", &json!({ "what": "renewal" })).await;
    wait_until(Duration::from_secs(10), "the timer is scheduled and the delivery failed once", || async {
        !receiver.hits().is_empty() && app.engine.pending_timers() == 1
    })
    .await;

    // Writers create and update accounts, recording when each write was acknowledged.
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, base, token) = (app.client.clone(), app.url(""), app.token.clone());
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("written-{writer}-{n}");
                let created = client
                    .post(format!("{base}{}", records_path("cs", "account")))
                    .bearer_auth(&token)
                    .json(&account(&name, "growth", 50))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(created.status(), StatusCode::CREATED);
                let record: Value = created.json().await.expect("record");
                let id = record["id"].as_str().expect("id").to_owned();
                let mut version = 1;
                if n % 2 == 0 {
                    let patched = client
                        .patch(format!("{base}{}/{id}", records_path("cs", "account")))
                        .bearer_auth(&token)
                        .json(&json!({ "health": 10, "tier": "enterprise" }))
                        .send()
                        .await
                        .expect("patch");
                    assert_eq!(patched.status(), StatusCode::OK);
                    version = 2;
                }
                acknowledged.lock().unwrap().push((id, name, version, Instant::now()));
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let work = TempDir::new().expect("temp dir");
    let archive = work.path().join("backup.tend");
    let backup_started = Instant::now();
    let (ok, stdout, stderr) = {
        let mut command = tend();
        command.arg("backup").arg("--out").arg(&archive).args(["--server", &app.url("")]).env("TEND_TOKEN", &app.token);
        tokio::task::spawn_blocking(move || run(&mut command)).await.expect("backup task")
    };
    assert!(ok, "tend backup failed: {stderr}");
    assert!(stdout.contains("Backed up"), "{stdout}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<_> = acknowledged.iter().filter(|(.., at)| *at < backup_started).collect();
    let after = acknowledged.len() - before.len();
    assert!(!before.is_empty() && after > 0, "writes before ({}) and during/after ({after}) the backup", before.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).expect("archive").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the archive is private to its owner");
    }
    assert!(!work.path().join("backup.tend.partial").exists());
    let token = app.token.clone();
    app.stop().await;

    // Restore into a new directory and serve it.
    let restored_dir = Arc::new(TempDir::new().expect("temp dir"));
    let (ok, stdout, stderr) = restore(&archive, restored_dir.path());
    assert!(ok, "tend restore failed: {stderr}");
    assert!(stdout.contains("Restored"), "{stdout}");
    receiver.set(Behaviour::Succeed);
    let hits_before = receiver.hits().len();
    let restored = TestApp::spawn_with(restored_dir, Some(token), delivering).await;

    // Every write acknowledged before the backup started is there, with all its events.
    for (id, name, version, _) in &before {
        let record =
            expect_json(restored.get(&format!("{}/{id}", records_path("cs", "account"))).await, StatusCode::OK).await;
        assert_eq!(record["data"]["name"], *name);
        assert!(record["version"].as_u64() >= Some(*version), "{name}: version {} < {version}", record["version"]);
    }
    // Nothing is half there: every record has the events of its version, and each indexed
    // query finds exactly the records a scan finds.
    let (accounts, _) = all_records(&restored, "account", None).await;
    assert!(accounts.len() >= 3_000 + before.len());
    for record in accounts.iter().filter(|r| r["data"]["name"].as_str().is_some_and(|n| n.starts_with("written-"))) {
        let history = expect_json(
            restored
                .get(&format!("{}/{}/history", records_path("cs", "account"), record["id"].as_str().unwrap()))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            history["items"].as_array().map(Vec::len),
            record["version"].as_u64().map(|v| v as usize),
            "{record}"
        );
    }
    let mut by_tier: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in &accounts {
        by_tier
            .entry(record["data"]["tier"].as_str().unwrap().to_owned())
            .or_default()
            .insert(record["id"].as_str().unwrap().to_owned());
    }
    for (tier, ids) in &by_tier {
        let (found, plans) = all_records(&restored, "account", Some(&format!("tier = \"{tier}\""))).await;
        let found: BTreeSet<String> = found.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(&found, ids, "tier {tier} through {plans:?}");
    }
    let low = all_records(&restored, "account", Some("health = 10")).await.0.len();
    let scanned = accounts.iter().filter(|r| r["data"]["health"] == 10).count();
    assert_eq!(low, scanned, "the health index agrees with the records");

    // The pending delivery is sent from the restored server, and the timer fires there.
    wait_until(Duration::from_secs(20), "the restored server delivers the pending webhook", || async {
        receiver.hits().len() > hits_before
    })
    .await;
    let hit = &receiver.hits()[hits_before];
    assert_eq!(serde_json::from_slice::<Value>(&hit.body).expect("body")["what"], "renewal");
    wait_until(Duration::from_secs(30), "the restored server fires the pending timer", || async {
        let tasks = expect_json(restored.get(&records_path("cs", "task")).await, StatusCode::OK).await;
        tasks["items"].as_array().is_some_and(|items| items.len() == 1)
    })
    .await;
}

#[tokio::test]
async fn restore_refuses_damaged_truncated_foreign_and_newer_archives_and_a_non_empty_dir() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for n in 0..20 {
        app.create_record("cs", "account", &account(&format!("a{n}"), "growth", 70)).await;
    }
    let unauthenticated = app.client.post(app.url("/api/v1/backup")).send().await.expect("post");
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let response = app.request(Method::POST, "/api/v1/backup").send().await.expect("backup");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"tend-backup-"), "{disposition}");
    let bytes = response.bytes().await.expect("archive").to_vec();
    let (dir, _) = app.stop().await;

    let work = TempDir::new().expect("temp dir");
    let write = |name: &str, content: &[u8]| {
        let path = work.path().join(name);
        std::fs::write(&path, content).expect("write");
        path
    };
    let target = work.path().join("target");
    let refused = |archive: &Path, expected: &str| {
        let (ok, _, stderr) = restore(archive, &target);
        assert!(!ok, "{} was restored", archive.display());
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
        assert!(!target.exists(), "nothing was written for {}", archive.display());
    };
    // A byte of a record's data, not of the framing: a damaged entry length can read as a file
    // cut short, which the reader can't tell from one.
    let mut flipped = bytes.clone();
    let data_byte = bytes
        .windows(b"growth".len())
        .position(|window| window == b"growth")
        .expect("the accounts' data is in the archive");
    flipped[data_byte] ^= 0x01;
    refused(&write("flipped.tend", &flipped), "damaged");
    refused(&write("truncated.tend", &bytes[..bytes.len() * 2 / 3]), "truncated");
    refused(&write("accounts.csv", b"name,tier\nAcme,growth\n"), "is not a Tend backup");
    let mut newer = bytes.clone();
    newer[engine::backup::MAGIC.len() + 3] = 9;
    refused(&write("newer.tend", &newer), "newer Tend");

    let good = write("good.tend", &bytes);
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("notes.txt"), b"keep me").expect("write");
    let (ok, _, stderr) = restore(&good, &target);
    assert!(!ok && stderr.contains("is not empty"), "{stderr}");
    assert_eq!(std::fs::read(target.join("notes.txt")).expect("kept"), b"keep me");

    // With the server stopped, `tend backup` reads the data dir itself.
    let direct = work.path().join("direct.tend");
    let (ok, stdout, stderr) =
        run(tend().arg("backup").arg("--out").arg(&direct).arg("--data-dir").arg(dir.path()).env_remove("TEND_TOKEN"));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Backed up"), "{stdout}");
    let fresh = work.path().join("fresh");
    let (ok, _, stderr) = restore(&direct, &fresh);
    assert!(ok, "{stderr}");
    let engine = engine::Engine::open(engine::EngineConfig::new(&fresh)).expect("open restored");
    let page = engine
        .list_records(
            &engine::Access::unrestricted(),
            &SpaceName::from_static("cs"),
            &FormName::from_static("account"),
            &engine::ListQuery::default(),
        )
        .expect("list");
    assert_eq!(page.items.len(), 20);
    engine.close().expect("close");
}
