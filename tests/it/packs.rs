//! Template packs: every pack under `examples/` installs through the API with its sample data
//! and runs it through its workflows without a failed run; `tend pack check` names every
//! problem of a broken pack at its file and line; a copied space adapts its workflows without
//! touching the original.

use engine::{FormName, SpaceName};
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// The packs under `examples/`, by folder name.
fn example_packs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pack.json").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Non-empty lines of a pack's data files.
fn sample_rows(pack: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(workspace_root().join("examples").join(pack).join("data")) else { return 0 };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|text| text.lines().filter(|l| !l.trim().is_empty()).count())
        .sum()
}

/// Waits until the workflow processor has handled every event in the log.
async fn settle(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.engine.processor_position().unwrap() < app.last_event_seq() {
        assert!(Instant::now() < deadline, "the workflows did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    expect_json(app.get(path).await, StatusCode::OK).await["items"].as_array().unwrap().clone()
}

async fn count(app: &TestApp, space: &str, form: &str) -> usize {
    let path = format!("{}?limit=1000", records_path(space, form));
    items(app, &path).await.len()
}

#[tokio::test]
async fn every_pack_installs_through_the_api_and_runs_its_sample_data_without_failed_runs() {
    let app = TestApp::spawn().await;
    let packs = example_packs();
    assert!(packs.len() >= 3, "{packs:?}");
    for pack in &packs {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace_root().join("examples").join(pack).join("pack.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["name"], pack.as_str(), "the folder is named after the pack");
        let space = format!("{pack}-space");
        let created = expect_json(
            app.post("/api/v1/spaces", &json!({ "name": space, "template": pack, "sample_data": true })).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(created["template"], json!({ "name": pack, "version": meta["version"] }));
        let forms = items(&app, &format!("/api/v1/spaces/{space}/forms")).await;
        let workflows = items(&app, &format!("/api/v1/spaces/{space}/workflows")).await;
        let on_disk = |folder: &str| {
            std::fs::read_dir(workspace_root().join("examples").join(pack).join(folder)).unwrap().count()
        };
        assert_eq!(forms.len(), on_disk("forms"), "{pack}");
        assert_eq!(workflows.len(), on_disk("workflows"), "{pack}");

        settle(&app).await;
        let mut written = 0;
        for form in &forms {
            written += count(&app, &space, form["name"].as_str().unwrap()).await;
        }
        assert!(written >= sample_rows(pack), "{pack}: {written} records for {} sample rows", sample_rows(pack));
        let runs = items(&app, &format!("/api/v1/spaces/{space}/runs?limit=1000")).await;
        assert!(!runs.is_empty(), "{pack}: the sample data triggers workflows");
        let failed: Vec<&Value> = runs.iter().filter(|r| r["status"] == "failed").collect();
        assert!(failed.is_empty(), "{pack}: {failed:#?}");
    }
}

#[tokio::test]
async fn space_creation_refuses_bad_template_and_copy_requests() {
    let app = TestApp::spawn().await;
    let problem = expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs", "template": "crm-deluxe" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/template"]);
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("customer-success"), "{problem}");
    let problem = expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs", "template": "customer-success", "from_space": "x" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/from_space"]);
    expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs", "from_space": "nowhere" })).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "cs", "sample_data": true })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    app.create_space("taken").await;
    expect_problem(
        app.post("/api/v1/spaces", &json!({ "name": "taken", "template": "support-desk" })).await,
        StatusCode::CONFLICT,
        "already-exists",
    )
    .await;
    assert_eq!(items(&app, "/api/v1/spaces").await.len(), 1, "nothing was half made");
}

