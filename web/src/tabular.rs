//! The files people import and export: CSV (UTF-8 with or without a byte-order mark, or
//! GBK/GB18030 as Chinese spreadsheet tools save it), NDJSON, and XLSX workbooks.
//!
//! A file becomes a header row and a stream of [`Row`]s, each remembering its row number in the
//! file so a report can point at it. CSV and NDJSON are read as a stream from any `Read`, so
//! memory stays flat however large the file; XLSX is a zip whose sheet must be read whole (that
//! is how the format is built), so it is bounded by [`MAX_XLSX_BYTES`].
//!
//! What the cells mean is not decided here: `forms::FieldCoercer` turns cell text into field
//! values, and the engine stores them. Writing ([`TableWriter`], in `write`) goes the other way:
//! typed values out, as a spreadsheet tool opens them.

use std::io::{BufRead, BufReader, Cursor, Read};

use calamine::{Data, Reader as _, Xlsx};
use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde_json::{Map, Value};

/// The largest XLSX workbook read: it is decompressed in memory.
pub const MAX_XLSX_BYTES: usize = 64 * 1024 * 1024;

/// How many leading bytes decide whether a CSV file is UTF-8 or GBK.
const SNIFF_BYTES: usize = 64 * 1024;

/// The kinds of file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// An Excel workbook; its first sheet, with a header row.
    Xlsx,
}

impl FileFormat {
    /// The format a file's name, a declared media type or its first bytes say: a zip (XLSX) is
    /// known by its signature, NDJSON by a first character of `{`, anything else is CSV.
    pub fn detect(file_name: Option<&str>, media_type: Option<&str>, first_bytes: &[u8]) -> FileFormat {
        let extension = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, ext)| ext.to_ascii_lowercase());
        let media = media_type.map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase());
        match (extension.as_deref(), media.as_deref()) {
            (Some("xlsx"), _) | (_, Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")) => {
                FileFormat::Xlsx
            }
            (Some("ndjson" | "jsonl"), _) | (_, Some("application/x-ndjson" | "application/jsonl")) => {
                FileFormat::Ndjson
            }
            (Some("csv" | "tsv" | "txt"), _) | (_, Some("text/csv")) => FileFormat::Csv,
            _ if first_bytes.starts_with(b"PK\x03\x04") => FileFormat::Xlsx,
            _ if first_bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => FileFormat::Ndjson,
            _ => FileFormat::Csv,
        }
    }

    /// The format named by a user (`csv`, `ndjson`, `xlsx`).
    pub fn parse(name: &str) -> Result<FileFormat, TabularError> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Ok(FileFormat::Csv),
            "ndjson" | "jsonl" => Ok(FileFormat::Ndjson),
            "xlsx" => Ok(FileFormat::Xlsx),
            _ => Err(TabularError::UnknownFormat(name.to_owned())),
        }
    }
}

/// Why a file could not be read. Each names the row where it applies.
#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    /// A format name that is not csv, ndjson or xlsx.
    #[error("unknown file format `{0}`: use csv, ndjson or xlsx")]
    UnknownFormat(String),
    /// The file has no header row.
    #[error("the file is empty: the first row must name the columns")]
    Empty,
    /// A CSV row that can't be parsed (an unclosed quote, invalid text).
    #[error("row {row}: {message}")]
    Csv {
        /// The row (record) number in the file, 1 for the header.
        row: u64,
        /// What is wrong.
        message: String,
    },
    /// An NDJSON line that is not a JSON object.
    #[error("line {line}: {message}")]
    Ndjson {
        /// The line number in the file.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A workbook that can't be opened or has no sheet.
    #[error("the workbook can't be read: {0}")]
    Xlsx(String),
    /// A workbook larger than [`MAX_XLSX_BYTES`].
    #[error("the workbook is larger than {} MiB; save it as CSV to import it", MAX_XLSX_BYTES / (1024 * 1024))]
    XlsxTooLarge,
    /// Reading the underlying file or body failed.
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One data row of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Where it stands in the file, as a spreadsheet tool numbers it, the header being row 1:
    /// the CSV record (a quoted cell spanning lines is one row, as a spreadsheet shows it; blank
    /// lines are not rows), the NDJSON line, the XLSX sheet row.
    pub number: u64,
    /// Its cells.
    pub cells: Cells,
}

/// The cells of a row: text under the file's headers, or a JSON object for NDJSON, whose
/// values are typed already.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// One string per header (missing trailing cells are empty strings).
    Text(Vec<String>),
    /// The line's object.
    Json(Map<String, Value>),
}

/// An open file: its headers and its rows, read as they are asked for.
pub struct Table {
    /// Column names: the CSV or sheet header row; for NDJSON the keys of the first object, in
    /// order, followed by keys first seen later as rows are read.
    pub headers: Vec<String>,
    rows: Box<dyn Iterator<Item = Result<Row, TabularError>> + Send>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("headers", &self.headers).finish_non_exhaustive()
    }
}

