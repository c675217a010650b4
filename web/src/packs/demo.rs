//! `tend serve --demo`: the customer-success pack in a space `demo`, with generated sample
//! data shaped like a real CS team's book (see the pack's README for the numbers).
//!
//! Generation is seeded, so every demo has the same accounts: a few hundred accounts across
//! tiers and ARR bands, named for their industry, with health spread over every band (churned
//! ones low), renewal dates over the next year,
//! contacts, onboardings in every stage, renewals in progress, NPS answers and open tasks,
//! and the ARR movements and monthly snapshots behind the CS overview's retention numbers and
//! trend lines.
//!
//! Its CSMs and their manager are users, members of the space (CSMs `member` in a team,
//! the manager `viewer` of one team), with demo passwords made at install and printed once;
//! every person field holds a user id, so a CSM signed in sees her own book and the manager
//! her team's.

use anyhow::Context;
use std::collections::HashMap;

use engine::auth::{Principal, Role};
use engine::people::NewUser;
use engine::{Access, Actor, EndpointName, Engine, FormName, SpaceName, SpaceRole, WorkflowName};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::data::name_from_email;
use super::{embedded, install_new, Installed};

/// The space the demo lives in.
pub fn demo_space() -> SpaceName {
    SpaceName::from_static("demo")
}
/// The pack it installs.
pub const DEMO_PACK: &str = "customer-success";
/// How many accounts it generates.
pub const DEMO_ACCOUNTS: usize = 300;
/// Records written concurrently, so one flush serves many writes.
const CONCURRENCY: usize = 64;

const CSMS: &[&str] = &[
    "ana.silva@example.com",
    "ben.okafor@example.com",
    "chen.wei@example.com",
    "dara.murphy@example.com",
    "elif.yilmaz@example.com",
    "felix.wagner@example.com",
    "grace.kim@example.com",
    "hugo.martin@example.com",
];
/// The demo's CS manager: `viewer` of the team of the first half of [`CSMS`].
pub const DEMO_MANAGER: &str = "maya.patel@example.com";
/// The teams the CSMs are in, half each; the manager's is the first.
pub const DEMO_TEAMS: [&str; 2] = ["north", "south"];

/// A demo user made at install, with the password printed once.
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// Sign-in email.
    pub email: String,
    /// User id, held by the person fields of the records the user owns.
    pub id: String,
    /// The demo password (random, made at install).
    pub password: String,
    /// The user's role in the demo space.
    pub role: SpaceRole,
    /// The user's teams.
    pub teams: Vec<String>,
}

/// Creates the CSMs and the manager as users with random passwords and makes them members of
/// the demo space.
async fn create_users(engine: &Engine) -> anyhow::Result<Vec<DemoUser>> {
    let installer = Principal {
        token_id: "demo".into(),
        role: Role::Admin,
        user_id: None,
        superadmin: true,
        space: None,
        read_only: false,
    };
    let half = CSMS.len().div_ceil(2);
    let people = CSMS
        .iter()
        .enumerate()
        .map(|(i, email)| (*email, SpaceRole::Member, DEMO_TEAMS[usize::from(i >= half)]))
        .chain([(DEMO_MANAGER, SpaceRole::Viewer, DEMO_TEAMS[0])]);
    let mut users = Vec::new();
    for (email, role, team) in people {
        let password: String =
            rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(16).map(char::from).collect();
        let new = NewUser {
            email: email.into(),
            name: name_from_email(email),
            password: Some(password.clone()),
            ..NewUser::default()
        };
        let user = engine.create_user(new).await.with_context(|| format!("creating demo user {email}"))?;
        let teams = vec![team.to_owned()];
        engine
            .put_member(&installer, &demo_space(), &user.id, role, &teams)
            .await
            .with_context(|| format!("making {email} a member of the demo space"))?;
        users.push(DemoUser { email: email.into(), id: user.id, password, role, teams });
    }
    Ok(users)
}

