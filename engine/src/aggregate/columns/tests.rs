//! Column tests: random records written in any order (with updates and deletions) give the
//! columns of the final records, and every query answers from them exactly what a scan in id
//! order answers; a build merges the writes committed during its scan.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::aggregate::DEFAULT_DEADLINE;
use forms::FieldType;

fn types(field: &str) -> Option<FieldType> {
    Some(match field {
        "tier" => FieldType::String,
        "n" => FieldType::Number,
        "d" => FieldType::Date,
        "t" => FieldType::DateTime,
        "x" => FieldType::Any,
        "tags" => FieldType::Array,
        "created_at" => FieldType::DateTime,
        _ => return None,
    })
}

fn record(id: u128, version: u64, data: Value) -> Record {
    serde_json::from_value(json!({
        "id": Uuid::from_u128(id), "form": "f", "version": version, "form_version": 1, "data": data,
        "created_at": "2026-01-01T00:00:00Z", "created_by": "t", "updated_at": "2026-01-01T00:00:00Z", "updated_by": "t",
    }))
    .expect("record")
}

/// The queries compared: every op, every kind of grouping, filters on one field and on several.
fn queries() -> Vec<Value> {
    vec![
        json!({}),
        json!({ "group_by": ["tier"] }),
        json!({ "group_by": ["n"], "metrics": [{ "op": "count" }, { "op": "min", "field": "d" }] }),
        json!({ "group_by": ["x"], "metrics": [{ "op": "count", "field": "n" }, { "op": "max", "field": "x" }] }),
        json!({ "group_by": [{ "field": "d", "bucket": "month" }],
                "metrics": [{ "op": "sum", "field": "n" }, { "op": "avg", "field": "n" }] }),
        json!({ "group_by": [{ "field": "t", "bucket": "week", "timezone": "America/New_York" }, "tier"],
                "metrics": [{ "op": "percentile", "field": "n", "p": 90 }, { "op": "count_distinct", "field": "tier" }] }),
        json!({ "group_by": [{ "field": "n", "bins": [0, 1.5, 10] }, { "field": "d", "bucket": "quarter" }, "tier"],
                "metrics": [{ "op": "min", "field": "n" }, { "op": "max", "field": "t" }, { "op": "count_distinct", "field": "x" }] }),
        json!({ "filter": "n >= 1", "group_by": ["tier"], "metrics": [{ "op": "sum", "field": "n" }] }),
        json!({ "filter": "d >= \"2026-03-01\" and d < \"2027-01-01\"", "group_by": [{ "field": "d", "bucket": "month" }],
                "metrics": [{ "op": "sum", "field": "n", "as": "s" }] }),
        json!({ "filter": "tier = \"a\" or n < 2", "group_by": ["x"], "metrics": [{ "op": "avg", "field": "n" }] }),
        json!({ "filter": "not (tier in [\"a\", \"b\"]) and tags contains \"k\"", "group_by": ["tier"] }),
        json!({ "filter": "tier = null", "metrics": [{ "op": "count" }, { "op": "max", "field": "n" }] }),
        json!({ "filter": "created_at >= \"2025-01-01T00:00:00Z\"", "group_by": ["tier"], "sort": "-count", "limit": 2 }),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (0i64..4).prop_map(Value::from),
        prop_oneof![Just(1.0), Just(0.5), Just(2.0), Just(-0.0), Just(3.25)].prop_map(|f| json!(f)),
        prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
}

fn data() -> impl Strategy<Value = Value> {
    let maybe = |s: BoxedStrategy<Value>| prop::option::weighted(0.8, s);
    (
        maybe(prop_oneof![Just(json!("a")), Just(json!("b")), Just(json!("c")), Just(Value::Null)].boxed()),
        maybe(
            prop_oneof![
                (0i64..5).prop_map(Value::from),
                prop_oneof![Just(1.0), Just(2.5), Just(0.1)].prop_map(|f| json!(f)),
                Just(Value::Null)
            ]
            .boxed(),
        ),
        maybe(
            (0u32..500)
                .prop_map(|d| {
                    json!((chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("day")
                        + chrono::Duration::days(d.into()))
                    .to_string())
                })
                .boxed(),
        ),
        maybe((0i64..400).prop_map(|h| json!(format!("2026-03-{:02}T{:02}:30:00Z", 1 + h / 24 % 28, h % 24))).boxed()),
        maybe(scalar().boxed()),
        maybe(prop_oneof![Just(json!(["k"])), Just(json!(["j", "k"])), Just(json!([]))].boxed()),
    )
        .prop_map(|(tier, n, d, t, x, tags)| {
            let mut object = serde_json::Map::new();
            for (name, value) in [("tier", tier), ("n", n), ("d", d), ("t", t), ("x", x), ("tags", tags)] {
                if let Some(value) = value {
                    object.insert(name.into(), value);
                }
            }
            Value::Object(object)
        })
}

/// A write to one of a few ids: a new version of the record, or its deletion.
fn writes() -> impl Strategy<Value = Vec<(u128, Option<Value>)>> {
    prop::collection::vec((0u128..40, prop::option::weighted(0.85, data())), 1..120)
}

fn fields() -> Vec<String> {
    ["created_at", "d", "n", "t", "tags", "tier", "x"].map(str::to_owned).to_vec()
}

/// The writes as committed changes (versions counted per id), and the records they leave.
fn committed(writes: &[(u128, Option<Value>)]) -> (Vec<Change>, BTreeMap<u128, Record>) {
    let mut versions: HashMap<u128, u64> = HashMap::new();
    let mut records = BTreeMap::new();
    let mut changes = Vec::new();
    for (id, data) in writes {
        match data {
            Some(data) => {
                let version = versions.entry(*id).and_modify(|v| *v += 1).or_insert(1);
                let record = record(*id, *version, data.clone());
                changes.push(Change { id: record.id, row: Some((record.version, values_of(&record, &fields()))) });
                records.insert(*id, record);
            }
            None => {
                changes.push(Change { id: Uuid::from_u128(*id), row: None });
                records.remove(id);
            }
        }
    }
    (changes, records)
}

fn built(changes: Vec<Change>) -> Columns {
    let mut columns = Columns::new(&fields());
    columns.built = true;
    for change in changes {
        columns.apply(change);
    }
    columns
}

fn same_answers(columns: &Columns, records: &BTreeMap<u128, Record>) {
    for query in queries() {
        let aggregate = Aggregate::parse(&query, &types).expect("query");
        let deadline = Instant::now() + DEFAULT_DEADLINE;
        let scanned = aggregate
            .run(records.values().cloned().map(Ok), deadline)
            .map(|e| aggregate.answer(e, crate::QueryPlan::Scan));
        let from_columns =
            aggregate.run_columns(columns, deadline).map(|e| aggregate.answer(e, crate::QueryPlan::Scan));
        let (scanned, from_columns) = (scanned.expect("scan"), from_columns.expect("columns"));
        // Compared as JSON text: 1 and 1.0 are different answers.
        assert_eq!(
            serde_json::to_string(&from_columns).expect("json"),
            serde_json::to_string(&scanned).expect("json"),
            "{query}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Writes applied in commit order leave the final records' values, and every query gives
    /// the scan's answer.
    #[test]
    fn columns_answer_like_a_scan(writes in writes()) {
        let (changes, records) = committed(&writes);
        let columns = built(changes);
        prop_assert_eq!(columns.len(), records.len());
        same_answers(&columns, &records);
    }

    /// A build's scan sees the records at some point while writes go on; the writes committed
    /// from its start on, applied after it, give the final state whatever the scan saw.
    #[test]
    fn a_build_merges_the_writes_of_its_scan(writes in writes(), cut in 0usize..120, seen in prop::collection::vec(any::<bool>(), 40)) {
        let cut = cut.min(writes.len());
        let (changes, records) = committed(&writes);
        // The scan: the records as of `cut` writes, some of them as of later writes (it read
        // them after they changed), the rest as of `cut`.
        let (_, at_cut) = committed(&writes[..cut]);
        let mut scanned: BTreeMap<u128, Record> = BTreeMap::new();
        for id in 0u128..40 {
            let state = if seen[id as usize] { records.get(&id) } else { at_cut.get(&id) };
            if let Some(record) = state {
                scanned.insert(id, record.clone());
            }
        }
        let mut columns = built(scanned.values().map(|r| Change { id: r.id, row: Some((r.version, values_of(r, &fields()))) }).collect());
        for change in changes.into_iter().skip(cut) {
            columns.apply(change);
        }
        prop_assert_eq!(columns.len(), records.len());
        same_answers(&columns, &records);
    }
}

/// Past the group cap and the deadline, columns stop with the scan's errors.
#[test]
fn caps_hold_on_columns() {
    let changes = (0..10_050u128)
        .map(|i| {
            let record = record(i, 1, json!({ "n": i as u64 }));
            Change { id: record.id, row: Some((1, values_of(&record, &fields()))) }
        })
        .collect();
    let columns = built(changes);
    let aggregate = Aggregate::parse(&json!({ "group_by": ["n"] }), &types).expect("query");
    let err = aggregate.run_columns(&columns, Instant::now() + DEFAULT_DEADLINE).err().expect("too many groups");
    assert!(matches!(err, EngineError::AggregateLimit { ref path, .. } if path == "/group_by"), "{err}");
    let aggregate = Aggregate::parse(&json!({ "group_by": ["tier"] }), &types).expect("query");
    let err = aggregate.run_columns(&columns, Instant::now()).err().expect("past the deadline");
    assert!(err.to_string().contains("time limit"), "{err}");
}

/// Memory is counted: rows and dictionaries; a deletion frees its row for the next record.
#[test]
fn rows_are_reused_and_memory_counted() {
    let fields = fields();
    let mut columns = Columns::new(&fields);
    let empty = columns.bytes();
    let first = record(1, 1, json!({ "tier": "a", "n": 1 }));
    columns.apply(Change { id: first.id, row: Some((1, values_of(&first, &fields))) });
    let one = columns.bytes();
    assert!(one > empty);
    columns.apply(Change { id: first.id, row: None });
    let second = record(2, 1, json!({ "tier": "a", "n": 1 }));
    columns.apply(Change { id: second.id, row: Some((1, values_of(&second, &fields))) });
    assert_eq!((columns.len(), columns.versions.len(), columns.bytes()), (1, 1, one));
    // An older version than the one held changes nothing.
    let stale = record(2, 0, json!({ "tier": "b" }));
    columns.apply(Change { id: stale.id, row: Some((0, values_of(&stale, &fields))) });
    let tier = columns.field_index("tier").expect("tier");
    assert_eq!(columns.columns[tier].value(columns.columns[tier].codes[0]), Some(&json!("a")));
}
