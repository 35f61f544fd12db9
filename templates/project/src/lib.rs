//! {{ app }}: models fitted, evaluated and served with Lore.

pub mod estimators;
pub mod models;
pub mod pipelines;
