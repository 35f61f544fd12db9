//! How a pipeline's rows are divided between training, validation and test: seeded holdouts
//! (stratified by a column or the labels), subsamples and time series, whole or batch by batch.

use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::encoders::{text_hash, OutputEncoder};
use crate::error::{Error, Result};

/// How rows are divided between training, validation and test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Split {
    /// A seeded random holdout: shares of rows for validation and for test, the rest trains.
    Holdout {
        /// Share of rows for validation (early stopping), 0..1.
        #[serde(default = "tenth")]
        validation: f64,
        /// Share of rows for the final test, 0..1 (0.09: a tenth of what validation leaves).
        #[serde(default = "test_share")]
        test: f64,
        /// Seed of the shuffle, so a split can be repeated exactly.
        #[serde(default = "first_seed")]
        seed: u64,
        /// A column whose rows stay together: all rows of one value (a user id, say) land in the
        /// same split, so the test rows come from people the model never trained on.
        #[serde(default)]
        stratify: Option<String>,
        /// Split each output class by the shares on its own, so every split has the same class
        /// balance (exact when the extract is read whole, in expectation when it streams).
        #[serde(default)]
        stratify_labels: bool,
        /// Use only this many rows (or values of `stratify`), drawn with the seed: for fast
        /// iteration on a large extract. Needs the whole extract.
        #[serde(default)]
        subsample: Option<usize>,
    },
    /// Oldest rows train, the next validate, the newest test, by a date, time or number column.
    /// Needs the whole extract.
    TimeSeries {
        /// The column to order rows by.
        column: String,
        /// Share of rows for validation, 0..1.
        #[serde(default = "tenth")]
        validation: f64,
        /// Share of the newest rows for the final test, 0..1.
        #[serde(default = "tenth")]
        test: f64,
    },
}

fn tenth() -> f64 {
    0.1
}

fn test_share() -> f64 {
    0.09
}

fn first_seed() -> u64 {
    1
}

/// Row numbers of each split, each in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Rows to fit encoders and the estimator on.
    pub train: Vec<IdxSize>,
    /// Rows for early stopping and tuning.
    pub validation: Vec<IdxSize>,
    /// Rows held out for the final evaluation.
    pub test: Vec<IdxSize>,
}

impl Splits {
    /// Train, validation and test from `parts` (in any order) with each one's rows in row order
    /// (reading rows in order is cheaper, and encoding can then write each row straight into its
    /// split): `rows` rows in all, marked by split rather than sorted.
    fn in_row_order(rows: usize, parts: [&[IdxSize]; 3]) -> Splits {
        const UNUSED: u8 = u8::MAX;
        let mut which = vec![UNUSED; rows];
        for (k, part) in parts.iter().enumerate() {
            for r in part.iter().filter(|r| (**r as usize) < rows) {
                which[*r as usize] = k as u8;
            }
        }
        let [mut train, mut validation, mut test] = parts.map(|p| Vec::with_capacity(p.len()));
        for (r, k) in which.iter().enumerate() {
            match k {
                0 => train.push(r as IdxSize),
                1 => validation.push(r as IdxSize),
                2 => test.push(r as IdxSize),
                _ => {}
            }
        }
        Splits {
            train,
            validation,
            test,
        }
    }
}

