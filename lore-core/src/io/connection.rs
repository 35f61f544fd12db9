//! A connection to a database named in `config/database.toml`.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::env::redact_url;
use crate::error::{Error, Result};

/// An open connection pool to one database.
#[derive(Debug, Clone)]
pub struct Connection {
    url: String,
    pool: SqlitePool,
}

impl Connection {
    /// Opens `url`; `create` makes a missing SQLite file instead of failing.
    pub async fn open(url: &str, create: bool) -> Result<Connection> {
        if !url.starts_with("sqlite:") {
            let scheme = url.split(':').next().unwrap_or(url);
            return Err(Error::Database {
                url: redact_url(url),
                message: format!(
                    "the `{scheme}` scheme is not supported yet; use a sqlite: URL in config/database.toml or $DATABASE_URL"
                ),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| database_error(url, e))?
            .create_if_missing(create);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| database_error(url, e))?;
        Ok(Connection {
            url: url.to_string(),
            pool,
        })
    }

    /// The URL with any password removed, for messages and logs.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The underlying pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs statements that return no rows (schema changes, inserts).
    pub async fn execute(&self, sql: &str) -> Result<()> {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// A database error from this connection.
    pub fn error(&self, e: impl std::fmt::Display) -> Error {
        database_error(&self.url, e)
    }

    /// Closes the pool, flushing pending writes.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn database_error(url: &str, e: impl std::fmt::Display) -> Error {
    Error::Database {
        url: redact_url(url),
        message: e.to_string(),
    }
}
