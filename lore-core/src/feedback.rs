//! Feedback: the true label of a prediction `lore api` logged (named by the id it answered with)
//! or of a record given whole, sent by `POST /models/{name}/feedback` or `lore feedback add`,
//! kept in the `feedback` table of the project's metadata database with who sent it and when.
//! Feedback sent again for the same prediction (or the same record) replaces the earlier, so the
//! latest word on a row is the one that counts. The annotated rows are what `lore evaluate
//! --feedback` measures the served fitting on and what `lore retrain` learns from.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::env::Project;
use crate::error::{Error, Result};
use crate::io::{Connection, Origin};
use crate::tracking::{self, logged};

/// Items one call takes at most.
pub const MAX_ITEMS: usize = 10_000;
/// The longest prediction id, label text or sender's name taken, in characters.
const MAX_TEXT: usize = 256;
/// The largest record taken, as JSON, in bytes.
const MAX_RECORD: usize = 64 * 1024;
/// Prediction ids looked up in one query.
const LOOKUP: usize = 500;

/// One piece of feedback: the true label of a logged prediction, or of a record given whole.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// The id `lore api` answered the prediction with.
    #[serde(default)]
    pub prediction_id: Option<String>,
    /// Or the record's inputs, as an object of the model's input columns.
    #[serde(default)]
    pub record: Option<Map<String, Value>>,
    /// The true label: a number, a boolean or a text.
    pub label: Value,
}

impl Feedback {
    /// Refuses what cannot be stored: neither or both of an id and a record, a label that is
    /// not one value, anything too long. `at` names the item in the message.
    fn validate(&self, at: &str) -> Result<()> {
        let bad = |why: String| Err(Error::Input(format!("{at}: {why}")));
        match (&self.prediction_id, &self.record) {
            (Some(_), Some(_)) | (None, None) => {
                return bad("give either prediction_id or record, not both or neither".into())
            }
            (Some(id), None) if id.is_empty() || id.chars().count() > MAX_TEXT => {
                return bad(format!(
                    "prediction_id must have 1 to {MAX_TEXT} characters"
                ));
            }
            _ => {}
        }
        if let Some(record) = &self.record {
            if record.is_empty() || serde_json::to_vec(record).map_or(0, |b| b.len()) > MAX_RECORD {
                return bad(format!(
                    "record must be an object of the model's inputs, at most {MAX_RECORD} bytes"
                ));
            }
        }
        match &self.label {
            Value::Number(_) | Value::Bool(_) => Ok(()),
            Value::String(s) if !s.is_empty() && s.chars().count() <= MAX_TEXT => Ok(()),
            _ => bad(format!(
                "label must be a number, a boolean or a text of 1 to {MAX_TEXT} characters"
            )),
        }
    }

    /// The row's key in the table: the prediction's id, else a digest of the record, so that
    /// feedback sent again for the same row replaces the earlier.
    fn key(&self, model: &str) -> String {
        match (&self.prediction_id, &self.record) {
            (Some(id), _) => id.clone(),
            (None, record) => {
                let text = serde_json::to_string(&(model, record)).unwrap_or_default();
                let digest = Sha256::digest(text.as_bytes());
                let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("record-{hex}")
            }
        }
    }
}

/// Stores `items` for `model`, each sent by `sent_by`, in one transaction; an item naming a
/// prediction the log does not hold for `model` refuses them all, as does one that is malformed.
/// Returns how many were stored.
pub async fn add(
    project: &Project,
    model: &str,
    items: &[Feedback],
    sent_by: &str,
) -> Result<usize> {
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(Error::Input(format!(
            "feedback takes 1 to {MAX_ITEMS} items at once; {} were sent",
            items.len()
        )));
    }
    if sent_by.is_empty() || sent_by.chars().count() > MAX_TEXT {
        return Err(Error::Input(format!(
            "who sends feedback is named in 1 to {MAX_TEXT} characters"
        )));
    }
    for (i, item) in items.iter().enumerate() {
        item.validate(&format!("feedback item {i}"))?;
    }
    let connection = tracking::open(project).await?;
    let stored = store(&connection, model, items, sent_by).await;
    connection.close().await;
    stored
}

