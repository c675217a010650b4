//! Listing: filters, sorts and cursor pagination over 1,200 records, checked against the same
//! query computed in the test, with the query plan (index or scan) checked too.

use std::cmp::Ordering;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const N: usize = 1200;
const TIERS: [&str; 3] = ["starter", "growth", "enterprise"];

fn generated(i: usize) -> Value {
    let mut data = json!({
        "name": format!("Account {:04}", (i * 7919) % N),
        "tier": TIERS[i % 3],
        "arr": ((i * 37) % 500) as f64 * 1000.0,
        "renewal_date": format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
        "tags": if i.is_multiple_of(5) { json!(["strategic"]) } else { json!([]) },
    });
    // Every 10th account has no health yet: missing values must sort and filter consistently.
    if !i.is_multiple_of(10) {
        data["health"] = json!((i * 13) % 101);
    }
    data
}

async fn seeded() -> (TestApp, Vec<Value>) {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let created: Vec<Value> = futures::stream::iter(0..N)
        .map(|i| {
            let app = &app;
            async move { app.create_record("cs", "account", &generated(i)).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    (app, created)
}

/// Reads every page of a query; returns the records in order and the plan of the first page.
async fn fetch_all(app: &TestApp, filter: &str, sort: &str, limit: usize) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut plan = String::new();
    loop {
        let mut query = vec![("limit", limit.to_string())];
        if !filter.is_empty() {
            query.push(("filter", filter.to_owned()));
        }
        if !sort.is_empty() {
            query.push(("sort", sort.to_owned()));
        }
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response =
            app.request(reqwest::Method::GET, &records_path("cs", "account")).query(&query).send().await.unwrap();
        if plan.is_empty() {
            plan = response.headers()["tend-query-plan"].to_str().unwrap().to_owned();
        }
        let page = expect_json(response, StatusCode::OK).await;
        let batch = page["items"].as_array().unwrap();
        assert!(batch.len() <= limit);
        items.extend(batch.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(items.len() <= N, "pagination must end");
    }
    (items, plan)
}

fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Missing sorts first, then by value; ties by id in the direction of the last key.
fn expected(all: &[Value], keep: impl Fn(&Value) -> bool, field: Option<(&str, bool)>) -> Vec<String> {
    let mut kept: Vec<&Value> = all.iter().filter(|r| keep(&r["data"])).collect();
    kept.sort_by(|a, b| {
        let by_id = a["id"].as_str().cmp(&b["id"].as_str());
        match field {
            None => by_id,
            Some((field, descending)) => {
                let ordering = compare(&a["data"][field], &b["data"][field]).then(by_id);
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        }
    });
    kept.into_iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(a), Value::Number(b)) => a.as_f64().unwrap().total_cmp(&b.as_f64().unwrap()),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => panic!("unexpected values {a} {b}"),
    }
}

/// filter, sort, which records match, expected order, expected plan prefix.
type Case = (&'static str, &'static str, Box<dyn Fn(&Value) -> bool>, Option<(&'static str, bool)>, &'static str);

fn health(data: &Value) -> Option<i64> {
    data["health"].as_i64()
}

#[tokio::test]
async fn filters_sorts_and_pages_over_many_records() {
    let (app, all) = seeded().await;

    // Default order is creation (id) order; every record appears once across pages.
    let (items, plan) = fetch_all(&app, "", "", 100).await;
    assert_eq!(plan, "scan");
    assert_eq!(ids(&items), expected(&all, |_| true, None));

    let cases: Vec<Case> = vec![
        ("health < 60", "", Box::new(|d| health(d).is_some_and(|h| h < 60)), None, "index"),
        (
            "health >= 90 and tier = \"enterprise\"",
            "",
            Box::new(|d| health(d).is_some_and(|h| h >= 90) && d["tier"] == "enterprise"),
            None,
            "index",
        ),
        (
            "tier in [\"starter\", \"growth\"]",
            "-health",
            Box::new(|d| d["tier"] != "enterprise"),
            Some(("health", true)),
            "index",
        ),
        ("", "health", Box::new(|_| true), Some(("health", false)), "index-order:health"),
        ("", "-health", Box::new(|_| true), Some(("health", true)), "index-order:health"),
        ("health = null", "", Box::new(|d| health(d).is_none()), None, "index:health"),
        (
            "health != null and health <= 5",
            "name",
            Box::new(|d| health(d).is_some_and(|h| h <= 5)),
            Some(("name", false)),
            "index",
        ),
        (
            "renewal_date >= \"2027-06-01\" and renewal_date < \"2027-07-01\"",
            "",
            Box::new(|d| d["renewal_date"].as_str().unwrap().starts_with("2027-06")),
            None,
            "index:renewal_date",
        ),
        ("arr > 400000", "", Box::new(|d| d["arr"].as_f64().unwrap() > 400000.0), None, "scan"),
        ("arr > 400000", "-arr", Box::new(|d| d["arr"].as_f64().unwrap() > 400000.0), Some(("arr", true)), "scan"),
        (
            "tags contains \"strategic\" or health > 95",
            "",
            Box::new(|d| d["tags"] == json!(["strategic"]) || health(d).is_some_and(|h| h > 95)),
            None,
            "scan",
        ),
        (
            "name contains \"account 00\"",
            "-name",
            Box::new(|d| d["name"].as_str().unwrap().starts_with("Account 00")),
            Some(("name", true)),
            "index-order:name",
        ),
        (
            "(tier = \"growth\" or tier = \"starter\") and not health < 50",
            "",
            Box::new(|d| d["tier"] != "enterprise" && health(d).is_none_or(|h| h >= 50)),
            None,
            "scan",
        ),
    ];
    for (filter, sort, keep, order, plan_prefix) in cases {
        let want = expected(&all, keep, order);
        for limit in [7, 1000] {
            let (items, plan) = fetch_all(&app, filter, sort, limit).await;
            assert!(plan.starts_with(plan_prefix), "{filter} / {sort}: plan {plan}, expected {plan_prefix}");
            assert_eq!(ids(&items), want, "{filter} / {sort} / limit {limit} (plan {plan})");
        }
    }
}

#[tokio::test]
async fn bad_queries_are_400_naming_the_problem() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.create_record("cs", "account", &account("Acme", "growth", 40)).await;
    let cases = [
        ("filter", "nope = 1", Some("nope")),
        ("filter", "health < \"abc\"", Some("health")),
        ("filter", "tier > 3", Some("tier")),
        ("filter", "renewal_date < \"someday\"", Some("renewal_date")),
        ("filter", "health <", None),
        ("filter", "health < 60 and", None),
        ("filter", "(health < 60", None),
        ("sort", "-nope", Some("nope")),
        ("sort", "health,,name", None),
        ("limit", "0", None),
        ("limit", "1001", None),
        ("limit", "ten", None),
        ("cursor", "garbage", None),
    ];
    for (param, value, field) in cases {
        let response = app
            .request(reqwest::Method::GET, &records_path("cs", "account"))
            .query(&[(param, value)])
            .send()
            .await
            .unwrap();
        let problem = expect_json(response, StatusCode::BAD_REQUEST).await;
        assert!(problem["type"].as_str().unwrap().starts_with("urn:tend:problem:"), "{param}={value}: {problem}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{param}={value}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains(field), "{problem}");
        }
    }
    // A cursor only fits the query it came from.
    for i in 0..3 {
        app.create_record("cs", "account", &account(&format!("B{i}"), "growth", 40)).await;
    }
    let page =
        expect_json(app.get(&format!("{}?limit=1&sort=name", records_path("cs", "account"))).await, StatusCode::OK)
            .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let response = app.get(&format!("{}?limit=1&sort=-name&cursor={cursor}", records_path("cs", "account"))).await;
    expect_problem(response, StatusCode::BAD_REQUEST, "bad-query").await;
}

/// Every page of `sort` with `limit` 2: the ids in order, each page's plan, and whether every
/// cursor was accepted.
async fn all_pages(app: &TestApp, path: &str, sort: &str) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut plans = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("sort", sort.to_owned()), ("limit", "2".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response = app.request(reqwest::Method::GET, path).query(&query).send().await.unwrap();
        plans.push(response.headers()["tend-query-plan"].to_str().unwrap().to_owned());
        let page = expect_json(response, StatusCode::OK).await;
        ids.extend(page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (ids, plans),
        }
    }
}

/// A sort on long strings still gives cursors the server takes back, on the index and on a
/// scan, ascending and descending, and even when the page's last record is gone.
#[tokio::test]
async fn cursors_for_long_string_sort_keys_are_accepted_back() {
    let app = TestApp::spawn().await;
    app.create_space("docs").await;
    let form = json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "body": { "type": "string" } } }, "indexes": ["title"] });
    app.put_form("docs", "doc", &form).await;
    let long = "t".repeat(12_000);
    let mut by_suffix = Vec::new();
    for i in [4, 1, 6, 0, 3, 5, 2] {
        let data = json!({ "title": format!("{long}{i}"), "body": format!("{long}{}", 6 - i) });
        by_suffix.push((i, app.create_record("docs", "doc", &data).await["id"].as_str().unwrap().to_owned()));
    }
    by_suffix.sort();
    let ascending: Vec<String> = by_suffix.iter().map(|(_, id)| id.clone()).collect();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let path = records_path("docs", "doc");
    for (sort, expected, plan) in [
        ("title", &ascending, "index-order:title"),
        ("-title", &descending, "index-order:title"),
        ("-body", &ascending, "scan"),
        ("body,title", &descending, "scan"),
    ] {
        let (ids, plans) = all_pages(&app, &path, sort).await;
        assert_eq!(&ids, expected, "sort {sort}");
        assert!(plans.iter().all(|p| p == plan), "sort {sort}: {plans:?}");
    }

    // The last record of the first page is deleted before the next page is asked for: the
    // cursor is still accepted and nothing after it is missed.
    for sort in ["title", "-title", "body", "-body"] {
        let first = app.request(reqwest::Method::GET, &path).query(&[("sort", sort), ("limit", "2")]).send();
        let first = expect_json(first.await.unwrap(), StatusCode::OK).await;
        let last = first["items"][1]["id"].as_str().unwrap().to_owned();
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let deleted = app.delete(&format!("{path}/{last}"), None).await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let query = [("sort", sort), ("limit", "100"), ("cursor", cursor.as_str())];
        let rest = app.request(reqwest::Method::GET, &path).query(&query).send();
        let rest = expect_json(rest.await.unwrap(), StatusCode::OK).await;
        let rest: Vec<&str> = rest["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        let everything = expect_json(app.get(&format!("{path}?limit=100")).await, StatusCode::OK).await;
        let first_id = first["items"][0]["id"].as_str().unwrap();
        for item in everything["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            assert!(id == first_id || rest.contains(&id), "sort {sort}: {id} was skipped");
        }
    }
}
