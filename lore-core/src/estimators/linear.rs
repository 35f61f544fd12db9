//! Linear models from linfa: logistic regression for classes (binary and multinomial), ordinary
//! least squares for numbers.

use linfa::prelude::*;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::error::{Error, Result};

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

fn bad(key: &str, message: String) -> Error {
    Error::InvalidParam {
        key: format!("estimator.{key}"),
        message,
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
}

impl LogisticRegression {
    /// Checks the parameters.
    pub(super) fn validate(&self) -> Result<Kind> {
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return Err(bad("alpha", format!("{} is not 0 or more", self.alpha)));
        }
        if self.gradient_tolerance.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(bad(
                "gradient_tolerance",
                format!("{} is not above 0", self.gradient_tolerance),
            ));
        }
        Ok(Kind::MultiClass)
    }

    /// Fits on `x` labelled with classes `y` (0..`classes`).
    pub(super) fn fit(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedLinear> {
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
    /// Fits on `x` labelled with numbers `y`.
    pub(super) fn fit(&self, x: &Array2<f64>, y: &[f32]) -> Result<FittedLinear> {
        let targets: ndarray::Array1<f64> = y.iter().map(|v| f64::from(*v)).collect();
        let model = linfa_linear::LinearRegression::new()
            .with_intercept(self.fit_intercept)
            .fit(&Dataset::new(x.clone(), targets))
            .map_err(|e| linfa_error("LinearRegression", e))?;
        Ok(FittedLinear::Ordinary { model })
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
        }
    }
}
