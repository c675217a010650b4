//! Record policy on every surface where record data leaves or enters the engine, against a real
//! store: get, patch, delete, stage moves, history, list (every plan, paginated), count,
//! aggregates, dashboards, runs, dry runs, manual runs, retries and imports, each with a
//! constructed [`Access`] for an `own` member, a `team` viewer, an admin and an unrestricted
//! caller.

use forms::DashboardName;
use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::model::SpaceRole;
use crate::workflows::{DryRunInput, RunFilter, RunStatus};
use crate::{
    Access, Actor, Engine, EngineConfig, EngineError, ErrorCode, FormName, ImportOptions, ListQuery, Record, SpaceName,
    WorkflowName,
};

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

fn account() -> FormName {
    FormName::from_static("account")
}

fn touch() -> WorkflowName {
    WorkflowName::from_static("touch")
}

/// Owners of the seeded accounts, in creation order: ann has 7, bob 6, cat 6, one has none.
const OWNERS: [&str; 20] = [
    "ann", "bob", "cat", "ann", "bob", "cat", "ann", "bob", "cat", "ann", "bob", "cat", "ann", "bob", "cat", "ann",
    "bob", "cat", "ann", "",
];

fn account_form() -> Value {
    json!({
        "schema": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" }, "csm": { "type": "string" }, "arr": { "type": "number" },
            "notes": { "type": "string" }, "rank": { "type": "integer" }, "stage": { "type": "string" },
            "touched": { "type": "boolean" } } },
        "indexes": ["csm", "rank"],
        "pipeline": { "field": "stage", "stages": [{ "name": "new" }, { "name": "live" }] },
        "access": { "person_field": "csm", "roles": {
            "member": { "records": "own", "fields": { "arr": "read_only", "notes": "hidden" } },
            "viewer": { "records": "team", "fields": { "notes": "hidden" } } } }
    })
}

fn member(user: &str) -> Access {
    Access { user_id: Some(user.into()), role: Some(SpaceRole::Member), team_members: BTreeSet::from([user.into()]) }
}

fn viewer(user: &str, team: &[&str]) -> Access {
    Access {
        user_id: Some(user.into()),
        role: Some(SpaceRole::Viewer),
        team_members: team.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn admin() -> Access {
    Access { user_id: Some("root".into()), role: Some(SpaceRole::Admin), team_members: BTreeSet::new() }
}

/// An engine with space `cs`, the account form and the seeded accounts (ids in `OWNERS` order).
async fn seeded() -> (tempfile::TempDir, Engine, Vec<Record>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    let actor = Actor::system();
    engine.create_space(&actor, &cs(), None).await.expect("space");
    engine.put_form(&actor, &cs(), &account(), &account_form(), false).await.expect("form");
    let mut records = Vec::new();
    for (i, owner) in OWNERS.iter().enumerate() {
        let mut data = json!({ "name": format!("Account {i:02}"), "arr": i * 100, "notes": format!("secret {i}"),
                                "rank": i % 4 });
        if !owner.is_empty() {
            data["csm"] = json!(owner);
        }
        records
            .push(engine.create_record(&actor, &Access::unrestricted(), &cs(), &account(), data).await.expect("seed"));
    }
    (dir, engine, records)
}

fn owned_by<'a>(records: &'a [Record], owner: &str) -> impl Iterator<Item = &'a Record> + 'a {
    let owner = owner.to_owned();
    records.iter().filter(move |r| r.data["csm"] == json!(owner))
}

/// The error of a missing record and of one out of scope must be the same, apart from the id.
fn assert_not_found(err: EngineError, id: &str) {
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert_eq!(err.to_string(), format!("record `{id}` does not exist"));
}

fn forbidden_paths(err: EngineError) -> Vec<String> {
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    err.field_errors().into_iter().map(|e| e.path).collect()
}

/// Every page of a list, checking that each page but the last is full.
fn all_pages(engine: &Engine, access: &Access, filter: Option<&str>, sort: Option<&str>) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery { filter: filter.map(Into::into), sort: sort.map(Into::into), limit: Some(2), cursor };
        let page = engine.list_records(access, &cs(), &account(), &query).expect("page");
        let full = page.items.len() == 2;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(full, "a page before the last is full ({filter:?}, {sort:?})");
                cursor = Some(next);
            }
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn get_and_writes_of_a_record_out_of_scope_answer_like_a_missing_one() {
    let (_dir, engine, records) = seeded().await;
    let (ann, actor) = (member("ann"), Actor("ann".into()));
    let mine = &records[0];
    let theirs = &records[1];
    let (theirs_id, missing) = (theirs.id.to_string(), uuid::Uuid::now_v7().to_string());

    let got = engine.record(&ann, &cs(), &account(), &mine.id.to_string()).expect("own record");
    assert_eq!(got.data, json!({ "name": "Account 00", "csm": "ann", "arr": 0, "rank": 0, "stage": "new" }));
    for id in [&theirs_id, &missing] {
        assert_not_found(engine.record(&ann, &cs(), &account(), id).expect_err("not seen"), id);
        let patch = json!({ "name": "x" });
        // A stale If-Match must not tell an existing record (412) from a missing one (404).
        for if_match in [None, Some(99)] {
            let err = engine.patch_record(&actor, &ann, &cs(), &account(), id, &patch, if_match).await;
            assert_not_found(err.expect_err("patch"), id);
            let err = engine.transition_record(&actor, &ann, &cs(), &account(), id, "live", if_match).await;
            assert_not_found(err.expect_err("transition"), id);
            let err = engine.delete_record(&actor, &ann, &cs(), &account(), id, if_match).await;
            assert_not_found(err.expect_err("delete"), id);
        }
        assert_not_found(engine.record_history(&ann, &cs(), &account(), id, 0, 10).expect_err("history"), id);
    }
    // Nothing was changed by the refused writes.
    let stored = engine.record(&Access::unrestricted(), &cs(), &account(), &theirs_id).expect("still there");
    assert_eq!((stored.version, &stored.data), (1, &theirs.data));

    // A viewer of ann's and bob's team reaches both, not cat's; an admin and an unrestricted
    // caller reach everything, hidden fields included.
    let team = viewer("dan", &["dan", "ann", "bob"]);
    engine.record(&team, &cs(), &account(), &theirs_id).expect("team record");
    let cats = records[2].id.to_string();
    assert_not_found(engine.record(&team, &cs(), &account(), &cats).expect_err("cat's"), &cats);
    for everything in [admin(), Access::unrestricted()] {
        assert_eq!(engine.record(&everything, &cs(), &account(), &cats).expect("all").data, records[2].data);
    }
}

