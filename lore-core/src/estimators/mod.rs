//! Estimators: a spec with hyper-parameters that is `fit` on encoded training data into a fitted
//! estimator that predicts: XGBoost's boosted trees, linfa's classic models, and a neural
//! network on libtorch (cargo feature `torch`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::pipelines::Matrix;
use serde::{Deserialize, Serialize};

mod batches;
mod bayes;
mod booster;
mod dense;
mod forest;
mod kmeans;
mod linear;
mod network;
mod svm;
mod tree;

use crate::encoders::{OutputEncoder, Task};
pub use batches::{Batches, InMemory, LabelledBatches, OneBatch, Sampling};
pub use bayes::{GaussianNB, MultinomialNB};
use booster::{Booster, DMatrix, Prediction};
pub use forest::RandomForest;
pub use kmeans::KMeans;
pub use linear::{ElasticNet, LinearRegression, LogisticRegression};
#[cfg(feature = "torch")]
pub use network::FittedNetwork;
pub use network::{Architecture, Input, NeuralNetwork, ENABLE_TORCH, NETWORK_FILE, WEIGHTS_FILE};
pub use svm::Svm;
pub use tree::DecisionTree;

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

/// XGBoost hyper-parameters, with XGBoost's own names (or scikit-learn's, which XGBoost's Python
/// package also takes) and defaults suited to tabular data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XGBoost {
    /// The learning objective, such as `reg:absoluteerror` [default: from the output encoder:
    /// `binary:logistic` for Boolean, `multi:softprob` for Unique, `reg:squarederror` for Pass].
    pub objective: Option<String>,
    /// Most boosting rounds (trees).
    pub n_estimators: i64,
    /// Deepest a tree may grow.
    pub max_depth: i64,
    /// Shrinkage applied to each tree (`eta`).
    #[serde(alias = "eta")]
    pub learning_rate: f64,
    /// Smallest sum of instance weight in a child.
    pub min_child_weight: f64,
    /// Smallest loss reduction a split must make (`gamma`).
    #[serde(alias = "gamma")]
    pub min_split_loss: f64,
    /// Share of rows sampled for each tree.
    pub subsample: f64,
    /// Share of features sampled for each tree.
    pub colsample_bytree: f64,
    /// L2 regularisation (`lambda`).
    #[serde(alias = "lambda")]
    pub reg_lambda: f64,
    /// L1 regularisation (`alpha`).
    #[serde(alias = "alpha")]
    pub reg_alpha: f64,
    /// Stop when the validation loss has not improved for this many rounds (`patience`; 0:
    /// never stop early); the model keeps the best round.
    #[serde(alias = "patience")]
    pub early_stopping_rounds: i64,
    /// XGBoost's tree construction algorithm (`hist`, `approx`, `exact`).
    pub tree_method: String,
    /// Threads to use (`nthread`; 0: all cores).
    #[serde(alias = "nthread")]
    pub n_jobs: i64,
    /// Random seed.
    pub seed: u64,
    /// How the booster is saved: XGBoost's `json` (readable) or `ubj` (binary JSON, smaller and
    /// faster to load); any XGBoost loads either.
    pub model_format: String,
}

impl Default for XGBoost {
    fn default() -> Self {
        XGBoost {
            objective: None,
            n_estimators: 100,
            max_depth: 3,
            learning_rate: 0.3,
            min_child_weight: 1.0,
            min_split_loss: 0.0,
            subsample: 1.0,
            colsample_bytree: 1.0,
            reg_lambda: 1.0,
            reg_alpha: 0.0,
            early_stopping_rounds: 10,
            tree_method: "hist".into(),
            n_jobs: 0,
            seed: 0,
            model_format: "json".into(),
        }
    }
}

