//! From the `{{ extract }}` extract to features for the `{{ model }}` model.

use lore_core::prelude::*;

/// The rows of `src/extracts/{{ extract }}.sql`, split and encoded.
#[derive(Pipeline)]
#[pipeline(extract = "{{ extract }}")]
pub struct {{ model }}Pipeline {
    /// Most rows to read; bound to `:limit` in the extract.
    pub limit: i64,
}

impl Default for {{ model }}Pipeline {
    fn default() -> Self {
        {{ model }}Pipeline { limit: 1_000_000 }
    }
}

impl PipelineDefinition for {{ model }}Pipeline {
    fn transformers(&self) -> Vec<Transformer> {
        vec![
            Transformer::EmailDomain { column: "email".into() },
            Transformer::LogPlusOne { column: "orders".into() },
        ]
    }

    fn split(&self) -> Split {
        Split::holdout(0.1, 0.1, 1)
    }

    fn encoders(&self) -> Vec<Encoder> {
        vec![
            Encoder::unique("EmailDomain(email)", 50),
            Encoder::norm("LogPlusOne(orders)"),
            Encoder::norm("sessions_30d"),
        ]
    }

    fn output(&self) -> OutputEncoder {
        OutputEncoder::Boolean { column: "has_subscription".into() }
    }
}
