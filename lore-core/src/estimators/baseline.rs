//! The baseline: a model that ignores the features and predicts what the training labels alone
//! tell (scikit-learn's `DummyClassifier` and `DummyRegressor`). A model worth keeping beats it;
//! every fit scores it on the same test rows beside the model.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::contract::{self, Fitted, Outcome, Spec, Training};
use super::{invalid, FitHistory, LabelledBatches, Scored};
use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The file name of a saved baseline inside a fitting.
pub const BASELINE_FILE: &str = "model.baseline.json";

/// The strategies for classes, the first the default.
const FOR_CLASSES: [&str; 3] = ["prior", "most_frequent", "uniform"];
/// The strategies for numbers, the first the default.
const FOR_NUMBERS: [&str; 2] = ["mean", "median"];

/// A prediction from the training labels alone, the same for every row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Baseline {
    /// For classes: `prior` (each class's share of the training rows; the default),
    /// `most_frequent` (certainty in the most frequent class) or `uniform` (every class alike).
    /// For numbers: `mean` (the default) or `median`.
    pub strategy: Option<String>,
}

impl Baseline {
    /// The strategy that applies to `output`, checked.
    fn strategy(&self, classes: bool) -> Result<&str> {
        let known: &[&str] = if classes { &FOR_CLASSES } else { &FOR_NUMBERS };
        match self.strategy.as_deref() {
            None => Ok(known[0]),
            Some(s) if known.contains(&s) => Ok(s),
            Some(s) => Err(invalid(
                "strategy",
                format!(
                    "`{s}` is not a baseline for {}; use one of {}",
                    if classes { "classes" } else { "numbers" },
                    known.join(", ")
                ),
            )),
        }
    }
}

impl Spec for Baseline {
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        contract::check_labels("Baseline", true, output)?;
        self.strategy(output.is_categorical()).map(|_| ())
    }

    fn fit(&self, t: Training<'_>) -> Result<Outcome> {
        let labels = labels(t.train)?;
        (t.on_round)(0, 1);
        let row = predict(t.task, self.strategy(t.task != Task::Regression)?, &labels)?;
        (t.on_round)(1, 1);
        let fitted = FittedBaseline { task: t.task, row };
        let scored = [
            fitted.scored(labels),
            fitted.scored(labels_of(t.validation)?),
        ];
        let history = FitHistory::one_round();
        Ok((Box::new(fitted), history, scored))
    }
}

/// Every label of `split`.
fn labels(split: &mut dyn LabelledBatches) -> Result<Vec<f32>> {
    let mut labels = Vec::with_capacity(split.rows());
    split.reset()?;
    while let Some((_, y)) = split.next_batch()? {
        labels.extend_from_slice(y);
    }
    Ok(labels)
}

/// Every label of `split`, none read where it has no rows.
fn labels_of(split: &mut dyn LabelledBatches) -> Result<Vec<f32>> {
    match split.rows() {
        0 => Ok(Vec::new()),
        _ => labels(split),
    }
}

/// The one row of predictions `strategy` makes from the training `labels` for `task`.
fn predict(task: Task, strategy: &str, labels: &[f32]) -> Result<Vec<f32>> {
    if labels.is_empty() {
        return Err(Error::Estimator(
            "Baseline: there are no training labels to learn from".into(),
        ));
    }
    let classes = match task {
        Task::Binary => 2,
        Task::MultiClass { classes } => classes,
        Task::Regression => {
            let mut numbers: Vec<f64> = labels.iter().map(|v| f64::from(*v)).collect();
            let value = match strategy {
                "median" => {
                    numbers.sort_by(f64::total_cmp);
                    let mid = numbers.len() / 2;
                    match numbers.len() % 2 {
                        0 => (numbers[mid - 1] + numbers[mid]) / 2.0,
                        _ => numbers[mid],
                    }
                }
                _ => numbers.iter().sum::<f64>() / numbers.len() as f64,
            };
            return Ok(vec![value as f32]);
        }
        Task::Clustering => {
            return Err(Error::Estimator(
                "Baseline learns from labels; a Cluster output has none".into(),
            ))
        }
    };
    let mut counts = vec![0u64; classes];
    for label in labels {
        // Labels are class codes 0..classes, as the output encoder gives them.
        if let Some(count) = counts.get_mut(*label as usize) {
            *count += 1;
        }
    }
    let total = labels.len() as f64;
    let most = (0..classes).fold(0, |best, c| if counts[c] > counts[best] { c } else { best });
    let shares: Vec<f32> = match strategy {
        "most_frequent" => (0..classes).map(|c| f32::from(c == most)).collect(),
        "uniform" => vec![1.0 / classes as f32; classes],
        _ => counts.iter().map(|n| (*n as f64 / total) as f32).collect(),
    };
    Ok(match task {
        // A yes/no model predicts the probability of yes alone.
        Task::Binary => vec![shares[1]],
        _ => shares,
    })
}

