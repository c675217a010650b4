//! The routes the router serves are exactly the routes the OpenAPI document describes.
//!
//! The router's side comes from the route table (every route is declared with
//! `Routes::listed`) and, for each path, the methods its `Allow` header names when asked with
//! a method no route takes; the document's side is its `paths`. A route added to one only
//! fails the test, and so does a route declared without `listed`.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use engine::{Engine, EngineConfig};
use tower::ServiceExt;

use super::{route_table, router};
use crate::config::Config;

/// `{param}` segments filled with a value every route accepts as a path.
fn concrete(path: &str) -> String {
    path.split('/').map(|segment| if segment.starts_with('{') { "x" } else { segment }).collect::<Vec<_>>().join("/")
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    let (token, _) = engine.create_admin_token(None).await.expect("token");
    let app = router(engine.clone(), &Config::default());

    let mut served = BTreeSet::new();
    let paths: Vec<&str> = route_table().lock().expect("route table").iter().copied().collect();
    assert!(paths.len() > 20, "the route table lists the routes: {paths:?}");
    for path in paths {
        let request = Request::builder()
            .method(Method::TRACE)
            .uri(concrete(path))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path} is routed");
        let allow = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
        for method in allow.split(',').map(str::trim).filter(|m| !m.is_empty() && *m != "HEAD") {
            served.insert((path.to_owned(), method.to_lowercase()));
        }
    }

    let request = Request::builder()
        .uri("/api/v1/openapi.json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let document: serde_json::Value = serde_json::from_slice(&bytes).expect("the document is JSON");
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }

    // The probes and metrics are for operators, not API clients: the document leaves them out.
    let operational = ["/healthz", "/readyz", "/metrics"];
    served.retain(|(path, _)| !operational.contains(&path.as_str()));
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in the OpenAPI document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the OpenAPI document but not served: {unserved:?}");
    // Every route has an entry in the authorization table.
    let unguarded: Vec<_> = documented
        .iter()
        .filter(|(path, method)| {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            super::authz::need(path, &method).is_none()
        })
        .collect();
    assert!(unguarded.is_empty(), "routes missing from the authorization table: {unguarded:?}");
    engine.close().expect("close");
}

#[test]
fn every_route_is_declared_through_the_route_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    // Spelled in two parts so that this file doesn't find itself.
    let bare_call = [".", "route("].concat();
    let mut bare = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/api") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
        // `self.route(` is the one call inside `Routes::listed` itself.
        if code.into_iter().any(|line| line.contains(&bare_call) && !line.contains("self.route(")) {
            bare.push(path.display().to_string());
        }
    }
    assert!(bare.is_empty(), "routes added with `{bare_call}` instead of `.listed(`: {bare:?}");
}

/// The inbound-hook post is outside the token check; everything else under `/api/`, the
/// hook's other methods and unknown paths included, is inside it.
#[tokio::test]
async fn only_the_inbound_post_goes_without_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    let app = router(engine.clone(), &Config::default());
    // Both checks answer 401; the detail tells which one answered.
    let refusal = |method: Method, uri: &str| {
        let request = Request::builder().method(method).uri(uri).body(Body::from("{}")).expect("request");
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.expect("response");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
            let problem: serde_json::Value = serde_json::from_slice(&body).expect("a problem document");
            (status, problem["detail"].as_str().unwrap_or_default().to_owned())
        }
    };
    let token_check = |(status, detail): (StatusCode, String)| {
        status == StatusCode::UNAUTHORIZED && detail.contains("Authorization: Bearer <token>")
    };
    // No such space: the hook's own check answers (its one refusal for every failure), not the
    // token check.
    let (status, detail) = refusal(Method::POST, "/api/v1/spaces/s/hooks/h").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!token_check((status, detail.clone())) && detail.contains("hook"), "{detail}");
    assert!(token_check(refusal(Method::GET, "/api/v1/spaces/s/hooks/h").await));
    assert!(token_check(refusal(Method::PUT, "/api/v1/spaces/s/hooks/h").await));
    assert!(token_check(refusal(Method::GET, "/api/v1/nothing-here").await));
    engine.close().expect("close");
}
