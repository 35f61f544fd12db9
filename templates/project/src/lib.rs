//! {{ app }}: models fitted, evaluated and served with Lore.

pub mod encoders;
pub mod estimators;
pub mod models;
pub mod pipelines;
pub mod transformers;
