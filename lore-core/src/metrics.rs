//! Evaluation: the metrics of binary and multi-class classifiers, of regressions and of
//! clusterings, and the stats a fit records.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};

/// A metric a model can be scored by, named in specs by its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean negative log-likelihood (lower is better).
    LogLoss,
    /// Area under the ROC curve (binary).
    Auc,
    /// Share of rows whose most probable class is right.
    Accuracy,
    /// F1 of the positive class at 0.5 (binary) or the mean F1 of the classes (multi-class).
    F1,
    /// F1 of each class weighted by its rows (multi-class).
    WeightedF1,
    /// Root mean squared error (lower is better).
    Rmse,
    /// Mean absolute error (lower is better).
    Mae,
    /// Coefficient of determination.
    R2,
    /// Mean centroid silhouette of a clustering, from -1 to 1.
    Silhouette,
    /// Sum of squared distances from rows to their cluster's centre (lower is better).
    Inertia,
}

impl Metric {
    /// The metric a model is scored by when it declares none: AUC, log-loss, RMSE.
    pub fn default_for(task: Task) -> Metric {
        match task {
            Task::Binary => Metric::Auc,
            Task::MultiClass { .. } => Metric::LogLoss,
            Task::Regression => Metric::Rmse,
            Task::Clustering => Metric::Silhouette,
        }
    }

    /// Whether a larger value is a better model.
    pub fn greater_is_better(self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Rmse | Metric::Mae | Metric::Inertia
        )
    }

    /// Its name, as specs write it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::LogLoss => "log_loss",
            Metric::Auc => "auc",
            Metric::Accuracy => "accuracy",
            Metric::F1 => "f1",
            Metric::WeightedF1 => "weighted_f1",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Silhouette => "silhouette",
            Metric::Inertia => "inertia",
        }
    }

    /// Whether it measures what `output` predicts; an error naming `scoring` when it does not.
    pub fn check(self, output: &OutputEncoder) -> Result<()> {
        let classifier = output.is_categorical();
        let multi_class = matches!(output, OutputEncoder::Unique { .. });
        let clustering = matches!(output, OutputEncoder::Cluster {});
        let fits = match self {
            Metric::LogLoss | Metric::Accuracy | Metric::F1 => classifier,
            Metric::Auc => classifier && !multi_class,
            Metric::WeightedF1 => classifier && multi_class,
            Metric::Rmse | Metric::Mae | Metric::R2 => !classifier && !clustering,
            Metric::Silhouette | Metric::Inertia => clustering,
        };
        if fits {
            return Ok(());
        }
        let (task, choices) = match (classifier, multi_class) {
            _ if clustering => ("a clustering", "silhouette, inertia"),
            (false, _) => ("a regression", "rmse, mae, r2"),
            (true, false) => ("a binary classifier", "log_loss, auc, accuracy, f1"),
            (true, true) => (
                "a multi-class classifier",
                "log_loss, accuracy, f1, weighted_f1",
            ),
        };
        Err(Error::InvalidParam {
            key: "scoring".into(),
            message: format!(
                "`{}` does not measure {task} (output encoder {}({})); use one of {choices}",
                self.name(),
                output.kind(),
                output.column()
            ),
        })
    }

    /// This metric's value in `stats`.
    pub fn of(self, stats: &SplitStats) -> Option<f64> {
        match self {
            Metric::LogLoss => stats.log_loss,
            Metric::Auc => stats.auc,
            Metric::Accuracy => stats.accuracy,
            Metric::F1 => stats.f1.or(stats.macro_avg.as_ref().map(|a| a.f1)),
            Metric::WeightedF1 => stats.weighted_avg.as_ref().map(|a| a.f1),
            Metric::Rmse => stats.rmse,
            Metric::Mae => stats.mae,
            Metric::R2 => stats.r2,
            Metric::Silhouette => stats.silhouette,
            Metric::Inertia => stats.inertia,
        }
        .filter(|v| v.is_finite())
    }
}

/// Precision, recall and F1 together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Averages {
    /// Share of rows predicted a class that have it.
    pub precision: f64,
    /// Share of rows of a class predicted to have it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// The threshold on the probability of yes with the best F1, and what it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Rows at or above it are predicted yes.
    pub threshold: f64,
    /// Precision, recall and F1 at the threshold.
    #[serde(flatten)]
    pub at: Averages,
}

