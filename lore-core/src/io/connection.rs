//! Named connections from `config/database.toml`: SQLite and PostgreSQL through sqlx, opened on
//! first use, with read replicas (rotated per statement, or sticky), one retry after a dropped
//! connection, a comment at the head of every statement naming who runs it, and URLs scrubbed of
//! passwords in every message.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Postgres, Sqlite};

use super::rows::{FrameBuilder, Value};
use super::sql::{self, Params, Placeholders};
use super::sqlite;
use crate::env::ConnectionConfig;
use crate::error::{Error, Result};
use crate::redact::redact_url;

mod read;
mod write;

use read::*;
use write::*;

/// The database behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite:` URLs).
    Sqlite,
    /// PostgreSQL (`postgres://` or `postgresql://` URLs).
    Postgres,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Who runs a statement; written as a comment at its head so a DBA sees it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The model being fitted, if any.
    pub model: Option<String>,
    /// The file (and line) the statement comes from.
    pub site: String,
}

/// A named connection; nothing is opened until the first statement.
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    app: String,
    backend: Backend,
    pools: tokio::sync::OnceCell<Vec<Pool>>,
    next: AtomicUsize,
}

fn backend_of(config: &ConnectionConfig) -> Result<Backend> {
    let mut backend = None;
    for url in &config.urls {
        let this = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            let scheme = url.split(':').next().unwrap_or(url);
            return Err(Error::Database {
                url: format!("[{}] {}", config.name, redact_url(url)),
                message: format!("the `{scheme}:` scheme is not supported; use sqlite: or postgres:// in config/database.toml"),
            });
        };
        if backend.is_some_and(|b| b != this) {
            return Err(Error::Database {
                url: format!("[{}]", config.name),
                message:
                    "mixes SQLite and PostgreSQL URLs; replicas must be the same kind of database"
                        .into(),
            });
        }
        backend = Some(this);
    }
    backend.ok_or_else(|| Error::Database {
        url: format!("[{}]", config.name),
        message: "has no URL".into(),
    })
}

/// Errors while streaming rows: from the database, from decoding, or from the consumer.
enum ReadError {
    Sql(sqlx::Error),
    Decode(String),
    Consumer(Error),
}

impl From<sqlx::Error> for ReadError {
    fn from(e: sqlx::Error) -> Self {
        ReadError::Sql(e)
    }
}

impl Connection {
    /// A connection for `config`, run on behalf of application `app`; opened on first use.
    pub fn new(config: ConnectionConfig, app: &str) -> Result<Connection> {
        Ok(Connection {
            backend: backend_of(&config)?,
            config,
            app: app.to_string(),
            pools: Default::default(),
            next: AtomicUsize::new(0),
        })
    }

    /// A single-URL connection; `create` makes a missing SQLite file (for Lore's own databases).
    pub async fn open(url: &str, create: bool) -> Result<Connection> {
        let mut config = ConnectionConfig::single("lore", url);
        config.create = create;
        Connection::new(config, "lore")
    }

    /// Its name in `config/database.toml`.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection's name and URL with any password removed, for messages and logs.
    pub fn display_url(&self) -> String {
        let first = self
            .config
            .urls
            .first()
            .map(|u| redact_url(u))
            .unwrap_or_default();
        match self.config.urls.len() {
            0 | 1 => format!("[{}] {first}", self.config.name),
            n => format!("[{}] {first} (+{} replicas)", self.config.name, n - 1),
        }
    }

    /// An identity for caches: the name and the URLs without credentials.
    pub fn identity(&self) -> String {
        let urls: Vec<String> = self.config.urls.iter().map(|u| redact_url(u)).collect();
        format!("{}|{}", self.config.name, urls.join(","))
    }

    /// A database error from this connection.
    pub fn error(&self, e: impl std::fmt::Display) -> Error {
        let message = self
            .config
            .urls
            .iter()
            .fold(e.to_string(), |m, u| m.replace(u.as_str(), &redact_url(u)));
        let message = crate::redact::redact(&message);
        Error::Database {
            url: self.display_url(),
            message,
        }
    }