impl Iterator for Table {
    type Item = Result<Row, TabularError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

impl Table {
    /// Opens `input` as `format`.
    pub fn open(format: FileFormat, input: impl Read + Send + 'static) -> Result<Table, TabularError> {
        match format {
            FileFormat::Csv => open_csv(input),
            FileFormat::Ndjson => open_ndjson(input),
            FileFormat::Xlsx => open_xlsx(input),
        }
    }
}

/// The encoding of a CSV file: a byte-order mark says so; otherwise UTF-8 when the first
/// [`SNIFF_BYTES`] are valid UTF-8 (a character cut at the end of the sample is allowed), else
/// GB18030, the superset of GBK that Chinese editions of spreadsheet tools save.
fn sniff_encoding(sample: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return encoding;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        Err(err) if err.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
    }
}

fn open_csv(input: impl Read + Send + 'static) -> Result<Table, TabularError> {
    let mut buffered = BufReader::with_capacity(SNIFF_BYTES, input);
    let encoding = sniff_encoding(buffered.fill_buf()?);
    let decoded: DecodeReaderBytes<_, Vec<u8>> =
        DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(buffered);
    let mut records = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(decoded).into_records();
    let header = match records.next() {
        None => return Err(TabularError::Empty),
        Some(Err(err)) => return Err(csv_error(err, 1)),
        Some(Ok(header)) => header,
    };
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(TabularError::Empty);
    }
    let width = headers.len();
    let rows = records.filter_map(move |record| match record {
        Err(err) => Some(Err(csv_error(err, 0))),
        Ok(record) => {
            // A blank line between rows is not a row with every field empty.
            if record.iter().all(|cell| cell.trim().is_empty()) {
                return None;
            }
            let number = record.position().map_or(0, |p| p.record() + 1);
            let mut cells: Vec<String> = record.iter().map(str::to_owned).collect();
            cells.resize(width.max(cells.len()), String::new());
            Some(Ok(Row { number, cells: Cells::Text(cells) }))
        }
    });
    Ok(Table { headers, rows: Box::new(rows) })
}

fn csv_error(err: csv::Error, fallback_row: u64) -> TabularError {
    let row = err.position().map_or(fallback_row, |p| p.record() + 1);
    let message = match err.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is neither UTF-8 nor GBK".to_owned(),
        csv::ErrorKind::Io(err) => err.to_string(),
        _ => "the row can't be read as CSV (an unclosed quote?)".to_owned(),
    };
    TabularError::Csv { row, message }
}

fn open_ndjson(input: impl Read + Send + 'static) -> Result<Table, TabularError> {
    let mut lines = BufReader::new(input).lines().enumerate().map(|(i, line)| (i as u64 + 1, line));
    // The first object sets the headers; the column mapping needs them before any row.
    let first = loop {
        match lines.next() {
            None => return Err(TabularError::Empty),
            Some((line, text)) => {
                let text = text?;
                if let Some(row) = ndjson_row(line, &text) {
                    break row?;
                }
            }
        }
    };
    let Cells::Json(first_object) = &first.cells else { unreachable!("ndjson rows hold objects") };
    let headers = first_object.keys().cloned().collect();
    let rest = lines.filter_map(|(line, text)| match text {
        Err(err) => Some(Err(TabularError::Io(err))),
        Ok(text) => ndjson_row(line, &text),
    });
    Ok(Table { headers, rows: Box::new(std::iter::once(Ok(first)).chain(rest)) })
}

fn ndjson_row(line: u64, text: &str) -> Option<Result<Row, TabularError>> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    Some(match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(Row { number: line, cells: Cells::Json(object) }),
        Ok(_) => Err(TabularError::Ndjson { line, message: "must be a JSON object".to_owned() }),
        Err(err) => Err(TabularError::Ndjson { line, message: format!("not JSON: {err}") }),
    })
}

fn open_xlsx(input: impl Read) -> Result<Table, TabularError> {
    let mut bytes = Vec::new();
    input.take(MAX_XLSX_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_XLSX_BYTES {
        return Err(TabularError::XlsxTooLarge);
    }
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| TabularError::Xlsx(e.to_string()))?;
    let sheet = workbook.sheet_names().first().cloned().ok_or_else(|| TabularError::Xlsx("it has no sheet".into()))?;
    let range = workbook.worksheet_range(&sheet).map_err(|e| TabularError::Xlsx(e.to_string()))?;
    // Sheet rows are numbered from the range's first row, which need not be row 1.
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let mut rows = range.rows().enumerate();
    let headers: Vec<String> = match rows.next() {
        Some((_, header)) => header.iter().map(|cell| cell_text(cell).trim().to_owned()).collect(),
        None => return Err(TabularError::Empty),
    };
    if headers.iter().all(String::is_empty) {
        return Err(TabularError::Empty);
    }
    let data: Vec<Row> = rows
        .filter(|(_, cells)| cells.iter().any(|cell| !cell_text(cell).trim().is_empty()))
        .map(|(i, cells)| Row {
            number: first_row + i as u64 + 1,
            cells: Cells::Text(cells.iter().map(cell_text).collect()),
        })
        .collect();
    Ok(Table { headers, rows: Box::new(data.into_iter().map(Ok)) })
}

/// A cell as text the coercer reads: numbers without a spurious `.0`, dates in ISO form (a
/// date at midnight as a bare date), booleans as `true`/`false`, errors as empty.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(text) => text.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().format("%Y-%m-%d").to_string(),
            Some(at) => at.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
    }
}

mod write;

pub use write::{ExportColumn, TableWriter, WriteError};

#[cfg(test)]
mod tests;
