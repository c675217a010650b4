//! Key layouts of the sled trees.
//!
//! Names are slugs (no NUL byte), so a NUL separator keeps prefixes unambiguous: the records of
//! space `a` never share a prefix with those of space `ab`. Numbers are big-endian so that byte
//! order is numeric order; record ids are the 16 raw bytes of a UUIDv7, so id order is creation
//! order.

use forms::{DashboardName, EndpointName, FormName, HookName, SpaceName, ViewName, WorkflowName};
use uuid::Uuid;

const SEP: u8 = 0;

/// Records, index entries, events and history share the `data` tree so that one atomic batch
/// covers a write; a leading byte keeps each kind in its own key range.
const RECORD: u8 = b'r';
const INDEX: u8 = b'i';
const EVENT: u8 = b'e';
const HISTORY: u8 = b'h';
const RUN: u8 = b'u';
const OUTBOX: u8 = b'o';
const CURSOR: u8 = b'c';
const ASSIGNMENT: u8 = b'a';
const TIMER: u8 = b't';
const TIMER_BY_OWNER: u8 = b'w';
const DUE: u8 = b'q';
const DELIVERY_BY_SPACE: u8 = b'p';
const INBOUND_RECEIPT: u8 = b'k';
const IMPORT_JOURNAL: u8 = b'j';

/// The key families of the `data` tree that an engine able to (fjall) keeps apart, each in a
/// partition named after it (`engines::Partitions` says why): the ones written most, and
/// mostly in key order.
pub(super) const DATA_FAMILIES: [(u8, &str); 5] =
    [(RECORD, "records"), (INDEX, "indexes"), (EVENT, "events"), (HISTORY, "history"), (RUN, "runs")];

/// A signed number as 8 bytes whose byte order is numeric order (sign bit flipped, big-endian).
fn ordered_i64(n: i64) -> [u8; 8] {
    ((n as u64) ^ (1 << 63)).to_be_bytes()
}

/// The inverse of [`ordered_i64`].
fn from_ordered_i64(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// `prefix` with a kind byte in front.
fn kind(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = vec![kind];
    key.extend(prefix(parts));
    key
}

/// Concatenates `parts`, each followed by the separator.
fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|part| part.len() + 1).sum::<usize>() + 24);
    for part in parts {
        key.extend_from_slice(part);
        key.push(SEP);
    }
    key
}

/// `defs`: `S\0{space}` → Space.
pub(super) fn space(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"S", space.as_str().as_bytes()])
}

/// `defs`: all spaces.
pub(super) fn spaces() -> Vec<u8> {
    prefix(&[b"S"])
}

/// `defs`: `F\0{space}\0` → every version of every form of a space.
pub(super) fn forms_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"F", space.as_str().as_bytes()])
}

/// `defs`: `F\0{space}\0{form}\0` → every version of one form.
pub(super) fn form_versions(space: &SpaceName, form: &FormName) -> Vec<u8> {
    prefix(&[b"F", space.as_str().as_bytes(), form.as_str().as_bytes()])
}

