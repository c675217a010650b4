//! Dashboards: `/api/v1/spaces/{space}/dashboards`, versioned and checked against the space's
//! forms, and their data under a date range and an owner; and the dashboard a pack ships.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const DASHBOARDS: &str = "/api/v1/spaces/cs/dashboards";

fn definition() -> Value {
    json!({
        "title": "Accounts",
        "date_range": { "from": "2027-01-01", "to": "2027-12-31" },
        "widgets": [
            { "id": "at_risk", "title": "ARR at risk", "type": "kpi", "form": "account", "owner_field": "owner",
              "format": "currency", "currency": "USD",
              "query": { "filter": "health < 50", "metrics": [{ "op": "sum", "field": "arr", "as": "arr" }] } },
            { "id": "tiers", "title": "Tiers", "type": "pie", "form": "account", "owner_field": "owner",
              "query": { "group_by": ["tier"], "metrics": [{ "op": "count" }] } },
            { "id": "renewals", "title": "Renewals by month", "type": "bar", "form": "account", "date_field": "renewal_date",
              "query": { "group_by": [{ "field": "renewal_date", "bucket": "month" }], "metrics": [{ "op": "count" }] } },
            { "id": "share", "title": "Share at risk", "type": "kpi", "form": "account", "format": "percent",
              "ratio": { "numerator": { "filter": "health < 50", "metrics": [{ "op": "count" }] },
                         "denominator": { "metrics": [{ "op": "count" }] } } }
        ]
    })
}

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for (name, tier, health, arr, owner, renewal) in [
        ("Acme", "enterprise", 40, 200000, "ana@example.com", "2027-03-01"),
        ("Bluepeak", "growth", 45, 50000, "ben@example.com", "2027-03-15"),
        ("Cobalt", "growth", 90, 60000, "ana@example.com", "2027-05-01"),
        ("Dune", "starter", 80, 10000, "ben@example.com", "2028-01-10"),
    ] {
        let data = json!({ "name": name, "tier": tier, "health": health, "arr": arr, "owner": owner, "renewal_date": renewal });
        app.create_record("cs", "account", &data).await;
    }
    app
}

fn widget<'a>(data: &'a Value, id: &str) -> &'a Value {
    data["widgets"].as_array().expect("widgets").iter().find(|w| w["id"] == id).expect("widget")
}

