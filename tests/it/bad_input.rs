//! The bad-input matrix: every malformed request gets a problem+json answer with the right
//! status and type, the server never panics, and nothing is stored.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const BODY_LIMIT: usize = 64 * 1024;

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    headers: Vec<(&'static str, &'static str)>,
    status: StatusCode,
    kind: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: &str,
    body: impl Into<Vec<u8>>,
    status: StatusCode,
    kind: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        content_type: Some("application/json"),
        body: body.into(),
        headers: Vec::new(),
        status,
        kind,
    }
}

#[tokio::test]
async fn bad_requests_get_problem_json_and_store_nothing() {
    let app = TestApp::spawn_configured(|config| config.http.body_limit = BODY_LIMIT).await;
    app.space_with_accounts("cs").await;
    let records = records_path("cs", "account");
    let existing = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let record = format!("{records}/{}", existing["id"].as_str().unwrap());
    let events_before = event_count(&app, &record).await;

    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let big = format!("{{\"name\": \"{}\", \"tier\": \"growth\"}}", "x".repeat(BODY_LIMIT));
    let mut cases = vec![
        case("malformed JSON", Method::POST, &records, "{\"name\": ", StatusCode::BAD_REQUEST, "bad-request"),
        case("empty body", Method::POST, &records, "", StatusCode::BAD_REQUEST, "bad-request"),
        case(
            "invalid UTF-8",
            Method::POST,
            &records,
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case("deep nesting", Method::POST, &records, deep, StatusCode::BAD_REQUEST, "bad-request"),
        case(
            "huge number",
            Method::POST,
            &records,
            "{\"name\": \"A\", \"tier\": \"growth\", \"health\": 1e400}",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case(
            "integer overflow",
            Method::POST,
            &records,
            "{\"name\": \"A\", \"tier\": \"growth\", \"health\": 123456789012345678901234567890}",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case("body over the limit", Method::POST, &records, big, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        case(
            "array instead of object",
            Method::POST,
            &records,
            "[1, 2]",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        case(
            "patch with an array",
            Method::PATCH,
            &record,
            "[{\"op\": \"remove\"}]",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        case(
            "patch breaking the schema",
            Method::PATCH,
            &record,
            "{\"tier\": 5}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        case("unknown route", Method::GET, "/api/v1/nothing/here", "", StatusCode::NOT_FOUND, "not-found"),
        case("unknown space", Method::POST, &records_path("nope", "account"), "{}", StatusCode::NOT_FOUND, "not-found"),
        case("unknown form", Method::POST, &records_path("cs", "nope"), "{}", StatusCode::NOT_FOUND, "not-found"),
        case(
            "bad record id",
            Method::PATCH,
            &format!("{records}/not-a-uuid"),
            "{}",
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        case("uppercase space name in path", Method::GET, "/api/v1/spaces/CS", "", StatusCode::NOT_FOUND, "not-found"),
        case("method not allowed", Method::PUT, &records, "{}", StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
        case(
            "space without a name",
            Method::POST,
            "/api/v1/spaces",
            "{\"title\": \"x\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        case(
            "unknown query parameter",
            Method::GET,
            &format!("{records}?filtr=x"),
            "",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case(
            "limit beyond u64",
            Method::GET,
            &format!("{records}?limit=99999999999999999999999"),
            "",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case(
            "form version not a number",
            Method::GET,
            "/api/v1/spaces/cs/forms/account?version=x",
            "",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        case(
            "form definition not an object",
            Method::PUT,
            "/api/v1/spaces/cs/forms/other",
            "\"schema\"",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
    ];
    let mut text_plain = case(
        "wrong content type",
        Method::POST,
        &records,
        "{\"name\": \"A\", \"tier\": \"growth\"}",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    text_plain.content_type = Some("text/plain");
    cases.push(text_plain);
    let mut no_type = case(
        "no content type",
        Method::POST,
        &records,
        "{\"name\": \"A\", \"tier\": \"growth\"}",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    no_type.content_type = None;
    cases.push(no_type);
    let mut weak_etag =
        case("weak If-Match", Method::PATCH, &record, "{\"health\": 1}", StatusCode::BAD_REQUEST, "bad-request");
    weak_etag.headers.push(("if-match", "W/\"1\""));
    cases.push(weak_etag);
    let mut garbage_etag =
        case("garbage If-Match", Method::DELETE, &record, "", StatusCode::BAD_REQUEST, "bad-request");
    garbage_etag.headers.push(("if-match", "yesterday"));
    cases.push(garbage_etag);
    assert!(cases.len() >= 15);

    for case in cases {
        let mut request = app.request(case.method.clone(), &case.path).body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        for (name, value) in &case.headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap_or_else(|err| panic!("{}: {err}", case.name));
        let status = response.status();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{}: {body}", case.name);
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["type"], format!("urn:tend:problem:{}", case.kind), "{}: {body}", case.name);
    }

    assert_nothing_stored(&app, &record, &existing, events_before).await;
}

/// Every JSON body the API takes refuses a key given twice and a number a double can't hold
/// exactly, naming the key, instead of keeping the last key or a rounded number.
#[tokio::test]
async fn json_bodies_refuse_duplicate_keys_and_inexact_numbers() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let existing = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let record = format!("{}/{}", records_path("cs", "account"), existing["id"].as_str().unwrap());
    let hook = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &json!({})).await, StatusCode::CREATED).await;
    let seq_before = app.last_event_seq();
    let records = records_path("cs", "account");
    let cases: [(Method, &str, &str, &str); 9] = [
        (Method::POST, &records, r#"{"name": "A", "tier": "growth", "name": "B"}"#, "/name"),
        (Method::POST, &records, r#"{"name": "A", "tier": "growth", "health": 9007199254740993}"#, "/health"),
        (Method::POST, &records, r#"{"name": "A", "tier": "growth", "health": 1e20}"#, "/health"),
        (Method::PATCH, &record, r#"{"health": 1, "health": 2}"#, "/health"),
        (
            Method::PUT,
            "/api/v1/spaces/cs/forms/other",
            r#"{"schema": {"type": "object", "type": "string"}}"#,
            "/schema/type",
        ),
        (Method::PUT, "/api/v1/spaces/cs/workflows/w", r#"{"trigger": {}, "trigger": {}}"#, "/trigger"),
        (
            Method::PUT,
            "/api/v1/spaces/cs/webhooks/e",
            r#"{"url": "https://a.example", "url": "https://b.example"}"#,
            "/url",
        ),
        (Method::POST, "/api/v1/spaces", r#"{"name": "x", "name": "y"}"#, "/name"),
        (
            Method::PUT,
            "/api/v1/spaces/cs/hooks/h",
            r#"{"title": "a", "schema": {"maximum": 18446744073709551615}}"#,
            "/schema/maximum",
        ),
    ];
    for (method, path, body, pointer) in cases {
        let response = app.request(method.clone(), path).header("content-type", "application/json").body(body).send();
        let problem = expect_problem(response.await.unwrap(), StatusCode::BAD_REQUEST, "bad-request").await;
        assert_eq!(error_paths(&problem), [pointer], "{method} {path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(pointer), "{problem}");
    }
    let inbound = signed_post(
        &app.client,
        &app.url("/api/v1/spaces/cs/hooks/usage"),
        hook["secret"].as_str().unwrap(),
        r#"{"account": "a", "account": "b"}"#,
    );
    let problem = expect_problem(inbound.send().await.unwrap(), StatusCode::BAD_REQUEST, "bad-request").await;
    assert_eq!(error_paths(&problem), ["/account"]);
    assert_eq!(app.last_event_seq(), seq_before, "nothing stored");
    let exact = r#"{"name": "Exact", "tier": "growth", "arr": 9007199254740991}"#;
    let created = app.request(Method::POST, &records).header("content-type", "application/json").body(exact).send();
    let created = expect_json(created.await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(created["data"]["arr"], 9_007_199_254_740_991_u64, "2^53 - 1 is exact and kept");
}

/// A request target or header section too large is answered with a problem document, like
/// every other error.
#[tokio::test]
async fn oversized_request_heads_get_problem_json() {
    let app = TestApp::spawn().await;
    let long_target = format!("/api/v1/spaces?{}", "a".repeat(20_000));
    let problem = expect_problem(app.get(&long_target).await, StatusCode::URI_TOO_LONG, "uri-too-long").await;
    assert!(problem["detail"].as_str().unwrap().contains("8192"), "{problem}");
    let big_header = app.request(Method::GET, "/healthz").header("x-big", "b".repeat(40_000)).send().await.unwrap();
    expect_problem(big_header, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "header-fields-too-large").await;
    let mut many = app.request(Method::GET, "/healthz");
    for i in 0..150 {
        many = many.header(format!("x-h{i}"), "v");
    }
    let many = many.send().await.unwrap();
    expect_problem(many, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "header-fields-too-large").await;
}

#[tokio::test]
async fn oversized_chunked_bodies_and_stalled_uploads_are_cut_off() {
    let app = TestApp::spawn_configured(|config| {
        config.http.body_limit = BODY_LIMIT;
        config.http.request_timeout_secs = 1;
    })
    .await;
    app.space_with_accounts("cs").await;
    let records = records_path("cs", "account");

    // Chunked: no Content-Length for the limit to check up front.
    let chunk = "x".repeat(16 * 1024);
    let mut request = format!(
        "POST {records} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        app.token
    );
    for _ in 0..8 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw_exchange(&app, request.as_bytes(), None).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");

    // Stalled: promises 100 bytes, sends 10, then waits.
    let request = format!(
        "POST {records} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"name\": \"",
        app.token
    );
    let answer = raw_exchange(&app, request.as_bytes(), Some(Duration::from_secs(5))).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("urn:tend:problem:request-timeout"), "{answer}");

    let list = expect_json(app.get(&records).await, StatusCode::OK).await;
    assert_eq!(list["items"], json!([]));
}

/// Sends raw bytes and reads the answer until the server closes or `wait` passes.
async fn raw_exchange(app: &TestApp, request: &[u8], wait: Option<Duration>) -> String {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // The server may answer and close before the whole body is written.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && String::from_utf8_lossy(&answer).contains("}") {
                        break;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(wait.unwrap_or(Duration::from_secs(10)), read).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn event_count(app: &TestApp, record: &str) -> usize {
    let history = expect_json(app.get(&format!("{record}/history")).await, StatusCode::OK).await;
    history["items"].as_array().unwrap().len()
}

async fn assert_nothing_stored(app: &TestApp, record: &str, existing: &serde_json::Value, events_before: usize) {
    let list = expect_json(app.get(&records_path("cs", "account")).await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "no record was created: {list}");
    assert_eq!(expect_json(app.get(record).await, StatusCode::OK).await, *existing, "the record is unchanged");
    assert_eq!(event_count(app, record).await, events_before, "no event was appended");
    let forms = expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    assert_eq!(forms["items"].as_array().unwrap().len(), 1, "no form was stored");
    let spaces = expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
    assert_eq!(spaces["items"].as_array().unwrap().len(), 1, "no space was created");
    assert_eq!(app.last_event_seq(), 1, "the event log holds only the first record's creation");
}

/// `levels` arrays nested around a number: `[[1]]` is 2.
fn nested_arrays(levels: usize) -> serde_json::Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

/// Deep JSON is bounded where it enters (record data at 32 levels, any body at 64), well below
/// the 128 levels readers accept, so what is stored reads back. Before, a record nested just
/// under the parser's limit was stored (201) and then every read of it answered 500, and the
/// workflow processor stopped for every space.
#[tokio::test]
async fn deeply_nested_json_is_bounded_where_it_enters_and_what_is_stored_reads_back() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let blob = json!({ "title": "Blob", "schema": { "type": "object", "properties": {
        "name": { "type": "string" }, "extra": {} } } });
    app.put_form("cs", "blob", &blob).await;
    let records = records_path("cs", "blob");

    // The most data may nest (the record's data is level 1) is stored and reads back.
    let deepest = app.create_record("cs", "blob", &json!({ "name": "a", "extra": nested_arrays(31) })).await;
    let record = format!("{records}/{}", deepest["id"].as_str().unwrap());
    assert_eq!(expect_json(app.get(&record).await, StatusCode::OK).await["data"]["extra"], nested_arrays(31));
    expect_json(app.get(&records).await, StatusCode::OK).await;
    expect_json(app.get(&format!("{record}/history")).await, StatusCode::OK).await;

    // One more level is refused with the place that is too deep; a patch likewise.
    let problem = expect_problem(
        app.post(&records, &json!({ "name": "b", "extra": nested_arrays(32) })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), vec![format!("/extra{}", "/0".repeat(31))]);
    let patch = app.patch(&record, &json!({ "extra": nested_arrays(40) }), None).await;
    expect_problem(patch, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    // Just under the parser's own limit (the probe's body): refused at the body's bound.
    let problem = expect_problem(
        app.post(&records, &json!({ "name": "c", "extra": nested_arrays(120) })).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    )
    .await;
    assert_eq!(error_paths(&problem), vec![format!("/extra{}", "/0".repeat(63))]);

    // A form's `default` is part of a body: bounded the same way.
    let mut deep_default = blob.clone();
    deep_default["schema"]["properties"]["extra"]["default"] = nested_arrays(120);
    let refused = app.put("/api/v1/spaces/cs/forms/blob", &deep_default).await;
    expect_problem(refused, StatusCode::BAD_REQUEST, "bad-request").await;

    // Inbound hooks: the payload is data, bounded like a record's.
    let hook = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &json!({})).await, StatusCode::CREATED).await;
    let secret = hook["secret"].as_str().unwrap();
    let url = app.url("/api/v1/spaces/cs/hooks/usage");
    let deep_payload = json!({ "usage": nested_arrays(40) }).to_string();
    let refused = signed_post(&app.client, &url, secret, &deep_payload).send().await.unwrap();
    expect_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let fine = json!({ "usage": nested_arrays(20) }).to_string();
    expect_json(signed_post(&app.client, &url, secret, &fine).send().await.unwrap(), StatusCode::ACCEPTED).await;

    // Everything stored still reads back, the processor goes on, and the record deletes.
    expect_json(app.get("/readyz").await, StatusCode::OK).await;
    let deleted = app.delete(&record, None).await;
    assert!(deleted.status().is_success(), "{}", deleted.status());
}

/// Space, form and workflow names are checked once, where they enter: a name in a path that
/// breaks the slug rule names nothing (404, like a name that isn't there), unless a `PUT` is
/// creating it (422); a new space's name in the body is refused at `/name`.
#[tokio::test]
async fn names_that_break_the_slug_rule_are_refused_where_they_enter() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let not_found = [
        ("/api/v1/spaces/cs/forms/Account", "form `Account`"),
        ("/api/v1/spaces/cs/forms/account--x/records", "form `account--x`"),
        ("/api/v1/spaces/CS/forms/account/records", "space `CS`"),
        ("/api/v1/spaces/cs/workflows/Bad", "workflow `Bad`"),
        ("/api/v1/spaces/cs/forms/account/views/At-Risk", "view `At-Risk`"),
        ("/api/v1/spaces/cs/dashboards/_overview", "dashboard `_overview`"),
        ("/api/v1/spaces/cs/webhooks/Slack", "webhook endpoint `Slack`"),
        ("/api/v1/spaces/cs/hooks/Usage", "inbound hook `Usage`"),
    ];
    for (path, named) in not_found {
        let problem = expect_problem(app.get(path).await, StatusCode::NOT_FOUND, "not-found").await;
        assert!(problem["detail"].as_str().unwrap().contains(named), "{path}: {problem}");
    }

    let form = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [] });
    let endpoint = json!({ "url": "https://example.com/hook" });
    let puts = [
        ("/api/v1/spaces/cs/forms/Other", &form),
        ("/api/v1/spaces/cs/workflows/w--2", &workflow),
        ("/api/v1/spaces/cs/webhooks/Slack", &endpoint),
        ("/api/v1/spaces/cs/hooks/usage-", &json!({})),
    ];
    for (path, body) in puts {
        let problem = expect_problem(app.put(path, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert!(problem["detail"].as_str().unwrap().contains("must"), "{path}: {problem}");
    }

    let problem = expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "Sales" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/name"], "{problem}");
    let view = json!({ "name": "At Risk", "filter": "health < 50" });
    let problem = expect_problem(
        app.post("/api/v1/spaces/cs/forms/account/views", &view).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/name"], "{problem}");
    let copy = json!({ "name": "sales", "from_space": "CS" });
    expect_problem(app.post("/api/v1/spaces", &copy).await, StatusCode::NOT_FOUND, "not-found").await;

    let spaces = expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
    let names: Vec<&str> = spaces["items"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cs"]);
    let forms = expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    assert_eq!(forms["items"].as_array().unwrap().len(), 1, "{forms}");
    let workflows = expect_json(app.get("/api/v1/spaces/cs/workflows").await, StatusCode::OK).await;
    assert_eq!(workflows["items"].as_array().unwrap().len(), 0, "{workflows}");
    for list in ["/api/v1/spaces/cs/webhooks", "/api/v1/spaces/cs/hooks", "/api/v1/spaces/cs/forms/account/views"] {
        let items = expect_json(app.get(list).await, StatusCode::OK).await;
        assert_eq!(items["items"].as_array().unwrap().len(), 0, "{list}: {items}");
    }
}
