//! The thresholds a check holds new data to (the `[checks]` table of a model's spec, or
//! `config/checks.toml`), and the drift tests it may choose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A drift test or distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Two-sample Kolmogorov-Smirnov (p-value).
    Ks,
    /// Pearson's chi-squared (p-value).
    ChiSquared,
    /// Z-test of two proportions (p-value).
    Z,
    /// Wasserstein distance over the reference's standard deviation.
    Wasserstein,
    /// Jensen-Shannon distance.
    JensenShannon,
    /// Population stability index.
    Psi,
}

crate::choices::choices!(Test by "checks.tests" as "a drift test" {
    Ks => "ks",
    ChiSquared => "chi_squared",
    Z => "z",
    Wasserstein => "wasserstein",
    JensenShannon => "jensen_shannon",
    Psi => "psi",
});

impl Test {
    /// Whether the test gives a p-value (drift below the threshold) rather than a distance
    /// (drift at or above it).
    pub fn gives_p_value(self) -> bool {
        matches!(self, Test::Ks | Test::ChiSquared | Test::Z)
    }
}

/// What fails a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    /// Any drifted column (or drifted scores), besides any failed quality check.
    #[default]
    Column,
    /// Only the dataset's drift (the share of drifted columns), besides any failed quality
    /// check.
    Dataset,
}

/// The thresholds of a check: the `[checks]` table of a model's spec or `config/checks.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// A p-value below this is drift (Kolmogorov-Smirnov, chi-squared, Z).
    pub p_value: f64,
    /// A distance at or above this is drift (Wasserstein, Jensen-Shannon, PSI).
    pub distance: f64,
    /// The dataset drifts when at least this share of its tested columns drift.
    pub drift_share: f64,
    /// References of at most this many values are tested with p-values; larger ones with
    /// distances.
    pub small_reference: u64,
    /// How far a column's share of nulls may move.
    pub null_rate: f64,
    /// The share of a column's numbers allowed outside the training range.
    pub out_of_range: f64,
    /// The share of a column's values allowed to be categories never seen in training.
    pub unseen: f64,
    /// How far the share of duplicate rows may grow over the reference's.
    pub duplicates: f64,
    /// The fewest rows the new data may have.
    pub min_rows: u64,
    /// Whether a drifted column fails the check, or only a drifted dataset.
    pub fail_on: FailOn,
    /// The test for a column, by name, instead of the default (`score` for the model's scores).
    pub tests: BTreeMap<String, Test>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            p_value: 0.05,
            distance: 0.1,
            drift_share: 0.5,
            small_reference: 1_000,
            null_rate: 0.05,
            out_of_range: 0.05,
            unseen: 0.05,
            duplicates: 0.1,
            min_rows: 1,
            fail_on: FailOn::Column,
            tests: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// Refuses thresholds outside their range, naming the key.
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("p_value", self.p_value),
            ("distance", self.distance),
            ("drift_share", self.drift_share),
            ("null_rate", self.null_rate),
            ("out_of_range", self.out_of_range),
            ("unseen", self.unseen),
            ("duplicates", self.duplicates),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::InvalidParam {
                    key: format!("checks.{key}"),
                    message: format!("{value} is not between 0 and 1"),
                });
            }
        }
        Ok(())
    }
}
