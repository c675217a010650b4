//! Imports: a CSV, NDJSON or XLSX file read row by row (`crate::tabular`), each row's cells
//! turned into record data (`forms::RowMapping`), and the rows stored by the engine's
//! [`engine::Importer`] a chunk at a time.
//!
//! [`run`] is blocking (the file is a `Read`): call it from a blocking task. The body of an
//! upload reaches it through [`ChannelReader`], fed by the request's stream, so a large CSV
//! or NDJSON file is never held whole in memory (an XLSX workbook is, by its format).
//!
//! An all-or-nothing import reads the file twice: first every row is checked (a dry run,
//! nothing stored) while the file is copied to an anonymous temporary file; only if every row
//! is valid is the copy read again and stored, chunk by chunk, undone if storing fails
//! (`engine::import`). So an invalid file stores nothing at all, and memory stays flat.

use std::io::{self, Read, Seek as _, Write as _};

use axum::body::Bytes;
use engine::{
    Access, Actor, Engine, EngineError, FormName, ImportMode, ImportOptions, ImportReport, ImportRow, RowError,
    SpaceName,
};
use forms::{CoerceOptions, ColumnMatch, MappingError};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::tabular::{Cells, FileFormat, Table, TabularError};

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The file's format.
    pub format: FileFormat,
    /// Column overrides: header → field, or `None` to leave the column out.
    pub overrides: Vec<(String, Option<String>)>,
    /// How cells are read.
    pub coerce: CoerceOptions,
    /// How rows are stored.
    pub options: ImportOptions,
}

/// What an import answers: the mapping it used and the engine's report.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// Each column of the file and the field it filled.
    pub columns: Vec<ColumnMatch>,
    /// What was stored and what was refused.
    #[serde(flatten)]
    pub report: ImportReport,
}

/// Why an import could not run (row problems are in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The engine refused it (unknown form, key not indexed...) or storing failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The file can't be read at all.
    #[error(transparent)]
    File(#[from] TabularError),
    /// Column overrides that can't apply.
    #[error("the column mapping can't be used")]
    Mapping(Vec<MappingError>),
    /// The copy of the file an all-or-nothing import reads twice could not be written or read.
    #[error("keeping a copy of the file to import: {0}")]
    Spool(#[source] io::Error),
}

/// Imports `input` into `form`. Blocking: run it on a blocking thread of a tokio runtime.
pub fn run(
    engine: &Engine,
    actor: &Actor,
    access: &Access,
    space: &SpaceName,
    form: &FormName,
    request: ImportRequest,
    input: impl Read + Send + 'static,
) -> Result<ImportOutcome, ImportError> {
    if request.options.mode != ImportMode::All || request.options.dry_run {
        return run_once(engine, actor, access, space, form, request, input);
    }
    let spool = tempfile::tempfile().map_err(ImportError::Spool)?;
    let copy = spool.try_clone().map_err(ImportError::Spool)?;
    let check =
        ImportRequest { options: ImportOptions { dry_run: true, ..request.options.clone() }, ..request.clone() };
    let mut checked = run_once(engine, actor, access, space, form, check, Tee { input, copy })?;
    if checked.report.failed > 0 {
        // As an all-or-nothing import with failed rows answers: nothing stored.
        let report = &mut checked.report;
        report.dry_run = false;
        (report.created, report.updated, report.unchanged) = (0, 0, 0);
        return Ok(checked);
    }
    let mut spool = spool;
    spool.rewind().map_err(ImportError::Spool)?;
    run_once(engine, actor, access, space, form, request, spool)
}

/// A reader that copies what it reads into a file.
struct Tee<R> {
    input: R,
    copy: std::fs::File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

fn run_once(
    engine: &Engine,
    actor: &Actor,
    access: &Access,
    space: &SpaceName,
    form: &FormName,
    request: ImportRequest,
    input: impl Read + Send + 'static,
) -> Result<ImportOutcome, ImportError> {
    let runtime = tokio::runtime::Handle::current();
    let loaded = engine.loaded_form(space, form)?;
    let mut table = Table::open(request.format, input)?;
    let mapping = loaded
        .compiled
        .row_mapping(&table.headers, &request.overrides, request.coerce)
        .map_err(ImportError::Mapping)?;
    let columns = mapping.columns().to_vec();
    let mut options = request.options;
    options.columns =
        columns.iter().filter_map(|c| c.field.as_ref().map(|field| (field.clone(), c.header.clone()))).collect();
    let mut importer = engine.importer(actor, access, space, form, options)?;
    for row in table.by_ref() {
        let row = match row {
            Ok(row) => {
                let data = match &row.cells {
                    Cells::Text(cells) => mapping.text_row(cells),
                    Cells::Json(object) => mapping.json_row(object),
                };
                let data = data.map_err(|errors| {
                    errors
                        .into_iter()
                        .map(|e| RowError {
                            row: row.number,
                            column: Some(e.column),
                            field: Some(format!("/{}", e.field)),
                            message: e.message,
                        })
                        .collect()
                });
                ImportRow { number: row.number, data }
            }
            // A row that is not CSV or JSON is that row's error; the next rows still count.
            Err(TabularError::Csv { row, message }) | Err(TabularError::Ndjson { line: row, message }) => {
                ImportRow { number: row, data: Err(vec![RowError { row, column: None, field: None, message }]) }
            }
            Err(err) => return Err(err.into()),
        };
        if importer.push(row) {
            runtime.block_on(importer.flush())?;
        }
    }
    let report = runtime.block_on(importer.finish())?;
    Ok(ImportOutcome { columns, report })
}

/// A `Read` over chunks sent through a channel (an upload's body, read by the async side).
pub struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    /// Reads what `chunks` receives until it closes.
    pub fn new(chunks: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Self { chunks, current: Bytes::new() }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
