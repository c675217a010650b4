//! The store conformance suite: the guarantees every [`Store`] backend gives, written against
//! the trait alone. `conformance_suite!` instantiates every check for one backend; the sled
//! backend runs it below, and a second backend adds one line.
//!
//! Checked: a commit is atomic (a failing write leaves nothing of its request); sequence
//! numbers are gapless and follow commit order, also under concurrent commits; cursors and
//! round-robin positions move with their commit; version checks refuse stale and missing
//! records; index entries and history follow record writes; events read back as committed,
//! with the data before and after each change, however the record changed since; timers come out in due order and
//! fire once; deliveries leave the due index when done; definitions are versioned, spaces
//! unique, tokens found by hash, users, memberships and the audit log kept; index scans follow bounds, direction and resume positions;
//! everything acknowledged is there after the store is closed and opened again, with numbering
//! continuing where it stopped; and a snapshot read while commits go on holds exactly what was
//! committed before it started, and loads into a new store; the write observer hears every
//! committed record write, in commit order, before the writer is answered, and nothing of a
//! refused one; import journal entries come and go with their commit.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use forms::{FormName, SpaceName, WorkflowName};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    AppliedWrite, Extras, IndexEntry, RecordWrite, StorageConfig, StorageEngine, Store, StoreError, TimerOp,
    ValueRange, WriteObserver,
};
use crate::model::{
    Actor, AuditEntry, Delivery, DeliveryStatus, DeliveryTarget, Event, EventKind, Membership, Record, Role, Space,
    SpaceRole, StoredForm, Timer, TimerKind, TokenInfo, User,
};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).single().expect("a valid instant")
}

fn space() -> SpaceName {
    SpaceName::parse("s").expect("slug")
}

fn form() -> FormName {
    FormName::parse("f").expect("slug")
}

thread_local! {
    /// The engine the running test opens its stores with (set by the suite's `check`; each
    /// test runs on one thread).
    static ENGINE: std::cell::Cell<StorageEngine> = const { std::cell::Cell::new(StorageEngine::Fjall) };
}

fn settings() -> StorageConfig {
    StorageConfig { cache_mb: 8, engine: ENGINE.with(std::cell::Cell::get) }
}

fn open<S: Store>(dir: &Path) -> S {
    S::open(dir, &settings()).expect("open")
}

fn record(id: Uuid, version: u64, data: Value) -> Record {
    Record {
        id,
        form: form(),
        version,
        form_version: 1,
        data,
        stage: None,
        created_at: at(),
        created_by: Actor::system(),
        updated_at: at(),
        updated_by: Actor::system(),
    }
}

fn event(id: Uuid, kind: EventKind, version: u64, after: Option<Value>) -> Event {
    let mut event = Event::bare(space(), kind, Actor::system(), at());
    event.form = Some(form());
    event.record = id;
    event.version = version;
    event.after = after;
    event
}

fn index(value: &[u8]) -> IndexEntry {
    IndexEntry { field: "n".into(), value: value.to_vec() }
}

/// A write creating record `id` with `{"n": n}`, indexed under `n` by `n`'s byte.
fn create(id: Uuid, n: u8) -> RecordWrite {
    let data = json!({ "n": n });
    RecordWrite {
        space: space(),
        form: form(),
        id,
        expected_version: None,
        record: Some(record(id, 1, data.clone())),
        index_remove: Vec::new(),
        index_add: vec![index(&[n])],
        event: event(id, EventKind::Created, 1, Some(data)),
        timers: Vec::new(),
    }
}

/// A write moving record `id` from version `from` (value `old`) to `from + 1` (value `new`).
fn update(id: Uuid, from: u64, old: u8, new: u8) -> RecordWrite {
    let data = json!({ "n": new });
    RecordWrite {
        space: space(),
        form: form(),
        id,
        expected_version: Some(from),
        record: Some(record(id, from + 1, data.clone())),
        index_remove: vec![index(&[old])],
        index_add: vec![index(&[new])],
        event: Event { before: Some(json!({ "n": old })), ..event(id, EventKind::Updated, from + 1, Some(data)) },
        timers: Vec::new(),
    }
}

fn seqs<S: Store>(store: &S) -> Vec<u64> {
    store.events_after(0, usize::MAX).expect("events").iter().map(|event| event.seq).collect()
}

fn indexed<S: Store>(store: &S) -> Vec<(Vec<u8>, Uuid)> {
    let all = (Bound::Unbounded, Bound::Unbounded);
    store.scan_index(&space(), &form(), "n", all, None, false).collect::<Result<_, _>>().expect("index")
}

