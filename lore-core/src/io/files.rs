//! Reading and writing tables as CSV, TSV, Parquet, JSON and JSON lines files, and reading the
//! sheets of Excel and OpenDocument workbooks.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::rows::{FrameBuilder, Value};
use crate::error::{Error, Result};

/// The file formats Lore reads and writes, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// A JSON array of objects.
    Json,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
    /// An Excel or OpenDocument workbook (read only): one sheet, its first row the header.
    Workbook,
}

impl Format {
    /// The format of `path`, from its extension (.csv, .tsv, .parquet, .json, .jsonl, .ndjson).
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Ok(Format::Workbook),
            _ => Err(Error::Input(format!(
                "{}: unknown file type `.{ext}`; use .csv, .tsv, .parquet, .json, .jsonl (JSON lines), \
                 or to read only .xlsx, .xlsm, .xlsb, .xls, .ods",
                path.display()
            ))),
        }
    }
}

/// Reads a whole table from `path` (the first sheet of a workbook).
pub fn read(path: &Path) -> Result<DataFrame> {
    read_sheet(path, None)
}

/// Reads a whole table from `path`; `sheet` names the sheet of a workbook (default: the first).
pub fn read_sheet(path: &Path, sheet: Option<&str>) -> Result<DataFrame> {
    let format = Format::of(path)?;
    if sheet.is_some() && format != Format::Workbook {
        return Err(Error::Input(format!(
            "{}: a sheet can only be chosen in an Excel or OpenDocument workbook",
            path.display()
        )));
    }
    let wrap = |e: PolarsError| Error::Input(format!("{}: {e}", path.display()));
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    match format {
        Format::Csv | Format::Tsv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .map_parse_options(|o| {
                o.with_separator(if format == Format::Tsv { b'\t' } else { b',' })
                    .with_try_parse_dates(true)
            })
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .map_err(wrap)?
            .finish()
            .map_err(wrap),
        Format::Parquet => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(file).finish().map_err(wrap)
        }
        Format::Json | Format::JsonLines => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let json = if format == Format::Json {
                JsonFormat::Json
            } else {
                JsonFormat::JsonLines
            };
            JsonReader::new(file)
                .with_json_format(json)
                .finish()
                .map_err(wrap)
        }
        Format::Workbook => read_workbook(path, sheet),
    }
}

/// Reads one sheet: the first row names the columns, and each column is typed by its cells the
/// way database columns are (whole numbers as integers, dates without a time as dates).
fn read_workbook(path: &Path, sheet: Option<&str>) -> Result<DataFrame> {
    let wrap = |e: &dyn std::fmt::Display| Error::Input(format!("{}: {e}", path.display()));
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(path).map_err(|e| wrap(&e))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .cloned()
            .ok_or_else(|| {
                wrap(&format!(
                    "no sheet `{wanted}`; its sheets are: {}",
                    names.join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| wrap(&"the workbook has no sheets"))?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| wrap(&format!("sheet `{name}`: {e}")))?;
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Err(wrap(&format!(
            "sheet `{name}` is empty; its first row should name the columns"
        )));
    };
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let mut column = match cell {
            calamine::Data::Empty => format!("column_{}", i + 1),
            other => other.to_string().trim().to_string(),
        };
        if columns.contains(&column) {
            column = format!("{column}_{}", i + 1);
        }
        columns.push(column);
    }
    let mut builder = FrameBuilder::new(columns);
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            builder.push(i, cell_value(cell));
        }
    }
    builder.take().map_err(|e| wrap(&e))
}

/// A workbook cell as a database value; error cells (`#DIV/0!`) and empty cells are nulls.
fn cell_value(cell: &calamine::Data) -> Value {
    use calamine::Data;
    // Below 2^53 every whole f64 is an exact integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match cell {
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < EXACT => Value::Int(*f as i64),
        Data::Float(f) => Value::Float(*f),
        Data::Bool(b) => Value::Bool(*b),
        Data::String(s) => Value::Text(s.clone()),
        Data::DateTime(d) if d.is_datetime() => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => Value::Date(t.date()),
            Some(t) => Value::Timestamp(t),
            None => Value::Float(d.as_f64()),
        },
        Data::DateTime(d) => Value::Float(d.as_f64()),
        Data::DateTimeIso(s) => iso_value(s),
        Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Error(_) | Data::Empty => Value::Null,
    }
}

fn iso_value(text: &str) -> Value {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Value::Date(d);
    }
    match chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(t) => Value::Timestamp(t),
        Err(_) => Value::Text(text.to_string()),
    }
}

