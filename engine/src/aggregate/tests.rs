//! Aggregate tests: every op, buckets in a zone across a DST change and a year boundary, bins,
//! nulls, empty answers, the checks with their pointers, the caps, the planner, and the
//! aggregate columns under concurrent writes.

use serde_json::{json, Value};

use super::*;
use crate::{Actor, EngineConfig};

fn types(field: &str) -> Option<FieldType> {
    Some(match field {
        "tier" | "owner" => FieldType::String,
        "arr" => FieldType::Number,
        "health" => FieldType::Integer,
        "renewal_date" => FieldType::Date,
        "at" | "created_at" => FieldType::DateTime,
        "tags" => FieldType::Array,
        "extra" => FieldType::Any,
        _ => return None,
    })
}

fn record(i: usize, data: Value) -> Record {
    serde_json::from_value(json!({
        "id": Uuid::from_u128(i as u128 + 1), "form": "accounts", "version": 1, "form_version": 1, "data": data,
        "created_at": "2026-01-01T00:00:00Z", "created_by": "t", "updated_at": "2026-01-01T00:00:00Z", "updated_by": "t",
    }))
    .expect("record")
}

fn aggregate_over(query: Value, data: &[Value]) -> Result<AggregateResult> {
    aggregate_until(query, data, Instant::now() + DEFAULT_DEADLINE)
}

fn aggregate_until(query: Value, data: &[Value], deadline: Instant) -> Result<AggregateResult> {
    let aggregate = Aggregate::parse(&query, &types)?;
    let records = data.iter().enumerate().map(|(i, d)| Ok(record(i, d.clone())));
    Ok(aggregate.answer(aggregate.run(records, deadline)?, QueryPlan::Scan))
}

fn answer(query: Value, data: &[Value]) -> Value {
    serde_json::to_value(aggregate_over(query, data).expect("aggregate")).expect("json")
}

fn pointers(query: Value) -> Vec<String> {
    match Aggregate::parse(&query, &types) {
        Err(EngineError::InvalidAggregate(errors)) => errors.into_iter().map(|e| e.path).collect(),
        other => panic!("expected an invalid aggregate, got {other:?}"),
    }
}

fn accounts() -> Vec<Value> {
    vec![
        json!({ "tier": "gold", "owner": "ana", "arr": 100, "health": 90, "renewal_date": "2026-03-01" }),
        json!({ "tier": "gold", "owner": "bo", "arr": 300, "health": 40, "renewal_date": "2026-01-15" }),
        json!({ "tier": "silver", "owner": "ana", "arr": 50.5, "health": 70, "renewal_date": "2027-02-01" }),
        json!({ "tier": "silver", "owner": "ana", "arr": 20, "renewal_date": null }),
        json!({ "owner": "cy", "arr": 10, "health": 20 }),
    ]
}

#[test]
fn every_op_per_group_and_in_total() {
    let query = json!({
        "group_by": ["tier"],
        "metrics": [
            { "op": "count", "as": "n" },
            { "op": "count", "field": "health", "as": "with_health" },
            { "op": "sum", "field": "arr" },
            { "op": "avg", "field": "health" },
            { "op": "min", "field": "health" },
            { "op": "max", "field": "renewal_date" },
            { "op": "count_distinct", "field": "owner", "as": "owners" },
            { "op": "percentile", "field": "arr", "p": 50 },
        ],
    });
    let got = answer(query, &accounts());
    assert_eq!(
        got["groups"],
        json!([
            { "key": { "tier": null }, "values": { "n": 1, "with_health": 1, "sum_arr": 10, "avg_health": 20.0,
                "min_health": 20, "max_renewal_date": null, "owners": 1, "p50_arr": 10 } },
            { "key": { "tier": "gold" }, "values": { "n": 2, "with_health": 2, "sum_arr": 400, "avg_health": 65.0,
                "min_health": 40, "max_renewal_date": "2026-03-01", "owners": 2, "p50_arr": 200 } },
            { "key": { "tier": "silver" }, "values": { "n": 2, "with_health": 1, "sum_arr": 70.5, "avg_health": 70.0,
                "min_health": 70, "max_renewal_date": "2027-02-01", "owners": 1, "p50_arr": 35.25 } },
        ])
    );
    assert_eq!(
        got["total"],
        json!({ "n": 5, "with_health": 4, "sum_arr": 480.5, "avg_health": 55.0, "min_health": 20,
            "max_renewal_date": "2027-02-01", "owners": 3, "p50_arr": 50.5 })
    );
}