#[tokio::test]
async fn a_member_writes_only_what_it_may_and_keeps_its_records_its_own() {
    let (_dir, engine, records) = seeded().await;
    let (ann, actor) = (member("ann"), Actor("ann".into()));
    let id = records[0].id.to_string();

    let patched = engine.patch_record(&actor, &ann, &cs(), &account(), &id, &json!({ "name": "Renamed" }), None).await;
    let patched = patched.expect("a writable field");
    assert_eq!(patched.data.get("notes"), None, "the answer leaves hidden fields out");
    let stored = engine.record(&Access::unrestricted(), &cs(), &account(), &id).expect("stored");
    assert_eq!(stored.data["notes"], "secret 0", "a hidden field survives a patch that does not name it");
    // Sending back a read-only field unchanged is fine; changing it, or writing a hidden
    // field, is refused naming each field.
    let same = json!({ "arr": 0, "name": "Again" });
    engine.patch_record(&actor, &ann, &cs(), &account(), &id, &same, None).await.expect("unchanged arr");
    let err = engine.patch_record(&actor, &ann, &cs(), &account(), &id, &json!({ "arr": 5, "notes": "x" }), None).await;
    assert_eq!(forbidden_paths(err.expect_err("read-only and hidden")), ["/arr", "/notes"]);
    let err = engine.patch_record(&actor, &ann, &cs(), &account(), &id, &json!({ "csm": "bob" }), None).await;
    assert_eq!(forbidden_paths(err.expect_err("giving the record away")), ["/csm"]);

    // A create names ann unless it names someone else, which is refused; read-only fields
    // can't be set at creation either.
    let created =
        engine.create_record(&actor, &ann, &cs(), &account(), json!({ "name": "New" })).await.expect("create");
    assert_eq!(created.data["csm"], "ann");
    let err = engine.create_record(&actor, &ann, &cs(), &account(), json!({ "name": "N", "csm": "bob" })).await;
    assert_eq!(forbidden_paths(err.expect_err("someone else's")), ["/csm"]);
    let err = engine.create_record(&actor, &ann, &cs(), &account(), json!({ "name": "N", "arr": 1 })).await;
    assert_eq!(forbidden_paths(err.expect_err("read-only")), ["/arr"]);

    // A team viewer may give a record to a teammate, not to someone outside the team.
    let team = viewer("dan", &["dan", "ann"]);
    let to_ann = json!({ "name": "Dan's", "csm": "ann" });
    engine.create_record(&actor, &team, &cs(), &account(), to_ann).await.expect("a teammate's");
    let err = engine.create_record(&actor, &team, &cs(), &account(), json!({ "name": "C", "csm": "cat" })).await;
    assert_eq!(forbidden_paths(err.expect_err("outside the team")), ["/csm"]);

    // The stage is a field like any other: a role that may not write it may not move it.
    let form = account_form();
    let mut locked = form.clone();
    locked["access"]["roles"]["member"]["fields"]["stage"] = json!("read_only");
    engine.put_form(&Actor::system(), &cs(), &account(), &locked, false).await.expect("stage read-only");
    let err = engine.transition_record(&actor, &ann, &cs(), &account(), &id, "live", None).await;
    assert_eq!(forbidden_paths(err.expect_err("stage read-only")), ["/stage"]);
    engine.put_form(&Actor::system(), &cs(), &account(), &form, false).await.expect("back");
    let moved = engine.transition_record(&actor, &ann, &cs(), &account(), &id, "live", None).await.expect("moved");
    assert_eq!((moved.data["stage"].as_str(), moved.data.get("notes")), (Some("live"), None));
    engine.delete_record(&actor, &ann, &cs(), &account(), &id, None).await.expect("own record deleted");
}

