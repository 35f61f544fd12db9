//! The estimator of the `Subscribers` model.

use lore_core::prelude::*;

/// Shallow boosted trees with early stopping on the validation split.
pub fn subscribers() -> Estimator {
    Estimator::XGBoost(XGBoost::classifier().max_depth(3).n_estimators(100).learning_rate(0.3).early_stopping_rounds(10))
}

/// The hyper-parameters a search tries, by name.
pub fn search() -> SearchSpace {
    SearchSpace::from([
        ("max_depth".into(), Range::Int([2, 8])),
        ("learning_rate".into(), Range::LogUniform([0.02, 0.5])),
        ("min_child_weight".into(), Range::LogUniform([0.5, 20.0])),
        ("subsample".into(), Range::Uniform([0.6, 1.0])),
        ("colsample_bytree".into(), Range::Uniform([0.6, 1.0])),
    ])
}