/// A request whose second write fails its version check stores nothing of the first.
async fn a_commit_is_all_or_nothing<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut extras = Extras { cursor: Some(("reader".into(), 7)), ..Extras::default() };
    extras.events.push(Event::bare(space(), EventKind::Inbound, Actor::system(), at()));
    let failed = store.commit(vec![create(a, 1), update(b, 4, 1, 2)], extras).await;
    assert!(matches!(failed, Err(StoreError::VersionConflict { current: None })), "{failed:?}");
    assert_eq!(store.record(&space(), &form(), &a).expect("read"), None);
    assert!(seqs(&store).is_empty(), "no event of the failed request");
    assert_eq!(store.last_seq(), 0);
    assert_eq!(store.cursor("reader").expect("cursor"), 0, "the cursor moves only with its commit");
    assert!(indexed(&store).is_empty());
    // The same write alone goes through.
    store.commit(vec![create(a, 1)], Extras::default()).await.expect("commit");
    assert_eq!(seqs(&store), [1]);
    store.close().expect("close");
}

/// Events are numbered 1, 2, 3... in commit order, without gaps, also when many writers
/// commit at once; each commit answers with its own events' numbers.
async fn sequence_numbers_are_gapless_and_in_commit_order<S: Store>(dir: &Path) {
    let store = Arc::new(open::<S>(dir));
    let mut tasks = Vec::new();
    for n in 0..64u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
            let events = store.commit(vec![create(a, n), create(b, n)], Extras::default()).await.expect("commit");
            assert_eq!(events.len(), 2);
            assert_eq!(events[1].seq, events[0].seq + 1, "one request's events are adjacent");
            events.iter().map(|event| (event.seq, event.record)).collect::<Vec<_>>()
        }));
    }
    let mut answered = BTreeSet::new();
    for task in tasks {
        answered.extend(task.await.expect("task"));
    }
    let logged: Vec<(u64, Uuid)> =
        store.events_after(0, usize::MAX).expect("events").iter().map(|event| (event.seq, event.record)).collect();
    assert_eq!(logged, answered.into_iter().collect::<Vec<_>>(), "the log holds what each commit answered");
    assert_eq!(seqs(&*store), (1..=128).collect::<Vec<u64>>());
    assert_eq!(store.last_seq(), 128);
    assert_eq!(store.events_after(100, 5).expect("page").first().map(|event| event.seq), Some(101));
    store.close().expect("close");
}

/// A cursor and a round-robin position are stored by the commit that carries them.
async fn cursors_and_positions_move_with_their_commit<S: Store>(dir: &Path) {
    let store: S = open(dir);
    assert_eq!(store.cursor("reader").expect("cursor"), 0);
    let extras = Extras {
        cursor: Some(("reader".into(), 42)),
        assignments: vec![(space(), "w".into(), 3, 9)],
        ..Extras::default()
    };
    store.commit(Vec::new(), extras).await.expect("commit");
    assert_eq!(store.cursor("reader").expect("cursor"), 42);
    assert_eq!(store.cursor("another").expect("cursor"), 0);
    assert_eq!(store.assignment_position(&space(), "w", 3).expect("position"), 9);
    assert_eq!(store.assignment_position(&space(), "w", 4).expect("position"), 0);
    store.close().expect("close");
}

/// A write names the version it read: a stale or missing record refuses it with the version
/// now stored; index entries and history follow the writes that pass.
async fn version_checks_refuse_stale_writes<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let id = Uuid::now_v7();
    store.commit(vec![create(id, 1)], Extras::default()).await.expect("create");
    let again = store.commit(vec![create(id, 1)], Extras::default()).await;
    assert!(matches!(again, Err(StoreError::VersionConflict { current: Some(1) })), "{again:?}");
    store.commit(vec![update(id, 1, 1, 2)], Extras::default()).await.expect("update");
    let stale = store.commit(vec![update(id, 1, 1, 3)], Extras::default()).await;
    assert!(matches!(stale, Err(StoreError::VersionConflict { current: Some(2) })), "{stale:?}");
    // Two writes of one record in one request: the second sees the first.
    store.commit(vec![update(id, 2, 2, 3), update(id, 3, 3, 4)], Extras::default()).await.expect("chained");
    let stored = store.record(&space(), &form(), &id).expect("read").expect("present");
    assert_eq!((stored.version, stored.data), (4, json!({ "n": 4 })));
    assert_eq!(indexed(&store), [(vec![4], id)], "one index entry, for the current value");
    let history = store.record_events(&space(), &form(), &id, 0, 100).expect("history");
    assert_eq!(history.iter().map(|event| event.version).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let delete = RecordWrite {
        record: None,
        index_remove: vec![index(&[4])],
        index_add: Vec::new(),
        event: event(id, EventKind::Deleted, 4, None),
        ..update(id, 4, 4, 4)
    };
    store.commit(vec![delete], Extras::default()).await.expect("delete");
    assert_eq!(store.record(&space(), &form(), &id).expect("read"), None);
    let gone = store.commit(vec![update(id, 4, 4, 5)], Extras::default()).await;
    assert!(matches!(gone, Err(StoreError::VersionConflict { current: None })), "{gone:?}");
    assert!(indexed(&store).is_empty());
    assert_eq!(store.record_events(&space(), &form(), &id, 0, 100).expect("history").len(), 5, "history outlives it");
    store.close().expect("close");
}

