//! Writing records out as CSV, NDJSON or XLSX, a page at a time.
//!
//! CSV and NDJSON are produced as they are written, so an export streams: the caller takes the
//! bytes ready after each page ([`TableWriter::take_ready`]) and sends them. An XLSX workbook is
//! a zip that can only be closed at the end; its rows go to a temporary file as they come
//! (rust_xlsxwriter's constant-memory mode), so memory stays flat there too.

use chrono::Datelike as _;
use forms::FieldType;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use serde_json::{Map, Value};

use super::FileFormat;

/// A column of an export: the field (or system field) it shows and the type of its values.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportColumn {
    /// The field name, also the header: an export imports back unchanged.
    pub name: String,
    /// The type of its values, so an XLSX cell holds a number, a date or a boolean, not text.
    pub kind: FieldType,
}

/// A file being written.
pub struct TableWriter {
    columns: Vec<ExportColumn>,
    out: Out,
}

enum Out {
    Csv(csv::Writer<Vec<u8>>),
    Ndjson(Vec<u8>),
    Xlsx { workbook: Box<Workbook>, next_row: u32, date: Format, date_time: Format },
}

/// Why writing failed: only the XLSX writer's temporary files can.
#[derive(Debug, thiserror::Error)]
#[error("writing the workbook failed: {0}")]
pub struct WriteError(String);

impl From<XlsxError> for WriteError {
    fn from(err: XlsxError) -> Self {
        WriteError(err.to_string())
    }
}

/// Excel's limit on rows in a sheet.
const XLSX_MAX_ROWS: u32 = 1_048_576;

impl TableWriter {
    /// Starts a file of `columns` and writes its header row.
    ///
    /// CSV starts with a UTF-8 byte-order mark: without it, Excel opens UTF-8 as the machine's
    /// legacy code page and Chinese text turns to garbage; every other tool skips it.
    pub fn new(format: FileFormat, columns: Vec<ExportColumn>) -> Result<TableWriter, WriteError> {
        let out = match format {
            FileFormat::Csv => {
                let mut writer = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
                writer.write_record(columns.iter().map(|c| c.name.as_str())).map_err(csv_error)?;
                Out::Csv(writer)
            }
            FileFormat::Ndjson => Out::Ndjson(Vec::new()),
            FileFormat::Xlsx => {
                let mut workbook = Box::new(Workbook::new());
                let sheet = workbook.add_worksheet_with_constant_memory()?;
                let bold = Format::new().set_bold();
                for (col, column) in columns.iter().enumerate() {
                    sheet.write_string_with_format(0, column_index(col)?, &column.name, &bold)?;
                }
                let date = Format::new().set_num_format("yyyy-mm-dd");
                let date_time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
                Out::Xlsx { workbook, next_row: 1, date, date_time }
            }
        };
        Ok(TableWriter { columns, out })
    }

