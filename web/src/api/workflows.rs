//! `/api/v1/spaces/{space}/workflows[/{name}]` (versioned definitions) and
//! `/api/v1/spaces/{space}/runs[/{id}]` (what they did).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::workflows::{DryRunInput, PutWorkflowOutcome, RunFilter, RunStatus};
use engine::{SpaceName, WorkflowName};
use serde::Deserialize;
use serde_json::json;

use super::access::space_access;
use super::error::ApiError;
use super::extract::{etag, ApiPath, ApiQuery, Caller, DefinitionIfMatch, JsonBody};
use super::{stored_definition, warnings, AppState, Routes as _, VersionParam};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/workflows", get(list))
        .listed("/api/v1/spaces/{space}/workflows/{name}", get(show).put(put).patch(patch))
        .listed("/api/v1/spaces/{space}/workflows/{name}/run", post(run_now))
        .listed("/api/v1/spaces/{space}/workflows/{name}/test", post(dry_run))
        .listed("/api/v1/spaces/{space}/runs", get(runs))
        .listed("/api/v1/spaces/{space}/runs/{id}", get(run))
        .listed("/api/v1/spaces/{space}/runs/{id}/retry", post(retry))
}

async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, name)): ApiPath<(SpaceName, WorkflowName)>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state
        .engine
        .put_workflow(&caller.actor(), &space, &name, &definition)
        .await
        .map_err(ApiError::storing("workflow definition"))?;
    Ok(stored_workflow(&state, &space, &name, outcome))
}

async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, name)): ApiPath<(SpaceName, WorkflowName)>,
    DefinitionIfMatch(expected): DefinitionIfMatch,
    JsonBody(merge): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state
        .engine
        .patch_workflow(&caller.actor(), &space, &name, &merge, expected)
        .await
        .map_err(ApiError::storing("workflow definition"))?;
    Ok(stored_workflow(&state, &space, &name, outcome))
}

/// The answer to a stored workflow: the version, with the `warnings` its definition raises.
fn stored_workflow(
    state: &AppState,
    space: &SpaceName,
    name: &WorkflowName,
    outcome: PutWorkflowOutcome,
) -> impl IntoResponse {
    let location = format!("/api/v1/spaces/{space}/workflows/{name}?version={}", outcome.workflow.version);
    let first = outcome.changed && outcome.workflow.version == 1;
    let definition = json!(outcome.workflow.definition);
    let warnings = warnings::for_workflow(&state.engine, space, &definition, state.mail);
    let mut body = json!(outcome.workflow);
    body["warnings"] = json!(warnings);
    stored_definition(first, location, body)
}

async fn show(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, WorkflowName)>,
    ApiQuery(params): ApiQuery<VersionParam>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = state.engine.workflow(&space, &name, params.version)?;
    Ok(([(header::ETAG, etag(u64::from(workflow.version)))], Json(workflow)))
}

async fn list(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.workflows(&space)?, "next_cursor": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunParams {
    workflow: Option<String>,
    status: Option<RunStatus>,
    record: Option<uuid::Uuid>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    limit: Option<usize>,
    cursor: Option<uuid::Uuid>,
}

async fn runs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(space): ApiPath<SpaceName>,
    ApiQuery(params): ApiQuery<RunParams>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let filter = RunFilter {
        workflow: params.workflow,
        status: params.status,
        record: params.record,
        since: params.since,
        until: params.until,
    };
    let access = space_access(&state, &caller, &space)?;
    let (items, more) = state.engine.runs(&access, &space, &filter, limit, params.cursor)?;
    let next_cursor = if more { items.last().map(|run| run.id.to_string()) } else { None };
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

async fn run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, id)): ApiPath<(SpaceName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    Ok(Json(state.engine.run(&access, &space, &id)?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunNow {
    record: Option<String>,
}

/// The body as `T`, or a 422 naming what is wrong with it.
fn parse_body<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid request body: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })
}

async fn run_now(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, name)): ApiPath<(SpaceName, WorkflowName)>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let RunNow { record } = parse_body(body)?;
    let access = space_access(&state, &caller, &space)?;
    let run = state.engine.run_workflow_now(&caller.actor(), &access, &space, &name, record.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

async fn dry_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, name)): ApiPath<(SpaceName, WorkflowName)>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let input: DryRunInput = parse_body(body)?;
    let access = space_access(&state, &caller, &space)?;
    Ok(Json(state.engine.test_workflow(&access, &space, &name, &input).await?))
}

async fn retry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, id)): ApiPath<(SpaceName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    Ok((StatusCode::CREATED, Json(state.engine.retry_run(&caller.actor(), &access, &space, &id).await?)))
}