/// Events read back (from the log, one by one, or a record's history) are the events
/// committed, with the data before and after each change, however the record changed since:
/// updated again in the same request, in later ones, deleted; and after a reopen.
async fn events_read_back_as_committed<S: Store>(dir: &Path) {
    let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut committed = Vec::new();
    {
        let store: S = open(dir);
        committed.extend(store.commit(vec![create(id, 1), create(other, 7)], Extras::default()).await.expect("create"));
        committed.extend(
            store.commit(vec![update(id, 1, 1, 2), update(id, 2, 2, 3)], Extras::default()).await.expect("chained"),
        );
        let mut fired = event(id, EventKind::TimerFired, 3, Some(json!({ "n": 3 })));
        fired.actor = Actor("timer".into());
        let extras = Extras { events: vec![fired], ..Extras::default() };
        committed.extend(store.commit(vec![update(id, 3, 3, 4)], extras).await.expect("update with an event"));
        let delete = RecordWrite {
            record: None,
            index_remove: vec![index(&[4])],
            index_add: Vec::new(),
            event: Event { before: Some(json!({ "n": 4 })), ..event(id, EventKind::Deleted, 4, None) },
            ..update(id, 4, 4, 4)
        };
        committed.extend(store.commit(vec![delete], Extras::default()).await.expect("delete"));
        assert_eq!(store.events_after(0, usize::MAX).expect("log"), committed);
        store.close().expect("close");
    }
    let store: S = open(dir);
    assert_eq!(store.events_after(0, usize::MAX).expect("log"), committed, "after a reopen");
    // A filtered read answers the kept events whole, and how far it read.
    let mut seen = Vec::new();
    let mut updates_only = |event: &Event| {
        assert!(event.before.is_none() && event.after.is_none(), "a filter sees events without their record data");
        seen.push(event.seq);
        event.kind == EventKind::Updated
    };
    let (kept, through) = store.events_after_where(1, 4, &mut updates_only).expect("filtered");
    let updates: Vec<Event> = committed
        .iter()
        .filter(|event| event.seq > 1 && event.seq <= 5 && event.kind == EventKind::Updated)
        .cloned()
        .collect();
    assert_eq!((kept, through, seen), (updates, 5, vec![2, 3, 4, 5]));
    let last = committed.last().map_or(0, |event| event.seq);
    let (kept, through) = store.events_after_where(last, 10, &mut |_| true).expect("past the end");
    assert_eq!((kept.len(), through), (0, last), "nothing read: `after` comes back");
    for event in &committed {
        assert_eq!(store.event(event.seq).expect("read").as_ref(), Some(event));
    }
    let ours: Vec<Event> = committed.iter().filter(|event| event.record == id).cloned().collect();
    assert_eq!(store.record_events(&space(), &form(), &id, 0, 100).expect("history"), ours);
    assert_eq!(store.record_events(&space(), &form(), &id, ours[1].seq, 2).expect("page"), ours[2..4]);
    let theirs = store.record_events(&space(), &form(), &other, 0, 100).expect("history");
    assert_eq!(theirs.iter().map(|event| event.after.clone()).collect::<Vec<_>>(), [Some(json!({ "n": 7 }))]);
    store.close().expect("close");
}

