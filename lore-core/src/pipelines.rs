//! Pipelines: from an extract's rows to encoded matrices. Transformers add columns, the rows are
//! split into train / validation / test, encoders are fit on the training rows only, and every
//! split is encoded with those fitted encoders.

use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::{Encoder, FittedEncoder, OutputEncoder};
use crate::error::{Error, Result};
use crate::io::ExtractSpec;
use crate::transformers::{self, Transformer};

/// Everything a pipeline does, as data: what a Rust `#[derive(Pipeline)]` and a `[pipeline]`
/// table in a model's TOML both produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Where the rows come from.
    pub extract: ExtractSpec,
    /// Derived columns, applied in order.
    #[serde(default)]
    pub transformers: Vec<Transformer>,
    /// How rows are split for training, early stopping and the final evaluation.
    pub split: Split,
    /// One feature per encoder, in order.
    pub encoders: Vec<Encoder>,
    /// The column to predict.
    pub output: OutputEncoder,
}

/// How rows are divided between training, validation and test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Split {
    /// A seeded random holdout: shares of rows for validation and for test, the rest trains.
    Holdout {
        /// Share of rows for validation (early stopping), 0..1.
        validation: f64,
        /// Share of rows for the final test, 0..1.
        test: f64,
        /// Seed of the shuffle, so a split can be repeated exactly.
        seed: u64,
    },
}

/// Row numbers of each split.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Rows to fit encoders and the estimator on.
    pub train: Vec<IdxSize>,
    /// Rows for early stopping and tuning.
    pub validation: Vec<IdxSize>,
    /// Rows held out for the final evaluation.
    pub test: Vec<IdxSize>,
}

impl Split {
    /// Divides `rows` row numbers.
    pub fn rows(&self, rows: usize) -> Result<Splits> {
        let Split::Holdout {
            validation,
            test,
            seed,
        } = self;
        for (key, share) in [("split.validation", validation), ("split.test", test)] {
            if !(0.0..1.0).contains(share) {
                return Err(Error::InvalidParam {
                    key: key.into(),
                    message: format!("{share} is not a share between 0 and 1"),
                });
            }
        }
        if validation + test >= 1.0 {
            return Err(Error::InvalidParam {
                key: "split".into(),
                message: format!("validation {validation} + test {test} leave no rows to train on"),
            });
        }
        let mut order: Vec<IdxSize> = (0..rows as IdxSize).collect();
        let mut rng = rand_pcg::Pcg64::seed_from_u64(*seed);
        order.shuffle(&mut rng);
        let n_test = (rows as f64 * test).round() as usize;
        let n_validation = (rows as f64 * validation).round() as usize;
        let test_rows = order[..n_test].to_vec();
        let validation_rows = order[n_test..n_test + n_validation].to_vec();
        let mut train_rows = order[n_test + n_validation..].to_vec();
        train_rows.sort_unstable();
        Ok(Splits {
            train: train_rows,
            validation: validation_rows,
            test: test_rows,
        })
    }
}

impl Split {
    /// The split of row `row` when rows stream by and their count is unknown: a seeded hash of the
    /// row number against the shares, so the same rows land in the same split every time.
    /// 0 is train, 1 validation, 2 test.
    pub fn assign(&self, row: u64) -> u8 {
        let Split::Holdout {
            validation,
            test,
            seed,
        } = self;
        let mut z = seed.wrapping_add(row.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = (z >> 11) as f64 / (1u64 << 53) as f64;
        if u < *test {
            2
        } else if u < test + validation {
            1
        } else {
            0
        }
    }
}

/// A dense, row-major matrix of features; NaN marks a missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// `rows * columns` values, row after row.
    pub values: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns (features).
    pub columns: usize,
}

impl Matrix {
    /// An empty matrix of `columns` columns.
    pub fn empty(columns: usize) -> Matrix {
        Matrix {
            values: Vec::new(),
            rows: 0,
            columns,
        }
    }
}

impl PipelineSpec {
    /// The columns that encoders and the output read, after the transformers ran.
    pub fn encoded_columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        let wanted = self
            .encoders
            .iter()
            .flat_map(|e| e.columns())
            .chain([self.output.column()]);
        for column in wanted {
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_string());
            }
        }
        columns
    }

    /// Adds every transformer's column to `df`, in order.
    pub fn transform(&self, df: &mut DataFrame) -> Result<()> {
        transformers::apply_all(&self.transformers, df)
    }

    /// Fits every encoder on the (already transformed) training rows.
    pub fn fit(&self, train: &DataFrame) -> Result<FittedPipeline> {
        let encoders = self
            .encoders
            .par_iter()
            .map(|e| {
                let started = std::time::Instant::now();
                let fitted = e.fit(train);
                tracing::debug!(
                    seconds = started.elapsed().as_secs_f64(),
                    "fit {}",
                    e.feature()
                );
                fitted
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FittedPipeline {
            encoding: ENCODING_VERSION,
            transformers: self.transformers.clone(),
            features: self.encoders.iter().map(Encoder::feature).collect(),
            encoders,
            output: self.output.clone(),
        })
    }
}

/// The version of how fitted encoders code their values, saved in every `pipeline.json`; a
/// fitting saved with another version would be fed codes its estimator never saw.
pub const ENCODING_VERSION: u32 = 2;