/// Evaluation of one split; only the metrics of the model's task are present.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    /// Rows in the split.
    pub rows: usize,
    /// The model's scoring metric (`Stats::scoring`).
    pub score: Option<f64>,
    /// Mean log-loss (classifiers).
    pub log_loss: Option<f64>,
    /// Area under the ROC curve (binary).
    pub auc: Option<f64>,
    /// Share of rows whose predicted class is right (classifiers; binary at 0.5).
    pub accuracy: Option<f64>,
    /// Precision of yes at 0.5 (binary).
    pub precision: Option<f64>,
    /// Recall of yes at 0.5 (binary).
    pub recall: Option<f64>,
    /// F1 of yes at 0.5 (binary).
    pub f1: Option<f64>,
    /// The threshold with the best F1 (binary).
    pub best_f1: Option<Threshold>,
    /// Precision, recall and F1 of each class, averaged (multi-class).
    pub macro_avg: Option<Averages>,
    /// The same, weighted by each class's rows (multi-class).
    pub weighted_avg: Option<Averages>,
    /// Rows by true class (rows) and predicted class (columns), in label order (classifiers).
    pub confusion: Option<Vec<Vec<u64>>>,
    /// Root mean squared error (regression).
    pub rmse: Option<f64>,
    /// Mean absolute error (regression).
    pub mae: Option<f64>,
    /// Coefficient of determination (regression).
    pub r2: Option<f64>,
    /// Sum of squared distances from each row to its cluster's centre (clustering).
    pub inertia: Option<f64>,
    /// Mean centroid silhouette (clustering): per row `(b - a) / max(a, b)`, `a` its distance to
    /// its own centre, `b` to the nearest other one; near 1 for well-separated clusters.
    pub silhouette: Option<f64>,
    /// Rows in each cluster (clustering).
    pub cluster_sizes: Option<Vec<u64>>,
}

/// What a fit measured: per-split metrics, the kept round and how long each stage took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// What the model learned to predict.
    #[serde(default = "task_of_old_fittings")]
    pub task: Task,
    /// The metric `score` holds in each split.
    #[serde(default = "scoring_of_old_fittings")]
    pub scoring: Metric,
    /// The training split.
    pub train: SplitStats,
    /// The validation split (early stopping).
    pub validation: SplitStats,
    /// The held-out test split.
    pub test: SplitStats,
    /// The baseline on the same test rows: the training labels' prior, whatever the features
    /// (the estimator `Baseline`), which a model worth keeping beats. `None` for clustering,
    /// and in fittings made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<SplitStats>,
    /// The boosting round kept (0-based).
    pub best_iteration: u32,
    /// Rounds run.
    pub rounds: u32,
    /// Feature names with their importance, most important first: XGBoost's total gain, a
    /// linear model's absolute weight, a tree's impurity decrease (none for naive Bayes).
    pub importance: Vec<(String, f64)>,
    /// Feature names with how many splits use them, most used first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub importance_weight: Vec<(String, f64)>,
    /// Feature names with the training rows their splits divide (total cover), most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub importance_cover: Vec<(String, f64)>,
    /// Seconds spent in each stage.
    pub seconds: Timings,
}

fn task_of_old_fittings() -> Task {
    Task::Binary
}

fn scoring_of_old_fittings() -> Metric {
    Metric::Auc
}

/// Reads one metric of a split.
pub type Reading = fn(&SplitStats) -> Option<f64>;

/// The metrics of `task` as a table shows them: a column name and how to read it, in order.
pub fn columns(task: Task) -> Vec<(&'static str, Reading)> {
    match task {
        Task::Binary => vec![
            ("log-loss", |s| s.log_loss),
            ("AUC", |s| s.auc),
            ("accuracy", |s| s.accuracy),
            ("precision", |s| s.precision),
            ("recall", |s| s.recall),
            ("F1", |s| s.f1),
            ("best F1", |s| s.best_f1.as_ref().map(|b| b.at.f1)),
            ("threshold", |s| s.best_f1.as_ref().map(|b| b.threshold)),
        ],
        Task::MultiClass { .. } => vec![
            ("log-loss", |s| s.log_loss),
            ("accuracy", |s| s.accuracy),
            ("macro F1", |s| s.macro_avg.as_ref().map(|a| a.f1)),
            ("weighted F1", |s| s.weighted_avg.as_ref().map(|a| a.f1)),
        ],
        Task::Regression => vec![("RMSE", |s| s.rmse), ("MAE", |s| s.mae), ("R2", |s| s.r2)],
        Task::Clustering => vec![("silhouette", |s| s.silhouette), ("inertia", |s| s.inertia)],
    }
}