/// What was acknowledged is there after the store is closed and opened again, and numbering
/// continues after the last event.
async fn acknowledged_writes_survive_reopening<S: Store>(dir: &Path) {
    let ids: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    {
        let store: S = open(dir);
        for (n, id) in ids.iter().enumerate() {
            let extras = Extras { cursor: Some(("reader".into(), n as u64 + 1)), ..Extras::default() };
            store.commit(vec![create(*id, n as u8)], extras).await.expect("commit");
        }
        store.close().expect("close");
    }
    let store: S = open(dir);
    assert_eq!(store.last_seq(), 10);
    assert_eq!(store.cursor("reader").expect("cursor"), 10);
    for id in &ids {
        assert!(store.record(&space(), &form(), id).expect("read").is_some(), "record {id} survived");
    }
    let scanned: Vec<Uuid> =
        store.scan_records(&space(), &form(), None, false).map(|r| r.expect("record").id).collect();
    assert_eq!(scanned, ids, "records scan in id order");
    let projected: Vec<(Uuid, serde_json::Value)> = store
        .scan_records_with_fields(&space(), &form(), &["n".to_owned()])
        .map(|r| r.map(|r| (r.id, r.data)).expect("record"))
        .collect();
    let full: Vec<(Uuid, serde_json::Value)> = store
        .scan_records(&space(), &form(), None, false)
        .map(|r| r.map(|r| (r.id, r.data)).expect("record"))
        .collect();
    assert_eq!(projected, full, "a scan of the fields a record has reads the same data");
    let nothing = store.scan_records_with_fields(&space(), &form(), &[]).map(|r| r.expect("record").data);
    assert!(nothing.into_iter().all(|data| data == json!({})), "a scan of no fields keeps no data");
    assert_eq!(indexed(&store).len(), 10);
    let events = store.commit(vec![create(Uuid::now_v7(), 99)], Extras::default()).await.expect("commit");
    assert_eq!(events[0].seq, 11, "numbering continues");
    assert_eq!(seqs(&store), (1..=11).collect::<Vec<u64>>());
    store.close().expect("close");
}

fn timer(record: Uuid, spec: &str, due: DateTime<Utc>) -> Timer {
    Timer {
        id: Uuid::now_v7(),
        space: space(),
        kind: TimerKind::Delay,
        workflow: Some(WorkflowName::parse("w").expect("slug")),
        workflow_version: Some(1),
        form: Some(form()),
        record,
        spec: spec.to_owned(),
        due,
        timezone: "UTC".into(),
        created_at: at(),
    }
}

/// Timers come out in due order; one owner has one pending timer; firing removes it and
/// appends its event once, however often the same timer is fired.
async fn timers_are_queued_replaced_and_fired_once<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let hour = chrono::Duration::hours(1);
    let late = timer(a, "2h", at() + hour * 2);
    let early = timer(b, "1h", at() + hour);
    let ops = vec![TimerOp::Put(Box::new(late.clone())), TimerOp::Put(Box::new(early.clone()))];
    store.commit(Vec::new(), Extras { timers: ops, ..Extras::default() }).await.expect("schedule");
    assert_eq!(store.first_due().expect("head"), Some(early.due_micros()));
    assert_eq!(store.due_timers((at() + hour).timestamp_micros(), 10).expect("due"), std::slice::from_ref(&early));
    assert_eq!(store.count_timers(), 2);
    // The same owner (space, record, workflow, spec) again: the new timer replaces the old.
    let moved = timer(a, "2h", at() + hour * 3);
    store
        .commit(Vec::new(), Extras { timers: vec![TimerOp::Put(Box::new(moved.clone()))], ..Extras::default() })
        .await
        .expect("replace");
    assert_eq!(store.timers_of_record(&space(), &a).expect("timers"), std::slice::from_ref(&moved));
    let fire = || TimerOp::Fire {
        timer: early.clone(),
        event: Some(Box::new(Event::bare(space(), EventKind::TimerFired, Actor::system(), at() + hour))),
        next: None,
    };
    let fired = store.commit(Vec::new(), Extras { timers: vec![fire()], ..Extras::default() }).await.expect("fire");
    assert_eq!(fired.iter().map(|event| (event.seq, event.kind)).collect::<Vec<_>>(), [(1, EventKind::TimerFired)]);
    let again = store.commit(Vec::new(), Extras { timers: vec![fire()], ..Extras::default() }).await.expect("again");
    assert!(again.is_empty(), "a timer fires once");
    assert_eq!(store.first_due().expect("head"), Some(moved.due_micros()));
    let cancel = TimerOp::CancelRecord { space: space(), record: a };
    store.commit(Vec::new(), Extras { timers: vec![cancel], ..Extras::default() }).await.expect("cancel");
    assert_eq!(store.count_timers(), 0);
    // Reads have passed every timer fired or cancelled; one due earlier than anything read so
    // far is still found, whether queued on its own or by a write, by every read of the queue.
    assert_eq!(store.first_due().expect("head"), None);
    assert_eq!(store.due_timers((at() + hour * 4).timestamp_micros(), 10).expect("due"), []);
    let overdue = timer(b, "1h", at() - hour);
    store
        .commit(Vec::new(), Extras { timers: vec![TimerOp::Put(Box::new(overdue.clone()))], ..Extras::default() })
        .await
        .expect("queue an overdue timer");
    assert_eq!(store.first_due().expect("head"), Some(overdue.due_micros()));
    assert_eq!(store.due_timers(at().timestamp_micros(), 10).expect("due"), std::slice::from_ref(&overdue));
    let listed = store.timers_in_due_order(&space(), None, None, 10, &mut |_| true).expect("listed");
    assert_eq!(listed, std::slice::from_ref(&overdue));
    let mut write = create(Uuid::now_v7(), 1);
    let with_write = timer(write.id, "1h", at() - hour * 2);
    write.timers.push(TimerOp::Put(Box::new(with_write.clone())));
    store.commit(vec![write], Extras::default()).await.expect("a write with a timer");
    assert_eq!(store.due_timers(at().timestamp_micros(), 10).expect("due"), [with_write, overdue]);
    store.close().expect("close");
}

