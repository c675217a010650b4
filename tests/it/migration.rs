//! Data dirs written by the releases before storage format 2 (`fixtures/format1`), before
//! format 3 (`fixtures/format2`), both sled, and before format 4 (`fixtures/format3`, fjall
//! with every key of the `data` tree in one partition), each made with that release's
//! `tend serve` (the customer-success pack with its sample data in space `cs`, a webhook
//! endpoint `crm`, a workflow that notifies it on every new account, one account created and
//! then renamed through the API), open with this release, are migrated on open, and serve the
//! same records, history (with the data before and after each change), timers and outbox.

use std::path::Path;

use engine::outbox::DeliveryFilter;
use engine::timers::TimerFilter;
use engine::workflows::DeliveryStatus;
use engine::{Access, Engine, EngineConfig, FormName, ListQuery, SpaceName};

use crate::support::workspace_root;

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

fn account() -> FormName {
    FormName::from_static("account")
}

/// A fixture: its directory under `tests/it/fixtures`, and the account created and renamed
/// through the API before the data dir was saved.
struct Fixture {
    dir: &'static str,
    renamed: &'static str,
    /// Pending timers (the pack's sample data has grown more of them since format 2).
    timers: usize,
}

const FORMAT1: Fixture = Fixture { dir: "format1", renamed: "01a230f4-669a-75c0-a044-7058dd4c8833", timers: 34 };
const FORMAT2: Fixture = Fixture { dir: "format2", renamed: "01a2313b-50c4-708f-b2f1-8a3fc2b50abe", timers: 34 };
const FORMAT3: Fixture = Fixture { dir: "format3", renamed: "01a235cb-cb9b-72c3-bfac-68c24675e44c", timers: 36 };

/// A copy of the fixture: opening migrates it in place, and the fixture must stay as written.
fn copy_of_fixture(fixture: &Fixture, target: &Path) {
    copy_dir(&workspace_root().join("tests/it/fixtures").join(fixture.dir), target);
}

fn copy_dir(source: &Path, target: &Path) {
    for entry in std::fs::read_dir(source).expect("fixture dir") {
        let entry = entry.expect("entry");
        let to = target.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&to).expect("dir");
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).expect("copy");
        }
    }
}

fn count(engine: &Engine, form: &str) -> usize {
    let query = ListQuery { limit: Some(1000), ..ListQuery::default() };
    engine
        .list_records(&Access::unrestricted(), &cs(), &FormName::parse(form).expect("name"), &query)
        .expect("records")
        .items
        .len()
}

fn check_serves_what_was_written(engine: &Engine, fixture: &Fixture, accounts: usize) {
    let spaces: Vec<String> = engine.spaces().expect("spaces").iter().map(|s| s.name.to_string()).collect();
    assert_eq!(spaces, ["cs"]);
    assert_eq!((count(engine, "account"), count(engine, "contact"), count(engine, "task")), (accounts, 24, 8));
    let renamed =
        engine.record(&Access::unrestricted(), &cs(), &account(), fixture.renamed).expect("the renamed account");
    assert_eq!((renamed.version, renamed.data["name"].as_str()), (2, Some("Migrated Limited")));
    let history =
        engine.record_history(&Access::unrestricted(), &cs(), &account(), fixture.renamed, 0, 100).expect("history");
    let kinds: Vec<String> = history.iter().map(|e| serde_json::to_string(&e.kind).expect("kind")).collect();
    assert_eq!(kinds, ["\"created\"", "\"updated\""]);
    let name = |data: &Option<serde_json::Value>| data.as_ref().and_then(|d| d["name"].as_str().map(str::to_owned));
    assert_eq!(history[1].before.as_ref(), history[0].after.as_ref(), "the rename starts from the created data");
    assert_eq!(name(&history[1].after).as_deref(), Some("Migrated Limited"));
    assert_ne!(name(&history[0].after).as_deref(), Some("Migrated Limited"));
    let (timers, _) = engine.timers(&cs(), &TimerFilter::default(), 1000, None).expect("timers");
    assert_eq!(timers.len(), fixture.timers, "every pending timer");
    let (deliveries, more) = engine.list_deliveries(&cs(), &DeliveryFilter::default(), 50, None).expect("outbox");
    assert!(!more);
    assert_eq!(deliveries.len(), 1, "the space's outbox, listed through the index the migration built");
    assert_eq!(deliveries[0].status, DeliveryStatus::Pending);
    assert_eq!(serde_json::to_value(&deliveries[0].target).expect("target"), serde_json::json!({ "webhook": "crm" }));
    assert_eq!(engine.delivery_counts(&cs()).expect("counts").get("pending"), Some(&1));
    assert!(engine.last_event_seq() > 40, "the event log is there");
    // Tokens made before people existed are the bootstrap user's: admin tokens, no user.
    let tokens = engine.tokens(None).expect("tokens");
    assert!(!tokens.is_empty(), "the release's first admin token");
    assert!(tokens.iter().all(|t| t.role == engine::Role::Admin && t.user_id.is_none() && t.space.is_none()));
}