/// Every metric of `task` for `labels` and `predictions` ([`Task::width`] numbers a row), with
/// `scoring`'s value as the score.
pub fn evaluate(task: Task, scoring: Metric, labels: &[f32], predictions: &[f32]) -> SplitStats {
    let mut stats = SplitStats {
        rows: labels.len(),
        ..SplitStats::default()
    };
    if labels.is_empty() {
        return stats;
    }
    match task {
        Task::Clustering => {
            // Each row predicts [cluster, squared distance to its centre, silhouette].
            let mut sizes: Vec<u64> = Vec::new();
            let (mut inertia, mut silhouette) = (0.0, 0.0);
            for row in predictions.chunks(3) {
                if let [cluster, distance, s] = row {
                    let k = *cluster as usize;
                    if sizes.len() <= k {
                        sizes.resize(k + 1, 0);
                    }
                    sizes[k] += 1;
                    inertia += f64::from(*distance);
                    silhouette += f64::from(*s);
                }
            }
            stats.inertia = Some(inertia);
            stats.silhouette = Some(silhouette / labels.len() as f64);
            stats.cluster_sizes = Some(sizes);
        }
        Task::Binary => {
            stats.log_loss = Some(log_loss(labels, predictions));
            // One ordering serves the AUC and the best threshold: on a training split of
            // millions of rows, each sort and its row numbers cost as much as the predictions.
            let order = by_score_descending(predictions);
            stats.auc = Some(auc_of_ordered(labels, predictions, &order)).filter(|a| a.is_finite());
            stats.best_f1 = best_f1_of_ordered(labels, predictions, &order);
            drop(order);
            let mut confusion = vec![vec![0u64; 2]; 2];
            for (y, p) in labels.iter().zip(predictions) {
                confusion[usize::from(*y > 0.5)][usize::from(*p >= 0.5)] += 1;
            }
            let yes = per_class(&confusion)[1].clone();
            stats.accuracy = Some(accuracy(&confusion));
            stats.precision = Some(yes.precision);
            stats.recall = Some(yes.recall);
            stats.f1 = Some(yes.f1);
            stats.confusion = Some(confusion);
        }
        Task::MultiClass { classes } => {
            stats.log_loss = Some(multi_log_loss(labels, predictions, classes));
            let predicted: Vec<u32> = predictions
                .chunks(classes.max(1))
                .map(|row| {
                    row.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |(i, _)| i as u32)
                })
                .collect();
            let truth: Vec<u32> = labels.iter().map(|y| *y as u32).collect();
            let confusion = confusion(&truth, &predicted, classes);
            let each = per_class(&confusion);
            let support: Vec<f64> = confusion
                .iter()
                .map(|row| row.iter().sum::<u64>() as f64)
                .collect();
            let total: f64 = support.iter().sum();
            let mean = |weights: &dyn Fn(usize) -> f64| Averages {
                precision: (0..classes).map(|k| weights(k) * each[k].precision).sum(),
                recall: (0..classes).map(|k| weights(k) * each[k].recall).sum(),
                f1: (0..classes).map(|k| weights(k) * each[k].f1).sum(),
            };
            stats.accuracy = Some(accuracy(&confusion));
            stats.macro_avg = Some(mean(&|_| 1.0 / classes as f64));
            stats.weighted_avg = Some(mean(&|k| support[k] / total));
            stats.confusion = Some(confusion);
        }
        Task::Regression => {
            let n = labels.len() as f64;
            let mean = labels.iter().map(|y| f64::from(*y)).sum::<f64>() / n;
            let (mut squares, mut absolute, mut total) = (0.0, 0.0, 0.0);
            for (y, p) in labels.iter().zip(predictions) {
                let (y, p) = (f64::from(*y), f64::from(*p));
                squares += (y - p).powi(2);
                absolute += (y - p).abs();
                total += (y - mean).powi(2);
            }
            stats.rmse = Some((squares / n).sqrt());
            stats.mae = Some(absolute / n);
            stats.r2 = Some(1.0 - squares / total).filter(|r| r.is_finite());
        }
    }
    stats.score = scoring.of(&stats);
    stats
}

/// Rows by true class and predicted class.
fn confusion(truth: &[u32], predicted: &[u32], classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes]; classes];
    for (t, p) in truth.iter().zip(predicted) {
        if let Some(cell) = m
            .get_mut(*t as usize)
            .and_then(|row| row.get_mut(*p as usize))
        {
            *cell += 1;
        }
    }
    m
}

fn accuracy(confusion: &[Vec<u64>]) -> f64 {
    let total: u64 = confusion.iter().flatten().sum();
    let right: u64 = (0..confusion.len()).map(|k| confusion[k][k]).sum();
    right as f64 / total.max(1) as f64
}

