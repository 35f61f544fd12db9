//! The prediction log: with `log_predictions = true` in `config/api.toml`, every row `lore api`
//! predicts is written to the `predictions` table of the project's metadata database, with its
//! inputs, its answer, the fitting that made it, the request it came in and the request's
//! latency. A request only queues its entries; one task writes them in batches, one transaction
//! a batch. The queue is bounded: when it is full an entry is dropped and counted in `/metrics`
//! (`lore_prediction_log_entries_total{outcome="dropped"}`), so the log never slows or fails a
//! request. Each row's prediction id is returned to the caller, for feedback to refer to later.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use polars::prelude::DataFrame;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::env::Project;
use crate::error::{Error, Result};
use crate::io::{Connection, Origin};
use crate::models::Predictions;
use crate::rows::{Rows, Values};
use crate::tracking::{
    self,
    logged::{self, Query},
};

/// Entries a batch writes at most, in one transaction.
const BATCH: usize = 500;

/// Entries waiting to be written when `prediction_log_buffer` is not set.
pub const DEFAULT_BUFFER: usize = 10_000;

/// One predicted row, as the `predictions` table holds it.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    prediction_id: String,
    model: String,
    fitting_id: String,
    predicted_at: String,
    inputs: String,
    prediction: String,
    probability: Option<String>,
}

/// A request's entries, put on its response by the handler; the request's id and latency are
/// added where they are known, when the response leaves (see `metrics::observe`).
#[derive(Clone)]
pub(super) struct Pending(pub Vec<Entry>);

/// How the log's entries fared: written, dropped because the queue was full, or lost because the
/// database refused their batch.
#[derive(Debug, Default)]
pub struct Counts {
    /// Entries written.
    pub written: AtomicU64,
    /// Entries dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Entries whose batch the database refused.
    pub failed: AtomicU64,
}

/// A queued entry, completed with its request.
struct Queued {
    entry: Entry,
    request_id: String,
    latency_ms: f64,
}

/// The queue to the writer task, and the task.
#[derive(Clone)]
pub struct PredictionLog {
    sender: mpsc::Sender<Queued>,
    stop: Arc<Notify>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// How the entries fared, for `/metrics`.
    pub counts: Arc<Counts>,
}

/// Whether `config/api.toml` in `project` asks for the prediction log, and how many entries may
/// wait to be written.
pub fn configured(project: &Project) -> Result<Option<usize>> {
    let (path, file) = super::auth::api_file(project)?;
    match (file.log_predictions, file.prediction_log_buffer) {
        (Some(true), Some(0)) => Err(Error::config(
            &path,
            "prediction_log_buffer must be at least 1 (entries waiting to be written)",
        )),
        (Some(true), buffer) => Ok(Some(buffer.unwrap_or(DEFAULT_BUFFER))),
        _ => Ok(None),
    }
}

impl PredictionLog {
    /// Opens (and migrates) `project`'s metadata database and starts the writer, with room for
    /// `buffer` entries waiting.
    pub async fn start(project: &Project, buffer: usize) -> Result<PredictionLog> {
        let connection = tracking::open(project).await?;
        let (sender, receiver) = mpsc::channel(buffer.max(1));
        let stop = Arc::new(Notify::new());
        let counts = Arc::new(Counts::default());
        let writer = tokio::spawn(write(
            connection,
            receiver,
            Arc::clone(&stop),
            Arc::clone(&counts),
        ));
        Ok(PredictionLog {
            sender,
            stop,
            writer: Arc::new(Mutex::new(Some(writer))),
            counts,
        })
    }

