//! Encoders turn a column into numbers an estimator can use. Each is a spec that is `fit` on the
//! training split only, giving a fitted encoder that is saved with the fitting and used unchanged
//! at prediction time.

use std::collections::HashMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

/// How one input column becomes one feature, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Encoder {
    /// Categories as codes, most frequent first; categories seen fewer than `minimum_occurrences`
    /// times in training, and unseen ones, share one "other" code.
    Unique {
        /// The column.
        column: String,
        /// Fewest training rows a category needs to get a code of its own.
        #[serde(default = "one")]
        minimum_occurrences: usize,
    },
    /// Standardised numbers: `(x - mean) / std` with the training mean and standard deviation.
    Norm {
        /// The column.
        column: String,
    },
    /// Numbers cut into `bins` equal-width bins between the training minimum and maximum.
    Discrete {
        /// The column.
        column: String,
        /// How many bins.
        #[serde(default = "ten")]
        bins: usize,
    },
    /// Numbers passed through unchanged.
    Pass {
        /// The column.
        column: String,
    },
}

fn one() -> usize {
    1
}

fn ten() -> usize {
    10
}

impl Encoder {
    /// The column this encoder reads.
    pub fn column(&self) -> &str {
        match self {
            Encoder::Unique { column, .. }
            | Encoder::Norm { column }
            | Encoder::Discrete { column, .. }
            | Encoder::Pass { column } => column,
        }
    }

    /// The name of the feature it makes, such as `Unique(first_name)`.
    pub fn feature(&self) -> String {
        let kind = match self {
            Encoder::Unique { .. } => "Unique",
            Encoder::Norm { .. } => "Norm",
            Encoder::Discrete { .. } => "Discrete",
            Encoder::Pass { .. } => "Pass",
        };
        format!("{kind}({})", self.column())
    }

    /// Learns what this encoder needs from the training rows in `df`.
    pub fn fit(&self, df: &DataFrame) -> Result<FittedEncoder> {
        let by = format!("encoder {}", self.feature());
        let column = self.column().to_string();
        match self {
            Encoder::Unique {
                minimum_occurrences,
                ..
            } => {
                let mut counts: HashMap<String, usize> = HashMap::new();
                for v in frame::strings(df, &column, &by)?.into_iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                let mut kept: Vec<(String, usize)> = counts
                    .into_iter()
                    .filter(|(_, n)| *n >= (*minimum_occurrences).max(1))
                    .collect();
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Ok(FittedEncoder::Unique {
                    column,
                    categories: kept.into_iter().map(|(c, _)| c).collect(),
                })
            }
            Encoder::Norm { .. } => {
                let values: Vec<f64> = frame::numbers(df, &column, &by)?
                    .into_iter()
                    .flatten()
                    .collect();
                let n = values.len().max(1) as f64;
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                Ok(FittedEncoder::Norm { column, mean, std })
            }
            Encoder::Discrete { bins, .. } => {
                if *bins == 0 {
                    return Err(Error::InvalidParam {
                        key: format!("{by}: bins"),
                        message: "must be at least 1".into(),
                    });
                }
                let values: Vec<f64> = frame::numbers(df, &column, &by)?
                    .into_iter()
                    .flatten()
                    .collect();
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let (min, max) = if min.is_finite() {
                    (min, max)
                } else {
                    (0.0, 0.0)
                };
                Ok(FittedEncoder::Discrete {
                    column,
                    min,
                    max,
                    bins: *bins,
                })
            }
            Encoder::Pass { .. } => {
                frame::numbers(df, &column, &by)?;
                Ok(FittedEncoder::Pass { column })
            }
        }
    }
}

/// An encoder with what it learned from training data; saved in every fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FittedEncoder {
    /// Codes for the kept categories, in order; others get `categories.len()`, nulls are missing.
    Unique {
        /// The column.
        column: String,
        /// The kept categories; a category's code is its index.
        categories: Vec<String>,
    },
    /// The training mean and standard deviation.
    Norm {
        /// The column.
        column: String,
        /// Training mean.
        mean: f64,
        /// Training standard deviation (1 when constant).
        std: f64,
    },
    /// The training range and the number of bins.
    Discrete {
        /// The column.
        column: String,
        /// Training minimum.
        min: f64,
        /// Training maximum.
        max: f64,
        /// How many bins.
        bins: usize,
    },
    /// Numbers passed through.
    Pass {
        /// The column.
        column: String,
    },
}

impl FittedEncoder {
    /// The column it reads.
    pub fn column(&self) -> &str {
        match self {
            FittedEncoder::Unique { column, .. }
            | FittedEncoder::Norm { column, .. }
            | FittedEncoder::Discrete { column, .. }
            | FittedEncoder::Pass { column } => column,
        }
    }

