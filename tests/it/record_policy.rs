//! A form's record policy seen through the API by a member whose role has `own` scope, a hidden
//! field and a read-only one: every surface that reads records (list, count, export in each
//! format, aggregates, the space's OpenAPI document) shows only the member's records and never
//! the hidden field; queries naming the hidden field and writes to the read-only one are 403
//! problems naming the failing part.

use std::io::Cursor;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// The space `cs` with a policy-bearing account form, seeded by the admin: Tess's accounts,
/// Mona's, and one nobody's. The member's token, and Tess's account ids.
async fn seeded() -> (TestApp, String, Vec<String>) {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let (tess, token) = app.member("tess@example.com", "cs", "member").await;
    let (mona, _) = app.member("mona@example.com", "cs", "member").await;
    let mut form = account_form();
    form["schema"]["properties"]["csm"] = json!({ "type": "string" });
    form["schema"]["properties"]["notes"] = json!({ "type": "string" });
    form["access"] = json!({ "person_field": "csm", "roles": { "member": {
        "records": "own", "fields": { "notes": "hidden", "arr": "read_only" } } } });
    app.put_form("cs", "account", &form).await;
    let mut own = Vec::new();
    for (i, csm) in [Some(&tess), Some(&mona), Some(&tess), None, Some(&mona), Some(&tess)].into_iter().enumerate() {
        let mut data = account(&format!("Account {i}"), "growth", 10 * i as i64);
        data["notes"] = json!(format!("secret {i}"));
        if let Some(csm) = csm {
            data["csm"] = json!(csm);
        }
        let record = app.create_record("cs", "account", &data).await;
        if csm == Some(&tess) {
            own.push(record["id"].as_str().expect("id").to_owned());
        }
    }
    (app, token, own)
}

async fn get_as(app: &TestApp, token: &str, path: &str, query: Query<'_>) -> reqwest::Response {
    app.request_as(token, Method::GET, path).query(query).send().await.expect("GET")
}

/// A request's query parameters.
type Query<'a> = &'a [(&'a str, &'a str)];

const FORM: &str = "/api/v1/spaces/cs/forms/account";

