//! The contract every estimator keeps: a [`Spec`] checks its hyper-parameters against the output
//! before any data is read and fits from labelled batches, telling each finished round; what it
//! fits is a [`Fitted`] model that predicts, explains where it can, counts importance where it
//! can, and saves itself into a fitting's folder, from which its family's loader reads it back.

use std::path::Path;

use super::{FitHistory, Importance, Kind, LabelledBatches, Scored};
use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// What a fit reads: the task, the features' cardinalities, both splits, and where to tell each
/// finished round.
pub struct Training<'a> {
    /// What the labels are.
    pub task: Task,
    /// Of each feature column, how many integer codes it takes (`None`: a float), as the
    /// pipeline's encoders tell.
    pub cardinalities: &'a [Option<usize>],
    /// The training rows.
    pub train: &'a mut dyn LabelledBatches,
    /// The rows to stop early on, where the estimator can (may have none).
    pub validation: &'a mut dyn LabelledBatches,
    /// Told `(round, rounds)` as each round finishes.
    pub on_round: &'a mut dyn FnMut(u32, u32),
}

/// What a fit gives: the kept model, how the fit went round by round, and the training and
/// validation splits scored by the kept model.
pub type Outcome = (Box<dyn Fitted>, FitHistory, [Scored; 2]);

/// An estimator's hyper-parameters, as a spec names them.
pub trait Spec {
    /// Checks every parameter, and that the estimator suits `output`, before any data is read;
    /// an error names the parameter as `estimator.KEY`.
    fn validate(&self, output: &OutputEncoder) -> Result<()>;

    /// Holds the estimator to `threads` threads where it would take every core, so that several
    /// can be fitted at once; an estimator on one thread leaves itself as it is.
    fn share_cores(&mut self, threads: i64) {
        let _ = threads;
    }

    /// Fits on the training rows, stopping early on the validation rows where it can.
    fn fit(&self, training: Training<'_>) -> Result<Outcome>;
}

/// A fitted estimator.
pub trait Fitted: std::fmt::Debug + Send + Sync {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row (the probability of
    /// yes; a probability per class; the number predicted).
    fn predict(&self, x: &Matrix) -> Result<Vec<f32>>;

    /// Each feature's contribution to each row's prediction in the model's margin, and a last
    /// number for the bias; only models that can explain themselves have them.
    fn contributions(&self, x: &Matrix) -> Result<Vec<f32>> {
        let _ = x;
        Err(Error::Estimator(
            "SHAP contributions (--explain) come from XGBoost's own trees; this model's \
             estimator is not XGBoost, so it has none"
                .into(),
        ))
    }

    /// Each feature's importance counted as `kind`, by feature index; `None` where the model
    /// does not count it.
    fn importance(&self, features: usize, kind: Importance) -> Result<Option<Vec<f64>>> {
        let _ = (features, kind);
        Ok(None)
    }

    /// Limits each prediction to `threads` threads, where the model starts threads of its own.
    fn limit_threads(&mut self, threads: usize) -> Result<()> {
        let _ = threads;
        Ok(())
    }

    /// Saves the model into a fitting's folder `dir`, in its family's own file.
    fn save(&self, dir: &Path) -> Result<()>;
}

/// Reads a family's saved model from a fitting's folder; `None` where the folder holds none of
/// that family's files.
pub type Loader = fn(&Path) -> Result<Option<Box<dyn Fitted>>>;

/// Refuses to pair an estimator that learns from labels with a `Cluster` output, and the other
/// way round.
pub(super) fn check_labels(name: &str, learns_labels: bool, output: &OutputEncoder) -> Result<()> {
    let clustering = matches!(output, OutputEncoder::Cluster {});
    let message = match (learns_labels, clustering) {
        (false, false) => format!(
            "{name} finds clusters without labels, but the output encoder {}({}) gives labels \
             to learn; declare `[pipeline.output]` as `type = \"Cluster\"`, or use an estimator \
             that learns labels",
            output.kind(),
            output.column()
        ),
        (true, true) => format!(
            "{name} learns from labels, but the output encoder Cluster has none; use KMeans, \
             or an output encoder with a column (Boolean, Unique, Pass)"
        ),
        _ => return Ok(()),
    };
    Err(Error::InvalidParam {
        key: "estimator.type".into(),
        message,
    })
}

/// Refuses an estimator that predicts only classes, or only numbers (`kind`), for an output
/// that asks for the other.
pub(super) fn check_predicts(name: &str, kind: Kind, output: &OutputEncoder) -> Result<()> {
    let classifier = kind != Kind::Regression;
    if classifier == output.is_categorical() {
        return Ok(());
    }
    let (predicts, instead, outputs) = match classifier {
        true => (
            "classes",
            "LinearRegression, ElasticNet, Svm or XGBoost",
            "Boolean or Unique",
        ),
        false => (
            "numbers",
            "LogisticRegression, GaussianNB, MultinomialNB, DecisionTree, RandomForest, Svm \
             or XGBoost",
            "Pass",
        ),
    };
    Err(Error::InvalidParam {
        key: "estimator.type".into(),
        message: format!(
            "{name} predicts {predicts}, but the output encoder {}({}) asks for {}; use \
             {instead}, or a {outputs} output encoder",
            output.kind(),
            output.column(),
            Kind::of(output).name()
        ),
    })
}

/// Writes a model's bytes to `file` in `dir`.
pub(super) fn write(dir: &Path, file: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}

/// Writes a model as JSON to `file` in `dir`.
pub(super) fn write_json(dir: &Path, file: &str, model: &impl serde::Serialize) -> Result<()> {
    let bytes = serde_json::to_vec(model).map_err(|e| Error::Estimator(e.to_string()))?;
    write(dir, file, &bytes)
}

/// A model saved as JSON in `file` of `dir`, or `None` where there is no such file.
pub(super) fn read_json<T: Fitted + serde::de::DeserializeOwned + 'static>(
    dir: &Path,
    file: &str,
) -> Result<Option<Box<dyn Fitted>>> {
    let path = dir.join(file);
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(Box::new(parse_json::<T>(&path)?)))
}

/// The JSON file at `path` read as `T`; an error names the file, line and column.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::fitting_json(path, &e))
}
