//! Lore: from a SQL extract to a fitted, evaluated, recorded model behind an HTTP endpoint.
//!
//! Modules follow the data path, each depending only on those before it: `error`, `choices`, `drift`, `redact`, `logs`, `progress`,
//! `paths`, `env`, `error_reports`, `io`, `frame`, `matrix`, `names`, `registry`, `transformers`, `encoders`, `pipelines`, `profile`, `check`, `metrics`,
//! `estimators`, `report`, `tracking`, `models`, `serve`, `sample`, `project`.

pub mod check;
mod choices;
pub mod drift;
pub mod encoders;
pub mod env;
pub mod error;
pub mod error_reports;
pub mod estimators;
pub mod feedback;
pub mod frame;
pub mod generators;
pub mod io;
pub mod logs;
pub mod matrix;
pub mod metrics;
pub mod models;
pub mod names;
pub mod paths;
pub mod pipelines;
pub mod profile;
pub mod progress;
pub mod project;
pub mod redact;
mod registry;
pub mod report;
pub mod rows;
pub mod sample;
pub mod search;
pub mod serve;
pub mod test_env;
#[cfg(test)]
mod testing;
pub mod tracking;
pub mod transformers;

pub use error::{Error, Result};
/// The data frame library of Lore's columns, for a project's own transformers and encoders.
pub use polars;

/// What a project's Rust models and pipelines need, in one `use lore_core::prelude::*;`.
pub mod prelude {
    pub use crate::encoders::{Encoder, OutputEncoder};
    pub use crate::estimators::{Estimator, XGBoost};
    pub use crate::io::ExtractSpec;
    pub use crate::metrics::Metric;
    pub use crate::models::{Model, ModelDefinition, ModelSpec, Pipeline, PipelineDefinition};
    pub use crate::pipelines::{PipelineSpec, Split};
    pub use crate::search::{Range, SearchSpace};
    pub use crate::transformers::{AgeUnit, DatePart, Reference, StringOp, Transformer};
    pub use lore_macros::{Model, Pipeline};
}
