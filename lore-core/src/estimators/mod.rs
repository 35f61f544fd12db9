//! Estimators: a spec with hyper-parameters that is `fit` on encoded training data into a fitted
//! estimator that predicts: XGBoost's boosted trees, linfa's classic models, and a neural
//! network on libtorch (cargo feature `torch`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::pipelines::Matrix;
use serde::{Deserialize, Serialize};

mod batches;
mod bayes;
mod dense;
mod forest;
mod kmeans;
mod linear;
mod network;
mod svm;
mod tree;
mod xgboost;

use crate::encoders::{OutputEncoder, Task};
pub use batches::{Batches, InMemory, LabelledBatches, OneBatch, Sampling};
pub use bayes::{GaussianNB, MultinomialNB};
pub use forest::RandomForest;
pub use kmeans::KMeans;
pub use linear::{ElasticNet, LinearRegression, LogisticRegression};
#[cfg(feature = "torch")]
pub use network::FittedNetwork;
pub use network::{Architecture, Input, NeuralNetwork, ENABLE_TORCH, NETWORK_FILE, WEIGHTS_FILE};
pub use svm::Svm;
pub use tree::DecisionTree;
use xgboost::booster::{Booster, Prediction};
pub use xgboost::XGBoost;

/// Which estimator a model uses, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Estimator {
    /// Gradient-boosted trees from the XGBoost library.
    XGBoost(XGBoost),
    /// Logistic regression (linfa): binary, or multinomial for several classes.
    LogisticRegression(LogisticRegression),
    /// Ordinary least squares (linfa).
    LinearRegression(LinearRegression),
    /// Least squares with an elastic-net penalty: ridge, lasso and between.
    ElasticNet(ElasticNet),
    /// Gaussian naive Bayes (linfa).
    GaussianNB(GaussianNB),
    /// Multinomial naive Bayes over counts (linfa).
    MultinomialNB(MultinomialNB),
    /// A decision tree classifier (linfa).
    DecisionTree(DecisionTree),
    /// A random forest of bagged decision trees (linfa's trees).
    RandomForest(RandomForest),
    /// A support vector machine (linfa): classes with Platt probabilities, or a number.
    Svm(Svm),
    /// K-means clustering (linfa), for a `Cluster` output.
    KMeans(KMeans),
    /// A neural network with embeddings for codes (libtorch; cargo feature `torch`).
    NeuralNetwork(NeuralNetwork),
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
pub enum FittedEstimator {
    /// An XGBoost booster and the format it is saved in.
    XGBoost {
        /// The booster, cut at its best round.
        booster: Booster,
        /// `json` or `ubj`.
        format: String,
    },
    /// A fitted linfa model.
    Linfa(Box<LinfaModel>),
    /// A fitted neural network.
    /// (Behind a lock: libtorch's tensors may not be used from two threads at once, and the API
    /// shares one fitting between all its requests.)
    #[cfg(feature = "torch")]
    Network(Box<std::sync::Mutex<FittedNetwork>>),
}

/// A fitted linfa model, saved with serde as `model.linfa.json`.
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

impl std::fmt::Debug for FittedEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FittedEstimator::XGBoost { .. } => f.write_str("FittedEstimator(XGBoost)"),
            FittedEstimator::Linfa(model) => write!(f, "FittedEstimator({model:?})"),
            #[cfg(feature = "torch")]
            FittedEstimator::Network(model) => write!(f, "FittedEstimator({:?})", network(model)),
        }
    }
}

/// The network behind `lock`; a panic in another request's prediction leaves it usable, as a
/// prediction changes nothing in it.
#[cfg(feature = "torch")]
fn network(lock: &std::sync::Mutex<FittedNetwork>) -> std::sync::MutexGuard<'_, FittedNetwork> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The file name of a saved booster inside a fitting, by format: XGBoost's own JSON or UBJ.
pub fn booster_file(format: &str) -> String {
    format!("model.{format}")
}

/// The file name of a saved linfa model inside a fitting.
pub const LINFA_FILE: &str = "model.linfa.json";

