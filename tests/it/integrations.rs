//! Integrations through the HTTP API against real receivers on loopback: signed webhook
//! deliveries, retries, dead deliveries and redelivery, the SSRF guard, email through a real
//! SMTP server, and inbound hooks that trigger workflows.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// The Standard Webhooks spec's own example (the reference implementation's test vector).
const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A server that may deliver to loopback, with quick retries.
async fn app_for_loopback(max_attempts: u32) -> TestApp {
    TestApp::spawn_configured(|config| {
        config.webhooks.allow_private_targets = true;
        config.webhooks.backoff_base_ms = 20;
        config.webhooks.backoff_max_ms = 100;
        config.webhooks.max_attempts = max_attempts;
        config.webhooks.timeout_ms = 2_000;
    })
    .await
}

/// HMAC-SHA256 over `{id}.{timestamp}.{body}`, written from the spec, independently of the
/// `standardwebhooks` crate the server signs with.
fn independent_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// A space with accounts and a workflow that notifies `target` on every new account.
async fn notifying_space(app: &TestApp, target: Value) {
    app.space_with_accounts("cs").await;
    let mut notify = json!({ "body": "#{ account: record.name, health: record.health }" });
    notify.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [ { "notify": notify } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/tell", &workflow).await, StatusCode::CREATED).await;
}

async fn put_endpoint(app: &TestApp, name: &str, body: Value) -> Value {
    let response = app.put(&format!("/api/v1/spaces/cs/webhooks/{name}"), &body).await;
    let status = response.status();
    assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}");
    response.json().await.unwrap()
}

/// Waits until the space's only delivery (or the newest) is in `status`.
async fn wait_for_delivery(app: &TestApp, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = expect_json(app.get("/api/v1/spaces/cs/deliveries").await, StatusCode::OK).await;
        if let Some(delivery) = page["items"].as_array().unwrap().first() {
            if delivery["status"] == status {
                return delivery.clone();
            }
            assert!(Instant::now() < deadline, "expected a {status} delivery: {delivery:#}");
        }
        assert!(Instant::now() < deadline, "no delivery");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[test]
fn the_independent_signature_matches_the_spec_test_vector() {
    let signature = independent_signature(
        SPEC_SECRET,
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        "1649367553",
        br#"{"email":"test@example.com","username":"test_user"}"#,
    );
    assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
}

#[tokio::test]
async fn webhook_deliveries_are_signed_the_standard_webhooks_way() {
    let receiver = Receiver::start(Behaviour::Succeed).await;
    let app = app_for_loopback(5).await;
    notifying_space(&app, json!({ "webhook": "cs-alerts" })).await;
    let stored = put_endpoint(
        &app,
        "cs-alerts",
        json!({ "url": receiver.url("/hook"), "secret": SPEC_SECRET, "headers": { "X-Team": "cs" } }),
    )
    .await;
    assert_eq!(stored["has_secret"], true);
    assert!(stored.get("secret").is_none(), "a secret given by the admin is not echoed: {stored}");
    let shown = expect_json(app.get("/api/v1/spaces/cs/webhooks/cs-alerts").await, StatusCode::OK).await;
    assert!(shown.get("secret").is_none() && shown["has_secret"] == true, "{shown}");

    app.create_record("cs", "account", &account("Acme", "enterprise", 42)).await;
    let hit = receiver.wait_for(1, Duration::from_secs(10)).await.remove(0);
    let delivery = wait_for_delivery(&app, "delivered").await;

    let (id, timestamp, signature) =
        (hit.header("webhook-id"), hit.header("webhook-timestamp"), hit.header("webhook-signature"));
    assert_eq!(id, delivery["id"].as_str().unwrap(), "webhook-id is the delivery's id");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "timestamp {timestamp} is now");
    assert_eq!(signature, independent_signature(SPEC_SECRET, &id, &timestamp, &hit.body));
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("x-team"), "cs");
    assert_eq!(serde_json::from_slice::<Value>(&hit.body).unwrap(), json!({ "account": "Acme", "health": 42 }));
    // The reference implementation accepts it too.
    standardwebhooks::Webhook::new(SPEC_SECRET).unwrap().verify(&hit.body, &hit.headers).expect("verifies");

    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status"], 200);
    assert_eq!(attempts[0]["response"], "thanks");
    assert!(attempts[0]["latency_ms"].is_u64());

    // An endpoint stored without a secret gets one, shown in that answer only.
    let generated = put_endpoint(&app, "other", json!({ "url": receiver.url("/other") })).await;
    assert!(generated["secret"].as_str().unwrap().starts_with("whsec_"), "{generated}");
    let again = put_endpoint(&app, "other", json!({ "url": receiver.url("/moved") })).await;
    assert!(again.get("secret").is_none(), "the secret is kept, not shown again: {again}");
    let bad = app.put("/api/v1/spaces/cs/webhooks/bad", &json!({ "url": "ftp://x", "secret": "nope" })).await;
    let problem = expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/secret", "/url"]);
    assert!(problem["detail"].as_str().unwrap().starts_with("the webhook endpoint is invalid"), "{problem}");
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_four_attempts_then_delivered() {
    let receiver = Receiver::start(Behaviour::FailFirst(3)).await;
    let app = app_for_loopback(5).await;
    notifying_space(&app, json!({ "webhook": "cs-alerts" })).await;
    put_endpoint(&app, "cs-alerts", json!({ "url": receiver.url("/hook") })).await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;

    let delivery = wait_for_delivery(&app, "delivered").await;
    let statuses: Vec<&Value> = delivery["attempts"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    assert_eq!(delivery["attempts"][0]["response"], "receiver is down");
    let hits = receiver.hits();
    assert_eq!(hits.len(), 4);
    let ids: std::collections::HashSet<String> = hits.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "the webhook-id is stable across retries");
}

