//! Estimators: a spec with hyper-parameters that is fitted on encoded training data into a
//! fitted estimator that predicts: XGBoost's boosted trees, linfa's classic models, a neural
//! network on libtorch (cargo feature `torch`). Each keeps the contract of [`contract`]; the
//! `estimators!` list below names them once, and [`Estimator`] only dispatches.

use std::path::Path;

use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};
use crate::matrix::Matrix;
use serde::{Deserialize, Serialize};

mod baseline;
mod batches;
pub mod contract;
mod dense;
mod guard;
mod linfa;
mod network;
mod xgboost;

pub use baseline::{Baseline, BASELINE_FILE};
pub use batches::{Batches, InMemory, LabelledBatches, OneBatch, Sampling};
use contract::{Fitted, Loader, Spec, Training};
pub use linfa::{
    DecisionTree, ElasticNet, GaussianNB, KMeans, LinearRegression, LogisticRegression,
    MultinomialNB, RandomForest, Svm, LINFA_FILE,
};
#[cfg(feature = "torch")]
pub use network::FittedNetwork;
pub use network::{Architecture, Input, NeuralNetwork, ENABLE_TORCH, NETWORK_FILE, WEIGHTS_FILE};
pub use xgboost::{booster_file, XGBoost};

/// Declares [`Estimator`] from one list, by family: the loader of what the family saves, then
/// each estimator's doc and `type` name, which is also its spec's type.
macro_rules! estimators {
    ($($load:path => { $($(#[doc = $doc:literal])* $name:ident,)+ })+) => {
        /// Which estimator a model uses, named in specs by its `type`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum Estimator {
            $($($(#[doc = $doc])* $name($name),)+)+
        }

        impl Estimator {
            /// The spec behind the `type`.
            fn spec(&self) -> &dyn Spec {
                match self {
                    $($(Estimator::$name(e) => e,)+)+
                }
            }

            fn spec_mut(&mut self) -> &mut dyn Spec {
                match self {
                    $($(Estimator::$name(e) => e,)+)+
                }
            }

            /// The estimator's type, as specs name it.
            pub fn name(&self) -> &'static str {
                match self {
                    $($(Estimator::$name(_) => stringify!($name),)+)+
                }
            }
        }

        /// Each family's loader, in the order of the list.
        const LOADERS: &[Loader] = &[$($load,)+];

        $($(
            impl From<$name> for Estimator {
                fn from(e: $name) -> Estimator {
                    Estimator::$name(e)
                }
            }
        )+)+
    };
}

estimators! {
    xgboost::load => {
        /// Gradient-boosted trees from the XGBoost library.
        XGBoost,
    }
    linfa::load => {
        /// Logistic regression (linfa): binary, or multinomial for several classes.
        LogisticRegression,
        /// Ordinary least squares (linfa).
        LinearRegression,
        /// Least squares with an elastic-net penalty: ridge, lasso and between.
        ElasticNet,
        /// Gaussian naive Bayes (linfa).
        GaussianNB,
        /// Multinomial naive Bayes over counts (linfa).
        MultinomialNB,
        /// A decision tree classifier (linfa).
        DecisionTree,
        /// A random forest of bagged decision trees (linfa's trees).
        RandomForest,
        /// A support vector machine (linfa): classes with Platt probabilities, or a number.
        Svm,
        /// K-means clustering (linfa), for a `Cluster` output.
        KMeans,
    }
    network::load => {
        /// A neural network with embeddings for codes (libtorch; cargo feature `torch`).
        NeuralNetwork,
    }
    baseline::load => {
        /// The training labels' prior, whatever the features: the score a model has to beat.
        Baseline,
    }
}

impl Estimator {
    /// Checks the hyper-parameters, and that they suit the output encoder, before any data is
    /// read.
    pub fn validate(&self, output: &OutputEncoder) -> Result<()> {
        self.spec().validate(output)
    }

    /// This estimator held to `threads` threads where it would take every core, so that several
    /// can be fitted at once.
    pub fn sharing_cores(&self, threads: i64) -> Estimator {
        let mut shared = self.clone();
        shared.spec_mut().share_cores(threads);
        shared
    }

    /// Fits on `train` for `task`, stopping early on `validation` (which may have no rows) where
    /// the estimator can; `on_round` is told each finished round. `cardinalities` says of each
    /// feature column how many integer codes it takes (`None`: a float), as the pipeline's
    /// encoders tell. Also returns both splits scored by the kept model.
    pub fn fit(
        &self,
        task: Task,
        cardinalities: &[Option<usize>],
        train: &mut dyn LabelledBatches,
        validation: &mut dyn LabelledBatches,
        on_round: &mut dyn FnMut(u32, u32),
    ) -> Result<(FittedEstimator, FitHistory, [Scored; 2])> {
        let (model, history, scored) = self.spec().fit(Training {
            task,
            cardinalities,
            train,
            validation,
            on_round,
        })?;
        Ok((FittedEstimator(model), history, scored))
    }
}

#[cfg(test)]
impl Estimator {
    /// Fits on `x` labelled `y` in memory, validated on the same rows or, unless `validated`, on
    /// none: how the unit tests fit.
    pub(crate) fn fit_on(
        &self,
        task: Task,
        x: &Matrix,
        y: &[f32],
        validated: bool,
    ) -> Result<(FittedEstimator, FitHistory, [Scored; 2])> {
        let mut validation = match validated {
            true => InMemory::new(x.clone(), y.to_vec()),
            false => InMemory::new(Matrix::empty(x.columns), vec![]),
        };
        self.fit(
            task,
            &vec![None; x.columns],
            &mut InMemory::new(x.clone(), y.to_vec()),
            &mut validation,
            &mut |_, _| {},
        )
    }
}

/// The error of a bad estimator parameter `key`, named by its path in the spec.
pub(crate) fn invalid(key: &str, message: String) -> Error {
    Error::InvalidParam {
        key: format!("estimator.{key}"),
        message,
    }
}

/// A task without its number of classes, which is only known once the output is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Binary,
    MultiClass,
    Regression,
    Clustering,
}

impl Kind {
    pub(crate) fn of(output: &OutputEncoder) -> Kind {
        match output {
            OutputEncoder::Boolean { .. } => Kind::Binary,
            OutputEncoder::Unique { .. } => Kind::MultiClass,
            OutputEncoder::Pass { .. } => Kind::Regression,
            OutputEncoder::Cluster {} => Kind::Clustering,
        }
    }

    pub(crate) fn of_task(task: Task) -> Kind {
        match task {
            Task::Binary => Kind::Binary,
            Task::MultiClass { .. } => Kind::MultiClass,
            Task::Regression => Kind::Regression,
            Task::Clustering => Kind::Clustering,
        }
    }

    pub(crate) fn objective(self) -> &'static str {
        match self {
            Kind::Binary => "binary:logistic",
            Kind::MultiClass => "multi:softprob",
            Kind::Regression => "reg:squarederror",
            // No objective learns without labels; Estimator::validate refuses the pairing first.
            Kind::Clustering => "none",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary classification",
            Kind::MultiClass => "multi-class classification",
            Kind::Regression => "regression",
            Kind::Clustering => "clustering",
        }
    }

    /// The output encoders that give this kind of labels.
    pub(crate) fn outputs(self) -> &'static str {
        match self {
            Kind::Binary => "Boolean",
            Kind::MultiClass => "Unique",
            Kind::Regression => "Pass",
            Kind::Clustering => "Cluster",
        }
    }
}

/// How the fit went, round by round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitHistory {
    /// The round whose model was kept (0-based).
    pub best_iteration: u32,
    /// Rounds run before stopping.
    pub rounds: u32,
    /// The loss watched, as XGBoost names it (`logloss`, `mlogloss`, `rmse`, `mae`).
    pub metric: String,
    /// The training loss after each round (XGBoost's on at most [`LEARNING_CURVE_ROWS`] of
    /// them, every k-th row).
    pub train_loss: Vec<f64>,
    /// The validation loss after each round.
    pub validation_loss: Vec<f64>,
}

impl FitHistory {
    /// The history of a model fitted in one round, with no loss watched.
    pub(crate) fn one_round() -> FitHistory {
        FitHistory {
            best_iteration: 0,
            rounds: 1,
            metric: String::new(),
            train_loss: vec![],
            validation_loss: vec![],
        }
    }
}

/// The labels of a split and the fitted model's predictions for them, row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    /// One label per row.
    pub labels: Vec<f32>,
    /// The kept model's predictions, [`Task::width`] numbers per row.
    pub predictions: Vec<f32>,
}

