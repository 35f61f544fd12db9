//! Estimators: a spec with hyper-parameters that is `fit` on encoded training data into a fitted
//! estimator that predicts. XGBoost is the gradient-boosting estimator.

use std::path::Path;

use crate::error::{Error, Result};
use crate::pipelines::Matrix;
use serde::{Deserialize, Serialize};

mod booster;

use booster::{Booster, DMatrix};
pub use booster::{InMemory, LabelledBatches};

/// Which estimator a model uses, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Estimator {
    /// Gradient-boosted trees from the XGBoost library.
    XGBoost(XGBoost),
}

/// XGBoost hyper-parameters, with XGBoost's own names and defaults suited to tabular data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XGBoost {
    /// The learning objective (`binary:logistic` for yes/no outputs).
    pub objective: String,
    /// Most boosting rounds (trees).
    pub n_estimators: u32,
    /// Deepest a tree may grow.
    pub max_depth: u32,
    /// Shrinkage applied to each tree (`eta`).
    pub learning_rate: f64,
    /// Smallest sum of instance weight in a child.
    pub min_child_weight: f64,
    /// Share of rows sampled for each tree.
    pub subsample: f64,
    /// Share of features sampled for each tree.
    pub colsample_bytree: f64,
    /// L2 regularisation.
    pub reg_lambda: f64,
    /// L1 regularisation.
    pub reg_alpha: f64,
    /// Stop when validation log-loss has not improved for this many rounds (0: never stop early).
    pub early_stopping_rounds: u32,
    /// XGBoost's tree construction algorithm (`hist`, `approx`, `exact`).
    pub tree_method: String,
    /// Threads to use (0: all cores).
    pub n_jobs: u32,
    /// Random seed.
    pub seed: u64,
}

impl Default for XGBoost {
    fn default() -> Self {
        XGBoost {
            objective: "binary:logistic".into(),
            n_estimators: 100,
            max_depth: 3,
            learning_rate: 0.3,
            min_child_weight: 1.0,
            subsample: 1.0,
            colsample_bytree: 1.0,
            reg_lambda: 1.0,
            reg_alpha: 0.0,
            early_stopping_rounds: 10,
            tree_method: "hist".into(),
            n_jobs: 0,
            seed: 0,
        }
    }
}

impl XGBoost {
    /// A binary classifier with the defaults.
    pub fn classifier() -> Self {
        XGBoost::default()
    }

    /// Sets the most boosting rounds.
    pub fn n_estimators(mut self, n: u32) -> Self {
        self.n_estimators = n;
        self
    }

    /// Sets the deepest a tree may grow.
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the learning rate.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = rate;
        self
    }

    /// Sets the early-stopping patience in rounds.
    pub fn early_stopping_rounds(mut self, rounds: u32) -> Self {
        self.early_stopping_rounds = rounds;
        self
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("objective", self.objective.clone()),
            ("max_depth", self.max_depth.to_string()),
            ("eta", self.learning_rate.to_string()),
            ("min_child_weight", self.min_child_weight.to_string()),
            ("subsample", self.subsample.to_string()),
            ("colsample_bytree", self.colsample_bytree.to_string()),
            ("lambda", self.reg_lambda.to_string()),
            ("alpha", self.reg_alpha.to_string()),
            ("tree_method", self.tree_method.clone()),
            ("seed", self.seed.to_string()),
            ("eval_metric", "logloss".into()),
            ("max_bin", booster::MAX_BIN.to_string()),
            ("verbosity", "0".into()),
        ];
        if self.n_jobs > 0 {
            p.push(("nthread", self.n_jobs.to_string()));
        }
        p
    }

    fn validate(&self) -> Result<()> {
        let bad = |key: &str, message: &str| {
            Err(Error::InvalidParam {
                key: format!("estimator.{key}"),
                message: message.into(),
            })
        };
        if self.n_estimators == 0 {
            return bad("n_estimators", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate", "must be in (0, 1]");
        }
        for (key, v) in [
            ("subsample", self.subsample),
            ("colsample_bytree", self.colsample_bytree),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(key, "must be in (0, 1]");
            }
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
    /// Training log-loss after each round.
    pub train_log_loss: Vec<f64>,
    /// Validation log-loss after each round.
    pub validation_log_loss: Vec<f64>,
}

/// The labels of a split and the fitted model's predictions for them, row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    /// One label per row.
    pub labels: Vec<f32>,
    /// The kept model's prediction for each row.
    pub predictions: Vec<f32>,
}

/// A fitted estimator that predicts probabilities.
pub struct FittedEstimator {
    booster: Booster,
}

impl std::fmt::Debug for FittedEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FittedEstimator(XGBoost)")
    }
}

/// The file name of a saved booster inside a fitting (XGBoost's own JSON model format).
pub const BOOSTER_FILE: &str = "model.json";

