//! The estimator of the `{{ model }}` model.

use lore_core::prelude::*;

/// Boosted trees with early stopping on the validation split; tune with `--param`.
pub fn {{ snake }}() -> Estimator {
    Estimator::XGBoost(XGBoost::classifier().max_depth(3).n_estimators(100))
}
