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
            Encoder::unique("first_name", 100),
            Encoder::norm("Log(NameAge(first_name))"),
            Encoder::discrete("NameSex(first_name)", 10),
            Encoder::unique("EmailDomain(email)", 50),
            Encoder::discrete("DateTime(signup_date, month)", 12),
            Encoder::norm("Age(signup_date, last_order_at, days)"),
            Encoder::norm("LogPlusOne(orders)"),
            Encoder::norm("basket_value"),
            Encoder::quantile("sessions_30d", 5),
        ]
    }

    fn output(&self) -> OutputEncoder {
        OutputEncoder::Boolean { column: "has_subscription".into() }
    }
}
