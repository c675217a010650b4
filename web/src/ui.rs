//! The web app, built by `build.rs` (Vite) and embedded in the binary, served at `/`.
//!
//! - `/assets/*` are the build's content-hashed files: cached for a year, immutable;
//! - any other path outside `/api/` answers `index.html` (never cached), so a deep link such
//!   as `/s/demo/account?filter=...` opens the app, which reads the URL itself;
//! - unknown `/api/` paths stay problem+json 404s (the API router's fallback says so).

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};

/// The build output (or the page saying the binary was built without the app).
static UI: Dir<'static> = include_dir!("$TEND_UI_DIR");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Whether this binary embeds the real app rather than the placeholder page.
pub fn is_built() -> bool {
    UI.get_dir("assets").is_some()
}

/// Answers a GET or HEAD for a path outside `/api/`; `None` for any other method.
pub(crate) fn serve(method: &Method, uri: &Uri) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("assets/") {
        return Some(match UI.get_file(path) {
            Some(file) => file_response(path, file.contents(), IMMUTABLE),
            // A stale hashed name (an old tab after an upgrade) must not get index.html as
            // JavaScript: a 404 (made a problem document on its way out) makes the browser say so.
            None => StatusCode::NOT_FOUND.into_response(),
        });
    }
    // Top-level files the build put next to index.html (a favicon), never the build's own
    // bookkeeping (`.vite/manifest.json`).
    if !path.is_empty() && !path.contains('/') && !path.starts_with('.') {
        if let Some(file) = UI.get_file(path) {
            return Some(file_response(path, file.contents(), NO_CACHE));
        }
    }
    let index = UI.get_file("index.html").map_or(&[][..], |file| file.contents());
    Some(file_response("index.html", index, NO_CACHE))
}

fn file_response(path: &str, contents: &'static [u8], cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(contents));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("assets/index-abc.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("assets/index-abc.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }

    #[test]
    fn only_reads_are_served() {
        let uri: Uri = "/s/demo/account".parse().expect("a valid uri");
        assert!(serve(&Method::POST, &uri).is_none());
        let page = serve(&Method::GET, &uri).expect("a GET is served");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CACHE_CONTROL], NO_CACHE);
    }
}