#[test]
fn percentiles_interpolate_between_ranks() {
    let data: Vec<Value> = (1..=10).map(|i| json!({ "arr": i * 10 })).collect();
    let query = json!({ "metrics": [
        { "op": "percentile", "field": "arr", "p": 0, "as": "p0" },
        { "op": "percentile", "field": "arr", "p": 25, "as": "p25" },
        { "op": "percentile", "field": "arr", "p": 50, "as": "p50" },
        { "op": "percentile", "field": "arr", "p": 100, "as": "p100" },
        { "op": "max", "field": "arr" },
    ] });
    assert_eq!(answer(query, &data)["total"], json!({ "p0": 10, "p25": 32.5, "p50": 55, "p100": 100, "max_arr": 100 }));
}

#[test]
fn sort_by_metric_and_limit() {
    let query = json!({ "group_by": ["owner"], "metrics": [{ "op": "sum", "field": "arr", "as": "arr" }],
        "sort": "-arr", "limit": 2 });
    let got = answer(query, &accounts());
    assert_eq!(
        got["groups"],
        json!([{ "key": { "owner": "bo" }, "values": { "arr": 300 } },
            { "key": { "owner": "ana" }, "values": { "arr": 170.5 } }])
    );
    // The total is over every record, not just the groups shown.
    assert_eq!(got["total"], json!({ "arr": 480.5 }));
    let by_key_desc = answer(json!({ "group_by": ["owner"], "sort": "-owner" }), &accounts());
    let owners: Vec<&Value> = by_key_desc["groups"].as_array().unwrap().iter().map(|g| &g["key"]["owner"]).collect();
    assert_eq!(owners, [&json!("cy"), &json!("bo"), &json!("ana")]);
}