#[tokio::test]
async fn a_receiver_that_always_fails_ends_dead_and_redeliver_sends_it_again() {
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let app = app_for_loopback(3).await;
    notifying_space(&app, json!({ "webhook": "cs-alerts" })).await;
    put_endpoint(&app, "cs-alerts", json!({ "url": receiver.url("/hook") })).await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;

    let dead = wait_for_delivery(&app, "dead").await;
    assert_eq!(dead["attempts"].as_array().unwrap().len(), 3, "max_attempts = 3");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 3, "nothing after dead");
    let listed =
        expect_json(app.get("/api/v1/spaces/cs/deliveries?status=dead&workflow=tell").await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let none = expect_json(app.get("/api/v1/spaces/cs/deliveries?status=delivered").await, StatusCode::OK).await;
    assert!(none["items"].as_array().unwrap().is_empty());

    receiver.set(Behaviour::Succeed);
    let id = dead["id"].as_str().unwrap();
    let redelivered = expect_json(
        app.post(&format!("/api/v1/spaces/cs/deliveries/{id}/redeliver"), &json!({})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(redelivered["status"], "pending");
    let delivered = wait_for_delivery(&app, "delivered").await;
    assert_eq!(delivered["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(receiver.hits().last().unwrap().header("webhook-id"), id);
    let missing =
        app.post("/api/v1/spaces/cs/deliveries/0190f6b0-0000-7000-8000-000000000000/redeliver", &json!({})).await;
    expect_problem(missing, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let receiver = Receiver::start(Behaviour::Succeed).await;
    let app = TestApp::spawn().await;
    notifying_space(&app, json!({ "url": receiver.url("/hook") })).await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let dead = wait_for_delivery(&app, "dead").await;
    let error = dead["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("loopback") && error.contains("allow_private_targets"),
        "{error}"
    );
    assert_eq!(dead["attempts"].as_array().unwrap().len(), 1, "a refused target is not retried");

    // A name that resolves to loopback is refused the same way.
    let local = format!("http://localhost:{}/hook", receiver.addr.port());
    let workflow =
        json!({ "trigger": { "form": "account", "on": ["updated"] }, "actions": [ { "notify": { "url": local } } ] });
    app.put("/api/v1/spaces/cs/workflows/tell", &workflow).await;
    let page = expect_json(app.get(&records_path("cs", "account")).await, StatusCode::OK).await;
    let path = format!("{}/{}", records_path("cs", "account"), page["items"][0]["id"].as_str().unwrap());
    app.patch(&path, &json!({ "health": 10 }), None).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = expect_json(app.get("/api/v1/spaces/cs/deliveries?status=dead").await, StatusCode::OK).await;
        if page["items"].as_array().unwrap().len() == 2 {
            let error = page["items"][0]["attempts"][0]["error"].as_str().unwrap();
            assert!(error.contains("`localhost` resolves to") && error.contains("loopback"), "{error}");
            break;
        }
        assert!(Instant::now() < deadline, "{page:#}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(receiver.hits().is_empty(), "nothing reached the private address");
}

/// An endpoint pointing at this host or a private network is refused when it is saved, not
/// only when a delivery would leave, unless private targets are allowed.
#[tokio::test]
async fn private_endpoint_urls_are_refused_when_saved() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let urls = [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[fec0::1]/hook",
        "http://198.18.0.1/hook",
        "http://240.0.0.1/hook",
        "http://192.0.0.8/hook",
    ];
    for url in urls {
        let response = app.put("/api/v1/spaces/cs/webhooks/inside", &json!({ "url": url })).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(error_paths(&problem), ["/url"], "{url}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("refused") && message.contains("allow_private_targets"), "{url}: {message}");
    }
    let endpoints = expect_json(app.get("/api/v1/spaces/cs/webhooks").await, StatusCode::OK).await;
    assert_eq!(endpoints["items"], json!([]), "nothing stored");
    put_endpoint(&app, "outside", json!({ "url": "https://93.184.216.34/hook" })).await;

    let allowed = TestApp::spawn_configured(|config| config.webhooks.allow_private_targets = true).await;
    allowed.create_space("cs").await;
    put_endpoint(&allowed, "inside", json!({ "url": "http://127.0.0.1:9/hook" })).await;
}

#[tokio::test]
async fn email_deliveries_arrive_at_a_real_smtp_server() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn_configured(|config| {
        config.smtp.host = Some("127.0.0.1".into());
        config.smtp.port = Some(smtp.port);
        config.smtp.security = web::config::SmtpSecurity::None;
        config.smtp.from = "Tend <tend@example.com>".into();
    })
    .await;
    notifying_space(
        &app,
        json!({ "email": { "to": "record.owner", "subject": "`Health of ${record.name}: ${record.health}`",
                           "body": "`Hello, ${record.name} needs a call (health ${record.health}).`" } }),
    )
    .await;
    app.create_record("cs", "account", &account("Acme", "enterprise", 42)).await;
    let delivery = wait_for_delivery(&app, "delivered").await;
    assert_eq!(delivery["attempts"][0]["status"], 250);

    let messages = smtp.received();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = &messages[0];
    assert_eq!(message["to"], json!(["csm@example.com"]));
    assert_eq!(message["from"], "tend@example.com");
    let data = message["data"].as_str().unwrap();
    assert!(data.contains("Subject: Health of Acme: 42"), "{data}");
    assert!(data.contains("To: csm@example.com"), "{data}");
    assert!(data.contains("Hello, Acme needs a call (health 42)."), "{data}");
    assert!(data.contains(&format!("Message-ID: <{}@tend>", delivery["id"].as_str().unwrap())), "{data}");
}

#[tokio::test]
async fn email_without_a_mail_server_is_retried_then_dead() {
    let app = app_for_loopback(2).await;
    notifying_space(&app, json!({ "email": { "to": "record.owner", "subject": "\"s\"", "body": "\"b\"" } })).await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let dead = wait_for_delivery(&app, "dead").await;
    assert_eq!(dead["attempts"].as_array().unwrap().len(), 2);
    assert!(dead["attempts"][0]["error"].as_str().unwrap().contains("[smtp]"), "{dead}");
}

/// Usage pushed by a product-analytics system updates the account's health.
#[tokio::test]
async fn inbound_hooks_verify_validate_and_trigger_workflows() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let acme = app.create_record("cs", "account", &account("Acme", "enterprise", 80)).await;
    let hook = json!({ "title": "Product usage", "schema": { "type": "object", "required": ["account", "score"],
        "properties": { "account": { "type": "string" }, "score": { "type": "integer", "minimum": 0, "maximum": 100 } } } });
    let stored = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &hook).await, StatusCode::CREATED).await;
    let secret = stored["secret"].as_str().unwrap().to_owned();
    let shown = expect_json(app.get("/api/v1/spaces/cs/hooks/usage").await, StatusCode::OK).await;
    assert!(shown.get("secret").is_none() && shown["has_secret"] == true);

    // Hook triggers name an existing hook and change records with a script, not `set`.
    let wrong =
        json!({ "trigger": { "hook": "usage", "form": "account" }, "actions": [ { "set": { "health": "1" } } ] });
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/workflows/usage", &wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/actions/0", "/trigger/form"], "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("the workflow definition is invalid"), "{problem}");
    let missing = json!({ "trigger": { "hook": "nope" } });
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/workflows/usage", &missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/trigger/hook"]);
    let workflow = json!({ "trigger": { "hook": "usage" }, "when": "payload.score >= 0",
        "actions": [ { "script": "update(\"account\", payload.account, #{ health: payload.score }); print(event.hook);" } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/usage", &workflow).await, StatusCode::CREATED).await;

    let url = app.url("/api/v1/spaces/cs/hooks/usage");
    let signer = standardwebhooks::Webhook::new(&secret).unwrap();
    let post = |body: Value, sign_with: Option<&standardwebhooks::Webhook>| {
        let body = body.to_string();
        let mut request = app.client.post(&url).header("content-type", "application/json");
        if let Some(signer) = sign_with {
            let timestamp = chrono::Utc::now().timestamp();
            let signature = signer.sign("msg_1", timestamp, body.as_bytes()).unwrap();
            request = request
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature);
        }
        request.body(body).send()
    };
    let seq_before = app.last_event_seq();
    let good = json!({ "account": acme["id"], "score": 35 });
    expect_problem(post(good.clone(), None).await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    let impostor = standardwebhooks::Webhook::new(&engine::outbox::new_secret()).unwrap();
    expect_problem(post(good.clone(), Some(&impostor)).await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    let invalid = post(json!({ "score": 300 }), Some(&signer)).await.unwrap();
    let problem = expect_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/account", "/score"]);
    assert_eq!(app.last_event_seq(), seq_before, "nothing stored for refused posts");

    let accepted = expect_json(post(good, Some(&signer)).await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(accepted["event"], seq_before + 1);
    let path = format!("{}/{}", records_path("cs", "account"), acme["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let record = expect_json(app.get(&path).await, StatusCode::OK).await;
        if record["data"]["health"] == 35 {
            assert_eq!(record["updated_by"], "workflow:usage");
            break;
        }
        assert!(Instant::now() < deadline, "{record}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let runs = expect_json(app.get("/api/v1/spaces/cs/runs?workflow=usage").await, StatusCode::OK).await;
    assert_eq!(runs["items"][0]["status"], "succeeded");
    assert_eq!(runs["items"][0]["output"], json!(["usage"]));

    // A hook for senders that can't sign: the secret as a bearer token.
    let bearer = expect_json(
        app.put("/api/v1/spaces/cs/hooks/billing", &json!({ "auth": "bearer" })).await,
        StatusCode::CREATED,
    )
    .await;
    let token = bearer["secret"].as_str().unwrap();
    let billing = app.url("/api/v1/spaces/cs/hooks/billing");
    let refused = app.client.post(&billing).bearer_auth(&app.token).json(&json!({})).send().await.unwrap();
    expect_problem(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let ok = app.client.post(&billing).bearer_auth(token).json(&json!({ "invoice": 7 })).send().await.unwrap();
    expect_json(ok, StatusCode::ACCEPTED).await;
    let lowercase = app.client.post(&billing).header("authorization", format!("bearer {token}")).json(&json!({}));
    expect_json(lowercase.send().await.unwrap(), StatusCode::ACCEPTED).await;
}

/// An unauthenticated caller learns nothing from a hook post: no such space, no such hook, a
/// disabled hook, no signature and a wrong one all get the same answer.
#[tokio::test]
async fn inbound_hook_refusals_look_the_same_whatever_the_cause() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let stored = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &json!({})).await, StatusCode::CREATED).await;
    let secret = stored["secret"].as_str().unwrap().to_owned();
    let off = json!({ "enabled": false });
    let disabled = expect_json(app.put("/api/v1/spaces/cs/hooks/off", &off).await, StatusCode::CREATED).await;
    let disabled_secret = disabled["secret"].as_str().unwrap().to_owned();
    let other_secret = engine::outbox::new_secret();
    let body = r#"{"score": 1}"#;
    let attempts = [
        ("no such space", signed_post(&app.client, &app.url("/api/v1/spaces/nope/hooks/usage"), &secret, body)),
        ("no such hook", signed_post(&app.client, &app.url("/api/v1/spaces/cs/hooks/ghost"), &secret, body)),
        (
            "a space name no space has",
            signed_post(&app.client, &app.url("/api/v1/spaces/CS/hooks/usage"), &secret, body),
        ),
        ("a hook name no hook has", signed_post(&app.client, &app.url("/api/v1/spaces/cs/hooks/Usage"), &secret, body)),
        ("disabled hook", signed_post(&app.client, &app.url("/api/v1/spaces/cs/hooks/off"), &disabled_secret, body)),
        ("wrong signature", signed_post(&app.client, &app.url("/api/v1/spaces/cs/hooks/usage"), &other_secret, body)),
        ("no signature", app.client.post(app.url("/api/v1/spaces/cs/hooks/usage")).json(&json!({ "score": 1 }))),
    ];
    let mut answers = Vec::new();
    for (cause, request) in attempts {
        let response = request.send().await.unwrap();
        let status = response.status();
        let authenticate = response.headers().get("www-authenticate").cloned();
        answers.push((cause, status, authenticate, response.text().await.unwrap()));
    }
    let (_, status, authenticate, body) = &answers[0];
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    for (cause, other_status, other_authenticate, other_body) in &answers {
        assert_eq!((other_status, other_authenticate, other_body), (status, authenticate, body), "{cause}");
    }
    let accepted = signed_post(&app.client, &app.url("/api/v1/spaces/cs/hooks/usage"), &secret, body).send().await;
    expect_json(accepted.unwrap(), StatusCode::ACCEPTED).await;
}

/// A `sink:` endpoint records its deliveries as delivered and sends nothing: somewhere for
/// workflows to notify before a receiver exists (the demo's endpoints are sinks).
#[tokio::test]
async fn a_sink_endpoint_keeps_deliveries_without_sending() {
    let app = TestApp::spawn().await;
    notifying_space(&app, json!({ "webhook": "sink" })).await;
    let stored = put_endpoint(&app, "sink", json!({ "url": "sink:", "title": "A sink" })).await;
    assert_eq!(stored["url"], "sink:");
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let delivered = wait_for_delivery(&app, "delivered").await;
    let attempts = delivered["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0]["response"].as_str().unwrap().contains("nothing was sent"), "{delivered}");
    let bad = app.put("/api/v1/spaces/cs/webhooks/bad", &json!({ "url": "sink:somewhere" })).await;
    let problem = expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/url"]);
}

/// Storing a workflow that notifies an endpoint the space lacks (or has disabled), or sends
/// email without a mail server, succeeds with `warnings` that say so at each action.
#[tokio::test]
async fn storing_a_workflow_warns_about_deliveries_that_cannot_work_yet() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [
        { "notify": { "webhook": "cs-alerts" } },
        { "notify": { "email": { "to": "record.owner", "subject": "\"s\"", "body": "\"b\"" } } },
        { "script": "notify(#{ webhook: \"cs-leads\", body: #{} })" } ] });
    let stored = expect_json(app.put("/api/v1/spaces/cs/workflows/tell", &workflow).await, StatusCode::CREATED).await;
    assert_eq!(
        error_paths(&json!({ "errors": stored["warnings"] })),
        ["/actions/0/notify/webhook", "/actions/1/notify/email", "/actions/2/script"],
        "{stored}"
    );
    assert!(stored["warnings"][0]["message"].as_str().unwrap().contains("no webhook endpoint `cs-alerts`"), "{stored}");

    put_endpoint(&app, "cs-alerts", json!({ "url": "sink:" })).await;
    put_endpoint(&app, "cs-leads", json!({ "url": "sink:", "enabled": false })).await;
    let stored = expect_json(app.put("/api/v1/spaces/cs/workflows/tell", &workflow).await, StatusCode::OK).await;
    assert_eq!(error_paths(&json!({ "errors": stored["warnings"] })), ["/actions/1/notify/email", "/actions/2/script"]);
    assert!(stored["warnings"][1]["message"].as_str().unwrap().contains("`cs-leads` is disabled"), "{stored}");
}

/// A sender that repeats a post (the same `webhook-id`, signature and body) within the
/// signature's tolerance gets a success each time, and the hook's workflow runs once, even
/// when the server restarted between the copies.
#[tokio::test]
async fn replayed_inbound_posts_run_once_even_across_a_restart() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let stored = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &json!({})).await, StatusCode::CREATED).await;
    let secret = stored["secret"].as_str().unwrap().to_owned();
    let workflow = json!({ "trigger": { "hook": "usage" }, "actions": [ { "script": "print(payload.n);" } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/usage", &workflow).await, StatusCode::CREATED).await;

    let signer = standardwebhooks::Webhook::new(&secret).unwrap();
    let timestamp = chrono::Utc::now().timestamp();
    let signed = |id: &'static str, body: &'static str| {
        let signature = signer.sign(id, timestamp, body.as_bytes()).unwrap();
        move |app: &TestApp| {
            app.client
                .post(app.url("/api/v1/spaces/cs/hooks/usage"))
                .header("content-type", "application/json")
                .header("webhook-id", id.to_owned())
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature.clone())
                .body(body.to_owned())
        }
    };
    let first = signed("msg_replayed", r#"{"n": 1}"#);
    let accepted = expect_json(first(&app).send().await.unwrap(), StatusCode::ACCEPTED).await;
    let seq = accepted["event"].as_u64().unwrap();
    let replay = expect_json(first(&app).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(replay["replay"], true, "{replay}");
    assert_eq!(app.last_event_seq(), seq, "a replay appends nothing");

    let (data_dir, token) = app.stop().await;
    let app = TestApp::spawn_with(data_dir, Some(token), |_| {}).await;
    let replay = expect_json(first(&app).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(replay["replay"], true, "{replay}");
    assert_eq!(app.last_event_seq(), seq, "a replay after a restart appends nothing");
    // A copy whose signature no longer matches is refused as before, not taken as a replay.
    let forged = app
        .client
        .post(app.url("/api/v1/spaces/cs/hooks/usage"))
        .header("webhook-id", "msg_replayed")
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", "v1,AAAA")
        .body(r#"{"n": 1}"#);
    expect_problem(forged.send().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Another message with the same body is a new post.
    let other = signed("msg_other", r#"{"n": 1}"#);
    let accepted = expect_json(other(&app).send().await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(accepted["event"], seq + 1);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let runs = expect_json(app.get("/api/v1/spaces/cs/runs?workflow=usage").await, StatusCode::OK).await;
        let items = runs["items"].as_array().unwrap();
        if items.len() >= 2 {
            assert_eq!(items.len(), 2, "one run per message: {runs}");
            break;
        }
        assert!(Instant::now() < deadline, "{runs}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Give a stray run time to appear, then count again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = expect_json(app.get("/api/v1/spaces/cs/runs?workflow=usage").await, StatusCode::OK).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 2, "{runs}");
}

/// Endpoints and hooks can be deleted, but not while a workflow uses them: the 409 names the
/// workflows. A deleted hook refuses posts like one that never existed.
#[tokio::test]
async fn endpoints_and_hooks_are_deleted_unless_a_workflow_uses_them() {
    let app = TestApp::spawn().await;
    notifying_space(&app, json!({ "webhook": "cs-alerts" })).await;
    put_endpoint(&app, "cs-alerts", json!({ "url": "sink:" })).await;
    put_endpoint(&app, "spare", json!({ "url": "sink:" })).await;
    let used = app.delete("/api/v1/spaces/cs/webhooks/cs-alerts", None).await;
    let problem = expect_problem(used, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("workflow(s) tell"), "{problem}");
    assert_eq!(app.delete("/api/v1/spaces/cs/webhooks/spare", None).await.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get("/api/v1/spaces/cs/webhooks/spare").await, StatusCode::NOT_FOUND, "not-found").await;
    let again = app.delete("/api/v1/spaces/cs/webhooks/spare", None).await;
    expect_problem(again, StatusCode::NOT_FOUND, "not-found").await;
    let names = expect_json(app.get("/api/v1/spaces/cs/webhooks").await, StatusCode::OK).await;
    assert_eq!(names["items"].as_array().unwrap().len(), 1, "{names}");

    let stored = expect_json(app.put("/api/v1/spaces/cs/hooks/usage", &json!({})).await, StatusCode::CREATED).await;
    let secret = stored["secret"].as_str().unwrap().to_owned();
    expect_json(app.put("/api/v1/spaces/cs/hooks/idle", &json!({})).await, StatusCode::CREATED).await;
    let workflow = json!({ "trigger": { "hook": "usage" }, "actions": [ { "script": "print(event.hook);" } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/usage", &workflow).await, StatusCode::CREATED).await;
    let used = app.delete("/api/v1/spaces/cs/hooks/usage", None).await;
    let problem = expect_problem(used, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("workflow(s) usage"), "{problem}");
    assert_eq!(app.delete("/api/v1/spaces/cs/hooks/idle", None).await.status(), StatusCode::NO_CONTENT);
    let hooks = expect_json(app.get("/api/v1/spaces/cs/hooks").await, StatusCode::OK).await;
    assert_eq!(hooks["items"].as_array().unwrap().iter().map(|h| h["name"].clone()).collect::<Vec<_>>(), ["usage"]);

    // Once no workflow is triggered by it, it goes, and its secret opens nothing.
    let elsewhere = json!({ "trigger": { "form": "account", "on": ["created"] } });
    expect_json(app.put("/api/v1/spaces/cs/workflows/usage", &elsewhere).await, StatusCode::OK).await;
    assert_eq!(app.delete("/api/v1/spaces/cs/hooks/usage", None).await.status(), StatusCode::NO_CONTENT);
    let url = app.url("/api/v1/spaces/cs/hooks/usage");
    let refused = signed_post(&app.client, &url, &secret, r#"{"score": 1}"#).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