fn averages(tp: f64, predicted: f64, actual: f64) -> Averages {
    let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
    let recall = if actual > 0.0 { tp / actual } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Averages {
        precision,
        recall,
        f1,
    }
}

/// Precision, recall and F1 of each class, from a confusion matrix (0 where undefined, as
/// scikit-learn's `zero_division=0`).
fn per_class(confusion: &[Vec<u64>]) -> Vec<Averages> {
    (0..confusion.len())
        .map(|k| {
            let tp = confusion[k][k] as f64;
            let predicted: u64 = confusion.iter().map(|row| row[k]).sum();
            let actual: u64 = confusion[k].iter().sum();
            averages(tp, predicted as f64, actual as f64)
        })
        .collect()
}

/// The threshold on the probability of yes that gives the best F1, searching every distinct
/// probability.
pub fn best_f1(labels: &[f32], probabilities: &[f32]) -> Option<Threshold> {
    best_f1_of_ordered(labels, probabilities, &by_score_descending(probabilities))
}

/// The row numbers of `scores`, highest score first; tied rows in any order, since every
/// measure made from it takes a tie as one step.
fn by_score_descending(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// [`best_f1`], with the rows already in [`by_score_descending`] order.
fn best_f1_of_ordered(labels: &[f32], probabilities: &[f32], order: &[usize]) -> Option<Threshold> {
    let actual = labels.iter().filter(|y| **y > 0.5).count() as f64;
    if actual == 0.0 {
        return None;
    }
    let (mut tp, mut best): (f64, Option<Threshold>) = (0.0, None);
    for (n, &k) in order.iter().enumerate() {
        if labels[k] > 0.5 {
            tp += 1.0;
        }
        let last_of_tie = order
            .get(n + 1)
            .is_none_or(|next| probabilities[*next] != probabilities[k]);
        if !last_of_tie {
            continue;
        }
        let at = averages(tp, (n + 1) as f64, actual);
        if best.as_ref().is_none_or(|b| at.f1 > b.at.f1) {
            best = Some(Threshold {
                threshold: f64::from(probabilities[k]),
                at,
            });
        }
    }
    best
}

/// Mean negative log-likelihood of class `labels` (0..k) under rows of `k` probabilities.
pub fn multi_log_loss(labels: &[f32], probabilities: &[f32], classes: usize) -> f64 {
    if labels.is_empty() || classes == 0 {
        return f64::NAN;
    }
    let eps = 1e-15;
    let total: f64 = labels
        .iter()
        .zip(probabilities.chunks(classes))
        .map(|(y, row)| {
            let p = row.get(*y as usize).copied().unwrap_or(0.0);
            -(f64::from(p)).clamp(eps, 1.0 - eps).ln()
        })
        .sum();
    total / labels.len() as f64
}

/// Seconds spent in each stage of a fit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Reading the extract.
    pub extract: f64,
    /// Transformers and fitting encoders.
    pub transform: f64,
    /// Dividing the rows into train, validation and test.
    #[serde(default)]
    pub split: f64,
    /// Encoding the splits.
    pub encode: f64,
    /// Fitting the estimator.
    pub fit: f64,
    /// Evaluating on every split.
    pub evaluate: f64,
    /// Writing the fitting and recording it.
    pub save: f64,
}

/// Mean negative log-likelihood of `labels` (0/1) under `probabilities`, clipped away from 0 and 1.
pub fn log_loss(labels: &[f32], probabilities: &[f32]) -> f64 {
    if labels.is_empty() {
        return f64::NAN;
    }
    let eps = 1e-15;
    let total: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&y, &p)| {
            let p = (p as f64).clamp(eps, 1.0 - eps);
            if y > 0.5 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / labels.len() as f64
}

/// Area under the ROC curve: the chance that a random positive scores above a random negative
/// (ties count half). NaN when only one class is present.
pub fn auc(labels: &[f32], scores: &[f32]) -> f64 {
    auc_of_ordered(labels, scores, &by_score_descending(scores))
}

