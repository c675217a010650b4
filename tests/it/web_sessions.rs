//! Browser sign-in: sessions in a cookie, opened with a token or a one-time sign-in link,
//! checked for CSRF on unsafe methods, ended by signing out.

use std::sync::Arc;

use chrono::{Duration, Utc};
use engine::{EngineConfig, ManualClock};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Client, Response, StatusCode};
use serde_json::json;
use web::config::Config;
use web::startup::Application;

use crate::support::*;

/// A client that shows redirects instead of following them and keeps no cookies of its own.
fn browser() -> Client {
    Client::builder().redirect(redirect::Policy::none()).build().expect("client")
}

/// The `tend_session=...` pair of a Set-Cookie answer, checked for its attributes.
fn session_cookie(response: &Response) -> String {
    let set_cookie = response.headers().get(SET_COOKIE).expect("a Set-Cookie header").to_str().expect("ASCII");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    let pair = set_cookie.split(';').next().expect("a pair").to_owned();
    assert!(pair.starts_with("tend_session=") && pair.len() > "tend_session=".len() + 40, "{set_cookie}");
    pair
}

async fn follow_link(app_url: &str, code: &str) -> Response {
    browser().get(format!("{app_url}/api/v1/auth/link/{code}")).send().await.expect("GET link")
}

#[tokio::test]
async fn a_sign_in_link_opens_a_session_once() {
    let app = TestApp::spawn().await;
    let base = app.url("");
    let (code, _) = app.engine.create_sign_in_link(None).await.expect("link");
    let opened = follow_link(&base, &code).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(opened.headers()[LOCATION], "/");
    let cookie = session_cookie(&opened);
    assert!(!opened.headers()[SET_COOKIE].to_str().expect("ASCII").contains("Secure"), "plain HTTP: no Secure");

    let me = browser().get(app.url("/api/v1/auth/me")).header(COOKIE, &cookie).send().await.expect("GET me");
    let me = expect_json(me, StatusCode::OK).await;
    assert_eq!(me["via"], "session", "{me}");
    assert_eq!(me["role"], "admin", "{me}");
    assert!(me["session_expires_at"].is_string(), "{me}");
    // The session reaches the rest of the API like a token does.
    let spaces = browser().get(app.url("/api/v1/spaces")).header(COOKIE, &cookie).send().await.expect("GET");
    assert_eq!(spaces.status(), StatusCode::OK);

    // Single use: the same link again opens nothing and sends the person to the sign-in page.
    let again = follow_link(&base, &code).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()[LOCATION], "/signin?link=invalid");
    assert!(again.headers().get(SET_COOKIE).is_none());
    let made_up = follow_link(&base, "not-a-code").await;
    assert_eq!(made_up.headers()[LOCATION], "/signin?link=invalid");
}