/// How a feature's importance is counted over the trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// The total loss reduction of the splits on the feature.
    Gain,
    /// How many splits use the feature.
    Weight,
    /// How many training rows the splits on the feature divide, summed.
    Cover,
}

/// A fitted estimator that predicts probabilities or numbers.
#[derive(Debug)]
pub struct FittedEstimator(Box<dyn Fitted>);

impl FittedEstimator {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row (the probability of
    /// yes; a probability per class; the number predicted).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.0.predict(x)
    }

    /// Limits each prediction to `threads` threads of XGBoost's own (other estimators are
    /// unchanged): a server predicts many requests at once, and starting threads for a request
    /// of a few rows costs more than they save.
    pub fn limit_threads(&mut self, threads: usize) -> Result<()> {
        self.0.limit_threads(threads)
    }

    /// Each feature's SHAP contribution to each row's prediction (XGBoost's `pred_contribs`),
    /// in the model's margin (log-odds for a classifier): per row, per class of a multi-class
    /// model, one number per feature and a last one for the bias. They sum to the margin.
    pub fn contributions(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.0.contributions(x)
    }

    /// Saves the model into `dir`, in its family's own format: a booster in XGBoost's (JSON or
    /// UBJ, as fitted), a linfa model as JSON.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.0.save(dir)
    }

    /// Loads a model saved by [`FittedEstimator::save`], in whichever form it was saved.
    pub fn load(dir: &Path) -> Result<FittedEstimator> {
        for load in LOADERS {
            if let Some(model) = load(dir)? {
                return Ok(FittedEstimator(model));
            }
        }
        Err(Error::Fitting(format!(
            "{}: no saved model in this fitting ({}, {}, {LINFA_FILE}, {NETWORK_FILE} or \
             {BASELINE_FILE}); it is incomplete: fit the model again",
            dir.display(),
            booster_file("json"),
            booster_file("ubj"),
        )))
    }

    /// Each feature's importance counted as `kind`, by feature index (0 for unused features);
    /// `None` where the estimator does not count it. A linfa model has one kind of its own,
    /// given as `Gain`: the absolute weight of a linear model, the impurity decrease of a tree.
    pub fn importance(&self, features: usize, kind: Importance) -> Result<Option<Vec<f64>>> {
        self.0.importance(features, kind)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Rows of one feature 0..30 in three bands, labelled by band.
    pub(crate) fn bands(n: usize) -> (Matrix, Vec<f32>) {
        let values: Vec<f32> = (0..n).map(|i| (i % 30) as f32).collect();
        let labels = values.iter().map(|v| (*v / 10.0).floor()).collect();
        (Matrix::dense(values, n, 1), labels)
    }
}