    /// Writes one row: `record` holds each column's value by name (absent or null: empty).
    pub fn write_row(&mut self, record: &Map<String, Value>) -> Result<(), WriteError> {
        match &mut self.out {
            Out::Csv(writer) => {
                let cells = self.columns.iter().map(|c| csv_cell(record.get(&c.name)));
                writer.write_record(cells).map_err(csv_error)
            }
            Out::Ndjson(buffer) => {
                let row: Map<String, Value> = self
                    .columns
                    .iter()
                    .filter_map(|c| record.get(&c.name).filter(|v| !v.is_null()).map(|v| (c.name.clone(), v.clone())))
                    .collect();
                serde_json::to_writer(&mut *buffer, &row).map_err(|e| WriteError(e.to_string()))?;
                buffer.push(b'\n');
                Ok(())
            }
            Out::Xlsx { workbook, next_row, date, date_time } => {
                if *next_row >= XLSX_MAX_ROWS {
                    return Err(WriteError(format!(
                        "a sheet holds at most {XLSX_MAX_ROWS} rows; export as CSV or narrow the filter"
                    )));
                }
                let sheet = workbook.worksheet_from_index(0)?;
                for (col, column) in self.columns.iter().enumerate() {
                    if let Some(value) = record.get(&column.name) {
                        write_xlsx_cell(sheet, *next_row, column_index(col)?, column.kind, value, date, date_time)?;
                    }
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    /// The bytes written so far and not yet taken: the next chunk of a streamed CSV or NDJSON
    /// file. Always empty for XLSX, which is whole only at [`finish`](Self::finish).
    pub fn take_ready(&mut self) -> Result<Vec<u8>, WriteError> {
        match &mut self.out {
            Out::Csv(writer) => {
                // The writer owns its buffer; a fresh one takes over for the next rows.
                let full = std::mem::replace(writer, csv::Writer::from_writer(Vec::new()));
                full.into_inner().map_err(|e| WriteError(e.error().to_string()))
            }
            Out::Ndjson(buffer) => Ok(std::mem::take(buffer)),
            Out::Xlsx { .. } => Ok(Vec::new()),
        }
    }

    /// The rest of the file.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        let ready = self.take_ready()?;
        match self.out {
            Out::Csv(_) | Out::Ndjson(_) => Ok(ready),
            Out::Xlsx { mut workbook, .. } => Ok(workbook.save_to_buffer()?),
        }
    }
}

fn csv_error(err: csv::Error) -> WriteError {
    WriteError(err.to_string())
}

fn column_index(col: usize) -> Result<u16, WriteError> {
    u16::try_from(col).map_err(|_| WriteError("too many columns for a sheet".to_owned()))
}

/// A value as CSV text. A string that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
/// tab or carriage return first) gets a leading `'`, OWASP's advice against CSV injection;
/// `forms::FieldCoercer` strips it again on import.
fn csv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) if starts_like_formula(text) => format!("'{text}"),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) if items.iter().all(|i| i.is_string() || i.is_number()) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
        }
        Some(other) => other.to_string(),
    }
}

fn starts_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn write_xlsx_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    kind: FieldType,
    value: &Value,
    date: &Format,
    date_time: &Format,
) -> Result<(), WriteError> {
    match (kind, value) {
        (_, Value::Null) => {}
        (_, Value::Bool(b)) => {
            sheet.write_boolean(row, col, *b)?;
        }
        (_, Value::Number(n)) => match n.as_f64() {
            Some(f) => {
                sheet.write_number(row, col, f)?;
            }
            None => {
                sheet.write_string(row, col, n.to_string())?;
            }
        },
        (FieldType::Date, Value::String(text)) => match excel_date(text) {
            Some(cell) => {
                sheet.write_datetime_with_format(row, col, &cell, date)?;
            }
            None => {
                sheet.write_string(row, col, text)?;
            }
        },
        (FieldType::DateTime, Value::String(text)) => match chrono::DateTime::parse_from_rfc3339(text) {
            // Sheets have no zones: the instant is written in UTC, as the API shows it.
            Ok(at) => {
                let at = at.naive_utc();
                let cell = ExcelDateTime::parse_from_str(&at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())?;
                sheet.write_datetime_with_format(row, col, &cell, date_time)?;
            }
            Err(_) => {
                sheet.write_string(row, col, text)?;
            }
        },
        (_, Value::String(text)) => {
            sheet.write_string(row, col, text)?;
        }
        (_, Value::Array(_) | Value::Object(_)) => {
            sheet.write_string(row, col, csv_cell(Some(value)))?;
        }
    }
    Ok(())
}

/// A `YYYY-MM-DD` date as Excel holds it; `None` for text that is not one, or a year Excel
/// can't show (before 1900), which is then written as text.
fn excel_date(text: &str) -> Option<ExcelDateTime> {
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let year = u16::try_from(day.year()).ok()?;
    // Month and day are at most 12 and 31.
    ExcelDateTime::from_ymd(year, day.month() as u8, day.day() as u8).ok()
}
