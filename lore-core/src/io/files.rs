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
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format of `path`, from its extension (.csv, .parquet, .jsonl, .ndjson, .json).
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "jsonl" | "ndjson" | "json" => Ok(Format::JsonLines),
            _ => Err(Error::Input(format!(
                "{}: unknown file type `.{ext}`; use .csv, .parquet or .jsonl (JSON lines)",
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
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .map_err(wrap)?
            .finish()
            .map_err(wrap),
        Format::Parquet => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(file).finish().map_err(wrap)
        }
        Format::JsonLines => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            JsonReader::new(file)
                .with_json_format(JsonFormat::JsonLines)
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
        Format::Parquet => {
            ParquetWriter::new(file).finish(df).map_err(wrap)?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_format() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["t.csv", "t.parquet", "t.jsonl"] {
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
