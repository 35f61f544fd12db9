//! Data in and out: named connections, SQL extracts with bound parameters, the query cache,
//! streaming reads, writing tables, data files, and object storage (S3).
//!
//! ```no_run
//! # async fn demo(project: &lore_core::env::Project) -> lore_core::Result<()> {
//! let db = lore_core::io::Database::new(project)?;
//! let main = db.connection("main")?;
//! let params = [("limit".to_string(), serde_json::json!(1000))].into();
//! let users = main.dataframe("users", &params).await?;
//! # Ok(()) }
//! ```

pub mod cache;
pub mod connection;
pub mod extract;
pub mod files;
pub mod rows;
pub mod s3;
pub mod sql;
mod sqlite;

use std::collections::HashMap;
use std::panic::Location;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

pub use cache::QueryCache;
pub use connection::{Backend, Connection, Origin};
pub use extract::{Extract, ExtractSpec};
pub use sql::Params;

use crate::env::Project;
use crate::error::{Error, Result};
use crate::progress::RowsProgress;

/// A project's databases: its named connections (opened on first use), extracts and query cache.
#[derive(Debug)]
pub struct Database {
    project: Project,
    cache: Arc<QueryCache>,
    open: Mutex<HashMap<String, Arc<Connection>>>,
}

/// How one extract is read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Use the query cache (`Some`), or the extract spec's choice (`None`, which means no for calls
    /// that have no spec).
    pub cache: Option<bool>,
    /// Who runs it, for the statement's comment.
    pub origin: Origin,
}

/// A connection of a project, with the project's extracts and cache at hand.
#[derive(Debug, Clone)]
pub struct ProjectConnection {
    connection: Arc<Connection>,
    extracts: PathBuf,
    cache: Arc<QueryCache>,
}

impl Database {
    /// The databases of `project`; nothing is opened yet.
    pub fn new(project: &Project) -> Result<Database> {
        Ok(Database {
            project: project.clone(),
            cache: Arc::new(QueryCache::for_data_dir(&project.data_dir())?),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The query cache.
    pub fn cache(&self) -> &QueryCache {
        &self.cache
    }

    /// Connection `name` of `config/database.toml` (its pools open on the first statement).
    pub fn connection(&self, name: &str) -> Result<ProjectConnection> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| Error::Data("connection registry poisoned".into()))?;
        let connection = match open.get(name) {
            Some(c) => c.clone(),
            None => {
                let c = Arc::new(Connection::new(
                    self.project.connection(name)?,
                    &self.project.name,
                )?);
                open.insert(name.to_string(), c.clone());
                c
            }
        };
        Ok(ProjectConnection {
            connection,
            extracts: self.project.extracts_dir(),
            cache: self.cache.clone(),
        })
    }
}

/// Rows of an extract delivered a data frame at a time.
pub struct Batches {
    rx: tokio::sync::mpsc::Receiver<Result<DataFrame>>,
}

impl Batches {
    /// The next batch, or `None` after the last.
    pub async fn next(&mut self) -> Option<Result<DataFrame>> {
        self.rx.recv().await
    }
}

impl ProjectConnection {
    /// The underlying connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Reads extract `name` with `params` bound into a data frame; the statement's comment names
    /// the caller's file and line.
    #[track_caller]
    pub fn dataframe<'a>(
        &'a self,
        name: &'a str,
        params: &'a Params,
    ) -> impl std::future::Future<Output = Result<DataFrame>> + 'a {
        let caller = Location::caller();
        let origin = Origin {
            model: None,
            site: format!("{}:{}", caller.file(), caller.line()),
        };
        async move {
            self.read(
                name,
                params,
                &ReadOptions {
                    cache: None,
                    origin,
                },
            )
            .await
        }
    }

    /// Reads extract `name` with `params`, through the query cache when `options` asks for it.
    pub async fn read(
        &self,
        name: &str,
        params: &Params,
        options: &ReadOptions,
    ) -> Result<DataFrame> {
        let extract = Extract::load(&self.extracts, name)?;
        self.read_extract(&extract, params, options).await
    }

    /// The query cache key of `extract` run with `params` on this connection: what its rows are
    /// cached under, and what anything computed from them alone can be keyed by.
    pub fn extract_key(&self, extract: &Extract, params: &Params) -> Result<String> {
        let (sql, binds) = extract.render(params, self.connection.placeholders())?;
        Ok(QueryCache::key(&self.connection.identity(), &sql, &binds))
    }

    /// The project's query cache.
    pub fn cache(&self) -> &QueryCache {
        &self.cache
    }

    /// Runs an already loaded extract (or inline SQL) with `params`.
    pub async fn read_extract(
        &self,
        extract: &Extract,
        params: &Params,
        options: &ReadOptions,
    ) -> Result<DataFrame> {
        let (sql, binds) = extract.render(params, self.connection.placeholders())?;
        let key = QueryCache::key(&self.connection.identity(), &sql, &binds);
        let cached = options.cache.unwrap_or(false);
        if cached {
            if let Some(df) = self.cache.get(&key)? {
                tracing::info!(
                    extract = extract.name,
                    rows = df.height(),
                    "read from the query cache"
                );
                return Ok(df);
            }
        }
        let mut origin = options.origin.clone();
        if origin.site.is_empty() {
            origin.site = extract.path.display().to_string();
        }
        let progress = RowsProgress::new(&format!("reading {}", extract.name));
        let mut frames = Vec::new();
        let total = self
            .connection
            .query_positional(&sql, &binds, &origin, 65_536, |df| {
                progress.add(df.height());
                frames.push(df);
                async { Ok(()) }
            })
            .await
            .map_err(|e| at_extract(e, extract))?;
        progress.finish();
        let df = connection::concat(frames)?;
        tracing::info!(
            extract = extract.name,
            rows = total,
            "read from {}",
            self.connection.display_url()
        );
        if cached {
            self.cache.put(&key, &df)?;
        }
        Ok(df)
    }

    /// Streams extract `name` in data frames of at most `rows_per_batch` rows, for extracts larger
    /// than memory; reading runs ahead by at most one batch.
    pub async fn batches(
        &self,
        name: &str,
        params: &Params,
        rows_per_batch: usize,
        origin: Origin,
    ) -> Result<Batches> {
        let extract = Extract::load(&self.extracts, name)?;
        let (sql, binds) = extract.render(params, self.connection.placeholders())?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let connection = self.connection.clone();
        tokio::spawn(async move {
            let sender = tx.clone();
            let result = connection
                .query_positional(&sql, &binds, &origin, rows_per_batch, |df| {
                    let sender = sender.clone();
                    async move {
                        sender
                            .send(Ok(df))
                            .await
                            .map_err(|_| Error::Data("the batch reader was dropped".into()))
                    }
                })
                .await;
            if let Err(e) = result {
                let _ = tx.send(Err(at_extract(e, &extract))).await;
            }
        });
        Ok(Batches { rx })
    }

    /// Appends `df` to `table`.
    pub async fn insert(&self, table: &str, df: &DataFrame) -> Result<u64> {
        self.connection.insert(table, df).await
    }

    /// Replaces `table` with `df`, keeping the previous one as `<table>_backup`.
    pub async fn replace(&self, table: &str, df: &DataFrame) -> Result<u64> {
        self.connection.replace(table, df).await
    }
}

/// Adds the extract's file to a database error.
fn at_extract(e: Error, extract: &Extract) -> Error {
    match e {
        Error::Database { url, message } => Error::Database {
            url,
            message: format!("{}: {message}", extract.path.display()),
        },
        other => other,
    }
}
