//! Files as spreadsheet tools and scripts write them.

use std::io::Cursor;

use serde_json::json;

use super::{Cells, FileFormat, Row, Table, TabularError};

fn read(format: FileFormat, bytes: Vec<u8>) -> (Vec<String>, Vec<Result<Row, TabularError>>) {
    let table = Table::open(format, Cursor::new(bytes)).expect("file opens");
    let headers = table.headers.clone();
    (headers, table.collect())
}

fn text_rows(rows: Vec<Result<Row, TabularError>>) -> Vec<(u64, Vec<String>)> {
    rows.into_iter()
        .map(|row| {
            let row = row.expect("row reads");
            match row.cells {
                Cells::Text(cells) => (row.number, cells),
                Cells::Json(_) => panic!("a text row"),
            }
        })
        .collect()
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn csv_with_a_byte_order_mark_quotes_and_blank_lines() {
    let file = "\u{feff}name,arr,notes\r\nAcme,\"1,200\",\"two\nlines\"\r\n\r\nGlobex,300\r\n";
    let (headers, rows) = read(FileFormat::Csv, file.as_bytes().to_vec());
    assert_eq!(headers, ["name", "arr", "notes"]);
    assert_eq!(
        text_rows(rows),
        [(2, strings(&["Acme", "1,200", "two\nlines"])), (3, strings(&["Globex", "300", ""]))],
        "a quoted cell keeps its comma and newline; a short row is padded; the blank line is no row"
    );
}

#[test]
fn gbk_csv_from_a_chinese_spreadsheet_tool_is_decoded() {
    let (encoded, _, unmappable) = encoding_rs::GBK.encode("客户名称,地区\n华为,华南\n");
    assert!(!unmappable);
    assert!(std::str::from_utf8(&encoded).is_err(), "the sample really is not UTF-8");
    let (headers, rows) = read(FileFormat::Csv, encoded.into_owned());
    assert_eq!(headers, ["客户名称", "地区"]);
    assert_eq!(text_rows(rows), [(2, strings(&["华为", "华南"]))]);
}

#[test]
fn utf8_chinese_text_is_not_mistaken_for_gbk() {
    let (headers, rows) = read(FileFormat::Csv, "名称\n上海\n".as_bytes().to_vec());
    assert_eq!(headers, ["名称"]);
    assert_eq!(text_rows(rows), [(2, strings(&["上海"]))]);
}

#[test]
fn an_empty_file_says_the_header_row_is_missing() {
    for bytes in [&b""[..], b"\n", b",,\n"] {
        let err = Table::open(FileFormat::Csv, Cursor::new(bytes.to_vec())).expect_err("no header");
        assert!(matches!(err, TabularError::Empty), "{err}");
    }
}

#[test]
fn ndjson_rows_are_objects_and_bad_lines_are_named() {
    let file = "{\"name\": \"Acme\", \"arr\": 1200}\n\n[1]\n{\"name\": \"Globex\", \"tier\": \"growth\"}\n{broken\n";
    let (headers, rows) = read(FileFormat::Ndjson, file.as_bytes().to_vec());
    assert_eq!(headers, ["arr", "name"]);
    let described: Vec<String> = rows
        .into_iter()
        .map(|row| match row {
            Ok(Row { number, cells: Cells::Json(object) }) => {
                format!("{number}: {}", serde_json::Value::Object(object))
            }
            Ok(_) => panic!("json rows"),
            Err(err) => err.to_string(),
        })
        .collect();
    assert_eq!(described[0], format!("1: {}", json!({"name": "Acme", "arr": 1200})));
    assert_eq!(described[1], "line 3: must be a JSON object");
    assert_eq!(described[2], format!("4: {}", json!({"name": "Globex", "tier": "growth"})));
    assert!(described[3].starts_with("line 5: not JSON"), "{}", described[3]);
}

#[test]
fn xlsx_cells_become_the_text_the_coercer_reads() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(0, 0, "name").expect("cell");
    sheet.write_string(0, 1, "seats").expect("cell");
    sheet.write_string(0, 2, "arr").expect("cell");
    sheet.write_string(0, 3, "renewal_date").expect("cell");
    sheet.write_string(0, 4, "active").expect("cell");
    sheet.write_string(1, 0, "Acme").expect("cell");
    sheet.write_number(1, 1, 12.0).expect("cell");
    sheet.write_number(1, 2, 1234.5).expect("cell");
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 3, 1).expect("date");
    sheet.write_datetime_with_format(1, 3, &date, &date_format).expect("cell");
    sheet.write_boolean(1, 4, true).expect("cell");
    sheet.write_string(3, 0, "Globex").expect("cell");
    let bytes = workbook.save_to_buffer().expect("workbook");

    assert_eq!(FileFormat::detect(None, None, &bytes), FileFormat::Xlsx);
    let (headers, rows) = read(FileFormat::Xlsx, bytes);
    assert_eq!(headers, ["name", "seats", "arr", "renewal_date", "active"]);
    assert_eq!(
        text_rows(rows),
        [(2, strings(&["Acme", "12", "1234.5", "2026-03-01", "true"])), (4, strings(&["Globex", "", "", "", ""]))],
        "row numbers are the sheet's; the empty row 3 is skipped"
    );
}