#[tokio::test]
async fn every_list_plan_and_page_holds_only_records_in_scope_without_hidden_fields() {
    let (_dir, engine, records) = seeded().await;
    let ann = member("ann");
    let expected: Vec<uuid::Uuid> = owned_by(&records, "ann").map(|r| r.id).collect();
    assert_eq!(expected.len(), 7);
    // Default order (scan), an index on the person field, an index walk in sort order, and an
    // in-memory sort: the same records, every page full.
    for (filter, sort, plan) in [
        (None, None, "index:csm"),
        (Some("arr >= 0"), None, "index:csm"),
        (None, Some("rank"), "index"),
        (None, Some("-name"), "index:csm"),
        (Some("rank in [0, 1, 2, 3]"), Some("rank,-name"), "index"),
    ] {
        let query = ListQuery { filter: filter.map(Into::into), sort: sort.map(Into::into), ..ListQuery::default() };
        let page = engine.list_records(&ann, &cs(), &account(), &query).expect("list");
        assert!(page.plan.to_string().starts_with(plan), "{filter:?} {sort:?}: plan {}", page.plan);
        let listed = all_pages(&engine, &ann, filter, sort);
        assert!(listed.iter().all(|r| r.data["csm"] == "ann" && r.data.get("notes").is_none()));
        let mut ids: Vec<_> = listed.iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(ids, expected, "{filter:?} {sort:?}");
    }
    // Asking for someone else's records finds none, rather than telling they exist.
    assert!(all_pages(&engine, &ann, Some("csm = \"bob\""), None).is_empty());
    let team = viewer("dan", &["dan", "bob", "cat"]);
    assert_eq!(all_pages(&engine, &team, None, Some("rank")).len(), 12);
    assert_eq!(all_pages(&engine, &admin(), None, None).len(), OWNERS.len());

    // Counts count only what the caller sees.
    assert_eq!(engine.count_matching(&ann, &cs(), &account(), None).expect("count"), 7);
    assert_eq!(engine.count_matching(&ann, &cs(), &account(), Some("rank = 0")).expect("count"), 2);
    assert_eq!(engine.count_matching(&team, &cs(), &account(), None).expect("count"), 12);
    assert_eq!(engine.count_matching(&Access::unrestricted(), &cs(), &account(), None).expect("count"), 20);

    // A hidden field can't be filtered or sorted on, nor counted by.
    let hidden = |filter: Option<&str>, sort: Option<&str>| {
        let query = ListQuery { filter: filter.map(Into::into), sort: sort.map(Into::into), ..ListQuery::default() };
        forbidden_paths(engine.list_records(&ann, &cs(), &account(), &query).expect_err("hidden"))
    };
    assert_eq!(hidden(Some("notes contains \"secret\""), None), ["/filter"]);
    assert_eq!(hidden(None, Some("-notes")), ["/sort"]);
    assert_eq!(hidden(Some("notes = null or rank = 1"), Some("notes")), ["/filter", "/sort"]);
    let err = engine.count_matching(&ann, &cs(), &account(), Some("notes = \"secret 0\"")).expect_err("hidden");
    assert_eq!(forbidden_paths(err), ["/filter"]);
    // Others may.
    let query = ListQuery { filter: Some("notes = \"secret 1\"".into()), ..ListQuery::default() };
    assert_eq!(engine.list_records(&admin(), &cs(), &account(), &query).expect("admin").items.len(), 1);
}