/// `defs`: `F\0{space}\0{form}\0{version: u32 BE}` → StoredForm.
pub(super) fn form_version(space: &SpaceName, form: &FormName, version: u32) -> Vec<u8> {
    let mut key = form_versions(space, form);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `key` as a person reads it in an error: a record's key as `record {space}/{form}/{id}`, an
/// event's as `event {seq}`, any other with its non-printable bytes escaped (`\x00`).
pub(super) fn printable(key: &[u8]) -> String {
    match key.split_first() {
        Some((&RECORD, rest)) if rest.len() > 16 => {
            let (names, id) = rest.split_at(rest.len() - 16);
            let mut parts = names.split(|&byte| byte == SEP);
            if let (Some(space), Some(form), Some(b""), None, Ok(id)) =
                (parts.next(), parts.next(), parts.next(), parts.next(), Uuid::from_slice(id))
            {
                if let (Ok(space), Ok(form)) = (std::str::from_utf8(space), std::str::from_utf8(form)) {
                    return format!("record {space}/{form}/{id}");
                }
            }
        }
        Some((&EVENT, seq)) => {
            if let Ok(seq) = <[u8; 8]>::try_from(seq) {
                return format!("event {}", u64::from_be_bytes(seq));
            }
        }
        _ => {}
    }
    key.escape_ascii().to_string()
}

/// `data`: `r{space}\0{form}\0` → all records of a form.
pub(super) fn records_of(space: &SpaceName, form: &FormName) -> Vec<u8> {
    kind(RECORD, &[space.as_str().as_bytes(), form.as_str().as_bytes()])
}

/// `data`: `r{space}\0{form}\0{id: 16 bytes}` → Record.
pub(super) fn record(space: &SpaceName, form: &FormName, id: &Uuid) -> Vec<u8> {
    let mut key = records_of(space, form);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `data`: `i{space}\0{form}\0{field}\0` → every entry of one index.
pub(super) fn index_of(space: &SpaceName, form: &FormName, field: &str) -> Vec<u8> {
    kind(INDEX, &[space.as_str().as_bytes(), form.as_str().as_bytes(), field.as_bytes()])
}

/// `data`: `i{space}\0{form}\0{field}\0{encoded value}{id: 16 bytes}` → empty. The value
/// encoding is prefix-free (see `query::encoding`), so the id is always the last 16 bytes.
pub(super) fn index_entry(space: &SpaceName, form: &FormName, field: &str, value: &[u8], id: &Uuid) -> Vec<u8> {
    let mut key = index_of(space, form, field);
    key.extend_from_slice(value);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `data`: `h{id: 16 bytes}` → that record's events (ids are unique across spaces and forms;
/// readers check the event's space and form).
pub(super) fn history_of(id: &Uuid) -> [u8; 17] {
    let mut key = [HISTORY; 17];
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// `data`: `h{id}{seq: u64 BE}` → empty; points at the event.
pub(super) fn history_entry(id: &Uuid, seq: u64) -> [u8; 25] {
    let mut key = [HISTORY; 25];
    key[1..17].copy_from_slice(id.as_bytes());
    key[17..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `data`: every history entry (format 2 entries too: `h{space}\0{form}\0{id}{seq}`).
pub(super) fn histories() -> [u8; 1] {
    [HISTORY]
}

/// `data`: `e{seq: u64 BE}` → the event (see `events`).
pub(super) fn event(seq: u64) -> [u8; 9] {
    let mut key = [EVENT; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `data`: every event.
pub(super) fn events() -> [u8; 1] {
    [EVENT]
}

/// `defs`: `W\0{space}\0` → every version of every workflow of a space.
pub(super) fn workflows_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"W", space.as_str().as_bytes()])
}

/// `defs`: `W\0{space}\0{workflow}\0{version: u32 BE}` → StoredWorkflow.
pub(super) fn workflow_version(space: &SpaceName, workflow: &WorkflowName, version: u32) -> Vec<u8> {
    let mut key = workflow_versions(space, workflow);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `defs`: `W\0{space}\0{workflow}\0` → every version of one workflow.
pub(super) fn workflow_versions(space: &SpaceName, workflow: &WorkflowName) -> Vec<u8> {
    prefix(&[b"W", space.as_str().as_bytes(), workflow.as_str().as_bytes()])
}

/// `defs`: `X\0{space}\0{source}\0{event kind}\0` → the workflows a kind of event on a
/// source (a form, or an inbound hook) triggers.
pub(super) fn triggers_of(space: &SpaceName, source: &str, kind: &str) -> Vec<u8> {
    prefix(&[b"X", space.as_str().as_bytes(), source.as_bytes(), kind.as_bytes()])
}

/// `defs`: `X\0{space}\0{form}\0{kind}\0{order: i64, sign-flipped BE}{workflow}` → version.
/// Keys sort by order, then name: the order in which workflows run on one event.
pub(super) fn trigger(space: &SpaceName, source: &str, kind: &str, order: i64, workflow: &WorkflowName) -> Vec<u8> {
    let mut key = triggers_of(space, source, kind);
    key.extend_from_slice(&ordered_i64(order));
    key.extend_from_slice(workflow.as_str().as_bytes());
    key
}

/// The workflow name at the end of a trigger key of `prefix_len` + 8 bytes of order.
pub(super) fn trigger_workflow(key: &[u8], prefix_len: usize) -> Option<&str> {
    std::str::from_utf8(key.get(prefix_len + 8..)?).ok()
}

/// `data`: `u{space}\0{run id}` → Run.
pub(super) fn run(space: &SpaceName, id: &Uuid) -> Vec<u8> {
    let mut key = runs_of(space);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `data`: every run of a space, oldest first.
pub(super) fn runs_of(space: &SpaceName) -> Vec<u8> {
    kind(RUN, &[space.as_str().as_bytes()])
}

/// `data`: `o{delivery id}` → Delivery (the outbox).
pub(super) fn delivery(id: &Uuid) -> Vec<u8> {
    let mut key = vec![OUTBOX];
    key.extend_from_slice(id.as_bytes());
    key
}

/// `data`: the whole outbox.
pub(super) fn delivery_prefix() -> [u8; 1] {
    [OUTBOX]
}

/// `data`: `p{space}\0` → every delivery of a space.
pub(super) fn deliveries_of(space: &SpaceName) -> Vec<u8> {
    kind(DELIVERY_BY_SPACE, &[space.as_str().as_bytes()])
}

/// `data`: `p{space}\0{delivery id: 16 bytes}` → empty: the space's outbox in id (creation)
/// order, so a space's deliveries are listed without reading other spaces' (format 2).
pub(super) fn space_delivery(space: &SpaceName, id: &Uuid) -> Vec<u8> {
    let mut key = deliveries_of(space);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `defs`: `V` → the storage format (u32 BE) the data dir is written in; absent before
/// format 2.
pub(super) fn format() -> &'static [u8] {
    b"V"
}

/// `data`: `q{group}\0{next attempt, µs since the epoch: u64 BE}{delivery id: 16 bytes}` →
/// empty. Only deliveries still to be sent have one; keyed by concurrency group (an endpoint,
/// a URL's host, email), then due time, so the delivery worker reads what is due for a group
/// with free capacity in time order and never reads a delivered row.
pub(super) fn due(group: &str, at_micros: u64, id: &Uuid) -> Vec<u8> {
    let mut key = due_of(group);
    key.extend_from_slice(&at_micros.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// `data`: the due entries of one concurrency group.
pub(super) fn due_of(group: &str) -> Vec<u8> {
    kind(DUE, &[group.as_bytes()])
}

/// `data`: every due entry.
pub(super) fn due_prefix() -> [u8; 1] {
    [DUE]
}

/// The (group, time, id) of a `due` key.
pub(super) fn parse_due(key: &[u8]) -> Option<(&str, u64, Uuid)> {
    let rest = key.get(1..)?;
    let sep = rest.iter().position(|b| *b == SEP)?;
    let group = std::str::from_utf8(&rest[..sep]).ok()?;
    let tail = rest.get(sep + 1..)?;
    let at: [u8; 8] = tail.get(..8)?.try_into().ok()?;
    let id = Uuid::from_slice(tail.get(8..24)?).ok()?;
    Some((group, u64::from_be_bytes(at), id))
}

/// `defs`: `E\0{space}\0{name}` → an outgoing webhook endpoint.
pub(super) fn endpoint(space: &SpaceName, name: &EndpointName) -> Vec<u8> {
    prefix(&[b"E", space.as_str().as_bytes(), name.as_str().as_bytes()])
}

/// `defs`: every endpoint of a space.
pub(super) fn endpoints_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"E", space.as_str().as_bytes()])
}

/// `defs`: `I\0{space}\0{name}` → an inbound hook.
pub(super) fn hook(space: &SpaceName, name: &HookName) -> Vec<u8> {
    prefix(&[b"I", space.as_str().as_bytes(), name.as_str().as_bytes()])
}

/// `defs`: every inbound hook of a space.
pub(super) fn hooks_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"I", space.as_str().as_bytes()])
}

/// `data`: `a{space}\0{workflow}\0{action index u32 BE}` → the next round-robin position (u64 BE).
pub(super) fn assignment(space: &SpaceName, workflow: &str, action: u32) -> Vec<u8> {
    let mut key = kind(ASSIGNMENT, &[space.as_str().as_bytes(), workflow.as_bytes()]);
    key.extend_from_slice(&action.to_be_bytes());
    key
}

/// `data`: `k{space}\0{hook}\0{message id}` → when the post was received (µs, u64 BE): the
/// message ids an inbound hook has taken, to refuse replays.
pub(super) fn inbound_receipt(space: &SpaceName, hook: &str, message_id: &str) -> Vec<u8> {
    let mut key = kind(INBOUND_RECEIPT, &[space.as_str().as_bytes(), hook.as_bytes()]);
    key.extend_from_slice(message_id.as_bytes());
    key
}

/// `data`: every inbound receipt.
pub(super) fn inbound_receipts() -> [u8; 1] {
    [INBOUND_RECEIPT]
}

/// The space, hook and message id of an inbound receipt's key.
pub(super) fn parse_inbound_receipt(key: &[u8]) -> Option<(&str, &str, &str)> {
    let mut parts = key.strip_prefix(&[INBOUND_RECEIPT])?.splitn(3, |byte| *byte == SEP);
    let space = std::str::from_utf8(parts.next()?).ok()?;
    let hook = std::str::from_utf8(parts.next()?).ok()?;
    let message_id = std::str::from_utf8(parts.next()?).ok()?;
    Some((space, hook, message_id))
}

/// `data`: `c{name}` → the position (u64 BE) a log reader has processed up to.
/// `data`: `j{import id}{chunk u32 BE}` → what undoes one stored chunk of an all-or-nothing import.
pub(super) fn import_journal(import: &Uuid, chunk: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(21);
    key.push(IMPORT_JOURNAL);
    key.extend_from_slice(import.as_bytes());
    key.extend_from_slice(&chunk.to_be_bytes());
    key
}

/// `data`: every import journal entry.
pub(super) fn import_journal_prefix() -> [u8; 1] {
    [IMPORT_JOURNAL]
}

pub(super) fn cursor(name: &str) -> Vec<u8> {
    kind(CURSOR, &[name.as_bytes()])
}

/// A timer's place in due order: due instant (microseconds, sign-flipped BE) ++ id.
pub(super) fn timer_position(due_micros: i64, id: &Uuid) -> [u8; 24] {
    let mut position = [0; 24];
    position[..8].copy_from_slice(&ordered_i64(due_micros));
    position[8..].copy_from_slice(id.as_bytes());
    position
}

/// The due instant (microseconds) of a timer position.
pub(super) fn position_due(position: &[u8]) -> Option<i64> {
    Some(from_ordered_i64(position.get(..8)?.try_into().ok()?))
}

/// `data`: `t{position}` → the timer's owner key: every pending timer, in due order (the
/// scheduler's queue).
pub(super) fn timer(position: &[u8]) -> Vec<u8> {
    let mut key = vec![TIMER];
    key.extend_from_slice(position);
    key
}

/// `data`: every pending timer.
pub(super) fn timers() -> [u8; 1] {
    [TIMER]
}

/// `data`: where the queue's timers due at or after `floor` begin (a timer floor: a due
/// instant in the queue's byte order, see [`timer_floor`]).
pub(super) fn timers_from(floor: u64) -> Vec<u8> {
    let mut key = vec![TIMER];
    key.extend_from_slice(&floor.to_be_bytes());
    key
}

/// The timer floor of a due instant (microseconds).
pub(super) fn timer_floor_of(due_micros: i64) -> u64 {
    u64::from_be_bytes(ordered_i64(due_micros))
}

/// The floor a queue key is at: its due instant in the queue's byte order; `None` for any
/// other key.
pub(super) fn timer_floor(key: &[u8]) -> Option<u64> {
    match key {
        [TIMER, due @ ..] => Some(u64::from_be_bytes(due.get(..8)?.try_into().ok()?)),
        _ => None,
    }
}

/// `data`: `w{space}\0` → the pending timers of a space, by owner.
pub(super) fn timer_owners_of(space: &SpaceName) -> Vec<u8> {
    kind(TIMER_BY_OWNER, &[space.as_str().as_bytes()])
}

/// The workflow part of an owner key under `timer_owners_of(space)` (whose length is
/// `space_prefix_len`): after the 16-byte record id, up to the separator.
pub(super) fn owner_workflow(owner_key: &[u8], space_prefix_len: usize) -> Option<&[u8]> {
    let rest = owner_key.get(space_prefix_len + 16..)?;
    let end = rest.iter().position(|b| *b == SEP)?;
    Some(&rest[..end])
}

/// `data`: `w{space}\0{record: 16 bytes}` → the pending timers of one record (the nil id for
/// timers about no record, such as cron schedules).
pub(super) fn timers_of_record(space: &SpaceName, record: &Uuid) -> Vec<u8> {
    let mut key = kind(TIMER_BY_OWNER, &[space.as_str().as_bytes()]);
    key.extend_from_slice(record.as_bytes());
    key
}

/// `data`: `w{space}\0{record}{workflow}\0` → one workflow's timers of one record.
pub(super) fn timers_of_owner(space: &SpaceName, record: &Uuid, workflow: &str) -> Vec<u8> {
    let mut key = timers_of_record(space, record);
    key.extend_from_slice(&prefix(&[workflow.as_bytes()]));
    key
}

/// `data`: `w{space}\0{record}{workflow}\0{spec}` → the timer's position ++ the timer. One
/// pending timer per owner: scheduling again replaces it.
pub(super) fn timer_owner(space: &SpaceName, record: &Uuid, workflow: &str, spec: &str) -> Vec<u8> {
    let mut key = timers_of_owner(space, record, workflow);
    key.extend_from_slice(spec.as_bytes());
    key
}

/// The parts of an owner key: space, record, workflow ("" for none), spec.
pub(super) fn parse_owner(owner: &[u8]) -> Option<(&str, Uuid, &str, &str)> {
    let rest = owner.strip_prefix(&[TIMER_BY_OWNER])?;
    let space_end = rest.iter().position(|b| *b == SEP)?;
    let space = std::str::from_utf8(&rest[..space_end]).ok()?;
    let rest = rest.get(space_end + 1..)?;
    let record = Uuid::from_slice(rest.get(..16)?).ok()?;
    let rest = &rest[16..];
    let workflow_end = rest.iter().position(|b| *b == SEP)?;
    let workflow = std::str::from_utf8(&rest[..workflow_end]).ok()?;
    let spec = std::str::from_utf8(&rest[workflow_end + 1..]).ok()?;
    Some((space, record, workflow, spec))
}

/// `auth`: `T\0{sha256 of the token, hex}` → TokenInfo.
pub(super) fn token(hash_hex: &str) -> Vec<u8> {
    prefix(&[b"T", hash_hex.as_bytes()])
}

/// `auth`: all tokens.
pub(super) fn tokens() -> Vec<u8> {
    prefix(&[b"T"])
}

/// `auth`: `s\0{sha256 of the session id, hex}\0` → Session.
pub(super) fn session(hash_hex: &str) -> Vec<u8> {
    prefix(&[b"s", hash_hex.as_bytes()])
}

/// `auth`: all sessions.
pub(super) fn sessions() -> Vec<u8> {
    prefix(&[b"s"])
}

/// `auth`: `L\0{sha256 of the link code, hex}\0` → SignInLink.
pub(super) fn sign_in_link(hash_hex: &str) -> Vec<u8> {
    prefix(&[b"L", hash_hex.as_bytes()])
}

/// `auth`: all sign-in links.
pub(super) fn sign_in_links() -> Vec<u8> {
    prefix(&[b"L"])
}

/// `auth`: `U\0{user id}\0` → User.
pub(super) fn user(id: &str) -> Vec<u8> {
    prefix(&[b"U", id.as_bytes()])
}

/// `auth`: all users.
pub(super) fn users() -> Vec<u8> {
    prefix(&[b"U"])
}

/// `auth`: `E\0{lower-cased email}\0` → user id (claims the email).
pub(super) fn user_email(email_key: &str) -> Vec<u8> {
    prefix(&[b"E", email_key.as_bytes()])
}

/// `auth`: `M\0{space}\0{user id}\0` → Membership.
pub(super) fn membership(space: &SpaceName, user_id: &str) -> Vec<u8> {
    prefix(&[b"M", space.as_str().as_bytes(), user_id.as_bytes()])
}

/// `auth`: the memberships of a space.
pub(super) fn members_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"M", space.as_str().as_bytes()])
}