impl LinfaModel {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row.
    fn predict(&self, x: &ndarray::Array2<f64>) -> Vec<f32> {
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

impl Estimator {
    /// Checks the hyper-parameters, and that they suit the output encoder, before any data is
    /// read.
    pub fn validate(&self, output: &OutputEncoder) -> Result<()> {
        let clustering = matches!(output, OutputEncoder::Cluster {});
        let refused = match (self, clustering) {
            (Estimator::KMeans(spec), true) => return spec.validate(),
            (Estimator::KMeans(_), false) => Some(format!(
                "KMeans finds clusters without labels, but the output encoder {}({}) gives \
                 labels to learn; declare `[pipeline.output]` as `type = \"Cluster\"`, or use \
                 an estimator that learns labels",
                output.kind(),
                output.column()
            )),
            (_, true) => Some(format!(
                "{} learns from labels, but the output encoder Cluster has none; use KMeans, \
                 or an output encoder with a column (Boolean, Unique, Pass)",
                self.name()
            )),
            (_, false) => None,
        };
        if let Some(message) = refused {
            return Err(Error::InvalidParam {
                key: "estimator.type".into(),
                message,
            });
        }
        let kind = match self {
            Estimator::XGBoost(spec) => return spec.validate(output),
            Estimator::NeuralNetwork(spec) => return spec.validate(),
            Estimator::Svm(spec) => return spec.validate(),
            Estimator::KMeans(spec) => return spec.validate(),
            Estimator::LogisticRegression(spec) => spec.validate()?,
            Estimator::LinearRegression(_) => Kind::Regression,
            Estimator::ElasticNet(spec) => spec.validate()?,
            Estimator::GaussianNB(spec) => spec.validate()?,
            Estimator::MultinomialNB(spec) => spec.validate()?,
            Estimator::DecisionTree(spec) => spec.validate()?,
            Estimator::RandomForest(spec) => spec.validate()?,
        };
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
                "{} predicts {predicts}, but the output encoder {}({}) asks for {}; use {instead}, \
                 or a {outputs} output encoder",
                self.name(),
                output.kind(),
                output.column(),
                Kind::of(output).name()
            ),
        })
    }

    /// The estimator's type, as specs name it.
    pub fn name(&self) -> &'static str {
        match self {
            Estimator::XGBoost(_) => "XGBoost",
            Estimator::LogisticRegression(_) => "LogisticRegression",
            Estimator::LinearRegression(_) => "LinearRegression",
            Estimator::ElasticNet(_) => "ElasticNet",
            Estimator::GaussianNB(_) => "GaussianNB",
            Estimator::MultinomialNB(_) => "MultinomialNB",
            Estimator::DecisionTree(_) => "DecisionTree",
            Estimator::RandomForest(_) => "RandomForest",
            Estimator::Svm(_) => "Svm",
            Estimator::KMeans(_) => "KMeans",
            Estimator::NeuralNetwork(_) => "NeuralNetwork",
        }
    }

    /// This estimator held to `threads` threads where it would take every core, so that several
    /// can be fitted at once.
    pub fn sharing_cores(&self, threads: i64) -> Estimator {
        let mut shared = self.clone();
        match &mut shared {
            Estimator::XGBoost(x) if x.n_jobs == 0 => x.n_jobs = threads,
            Estimator::NeuralNetwork(n) if n.n_jobs == 0 => n.n_jobs = threads,
            _ => {}
        }
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
        let classes = match task {
            Task::MultiClass { classes } => classes,
            Task::Binary | Task::Regression | Task::Clustering => 2,
        };
        let (x, y) = match self {
            Estimator::XGBoost(spec) => return spec.fit(task, train, validation, on_round),
            #[cfg(feature = "torch")]
            Estimator::NeuralNetwork(spec) => {
                let (model, history, scored) =
                    spec.fit(task, cardinalities, train, validation, on_round)?;
                let model = Box::new(std::sync::Mutex::new(model));
                return Ok((FittedEstimator::Network(model), history, scored));
            }
            #[cfg(not(feature = "torch"))]
            Estimator::NeuralNetwork(_) => {
                let _ = cardinalities;
                return Err(Error::Estimator(ENABLE_TORCH.into()));
            }
            _ => dense::read(train)?,
        };
        on_round(0, 1);
        let model = match self {
            Estimator::LogisticRegression(spec) => Linfa::Linear(spec.fit(&x, &y, classes)?),
            Estimator::LinearRegression(spec) => Linfa::Linear(spec.fit(&x, &y)?),
            Estimator::ElasticNet(spec) => Linfa::Linear(spec.fit(&x, &y)?),
            Estimator::GaussianNB(spec) => Linfa::Bayes(spec.fit(&x, &y, classes)?),
            Estimator::MultinomialNB(spec) => Linfa::Bayes(spec.fit(&x, &y, classes)?),
            Estimator::DecisionTree(spec) => Linfa::Tree(spec.fit(&x, &y, classes)?),
            Estimator::RandomForest(spec) => Linfa::Forest(spec.fit(&x, &y, classes)?),
            Estimator::Svm(spec) => {
                let classes = (task != Task::Regression).then_some(classes);
                Linfa::Svm(spec.fit(&x, &y, classes)?)
            }
            Estimator::KMeans(spec) => Linfa::KMeans(spec.fit(&x)?),
            Estimator::XGBoost(_) | Estimator::NeuralNetwork(_) => {
                return Err(Error::Estimator(format!(
                    "{} is fitted from batches, not as a linfa model",
                    self.name()
                )))
            }
        };
        on_round(1, 1);
        let model = LinfaModel { task, model };
        let train = Scored {
            predictions: model.predict(&x),
            labels: y,
        };
        let validation = match validation.rows() {
            0 => Scored::default(),
            _ => {
                let (x, labels) = dense::read(validation)?;
                Scored {
                    predictions: model.predict(&x),
                    labels,
                }
            }
        };
        let history = FitHistory {
            best_iteration: 0,
            rounds: 1,
            metric: String::new(),
            train_loss: vec![],
            validation_loss: vec![],
        };
        Ok((
            FittedEstimator::Linfa(Box::new(model)),
            history,
            [train, validation],
        ))
    }
}

