//! The next days' calendar: date offsets in their zone, cron occurrences, SLAs, the caller's
//! scope, the bounds, and that reading it changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::model::{Access, SpaceRole, TimerKind};
use crate::workflows::RunFilter;
use crate::{Actor, Engine, EngineConfig, EngineError, FormName, ManualClock, SpaceName, WorkflowName};

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a valid instant").with_timezone(&Utc)
}

fn actor() -> Actor {
    Actor("ops".into())
}

/// A space `cs` at 2027-05-01 00:00 UTC with accounts (owned by a person), onboardings with
/// an SLA, renewal reminders at 09:00 Shanghai time, a Monday digest and an SLA workflow.
async fn space() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(utc("2027-05-01T00:00:00Z"));
    let engine =
        Engine::open(EngineConfig { clock: Arc::new(clock), ..EngineConfig::new(dir.path()) }).expect("engine");
    engine.create_space(&actor(), &cs(), None).await.expect("space");
    let account = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "owner": { "type": "string" }, "secret": { "type": "string" },
            "renewal_date": { "type": "string", "format": "date" } } },
        "access": { "person_field": "owner", "roles": { "viewer": { "records": "own" } } } });
    engine.put_form(&actor(), &cs(), &FormName::from_static("account"), &account, false).await.expect("account form");
    let onboarding = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "account": { "type": "string", "x-ref": "account" },
            "stage": { "type": "string", "enum": ["kickoff", "live"] }, "notes": { "type": "string" } } },
        "ui": { "list_columns": ["account", "stage", "notes"] },
        "pipeline": { "field": "stage", "stages": [ { "name": "kickoff", "sla": "3d" }, { "name": "live" } ] } });
    engine
        .put_form(&actor(), &cs(), &FormName::from_static("onboarding"), &onboarding, false)
        .await
        .expect("onboarding form");
    let reminders = json!({ "title": "Renewal reminders",
        "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-90d", "-60d", "-30d"],
                     "time": "09:00", "timezone": "Asia/Shanghai" },
        "when": "record.name != \"\"", "actions": [] });
    engine
        .put_workflow(&actor(), &cs(), &WorkflowName::from_static("renewal-reminders"), &reminders)
        .await
        .expect("reminders");
    let digest = json!({ "trigger": { "cron": "0 8 * * MON", "timezone": "Europe/Paris" }, "actions": [] });
    engine.put_workflow(&actor(), &cs(), &WorkflowName::from_static("digest"), &digest).await.expect("digest");
    let breach =
        json!({ "title": "Kickoff late", "trigger": { "form": "onboarding", "on": ["sla_breached"] }, "actions": [] });
    engine.put_workflow(&actor(), &cs(), &WorkflowName::from_static("kickoff-late"), &breach).await.expect("breach");
    (engine, dir)
}

async fn create(engine: &Engine, form: &'static str, data: serde_json::Value) -> uuid::Uuid {
    let form = FormName::from_static(form);
    let record = engine.create_record(&actor(), &Access::unrestricted(), &cs(), &form, data).await.expect("record");
    engine.process_pending().await.expect("processed");
    record.id
}

#[tokio::test]
async fn a_reminder_thirty_days_before_renewal_shows_at_nine_in_its_zone() {
    let (engine, _dir) = space().await;
    let id =
        create(&engine, "account", json!({ "name": "Acme", "owner": "u-ana", "renewal_date": "2027-06-20" })).await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    let reminders: Vec<_> = upcoming.items.iter().filter(|i| i.kind == TimerKind::DateOffset).collect();
    // -90d and -60d were past when the account was written; -30d is 2027-05-21 09:00 in Shanghai.
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let reminder = reminders[0];
    assert_eq!(reminder.at, utc("2027-05-21T01:00:00Z"));
    assert_eq!(reminder.local.format("%Y-%m-%d %H:%M").to_string(), "2027-05-21 09:00");
    assert_eq!(reminder.timezone, "Asia/Shanghai");
    assert_eq!(reminder.spec, "-30d");
    assert_eq!(reminder.workflows, vec!["renewal-reminders".to_owned()]);
    assert_eq!(reminder.title.as_deref(), Some("Renewal reminders"));
    assert_eq!(reminder.condition.as_deref(), Some("record.name != \"\""));
    assert_eq!((reminder.form.as_deref(), reminder.record), (Some("account"), Some(id)));
    assert_eq!((reminder.label.as_deref(), reminder.person.as_deref()), (Some("Acme"), Some("u-ana")));
    assert!(!reminder.overdue && !upcoming.truncated);
    assert_eq!(upcoming.until, utc("2027-05-31T00:00:00Z"));
    // A shorter window ends before it.
    let week = engine.upcoming(&Access::unrestricted(), &cs(), 7, 100).expect("upcoming");
    assert!(week.items.iter().all(|i| i.kind != TimerKind::DateOffset));
}