/// `auth`: every membership.
pub(super) fn memberships() -> Vec<u8> {
    prefix(&[b"M"])
}

/// `auth`: `A\0{16 bytes of a UUIDv7}` → AuditEntry: time order is key order.
pub(super) fn audit_entry(id: &Uuid) -> Vec<u8> {
    let mut key = prefix(&[b"A"]);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `auth`: the audit log.
pub(super) fn audit_log() -> Vec<u8> {
    prefix(&[b"A"])
}

/// `defs`: `D\0{space}\0` → every version of every dashboard of a space.
pub(super) fn dashboards_of(space: &SpaceName) -> Vec<u8> {
    prefix(&[b"D", space.as_str().as_bytes()])
}

/// `defs`: `D\0{space}\0{dashboard}\0` → every version of one dashboard.
pub(super) fn dashboard_versions(space: &SpaceName, name: &DashboardName) -> Vec<u8> {
    prefix(&[b"D", space.as_str().as_bytes(), name.as_str().as_bytes()])
}

/// `defs`: `D\0{space}\0{dashboard}\0{version: u32 BE}` → StoredDashboard.
pub(super) fn dashboard_version(space: &SpaceName, name: &DashboardName, version: u32) -> Vec<u8> {
    let mut key = dashboard_versions(space, name);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `defs`: `G\0{space}\0{form}\0{view}\0` → StoredView (saved grid views; `V` is the format).
pub(super) fn view(space: &SpaceName, form: &FormName, name: &ViewName) -> Vec<u8> {
    prefix(&[b"G", space.as_str().as_bytes(), form.as_str().as_bytes(), name.as_str().as_bytes()])
}

/// `defs`: the views of a form.
pub(super) fn views_of(space: &SpaceName, form: &FormName) -> Vec<u8> {
    prefix(&[b"G", space.as_str().as_bytes(), form.as_str().as_bytes()])
}

/// The trailing 16-byte record id of a `records`, `index` or `history`-prefix key.
pub(super) fn trailing_id(key: &[u8]) -> Option<Uuid> {
    let start = key.len().checked_sub(16)?;
    Uuid::from_slice(&key[start..]).ok()
}

/// The trailing big-endian u64 of an `events` or `history` key.
pub(super) fn trailing_seq(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    let bytes: [u8; 8] = key[start..].try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The smallest key greater than every key starting with `prefix`, for exclusive range ends.
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // Only an all-0xFF prefix gets here; nothing sorts after it except longer keys.
    vec![u8::MAX; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_what_they_name_in_errors() {
        let (space, form) = (SpaceName::parse("cs").expect("name"), FormName::parse("account").expect("name"));
        let id = Uuid::from_u128(0x0192_3456_789a_7bcd_8ef0_1234_5678_9abc);
        assert_eq!(printable(&record(&space, &form, &id)), format!("record cs/account/{id}"));
        assert_eq!(printable(&event(42)), "event 42");
        assert_eq!(printable(&[INDEX, b'c', SEP, 0xFF]), "ic\\x00\\xff");
        assert_eq!(printable(&[RECORD, b'c', SEP, 1]), "rc\\x00\\x01");
    }
}
