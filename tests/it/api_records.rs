//! The generic record API: life cycle, validation reports, ETags, references, history.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn record_life_cycle_create_get_patch_delete_history() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let path = records_path("cs", "account");

    let response = app.post(&path, &account("Acme", "enterprise", 82)).await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = expect_json(response, StatusCode::CREATED).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{path}/{id}"));
    assert_eq!(created["form"], "account");
    assert_eq!(created["version"], 1);
    assert_eq!(created["form_version"], 1);
    assert_eq!(created["data"], account("Acme", "enterprise", 82));
    assert!(created["created_by"].as_str().unwrap().starts_with("token:"));
    assert_eq!(created["created_at"], created["updated_at"]);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7, "ids are UUIDv7");

    let fetched = expect_json(app.get(&location).await, StatusCode::OK).await;
    assert_eq!(fetched, created);

    let response = app.patch(&location, &json!({ "health": 55, "arr": null }), Some("\"1\"")).await;
    assert_eq!(response.headers()["etag"], "\"2\"");
    let patched = expect_json(response, StatusCode::OK).await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["data"]["health"], 55);
    assert!(patched["data"].get("arr").is_none(), "null removes a field (merge patch)");
    assert_eq!(patched["created_at"], created["created_at"]);

    // A patch that changes nothing stores nothing.
    let same = expect_json(app.patch(&location, &json!({ "health": 55 }), None).await, StatusCode::OK).await;
    assert_eq!(same["version"], 2);

    let response = app.delete(&location, Some("\"2\"")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get(&location).await, StatusCode::NOT_FOUND, "not-found").await;

    let history = expect_json(app.get(&format!("{location}/history")).await, StatusCode::OK).await;
    let events = history["items"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "updated", "deleted"]);
    assert!(events[0]["before"].is_null());
    assert_eq!(events[0]["after"], created["data"]);
    assert_eq!(events[1]["before"], created["data"]);
    assert_eq!(events[1]["after"], patched["data"]);
    assert_eq!(events[2]["before"], patched["data"]);
    assert!(events[2]["after"].is_null());
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first: {seqs:?}");
    assert!(history["next_cursor"].is_null());
}

#[tokio::test]
async fn history_pages_with_a_cursor() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let created = app.create_record("cs", "account", &account("Acme", "growth", 50)).await;
    let location = format!("{}/{}", records_path("cs", "account"), created["id"].as_str().unwrap());
    for health in 51..=54 {
        expect_json(app.patch(&location, &json!({ "health": health }), None).await, StatusCode::OK).await;
    }
    let first = expect_json(app.get(&format!("{location}/history?limit=3")).await, StatusCode::OK).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let second =
        expect_json(app.get(&format!("{location}/history?limit=3&cursor={cursor}")).await, StatusCode::OK).await;
    let versions: Vec<u64> =
        second["items"].as_array().unwrap().iter().map(|e| e["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, [4, 5]);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn validation_reports_every_failing_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let bad = json!({
        "tier": "platinum",               // not in enum
        "health": 140,                    // above maximum
        "owner": "not-an-email",          // format email
        "website": "no scheme",           // format uri
        "renewal_date": "2027-02-30",     // format date
        "last_contact_at": "yesterday",   // format date-time
        "surprise": true,                 // additionalProperties: false
        "id": "0191e0b8-0000-7000-8000-000000000000", // system field
        // and `name` is missing
    });
    let problem = expect_problem(
        app.post(&records_path("cs", "account"), &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        error_paths(&problem),
        ["/health", "/id", "/last_contact_at", "/name", "/owner", "/renewal_date", "/surprise", "/tier", "/website"],
        "{problem}"
    );
    assert!(problem["errors"].as_array().unwrap().iter().all(|e| !e["message"].as_str().unwrap().is_empty()));
    let list = expect_json(app.get(&records_path("cs", "account")).await, StatusCode::OK).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let created = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let location = format!("{}/{}", records_path("cs", "account"), created["id"].as_str().unwrap());
    expect_json(app.patch(&location, &json!({ "health": 65 }), Some("\"1\"")).await, StatusCode::OK).await;

    let problem = expect_problem(
        app.patch(&location, &json!({ "health": 10 }), Some("\"1\"")).await,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;
    assert_eq!(problem["current_version"], 2);
    expect_problem(app.delete(&location, Some("\"1\"")).await, StatusCode::PRECONDITION_FAILED, "precondition-failed")
        .await;
    let current = expect_json(app.get(&location).await, StatusCode::OK).await;
    assert_eq!(current["version"], 2);
    assert_eq!(current["data"]["health"], 65);
}

#[tokio::test]
async fn system_fields_cannot_be_set_or_changed() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let created = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let location = format!("{}/{}", records_path("cs", "account"), created["id"].as_str().unwrap());
    for field in ["id", "version", "created_at", "created_by", "updated_at", "updated_by"] {
        let patch = json!({ field: "x" });
        let problem =
            expect_problem(app.patch(&location, &patch, None).await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
                .await;
        assert_eq!(error_paths(&problem), [format!("/{field}")]);
    }
    let current = expect_json(app.get(&location).await, StatusCode::OK).await;
    assert_eq!(current, created);
}

#[tokio::test]
async fn references_must_point_at_existing_records() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.put_form("cs", "contact", &contact_form()).await;
    let acme = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;

    let contact = json!({ "name": "Ada", "account": acme["id"] });
    app.create_record("cs", "contact", &contact).await;

    let dangling = json!({ "name": "Bob", "account": "0191e0b8-0000-7000-8000-000000000000" });
    let problem = expect_problem(
        app.post(&records_path("cs", "contact"), &dangling).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/account"]);
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("account"), "{problem}");

    let garbage = json!({ "name": "Eve", "account": "not-a-uuid", "email": "nope" });
    let problem = expect_problem(
        app.post(&records_path("cs", "contact"), &garbage).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/account", "/email"], "schema and reference errors together");
}

#[tokio::test]
async fn concurrent_patches_without_if_match_all_apply() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let created = app.create_record("cs", "account", &account("Acme", "growth", 0)).await;
    let location = format!("{}/{}", records_path("cs", "account"), created["id"].as_str().unwrap());
    let tags: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let patches = tags.iter().map(|tag| {
        let (app, location) = (&app, &location);
        async move {
            // Each patch writes its own name: a lost update would show as a name missing from
            // the history or two changes based on the same version.
            let response = app.patch(location, &json!({ "health": 1, "name": tag }), None).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    });
    futures::future::join_all(patches).await;
    let current = expect_json(app.get(&location).await, StatusCode::OK).await;
    assert_eq!(current["version"], 1 + tags.len() as u64, "every patch made a version: {current}");
    let history = expect_json(app.get(&format!("{location}/history?limit=1000")).await, StatusCode::OK).await;
    let events = history["items"].as_array().unwrap();
    assert_eq!(events.len(), 1 + tags.len());
    let versions: Vec<u64> = events.iter().map(|event| event["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, (1..=1 + tags.len() as u64).collect::<Vec<_>>(), "one event per version, in order");
    for pair in events.windows(2) {
        assert_eq!(pair[1]["before"], pair[0]["after"], "each change is based on the one before it");
    }
    let mut names: Vec<&str> = events[1..].iter().map(|event| event["after"]["name"].as_str().unwrap()).collect();
    names.sort();
    let mut expected: Vec<&str> = tags.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(names, expected, "every patch is in the history once");
    assert_eq!(current["data"]["name"], events.last().unwrap()["after"]["name"]);
}