/// A delivery is due in its group from the commit that writes it until the update that
/// records it delivered; a space lists its own deliveries.
async fn deliveries_leave_the_due_index_when_done<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let target = DeliveryTarget::Webhook("crm".into());
    let workflow = WorkflowName::parse("w").expect("slug");
    let delivery = Delivery::queued(Uuid::now_v7(), space(), workflow, Uuid::now_v7(), target, json!({}), at());
    let extras = Extras { deliveries: vec![delivery.clone()], ..Extras::default() };
    store.commit(Vec::new(), extras).await.expect("queue");
    let group = delivery.group();
    assert_eq!(store.due_groups().expect("groups"), std::slice::from_ref(&group));
    assert_eq!(store.due_in_group(&group, at(), 10).expect("due"), [(at(), delivery.id)]);
    assert_eq!(store.due_in_group(&group, at() - chrono::Duration::seconds(1), 10).expect("due"), []);
    let elsewhere =
        Delivery { id: Uuid::now_v7(), space: SpaceName::parse("other").expect("slug"), ..delivery.clone() };
    store.commit(Vec::new(), Extras { deliveries: vec![elsewhere], ..Extras::default() }).await.expect("queue");
    let listed: Vec<Uuid> =
        store.space_deliveries_newest_first(&space(), None).map(|d| d.expect("delivery").id).collect();
    assert_eq!(listed, [delivery.id], "a space lists its own deliveries only");
    let done = Delivery {
        status: DeliveryStatus::Delivered,
        next_attempt_at: None,
        delivered_at: Some(at()),
        ..delivery.clone()
    };
    store.update_deliveries(vec![(done.clone(), delivery.next_attempt_at)]).await.expect("update");
    assert_eq!(store.due_groups().expect("groups").len(), 1, "only the other space's delivery is due");
    assert_eq!(store.delivery(&delivery.id).expect("read"), Some(done));
    // Reads have passed the sent one; a delivery due earlier than anything read so far is
    // still found, by both reads.
    let earlier_at = at() - chrono::Duration::hours(1);
    let earlier = Delivery { id: Uuid::now_v7(), next_attempt_at: Some(earlier_at), ..delivery.clone() };
    store.commit(Vec::new(), Extras { deliveries: vec![earlier.clone()], ..Extras::default() }).await.expect("queue");
    assert_eq!(store.due_groups().expect("groups").len(), 2, "both spaces have one due again");
    assert_eq!(store.due_in_group(&group, at(), 10).expect("due"), [(earlier_at, earlier.id)]);
    let retry_at = at() - chrono::Duration::hours(2);
    let retry = Delivery { next_attempt_at: Some(retry_at), ..earlier.clone() };
    store.update_deliveries(vec![(retry, Some(earlier_at))]).await.expect("rescheduled");
    assert_eq!(store.due_in_group(&group, at(), 10).expect("due"), [(retry_at, earlier.id)]);
    store.close().expect("close");
}

fn stored_form(version: u32) -> StoredForm {
    let definition = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
    StoredForm {
        name: form(),
        version,
        definition: forms::FormDef::from_json(&definition).expect("a valid definition"),
        created_at: at(),
        created_by: Actor::system(),
    }
}

