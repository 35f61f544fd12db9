//! A random forest: linfa's decision trees, each fitted on a bootstrap sample of the rows and a
//! random subset of the features (as linfa-ensemble's bagging does), with class probabilities
//! averaged over the trees (as scikit-learn's `predict_proba`). Lore's own ensemble because
//! linfa-ensemble 0.8.1's can be neither saved (no serde) nor asked for probabilities (it
//! votes).

use ndarray::{Array2, Axis};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::tree::{DecisionTree, FittedTree};
use super::Kind;
use crate::error::Result;
use crate::estimators::guard;

/// A random forest classifier of bagged decision trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomForest {
    /// Trees in the forest.
    pub n_estimators: i64,
    /// Deepest a tree may grow (0: no limit).
    pub max_depth: usize,
    /// Fewest rows a node needs to be split.
    pub min_weight_split: f32,
    /// Fewest rows a leaf may hold.
    pub min_weight_leaf: f32,
    /// How splits are chosen: `gini` or `entropy`.
    pub split_quality: String,
    /// Rows drawn (with replacement) for each tree, as a share of the training rows.
    pub bootstrap_proportion: f64,
    /// Features each tree sees, as a share of all features (at least one).
    pub feature_proportion: f64,
    /// Random seed of the samples.
    pub seed: u64,
}

impl Default for RandomForest {
    fn default() -> Self {
        RandomForest {
            n_estimators: 100,
            max_depth: 10,
            min_weight_split: 2.0,
            min_weight_leaf: 1.0,
            split_quality: "gini".into(),
            bootstrap_proportion: 1.0,
            feature_proportion: 0.7,
            seed: 0,
        }
    }
}

/// A fitted forest: each tree with the features it was fitted on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedForest {
    trees: Vec<(Vec<usize>, FittedTree)>,
    classes: usize,
}

impl RandomForest {
    fn tree(&self) -> DecisionTree {
        DecisionTree {
            max_depth: self.max_depth,
            min_weight_split: self.min_weight_split,
            min_weight_leaf: self.min_weight_leaf,
            split_quality: self.split_quality.clone(),
        }
    }

    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::within("n_estimators", self.n_estimators, 1, 100_000)?;
        guard::shares(&[
            ("bootstrap_proportion", self.bootstrap_proportion),
            ("feature_proportion", self.feature_proportion),
        ])?;
        self.tree().check()
    }

    /// Fits on `x` labelled with classes `y`, the trees in parallel.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedForest> {
        let (rows, features) = x.dim();
        let drawn = ((rows as f64 * self.bootstrap_proportion).ceil() as usize).max(1);
        let seen =
            ((features as f64 * self.feature_proportion).ceil() as usize).clamp(1, features.max(1));
        let spec = self.tree();
        let trees = (0..self.n_estimators as u64)
            .into_par_iter()
            .map(|i| {
                // One stream per tree, so the forest is the same however many threads fit it.
                let mut rng = rand_pcg::Pcg64::seed_from_u64(self.seed ^ (i << 32 | i));
                let picked: Vec<usize> = (0..drawn).map(|_| rng.random_range(0..rows)).collect();
                let mut columns = sample(&mut rng, features, seen.min(features)).into_vec();
                columns.sort_unstable();
                let sub = x.select(Axis(0), &picked).select(Axis(1), &columns);
                let labels: Vec<f32> = picked.iter().map(|r| y[*r]).collect();
                Ok((columns, spec.learn(&sub, &labels, classes)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FittedForest { trees, classes })
    }
}

impl FittedForest {
    /// A probability per class for every row of `x`: the mean of the trees' leaf shares.
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        let mut sum = vec![0.0f32; x.nrows() * self.classes];
        for (columns, tree) in &self.trees {
            for (total, p) in sum
                .iter_mut()
                .zip(tree.predict(&x.select(Axis(1), columns)))
            {
                *total += p;
            }
        }
        let n = self.trees.len().max(1) as f32;
        sum.into_iter().map(|v| v / n).collect()
    }

    /// Each feature's impurity decrease, averaged over the trees, by feature index.
    pub(super) fn importance(&self, features: usize) -> Vec<f64> {
        let mut out = vec![0.0; features];
        for (columns, tree) in &self.trees {
            for (column, v) in columns.iter().zip(tree.importance(columns.len())) {
                if let Some(slot) = out.get_mut(*column) {
                    *slot += v / self.trees.len() as f64;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use crate::testing::*;

    /// Two informative features and a noise one; yes when their sum is large.
    fn data(n: usize) -> (Array2<f64>, Vec<f32>) {
        let x = Array2::from_shape_fn((n, 3), |(r, c)| ((r * (c + 7) * 7919) % 101) as f64);
        let y = x
            .rows()
            .into_iter()
            .map(|r| if r[0] + r[1] > 100.0 { 1.0 } else { 0.0 })
            .collect();
        (x, y)
    }

    #[test]
    fn averages_trees_into_probabilities_better_than_one_tree() {
        let (x, y) = data(2000);
        let forest = RandomForest {
            n_estimators: 30,
            max_depth: 4,
            feature_proportion: 0.67,
            ..RandomForest::default()
        };
        let fitted = forest.learn(&x, &y, 2).unwrap();
        let p = fitted.predict(&x);
        assert_eq!(p.len(), 2 * 2000);
        for row in p.chunks(2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-5, "{row:?}");
        }
        let yes: Vec<f32> = p.chunks(2).map(|r| r[1]).collect();
        let one = forest.tree().learn(&x, &y, 2).unwrap().predict(&x);
        let one: Vec<f32> = one.chunks(2).map(|r| r[1]).collect();
        assert!(metrics::auc(&y, &yes) > 0.95, "{}", metrics::auc(&y, &yes));
        assert!(metrics::auc(&y, &yes) > metrics::auc(&y, &one));
        let importance = fitted.importance(3);
        assert!(importance[0] > importance[2] && importance[1] > importance[2]);
        assert_eq!(
            forest.learn(&x, &y, 2).unwrap().predict(&x),
            p,
            "the seed fixes the forest"
        );
        let back: FittedForest = round_trip(&fitted);
        assert_eq!(back.predict(&x), p);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (key, forest) in [
            (
                "estimator.feature_proportion",
                RandomForest {
                    feature_proportion: 0.0,
                    ..RandomForest::default()
                },
            ),
            (
                "estimator.n_estimators",
                RandomForest {
                    n_estimators: 0,
                    ..RandomForest::default()
                },
            ),
        ] {
            refused(forest.check(), &[key]);
        }
    }
}
