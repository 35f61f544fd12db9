//! `Subscribers`: which users have a subscription.

use lore_core::prelude::*;

use crate::pipelines::subscribers::SubscribersPipeline;

/// Predicts `has_subscription` from a user's name, email domain, dates and activity.
#[derive(Model)]
#[model(pipeline = SubscribersPipeline)]
pub struct Subscribers;

impl ModelDefinition for Subscribers {
    fn estimator(&self) -> Estimator {
        crate::estimators::subscribers::subscribers()
    }

    /// What `lore fit Subscribers --search 20` tries, the estimator's own parameters first.
    fn search(&self) -> SearchSpace {
        crate::estimators::subscribers::search()
    }
}
