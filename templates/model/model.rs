//! `{{ model }}`: predicts `has_subscription` until you change its pipeline's output.

use lore_core::prelude::*;

use crate::pipelines::{{ snake }}::{{ model }}Pipeline;

/// The {{ model }} model.
#[derive(Model)]
#[model(pipeline = {{ model }}Pipeline)]
pub struct {{ model }};

impl ModelDefinition for {{ model }} {
    fn estimator(&self) -> Estimator {
        crate::estimators::{{ snake }}::{{ snake }}()
    }
}