/// The baseline's one row of predictions, given to every row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedBaseline {
    /// What it predicts.
    task: Task,
    /// [`Task::width`] numbers: the probability of yes, a probability per class, or a number.
    row: Vec<f32>,
}

impl FittedBaseline {
    /// `labels` scored by this baseline.
    fn scored(&self, labels: Vec<f32>) -> Scored {
        let predictions = self.row.repeat(labels.len());
        Scored {
            labels,
            predictions,
        }
    }
}

impl Fitted for FittedBaseline {
    fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        Ok(self.row.repeat(x.rows))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        contract::write_json(dir, BASELINE_FILE, self)
    }
}

/// Reads a baseline saved in a fitting's folder `dir`.
pub(super) fn load(dir: &Path) -> Result<Option<Box<dyn Fitted>>> {
    contract::read_json::<FittedBaseline>(dir, BASELINE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::{Estimator, FittedEstimator, InMemory};
    use crate::metrics::{self, Metric};
    use crate::testing::*;

    fn fit(task: Task, strategy: Option<&str>, labels: &[f32]) -> (FittedEstimator, [Scored; 2]) {
        let n = labels.len();
        let spec = Estimator::Baseline(Baseline {
            strategy: strategy.map(str::to_string),
        });
        let (fitted, history, scored) = spec
            .fit(
                task,
                &[],
                &mut InMemory::new(Matrix::dense(vec![0.0; n], n, 1), labels.to_vec()),
                &mut InMemory::new(Matrix::empty(1), vec![]),
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(history.rounds, 1);
        (fitted, scored)
    }

    #[test]
    fn the_prior_gives_each_class_its_training_share_whatever_the_features() {
        let labels = [0.0, 1.0, 1.0, 1.0];
        let (fitted, [train, validation]) = fit(Task::Binary, None, &labels);
        assert_eq!(train.predictions, vec![0.75; 4]);
        assert!(validation.labels.is_empty());
        let x = Matrix::dense(vec![5.0, -3.0], 2, 1);
        assert_eq!(fitted.predict(&x).unwrap(), vec![0.75, 0.75]);
        // A constant ranks nothing: AUC one half, as scikit-learn's DummyClassifier scores.
        let auc = metrics::evaluate(Task::Binary, Metric::Auc, &labels, &train.predictions);
        assert_eq!(auc.score, Some(0.5));

        let three = Task::MultiClass { classes: 3 };
        let labels = [0.0, 2.0, 2.0, 2.0, 1.0];
        let (_, [train, _]) = fit(three, None, &labels);
        assert_eq!(&train.predictions[..3], &[0.2, 0.2, 0.6]);
        let (_, [train, _]) = fit(three, Some("most_frequent"), &labels);
        assert_eq!(&train.predictions[..3], &[0.0, 0.0, 1.0]);
        let (_, [train, _]) = fit(three, Some("uniform"), &labels);
        assert_eq!(&train.predictions[..3], &[1.0 / 3.0; 3]);
    }

    #[test]
    fn a_number_baseline_is_the_mean_or_the_median_and_round_trips() {
        let labels = [1.0, 2.0, 3.0, 10.0];
        let (fitted, [train, _]) = fit(Task::Regression, None, &labels);
        assert_eq!(train.predictions, vec![4.0; 4]);
        let (_, [train, _]) = fit(Task::Regression, Some("median"), &labels);
        assert_eq!(train.predictions, vec![2.5; 4]);
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        assert!(dir.path().join(BASELINE_FILE).is_file());
        let back = FittedEstimator::load(dir.path()).unwrap();
        let x = Matrix::dense(vec![0.0; 3], 3, 1);
        assert_eq!(back.predict(&x).unwrap(), vec![4.0; 3]);
        refused(back.contributions(&x), &["XGBoost"]);
    }

    #[test]
    fn a_strategy_must_suit_the_output() {
        let pass = OutputEncoder::Pass { column: "y".into() };
        refused(
            Estimator::Baseline(Baseline {
                strategy: Some("prior".into()),
            })
            .validate(&pass),
            &["estimator.strategy", "mean, median"],
        );
        refused(
            Estimator::Baseline(Baseline::default()).validate(&OutputEncoder::Cluster {}),
            &["estimator.type", "Baseline"],
        );
    }
}
