//! The `tend` executable: token creation for scripts, one-line errors with a non-zero exit.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::{json, Value};

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

/// `tend user create` reads the password from stdin; `reset-password` changes it; a token
/// made for the user acts as them, narrowed as asked.
#[tokio::test]
async fn users_are_made_and_reset_from_the_command_line_and_get_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = tend()
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let created = run(&["user", "create", "--email", "ana@example.com", "--name", "Ana Lima"], "first passphrase\n");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let id = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(id.starts_with('u'), "{id}");
    let again = run(&["user", "create", "--email", "ANA@example.com", "--name", "Ana"], "\n");
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stderr).lines().count(), 1, "one line");
    let short = run(&["user", "reset-password", "--email", "ana@example.com"], "short\n");
    assert!(!short.status.success());
    let reset = run(&["user", "reset-password", "--email", "ana@example.com"], "second passphrase\n");
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    let token = run(&["token", "create", "--user", "ana@example.com", "--read-only", "--expires-in-days", "7"], "");
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let admin = run(&["token", "create", "--admin"], "");
    let admin = String::from_utf8(admin.stdout).unwrap().trim().to_owned();
    let app = TestApp::spawn_with(std::sync::Arc::new(dir), Some(admin), |_| {}).await;
    assert_eq!(app.login("ana@example.com", "first passphrase").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("ana@example.com", "second passphrase").await.status(), StatusCode::CREATED);
    let me = app.request_as(&token, reqwest::Method::GET, "/api/v1/auth/me").send().await.unwrap();
    let me = expect_json(me, StatusCode::OK).await;
    assert_eq!((me["caller"].as_str(), me["read_only"].as_bool()), (Some(format!("user:{id}").as_str()), Some(true)));
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

