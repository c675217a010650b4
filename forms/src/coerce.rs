//! Turning what people type into spreadsheets into field values: the typed half of an import.
//!
//! A CSV or XLSX cell is text, written by a person or exported by another tool: `1,234.50`,
//! `¥12,000`, `2026/3/1`, `2026年3月1日`, `Yes`, `是`, `Enterprise` for the option `enterprise`.
//! [`CompiledForm::column_plan`] matches a file's header row to the form's fields (by name or by
//! title, forgiving case, spaces and punctuation), and [`FieldCoercer::coerce`] turns one cell
//! into the JSON value its field's schema wants, or says in one sentence why it can't. The
//! result still goes through [`CompiledForm::validate`]: coercion only fixes the *shape* of a
//! value, never whether it is allowed.
//!
//! References to other forms (`x-ref`) stay strings here: finding the record a natural key such
//! as an account's name points to needs storage, which this crate does not have.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::field::FieldType;
use crate::schema::CompiledForm;

/// The largest integer a JSON number (an IEEE double) holds exactly: 2^53.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// How to read the cells whose meaning depends on where the file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoerceOptions {
    /// Whether `03/04/2026` is the 3rd of April (day first, as in Europe and most of Asia) or
    /// March 4th (month first, as in the United States). Dates that only read one way (the
    /// 13th or later) are read that way whatever this says.
    pub day_first: bool,
    /// The zone of date-times written without an offset (`2026-03-01 09:30`).
    pub timezone: Tz,
    /// The decimal separator of numbers: `.` (`1,234.5`) or `,` (`1.234,5`).
    pub decimal_comma: bool,
}

impl Default for CoerceOptions {
    fn default() -> Self {
        Self { day_first: false, timezone: Tz::UTC, decimal_comma: false }
    }
}

/// One column of a file, matched (or not) to a field of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMatch {
    /// The header as it stands in the file.
    pub header: String,
    /// The field it fills, when one matched.
    pub field: Option<String>,
}

impl CompiledForm {
    /// Matches each header to a top-level field: by exact name first, then by name or title
    /// ignoring case, spaces, `_`, `-` and other punctuation. A field is matched at most once
    /// (the first header wins) and computed fields are never matched, since clients can't set
    /// them.
    pub fn column_plan<S: AsRef<str>>(&self, headers: &[S]) -> Vec<ColumnMatch> {
        let computed: Vec<&str> = self.def().computed.keys().map(String::as_str).collect();
        let candidates: Vec<(String, String, Option<String>)> = self
            .fields()
            .into_iter()
            .filter(|(name, _)| !computed.contains(&name.as_str()))
            .map(|(name, _)| {
                let title = self.property_schema(&name).and_then(|s| s.get("title")).and_then(Value::as_str);
                let folded = fold_label(&name);
                (name, folded, title.map(fold_label))
            })
            .collect();
        let headers: Vec<&str> = headers.iter().map(|h| h.as_ref().trim_start_matches('\u{feff}').trim()).collect();
        // Exact names first, over every header, so that `renewal_date` further right still
        // gets its field when `Renewal Date` comes before it.
        let mut found: Vec<Option<&str>> = headers
            .iter()
            .map(|header| candidates.iter().find(|(name, _, _)| name == header).map(|(name, _, _)| name.as_str()))
            .collect();
        let mut taken: Vec<&str> = Vec::new();
        for slot in found.iter_mut() {
            match slot {
                Some(name) if taken.contains(name) => *slot = None,
                Some(name) => taken.push(name),
                None => {}
            }
        }
        for (header, slot) in headers.iter().zip(found.iter_mut()) {
            let folded = fold_label(header);
            if slot.is_some() || folded.is_empty() {
                continue;
            }
            *slot = candidates
                .iter()
                .find(|(name, fname, ftitle)| {
                    !taken.contains(&name.as_str()) && (*fname == folded || ftitle.as_deref() == Some(folded.as_str()))
                })
                .map(|(name, _, _)| name.as_str());
            taken.extend(*slot);
        }
        headers
            .iter()
            .zip(found)
            .map(|(header, field)| ColumnMatch { header: (*header).to_owned(), field: field.map(str::to_owned) })
            .collect()
    }

