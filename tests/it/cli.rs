//! The `tend` executable: token creation for scripts, one-line errors with a non-zero exit.

use std::process::Stdio;

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn token_create_prints_only_the_token_and_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let output = tend().args(["token", "create", "--admin", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is the token alone: {stdout:?}");
    let token = lines[0].to_owned();
    assert!(token.starts_with("tend_"), "{token}");

    // Only the hash is stored: the secret appears nowhere in the database files.
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{} holds the token", entry.display());
    }

    // A server on that data dir accepts the token and, having one, prints no new token.
    let data_dir = std::sync::Arc::new(dir);
    let app = TestApp::spawn_with(data_dir, Some(token.clone()), |_| {}).await;
    expect_json(app.get("/api/v1/spaces").await, StatusCode::OK).await;
}

#[tokio::test]
async fn serve_prints_the_first_admin_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("an empty data dir prints a first admin token");
    let client = reqwest::Client::new();
    let response = client.get(format!("{}/api/v1/spaces", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.kill9();
    let again = ServerProcess::start(dir.path());
    assert!(again.token.is_none(), "a second start prints no token");
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "bnd = \"127.0.0.1:1\"\n").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["serve", "--config", "missing.toml"],
        vec!["serve", "--config", "bad.toml"],
        vec!["serve", "--bind", "not-an-address"],
    ];
    for args in cases {
        let output = tend().args(&args).current_dir(dir.path()).stdin(Stdio::null()).output().unwrap();
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(output.stdout.is_empty() || !String::from_utf8_lossy(&output.stdout).contains("tend_"));
    }
}

#[test]
fn a_data_dir_in_use_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let output = tend().args(["token", "create", "--admin", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("in use"), "{stderr}");
    drop(server);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn sigterm_stops_gracefully_and_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path());
    let token = server.token.clone().unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    client
        .post(url("/api/v1/spaces"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "cs" }))
        .send()
        .await
        .unwrap();
    client.put(url("/api/v1/spaces/cs/forms/account")).bearer_auth(&token).json(&account_form()).send().await.unwrap();
    let created = client
        .post(url(&records_path("cs", "account")))
        .bearer_auth(&token)
        .json(&account("Acme", "growth", 70))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, StatusCode::CREATED).await;

    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status}");

    let again = ServerProcess::start(dir.path());
    let path = format!("{}{}/{}", again.base, records_path("cs", "account"), created["id"].as_str().unwrap());
    let fetched = expect_json(client.get(path).bearer_auth(&token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(fetched, created);
}
