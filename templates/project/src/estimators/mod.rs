//! Estimators and their hyper-parameters, one function per model.

pub mod subscribers;