    /// Queues a request's entries, or counts them dropped where the queue is full.
    pub(super) fn push(&self, pending: Pending, request_id: &str, latency_ms: f64) {
        for entry in pending.0 {
            let queued = Queued {
                entry,
                request_id: request_id.to_string(),
                latency_ms,
            };
            if self.sender.try_send(queued).is_err() {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes what is queued and stops the writer, waiting at most `deadline`.
    pub async fn finish(&self, deadline: Duration) {
        self.stop.notify_one();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            if tokio::time::timeout(deadline, writer).await.is_err() {
                tracing::warn!(
                    "prediction log: entries still queued {deadline:?} after the stop were lost"
                );
            }
        }
    }
}

/// The entries of `predictions` of `rows`, made by `fitting_id` of `model`, each with a new id.
pub(super) fn entries(
    model: &str,
    fitting_id: &str,
    rows: &Rows,
    predictions: &Predictions,
) -> Pending {
    let now = chrono::Utc::now();
    let predicted_at = now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let stem = now.format("%Y%m%dT%H%M%S%6f").to_string();
    let probabilities = predictions.probabilities();
    let entries = (0..rows.len)
        .map(|r| Entry {
            prediction_id: format!("{stem}-{:016x}", rand::random::<u64>()),
            model: model.to_string(),
            fitting_id: fitting_id.to_string(),
            predicted_at: predicted_at.clone(),
            inputs: record(rows, r).to_string(),
            prediction: predictions
                .predictions
                .get(r)
                .unwrap_or(&Value::Null)
                .to_string(),
            probability: probabilities
                .as_ref()
                .and_then(|p| p.get(r))
                .map(Value::to_string),
        })
        .collect();
    Pending(entries)
}

impl Pending {
    /// The id of each row's prediction, in order.
    pub(super) fn ids(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.prediction_id.as_str()).collect()
    }
}

/// Row `r` of `rows` as a JSON object of the model's inputs.
fn record(rows: &Rows, r: usize) -> Value {
    let fields = rows
        .columns
        .iter()
        .map(|(name, values)| {
            let value = match values {
                Values::Ints(v) => json!(v.get(r).copied().flatten()),
                Values::Floats(v) => json!(v.get(r).copied().flatten()),
                Values::Bools(v) => json!(v.get(r).copied().flatten()),
                Values::Texts(v) => json!(v.get(r).cloned().flatten()),
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(fields)
}

/// The writer task: a batch at a time until stopped, then what is left.
async fn write(
    connection: Connection,
    mut receiver: mpsc::Receiver<Queued>,
    stop: Arc<Notify>,
    counts: Arc<Counts>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            got = receiver.recv_many(&mut batch, BATCH) => {
                if got == 0 {
                    break;
                }
                insert(&connection, &mut batch, &counts).await;
            }
            () = stop.notified() => {
                receiver.close();
                while receiver.recv_many(&mut batch, BATCH).await > 0 {
                    insert(&connection, &mut batch, &counts).await;
                }
                break;
            }
        }
    }
    connection.close().await;
}

/// Writes `batch` in one transaction and empties it.
async fn insert(connection: &Connection, batch: &mut Vec<Queued>, counts: &Counts) {
    const SQL: &str = "INSERT INTO predictions (prediction_id, model, fitting_id, request_id, \
                       predicted_at, latency_ms, inputs, prediction, probability) VALUES \
                       (:prediction_id, :model, :fitting_id, :request_id, :predicted_at, \
                       :latency_ms, :inputs, :prediction, :probability)";
    let binds: Vec<BTreeMap<String, Value>> = batch
        .iter()
        .map(|q| {
            BTreeMap::from([
                ("prediction_id".into(), json!(q.entry.prediction_id)),
                ("model".into(), json!(q.entry.model)),
                ("fitting_id".into(), json!(q.entry.fitting_id)),
                ("request_id".into(), json!(q.request_id)),
                ("predicted_at".into(), json!(q.entry.predicted_at)),
                ("latency_ms".into(), json!(q.latency_ms)),
                ("inputs".into(), json!(q.entry.inputs)),
                ("prediction".into(), json!(q.entry.prediction)),
                ("probability".into(), json!(q.entry.probability)),
            ])
        })
        .collect();
    let statements: Vec<(&str, &BTreeMap<String, Value>)> =
        binds.iter().map(|b| (SQL, b)).collect();
    let origin = Origin {
        model: None,
        site: "lore api: prediction log".into(),
    };
    match connection.execute_all(&statements, &origin).await {
        Ok(()) => {
            counts
                .written
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        Err(e) => {
            counts
                .failed
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            tracing::error!("prediction log: {} entries not written: {e}", batch.len());
        }
    }
    batch.clear();
}

/// The logged predictions `query` asks for, newest first, one row each: id, model, fitting,
/// request, time, latency, and the inputs, prediction and probability as JSON text.
pub async fn read(project: &Project, query: &Query) -> Result<DataFrame> {
    const SELECT: &str = "SELECT prediction_id, model, fitting_id, request_id, predicted_at, \
                          latency_ms, inputs, prediction, probability FROM predictions";
    logged::newest(
        project,
        SELECT,
        ["predicted_at", "model", "prediction_id"],
        query,
        "lore predictions",
    )
    .await
}

/// The inputs of the logged predictions `query` asks for, one row each, newest first: what
/// `lore check --predictions` holds to a fitting's profile.
pub async fn inputs(project: &Project, query: &Query) -> Result<DataFrame> {
    let logged = read(project, query).await?;
    let texts = crate::frame::text(&logged, "inputs", "the logged predictions' inputs")?;
    logged::records(texts.iter().flatten(), "the logged predictions' inputs")
}