/// Opens a copy of `fixture` (migrating it), checks it, writes to it, and reopens it.
async fn migrates_and_serves(fixture: &Fixture, accounts: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_of_fixture(fixture, dir.path());
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("opens (and migrates) the old data dir");
    check_serves_what_was_written(&engine, fixture, accounts);
    // Writing works as before: the new record's events follow the old ones.
    let before = engine.last_event_seq();
    let data = serde_json::json!({ "name": "After the migration", "arr": 1000, "tier": "starter", "status": "active",
        "owner": "ana.silva@example.com", "renewal_date": "2027-09-01", "region": "emea", "timezone": "Europe/Berlin" });
    let created = engine
        .create_record(&engine::Actor::system(), &Access::unrestricted(), &cs(), &account(), data)
        .await
        .expect("a new account");
    assert_eq!(engine.last_event_seq(), before + 1);
    engine.close().expect("close");
    drop(engine);

    // Opening again finds the current format: nothing to migrate, the same answers.
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("reopens");
    check_serves_what_was_written(&engine, fixture, accounts + 1);
    let history = engine
        .record_history(&Access::unrestricted(), &cs(), &account(), &created.id.to_string(), 0, 10)
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].after.as_ref(), Some(&created.data), "a new event's data, read back from its record");
    engine.close().expect("close");
}

#[tokio::test]
async fn a_data_dir_from_format_1_is_migrated_and_served() {
    migrates_and_serves(&FORMAT1, 11).await;
}

#[tokio::test]
async fn a_data_dir_from_format_2_is_migrated_and_served() {
    migrates_and_serves(&FORMAT2, 11).await;
}

/// A fjall data dir of format 3 has its records, index entries, events, history and runs moved
/// into partitions of their own on open.
#[tokio::test]
async fn a_fjall_data_dir_from_format_3_is_migrated_and_served() {
    migrates_and_serves(&FORMAT3, 11).await;
    let dir = tempfile::tempdir().expect("temp dir");
    copy_of_fixture(&FORMAT3, dir.path());
    let partitions = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("kv/partitions"))
            .expect("partitions")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(partitions(dir.path()), ["auth", "data", "defs"]);
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("opens (and migrates) the old data dir");
    engine.close().expect("close");
    assert_eq!(
        partitions(dir.path()),
        ["auth", "data", "data-events", "data-history", "data-indexes", "data-records", "data-runs", "defs"]
    );
}

/// The server on an old data dir lists its tokens as the bootstrap user's, makes a first
/// superadmin user (there were no users), and an old token acts as a superadmin: it sees every
/// space and may manage users.
#[tokio::test]
async fn tokens_from_before_people_are_the_bootstrap_users_superadmin_tokens() {
    use crate::support::{expect_json, items, TestApp};
    use reqwest::StatusCode;
    let dir = tempfile::tempdir().expect("temp dir");
    copy_of_fixture(&FORMAT2, dir.path());
    // The fixture's token secret was printed once and not kept: make another one the old way,
    // a bootstrap admin token, the only kind the old code made.
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("opens");
    let (old_kind, _) = engine.create_admin_token(Some("old".into())).await.expect("token");
    engine.close().expect("close");
    drop(engine);
    let app = TestApp::spawn_with(std::sync::Arc::new(dir), Some(old_kind), |_| {}).await;
    let listed = expect_json(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    assert!(items(&listed).len() >= 2, "{listed}");
    assert!(items(&listed).iter().all(|t| t["user_id"] == "bootstrap" && t["role"] == "admin"), "{listed}");
    let me = expect_json(app.get("/api/v1/auth/me").await, StatusCode::OK).await;
    assert_eq!((me["superadmin"].as_bool(), me["user"].is_null()), (Some(true), true), "{me}");
    expect_json(app.get("/api/v1/spaces/cs/forms").await, StatusCode::OK).await;
    let users = expect_json(app.get("/api/v1/users").await, StatusCode::OK).await;
    assert_eq!(items(&users)[0]["email"], "admin@localhost", "a first superadmin was made: {users}");
}

/// A sled data dir keeps opening with sled though new data dirs are fjall, and a backup of it
/// restored into a new data dir moves it to fjall with the same records, history, timers and
/// outbox.
#[tokio::test]
async fn a_sled_data_dir_stays_on_sled_and_moves_to_fjall_by_backup_and_restore() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_of_fixture(&FORMAT2, dir.path());
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("opens the sled data dir");
    assert_eq!(engine::database_lock_file(dir.path()), Some(dir.path().join("db")), "still sled");
    let archive = dir.path().join("backup.tend");
    engine.backup(std::fs::File::create(&archive).expect("archive")).expect("backup");
    engine.close().expect("close");
    drop(engine);

    let target = tempfile::tempdir().expect("temp dir");
    let restored_dir = target.path().join("restored");
    engine::backup::restore(&archive, &restored_dir, &engine::StorageConfig::default()).expect("restore");
    assert_eq!(engine::database_lock_file(&restored_dir), Some(restored_dir.join("kv.lock")), "now fjall");
    let restored = Engine::open(EngineConfig::new(&restored_dir)).expect("opens the restored data dir");
    check_serves_what_was_written(&restored, &FORMAT2, 11);
    restored.close().expect("close");
}
