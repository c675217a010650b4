//! `tend pack test`: a pack's workflow tests, each on a throwaway database with a manual clock.
//!
//! A test file (`tests/<name>.json`):
//! ```json
//! { "name": "a detractor gets a call within a day",
//!   "start": "2027-01-04T08:00:00Z",
//!   "sample_data": false,
//!   "steps": [
//!     { "create": { "form": "account", "as": "acme", "data": { "name": "Acme", "renewal_date": { "$date": "+95d" } } } },
//!     { "update": { "ref": "acme", "data": { "usage_score": 20 } } },
//!     { "transition": { "ref": "acme", "to": "setup" } },
//!     { "delete": { "ref": "acme" } },
//!     { "advance": "30d" },
//!     { "expect": { "records": [{ "form": "task", "count": 1 }] } } ],
//!   "expect": {
//!     "runs": [{ "workflow": "nps-detractor-follow-up", "status": "succeeded", "count": 1 }],
//!     "records": [{ "form": "task", "filter": "priority = \"high\"", "count": 1 }],
//!     "values": [{ "ref": "acme", "data": { "status": "at_risk" } }],
//!     "deliveries": [{ "workflow": "health-drop-alert", "count": 1 }],
//!     "dashboards": [{ "dashboard": "cs-overview", "from": "2026-01-01", "to": "2026-12-31",
//!                      "widgets": [{ "id": "grr", "total": { "value": 0.92 } },
//!                                  { "id": "bands", "rows": [{ "key": { "band": "red" }, "values": { "count": 2 } }] }] }] } }
//! ```
//! The pack is installed into a space `test` with the clock at `start`; `sample_data` loads
//! `data/` first. Every step is followed by the workflow runs it causes; `advance` moves the
//! clock, firing the timers that fall due on the way. `expect` (at the end, or as a step)
//! compares counts of runs (`status` defaults to `succeeded`), of records (with an optional
//! filter in the API's filter language), of outbox deliveries, and field values of a record
//! (`data` is a subset), and a dashboard's numbers for a range, owner and team: a widget's `total`
//! (the metrics listed), and its `rows` (all of them, in order; each row's `values` a subset).
//! A run that failed fails the test unless a `runs` entry expects it.
//! Data takes the placeholders of sample data (`$ref`, `$date`, `$datetime`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use engine::workflows::{RunFilter, RunStatus};
use engine::{Access, Actor, DashboardName, Engine, EngineConfig, FormName, ListQuery, ManualClock, SpaceName};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::data::{self, Aliases};
use super::locate::Lines;
use super::{install, install_data, Pack, Problem};

