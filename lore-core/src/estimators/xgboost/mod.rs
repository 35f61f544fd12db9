//! XGBoost: its hyper-parameters as a spec names them (with XGBoost's names and defaults suited to
//! tabular data), checked against the task before any data is read, and its fit from labelled
//! batches with early stopping; `booster` is the FFI wrapper over XGBoost's C API.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::contract::{self, Fitted, Outcome, Spec, Training};
use super::{guard, invalid, FitHistory, Importance, Kind, LabelledBatches, Sampling, Scored};
use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

pub(crate) mod booster;

use booster::{Booster, DMatrix, Prediction};

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

/// Builder methods, one per field: each sets the field and gives the spec back.
macro_rules! setters {
    ($($(#[doc = $doc:literal])* $field:ident: $t:ty;)+) => {$(
        $(#[doc = $doc])*
        pub fn $field(mut self, value: $t) -> Self {
            self.$field = value;
            self
        }
    )+};
}

impl XGBoost {
    /// A classifier or regressor with the defaults; the output encoder decides which.
    pub fn classifier() -> Self {
        XGBoost::default()
    }

    setters! {
        /// Sets the most boosting rounds.
        n_estimators: i64;
        /// Sets the deepest a tree may grow.
        max_depth: i64;
        /// Sets the learning rate.
        learning_rate: f64;
        /// Sets the early-stopping patience in rounds.
        early_stopping_rounds: i64;
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
    fn check(&self, output: &OutputEncoder) -> Result<()> {
        guard::within("n_estimators", self.n_estimators, 1, 1_000_000)?;
        guard::at_least(&[
            ("early_stopping_rounds", self.early_stopping_rounds, 0),
            ("n_jobs", self.n_jobs, 0),
        ])?;
        guard::shares(&[
            ("learning_rate", self.learning_rate),
            ("subsample", self.subsample),
            ("colsample_bytree", self.colsample_bytree),
        ])?;
        guard::non_negative(&[
            ("min_child_weight", self.min_child_weight),
            ("min_split_loss", self.min_split_loss),
            ("reg_lambda", self.reg_lambda),
            ("reg_alpha", self.reg_alpha),
        ])?;
        guard::within("max_depth", self.max_depth, 1, 64)?;
        guard::one_of(
            "tree_method",
            &self.tree_method,
            &["hist", "approx", "exact"],
        )?;
        guard::one_of("model_format", &self.model_format, &["json", "ubj"])?;
        let wanted = Kind::of(output);
        let objective = self.objective_for(wanted);
        let Some((_, kind)) = OBJECTIVES.iter().find(|(name, _)| *name == objective) else {
            let known: Vec<&str> = OBJECTIVES.iter().map(|(n, _)| *n).collect();
            return Err(invalid(
                "objective",
                format!(
                    "`{objective}` is not an objective Lore trains; use one of {}",
                    known.join(", ")
                ),
            ));
        };
        if *kind != wanted {
            return Err(invalid(
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
            ));
        }
        Ok(())
    }
}

/// The most training rows XGBoost's learning curve evaluates each round: a larger training split
/// is sampled, every k-th row, down to at most this many.
pub const LEARNING_CURVE_ROWS: usize = 100_000;

impl XGBoost {
    /// Fits boosted trees, reading both splits batch by batch into XGBoost's quantised
    /// matrices, so neither has to be in memory whole.
    fn learn(
        &self,
        task: Task,
        train: &mut dyn LabelledBatches,
        validation: &mut dyn LabelledBatches,
        on_round: &mut dyn FnMut(u32, u32),
    ) -> Result<Outcome> {
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
        let fitted = FittedBooster {
            booster: kept,
            format: spec.model_format.clone(),
        };
        Ok((Box::new(fitted), history, scored))
    }
}

impl Spec for XGBoost {
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        contract::check_labels("XGBoost", true, output)?;
        self.check(output)
    }

    fn share_cores(&mut self, threads: i64) {
        if self.n_jobs == 0 {
            self.n_jobs = threads;
        }
    }

    fn fit(&self, t: Training<'_>) -> Result<Outcome> {
        self.learn(t.task, t.train, t.validation, t.on_round)
    }
}

/// A booster cut at its best round, and the format it is saved in.
pub(super) struct FittedBooster {
    booster: Booster,
    /// `json` or `ubj`.
    format: String,
}

impl std::fmt::Debug for FittedBooster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FittedBooster({})", self.format)
    }
}

