//! Timers with a simulated clock: reminders, rescheduling, cancelling, delays, cron across DST,
//! SLAs, downtime and clock jumps.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::workflows::{Run, RunFilter, RunStatus};
use crate::{Actor, Engine, EngineConfig, FormName, ManualClock, SpaceName, WorkflowName};

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

struct Sim {
    engine: Engine,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a valid instant").with_timezone(&Utc)
}

fn actor() -> Actor {
    Actor("ops".into())
}

impl Sim {
    async fn new(start: &str) -> Sim {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(utc(start));
        let config = EngineConfig { clock: Arc::new(clock.clone()), ..EngineConfig::new(dir.path()) };
        let engine = Engine::open(config).expect("engine");
        engine.create_space(&actor(), &cs(), None).await.expect("space");
        let account = json!({ "schema": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" }, "status": { "type": "string" },
            "renewal_date": { "type": "string", "format": "date" }, "timezone": { "type": "string" },
            "health": { "type": "integer" } } } });
        engine
            .put_form(&actor(), &cs(), &FormName::from_static("account"), &account, false)
            .await
            .expect("account form");
        let task = json!({ "schema": { "type": "object", "properties": {
            "title": { "type": "string" }, "account": { "type": "string" } } } });
        engine.put_form(&actor(), &cs(), &FormName::from_static("task"), &task, false).await.expect("task form");
        let onboarding = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "stage": { "type": "string" }, "checklist": { "type": "object" } } },
            "pipeline": { "field": "stage", "stages": [
                { "name": "kickoff", "sla": "3d" }, { "name": "setup", "sla": "5d" }, { "name": "live" } ] } });
        engine
            .put_form(&actor(), &cs(), &FormName::from_static("onboarding"), &onboarding, false)
            .await
            .expect("onboarding form");
        Sim { engine, clock, _dir: dir }
    }

    async fn workflow(&self, name: &'static str, definition: Value) {
        let name = WorkflowName::from_static(name);
        self.engine.put_workflow(&actor(), &cs(), &name, &definition).await.expect("workflow");
    }

    async fn create(&self, form: &'static str, data: Value) -> String {
        let form = FormName::from_static(form);
        self.engine
            .create_record(&actor(), &crate::Access::unrestricted(), &cs(), &form, data)
            .await
            .expect("record")
            .id
            .to_string()
    }

    async fn run_until(&self, until: &str) {
        self.engine.simulate_until(&self.clock, utc(until)).await.expect("simulated");
    }

    /// Runs of a workflow, oldest first.
    fn runs(&self, workflow: &str) -> Vec<Run> {
        let filter = RunFilter { workflow: Some(workflow.into()), ..RunFilter::default() };
        let (mut runs, _) = self.engine.runs(&crate::Access::unrestricted(), &cs(), &filter, 1000, None).expect("runs");
        runs.reverse();
        runs
    }

    fn started(&self, workflow: &str) -> Vec<DateTime<Utc>> {
        self.runs(workflow).iter().filter(|r| r.status == RunStatus::Succeeded).map(|r| r.started_at).collect()
    }

    fn tasks(&self) -> usize {
        self.engine
            .list_records(
                &crate::Access::unrestricted(),
                &cs(),
                &FormName::from_static("task"),
                &crate::ListQuery::default(),
            )
            .expect("tasks")
            .items
            .len()
    }
}

fn renewal_reminders() -> Value {
    json!({
        "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-90d", "-60d", "-30d"],
                     "time": "09:00", "timezone": "Asia/Shanghai" },
        "when": "record.status != \"churned\"",
        "actions": [ { "create": { "form": "task", "data": {
            "title": "`Renewal in ${days_until(record.renewal_date)} days`", "account": "record.id" } } } ]
    })
}

#[tokio::test]
async fn reminders_fire_once_each_at_nine_local() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    sim.workflow("renewal-reminders", renewal_reminders()).await;
    let id = sim.create("account", json!({ "name": "Acme", "renewal_date": "2027-06-30" })).await;
    // The processor schedules a record's timers when it handles the record's event.
    sim.engine.process_pending().await.expect("processed");
    let (timers, _) = sim.engine.timers(&cs(), &Default::default(), 10, None).expect("timers");
    assert_eq!(timers.len(), 3);
    assert!(timers.iter().all(|t| t.local().format("%H:%M").to_string() == "09:00" && t.timezone == "Asia/Shanghai"));
    sim.run_until("2027-12-31T00:00:00Z").await;
    // 09:00 in Shanghai is 01:00 UTC.
    assert_eq!(
        sim.started("renewal-reminders"),
        vec![utc("2027-04-01T01:00:00Z"), utc("2027-05-01T01:00:00Z"), utc("2027-05-31T01:00:00Z")]
    );
    assert_eq!(sim.runs("renewal-reminders").len(), 3, "no other runs");
    assert!(sim.runs("renewal-reminders").iter().all(|r| r.record.to_string() == id && !r.late));
    assert_eq!(sim.tasks(), 3);
    assert_eq!(sim.engine.pending_timers(), 0);
}

