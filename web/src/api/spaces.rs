//! `/api/v1/spaces`: create (empty, from a built-in template pack, or as a copy of another
//! space's definitions), list, get.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{Caller, JsonBody};
use super::AppState;
use crate::packs;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/spaces", get(list).post(create))
        .route("/api/v1/spaces/{space}", get(show).patch(update))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSpace {
    name: String,
    title: Option<String>,
    /// A built-in pack to install (`customer-success`).
    template: Option<String>,
    /// With `template`: also write the pack's sample records.
    #[serde(default)]
    sample_data: bool,
    /// A space whose definitions (not records) the new space starts with.
    from_space: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let new: NewSpace = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid space: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    let invalid = |path: &str, message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message.clone())
            .with_errors(vec![forms::FieldError::new(path, message)])
    };
    let actor = caller.actor();
    let space = match (new.template, new.from_space) {
        (Some(_), Some(_)) => return Err(invalid("/from_space", "give `template` or `from_space`, not both".into())),
        (None, Some(_)) | (None, None) if new.sample_data => {
            return Err(invalid("/sample_data", "`sample_data` comes with a `template`".into()))
        }
        (None, Some(from)) => state.engine.copy_space(&actor, &from, &new.name, new.title).await?,
        (None, None) => state.engine.create_space(&actor, &new.name, new.title).await?,
        (Some(template), None) => {
            let Some(pack) = packs::embedded(&template) else {
                let known = packs::embedded_names().join(", ");
                return Err(invalid("/template", format!("no template pack `{template}`; built in: {known}")));
            };
            let installed = packs::install_new(&state.engine, &actor, &pack, &new.name, new.title, new.sample_data)
                .await
                .map_err(|err| match err {
                    packs::InstallError::Engine(err) => ApiError::from(err),
                    packs::InstallError::Problems { problems } => {
                        let errors =
                            problems.iter().map(|p| forms::FieldError::new("/template", p.to_string())).collect();
                        ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "validation",
                            format!("template `{template}` could not be installed"),
                        )
                        .with_errors(errors)
                    }
                })?;
            installed.space
        }
    };
    let location = format!("/api/v1/spaces/{}", space.name);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(space)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceChange {
    title: Option<String>,
    timezone: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    Path(space): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let change: SpaceChange = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid space change: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    Ok(Json(state.engine.update_space(&space, change.title, change.timezone).await?))
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let spaces = state.engine.spaces()?;
    Ok(Json(json!({ "items": spaces, "next_cursor": null })))
}

async fn show(State(state): State<AppState>, Path(space): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.space(&space)?))
}
