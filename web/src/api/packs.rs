//! `/api/v1/packs` (the built-in template packs, for the gallery) and
//! `/api/v1/spaces/{space}/pack` (a space's definitions as a pack, zipped).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::SpaceName;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::ApiPath;
use super::{AppState, Routes as _};
use crate::packs;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/packs", get(list)).listed("/api/v1/spaces/{space}/pack", get(export))
}

async fn list() -> Json<Value> {
    let items: Vec<Value> =
        packs::embedded_names().iter().filter_map(|name| packs::embedded(name)).map(|pack| pack.summary()).collect();
    Json(json!({ "items": items, "next_cursor": null }))
}

async fn export(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    let pack = packs::export(&state.engine, &space)?;
    let zip = pack.to_zip().map_err(|err| ApiError::from(engine::EngineError::Internal(err.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.zip\"", pack.meta.name)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        zip,
    ))
}
