//! Probes, metrics and the OpenAPI documents.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// The server runs in its own process: metrics are process-wide, so a server inside the test
/// binary would also count the other tests' traffic.
#[tokio::test]
async fn metrics_count_this_servers_requests_records_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{}", server.base, path);
    let space = client.post(url("/api/v1/spaces")).bearer_auth(&token).json(&json!({ "name": "cs" })).send();
    assert_eq!(space.await.unwrap().status(), StatusCode::CREATED);
    let form = client.put(url("/api/v1/spaces/cs/forms/account")).bearer_auth(&token).json(&account_form()).send();
    assert_eq!(form.await.unwrap().status(), StatusCode::CREATED);
    for name in ["Acme", "Globex", "Initech"] {
        let created = client
            .post(url(&records_path("cs", "account")))
            .bearer_auth(&token)
            .json(&account(name, "growth", 70))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }

    let text = client.get(url("/metrics")).send().await.unwrap().text().await.unwrap();
    let records_posted = series(&text, "tend_http_requests_total")
        .into_iter()
        .find(|(labels, _)| labels.contains("route=\"/api/v1/spaces/{space}/forms/{form}/records\""))
        .unwrap_or_else(|| panic!("no series for the records route (routes are templates):\n{text}"));
    assert!(records_posted.0.contains("method=\"POST\"") && records_posted.0.contains("status=\"2xx\""));
    assert_eq!(records_posted.1, 3.0, "exactly this server's three POSTs:\n{text}");
    assert_eq!(sample(&text, "tend_records_written_total"), Some(3.0), "{text}");
    assert_eq!(sample(&text, "tend_events_appended_total"), Some(3.0), "{text}");
    assert!(text.contains("tend_http_request_duration_seconds_bucket"), "{text}");
    let health = expect_json(client.get(url("/readyz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(health, json!({ "status": "ready" }));
}

/// Nothing a client sends adds a series: made-up methods, random paths and odd statuses all
/// land in a bounded set of label values.
#[tokio::test]
async fn metrics_labels_come_from_bounded_sets() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let client = reqwest::Client::new();
    for i in 0..25 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let _ = client.request(method, format!("{}/api/v1/spaces/x{i}/y{i}", server.base)).send().await.unwrap();
        let _ = client.get(format!("{}/nowhere/{i}", server.base)).send().await.unwrap();
    }
    let text = client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("MADEUP") && !text.contains("/nowhere/"), "client input became a label:\n{text}");
    let requests = series(&text, "tend_http_requests_total");
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other"];
    for (labels, _) in &requests {
        let method = label(labels, "method");
        assert!(methods.contains(&method.as_str()), "{labels}");
        assert!(["1xx", "2xx", "3xx", "4xx", "5xx"].contains(&label(labels, "status").as_str()), "{labels}");
    }
    let other: f64 = requests.iter().filter(|(l, _)| label(l, "method") == "other").map(|(_, v)| v).sum();
    assert_eq!(other, 25.0, "every made-up method counted as `other`:\n{text}");
    assert!(requests.len() <= 4, "50 odd requests made {} series:\n{text}", requests.len());
}

/// The labelled samples of a counter: `(labels, value)`.
fn series(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| {
            let (labels, value) = rest.rsplit_once("} ")?;
            Some((labels.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The value of an unlabelled sample.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn label(labels: &str, name: &str) -> String {
    let start = labels.find(&format!("{name}=\"")).map(|i| i + name.len() + 2).unwrap_or_else(|| panic!("{labels}"));
    labels[start..].split('"').next().unwrap_or_default().to_owned()
}

/// One `info` line per request naming method, route, status, latency and request id; the id is
/// echoed in `x-request-id` (the caller's own when given); no colour codes in a log file.
#[tokio::test]
async fn each_request_is_logged_once_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    let server = ServerProcess::start_logging_to(dir.path(), &log);
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let given = client
        .get(format!("{}/api/v1/spaces/nope", server.base))
        .bearer_auth(&token)
        .header("x-request-id", "probe-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), StatusCode::NOT_FOUND);
    assert_eq!(given.headers()["x-request-id"], "probe-4711");
    let generated = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id when none was given: {id}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains(&id) || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!text.contains('\u{1b}'), "ANSI escapes in a log that is not a terminal:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("probe-4711")).collect();
    assert_eq!(lines.len(), 1, "one line per request:\n{text}");
    for part in ["INFO", "GET", "/api/v1/spaces/{space}", "404", "latency_ms", "request_id"] {
        assert!(lines[0].contains(part), "{part} missing from {}", lines[0]);
    }
    assert_eq!(text.lines().filter(|line| line.contains(&id)).count(), 1, "{text}");
}

#[tokio::test]
/// That the document names exactly the routes served is checked in `web/src/api/tests.rs`,
/// against the router's own table.
async fn openapi_documents_problems_and_each_forms_schema() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.put_form("cs", "contact", &contact_form()).await;

    let generic = expect_json(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    assert_eq!(generic["openapi"], "3.1.0");
    let paths = generic["paths"].as_object().unwrap();
    for (_, item) in paths {
        for (_, operation) in item.as_object().unwrap() {
            assert!(operation["responses"]["default"].is_object(), "every operation documents its problem answer");
        }
    }
    // Name parameters publish the slug rule the server checks them against.
    let mut names = 0;
    for (path, item) in paths {
        for (_, operation) in item.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                if ["space", "form", "view", "dashboard"].contains(&param["name"].as_str().unwrap()) {
                    assert_eq!(param["schema"]["pattern"], forms::NAME_PATTERN, "{path}: {param}");
                    names += 1;
                }
            }
        }
    }
    assert!(names > 50, "{names} name parameters");

    let space = expect_json(app.get("/api/v1/spaces/cs/openapi.json").await, StatusCode::OK).await;
    let schemas = &space["components"]["schemas"];
    assert_eq!(schemas["AccountData"]["properties"]["tier"]["enum"], json!(["starter", "growth", "enterprise"]));
    assert!(schemas["ContactData"]["properties"]["account"].is_object());
    assert_eq!(schemas["AccountRecord"]["properties"]["data"]["$ref"], "#/components/schemas/AccountData");
    let typed = &space["paths"]["/api/v1/spaces/cs/forms/account/records"]["post"];
    assert_eq!(
        typed["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/AccountData"
    );
}
