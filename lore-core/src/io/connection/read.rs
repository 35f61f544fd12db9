//! Rows of a query read into frames: SQLite and PostgreSQL values by their declared types,
//! streamed in batches or collected whole.

use std::future::Future;

use futures_util::TryStreamExt;
use polars::prelude::*;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Column as _, Decode, Executor, Postgres, Row, Sqlite, TypeInfo, ValueRef};

use super::*;

pub(super) fn sqlite_value(
    row: &SqliteRow,
    i: usize,
    declared: &str,
) -> std::result::Result<Value, ReadError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let info = raw.type_info();
    let err = |e: sqlx::error::BoxDynError| {
        ReadError::Decode(format!("column {}: {e}", row.columns()[i].name()))
    };
    Ok(match info.name() {
        "INTEGER" | "BOOLEAN" | "INT8" => {
            let v = <i64 as Decode<Sqlite>>::decode(raw).map_err(err)?;
            if declared == "BOOLEAN" {
                Value::Bool(v != 0)
            } else {
                Value::Int(v)
            }
        }
        "REAL" | "NUMERIC" => Value::Float(<f64 as Decode<Sqlite>>::decode(raw).map_err(err)?),
        "BLOB" => {
            return Err(ReadError::Decode(format!(
                "column {}: BLOB values cannot be read into a data frame; select them as hex()",
                row.columns()[i].name()
            )))
        }
        _ => {
            let text = <String as Decode<Sqlite>>::decode(raw).map_err(err)?;
            match declared {
                "DATE" => parse_date(&text)
                    .map(Value::Date)
                    .unwrap_or(Value::Text(text)),
                "DATETIME" => parse_timestamp(&text)
                    .map(Value::Timestamp)
                    .unwrap_or(Value::Text(text)),
                _ => Value::Text(text),
            }
        }
    })
}

/// Appends the value of column `i` of a SQLite row to `builder`.
pub(super) fn sqlite_push(
    row: &SqliteRow,
    i: usize,
    declared: &str,
    builder: &mut FrameBuilder,
) -> std::result::Result<(), ReadError> {
    builder.push(i, sqlite_value(row, i, declared)?);
    Ok(())
}

/// Appends the value of column `i` of a PostgreSQL row to `builder`: text straight from the
/// row's buffer into the column, without a `String` of its own.
pub(super) fn pg_push(
    row: &PgRow,
    i: usize,
    kind: &str,
    builder: &mut FrameBuilder,
) -> std::result::Result<(), ReadError> {
    if matches!(kind, "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT") {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            builder.push(i, Value::Null);
        } else {
            let text = <&str as Decode<Postgres>>::decode(raw).map_err(|e| {
                ReadError::Decode(format!("column {}: {e}", row.columns()[i].name()))
            })?;
            builder.push_text(i, text);
        }
        return Ok(());
    }
    builder.push(i, pg_value(row, i, kind)?);
    Ok(())
}

/// Decodes rows as they stream in and hands full batches to `consume`; returns the builder
/// holding the last, partial batch (`None` when no row arrived) and counts rows in `total`.
pub(super) async fn stream_rows<R, S, F, Fut>(
    mut rows: S,
    decode: fn(&R, usize, &str, &mut FrameBuilder) -> std::result::Result<(), ReadError>,
    batch_rows: usize,
    consume: &mut F,
    delivered: &mut usize,
    total: &mut usize,
) -> std::result::Result<Option<FrameBuilder>, ReadError>
where
    R: Row,
    S: futures_util::Stream<Item = std::result::Result<R, sqlx::Error>> + Unpin,
    F: FnMut(DataFrame) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut builder: Option<(FrameBuilder, Vec<String>)> = None;
    while let Some(row) = rows.try_next().await? {
        let (b, kinds) = builder.get_or_insert_with(|| {
            let names = row.columns().iter().map(|c| c.name().to_string()).collect();
            let kinds = row
                .columns()
                .iter()
                .map(|c| c.type_info().name().to_uppercase())
                .collect();
            (FrameBuilder::new(names), kinds)
        });
        for (i, kind) in kinds.iter().enumerate() {
            decode(&row, i, kind, b)?;
        }
        *total += 1;
        if b.rows() >= batch_rows {
            let df = b.take().map_err(|e| ReadError::Consumer(e.into()))?;
            consume(df).await.map_err(ReadError::Consumer)?;
            *delivered += 1;
        }
    }
    Ok(builder.map(|(b, _)| b))
}

/// Hands the last batch to `consume`: the partial one, or an empty frame with the query's
/// columns when nothing was delivered.
pub(super) async fn flush<F, Fut>(
    mut builder: FrameBuilder,
    consume: &mut F,
    delivered: &mut usize,
) -> std::result::Result<(), ReadError>
where
    F: FnMut(DataFrame) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    if builder.rows() > 0 || *delivered == 0 {
        let df = builder.take().map_err(|e| ReadError::Consumer(e.into()))?;
        consume(df).await.map_err(ReadError::Consumer)?;
        *delivered += 1;
    }
    Ok(())
}

