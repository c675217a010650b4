//! `GET /api/v1/spaces/{space}/forms/{form}/export`: a form's records as a CSV, NDJSON or XLSX
//! file, filtered and sorted like a list, streamed (`crate::export` does the work).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use engine::{FormName, SpaceName};
use serde::Deserialize;

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Caller};
use super::{AppState, Routes as _};
use crate::export::{self, ExportError, ExportRequest};
use crate::tabular::FileFormat;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/forms/{form}/export", get(download))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportParams {
    filter: Option<String>,
    sort: Option<String>,
    format: Option<String>,
    /// Comma-separated column names.
    fields: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<impl IntoResponse, ApiError> {
    let format = match params.format.as_deref() {
        None => FileFormat::Csv,
        Some(name) => FileFormat::parse(name).map_err(|err| {
            ApiError::bad_request(err.to_string()).with_errors(vec![forms::FieldError::new("/format", err.to_string())])
        })?,
    };
    let fields =
        params.fields.map(|list| list.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect());
    let request = ExportRequest { filter: params.filter, sort: params.sort, format, fields };
    let access = space_access(&state, &caller, &space)?;
    let chunks =
        export::start(state.engine.clone(), access, space, form.clone(), request).map_err(|err| match err {
            ExportError::Engine(err) => ApiError::from(err),
            ExportError::UnknownFields(errors) => ApiError::bad_request("unknown export column(s)").with_errors(errors),
            ExportError::Write(err) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", err.to_string()),
        })?;
    let (media_type, extension) = export::media_type(format);
    let body = Body::from_stream(futures::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{form}.{extension}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    ))
}
