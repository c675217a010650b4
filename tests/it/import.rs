//! Imports through the real server: CSV in UTF-8 with a byte-order mark and in GBK, XLSX,
//! NDJSON; column overrides; bad cells reported by row, column and field; references by name;
//! upserts; dry runs and all-or-nothing imports that store nothing; an all-or-nothing import
//! killed while storing, undone at the restart; workflows left out; and an export imported
//! back unchanged.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{
    account, account_form, contact_form, expect_json, expect_problem, records_path, ServerProcess, TestApp,
};

async fn import(
    app: &TestApp,
    form: &str,
    query: &[(&str, &str)],
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/api/v1/spaces/cs/forms/{form}/import"))
        .query(query)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("import answered")
}

async fn imported(app: &TestApp, form: &str, query: &[(&str, &str)], content_type: &str, body: Vec<u8>) -> Value {
    expect_json(import(app, form, query, content_type, body).await, StatusCode::OK).await
}

/// Every record of `form`, sorted by name, as their data.
async fn stored(app: &TestApp, form: &str) -> Vec<Value> {
    let response = app
        .request(reqwest::Method::GET, &records_path("cs", form))
        .query(&[("limit", "1000"), ("sort", "name")])
        .send()
        .await
        .expect("list");
    let page = expect_json(response, StatusCode::OK).await;
    page["items"].as_array().expect("items").iter().map(|r| r["data"].clone()).collect()
}

const CSV: &str = "Name,Tier,Health,ARR,Renewal Date,Owner\n\
                   Acme,Enterprise,80,\"￥12,000.50\",2027/3/1,a@example.com\n\
                   宏达科技,growth,55,\"3,400\",2027年4月2日,b@example.com\n";

#[tokio::test]
async fn csv_in_utf8_with_a_bom_and_in_gbk_is_coerced_by_header_and_label() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(CSV.as_bytes());
    let report = imported(&app, "account", &[], "text/csv", bom).await;
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["stored"], true);
    assert_eq!(report["columns"][0], json!({ "header": "Name", "field": "name" }));
    assert_eq!(report["columns"][4], json!({ "header": "Renewal Date", "field": "renewal_date" }));
    let text = CSV.replace("Acme", "Acme 2").replace("宏达科技", "宏达二号");
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let report = imported(&app, "account", &[], "text/csv", gbk.into_owned()).await;
    assert_eq!(report["created"], 2, "{report}");
    let records = stored(&app, "account").await;
    assert_eq!(records.len(), 4);
    assert_eq!(records[0]["tier"], "enterprise", "an option by its label");
    assert_eq!(records[0]["arr"], json!(12000.5), "a currency with a thousands separator");
    assert_eq!(records[0]["renewal_date"], "2027-03-01");
    let gbk_row = records.iter().find(|r| r["name"] == "宏达二号").expect("the GBK row");
    assert_eq!(gbk_row["renewal_date"], "2027-04-02", "a Chinese date");
    assert_eq!(gbk_row["arr"], json!(3400.0));
}

#[tokio::test]
async fn bad_cells_are_reported_and_all_or_nothing_stores_nothing() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let csv = "name,tier,health,renewal_date\nGood,growth,50,2027-01-01\nBad,platinum,120,not a date\nAlso good,starter,10,\n";
    let report = imported(&app, "account", &[], "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!((report["failed"].as_u64(), report["stored"].as_bool()), (Some(1), Some(false)), "{report}");
    let errors = report["errors"].as_array().expect("errors");
    assert!(errors.iter().all(|e| e["row"] == 3), "{errors:?}");
    let columns: Vec<&str> = errors.iter().filter_map(|e| e["column"].as_str()).collect();
    assert!(columns.contains(&"tier") && columns.contains(&"renewal_date"), "{errors:?}");
    assert!(errors.iter().all(|e| e["field"].is_string() && e["message"].is_string()));
    assert!(stored(&app, "account").await.is_empty(), "one bad row: nothing stored");

    let dry =
        imported(&app, "account", &[("dry_run", "true"), ("mode", "resumable")], "text/csv", csv.as_bytes().to_vec())
            .await;
    assert_eq!((dry["created"].as_u64(), dry["dry_run"].as_bool()), (Some(2), Some(true)));
    assert!(stored(&app, "account").await.is_empty(), "a dry run stores nothing");

    let resumable = imported(&app, "account", &[("mode", "resumable")], "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!((resumable["created"].as_u64(), resumable["stored_through"].as_u64()), (Some(2), Some(4)));
    assert_eq!(stored(&app, "account").await.len(), 2);

    // A mapping override that can't apply, a key that is not indexed: problems, not reports.
    let problem = expect_problem(
        import(&app, "account", &[("map", "nope:name")], "text/csv", csv.as_bytes().to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["errors"][0]["path"], "/map/nope");
    let problem = expect_problem(
        import(&app, "account", &[("key", "arr")], "text/csv", csv.as_bytes().to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["errors"][0]["path"], "/key");
}

#[tokio::test]
async fn mapping_overrides_references_by_name_ndjson_and_upserts() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.put_form("cs", "contact", &contact_form()).await;
    let acme = app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let acme_id = acme["id"].as_str().expect("id").to_owned();

    let csv = "Full name,Company,Mail\nAda,Acme,ada@example.com\nBob,Nobody Inc,bob@example.com\n";
    let query = [("map", "Full name:name"), ("map", "Company:account"), ("map", "Mail:email"), ("mode", "resumable")];
    let report = imported(&app, "contact", &query, "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["errors"][0]["row"], 3);
    assert_eq!(report["errors"][0]["column"], "Company");
    assert_eq!(report["errors"][0]["message"], "no `account` record has this id or key");
    assert_eq!(stored(&app, "contact").await[0]["account"], acme_id.as_str(), "the name became the id");

    // NDJSON, upserting by the indexed name: Acme changes, Initech is new.
    let ndjson =
        "{\"name\":\"Acme\",\"tier\":\"enterprise\",\"health\":90}\n{\"name\":\"Initech\",\"tier\":\"starter\"}\n";
    let query = [("key", "name")];
    let report = imported(&app, "account", &query, "application/x-ndjson", ndjson.as_bytes().to_vec()).await;
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)), "{report}");
    let again = imported(&app, "account", &query, "application/x-ndjson", ndjson.as_bytes().to_vec()).await;
    assert_eq!((again["unchanged"].as_u64(), again["created"].as_u64()), (Some(2), Some(0)), "idempotent");
    let records = stored(&app, "account").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["tier"], "enterprise");
    assert_eq!(records[0]["owner"], "csm@example.com", "fields the file lacks are kept");
}

