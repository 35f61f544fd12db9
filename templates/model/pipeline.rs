//! From the `{{ snake }}` extract to features for the `{{ model }}` model.

use lore_core::prelude::*;

/// The rows of `src/extracts/{{ snake }}.sql`, split and encoded.
#[derive(Pipeline)]
#[pipeline(extract = "{{ snake }}")]
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
            Encoder::Unique { column: "EmailDomain(email)".into(), minimum_occurrences: 50 },
            Encoder::Norm { column: "LogPlusOne(orders)".into() },
            Encoder::Norm { column: "sessions_30d".into() },
        ]
    }

    fn output(&self) -> OutputEncoder {
        OutputEncoder::Boolean { column: "has_subscription".into() }
    }
}
