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
        let mut state = self.start()?;
        state.update(df)?;
        Ok(state.finish())
    }

    /// An empty accumulator, for fitting on training rows that arrive in batches.
    pub fn start(&self) -> Result<EncoderState> {
        let column = self.column().to_string();
        let by = format!("encoder {}", self.feature());
        let kind = match self {
            Encoder::Unique {
                minimum_occurrences,
                ..
            } => StateKind::Unique {
                minimum: (*minimum_occurrences).max(1),
                counts: HashMap::new(),
            },
            Encoder::Norm { .. } => StateKind::Norm {
                n: 0.0,
                mean: 0.0,
                m2: 0.0,
            },
            Encoder::Discrete { bins, .. } => {
                if *bins == 0 {
                    return Err(Error::InvalidParam {
                        key: format!("{by}: bins"),
                        message: "must be at least 1".into(),
                    });
                }
                StateKind::Discrete {
                    bins: *bins,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                }
            }
            Encoder::Pass { .. } => StateKind::Pass,
        };
        Ok(EncoderState { column, by, kind })
    }
}

/// What an encoder has learned so far from training rows; [`EncoderState::finish`] fits it.
#[derive(Debug, Clone)]
pub struct EncoderState {
    column: String,
    by: String,
    kind: StateKind,
}

#[derive(Debug, Clone)]
enum StateKind {
    Unique {
        minimum: usize,
        counts: HashMap<String, usize>,
    },
    Norm {
        n: f64,
        mean: f64,
        m2: f64,
    },
    Discrete {
        bins: usize,
        min: f64,
        max: f64,
    },
    Pass,
}

impl EncoderState {
    /// Learns from more training rows.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        let (column, by) = (&self.column, &self.by);
        match &mut self.kind {
            StateKind::Unique { counts, .. } => {
                for v in frame::strings(df, column, by)?.into_iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
            }
            StateKind::Norm { n, mean, m2 } => {
                // Welford's update: stable, and the same whether rows come at once or in batches.
                for x in frame::numbers(df, column, by)?.into_iter().flatten() {
                    *n += 1.0;
                    let delta = x - *mean;
                    *mean += delta / *n;
                    *m2 += delta * (x - *mean);
                }
            }
            StateKind::Discrete { min, max, .. } => {
                for x in frame::numbers(df, column, by)?.into_iter().flatten() {
                    *min = min.min(x);
                    *max = max.max(x);
                }
            }
            StateKind::Pass => {
                frame::numbers(df, column, by)?;
            }
        }
        Ok(())
    }

    /// The fitted encoder.
    pub fn finish(self) -> FittedEncoder {
        let column = self.column;
        match self.kind {
            StateKind::Unique { minimum, counts } => {
                let mut kept: Vec<(String, usize)> =
                    counts.into_iter().filter(|(_, n)| *n >= minimum).collect();
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                FittedEncoder::Unique {
                    column,
                    categories: kept.into_iter().map(|(c, _)| c).collect(),
                }
            }
            StateKind::Norm { n, mean, m2 } => {
                let var = if n > 0.0 { m2 / n } else { 0.0 };
                FittedEncoder::Norm {
                    column,
                    mean,
                    std: if var > 0.0 { var.sqrt() } else { 1.0 },
                }
            }
            StateKind::Discrete { bins, min, max } => {
                let (min, max) = if min.is_finite() {
                    (min, max)
                } else {
                    (0.0, 0.0)
                };
                FittedEncoder::Discrete {
                    column,
                    min,
                    max,
                    bins,
                }
            }
            StateKind::Pass => FittedEncoder::Pass { column },
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
    fn fitting_in_batches_learns_what_fitting_at_once_does() {
        let all = df!("x" => [Some(1.0), Some(4.0), None, Some(10.0), Some(-2.0)], "c" => ["a", "b", "a", "c", "a"]).unwrap();
        for encoder in [
            Encoder::Norm { column: "x".into() },
            Encoder::Discrete {
                column: "x".into(),
                bins: 3,
            },
            Encoder::Unique {
                column: "c".into(),
                minimum_occurrences: 2,
            },
        ] {
            let mut state = encoder.start().unwrap();
            state.update(&all.slice(0, 2)).unwrap();
            state.update(&all.slice(2, 3)).unwrap();
            let batched = state.finish();
            let at_once = encoder.fit(&all).unwrap();
            match (&batched, &at_once) {
                (
                    FittedEncoder::Norm {
                        mean: a, std: s, ..
                    },
                    FittedEncoder::Norm {
                        mean: b, std: t, ..
                    },
                ) => {
                    assert!((a - b).abs() < 1e-12 && (s - t).abs() < 1e-12)
                }
                _ => assert_eq!(batched, at_once),
            }
        }
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