#[tokio::test]
async fn every_cron_occurrence_in_the_window_is_listed_in_order() {
    let (engine, _dir) = space().await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    let mondays: Vec<String> = upcoming
        .items
        .iter()
        .filter(|i| i.kind == TimerKind::Cron)
        .map(|i| i.local.format("%Y-%m-%d %H:%M").to_string())
        .collect();
    // 2027-05-01 is a Saturday; four Mondays follow before the 31st.
    assert_eq!(mondays, ["2027-05-03 08:00", "2027-05-10 08:00", "2027-05-17 08:00", "2027-05-24 08:00"]);
    assert!(upcoming.items.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(upcoming.items.iter().filter(|i| i.kind == TimerKind::Cron).all(|i| i.record.is_none()));
}

#[tokio::test]
async fn an_sla_names_the_stage_and_the_workflows_its_breach_runs() {
    let (engine, _dir) = space().await;
    let id = create(&engine, "onboarding", json!({ "name": "Globex", "stage": "kickoff" })).await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    let sla = upcoming.items.iter().find(|i| i.kind == TimerKind::Sla).expect("an SLA item");
    assert_eq!((sla.spec.as_str(), sla.record, sla.at), ("kickoff", Some(id), utc("2027-05-04T00:00:00Z")));
    assert_eq!(sla.workflows, vec!["kickoff-late".to_owned()]);
    assert_eq!(sla.title.as_deref(), Some("Kickoff late"));
    assert_eq!(sla.label.as_deref(), Some("Globex"));
}

#[tokio::test]
async fn a_record_without_a_name_is_labelled_by_the_record_it_references() {
    let (engine, _dir) = space().await;
    let account = create(&engine, "account", json!({ "name": "Acme", "owner": "u-ana" })).await;
    create(&engine, "onboarding", json!({ "account": account.to_string(), "stage": "kickoff" })).await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    let sla = upcoming.items.iter().find(|i| i.kind == TimerKind::Sla).expect("an SLA item");
    assert_eq!(sla.label.as_deref(), Some("Acme"));
    // Without a reference, the grid's first text column names it.
    create(&engine, "onboarding", json!({ "notes": "Pilot", "stage": "kickoff" })).await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    let labels: Vec<_> =
        upcoming.items.iter().filter(|i| i.kind == TimerKind::Sla).filter_map(|i| i.label.as_deref()).collect();
    assert_eq!(labels, ["Acme", "Pilot"]);
    // Someone who can't see the account sees the onboarding by its id.
    let viewer = Access { user_id: Some("u-bo".into()), role: Some(SpaceRole::Viewer), ..Access::default() };
    let upcoming = engine.upcoming(&viewer, &cs(), 30, 100).expect("upcoming");
    let sla = upcoming.items.iter().find(|i| i.kind == TimerKind::Sla && i.label.as_deref() != Some("Pilot"));
    let sla = sla.expect("an SLA item");
    assert_eq!(sla.label, sla.record.map(|id| id.to_string()));
}

#[tokio::test]
async fn a_caller_sees_only_the_records_in_their_scope() {
    let (engine, _dir) = space().await;
    create(&engine, "account", json!({ "name": "Acme", "owner": "u-ana", "renewal_date": "2027-06-20" })).await;
    create(&engine, "account", json!({ "name": "Initech", "owner": "u-bo", "renewal_date": "2027-06-21" })).await;
    let viewer = Access { user_id: Some("u-bo".into()), role: Some(SpaceRole::Viewer), ..Access::default() };
    let upcoming = engine.upcoming(&viewer, &cs(), 30, 100).expect("upcoming");
    let labels: Vec<_> = upcoming.items.iter().filter_map(|i| i.label.as_deref()).collect();
    assert_eq!(labels, ["Initech"]);
    assert_eq!(upcoming.items.iter().filter(|i| i.kind == TimerKind::Cron).count(), 4, "schedules are for everyone");
}

#[tokio::test]
async fn a_full_answer_says_it_is_truncated_and_bad_bounds_are_refused() {
    let (engine, _dir) = space().await;
    create(&engine, "account", json!({ "name": "Acme", "renewal_date": "2027-06-20" })).await;
    let upcoming = engine.upcoming(&Access::unrestricted(), &cs(), 30, 2).expect("upcoming");
    assert_eq!(upcoming.items.len(), 2);
    assert!(upcoming.truncated);
    let all = engine.upcoming(&Access::unrestricted(), &cs(), 30, 100).expect("upcoming");
    assert_eq!(all.items.len(), 5);
    assert_eq!(upcoming.items[..], all.items[..2], "the first items, in order");
    for (days, limit) in [(0, 10), (93, 10), (30, 0), (30, 2001)] {
        let refused = engine.upcoming(&Access::unrestricted(), &cs(), days, limit);
        assert!(matches!(refused, Err(EngineError::InvalidQuery(_))), "{days} {limit}: {refused:?}");
    }
    assert!(matches!(
        engine.upcoming(&Access::unrestricted(), &SpaceName::from_static("nope"), 30, 10),
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test]
async fn reading_the_calendar_changes_nothing() {
    let (engine, _dir) = space().await;
    create(&engine, "account", json!({ "name": "Acme", "renewal_date": "2027-06-20" })).await;
    let timers = engine.timers(&cs(), &Default::default(), 100, None).expect("timers").0;
    let runs = engine.runs(&Access::unrestricted(), &cs(), &RunFilter::default(), 100, None).expect("runs").0;
    let first = engine.upcoming(&Access::unrestricted(), &cs(), 92, 500).expect("upcoming");
    assert_eq!(engine.timers(&cs(), &Default::default(), 100, None).expect("timers").0, timers);
    assert_eq!(engine.runs(&Access::unrestricted(), &cs(), &RunFilter::default(), 100, None).expect("runs").0, runs);
    assert_eq!(engine.upcoming(&Access::unrestricted(), &cs(), 92, 500).expect("again"), first);
}
