//! How events are stored (format 3): a fixed binary head, and JSON only for what is free-form.
//!
//! The log is read by the engine alone, so an event is laid out for the engine rather than as
//! the JSON it answers with. What the log used to repeat is referenced instead:
//! - a record write's event does not copy the record's data after the change (`after`): that
//!   is the record at the event's version, which is the stored record while it is still at that
//!   version, and otherwise the state the next write of the record replaced, which that write's
//!   event keeps (below). [`Stored::after_is_record`] marks such events;
//! - a write that replaces or deletes a stored record keeps the stored value it replaced, as the
//!   committer read it for the version check: its bytes are copied, not re-encoded, and give the
//!   event's `before` (the record's data at the version the write expected);
//! - the sequence number is the key, so it is not in the value.
//!
//! Layout: `0xE3`, kind (u8), flags (u8: after is the record, has a form, keeps the replaced
//! record, has a JSON rest, skips workflows), version (u64 BE), instant (seconds i64 BE, nanoseconds
//! u32 BE), record id (16 bytes), space, form (when flagged) and actor (each u16 BE length ++
//! UTF-8), the replaced record (when flagged: u32 BE length ++ stored record value), then the
//! rest (when flagged) as JSON: `before` and `after` when given rather than referenced, cause,
//! timer, hook and payload. Events written before format 3 are JSON objects (they start with `{`)
//! and are still read.

use chrono::{DateTime, Utc};
use forms::{FormName, SpaceName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{corrupt, decode_record_data, from_json};
use crate::model::{Actor, Cause, Event, EventKind, FiredTimer};
use crate::store::StoreError;

/// First byte of an event stored in format 3 (a JSON event starts with `{`).
const MARKER: u8 = 0xE3;
const AFTER_IS_RECORD: u8 = 1;
const HAS_FORM: u8 = 1 << 1;
const HAS_REPLACED: u8 = 1 << 2;
const HAS_REST: u8 = 1 << 3;
const SKIP_WORKFLOWS: u8 = 1 << 4;
/// Marker, kind, flags, version, seconds, nanoseconds, record id.
const HEAD: usize = 1 + 1 + 1 + 8 + 8 + 4 + 16;

/// The free-form part of an event, as JSON.
#[derive(Default, Serialize, Deserialize)]
struct Rest {
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "b")]
    before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "a")]
    after: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "c")]
    cause: Option<Cause>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "t")]
    timer: Option<FiredTimer>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "h")]
    hook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "p")]
    payload: Option<Value>,
}

/// An event as read from the log, before its referenced `after` is looked up.
pub(super) struct Stored {
    pub(super) event: Event,
    /// `after` is the record at `event.version` (not stored with the event).
    pub(super) after_is_record: bool,
}

/// Encodes `event` for the log. `after_is_record`: its `after` is the data of the record its
/// write stored (so it is left out). `replaced`: the stored value of the record the write
/// replaced or deleted (kept, and read back as `before`).
pub(super) fn encode(event: &Event, after_is_record: bool, replaced: Option<&[u8]>) -> Result<Vec<u8>, StoreError> {
    let mut flags = 0;
    if after_is_record {
        flags |= AFTER_IS_RECORD;
    }
    if event.form.is_some() {
        flags |= HAS_FORM;
    }
    if replaced.is_some() {
        flags |= HAS_REPLACED;
    }
    let rest = Rest {
        before: if replaced.is_some() { None } else { event.before.clone() },
        after: if after_is_record { None } else { event.after.clone() },
        cause: event.cause.clone(),
        timer: event.timer.clone(),
        hook: event.hook.clone(),
        payload: event.payload.clone(),
    };
    let has_rest = rest.before.is_some()
        || rest.after.is_some()
        || rest.cause.is_some()
        || rest.timer.is_some()
        || rest.hook.is_some()
        || rest.payload.is_some();
    if has_rest {
        flags |= HAS_REST;
    }
    if event.skip_workflows {
        flags |= SKIP_WORKFLOWS;
    }
    let mut bytes = Vec::with_capacity(HEAD + 64 + replaced.map_or(0, <[u8]>::len));
    bytes.push(MARKER);
    bytes.push(kind_code(event.kind));
    bytes.push(flags);
    bytes.extend_from_slice(&event.version.to_be_bytes());
    bytes.extend_from_slice(&event.at.timestamp().to_be_bytes());
    bytes.extend_from_slice(&event.at.timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(event.record.as_bytes());
    push_str(&mut bytes, event.space.as_str())?;
    if let Some(form) = &event.form {
        push_str(&mut bytes, form.as_str())?;
    }
    push_str(&mut bytes, &event.actor.0)?;
    if let Some(replaced) = replaced {
        let len = u32::try_from(replaced.len()).map_err(|_| too_long())?;
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(replaced);
    }
    if has_rest {
        serde_json::to_writer(&mut bytes, &rest).map_err(StoreError::encoding)?;
    }
    Ok(bytes)
}

/// A format-3 event's parts, borrowed from its bytes.
struct Parts<'a> {
    kind: EventKind,
    flags: u8,
    version: u64,
    at: DateTime<Utc>,
    record: Uuid,
    space: &'a str,
    form: Option<&'a str>,
    actor: &'a str,
    replaced: Option<&'a [u8]>,
    rest: &'a [u8],
}