impl Estimator {
    /// Fits on `train`, stopping early on `validation` (which may have no rows); `on_round` is
    /// told each finished round. Both are read batch by batch into XGBoost's quantised matrices,
    /// so neither has to be in memory whole. Also returns both splits scored by the kept model.
    pub fn fit(
        &self,
        train: &mut dyn LabelledBatches,
        validation: &mut dyn LabelledBatches,
        on_round: &mut dyn FnMut(u32, u32),
    ) -> Result<(FittedEstimator, FitHistory, [Scored; 2])> {
        let Estimator::XGBoost(spec) = self;
        spec.validate()?;
        let pages = train.page_to().map(Path::to_path_buf);
        let dtrain = DMatrix::quantised(train, None, spec.n_jobs, pages.as_deref())?;

        let dvalid = if validation.rows() > 0 {
            let pages = validation.page_to().map(Path::to_path_buf);
            Some(DMatrix::quantised(
                validation,
                Some(&dtrain),
                spec.n_jobs,
                pages.as_deref(),
            )?)
        } else {
            None
        };
        let mut watched = vec![("train", &dtrain)];
        watched.extend(dvalid.as_ref().map(|d| ("validation", d)));
        let matrices: Vec<&DMatrix> = watched.iter().map(|(_, m)| *m).collect();
        let mut booster = Booster::new(&matrices, &spec.params())?;
        let mut history = FitHistory {
            best_iteration: 0,
            rounds: 0,
            train_log_loss: vec![],
            validation_log_loss: vec![],
        };
        let mut best = f64::INFINITY;
        for round in 0..spec.n_estimators {
            booster.update(&dtrain, round)?;
            let losses = booster.evaluate(round, &watched)?;
            let train_loss = losses[0];
            let valid_loss = losses.get(1).copied().unwrap_or(train_loss);
            history.train_log_loss.push(train_loss);
            history.validation_log_loss.push(valid_loss);
            history.rounds = round + 1;
            on_round(round + 1, spec.n_estimators);
            if valid_loss < best {
                best = valid_loss;
                history.best_iteration = round;
            } else if spec.early_stopping_rounds > 0
                && round - history.best_iteration >= spec.early_stopping_rounds
            {
                break;
            }
        }
        let kept = booster.first_rounds(history.best_iteration + 1)?;
        drop(booster);
        let score = |matrix: Option<&DMatrix>| -> Result<Scored> {
            Ok(match matrix {
                Some(m) => Scored {
                    labels: m.labels()?,
                    predictions: kept.predict(m)?,
                },
                None => Scored::default(),
            })
        };
        let scored = [score(Some(&dtrain))?, score(dvalid.as_ref())?];
        Ok((FittedEstimator { booster: kept }, history, scored))
    }
}

impl FittedEstimator {
    /// The probability of the positive class for every row of `x`.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.booster.predict_matrix(x)
    }

    /// Saves the booster in XGBoost's own JSON format into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let bytes = self.booster.save("json")?;
        let path = dir.join(BOOSTER_FILE);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }

    /// Loads a booster saved by [`FittedEstimator::save`].
    pub fn load(dir: &Path) -> Result<FittedEstimator> {
        let path = dir.join(BOOSTER_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let booster = Booster::load(&bytes)
            .map_err(|e| Error::Fitting(format!("{}: {e}", path.display())))?;
        Ok(FittedEstimator { booster })
    }

    /// Gain-based importance of each feature, by feature index.
    pub fn importance(&self, features: usize) -> Result<Vec<f64>> {
        self.booster.total_gain(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;

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
                &mut InMemory::new(x.clone(), y.clone()),
                &mut InMemory::new(x.clone(), y.clone()),
                &mut |_, _| {},
            )
            .unwrap();
        assert!(history.rounds >= 1);
        assert_eq!(history.validation_log_loss.len(), history.rounds as usize);
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
        assert!(fitted.importance(1).unwrap()[0] > 0.0);
    }

    #[test]
    fn learns_from_sparse_rows_as_from_the_same_dense_ones() {
        let (x, y) = data(500);
        let crate::pipelines::Values::Dense(values) = &x.values else {
            panic!("dense data")
        };
        // Zeros absent: missing to XGBoost, which learns where they go.
        let mut csr = crate::pipelines::Csr::new();
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
                &mut InMemory::new(x, y),
                &mut InMemory::new(Matrix::empty(1), vec![]),
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(history.train_log_loss, history.validation_log_loss);
        assert!(validation.labels.is_empty());
    }

    #[test]
    fn bad_hyper_parameters_are_named() {
        let (x, y) = data(10);
        let est = Estimator::XGBoost(XGBoost::classifier().learning_rate(0.0));
        let e = est
            .fit(
                &mut InMemory::new(x.clone(), y.clone()),
                &mut InMemory::new(x, y),
                &mut |_, _| {},
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("learning_rate"), "{e}");
    }
}