#[tokio::test]
async fn moving_the_date_reschedules_and_deleting_cancels() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    sim.workflow("renewal-reminders", renewal_reminders()).await;
    let moved = sim.create("account", json!({ "name": "Moved", "renewal_date": "2027-06-30" })).await;
    let deleted = sim.create("account", json!({ "name": "Gone", "renewal_date": "2027-06-30" })).await;
    sim.engine.process_pending().await.expect("processed");
    assert_eq!(sim.engine.pending_timers(), 6);
    // An unrelated change leaves the timers alone.
    sim.engine
        .patch_record(
            &actor(),
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("account"),
            &moved,
            &json!({ "health": 40 }),
            None,
        )
        .await
        .expect("patch");
    sim.engine
        .patch_record(
            &actor(),
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("account"),
            &moved,
            &json!({ "renewal_date": "2027-09-30" }),
            None,
        )
        .await
        .expect("patch");
    sim.engine
        .delete_record(
            &actor(),
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("account"),
            &deleted,
            None,
        )
        .await
        .expect("delete");
    sim.engine.process_pending().await.expect("processed");
    assert_eq!(sim.engine.pending_timers(), 3, "the moved account's three; none of the deleted one's");
    sim.run_until("2027-12-31T00:00:00Z").await;
    assert_eq!(
        sim.started("renewal-reminders"),
        vec![utc("2027-07-02T01:00:00Z"), utc("2027-08-01T01:00:00Z"), utc("2027-08-31T01:00:00Z")]
    );
}

#[tokio::test]
async fn offsets_already_past_do_not_fire_and_the_zone_can_come_from_the_record() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    let mut definition = renewal_reminders();
    definition["trigger"]["timezone"] = json!({ "field": "timezone" });
    sim.workflow("renewal-reminders", definition).await;
    sim.create("account", json!({ "name": "Soon", "renewal_date": "2027-02-15", "timezone": "America/New_York" }))
        .await;
    sim.run_until("2027-03-01T00:00:00Z").await;
    // Only −30d is still ahead: 2027-01-16 09:00 in New York (UTC−5).
    assert_eq!(sim.started("renewal-reminders"), vec![utc("2027-01-16T14:00:00Z")]);
}

#[tokio::test]
async fn a_new_workflow_schedules_existing_records_and_a_change_replaces_its_timers() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    for n in 0..5 {
        sim.create("account", json!({ "name": format!("A{n}"), "renewal_date": "2027-06-30" })).await;
    }
    sim.workflow("renewal-reminders", renewal_reminders()).await;
    assert_eq!(sim.engine.pending_timers(), 15);
    let mut fewer = renewal_reminders();
    fewer["trigger"]["offsets"] = json!(["-7d"]);
    sim.workflow("renewal-reminders", fewer.clone()).await;
    assert_eq!(sim.engine.pending_timers(), 5);
    fewer["enabled"] = json!(false);
    sim.workflow("renewal-reminders", fewer).await;
    assert_eq!(sim.engine.pending_timers(), 0, "a disabled workflow keeps no timers");
}

#[tokio::test]
async fn a_delay_rechecks_when_at_fire_time() {
    let sim = Sim::new("2027-01-04T10:00:00Z").await;
    sim.workflow(
        "stalled-kickoff",
        json!({ "trigger": { "form": "onboarding", "on": ["created"], "delay": "7d" },
                "when": "record.stage == \"kickoff\"",
                "actions": [ { "create": { "form": "task", "data": { "title": "`Escalate ${record.name}`" } } } ] }),
    )
    .await;
    let stalled = sim.create("onboarding", json!({ "name": "Stalled" })).await;
    let moving = sim.create("onboarding", json!({ "name": "Moving" })).await;
    sim.run_until("2027-01-06T10:00:00Z").await;
    sim.engine
        .transition_record(
            &actor(),
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("onboarding"),
            &moving,
            "setup",
            None,
        )
        .await
        .expect("moved");
    sim.run_until("2027-01-20T00:00:00Z").await;
    let runs = sim.runs("stalled-kickoff");
    assert_eq!(runs.len(), 2);
    let by_record = |id: &str| runs.iter().find(|r| r.record.to_string() == id).expect("a run");
    assert_eq!(by_record(&stalled).status, RunStatus::Succeeded);
    assert_eq!(by_record(&stalled).started_at, utc("2027-01-11T10:00:00Z"));
    assert_eq!(by_record(&moving).status, RunStatus::Skipped, "moved on: `when` is false at fire time");
    assert_eq!(sim.tasks(), 1);
}

