//! A restarted server keeps everything: spaces, form versions, records, indexes, history, tokens.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn restart_keeps_everything() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.put_form("cs", "contact", &contact_form()).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        let record = app.create_record("cs", "account", &account(&format!("A{i:02}"), "growth", i)).await;
        ids.push(record["id"].as_str().unwrap().to_owned());
    }
    let patched = format!("{}/{}", records_path("cs", "account"), ids[0]);
    expect_json(app.patch(&patched, &json!({ "health": 99 }), None).await, StatusCode::OK).await;
    let last_seq = app.last_event_seq();
    let before = expect_json(
        app.get(&format!("{}?filter=health%20%3E%2040&sort=-health", records_path("cs", "account"))).await,
        StatusCode::OK,
    )
    .await;

    let (data_dir, token) = app.stop().await;
    let app = TestApp::spawn_with(data_dir, Some(token), |_| {}).await;

    assert_eq!(app.last_event_seq(), last_seq, "the event log continues where it stopped");
    let response = app.get(&format!("{}?filter=health%20%3E%2040&sort=-health", records_path("cs", "account"))).await;
    assert_eq!(response.headers()["tend-query-plan"], "index:health");
    assert_eq!(expect_json(response, StatusCode::OK).await, before);
    let forms = expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    assert_eq!(forms["items"].as_array().unwrap().len(), 2);
    let history = expect_json(app.get(&format!("{patched}/history")).await, StatusCode::OK).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
    // New writes continue the sequence without a gap.
    app.create_record("cs", "account", &account("After", "growth", 1)).await;
    assert_eq!(app.last_event_seq(), last_seq + 1);
}