#[test]
fn buckets_in_a_zone_across_dst_and_a_year_boundary() {
    let data = [
        // Berlin: 00:30 CET on the 29th (UTC is still the 28th).
        json!({ "at": "2026-03-28T23:30:00Z" }),
        // Clocks spring forward at 02:00 CET on 2026-03-29: 03:30 CEST, the same day.
        json!({ "at": "2026-03-29T01:30:00Z" }),
        // 00:30 CEST on the 30th.
        json!({ "at": "2026-03-29T22:30:00Z" }),
        // 00:30 CEST on 1 April: the second quarter in Berlin, the first in UTC.
        json!({ "at": "2026-03-31T22:30:00Z" }),
        // 00:30 CET on 1 January 2027 (a Friday): 2027 in Berlin, 2026 in UTC.
        json!({ "at": "2026-12-31T23:30:00Z" }),
        json!({ "at": null }),
    ];
    let keys = |bucket: &str, zone: Option<&str>| -> Vec<(Value, Value)> {
        let mut group = json!({ "field": "at", "bucket": bucket });
        if let Some(zone) = zone {
            group["timezone"] = json!(zone);
        }
        let got = answer(json!({ "group_by": [group] }), &data);
        got["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["key"]["at"].clone(), g["values"]["count"].clone()))
            .collect()
    };
    let berlin = Some("Europe/Berlin");
    assert_eq!(
        keys("day", berlin),
        [
            (json!(null), json!(1)),
            (json!("2026-03-29"), json!(2)),
            (json!("2026-03-30"), json!(1)),
            (json!("2026-04-01"), json!(1)),
            (json!("2027-01-01"), json!(1)),
        ]
    );
    assert_eq!(
        keys("day", None),
        [
            (json!(null), json!(1)),
            (json!("2026-03-28"), json!(1)),
            (json!("2026-03-29"), json!(2)),
            (json!("2026-03-31"), json!(1)),
            (json!("2026-12-31"), json!(1)),
        ]
    );
    assert_eq!(
        keys("quarter", berlin),
        [
            (json!(null), json!(1)),
            (json!("2026-01-01"), json!(3)),
            (json!("2026-04-01"), json!(1)),
            (json!("2027-01-01"), json!(1)),
        ]
    );
    assert_eq!(keys("quarter", None)[1..], [(json!("2026-01-01"), json!(4)), (json!("2026-10-01"), json!(1))]);
    assert_eq!(keys("year", berlin)[1..], [(json!("2026-01-01"), json!(4)), (json!("2027-01-01"), json!(1))]);
    assert_eq!(keys("year", None)[1..], [(json!("2026-01-01"), json!(5))]);
    // ISO weeks start on Monday: 29 March 2026 is a Sunday, 30 March a Monday, and the week of
    // Friday 1 January 2027 starts on Monday 28 December 2026.
    assert_eq!(
        keys("week", berlin)[1..],
        [(json!("2026-03-23"), json!(2)), (json!("2026-03-30"), json!(2)), (json!("2026-12-28"), json!(1)),]
    );
    assert_eq!(
        keys("month", berlin)[1..],
        [(json!("2026-03-01"), json!(3)), (json!("2026-04-01"), json!(1)), (json!("2027-01-01"), json!(1))]
    );
}

#[test]
fn date_fields_bucket_by_their_calendar_day() {
    let query = json!({ "group_by": [{ "field": "renewal_date", "bucket": "month", "as": "month" }],
        "metrics": [{ "op": "sum", "field": "arr", "as": "arr" }] });
    let got = answer(query, &accounts());
    assert_eq!(
        got["groups"],
        json!([
            { "key": { "month": null }, "values": { "arr": 30 } },
            { "key": { "month": "2026-01-01" }, "values": { "arr": 300 } },
            { "key": { "month": "2026-03-01" }, "values": { "arr": 100 } },
            { "key": { "month": "2027-02-01" }, "values": { "arr": 50.5 } },
        ])
    );
}

#[test]
fn bins_split_numbers_at_their_edges() {
    let query = json!({ "group_by": [{ "field": "health", "bins": [50, 80], "as": "band" }] });
    let got = answer(query, &accounts());
    assert_eq!(
        got["groups"],
        json!([
            { "key": { "band": null }, "values": { "count": 1 } },
            { "key": { "band": { "to": 50 } }, "values": { "count": 2 } },
            { "key": { "band": { "from": 50, "to": 80 } }, "values": { "count": 1 } },
            { "key": { "band": { "from": 80 } }, "values": { "count": 1 } },
        ])
    );
    // An edge value belongs to the bin it starts.
    let edge = answer(json!({ "group_by": [{ "field": "health", "bins": [50] }] }), &[json!({ "health": 50 })]);
    assert_eq!(edge["groups"][0]["key"]["health"], json!({ "from": 50 }));
}

#[test]
fn two_groupings_and_a_filter() {
    let query = json!({ "filter": "arr >= 20", "group_by": ["tier", "owner"] });
    let got = answer(query, &accounts());
    assert_eq!(
        got["groups"],
        json!([
            { "key": { "tier": "gold", "owner": "ana" }, "values": { "count": 1 } },
            { "key": { "tier": "gold", "owner": "bo" }, "values": { "count": 1 } },
            { "key": { "tier": "silver", "owner": "ana" }, "values": { "count": 2 } },
        ])
    );
    assert_eq!(got["total"], json!({ "count": 4 }));
}

#[test]
fn empty_answers() {
    let metrics = json!([{ "op": "count" }, { "op": "sum", "field": "arr" }, { "op": "avg", "field": "arr" },
        { "op": "min", "field": "arr" }, { "op": "percentile", "field": "arr", "p": 50 },
        { "op": "count_distinct", "field": "tier" }]);
    let nothing = json!({ "count": 0, "sum_arr": 0, "avg_arr": null, "min_arr": null, "p50_arr": null,
        "count_distinct_tier": 0 });
    // Grouped: no records, no groups; the total still answers.
    let got = answer(json!({ "filter": "arr > 1000", "group_by": ["tier"], "metrics": metrics }), &accounts());
    assert_eq!(got, json!({ "groups": [], "total": nothing }));
    // Ungrouped: one group with an empty key, equal to the total.
    let got = answer(json!({ "metrics": metrics }), &[]);
    assert_eq!(got, json!({ "groups": [{ "key": {}, "values": nothing }], "total": nothing }));
}

#[test]
fn untyped_fields_skip_values_of_the_wrong_kind() {
    let data = [json!({ "extra": 5 }), json!({ "extra": "five" }), json!({ "extra": [1] }), json!({})];
    let query = json!({ "metrics": [{ "op": "sum", "field": "extra" }, { "op": "count", "field": "extra" },
        { "op": "max", "field": "extra" }] });
    assert_eq!(answer(query, &data)["total"], json!({ "sum_extra": 5, "count_extra": 3, "max_extra": 5 }));
}

#[test]
fn problems_are_named_by_pointer() {
    assert_eq!(
        pointers(json!({ "metrics": [{ "op": "count" }, { "op": "sum", "field": "nope" }] })),
        ["/metrics/1/field"]
    );
    assert_eq!(pointers(json!({ "metrics": [{ "op": "median", "field": "arr" }] })), ["/metrics/0/op"]);
    assert_eq!(pointers(json!({ "metrics": [{ "op": "sum", "field": "tier" }] })), ["/metrics/0/field"]);
    assert_eq!(pointers(json!({ "metrics": [{ "op": "avg" }] })), ["/metrics/0/field"]);
    assert_eq!(pointers(json!({ "metrics": [{ "op": "percentile", "field": "arr", "p": 101 }] })), ["/metrics/0/p"]);
    assert_eq!(pointers(json!({ "metrics": [{ "op": "sum", "field": "arr", "p": 5 }] })), ["/metrics/0/p"]);
    assert_eq!(pointers(json!({ "metrics": [{ "op": "count", "as": "a b" }] })), ["/metrics/0/as"]);
    assert_eq!(pointers(json!({ "metrics": [] })), ["/metrics"]);
    assert_eq!(pointers(json!({ "filter": "health < \"x\"" })), ["/filter"]);
    assert_eq!(pointers(json!({ "filter": "nope = 1" })), ["/filter"]);
    assert_eq!(pointers(json!({ "group_by": [{ "field": "tier", "bucket": "month" }] })), ["/group_by/0/bucket"]);
    assert_eq!(pointers(json!({ "group_by": [{ "field": "at", "bucket": "fortnight" }] })), ["/group_by/0/bucket"]);
    assert_eq!(
        pointers(json!({ "group_by": [{ "field": "at", "bucket": "day", "timezone": "Mars/Base" }] })),
        ["/group_by/0/timezone"]
    );
    assert_eq!(
        pointers(json!({ "group_by": [{ "field": "renewal_date", "bucket": "day", "timezone": "UTC" }] })),
        ["/group_by/0/timezone"]
    );
    assert_eq!(pointers(json!({ "group_by": ["tier", { "field": "health", "bins": [5, 5] }] })), ["/group_by/1/bins"]);
    assert_eq!(pointers(json!({ "group_by": [{ "field": "tier", "bins": [1] }] })), ["/group_by/0/bins"]);
    assert_eq!(pointers(json!({ "group_by": ["tags"] })), ["/group_by/0"]);
    assert_eq!(pointers(json!({ "group_by": ["nope"] })), ["/group_by/0"]);
    assert_eq!(pointers(json!({ "group_by": ["tier", "tier"] })), ["/group_by/1"]);
    assert_eq!(
        pointers(json!({ "group_by": ["tier"], "metrics": [{ "op": "count", "as": "tier" }] })),
        ["/metrics/0/as"]
    );
    assert_eq!(pointers(json!({ "sort": "-nope" })), ["/sort"]);
    assert_eq!(pointers(json!({ "limit": 0 })), ["/limit"]);
    assert_eq!(pointers(json!({ "limit": 10_001 })), ["/limit"]);
    assert_eq!(pointers(json!({ "having": 1 })), ["/having"]);
    assert_eq!(pointers(json!({ "group_by": [{ "field": "tier", "size": 1 }] })), ["/group_by/0/size"]);
    // Every problem at once.
    assert_eq!(
        pointers(json!({ "group_by": ["nope"], "metrics": [{ "op": "sum" }], "limit": -1 })),
        ["/group_by/0", "/metrics/0/field", "/limit"]
    );
}

#[test]
fn too_many_groups_is_an_error() {
    let data: Vec<Value> = (0..=MAX_GROUPS).map(|i| json!({ "health": i })).collect();
    match aggregate_over(json!({ "group_by": ["health"] }), &data) {
        Err(EngineError::AggregateLimit { message, path }) => {
            assert_eq!(path, "/group_by");
            assert!(message.contains("more than 10000 groups"), "{message}");
        }
        other => panic!("expected the group cap, got {other:?}"),
    }
    // Exactly the cap is fine.
    let got = aggregate_over(json!({ "group_by": ["health"] }), &data[..MAX_GROUPS]).expect("at the cap");
    assert_eq!(got.groups.len(), MAX_GROUPS);
}

#[test]
fn a_run_past_its_deadline_is_an_error() {
    let data: Vec<Value> = (0..CHECK_EVERY * 2).map(|i| json!({ "health": i })).collect();
    match aggregate_until(json!({}), &data, Instant::now() - Duration::from_millis(1)) {
        Err(EngineError::AggregateLimit { message, .. }) => assert!(message.contains("time limit"), "{message}"),
        other => panic!("expected the time limit, got {other:?}"),
    }
}

/// Against a real store: a selective filter on an indexed field reads only its candidates, a
/// broad one scans, and both answer the same as the in-memory fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_uses_a_selective_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    let actor = Actor::system();
    engine.create_space(&actor, &SpaceName::from_static("s"), None).await.expect("space");
    let form = json!({ "schema": { "type": "object", "properties": {
        "tier": { "type": "string" }, "owner": { "type": "string" }, "arr": { "type": "number" },
        "health": { "type": "integer" }, "renewal_date": { "type": "string", "format": "date" } } },
        "indexes": ["tier"] });
    engine
        .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("accounts"), &form, false)
        .await
        .expect("form");
    let mut data = Vec::new();
    for i in 0..60 {
        let tier = if i % 10 == 0 { "gold" } else { "silver" };
        data.push(json!({ "tier": tier, "owner": format!("o{}", i % 3), "arr": i * 10, "health": i }));
    }
    for d in &data {
        engine
            .create_record(
                &actor,
                &crate::Access::unrestricted(),
                &SpaceName::from_static("s"),
                &FormName::from_static("accounts"),
                d.clone(),
            )
            .await
            .expect("create");
    }
    let query = json!({ "filter": "tier = \"gold\"", "group_by": ["owner"],
        "metrics": [{ "op": "sum", "field": "arr" }, { "op": "avg", "field": "health" }] });
    let got = engine
        .aggregate(
            &crate::Access::unrestricted(),
            &SpaceName::from_static("s"),
            &FormName::from_static("accounts"),
            &query,
        )
        .expect("aggregate");
    assert_eq!(got.plan, QueryPlan::Index("tier".into()));
    let expected = aggregate_over(query, &data).expect("in memory");
    assert_eq!((got.groups, got.total), (expected.groups, expected.total));

    // A broad filter reads the aggregate columns (built by this first query); a scan, reading
    // only the fields named (filter, groups, metrics), answers the same.
    let broad = json!({ "filter": "health >= 5", "group_by": ["tier"],
        "metrics": [{ "op": "count" }, { "op": "sum", "field": "arr" }, { "op": "max", "field": "health" }] });
    let got = engine
        .aggregate(
            &crate::Access::unrestricted(),
            &SpaceName::from_static("s"),
            &FormName::from_static("accounts"),
            &broad,
        )
        .expect("aggregate");
    assert_eq!(got.plan, QueryPlan::Columns);
    let expected = aggregate_over(broad.clone(), &data).expect("in memory");
    assert_eq!((&got.groups, &got.total), (&expected.groups, &expected.total));
    let parsed = Aggregate::parse(&broad, &types).expect("query");
    let everyone = crate::Access::unrestricted();
    let unrestricted = crate::policy::Policy::of(None, &everyone);
    let (space, form) =
        (forms::SpaceName::parse("s").expect("space"), forms::FormName::parse("accounts").expect("form"));
    let scanned = engine
        .aggregate_scanning(&space, &form, &parsed, &unrestricted, Instant::now() + DEFAULT_DEADLINE)
        .expect("scan");
    assert_eq!(scanned.plan, QueryPlan::Scan);
    assert_eq!((&scanned.groups, &scanned.total), (&expected.groups, &expected.total));
    assert_eq!(
        serde_json::to_value(&got.groups).unwrap(),
        json!([
            { "key": { "tier": "gold" }, "values": { "count": 5, "sum_arr": 1500, "max_health": 50 } },
            { "key": { "tier": "silver" }, "values": { "count": 50, "sum_arr": 16_100, "max_health": 59 } },
        ])
    );

    match engine.aggregate(
        &crate::Access::unrestricted(),
        &SpaceName::from_static("s"),
        &FormName::from_static("accounts"),
        &json!({ "metrics": [{ "op": "sum", "field": "owner" }] }),
    ) {
        Err(EngineError::InvalidAggregate(errors)) => assert_eq!(errors[0].path, "/metrics/0/field"),
        other => panic!("expected a type error, got {other:?}"),
    }
    assert!(engine
        .check_aggregate(
            &SpaceName::from_static("s"),
            &FormName::from_static("accounts"),
            &json!({ "group_by": ["tier"] })
        )
        .is_ok());
    assert!(matches!(
        engine.aggregate(
            &crate::Access::unrestricted(),
            &SpaceName::from_static("s"),
            &FormName::from_static("nope"),
            &json!({})
        ),
        Err(EngineError::NotFound { .. })
    ));
    engine.close().expect("close");
}

