//! Linear models: logistic regression for classes (binary and multinomial, linfa's), ordinary
//! least squares (linfa's) and the elastic net for numbers. The elastic net (ridge and lasso at
//! its ends) is Lore's own coordinate descent, scikit-learn's formulation: linfa-elasticnet
//! 0.8.1 gave wrong weights on an exactly linear problem with two features.

use linfa::prelude::*;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{invalid, Kind};
use crate::error::{Error, Result};
use crate::estimators::guard;

/// Logistic regression (linfa-logistic): one weight per feature and class, L2-penalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticRegression {
    /// Strength of the L2 penalty on the weights (0: none).
    pub alpha: f64,
    /// Most iterations of the optimiser (L-BFGS).
    pub max_iterations: u64,
    /// Stop once the gradient's norm is below this.
    pub gradient_tolerance: f64,
    /// Learn an intercept.
    pub fit_intercept: bool,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            fit_intercept: true,
        }
    }
}

/// Ordinary least squares (linfa-linear).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearRegression {
    /// Learn an intercept.
    pub fit_intercept: bool,
}

impl Default for LinearRegression {
    fn default() -> Self {
        LinearRegression {
            fit_intercept: true,
        }
    }
}

/// Least squares with an elastic-net penalty, minimising
/// `|y - Xw - b|² / 2n + penalty · (l1_ratio · |w|₁ + (1 - l1_ratio) · |w|² / 2)`:
/// ridge at `l1_ratio = 0`, lasso at `l1_ratio = 1` (scikit-learn's `alpha` is `penalty`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNet {
    /// Strength of the penalty.
    pub penalty: f64,
    /// Share of the penalty on the absolute weights (L1); the rest is on their squares (L2).
    pub l1_ratio: f64,
    /// Learn an intercept.
    pub fit_intercept: bool,
    /// Most passes over the features.
    pub max_iterations: u32,
    /// Stop once a pass changes no weight by more than this share of the largest weight.
    pub tolerance: f64,
}

impl Default for ElasticNet {
    fn default() -> Self {
        ElasticNet {
            penalty: 0.1,
            l1_ratio: 0.5,
            fit_intercept: true,
            max_iterations: 1000,
            tolerance: 1e-4,
        }
    }
}

fn linfa_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Estimator(format!("{what}: {e}"))
}

/// A fitted linear model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FittedLinear {
    /// Class probabilities.
    Logistic {
        /// linfa's fitted model.
        model: linfa_logistic::MultiFittedLogisticRegression<f64, usize>,
        /// The output's classes (some may be missing from the training rows).
        classes: usize,
    },
    /// Least squares.
    Ordinary {
        /// linfa's fitted model.
        model: linfa_linear::FittedLinearRegression<f64>,
    },
    /// Penalised least squares.
    Penalised {
        /// One weight per feature.
        weights: Vec<f64>,
        /// The intercept.
        intercept: f64,
    },
}

impl LogisticRegression {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::non_negative(&[("alpha", self.alpha)])?;
        guard::positive(&[("gradient_tolerance", self.gradient_tolerance)])?;
        Ok(Kind::MultiClass)
    }

    /// Fits on `x` labelled with classes `y` (0..`classes`).
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedLinear> {
        let targets: ndarray::Array1<usize> = y.iter().map(|v| *v as usize).collect();
        let model = linfa_logistic::MultiLogisticRegression::default()
            .alpha(self.alpha)
            .max_iterations(self.max_iterations)
            .gradient_tolerance(self.gradient_tolerance)
            .with_intercept(self.fit_intercept)
            .fit(&Dataset::new(x.clone(), targets))
            .map_err(|e| linfa_error("LogisticRegression", e))?;
        Ok(FittedLinear::Logistic { model, classes })
    }
}

impl LinearRegression {
    /// What it predicts: a number, whatever its parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        Ok(Kind::Regression)
    }

    /// Fits on `x` labelled with numbers `y`.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32]) -> Result<FittedLinear> {
        let targets: ndarray::Array1<f64> = y.iter().map(|v| f64::from(*v)).collect();
        let model = linfa_linear::LinearRegression::new()
            .with_intercept(self.fit_intercept)
            .fit(&Dataset::new(x.clone(), targets))
            .map_err(|e| linfa_error("LinearRegression", e))?;
        Ok(FittedLinear::Ordinary { model })
    }
}

