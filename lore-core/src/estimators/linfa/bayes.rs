//! Naive Bayes classifiers: Gaussian for numbers (linfa's), multinomial for counts (the text
//! classifier of an annotation workflow: a `Text` encoder's word counts into `MultinomialNB`).
//! The multinomial one is Lore's own: linfa-bayes 0.8.1's prints its class histograms to
//! standard error (a `dbg!`) on every fit.

use linfa::prelude::*;
use linfa_bayes::NaiveBayes;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::error::{Error, Result};
use crate::estimators::guard;

/// Gaussian naive Bayes: each feature normal within each class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianNB {
    /// Share of the largest feature variance added to every variance, for stability.
    pub var_smoothing: f64,
}

impl Default for GaussianNB {
    fn default() -> Self {
        GaussianNB {
            var_smoothing: 1e-9,
        }
    }
}

/// Multinomial naive Bayes: features are counts (0 or more), such as a `Text` encoder's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultinomialNB {
    /// Additive (Laplace) smoothing of the counts.
    pub alpha: f64,
}

impl Default for MultinomialNB {
    fn default() -> Self {
        MultinomialNB { alpha: 1.0 }
    }
}

/// A fitted naive Bayes classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FittedBayes {
    /// Gaussian.
    Gaussian {
        /// linfa's fitted model.
        model: linfa_bayes::GaussianNb<f64, usize>,
        /// The output's classes.
        classes: usize,
    },
    /// Multinomial.
    Multinomial {
        /// The log of each class's share of the training rows.
        log_prior: Vec<f64>,
        /// For each class, the log probability of each feature's counts.
        log_likelihood: Vec<Vec<f64>>,
    },
}

fn targets(y: &[f32]) -> ndarray::Array1<usize> {
    y.iter().map(|v| *v as usize).collect()
}

impl GaussianNB {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::positive(&[("var_smoothing", self.var_smoothing)])?;
        Ok(Kind::MultiClass)
    }

    /// Fits on `x` labelled with classes `y`.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedBayes> {
        let model = linfa_bayes::GaussianNb::params()
            .var_smoothing(self.var_smoothing)
            .fit(&Dataset::new(x.clone(), targets(y)))
            .map_err(|e| Error::Estimator(format!("GaussianNB: {e}")))?;
        Ok(FittedBayes::Gaussian { model, classes })
    }
}

impl MultinomialNB {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::positive(&[("alpha", self.alpha)])?;
        Ok(Kind::MultiClass)
    }

    /// Fits on counts `x` labelled with classes `y`.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedBayes> {
        if let Some(column) = x
            .columns()
            .into_iter()
            .position(|c| c.iter().any(|v| *v < 0.0))
        {
            return Err(Error::Estimator(format!(
                "MultinomialNB counts, but feature {} has negative values; encode it with a \
                 Text, OneHot or Pass encoder of counts, or use GaussianNB",
                column + 1
            )));
        }
        let features = x.ncols();
        let mut rows = vec![0f64; classes];
        let mut counts = vec![vec![0f64; features]; classes];
        for (row, label) in x.rows().into_iter().zip(y) {
            let class = *label as usize;
            if let (Some(n), Some(sums)) = (rows.get_mut(class), counts.get_mut(class)) {
                *n += 1.0;
                for (sum, v) in sums.iter_mut().zip(row) {
                    *sum += v;
                }
            }
        }
        let total: f64 = rows.iter().sum::<f64>().max(1.0);
        // A class no training row has gets the least finite log, which JSON can hold.
        let log_prior = rows
            .iter()
            .map(|n| (n / total).ln().max(f64::MIN))
            .collect();
        let log_likelihood = counts
            .iter()
            .map(|sums| {
                let all = sums.iter().sum::<f64>() + self.alpha * features as f64;
                sums.iter().map(|c| ((c + self.alpha) / all).ln()).collect()
            })
            .collect();
        Ok(FittedBayes::Multinomial {
            log_prior,
            log_likelihood,
        })
    }
}

impl FittedBayes {
    /// A probability per class for every row of `x`.
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        let (model, classes) = match self {
            FittedBayes::Gaussian { model, classes } => (model, *classes),
            FittedBayes::Multinomial {
                log_prior,
                log_likelihood,
            } => {
                return x
                    .rows()
                    .into_iter()
                    .flat_map(|row| {
                        let joint: Vec<f64> = log_prior
                            .iter()
                            .zip(log_likelihood)
                            .map(|(prior, logs)| {
                                prior + row.iter().zip(logs).map(|(v, l)| v * l).sum::<f64>()
                            })
                            .collect();
                        softmax(&joint)
                    })
                    .collect();
            }
        };
        let (p, order) = model.predict_proba(x.view());
        let mut out = vec![0f32; x.nrows() * classes];
        for (k, class) in order.into_iter().enumerate() {
            for (r, row) in p.rows().into_iter().enumerate() {
                if let Some(slot) = out.get_mut(r * classes + *class) {
                    *slot = row[k] as f32;
                }
            }
        }
        out
    }
}

/// Probabilities from log joint likelihoods, computed stably.
fn softmax(logs: &[f64]) -> Vec<f32> {
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = exps.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    exps.iter().map(|e| (e / total) as f32).collect()
}