#[tokio::test]
async fn a_cron_digest_fires_at_local_nine_across_dst_and_queries_records() {
    let sim = Sim::new("2027-03-24T12:00:00Z").await;
    sim.create("account", json!({ "name": "Risky", "health": 20 })).await;
    sim.create("account", json!({ "name": "Fine", "health": 90 })).await;
    sim.workflow(
        "daily-digest",
        json!({ "trigger": { "cron": "0 9 * * *", "timezone": "Europe/Berlin" },
                "actions": [ { "script": "let risky = query(\"account\", \"health < 50\");
                    create(\"task\", #{ title: `${risky.len()} at risk: ${risky[0].name}` });" } ] }),
    )
    .await;
    sim.run_until("2027-03-31T00:00:00Z").await;
    let started = sim.started("daily-digest");
    assert_eq!(
        started,
        vec![
            utc("2027-03-25T08:00:00Z"),
            utc("2027-03-26T08:00:00Z"),
            utc("2027-03-27T08:00:00Z"),
            utc("2027-03-28T07:00:00Z"),
            utc("2027-03-29T07:00:00Z"),
            utc("2027-03-30T07:00:00Z"),
        ],
        "09:00 Berlin: UTC+1 before the change, UTC+2 after"
    );
    let tasks = sim
        .engine
        .list_records(
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("task"),
            &crate::ListQuery::default(),
        )
        .expect("tasks");
    assert!(tasks.items.iter().all(|t| t.data["title"] == "1 at risk: Risky"));
    // A dry run of the schedule shows the same, storing nothing.
    let dry = sim
        .engine
        .test_workflow(
            &crate::Access::unrestricted(),
            &cs(),
            &WorkflowName::from_static("daily-digest"),
            &Default::default(),
        )
        .await
        .expect("dry run");
    assert_eq!(dry.run.status, RunStatus::Succeeded);
    assert_eq!(dry.records.len(), 1);
    assert_eq!(sim.tasks(), 6);
}

#[tokio::test]
async fn a_daily_cron_at_a_time_that_repeats_fires_once() {
    let sim = Sim::new("2027-10-29T12:00:00Z").await;
    sim.workflow(
        "night",
        json!({ "trigger": { "cron": "30 2 * * *", "timezone": "Europe/Berlin" },
                "actions": [ { "create": { "form": "task", "data": { "title": "\"night\"" } } } ] }),
    )
    .await;
    sim.run_until("2027-11-02T00:00:00Z").await;
    assert_eq!(
        sim.started("night"),
        vec![
            utc("2027-10-30T00:30:00Z"),
            utc("2027-10-31T00:30:00Z"), // 02:30 CEST, the first of the two 02:30s
            utc("2027-11-01T01:30:00Z"),
        ]
    );
}

#[tokio::test]
async fn a_daily_cron_at_a_time_that_does_not_exist_fires_at_the_end_of_the_gap() {
    let sim = Sim::new("2027-03-26T12:00:00Z").await;
    sim.workflow(
        "night",
        json!({ "trigger": { "cron": "30 2 * * *", "timezone": "Europe/Berlin" },
                "actions": [ { "create": { "form": "task", "data": { "title": "\"night\"" } } } ] }),
    )
    .await;
    sim.run_until("2027-03-30T00:00:00Z").await;
    assert_eq!(
        sim.started("night"),
        vec![
            utc("2027-03-27T01:30:00Z"), // 02:30 CET
            utc("2027-03-28T01:00:00Z"), // 02:30 does not exist: 03:00 CEST, the end of the gap
            utc("2027-03-29T00:30:00Z"), // 02:30 CEST
        ]
    );
}

#[tokio::test]
async fn a_stage_sla_raises_sla_breached_if_the_record_is_still_there() {
    let sim = Sim::new("2027-01-04T10:00:00Z").await;
    sim.workflow(
        "sla-escalation",
        json!({ "trigger": { "form": "onboarding", "on": ["sla_breached"] },
                "actions": [ { "create": { "form": "task", "data": {
                    "title": "`${record.name} stalled in ${record.stage}`" } } } ] }),
    )
    .await;
    sim.create("onboarding", json!({ "name": "Stuck" })).await;
    let moving = sim.create("onboarding", json!({ "name": "Moving" })).await;
    sim.run_until("2027-01-05T10:00:00Z").await;
    sim.engine
        .transition_record(
            &actor(),
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("onboarding"),
            &moving,
            "setup",
            None,
        )
        .await
        .expect("moved");
    sim.run_until("2027-01-31T00:00:00Z").await;
    assert_eq!(
        sim.started("sla-escalation"),
        vec![utc("2027-01-07T10:00:00Z"), utc("2027-01-10T10:00:00Z")],
        "Stuck after 3 days in kickoff; Moving after 5 days in setup, not in kickoff"
    );
    let tasks = sim
        .engine
        .list_records(
            &crate::Access::unrestricted(),
            &cs(),
            &FormName::from_static("task"),
            &crate::ListQuery::default(),
        )
        .expect("tasks");
    let titles: Vec<_> = tasks.items.iter().map(|t| t.data["title"].clone()).collect();
    assert!(titles.contains(&json!("Stuck stalled in kickoff")) && titles.contains(&json!("Moving stalled in setup")));
}

/// Records created already in a stage with `sla_from` count their SLA from their own date
/// (imported onboardings breach on their own schedules, not all at once from the import);
/// without the date, or with one later than the write, from the write.
#[tokio::test]
async fn a_record_created_in_a_stage_counts_its_sla_from_its_date_field() {
    let sim = Sim::new("2027-01-10T10:00:00Z").await;
    let project = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "stage": { "type": "string" },
            "kickoff_date": { "type": "string", "format": "date" } } },
        "pipeline": { "field": "stage", "stages": [
            { "name": "kickoff", "sla": "5d", "sla_from": "kickoff_date" }, { "name": "live" } ] } });
    sim.engine
        .put_form(&actor(), &cs(), &FormName::from_static("project"), &project, false)
        .await
        .expect("project form");
    sim.workflow(
        "stalled",
        json!({ "trigger": { "form": "project", "on": ["sla_breached"] },
                "actions": [ { "create": { "form": "task", "data": { "title": "record.name" } } } ] }),
    )
    .await;
    sim.create("project", json!({ "name": "long ago", "kickoff_date": "2027-01-01" })).await;
    sim.create("project", json!({ "name": "Friday", "kickoff_date": "2027-01-08" })).await;
    sim.create("project", json!({ "name": "Saturday", "kickoff_date": "2027-01-09" })).await;
    sim.create("project", json!({ "name": "no date" })).await;
    sim.create("project", json!({ "name": "next month", "kickoff_date": "2027-02-01" })).await;
    sim.run_until("2027-01-31T00:00:00Z").await;
    assert_eq!(
        sim.started("stalled"),
        vec![
            utc("2027-01-10T10:00:00Z"), // due on the 6th: late, fires at once
            utc("2027-01-13T00:00:00Z"),
            utc("2027-01-14T00:00:00Z"),
            utc("2027-01-15T10:00:00Z"),
            utc("2027-01-15T10:00:00Z"),
        ]
    );
}

