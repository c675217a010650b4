//! Storage that fails under a running server (a full disk) and data dirs damaged on disk.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// A client of a `tend serve` child process.
struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    fn new(server: &ServerProcess, token: &str) -> Client {
        Client { base: server.base.clone(), token: token.to_owned(), http: reqwest::Client::new() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("the server answers")
    }

    async fn readiness(&self) -> (StatusCode, String) {
        let response = self.http.get(format!("{}/readyz", self.base)).send().await.expect("the server answers");
        (response.status(), response.text().await.unwrap_or_default())
    }
}

/// A full disk (flushes failing with ENOSPC, injected through `TEND_FAULT`): writes are
/// refused with 503, acknowledged records stay readable, `/readyz` says not ready; once space
/// returns the server takes writes again by itself, and a graceful stop flushes and exits 0.
#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let switch_dir = tempfile::tempdir().unwrap();
    let disk_full = switch_dir.path().join("disk-full");
    let fault = format!("flush-enospc:{}", disk_full.display());
    let server = ServerProcess::start_with_env(dir.path(), &[("TEND_FAULT", &fault)]);
    let token = server.token.clone().expect("a first admin token");
    let client = Client::new(&server, &token);
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    expect_json(client.send(post.clone(), "/api/v1/spaces", Some(&json!({ "name": "cs" }))).await, StatusCode::CREATED)
        .await;
    let form = account_form();
    let stored = client.send(reqwest::Method::PUT, "/api/v1/spaces/cs/forms/account", Some(&form)).await;
    expect_json(stored, StatusCode::CREATED).await;
    let accounts = records_path("cs", "account");
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let body = account(&format!("Before {i}"), "growth", i);
        let created = expect_json(client.send(post.clone(), &accounts, Some(&body)).await, StatusCode::CREATED).await;
        acknowledged.push(created["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(client.readiness().await.0, StatusCode::OK);

    std::fs::write(&disk_full, b"").unwrap();
    for i in 0..3 {
        let body = account(&format!("Refused {i}"), "growth", 1);
        let refused = client.send(post.clone(), &accounts, Some(&body)).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE, "{}", refused.text().await.unwrap());
    }
    let (status, body) = client.readiness().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("no space left on device"), "{body}");
    for id in &acknowledged {
        let read = client.send(get.clone(), &format!("{accounts}/{id}"), None).await;
        expect_json(read, StatusCode::OK).await;
    }
    let listed =
        expect_json(client.send(get.clone(), &format!("{accounts}?limit=100"), None).await, StatusCode::OK).await;
    let listed: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in &acknowledged {
        assert!(listed.contains(&id.as_str()), "{id} is listed while the disk is full");
    }
    // Still full a while later: still not ready, still no writes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(client.readiness().await.0, StatusCode::SERVICE_UNAVAILABLE);

    std::fs::remove_file(&disk_full).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.readiness().await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "not ready again after space returned: {:?}", client.readiness().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = account("After", "growth", 1);
    let after = expect_json(client.send(post.clone(), &accounts, Some(&body)).await, StatusCode::CREATED).await;
    acknowledged.push(after["id"].as_str().unwrap().to_owned());
    assert!(server.terminate(), "a graceful stop flushes and exits 0 once space returned");

    let server = ServerProcess::start(dir.path());
    let client = Client::new(&server, &token);
    for id in &acknowledged {
        expect_json(client.send(get.clone(), &format!("{accounts}/{id}"), None).await, StatusCode::OK).await;
    }
    assert_eq!(client.readiness().await.0, StatusCode::OK);
}

