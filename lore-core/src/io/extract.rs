//! SQL extracts: a `.sql` file under `src/extracts/` whose `:name` parameters are always bound,
//! never pasted into the SQL, read into a data frame.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, TypeInfo, ValueRef};

use super::Connection;
use crate::error::{Error, Result};

/// What a model reads: an extract file, the connection it runs on and its bound parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// The extract's file name without `.sql`, under `src/extracts/`.
    pub sql: String,
    /// The connection in `config/database.toml` to run it on.
    #[serde(default = "default_connection")]
    pub connection: String,
    /// Values bound to the `:name` placeholders of the SQL.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

fn default_connection() -> String {
    "main".to_string()
}

impl ExtractSpec {
    /// An extract of `src/extracts/<sql>.sql` on the `main` connection, with no parameters.
    pub fn new(sql: impl Into<String>) -> Self {
        ExtractSpec {
            sql: sql.into(),
            connection: default_connection(),
            params: BTreeMap::new(),
        }
    }

    /// Binds `value` to the `:name` placeholder.
    pub fn param(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.params.insert(name.into(), value);
        self
    }
}

/// A parsed extract: its SQL with positional placeholders and the parameter names in order.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The file it came from.
    pub path: PathBuf,
    /// The SQL with every `:name` replaced by `?`.
    pub sql: String,
    /// The parameter name of each `?`, in order.
    pub params: Vec<String>,
}