/// XGBoost's objectives that Lore trains, with the kind of output each needs. Ranking and
/// survival need grouped or censored labels, which Lore's outputs do not give.
const OBJECTIVES: &[(&str, Kind)] = &[
    ("binary:logistic", Kind::Binary),
    ("multi:softprob", Kind::MultiClass),
    ("reg:squarederror", Kind::Regression),
    ("reg:squaredlogerror", Kind::Regression),
    ("reg:pseudohubererror", Kind::Regression),
    ("reg:absoluteerror", Kind::Regression),
    ("reg:logistic", Kind::Regression),
    ("reg:gamma", Kind::Regression),
    ("reg:tweedie", Kind::Regression),
    ("count:poisson", Kind::Regression),
];

/// The error of a bad estimator parameter `key`, named by its path in the spec.
fn invalid(key: &str, message: String) -> Error {
    Error::InvalidParam {
        key: format!("estimator.{key}"),
        message,
    }
}

/// A task without its number of classes, which is only known once the output is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Binary,
    MultiClass,
    Regression,
    Clustering,
}

impl Kind {
    fn of(output: &OutputEncoder) -> Kind {
        match output {
            OutputEncoder::Boolean { .. } => Kind::Binary,
            OutputEncoder::Unique { .. } => Kind::MultiClass,
            OutputEncoder::Pass { .. } => Kind::Regression,
            OutputEncoder::Cluster {} => Kind::Clustering,
        }
    }

    fn of_task(task: Task) -> Kind {
        match task {
            Task::Binary => Kind::Binary,
            Task::MultiClass { .. } => Kind::MultiClass,
            Task::Regression => Kind::Regression,
            Task::Clustering => Kind::Clustering,
        }
    }

    fn objective(self) -> &'static str {
        match self {
            Kind::Binary => "binary:logistic",
            Kind::MultiClass => "multi:softprob",
            Kind::Regression => "reg:squarederror",
            // No objective learns without labels; Estimator::validate refuses the pairing first.
            Kind::Clustering => "none",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary classification",
            Kind::MultiClass => "multi-class classification",
            Kind::Regression => "regression",
            Kind::Clustering => "clustering",
        }
    }

    /// The output encoders that give this kind of labels.
    fn outputs(self) -> &'static str {
        match self {
            Kind::Binary => "Boolean",
            Kind::MultiClass => "Unique",
            Kind::Regression => "Pass",
            Kind::Clustering => "Cluster",
        }
    }
}

impl XGBoost {
    /// A classifier or regressor with the defaults; the output encoder decides which.
    pub fn classifier() -> Self {
        XGBoost::default()
    }

    /// Sets the most boosting rounds.
    pub fn n_estimators(mut self, n: i64) -> Self {
        self.n_estimators = n;
        self
    }

