//! A decision tree classifier from linfa, with class probabilities from its leaves: the share of
//! each class among the training rows that reach a leaf (as scikit-learn's `predict_proba`).

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_trees::{SplitQuality, TreeNode};
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use super::{invalid, Kind};
use crate::error::{Error, Result};
use crate::estimators::guard;

/// A decision tree classifier (linfa-trees, CART).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionTree {
    /// Deepest the tree may grow (0: no limit).
    pub max_depth: usize,
    /// Fewest rows a node needs to be split.
    pub min_weight_split: f32,
    /// Fewest rows a leaf may hold.
    pub min_weight_leaf: f32,
    /// How splits are chosen: `gini` or `entropy`.
    pub split_quality: String,
}

impl Default for DecisionTree {
    fn default() -> Self {
        DecisionTree {
            max_depth: 8,
            min_weight_split: 2.0,
            min_weight_leaf: 1.0,
            split_quality: "gini".into(),
        }
    }
}

/// A fitted decision tree and the class shares of its leaves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedTree {
    /// linfa's fitted tree.
    model: linfa_trees::DecisionTree<f64, usize>,
    /// Each leaf, by its path from the root (`L`, `R`), and its class shares.
    leaves: BTreeMap<String, Vec<f32>>,
    /// The output's classes.
    classes: usize,
}

/// The path from the root to the leaf `row` reaches.
fn leaf_of(node: &TreeNode<f64, usize>, row: ArrayView1<f64>) -> String {
    let mut path = String::new();
    let mut node = node;
    while !node.is_leaf() {
        let (feature, threshold, _) = node.split();
        let [left, right] = match node.children().as_slice() {
            [left, right] => [*left, *right],
            _ => break,
        };
        let (next, step) = match row.get(feature).is_some_and(|v| *v < threshold) {
            true => (left, 'L'),
            false => (right, 'R'),
        };
        match next {
            Some(child) => {
                path.push(step);
                node = child;
            }
            None => break,
        }
    }
    path
}

impl DecisionTree {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<Kind> {
        guard::one_of("split_quality", &self.split_quality, &["gini", "entropy"])?;
        if !(self.min_weight_leaf >= 1.0 && self.min_weight_split >= 2.0 * self.min_weight_leaf) {
            return Err(invalid(
                "min_weight_split",
                format!(
                    "min_weight_split {} must be at least twice min_weight_leaf {} (at least 1)",
                    self.min_weight_split, self.min_weight_leaf
                ),
            ));
        }
        Ok(Kind::MultiClass)
    }

    /// Fits on `x` labelled with classes `y`.
    pub(super) fn learn(&self, x: &Array2<f64>, y: &[f32], classes: usize) -> Result<FittedTree> {
        let targets: ndarray::Array1<usize> = y.iter().map(|v| *v as usize).collect();
        let quality = match self.split_quality.as_str() {
            "entropy" => SplitQuality::Entropy,
            _ => SplitQuality::Gini,
        };
        let model = linfa_trees::DecisionTree::params()
            .max_depth((self.max_depth > 0).then_some(self.max_depth))
            .min_weight_split(self.min_weight_split)
            .min_weight_leaf(self.min_weight_leaf)
            .split_quality(quality)
            .fit(&Dataset::new(x.clone(), targets))
            .map_err(|e| Error::Estimator(format!("DecisionTree: {e}")))?;
        let mut counts: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for (row, label) in x.rows().into_iter().zip(y) {
            let leaf = counts
                .entry(leaf_of(model.root_node(), row))
                .or_insert_with(|| vec![0.0; classes]);
            if let Some(count) = leaf.get_mut(*label as usize) {
                *count += 1.0;
            }
        }
        let leaves = counts
            .into_iter()
            .map(|(path, counts)| {
                let total: f32 = counts.iter().sum::<f32>().max(1.0);
                (path, counts.iter().map(|c| c / total).collect())
            })
            .collect();
        Ok(FittedTree {
            model,
            leaves,
            classes,
        })
    }
}

impl FittedTree {
    /// A probability per class for every row of `x`: its leaf's class shares.
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        let uniform = vec![1.0 / self.classes.max(1) as f32; self.classes];
        x.rows()
            .into_iter()
            .flat_map(|row| {
                self.leaves
                    .get(&leaf_of(self.model.root_node(), row))
                    .unwrap_or(&uniform)
                    .clone()
            })
            .collect()
    }

    /// Each feature's total impurity decrease, by feature index.
    pub(super) fn importance(&self, features: usize) -> Vec<f64> {
        let mut out = self.model.feature_importance();
        out.resize(features, 0.0);
        out
    }
}
