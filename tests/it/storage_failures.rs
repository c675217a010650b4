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