/// Tokens are listed and revoked through the running server's API (the data dir stays
/// locked by the server), and a revoked token is refused at once.
#[tokio::test]
async fn token_list_and_revoke_work_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let create = |label: &str| {
        let output = tend()
            .args(["token", "create", "--admin", "--label", label, "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let (operator, ci) = (create("operator"), create("ci"));
    let server = ServerProcess::start(dir.path());
    let client = reqwest::Client::new();
    let spaces = format!("{}/api/v1/spaces", server.base);
    assert_eq!(client.get(&spaces).bearer_auth(&ci).send().await.unwrap().status(), StatusCode::OK);

    let remote = |args: &[&str]| {
        tend().args(args).args(["--server", &server.base]).env("TEND_TOKEN", &operator).current_dir(dir.path()).output()
    };
    let listed = remote(&["token", "list"]).unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let listed = String::from_utf8(listed.stdout).unwrap();
    let ci_line = listed.lines().find(|line| line.ends_with(" ci")).unwrap_or_else(|| panic!("{listed}"));
    assert!(listed.lines().any(|line| line.ends_with(" operator")), "{listed}");
    assert!(
        ci_line.contains(" bootstrap ") && ci_line.contains(" all "),
        "an admin token is the bootstrap user's: {ci_line}"
    );
    assert!(!listed.contains("tend_"), "no secrets listed: {listed}");
    let ci_id = ci_line.split_whitespace().next().unwrap().to_owned();

    let revoked = remote(&["token", "revoke", &ci_id]).unwrap();
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert_eq!(client.get(&spaces).bearer_auth(&ci).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(client.get(&spaces).bearer_auth(&operator).send().await.unwrap().status(), StatusCode::OK);
    let again = remote(&["token", "revoke", &ci_id]).unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8(again.stderr).unwrap().contains("404"), "an unknown id is an error");
}

/// `tend import` and `tend export` go through the running server's API: a file in, a report
/// printed, the records out again; a failing row is a one-line error and a non-zero exit.
#[tokio::test]
async fn import_and_export_talk_to_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = ServerProcess::start_with_admin_token(dir.path());
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.base);
    let created = client.post(api("/spaces")).bearer_auth(&token).json(&serde_json::json!({ "name": "cs" })).send();
    assert!(created.await.unwrap().status().is_success());
    let form = client.put(api("/spaces/cs/forms/account")).bearer_auth(&token).json(&account_form()).send();
    assert!(form.await.unwrap().status().is_success());
    let remote = |args: &[&str]| {
        tend().args(args).args(["--server", &server.base]).env("TEND_TOKEN", &token).current_dir(dir.path()).output()
    };
    let file = dir.path().join("accounts.csv");
    std::fs::write(&file, "Company,Tier,Health\nAcme,Enterprise,80\nGlobex,growth,55\n").unwrap();
    let file = file.to_str().unwrap();

    let imported =
        remote(&["import", file, "--space", "cs", "--form", "account", "--map", "Company=name", "--key", "name"])
            .unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let stdout = String::from_utf8(imported.stdout).unwrap();
    assert!(stdout.starts_with("Imported 2 row(s) into cs/account: 2 created, 0 updated"), "{stdout}");

    let out = dir.path().join("out.ndjson");
    let exported =
        remote(&["export", "--space", "cs", "--form", "account", "--format", "ndjson", "--fields", "name,tier"])
            .unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let stdout = String::from_utf8(exported.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains(r#"{"name":"Acme","tier":"enterprise"}"#), "{stdout}");
    let to_file = remote(&["export", "--space", "cs", "--form", "account", "--out", out.to_str().unwrap()]).unwrap();
    assert!(to_file.status.success());
    assert!(std::fs::read_to_string(&out).unwrap().contains("Globex"));

    std::fs::write(dir.path().join("bad.csv"), "name,tier\nInitech,platinum\n").unwrap();
    let bad = dir.path().join("bad.csv");
    let failed = remote(&["import", bad.to_str().unwrap(), "--space", "cs", "--form", "account"]).unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8(failed.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("1 row(s) failed; nothing was stored"), "{stderr}");
    assert!(String::from_utf8(failed.stdout).unwrap().contains("row 2, column tier (/tier)"));
    let missing = remote(&["import", file, "--space", "cs", "--form", "ghost"]).unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8(missing.stderr).unwrap().contains("404"));
}

/// The help is written for users: every command says what it does and shows an example, and
/// the version is the workspace's, also in `/healthz`.
#[tokio::test]
async fn help_explains_every_command_and_the_version_is_real() {
    let commands: [&[&str]; 21] = [
        &[],
        &["serve"],
        &["token"],
        &["token", "create"],
        &["token", "list"],
        &["token", "revoke"],
        &["user"],
        &["user", "create"],
        &["user", "reset-password"],
        &["pack"],
        &["pack", "check"],
        &["pack", "test"],
        &["pack", "install"],
        &["pack", "list"],
        &["space"],
        &["space", "copy"],
        &["simulate"],
        &["import"],
        &["export"],
        &["backup"],
        &["restore"],
    ];
    for command in commands {
        let output = tend().args(command).arg("--help").output().unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("Example"), "{command:?} shows no example:\n{help}");
        let about = help.lines().next().unwrap_or("");
        assert!(about.split_whitespace().count() >= 4, "{command:?} says too little: {about}");
    }
    let version = tend().arg("--version").output().unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    assert_eq!(version.trim(), "tend 0.1.0");
    let app = TestApp::spawn().await;
    let health = expect_json(app.client.get(app.url("/healthz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(health["version"], "0.1.0");
}

/// The data directory holds hook and webhook secrets: only its owner may read it, whether a
/// command created it or a server ran on a directory someone had opened up.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let assert_private = |dir: &std::path::Path| {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        for file in walk(dir) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    };
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("data");
    let output = tend().args(["token", "create", "--admin", "--data-dir"]).arg(&dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(!walk(&dir).is_empty());
    assert_private(&dir);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in walk(&dir) {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = ServerProcess::start(&dir);
    assert_private(&dir);
    let client = reqwest::Client::new();
    let space = client
        .post(format!("{}/api/v1/spaces", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "cs" }));
    assert_eq!(space.send().await.unwrap().status(), StatusCode::CREATED);
    assert!(server.terminate(), "the server stopped cleanly");
    assert_private(&dir);
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
    // A space name is checked where the CLI reads it, before any data dir is opened.
    let output = tend().args(["space", "copy", "CS", "cs-2", "--data-dir", "missing"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("\"CS\": must start with a lowercase letter"), "{stderr}");
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

/// What CI relies on: every pack under `examples/` passes `tend pack check` and `tend pack test`.
#[test]
fn every_example_pack_passes_check_and_test() {
    let examples = workspace_root().join("examples");
    let mut packs = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let pack = entry.unwrap().path();
        if !pack.join("pack.json").is_file() {
            continue;
        }
        packs += 1;
        for verb in ["check", "test"] {
            let output = tend().args(["pack", verb]).arg(&pack).output().unwrap();
            assert!(
                output.status.success(),
                "tend pack {verb} {}:\n{}{}",
                pack.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    assert!(packs >= 3);
}

#[test]
fn a_failing_pack_test_shows_expected_and_got() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    std::fs::create_dir_all(pack.join("forms")).unwrap();
    std::fs::create_dir_all(pack.join("workflows")).unwrap();
    std::fs::create_dir_all(pack.join("tests")).unwrap();
    std::fs::write(
        pack.join("pack.json"),
        r#"{"name": "tiny", "title": "Tiny", "description": "A test pack", "version": "0.1.0"}"#,
    )
    .unwrap();
    std::fs::write(
        pack.join("forms/task.json"),
        r#"{"schema": {"type": "object", "properties": {"title": {"type": "string"}, "status": {"type": "string"}}}}"#,
    )
    .unwrap();
    std::fs::write(
        pack.join("workflows/close.json"),
        r#"{"trigger": {"form": "task", "on": ["created"]}, "when": "record.title == \"done\"", "actions": [{"set": {"status": "\"closed\""}}]}"#,
    )
    .unwrap();
    std::fs::write(
        pack.join("tests/close.json"),
        r#"{"name": "closes done tasks", "start": "2027-01-04T08:00:00Z",
            "steps": [{"create": {"form": "task", "as": "t", "data": {"title": "done"}}}],
            "expect": {"runs": [{"workflow": "close", "count": 2}], "values": [{"ref": "t", "data": {"status": "open"}}]}}"#,
    )
    .unwrap();
    let output = tend().args(["pack", "test"]).arg(&pack).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("FAIL tests/close.json: closes done tasks"), "{stdout}");
    assert!(stdout.contains("runs of `close` that succeeded: expected 2, got 1"), "{stdout}");
    assert!(stdout.contains("`t`.status: expected \"open\", got \"closed\""), "{stdout}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
}

#[tokio::test]
async fn pack_install_and_space_copy_work_on_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = tend().args(args).arg("--data-dir").arg(dir.path()).output().unwrap();
        (output.status.success(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let (ok, stdout, stderr) = run(&["pack", "install", "support-desk", "--space", "support", "--sample-data"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Installed support-desk 1.0.0 into space `support`"), "{stdout}");
    let (ok, stdout, stderr) = run(&["space", "copy", "support", "support-emea", "--title", "Support EMEA"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Copied space `support` to `support-emea`: 2 form(s), 5 workflow(s), no records"),
        "{stdout}"
    );
    let (ok, _, stderr) = run(&["space", "copy", "nowhere", "other"]);
    assert!(!ok);
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
    assert!(stderr.contains("`nowhere` does not exist"), "{stderr}");

    let (ok, token, stderr) = run(&["token", "create", "--admin"]);
    assert!(ok, "{stderr}");
    let app = TestApp::spawn_with(std::sync::Arc::new(dir), Some(token.trim().to_owned()), |_| {}).await;
    let copy = expect_json(app.get("/api/v1/spaces/support-emea").await, StatusCode::OK).await;
    assert_eq!(copy["copied_from"]["space"], "support");
    let original = expect_json(app.get("/api/v1/spaces/support").await, StatusCode::OK).await;
    assert_eq!(original["template"]["name"], "support-desk");
    let tickets = expect_json(app.get(&records_path("support", "ticket")).await, StatusCode::OK).await;
    assert_eq!(tickets["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn serve_demo_installs_the_customer_success_pack_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, banner) = ServerProcess::start_with(dir.path(), &["--demo"]);
    let token = server.token.clone().expect("a first admin token");
    assert!(banner.iter().any(|l| l.contains("sample records in space `demo`")), "{banner:?}");
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{}{path}", server.base)).bearer_auth(&token).send();
    let at_risk = expect_json(
        get(format!("{}?filter=health%20%3C%2050&limit=1000", records_path("demo", "account"))).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let at_risk = at_risk["items"].as_array().unwrap().len();
    let all =
        expect_json(get(format!("{}?limit=1000", records_path("demo", "account"))).await.unwrap(), StatusCode::OK)
            .await;
    let all = all["items"].as_array().unwrap().len();
    assert_eq!(all, 300);
    assert!(at_risk > 10 && at_risk < 150, "health is varied: {at_risk} of {all} at risk");
    for stage in ["kickoff", "setup", "training", "live"] {
        let path = format!("{}?filter=stage%20%3D%20%22{stage}%22", records_path("demo", "onboarding"));
        let page = expect_json(get(path).await.unwrap(), StatusCode::OK).await;
        assert!(!page["items"].as_array().unwrap().is_empty(), "onboardings in {stage}");
    }
    // Kickoff SLAs count from each onboarding's kickoff date: they fall due on different days,
    // not all at one instant after the demo was loaded.
    let timers = expect_json(get("/api/v1/spaces/demo/timers?limit=500".into()).await.unwrap(), StatusCode::OK).await;
    let kickoff_due_days: std::collections::BTreeSet<String> = timers["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|timer| timer["kind"] == "sla" && timer["offset"] == "kickoff")
        .map(|timer| timer["due"].as_str().unwrap()[..10].to_owned())
        .collect();
    assert!(kickoff_due_days.len() >= 2, "kickoff SLAs due on {kickoff_due_days:?}");
    server.kill9();

    let (again, banner) = ServerProcess::start_with(dir.path(), &["--demo"]);
    assert!(again.token.is_none());
    assert!(banner.iter().any(|l| l.contains("already installed")), "{banner:?}");
}

/// The demo's CSMs and manager are users with printed passwords: a CSM signed in lists only
/// the accounts she owns (her user id in `owner`), the manager her team's, the admin all.
#[tokio::test]
async fn serve_demo_users_sign_in_to_their_own_book() {
    let dir = tempfile::tempdir().unwrap();
    let (server, banner) = ServerProcess::start_with(dir.path(), &["--demo"]);
    let token = server.token.clone().expect("a first admin token");
    // `Demo user: ana.silva@example.com / <password> (member, team north)`
    let users: Vec<(String, String, String)> = banner
        .iter()
        .filter_map(|line| line.strip_prefix("Demo user: "))
        .map(|rest| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            (words[0].to_owned(), words[2].to_owned(), words[3].trim_matches(['(', ',']).to_owned())
        })
        .collect();
    assert_eq!(users.len(), 9, "eight CSMs and a manager: {banner:?}");
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let accounts = format!("{}?limit=1000", records_path("demo", "account"));
    let owners = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["owner"].as_str().unwrap().to_owned()).collect()
    };
    let admin = |path: String| client.get(url(&path)).bearer_auth(&token).send();
    let everything = owners(&expect_json(admin(accounts.clone()).await.unwrap(), StatusCode::OK).await);
    assert_eq!(everything.len(), 300);
    let members = expect_json(admin("/api/v1/spaces/demo/members".into()).await.unwrap(), StatusCode::OK).await;
    let id_of = |email: &str| -> String {
        let members = members["items"].as_array().unwrap();
        let member = members.iter().find(|m| m["email"] == email).unwrap_or_else(|| panic!("{email}: {members:?}"));
        member["user_id"].as_str().unwrap().to_owned()
    };
    let team_of = |email: &str| -> Vec<String> {
        let members = members["items"].as_array().unwrap();
        let member = members.iter().find(|m| m["email"] == email).unwrap();
        member["teams"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
    };
    let signed_in = |email: String, password: String| {
        let client = &client;
        let url = url("/api/v1/auth/login");
        let origin = server.base.clone();
        async move {
            let response = client
                .post(url)
                .header("origin", origin)
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED, "{email} signs in");
            let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
            set_cookie.split(';').next().unwrap().to_owned()
        }
    };
    let as_user = |cookie: String| client.get(url(&accounts)).header("cookie", cookie).send();

    let (csm, password, role) = users.iter().find(|(_, _, role)| role == "member").expect("a CSM");
    assert_eq!(role, "member");
    let csm_id = id_of(csm);
    let cookie = signed_in(csm.clone(), password.clone()).await;
    let hers = owners(&expect_json(as_user(cookie).await.unwrap(), StatusCode::OK).await);
    let expected = everything.iter().filter(|owner| **owner == csm_id).count();
    assert!(expected > 0, "{csm} owns accounts");
    assert_eq!(hers.len(), expected, "{csm} sees exactly her own accounts");
    assert!(hers.iter().all(|owner| *owner == csm_id));
    let filtered = format!("{accounts}&filter=owner%20%3D%20%22{csm_id}%22");
    let by_owner = owners(&expect_json(admin(filtered).await.unwrap(), StatusCode::OK).await);
    assert_eq!(by_owner.len(), hers.len(), "the admin's view filtered by owner is the same book");

    let (manager, password, _) = users.iter().find(|(_, _, role)| role == "viewer").expect("a manager");
    let team = team_of(manager);
    let teammates: Vec<String> = users
        .iter()
        .filter(|(email, _, role)| role == "member" && team_of(email) == team)
        .map(|(email, ..)| id_of(email))
        .collect();
    assert!(!teammates.is_empty() && teammates.len() < 8, "the manager's team is some CSMs: {teammates:?}");
    let cookie = signed_in(manager.clone(), password.clone()).await;
    let theirs = owners(&expect_json(as_user(cookie).await.unwrap(), StatusCode::OK).await);
    let expected = everything.iter().filter(|owner| teammates.contains(owner)).count();
    assert_eq!(theirs.len(), expected, "the manager sees her team's accounts");
    assert!(theirs.len() < everything.len());
    assert!(theirs.iter().all(|owner| teammates.contains(owner)));

    let wrong = client
        .post(url("/api/v1/auth/login"))
        .header("origin", server.base.clone())
        .json(&json!({ "email": csm, "password": "not the demo password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    server.kill9();
}
