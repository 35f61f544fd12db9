//! Support vector machines (linfa-svm): a classifier with Platt-scaled probabilities (one
//! against the rest for several classes) and epsilon-SVR for a number. Features are
//! standardised first, as a kernel needs, and a number is learned standardised. The kernel
//! matrix grows with the square of the rows, so at most `max_rows` training rows are used.

use linfa::prelude::*;
use linfa::Float;
use linfa_svm::Svm as LinfaSvm;
use ndarray::{Array1, Array2, Axis};
use rand::seq::index::sample;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::dense;
use crate::error::{Error, Result};
use crate::estimators::guard;

/// A support vector machine: classes or a number, as the output encoder asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Svm {
    /// `gaussian` (RBF), `linear` or `polynomial`.
    pub kernel: String,
    /// Penalty of a margin violation (scikit-learn's `C`).
    pub c: f64,
    /// The Gaussian kernel's `exp(-gamma · |a - b|²)` (default: 1 / features, scikit-learn's
    /// `scale` on standardised features).
    pub gamma: Option<f64>,
    /// The polynomial kernel's degree.
    pub degree: f64,
    /// The polynomial kernel's constant term.
    pub coef0: f64,
    /// Regression: errors smaller than this (in standard deviations of the label) cost nothing.
    pub epsilon: f64,
    /// The solver stops when the largest gradient violation is below this.
    pub tolerance: f64,
    /// Most training rows used (a seeded sample of them beyond that).
    pub max_rows: i64,
    /// Seed of the row sample.
    pub seed: u64,
}

impl Default for Svm {
    fn default() -> Self {
        Svm {
            kernel: "gaussian".into(),
            c: 1.0,
            gamma: None,
            degree: 3.0,
            coef0: 1.0,
            epsilon: 0.1,
            tolerance: 1e-3,
            max_rows: 5_000,
            seed: 0,
        }
    }
}

/// A fitted support vector machine and the scaling of its inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedSvm {
    /// Each feature's training mean and standard deviation (1 where constant).
    scaling: Vec<(f64, f64)>,
    /// The machines.
    model: Machines,
}

/// The machines of a fitted SVM, by task.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Machines {
    /// The probability of yes.
    Binary(LinfaSvm<f64, Pr>),
    /// One machine a class, each against the rest.
    OneVsRest(Vec<LinfaSvm<f64, Pr>>),
    /// A number, learned standardised.
    Number {
        model: LinfaSvm<f64, f64>,
        mean: f64,
        scale: f64,
    },
}

fn svm_error(e: impl std::fmt::Display) -> Error {
    Error::Estimator(format!("Svm: {e}"))
}

impl Svm {
    /// Checks the parameters; an SVM predicts classes or a number, so any output suits it.
    pub(super) fn check(&self) -> Result<()> {
        guard::one_of(
            "kernel",
            &self.kernel,
            &["gaussian", "linear", "polynomial"],
        )?;
        guard::positive(&[
            ("c", self.c),
            ("gamma", self.gamma.unwrap_or(1.0)),
            ("degree", self.degree),
            ("epsilon", self.epsilon),
            ("tolerance", self.tolerance),
        ])?;
        guard::at_least(&[("max_rows", self.max_rows, 2)])
    }

    fn params<T>(&self, features: usize) -> linfa_svm::SvmParams<f64, T> {
        let params = LinfaSvm::<f64, T>::params().eps(self.tolerance);
        match self.kernel.as_str() {
            "linear" => params.linear_kernel(),
            "polynomial" => params.polynomial_kernel(self.coef0, self.degree),
            _ => {
                let gamma = self.gamma.unwrap_or(1.0 / features.max(1) as f64);
                params.gaussian_kernel(1.0 / gamma)
            }
        }
    }

    /// Fits on `x` labelled `y`: classes when `classes` is `Some`, else a number.
    pub(super) fn learn(
        &self,
        x: &Array2<f64>,
        y: &[f32],
        classes: Option<usize>,
    ) -> Result<FittedSvm> {
        let most = usize::try_from(self.max_rows).unwrap_or(usize::MAX);
        let (x, y): (Array2<f64>, Vec<f32>) = if x.nrows() > most {
            let mut rng = rand_pcg::Pcg64::seed_from_u64(self.seed);
            let mut rows = sample(&mut rng, x.nrows(), most).into_vec();
            rows.sort_unstable();
            let labels = rows.iter().map(|r| y[*r]).collect();
            (x.select(Axis(0), &rows), labels)
        } else {
            (x.clone(), y.to_vec())
        };
        let scaling = dense::scaling(&x);
        let x = dense::standardised(&x, &scaling);
        let features = x.ncols();
        let classifier = |yes: f32| -> Result<LinfaSvm<f64, Pr>> {
            let targets: Array1<bool> = y.iter().map(|v| *v == yes).collect();
            if targets.iter().all(|t| *t) || !targets.iter().any(|t| *t) {
                return Err(Error::Estimator(format!(
                    "Svm: the {} training rows used are all of one class; raise \
                     estimator.max_rows or give the split more rows",
                    targets.len()
                )));
            }
            self.params::<Pr>(features)
                .pos_neg_weights(self.c, self.c)
                .fit(&Dataset::new(x.clone(), targets))
                .map_err(svm_error)
        };
        let model = match classes {
            Some(2) => Machines::Binary(classifier(1.0)?),
            Some(n) => Machines::OneVsRest(
                (0..n)
                    .map(|class| classifier(class as f32))
                    .collect::<Result<_>>()?,
            ),
            None => {
                let (mean, scale) = dense::moments(y.iter().map(|v| f64::from(*v)));
                let targets: Array1<f64> =
                    y.iter().map(|v| (f64::from(*v) - mean) / scale).collect();
                let model = self
                    .params::<f64>(features)
                    .c_svr(self.c, Some(self.epsilon))
                    .fit(&Dataset::new(x, targets))
                    .map_err(svm_error)?;
                Machines::Number { model, mean, scale }
            }
        };
        Ok(FittedSvm { scaling, model })
    }
}