    /// Encodes every row of `df`; a missing value becomes NaN, which estimators treat as missing.
    pub fn encode(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let by = format!("fitted encoder of {}", self.column());
        Ok(match self {
            FittedEncoder::Unique { column, categories } => {
                let index: HashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                let other = categories.len() as f32;
                frame::strings(df, column, &by)?
                    .iter()
                    .map(|v| match v {
                        None => f32::NAN,
                        Some(s) => index.get(s.as_str()).map(|i| *i as f32).unwrap_or(other),
                    })
                    .collect()
            }
            FittedEncoder::Norm { column, mean, std } => frame::numbers(df, column, &by)?
                .into_iter()
                .map(|v| v.map(|x| ((x - mean) / std) as f32).unwrap_or(f32::NAN))
                .collect(),
            FittedEncoder::Discrete {
                column,
                min,
                max,
                bins,
            } => {
                let width = (max - min) / *bins as f64;
                frame::numbers(df, column, &by)?
                    .into_iter()
                    .map(|v| match v {
                        None => f32::NAN,
                        Some(_) if width <= 0.0 => 0.0,
                        Some(x) => {
                            ((x - min) / width).floor().clamp(0.0, (*bins - 1) as f64) as f32
                        }
                    })
                    .collect()
            }
            FittedEncoder::Pass { column } => frame::numbers(df, column, &by)?
                .into_iter()
                .map(|v| v.map(|x| x as f32).unwrap_or(f32::NAN))
                .collect(),
        })
    }
}

/// How the column to predict becomes labels, and predictions become answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum OutputEncoder {
    /// A yes/no column (0/1, true/false, yes/no): labels 0 and 1, answers true when p >= 0.5.
    Boolean {
        /// The column to predict.
        column: String,
    },
}

impl OutputEncoder {
    /// The column to predict.
    pub fn column(&self) -> &str {
        match self {
            OutputEncoder::Boolean { column } => column,
        }
    }

    /// The labels of every row of `df`; a missing or unreadable label is an error naming the row.
    pub fn labels(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let OutputEncoder::Boolean { column } = self;
        let by = format!("output encoder Boolean({column})");
        frame::strings(df, column, &by)?
            .into_iter()
            .enumerate()
            .map(|(row, v)| {
                let v = v.unwrap_or_default();
                match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "1.0" | "true" | "t" | "yes" | "y" => Ok(1.0),
                    "0" | "0.0" | "false" | "f" | "no" | "n" => Ok(0.0),
                    other => Err(Error::ColumnType {
                        column: column.clone(),
                        message: format!(
                            "row {}: {by} needs 0/1 or true/false but found {other:?}",
                            row + 1
                        ),
                    }),
                }
            })
            .collect()
    }

    /// The answer for a predicted probability.
    pub fn decode(&self, probability: f32) -> serde_json::Value {
        serde_json::Value::Bool(probability >= 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keeps_frequent_categories_and_pools_the_rest() {
        let train =
            df!("c" => [Some("a"), Some("a"), Some("b"), Some("a"), Some("c"), Some("c"), None])
                .unwrap();
        let fitted = Encoder::Unique {
            column: "c".into(),
            minimum_occurrences: 2,
        }
        .fit(&train)
        .unwrap();
        assert_eq!(
            fitted,
            FittedEncoder::Unique {
                column: "c".into(),
                categories: vec!["a".into(), "c".into()]
            }
        );
        let test = df!("c" => [Some("c"), Some("b"), Some("zzz"), None]).unwrap();
        let codes = fitted.encode(&test).unwrap();
        assert_eq!(&codes[..3], &[1.0, 2.0, 2.0]);
        assert!(codes[3].is_nan());
    }

    #[test]
    fn norm_and_discrete_use_training_statistics_only() {
        let train = df!("x" => [Some(1.0), Some(3.0), None]).unwrap();
        let norm = Encoder::Norm { column: "x".into() }.fit(&train).unwrap();
        assert_eq!(
            norm,
            FittedEncoder::Norm {
                column: "x".into(),
                mean: 2.0,
                std: 1.0
            }
        );
        let test = df!("x" => [Some(5.0), None]).unwrap();
        let v = norm.encode(&test).unwrap();
        assert_eq!(v[0], 3.0);
        assert!(v[1].is_nan());
        let disc = Encoder::Discrete {
            column: "x".into(),
            bins: 2,
        }
        .fit(&train)
        .unwrap();
        let test = df!("x" => [0.0, 1.9, 2.1, 99.0]).unwrap();
        assert_eq!(disc.encode(&test).unwrap(), vec![0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn boolean_labels_name_the_bad_row() {
        let df = df!("y" => ["1", "false", "maybe"]).unwrap();
        let e = OutputEncoder::Boolean { column: "y".into() }
            .labels(&df)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 3") && e.contains("maybe") && e.contains("`y`"),
            "{e}"
        );
    }
}