#[tokio::test]
async fn history_shows_only_records_in_scope_and_no_version_shows_a_hidden_field() {
    let (_dir, engine, records) = seeded().await;
    let (ann, system) = (member("ann"), Actor::system());
    let everything = Access::unrestricted();
    let (mine, theirs) = (records[0].id.to_string(), records[1].id.to_string());
    engine
        .patch_record(&system, &everything, &cs(), &account(), &mine, &json!({ "notes": "new secret" }), None)
        .await
        .expect("p");
    let events = engine.record_history(&ann, &cs(), &account(), &mine, 0, 10).expect("history");
    assert_eq!(events.len(), 2);
    for data in events.iter().flat_map(|e| [&e.before, &e.after]).flatten() {
        assert_eq!(data.get("notes"), None, "{data}");
    }
    let whole = engine.record_history(&everything, &cs(), &account(), &mine, 0, 10).expect("history");
    assert_eq!(whole[1].after.as_ref().map(|d| &d["notes"]), Some(&json!("new secret")));

    // A deleted record keeps its scope: ann's deleted record's history is hers, bob's is not.
    engine.delete_record(&system, &everything, &cs(), &account(), &mine, None).await.expect("delete");
    engine.delete_record(&system, &everything, &cs(), &account(), &theirs, None).await.expect("delete");
    assert_eq!(engine.record_history(&ann, &cs(), &account(), &mine, 0, 10).expect("deleted").len(), 3);
    assert_not_found(engine.record_history(&ann, &cs(), &account(), &theirs, 0, 10).expect_err("bob's"), &theirs);
    // Reassigning a record moves its history with it.
    let moved = records[3].id.to_string();
    engine
        .patch_record(&system, &everything, &cs(), &account(), &moved, &json!({ "csm": "bob" }), None)
        .await
        .expect("p");
    assert_not_found(engine.record_history(&ann, &cs(), &account(), &moved, 0, 10).expect_err("now bob's"), &moved);
}

#[tokio::test]
async fn aggregates_and_dashboards_count_only_records_in_scope_and_refuse_hidden_fields() {
    let (_dir, engine, _records) = seeded().await;
    let ann = member("ann");
    let by_owner = json!({ "group_by": ["csm"], "metrics": [{ "op": "count" }, { "op": "sum", "field": "arr" }] });
    let result = engine.aggregate(&ann, &cs(), &account(), &by_owner).expect("aggregate");
    assert_eq!(result.groups.len(), 1);
    assert_eq!(result.groups[0].key["csm"], "ann");
    // ann owns accounts 0, 3, 6, 9, 12, 15, 18: arr 0 + 300 + ... + 1800.
    assert_eq!(result.total["count"], 7);
    assert_eq!(result.total["sum_arr"], 6300.0);
    // Through an index (a selective filter) as through a scan.
    let indexed = json!({ "filter": "csm in [\"ann\", \"bob\"]", "metrics": [{ "op": "count" }] });
    assert_eq!(engine.aggregate(&ann, &cs(), &account(), &indexed).expect("indexed").total["count"], 7);
    let team = viewer("dan", &["dan", "bob"]);
    assert_eq!(engine.aggregate(&team, &cs(), &account(), &indexed).expect("team").total["count"], 6);
    assert_eq!(engine.aggregate(&admin(), &cs(), &account(), &indexed).expect("admin").total["count"], 13);

    for (query, path) in [
        (json!({ "group_by": ["notes"], "metrics": [{ "op": "count" }] }), "/group_by/0"),
        (json!({ "metrics": [{ "op": "count" }, { "op": "count_distinct", "field": "notes" }] }), "/metrics/1"),
        (json!({ "filter": "notes != null", "metrics": [{ "op": "count" }] }), "/filter"),
    ] {
        let err = engine.aggregate(&ann, &cs(), &account(), &query).expect_err("hidden");
        assert_eq!(forbidden_paths(err), [path], "{query}");
        engine.aggregate(&admin(), &cs(), &account(), &query).expect("an admin may");
    }

    let dashboard = json!({ "title": "Book", "widgets": [
        { "id": "count", "title": "Accounts", "type": "kpi", "form": "account",
          "query": { "metrics": [{ "op": "count" }] } },
        { "id": "notes", "title": "Notes", "type": "pie", "form": "account",
          "query": { "group_by": ["notes"], "metrics": [{ "op": "count" }] } } ] });
    engine
        .create_dashboard(&Actor::system(), &cs(), &DashboardName::from_static("book"), &dashboard)
        .await
        .expect("dashboard");
    let data =
        engine.dashboard_data(&ann, &cs(), &DashboardName::from_static("book"), &Default::default()).expect("data");
    assert_eq!(data.widgets[0].total["count"], 7);
    let refused = data.widgets[1].error.as_ref().expect("a hidden field's widget fails");
    assert_eq!(refused.code, "forbidden");
    assert!(refused.message.contains("notes") && data.widgets[1].rows.is_empty(), "{refused:?}");
    let data = engine
        .dashboard_data(&Access::unrestricted(), &cs(), &DashboardName::from_static("book"), &Default::default())
        .expect("data");
    assert_eq!((data.widgets[0].total["count"].clone(), data.widgets[1].error.is_none()), (json!(20), true));
}