fn split<'a>(key: &[u8], bytes: &'a [u8]) -> Result<Parts<'a>, StoreError> {
    let bad = |reason: &str| corrupt(key, reason);
    let head = bytes.get(..HEAD).ok_or_else(|| bad("short event"))?;
    let kind = kind_of(head[1]).ok_or_else(|| bad("unknown event kind"))?;
    let flags = head[2];
    let version = u64::from_be_bytes(head[3..11].try_into().map_err(|_| bad("short event"))?);
    let secs = i64::from_be_bytes(head[11..19].try_into().map_err(|_| bad("short event"))?);
    let nanos = u32::from_be_bytes(head[19..23].try_into().map_err(|_| bad("short event"))?);
    let at = DateTime::<Utc>::from_timestamp(secs, nanos).ok_or_else(|| bad("bad event instant"))?;
    let record = Uuid::from_slice(&head[23..39]).map_err(|_| bad("bad event record"))?;
    let mut rest = &bytes[HEAD..];
    let space = take_str(&mut rest).ok_or_else(|| bad("bad event space"))?;
    let form = match flags & HAS_FORM {
        0 => None,
        _ => Some(take_str(&mut rest).ok_or_else(|| bad("bad event form"))?),
    };
    let actor = take_str(&mut rest).ok_or_else(|| bad("bad event actor"))?;
    let replaced = match flags & HAS_REPLACED {
        0 => None,
        _ => {
            let len = take(&mut rest, 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
            let len = len.ok_or_else(|| bad("bad replaced record"))? as usize;
            Some(take(&mut rest, len).ok_or_else(|| bad("short replaced record"))?)
        }
    };
    Ok(Parts { kind, flags, version, at, record, space, form, actor, replaced, rest })
}

/// The stored record a write's event keeps, as it was before the write.
#[derive(Debug, PartialEq)]
pub(super) struct Replaced<'a> {
    pub(super) space: &'a str,
    pub(super) form: Option<&'a str>,
    /// The stored record value.
    pub(super) record: &'a [u8],
}

/// The stored record that the event under `key` replaced; `None` if it keeps none (or is a
/// JSON event). Reads no more of the event than that.
pub(super) fn replaced_record<'a>(key: &[u8], bytes: &'a [u8]) -> Result<Option<Replaced<'a>>, StoreError> {
    if bytes.first() != Some(&MARKER) {
        return Ok(None);
    }
    let parts = split(key, bytes)?;
    Ok(parts.replaced.map(|record| Replaced { space: parts.space, form: parts.form, record }))
}