#[tokio::test]
async fn an_own_scope_member_reads_only_their_records_without_the_hidden_field() {
    let (app, tess, own) = seeded().await;
    let mut own_sorted = own.clone();
    own_sorted.sort();

    let list =
        expect_json(get_as(&app, &tess, &format!("{FORM}/records"), &[("limit", "100")]).await, StatusCode::OK).await;
    let mut ids: Vec<String> = items(&list).iter().map(|r| r["id"].as_str().expect("id").to_owned()).collect();
    ids.sort();
    assert_eq!(ids, own_sorted, "{list}");
    assert!(items(&list).iter().all(|r| r["data"].get("notes").is_none() && r["data"]["arr"].is_number()), "{list}");

    for path in [format!("{FORM}/records/{}", own[0]), format!("{FORM}/records/{}/history", own[0])] {
        let text = get_as(&app, &tess, &path, &[]).await.text().await.expect("body");
        assert!(text.contains("Account 0") && !text.contains("secret"), "{path}: {text}");
    }

    let count = expect_json(get_as(&app, &tess, &format!("{FORM}/count"), &[]).await, StatusCode::OK).await;
    assert_eq!(count["count"], own.len(), "{count}");

    for format in ["csv", "xlsx"] {
        let response = get_as(&app, &tess, &format!("{FORM}/export"), &[("format", format)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{format}");
        let bytes = response.bytes().await.expect("body").to_vec();
        let file_format = web::tabular::FileFormat::parse(format).expect("a format");
        let table = web::tabular::Table::open(file_format, Cursor::new(bytes)).expect("a table");
        assert!(table.headers.iter().any(|h| h == "arr"), "{format}: {:?}", table.headers);
        assert!(!table.headers.iter().any(|h| h == "notes"), "{format}: {:?}", table.headers);
        let rows: Vec<String> = table.map(|row| format!("{:?}", row.expect("row").cells)).collect();
        assert_eq!(rows.len(), own.len(), "{format}: {rows:?}");
        assert!(rows.iter().all(|row| !row.contains("secret")), "{format}: {rows:?}");
    }
    let response = get_as(&app, &tess, &format!("{FORM}/export"), &[("format", "ndjson")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let mut ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().expect("id")).collect();
    ids.sort();
    assert_eq!(ids, own_sorted, "{text}");
    assert!(!text.contains("notes") && !text.contains("secret"), "{text}");

    let query = json!({ "group_by": ["tier"], "metrics": [
        { "op": "count", "as": "accounts" }, { "op": "sum", "field": "health", "as": "health" } ] });
    let response = app.request_as(&tess, Method::POST, &format!("{FORM}/aggregate")).json(&query).send().await;
    let got = expect_json(response.expect("POST"), StatusCode::OK).await;
    // Tess's accounts are numbers 0, 2 and 5: health 0 + 20 + 50.
    let groups = got["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{got}");
    assert_eq!(groups[0]["key"]["tier"], "growth", "{got}");
    assert_eq!(groups[0]["values"]["accounts"], own.len(), "{got}");
    assert_eq!(groups[0]["values"]["health"].as_f64(), Some(70.0), "{got}");

    let document = get_as(&app, &tess, "/api/v1/spaces/cs/openapi.json", &[]).await;
    let document = expect_json(document, StatusCode::OK).await;
    let properties = &document["components"]["schemas"]["AccountData"]["properties"];
    assert!(properties["arr"].is_object() && properties.get("notes").is_none(), "{properties}");
    let admin_document = expect_json(app.get("/api/v1/spaces/cs/openapi.json").await, StatusCode::OK).await;
    assert!(admin_document["components"]["schemas"]["AccountData"]["properties"]["notes"].is_object());
}

#[tokio::test]
async fn queries_on_the_hidden_field_and_writes_to_the_read_only_one_are_403_naming_them() {
    let (app, tess, own) = seeded().await;
    let records = format!("{FORM}/records");
    let export = format!("{FORM}/export");
    let refused: [(&str, Query, &str); 5] = [
        (&records, &[("filter", "notes = \"secret 0\"")], "/filter"),
        (&records, &[("sort", "-notes")], "/sort"),
        (&export, &[("filter", "notes = \"secret 0\"")], "/filter"),
        (&export, &[("fields", "name,notes")], "/fields"),
        (&export, &[("format", "ndjson"), ("sort", "notes")], "/sort"),
    ];
    for (path, query, at) in refused {
        let problem = expect_problem(get_as(&app, &tess, path, query).await, StatusCode::FORBIDDEN, "forbidden").await;
        let paths = error_paths(&problem);
        assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with(at)), "{path} {query:?}: {problem}");
    }
    let count = get_as(&app, &tess, &format!("{FORM}/count"), &[("filter", "notes = \"x\"")]).await;
    expect_problem(count, StatusCode::FORBIDDEN, "forbidden").await;
    for (query, at) in [
        (json!({ "group_by": ["notes"], "metrics": [{ "op": "count", "as": "n" }] }), "/group_by"),
        (json!({ "metrics": [{ "op": "count_distinct", "field": "notes", "as": "n" }] }), "/metrics"),
    ] {
        let response = app.request_as(&tess, Method::POST, &format!("{FORM}/aggregate")).json(&query).send().await;
        let problem = expect_problem(response.expect("POST"), StatusCode::FORBIDDEN, "forbidden").await;
        let paths = error_paths(&problem);
        assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with(at)), "{query}: {problem}");
    }

    let before = app.last_event_seq();
    let path = format!("{records}/{}", own[0]);
    let patch = |body: Value| {
        app.request_as(&tess, Method::PATCH, &path)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
    };
    let problem =
        expect_problem(patch(json!({ "arr": 1 })).await.expect("PATCH"), StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["errors"][0]["path"], "/arr", "{problem}");
    let problem =
        expect_problem(patch(json!({ "notes": "mine" })).await.expect("PATCH"), StatusCode::FORBIDDEN, "forbidden")
            .await;
    assert_eq!(problem["errors"][0]["path"], "/notes", "{problem}");
    assert_eq!(app.last_event_seq(), before, "refused writes changed nothing");
    // The other fields stay writable, and the answer hides what it must.
    let updated = expect_json(patch(json!({ "name": "Renamed" })).await.expect("PATCH"), StatusCode::OK).await;
    assert_eq!(updated["data"]["name"], "Renamed");
    assert!(updated["data"].get("notes").is_none(), "{updated}");
    let stored = expect_json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(stored["data"]["notes"], "secret 0", "the hidden field is kept");
}