#[tokio::test]
async fn runs_and_dry_runs_show_only_records_in_scope_without_hidden_fields() {
    let (_dir, engine, records) = seeded().await;
    let (ann, ann_actor, system) = (member("ann"), Actor("ann".into()), Actor::system());
    let everything = Access::unrestricted();
    let workflow = json!({ "trigger": { "form": "account", "on": ["updated"] },
                           "when": "record.touched == true && old.touched != true",
                           "actions": [ { "set": { "notes": "\"seen by \" + record.name", "rank": "9" } } ] });
    engine.put_workflow(&system, &cs(), &touch(), &workflow).await.expect("workflow");
    let (mine, theirs) = (records[0].id.to_string(), records[1].id.to_string());
    for id in [&mine, &theirs] {
        engine
            .patch_record(&system, &everything, &cs(), &account(), id, &json!({ "touched": true }), None)
            .await
            .expect("p");
    }
    engine.process_pending().await.expect("runs");

    // The workflow's own write triggers it again, skipped by `when`: only the first runs count.
    let succeeded = RunFilter { status: Some(RunStatus::Succeeded), ..RunFilter::default() };
    let (all, _) = engine.runs(&everything, &cs(), &succeeded, 10, None).expect("runs");
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|run| run.effects[0]["set"].get("notes").is_some()));
    let (visible, more) = engine.runs(&ann, &cs(), &succeeded, 1, None).expect("runs");
    assert_eq!((visible.len(), more), (1, false), "the limit counts only visible runs");
    assert_eq!(visible[0].record, records[0].id);
    assert_eq!(visible[0].effects, vec![json!({ "set": { "rank": 9 } })], "the hidden field's effect is left out");
    let bobs = all.iter().find(|run| run.record == records[1].id).expect("bob's run");
    let err = engine.run(&ann, &cs(), &bobs.id.to_string()).expect_err("bob's run");
    assert_eq!(err.to_string(), format!("run `{}` does not exist", bobs.id));
    engine.run(&ann, &cs(), &visible[0].id.to_string()).expect("her run");
    let err = engine.retry_run(&ann_actor, &ann, &cs(), &bobs.id.to_string()).await.expect_err("retry bob's");
    assert_eq!(err.code(), ErrorCode::NotFound);
    let err = engine.run_workflow_now(&ann_actor, &ann, &cs(), &touch(), Some(&theirs)).await.expect_err("bob's");
    assert_not_found(err, &theirs);
    let run = engine.run_workflow_now(&ann_actor, &ann, &cs(), &touch(), Some(&mine)).await.expect("her record");
    assert!(run.effects.iter().all(|effect| effect.pointer("/set/notes").is_none()), "{:?}", run.effects);

    // A dry run on someone else's record is not found; on hers (touched, but not yet run on),
    // what it would write leaves hidden fields out.
    let mine = records[6].id.to_string();
    engine
        .patch_record(&system, &everything, &cs(), &account(), &mine, &json!({ "touched": true }), None)
        .await
        .expect("p");
    let input = |id: &str| DryRunInput {
        record_id: Some(id.to_owned()),
        old: Some(json!({ "name": "old" })),
        ..DryRunInput::default()
    };
    let err = engine.test_workflow(&ann, &cs(), &touch(), &input(&theirs)).await.expect_err("bob's");
    assert_not_found(err, &theirs);
    let dry = engine.test_workflow(&ann, &cs(), &touch(), &input(&mine)).await.expect("dry run");
    assert_eq!(dry.records.len(), 1);
    assert_eq!(dry.records[0].data.get("notes"), None);
    assert_eq!(dry.records[0].data["rank"], 9);
    assert!(dry.run.effects.iter().all(|effect| effect.pointer("/set/notes").is_none()));
    let dry = engine.test_workflow(&everything, &cs(), &touch(), &input(&mine)).await.expect("dry run");
    assert_eq!(dry.records[0].data["notes"], "seen by Account 06");
}