#[tokio::test]
async fn a_sign_in_link_expires_after_fifteen_minutes_and_so_does_a_session_after_a_week() {
    let data_dir = tempfile::TempDir::new().expect("temp dir");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let config = Config { data_dir: data_dir.path().to_path_buf(), bind: "127.0.0.1:0".into(), ..Config::default() };
    let engine_config = EngineConfig { clock: clock.clone(), ..EngineConfig::new(data_dir.path()) };
    let app = Application::build_with(config, engine_config).await.expect("the server builds");
    let base = format!("http://{}", app.local_addr());
    let engine = app.engine().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let (late, _) = engine.create_sign_in_link(None).await.expect("link");
    let (in_time, _) = engine.create_sign_in_link(None).await.expect("link");
    clock.advance(Duration::minutes(14));
    let opened = follow_link(&base, &in_time).await;
    assert_eq!(opened.headers()[LOCATION], "/", "a link used within 15 minutes works");
    let cookie = session_cookie(&opened);
    clock.advance(Duration::minutes(2));
    let expired = follow_link(&base, &late).await;
    assert_eq!(expired.headers()[LOCATION], "/signin?link=invalid", "16 minutes on, the link is dead");
    assert!(expired.headers().get(SET_COOKIE).is_none());

    let me = |cookie: String| {
        let url = format!("{base}/api/v1/auth/me");
        async move { browser().get(url).header(COOKIE, cookie).send().await.expect("GET me") }
    };
    assert_eq!(me(cookie.clone()).await.status(), StatusCode::OK);
    clock.advance(Duration::days(7));
    expect_problem(me(cookie).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let _ = stop.send(());
    server.await.expect("server task").expect("server stopped cleanly");
}

#[tokio::test]
async fn a_token_opens_a_session_and_signing_out_ends_it_on_the_server() {
    let app = TestApp::spawn().await;
    let origin = app.url("");
    let sign_in = |body: serde_json::Value, origin: Option<String>| {
        let mut request = browser().post(app.url("/api/v1/auth/session")).json(&body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { request.send().await.expect("POST session") }
    };
    let wrong = sign_in(json!({ "token": "tend_wrong" }), Some(origin.clone())).await;
    let problem = expect_problem(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(problem["errors"][0]["path"], "/token", "{problem}");
    let missing = sign_in(json!({}), Some(origin.clone())).await;
    expect_problem(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let cross_site = sign_in(json!({ "token": app.token }), Some("http://evil.example".into())).await;
    expect_problem(cross_site, StatusCode::FORBIDDEN, "cross-origin").await;

    let opened = sign_in(json!({ "token": app.token }), Some(origin.clone())).await;
    assert_eq!(opened.status(), StatusCode::CREATED);
    let cookie = session_cookie(&opened);
    let me: serde_json::Value = opened.json().await.expect("JSON");
    assert_eq!(me["via"], "session", "{me}");

    let sign_out = browser()
        .delete(app.url("/api/v1/auth/session"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("DELETE session");
    assert_eq!(sign_out.status(), StatusCode::NO_CONTENT);
    assert!(sign_out.headers()[SET_COOKIE].to_str().expect("ASCII").contains("Max-Age=0"));
    // The cookie a browser (or a thief) kept no longer works: the session is gone server-side.
    let after = browser().get(app.url("/api/v1/auth/me")).header(COOKIE, &cookie).send().await.expect("GET me");
    expect_problem(after, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn unsafe_requests_with_a_session_cookie_need_a_same_origin_signal() {
    let app = TestApp::spawn().await;
    let (code, _) = app.engine.create_sign_in_link(None).await.expect("link");
    let cookie = session_cookie(&follow_link(&app.url(""), &code).await);
    let create = |headers: &[(&str, String)]| {
        let mut request =
            browser().post(app.url("/api/v1/spaces")).header(COOKIE, &cookie).json(&json!({"name": "cs"}));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        async move { request.send().await.expect("POST space") }
    };
    expect_problem(create(&[]).await, StatusCode::FORBIDDEN, "cross-origin").await;
    let forged = create(&[("origin", "http://evil.example".into()), ("sec-fetch-site", "cross-site".into())]).await;
    expect_problem(forged, StatusCode::FORBIDDEN, "cross-origin").await;
    assert!(app.get("/api/v1/spaces/cs").await.status() == StatusCode::NOT_FOUND, "nothing was created");

    let same_origin = create(&[("origin", app.url(""))]).await;
    assert_eq!(same_origin.status(), StatusCode::CREATED);
    let fetch_metadata = browser()
        .delete(app.url("/api/v1/auth/session"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(fetch_metadata.status(), StatusCode::NO_CONTENT);
    // Bearer requests are not affected: no Origin needed.
    let bearer = app.post("/api/v1/spaces", &json!({"name": "ops"})).await;
    assert_eq!(bearer.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_secure_flag_follows_tls_at_a_proxy_or_the_setting() {
    let app = TestApp::spawn_configured(|config| config.http.secure_cookies = true).await;
    let (code, _) = app.engine.create_sign_in_link(None).await.expect("link");
    let opened = follow_link(&app.url(""), &code).await;
    assert!(opened.headers()[SET_COOKIE].to_str().expect("ASCII").contains("; Secure"));

    let plain = TestApp::spawn().await;
    let (code, _) = plain.engine.create_sign_in_link(None).await.expect("link");
    let proxied = browser()
        .get(plain.url(&format!("/api/v1/auth/link/{code}")))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("GET link");
    assert!(proxied.headers()[SET_COOKIE].to_str().expect("ASCII").contains("; Secure"));
}
