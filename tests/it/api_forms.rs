//! Spaces and form definitions: names, versions, schema errors, refusing changes that would
//! invalidate stored records, and index changes.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn spaces_are_created_listed_and_named_as_slugs() {
    let app = TestApp::spawn().await;
    let created = expect_json(
        app.post("/api/v1/spaces", &json!({ "name": "cs-emea", "title": "CS EMEA" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["title"], "CS EMEA");
    expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs-emea" })).await,
        StatusCode::CONFLICT,
        "already-exists",
    )
    .await;
    for bad in ["CS", "-cs", "cs emea", "", "a".repeat(64).as_str(), "ça"] {
        expect_problem(
            app.post("/api/v1/spaces", &json!({ "name": bad })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
    }
    let list = expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null());
    assert_eq!(expect_json(app.get("/api/v1/spaces/cs-emea").await, StatusCode::OK).await["name"], "cs-emea");
    expect_problem(app.get("/api/v1/spaces/nope").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn form_versions_are_kept_and_readable() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let path = "/api/v1/spaces/cs/forms/account";
    let response = app.put(path, &account_form()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The same definition again stores nothing new.
    let same = expect_json(app.put(path, &account_form()).await, StatusCode::OK).await;
    assert_eq!(same["version"], 1);

    let mut v2 = account_form();
    v2["schema"]["properties"]["nps"] = json!({ "type": "integer", "minimum": 0, "maximum": 10 });
    let stored = expect_json(app.put(path, &v2).await, StatusCode::OK).await;
    assert_eq!(stored["version"], 2);

    let latest = expect_json(app.get(path).await, StatusCode::OK).await;
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["definition"]["schema"]["properties"]["nps"]["maximum"], 10);
    let first = expect_json(app.get(&format!("{path}?version=1")).await, StatusCode::OK).await;
    assert!(first["definition"]["schema"]["properties"].get("nps").is_none());
    expect_problem(app.get(&format!("{path}?version=9")).await, StatusCode::NOT_FOUND, "not-found").await;

    let list = expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["version"], 2);

    // New records carry the version they were written with.
    let record = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    assert_eq!(record["form_version"], 2);
}

#[tokio::test]
async fn invalid_schemas_are_422_saying_what_is_wrong() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let path = "/api/v1/spaces/cs/forms/account";
    let bad = json!({
        "schema": { "type": "object", "properties": {
            "name": { "type": "strin" },
            "owner": { "type": "string", "format": "email" },
            "id": { "type": "string" },
            "link": { "$ref": "https://example.com/schema.json" }
        } },
        "indexes": ["missing"]
    });
    let problem = expect_problem(app.put(path, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let paths = error_paths(&problem);
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/name")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/id")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/schema/properties/link")), "{problem}");
    assert!(paths.iter().any(|p| p.starts_with("/indexes")), "{problem}");
    expect_problem(app.get(path).await, StatusCode::NOT_FOUND, "not-found").await;

    // A remote `$ref` is refused without being fetched: a listener on the address counts every
    // connection (whatever the method or protocol), and none is made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/schema.json", listener.local_addr().unwrap());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = std::sync::Arc::clone(&connections);
    let accepting = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let remote = json!({ "schema": { "type": "object", "properties": { "link": { "$ref": target } } } });
    let problem = expect_problem(app.put(path, &remote).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(error_paths(&problem).iter().all(|p| p.starts_with("/schema/properties/link")), "{problem}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "the compiler connected to fetch the schema");
    accepting.abort();

    let unknown_key = json!({ "schema": { "type": "object", "properties": {} }, "indexs": [] });
    let problem =
        expect_problem(app.put(path, &unknown_key).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/indexs"]);
}

#[tokio::test]
async fn schema_change_that_breaks_records_is_refused_unless_forced() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for i in 0..5 {
        let mut data = account(&format!("A{i}"), "growth", 50);
        if i % 2 == 0 {
            data.as_object_mut().unwrap().remove("owner");
        }
        app.create_record("cs", "account", &data).await;
    }
    let mut stricter = account_form();
    stricter["schema"]["required"] = json!(["name", "tier", "owner"]);
    let path = "/api/v1/spaces/cs/forms/account";
    let problem = expect_problem(app.put(path, &stricter).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["failing_records"], 3, "{problem}");
    let example = &problem["examples"][0];
    assert!(example["id"].is_string());
    assert_eq!(example["errors"][0]["path"], "/owner");
    assert_eq!(expect_json(app.get(path).await, StatusCode::OK).await["version"], 1, "nothing stored");

    let forced = expect_json(app.put(&format!("{path}?force=true"), &stricter).await, StatusCode::OK).await;
    assert_eq!(forced["version"], 2);
}

#[tokio::test]
async fn adding_an_index_later_indexes_existing_records() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let mut definition = account_form();
    definition["indexes"] = json!([]);
    app.put_form("cs", "account", &definition).await;
    for (i, health) in [90, 40, 75, 20].into_iter().enumerate() {
        app.create_record("cs", "account", &account(&format!("A{i}"), "growth", health)).await;
    }
    let path = format!("{}?filter=health%20%3C%2050", records_path("cs", "account"));
    let response = app.get(&path).await;
    assert_eq!(response.headers()["tend-query-plan"], "scan");
    assert_eq!(expect_json(response, StatusCode::OK).await["items"].as_array().unwrap().len(), 2);

    definition["indexes"] = json!(["health"]);
    app.put_form("cs", "account", &definition).await;
    let response = app.get(&path).await;
    assert_eq!(response.headers()["tend-query-plan"], "index:health");
    let page = expect_json(response, StatusCode::OK).await;
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A1", "A3"]);
}