#[tokio::test]
async fn timers_missed_during_downtime_follow_the_misfire_policy() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    let delayed = |misfire: &str, catch_up: &str| {
        json!({ "trigger": { "form": "account", "on": ["created"], "delay": "1d", "misfire": misfire, "catch_up": catch_up },
                "actions": [ { "create": { "form": "task", "data": { "title": "\"follow up\"" } } } ] })
    };
    sim.workflow("fire", delayed("fire", "7d")).await;
    sim.workflow("skip", delayed("skip", "7d")).await;
    sim.workflow("short-window", delayed("fire", "2d")).await;
    sim.create("account", json!({ "name": "A" })).await;
    sim.engine.process_pending().await.expect("processed");
    // The server is down for four days: nothing fires until it is back.
    sim.clock.advance(Duration::days(4));
    sim.run_until("2027-01-05T00:00:00Z").await;
    let fire = sim.runs("fire");
    assert_eq!((fire.len(), fire[0].status, fire[0].late), (1, RunStatus::Succeeded, true));
    let skip = sim.runs("skip");
    assert_eq!((skip.len(), skip[0].status, skip[0].late), (1, RunStatus::Skipped, true));
    assert!(skip[0].note.as_deref().is_some_and(|n| n.contains("misfire")), "{:?}", skip[0].note);
    let window = sim.runs("short-window");
    assert_eq!(window[0].status, RunStatus::Skipped);
    assert!(window[0].note.as_deref().is_some_and(|n| n.contains("catch-up window")), "{:?}", window[0].note);
    assert_eq!(sim.tasks(), 1);
}