impl Extract {
    /// Reads and parses `<dir>/<name>.sql`.
    pub fn load(dir: &Path, name: &str) -> Result<Extract> {
        let path = dir.join(format!("{name}.sql"));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let known = list_extracts(dir);
            Error::config(
                &path,
                format!(
                    "cannot read extract `{name}` ({e}); the extracts are: {}",
                    known.join(", ")
                ),
            )
        })?;
        let (sql, params) = parse_placeholders(&text);
        Ok(Extract { path, sql, params })
    }

    /// Runs the extract on `connection` with `values` bound, and returns its rows as a data frame.
    pub async fn read(
        &self,
        connection: &Connection,
        values: &BTreeMap<String, serde_json::Value>,
    ) -> Result<DataFrame> {
        let mut query = sqlx::query(&self.sql);
        for name in &self.params {
            let value = values.get(name).ok_or_else(|| {
                Error::config(
                    &self.path,
                    format!(
                        "the SQL uses :{name} but the model binds no `{name}`; add it to the extract's params (bound: {})",
                        values.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            query = match value {
                serde_json::Value::Null => query.bind(None::<String>),
                serde_json::Value::Bool(b) => query.bind(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => query.bind(i),
                    None => query.bind(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => query.bind(s.clone()),
                other => query.bind(other.to_string()),
            };
        }
        let rows = query.fetch_all(connection.pool()).await.map_err(|e| {
            Error::config(
                &self.path,
                format!("query failed on {}: {e}", connection.display_url()),
            )
        })?;
        rows_to_frame(&rows).map_err(|m| Error::config(&self.path, m))
    }
}

/// The extract names (file stems) in `dir`, sorted.
pub fn list_extracts(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension().and_then(|x| x.to_str()) == Some("sql"))
                .then(|| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
                .flatten()
        })
        .collect();
    names.sort();
    names
}

/// Replaces `:name` placeholders outside strings, quoted identifiers and comments with `?`,
/// and returns the names in order. `::` (a PostgreSQL cast) is left alone.
pub fn parse_placeholders(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .map(|p| i + 1 + p)
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let end = chars[i..]
                    .iter()
                    .position(|&x| x == '\n')
                    .map(|p| i + p)
                    .unwrap_or(chars.len());
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map(|j| j + 2)
                    .unwrap_or(chars.len());
                out.extend(&chars[i..end]);
                i = end;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|x| x.is_ascii_alphabetic() || *x == '_') =>
            {
                let end = chars[i + 1..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || *x == '_'))
                    .map(|p| i + 1 + p)
                    .unwrap_or(chars.len());
                names.push(chars[i + 1..end].iter().collect());
                out.push('?');
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, names)
}

enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// Turns SQLite rows into typed columns: integers stay integers, a mix with reals becomes reals,
/// anything with text becomes text.
fn rows_to_frame(rows: &[SqliteRow]) -> std::result::Result<DataFrame, String> {
    let Some(first) = rows.first() else {
        return Ok(DataFrame::empty());
    };
    let names: Vec<String> = first
        .columns()
        .iter()
        .map(|c| sqlx::Column::name(c).to_string())
        .collect();
    let mut cells: Vec<Vec<Cell>> = names
        .iter()
        .map(|_| Vec::with_capacity(rows.len()))
        .collect();
    for row in rows {
        for (i, column) in cells.iter_mut().enumerate() {
            let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
            let cell = if raw.is_null() {
                Cell::Null
            } else {
                let kind = raw.type_info().name().to_string();
                let decode_err = |e: sqlx::error::BoxDynError| format!("column {}: {e}", names[i]);
                match kind.as_str() {
                    "INTEGER" | "BOOLEAN" | "INT8" => {
                        Cell::Int(<i64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?)
                    }
                    "REAL" | "NUMERIC" => {
                        Cell::Real(<f64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?)
                    }
                    _ => Cell::Text(<String as Decode<Sqlite>>::decode(raw).map_err(decode_err)?),
                }
            };
            column.push(cell);
        }
    }
    let columns = names
        .iter()
        .zip(cells)
        .map(|(name, values)| to_column(name, values))
        .collect::<Vec<_>>();
    DataFrame::new(rows.len(), columns).map_err(|e| e.to_string())
}

fn to_column(name: &str, values: Vec<Cell>) -> Column {
    let has_text = values.iter().any(|c| matches!(c, Cell::Text(_)));
    let has_real = values.iter().any(|c| matches!(c, Cell::Real(_)));
    if has_text {
        let v: Vec<Option<String>> = values
            .into_iter()
            .map(|c| match c {
                Cell::Null => None,
                Cell::Int(i) => Some(i.to_string()),
                Cell::Real(r) => Some(r.to_string()),
                Cell::Text(s) => Some(s),
            })
            .collect();
        Column::new(name.into(), v)
    } else if has_real {
        let v: Vec<Option<f64>> = values
            .into_iter()
            .map(|c| match c {
                Cell::Int(i) => Some(i as f64),
                Cell::Real(r) => Some(r),
                _ => None,
            })
            .collect();
        Column::new(name.into(), v)
    } else {
        let v: Vec<Option<i64>> = values
            .into_iter()
            .map(|c| if let Cell::Int(i) = c { Some(i) } else { None })
            .collect();
        Column::new(name.into(), v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_bound_not_pasted() {
        let (sql, names) = parse_placeholders(
            "SELECT ':no', x::int FROM t -- :nor\nWHERE a < :limit AND b = :b_2 /* :nope */",
        );
        assert_eq!(names, vec!["limit", "b_2"]);
        assert_eq!(
            sql,
            "SELECT ':no', x::int FROM t -- :nor\nWHERE a < ? AND b = ? /* :nope */"
        );
    }

    #[tokio::test]
    async fn reads_typed_columns_with_bound_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
        let conn = Connection::open(&url, true).await.unwrap();
        conn.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT); INSERT INTO t VALUES (1, 1.5, 'a'), (2, NULL, NULL), (3, 2, 'c');")
            .await
            .unwrap();
        std::fs::write(dir.path().join("t.sql"), "SELECT * FROM t WHERE i <= :top").unwrap();
        let extract = Extract::load(dir.path(), "t").unwrap();
        let params = BTreeMap::from([("top".to_string(), serde_json::json!(2))]);
        let df = extract.read(&conn, &params).await.unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.column("i").unwrap().dtype(), &DataType::Int64);
        assert_eq!(df.column("r").unwrap().dtype(), &DataType::Float64);
        assert_eq!(df.column("s").unwrap().dtype(), &DataType::String);
        let missing = extract
            .read(&conn, &BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains(":top") && missing.contains("t.sql"),
            "{missing}"
        );
    }
}