#[tokio::test]
async fn a_copied_space_changes_a_reminder_offset_without_touching_the_original() {
    let app = TestApp::spawn().await;
    expect_json(
        app.post("/api/v1/spaces", &json!({ "name": "cs", "template": "customer-success", "sample_data": true })).await,
        StatusCode::CREATED,
    )
    .await;
    let copy = expect_json(
        app.post("/api/v1/spaces", &json!({ "name": "cs-emea", "title": "CS EMEA", "from_space": "cs" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(copy["copied_from"]["space"], "cs");
    assert_eq!(copy["copied_from"]["workflows"]["renewal-reminders"], 1);
    assert_eq!(copy["copied_from"]["forms"]["account"], 1);
    assert_eq!(count(&app, "cs-emea", "account").await, 0, "records are not copied");
    assert!(count(&app, "cs", "account").await > 0);

    let path = "/api/v1/spaces/cs-emea/workflows/renewal-reminders";
    let mut definition = expect_json(app.get(path).await, StatusCode::OK).await["definition"].clone();
    definition["trigger"]["offsets"] = json!(["-120d", "-60d", "-30d"]);
    expect_json(app.put(path, &definition).await, StatusCode::OK).await;

    let original = expect_json(app.get("/api/v1/spaces/cs/workflows/renewal-reminders").await, StatusCode::OK).await;
    assert_eq!(original["version"], 1);
    assert_eq!(original["definition"]["trigger"]["offsets"], json!(["-90d", "-60d", "-30d"]));
    let adapted = expect_json(app.get(path).await, StatusCode::OK).await;
    assert_eq!(adapted["version"], 2);
    assert_eq!(adapted["definition"]["trigger"]["offsets"], json!(["-120d", "-60d", "-30d"]));
    let space = expect_json(app.get("/api/v1/spaces/cs-emea").await, StatusCode::OK).await;
    assert_eq!(space["copied_from"]["workflows"]["renewal-reminders"], 1, "the copy remembers what it started from");
}

/// Copies a pack folder.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Replaces `from` by `to` in a file and returns the 1-based line where it now is.
fn break_file(path: &Path, from: &str, to: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find(from).unwrap_or_else(|| panic!("{from} in {}", path.display()));
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    text[..at].matches('\n').count() + 1
}

#[test]
fn check_names_every_problem_of_a_broken_pack_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("customer-success");
    copy_dir(&workspace_root().join("examples/customer-success"), &pack);

    // A syntax error in a script file is placed at its line in that file.
    let script_line = break_file(&pack.join("scripts/renewal-reminder.rhai"), "let arr = ", "let arr = = ");
    // A workflow that sets a field the form lacks.
    let field_line = break_file(
        &pack.join("workflows/health-drop-alert.json"),
        "{ \"status\": \"\\\"at_risk\\\"\" }",
        "{ \"stauts\": \"\\\"at_risk\\\"\" }",
    );
    // A cron with an impossible minute.
    let cron_line =
        break_file(&pack.join("workflows/weekly-at-risk-digest.json"), "\"0 8 * * MON\"", "\"61 8 * * MON\"");
    // A sample record with a field the schema forbids, on line 3.
    let data = pack.join("data/account.ndjson");
    let mut lines: Vec<String> = std::fs::read_to_string(&data).unwrap().lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen("\"tier\": \"starter\"", "\"tier\": \"platinum\"", 1);
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    // A test that names a workflow the pack does not have.
    let test_line = break_file(
        &pack.join("tests/nps-to-account.json"),
        "\"workflow\": \"nps-to-account\"",
        "\"workflow\": \"nps-to-crm\"",
    );

    let output = tend().args(["pack", "check"]).arg(&pack).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let root = pack.display().to_string();
    let expected = [
        (format!("{root}/scripts/renewal-reminder.rhai:{script_line}:"), "syntax error"),
        (format!("{root}/workflows/health-drop-alert.json:{field_line}:"), "`stauts` is not a field of `account`"),
        (format!("{root}/workflows/weekly-at-risk-digest.json:{cron_line}:"), "61"),
        (format!("{root}/data/account.ndjson:3:"), "/tier"),
        (format!("{root}/tests/nps-to-account.json:{test_line}:"), "no workflow `nps-to-crm`"),
    ];
    for (location, words) in &expected {
        assert!(
            stdout.lines().any(|line| line.starts_with(location.as_str()) && line.contains(words)),
            "missing {location} … {words} in:\n{stdout}"
        );
    }
    let problems = stdout.lines().count();
    assert!(problems >= expected.len(), "{stdout}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{problems} problem(s)")), "{stderr}");
}

/// A syntax error in the script of a form's computed field is one problem, at its line: the
/// form's workflows, sample records and the records that refer to them are still checked
/// (without it they all failed, 46 problems hiding the real one), and an unrelated problem
/// is still found.
#[test]
fn check_reports_a_broken_form_script_once_and_checks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("customer-success");
    copy_dir(&workspace_root().join("examples/customer-success"), &pack);
    let script_line = break_file(&pack.join("scripts/health.rhai"), "let weights = ", "let weights = = ");
    let data = pack.join("data/task.ndjson");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&data, text.replacen("\"status\": \"open\"", "\"status\": \"bogus\"", 1)).unwrap();

    let output = tend().args(["pack", "check"]).arg(&pack).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let root = pack.display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "the root problem and the unrelated one, nothing else:\n{stdout}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("{root}/scripts/health.rhai:{script_line}:"))), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("{root}/data/task.ndjson:1:")) && l.contains("/status")));
}