    /// Opens every URL's pool on first use; each opens one connection at once, so an unreachable
    /// database fails here with the driver's own reason rather than a pool time-out.
    async fn pools(&self) -> Result<&[Pool]> {
        let pools = self
            .pools
            .get_or_try_init(|| async {
                let mut pools = Vec::with_capacity(self.config.urls.len());
                for url in &self.config.urls {
                    let pool = match self.backend {
                        Backend::Sqlite => {
                            let options = SqliteConnectOptions::from_str(url)
                                .map_err(|e| self.error(format!("bad URL: {e}")))?
                                .create_if_missing(self.config.create)
                                // Reads straight from the mapped file instead of copying every
                                // page through SQLite's small cache: a scan of a large table
                                // (runs filtered by JSON) is several times faster.
                                .pragma("mmap_size", sqlite::MMAP_SIZE.to_string());
                            self.pool_options()
                                .connect_with(options)
                                .await
                                .map(Pool::Sqlite)
                        }
                        Backend::Postgres => {
                            let options = PgConnectOptions::from_str(url)
                                .map_err(|e| self.error(format!("bad URL: {e}")))?;
                            // The pool reports any failure to connect as a time-out; one direct
                            // connection first gives the real reason (refused, bad password, ...).
                            let probe = tokio::time::timeout(
                                self.config.connect_timeout,
                                <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
                            )
                            .await;
                            match probe {
                                Err(_) => {
                                    return Err(self.error(format!(
                                        "cannot connect to {}: no answer within {:?}",
                                        redact_url(url),
                                        self.config.connect_timeout
                                    )))
                                }
                                Ok(Err(e)) => {
                                    return Err(self.error(format!(
                                        "cannot connect to {}: {e}",
                                        redact_url(url)
                                    )))
                                }
                                Ok(Ok(c)) => {
                                    let _ = sqlx::Connection::close(c).await;
                                }
                            }
                            self.pool_options()
                                .connect_with(options)
                                .await
                                .map(Pool::Postgres)
                        }
                    };
                    pools.push(pool.map_err(|e| {
                        self.error(format!("cannot connect to {}: {e}", redact_url(url)))
                    })?);
                }
                Ok::<_, Error>(pools)
            })
            .await?;
        Ok(pools)
    }

    async fn pool(&self) -> Result<Pool> {
        let pools = self.pools().await?;
        let index = if self.config.sticky {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % pools.len().max(1)
        };
        pools
            .get(index)
            .cloned()
            .ok_or_else(|| self.error("has no URL"))
    }

    /// How this connection's SQL writes bound parameters.
    pub fn placeholders(&self) -> Placeholders {
        match self.backend {
            Backend::Sqlite => Placeholders::Question,
            Backend::Postgres => Placeholders::Dollar,
        }
    }

    fn comment(&self, origin: &Origin) -> String {
        let clean = |s: &str| s.replace("*/", "* /");
        let mut parts = vec![clean(&self.app)];
        if let Some(model) = &origin.model {
            parts.push(format!("model={}", clean(model)));
        }
        if !origin.site.is_empty() {
            parts.push(clean(&origin.site));
        }
        format!("/* {} */\n", parts.join(" | "))
    }

    /// Runs statements that return no rows (schema changes), with no parameters.
    pub async fn execute(&self, statements: &str) -> Result<()> {
        match self.pool().await? {
            Pool::Sqlite(p) => sqlx::raw_sql(statements).execute(&p).await.map(|_| ()),
            Pool::Postgres(p) => sqlx::raw_sql(statements).execute(&p).await.map(|_| ()),
        }
        .map_err(|e| self.error(e))
    }