#[tokio::test]
async fn workflows_can_be_left_out() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                           "actions": [ { "set": { "owner": "\"bot@example.com\"" } } ] });
    let response = app.put("/api/v1/spaces/cs/workflows/stamp", &workflow).await;
    assert!(response.status().is_success(), "{}", response.status());
    let csv = "name,tier\nQuiet,starter\n";
    imported(&app, "account", &[("workflows", "false")], "text/csv", csv.as_bytes().to_vec()).await;
    let csv = "name,tier\nLoud,starter\n";
    imported(&app, "account", &[], "text/csv", csv.as_bytes().to_vec()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let records = stored(&app, "account").await;
        if records.iter().any(|r| r["name"] == "Loud" && r["owner"] == "bot@example.com") {
            break records;
        }
        assert!(tokio::time::Instant::now() < deadline, "the workflow ran for Loud: {records:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let quiet = records.iter().find(|r| r["name"] == "Quiet").expect("Quiet");
    assert_eq!(quiet.get("owner"), None, "no workflow ran for Quiet");
}

#[tokio::test]
async fn an_export_imports_back_unchanged_as_csv_and_xlsx() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    for i in 0..30 {
        let mut body = account(&format!("客户 {i:02}, \"Ltd\""), ["starter", "growth", "enterprise"][i % 3], i as i64);
        if i % 4 == 0 {
            body["tags"] = json!(["vip", "pilot"]);
            body["last_contact_at"] = json!("2026-11-30T08:15:00Z");
        }
        app.create_record("cs", "account", &body).await;
    }
    let before = stored(&app, "account").await;
    for (format, media) in
        [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    {
        let response = app
            .request(reqwest::Method::GET, "/api/v1/spaces/cs/forms/account/export")
            .query(&[("format", format)])
            .send()
            .await
            .expect("export");
        assert_eq!(response.status(), StatusCode::OK);
        let file = response.bytes().await.expect("file").to_vec();
        let report = imported(&app, "account", &[("key", "name")], media, file).await;
        assert_eq!(report["unchanged"], 30, "{format}: {report}");
        assert_eq!((report["created"].as_u64(), report["failed"].as_u64()), (Some(0), Some(0)), "{format}");
    }
    assert_eq!(stored(&app, "account").await, before);
}

/// An all-or-nothing import stores chunk by chunk; killed after two chunks are stored (the
/// `import-chunk-stored` kill point), its rows are there until the restart, which undoes
/// them before serving: no row of it is visible, the records from before are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_all_or_nothing_import_killed_while_storing_is_undone_at_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = ServerProcess::start_with_env(dir.path(), &[(engine::FAULT_VAR, "import-chunk-stored:2")]);
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    let api = |base: &str, path: &str| format!("{base}/api/v1{path}");
    let sent = client.post(api(&server.base, "/spaces")).bearer_auth(&token).json(&json!({ "name": "cs" })).send();
    assert!(sent.await.expect("space").status().is_success());
    let form = client.put(api(&server.base, "/spaces/cs/forms/account")).bearer_auth(&token).json(&account_form());
    assert!(form.send().await.expect("form").status().is_success());
    let before = client.post(api(&server.base, "/spaces/cs/forms/account/records")).bearer_auth(&token);
    assert!(before.json(&account("Before", "growth", 50)).send().await.expect("record").status().is_success());
    let mut csv = String::from("name,tier,health\n");
    for i in 0..2500 {
        csv.push_str(&format!("Imported {i},starter,{}\n", i % 100));
    }
    let import = client
        .post(api(&server.base, "/spaces/cs/forms/account/import"))
        .bearer_auth(&token)
        .query(&[("workflows", "false")])
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await;
    assert!(import.is_err(), "the server died before answering: {import:?}");
    let mut server = server;
    let status = server.child.wait().expect("exit status");
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(6), "aborted at the kill point: {status}");

    let server = ServerProcess::start(dir.path());
    let count = client.get(api(&server.base, "/spaces/cs/forms/account/count")).bearer_auth(&token).send().await;
    let count = expect_json(count.expect("count"), StatusCode::OK).await;
    assert_eq!(count["count"], 1, "only the record from before the import");
    assert!(server.terminate(), "a clean shutdown");
}
