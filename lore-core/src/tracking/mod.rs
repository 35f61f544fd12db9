//! Runs: every fit, evaluation and search trial is a run, a nested JSON document (`params...`,
//! `metrics.test.auc`, `data.rows`, `tags`, timings, artifact paths) in the project's metadata
//! database, found again with a [`Filter`] that runs in the database as SQL over JSON.

pub mod filter;
pub mod indexes;
pub mod logged;

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use filter::{Filter, Path};

use crate::env::{absolute_sqlite_url, expand_vars, Project};
use crate::error::{Error, Result};
use crate::frame;
use crate::io::{Backend, Connection, Origin};

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A fit that left a fitting.
    Fit,
    /// An evaluation of a fitting on new rows.
    Evaluate,
    /// One trial of a hyper-parameter search.
    Trial,
    /// A check of new data against a fitting's profile (`lore check`).
    Check,
    /// A challenger fitted with feedback, scored against the served fitting (`lore retrain`).
    Retrain,
}

crate::choices::choices!(RunKind by "kind" as "a kind of run" {
    Fit => "fit",
    Evaluate => "evaluate",
    Trial => "trial",
    Check => "check",
    Retrain => "retrain",
});

/// One run: a JSON document with at least `run_id`, `kind`, `model` and `started_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Run {
    document: Map<String, Value>,
}

impl Run {
    /// A run of `kind` on `model` named `id`, starting now, with no tags yet.
    pub fn new(kind: RunKind, model: &str, id: &str) -> Run {
        let mut document = Map::new();
        document.insert("run_id".into(), json!(id));
        document.insert("kind".into(), json!(kind.name()));
        document.insert("model".into(), json!(model));
        document.insert("started_at".into(), json!(chrono::Utc::now().to_rfc3339()));
        document.insert("tags".into(), json!({}));
        Run { document }
    }

    /// A run from a stored document, which must be an object with a `run_id`.
    pub fn from_document(document: Value) -> Result<Run> {
        match document {
            Value::Object(document) if document.get("run_id").is_some_and(Value::is_string) => {
                Ok(Run { document })
            }
            other => Err(Error::Data(format!(
                "a run document must be an object with a text run_id; got {}",
                truncate(&other.to_string())
            ))),
        }
    }