/// A pipeline with fitted encoders: everything needed to turn new rows into features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// [`ENCODING_VERSION`] when it was fitted (1 for fittings saved before versions were kept).
    #[serde(default = "first_version")]
    pub encoding: u32,
    /// The transformers, applied before encoding.
    pub transformers: Vec<Transformer>,
    /// The fitted encoders, one per feature.
    pub encoders: Vec<FittedEncoder>,
    /// The feature names, in matrix column order.
    pub features: Vec<String>,
    /// The output encoder.
    pub output: OutputEncoder,
}

fn first_version() -> u32 {
    1
}

impl FittedPipeline {
    /// The raw columns a row must have for a prediction.
    pub fn inputs(&self) -> Vec<String> {
        let derived: Vec<String> = self.transformers.iter().map(Transformer::output).collect();
        let mut inputs: Vec<String> = Vec::new();
        let wanted = self
            .transformers
            .iter()
            .flat_map(|t| t.inputs().into_iter().map(str::to_string))
            .chain(
                self.encoders
                    .iter()
                    .flat_map(|e| e.columns().into_iter().map(str::to_string)),
            );
        for column in wanted {
            if !derived.contains(&column) && !inputs.contains(&column) {
                inputs.push(column);
            }
        }
        inputs
    }

    /// Encodes rows that already carry the transformers' columns.
    pub fn encode(&self, df: &DataFrame) -> Result<Matrix> {
        let columns = self
            .encoders
            .par_iter()
            .map(|e| e.encode(df))
            .collect::<Result<Vec<_>>>()?;
        let rows = df.height();
        let mut values = Vec::with_capacity(rows * columns.len());
        for r in 0..rows {
            values.extend(columns.iter().map(|c| c[r]));
        }
        Ok(Matrix {
            values,
            rows,
            columns: columns.len(),
        })
    }

    /// Checks that `df` has every input column, then transforms and encodes it.
    pub fn prepare(&self, mut df: DataFrame, location: &str) -> Result<Matrix> {
        let present: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(missing) = self.inputs().into_iter().find(|c| !present.contains(c)) {
            return Err(Error::MissingColumn {
                column: missing,
                needed_by: "model".into(),
                location: Some(location.to_string()),
                present,
            });
        }
        transformers::apply_all(&self.transformers, &mut df)?;
        self.encode(&df)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_is_seeded_disjoint_and_complete() {
        let split = Split::Holdout {
            validation: 0.1,
            test: 0.2,
            seed: 7,
        };
        let a = split.rows(1000).unwrap();
        assert_eq!(a, split.rows(1000).unwrap());
        assert_eq!(
            (a.train.len(), a.validation.len(), a.test.len()),
            (700, 100, 200)
        );
        let mut all: Vec<IdxSize> = a
            .train
            .iter()
            .chain(&a.validation)
            .chain(&a.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let other = Split::Holdout {
            validation: 0.1,
            test: 0.2,
            seed: 8,
        }
        .rows(1000)
        .unwrap();
        assert_ne!(a.test, other.test);
    }

    #[test]
    fn streamed_rows_are_assigned_by_seed_in_their_shares() {
        let split = Split::Holdout {
            validation: 0.1,
            test: 0.2,
            seed: 7,
        };
        let counts = (0..100_000u64).fold([0usize; 3], |mut c, r| {
            c[split.assign(r) as usize] += 1;
            c
        });
        assert!(
            (69_000..71_000).contains(&counts[0]) && (9_500..10_500).contains(&counts[1]),
            "{counts:?}"
        );
        assert_eq!(split.assign(12345), split.assign(12345));
        let other = Split::Holdout {
            validation: 0.1,
            test: 0.2,
            seed: 8,
        };
        assert!((0..1000u64).any(|r| split.assign(r) != other.assign(r)));
    }

    #[test]
    fn bad_shares_are_refused() {
        let e = Split::Holdout {
            validation: 0.6,
            test: 0.5,
            seed: 1,
        }
        .rows(10)
        .unwrap_err()
        .to_string();
        assert!(e.contains("no rows to train"), "{e}");
    }

    #[test]
    fn inputs_exclude_derived_columns_and_prepare_names_missing_ones() {
        let spec = PipelineSpec {
            extract: ExtractSpec::new("t"),
            transformers: vec![Transformer::LogPlusOne {
                column: "orders".into(),
            }],
            split: Split::Holdout {
                validation: 0.0,
                test: 0.0,
                seed: 1,
            },
            encoders: vec![
                Encoder::Norm {
                    column: "LogPlusOne(orders)".into(),
                },
                Encoder::Unique {
                    column: "city".into(),
                    minimum_occurrences: 1,
                },
            ],
            output: OutputEncoder::Boolean { column: "y".into() },
        };
        let mut df = df!("orders" => [1i64, 2], "city" => ["a", "b"], "y" => [0, 1]).unwrap();
        spec.transform(&mut df).unwrap();
        let fitted = spec.fit(&df).unwrap();
        assert_eq!(fitted.inputs(), vec!["orders", "city"]);
        let m = fitted
            .prepare(df!("orders" => [3i64], "city" => ["b"]).unwrap(), "test")
            .unwrap();
        assert_eq!((m.rows, m.columns), (1, 2));
        let e = fitted
            .prepare(df!("orders" => [3i64]).unwrap(), "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`city`") && e.contains("x.csv"), "{e}");
    }
}
