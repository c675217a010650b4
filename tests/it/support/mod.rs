//! Shared test helpers: a running server per test (`TestApp`), one method per endpoint, and
//! fixtures for the forms the tests use.

mod fixtures;
mod people;
mod process;
mod receiver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use web::config::Config;
use web::startup::Application;

pub use fixtures::*;
pub use people::*;
pub use process::*;
pub use receiver::*;

/// A server running in this process on 127.0.0.1:0 with its own data directory.
pub struct TestApp {
    pub addr: SocketAddr,
    pub token: String,
    pub client: reqwest::Client,
    pub data_dir: Arc<TempDir>,
    pub engine: engine::Engine,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// A fresh server on an empty data directory, with its first admin token.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Arc::new(TempDir::new().expect("temp dir")), None, |_| {}).await
    }

    /// A fresh server whose config `tweak` adjusts (limits, timeouts).
    pub async fn spawn_configured(tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with(Arc::new(TempDir::new().expect("temp dir")), None, tweak).await
    }

    /// A server on an existing data directory; `token` is the admin token made earlier
    /// (an empty directory makes a new one instead).
    pub async fn spawn_with(data_dir: Arc<TempDir>, token: Option<String>, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config =
            Config { data_dir: data_dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
        tweak(&mut config);
        let app = Application::build(config).await.expect("the server builds");
        let addr = app.local_addr();
        let engine = app.engine().clone();
        let token = match (app.first_admin_token(), token) {
            (Some(first), _) => first.to_owned(),
            (None, Some(token)) => token,
            (None, None) => panic!("the data dir has tokens; pass the admin token"),
        };
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = shutdown_rx.await;
        }));
        TestApp {
            addr,
            token,
            client: reqwest::Client::new(),
            data_dir,
            engine,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Stops the server gracefully (the database is flushed and closed) and hands back the
    /// data directory and the token for a restart.
    pub async fn stop(mut self) -> (Arc<TempDir>, String) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
        (Arc::clone(&self.data_dir), self.token.clone())
    }

    /// The last sequence number of the event log.
    pub fn last_event_seq(&self) -> u64 {
        self.engine.last_event_seq()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request with the admin token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().await.expect("POST")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path).json(body).send().await.expect("PUT")
    }

    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut request = self
            .request(Method::PATCH, path)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.expect("PATCH")
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Response {
        let mut request = self.request(Method::DELETE, path);
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.expect("DELETE")
    }

    // ---- one helper per resource, asserting success ----

    pub async fn create_space(&self, name: &str) -> Value {
        let response = self.post("/api/v1/spaces", &serde_json::json!({ "name": name })).await;
        expect_json(response, StatusCode::CREATED).await
    }

    pub async fn put_form(&self, space: &str, form: &str, definition: &Value) -> Value {
        let response = self.put(&format!("/api/v1/spaces/{space}/forms/{form}"), definition).await;
        let status = response.status();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "PUT form {form}: {status}");
        response.json().await.expect("form JSON")
    }

    pub async fn create_record(&self, space: &str, form: &str, data: &Value) -> Value {
        let response = self.post(&records_path(space, form), data).await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// A space with the `account` form of [`account_form`].
    pub async fn space_with_accounts(&self, space: &str) {
        self.create_space(space).await;
        self.put_form(space, "account", &account_form()).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub fn records_path(space: &str, form: &str) -> String {
    format!("/api/v1/spaces/{space}/forms/{form}/records")
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let url = response.url().clone();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{url}: not JSON ({err}): {text}"))
}

/// Asserts a problem+json answer with `status` and problem type `urn:tend:problem:{kind}`;
/// returns the problem document.
pub async fn expect_problem(response: Response, status: StatusCode, kind: &str) -> Value {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let problem = expect_json(response, status).await;
    assert_eq!(content_type, "application/problem+json", "{problem}");
    assert_eq!(problem["type"], format!("urn:tend:problem:{kind}"), "{problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
    problem
}

/// The `path`s of a problem's `errors`, sorted.
pub fn error_paths(problem: &Value) -> Vec<String> {
    let mut paths: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["path"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// A POST of `body` (sent as given, so tests can send JSON no serializer would write) signed
/// the Standard Webhooks way with `secret`.
pub fn signed_post(client: &reqwest::Client, url: &str, secret: &str, body: &str) -> reqwest::RequestBuilder {
    let signer = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
    let timestamp = chrono::Utc::now().timestamp();
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let signature = signer.sign(&id, timestamp, body.as_bytes()).expect("signing");
    client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
}

/// Where the workspace's top-level folders are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("web/ has a parent").to_path_buf()
}