/// Definitions are versioned: a taken version is refused, the latest is found, spaces are
/// unique; tokens are found by hash.
async fn definitions_spaces_and_tokens_are_kept<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let new_space = Space {
        name: space(),
        title: "S".into(),
        timezone: None,
        created_at: at(),
        created_by: Actor::system(),
        copied_from: None,
        template: None,
    };
    store.insert_space(&new_space).expect("space");
    assert!(matches!(store.insert_space(&new_space), Err(StoreError::AlreadyExists)));
    store.put_space(&Space { title: "Renamed".into(), ..new_space.clone() }).expect("put");
    assert_eq!(store.space(&space()).expect("read").map(|s| s.title), Some("Renamed".to_owned()));
    store.insert_form_version(&space(), &stored_form(1)).expect("v1");
    store.insert_form_version(&space(), &stored_form(2)).expect("v2");
    assert!(matches!(store.insert_form_version(&space(), &stored_form(2)), Err(StoreError::AlreadyExists)));
    assert_eq!(store.form_version(&space(), &form(), None).expect("latest").map(|f| f.version), Some(2));
    assert_eq!(store.form_version(&space(), &form(), Some(1)).expect("v1").map(|f| f.version), Some(1));
    assert_eq!(store.latest_forms(&space()).expect("latest").iter().map(|f| f.version).collect::<Vec<_>>(), [2]);
    assert!(!store.has_tokens().expect("tokens"));
    let token = TokenInfo {
        id: "abc".into(),
        role: Role::Admin,
        label: None,
        created_at: at(),
        user_id: None,
        space: None,
        read_only: false,
        expires_at: None,
        last_used_at: None,
    };
    store.insert_token("hash", &token).expect("token");
    store.barrier().await.expect("barrier");
    assert_eq!(store.token("hash").expect("read"), Some(token));
    assert_eq!(store.token("other").expect("read"), None);
    assert!(store.has_tokens().expect("tokens"));
    store.close().expect("close");
}

/// Users claim their email once; memberships are found by space and by user; the audit log
/// reads back newest first, filtered and paged.
async fn people_memberships_and_the_audit_log_are_kept<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let user = |id: &str| User {
        id: id.into(),
        email: format!("{id}@x"),
        name: id.into(),
        time_zone: "UTC".into(),
        locale: "en".into(),
        password: None,
        disabled: false,
        superadmin: false,
        created_at: at(),
    };
    store.insert_user("a@x", &user("a")).expect("a");
    assert!(matches!(store.insert_user("a@x", &user("b")), Err(StoreError::AlreadyExists)));
    assert_eq!(store.user("b").expect("read"), None, "a refused user is not stored");
    store.insert_user("b@x", &user("b")).expect("b");
    store.put_user(&User { name: "Bee".into(), ..user("b") }).expect("put");
    assert_eq!(store.user_id_by_email("b@x").expect("read").as_deref(), Some("b"));
    assert_eq!(store.users().expect("users").iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["a", "Bee"]);

    let member = |id: &str, role| Membership { user_id: id.into(), role, teams: vec!["emea".into()] };
    let other = SpaceName::parse("s2").expect("name");
    store.put_membership(&space(), &member("a", SpaceRole::Owner)).expect("a");
    store.put_membership(&space(), &member("b", SpaceRole::Viewer)).expect("b");
    store.put_membership(&other, &member("b", SpaceRole::Member)).expect("b2");
    assert_eq!(store.members(&space()).expect("members").len(), 2);
    assert_eq!(store.membership(&other, "b").expect("read").map(|m| m.role), Some(SpaceRole::Member));
    let of_b = store.memberships_of("b").expect("of b");
    assert_eq!(of_b.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["s", "s2"]);
    assert!(store.remove_membership(&space(), "b").expect("remove"));
    assert!(!store.remove_membership(&space(), "b").expect("again"));

    let ids: Vec<Uuid> = (1..=3u128).map(|n| Uuid::from_u128(n << 80)).collect();
    for (n, id) in ids.iter().enumerate() {
        let entry = AuditEntry {
            id: *id,
            at: at(),
            actor: "user:a".into(),
            space: (n != 1).then(|| "s".to_owned()),
            action: format!("a{n}"),
            target: "t".into(),
            from: None,
        };
        store.append_audit(&entry).expect("append");
    }
    store.barrier().await.expect("barrier");
    let actions = |entries: Vec<AuditEntry>| entries.into_iter().map(|e| e.action).collect::<Vec<_>>();
    assert_eq!(actions(store.audit(None, 10, &|_| true).expect("all")), ["a2", "a1", "a0"]);
    assert_eq!(actions(store.audit(None, 10, &|e| e.space.is_some()).expect("s")), ["a2", "a0"]);
    assert_eq!(actions(store.audit(Some(ids[2]), 1, &|_| true).expect("page")), ["a1"]);
    store.close().expect("close");
}