const PREFIXES: &[&str] = &[
    "Northwind",
    "Bluepeak",
    "Ironbridge",
    "Suncrest",
    "Lumen",
    "Harbor",
    "Cobalt",
    "Evergreen",
    "Redwood",
    "Quantum",
    "Silverline",
    "Brightpath",
    "Oakridge",
    "Nimbus",
    "Granite",
    "Vertex",
    "Atlas",
    "Meridian",
    "Pioneer",
    "Helix",
];
/// Each industry with the words its company names end in, so a name says what the company
/// does (`Cobalt Freight` is in logistics).
pub const INDUSTRIES: &[(&str, &[&str])] = &[
    ("saas", &["Software", "Cloud", "Systems", "Apps"]),
    ("fintech", &["Pay", "Capital", "Finance", "Bank"]),
    ("retail", &["Retail", "Stores", "Outfitters", "Market"]),
    ("healthcare", &["Health", "Medical", "Clinics", "Care"]),
    ("manufacturing", &["Manufacturing", "Industries", "Robotics", "Works"]),
    ("logistics", &["Logistics", "Freight", "Shipping", "Transport"]),
    ("education", &["Learning", "Academy", "Education", "Schools"]),
    ("media", &["Media", "Studios", "Publishing", "Broadcasting"]),
];
const ZONES: &[(&str, &str)] = &[
    ("emea", "Europe/Berlin"),
    ("emea", "Europe/London"),
    ("emea", "Europe/Paris"),
    ("amer", "America/New_York"),
    ("amer", "America/Chicago"),
    ("amer", "America/Los_Angeles"),
    ("amer", "America/Sao_Paulo"),
    ("apac", "Asia/Shanghai"),
    ("apac", "Asia/Singapore"),
    ("apac", "Asia/Tokyo"),
    ("apac", "Australia/Sydney"),
];
const FIRST_NAMES: &[&str] =
    &["Maria", "James", "Aiko", "Lukas", "Priya", "Omar", "Sofia", "Tom", "Mei", "Jonas", "Lea", "Carlos"];
const LAST_NAMES: &[&str] =
    &["Garcia", "Smith", "Tanaka", "Becker", "Sharma", "Haddad", "Rossi", "Brown", "Lin", "Nilsson", "Dubois", "Costa"];

/// The webhook endpoints the pack's workflows notify. The demo defines them as sinks, so its
/// alerts are recorded (see `GET /api/v1/spaces/demo/deliveries`) rather than failing.
pub const DEMO_ENDPOINTS: &[&str] = &["cs-alerts", "cs-leads"];
/// The pack's workflow that sends email.
const EMAILING_WORKFLOW: &str = "task-overdue-reminder";

/// Installs the demo into an engine that has no `demo` space yet; returns what was written
/// and the demo users (with their passwords, to print once). Without a mail server (`mail` false) the workflow that emails is stored disabled, so the
/// demo sends nothing that can only fail.
pub async fn install_demo(engine: &Engine, mail: bool) -> anyhow::Result<(Installed, Vec<DemoUser>)> {
    let pack = embedded(DEMO_PACK).with_context(|| format!("the built-in pack `{DEMO_PACK}` is missing"))?;
    let actor = Actor("demo".into());
    let space = demo_space();
    let mut installed = install_new(engine, &actor, &pack, &space, Some("Customer Success (demo)".into()), false)
        .await
        .context("installing the customer-success pack")?;
    for name in DEMO_ENDPOINTS {
        let sink = json!({ "url": engine::outbox::SINK_URL,
            "title": "Demo sink: deliveries are recorded here and never sent; set `url` to your own receiver" });
        engine
            .put_endpoint(&space, &EndpointName::from_static(name), &sink)
            .await
            .with_context(|| format!("defining endpoint `{name}`"))?;
    }
    if !mail {
        let emailing = WorkflowName::from_static(EMAILING_WORKFLOW);
        let mut workflow = serde_json::to_value(engine.workflow(&space, &emailing, None)?.definition)?;
        workflow["enabled"] = json!(false);
        engine.put_workflow(&actor, &space, &emailing, &workflow).await?;
    }
    let users = create_users(engine).await?;
    let ids: HashMap<&str, &str> = users.iter().map(|u| (u.email.as_str(), u.id.as_str())).collect();
    installed.records = generate(engine, &actor, &ids).await?;
    Ok((installed, users))
}

