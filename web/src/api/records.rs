//! `/api/v1/spaces/{space}/forms/{form}/records`: the generic form API. The body of a create or
//! a patch is the record's data itself; responses are the record envelope with an `ETag`.

use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use engine::{FormName, ListQuery, Record, SpaceName};
use std::collections::BTreeMap;

use engine::people::PersonName;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::space_access;
use super::error::ApiError;
use super::extract::{etag, ApiPath, ApiQuery, Caller, IfMatch, JsonBody};
use super::{AppState, Routes as _};

/// Tells how a list was answered: `scan`, `index:<field>` or `index-order:<field>`.
pub(crate) const QUERY_PLAN_HEADER: HeaderName = HeaderName::from_static("tend-query-plan");

/// History page size when none is given, and its maximum.
const HISTORY_LIMIT: (usize, usize) = (100, 1000);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/forms/{form}/records", get(list).post(create))
        .listed("/api/v1/spaces/{space}/forms/{form}/records/{id}", get(show).patch(patch).delete(delete))
        .listed("/api/v1/spaces/{space}/forms/{form}/records/{id}/history", get(history))
        .listed("/api/v1/spaces/{space}/forms/{form}/records/{id}/transition", post(transition))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    filter: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// A record as the API answers it: the envelope with an `ETag`, and `people`, the names of
/// the users its person fields and actors hold, by user id.
fn answer(
    state: &AppState,
    space: &SpaceName,
    form: &FormName,
    status: StatusCode,
    record: Record,
) -> Result<Response, ApiError> {
    let people = state.engine.people_of(space, form, &[&record])?;
    let headers = [(header::ETAG, etag(record.version))];
    Ok((status, headers, Json(RecordAnswer { record, people })).into_response())
}

#[derive(Serialize)]
struct RecordAnswer {
    #[serde(flatten)]
    record: Record,
    people: BTreeMap<String, PersonName>,
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    JsonBody(data): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    let record = state.engine.create_record(&caller.actor(), &access, &space, &form, data).await?;
    let location = format!("/api/v1/spaces/{space}/forms/{form}/records/{}", record.id);
    Ok(([(header::LOCATION, location)], answer(&state, &space, &form, StatusCode::CREATED, record)?))
}

async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, id)): ApiPath<(SpaceName, FormName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    let record = state.engine.record(&access, &space, &form, &id)?;
    answer(&state, &space, &form, StatusCode::OK, record)
}

async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, id)): ApiPath<(SpaceName, FormName, String)>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    let record = state.engine.patch_record(&caller.actor(), &access, &space, &form, &id, &patch, if_match).await?;
    answer(&state, &space, &form, StatusCode::OK, record)
}

async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, id)): ApiPath<(SpaceName, FormName, String)>,
    IfMatch(if_match): IfMatch,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    state.engine.delete_record(&caller.actor(), &access, &space, &form, &id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transition {
    to: String,
}

async fn transition(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, id)): ApiPath<(SpaceName, FormName, String)>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let Transition { to } = serde_json::from_value(body).map_err(|err| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("expected {{\"to\": \"<stage>\"}}: {err}"),
        )
        .with_errors(vec![forms::FieldError::new("/to", err.to_string())])
    })?;
    let access = space_access(&state, &caller, &space)?;
    let record = state.engine.transition_record(&caller.actor(), &access, &space, &form, &id, &to, if_match).await?;
    answer(&state, &space, &form, StatusCode::OK, record)
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let query = ListQuery { filter: params.filter, sort: params.sort, limit: params.limit, cursor: params.cursor };
    let access = space_access(&state, &caller, &space)?;
    let page = state.engine.list_records(&access, &space, &form, &query)?;
    let people = state.engine.people_of(&space, &form, &page.items.iter().collect::<Vec<_>>())?;
    Ok((
        [(QUERY_PLAN_HEADER, page.plan.to_string())],
        Json(json!({ "items": page.items, "next_cursor": page.next_cursor, "people": people })),
    ))
}

async fn history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, id)): ApiPath<(SpaceName, FormName, String)>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = params.limit.unwrap_or(HISTORY_LIMIT.0);
    if !(1..=HISTORY_LIMIT.1).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {}", HISTORY_LIMIT.1)));
    }
    let after = params.cursor.as_deref().map(decode_seq_cursor).transpose()?.unwrap_or(0);
    let access = space_access(&state, &caller, &space)?;
    let mut events = state.engine.record_history(&access, &space, &form, &id, after, limit + 1)?;
    let next_cursor = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|event| encode_seq_cursor(event.seq))
    } else {
        None
    };
    Ok(Json(json!({ "items": events, "next_cursor": next_cursor })))
}

fn encode_seq_cursor(seq: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_seq_cursor(token: &str) -> Result<u64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("seq:")?.parse().ok())
        .ok_or_else(|| ApiError::bad_request("invalid cursor"))
}