/// Damaged data files (one cut short, garbage written over part of one, a torn format
/// file) end `tend serve` with one line saying the database is damaged and how to restore it,
/// and a non-zero exit: never a panic or a backtrace. Damage the open does not see (the engine
/// keeps the consistent prefix of its log, and reads a segment's blocks only when a query needs
/// them) may start the server instead; then every record reads back or answers a server error
/// as a problem document, and the server goes on serving.
#[tokio::test]
async fn damaged_data_files_are_reported_in_one_line_without_a_panic() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let path = records_path("cs", "account");
    let bodies: Vec<Value> =
        (0..600).map(|i| account(&format!("Account {i} {}", "x".repeat(5_000)), "growth", i % 100)).collect();
    let mut ids = Vec::new();
    for created in futures::future::join_all(bodies.iter().map(|body| app.post(&path, body))).await {
        ids.push(expect_json(created, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned());
    }
    let (data_dir, token) = app.stop().await;
    let client = reqwest::Client::new();
    // The file the records are in, and the small file that says its format: sled's log (`db`);
    // fjall's largest segment, since a clean stop writes fjall's memtables out to segments and
    // leaves its journal all but empty.
    let (damaged, format_file) = if data_dir.path().join("kv").exists() {
        let mut segments: Vec<_> = walk_files(&data_dir.path().join("kv/partitions"))
            .into_iter()
            .filter(|file| file.parent().is_some_and(|dir| dir.ends_with("segments")))
            .collect();
        segments.sort_by_key(|segment| std::fs::metadata(segment).map(|m| m.len()).unwrap_or(0));
        (segments.pop().unwrap().strip_prefix(data_dir.path()).unwrap().to_owned(), "kv/version")
    } else {
        (std::path::PathBuf::from("db"), "conf")
    };
    // A file may be allocated ahead: the written part ends at the last byte that isn't zero.
    let written = std::fs::read(data_dir.path().join(&damaged)).unwrap();
    let db_len = written.iter().rposition(|byte| *byte != 0).map_or(0, |last| last + 1) as u64;

    type Damage = Box<dyn Fn(&std::path::Path)>;
    let truncate = |fraction: f64| -> Damage {
        let damaged = damaged.clone();
        Box::new(move |dir: &std::path::Path| {
            let file = std::fs::OpenOptions::new().write(true).open(dir.join(&damaged)).unwrap();
            file.set_len((db_len as f64 * fraction) as u64).unwrap();
        })
    };
    let overwrite = |fraction: f64| -> Damage {
        let damaged = damaged.clone();
        Box::new(move |dir: &std::path::Path| {
            use std::io::{Seek as _, Write as _};
            let mut file = std::fs::OpenOptions::new().write(true).open(dir.join(&damaged)).unwrap();
            file.seek(std::io::SeekFrom::Start((db_len as f64 * fraction) as u64)).unwrap();
            file.write_all(&vec![0xA5; 64 * 1024]).unwrap();
        })
    };
    let cases: Vec<(&str, Damage)> = vec![
        (
            "format file torn",
            Box::new(move |dir: &std::path::Path| std::fs::write(dir.join(format_file), b"segment_si").unwrap()),
        ),
        ("data file cut at 40%", truncate(0.4)),
        ("data file cut at 60%", truncate(0.6)),
        ("data file cut at 80%", truncate(0.8)),
        ("data file cut at 95%", truncate(0.95)),
    ];
    // Where garbage lands decides whether the engine notices it (a torn tail is recovered silently),
    // so it is written at many places: some of them must be refused.
    let garbage: Vec<(String, Damage)> =
        (1..10).map(|tenth| (format!("garbage at {}0%", tenth), overwrite(f64::from(tenth) / 10.0))).collect();
    let cases: Vec<(&str, &Damage)> = cases
        .iter()
        .map(|(damage, apply)| (*damage, apply))
        .chain(garbage.iter().map(|(damage, apply)| (damage.as_str(), apply)))
        .collect();
    let mut refused = Vec::new();
    for (damage, apply) in cases {
        let copy = tempfile::tempdir().unwrap();
        for entry in walk_files(data_dir.path()) {
            let target = copy.path().join(entry.strip_prefix(data_dir.path()).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &target).unwrap();
        }
        apply(copy.path());
        let (status, stderr) = match ServerProcess::try_start(copy.path()) {
            Err(exited) => exited,
            Ok(server) => {
                // Damage the open did not see: every record is read back, or answered with a
                // server error as a problem document, and the server goes on serving. Which
                // error depends on where in a block the garbage lands, and so on the bytes of
                // the run's records: most often the block can't be decoded (a problem that says
                // the files are damaged); less often fjall asserts on a header (a panic, answered
                // as an internal error) or hands out a value cut short.
                let (mut failed, mut said_damaged) = (0, 0);
                for id in &ids {
                    let read = client.get(format!("{}{path}/{id}", server.base)).bearer_auth(&token).send().await;
                    let read = read.unwrap_or_else(|err| panic!("{damage}: reading {id} got no answer: {err}"));
                    if read.status() != StatusCode::OK {
                        assert_eq!(read.status(), StatusCode::INTERNAL_SERVER_ERROR, "{damage}: {id}");
                        let kind = read.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
                        assert_eq!(kind.as_deref(), Some("application/problem+json"), "{damage}: {id}");
                        let problem: Value = read.json().await.unwrap();
                        if problem["type"] == "urn:tend:problem:storage-damaged" {
                            let detail = problem["detail"].as_str().unwrap_or_default();
                            assert!(detail.contains("damaged") && detail.contains("restore"), "{damage}: {detail}");
                            said_damaged += 1;
                        }
                        failed += 1;
                    }
                }
                let health = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
                assert_eq!(health.status(), StatusCode::OK, "{damage}: the server goes on after the reads");
                eprintln!(
                    "{damage}: the server started; {failed} of {} records answered an error, {said_damaged} of them storage-damaged",
                    ids.len()
                );
                continue;
            }
        };
        assert!(!status.success(), "{damage}: a failed start exits non-zero");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{damage}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{damage}: one error line: {stderr}");
        assert!(errors[0].contains("is damaged") && errors[0].contains("restore"), "{damage}: {}", errors[0]);
        refused.push(damage);
    }
    assert!(refused.contains(&"format file torn"), "{refused:?}");
    assert!(refused.len() >= 2, "garbage inside the data file is refused too: {refused:?}");
}