/// The demo reads like a real book of business: company names fit their industry and carry
/// no numbers, churned accounts are unhealthy, and health covers every band.
#[tokio::test]
async fn demo_accounts_look_real() {
    let app = TestApp::spawn().await;
    web::packs::demo::install_demo(&app.engine, false).await.expect("the demo installs");
    let accounts = items(&app, "/api/v1/spaces/demo/forms/account/records?limit=1000").await;
    assert_eq!(accounts.len(), web::packs::demo::DEMO_ACCOUNTS);
    let (mut healthy, mut attention, mut at_risk) = (0, 0, 0);
    for account in &accounts {
        let data = &account["data"];
        let name = data["name"].as_str().unwrap();
        assert!(!name.chars().any(|c| c.is_ascii_digit()), "{name}");
        let industry = data["industry"].as_str().unwrap();
        let (_, words) = web::packs::demo::INDUSTRIES.iter().find(|(i, _)| *i == industry).unwrap();
        assert!(words.iter().any(|word| name.ends_with(word)), "{name} does not fit {industry}");
        let health = data["health"].as_i64().unwrap();
        if data["status"] == "churned" {
            assert!(health < 50, "churned {name} has health {health}");
        }
        match health {
            75.. => healthy += 1,
            50..=74 => attention += 1,
            _ => at_risk += 1,
        }
    }
    let tenth = accounts.len() / 10;
    assert!(healthy >= tenth && attention >= tenth && at_risk >= tenth, "{healthy}/{attention}/{at_risk}");
    // The endpoints its workflows notify exist, as labelled sinks; without a mail server the
    // emailing workflow is off.
    for name in web::packs::demo::DEMO_ENDPOINTS {
        let endpoint =
            expect_json(app.get(&format!("/api/v1/spaces/demo/webhooks/{name}")).await, StatusCode::OK).await;
        assert_eq!(endpoint["url"], "sink:");
        assert!(endpoint["title"].as_str().unwrap().contains("sink"), "{endpoint}");
    }
    let emailing =
        expect_json(app.get("/api/v1/spaces/demo/workflows/task-overdue-reminder").await, StatusCode::OK).await;
    assert_eq!(emailing["definition"]["enabled"], false);
    let lows = accounts.iter().filter(|a| a["data"]["health"].as_i64().unwrap() < 30).count();
    let highs = accounts.iter().filter(|a| a["data"]["health"].as_i64().unwrap() >= 90).count();
    assert!(lows > 0 && highs > 0, "the extremes are there too: {lows} below 30, {highs} at 90+");
}

