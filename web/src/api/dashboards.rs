//! `/api/v1/spaces/{space}/dashboards[/{dashboard}[/data]]`: versioned dashboard definitions
//! (checked against the space's forms when saved) and their widgets' numbers.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use engine::dashboards::DashboardFilters;
use engine::{DashboardName, SpaceName};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::space_access;
use super::error::ApiError;
use super::extract::{etag, ApiPath, ApiQuery, Caller, IfMatch, JsonBody};
use super::{AppState, Routes as _, VersionParam};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/dashboards", get(list).post(create))
        .listed("/api/v1/spaces/{space}/dashboards/{dashboard}", get(show).put(put).delete(delete))
        .listed("/api/v1/spaces/{space}/dashboards/{dashboard}/data", get(data).post(data_for))
}

fn location(space: &SpaceName, dashboard: &DashboardName, version: u32) -> String {
    format!("/api/v1/spaces/{space}/dashboards/{dashboard}?version={version}")
}

async fn list(State(state): State<AppState>, ApiPath(space): ApiPath<SpaceName>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "items": state.engine.dashboards(&space)?, "next_cursor": null })))
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(space): ApiPath<SpaceName>,
    JsonBody(mut body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let refused = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("the dashboard's name {message}"))
            .with_errors(vec![forms::FieldError::new("/name", message)])
    };
    let name = match body.as_object_mut().and_then(|object| object.remove("name")) {
        Some(Value::String(name)) => DashboardName::parse(&name).map_err(|err| refused(err.reason.to_owned()))?,
        _ => return Err(refused("is required: a slug such as cs-overview".into())),
    };
    let stored = state.engine.create_dashboard(&caller.actor(), &space, &name, &body).await?;
    let headers = [
        (header::LOCATION, location(&space, &stored.name, stored.version)),
        (header::ETAG, etag(stored.version.into())),
    ];
    Ok((StatusCode::CREATED, headers, Json(stored)))
}

async fn show(
    State(state): State<AppState>,
    ApiPath((space, dashboard)): ApiPath<(SpaceName, DashboardName)>,
    ApiQuery(params): ApiQuery<VersionParam>,
) -> Result<impl IntoResponse, ApiError> {
    let stored = state.engine.dashboard(&space, &dashboard, params.version)?;
    Ok(([(header::ETAG, etag(stored.version.into()))], Json(stored)))
}

async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, dashboard)): ApiPath<(SpaceName, DashboardName)>,
    IfMatch(if_match): IfMatch,
    JsonBody(mut body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    // A body read from GET may carry the stored envelope; PUT takes the definition itself.
    if let Some(definition) = body.get("definition").filter(|_| body.get("widgets").is_none()).cloned() {
        body = definition;
    }
    let outcome = state.engine.put_dashboard(&caller.actor(), &space, &dashboard, &body, if_match).await?;
    let stored = outcome.dashboard;
    let status = if outcome.changed && stored.version == 1 { StatusCode::CREATED } else { StatusCode::OK };
    let headers = [
        (header::LOCATION, location(&space, &stored.name, stored.version)),
        (header::ETAG, etag(stored.version.into())),
    ];
    Ok((status, headers, Json(stored)))
}

async fn delete(
    State(state): State<AppState>,
    ApiPath((space, dashboard)): ApiPath<(SpaceName, DashboardName)>,
    IfMatch(if_match): IfMatch,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.delete_dashboard(&space, &dashboard, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?from=&to=&owner=&team=`, or the same as a POST body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataParams {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    owner: Option<String>,
    team: Option<String>,
}

async fn data(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, dashboard)): ApiPath<(SpaceName, DashboardName)>,
    ApiQuery(params): ApiQuery<DataParams>,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    evaluate(&state, access, &space, &dashboard, params).await
}

async fn data_for(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, dashboard)): ApiPath<(SpaceName, DashboardName)>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let params: DataParams = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid request body: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    let access = space_access(&state, &caller, &space)?;
    evaluate(&state, access, &space, &dashboard, params).await
}

async fn evaluate(
    state: &AppState,
    access: engine::Access,
    space: &SpaceName,
    dashboard: &DashboardName,
    params: DataParams,
) -> Result<Json<Value>, ApiError> {
    let filters = DashboardFilters { from: params.from, to: params.to, owner: params.owner, team: params.team };
    let engine = state.engine.clone();
    let (space, dashboard) = (space.clone(), dashboard.clone());
    // Aggregates read every matching record; keep them off the async workers.
    let data = tokio::task::spawn_blocking(move || engine.dashboard_data(&access, &space, &dashboard, &filters))
        .await
        .map_err(|_| ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log"))??;
    Ok(Json(json!(data)))
}