/// Every file under `dir`.
fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `/readyz` says the workflow processor cannot go on while a pass fails (here: the storage
/// its runs commit to), and answers ready again, with the run committed once, when it can.
#[tokio::test]
async fn readiness_names_a_stalled_processor_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    // A `when` that counts for a while, so the disk fills while the processor is planning.
    std::fs::write(dir.path().join("tend.toml"), "[scripts]\nmax_operations = 0\ntimeout_ms = 20000\n").unwrap();
    let switch_dir = tempfile::tempdir().unwrap();
    let disk_full = switch_dir.path().join("disk-full");
    let fault = format!("flush-enospc:{}", disk_full.display());
    let server = ServerProcess::start_with_env(dir.path(), &[("TEND_FAULT", &fault)]);
    let token = server.token.clone().expect("a first admin token");
    let client = Client::new(&server, &token);
    let (post, put) = (reqwest::Method::POST, reqwest::Method::PUT);
    expect_json(client.send(post.clone(), "/api/v1/spaces", Some(&json!({ "name": "cs" }))).await, StatusCode::CREATED)
        .await;
    let form = account_form();
    expect_json(client.send(put.clone(), "/api/v1/spaces/cs/forms/account", Some(&form)).await, StatusCode::CREATED)
        .await;
    let slow = json!({ "trigger": { "form": "account", "on": ["created"] },
        "when": "let i = 0; while i < 300000 { i += 1; } true",
        "actions": [ { "set": { "health": "99" } } ] });
    let stored = client.send(put, "/api/v1/spaces/cs/workflows/slow", Some(&slow)).await;
    expect_json(stored, StatusCode::CREATED).await;
    assert_eq!(client.readiness().await.0, StatusCode::OK);

    let started = Instant::now();
    let body = account("Acme", "growth", 10);
    expect_json(client.send(post, &records_path("cs", "account"), Some(&body)).await, StatusCode::CREATED).await;
    std::fs::write(&disk_full, b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = client.readiness().await;
        if body.contains("the workflow processor cannot go on") {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "the processor never said it stalled: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(20));

    std::fs::remove_file(&disk_full).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.readiness().await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "not ready again: {:?}", client.readiness().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The refused batch may have reached the disk anyway (like a write whose answer a crash cut
    // off); either way the run is there once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs =
        expect_json(client.send(reqwest::Method::GET, "/api/v1/spaces/cs/runs", None).await, StatusCode::OK).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "the run, committed once: {runs}");
    assert!(server.terminate());
}
