//! The estimator of the `Subscribers` model.

use lore_core::prelude::*;

/// Shallow boosted trees with early stopping on the validation split.
pub fn subscribers() -> Estimator {
    Estimator::XGBoost(XGBoost::classifier().max_depth(3).n_estimators(100).learning_rate(0.3).early_stopping_rounds(10))
}
