//! Probes, metrics and the OpenAPI documents.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn metrics_count_requests_records_and_events() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in [
        "tend_http_requests_total",
        "tend_http_request_duration_seconds_bucket",
        "tend_records_written_total",
        "tend_events_appended_total",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.contains("route=\"/api/v1/spaces/{space}/forms/{form}/records\""), "routes are templates:\n{text}");
    let health = expect_json(app.client.get(app.url("/readyz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(health, json!({ "status": "ready" }));
}

#[tokio::test]
async fn openapi_describes_every_route_and_each_forms_schema() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.put_form("cs", "contact", &contact_form()).await;

    let generic = expect_json(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    assert_eq!(generic["openapi"], "3.1.0");
    let paths = generic["paths"].as_object().unwrap();
    for path in [
        "/api/v1/spaces",
        "/api/v1/spaces/{space}",
        "/api/v1/spaces/{space}/openapi.json",
        "/api/v1/spaces/{space}/forms",
        "/api/v1/spaces/{space}/forms/{form}",
        "/api/v1/spaces/{space}/forms/{form}/records",
        "/api/v1/spaces/{space}/forms/{form}/records/{id}",
        "/api/v1/spaces/{space}/forms/{form}/records/{id}/history",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    for (_, item) in paths {
        for (_, operation) in item.as_object().unwrap() {
            assert!(operation["responses"]["default"].is_object(), "every operation documents its problem answer");
        }
    }

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
