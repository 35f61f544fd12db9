//! Evaluation: metrics for binary classifiers and the stats a fit records.

use serde::{Deserialize, Serialize};

/// Evaluation of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    /// Rows in the split.
    pub rows: usize,
    /// Mean log-loss.
    pub log_loss: f64,
    /// Area under the ROC curve.
    pub auc: f64,
}

/// What a fit measured: per-split metrics, the kept round and how long each stage took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The training split.
    pub train: SplitStats,
    /// The validation split (early stopping).
    pub validation: SplitStats,
    /// The held-out test split.
    pub test: SplitStats,
    /// The boosting round kept (0-based).
    pub best_iteration: u32,
    /// Rounds run.
    pub rounds: u32,
    /// Feature names with their gain importance, most important first.
    pub importance: Vec<(String, f64)>,
    /// Seconds spent in each stage.
    pub seconds: Timings,
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
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
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
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
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
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
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
    fn roc_runs_from_origin_to_corner() {
        let pts = roc_curve(&[0.0, 1.0, 1.0, 0.0], &[0.1, 0.9, 0.6, 0.7]);
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
    }
}