/// Writes records concurrently; any refusal is a bug in the generator and stops the demo.
async fn write_all(
    engine: &Engine,
    actor: &Actor,
    form: &'static str,
    rows: Vec<Value>,
) -> anyhow::Result<Vec<String>> {
    let (space, form) = (demo_space(), FormName::from_static(form));
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CONCURRENCY) {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, data) in chunk.iter().cloned().enumerate() {
            let (engine, actor, space, form) = (engine.clone(), actor.clone(), space.clone(), form.clone());
            tasks.spawn(async move {
                (i, engine.create_record(&actor, &Access::unrestricted(), &space, &form, data).await)
            });
        }
        let mut written = vec![String::new(); chunk.len()];
        while let Some(joined) = tasks.join_next().await {
            let (i, record) = joined.context("a demo write task")?;
            let record =
                record.map_err(|err| anyhow::anyhow!("writing demo `{form}`: {err} {:?}", err.field_errors()))?;
            written[i] = record.id.to_string();
        }
        ids.extend(written);
    }
    Ok(ids)
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// Generates and writes the sample data; returns how many records.
/// `ids`: each CSM's user id by email, stored in the person fields.
async fn generate(engine: &Engine, actor: &Actor, ids: &HashMap<&str, &str>) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(20_270_104);
    let today = engine.now().date_naive();
    let date = |days: i64| (today + chrono::Duration::days(days)).to_string();

    // Accounts: half starter, a third growth, the rest enterprise; health from healthy to
    // at risk, driven by the inputs the pack's health score weighs.
    let mut accounts = Vec::new();
    let mut conditions = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    while accounts.len() < DEMO_ACCOUNTS {
        // Names are unique without numbers: 20 prefixes × 32 industry words leave room.
        let (industry, words) = *INDUSTRIES.choose(&mut rng).unwrap_or(&INDUSTRIES[0]);
        let name = format!("{} {}", pick(&mut rng, PREFIXES), pick(&mut rng, words));
        if !names.insert(name.clone()) {
            continue;
        }
        let roll: f64 = rng.gen();
        let (tier, arr) = if roll < 0.5 {
            ("starter", rng.gen_range(6..25) * 1000)
        } else if roll < 0.85 {
            ("growth", rng.gen_range(25..100) * 1000)
        } else {
            ("enterprise", rng.gen_range(100..600) * 1000)
        };
        // How well the account is doing, 0 to 1, drives every input the pack's health score
        // weighs, so health spreads over every band; churned accounts did badly.
        let churned = rng.gen_bool(0.03);
        let condition: f64 = if churned { rng.gen_range(0.0..0.2) } else { rng.gen() };
        conditions.push(condition);
        let score = |rng: &mut StdRng, low: f64, high: f64| {
            (low + (high - low) * condition + rng.gen_range(-8.0..8.0)).clamp(0.0, 100.0).round() as i64
        };
        let (region, zone) = *ZONES.choose(&mut rng).unwrap_or(&("emea", "Europe/Berlin"));
        let payment = if condition < 0.3 && rng.gen_bool(0.3) {
            "late"
        } else if condition < 0.5 && rng.gen_bool(0.05) {
            "overdue"
        } else {
            "current"
        };
        let status = if churned {
            "churned"
        } else if condition < 0.35 {
            "at_risk"
        } else {
            "active"
        };
        let open_tickets = if condition < 0.3 {
            rng.gen_range(2..8)
        } else if condition < 0.6 {
            rng.gen_range(0..4)
        } else {
            rng.gen_range(0..2)
        };
        let last_contact = if condition < 0.3 {
            rng.gen_range(30..120)
        } else if condition < 0.6 {
            rng.gen_range(10..70)
        } else {
            rng.gen_range(1..30)
        };
        accounts.push(json!({
            "name": name,
            "tier": tier,
            "arr": arr,
            "owner": ids.get(pick(&mut rng, CSMS)).copied().context("every CSM is a demo user")?,
            "status": status,
            "renewal_date": date(rng.gen_range(7..365)),
            "timezone": zone,
            "region": region,
            "industry": industry,
            "usage_score": score(&mut rng, 5.0, 100.0),
            "feature_adoption": score(&mut rng, 5.0, 95.0),
            "open_tickets": open_tickets,
            "sev1_tickets": if condition < 0.3 && rng.gen_bool(0.4) { 1 } else { 0 },
            "nps": (score(&mut rng, 0.0, 100.0) / 10).clamp(0, 10),
            "payment_status": payment,
            "last_contact_date": date(-last_contact),
        }));
    }
    let account_ids = write_all(engine, actor, "account", accounts.clone()).await?;
    let mut total = account_ids.len();

    // Contacts: a champion per account, a decision maker for most, admins for some.
    let mut contacts = Vec::new();
    for (id, account) in account_ids.iter().zip(&accounts) {
        let domain = account["name"].as_str().unwrap_or("customer").to_lowercase().replace(' ', "-");
        for role in ["champion", "decision_maker", "admin"] {
            if role != "champion" && rng.gen_bool(0.35) {
                continue;
            }
            let (first, last) = (pick(&mut rng, FIRST_NAMES), pick(&mut rng, LAST_NAMES));
            contacts.push(json!({
                "name": format!("{first} {last}"),
                "email": format!("{}.{}@{domain}.example", first.to_lowercase(), last.to_lowercase()),
                "role": role,
                "account": id,
            }));
        }
    }
    total += write_all(engine, actor, "contact", contacts).await?.len();

    // Onboardings: the newest 40 accounts, spread over every stage, a few stalled.
    let stages = ["kickoff", "setup", "training", "live"];
    let mut onboardings = Vec::new();
    for (i, (id, account)) in account_ids.iter().zip(&accounts).rev().take(40).enumerate() {
        let stage = stages[i % stages.len()];
        // The kickoff SLA (5 days) counts from the kickoff date: kickoffs spread over the last
        // week breach on their own days, the oldest at once (a few stalled), not all together.
        let started = if stage == "kickoff" { -rng.gen_range(0..7) } else { -rng.gen_range(7..60) };
        onboardings.push(json!({
            "account": id,
            "owner": account["owner"],
            "stage": stage,
            "kickoff_date": date(started),
            "target_live_date": date(started + 45),
            "checklist": match stage {
                "setup" => json!({ "kickoff_call": true, "success_plan": true, "stakeholders": true, "sso": rng.gen_bool(0.5) }),
                "training" => json!({ "kickoff_call": true, "success_plan": true, "stakeholders": true, "sso": true, "data_import": true, "integrations": true }),
                "live" => json!({ "kickoff_call": true, "success_plan": true, "stakeholders": true, "sso": true, "data_import": true, "integrations": true, "admin_training": true, "user_training": true }),
                _ => json!({ "kickoff_call": rng.gen_bool(0.5) }),
            },
        }));
    }
    total += write_all(engine, actor, "onboarding", onboardings).await?.len();

    // Renewals: every live account renewing within 90 days has one, at a stage that fits.
    let mut renewals = Vec::new();
    for (id, account) in account_ids.iter().zip(&accounts) {
        let renewal_date = account["renewal_date"].as_str().unwrap_or_default();
        let days =
            chrono::NaiveDate::parse_from_str(renewal_date, "%Y-%m-%d").map(|d| (d - today).num_days()).unwrap_or(999);
        if days > 90 || account["status"] == "churned" {
            continue;
        }
        let arr = account["arr"].as_i64().unwrap_or(0);
        let stage = if days > 60 {
            "not_started"
        } else if days > 30 {
            "in_discussion"
        } else {
            "committed"
        };
        let change: f64 =
            if account["status"] == "at_risk" { rng.gen_range(-0.3..0.0) } else { rng.gen_range(-0.05..0.25) };
        renewals.push(json!({
            "account": id,
            "owner": account["owner"],
            "stage": stage,
            "renewal_date": renewal_date,
            "current_arr": arr,
            "proposed_arr": ((arr as f64) * (1.0 + change) / 100.0).round() * 100.0,
        }));
    }
    total += write_all(engine, actor, "renewal", renewals).await?.len();

    // NPS answers from the last quarter, mostly promoters and passives.
    let mut answers = Vec::new();
    for _ in 0..150 {
        let i = rng.gen_range(0..account_ids.len());
        let struggling = accounts[i]["status"] != "active";
        let score = if struggling {
            rng.gen_range(0..8)
        } else {
            *[6, 7, 8, 8, 9, 9, 9, 10, 10].choose(&mut rng).unwrap_or(&9)
        };
        let comments = [
            "Great support team",
            "Reporting is slow",
            "Onboarding took too long",
            "Love the new dashboard",
            "Too expensive for what we use",
            "",
        ];
        answers.push(json!({
            "account": account_ids[i],
            "csm": accounts[i]["owner"],
            "score": score,
            "comment": pick(&mut rng, &comments),
            "received_on": date(-rng.gen_range(1..90)),
        }));
    }
    total += write_all(engine, actor, "nps_response", answers).await?.len();

    // Tasks: check-ins and follow-ups, some done, some due this week, some overdue.
    let mut tasks = Vec::new();
    let titles = [
        "Quarterly business review",
        "Monthly check-in",
        "Send usage report",
        "Plan expansion call",
        "Confirm executive sponsor",
    ];
    for _ in 0..120 {
        let i = rng.gen_range(0..account_ids.len());
        let due = rng.gen_range(-10..21);
        tasks.push(json!({
            "title": format!("{}: {}", pick(&mut rng, &titles), accounts[i]["name"].as_str().unwrap_or_default()),
            "account": account_ids[i],
            "assignee": accounts[i]["owner"],
            "due": date(due),
            "status": if due < -3 && rng.gen_bool(0.7) { "done" } else { "open" },
            "priority": if rng.gen_bool(0.2) { "high" } else { "normal" },
            "source": "demo",
        }));
    }
    total += write_all(engine, actor, "task", tasks).await?.len();

    let (movements, snapshots) = arr_history(&mut rng, today, &account_ids, &accounts, &conditions);
    total += write_all(engine, actor, "arr_movement", movements).await?.len();
    total += write_all(engine, actor, "account_snapshot", snapshots).await?.len();
    Ok(total)
}

