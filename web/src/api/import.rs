//! `POST /api/v1/spaces/{space}/forms/{form}/import`: a CSV, NDJSON or XLSX file as the body,
//! options in the query string; answers the column mapping used and the per-row report
//! (`crate::import` does the work). Its body limit is `[http] import_limit`, not the API's.

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use engine::{FormName, ImportMode, ImportOptions, SpaceName};
use forms::{CoerceOptions, FieldError};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Caller};
use super::{AppState, Routes as _};
use crate::import::{self, ChannelReader, ImportError, ImportOutcome, ImportRequest};
use crate::tabular::{FileFormat, TabularError};

/// Chunks of the body that may wait for the reader.
const CHUNKS_IN_FLIGHT: usize = 8;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/forms/{form}/import", post(upload))
}

/// The query string, read by hand: `map` repeats.
struct Params {
    format: Option<FileFormat>,
    overrides: Vec<(String, Option<String>)>,
    coerce: CoerceOptions,
    options: ImportOptions,
}

fn params(pairs: Vec<(String, String)>) -> Result<Params, ApiError> {
    let mut params = Params {
        format: None,
        overrides: Vec::new(),
        coerce: CoerceOptions::default(),
        options: ImportOptions::default(),
    };
    let mut errors = Vec::new();
    let flag = |value: &str| match value {
        "true" | "1" | "" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    };
    for (key, value) in pairs {
        let bad = |message: &str| FieldError::new(format!("/{key}"), message.to_owned());
        match key.as_str() {
            "format" => match FileFormat::parse(&value) {
                Ok(format) => params.format = Some(format),
                Err(err) => errors.push(bad(&err.to_string())),
            },
            "map" => match value.rsplit_once(':') {
                Some((column, field)) => {
                    params.overrides.push((column.to_owned(), (!field.is_empty()).then(|| field.to_owned())))
                }
                None => errors.push(bad("give `column:field` (or `column:` to leave the column out)")),
            },
            "ref" => match value.split_once(':') {
                Some((field, key_field)) => {
                    params.options.ref_keys.insert(field.to_owned(), key_field.to_owned());
                }
                None => errors.push(bad("give `field:key_field`, the referenced form's field to match")),
            },
            "key" => params.options.key = Some(value),
            "dry_run" => match flag(&value) {
                Some(on) => params.options.dry_run = on,
                None => errors.push(bad("true or false")),
            },
            "workflows" => match flag(&value) {
                Some(on) => params.options.workflows = on,
                None => errors.push(bad("true or false")),
            },
            "day_first" => match flag(&value) {
                Some(on) => params.coerce.day_first = on,
                None => errors.push(bad("true or false")),
            },
            "decimal_comma" => match flag(&value) {
                Some(on) => params.coerce.decimal_comma = on,
                None => errors.push(bad("true or false")),
            },
            "mode" => match value.as_str() {
                "all" => params.options.mode = ImportMode::All,
                "resumable" => params.options.mode = ImportMode::Resumable,
                _ => errors.push(bad("`all` or `resumable`")),
            },
            "start_row" => match value.parse() {
                Ok(row) => params.options.start_row = row,
                Err(_) => errors.push(bad("a row number")),
            },
            "timezone" => match value.parse() {
                Ok(zone) => params.coerce.timezone = zone,
                Err(_) => errors.push(bad("an IANA time zone such as Asia/Shanghai")),
            },
            _ => errors.push(bad("unknown parameter")),
        }
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(ApiError::bad_request("invalid import parameters").with_errors(errors))
    }
}

async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportOutcome>, ApiError> {
    let params = params(pairs)?;
    let mut stream = body.into_data_stream();
    let first = match stream.next().await {
        None => Bytes::new(),
        Some(chunk) => chunk.map_err(body_error)?,
    };
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = params.format.unwrap_or_else(|| FileFormat::detect(None, media_type, &first));
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        if sender.send(Ok(first)).await.is_err() {
            return;
        }
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| io::Error::other(err.to_string()));
            if sender.send(chunk).await.is_err() {
                return; // The import stopped reading.
            }
        }
    });
    let request = ImportRequest { format, overrides: params.overrides, coerce: params.coerce, options: params.options };
    let engine = state.engine.clone();
    let actor = caller.actor();
    let access = space_access(&state, &caller, &space)?;
    let outcome = tokio::task::spawn_blocking(move || {
        import::run(&engine, &actor, &access, &space, &form, request, ChannelReader::new(receiver))
    })
    .await
    .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", err.to_string()))?;
    outcome.map(Json).map_err(import_error)
}

fn body_error(err: axum::Error) -> ApiError {
    if err.to_string().contains("length limit") {
        ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE, "the file is larger than the import limit")
    } else {
        ApiError::bad_request(format!("reading the body failed: {err}"))
    }
}

fn import_error(err: ImportError) -> ApiError {
    match err {
        ImportError::Engine(err) => ApiError::from(err),
        ImportError::Mapping(errors) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", err_text(&errors)).with_errors(
                errors.into_iter().map(|e| FieldError::new(format!("/map/{}", e.column), e.message)).collect(),
            )
        }
        ImportError::File(TabularError::Io(err)) if err.to_string().contains("length limit") => {
            ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE, "the file is larger than the import limit")
        }
        ImportError::File(err) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", err.to_string())
            .with_errors(vec![FieldError::new("", err.to_string())]),
        ImportError::Spool(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", err.to_string()),
    }
}

fn err_text(errors: &[forms::MappingError]) -> String {
    format!("{} column mapping(s) can't be used", errors.len())
}