#[tokio::test]
async fn a_cron_schedule_fires_once_for_all_missed_occurrences_and_clock_jumps_repeat_nothing() {
    let sim = Sim::new("2027-01-01T00:30:00Z").await;
    sim.workflow(
        "hourly",
        json!({ "trigger": { "cron": "0 * * * *" },
                "actions": [ { "create": { "form": "task", "data": { "title": "\"tick\"" } } } ] }),
    )
    .await;
    // Down for five hours: one late run, then back on the hour.
    sim.clock.set(utc("2027-01-01T05:30:00Z"));
    sim.run_until("2027-01-01T05:30:00Z").await;
    assert_eq!(sim.runs("hourly").len(), 1);
    assert!(sim.runs("hourly")[0].late);
    // The clock jumps back an hour: the 06:00 timer is still pending and fires once.
    sim.clock.set(utc("2027-01-01T04:45:00Z"));
    sim.run_until("2027-01-01T06:30:00Z").await;
    // And forward an hour past 07:00 and 08:00: 07:00 fires (late, once), 08:00 is skipped over.
    sim.clock.set(utc("2027-01-01T08:10:00Z"));
    sim.run_until("2027-01-01T08:10:00Z").await;
    let started = sim.started("hourly");
    assert_eq!(started.len(), 3, "{started:?}");
    assert_eq!(started[1], utc("2027-01-01T06:00:00Z"));
    let (timers, _) = sim.engine.timers(&cs(), &Default::default(), 10, None).expect("timers");
    assert_eq!(timers.iter().map(|t| t.due).collect::<Vec<_>>(), vec![utc("2027-01-01T09:00:00Z")]);
}

/// The processor runs one thing at a time, so a cron run never overlaps the next occurrence:
/// when the next one comes while the previous is still pending or running, it waits, and its
/// run says so.
#[tokio::test]
async fn a_cron_occurrence_that_comes_while_the_previous_run_is_going_waits_and_says_so() {
    let sim = Sim::new("2027-01-01T08:59:30Z").await;
    sim.workflow(
        "minutely",
        json!({ "trigger": { "cron": "* * * * *" },
                "actions": [ { "create": { "form": "task", "data": { "title": "\"tick\"" } } } ] }),
    )
    .await;
    // 09:00 fires, but its run has not happened yet when 09:01 fires too.
    sim.clock.set(utc("2027-01-01T09:00:00Z"));
    assert_eq!(sim.engine.fire_due().await.expect("fired"), 1);
    sim.clock.set(utc("2027-01-01T09:01:00Z"));
    assert_eq!(sim.engine.fire_due().await.expect("fired"), 1);
    sim.engine.process_pending().await.expect("processed");
    let runs = sim.runs("minutely");
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    assert_eq!(runs[0].note, None);
    assert!(runs[1].note.as_deref().is_some_and(|n| n.contains("waited for the previous run")), "{:?}", runs[1].note);
}

#[tokio::test]
async fn bad_time_triggers_are_refused_with_every_problem() {
    let sim = Sim::new("2027-01-01T00:00:00Z").await;
    let bad = json!({ "trigger": { "form": "account", "at": "name", "offsets": ["-90x", "-30d", "-30d"],
                                   "time": "9am", "timezone": "Mars/Base" } });
    let err =
        sim.engine.put_workflow(&actor(), &cs(), &WorkflowName::from_static("bad"), &bad).await.expect_err("refused");
    let text = format!("{err:?}");
    for path in ["/trigger/at", "/trigger/offsets/0", "/trigger/offsets/2", "/trigger/time", "/trigger/timezone"] {
        assert!(text.contains(path), "{path} in {text}");
    }
    let cron = json!({ "trigger": { "cron": "0 9 * *", "timezone": "Europe/Berlin" },
                       "actions": [ { "set": { "name": "\"x\"" } } ] });
    let err = sim
        .engine
        .put_workflow(&actor(), &cs(), &WorkflowName::from_static("bad-cron"), &cron)
        .await
        .expect_err("refused");
    let text = format!("{err:?}");
    assert!(text.contains("/trigger/cron") && text.contains("/actions/0"), "{text}");
}