/// [`auc`], with the rows already in [`by_score_descending`] order.
fn auc_of_ordered(labels: &[f32], scores: &[f32], order: &[usize]) -> f64 {
    let positives = labels.iter().filter(|&&y| y > 0.5).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks count from 1 at the lowest score; rows i..=j from the top share their mean.
        let mean_rank = order.len() as f64 - (i + j) as f64 / 2.0;
        for &k in &order[i..=j] {
            if labels[k] > 0.5 {
                rank_sum += mean_rank;
            }
        }
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// The points of the ROC curve (false positive rate, true positive rate), from (0,0) to (1,1).
pub fn roc_curve(labels: &[f32], scores: &[f32]) -> Vec<(f64, f64)> {
    let order = by_score_descending(scores);
    let positives = labels.iter().filter(|&&y| y > 0.5).count().max(1) as f64;
    let negatives = (labels.len() as f64 - positives).max(1.0);
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![(0.0, 0.0)];
    for (n, &k) in order.iter().enumerate() {
        if labels[k] > 0.5 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last = n + 1 == order.len();
        if last || scores[order[n + 1]] != scores[k] {
            points.push((fp / negatives, tp / positives));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn auc_matches_hand_computed_values() {
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]), 0.75);
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), 0.5);
        assert!(auc(&[1.0, 1.0], &[0.1, 0.2]).is_nan());
    }

    #[test]
    fn log_loss_of_perfect_and_coin_flip() {
        assert!(log_loss(&[1.0, 0.0], &[1.0, 0.0]) < 1e-10);
        assert!((log_loss(&[1.0, 0.0], &[0.5, 0.5]) - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn binary_metrics_at_half_and_at_the_best_threshold() {
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0];
        let p = [0.9, 0.4, 0.6, 0.1, 0.45];
        let s = evaluate(Task::Binary, Metric::Auc, &labels, &p);
        // At 0.5: one true yes (0.9), one false yes (0.6), two missed.
        assert_eq!(s.confusion, Some(vec![vec![1, 1], vec![2, 1]]));
        assert_eq!(s.accuracy, Some(0.4));
        assert_eq!(s.precision, Some(0.5));
        assert!((s.recall.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.score, s.auc);
        let best = s.best_f1.unwrap();
        // At 0.4 every yes is caught with one false yes: precision 3/4, recall 1.
        assert_eq!(best.threshold, f64::from(0.4f32));
        assert!((best.at.f1 - 6.0 / 7.0).abs() < 1e-12, "{best:?}");
        assert!(s.rmse.is_none());
    }

    #[test]
    fn multi_class_metrics_average_over_classes() {
        let labels = [0.0, 1.0, 2.0, 2.0];
        let p = [
            0.8, 0.1, 0.1, //
            0.2, 0.7, 0.1, //
            0.1, 0.6, 0.3, //
            0.1, 0.1, 0.8,
        ];
        let s = evaluate(
            Task::MultiClass { classes: 3 },
            Metric::LogLoss,
            &labels,
            &p,
        );
        assert_eq!(s.accuracy, Some(0.75));
        assert_eq!(
            s.confusion,
            Some(vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 1, 1]])
        );
        let macro_avg = s.macro_avg.unwrap();
        assert!((macro_avg.precision - (1.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert!((macro_avg.recall - (1.0 + 1.0 + 0.5) / 3.0).abs() < 1e-12);
        let weighted = s.weighted_avg.unwrap();
        assert!((weighted.recall - 0.75).abs() < 1e-12);
        let expected = -(0.8f32.ln() + 0.7f32.ln() + 0.3f32.ln() + 0.8f32.ln()) / 4.0;
        assert!((s.log_loss.unwrap() - f64::from(expected)).abs() < 1e-6);
        assert_eq!(s.score, s.log_loss);
        assert!(s.auc.is_none());
    }

    #[test]
    fn regression_metrics_against_a_constant() {
        let labels = [1.0, 2.0, 3.0, 4.0];
        let s = evaluate(
            Task::Regression,
            Metric::Rmse,
            &labels,
            &[1.5, 2.0, 3.0, 3.5],
        );
        assert!((s.rmse.unwrap() - (0.5f64 / 4.0).sqrt()).abs() < 1e-9);
        assert!((s.mae.unwrap() - 0.25).abs() < 1e-9);
        assert!((s.r2.unwrap() - (1.0 - 0.5 / 5.0)).abs() < 1e-9);
        let constant = evaluate(Task::Regression, Metric::R2, &labels, &[2.5; 4]);
        assert_eq!(constant.r2, Some(0.0));
        assert_eq!(constant.score, Some(0.0));
        let output = |o: fn(String) -> OutputEncoder| o("y".into());
        let boolean = output(|column| OutputEncoder::Boolean { column });
        let unique = output(|column| OutputEncoder::Unique { column });
        let pass = output(|column| OutputEncoder::Pass { column });
        assert!(Metric::Rmse.check(&boolean).is_err());
        refused(Metric::Auc.check(&unique), &["scoring", "Unique(y)"]);
        assert!(Metric::R2.check(&pass).is_ok());
    }

    #[test]
    fn roc_runs_from_origin_to_corner() {
        let pts = roc_curve(&[0.0, 1.0, 1.0, 0.0], &[0.1, 0.9, 0.6, 0.7]);
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
    }
}