    /// The pool settings of this connection's `config/database.toml` section, for either backend.
    fn pool_options<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        sqlx::pool::PoolOptions::new()
            .max_connections(self.config.pool_size)
            .acquire_timeout(self.config.connect_timeout)
            .idle_timeout(self.config.idle_timeout)
    }

    /// Runs one statement with `:name` parameters bound from `params`; returns rows affected.
    pub async fn execute_with(
        &self,
        statement: &str,
        params: &Params,
        origin: &Origin,
    ) -> Result<u64> {
        let parsed = sql::parse(statement, self.placeholders());
        let binds = sql::binds(&parsed, params, &origin.site)?;
        let text = format!("{}{}", self.comment(origin), parsed.sql);
        match self.pool().await? {
            Pool::Sqlite(p) => sqlite_query(&text, &binds)
                .execute(&p)
                .await
                .map(|r| r.rows_affected()),
            Pool::Postgres(p) => pg_query(&text, &binds)
                .execute(&p)
                .await
                .map(|r| r.rows_affected()),
        }
        .map_err(|e| self.error(e))
    }

    /// Runs statements with `:name` parameters in one transaction: all of them, or none.
    pub async fn execute_all(&self, statements: &[(&str, &Params)], origin: &Origin) -> Result<()> {
        let mut prepared = Vec::with_capacity(statements.len());
        for (statement, params) in statements {
            let parsed = sql::parse(statement, self.placeholders());
            let binds = sql::binds(&parsed, params, &origin.site)?;
            prepared.push((format!("{}{}", self.comment(origin), parsed.sql), binds));
        }
        let done = match self.pool().await? {
            Pool::Sqlite(p) => in_transaction(&p, &prepared).await,
            Pool::Postgres(p) => in_transaction(&p, &prepared).await,
        };
        done.map_err(|e| self.error(e))
    }

    /// Runs a query with `:name` parameters bound and returns all its rows as one data frame.
    pub async fn query_frame(
        &self,
        statement: &str,
        params: &Params,
        origin: &Origin,
    ) -> Result<DataFrame> {
        let mut frames = Vec::new();
        self.query_batches(statement, params, origin, usize::MAX, |df| {
            frames.push(df);
            async { Ok(()) }
        })
        .await?;
        concat(frames)
    }

    /// Runs a query and hands its rows to `consume` in data frames of at most `batch_rows` rows
    /// (at least one frame, empty when there are no rows); returns the number of rows.
    pub async fn query_batches<F, Fut>(
        &self,
        statement: &str,
        params: &Params,
        origin: &Origin,
        batch_rows: usize,
        consume: F,
    ) -> Result<usize>
    where
        F: FnMut(DataFrame) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let parsed = sql::parse(statement, self.placeholders());
        let binds = sql::binds(&parsed, params, &origin.site)?;
        self.query_positional(&parsed.sql, &binds, origin, batch_rows, consume)
            .await
    }

    /// Like [`Connection::query_batches`] for SQL already in this driver's placeholder style,
    /// with its values in order.
    pub async fn query_positional<F, Fut>(
        &self,
        sql: &str,
        binds: &[serde_json::Value],
        origin: &Origin,
        batch_rows: usize,
        mut consume: F,
    ) -> Result<usize>
    where
        F: FnMut(DataFrame) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let text = format!("{}{sql}", self.comment(origin));
        let batch_rows = batch_rows.max(1);
        let mut retried = false;
        loop {
            let mut delivered = 0usize;
            let result = match self.pool().await? {
                Pool::Sqlite(p) => {
                    read_sqlite(&p, &text, binds, batch_rows, &mut consume, &mut delivered).await
                }
                Pool::Postgres(p) => {
                    read_postgres(&p, &text, binds, batch_rows, &mut consume, &mut delivered).await
                }
            };
            match result {
                Ok(rows) => return Ok(rows),
                Err(ReadError::Sql(e)) if !retried && delivered == 0 && is_disconnect(&e) => {
                    tracing::warn!(
                        "{}: connection dropped ({e}); retrying once",
                        self.display_url()
                    );
                    retried = true;
                }
                Err(ReadError::Sql(e)) => {
                    return Err(match error_line(&e, &text, sql) {
                        Some(line) => self.error(format!("line {line}: {e}")),
                        None => self.error(e),
                    })
                }
                Err(ReadError::Decode(m)) => return Err(self.error(m)),
                Err(ReadError::Consumer(e)) => return Err(e),
            }
        }
    }

    /// Appends `df` to `table`: batched inserts in one transaction on SQLite, `COPY ... FROM
    /// STDIN` on PostgreSQL. The table must exist.
    pub async fn insert(&self, table: &str, df: &DataFrame) -> Result<u64> {
        let table = sql::identifier(table)?;
        match self.pool().await? {
            Pool::Sqlite(p) => insert_sqlite(&p, &table, df)
                .await
                .map_err(|e| self.error(e)),
            Pool::Postgres(p) => copy_postgres(&p, &table, df)
                .await
                .map_err(|e| self.error(e)),
        }
    }

    /// Replaces `table` with `df` atomically: loads a new table, then in one transaction keeps the
    /// old one as `<table>_backup` (dropping an older backup) and renames the new one into place.
    pub async fn replace(&self, table: &str, df: &DataFrame) -> Result<u64> {
        let name = sql::identifier(table)?;
        let fresh = sql::identifier(&format!("{table}_lore_new"))?;
        let backup = sql::identifier(&format!("{table}_backup"))?;
        let columns = sql::column_definitions(df, self.backend)?;
        self.execute(&format!(
            "DROP TABLE IF EXISTS {fresh}; CREATE TABLE {fresh} ({columns});"
        ))
        .await?;
        let rows = self.insert(&format!("{table}_lore_new"), df).await?;
        let exists = self.table_exists(table).await?;
        let swap = if exists {
            format!("DROP TABLE IF EXISTS {backup}; ALTER TABLE {name} RENAME TO {backup}; ALTER TABLE {fresh} RENAME TO {name};")
        } else {
            format!("ALTER TABLE {fresh} RENAME TO {name};")
        };
        match self.pool().await? {
            Pool::Sqlite(p) => transaction(&p, &swap).await,
            Pool::Postgres(p) => transaction(&p, &swap).await,
        }
        .map_err(|e| self.error(e))?;
        Ok(rows)
    }

    /// Whether `table` exists.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let statement = match self.backend {
            Backend::Sqlite => {
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = :table"
            }
            Backend::Postgres => {
                "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = :table"
            }
        };
        let params = BTreeMap::from([("table".to_string(), serde_json::json!(table))]);
        let df = self
            .query_frame(statement, &params, &Origin::default())
            .await?;
        Ok(df
            .column("n")
            .ok()
            .and_then(|c| c.cast(&DataType::Int64).ok())
            .and_then(|c| c.i64().ok().and_then(|c| c.get(0)))
            .unwrap_or(0)
            > 0)
    }

    /// Applies Lore's migrations (the metadata tables) to this database.
    pub async fn migrate(&self) -> Result<()> {
        // One folder per backend, because JSON columns and sequences are spelled differently.
        static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
        static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
        match self.pool().await? {
            Pool::Sqlite(p) => SQLITE.run(&p).await,
            Pool::Postgres(p) => POSTGRES.run(&p).await,
        }
        .map_err(|e| self.error(format!("migrating: {e}")))
    }

    /// Closes every pool, flushing pending writes.
    pub async fn close(self) {
        if let Some(pools) = self.pools.get() {
            for pool in pools {
                match pool {
                    Pool::Sqlite(p) => p.close().await,
                    Pool::Postgres(p) => p.close().await,
                }
            }
        }
    }
}