/// The column names of a statement that returned no rows. A statement that changed the schema
/// (`CREATE TABLE t ...`) cannot be described again once it ran, and has no columns anyway.
pub(super) async fn described_columns<'p, DB: sqlx::Database>(
    pool: &'p sqlx::Pool<DB>,
    text: &'p str,
) -> Vec<String>
where
    &'p sqlx::Pool<DB>: Executor<'p, Database = DB>,
{
    match pool.describe(text).await {
        Ok(described) => column_names(described.columns()),
        Err(e) => {
            tracing::debug!("no columns for a statement that returned no rows: {e}");
            Vec::new()
        }
    }
}

pub(super) fn column_names<C: sqlx::Column>(columns: &[C]) -> Vec<String> {
    columns.iter().map(|c| c.name().to_string()).collect()
}

pub(super) async fn read_sqlite<F, Fut>(
    pool: &SqlitePool,
    text: &str,
    binds: &[serde_json::Value],
    batch_rows: usize,
    consume: &mut F,
    delivered: &mut usize,
) -> std::result::Result<usize, ReadError>
where
    F: FnMut(DataFrame) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut connection = pool.acquire().await?;
    let mut locked = connection.lock_handle().await?;
    // SAFETY: the connection is locked for this read until `locked` is dropped, after the
    // statement and the unmapping.
    let unmapped = unsafe { sqlite::Unmapped::new(locked.as_raw_handle()) };
    // SAFETY: as above.
    if let Some(mut statement) =
        unsafe { sqlite::Statement::prepare(locked.as_raw_handle(), text, binds) }
    {
        let mut builder = FrameBuilder::new(statement.names());
        let mut total = 0;
        loop {
            let wanted = batch_rows - builder.rows();
            let read = statement
                .read(&mut builder, wanted)
                .map_err(ReadError::Decode)?;
            total += read;
            if builder.rows() >= batch_rows {
                let df = builder.take().map_err(|e| ReadError::Consumer(e.into()))?;
                consume(df).await.map_err(ReadError::Consumer)?;
                *delivered += 1;
            }
            if read < wanted {
                break;
            }
        }
        drop(statement);
        drop(unmapped);
        drop(locked);
        flush(builder, consume, delivered).await?;
        return Ok(total);
    }
    drop(unmapped);
    drop(locked);
    drop(connection);
    let mut total = 0;
    let rows = sqlite_query(text, binds).fetch(pool);
    let builder = match stream_rows(
        rows,
        sqlite_push,
        batch_rows,
        consume,
        delivered,
        &mut total,
    )
    .await?
    {
        Some(b) => b,
        None => FrameBuilder::new(described_columns(pool, text).await),
    };
    flush(builder, consume, delivered).await?;
    Ok(total)
}

pub(super) fn pg_value(row: &PgRow, i: usize, kind: &str) -> std::result::Result<Value, ReadError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let name = row.columns()[i].name().to_string();
    let err = |e: sqlx::error::BoxDynError| ReadError::Decode(format!("column {name}: {e}"));
    Ok(match kind {
        "BOOL" => Value::Bool(<bool as Decode<Postgres>>::decode(raw).map_err(err)?),
        "INT2" => Value::Int(<i16 as Decode<Postgres>>::decode(raw).map_err(err)? as i64),
        "INT4" => Value::Int(<i32 as Decode<Postgres>>::decode(raw).map_err(err)? as i64),
        "INT8" => Value::Int(<i64 as Decode<Postgres>>::decode(raw).map_err(err)?),
        "FLOAT4" => Value::Float(<f32 as Decode<Postgres>>::decode(raw).map_err(err)? as f64),
        "FLOAT8" => Value::Float(<f64 as Decode<Postgres>>::decode(raw).map_err(err)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => Value::Text(<String as Decode<Postgres>>::decode(raw).map_err(err)?),
        "DATE" => Value::Date(<chrono::NaiveDate as Decode<Postgres>>::decode(raw).map_err(err)?),
        "TIMESTAMP" => Value::Timestamp(<chrono::NaiveDateTime as Decode<Postgres>>::decode(raw).map_err(err)?),
        "TIMESTAMPTZ" => Value::Timestamp(<chrono::DateTime<chrono::Utc> as Decode<Postgres>>::decode(raw).map_err(err)?.naive_utc()),
        other => {
            return Err(ReadError::Decode(format!(
                "column {name} has type {other}, which Lore does not read yet; cast it in the SQL (::float8, ::text, ::timestamp)"
            )))
        }
    })
}

pub(super) async fn read_postgres<F, Fut>(
    pool: &PgPool,
    text: &str,
    binds: &[serde_json::Value],
    batch_rows: usize,
    consume: &mut F,
    delivered: &mut usize,
) -> std::result::Result<usize, ReadError>
where
    F: FnMut(DataFrame) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut total = 0;
    let rows = pg_query(text, binds).fetch(pool);
    let builder =
        match stream_rows(rows, pg_push, batch_rows, consume, delivered, &mut total).await? {
            Some(b) => b,
            None => FrameBuilder::new(described_columns(pool, text).await),
        };
    flush(builder, consume, delivered).await?;
    Ok(total)
}