/// The space tests run in.
fn test_space() -> SpaceName {
    SpaceName::from_static("test")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // Documentation for readers of the file.
    description: Option<String>,
    start: DateTime<Utc>,
    #[serde(default)]
    sample_data: bool,
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Create {
        form: FormName,
        #[serde(rename = "as", default)]
        alias: Option<String>,
        data: Value,
    },
    Update {
        #[serde(rename = "ref")]
        reference: String,
        data: Value,
    },
    Transition {
        #[serde(rename = "ref")]
        reference: String,
        to: String,
    },
    Delete {
        #[serde(rename = "ref")]
        reference: String,
    },
    Advance(String),
    Expect(Expect),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    runs: Vec<RunsExpected>,
    #[serde(default)]
    records: Vec<RecordsExpected>,
    #[serde(default)]
    values: Vec<ValuesExpected>,
    #[serde(default)]
    deliveries: Vec<DeliveriesExpected>,
    #[serde(default)]
    dashboards: Vec<DashboardExpected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardExpected {
    dashboard: DashboardName,
    #[serde(default)]
    from: Option<chrono::NaiveDate>,
    #[serde(default)]
    to: Option<chrono::NaiveDate>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    team: Option<String>,
    widgets: Vec<WidgetExpected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetExpected {
    id: String,
    #[serde(default)]
    total: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    rows: Option<Vec<RowExpected>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowExpected {
    #[serde(default)]
    key: serde_json::Map<String, Value>,
    values: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsExpected {
    workflow: String,
    #[serde(default = "succeeded")]
    status: RunStatus,
    count: usize,
}

fn succeeded() -> RunStatus {
    RunStatus::Succeeded
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsExpected {
    form: FormName,
    #[serde(default)]
    filter: Option<String>,
    count: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValuesExpected {
    #[serde(rename = "ref")]
    reference: String,
    data: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesExpected {
    #[serde(default)]
    workflow: Option<String>,
    count: usize,
}

/// How one test went.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test file.
    pub file: String,
    /// The test's name (the file's, when it could not be read).
    pub name: String,
    /// What differed, each as "what: expected X, got Y"; empty when it passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn parse(path: &str, text: &str) -> Result<TestCase, Vec<Problem>> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        vec![Problem { file: path.into(), line: Some(err.line()), message: format!("not valid JSON: {err}") }]
    })?;
    forms::parse_definition(&value, "a test").map_err(|errors| {
        let lines = Lines::of(text);
        errors
            .0
            .iter()
            .map(|e| Problem {
                file: path.into(),
                line: Some(lines.line(&e.path)),
                message: format!("{}: {}", e.path, e.message),
            })
            .collect()
    })
}

/// A test file's problems: its shape, and names of forms, workflows and records it uses.
pub(crate) fn check_test(
    path: &str,
    text: &str,
    forms: &BTreeSet<String>,
    workflows: &BTreeSet<String>,
    dashboards: &BTreeSet<String>,
) -> Vec<Problem> {
    let test = match parse(path, text) {
        Ok(test) => test,
        Err(problems) => return problems,
    };
    let lines = Lines::of(text);
    let mut problems = Vec::new();
    let mut problem = |pointer: String, message: String| {
        problems.push(Problem {
            file: path.into(),
            line: Some(lines.line(&pointer)),
            message: format!("{pointer}: {message}"),
        });
    };
    let mut refs = BTreeSet::new();
    let check_expect = |expect: &Expect, at: &str, refs: &BTreeSet<String>, problem: &mut dyn FnMut(String, String)| {
        for (i, runs) in expect.runs.iter().enumerate() {
            if !workflows.contains(&runs.workflow) {
                problem(format!("{at}/runs/{i}/workflow"), format!("the pack has no workflow `{}`", runs.workflow));
            }
        }
        for (i, deliveries) in expect.deliveries.iter().enumerate() {
            if let Some(workflow) = deliveries.workflow.as_ref().filter(|w| !workflows.contains(*w)) {
                problem(format!("{at}/deliveries/{i}/workflow"), format!("the pack has no workflow `{workflow}`"));
            }
        }
        for (i, expected) in expect.dashboards.iter().enumerate() {
            if !dashboards.contains(expected.dashboard.as_str()) {
                problem(
                    format!("{at}/dashboards/{i}/dashboard"),
                    format!("the pack has no dashboard `{}`", expected.dashboard),
                );
            }
        }
        for (i, records) in expect.records.iter().enumerate() {
            if !forms.contains(records.form.as_str()) {
                problem(format!("{at}/records/{i}/form"), format!("the pack has no form `{}`", records.form));
            }
        }
        for (i, values) in expect.values.iter().enumerate() {
            if !refs.contains(&values.reference) {
                problem(
                    format!("{at}/values/{i}/ref"),
                    format!("no step created a record `as` `{}` before", values.reference),
                );
            }
        }
    };
    for (i, step) in test.steps.iter().enumerate() {
        let at = format!("/steps/{i}");
        match step {
            Step::Create { form, alias, .. } => {
                if !forms.contains(form.as_str()) {
                    problem(format!("{at}/create/form"), format!("the pack has no form `{form}`"));
                }
                if let Some(alias) = alias {
                    refs.insert(alias.clone());
                }
            }
            Step::Update { reference, .. } | Step::Transition { reference, .. } | Step::Delete { reference } => {
                if !refs.contains(reference) {
                    let kind = match step {
                        Step::Update { .. } => "update",
                        Step::Transition { .. } => "transition",
                        _ => "delete",
                    };
                    problem(format!("{at}/{kind}/ref"), format!("no step created a record `as` `{reference}` before"));
                }
            }
            Step::Advance(by) => {
                if let Err(err) = data::parse_offset(by).and_then(|d| {
                    if d > chrono::Duration::zero() {
                        Ok(())
                    } else {
                        Err("advance by a positive duration".into())
                    }
                }) {
                    problem(format!("{at}/advance"), err);
                }
            }
            Step::Expect(expect) => check_expect(expect, &format!("{at}/expect"), &refs, &mut problem),
        }
    }
    check_expect(&test.expect, "/expect", &refs, &mut problem);
    problems
}

/// Runs every test of `pack` whose file or name contains `only` (all when `None`).
pub async fn run_tests(pack: &Pack, only: Option<&str>) -> anyhow::Result<Vec<TestOutcome>> {
    let mut outcomes = Vec::new();
    for (path, text) in pack.test_files() {
        let test = match parse(path, text) {
            Ok(test) => test,
            Err(problems) => {
                let failures = problems.iter().map(ToString::to_string).collect();
                outcomes.push(TestOutcome { file: path.into(), name: path.into(), failures });
                continue;
            }
        };
        if only.is_some_and(|only| !path.contains(only) && !test.name.contains(only)) {
            continue;
        }
        let dir = tempfile::tempdir().context("creating a temporary database")?;
        let clock = ManualClock::new(test.start);
        let config = EngineConfig { clock: Arc::new(clock.clone()), ..EngineConfig::new(dir.path()) };
        let engine = Engine::open(config).context("opening a temporary database")?;
        let failures = match run_one(&engine, &clock, pack, &test).await {
            Ok(failures) => failures,
            Err(err) => vec![format!("{err:#}")],
        };
        engine.close().context("closing the temporary database")?;
        outcomes.push(TestOutcome { file: path.into(), name: test.name.clone(), failures });
    }
    Ok(outcomes)
}

/// Moves the clock to `until`, firing on the way every timer that falls due and running the
/// workflows they trigger. This is the one place that moves time in pack tests.
async fn advance_to(engine: &Engine, clock: &ManualClock, until: DateTime<Utc>) -> anyhow::Result<()> {
    engine.simulate_until(clock, until).await?;
    Ok(())
}

struct Scenario<'a> {
    engine: &'a Engine,
    actor: Actor,
    aliases: Aliases,
    forms_of: HashMap<Uuid, FormName>,
    space: SpaceName,
}

async fn run_one(engine: &Engine, clock: &ManualClock, pack: &Pack, test: &TestCase) -> anyhow::Result<Vec<String>> {
    let actor = Actor("pack-test".into());
    let space = test_space();
    engine.create_space(&actor, &space, None).await?;
    install(engine, &actor, pack, &space).await.context("installing the pack")?;
    if test.sample_data {
        install_data(engine, &actor, pack, &space).await.context("loading the sample data")?;
    }
    engine.process_pending().await?;
    let mut scenario = Scenario { engine, actor, aliases: Aliases::new(), forms_of: HashMap::new(), space };
    let mut failures = Vec::new();
    for (i, step) in test.steps.iter().enumerate() {
        let label = format!("step {} ({})", i + 1, step_label(step));
        match step {
            Step::Advance(by) => {
                let by = data::parse_offset(by).map_err(anyhow::Error::msg).with_context(|| label.clone())?;
                advance_to(engine, clock, engine.now() + by).await.with_context(|| label.clone())?;
            }
            Step::Expect(expect) => {
                failures.extend(scenario.compare(expect).await?.into_iter().map(|f| format!("after {label}: {f}")));
            }
            other => {
                scenario.apply(other).await.with_context(|| label.clone())?;
                engine.process_pending().await.with_context(|| label.clone())?;
            }
        }
    }
    failures.extend(scenario.compare(&test.expect).await?);
    // A failed run the test did not expect is a failure, with the run's error.
    let expected_failures: BTreeSet<&str> = test
        .expect
        .runs
        .iter()
        .chain(
            test.steps
                .iter()
                .filter_map(|s| if let Step::Expect(e) = s { Some(e) } else { None })
                .flat_map(|e| e.runs.iter()),
        )
        .filter(|r| r.status == RunStatus::Failed)
        .map(|r| r.workflow.as_str())
        .collect();
    let filter = RunFilter { status: Some(RunStatus::Failed), ..RunFilter::default() };
    for run in engine.runs(&Access::unrestricted(), &scenario.space, &filter, 1000, None)?.0 {
        if !expected_failures.contains(run.workflow.as_str()) {
            failures.push(format!(
                "run of `{}` failed: {}",
                run.workflow,
                run.error.as_deref().unwrap_or("(no error recorded)")
            ));
        }
    }
    Ok(failures)
}

fn step_label(step: &Step) -> String {
    match step {
        Step::Create { form, alias, .. } => {
            format!("create {form}{}", alias.as_ref().map(|a| format!(" as {a}")).unwrap_or_default())
        }
        Step::Update { reference, .. } => format!("update {reference}"),
        Step::Transition { reference, to } => format!("transition {reference} to {to}"),
        Step::Delete { reference } => format!("delete {reference}"),
        Step::Advance(by) => format!("advance {by}"),
        Step::Expect(_) => "expect".into(),
    }
}

impl Scenario<'_> {
    fn record(&self, reference: &str) -> anyhow::Result<(FormName, Uuid)> {
        let created = || format!("no record was created `as` `{reference}`");
        let id = *self.aliases.get(reference).with_context(created)?;
        let form = self.forms_of.get(&id).cloned().with_context(created)?;
        Ok((form, id))
    }

    async fn apply(&mut self, step: &Step) -> anyhow::Result<()> {
        let engine = self.engine;
        let resolve = |value: &Value, aliases: &Aliases| {
            data::resolve(value, aliases, engine.now(), "/data").map_err(anyhow::Error::msg)
        };
        match step {
            Step::Create { form, alias, data } => {
                let data = resolve(data, &self.aliases)?;
                let record = engine
                    .create_record(&self.actor, &Access::unrestricted(), &self.space, form, data)
                    .await
                    .map_err(detailed)?;
                self.forms_of.insert(record.id, form.clone());
                if let Some(alias) = alias {
                    self.aliases.insert(alias.clone(), record.id);
                }
            }
            Step::Update { reference, data } => {
                let (form, id) = self.record(reference)?;
                let patch = resolve(data, &self.aliases)?;
                engine
                    .patch_record(
                        &self.actor,
                        &Access::unrestricted(),
                        &self.space,
                        &form,
                        &id.to_string(),
                        &patch,
                        None,
                    )
                    .await
                    .map_err(detailed)?;
            }
            Step::Transition { reference, to } => {
                let (form, id) = self.record(reference)?;
                engine
                    .transition_record(
                        &self.actor,
                        &Access::unrestricted(),
                        &self.space,
                        &form,
                        &id.to_string(),
                        to,
                        None,
                    )
                    .await
                    .map_err(detailed)?;
            }
            Step::Delete { reference } => {
                let (form, id) = self.record(reference)?;
                engine
                    .delete_record(&self.actor, &Access::unrestricted(), &self.space, &form, &id.to_string(), None)
                    .await
                    .map_err(detailed)?;
            }
            Step::Advance(_) | Step::Expect(_) => {}
        }
        Ok(())
    }

    /// Every difference between `expect` and the database, as "expected X, got Y".
    async fn compare(&self, expect: &Expect) -> anyhow::Result<Vec<String>> {
        let engine = self.engine;
        let mut failures = Vec::new();
        for runs in &expect.runs {
            let filter =
                RunFilter { workflow: Some(runs.workflow.clone()), status: Some(runs.status), ..RunFilter::default() };
            let got = engine.runs(&Access::unrestricted(), &self.space, &filter, 100_000, None)?.0.len();
            if got != runs.count {
                failures.push(format!(
                    "runs of `{}` that {}: expected {}, got {got}",
                    runs.workflow,
                    runs.status.as_str(),
                    runs.count
                ));
            }
        }
        for records in &expect.records {
            let got = count_records(engine, &self.space, &records.form, records.filter.as_deref())?;
            if got != records.count {
                let filter = records.filter.as_deref().map(|f| format!(" where {f}")).unwrap_or_default();
                failures.push(format!("`{}` records{filter}: expected {}, got {got}", records.form, records.count));
            }
        }
        for values in &expect.values {
            let (form, id) = self.record(&values.reference)?;
            let record = engine.record(&Access::unrestricted(), &self.space, &form, &id.to_string())?;
            let expected =
                data::resolve(&values.data, &self.aliases, engine.now(), "/data").map_err(anyhow::Error::msg)?;
            for (field, want) in expected.as_object().into_iter().flatten() {
                let got = record.data.get(field).unwrap_or(&Value::Null);
                if got != want {
                    failures.push(format!("`{}`.{field}: expected {want}, got {got}", values.reference));
                }
            }
        }
        let deliveries = engine.deliveries()?;
        for expected in &expect.deliveries {
            let got = deliveries
                .iter()
                .filter(|d| {
                    d.space == self.space && expected.workflow.as_ref().is_none_or(|w| d.workflow.as_str() == w)
                })
                .count();
            if got != expected.count {
                let of = expected.workflow.as_deref().map(|w| format!(" of `{w}`")).unwrap_or_default();
                failures.push(format!("deliveries{of}: expected {}, got {got}", expected.count));
            }
        }
        for expected in &expect.dashboards {
            let filters = engine::dashboards::DashboardFilters {
                from: expected.from,
                to: expected.to,
                owner: expected.owner.clone(),
                team: expected.team.clone(),
            };
            let data = engine
                .dashboard_data(&Access::unrestricted(), &self.space, &expected.dashboard, &filters)
                .map_err(detailed)?;
            failures.extend(compare_dashboard(expected, &data));
        }
        Ok(failures)
    }
}

/// Every difference between a dashboard's expected and actual numbers.
fn compare_dashboard(expected: &DashboardExpected, data: &engine::model::DashboardData) -> Vec<String> {
    let mut failures = Vec::new();
    let name = &expected.dashboard;
    for want in &expected.widgets {
        let Some(got) = data.widgets.iter().find(|w| w.id == want.id) else {
            failures.push(format!("dashboard `{name}` has no widget `{}`", want.id));
            continue;
        };
        let at = format!("dashboard `{name}`, widget `{}`", want.id);
        if let Some(error) = &got.error {
            failures.push(format!("{at}: {}", error.message));
            continue;
        }
        for (metric, value) in want.total.iter().flatten() {
            let found = got.total.get(metric).unwrap_or(&Value::Null);
            if !same_number(value, found) {
                failures.push(format!("{at}: total {metric}: expected {value}, got {found}"));
            }
        }
        let Some(rows) = &want.rows else { continue };
        if rows.len() != got.rows.len() {
            let keys: Vec<String> = got.rows.iter().map(|r| Value::Object(r.key.clone()).to_string()).collect();
            failures.push(format!("{at}: expected {} rows, got {}: {}", rows.len(), got.rows.len(), keys.join(", ")));
            continue;
        }
        for (i, (want_row, got_row)) in rows.iter().zip(&got.rows).enumerate() {
            if want_row.key != got_row.key {
                failures.push(format!(
                    "{at}: row {i} key: expected {}, got {}",
                    Value::Object(want_row.key.clone()),
                    Value::Object(got_row.key.clone())
                ));
            }
            for (metric, value) in &want_row.values {
                let found = got_row.values.get(metric).unwrap_or(&Value::Null);
                if !same_number(value, found) {
                    failures.push(format!("{at}: row {i} {metric}: expected {value}, got {found}"));
                }
            }
        }
    }
    failures
}

/// Equal JSON, numbers equal to nine decimals (a ratio is a float).
fn same_number(want: &Value, got: &Value) -> bool {
    match (want.as_f64(), got.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        _ => want == got,
    }
}

fn count_records(engine: &Engine, space: &SpaceName, form: &FormName, filter: Option<&str>) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut cursor = None;
    loop {
        let query = ListQuery {
            filter: filter.map(str::to_owned),
            limit: Some(engine::MAX_LIMIT),
            cursor,
            ..ListQuery::default()
        };
        let page = engine.list_records(&Access::unrestricted(), space, form, &query).map_err(detailed)?;
        count += page.items.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

/// An engine error with its field errors spelled out (a 422 is useless without them).
fn detailed(err: engine::EngineError) -> anyhow::Error {
    let fields: Vec<String> = err.field_errors().iter().map(|e| format!("{}: {}", e.path, e.message)).collect();
    if fields.is_empty() {
        anyhow::anyhow!("{err}")
    } else {
        anyhow::anyhow!("{err} ({})", fields.join("; "))
    }
}