fn probabilities<F: Float>(model: &LinfaSvm<F, Pr>, x: &Array2<F>) -> Vec<f32> {
    let p: Array1<Pr> = model.predict(x);
    p.iter().map(|p| **p).collect()
}

impl FittedSvm {
    /// The probability of yes, a probability per class, or the number, for every row of `x`.
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        let x = dense::standardised(x, &self.scaling);
        match &self.model {
            Machines::Binary(model) => probabilities(model, &x),
            Machines::OneVsRest(models) => {
                let each: Vec<Vec<f32>> = models.iter().map(|m| probabilities(m, &x)).collect();
                let uniform = 1.0 / models.len().max(1) as f32;
                (0..x.nrows())
                    .flat_map(|r| {
                        let row: Vec<f32> = each.iter().map(|p| p[r]).collect();
                        let total: f32 = row.iter().sum();
                        row.into_iter().map(move |p| match total > 0.0 {
                            true => p / total,
                            false => uniform,
                        })
                    })
                    .collect()
            }
            Machines::Number { model, mean, scale } => {
                let p: Array1<f64> = model.predict(&x);
                p.iter().map(|v| (v * scale + mean) as f32).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use crate::testing::*;

    /// Two features 0..50 on very different scales; yes when the first is above the second.
    fn data(n: usize) -> (Array2<f64>, Vec<f32>) {
        let x = Array2::from_shape_fn((n, 2), |(r, c)| match c {
            0 => ((r * 7919) % 50) as f64,
            _ => ((r * 104_729) % 50) as f64 * 1000.0,
        });
        let y = x
            .rows()
            .into_iter()
            .map(|r| if r[0] * 1000.0 > r[1] { 1.0 } else { 0.0 })
            .collect();
        (x, y)
    }

    #[test]
    fn classifies_with_probabilities_and_regresses_in_the_labels_units() {
        let (x, y) = data(600);
        let spec = Svm::default();
        let fitted = spec.learn(&x, &y, Some(2)).unwrap();
        let p = fitted.predict(&x);
        assert_eq!(p.len(), 600);
        assert!(metrics::auc(&y, &p) > 0.97, "{}", metrics::auc(&y, &p));
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        let back: FittedSvm = round_trip(&fitted);
        assert_eq!(back.predict(&x), p);

        let bands: Vec<f32> = x
            .column(0)
            .iter()
            .map(|v| (v / 17.0).floor() as f32)
            .collect();
        let p = spec.learn(&x, &bands, Some(3)).unwrap().predict(&x);
        let stats = metrics::evaluate(
            crate::encoders::Task::MultiClass { classes: 3 },
            metrics::Metric::Accuracy,
            &bands,
            &p,
        );
        assert!(stats.accuracy.unwrap() > 0.9, "{stats:?}");

        let number: Vec<f32> = x
            .column(0)
            .iter()
            .map(|v| 500.0 + 3.0 * *v as f32)
            .collect();
        let p = spec.learn(&x, &number, None).unwrap().predict(&x);
        let stats = metrics::evaluate(
            crate::encoders::Task::Regression,
            metrics::Metric::R2,
            &number,
            &p,
        );
        assert!(stats.r2.unwrap() > 0.95, "{stats:?}");
    }

    #[test]
    fn uses_at_most_max_rows_and_names_bad_parameters() {
        let (x, y) = data(600);
        let spec = Svm {
            max_rows: 100,
            kernel: "linear".into(),
            ..Svm::default()
        };
        let fitted = spec.learn(&x, &y, Some(2)).unwrap();
        assert!(metrics::auc(&y, &fitted.predict(&x)) > 0.9);
        refused(
            Svm {
                kernel: "sigmoid".into(),
                ..Svm::default()
            }
            .check(),
            &["estimator.kernel"],
        );
        refused(
            Svm {
                c: 0.0,
                ..Svm::default()
            }
            .check(),
            &["estimator.c"],
        );
    }
}