/// Decodes the event stored under `key` (sequence number `seq`), in either format.
pub(super) fn decode(key: &[u8], seq: u64, bytes: &[u8]) -> Result<Stored, StoreError> {
    if bytes.first() != Some(&MARKER) {
        let mut event: Event = from_json(bytes).map_err(|err| corrupt(key, &err.to_string()))?;
        event.seq = seq;
        return Ok(Stored { event, after_is_record: false });
    }
    let bad = |reason: &str| corrupt(key, reason);
    let Parts { kind, flags, version, at, record, space, form, actor, replaced, rest } = split(key, bytes)?;
    let space = SpaceName::parse(space).map_err(|err| bad(&err.to_string()))?;
    let form = form.map(FormName::parse).transpose().map_err(|err| bad(&err.to_string()))?;
    let before = replaced.map(|replaced| decode_record_data(key, replaced)).transpose()?;
    let extra: Rest =
        if flags & HAS_REST != 0 { from_json(rest).map_err(|err| bad(&err.to_string()))? } else { Rest::default() };
    let event = Event {
        seq,
        space,
        form,
        record,
        kind,
        version,
        before: before.or(extra.before),
        after: extra.after,
        actor: Actor(actor.to_owned()),
        at,
        cause: extra.cause,
        timer: extra.timer,
        hook: extra.hook,
        payload: extra.payload,
        skip_workflows: flags & SKIP_WORKFLOWS != 0,
    };
    Ok(Stored { event, after_is_record: flags & AFTER_IS_RECORD != 0 })
}

/// The event stored under `key` without its record data: `before` and `after` are left out,
/// and so are the cause and payload, except that the timer of a timer's event and the hook of
/// an inbound one are read. Enough to tell whether an event triggers anything, without
/// decoding the record a write replaced, which [`decode`] turns into `before`.
pub(super) fn decode_head(key: &[u8], seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
    if bytes.first() != Some(&MARKER) {
        return decode(key, seq, bytes).map(|stored| stored.event);
    }
    let bad = |reason: &str| corrupt(key, reason);
    let Parts { kind, flags, version, at, record, space, form, actor, replaced: _, rest } = split(key, bytes)?;
    let (timer, hook) = match kind {
        EventKind::TimerFired | EventKind::SlaBreached | EventKind::Inbound if flags & HAS_REST != 0 => {
            let extra: Rest = from_json(rest).map_err(|err| bad(&err.to_string()))?;
            (extra.timer, extra.hook)
        }
        _ => (None, None),
    };
    Ok(Event {
        seq,
        space: SpaceName::parse(space).map_err(|err| bad(&err.to_string()))?,
        form: form.map(FormName::parse).transpose().map_err(|err| bad(&err.to_string()))?,
        record,
        kind,
        version,
        before: None,
        after: None,
        actor: Actor(actor.to_owned()),
        at,
        cause: None,
        timer,
        hook,
        payload: None,
        skip_workflows: flags & SKIP_WORKFLOWS != 0,
    })
}

fn too_long() -> StoreError {
    StoreError::Corrupt { key: "event".into(), reason: "a name or record too long to store".into() }
}

fn push_str(bytes: &mut Vec<u8>, text: &str) -> Result<(), StoreError> {
    let len = u16::try_from(text.len()).map_err(|_| too_long())?;
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(text.as_bytes());
    Ok(())
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn take_str<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let len = take(rest, 2).and_then(|b| b.try_into().ok()).map(u16::from_be_bytes)?;
    std::str::from_utf8(take(rest, len as usize)?).ok()
}

/// The stored code of an event kind (never reused: stored events keep it).
fn kind_code(kind: EventKind) -> u8 {
    match kind {
        EventKind::Created => 1,
        EventKind::Updated => 2,
        EventKind::Deleted => 3,
        EventKind::StageChanged => 4,
        EventKind::Manual => 5,
        EventKind::TimerFired => 6,
        EventKind::SlaBreached => 7,
        EventKind::Inbound => 8,
    }
}