/// Writes `df` to `path` in the format its extension names, through a temporary file and a rename
/// (removed when writing fails, so nothing half-written is left).
pub fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    let wrap = |e: PolarsError| Error::Input(format!("{}: {e}", path.display()));
    let writer: fn(&mut DataFrame, File) -> PolarsResult<()> = match format {
        Format::Csv => |df, f| CsvWriter::new(f).finish(df),
        Format::Tsv => |df, f| CsvWriter::new(f).with_separator(b'\t').finish(df),
        Format::Parquet => |df, f| ParquetWriter::new(f).finish(df).map(|_| ()),
        Format::Json => |df, f| JsonWriter::new(f).with_json_format(JsonFormat::Json).finish(df),
        Format::JsonLines => {
            |df, f| JsonWriter::new(f).with_json_format(JsonFormat::JsonLines).finish(df)
        }
        Format::Workbook => {
            return Err(Error::Input(format!(
                "{}: Lore reads workbooks but does not write them; write .csv, .tsv, .parquet, .json or .jsonl",
                path.display()
            )))
        }
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let written = writer(df, file)
        .map_err(wrap)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes `df` as CSV with a header to `out` (standard output, say).
pub fn write_csv(df: &mut DataFrame, out: impl std::io::Write) -> Result<()> {
    CsvWriter::new(out)
        .finish(df)
        .map_err(|e| Error::Input(format!("writing CSV: {e}")))
}

/// `name: type` for every column of `df`, one per line.
pub fn schema_lines(df: &DataFrame) -> Vec<String> {
    df.columns()
        .iter()
        .map(|c| format!("{}: {}", c.name(), c.dtype()))
        .collect()
}

/// Reads `input` (any supported format; `sheet` of a workbook) and writes it to `output` (format
/// from its extension).
pub fn convert(input: &Path, sheet: Option<&str>, output: &Path) -> Result<DataFrame> {
    let mut df = read_sheet(input, sheet)?;
    write(&mut df, output)?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn csv_with_nulls_dates_and_quoted_commas_round_trips_through_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("in.csv");
        std::fs::write(
            &csv,
            "name,joined,amount\n\"Smith, Ann\",2018-06-01,1.5\n,2019-01-31,\nBob,,3\n",
        )
        .unwrap();
        let parquet = dir.path().join("out.parquet");
        let df = convert(&csv, None, &parquet).unwrap();
        assert_eq!(
            schema_lines(&df),
            vec!["name: str", "joined: date", "amount: f64"]
        );
        let back = read(&parquet).unwrap();
        assert_eq!(back, df);
        assert_eq!(
            back.column("name").unwrap().str().unwrap().get(0),
            Some("Smith, Ann")
        );
        assert_eq!(back.column("name").unwrap().null_count(), 1);
        assert_eq!(back.column("joined").unwrap().null_count(), 1);
        assert_eq!(back.column("amount").unwrap().null_count(), 1);
    }

    /// A workbook with a notes sheet first and a table on the sheet `People`.
    fn workbook(path: &Path) {
        use rust_xlsxwriter::{ExcelDateTime, Format as CellFormat, Workbook};
        let mut book = Workbook::new();
        book.add_worksheet()
            .set_name("Notes")
            .unwrap()
            .write_string(0, 0, "exported from the CRM")
            .unwrap();
        let sheet = book.add_worksheet().set_name("People").unwrap();
        let date = CellFormat::new().set_num_format("yyyy-mm-dd");
        for (c, name) in ["name", "joined", "amount", "active", "visits"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *name).unwrap();
        }
        sheet.write_string(1, 0, "Smith, Ann").unwrap();
        let joined = ExcelDateTime::from_ymd(2018, 6, 1).unwrap();
        sheet
            .write_datetime_with_format(1, 1, &joined, &date)
            .unwrap();
        sheet.write_number(1, 2, 1.5).unwrap();
        sheet.write_boolean(1, 3, true).unwrap();
        sheet.write_number(1, 4, 3).unwrap();
        let joined = ExcelDateTime::from_ymd(2019, 1, 31).unwrap();
        sheet
            .write_datetime_with_format(2, 1, &joined, &date)
            .unwrap();
        sheet.write_boolean(2, 3, false).unwrap();
        sheet.write_number(2, 4, 4).unwrap();
        sheet.write_string(3, 0, "Bob").unwrap();
        sheet.write_number(3, 2, 3).unwrap();
        sheet.write_boolean(3, 3, true).unwrap();
        sheet.write_number(3, 4, 5).unwrap();
        book.save(path).unwrap();
    }

    #[test]
    fn a_workbook_sheet_converts_with_typed_columns_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("crm.xlsx");
        workbook(&xlsx);
        let parquet = dir.path().join("people.parquet");
        let df = convert(&xlsx, Some("People"), &parquet).unwrap();
        assert_eq!(
            schema_lines(&df),
            vec![
                "name: str",
                "joined: date",
                "amount: f64",
                "active: bool",
                "visits: i64"
            ]
        );
        assert_eq!(df.height(), 3);
        assert_eq!(read(&parquet).unwrap(), df);
        assert_eq!(df.column("name").unwrap().null_count(), 1);
        assert_eq!(df.column("joined").unwrap().null_count(), 1);
        assert_eq!(df.column("amount").unwrap().null_count(), 1);
        assert_eq!(
            df.column("name").unwrap().str().unwrap().get(0),
            Some("Smith, Ann")
        );

        let first = read(&xlsx).unwrap();
        assert_eq!(first.get_column_names(), vec!["exported from the CRM"]);
        refused(
            read_sheet(&xlsx, Some("Peeple")),
            &["crm.xlsx", "Peeple", "Notes, People"],
        );
        refused(
            read_sheet(&parquet, Some("People")),
            &["people.parquet", "workbook"],
        );
        refused(
            write(&mut df.clone(), &dir.path().join("out.xlsx")),
            &["out.xlsx", ".parquet"],
        );
        assert!(!dir.path().join("out.xlsx.tmp").exists());
    }

    #[test]
    fn round_trips_every_format() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["t.csv", "t.tsv", "t.parquet", "t.json", "t.jsonl"] {
            let mut df = df!("a" => [1i64, 2], "b" => ["x", "y"]).unwrap();
            let path = dir.path().join(name);
            write(&mut df, &path).unwrap();
            let back = read(&path).unwrap();
            assert_eq!(back.height(), 2, "{name}");
            assert_eq!(back.get_column_names(), vec!["a", "b"], "{name}");
        }
    }

    #[test]
    fn unknown_extension_is_named() {
        refused(Format::of(Path::new("x.numbers")), &[".numbers", ".csv"]);
    }
}