/// Stacks frames read in batches into one.
pub(crate) fn concat(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut iter = frames.into_iter();
    let mut first = iter.next().unwrap_or_default();
    for df in iter {
        first.vstack_mut(&df)?;
    }
    first.rechunk_mut();
    Ok(first)
}

/// The line of `sql` (without Lore's comment) that a database error points at: PostgreSQL gives a
/// position; SQLite names the token it stopped near.
fn error_line(e: &sqlx::Error, sent: &str, sql: &str) -> Option<usize> {
    let db = e.as_database_error()?;
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(sqlx::postgres::PgErrorPosition::Original(position)) = pg.position() {
            // `sent` is Lore's one-line comment, then `sql`: its line 2 is the SQL's line 1.
            let before: String = sent.chars().take(position.saturating_sub(1)).collect();
            return Some(before.matches('\n').count().max(1));
        }
        return None;
    }
    let message = db.message();
    let token = message.strip_prefix("near \"")?.split("\": ").next()?;
    sql.lines().position(|l| l.contains(token)).map(|i| i + 1)
}

/// Whether `e` means the connection went away rather than the statement failing: I/O and
/// protocol errors, or PostgreSQL's connection-exception (08) and shutdown (57P01-57P03) codes,
/// which a server sends when an administrator or a restart ends the session.
fn is_disconnect(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// `text` with `binds` bound in order, for the database `DB`: JSON numbers as integers where
/// they are whole, else floats; strings as text; anything else as its JSON text.
fn bound<'q, DB>(
    text: &'q str,
    binds: &[serde_json::Value],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query(text);
    for value in binds {
        q = match value {
            serde_json::Value::Null => q.bind(None::<String>),
            serde_json::Value::Bool(b) => q.bind(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => q.bind(i),
                None => q.bind(n.as_f64()),
            },
            serde_json::Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.to_string()),
        };
    }
    q
}

/// Runs each statement with its binds in one transaction on `pool`: all of them, or none.
async fn in_transaction<DB>(
    pool: &sqlx::Pool<DB>,
    statements: &[(String, Vec<serde_json::Value>)],
) -> std::result::Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut tx = pool.begin().await?;
    for (text, binds) in statements {
        bound::<DB>(text, binds).execute(&mut *tx).await?;
    }
    tx.commit().await
}

fn sqlite_query<'q>(
    text: &'q str,
    binds: &[serde_json::Value],
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    bound::<Sqlite>(text, binds)
}

fn pg_query<'q>(
    text: &'q str,
    binds: &[serde_json::Value],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    bound::<Postgres>(text, binds)
}

/// A date in text as SQLite extracts read it (its first ten characters, `YYYY-MM-DD`).
pub(super) fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

/// A timestamp in text as SQLite extracts read it (or a date, at midnight).
pub(super) fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server error with only a SQLSTATE, as PostgreSQL sends when it ends a session.
    #[derive(Debug)]
    struct ServerSaid(&'static str);

    impl std::fmt::Display for ServerSaid {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for ServerSaid {}

    impl sqlx::error::DatabaseError for ServerSaid {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn an_ended_session_is_a_disconnect_and_a_bad_statement_is_not() {
        let said = |code| sqlx::Error::Database(Box::new(ServerSaid(code)));
        for code in ["57P01", "57P02", "57P03", "08006", "08003"] {
            assert!(is_disconnect(&said(code)), "{code}");
        }
        for code in ["42601", "42P01", "23505"] {
            assert!(!is_disconnect(&said(code)), "{code}");
        }
        assert!(is_disconnect(&sqlx::Error::PoolClosed));
        assert!(!is_disconnect(&sqlx::Error::RowNotFound));
    }
}
