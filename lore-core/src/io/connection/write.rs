//! Frames written into tables: inserts in one transaction on SQLite, `COPY` on PostgreSQL.

use polars::prelude::*;

use super::*;

/// Runs `statements` (several, separated by `;`) in one transaction on `pool`.
pub(super) async fn transaction<DB>(
    pool: &sqlx::Pool<DB>,
    statements: &str,
) -> std::result::Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(statements).execute(&mut *tx).await?;
    tx.commit().await
}

/// The cell at (`column`, `row`) as a bindable JSON value.
pub(super) fn cell(column: &Column, row: usize) -> serde_json::Value {
    match column.get(row) {
        Ok(AnyValue::Null) | Err(_) => serde_json::Value::Null,
        Ok(AnyValue::Boolean(b)) => serde_json::Value::Bool(b),
        Ok(AnyValue::String(s)) => serde_json::Value::String(s.to_string()),
        Ok(AnyValue::Float64(f)) => serde_json::json!(f),
        Ok(AnyValue::Float32(f)) => serde_json::json!(f),
        Ok(v) if v.is_integer() => v
            .extract::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::Null),
        Ok(v) => serde_json::Value::String(v.to_string().trim_matches('"').to_string()),
    }
}

pub(super) async fn insert_sqlite(
    pool: &SqlitePool,
    table: &str,
    df: &DataFrame,
) -> std::result::Result<u64, sqlx::Error> {
    let columns = df.columns();
    if columns.is_empty() || df.height() == 0 {
        return Ok(0);
    }
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| format!("\"{}\"", n.replace('"', "\"\"")))
        .collect();
    let row_placeholder = format!("({})", vec!["?"; columns.len()].join(", "));
    let per_batch = (30_000 / columns.len()).max(1);
    let mut tx = pool.begin().await?;
    let mut start = 0;
    while start < df.height() {
        let end = (start + per_batch).min(df.height());
        let statement = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            vec![row_placeholder.as_str(); end - start].join(", ")
        );
        let binds: Vec<serde_json::Value> = (start..end)
            .flat_map(|r| columns.iter().map(move |c| cell(c, r)))
            .collect();
        sqlite_query(&statement, &binds).execute(&mut *tx).await?;
        start = end;
    }
    tx.commit().await?;
    Ok(df.height() as u64)
}

pub(super) async fn copy_postgres(
    pool: &PgPool,
    table: &str,
    df: &DataFrame,
) -> std::result::Result<u64, sqlx::Error> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| format!("\"{}\"", n.replace('"', "\"\"")))
        .collect();
    let mut csv = Vec::new();
    let mut copy = df.clone();
    CsvWriter::new(&mut csv)
        .include_header(false)
        .with_null_value("".into())
        .with_quote_style(QuoteStyle::NonNumeric)
        .finish(&mut copy)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut conn = pool.acquire().await?;
    let mut sink = conn
        .copy_in_raw(&format!(
            "COPY {table} ({}) FROM STDIN WITH (FORMAT csv)",
            names.join(", ")
        ))
        .await?;
    sink.send(csv).await?;
    sink.finish().await
}
