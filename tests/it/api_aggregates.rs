//! Aggregates through the real server: numbers checked against the records the test wrote,
//! the query plan, and problem+json with pointers for queries that don't fit the form.

use std::collections::BTreeMap;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const N: usize = 300;
const TIERS: [&str; 3] = ["starter", "growth", "enterprise"];

fn generated(i: usize) -> Value {
    let mut data = json!({
        "name": format!("Account {i:04}"),
        "tier": TIERS[i % 3],
        "arr": ((i * 37) % 50) as f64 * 1000.0,
        "owner": format!("csm{}@example.com", i % 4),
        "renewal_date": format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
    });
    // Every 10th account has no health yet: metrics skip it, counts don't.
    if !i.is_multiple_of(10) {
        data["health"] = json!((i * 13) % 101);
    }
    data
}

fn aggregate_path(space: &str, form: &str) -> String {
    format!("/api/v1/spaces/{space}/forms/{form}/aggregate")
}

#[tokio::test]
async fn aggregates_match_the_records_written() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let data: Vec<Value> = (0..N).map(generated).collect();
    futures::stream::iter(&data)
        .map(|d| app.create_record("cs", "account", d))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let path = aggregate_path("cs", "account");

    // Count, sum and average per tier, against the same numbers computed here.
    let query = json!({ "group_by": ["tier"], "metrics": [
        { "op": "count", "as": "accounts" }, { "op": "sum", "field": "arr", "as": "arr" },
        { "op": "avg", "field": "health", "as": "health" } ] });
    let response = app.post(&path, &query).await;
    let plan = response.headers().get("tend-query-plan").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(plan.as_deref(), Some("columns"));
    let got = expect_json(response, StatusCode::OK).await;
    let mut expected: BTreeMap<&str, (u64, f64, f64, u64)> = BTreeMap::new();
    for d in &data {
        let entry = expected.entry(d["tier"].as_str().unwrap()).or_default();
        entry.0 += 1;
        entry.1 += d["arr"].as_f64().unwrap();
        if let Some(health) = d["health"].as_f64() {
            entry.2 += health;
            entry.3 += 1;
        }
    }
    let groups = got["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 3, "{got}");
    for group in groups {
        let (count, arr, health_sum, health_n) = expected[group["key"]["tier"].as_str().unwrap()];
        assert_eq!(group["values"]["accounts"], json!(count), "{group}");
        assert_eq!(group["values"]["arr"].as_f64(), Some(arr), "{group}");
        let avg = group["values"]["health"].as_f64().unwrap();
        assert!((avg - health_sum / health_n as f64).abs() < 1e-9, "{group}");
    }
    assert_eq!(got["total"]["accounts"], json!(N));

    // ARR by month of the renewal, for a selective filter on an indexed field.
    let query = json!({ "filter": "tier = \"enterprise\" and renewal_date >= \"2027-07-01\"",
        "group_by": [{ "field": "renewal_date", "bucket": "month", "as": "month" }],
        "metrics": [{ "op": "sum", "field": "arr", "as": "arr" }], "sort": "-arr", "limit": 3 });
    let response = app.post(&path, &query).await;
    let plan = response.headers().get("tend-query-plan").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(plan.as_deref().is_some_and(|p| p.starts_with("index:")), "{plan:?}");
    let got = expect_json(response, StatusCode::OK).await;
    let mut by_month: BTreeMap<String, f64> = BTreeMap::new();
    for d in data.iter().filter(|d| d["tier"] == "enterprise" && d["renewal_date"].as_str().unwrap() >= "2027-07-01") {
        *by_month.entry(format!("{}-01", &d["renewal_date"].as_str().unwrap()[..7])).or_default() +=
            d["arr"].as_f64().unwrap();
    }
    let mut top: Vec<(String, f64)> = by_month.clone().into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(3);
    let got_top: Vec<(String, f64)> = got["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"]["month"].as_str().unwrap().to_owned(), g["values"]["arr"].as_f64().unwrap()))
        .collect();
    assert_eq!(got_top, top);
    assert_eq!(got["total"]["arr"].as_f64(), Some(by_month.values().sum()));

    // Health bands by owner.
    let query = json!({ "group_by": ["owner", { "field": "health", "bins": [50, 80], "as": "band" }],
        "filter": "owner = \"csm1@example.com\"" });
    let got = expect_json(app.post(&path, &query).await, StatusCode::OK).await;
    let mine: Vec<&Value> = data.iter().filter(|d| d["owner"] == "csm1@example.com").collect();
    let band_count = |band: &Value| -> u64 {
        let count =
            |pred: &dyn Fn(Option<f64>) -> bool| mine.iter().filter(|d| pred(d["health"].as_f64())).count() as u64;
        match (band.get("from").and_then(Value::as_f64), band.get("to").and_then(Value::as_f64)) {
            _ if band.is_null() => count(&|h| h.is_none()),
            (None, Some(to)) => count(&|h| h.is_some_and(|h| h < to)),
            (Some(from), Some(to)) => count(&|h| h.is_some_and(|h| h >= from && h < to)),
            (Some(from), None) => count(&|h| h.is_some_and(|h| h >= from)),
            (None, None) => unreachable!("a bin has an edge"),
        }
    };
    let mut seen = 0;
    for group in got["groups"].as_array().unwrap() {
        assert_eq!(group["key"]["owner"], "csm1@example.com");
        assert_eq!(group["values"]["count"], json!(band_count(&group["key"]["band"])), "{group}");
        seen += group["values"]["count"].as_u64().unwrap();
    }
    assert_eq!(seen, mine.len() as u64);
}

#[tokio::test]
async fn bad_aggregates_are_problems_with_pointers() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let path = aggregate_path("cs", "account");
    let problem = expect_problem(
        app.post(&path, &json!({ "metrics": [{ "op": "count" }, { "op": "sum", "field": "nope" }] })).await,
        StatusCode::BAD_REQUEST,
        "bad-query",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/metrics/1/field"]);
    assert!(problem["detail"].as_str().unwrap().contains("nope"), "{problem}");
    let problem = expect_problem(
        app.post(&path, &json!({ "group_by": [{ "field": "tier", "bucket": "month" }], "metrics": [{ "op": "avg", "field": "name" }], "extra": 1 })).await,
        StatusCode::BAD_REQUEST,
        "bad-query",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/extra", "/group_by/0/bucket", "/metrics/0/field"]);
    // The body is strict JSON.
    let response = app
        .request(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body(r#"{"limit": 1, "limit": 2}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.post(&aggregate_path("cs", "nope"), &json!({})).await;
    expect_problem(response, StatusCode::NOT_FOUND, "not-found").await;
}
