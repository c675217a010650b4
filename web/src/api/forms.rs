//! `/api/v1/spaces/{space}/forms[/{form}]`: versioned form definitions.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::{FormName, SpaceName};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{etag, ApiPath, ApiQuery, Caller, DefinitionIfMatch, JsonBody};
use super::{stored_definition, AppState, Routes as _, VersionParam};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/forms", get(list))
        .listed("/api/v1/spaces/{space}/forms/{form}", get(show).put(put).patch(patch))
        .listed("/api/v1/spaces/{space}/forms/{form}/evaluate", post(evaluate))
}

/// A draft definition and the data to try it on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluateBody {
    definition: Value,
    record: Value,
    /// An existing record's id, when `record` is that record's data.
    #[serde(default)]
    id: Option<String>,
}

async fn evaluate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let body: EvaluateBody = serde_json::from_value(body).map_err(|err| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("expected {{\"definition\": {{...}}, \"record\": {{...}}, \"id\"?: \"<record id>\"}}: {err}"),
        )
        .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    let evaluation = state
        .engine
        .evaluate_draft(&caller.actor(), &space, &form, &body.definition, body.record, body.id.as_deref())
        .await?;
    Ok(Json(evaluation))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutParams {
    #[serde(default)]
    force: bool,
}

async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<PutParams>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state.engine.put_form(&caller.actor(), &space, &form, &definition, params.force).await?;
    let location = format!("/api/v1/spaces/{space}/forms/{form}?version={}", outcome.form.version);
    Ok(stored_definition(outcome.changed && outcome.form.version == 1, location, outcome.form))
}

async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<PutParams>,
    DefinitionIfMatch(expected): DefinitionIfMatch,
    JsonBody(merge): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state.engine.patch_form(&caller.actor(), &space, &form, &merge, expected, params.force).await?;
    let location = format!("/api/v1/spaces/{space}/forms/{form}?version={}", outcome.form.version);
    Ok(stored_definition(false, location, outcome.form))
}

async fn show(
    State(state): State<AppState>,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<VersionParam>,
) -> Result<impl IntoResponse, ApiError> {
    let form = state.engine.form(&space, &form, params.version)?;
    Ok(([(header::ETAG, etag(u64::from(form.version)))], Json(form)))
}

async fn list(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    let forms = state.engine.forms(&space)?;
    Ok(Json(json!({ "items": forms, "next_cursor": null })))
}