    /// Sets the deepest a tree may grow.
    pub fn max_depth(mut self, depth: i64) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the learning rate.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = rate;
        self
    }

    /// Sets the early-stopping patience in rounds.
    pub fn early_stopping_rounds(mut self, rounds: i64) -> Self {
        self.early_stopping_rounds = rounds;
        self
    }

    /// Sets the objective.
    pub fn objective(mut self, objective: &str) -> Self {
        self.objective = Some(objective.into());
        self
    }

    /// The objective for `kind` of labels: the one given, else the kind's own.
    fn objective_for(&self, kind: Kind) -> &str {
        self.objective.as_deref().unwrap_or(kind.objective())
    }

    /// XGBoost's loss on the validation split that early stopping watches.
    fn eval_metric(&self, task: Task) -> &'static str {
        match (task, self.objective_for(Kind::of_task(task))) {
            (Task::Binary, _) => "logloss",
            (Task::MultiClass { .. }, _) => "mlogloss",
            (Task::Regression, "reg:absoluteerror") => "mae",
            (Task::Regression | Task::Clustering, _) => "rmse",
        }
    }

    fn params(&self, task: Task) -> Vec<(&'static str, String)> {
        let mut p = vec![
            (
                "objective",
                self.objective_for(Kind::of_task(task)).to_string(),
            ),
            ("max_depth", self.max_depth.to_string()),
            ("eta", self.learning_rate.to_string()),
            ("min_child_weight", self.min_child_weight.to_string()),
            ("gamma", self.min_split_loss.to_string()),
            ("subsample", self.subsample.to_string()),
            ("colsample_bytree", self.colsample_bytree.to_string()),
            ("lambda", self.reg_lambda.to_string()),
            ("alpha", self.reg_alpha.to_string()),
            ("tree_method", self.tree_method.clone()),
            ("seed", self.seed.to_string()),
            ("eval_metric", self.eval_metric(task).into()),
            ("max_bin", booster::MAX_BIN.to_string()),
            ("verbosity", "0".into()),
        ];
        if let Task::MultiClass { classes } = task {
            p.push(("num_class", classes.to_string()));
        }
        if self.n_jobs > 0 {
            p.push(("nthread", self.n_jobs.to_string()));
        }
        p
    }

    /// Checks every parameter, and that the objective suits `output`, before any data is read.
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        let bad = |key: &str, message: String| Err(invalid(key, message));
        // Integers are read signed so that a negative one is refused here, by name.
        if !(1..=1_000_000).contains(&self.n_estimators) {
            return bad(
                "n_estimators",
                format!("{} is not a number of rounds from 1", self.n_estimators),
            );
        }
        for (key, v) in [
            ("early_stopping_rounds", self.early_stopping_rounds),
            ("n_jobs", self.n_jobs),
        ] {
            if v < 0 {
                return bad(key, format!("{v} is negative; use 0 or more"));
            }
        }
        for (key, v) in [
            ("learning_rate", self.learning_rate),
            ("subsample", self.subsample),
            ("colsample_bytree", self.colsample_bytree),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(key, format!("{v} is not in (0, 1]"));
            }
        }
        for (key, v) in [
            ("min_child_weight", self.min_child_weight),
            ("min_split_loss", self.min_split_loss),
            ("reg_lambda", self.reg_lambda),
            ("reg_alpha", self.reg_alpha),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(key, format!("{v} is not a number of 0 or more"));
            }
        }
        if !(1..=64).contains(&self.max_depth) {
            return bad(
                "max_depth",
                format!("{} is not a depth from 1 to 64", self.max_depth),
            );
        }
        if !["hist", "approx", "exact"].contains(&self.tree_method.as_str()) {
            return bad(
                "tree_method",
                format!("`{}` is not one of hist, approx, exact", self.tree_method),
            );
        }
        if !["json", "ubj"].contains(&self.model_format.as_str()) {
            return bad(
                "model_format",
                format!("`{}` is not json or ubj", self.model_format),
            );
        }
        let wanted = Kind::of(output);
        let objective = self.objective_for(wanted);
        let Some((_, kind)) = OBJECTIVES.iter().find(|(name, _)| *name == objective) else {
            let known: Vec<&str> = OBJECTIVES.iter().map(|(n, _)| *n).collect();
            return bad(
                "objective",
                format!(
                    "`{objective}` is not an objective Lore trains; use one of {}",
                    known.join(", ")
                ),
            );
        };
        if *kind != wanted {
            return bad(
                "objective",
                format!(
                    "`{objective}` is a {} objective, but the output encoder {}({}) asks for \
                     {}; use a {} output encoder, or leave the objective out to get {}",
                    kind.name(),
                    output.kind(),
                    output.column(),
                    wanted.name(),
                    kind.outputs(),
                    wanted.objective()
                ),
            );
        }
        Ok(())
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

/// The most training rows XGBoost's learning curve evaluates each round: a larger training split
/// is sampled, every k-th row, down to at most this many.
pub const LEARNING_CURVE_ROWS: usize = 100_000;

