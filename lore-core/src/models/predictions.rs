//! What a fitting answers for a batch of rows: the decoded answers, the estimator's numbers and,
//! when asked for, each feature's contribution, as the CLI and the API print them.

use polars::prelude::*;

use serde_json::Value as Json;

use crate::encoders::Task;
use crate::error::Result;

/// Predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// What the model predicts.
    pub task: Task,
    /// The classes, in label order (none for a regression).
    pub classes: Vec<String>,
    /// The decoded answer for each row.
    pub predictions: Vec<serde_json::Value>,
    /// The estimator's numbers, [`Task::width`] a row: the probability of yes, a probability
    /// per class, or the number predicted.
    pub values: Vec<f32>,
    /// Why each row got its prediction, when asked for.
    pub contributions: Option<Contributions>,
}

/// Each feature's SHAP contribution to each row's prediction, in the model's margin (log-odds
/// for a classifier; for several classes, toward the class predicted). A row's contributions
/// and its bias add up to its margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    /// The features, then `bias`.
    pub names: Vec<String>,
    /// `names.len()` numbers a row.
    pub values: Vec<f32>,
}

impl Predictions {
    /// How many rows were predicted.
    pub fn len(&self) -> usize {
        self.predictions.len()
    }

    /// Whether no rows were predicted.
    pub fn is_empty(&self) -> bool {
        self.predictions.is_empty()
    }

    /// The probabilities of each row: of yes (a number), or of each class (an object of class
    /// to probability); none for a regression.
    pub fn probabilities(&self) -> Option<Vec<serde_json::Value>> {
        match self.task {
            Task::Regression | Task::Clustering => None,
            Task::Binary => Some(self.values.iter().map(|p| json_number(*p)).collect()),
            Task::MultiClass { .. } => Some(named_rows(&self.classes, &self.values)),
        }
    }

    /// The contributions of each row as an object of feature to contribution.
    pub fn contributions_json(&self) -> Option<Vec<serde_json::Value>> {
        let c = self.contributions.as_ref()?;
        Some(named_rows(&c.names, &c.values))
    }

    /// A table with one row per input row: `prediction`; `probability` (of yes, or of the class
    /// predicted) and, for several classes, `probability_<class>` each; `shap_<feature>` and
    /// `shap_bias` when explained.
    pub fn frame(&self) -> Result<DataFrame> {
        let rows = self.len();
        let mut columns = Vec::new();
        let p = self.predictions.iter();
        let prediction = match self.task {
            Task::Binary => p
                .map(Json::as_bool)
                .collect::<BooleanChunked>()
                .into_column(),
            Task::Clustering => p.map(Json::as_i64).collect::<Int64Chunked>().into_column(),
            _ if self.predictions.iter().all(Json::is_number) => p
                .map(Json::as_f64)
                .collect::<Float64Chunked>()
                .into_column(),
            _ => p.map(Json::as_str).collect::<StringChunked>().into_column(),
        };
        columns.push(prediction.with_name("prediction".into()));
        let width = self.task.width();
        match self.task {
            Task::Regression => {}
            Task::Clustering => {
                for (i, name) in [(1, "distance"), (2, "silhouette")] {
                    let v: Vec<f64> = (0..rows)
                        .map(|r| f64::from(self.values[r * width + i]))
                        .collect();
                    columns.push(Column::new(name.into(), v));
                }
            }
            Task::Binary => columns.push(Column::new(
                "probability".into(),
                self.values
                    .iter()
                    .map(|p| f64::from(*p))
                    .collect::<Vec<_>>(),
            )),
            Task::MultiClass { .. } => {
                let best: Vec<f64> = self
                    .values
                    .chunks(width)
                    .map(|row| f64::from(row.iter().copied().fold(f32::MIN, f32::max)))
                    .collect();
                columns.push(Column::new("probability".into(), best));
                for (k, class) in self.classes.iter().enumerate() {
                    let p: Vec<f64> = (0..rows)
                        .map(|r| f64::from(self.values[r * width + k]))
                        .collect();
                    columns.push(Column::new(format!("probability_{class}").into(), p));
                }
            }
        }
        if let Some(c) = &self.contributions {
            let n = c.names.len();
            for (k, name) in c.names.iter().enumerate() {
                let v: Vec<f64> = (0..rows).map(|r| f64::from(c.values[r * n + k])).collect();
                columns.push(Column::new(format!("shap_{name}").into(), v));
            }
        }
        Ok(DataFrame::new(rows, columns)?)
    }
}

/// Rows of `names.len()` numbers, each as a JSON object of name to number.
fn named_rows(names: &[String], values: &[f32]) -> Vec<serde_json::Value> {
    values
        .chunks(names.len().max(1))
        .map(|row| {
            let map = names
                .iter()
                .zip(row)
                .map(|(n, v)| (n.clone(), json_number(*v)))
                .collect();
            serde_json::Value::Object(map)
        })
        .collect()
}

/// A JSON number for a prediction (null for NaN, which JSON has no number for).
fn json_number(x: f32) -> serde_json::Value {
    serde_json::Number::from_f64(f64::from(x)).map_or(serde_json::Value::Null, Into::into)
}