#[test]
fn a_damaged_workbook_is_refused_with_a_message() {
    let err = Table::open(FileFormat::Xlsx, Cursor::new(b"PK\x03\x04 not really a zip".to_vec())).expect_err("damaged");
    assert!(err.to_string().starts_with("the workbook can't be read"), "{err}");
}

#[test]
fn formats_are_told_by_name_media_type_or_content() {
    assert_eq!(FileFormat::detect(Some("accounts.CSV"), None, b"{"), FileFormat::Csv);
    assert_eq!(FileFormat::detect(Some("a.jsonl"), None, b""), FileFormat::Ndjson);
    assert_eq!(FileFormat::detect(None, Some("application/x-ndjson; charset=utf-8"), b""), FileFormat::Ndjson);
    assert_eq!(FileFormat::detect(None, None, b"  {\"a\":1}"), FileFormat::Ndjson);
    assert_eq!(FileFormat::detect(None, None, b"name,tier"), FileFormat::Csv);
    assert!(FileFormat::parse("XLSX").is_ok());
    assert_eq!(
        FileFormat::parse("pdf").expect_err("unknown").to_string(),
        "unknown file format `pdf`: use csv, ndjson or xlsx"
    );
}

fn columns() -> Vec<super::ExportColumn> {
    use forms::FieldType;
    [
        ("id", FieldType::String),
        ("name", FieldType::String),
        ("arr", FieldType::Number),
        ("active", FieldType::Boolean),
        ("renewal_date", FieldType::Date),
        ("updated_at", FieldType::DateTime),
        ("tags", FieldType::Array),
    ]
    .into_iter()
    .map(|(name, kind)| super::ExportColumn { name: name.to_owned(), kind })
    .collect()
}

fn records() -> Vec<serde_json::Map<String, serde_json::Value>> {
    let rows = [
        json!({"id": "r1", "name": "华为 Cloud, \"EMEA\"", "arr": 1200.5, "active": true, "renewal_date": "2026-03-01",
               "updated_at": "2026-03-01T09:30:00Z", "tags": ["vip", "pilot"]}),
        json!({"id": "r2", "name": "=HYPERLINK(\"x\")", "arr": null, "active": false}),
    ];
    rows.into_iter().map(|r| r.as_object().expect("object").clone()).collect()
}

fn write_all(format: FileFormat) -> Vec<u8> {
    let mut writer = super::TableWriter::new(format, columns()).expect("writer");
    let mut out = Vec::new();
    for record in records() {
        writer.write_row(&record).expect("row");
        // Taken after every row, as an export streams page by page.
        out.extend(writer.take_ready().expect("chunk"));
    }
    out.extend(writer.finish().expect("finish"));
    out
}

#[test]
fn a_csv_export_streams_reads_back_and_guards_formulas() {
    let bytes = write_all(FileFormat::Csv);
    assert!(bytes.starts_with(b"\xef\xbb\xbfid,name,arr"), "a BOM for Excel, then the header");
    let (headers, rows) = read(FileFormat::Csv, bytes);
    assert_eq!(headers, ["id", "name", "arr", "active", "renewal_date", "updated_at", "tags"]);
    assert_eq!(
        text_rows(rows),
        [
            (
                2,
                strings(&[
                    "r1",
                    "华为 Cloud, \"EMEA\"",
                    "1200.5",
                    "true",
                    "2026-03-01",
                    "2026-03-01T09:30:00Z",
                    "vip, pilot"
                ])
            ),
            (3, strings(&["r2", "'=HYPERLINK(\"x\")", "", "false", "", "", ""])),
        ]
    );
}

#[test]
fn an_ndjson_export_leaves_out_empty_values() {
    let bytes = write_all(FileFormat::Ndjson);
    let lines: Vec<serde_json::Value> =
        String::from_utf8(bytes).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines[1], json!({"id": "r2", "name": "=HYPERLINK(\"x\")", "active": false}));
    assert_eq!(lines[0]["tags"], json!(["vip", "pilot"]));
}

#[test]
fn an_xlsx_export_holds_typed_cells_and_reads_back() {
    let bytes = write_all(FileFormat::Xlsx);
    let (headers, rows) = read(FileFormat::Xlsx, bytes);
    assert_eq!(headers[..3], ["id", "name", "arr"]);
    assert_eq!(
        text_rows(rows),
        [
            (
                2,
                strings(&[
                    "r1",
                    "华为 Cloud, \"EMEA\"",
                    "1200.5",
                    "true",
                    "2026-03-01",
                    "2026-03-01T09:30:00",
                    "vip, pilot"
                ])
            ),
            (3, strings(&["r2", "=HYPERLINK(\"x\")", "", "false", "", "", ""])),
        ],
        "numbers, booleans and dates come back as the values written, a formula-like string as text"
    );
}
