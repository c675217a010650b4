//! Saved views: `/api/v1/spaces/{space}/forms/{form}/views`, checked against the form,
//! personal or shared; and the views a pack ships.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

const VIEWS: &str = "/api/v1/spaces/cs/forms/account/views";

#[tokio::test]
async fn views_are_saved_checked_listed_replaced_and_deleted() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let at_risk = json!({ "name": "at-risk", "title": "At risk", "filter": "health < 50", "sort": "-health",
                          "columns": ["name", "health"], "shared": true });
    let created = expect_json(app.post(VIEWS, &at_risk).await, StatusCode::CREATED).await;
    assert_eq!(created["name"], "at-risk");
    assert_eq!(created["resolved_filter"], "health < 50");
    expect_problem(app.post(VIEWS, &at_risk).await, StatusCode::CONFLICT, "already-exists").await;

    let bad =
        json!({ "name": "bad", "title": "Bad", "filter": "health <", "columns": ["name", "nope"], "sort": "nope" });
    let problem = expect_problem(app.post(VIEWS, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let paths: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(paths, ["/filter", "/sort", "/columns/1"], "{problem}");
    let nameless = app.post(VIEWS, &json!({ "title": "No name" })).await;
    expect_problem(nameless, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    let replaced = app.put(&format!("{VIEWS}/at-risk"), &json!({ "title": "At risk (enterprise)", "filter": "health < 50 and tier = \"enterprise\"", "shared": true })).await;
    let replaced = expect_json(replaced, StatusCode::OK).await;
    assert_eq!(replaced["title"], "At risk (enterprise)");
    let fetched = expect_json(app.get(&format!("{VIEWS}/at-risk")).await, StatusCode::OK).await;
    assert_eq!(fetched["filter"], "health < 50 and tier = \"enterprise\"");
    let listed = expect_json(app.get(VIEWS).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);

    assert_eq!(app.delete(&format!("{VIEWS}/at-risk"), None).await.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get(&format!("{VIEWS}/at-risk")).await, StatusCode::NOT_FOUND, "not-found").await;
    expect_problem(app.get("/api/v1/spaces/cs/forms/nope/views").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn a_personal_view_is_seen_by_whoever_saved_it_only() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let (other, _) = app.engine.create_admin_token(Some("other".into())).await.expect("token");
    let mine = json!({ "name": "mine", "title": "Mine", "filter": "tier = \"growth\"" });
    expect_json(app.post(VIEWS, &mine).await, StatusCode::CREATED).await;
    let shared = json!({ "name": "team", "title": "Team", "shared": true });
    expect_json(app.post(VIEWS, &shared).await, StatusCode::CREATED).await;

    let as_other =
        |method: reqwest::Method, path: String| app.client.request(method, app.url(&path)).bearer_auth(&other);
    let listed = as_other(reqwest::Method::GET, VIEWS.into()).send().await.expect("GET");
    let listed = expect_json(listed, StatusCode::OK).await;
    let names: Vec<&str> =
        listed["items"].as_array().expect("items").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["team"], "{listed}");
    let hidden = as_other(reqwest::Method::GET, format!("{VIEWS}/mine")).send().await.expect("GET");
    expect_problem(hidden, StatusCode::NOT_FOUND, "not-found").await;
    let taken = as_other(reqwest::Method::PUT, format!("{VIEWS}/mine")).json(&mine).send().await.expect("PUT");
    expect_problem(taken, StatusCode::CONFLICT, "already-exists").await;
}

#[tokio::test]
async fn the_customer_success_pack_ships_its_views() {
    let app = TestApp::spawn().await;
    let space = json!({ "name": "cs", "template": "customer-success" });
    expect_json(app.post("/api/v1/spaces", &space).await, StatusCode::CREATED).await;
    let titles = |form: &'static str| {
        let path = format!("/api/v1/spaces/cs/forms/{form}/views");
        let app = &app;
        async move {
            let listed = expect_json(app.get(&path).await, StatusCode::OK).await;
            listed["items"].as_array().expect("items").clone()
        }
    };
    let accounts = titles("account").await;
    assert_eq!(accounts[0]["title"], "At-risk accounts");
    assert_eq!(accounts[0]["shared"], true);
    let renewals = titles("renewal").await;
    assert_eq!(renewals[0]["title"], "Renewals next 90 days");
    let today = chrono::Utc::now().date_naive();
    let in_90_days = today + chrono::Duration::days(90);
    let resolved = renewals[0]["resolved_filter"].as_str().expect("resolved filter");
    assert!(
        resolved.contains(&format!("\"{today}\"")) && resolved.contains(&format!("\"{in_90_days}\"")),
        "{resolved}"
    );
    let listed = app
        .client
        .get(app.url("/api/v1/spaces/cs/forms/renewal/records"))
        .query(&[("filter", resolved)])
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(listed.status(), StatusCode::OK, "the resolved filter lists");
    assert_eq!(titles("task").await[0]["title"], "My open tasks");
}
