//! linfa's classic models, one file per family: each reads every training row at once as a
//! dense matrix, fits in one round, and is saved with serde as `model.linfa.json`.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::contract::{self, Fitted, Outcome, Spec, Training};
use super::{dense, invalid, FitHistory, Importance, Kind, Scored};
use crate::encoders::{OutputEncoder, Task};
use crate::error::Result;
use crate::matrix::Matrix;

mod bayes;
mod forest;
mod kmeans;
mod linear;
mod svm;
mod tree;

pub use bayes::{GaussianNB, MultinomialNB};
pub use forest::RandomForest;
pub use kmeans::KMeans;
pub use linear::{ElasticNet, LinearRegression, LogisticRegression};
pub use svm::Svm;
pub use tree::DecisionTree;

/// The file name of a saved linfa model inside a fitting.
pub const LINFA_FILE: &str = "model.linfa.json";

/// A fitted linfa model, saved with serde as [`LINFA_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinfaModel {
    /// What it predicts.
    task: Task,
    /// The model.
    model: Linfa,
}

/// The fitted linfa models, by family.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Linfa {
    Linear(linear::FittedLinear),
    Bayes(bayes::FittedBayes),
    Tree(tree::FittedTree),
    Forest(forest::FittedForest),
    Svm(svm::FittedSvm),
    KMeans(kmeans::FittedKMeans),
}

impl LinfaModel {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row.
    fn predict_dense(&self, x: &Array2<f64>) -> Vec<f32> {
        let out = match &self.model {
            Linfa::Linear(m) => m.predict(x),
            Linfa::Bayes(m) => m.predict(x),
            Linfa::Tree(m) => m.predict(x),
            Linfa::Forest(m) => m.predict(x),
            Linfa::Svm(m) => m.predict(x),
            Linfa::KMeans(m) => m.predict(x),
        };
        match self.task {
            // A classifier of two classes gives both; the probability of yes is the second.
            Task::Binary if out.len() == 2 * x.nrows() => out.chunks(2).map(|p| p[1]).collect(),
            _ => out,
        }
    }
}

impl Fitted for LinfaModel {
    fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        Ok(self.predict_dense(&dense::of(x)?))
    }

    /// A linfa model has one kind of importance of its own, given as `Gain`: the absolute
    /// weight of a linear model, the impurity decrease of a tree.
    fn importance(&self, features: usize, kind: Importance) -> Result<Option<Vec<f64>>> {
        let own = match (&self.model, kind) {
            (Linfa::Linear(m), Importance::Gain) => Some(m.importance()),
            (Linfa::Tree(m), Importance::Gain) => Some(m.importance(features)),
            (Linfa::Forest(m), Importance::Gain) => Some(m.importance(features)),
            _ => None,
        };
        Ok(own.map(|mut v| {
            v.resize(features, 0.0);
            v
        }))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        contract::write_json(dir, LINFA_FILE, self)
    }
}

/// Reads a linfa model saved in a fitting's folder `dir`.
pub(super) fn load(dir: &Path) -> Result<Option<Box<dyn Fitted>>> {
    contract::read_json::<LinfaModel>(dir, LINFA_FILE)
}

/// Fits `learn` on every training row at once, in one round, and scores both splits.
fn fit(
    training: Training<'_>,
    learn: impl FnOnce(&Array2<f64>, &[f32], usize) -> Result<Linfa>,
) -> Result<Outcome> {
    let Training {
        task,
        train,
        validation,
        on_round,
        ..
    } = training;
    let classes = match task {
        Task::MultiClass { classes } => classes,
        Task::Binary | Task::Regression | Task::Clustering => 2,
    };
    let (x, y) = dense::read(train)?;
    on_round(0, 1);
    let model = LinfaModel {
        task,
        model: learn(&x, &y, classes)?,
    };
    on_round(1, 1);
    let train = Scored {
        predictions: model.predict_dense(&x),
        labels: y,
    };
    let validation = match validation.rows() {
        0 => Scored::default(),
        _ => {
            let (x, labels) = dense::read(validation)?;
            Scored {
                predictions: model.predict_dense(&x),
                labels,
            }
        }
    };
    let history = FitHistory::one_round();
    Ok((Box::new(model), history, [train, validation]))
}

/// Checks a model that learns labels: its parameters (`check` gives what it predicts), then
/// that it suits `output`.
fn validate(
    name: &str,
    output: &OutputEncoder,
    check: impl FnOnce() -> Result<Kind>,
) -> Result<()> {
    contract::check_labels(name, true, output)?;
    contract::check_predicts(name, check()?, output)
}

/// `Spec` for families that learn labels: checked by their own `check` (which also says what
/// they predict), fitted by the shared dense fit into their [`Linfa`] variant.
macro_rules! learns_labels {
    ($($spec:ident => |$s:ident, $($arg:pat_param),+| $model:expr;)*) => {$(
        impl Spec for $spec {
            fn validate(&self, output: &OutputEncoder) -> Result<()> {
                validate(stringify!($spec), output, || self.check())
            }

            fn fit(&self, training: Training<'_>) -> Result<Outcome> {
                let $s = self;
                fit(training, |$($arg),+| Ok($model))
            }
        }
    )*};
}

learns_labels! {
    LogisticRegression => |s, x, y, c| Linfa::Linear(s.learn(x, y, c)?);
    LinearRegression => |s, x, y, _| Linfa::Linear(s.learn(x, y)?);
    ElasticNet => |s, x, y, _| Linfa::Linear(s.learn(x, y)?);
    GaussianNB => |s, x, y, c| Linfa::Bayes(s.learn(x, y, c)?);
    MultinomialNB => |s, x, y, c| Linfa::Bayes(s.learn(x, y, c)?);
    DecisionTree => |s, x, y, c| Linfa::Tree(s.learn(x, y, c)?);
    RandomForest => |s, x, y, c| Linfa::Forest(s.learn(x, y, c)?);
}

impl Spec for Svm {
    /// An SVM predicts classes or a number, so any output with labels suits it.
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        contract::check_labels("Svm", true, output)?;
        self.check()
    }

    fn fit(&self, training: Training<'_>) -> Result<Outcome> {
        let classes = training.task != Task::Regression;
        fit(training, |x, y, c| {
            Ok(Linfa::Svm(self.learn(x, y, classes.then_some(c))?))
        })
    }
}

impl Spec for KMeans {
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        contract::check_labels("KMeans", false, output)?;
        self.check()
    }

    fn fit(&self, training: Training<'_>) -> Result<Outcome> {
        fit(training, |x, _, _| Ok(Linfa::KMeans(self.learn(x)?)))
    }
}

#[cfg(test)]
mod tests;
