//! `/api/v1/spaces/{space}/forms/{form}/views[/{view}]`: saved views of a form's records
//! (title, filter, sort, columns; personal or shared), checked against the form when saved.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::{FormName, SpaceName, ViewName};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{ApiPath, Caller, JsonBody};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/forms/{form}/views", get(list).post(create))
        .listed("/api/v1/spaces/{space}/forms/{form}/views/{view}", get(show).put(put).delete(delete))
}

fn location(space: &SpaceName, form: &FormName, view: &ViewName) -> String {
    format!("/api/v1/spaces/{space}/forms/{form}/views/{view}")
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
) -> Result<Json<Value>, ApiError> {
    let views = state.engine.views(&caller.actor(), &space, &form)?;
    Ok(Json(json!({ "items": views, "next_cursor": null })))
}

/// A POST names the view in its body, beside the definition.
#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    JsonBody(mut body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let Named { name } = serde_json::from_value(body.clone()).unwrap_or(Named { name: None });
    let refused = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("the view's name {message}"))
            .with_errors(vec![forms::FieldError::new("/name", message)])
    };
    let name = match name {
        Some(name) => ViewName::parse(&name).map_err(|err| refused(err.reason.to_owned()))?,
        None => return Err(refused("is required: a slug such as at-risk".into())),
    };
    if let Some(object) = body.as_object_mut() {
        object.remove("name");
    }
    let view = state.engine.create_view(&caller.actor(), &space, &form, &name, &body).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location(&space, &form, &view.name))], Json(view)))
}

async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, view)): ApiPath<(SpaceName, FormName, ViewName)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.view(&caller.actor(), &space, &form, &view)?))
}

async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, view)): ApiPath<(SpaceName, FormName, ViewName)>,
    JsonBody(mut body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    // A body read from GET or POST may carry its name; it must be the one in the path.
    if let Some(object) = body.as_object_mut() {
        match object.remove("name") {
            Some(serde_json::Value::String(name)) if name == view.as_str() => {}
            Some(other) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "the name is the one in the path",
                )
                .with_errors(vec![forms::FieldError::new("/name", format!("{other} is not `{view}`"))]))
            }
            None => {}
        }
    }
    let (stored, created) = state.engine.put_view(&caller.actor(), &space, &form, &view, &body).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, [(header::LOCATION, location(&space, &form, &stored.name))], Json(stored)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form, view)): ApiPath<(SpaceName, FormName, ViewName)>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.delete_view(&caller.actor(), &space, &form, &view).await?;
    Ok(StatusCode::NO_CONTENT)
}
