//! `GET .../forms/{form}/count`: the totals the web app's grids and spaces page show.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn counts_match_what_listing_the_same_filter_returns() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for (i, tier) in ["starter", "growth", "enterprise", "growth", "starter"].iter().enumerate() {
        app.create_record("cs", "account", &account(&format!("a{i}"), tier, 20 * i as i64)).await;
    }
    let app = &app;
    let count = |filter: &str| {
        let path = format!("/api/v1/spaces/cs/forms/account/count?filter={}", urlencode(filter));
        async move { app.get(&path).await }
    };
    let all = expect_json(app.get("/api/v1/spaces/cs/forms/account/count").await, StatusCode::OK).await;
    assert_eq!(all["count"], 5);
    let filter = "health < 60 and tier != \"enterprise\"";
    let counted = expect_json(count(filter).await, StatusCode::OK).await;
    let listed = expect_json(
        app.get(&format!("{}?filter={}&limit=1000", records_path("cs", "account"), urlencode(filter))).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(counted["count"], listed["items"].as_array().expect("items").len());
    assert_eq!(counted["count"], 2, "{listed}");

    let bad = expect_problem(count("health <").await, StatusCode::BAD_REQUEST, "bad-query").await;
    assert!(bad["detail"].as_str().expect("detail").contains("at"), "{bad}");
    expect_problem(app.get("/api/v1/spaces/cs/forms/nope/count").await, StatusCode::NOT_FOUND, "not-found").await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