/// [`add`] on an open connection.
async fn store(
    connection: &Connection,
    model: &str,
    items: &[Feedback],
    sent_by: &str,
) -> Result<usize> {
    let origin = Origin {
        model: Some(model.to_string()),
        site: "feedback".into(),
    };
    let ids: BTreeSet<&str> = items
        .iter()
        .filter_map(|f| f.prediction_id.as_deref())
        .collect();
    let logged = inputs_of(connection, model, &ids, &origin).await?;
    if let Some(unknown) = ids.iter().find(|id| !logged.contains_key(**id)) {
        return Err(Error::Input(format!(
            "no logged prediction of {model} has the id `{unknown}`; feedback names a prediction \
             by the prediction_id `lore api` answered with (and logged, with log_predictions = \
             true in config/api.toml), or gives the record itself"
        )));
    }
    const SQL: &str = "INSERT INTO feedback (feedback_id, model, prediction_id, inputs, label, \
                       sent_by, sent_at) VALUES (:feedback_id, :model, :prediction_id, :inputs, \
                       :label, :sent_by, :sent_at) ON CONFLICT (feedback_id) DO UPDATE SET \
                       label = excluded.label, sent_by = excluded.sent_by, sent_at = \
                       excluded.sent_at";
    let sent_at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let binds: Vec<BTreeMap<String, Value>> = items
        .iter()
        .map(|f| {
            let inputs = match (&f.prediction_id, &f.record) {
                (Some(id), _) => logged.get(id.as_str()).cloned().unwrap_or_default(),
                (None, record) => serde_json::to_string(record).unwrap_or_default(),
            };
            BTreeMap::from([
                ("feedback_id".into(), json!(f.key(model))),
                ("model".into(), json!(model)),
                ("prediction_id".into(), json!(f.prediction_id)),
                ("inputs".into(), json!(inputs)),
                ("label".into(), json!(f.label.to_string())),
                ("sent_by".into(), json!(sent_by)),
                ("sent_at".into(), json!(sent_at)),
            ])
        })
        .collect();
    let statements: Vec<(&str, &BTreeMap<String, Value>)> =
        binds.iter().map(|b| (SQL, b)).collect();
    connection.execute_all(&statements, &origin).await?;
    Ok(items.len())
}

/// The logged inputs (JSON text) of those of `ids` that are predictions of `model`.
async fn inputs_of(
    connection: &Connection,
    model: &str,
    ids: &BTreeSet<&str>,
    origin: &Origin,
) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let ids: Vec<&str> = ids.iter().copied().collect();
    for chunk in ids.chunks(LOOKUP) {
        let names: Vec<String> = (0..chunk.len()).map(|i| format!(":id{i}")).collect();
        let sql = format!(
            "SELECT prediction_id, inputs FROM predictions WHERE model = :model AND \
             prediction_id IN ({})",
            names.join(", ")
        );
        let mut params = BTreeMap::from([("model".to_string(), json!(model))]);
        for (i, id) in chunk.iter().enumerate() {
            params.insert(format!("id{i}"), json!(id));
        }
        let df = connection.query_frame(&sql, &params, origin).await?;
        if df.height() == 0 {
            continue;
        }
        let ids = crate::frame::text(&df, "prediction_id", "the logged predictions")?;
        let inputs = crate::frame::text(&df, "inputs", "the logged predictions")?;
        for (id, inputs) in ids.iter().zip(inputs.iter()) {
            if let (Some(id), Some(inputs)) = (id, inputs) {
                found.insert(id.to_string(), inputs.to_string());
            }
        }
    }
    Ok(found)
}

/// The feedback `query` asks for (its `limit` newest first), one row each: id, model,
/// prediction id, the fitting that made the prediction and what it said, the label, who sent
/// it and when, and the inputs, with the JSON values as text.
pub async fn read(project: &Project, query: &logged::Query) -> Result<DataFrame> {
    const SELECT: &str = "SELECT f.feedback_id, f.model, f.prediction_id, p.fitting_id, \
                          p.prediction, f.label, f.sent_by, f.sent_at, f.inputs FROM feedback f \
                          LEFT JOIN predictions p ON p.prediction_id = f.prediction_id";
    let columns = ["f.sent_at", "f.model", "f.feedback_id"];
    logged::newest(project, SELECT, columns, query, "lore feedback").await
}

/// The annotated rows `query` asks for as a model reads them: each row's inputs with its label
/// in the column `label` (the column the model predicts), and its `feedback_id`.
pub async fn labelled(project: &Project, query: &logged::Query, label: &str) -> Result<DataFrame> {
    let feedback = read(project, query).await?;
    if feedback.height() == 0 {
        return Ok(DataFrame::empty());
    }
    let ids = crate::frame::text(&feedback, "feedback_id", "the feedback")?;
    let inputs = crate::frame::text(&feedback, "inputs", "the feedback")?;
    let labels = crate::frame::text(&feedback, "label", "the feedback")?;
    let mut lines = Vec::with_capacity(feedback.height());
    for ((id, inputs), value) in ids.iter().zip(inputs.iter()).zip(labels.iter()) {
        let (Some(id), Some(inputs), Some(value)) = (id, inputs, value) else {
            continue;
        };
        let mut row: Map<String, Value> = serde_json::from_str(inputs)
            .map_err(|e| Error::Data(format!("feedback {id}: its inputs: {e}")))?;
        let value: Value = serde_json::from_str(value)
            .map_err(|e| Error::Data(format!("feedback {id}: its label: {e}")))?;
        row.insert(label.to_string(), value);
        row.insert("feedback_id".into(), json!(id));
        lines.push(Value::Object(row).to_string());
    }
    logged::records(lines.iter().map(String::as_str), "the feedback's rows")
}
