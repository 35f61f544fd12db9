//! From the `users` extract to features for the `Subscribers` model.

use lore_core::prelude::*;

/// Users with their names, email domains, dates and activity, split and encoded for XGBoost: the
/// nine features of the subscribers model that Python Lore is benchmarked with.
#[derive(Pipeline)]
#[pipeline(extract = "users")]
pub struct SubscribersPipeline {
    /// Most rows to read; bound to `:limit` in `src/extracts/users.sql`.
    pub limit: i64,
}

impl Default for SubscribersPipeline {
    fn default() -> Self {
        SubscribersPipeline { limit: 1_000_000 }
    }
}

impl PipelineDefinition for SubscribersPipeline {
    fn transformers(&self) -> Vec<Transformer> {
        vec![
            Transformer::EmailDomain { column: "email".into() },
            Transformer::LogPlusOne { column: "orders".into() },
            Transformer::NameSex { column: "first_name".into() },
            Transformer::NameAge { column: "first_name".into() },
            Transformer::Log { column: "NameAge(first_name)".into() },
            Transformer::Age {
                column: "signup_date".into(),
                reference: Reference::Column("last_order_at".into()),
                unit: AgeUnit::Days,
            },
            Transformer::DateTime { column: "signup_date".into(), part: DatePart::Month },
        ]
    }

    fn split(&self) -> Split {
        Split::holdout(0.1, 0.09, 1)
    }

    fn encoders(&self) -> Vec<Encoder> {
        vec![
            Encoder::Unique { column: "first_name".into(), minimum_occurrences: 100 },
            Encoder::Norm { column: "Log(NameAge(first_name))".into() },
            Encoder::Discrete { column: "NameSex(first_name)".into(), bins: 10 },
            Encoder::Unique { column: "EmailDomain(email)".into(), minimum_occurrences: 50 },
            Encoder::Discrete { column: "DateTime(signup_date, month)".into(), bins: 12 },
            Encoder::Norm { column: "Age(signup_date, last_order_at, days)".into() },
            Encoder::Norm { column: "LogPlusOne(orders)".into() },
            Encoder::Norm { column: "basket_value".into() },
            Encoder::Quantile { column: "sessions_30d".into(), quantiles: 5 },
        ]
    }

    fn output(&self) -> OutputEncoder {
        OutputEncoder::Boolean { column: "has_subscription".into() }
    }
}