/// The file name of a saved booster inside a fitting, by format: XGBoost's own JSON or UBJ.
pub fn booster_file(format: &str) -> String {
    format!("model.{format}")
}

impl Fitted for FittedBooster {
    fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.booster.predict_matrix(x, Prediction::Value)
    }

    fn contributions(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.booster.predict_matrix(x, Prediction::Contributions)
    }

    fn importance(&self, features: usize, kind: Importance) -> Result<Option<Vec<f64>>> {
        let name = match kind {
            Importance::Gain => "total_gain",
            Importance::Weight => "weight",
            Importance::Cover => "total_cover",
        };
        self.booster.feature_scores(features, name).map(Some)
    }

    fn limit_threads(&mut self, threads: usize) -> Result<()> {
        self.booster
            .set_param("nthread", &threads.max(1).to_string())
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let bytes = self.booster.save(&self.format)?;
        contract::write(dir, &booster_file(&self.format), &bytes)
    }
}

/// Reads a booster saved in a fitting's folder `dir`, in whichever format it was saved.
pub(super) fn load(dir: &Path) -> Result<Option<Box<dyn Fitted>>> {
    let Some(format) = ["json", "ubj"]
        .into_iter()
        .find(|f| dir.join(booster_file(f)).is_file())
    else {
        return Ok(None);
    };
    let path = dir.join(booster_file(format));
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let booster =
        Booster::load(&bytes).map_err(|e| Error::Fitting(format!("{}: {e}", path.display())))?;
    Ok(Some(Box::new(FittedBooster {
        booster,
        format: format.into(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::tests::bands;
    use crate::estimators::{Estimator, FittedEstimator, Importance};
    use crate::matrix::{Matrix, Values};
    use crate::metrics;
    use crate::testing::*;

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
        let (fitted, history, [train, validation]) =
            est.fit_on(Task::Binary, &x, &y, true).unwrap();
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
        let (fitted, _, [train, _]) = est.fit_on(Task::Binary, &sparse, &y, true).unwrap();
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
        let (_, history, [_, validation]) = est.fit_on(Task::Binary, &x, &y, false).unwrap();
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
        holds(&e, &["estimator.learning_rate"]);
        let e = error(XGBoost::classifier().objective("binary:nonsense"), &boolean);
        holds(&e, &["estimator.objective", "binary:nonsense"]);
        let e = error(
            XGBoost::classifier().objective("reg:squarederror"),
            &boolean,
        );
        holds(&e, &["estimator.objective", "regression", "Boolean(y)"]);
        let pass = OutputEncoder::Pass { column: "y".into() };
        let e = error(XGBoost::classifier().objective("multi:softprob"), &pass);
        holds(&e, &["Unique output encoder"]);
        let mut spec = XGBoost::classifier();
        spec.tree_method = "fastest".into();
        assert!(error(spec, &boolean).contains("estimator.tree_method"));
        assert!(Estimator::XGBoost(XGBoost::default())
            .validate(&pass)
            .is_ok());
    }

    #[test]
    fn learns_several_classes_with_a_probability_for_each() {
        let (x, y) = bands(600);
        let est = Estimator::XGBoost(XGBoost::classifier().n_estimators(20));
        let (fitted, history, [train, _]) = est
            .fit_on(Task::MultiClass { classes: 3 }, &x, &y, true)
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
        let (fitted, history, _) = est.fit_on(Task::Regression, &x, &y, true).unwrap();
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
}