#[tokio::test]
async fn a_restricted_caller_may_not_import_past_its_policy() {
    let (_dir, engine, _records) = seeded().await;
    let err = engine.importer(&Actor("ann".into()), &member("ann"), &cs(), &account(), ImportOptions::default());
    assert_eq!(err.err().map(|e| e.code()), Some(ErrorCode::Forbidden));
    engine.importer(&Actor::system(), &admin(), &cs(), &account(), ImportOptions::default()).expect("admin imports");
}

#[tokio::test]
async fn a_reference_to_a_record_out_of_scope_is_refused_like_one_to_a_missing_record() {
    let (_dir, engine, records) = seeded().await;
    let task = json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "account": { "type": "string", "x-ref": "account" } } } });
    engine.put_form(&Actor::system(), &cs(), &FormName::from_static("task"), &task, false).await.expect("task form");
    let (ann, actor) = (member("ann"), Actor("ann".into()));
    let (mine, theirs, missing) = (records[0].id.to_string(), records[1].id, uuid::Uuid::now_v7());
    let created = engine
        .create_record(&actor, &ann, &cs(), &FormName::from_static("task"), json!({ "title": "Call", "account": mine }))
        .await;
    let task_id = created.expect("a task on her account").id.to_string();
    let refused = |err: EngineError| -> String {
        assert_eq!(err.code(), ErrorCode::Invalid, "{err}");
        let errors = err.field_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "/account");
        errors[0].message.replace(&theirs.to_string(), "ID").replace(&missing.to_string(), "ID")
    };
    let on = |id: uuid::Uuid| json!({ "title": "Call", "account": id });
    let to_theirs = refused(
        engine.create_record(&actor, &ann, &cs(), &FormName::from_static("task"), on(theirs)).await.expect_err("bob's"),
    );
    let to_missing = refused(
        engine
            .create_record(&actor, &ann, &cs(), &FormName::from_static("task"), on(missing))
            .await
            .expect_err("missing"),
    );
    assert_eq!(to_theirs, to_missing);
    let patch = json!({ "account": theirs });
    let err = engine
        .patch_record(&actor, &ann, &cs(), &FormName::from_static("task"), &task_id, &patch, None)
        .await
        .expect_err("bob's");
    assert_eq!(refused(err), to_missing);
    // Once her account is bob's, her task still names it and stays editable.
    let everything = Access::unrestricted();
    let moved = json!({ "csm": "bob" });
    engine.patch_record(&Actor::system(), &everything, &cs(), &account(), &mine, &moved, None).await.expect("moved");
    let renamed = json!({ "title": "Call again" });
    engine
        .patch_record(&actor, &ann, &cs(), &FormName::from_static("task"), &task_id, &renamed, None)
        .await
        .expect("kept reference");
}

/// With another mistake in the same write, a reference out of scope still answers exactly like
/// a missing one.
#[tokio::test]
async fn a_reference_out_of_scope_is_told_apart_from_a_missing_one_by_nothing() {
    let (_dir, engine, records) = seeded().await;
    let task = json!({ "schema": { "type": "object", "required": ["title"], "properties": {
        "title": { "type": "string" }, "account": { "type": "string", "x-ref": "account" } } } });
    engine.put_form(&Actor::system(), &cs(), &FormName::from_static("task"), &task, false).await.expect("task form");
    let (ann, actor) = (member("ann"), Actor("ann".into()));
    let answer = |id: uuid::Uuid| {
        let (engine, ann, actor) = (engine.clone(), ann.clone(), actor.clone());
        async move {
            let err = engine
                .create_record(
                    &actor,
                    &ann,
                    &cs(),
                    &FormName::from_static("task"),
                    json!({ "title": 5, "account": id }),
                )
                .await;
            let err = err.expect_err("invalid");
            (
                err.code(),
                err.field_errors()
                    .into_iter()
                    .map(|e| (e.path, e.message.replace(&id.to_string(), "ID")))
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(answer(records[1].id).await, answer(uuid::Uuid::now_v7()).await);
}
