//! The web app served by `tend serve`: the shell at `/` and on every deep link, hashed assets
//! cached for good, the API's own 404s left alone.

use reqwest::StatusCode;

use crate::support::*;

/// The first `/assets/...` file index.html loads.
fn first_asset(index: &str, extension: &str) -> Option<String> {
    index.split('"').find(|part| part.starts_with("/assets/") && part.ends_with(extension)).map(str::to_owned)
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_on_deep_links_without_a_token() {
    let app = TestApp::spawn().await;
    if std::env::var("TEND_UI").as_deref() == Ok("required") {
        assert!(web::ui::is_built(), "TEND_UI=required, yet the binary embeds the placeholder page");
    }
    let root = app.client.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(root.headers()["cache-control"], "no-cache");
    assert_eq!(root.headers()["content-type"], "text/html; charset=utf-8");
    let index = root.text().await.expect("body");
    for deep_link in ["/s/demo/account?filter=health%20%3C%2050&sort=health", "/signin", "/my-work"] {
        let page = app.client.get(app.url(deep_link)).send().await.expect("GET deep link");
        assert_eq!(page.status(), StatusCode::OK, "{deep_link}");
        assert_eq!(page.headers()["cache-control"], "no-cache", "{deep_link}");
        assert_eq!(page.text().await.expect("body"), index, "{deep_link} answers index.html");
    }
    if !web::ui::is_built() {
        assert!(index.contains("data-testid=\"ui-missing\""), "the placeholder says why: {index}");
        return;
    }
    assert!(index.contains("<div id=\"root\">"), "{index}");
    for (extension, content_type) in [(".js", "text/javascript; charset=utf-8"), (".css", "text/css; charset=utf-8")] {
        let asset = first_asset(&index, extension).unwrap_or_else(|| panic!("index.html loads a {extension}: {index}"));
        let response = app.client.get(app.url(&asset)).send().await.expect("GET asset");
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{asset}");
        assert_eq!(response.headers()["content-type"], content_type, "{asset}");
        assert!(!response.bytes().await.expect("asset body").is_empty(), "{asset}");
    }
}

#[tokio::test]
async fn unknown_assets_and_api_routes_are_not_answered_with_the_app() {
    let app = TestApp::spawn().await;
    let stale = app.client.get(app.url("/assets/index-0000.js")).send().await.expect("GET stale asset");
    expect_problem(stale, StatusCode::NOT_FOUND, "not-found").await;
    // Unknown API routes keep their problem documents, with or without a token.
    expect_problem(app.get("/api/v1/no-such-thing").await, StatusCode::NOT_FOUND, "not-found").await;
    let anonymous = app.client.get(app.url("/api/v1/spaces")).send().await.expect("GET");
    expect_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The app is only read: other methods outside the API are 404 problems, not index.html.
    let post = app.client.post(app.url("/s/demo")).body("x").send().await.expect("POST");
    expect_problem(post, StatusCode::NOT_FOUND, "not-found").await;
    // The build's bookkeeping is not served as a file.
    let manifest = app.client.get(app.url("/.vite/manifest.json")).send().await.expect("GET manifest");
    let body = manifest.text().await.expect("body");
    assert!(!body.contains("\"isEntry\""), "the manifest is not served: {body}");
}