impl XGBoost {
    /// Fits boosted trees, reading both splits batch by batch into XGBoost's quantised
    /// matrices, so neither has to be in memory whole.
    fn fit(
        &self,
        task: Task,
        train: &mut dyn LabelledBatches,
        validation: &mut dyn LabelledBatches,
        on_round: &mut dyn FnMut(u32, u32),
    ) -> Result<(FittedEstimator, FitHistory, [Scored; 2])> {
        let spec = self;
        let pages = train.page_to().map(Path::to_path_buf);
        let threads = u32::try_from(spec.n_jobs).unwrap_or(0);
        let started = std::time::Instant::now();
        // The learning curve's training loss comes from a sample of a large training split.
        // Evaluating every row each round draws the same curve, but costs a copy of all its
        // predictions (32 MB for 8M rows) beside XGBoost's own, and their loss each round.
        let every = train.rows().div_ceil(LEARNING_CURVE_ROWS);
        let (dtrain, curve) = match every > 1 {
            true => {
                let mut sampling = Sampling::new(train, every);
                let dtrain = DMatrix::quantised(&mut sampling, None, threads, pages.as_deref())?;
                let mut sample = sampling.into_sample();
                let curve = DMatrix::quantised(&mut sample, Some(&dtrain), threads, None)?;
                (dtrain, Some(curve))
            }
            false => (
                DMatrix::quantised(train, None, threads, pages.as_deref())?,
                None,
            ),
        };
        tracing::debug!(
            "XGBoost: training rows quantised in {:?}",
            started.elapsed()
        );

        let dvalid = if validation.rows() > 0 {
            let pages = validation.page_to().map(Path::to_path_buf);
            Some(DMatrix::quantised(
                validation,
                Some(&dtrain),
                threads,
                pages.as_deref(),
            )?)
        } else {
            None
        };
        let mut watched = vec![("train", curve.as_ref().unwrap_or(&dtrain))];
        watched.extend(dvalid.as_ref().map(|d| ("validation", d)));
        let mut matrices: Vec<&DMatrix> = vec![&dtrain];
        matrices.extend(curve.as_ref());
        matrices.extend(dvalid.as_ref());
        tracing::debug!("XGBoost: all matrices ready at {:?}", started.elapsed());
        let mut booster = Booster::new(&matrices, &spec.params(task))?;
        let mut history = FitHistory {
            best_iteration: 0,
            rounds: 0,
            metric: spec.eval_metric(task).into(),
            train_loss: vec![],
            validation_loss: vec![],
        };
        let mut best = f64::INFINITY;
        let rounds = u32::try_from(spec.n_estimators).unwrap_or(u32::MAX);
        let patience = u32::try_from(spec.early_stopping_rounds).unwrap_or(0);
        for round in 0..rounds {
            booster.update(&dtrain, round)?;
            let losses = booster.evaluate(round, &watched)?;
            let train_loss = losses[0];
            let valid_loss = losses.get(1).copied().unwrap_or(train_loss);
            history.train_loss.push(train_loss);
            history.validation_loss.push(valid_loss);
            history.rounds = round + 1;
            on_round(round + 1, rounds);
            if valid_loss < best {
                best = valid_loss;
                history.best_iteration = round;
            } else if patience > 0 && round - history.best_iteration >= patience {
                break;
            }
        }
        tracing::debug!(
            "XGBoost: {} rounds done at {:?}",
            history.rounds,
            started.elapsed()
        );
        let kept = booster.first_rounds(history.best_iteration + 1)?;
        drop(booster);
        let score = |matrix: Option<&DMatrix>| -> Result<Scored> {
            Ok(match matrix {
                Some(m) => Scored {
                    labels: m.labels()?,
                    predictions: kept.predict(m, Prediction::Value)?,
                },
                None => Scored::default(),
            })
        };
        let scored = [score(Some(&dtrain))?, score(dvalid.as_ref())?];
        tracing::debug!("XGBoost: both splits scored at {:?}", started.elapsed());
        let fitted = FittedEstimator::XGBoost {
            booster: kept,
            format: spec.model_format.clone(),
        };
        Ok((fitted, history, scored))
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
mod tests {
    use super::*;
    use crate::metrics;
    use crate::pipelines::Values;

    fn data(n: usize) -> (Matrix, Vec<f32>) {
        let values: Vec<f32> = (0..n).map(|i| (i % 10) as f32).collect();
        let labels = values
            .iter()
            .map(|v| if *v >= 5.0 { 1.0 } else { 0.0 })
            .collect();
        (Matrix::dense(values, n, 1), labels)
    }

    #[test]
    fn learns_a_threshold_and_round_trips_through_its_own_format() {
        let (x, y) = data(500);
        let est = Estimator::XGBoost(XGBoost::classifier().n_estimators(20));
        let (fitted, history, [train, validation]) = est
            .fit(
                Task::Binary,
                &[None; 1],
                &mut InMemory::new(x.clone(), y.clone()),
                &mut InMemory::new(x.clone(), y.clone()),
                &mut |_, _| {},
            )
            .unwrap();
        assert!(history.rounds >= 1);
        assert_eq!(history.validation_loss.len(), history.rounds as usize);
        let p = fitted.predict(&x).unwrap();
        assert!(metrics::auc(&y, &p) > 0.99);
        assert_eq!(train.labels, y);
        assert_eq!(
            train.predictions, p,
            "the predictions returned by fit are the kept model's"
        );
        assert_eq!(validation.predictions, p);
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        let back = FittedEstimator::load(dir.path()).unwrap();
        assert_eq!(back.predict(&x).unwrap(), p);
        for kind in [Importance::Gain, Importance::Weight, Importance::Cover] {
            assert!(fitted.importance(1, kind).unwrap().unwrap()[0] > 0.0);
        }
    }

    #[test]
    fn learns_from_sparse_rows_as_from_the_same_dense_ones() {
        let (x, y) = data(500);
        let crate::pipelines::Values::Dense(values) = &x.values else {
            panic!("dense data")
        };
        // Zeros absent: missing to XGBoost, which learns where they go.
        let mut csr = crate::matrix::Csr::new();
        for v in values {
            if *v != 0.0 {
                csr.indices.push(0);
                csr.values.push(*v);
            }
            csr.end_row();
        }
        let sparse = Matrix {
            values: crate::pipelines::Values::Sparse(csr),
            rows: 500,
            columns: 1,
        };
        let est = Estimator::XGBoost(XGBoost::classifier().n_estimators(20));
        let (fitted, _, [train, _]) = est
            .fit(
                Task::Binary,
                &[None; 1],
                &mut InMemory::new(sparse.clone(), y.clone()),
                &mut InMemory::new(sparse.clone(), y.clone()),
                &mut |_, _| {},
            )
            .unwrap();
        let p = fitted.predict(&sparse).unwrap();
        assert!(metrics::auc(&y, &p) > 0.99);
        assert_eq!(train.predictions, p);
        let dense = fitted.predict(&x).unwrap();
        for (i, v) in values.iter().enumerate().filter(|(_, v)| **v != 0.0) {
            assert_eq!(dense[i], p[i], "row {i} ({v}) is stored in both");
        }
    }

    #[test]
    fn fits_without_validation_rows() {
        let (x, y) = data(200);
        let est = Estimator::XGBoost(XGBoost::classifier().n_estimators(5));
        let (_, history, [_, validation]) = est
            .fit(
                Task::Binary,
                &[None; 1],
                &mut InMemory::new(x, y),
                &mut InMemory::new(Matrix::empty(1), vec![]),
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(history.train_loss, history.validation_loss);
        assert!(validation.labels.is_empty());
    }

    #[test]
    fn bad_hyper_parameters_are_named_before_any_data_is_read() {
        let boolean = OutputEncoder::Boolean { column: "y".into() };
        let error = |spec: XGBoost, output: &OutputEncoder| {
            Estimator::XGBoost(spec)
                .validate(output)
                .unwrap_err()
                .to_string()
        };
        let e = error(XGBoost::classifier().learning_rate(0.0), &boolean);
        assert!(e.contains("estimator.learning_rate"), "{e}");
        let e = error(XGBoost::classifier().objective("binary:nonsense"), &boolean);
        assert!(
            e.contains("estimator.objective") && e.contains("binary:nonsense"),
            "{e}"
        );
        let e = error(
            XGBoost::classifier().objective("reg:squarederror"),
            &boolean,
        );
        assert!(
            e.contains("estimator.objective")
                && e.contains("regression")
                && e.contains("Boolean(y)"),
            "{e}"
        );
        let pass = OutputEncoder::Pass { column: "y".into() };
        let e = error(XGBoost::classifier().objective("multi:softprob"), &pass);
        assert!(e.contains("Unique output encoder"), "{e}");
        let mut spec = XGBoost::classifier();
        spec.tree_method = "fastest".into();
        assert!(error(spec, &boolean).contains("estimator.tree_method"));
        assert!(Estimator::XGBoost(XGBoost::default())
            .validate(&pass)
            .is_ok());
    }

    /// Rows of one feature 0..30 in three bands, labelled by band.
    fn bands(n: usize) -> (Matrix, Vec<f32>) {
        let values: Vec<f32> = (0..n).map(|i| (i % 30) as f32).collect();
        let labels = values.iter().map(|v| (*v / 10.0).floor()).collect();
        (Matrix::dense(values, n, 1), labels)
    }

    #[test]
    fn learns_several_classes_with_a_probability_for_each() {
        let (x, y) = bands(600);
        let est = Estimator::XGBoost(XGBoost::classifier().n_estimators(20));
        let (fitted, history, [train, _]) = est
            .fit(
                Task::MultiClass { classes: 3 },
                &[None; 1],
                &mut InMemory::new(x.clone(), y.clone()),
                &mut InMemory::new(x.clone(), y.clone()),
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(history.metric, "mlogloss");
        let p = fitted.predict(&x).unwrap();
        assert_eq!(p.len(), 600 * 3);
        assert_eq!(train.predictions, p);
        let stats = metrics::evaluate(
            Task::MultiClass { classes: 3 },
            metrics::Metric::Accuracy,
            &y,
            &p,
        );
        assert_eq!(stats.accuracy, Some(1.0));
        for row in p.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
        // One contribution per class, feature and bias.
        assert_eq!(fitted.contributions(&x).unwrap().len(), 600 * 3 * 2);
    }

    #[test]
    fn learns_a_number_and_explains_it_with_contributions_that_add_up() {
        let (x, _) = bands(600);
        let Values::Dense(values) = &x.values else {
            panic!("dense data")
        };
        let y: Vec<f32> = values.iter().map(|v| 2.0 * v + 1.0).collect();
        let mut spec = XGBoost::classifier().n_estimators(200);
        spec.model_format = "ubj".into();
        let est = Estimator::XGBoost(spec);
        let (fitted, history, _) = est
            .fit(
                Task::Regression,
                &[None; 1],
                &mut InMemory::new(x.clone(), y.clone()),
                &mut InMemory::new(x.clone(), y.clone()),
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(history.metric, "rmse");
        let p = fitted.predict(&x).unwrap();
        let stats = metrics::evaluate(Task::Regression, metrics::Metric::R2, &y, &p);
        assert!(stats.r2.unwrap() > 0.99, "{stats:?}");
        let contributions = fitted.contributions(&x).unwrap();
        for (row, prediction) in contributions.chunks(2).zip(&p) {
            assert!(
                (row[0] + row[1] - prediction).abs() < 1e-3,
                "{row:?} {prediction}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        assert!(dir.path().join("model.ubj").is_file());
        assert_eq!(
            FittedEstimator::load(dir.path())
                .unwrap()
                .predict(&x)
                .unwrap(),
            p
        );
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
