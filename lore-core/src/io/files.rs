//! Reading and writing tables as CSV, Parquet and JSON lines files.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

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
            _ => Err(Error::Input(format!(
                "{}: unknown file type `.{ext}`; use .csv, .tsv, .parquet, .json or .jsonl (JSON lines)",
                path.display()
            ))),
        }
    }
}

/// Reads a whole table from `path`.
pub fn read(path: &Path) -> Result<DataFrame> {
    let format = Format::of(path)?;
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
    }
}

/// Writes `df` to `path` in the format its extension names, through a temporary file and a rename.
pub fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let wrap = |e: PolarsError| Error::Input(format!("{}: {e}", path.display()));
    match format {
        Format::Csv => CsvWriter::new(file).finish(df).map_err(wrap)?,
        Format::Tsv => CsvWriter::new(file)
            .with_separator(b'\t')
            .finish(df)
            .map_err(wrap)?,
        Format::Parquet => {
            ParquetWriter::new(file).finish(df).map_err(wrap)?;
        }
        Format::Json => JsonWriter::new(file)
            .with_json_format(JsonFormat::Json)
            .finish(df)
            .map_err(wrap)?,
        Format::JsonLines => JsonWriter::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)
            .map_err(wrap)?,
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
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

/// Reads `input` (any supported format) and writes it to `output` (format from its extension).
pub fn convert(input: &Path, output: &Path) -> Result<DataFrame> {
    let mut df = read(input)?;
    write(&mut df, output)?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let df = convert(&csv, &parquet).unwrap();
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
        let e = Format::of(Path::new("x.xlsx")).unwrap_err().to_string();
        assert!(e.contains(".xlsx") && e.contains(".csv"), "{e}");
    }
}
