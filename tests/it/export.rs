//! Exports through the real server: the same records, in the same order, as the list API gives
//! for the same filter and sort, across pages, in each format; bad requests are problems, not
//! broken files.

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{account, expect_json, expect_problem, records_path, TestApp};

const ACCOUNTS: usize = 2_345;

async fn app_with_accounts() -> TestApp {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let bodies: Vec<Value> = (0..ACCOUNTS)
        .map(|i| {
            let tier = ["starter", "growth", "enterprise"][i % 3];
            let mut body = account(&format!("客户 {i:04}, \"Ltd\""), tier, (i % 101) as i64);
            if i % 7 == 0 {
                body["tags"] = json!(["vip", "pilot"]);
            }
            body
        })
        .collect();
    let path = records_path("cs", "account");
    for chunk in bodies.chunks(200) {
        let writes = chunk.iter().map(|body| app.post(&path, body));
        for response in futures::future::join_all(writes).await {
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }
    app
}

/// Every id the list API returns for `filter` and `sort`, page after page.
async fn listed_ids(app: &TestApp, filter: &str, sort: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("filter", filter.to_owned()), ("sort", sort.to_owned()), ("limit", "1000".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response = app.request(reqwest::Method::GET, &records_path("cs", "account")).query(&query).send().await;
        let page = expect_json(response.expect("list answered"), StatusCode::OK).await;
        ids.extend(page["items"].as_array().expect("items").iter().map(|r| r["id"].as_str().expect("id").to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

async fn export(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    app.request(reqwest::Method::GET, "/api/v1/spaces/cs/forms/account/export")
        .query(query)
        .send()
        .await
        .expect("export answered")
}

#[tokio::test]
async fn csv_export_matches_the_list_across_pages_and_reads_back() {
    let app = app_with_accounts().await;
    let (filter, sort) = ("health < 60", "-health");
    let expected = listed_ids(&app, filter, sort).await;
    assert!(expected.len() > 1_000, "the export spans pages: {}", expected.len());

    let response = export(&app, &[("filter", filter), ("sort", sort)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"account.csv\"");
    let bytes = response.bytes().await.expect("body").to_vec();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8");

    let table = web::tabular::Table::open(web::tabular::FileFormat::Csv, Cursor::new(bytes)).expect("csv");
    let headers = table.headers.clone();
    assert_eq!(headers[0], "id");
    assert!(headers.iter().any(|h| h == "renewal_date") && headers.iter().any(|h| h == "updated_at"));
    let name_col = headers.iter().position(|h| h == "name").expect("name column");
    let tags_col = headers.iter().position(|h| h == "tags").expect("tags column");
    let rows: Vec<Vec<String>> = table
        .map(|row| match row.expect("row").cells {
            web::tabular::Cells::Text(cells) => cells,
            web::tabular::Cells::Json(_) => panic!("text rows"),
        })
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, expected, "same records, same order as the list");
    assert!(rows.iter().all(|r| r[name_col].starts_with("客户 ") && r[name_col].ends_with(", \"Ltd\"")));
    assert!(rows.iter().any(|r| r[tags_col] == "vip, pilot"));
}

#[tokio::test]
async fn ndjson_and_xlsx_exports_hold_every_record_with_typed_values() {
    let app = app_with_accounts().await;

    let response = export(&app, &[("format", "ndjson"), ("fields", "id,name,health,arr,renewal_date")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), ACCOUNTS);
    assert_eq!(lines[0].as_object().expect("object").len(), 5, "only the fields asked for");
    assert!(lines.iter().all(|l| l["health"].is_i64() && l["arr"].is_f64()));

    let response = export(
        &app,
        &[("format", "xlsx"), ("filter", "tier = \"enterprise\""), ("fields", "name,health,renewal_date")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("body").to_vec();
    let table = web::tabular::Table::open(web::tabular::FileFormat::Xlsx, Cursor::new(bytes)).expect("xlsx");
    assert_eq!(table.headers, ["name", "health", "renewal_date"]);
    let rows: Vec<_> = table.map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), ACCOUNTS / 3);
    let web::tabular::Cells::Text(first) = &rows[0].cells else { panic!("text rows") };
    assert_eq!(first[2], "2027-03-01", "a date cell reads back as the date");
}

#[tokio::test]
async fn bad_export_requests_are_problems_naming_what_is_wrong() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;

    let problem =
        expect_problem(export(&app, &[("fields", "name,nope")]).await, StatusCode::BAD_REQUEST, "bad-request").await;
    assert_eq!(problem["errors"][0]["path"], "/fields/nope");
    let problem =
        expect_problem(export(&app, &[("format", "pdf")]).await, StatusCode::BAD_REQUEST, "bad-request").await;
    assert_eq!(problem["errors"][0]["path"], "/format");
    let response = export(&app, &[("filter", "nope > 3")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.expect("body").contains("nope"));
    let missing = app.get("/api/v1/spaces/cs/forms/ghost/export").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