/// The customer-success pack's roles, applied by the engine to callers built by hand: a CSM (`member`) reaches only her own accounts,
/// renewals and tasks and can't change ARR; a manager (`viewer`) reads her team's; an admin
/// reads everything.
#[tokio::test]
async fn the_customer_success_pack_gives_csms_their_book_and_managers_their_team() {
    use engine::{Access, Actor, Engine, EngineConfig, ErrorCode, ListQuery, SpaceRole};

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
    let pack = web::packs::embedded("customer-success").expect("built-in pack");
    web::packs::install_new(&engine, &Actor::system(), &pack, &SpaceName::from_static("cs"), None, true)
        .await
        .expect("install");
    let person = |user: &str, role: SpaceRole, team: &[&str]| Access {
        user_id: Some(user.to_owned()),
        role: Some(role),
        team_members: team.iter().map(|m| (*m).to_owned()).collect(),
    };
    let admin = person("ops@example.com", SpaceRole::Admin, &[]);
    let all = |access: &Access, form: &str| {
        let query = ListQuery { limit: Some(1000), ..ListQuery::default() };
        engine
            .list_records(access, &SpaceName::from_static("cs"), &FormName::parse(form).expect("name"), &query)
            .expect("list")
            .items
    };
    for (form, field) in [("account", "owner"), ("renewal", "owner"), ("task", "assignee"), ("onboarding", "owner")] {
        let everything = all(&admin, form);
        let mut owners: Vec<&str> = everything.iter().filter_map(|r| r.data[field].as_str()).collect();
        owners.sort_unstable();
        owners.dedup();
        assert!(owners.len() >= 3, "{form}: the sample data has several owners");
        let (csm_id, teammate) = (owners[0], owners[1]);
        let csm = person(csm_id, SpaceRole::Member, &[csm_id]);
        let mine = all(&csm, form);
        assert_eq!(mine.len(), everything.iter().filter(|r| r.data[field] == csm_id).count(), "{form}");
        assert!(mine.iter().all(|r| r.data[field] == csm_id), "{form}");
        let manager = person("maria.lopez@example.com", SpaceRole::Viewer, &[csm_id, teammate]);
        let team = all(&manager, form);
        let expected = everything.iter().filter(|r| r.data[field] == csm_id || r.data[field] == teammate).count();
        assert_eq!(team.len(), expected, "{form}");
        assert!(team.len() < everything.len(), "{form}: the team is not everyone");
    }
    // The sample data names its CSMs by email; installing it made them users and members,
    // and the person fields hold their ids.
    let user = |email: &str| engine.user_by_email(email).expect("a user for the sample data's CSM").id;
    let (ana, ben) = (user("ana.silva@example.com"), user("ben.okafor@example.com"));
    let member =
        engine.members(&SpaceName::from_static("cs")).expect("members").into_iter().find(|(m, _)| m.user_id == ana);
    assert_eq!(member.map(|(m, _)| m.role), Some(SpaceRole::Member));
    let (ana, ben) = (ana.as_str(), ben.as_str());
    let csm = person(ana, SpaceRole::Member, &[ana]);
    let account = all(&csm, "account").remove(0);
    let raise = json!({ "arr": 1 });
    let actor = Actor(ana.to_owned());
    let err = engine
        .patch_record(
            &actor,
            &csm,
            &SpaceName::from_static("cs"),
            &FormName::from_static("account"),
            &account.id.to_string(),
            &raise,
            None,
        )
        .await;
    let err = err.expect_err("ARR is finance's");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(err.field_errors()[0].path, "/arr");
    let bens = all(&admin, "account").into_iter().find(|r| r.data["owner"] == ben).expect("ben's account");
    let err = engine
        .record(&csm, &SpaceName::from_static("cs"), &FormName::from_static("account"), &bens.id.to_string())
        .expect_err("not hers");
    assert_eq!(err.code(), ErrorCode::NotFound);
    engine.close().unwrap();
}