impl ElasticNet {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::non_negative(&[("penalty", self.penalty)])?;
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(invalid(
                "l1_ratio",
                format!("{} is not between 0 and 1", self.l1_ratio),
            ));
        }
        guard::positive(&[("tolerance", self.tolerance)])?;
        Ok(Kind::Regression)
    }

    /// Fits on `x` labelled with numbers `y` by cyclic coordinate descent on centred data.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32]) -> Result<FittedLinear> {
        let (n, d) = x.dim();
        if n == 0 {
            return Err(Error::Estimator("ElasticNet: no training rows".into()));
        }
        let y: Vec<f64> = y.iter().map(|v| f64::from(*v)).collect();
        let (x_mean, y_mean) = match self.fit_intercept {
            true => (
                x.mean_axis(ndarray::Axis(0))
                    .map_or_else(|| vec![0.0; d], |m| m.to_vec()),
                y.iter().sum::<f64>() / n as f64,
            ),
            false => (vec![0.0; d], 0.0),
        };
        let mut centred = x.clone();
        for mut row in centred.rows_mut() {
            for (v, m) in row.iter_mut().zip(&x_mean) {
                *v -= m;
            }
        }
        let norms: Vec<f64> = centred
            .columns()
            .into_iter()
            .map(|c| c.iter().map(|v| v * v).sum())
            .collect();
        let (l1, l2) = (
            n as f64 * self.penalty * self.l1_ratio,
            n as f64 * self.penalty * (1.0 - self.l1_ratio),
        );
        let mut weights = vec![0.0; d];
        let mut residual: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        for _ in 0..self.max_iterations {
            let (mut largest_step, mut largest_weight) = (0f64, 0f64);
            for j in 0..d {
                if norms[j] == 0.0 {
                    continue;
                }
                let column = centred.column(j);
                let old = weights[j];
                let rho: f64 = column
                    .iter()
                    .zip(&residual)
                    .map(|(xj, r)| xj * (r + xj * old))
                    .sum();
                let new = rho.signum() * (rho.abs() - l1).max(0.0) / (norms[j] + l2);
                if new != old {
                    for (r, xj) in residual.iter_mut().zip(column) {
                        *r -= xj * (new - old);
                    }
                    weights[j] = new;
                }
                largest_step = largest_step.max((new - old).abs());
                largest_weight = largest_weight.max(new.abs());
            }
            if largest_weight == 0.0 || largest_step <= self.tolerance * largest_weight {
                break;
            }
        }
        let intercept = y_mean - weights.iter().zip(&x_mean).map(|(w, m)| w * m).sum::<f64>();
        Ok(FittedLinear::Penalised { weights, intercept })
    }
}

impl FittedLinear {
    /// The predictions for every row of `x`: a probability per class, or the number.
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        match self {
            FittedLinear::Logistic { model, classes } => {
                let p = model.predict_probabilities(x);
                let mut out = vec![0f32; x.nrows() * classes];
                for (k, class) in model.classes().iter().enumerate() {
                    for (r, row) in p.rows().into_iter().enumerate() {
                        if let Some(slot) = out.get_mut(r * classes + class) {
                            *slot = row[k] as f32;
                        }
                    }
                }
                out
            }
            FittedLinear::Ordinary { model } => {
                model.predict(x).iter().map(|v| *v as f32).collect()
            }
            FittedLinear::Penalised { weights, intercept } => x
                .rows()
                .into_iter()
                .map(|row| {
                    (intercept + row.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>()) as f32
                })
                .collect(),
        }
    }

    /// The absolute weight of each feature (summed over classes): its importance when the
    /// features share a scale.
    pub(super) fn importance(&self) -> Vec<f64> {
        match self {
            FittedLinear::Logistic { model, .. } => model
                .params()
                .rows()
                .into_iter()
                .map(|w| w.iter().map(|v| v.abs()).sum())
                .collect(),
            FittedLinear::Ordinary { model } => model.params().iter().map(|v| v.abs()).collect(),
            FittedLinear::Penalised { weights, .. } => weights.iter().map(|w| w.abs()).collect(),
        }
    }
}