#[test]
fn group_filters_select_a_group() {
    let query = json!({ "group_by": ["tier", { "field": "renewal_date", "bucket": "quarter" },
                                     { "field": "health", "bins": [50, 80] }] });
    let aggregate = Aggregate::parse(&query, &types).expect("query");
    let key = json!({ "tier": "enterprise", "renewal_date": "2026-10-01", "health": { "from": 50, "to": 80 } });
    let key = key.as_object().expect("object");
    assert_eq!(
        aggregate.group_filter(key),
        "tier = \"enterprise\" and renewal_date >= \"2026-10-01\" and renewal_date < \"2027-01-01\" and health >= 50 and health < 80"
    );
    let key = json!({ "tier": null, "renewal_date": null, "health": { "to": 50 } });
    assert_eq!(
        aggregate.group_filter(key.as_object().expect("object")),
        "tier = null and renewal_date = null and health < 50"
    );
    assert_eq!(aggregate.metric_names(), vec!["count".to_owned()]);
    assert_eq!(aggregate.key_names(), vec!["tier".to_owned(), "renewal_date".to_owned(), "health".to_owned()]);
}

/// The columns stay exact under concurrent writes: each writer, after every acknowledged
/// create, update or delete of its own records, asks an aggregate over them and sees exactly
/// what it wrote; the columns are dropped now and then, so builds run beside the writes; at the
/// end the columns answer what a scan answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn columns_see_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    let actor = Actor::system();
    engine.create_space(&actor, &SpaceName::from_static("s"), None).await.expect("space");
    let form = json!({ "schema": { "type": "object", "properties": {
        "owner": { "type": "string" }, "arr": { "type": "number" } } } });
    engine
        .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("accounts"), &form, false)
        .await
        .expect("form");
    let mut writers = Vec::new();
    for w in 0..6 {
        let engine = engine.clone();
        writers.push(tokio::spawn(async move {
            let actor = Actor::system();
            let owner = format!("w{w}");
            let query = json!({ "filter": format!("owner = \"{owner}\""),
                "metrics": [{ "op": "count" }, { "op": "sum", "field": "arr" }] });
            let mut mine: Vec<(String, i64)> = Vec::new();
            for step in 0..48i64 {
                match step % 4 {
                    0 | 1 => {
                        let data = json!({ "owner": owner, "arr": step });
                        let record = engine
                            .create_record(
                                &actor,
                                &crate::Access::unrestricted(),
                                &SpaceName::from_static("s"),
                                &FormName::from_static("accounts"),
                                data,
                            )
                            .await
                            .expect("create");
                        mine.push((record.id.to_string(), step));
                    }
                    2 => {
                        let (id, arr) = &mut mine[0];
                        *arr += 1000;
                        let patch = json!({ "arr": *arr });
                        engine
                            .patch_record(
                                &actor,
                                &crate::Access::unrestricted(),
                                &SpaceName::from_static("s"),
                                &FormName::from_static("accounts"),
                                id,
                                &patch,
                                None,
                            )
                            .await
                            .expect("patch");
                    }
                    _ => {
                        let (id, _) = mine.pop().expect("a record");
                        engine
                            .delete_record(
                                &actor,
                                &crate::Access::unrestricted(),
                                &SpaceName::from_static("s"),
                                &FormName::from_static("accounts"),
                                &id,
                                None,
                            )
                            .await
                            .expect("delete");
                    }
                }
                if w == 0 && step % 12 == 5 {
                    engine.inner.columns.forget(&SpaceName::from_static("s"), &FormName::from_static("accounts"));
                }
                let got = engine
                    .aggregate(
                        &crate::Access::unrestricted(),
                        &SpaceName::from_static("s"),
                        &FormName::from_static("accounts"),
                        &query,
                    )
                    .expect("aggregate");
                assert_eq!(got.plan, QueryPlan::Columns);
                let sum: i64 = mine.iter().map(|(_, arr)| arr).sum();
                assert_eq!(
                    (&got.total["count"], &got.total["sum_arr"]),
                    (&json!(mine.len()), &json!(sum)),
                    "{owner} step {step}"
                );
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let broad =
        json!({ "group_by": ["owner"], "metrics": [{ "op": "sum", "field": "arr" }, { "op": "max", "field": "arr" }] });
    let got = engine
        .aggregate(
            &crate::Access::unrestricted(),
            &SpaceName::from_static("s"),
            &FormName::from_static("accounts"),
            &broad,
        )
        .expect("aggregate");
    assert_eq!(got.plan, QueryPlan::Columns);
    let aggregate = Aggregate::parse(&broad, &types).expect("query");
    let everyone = crate::Access::unrestricted();
    let unrestricted = crate::policy::Policy::of(None, &everyone);
    let (space, form) =
        (forms::SpaceName::parse("s").expect("space"), forms::FormName::parse("accounts").expect("form"));
    let scanned = engine
        .aggregate_scanning(&space, &form, &aggregate, &unrestricted, Instant::now() + DEFAULT_DEADLINE)
        .expect("scan");
    assert_eq!(scanned.plan, QueryPlan::Scan);
    assert_eq!((&got.groups, &got.total), (&scanned.groups, &scanned.total));
    assert_eq!(got.groups.len(), 6);
    assert!(engine.aggregate_columns_bytes() > 0);
    // A definition change drops them.
    let changed = json!({ "schema": { "type": "object", "properties": {
        "owner": { "type": "string" }, "arr": { "type": "number" }, "note": { "type": "string" } } } });
    engine
        .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("accounts"), &changed, false)
        .await
        .expect("form");
    assert_eq!(engine.aggregate_columns_bytes(), 0);
    engine.close().expect("close");
}