    fn text(&self, key: &str) -> &str {
        self.document
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The run's id.
    pub fn id(&self) -> &str {
        self.text("run_id")
    }

    /// `fit`, `evaluate` or `trial`.
    pub fn kind(&self) -> &str {
        self.text("kind")
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        self.text("model")
    }

    /// When the run started (RFC 3339).
    pub fn started_at(&self) -> &str {
        self.text("started_at")
    }

    /// The fitting the run made or used, if any.
    pub fn fitting_id(&self) -> Option<&str> {
        self.document.get("fitting_id").and_then(Value::as_str)
    }

    /// The whole document.
    pub fn document(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The value at a dotted path (`metrics.test.auc`), if the run has one.
    pub fn get(&self, path: &str) -> Option<&Value> {
        get_in(&self.document, &Path::parse(path).ok()?)
    }

    /// Stores `value` at a dotted path (`data.source`), making the objects on the way; an
    /// existing value there is replaced. The run's id, kind and model cannot be changed.
    pub fn store(&mut self, path: &str, value: impl Serialize) -> Result<()> {
        let bad = |message: String| Error::InvalidParam {
            key: path.to_string(),
            message,
        };
        let parsed = Path::parse(path)?;
        let keys: Vec<&str> = parsed
            .0
            .iter()
            .map(|s| match s {
                filter::Step::Key(k) => Ok(k.as_str()),
                filter::Step::Index(i) => Err(bad(format!(
                    "`{i}` is an array index; a run stores values under keys"
                ))),
            })
            .collect::<Result<_>>()?;
        if let [only] = keys.as_slice() {
            if matches!(*only, "run_id" | "kind" | "model") {
                return Err(bad(format!(
                    "`{only}` names the run itself and cannot be replaced"
                )));
            }
        }
        let value = serde_json::to_value(value).map_err(|e| bad(e.to_string()))?;
        let (last, parents) = keys.split_last().ok_or_else(|| bad("is empty".into()))?;
        let mut at = &mut self.document;
        for key in parents {
            let slot = at.entry(key.to_string()).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            at = match slot {
                Value::Object(map) => map,
                _ => return Err(bad(format!("`{key}` is not an object"))),
            };
        }
        at.insert(last.to_string(), value);
        Ok(())
    }
}

impl Run {
    /// Every value of the document at its dotted path, in document order; objects are walked
    /// into, arrays (confusion matrices, lists of names) kept whole.
    pub fn flatten(&self) -> Vec<(String, Value)> {
        fn walk(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
            match value {
                Value::Object(map) if !map.is_empty() => {
                    for (k, v) in map {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        walk(v, p, out);
                    }
                }
                Value::Object(_) => {}
                other => out.push((path, other.clone())),
            }
        }
        let mut out = Vec::new();
        walk(
            &Value::Object(self.document.clone()),
            String::new(),
            &mut out,
        );
        out
    }
}

/// Runs flattened side by side: every dotted path any of them has, in the order first met, and
/// each run's values by path.
pub fn flat(runs: &[Run]) -> (Vec<String>, Vec<BTreeMap<String, Value>>) {
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let rows = runs
        .iter()
        .map(|run| {
            let values = run.flatten();
            for (k, _) in &values {
                if seen.insert(k.clone()) {
                    names.push(k.clone());
                }
            }
            values.into_iter().collect()
        })
        .collect();
    (names, rows)
}

/// Whether some run of `runs` has `key`, a value's dotted path or a section of them; else the
/// closest path they have, when one is close, for a "did you mean".
pub fn known_key(runs: &[Run], key: &str) -> std::result::Result<(), Option<String>> {
    let (names, _) = flat(runs);
    let section = format!("{key}.");
    if runs.is_empty() || names.iter().any(|n| n == key || n.starts_with(&section)) {
        return Ok(());
    }
    Err(names
        .into_iter()
        .map(|n| (strsim::jaro_winkler(key, &n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n))
}

/// Runs as a table: one row each, one column per dotted path any of them has (numbers,
/// true/false or text; arrays as JSON text), for `lore runs export`.
pub fn table(runs: &[Run]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let (names, flat) = flat(runs);
    let columns: Vec<Column> = names
        .iter()
        .map(|name| {
            let values: Vec<Option<&Value>> = flat
                .iter()
                .map(|r| r.get(name).filter(|v| !v.is_null()))
                .collect();
            let present = || values.iter().flatten();
            let values = values.iter();
            let column = if present().all(|v| v.is_number()) {
                let numbers = values.map(|v| v.and_then(Value::as_f64));
                numbers.collect::<Float64Chunked>().into_column()
            } else if present().all(|v| v.is_boolean()) {
                let flags = values.map(|v| v.and_then(Value::as_bool));
                flags.collect::<BooleanChunked>().into_column()
            } else {
                let text = |v: &Value| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values
                    .map(|v| v.map(text))
                    .collect::<StringChunked>()
                    .into_column()
            };
            column.with_name(name.into())
        })
        .collect();
    Ok(DataFrame::new(runs.len(), columns)?)
}

/// The value at `path` in an object.
fn get_in<'a>(document: &'a Map<String, Value>, path: &Path) -> Option<&'a Value> {
    let (first, rest) = path.0.split_first()?;
    let filter::Step::Key(k) = first else {
        return None;
    };
    Path(rest.to_vec()).get(document.get(k)?)
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// The metadata database URL: `[metadata]` in `config/database.toml`, else
/// `$LORE_METADATA_URL`, else `data/metadata.sqlite`.
pub fn metadata_url(project: &Project) -> Result<String> {
    if let Some(config) = project.connection_opt("metadata")? {
        if let Some(url) = config.urls.into_iter().next() {
            return Ok(url);
        }
    }
    let raw =
        expand_vars("${LORE_METADATA_URL:-sqlite:data/metadata.sqlite}").map_err(Error::Data)?;
    Ok(absolute_sqlite_url(&raw, &project.root))
}

/// The project's metadata database, opened and migrated.
pub async fn open(project: &Project) -> Result<Connection> {
    std::fs::create_dir_all(project.data_dir()).map_err(|e| Error::io(project.data_dir(), e))?;
    let connection = Connection::open(&metadata_url(project)?, true).await?;
    connection.migrate().await?;
    Ok(connection)
}

fn origin(site: &str) -> Origin {
    Origin {
        model: None,
        site: format!("lore tracking: {site}"),
    }
}

/// What `lore runs` asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only this model's runs.
    pub model: Option<String>,
    /// Only runs of this kind.
    pub kind: Option<RunKind>,
    /// Only runs passing this filter.
    pub filter: Option<Filter>,
    /// Sort keys, each descending when `true`; ties and the default go newest first.
    pub sort: Vec<(Path, bool)>,
    /// At most this many runs.
    pub limit: Option<usize>,
}

/// Records runs, or replaces those already recorded under the same ids, all or none.
pub async fn record(project: &Project, runs: &[Run]) -> Result<()> {
    let connection = open(project).await?;
    let (document, params) = match connection.backend() {
        Backend::Sqlite => ("jsonb(:document)", "jsonb(:params)"),
        Backend::Postgres => ("CAST(:document AS jsonb)", "CAST(:params AS jsonb)"),
    };
    let run_sql = format!(
        "INSERT INTO runs (run_id, kind, model, fitting_id, started_at, document)
         VALUES (:run_id, :kind, :model, :fitting_id, :started_at, {document})
         ON CONFLICT (run_id) DO UPDATE SET kind = excluded.kind, model = excluded.model,
             fitting_id = excluded.fitting_id, started_at = excluded.started_at,
             document = excluded.document"
    );
    let params_sql = format!(
        "INSERT INTO run_params (run_id, params) VALUES (:run_id, {params})
         ON CONFLICT (run_id) DO UPDATE SET params = excluded.params"
    );
    let mut binds = Vec::with_capacity(runs.len());
    for run in runs {
        let mut document = run.document.clone();
        // A run without params has no row in run_params, so it comes back without them.
        let params = document.remove("params");
        binds.push((
            BTreeMap::from([
                ("run_id".to_string(), json!(run.id())),
                ("kind".to_string(), json!(run.kind())),
                ("model".to_string(), json!(run.model())),
                ("fitting_id".to_string(), json!(run.fitting_id())),
                ("started_at".to_string(), json!(run.started_at())),
                (
                    "document".to_string(),
                    json!(Value::Object(document).to_string()),
                ),
            ]),
            BTreeMap::from([
                ("run_id".to_string(), json!(run.id())),
                ("params".to_string(), json!(params.map(|p| p.to_string()))),
            ]),
        ));
    }
    let no_params = "DELETE FROM run_params WHERE run_id = :run_id";
    let mut statements = Vec::with_capacity(2 * runs.len());
    for (run, params) in &binds {
        statements.push((run_sql.as_str(), run));
        let sql = match params.get("params") {
            Some(Value::Null) | None => no_params,
            Some(_) => params_sql.as_str(),
        };
        statements.push((sql, params));
    }
    let done = connection.execute_all(&statements, &origin("record")).await;
    connection.close().await;
    done
}

/// The runs `query` asks for, filtered, sorted and limited in the database.
pub async fn search(project: &Project, query: &Query) -> Result<Vec<Run>> {
    let connection = open(project).await?;
    let found = search_on(&connection, query).await;
    connection.close().await;
    found
}

/// How many runs, first in a limited query's order, it reads before it looks keys up in
/// indexes: where matches are common, reading those and stopping at the limit is quicker than
/// gathering every match from an index and sorting them.
const WINDOW: usize = 10_000;

/// [`search`] on an open metadata database.
///
/// On SQLite every key the query compares or sorts by gets an index (see [`indexes`]). A query
/// with a limit first reads only the runs up to the [`WINDOW`]th in its order (the newest, or
/// by its first sort key), checking its conditions on each; if that gives the limit, those are
/// the answer. Otherwise, or without a limit, the database answers from the indexes.
pub async fn search_on(connection: &Connection, query: &Query) -> Result<Vec<Run>> {
    let mut keys: Vec<&Path> = query.sort.iter().map(|(p, _)| p).collect();
    if let Some(filter) = &query.filter {
        keys.extend(filter.compared());
    }
    let indexed = indexes::ensure(connection, &keys).await?;
    let conditional = query.filter.is_some() || query.kind.is_some();
    if let (Backend::Sqlite, Some(limit), true) = (connection.backend(), query.limit, conditional) {
        // `Some(None)`: the window is every run the query could pick.
        let window = match query.sort.first() {
            None => Some(newest_window(connection, query).await?),
            Some((path, descending)) if indexed.contains(&path.to_string()) => {
                key_window(connection, path, *descending).await?.map(Some)
            }
            Some(_) => None,
        };
        if let Some(bound) = window {
            let runs = select(connection, query, false, bound.as_ref()).await?;
            if bound.is_none() || runs.len() >= limit {
                return Ok(runs);
            }
        }
    }
    select(connection, query, true, None).await
}

/// A condition keeping a query to a window of runs, with its parameter.
type Bound = (String, (String, Value));

/// The newest [`WINDOW`] runs `query` could pick (of its model, if it names one), or `None`
/// when there are no more runs than that.
async fn newest_window(connection: &Connection, query: &Query) -> Result<Option<Bound>> {
    let mut params = BTreeMap::new();
    let of_model = match &query.model {
        Some(model) => {
            params.insert("model".to_string(), json!(model));
            "WHERE model = :model"
        }
        None => "",
    };
    let statement = format!(
        "SELECT run_id FROM runs {of_model} ORDER BY run_id DESC LIMIT 1 OFFSET {}",
        WINDOW - 1
    );
    let df = connection
        .query_frame(&statement, &params, &origin("search"))
        .await?;
    let floor = match df.height() {
        0 => None,
        _ => frame::strings(&df, "run_id", "lore runs")?
            .into_iter()
            .next()
            .flatten(),
    };
    Ok(floor.map(|floor| {
        (
            "r.run_id >= :window".into(),
            ("window".into(), json!(floor)),
        )
    }))
}

/// The runs whose value at `path` is among the first [`WINDOW`] in the sort's direction (ties
/// at the edge included), read from the key's index; `None` when fewer runs hold the key.
async fn key_window(
    connection: &Connection,
    path: &Path,
    descending: bool,
) -> Result<Option<Bound>> {
    let key = filter::SqliteKey::of(path)?;
    let (direction, within) = match descending {
        true => ("DESC", ">="),
        false => ("ASC", "<="),
    };
    let x = key.expression();
    // Every number and text is at least minus infinity: the range skips the runs without the
    // key within the index, where `IS NOT NULL` would read each run's document.
    let statement = format!(
        "SELECT {x} AS edge FROM {table} WHERE {x} >= -9e999 ORDER BY {x} {direction}
         LIMIT 1 OFFSET {}",
        WINDOW - 1,
        table = key.table,
    );
    let df = connection
        .query_frame(&statement, &BTreeMap::new(), &origin("search"))
        .await?;
    if df.height() == 0 {
        return Ok(None);
    }
    let edge = frame::column(&df, "edge", "lore runs")?;
    let edge = match edge.dtype() {
        polars::prelude::DataType::String => frame::strings(&df, "edge", "lore runs")?
            .into_iter()
            .next()
            .flatten()
            .map(Value::from),
        _ => frame::numbers(&df, "edge", "lore runs")?
            .into_iter()
            .next()
            .flatten()
            .map(Value::from),
    };
    Ok(edge.map(|edge| {
        let condition = format!("{} {within} :window", key.in_query());
        (condition, ("window".into(), edge))
    }))
}

/// Runs `query` in the database: conditions looked up in indexes where `indexed`, and only
/// runs within `window` where given.
async fn select(
    connection: &Connection,
    query: &Query,
    indexed: bool,
    window: Option<&Bound>,
) -> Result<Vec<Run>> {
    let mut sql = match indexed {
        true => filter::Sql::new(connection.backend()),
        false => filter::Sql::unindexed(connection.backend(), query.sort.first().map(|(p, _)| p)),
    };
    let mut conditions = Vec::new();
    let mut params = BTreeMap::new();
    if let Some(model) = &query.model {
        conditions.push("r.model = :model".to_string());
        params.insert("model".to_string(), json!(model));
    }
    if let Some(kind) = query.kind {
        conditions.push("r.kind = :kind".to_string());
        params.insert("kind".to_string(), json!(kind.name()));
    }
    if let Some((condition, (name, value))) = window {
        conditions.push(condition.clone());
        params.insert(name.clone(), value.clone());
    }
    if let Some(filter) = &query.filter {
        conditions.push(sql.condition(filter)?);
    }
    let mut order = Vec::new();
    for (path, descending) in &query.sort {
        order.push(sql.order(path, *descending)?);
    }
    order.push("r.run_id DESC".to_string());
    let (document, run_params) = match connection.backend() {
        Backend::Sqlite => ("json(r.document)", "json(p.params)"),
        Backend::Postgres => ("r.document::text", "p.params::text"),
    };
    // A filter only runs with params pass may start from an index on a param.
    let join = match query.filter.as_ref().is_some_and(Filter::needs_params) {
        true => "JOIN",
        false => "LEFT JOIN",
    };
    let mut statement = format!(
        "SELECT r.run_id AS run_id, {document} AS document, {run_params} AS params
         FROM runs r {join} run_params p ON p.run_id = r.run_id"
    );
    if !conditions.is_empty() {
        statement += &format!(" WHERE {}", conditions.join(" AND "));
    }
    statement += &format!(" ORDER BY {}", order.join(", "));
    if let Some(limit) = query.limit {
        statement += " LIMIT :limit";
        params.insert("limit".to_string(), json!(limit));
    }
    params.extend(sql.params);
    let df = connection
        .query_frame(&statement, &params, &origin("search"))
        .await?;
    runs_of(&df)
}

/// The runs in a frame of `run_id`, `document` and `params` text columns, parsed in parallel
/// (a listing of every match may carry thousands of documents).
fn runs_of(df: &polars::prelude::DataFrame) -> Result<Vec<Run>> {
    use rayon::prelude::*;
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let documents = frame::text(df, "document", "lore runs")?;
    let params = frame::text(df, "params", "lore runs")?;
    let rows: Vec<(Option<&str>, Option<&str>)> = documents.iter().zip(params.iter()).collect();
    rows.into_par_iter()
        .map(|(document, params)| {
            let text = document.unwrap_or_default();
            let mut value: Value = serde_json::from_str(text).map_err(|e| {
                Error::Data(format!(
                    "a stored run is not JSON ({e}): {}",
                    truncate(text)
                ))
            })?;
            if let (Value::Object(map), Some(params)) = (&mut value, params) {
                let params = serde_json::from_str(params).unwrap_or(Value::Null);
                map.insert("params".into(), params);
            }
            Run::from_document(value)
        })
        .collect()
}

/// The run named `id`, or the only one whose id starts with it.
pub async fn find(project: &Project, id: &str) -> Result<Run> {
    let connection = open(project).await?;
    let found = find_on(&connection, id).await;
    connection.close().await;
    found
}

async fn find_on(connection: &Connection, id: &str) -> Result<Run> {
    let run_id = || Path(vec![filter::Step::Key("run_id".into())]);
    let exact = Filter::Compare(
        run_id(),
        filter::Compare::Eq,
        filter::Literal::Text(id.into()),
    );
    let mut runs = search_on(
        connection,
        &Query {
            filter: Some(exact),
            ..Query::default()
        },
    )
    .await?;
    if runs.len() == 1 {
        return Ok(runs.remove(0));
    }
    let pattern = format!("{}%", id.replace(['%', '_'], ""));
    let mut runs: Vec<Run> = search_on(
        connection,
        &Query {
            filter: Some(Filter::Like(run_id(), pattern, false)),
            limit: Some(11),
            ..Query::default()
        },
    )
    .await?
    .into_iter()
    .filter(|r| r.id().starts_with(id))
    .collect();
    match runs.len() {
        1 => Ok(runs.remove(0)),
        0 => Err(Error::Run(format!(
            "no run `{id}`; `lore runs` lists them (the run of a fit has its fitting's id)"
        ))),
        _ => Err(Error::Run(format!(
            "`{id}` starts several runs' ids ({}); give more of it",
            runs.iter().map(Run::id).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The commit checked out in `root`, if it is a git work tree with a commit.
pub fn git_commit(root: &FsPath) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The uncommitted changes to tracked files of the git work tree at `root`, as `git diff HEAD`
/// prints them.
pub fn git_diff(root: &FsPath) -> Option<Vec<u8>> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["diff", "HEAD", "--no-color", "--no-ext-diff"])
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// Whether the git work tree at `root` has changes not yet committed (`None` outside git).
pub fn git_dirty(root: &FsPath) -> Option<bool> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()?;
    out.status.success().then_some(!out.stdout.is_empty())
}

#[cfg(test)]
mod tests;