#[tokio::test]
async fn dashboards_are_versioned_checked_and_deleted() {
    let app = seeded().await;
    let mut named = definition();
    named["name"] = json!("accounts");
    let created = app.post(DASHBOARDS, &named).await;
    assert_eq!(created.headers()["etag"], "\"1\"");
    let created = expect_json(created, StatusCode::CREATED).await;
    assert_eq!((created["name"].as_str(), created["version"].as_u64()), (Some("accounts"), Some(1)));
    expect_problem(app.post(DASHBOARDS, &named).await, StatusCode::CONFLICT, "already-exists").await;

    let mut changed = definition();
    changed["title"] = json!("Accounts and risk");
    let stale =
        app.request(reqwest::Method::PUT, &format!("{DASHBOARDS}/accounts")).header("if-match", "\"7\"").json(&changed);
    let problem =
        expect_problem(stale.send().await.expect("PUT"), StatusCode::PRECONDITION_FAILED, "precondition-failed").await;
    assert_eq!(problem["current_version"], 1);
    let fresh =
        app.request(reqwest::Method::PUT, &format!("{DASHBOARDS}/accounts")).header("if-match", "\"1\"").json(&changed);
    let stored = expect_json(fresh.send().await.expect("PUT"), StatusCode::OK).await;
    assert_eq!(stored["version"], 2);
    let unchanged = expect_json(app.put(&format!("{DASHBOARDS}/accounts"), &changed).await, StatusCode::OK).await;
    assert_eq!(unchanged["version"], 2, "the same definition stores no new version");
    let first = expect_json(app.get(&format!("{DASHBOARDS}/accounts?version=1")).await, StatusCode::OK).await;
    assert_eq!(first["definition"]["title"], "Accounts");
    let listed = expect_json(app.get(DASHBOARDS).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    let mut bad = definition();
    bad["widgets"][0]["query"]["metrics"][0]["field"] = json!("nope");
    bad["widgets"][1]["form"] = json!("ghost");
    bad["widgets"][2]["date_field"] = json!("tier");
    bad["widgets"][3]["ratio"]["numerator"]["filter"] = json!("renewal_date < {today+3x}");
    let problem = expect_problem(
        app.put(&format!("{DASHBOARDS}/bad"), &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        error_paths(&problem),
        [
            "/widgets/0/query/metrics/0/field",
            "/widgets/1/form",
            "/widgets/2/date_field",
            "/widgets/3/ratio/numerator/filter"
        ],
        "{problem}"
    );
    let coloured = json!({ "title": "Bands", "widgets": [{ "id": "bands", "title": "Bands", "type": "pie", "form": "account",
        "query": { "metrics": [{ "op": "count" }] },
        "segments": [{ "label": "Big", "filter": "arr >= 100000", "color": "green" }] }] });
    let problem = expect_problem(
        app.put(&format!("{DASHBOARDS}/bands"), &coloured).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/widgets/0/segments/0/color"], "{problem}");

    assert_eq!(
        app.delete(&format!("{DASHBOARDS}/accounts"), Some("\"1\"")).await.status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(app.delete(&format!("{DASHBOARDS}/accounts"), Some("\"2\"")).await.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get(&format!("{DASHBOARDS}/accounts")).await, StatusCode::NOT_FOUND, "not-found").await;
    expect_problem(app.get("/api/v1/spaces/nope/dashboards").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn dashboard_data_applies_the_range_and_the_owner_to_every_widget() {
    let app = seeded().await;
    expect_json(app.put(&format!("{DASHBOARDS}/accounts"), &definition()).await, StatusCode::CREATED).await;

    let data = expect_json(app.get(&format!("{DASHBOARDS}/accounts/data")).await, StatusCode::OK).await;
    assert_eq!((data["from"].as_str(), data["to"].as_str()), (Some("2027-01-01"), Some("2027-12-31")));
    assert_eq!(widget(&data, "at_risk")["total"]["arr"], 250000);
    assert_eq!(widget(&data, "share")["total"]["value"], 0.5);
    let renewals = widget(&data, "renewals");
    let months: Vec<(&str, u64)> = renewals["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["key"]["renewal_date"].as_str().unwrap_or(""), r["values"]["count"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(months, [("2027-03-01", 2), ("2027-05-01", 1)], "Dune renews after the range");
    let march = &renewals["rows"][0]["filter"];
    let listed = app
        .request(reqwest::Method::GET, &records_path("cs", "account"))
        .query(&[("filter", march.as_str().expect("a filter"))])
        .send()
        .await
        .expect("GET");
    let listed = expect_json(listed, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2), "a bar's filter lists its records: {march}");

    let body = json!({ "owner": "ana@example.com", "from": "2027-03-01", "to": "2027-03-31" });
    let ana = expect_json(app.post(&format!("{DASHBOARDS}/accounts/data"), &body).await, StatusCode::OK).await;
    assert_eq!(widget(&ana, "at_risk")["total"]["arr"], 200000);
    let tiers: Vec<&Value> =
        widget(&ana, "tiers")["rows"].as_array().expect("rows").iter().map(|r| &r["key"]["tier"]).collect();
    assert_eq!(tiers, [&json!("enterprise"), &json!("growth")]);
    assert_eq!(widget(&ana, "renewals")["rows"].as_array().map(Vec::len), Some(1), "only March");
    assert_eq!(widget(&ana, "share")["total"]["value"], 0.5, "no owner field: not narrowed");

    let backwards = app.get(&format!("{DASHBOARDS}/accounts/data?from=2027-05-01&to=2027-01-01")).await;
    expect_problem(backwards, StatusCode::BAD_REQUEST, "bad-query").await;
    let garbage = app.get(&format!("{DASHBOARDS}/accounts/data?from=soon")).await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_customer_success_pack_ships_the_cs_overview() {
    let app = TestApp::spawn().await;
    let space = json!({ "name": "cs", "template": "customer-success", "sample_data": true });
    expect_json(app.post("/api/v1/spaces", &space).await, StatusCode::CREATED).await;
    let listed = expect_json(app.get(DASHBOARDS).await, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["name"], "cs-overview");
    let data = expect_json(app.get(&format!("{DASHBOARDS}/cs-overview/data")).await, StatusCode::OK).await;
    for widget in data["widgets"].as_array().expect("widgets") {
        assert!(widget.get("error").is_none(), "{widget}");
    }
    let bands = widget(&data, "health_bands");
    let accounts: u64 =
        bands["rows"].as_array().expect("rows").iter().filter_map(|r| r["values"]["accounts"].as_u64()).sum();
    assert_eq!(accounts, 10, "every sample account is in one band");
    let grr = widget(&data, "grr")["total"]["value"].as_f64().expect("a GRR");
    assert!((0.5..=1.0).contains(&grr), "{grr}");
    // A team narrows every widget with an owner field to its members' records.
    let team =
        expect_json(app.get(&format!("{DASHBOARDS}/cs-overview/data?team=enterprise")).await, StatusCode::OK).await;
    assert_eq!(team["team"], "enterprise");
    let team_accounts: u64 = widget(&team, "health_bands")["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["values"]["accounts"].as_u64())
        .sum();
    assert!(team_accounts < accounts, "{team_accounts} of {accounts} accounts");
    // The definition's team lists emails; the owners are the ids of the users made for them.
    assert!(team_accounts > 0, "the team's emails name the users the sample data made");
    // A team of the space's members narrows the same way.
    let ana = expect_json(app.get("/api/v1/spaces/cs/members").await, StatusCode::OK).await["items"]
        .as_array()
        .and_then(|members| members.iter().find(|m| m["email"] == "ana.silva@example.com").cloned())
        .expect("Ana is a member");
    let path = format!("/api/v1/spaces/cs/members/{}", ana["user_id"].as_str().expect("an id"));
    expect_json(app.put(&path, &json!({ "role": "member", "teams": ["north"] })).await, StatusCode::OK).await;
    let north = expect_json(app.get(&format!("{DASHBOARDS}/cs-overview/data?team=north")).await, StatusCode::OK).await;
    let north_accounts: u64 = widget(&north, "health_bands")["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["values"]["accounts"].as_u64())
        .sum();
    assert!(north_accounts > 0 && north_accounts < accounts, "{north_accounts} of {accounts} accounts");
    let unknown = app.get(&format!("{DASHBOARDS}/cs-overview/data?team=nope")).await;
    let problem = expect_problem(unknown, StatusCode::BAD_REQUEST, "bad-query").await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("enterprise")), "{problem}");

    let copy = json!({ "name": "cs-emea", "from_space": "cs" });
    expect_json(app.post("/api/v1/spaces", &copy).await, StatusCode::CREATED).await;
    let copied = expect_json(app.get("/api/v1/spaces/cs-emea/dashboards/cs-overview").await, StatusCode::OK).await;
    assert_eq!(copied["version"], 1, "a copy takes the dashboards too");
}