/// How many monthly snapshots back the demo has.
const SNAPSHOT_MONTHS: u32 = 6;

/// Each account's ARR history (a new logo, then a few expansions and contractions adding up to
/// its ARR today, and a churn for churned accounts), and the monthly snapshots it implies,
/// with health drifting towards today's.
fn arr_history(
    rng: &mut StdRng,
    today: chrono::NaiveDate,
    ids: &[String],
    accounts: &[Value],
    conditions: &[f64],
) -> (Vec<Value>, Vec<Value>) {
    use chrono::Datelike;
    let mut movements = Vec::new();
    let mut snapshots = Vec::new();
    let this_month = today.with_day(1).unwrap_or(today);
    let months: Vec<chrono::NaiveDate> = (0..SNAPSHOT_MONTHS)
        .rev()
        .filter_map(|back| this_month.checked_sub_months(chrono::Months::new(back)))
        .collect();
    for ((id, account), condition) in ids.iter().zip(accounts).zip(conditions) {
        let arr = account["arr"].as_i64().unwrap_or(0);
        let owner = &account["owner"];
        let signed_up = rng.gen_range(30..900);
        // Changes after signing up, as (days ago, signed amount), oldest first.
        let mut changes: Vec<(i64, i64)> = (0..rng.gen_range(0..3))
            .map(|_| {
                let grew = rng.gen_bool(0.45 + 0.45 * condition);
                let share = if grew { rng.gen_range(0.08..0.3) } else { rng.gen_range(0.03..0.12) };
                let amount = (arr as f64 * share / 100.0).round() as i64 * 100;
                (rng.gen_range(1..signed_up), if grew { amount } else { -amount })
            })
            .collect();
        changes.sort_by_key(|change| std::cmp::Reverse(change.0));
        let mut start = arr - changes.iter().map(|(_, amount)| amount).sum::<i64>();
        if start <= 0 {
            changes.clear();
            start = arr;
        }
        let mut history = vec![(signed_up, "new", start)];
        history.extend(
            changes
                .iter()
                .map(|&(days, amount)| (days, if amount > 0 { "expansion" } else { "contraction" }, amount.abs())),
        );
        if account["status"] == "churned" {
            let last = history.iter().map(|(days, ..)| *days).min().unwrap_or(signed_up);
            history.push((rng.gen_range(0..last.max(1)), "churn", arr));
        }
        for (days, kind, amount) in &history {
            movements.push(json!({
                "account": id, "kind": kind, "amount": amount, "owner": owner,
                "date": (today - chrono::Duration::days(*days)).to_string(),
            }));
        }
        let current_health = (condition * 80.0 + 20.0).round();
        for (back, month) in months.iter().rev().enumerate() {
            let arr_then: i64 = history
                .iter()
                .filter(|(days, ..)| today - chrono::Duration::days(*days) < *month)
                .map(|(_, kind, amount)| if matches!(*kind, "contraction" | "churn") { -amount } else { *amount })
                .sum();
            if arr_then <= 0 {
                continue;
            }
            let drift = rng.gen_range(-6.0..6.0) * back as f64;
            snapshots.push(json!({
                "account": id, "month": month.to_string(), "owner": owner, "tier": account["tier"],
                "status": if account["status"] == "churned" { "active" } else { account["status"].as_str().unwrap_or("active") },
                "arr": arr_then, "health": (current_health + drift).clamp(0.0, 100.0) as i64,
            }));
        }
    }
    (movements, snapshots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_users_name_comes_from_the_email() {
        assert_eq!(name_from_email("ana.silva@example.com"), "Ana Silva");
        assert_eq!(name_from_email("elif_yilmaz@example.com"), "Elif Yilmaz");
        assert_eq!(name_from_email("maya@example.com"), "Maya");
        assert!(CSMS.iter().chain([&DEMO_MANAGER]).all(|email| !name_from_email(email).is_empty()));
    }
}