/// Index scans honour value bounds, direction and a resume position; counts stop at their
/// cap; an index can be rebuilt and dropped.
async fn index_scans_follow_bounds_direction_and_resume<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let writes = ids.iter().enumerate().map(|(n, id)| create(*id, n as u8)).collect();
    store.commit(writes, Extras::default()).await.expect("commit");
    let scan = |range: ValueRange, resume: Option<(&[u8], &Uuid)>, reverse: bool| -> Vec<u8> {
        store
            .scan_index(&space(), &form(), "n", range, resume, reverse)
            .map(|entry| entry.expect("entry").0[0])
            .collect()
    };
    let all = || (Bound::Unbounded, Bound::Unbounded);
    assert_eq!(scan(all(), None, false), [0, 1, 2, 3, 4]);
    assert_eq!(scan(all(), None, true), [4, 3, 2, 1, 0]);
    assert_eq!(scan((Bound::Excluded(vec![1]), Bound::Included(vec![3])), None, false), [2, 3]);
    assert_eq!(scan(all(), Some((&[2], &ids[2])), false), [3, 4], "resumes after a position");
    assert_eq!(scan(all(), Some((&[2], &ids[2])), true), [1, 0]);
    assert_eq!(store.count_index(&space(), &form(), "n", all(), 3).expect("count"), 3, "stops at the cap");
    store.rebuild_index(&space(), &form(), "n", &mut ids.iter().map(|id| (vec![7], *id))).expect("rebuild");
    assert_eq!(scan(all(), None, false), [7, 7, 7, 7, 7]);
    store.drop_index(&space(), &form(), "n").expect("drop");
    assert!(scan(all(), None, false).is_empty());
    let newest_first: Vec<Uuid> =
        store.scan_records(&space(), &form(), Some(ids[3]), true).map(|r| r.expect("record").id).collect();
    assert_eq!(newest_first, [ids[2], ids[1], ids[0]], "records after a cursor, newest first");
    store.close().expect("close");
}

/// What an observer heard: (record id, version or `None` for a deletion) per write, and resets.
#[derive(Default)]
struct Heard(std::sync::Mutex<(Vec<HeardWrite>, usize)>);

/// A record id, and its version or `None` for a deletion.
type HeardWrite = (Uuid, Option<u64>);

impl WriteObserver for Heard {
    fn applied(&self, writes: Vec<AppliedWrite>) {
        let mut heard = self.0.lock().expect("lock");
        heard.0.extend(writes.into_iter().map(|w| (w.id, w.record.map(|r| r.version))));
    }

    fn reset(&self) {
        self.0.lock().expect("lock").1 += 1;
    }
}

/// The observer hears each committed record write once it is acknowledged, in commit order,
/// and nothing of a refused request; journal entries are written and removed with commits.
async fn the_observer_hears_committed_writes_and_journals_follow_commits<S: Store>(dir: &Path) {
    let store: S = open(dir);
    let heard = Arc::new(Heard::default());
    store.observe(Arc::clone(&heard) as Arc<dyn WriteObserver>);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let import = Uuid::now_v7();
    let journal = Extras { import_journal: vec![(import, 0, Some(b"undo".to_vec()))], ..Extras::default() };
    store.commit(vec![create(a, 1)], journal).await.expect("commit");
    assert_eq!(heard.0.lock().expect("lock").0, vec![(a, Some(1))], "heard before the answer");
    let refused = store.commit(vec![create(b, 2), update(a, 5, 1, 3)], Extras::default()).await;
    assert!(matches!(refused, Err(StoreError::VersionConflict { .. })), "{refused:?}");
    store.commit(vec![update(a, 1, 1, 2)], Extras::default()).await.expect("update");
    assert_eq!(heard.0.lock().expect("lock").0, vec![(a, Some(1)), (a, Some(2))]);
    assert_eq!(store.import_journal().expect("journal"), vec![(import, 0, b"undo".to_vec())]);
    let done = Extras { import_journal: vec![(import, 0, None)], ..Extras::default() };
    store.commit(Vec::new(), done).await.expect("journal removed");
    assert!(store.import_journal().expect("journal").is_empty());
    assert_eq!(heard.0.lock().expect("lock").1, 0, "no reset without a failed flush");
    store.close().expect("close");
}

