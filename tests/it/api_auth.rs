//! Authentication: every `/api/` route needs a known bearer token; probes don't.

use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn api_routes_need_a_known_bearer_token() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let routes = [
        (Method::GET, "/api/v1/spaces".to_owned()),
        (Method::POST, "/api/v1/spaces".to_owned()),
        (Method::GET, "/api/v1/spaces/cs".to_owned()),
        (Method::GET, "/api/v1/openapi.json".to_owned()),
        (Method::GET, "/api/v1/spaces/cs/forms".to_owned()),
        (Method::PUT, "/api/v1/spaces/cs/forms/account".to_owned()),
        (Method::GET, records_path("cs", "account")),
        (Method::POST, records_path("cs", "account")),
        (Method::GET, "/api/v1/no/such/route".to_owned()),
    ];
    for (method, path) in routes {
        let anonymous = app.client.request(method.clone(), app.url(&path)).send().await.unwrap();
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        expect_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

        let forged = format!("tend_{}", "A".repeat(43));
        let unknown = app.client.request(method.clone(), app.url(&path)).bearer_auth(forged).send().await.unwrap();
        expect_problem(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;

        let basic =
            app.client.request(method, app.url(&path)).basic_auth("admin", Some(&app.token)).send().await.unwrap();
        expect_problem(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // Nothing was created by the refused POSTs.
    let spaces = expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
    assert_eq!(spaces["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn probes_and_metrics_need_no_token() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// RFC 9110: the authentication scheme is case-insensitive.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .client
            .get(app.url("/api/v1/spaces"))
            .header("authorization", format!("{scheme} {}", app.token))
            .send()
            .await
            .unwrap();
        expect_json(response, StatusCode::OK).await;
    }
    let spaced = app.client.get(app.url("/api/v1/spaces")).header("authorization", "Bearer   ").send().await.unwrap();
    expect_problem(spaced, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_a_revoked_one_fails_at_once() {
    let app = TestApp::spawn().await;
    let (secret, info) = app.engine.create_admin_token(Some("ci".into())).await.unwrap();
    let with_ci = |path: &str| app.client.get(app.url(path)).bearer_auth(&secret).send();
    expect_json(with_ci("/api/v1/spaces").await.unwrap(), StatusCode::OK).await;

    let listed = expect_json(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    assert_eq!(items[1]["id"], info.id.as_str());
    assert_eq!(items[1]["label"], "ci");
    assert!(!listed.to_string().contains("tend_"), "no secrets: {listed}");

    let revoked = app.delete(&format!("/api/v1/tokens/{}", info.id), None).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    expect_problem(with_ci("/api/v1/spaces").await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    let again = app.delete(&format!("/api/v1/tokens/{}", info.id), None).await;
    expect_problem(again, StatusCode::NOT_FOUND, "not-found").await;
    let listed = expect_json(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}