impl FittedEstimator {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row (the probability of
    /// yes; a probability per class; the number predicted).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        match self {
            FittedEstimator::XGBoost { booster, .. } => {
                booster.predict_matrix(x, Prediction::Value)
            }
            FittedEstimator::Linfa(model) => Ok(model.predict(&dense::of(x)?)),
            #[cfg(feature = "torch")]
            FittedEstimator::Network(model) => network(model).predict(x),
        }
    }

    /// Limits each prediction to `threads` threads of XGBoost's own (other estimators are
    /// unchanged): a server predicts many requests at once, and starting threads for a request
    /// of a few rows costs more than they save.
    pub fn limit_threads(&mut self, threads: usize) -> Result<()> {
        match self {
            FittedEstimator::XGBoost { booster, .. } => {
                booster.set_param("nthread", &threads.max(1).to_string())
            }
            _ => Ok(()),
        }
    }

    /// Each feature's SHAP contribution to each row's prediction (XGBoost's `pred_contribs`),
    /// in the model's margin (log-odds for a classifier): per row, per class of a multi-class
    /// model, one number per feature and a last one for the bias. They sum to the margin.
    pub fn contributions(&self, x: &Matrix) -> Result<Vec<f32>> {
        match self {
            FittedEstimator::XGBoost { booster, .. } => {
                booster.predict_matrix(x, Prediction::Contributions)
            }
            _ => Err(Error::Estimator(
                "SHAP contributions (--explain) come from XGBoost's own trees; this model's \
                 estimator is not XGBoost, so it has none"
                    .into(),
            )),
        }
    }

    /// Saves the model into `dir`: a booster in XGBoost's own format (JSON or UBJ, as fitted),
    /// a linfa model as JSON.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let (bytes, path) = match self {
            #[cfg(feature = "torch")]
            FittedEstimator::Network(model) => return network(model).save(dir),
            FittedEstimator::XGBoost { booster, format } => {
                (booster.save(format)?, dir.join(booster_file(format)))
            }
            FittedEstimator::Linfa(model) => (
                serde_json::to_vec(model).map_err(|e| Error::Estimator(e.to_string()))?,
                dir.join(LINFA_FILE),
            ),
        };
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }

    /// Loads a model saved by [`FittedEstimator::save`], in whichever form it was saved.
    pub fn load(dir: &Path) -> Result<FittedEstimator> {
        if dir.join(NETWORK_FILE).is_file() {
            #[cfg(feature = "torch")]
            return Ok(FittedEstimator::Network(Box::new(std::sync::Mutex::new(
                FittedNetwork::load(dir)?,
            ))));
            #[cfg(not(feature = "torch"))]
            return Err(Error::Fitting(format!(
                "{}: this fitting is a neural network. {ENABLE_TORCH}",
                dir.join(NETWORK_FILE).display()
            )));
        }
        let linfa = dir.join(LINFA_FILE);
        if linfa.is_file() {
            let bytes = std::fs::read(&linfa).map_err(|e| Error::io(&linfa, e))?;
            let model: LinfaModel = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Fitting(format!(
                    "{}: line {}, column {}: {e}",
                    linfa.display(),
                    e.line(),
                    e.column()
                ))
            })?;
            return Ok(FittedEstimator::Linfa(Box::new(model)));
        }
        let format = ["json", "ubj"]
            .into_iter()
            .find(|f| dir.join(booster_file(f)).is_file())
            .unwrap_or("json");
        let path = dir.join(booster_file(format));
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let booster = Booster::load(&bytes)
            .map_err(|e| Error::Fitting(format!("{}: {e}", path.display())))?;
        Ok(FittedEstimator::XGBoost {
            booster,
            format: format.into(),
        })
    }

    /// Each feature's importance counted as `kind`, by feature index (0 for unused features);
    /// `None` where the estimator does not count it. A linfa model has one kind of its own,
    /// given as `Gain`: the absolute weight of a linear model, the impurity decrease of a tree.
    pub fn importance(&self, features: usize, kind: Importance) -> Result<Option<Vec<f64>>> {
        let booster = match self {
            FittedEstimator::XGBoost { booster, .. } => booster,
            FittedEstimator::Linfa(model) => {
                let own = match (&model.model, kind) {
                    (Linfa::Linear(m), Importance::Gain) => Some(m.importance()),
                    (Linfa::Tree(m), Importance::Gain) => Some(m.importance(features)),
                    (Linfa::Forest(m), Importance::Gain) => Some(m.importance(features)),
                    _ => None,
                };
                return Ok(own.map(|mut v| {
                    v.resize(features, 0.0);
                    v
                }));
            }
            #[cfg(feature = "torch")]
            FittedEstimator::Network(_) => return Ok(None),
        };
        let name = match kind {
            Importance::Gain => "total_gain",
            Importance::Weight => "weight",
            Importance::Cover => "total_cover",
        };
        booster.feature_scores(features, name).map(Some)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics;
    use crate::pipelines::Values;

    /// Rows of one feature 0..30 in three bands, labelled by band.
    pub(crate) fn bands(n: usize) -> (Matrix, Vec<f32>) {
        let values: Vec<f32> = (0..n).map(|i| (i % 30) as f32).collect();
        let labels = values.iter().map(|v| (*v / 10.0).floor()).collect();
        (Matrix::dense(values, n, 1), labels)
    }

    /// Two features: the first decides the class (above 5), the second is noise; the number is
    /// twice the first plus one.
    fn two_features(n: usize) -> (Matrix, Vec<f32>, Vec<f32>) {
        let mut values = Vec::with_capacity(2 * n);
        let (mut classes, mut numbers) = (vec![], vec![]);
        for i in 0..n {
            let a = (i % 10) as f32;
            values.extend([a, ((i * 7) % 3) as f32]);
            classes.push(f32::from(a >= 5.0));
            numbers.push(2.0 * a + 1.0);
        }
        (Matrix::dense(values, n, 2), classes, numbers)
    }

    #[test]
    fn every_linfa_estimator_fits_beats_a_constant_and_round_trips() {
        let (x, classes, numbers) = two_features(400);
        let classifiers = [
            Estimator::LogisticRegression(LogisticRegression::default()),
            Estimator::GaussianNB(GaussianNB::default()),
            Estimator::MultinomialNB(MultinomialNB::default()),
            Estimator::DecisionTree(DecisionTree::default()),
        ];
        let regressors = [
            Estimator::LinearRegression(LinearRegression::default()),
            Estimator::ElasticNet(ElasticNet::default()),
        ];
        let cases = classifiers
            .into_iter()
            .map(|e| (e, Task::Binary, &classes, metrics::Metric::Auc))
            .chain(
                regressors
                    .into_iter()
                    .map(|e| (e, Task::Regression, &numbers, metrics::Metric::R2)),
            );
        for (estimator, task, y, metric) in cases {
            let name = estimator.name();
            let (fitted, history, [train, validation]) = estimator
                .fit(
                    task,
                    &[None; 1],
                    &mut InMemory::new(x.clone(), y.clone()),
                    &mut InMemory::new(x.clone(), y.clone()),
                    &mut |_, _| {},
                )
                .unwrap();
            assert_eq!(history.rounds, 1);
            let p = fitted.predict(&x).unwrap();
            assert_eq!(p.len(), 400, "{name}");
            assert_eq!(train.predictions, p, "{name}");
            assert_eq!(validation.predictions, p, "{name}");
            let score = metrics::evaluate(task, metric, y, &p).score.unwrap();
            // A constant predictor scores AUC 0.5 and R² 0.
            assert!(score > 0.8, "{name}: {metric:?} {score}");
            let dir = tempfile::tempdir().unwrap();
            fitted.save(dir.path()).unwrap();
            assert!(dir.path().join(LINFA_FILE).is_file(), "{name}");
            let back = FittedEstimator::load(dir.path()).unwrap();
            assert_eq!(back.predict(&x).unwrap(), p, "{name}");
            let e = back.contributions(&x).unwrap_err().to_string();
            assert!(e.contains("XGBoost"), "{e}");
        }
    }

    #[test]
    fn the_elastic_net_is_least_squares_without_a_penalty_and_shrinks_with_one() {
        let (x, _, y) = two_features(400);
        let fit = |penalty: f64, l1_ratio: f64| {
            let spec = ElasticNet {
                penalty,
                l1_ratio,
                ..ElasticNet::default()
            };
            let (fitted, _, _) = Estimator::ElasticNet(spec)
                .fit(
                    Task::Regression,
                    &[None; 1],
                    &mut InMemory::new(x.clone(), y.clone()),
                    &mut InMemory::new(Matrix::empty(2), vec![]),
                    &mut |_, _| {},
                )
                .unwrap();
            let weights = fitted.importance(2, Importance::Gain).unwrap().unwrap();
            (weights, fitted.predict(&x).unwrap())
        };
        // y = 2a + 1 exactly: no penalty finds it.
        let (weights, p) = fit(0.0, 0.5);
        assert!(
            (weights[0] - 2.0).abs() < 1e-6 && weights[1] < 1e-6,
            "{weights:?}"
        );
        assert!((p[3] - 7.0).abs() < 1e-4, "{:?}", &p[..4]);
        // Lasso drops the noise feature and shrinks the other; ridge shrinks.
        let (lasso, _) = fit(0.5, 1.0);
        assert!(
            lasso[1] == 0.0 && lasso[0] < 2.0 && lasso[0] > 1.5,
            "{lasso:?}"
        );
        let (ridge, _) = fit(0.5, 0.0);
        assert!(ridge[0] < 2.0 && ridge[0] > 1.5, "{ridge:?}");
    }

    #[test]
    fn linfa_classifiers_give_a_probability_per_class() {
        let (x, y) = bands(300);
        let Values::Dense(values) = &x.values else {
            panic!("dense data")
        };
        let x = Matrix::dense(values.clone(), 300, 1);
        for estimator in [
            Estimator::LogisticRegression(LogisticRegression::default()),
            Estimator::GaussianNB(GaussianNB::default()),
            Estimator::DecisionTree(DecisionTree::default()),
        ] {
            let name = estimator.name();
            let task = Task::MultiClass { classes: 3 };
            let (fitted, _, _) = estimator
                .fit(
                    task,
                    &[None; 1],
                    &mut InMemory::new(x.clone(), y.clone()),
                    &mut InMemory::new(Matrix::empty(1), vec![]),
                    &mut |_, _| {},
                )
                .unwrap();
            let p = fitted.predict(&x).unwrap();
            assert_eq!(p.len(), 900, "{name}");
            for row in p.chunks(3) {
                assert!(
                    (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                    "{name}: {row:?}"
                );
            }
            let stats = metrics::evaluate(task, metrics::Metric::Accuracy, &y, &p);
            assert!(stats.accuracy.unwrap() > 0.9, "{name}: {stats:?}");
        }
    }

    #[test]
    fn a_linfa_estimator_must_suit_the_output() {
        let boolean = OutputEncoder::Boolean { column: "y".into() };
        let e = Estimator::LinearRegression(LinearRegression::default())
            .validate(&boolean)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("estimator.type")
                && e.contains("LinearRegression")
                && e.contains("Boolean(y)"),
            "{e}"
        );
        let pass = OutputEncoder::Pass { column: "y".into() };
        assert!(Estimator::GaussianNB(GaussianNB::default())
            .validate(&pass)
            .is_err());
        let e = Estimator::LogisticRegression(LogisticRegression {
            alpha: -1.0,
            ..LogisticRegression::default()
        })
        .validate(&boolean)
        .unwrap_err()
        .to_string();
        assert!(e.contains("estimator.alpha"), "{e}");
    }
}
