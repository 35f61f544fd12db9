//! Pipelines: how an extract's rows become features.

pub mod subscribers;