/// A seeded hash of `value` to [0, 1): the same value and seed always give the same number.
fn unit_hash(seed: u64, value: u64) -> f64 {
    let mut z = seed.wrapping_add(value.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Split {
    /// The holdout of 10% validation and 9% test (81/10/9, like Python Lore), seeded with `seed`.
    pub fn holdout(validation: f64, test: f64, seed: u64) -> Split {
        Split::Holdout {
            validation,
            test,
            seed,
            stratify: None,
            stratify_labels: false,
            subsample: None,
        }
    }

    /// The columns the split reads, besides the output.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Split::Holdout { stratify, .. } => stratify.iter().map(String::as_str).collect(),
            Split::TimeSeries { column, .. } => vec![column],
        }
    }

    pub(crate) fn shares(&self) -> Result<(f64, f64)> {
        let (validation, test) = match self {
            Split::Holdout {
                validation, test, ..
            }
            | Split::TimeSeries {
                validation, test, ..
            } => (*validation, *test),
        };
        for (key, share) in [("split.validation", validation), ("split.test", test)] {
            if !(0.0..1.0).contains(&share) {
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
        Ok((validation, test))
    }

    /// Divides the rows of `df` (transformed, with the output column `output` reads).
    pub fn rows(&self, df: &DataFrame, output: &OutputEncoder) -> Result<Splits> {
        let (validation, test) = self.shares()?;
        let by = "the split";
        let (seed, stratify, stratify_labels, subsample) = match self {
            Split::TimeSeries { column, .. } => {
                let keys = crate::frame::timestamps(df, column, by)
                    .map(|t| {
                        t.into_iter()
                            .map(|t| t.map(|t| t.and_utc().timestamp_micros() as f64))
                            .collect::<Vec<_>>()
                    })
                    .or_else(|_| crate::frame::numbers(df, column, by))?;
                let mut order: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
                // Rows without a time sort first: they train, never test.
                order.sort_by(|a, b| {
                    let key = |i: &IdxSize| keys[*i as usize].unwrap_or(f64::NEG_INFINITY);
                    key(a).total_cmp(&key(b))
                });
                return Ok(cut(&order, validation, test, df.height()));
            }
            Split::Holdout {
                seed,
                stratify,
                stratify_labels,
                subsample,
                ..
            } => (*seed, stratify, *stratify_labels, *subsample),
        };
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        if stratify.is_none() && !stratify_labels {
            // Rows one by one: only the rows dealt out of the whole are shuffled (all of them
            // when validation and test take the whole of a subsample).
            let mut order: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
            let used = subsample.unwrap_or(order.len()).min(order.len());
            let n_test = (used as f64 * test).round() as usize;
            let n_validation = (used as f64 * validation).round() as usize;
            let dealt = match subsample {
                Some(_) => used,
                None => (n_test + n_validation).min(used),
            };
            let (picked, rest) = order.partial_shuffle(&mut rng, dealt);
            let (test_rows, picked) = picked.split_at(n_test.min(dealt));
            let (validation_rows, picked) = picked.split_at(n_validation.min(picked.len()));
            let train = match subsample {
                Some(_) => picked,
                None => rest,
            };
            return Ok(Splits::in_row_order(
                df.height(),
                [train, validation_rows, test_rows],
            ));
        }
        // What is shuffled and dealt out: single rows, or the groups of rows sharing a value of
        // `stratify`, as ranges of `members`.
        let (members, mut units): (Vec<IdxSize>, Vec<(usize, usize)>) = match stratify {
            None => (
                (0..df.height() as IdxSize).collect(),
                (0..df.height()).map(|r| (r, 1)).collect(),
            ),
            Some(column) => {
                let mut groups: std::collections::BTreeMap<Option<&str>, Vec<IdxSize>> =
                    std::collections::BTreeMap::new();
                let values = crate::frame::text(df, column, by)?;
                for (row, value) in values.iter().enumerate() {
                    groups.entry(value).or_default().push(row as IdxSize);
                }
                let mut members = Vec::with_capacity(df.height());
                let mut units = Vec::with_capacity(groups.len());
                for rows in groups.into_values() {
                    units.push((members.len(), rows.len()));
                    members.extend(rows);
                }
                (members, units)
            }
        };
        units.shuffle(&mut rng);
        if let Some(n) = subsample {
            units.truncate(n);
        }
        let classes: Vec<Vec<(usize, usize)>> = if stratify_labels {
            let labels = output.strata(df)?;
            let mut by_class: std::collections::BTreeMap<u32, Vec<(usize, usize)>> =
                std::collections::BTreeMap::new();
            for unit in units {
                let first = members[unit.0] as usize;
                by_class
                    .entry(labels[first].to_bits())
                    .or_default()
                    .push(unit);
            }
            by_class.into_values().collect()
        } else {
            vec![units]
        };
        let mut splits = Splits {
            train: vec![],
            validation: vec![],
            test: vec![],
        };
        for class in classes {
            let total: usize = class.iter().map(|(_, len)| len).sum();
            let n_test = (total as f64 * test).round() as usize;
            let n_validation = (total as f64 * validation).round() as usize;
            let mut dealt = 0usize;
            for (start, len) in class {
                let target = if dealt < n_test {
                    &mut splits.test
                } else if dealt < n_test + n_validation {
                    &mut splits.validation
                } else {
                    &mut splits.train
                };
                dealt += len;
                target.extend_from_slice(&members[start..start + len]);
            }
        }
        Ok(Splits::in_row_order(
            df.height(),
            [&splits.train, &splits.validation, &splits.test],
        ))
    }

    /// The split of each row of a streamed batch whose first row is number `first_row`: 0 train,
    /// 1 validation, 2 test, by a seeded hash of the row number (or of its `stratify` value), so
    /// the same rows land in the same split every time; labels balance in expectation.
    pub fn assign_batch(&self, df: &DataFrame, first_row: u64) -> Result<Vec<u8>> {
        let (validation, test) = self.shares()?;
        let (seed, stratify, subsample) = match self {
            Split::TimeSeries { .. } => {
                return Err(Error::InvalidParam {
                    key: "split".into(),
                    message: "a TimeSeries split orders the whole extract, which a streamed fit \
                              never holds; remove the extract's batch_rows or use a Holdout split"
                        .into(),
                })
            }
            Split::Holdout {
                seed,
                stratify,
                subsample,
                ..
            } => (*seed, stratify, subsample),
        };
        if subsample.is_some() {
            return Err(Error::InvalidParam {
                key: "split.subsample".into(),
                message: "subsampling draws from the whole extract, which a streamed fit never \
                          holds; put a LIMIT in the extract's SQL instead"
                    .into(),
            });
        }
        let place = |u: f64| {
            if u < test {
                2
            } else if u < test + validation {
                1
            } else {
                0
            }
        };
        Ok(match stratify {
            None => (first_row..first_row + df.height() as u64)
                .map(|r| place(unit_hash(seed, r)))
                .collect(),
            Some(column) => crate::frame::text(df, column, "the split")?
                .iter()
                .map(|v| place(unit_hash(seed, v.map_or(0, text_hash))))
                .collect(),
        })
    }
}

/// Cuts rows already in order (of `rows` in the frame): the first train, then validation, the
/// last test.
fn cut(order: &[IdxSize], validation: f64, test: f64, rows: usize) -> Splits {
    let n_test = (order.len() as f64 * test).round() as usize;
    let n_validation = (order.len() as f64 * validation).round() as usize;
    let n_train = order.len().saturating_sub(n_test + n_validation);
    let (train, rest) = order.split_at(n_train);
    let (validation, test) = rest.split_at(n_validation.min(rest.len()));
    Splits::in_row_order(rows, [train, validation, test])
}