/// Instantiates the suite for one backend: `conformance_suite!(module_name, BackendType);`.
/// A snapshot read while commits go on holds exactly what was committed before it started,
/// and loads into a new store that serves it.
async fn a_snapshot_is_one_instant_and_loads_into_a_new_store<S: Store>(dir: &Path) {
    let store: Arc<S> = Arc::new(open(&dir.join("live")));
    let before: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    for (n, id) in before.iter().enumerate() {
        store.commit(vec![create(*id, n as u8)], Extras::default()).await.expect("commit");
    }
    let (started, wait_started) = std::sync::mpsc::channel::<()>();
    let (resume, wait_resume) = std::sync::mpsc::channel::<()>();
    let reader = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let mut entries = Vec::new();
            store
                .snapshot(&mut |part, key, value| {
                    if entries.is_empty() {
                        let _ = started.send(());
                        let _ = wait_resume.recv();
                    }
                    entries.push((part.to_owned(), key.to_vec(), value.to_vec()));
                    Ok(())
                })
                .expect("snapshot");
            entries
        })
    };
    tokio::task::spawn_blocking(move || wait_started.recv()).await.expect("join").expect("the snapshot started");
    // Written while the snapshot is read: none of it may show.
    for n in 0..10u8 {
        store.commit(vec![create(Uuid::now_v7(), 100 + n)], Extras::default()).await.expect("commit");
    }
    let mut delete = create(before[0], 0);
    delete.expected_version = Some(1);
    delete.record = None;
    delete.index_add = Vec::new();
    delete.index_remove = vec![index(&[0])];
    delete.event = event(before[0], EventKind::Deleted, 2, None);
    store.commit(vec![delete], Extras::default()).await.expect("delete");
    resume.send(()).expect("resume");
    let entries = tokio::task::spawn_blocking(move || reader.join().expect("reader")).await.expect("join");
    let loaded = S::load_snapshot(&dir.join("copy"), &settings(), &mut entries.into_iter().map(Ok)).expect("load");
    assert!(loaded > 0);
    let copy: S = open(&dir.join("copy"));
    assert_eq!(copy.last_seq(), 20, "the events as of the snapshot");
    let scanned: Vec<Uuid> = copy.scan_records(&space(), &form(), None, false).map(|r| r.expect("record").id).collect();
    assert_eq!(scanned, before, "the records as of the snapshot, the deleted one included");
    for id in &before {
        assert_eq!(copy.record_events(&space(), &form(), id, 0, 10).expect("history").len(), 1);
    }
    copy.close().expect("close");
    store.close().expect("close");
}

macro_rules! conformance_suite {
    ($name:ident, $backend:ty, $engine:expr) => {
        mod $name {

            async fn check<F, Fut>(check: F)
            where
                F: FnOnce(std::path::PathBuf) -> Fut,
                Fut: std::future::Future<Output = ()>,
            {
                super::ENGINE.with(|engine| engine.set($engine));
                let dir = tempfile::tempdir().expect("temp dir");
                check(dir.path().to_owned()).await;
            }

            #[tokio::test]
            async fn a_commit_is_all_or_nothing() {
                check(|dir| async move { super::a_commit_is_all_or_nothing::<$backend>(&dir).await }).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sequence_numbers_are_gapless_and_in_commit_order() {
                check(|dir| async move { super::sequence_numbers_are_gapless_and_in_commit_order::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn cursors_and_positions_move_with_their_commit() {
                check(|dir| async move { super::cursors_and_positions_move_with_their_commit::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn version_checks_refuse_stale_writes() {
                check(|dir| async move { super::version_checks_refuse_stale_writes::<$backend>(&dir).await }).await;
            }

            #[tokio::test]
            async fn timers_are_queued_replaced_and_fired_once() {
                check(|dir| async move { super::timers_are_queued_replaced_and_fired_once::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn deliveries_leave_the_due_index_when_done() {
                check(|dir| async move { super::deliveries_leave_the_due_index_when_done::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn definitions_spaces_and_tokens_are_kept() {
                check(|dir| async move { super::definitions_spaces_and_tokens_are_kept::<$backend>(&dir).await }).await;
            }

            #[tokio::test]
            async fn people_memberships_and_the_audit_log_are_kept() {
                check(|dir| async move { super::people_memberships_and_the_audit_log_are_kept::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn index_scans_follow_bounds_direction_and_resume() {
                check(|dir| async move { super::index_scans_follow_bounds_direction_and_resume::<$backend>(&dir).await })
                    .await;
            }

            #[tokio::test]
            async fn events_read_back_as_committed() {
                check(|dir| async move { super::events_read_back_as_committed::<$backend>(&dir).await }).await;
            }

            #[tokio::test]
            async fn a_snapshot_is_one_instant_and_loads_into_a_new_store() {
                check(|dir| async move {
                    super::a_snapshot_is_one_instant_and_loads_into_a_new_store::<$backend>(&dir).await
                })
                .await;
            }

            #[tokio::test]
            async fn the_observer_hears_committed_writes_and_journals_follow_commits() {
                check(|dir| async move {
                    super::the_observer_hears_committed_writes_and_journals_follow_commits::<$backend>(&dir).await
                })
                .await;
            }

            #[tokio::test]
            async fn acknowledged_writes_survive_reopening() {
                check(|dir| async move { super::acknowledged_writes_survive_reopening::<$backend>(&dir).await }).await;
            }
        }
    };
}

conformance_suite!(sled, super::super::kv_backend::KvStore, super::super::StorageEngine::Sled);
conformance_suite!(fjall, super::super::kv_backend::KvStore, super::super::StorageEngine::Fjall);