fn kind_of(code: u8) -> Option<EventKind> {
    Some(match code {
        1 => EventKind::Created,
        2 => EventKind::Updated,
        3 => EventKind::Deleted,
        4 => EventKind::StageChanged,
        5 => EventKind::Manual,
        6 => EventKind::TimerFired,
        7 => EventKind::SlaBreached,
        8 => EventKind::Inbound,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::kv_backend::encode_record;

    fn event() -> Event {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 123_456_789).expect("instant");
        let mut event = Event::bare(SpaceName::parse("cs").expect("space"), EventKind::Updated, Actor::system(), at);
        event.seq = 7;
        event.form = Some(FormName::parse("account").expect("form"));
        event.record = Uuid::now_v7();
        event.version = 3;
        event.after = Some(json!({ "name": "new" }));
        event.cause = Some(Cause { run: Uuid::now_v7(), chain: vec!["w".into()], budget: Some(12) });
        event
    }

    /// The stored record `event`'s write replaced, at version 2 with `{ "name": "old" }`.
    fn replaced_by(event: &Event) -> Vec<u8> {
        encode_record(&crate::model::Record {
            id: event.record,
            form: FormName::parse("account").expect("form"),
            version: 2,
            form_version: 1,
            data: json!({ "name": "old" }),
            stage: None,
            created_at: event.at,
            created_by: Actor::system(),
            updated_at: event.at,
            updated_by: Actor::system(),
        })
        .expect("record")
    }

    /// Every field comes back; a referenced `after` is left out and flagged; the replaced
    /// record's bytes come back as `before`.
    #[test]
    fn events_round_trip() {
        let mut full = event();
        full.before = Some(json!({ "name": "old" }));
        full.skip_workflows = true;
        let decoded = decode(b"e", 7, &encode(&full, false, None).expect("encode")).expect("decode");
        assert_eq!(decoded.event, full);
        assert!(!decoded.after_is_record);

        let stored = replaced_by(&full);
        let bytes = encode(&full, true, Some(&stored)).expect("encode");
        let decoded = decode(b"e", 7, &bytes).expect("decode");
        assert!(decoded.after_is_record);
        assert_eq!(decoded.event.after, None, "left for the reader to look up");
        assert_eq!(decoded.event.before, Some(json!({ "name": "old" })));
        assert_eq!(Event { after: full.after.clone(), ..decoded.event }, full);
        let found = replaced_record(b"e", &bytes).expect("read");
        let expected = Replaced { space: "cs", form: Some("account"), record: stored.as_slice() };
        assert_eq!(found, Some(expected), "found without decoding the rest");
        assert_eq!(replaced_record(b"e", &encode(&full, true, None).expect("encode")).expect("read"), None);
    }

    /// An event's head has what tells whether it triggers anything, and none of its record
    /// data: not the record it replaced, not a given `before` or `after`, no cause or payload.
    /// A timer's event keeps its timer and an inbound one its hook.
    #[test]
    fn an_events_head_leaves_out_its_record_data() {
        let mut full = event();
        full.before = Some(json!({ "name": "old" }));
        full.payload = Some(json!({ "big": "payload" }));
        full.skip_workflows = true;
        let bare = Event { before: None, after: None, cause: None, payload: None, ..full.clone() };
        let stored = replaced_by(&full);
        for bytes in [encode(&full, false, None), encode(&full, true, Some(&stored))] {
            assert_eq!(decode_head(b"e", 7, &bytes.expect("encode")).expect("head"), bare);
        }

        let timer = FiredTimer {
            id: Uuid::now_v7(),
            workflow: Some(forms::WorkflowName::parse("remind").expect("name")),
            workflow_version: Some(2),
            due: full.at,
            spec: "renewal_date - 30d".into(),
            late: false,
        };
        let fired = Event { kind: EventKind::TimerFired, timer: Some(timer), ..full.clone() };
        let head = decode_head(b"e", 7, &encode(&fired, false, None).expect("encode")).expect("head");
        assert_eq!((head.timer, head.before), (fired.timer, None));
        let inbound = Event { kind: EventKind::Inbound, hook: Some("stripe".into()), ..full };
        let head = decode_head(b"e", 7, &encode(&inbound, false, None).expect("encode")).expect("head");
        assert_eq!((head.hook.as_deref(), head.payload), (Some("stripe"), None));
    }

    /// Events written before format 3 (JSON) are still read.
    #[test]
    fn json_events_are_read() {
        let full = event();
        let decoded = decode(b"e", 7, &serde_json::to_vec(&full).expect("json")).expect("decode");
        assert_eq!(decoded.event, full);
    }

    /// Kinds keep their codes.
    #[test]
    fn kind_codes_round_trip() {
        for code in 1..=8 {
            assert_eq!(kind_of(code).map(kind_code), Some(code));
        }
        assert_eq!(kind_of(0), None);
    }
}