    /// How to read cells of the top-level field `field`; `None` when the form has no such field.
    pub fn coercer(&self, field: &str) -> Option<FieldCoercer> {
        let schema = self.property_schema(field)?;
        Some(FieldCoercer::new(self, schema))
    }
}

/// A column the file's author asked to map (`--map column=field`) that can't be: the header is
/// not in the file, the field is not in the form, it is computed, or it is mapped twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingError {
    /// The header the override names.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// One cell that could not be read as its field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellError {
    /// The column's header.
    pub column: String,
    /// The field it fills.
    pub field: String,
    /// Why, in one sentence that does not quote the cell.
    pub message: String,
}

/// How the rows of one file become record data: each column's field and coercer.
#[derive(Debug, Clone)]
pub struct RowMapping {
    plan: Vec<ColumnMatch>,
    coercers: Vec<Option<FieldCoercer>>,
    /// Every field a column may fill, for NDJSON keys first seen after the first line.
    importable: Vec<(String, FieldCoercer)>,
    options: CoerceOptions,
}

impl CompiledForm {
    /// The mapping for a file with `headers`: [`column_plan`](Self::column_plan), then the
    /// caller's `overrides` (header → field, or `None` to leave the column out). Every override
    /// that can't apply is reported, not only the first.
    pub fn row_mapping<S: AsRef<str>>(
        &self,
        headers: &[S],
        overrides: &[(String, Option<String>)],
        options: CoerceOptions,
    ) -> Result<RowMapping, Vec<MappingError>> {
        let mut plan = self.column_plan(headers);
        let mut errors = Vec::new();
        for (column, field) in overrides {
            let Some(index) = plan.iter().position(|m| m.header == *column) else {
                errors.push(MappingError { column: column.clone(), message: "no column has this header".into() });
                continue;
            };
            if let Some(field) = field {
                if self.property_schema(field).is_none() {
                    errors.push(MappingError {
                        column: column.clone(),
                        message: format!("the form has no field `{field}`"),
                    });
                    continue;
                }
                if self.def().computed.contains_key(field) {
                    errors.push(MappingError {
                        column: column.clone(),
                        message: format!("`{field}` is computed and can't be imported"),
                    });
                    continue;
                }
                // The override takes the field from whichever column the automatic plan gave it.
                for other in plan.iter_mut() {
                    if other.field.as_deref() == Some(field.as_str()) {
                        other.field = None;
                    }
                }
            }
            plan[index].field = field.clone();
        }
        let mut seen: Vec<&str> = Vec::new();
        for (column, field) in overrides {
            if let Some(field) = field {
                if seen.contains(&field.as_str()) {
                    errors.push(MappingError { column: column.clone(), message: format!("`{field}` is mapped twice") });
                }
                seen.push(field);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let coercers = plan.iter().map(|m| m.field.as_deref().and_then(|f| self.coercer(f))).collect();
        let importable = self
            .fields()
            .into_iter()
            .filter(|(name, _)| !self.def().computed.contains_key(name))
            .filter_map(|(name, _)| self.coercer(&name).map(|c| (name, c)))
            .collect();
        Ok(RowMapping { plan, coercers, importable, options })
    }
}

impl RowMapping {
    /// Each column and the field it fills.
    pub fn columns(&self) -> &[ColumnMatch] {
        &self.plan
    }

    /// The fields that name records of other forms, with their columns: the caller turns
    /// their cells (ids or natural keys) into ids.
    pub fn reference_fields(&self) -> Vec<&str> {
        self.plan
            .iter()
            .zip(&self.coercers)
            .filter(|(_, coercer)| coercer.as_ref().is_some_and(FieldCoercer::is_reference))
            .filter_map(|(m, _)| m.field.as_deref())
            .collect()
    }

    /// Record data from a row of text cells (in header order). Unmapped columns and empty
    /// cells are left out; every cell that can't be read is reported.
    pub fn text_row(&self, cells: &[String]) -> Result<Map<String, Value>, Vec<CellError>> {
        let mut data = Map::new();
        let mut errors = Vec::new();
        for ((column, coercer), cell) in self.plan.iter().zip(&self.coercers).zip(cells) {
            let (Some(field), Some(coercer)) = (&column.field, coercer) else {
                continue;
            };
            match coercer.coerce(cell, &self.options) {
                Ok(Some(value)) => {
                    data.insert(field.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.push(CellError { column: column.header.clone(), field: field.clone(), message }),
            }
        }
        if errors.is_empty() {
            Ok(data)
        } else {
            Err(errors)
        }
    }

    /// Record data from a JSON object (an NDJSON line): keys are matched like headers (a key
    /// not among the file's first headers counts when it is a field's exact name); typed
    /// values are kept, and text in a field of another type is read like a cell.
    pub fn json_row(&self, object: &Map<String, Value>) -> Result<Map<String, Value>, Vec<CellError>> {
        let mut data = Map::new();
        let mut errors = Vec::new();
        for (key, value) in object {
            let target = match self.plan.iter().position(|m| m.header == *key) {
                Some(index) => self.plan[index].field.as_ref().zip(self.coercers[index].as_ref()),
                // A key the first line did not have: its field when it names one exactly, and no
                // column of the file fills that field already.
                None if !self.plan.iter().any(|m| m.field.as_deref() == Some(key.as_str())) => {
                    self.importable.iter().find(|(name, _)| name == key).map(|(name, coercer)| (name, coercer))
                }
                None => None,
            };
            let Some((field, coercer)) = target else {
                continue;
            };
            let read = match value {
                Value::Null => Ok(None),
                Value::String(text) if coercer.kind != Kind::Text => coercer.coerce(text, &self.options),
                other => Ok(Some(other.clone())),
            };
            match read {
                Ok(Some(value)) => {
                    data.insert(field.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.push(CellError { column: key.clone(), field: field.clone(), message }),
            }
        }
        if errors.is_empty() {
            Ok(data)
        } else {
            Err(errors)
        }
    }
}

/// How the cells of one field are read. Made once per column, used for every row.
#[derive(Debug, Clone)]
pub struct FieldCoercer {
    kind: Kind,
    /// For single and multi selects: each allowed value with the labels that also name it.
    options: Vec<SelectOption>,
    reference: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Integer,
    Boolean,
    Date,
    DateTime,
    /// A list; its items are read like a field of `item` kind.
    List(ItemKind),
    /// Objects and anything without a single type: the cell must be JSON.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Text,
    Number,
    Integer,
    Boolean,
    Date,
}

#[derive(Debug, Clone)]
struct SelectOption {
    value: Value,
    labels: Vec<String>,
}

impl FieldCoercer {
    fn new(form: &CompiledForm, schema: &Value) -> FieldCoercer {
        let kind = match form.schema_type(schema) {
            FieldType::String => Kind::Text,
            FieldType::Number => Kind::Number,
            FieldType::Integer => Kind::Integer,
            FieldType::Boolean => Kind::Boolean,
            FieldType::Date => Kind::Date,
            FieldType::DateTime => Kind::DateTime,
            FieldType::Array => {
                let items = form.schema_lookup(schema, "items");
                let item = match items.map(|items| form.schema_type(items)) {
                    Some(FieldType::Number) => ItemKind::Number,
                    Some(FieldType::Integer) => ItemKind::Integer,
                    Some(FieldType::Boolean) => ItemKind::Boolean,
                    Some(FieldType::Date) => ItemKind::Date,
                    _ => ItemKind::Text,
                };
                Kind::List(item)
            }
            FieldType::Object | FieldType::Any => Kind::Json,
        };
        let option_source = match kind {
            Kind::List(_) => form.schema_lookup(schema, "items"),
            _ => Some(schema),
        };
        let options = option_source.map(|s| select_options(form, s)).unwrap_or_default();
        let reference = form.schema_lookup(schema, "x-ref").is_some();
        FieldCoercer { kind, options, reference }
    }

    /// Whether the field names a record of another form (`x-ref`): its cells are natural keys or
    /// ids that the caller resolves.
    pub fn is_reference(&self) -> bool {
        self.reference
    }

    /// Reads one cell. `Ok(None)` for an empty cell (the field is left out); `Err` says in one
    /// sentence what the cell should have looked like, without quoting it.
    pub fn coerce(&self, raw: &str, options: &CoerceOptions) -> Result<Option<Value>, String> {
        let cell = normalize_width(raw.trim());
        if cell.is_empty() {
            return Ok(None);
        }
        let value = match self.kind {
            Kind::Text if !self.options.is_empty() => self.option(&cell)?,
            Kind::Text => Value::String(without_formula_guard(cell)),
            Kind::Number => Value::Number(parse_number(&cell, options)?),
            Kind::Integer => Value::Number(parse_integer(&cell, options)?),
            Kind::Boolean => Value::Bool(parse_bool(&cell)?),
            Kind::Date => Value::String(parse_date(&cell, options)?.format("%Y-%m-%d").to_string()),
            // As the API writes instants (`Z`, not `+00:00`), so an exported value imports back equal.
            Kind::DateTime => {
                Value::String(parse_date_time(&cell, options)?.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Kind::List(item) => Value::Array(self.list(&cell, item, options)?),
            Kind::Json => serde_json::from_str(&cell).map_err(|_| "must be JSON (an object or a value)".to_owned())?,
        };
        Ok(Some(value))
    }

    fn list(&self, cell: &str, item: ItemKind, options: &CoerceOptions) -> Result<Vec<Value>, String> {
        if cell.starts_with('[') {
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(cell) {
                return Ok(items);
            }
        }
        // Spreadsheet tools join multi-select values with commas, semicolons, the Chinese
        // enumeration comma or pipes; a number list with a decimal comma can only use `;`.
        let separators: &[char] = if item_is_numeric(item) && options.decimal_comma {
            &[';', '|', '、', '；']
        } else {
            &[',', ';', '|', '、', '，', '；']
        };
        cell.split(separators)
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| match item {
                ItemKind::Text if !self.options.is_empty() => self.option(part),
                ItemKind::Text => Ok(Value::String(part.to_owned())),
                ItemKind::Number => parse_number(part, options).map(Value::Number),
                ItemKind::Integer => parse_integer(part, options).map(Value::Number),
                ItemKind::Boolean => parse_bool(part).map(Value::Bool),
                ItemKind::Date => parse_date(part, options).map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
            })
            .collect()
    }

    fn option(&self, cell: &str) -> Result<Value, String> {
        let folded = fold_label(cell);
        let exact = self.options.iter().find(|o| o.value.as_str() == Some(cell));
        exact.or_else(|| self.options.iter().find(|o| o.labels.contains(&folded))).map(|o| o.value.clone()).ok_or_else(
            || {
                let allowed: Vec<String> = self
                    .options
                    .iter()
                    .map(|o| o.value.as_str().map_or_else(|| o.value.to_string(), str::to_owned))
                    .collect();
                format!("must be one of: {}", allowed.join(", "))
            },
        )
    }
}

/// Exports put a `'` before text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`:
/// OWASP's advice against CSV injection); reading it back takes the guard off again.
fn without_formula_guard(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
        _ => cell,
    }
}

fn item_is_numeric(item: ItemKind) -> bool {
    matches!(item, ItemKind::Number | ItemKind::Integer)
}

/// The options of a select: `enum` values (named by themselves), or `oneOf`/`anyOf` entries of
/// `{const, title}` (named by value and title), which is how JSON Schema labels an enum.
fn select_options(form: &CompiledForm, schema: &Value) -> Vec<SelectOption> {
    if let Some(Value::Array(values)) = form.schema_lookup(schema, "enum") {
        return values
            .iter()
            .map(|value| SelectOption {
                labels: value.as_str().map(fold_label).into_iter().collect(),
                value: value.clone(),
            })
            .collect();
    }
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|key| form.schema_lookup(schema, key).and_then(Value::as_array))
        .flatten()
        .filter_map(|entry| {
            let value = entry.get("const")?.clone();
            let mut labels: Vec<String> = value.as_str().map(fold_label).into_iter().collect();
            labels.extend(entry.get("title").and_then(Value::as_str).map(fold_label));
            Some(SelectOption { value, labels })
        })
        .collect()
}

/// Lowercase, without spaces, `_`, `-` and punctuation: how a header or a label is compared.
fn fold_label(label: &str) -> String {
    label.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Full-width digits, letters and signs (what Chinese and Japanese input methods often type:
/// `１２３`, `－`, `．`) become their ASCII forms; everything else is kept.
fn normalize_width(cell: &str) -> String {
    cell.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

fn parse_number(cell: &str, options: &CoerceOptions) -> Result<Number, String> {
    let message =
        if options.decimal_comma { "must be a number, such as 1.234,5" } else { "must be a number, such as 1,234.5" };
    let value = read_number(cell, options).ok_or_else(|| message.to_owned())?;
    Number::from_f64(value).ok_or_else(|| message.to_owned())
}

fn parse_integer(cell: &str, options: &CoerceOptions) -> Result<Number, String> {
    let value = read_number(cell, options).ok_or_else(|| "must be a whole number".to_owned())?;
    if value.fract() != 0.0 {
        return Err("must be a whole number".to_owned());
    }
    if value.abs() > MAX_EXACT_INTEGER {
        return Err("is too large to be stored exactly (at most 2^53)".to_owned());
    }
    // In range and whole, so the conversion is exact.
    Ok(Number::from(value as i64))
}

/// Reads `1,234.50`, `$1,234.50`, `-¥12 000`, `(300)` (accounting negatives), `12%` and
/// `1.234,5` (with `decimal_comma`). A percent sign is dropped, not divided by: a percent field
/// holds `12` for `12%`, as the admin typed it.
fn read_number(cell: &str, options: &CoerceOptions) -> Option<f64> {
    let mut text = cell.trim();
    let mut negative = false;
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        negative = true;
        text = inner.trim();
    }
    if let Some(rest) = text.strip_prefix('-') {
        negative = !negative;
        text = rest.trim_start();
    } else if let Some(rest) = text.strip_prefix('+') {
        text = rest.trim_start();
    }
    let text = text.trim_start_matches(['$', '€', '£', '¥', '￥', '₹', '₩']).trim();
    let text = text.strip_suffix('%').unwrap_or(text).trim_end();
    let text = text.trim_end_matches(['元', '円']).trim_end();
    let (group, decimal) = if options.decimal_comma { ('.', ',') } else { (',', '.') };
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '0'..='9' | 'e' | 'E' => plain.push(c),
            '-' | '+' if plain.ends_with(['e', 'E']) => plain.push(c),
            c if c == decimal => plain.push('.'),
            c if c == group || c == ' ' || c == '\u{a0}' || c == '\'' || c == '_' => {}
            _ => return None,
        }
    }
    if !plain.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

fn parse_bool(cell: &str) -> Result<bool, String> {
    match fold_label(cell).as_str() {
        "true" | "yes" | "y" | "1" | "on" | "x" | "是" | "对" | "真" | "有" => Ok(true),
        "false" | "no" | "n" | "0" | "off" | "否" | "不是" | "错" | "假" | "无" => Ok(false),
        _ if matches!(cell, "✓" | "✔" | "☑") => Ok(true),
        _ if matches!(cell, "✗" | "✘" | "☐") => Ok(false),
        _ => Err("must be yes or no (true/false, 是/否)".to_owned()),
    }
}

const DATE_MESSAGE: &str = "must be a date, such as 2026-03-31";

/// Dates as spreadsheets write them: ISO (`2026-03-01`, `2026/3/1`, `2026.3.1`), Chinese
/// (`2026年3月1日`), numeric day/month orders (`01/03/2026`, by [`CoerceOptions::day_first`]
/// unless only one order is a real date), English month names (`1 Mar 2026`, `March 1, 2026`),
/// and a date-time at midnight (what some tools export for a date).
fn parse_date(cell: &str, options: &CoerceOptions) -> Result<NaiveDate, String> {
    let cell = cell.trim();
    if let Some(date) = chinese_date(cell) {
        return Ok(date);
    }
    let date_part = cell.split(['T', ' ']).next().unwrap_or(cell);
    let numbers: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    if numbers.len() == 3 && numbers.iter().all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
        let rest = &cell[date_part.len()..];
        if !rest.is_empty() && !is_midnight(rest.trim_start_matches(['T', ' '])) {
            return Err("must be a date without a time of day".to_owned());
        }
        let [a, b, c] = [numbers[0], numbers[1], numbers[2]].map(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        if numbers[0].len() == 4 {
            return ymd(a as i32, b, c).ok_or_else(|| DATE_MESSAGE.to_owned());
        }
        if numbers[2].len() == 4 || numbers[2].len() == 2 {
            let year = if numbers[2].len() == 2 { 2000 + c as i32 } else { c as i32 };
            let day_first = ymd(year, b, a);
            let month_first = ymd(year, a, b);
            return match (day_first, month_first) {
                (Some(d), Some(m)) => Ok(if options.day_first { d } else { m }),
                (Some(d), None) => Ok(d),
                (None, Some(m)) => Ok(m),
                (None, None) => Err(DATE_MESSAGE.to_owned()),
            };
        }
        return Err(DATE_MESSAGE.to_owned());
    }
    for format in ["%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%d-%b-%y"] {
        if let Ok(date) = NaiveDate::parse_from_str(cell, format) {
            return Ok(date);
        }
    }
    Err(DATE_MESSAGE.to_owned())
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

fn is_midnight(time: &str) -> bool {
    let time = time.trim_end_matches('Z');
    matches!(time, "00:00" | "00:00:00" | "00:00:00.000" | "0:00" | "0:00:00")
}

/// `2026年3月1日` (the day's 日 optional).
fn chinese_date(cell: &str) -> Option<NaiveDate> {
    let (year, rest) = cell.split_once('年')?;
    let (month, rest) = rest.split_once('月')?;
    let day = rest.strip_suffix('日').or_else(|| rest.strip_suffix('号')).unwrap_or(rest);
    ymd(year.trim().parse().ok()?, month.trim().parse().ok()?, day.trim().parse().ok()?)
}

/// RFC 3339 as is; a date and a time without an offset (`2026-03-01 09:30`, any date form
/// [`parse_date`] reads) in [`CoerceOptions::timezone`]; a bare date is midnight there.
fn parse_date_time(cell: &str, options: &CoerceOptions) -> Result<DateTime<Utc>, String> {
    const MESSAGE: &str = "must be a date and time, such as 2026-03-31 09:30";
    if let Ok(instant) = DateTime::parse_from_rfc3339(cell) {
        return Ok(instant.with_timezone(&Utc));
    }
    let (date_text, time_text) = match cell.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time.trim())),
        None => (cell, None),
    };
    let date = parse_date(date_text, options).map_err(|_| MESSAGE.to_owned())?;
    let time = match time_text {
        None => NaiveTime::MIN,
        Some(text) => ["%H:%M:%S%.f", "%H:%M", "%I:%M %p", "%I:%M:%S %p"]
            .iter()
            .find_map(|format| NaiveTime::parse_from_str(text, format).ok())
            .ok_or_else(|| MESSAGE.to_owned())?,
    };
    let local = NaiveDateTime::new(date, time);
    // A time that exists twice (the hour clocks go back) is read as its first occurrence; one
    // that doesn't exist (the hour they skip) is refused rather than guessed.
    options
        .timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|instant| instant.with_timezone(&Utc))
        .ok_or_else(|| format!("does not exist in {} (the clocks skip it)", options.timezone))
}

#[cfg(test)]
mod tests;
