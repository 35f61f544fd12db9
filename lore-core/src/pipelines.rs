//! Pipelines: from an extract's rows to encoded matrices. Transformers add columns, the rows are
//! split into train / validation / test, encoders are fit on the training rows only, and every
//! split is encoded with those fitted encoders.

use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

use crate::encoders::{text_hash, Encoder, FittedEncoder, FittedOutput, OutputEncoder};
use crate::error::{Error, Result};
use crate::frame::{self, Kind};
use crate::io::ExtractSpec;
use crate::metrics::Timings;
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

/// Rows encoded at a time by one core: their features stay in cache while they are laid side by
/// side.
const CHUNK: usize = 64 * 1024;

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

    fn shares(&self) -> Result<(f64, f64)> {
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

/// The names of the custom transformers, then encoders, this program has not registered.
fn unregistered<'a>(
    transformers: &'a [Transformer],
    encoders: impl Iterator<Item = Option<&'a str>>,
) -> Vec<String> {
    transformers
        .iter()
        .map(Transformer::unregistered)
        .chain(encoders)
        .flatten()
        .map(str::to_string)
        .collect()
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

/// A matrix of features: dense, or sparse when an encoder makes sparse features (`Text`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The values.
    pub values: Values,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns (features).
    pub columns: usize,
}

/// The values of a [`Matrix`].
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// `rows * columns` values, row after row; NaN marks a missing value.
    Dense(Vec<f32>),
    /// Compressed sparse rows: row `r` holds the columns `indices[indptr[r]..indptr[r + 1]]`
    /// (ascending) with the values at the same places. An absent entry is missing: the
    /// estimator learns where it goes, as it does for NaN in a dense matrix.
    Sparse(Csr),
}

/// Compressed sparse rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Csr {
    /// Where each row starts in `indices` and `values`, and one past the last row's end.
    pub indptr: Vec<u64>,
    /// The column of each entry.
    pub indices: Vec<u32>,
    /// The value of each entry.
    pub values: Vec<f32>,
}

impl Csr {
    /// No rows yet.
    pub fn new() -> Csr {
        Csr {
            indptr: vec![0],
            ..Csr::default()
        }
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        self.indptr.push(self.indices.len() as u64);
    }

    /// The entries of row `r`.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (u32, f32)> + '_ {
        let (start, end) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
        self.indices[start..end]
            .iter()
            .copied()
            .zip(self.values[start..end].iter().copied())
    }
}

impl Matrix {
    /// A dense matrix of `rows` rows of `columns` values each.
    pub fn dense(values: Vec<f32>, rows: usize, columns: usize) -> Matrix {
        Matrix {
            values: Values::Dense(values),
            rows,
            columns,
        }
    }

    /// The rows `rows` of this matrix, in that order (row numbers past its end are skipped).
    pub fn select_rows(&self, rows: &[IdxSize]) -> Matrix {
        let picked = rows.iter().map(|r| *r as usize).filter(|r| *r < self.rows);
        let count = picked.clone().count();
        let values = match &self.values {
            Values::Dense(values) => {
                let c = self.columns;
                let mut out = Vec::with_capacity(count * c);
                for r in picked {
                    out.extend_from_slice(&values[r * c..(r + 1) * c]);
                }
                Values::Dense(out)
            }
            Values::Sparse(csr) => {
                let mut out = Csr::new();
                for r in picked {
                    for (i, v) in csr.row(r) {
                        out.indices.push(i);
                        out.values.push(v);
                    }
                    out.end_row();
                }
                Values::Sparse(out)
            }
        };
        Matrix {
            values,
            rows: count,
            columns: self.columns,
        }
    }

    /// An empty matrix of `columns` columns.
    pub fn empty(columns: usize) -> Matrix {
        Matrix::dense(Vec::new(), 0, columns)
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
            .chain(Some(self.output.column()).filter(|c| !c.is_empty()))
            .chain(self.split.columns());
        for column in wanted {
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_string());
            }
        }
        columns
    }

    /// Checks that every column a transformer, encoder, the split or the output reads is in
    /// `present` (an extract's columns) or made by an earlier transformer, before any work.
    pub fn check_columns(&self, present: &[String]) -> Result<()> {
        let mut available: Vec<String> = present.to_vec();
        let missing =
            |column: &str, needed_by: String, available: &[String]| Error::MissingColumn {
                column: column.to_string(),
                needed_by,
                location: Some(format!("the extract {}", self.extract.sql)),
                present: available.to_vec(),
            };
        for (i, t) in self.transformers.iter().enumerate() {
            if let Some(column) = t
                .inputs()
                .into_iter()
                .find(|c| !available.iter().any(|a| a == c))
            {
                return Err(
                    missing(column, format!("transformer {}", t.output()), &available)
                        .in_spec(format!("pipeline.transformers.{i}")),
                );
            }
            available.push(t.output());
        }
        for (i, e) in self.encoders.iter().enumerate() {
            if let Some(column) = e
                .columns()
                .into_iter()
                .find(|c| !available.iter().any(|a| a == c))
            {
                return Err(
                    missing(column, format!("encoder {}", e.feature()), &available)
                        .in_spec(format!("pipeline.encoders.{i}")),
                );
            }
        }
        let output = Some((self.output.column(), "pipeline.output")).filter(|(c, _)| !c.is_empty());
        for (column, key) in output.into_iter().chain(
            self.split
                .columns()
                .into_iter()
                .map(|c| (c, "pipeline.split")),
        ) {
            if !available.iter().any(|a| a == column) {
                return Err(missing(column, key.replace("pipeline.", ""), &available).in_spec(key));
            }
        }
        Ok(())
    }

    /// Checks every parameter that does not depend on data (split shares, patterns, bins, the
    /// project's own transformers and encoders), so a bad one fails before the extract runs.
    pub fn validate(&self) -> Result<()> {
        self.split.shares()?;
        for (i, transformer) in self.transformers.iter().enumerate() {
            transformer
                .validate()
                .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))?;
        }
        for (i, encoder) in self.encoders.iter().enumerate() {
            encoder
                .start(&self.output)
                .map_err(|e| e.in_spec(format!("pipeline.encoders.{i}")))?;
        }
        Ok(())
    }

    /// The key its encoding of the rows cached under `extract_key` is cached under: the same
    /// rows through the same spec with the same code give the same encoding. `None` when the
    /// spec uses the project's own transformers or encoders, whose code may change under the
    /// same spec.
    pub fn encoding_key(&self, extract_key: &str) -> Option<String> {
        use sha2::{Digest, Sha256};
        let custom = self
            .transformers
            .iter()
            .any(|t| matches!(t, Transformer::Custom { .. }))
            || self
                .encoders
                .iter()
                .any(|e| matches!(e, Encoder::Custom(_)));
        if custom {
            return None;
        }
        let spec = serde_json::to_string(self).ok()?;
        let mut h = Sha256::new();
        for part in [
            "encoded",
            extract_key,
            &spec,
            &ENCODING_VERSION.to_string(),
            env!("CARGO_PKG_VERSION"),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The project's own transformers and encoders this spec names that this program has not
    /// registered: a program that lacks them hands the work to the project's binary.
    pub fn unregistered(&self) -> Vec<String> {
        unregistered(
            &self.transformers,
            self.encoders.iter().map(Encoder::unregistered),
        )
    }

    /// Adds every transformer's column to `df`, in order.
    pub fn transform(&self, df: &mut DataFrame) -> Result<()> {
        transformers::apply_all(&self.transformers, df)
    }

    /// Fits every encoder on the (already transformed) training rows.
    pub fn fit(&self, train: &DataFrame) -> Result<FittedPipeline> {
        let fitted = self.fit_encoders(train, None, self.output.fit(train)?)?;
        Ok(fitted.with_input_kinds(train))
    }

    /// Fits every encoder on the rows `rows` of the (already transformed) `df`, and the output
    /// on all of its rows (see [`OutputEncoder::fit`]).
    pub fn fit_rows(&self, df: &DataFrame, rows: &[IdxSize]) -> Result<FittedPipeline> {
        let output = self
            .output
            .fit(df)
            .map_err(|e| e.in_spec("pipeline.output"))?;
        self.fit_encoders(df, Some(rows), output)
    }

    fn fit_encoders(
        &self,
        df: &DataFrame,
        rows: Option<&[IdxSize]>,
        output: FittedOutput,
    ) -> Result<FittedPipeline> {
        let encoders = self
            .encoders
            .par_iter()
            .enumerate()
            .map(|(i, e)| {
                let started = std::time::Instant::now();
                let fitted = e
                    .fit_rows(df, rows, (&self.output, &output))
                    .map_err(|err| err.in_spec(format!("pipeline.encoders.{i}")));
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
            features: encoders.iter().flat_map(FittedEncoder::features).collect(),
            encoders,
            output,
            input_kinds: BTreeMap::new(),
        })
    }
}

/// A pipeline fitted on the training rows of a frame, and the frame's three splits encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSplits {
    /// The fitted transformers and encoders.
    pub pipeline: FittedPipeline,
    /// The features of train, validation and test.
    pub x: [Matrix; 3],
    /// The labels of train, validation and test.
    pub y: [Vec<f32>; 3],
}

impl PipelineSpec {
    /// Transforms `df`, splits its rows, fits the encoders on the training rows only and encodes
    /// the three splits; the time of the transformers and the encoder fit goes to
    /// `seconds.transform`, of the split to `seconds.split`, of the encoding to `seconds.encode`.
    pub fn fit_encode(&self, mut df: DataFrame, seconds: &mut Timings) -> Result<EncodedSplits> {
        let t = Instant::now();
        // The raw inputs as read, before the columns only transformers need are dropped.
        let first_rows = df.head(Some(KIND_ROWS));
        self.transform(&mut df)?;
        let transformers = t.elapsed().as_secs_f64();
        tracing::debug!(seconds = transformers, "transformers done");
        let t = Instant::now();
        let df = df.select(self.encoded_columns())?;
        let splits = self.split.rows(&df, &self.output)?;
        seconds.split = t.elapsed().as_secs_f64();
        tracing::debug!(seconds = seconds.split, "split done");
        let t = Instant::now();
        let pipeline = self
            .fit_rows(&df, &splits.train)?
            .with_input_kinds(&first_rows);
        seconds.transform = transformers + t.elapsed().as_secs_f64();

        let t = Instant::now();
        let (x, y) = pipeline.encode_splits(&df, &splits)?;
        seconds.encode = t.elapsed().as_secs_f64();
        Ok(EncodedSplits { pipeline, x, y })
    }
}

/// How many rows, from the first, the kinds of the raw input columns are found from.
pub const KIND_ROWS: usize = 1000;

/// The column of a cached encoding that says which split a row is in: 0 train, 1 validation,
/// 2 test.
const SPLIT_COLUMN: &str = "split";
/// The column of a cached encoding with each row's label.
const LABEL_COLUMN: &str = "label";
/// The column of a cached encoding whose first row holds the fitted pipeline, as JSON.
const PIPELINE_COLUMN: &str = "pipeline";

impl EncodedSplits {
    /// The splits as one frame to cache: a split number, the label and one column per feature
    /// a row, the fitted pipeline as JSON in the first row. `None` when a matrix is sparse,
    /// which is not cached.
    pub fn to_frame(&self) -> Result<Option<DataFrame>> {
        let mut dense = Vec::with_capacity(3);
        for x in &self.x {
            match &x.values {
                Values::Dense(values) => dense.push(values),
                Values::Sparse(_) => return Ok(None),
            }
        }
        let columns = self.x[0].columns;
        let rows: usize = self.x.iter().map(|x| x.rows).sum();
        let split: Vec<u32> = (0u32..3)
            .flat_map(|k| std::iter::repeat_n(k, self.x[k as usize].rows))
            .collect();
        let labels: Vec<f32> = self.y.iter().flatten().copied().collect();
        let json = serde_json::to_string(&self.pipeline)
            .map_err(|e| Error::Data(format!("the fitted pipeline does not serialise: {e}")))?;
        let mut frame = vec![
            Column::new(SPLIT_COLUMN.into(), split),
            Column::new(LABEL_COLUMN.into(), labels),
            Column::new(
                PIPELINE_COLUMN.into(),
                std::iter::once(Some(json))
                    .chain(std::iter::repeat_n(None, rows.saturating_sub(1)))
                    .collect::<Vec<_>>(),
            ),
        ];
        for j in 0..columns {
            let feature: Vec<f32> = dense
                .iter()
                .flat_map(|values| values.iter().skip(j).step_by(columns).copied())
                .collect();
            frame.push(Column::new(format!("f{j}").into(), feature));
        }
        Ok(Some(DataFrame::new(rows, frame)?))
    }

    /// The splits back from a frame [`EncodedSplits::to_frame`] made.
    pub fn from_frame(df: &DataFrame) -> Result<EncodedSplits> {
        EncodedSplits::read_frame(df).map_err(|e| {
            Error::Data(format!(
                "a cached encoding cannot be read ({e}); `lore cache clear` removes it"
            ))
        })
    }

    fn read_frame(df: &DataFrame) -> Result<EncodedSplits> {
        let bad = |what: &str| Error::Data(what.to_string());
        let json = df
            .column(PIPELINE_COLUMN)?
            .str()?
            .get(0)
            .ok_or_else(|| bad("no fitted pipeline"))?;
        let pipeline: FittedPipeline =
            serde_json::from_str(json).map_err(|e| bad(&format!("a bad pipeline: {e}")))?;
        let split = df.column(SPLIT_COLUMN)?.u32()?.rechunk();
        let split = split.downcast_as_array().values().as_slice();
        let labels = df.column(LABEL_COLUMN)?.f32()?.rechunk();
        let labels = labels.downcast_as_array().values().as_slice();
        let features = (0..df.width().saturating_sub(3))
            .map(|j| Ok(df.column(&format!("f{j}"))?.f32()?.rechunk().into_owned()))
            .collect::<Result<Vec<_>>>()?;
        let features: Vec<&[f32]> = features
            .iter()
            .map(|f| f.downcast_as_array().values().as_slice())
            .collect();
        let mut x: [Vec<f32>; 3] = Default::default();
        let mut y: [Vec<f32>; 3] = Default::default();
        for (r, k) in split.iter().enumerate() {
            let k = (*k as usize).min(2);
            y[k].push(labels[r]);
            x[k].extend(features.iter().map(|f| f[r]));
        }
        let columns = features.len();
        let [x0, x1, x2] = x;
        let matrix = |values: Vec<f32>| {
            let rows = values.len().checked_div(columns).unwrap_or(0);
            Matrix::dense(values, rows, columns)
        };
        Ok(EncodedSplits {
            pipeline,
            x: [matrix(x0), matrix(x1), matrix(x2)],
            y,
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
    /// The fitted output encoder.
    pub output: FittedOutput,
    /// What each raw input column held in the rows fitted on, which prediction requests are
    /// checked against (empty in fittings saved before kinds were kept: requests are then read
    /// by their own values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input_kinds: BTreeMap<String, Kind>,
}

fn first_version() -> u32 {
    1
}

impl FittedPipeline {
    /// The project's own transformers and encoders this fitting uses that this program has
    /// not registered.
    pub fn unregistered(&self) -> Vec<String> {
        unregistered(
            &self.transformers,
            self.encoders.iter().map(FittedEncoder::unregistered),
        )
    }

    /// The same pipeline knowing what each raw input column of `df` holds.
    pub fn with_input_kinds(mut self, df: &DataFrame) -> FittedPipeline {
        self.input_kinds = frame::kinds(df, &self.inputs());
        self
    }

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

    /// The cardinality of each feature's codes (in the order of `features`), or `None` for a
    /// feature of floats: the sizes of the embeddings a neural network learns.
    pub fn cardinalities(&self) -> Vec<Option<usize>> {
        self.encoders
            .iter()
            .flat_map(|e| std::iter::repeat_n(e.cardinality(), e.width()))
            .collect()
    }

    /// Encodes rows that already carry the transformers' columns.
    pub fn encode(&self, df: &DataFrame) -> Result<Matrix> {
        self.encode_as(df, None)
    }

    /// Encodes training rows as the estimator learns from them, `first` the position of `df`'s
    /// first row among all training rows: the same as [`FittedPipeline::encode`] except for
    /// encoders of labels, whose training codes leave out each row's own label.
    pub fn encode_training(&self, df: &DataFrame, first: u64) -> Result<Matrix> {
        self.encode_as(df, Some(first))
    }

    /// Whether an encoder codes training rows apart from other rows.
    fn codes_training_apart(&self) -> bool {
        self.encoders
            .iter()
            .any(|e| e.fitted().codes_training_apart())
    }

    /// Rows encoded, as training rows from position `training` when given.
    fn encode_as(&self, df: &DataFrame, training: Option<u64>) -> Result<Matrix> {
        let rows = df.height();
        if !self.encoders.iter().any(FittedEncoder::is_sparse) {
            return self.encode_dense(df, training);
        }
        // Sparse: each row's entries of every encoder side by side; a dense encoder's features
        // are stored wherever they are not missing, zeros included.
        let blocks = self
            .encoders
            .par_iter()
            .enumerate()
            .map(|(i, e)| {
                e.encode_sparse(df, training)
                    .map_err(|err| err.in_spec(format!("pipeline.encoders.{i}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut csr = Csr::new();
        for r in 0..rows {
            let mut offset = 0u32;
            for (block, encoder) in blocks.iter().zip(&self.encoders) {
                for (i, v) in block.row(r) {
                    csr.indices.push(offset + i);
                    csr.values.push(v);
                }
                offset += encoder.width() as u32;
            }
            csr.end_row();
        }
        Ok(Matrix {
            values: Values::Sparse(csr),
            rows,
            columns: self.encoders.iter().map(FittedEncoder::width).sum(),
        })
    }

    /// A dense matrix of `df`'s rows, encoded a chunk of rows at a time on every core: each
    /// chunk's features stay in cache while they are laid side by side.
    fn encode_dense(&self, df: &DataFrame, training: Option<u64>) -> Result<Matrix> {
        let (rows, columns) = (
            df.height(),
            self.encoders.iter().map(FittedEncoder::width).sum(),
        );
        if rows == 0 || columns == 0 {
            // Nothing to lay out, but a missing or mistyped column is still an error.
            self.encode_blocks(df, training)?;
            return Ok(Matrix::dense(Vec::new(), rows, columns));
        }
        let mut values = vec![0f32; rows * columns];
        values
            .par_chunks_mut(CHUNK * columns)
            .enumerate()
            .try_for_each(|(k, chunk)| {
                let part = df.slice((k * CHUNK) as i64, chunk.len() / columns);
                let first = training.map(|first| first + (k * CHUNK) as u64);
                crate::encoders::interleave(&self.encode_blocks(&part, first)?, chunk);
                Ok::<_, Error>(())
            })?;
        Ok(Matrix::dense(values, rows, columns))
    }

    /// The rows of each split of `df` encoded, with their labels. Dense features are encoded a
    /// chunk of rows at a time on every core and each row is written straight into its split's
    /// matrix, with no matrix of every row in between.
    fn encode_splits(
        &self,
        df: &DataFrame,
        splits: &Splits,
    ) -> Result<([Matrix; 3], [Vec<f32>; 3])> {
        let parts = [&splits.train, &splits.validation, &splits.test];
        let (x, labels) = rayon::join(|| self.encode_parts(df, parts), || self.output.labels(df));
        let labels = labels?;
        let y = parts.map(|rows| {
            rows.iter()
                .filter_map(|r| labels.get(*r as usize).copied())
                .collect()
        });
        Ok((x?, y))
    }

    /// The matrices of `parts`, each a list of rows of `df`.
    fn encode_parts(&self, df: &DataFrame, parts: [&Vec<IdxSize>; 3]) -> Result<[Matrix; 3]> {
        let (rows, columns) = (
            df.height(),
            self.encoders.iter().map(FittedEncoder::width).sum(),
        );
        let in_order = parts.iter().all(|p| {
            p.windows(2).all(|w| w[0] < w[1]) && p.last().is_none_or(|r| (*r as usize) < rows)
        });
        if self.codes_training_apart() {
            let all = self.encode(df)?;
            let train = df.take(&IdxCa::from_vec("row".into(), parts[0].clone()))?;
            return Ok([
                self.encode_training(&train, 0)?,
                all.select_rows(parts[1]),
                all.select_rows(parts[2]),
            ]);
        }
        if !in_order
            || rows == 0
            || columns == 0
            || self.encoders.iter().any(FittedEncoder::is_sparse)
        {
            let all = self.encode(df)?;
            return Ok(parts.map(|p| all.select_rows(p)));
        }
        // Which part each row goes to, and how many rows of each part every chunk holds: each
        // chunk then owns a run of rows of every part's matrix.
        const NONE: u8 = u8::MAX;
        let mut which = vec![NONE; rows];
        for (k, part) in parts.iter().enumerate() {
            for r in part.iter() {
                which[*r as usize] = k as u8;
            }
        }
        let mut values = parts.map(|p| vec![0f32; p.len() * columns]);
        let mut runs: Vec<[&mut [f32]; 3]> = Vec::with_capacity(rows.div_ceil(CHUNK));
        {
            let mut rest: [&mut [f32]; 3] = {
                let [a, b, c] = &mut values;
                [a.as_mut_slice(), b.as_mut_slice(), c.as_mut_slice()]
            };
            for chunk in which.chunks(CHUNK) {
                let mut run: [&mut [f32]; 3] = [&mut [], &mut [], &mut []];
                for (k, slot) in run.iter_mut().enumerate() {
                    let n = chunk.iter().filter(|w| usize::from(**w) == k).count();
                    let (head, tail) = std::mem::take(&mut rest[k]).split_at_mut(n * columns);
                    *slot = head;
                    rest[k] = tail;
                }
                runs.push(run);
            }
        }
        runs.into_par_iter()
            .enumerate()
            .try_for_each(|(c, mut run)| {
                let start = c * CHUNK;
                let part = df.slice(start as i64, CHUNK.min(rows - start));
                let mut encoded = vec![0f32; part.height() * columns];
                crate::encoders::interleave(&self.encode_blocks(&part, None)?, &mut encoded);
                let mut at = [0usize; 3];
                for (row, k) in encoded.chunks_exact(columns).zip(&which[start..]) {
                    if let Some(to) = run.get_mut(usize::from(*k)) {
                        let i = at[usize::from(*k)];
                        to[i * columns..(i + 1) * columns].copy_from_slice(row);
                        at[usize::from(*k)] += 1;
                    }
                }
                Ok::<_, Error>(())
            })?;
        Ok(values.map(|v| {
            let n = v.len() / columns;
            Matrix::dense(v, n, columns)
        }))
    }

    /// Every encoder's features of `df` (as training rows from position `training` when
    /// given), with its width.
    fn encode_blocks(
        &self,
        df: &DataFrame,
        training: Option<u64>,
    ) -> Result<Vec<(Vec<f32>, usize)>> {
        self.encoders
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let encoded = match training {
                    Some(first) => e.encode_training(df, first),
                    None => e.encode(df),
                }
                .map_err(|err| err.in_spec(format!("pipeline.encoders.{i}")))?;
                Ok((encoded, e.width()))
            })
            .collect()
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

    fn rows(n: usize) -> DataFrame {
        let ids: Vec<i64> = (0..n as i64).map(|i| i / 4).collect();
        let labels: Vec<i64> = (0..n as i64).map(|i| i64::from(i % 10 < 2)).collect();
        let days: Vec<String> = (0..n)
            .map(|i| format!("2018-01-01 00:00:{:02}", (n - 1 - i) % 60))
            .collect();
        df!("user" => ids, "y" => labels, "at" => days, "n" => (0..n as i64).rev().collect::<Vec<_>>())
            .unwrap()
    }

    fn y() -> OutputEncoder {
        OutputEncoder::Boolean { column: "y".into() }
    }

    fn every_row_once(s: &Splits, n: usize) {
        let mut all: Vec<IdxSize> = s
            .train
            .iter()
            .chain(&s.validation)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..n as IdxSize).collect::<Vec<_>>());
    }

    #[test]
    fn holdout_is_seeded_disjoint_and_complete() {
        let split = Split::holdout(0.1, 0.2, 7);
        let df = rows(1000);
        let a = split.rows(&df, &y()).unwrap();
        assert_eq!(a, split.rows(&df, &y()).unwrap());
        assert_eq!(
            (a.train.len(), a.validation.len(), a.test.len()),
            (700, 100, 200)
        );
        every_row_once(&a, 1000);
        let other = Split::holdout(0.1, 0.2, 8).rows(&df, &y()).unwrap();
        assert_ne!(a.test, other.test);
    }

    #[test]
    fn a_stratify_column_keeps_each_value_on_one_side() {
        let split = Split::Holdout {
            validation: 0.1,
            test: 0.2,
            seed: 3,
            stratify: Some("user".into()),
            stratify_labels: false,
            subsample: None,
        };
        let df = rows(1000);
        let s = split.rows(&df, &y()).unwrap();
        every_row_once(&s, 1000);
        let users = |rows: &[IdxSize]| -> std::collections::BTreeSet<IdxSize> {
            rows.iter().map(|r| r / 4).collect()
        };
        assert!(users(&s.train).is_disjoint(&users(&s.test)));
        assert!(users(&s.train).is_disjoint(&users(&s.validation)));
        assert_eq!(s.test.len(), 200);
        let streamed = split.assign_batch(&df, 0).unwrap();
        for (r, k) in streamed.iter().enumerate() {
            assert_eq!(*k, streamed[r - r % 4], "row {r} left its user's split");
        }
    }

    #[test]
    fn label_stratification_keeps_the_class_balance_in_every_split() {
        let mut split = Split::holdout(0.1, 0.2, 5);
        if let Split::Holdout {
            stratify_labels, ..
        } = &mut split
        {
            *stratify_labels = true;
        }
        let df = rows(1000);
        let s = split.rows(&df, &y()).unwrap();
        every_row_once(&s, 1000);
        let positives = |rows: &[IdxSize]| rows.iter().filter(|r| *r % 10 < 2).count();
        assert_eq!((positives(&s.test), s.test.len()), (40, 200));
        assert_eq!((positives(&s.validation), s.validation.len()), (20, 100));
    }

    #[test]
    fn subsample_keeps_that_many_rows_and_needs_the_whole_extract() {
        let mut split = Split::holdout(0.1, 0.1, 5);
        if let Split::Holdout { subsample, .. } = &mut split {
            *subsample = Some(100);
        }
        let s = split.rows(&rows(1000), &y()).unwrap();
        assert_eq!(s.train.len() + s.validation.len() + s.test.len(), 100);
        let e = split.assign_batch(&rows(10), 0).unwrap_err().to_string();
        assert!(e.contains("split.subsample") && e.contains("LIMIT"), "{e}");
    }

    #[test]
    fn streamed_rows_are_assigned_by_seed_in_their_shares() {
        let split = Split::holdout(0.1, 0.2, 7);
        let df = df!("x" => vec![0i64; 100_000]).unwrap();
        let assigned = split.assign_batch(&df, 0).unwrap();
        assert_eq!(assigned, split.assign_batch(&df, 0).unwrap());
        let counts = assigned.iter().fold([0usize; 3], |mut c, k| {
            c[*k as usize] += 1;
            c
        });
        assert!((69_000..71_000).contains(&counts[0]), "{counts:?}");
        assert!((9_500..10_500).contains(&counts[1]), "{counts:?}");
        assert!((19_500..20_500).contains(&counts[2]), "{counts:?}");
        let later = split.assign_batch(&df.slice(0, 10), 50_000).unwrap();
        assert_eq!(later, assigned[50_000..50_010].to_vec());
    }

    #[test]
    fn time_series_tests_on_the_newest_rows() {
        let split = Split::TimeSeries {
            column: "n".into(),
            validation: 0.1,
            test: 0.2,
        };
        let s = split.rows(&rows(100), &y()).unwrap();
        every_row_once(&s, 100);
        // Column n counts down, so the newest rows are the first ones.
        assert!(s.test.iter().all(|r| *r < 20), "{:?}", s.test);
        assert!(s.validation.iter().all(|r| (20..30).contains(r)));
        let by_time = Split::TimeSeries {
            column: "at".into(),
            validation: 0.0,
            test: 0.5,
        }
        .rows(&rows(60), &y())
        .unwrap();
        assert!(by_time.test.iter().all(|r| *r < 30), "{:?}", by_time.test);
        let e = split.assign_batch(&rows(10), 0).unwrap_err().to_string();
        assert!(e.contains("TimeSeries") && e.contains("batch_rows"), "{e}");
    }

    #[test]
    fn bad_shares_are_refused() {
        let e = Split::holdout(0.6, 0.5, 1)
            .rows(&rows(10), &y())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no rows to train"), "{e}");
        let e = Split::holdout(0.1, 1.5, 1)
            .assign_batch(&rows(10), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("split.test") && e.contains("1.5"), "{e}");
    }

    #[test]
    fn inputs_exclude_derived_columns_and_prepare_names_missing_ones() {
        let spec = PipelineSpec {
            extract: ExtractSpec::new("t"),
            transformers: vec![Transformer::LogPlusOne {
                column: "orders".into(),
            }],
            split: Split::holdout(0.0, 0.0, 1),
            encoders: vec![
                Encoder::Norm(crate::encoders::numeric::Norm {
                    column: "LogPlusOne(orders)".into(),
                }),
                Encoder::unique("city", 1),
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

    #[test]
    fn encoders_learn_only_from_the_training_split() {
        let spec = PipelineSpec {
            extract: ExtractSpec::new("t"),
            transformers: vec![],
            split: Split::holdout(0.2, 0.2, 7),
            encoders: vec![
                Encoder::unique("city", 1),
                Encoder::Uniform(crate::encoders::numeric::Uniform { column: "n".into() }),
            ],
            output: OutputEncoder::Boolean { column: "y".into() },
        };
        // Every even row shares a city; every odd row has a city of its own.
        let cities: Vec<String> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    "Oslo".into()
                } else {
                    format!("city-{i}")
                }
            })
            .collect();
        let df = df!("city" => cities.clone(), "n" => (0..200i64).collect::<Vec<_>>(), "y" => [0i64, 1].repeat(100))
            .unwrap();
        let splits = spec.split.rows(&df, &spec.output).unwrap();
        let train = df
            .take(&IdxCa::from_vec("".into(), splits.train.clone()))
            .unwrap();
        let test = df
            .take(&IdxCa::from_vec("".into(), splits.test.clone()))
            .unwrap();
        let fitted = spec.fit(&train).unwrap();
        let Values::Dense(encoded) = fitted.encode(&test).unwrap().values else {
            panic!("no encoder here is sparse")
        };
        let seen: Vec<&String> = splits.train.iter().map(|r| &cities[*r as usize]).collect();
        let mut unseen = 0;
        for (i, row) in splits.test.iter().enumerate() {
            let city = &cities[*row as usize];
            let decoded = fitted.encoders[0].decode(encoded[i * 2]);
            if seen.contains(&city) {
                assert_eq!(decoded.as_ref(), Some(city));
            } else {
                assert_eq!(decoded.as_deref(), Some("(unseen)"), "{city}");
                unseen += 1;
            }
        }
        assert!(unseen > 0);
        // The range of `n` is the training rows' range: the largest test value may lie beyond it.
        let FittedEncoder::Uniform(crate::encoders::numeric::FittedUniform { min, max, .. }) =
            &fitted.encoders[1]
        else {
            panic!("{:?}", fitted.encoders[1])
        };
        let train_n: Vec<f64> = splits.train.iter().map(|r| f64::from(*r)).collect();
        assert_eq!(*min, train_n.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(
            *max,
            train_n.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
        assert_eq!(
            fitted.cardinalities(),
            vec![Some(fitted.encoders[0].cardinality().unwrap_or(0)), None]
        );
    }

    #[test]
    fn a_sparse_encoder_makes_the_whole_matrix_sparse_keeping_dense_zeros() {
        let spec = PipelineSpec {
            extract: ExtractSpec::new("t"),
            transformers: vec![],
            split: Split::holdout(0.0, 0.0, 1),
            encoders: vec![
                Encoder::Pass(crate::encoders::numeric::Pass { column: "n".into() }),
                Encoder::Text(crate::encoders::text::Text {
                    column: "t".into(),
                    vectorizer: crate::encoders::Vectorizer::Tfidf,
                    max_features: 10,
                    minimum_occurrences: 1,
                    ngrams: 1,
                }),
            ],
            output: OutputEncoder::Boolean { column: "y".into() },
        };
        let df = df!("n" => [Some(0.0), None], "t" => ["hi", "yo"], "y" => [0, 1]).unwrap();
        let fitted = spec.fit(&df).unwrap();
        let m = fitted.encode(&df).unwrap();
        assert_eq!((m.rows, m.columns), (2, 3));
        let Values::Sparse(csr) = m.values else {
            panic!("{m:?}")
        };
        // Row 0: n = 0 kept (a real zero), "hi" at 1 + its index; row 1: n missing, "yo".
        assert_eq!(csr.indptr, vec![0, 2, 3]);
        assert_eq!(csr.values[0], 0.0);
        assert_eq!(csr.indices[0], 0);
        assert!(csr.indices[1] >= 1 && csr.indices[2] >= 1 && csr.indices[1] != csr.indices[2]);
    }

    /// Whether two matrices hold the same values, bit for bit (NaN included).
    fn same(a: &Matrix, b: &Matrix) -> bool {
        let bits = |m: &Matrix| match &m.values {
            Values::Dense(v) => v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            Values::Sparse(c) => c.values.iter().map(|x| x.to_bits()).collect(),
        };
        (a.rows, a.columns, bits(a)) == (b.rows, b.columns, bits(b))
    }

    /// A frame with numbers (with nulls), text categories, sentences and labels, and a spec
    /// with one encoder of each way of learning.
    fn mixed(n: usize) -> (PipelineSpec, DataFrame) {
        let spec = PipelineSpec {
            extract: ExtractSpec::new("t"),
            transformers: vec![Transformer::LogPlusOne { column: "n".into() }],
            split: Split::holdout(0.2, 0.1, 3),
            encoders: vec![
                Encoder::unique("city", 2),
                Encoder::norm("LogPlusOne(n)"),
                Encoder::discrete("n", 4),
                Encoder::quantile("x", 3),
                Encoder::Pass(crate::encoders::numeric::Pass { column: "x".into() }),
                Encoder::token("words", 2),
            ],
            output: OutputEncoder::Boolean { column: "y".into() },
        };
        let df = df!(
            "city" => (0..n).map(|i| (i % 7 != 0).then(|| format!("c{}", i % 5))).collect::<Vec<_>>(),
            "n" => (0..n as i64).map(|i| (i % 11 != 0).then_some(i)).collect::<Vec<_>>(),
            "x" => (0..n).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(),
            "words" => (0..n).map(|i| format!("w{} and w{}", i % 3, i % 4)).collect::<Vec<_>>(),
            "y" => (0..n as i64).map(|i| i % 3 % 2).collect::<Vec<_>>()
        )
        .unwrap();
        (spec, df)
    }

    #[test]
    fn fitting_in_place_gives_what_fitting_on_copied_training_rows_gives() {
        let (spec, df) = mixed(500);
        let encoded = spec
            .fit_encode(df.clone(), &mut Timings::default())
            .unwrap();
        let mut transformed = df;
        spec.transform(&mut transformed).unwrap();
        let splits = spec.split.rows(&transformed, &spec.output).unwrap();
        let part = |rows: &[IdxSize]| {
            transformed
                .take(&IdxCa::from_vec("".into(), rows.to_vec()))
                .unwrap()
        };
        let copied = spec.fit(&part(&splits.train)).unwrap();
        assert_eq!(encoded.pipeline, copied);
        for (k, rows) in [&splits.train, &splits.validation, &splits.test]
            .into_iter()
            .enumerate()
        {
            assert!(
                same(&encoded.x[k], &copied.encode(&part(rows)).unwrap()),
                "split {k}"
            );
            assert_eq!(encoded.y[k], copied.output.labels(&part(rows)).unwrap());
        }
        assert_eq!(encoded.x[0].rows, splits.train.len());
    }

    #[test]
    fn encoded_splits_survive_the_cache_frame_and_sparse_ones_are_not_cached() {
        let (spec, df) = mixed(300);
        let encoded = spec.fit_encode(df, &mut Timings::default()).unwrap();
        let frame = encoded.to_frame().unwrap().unwrap();
        assert_eq!(frame.height(), 300);
        let back = EncodedSplits::from_frame(&frame).unwrap();
        assert_eq!((&back.pipeline, &back.y), (&encoded.pipeline, &encoded.y));
        for k in 0..3 {
            assert!(same(&back.x[k], &encoded.x[k]), "split {k}");
        }
        let sparse = EncodedSplits {
            x: [
                Matrix {
                    values: Values::Sparse(Csr::new()),
                    rows: 0,
                    columns: 1,
                },
                Matrix::empty(1),
                Matrix::empty(1),
            ],
            ..encoded
        };
        assert_eq!(sparse.to_frame().unwrap(), None);
        let broken = frame.drop(PIPELINE_COLUMN).unwrap();
        let e = EncodedSplits::from_frame(&broken).unwrap_err().to_string();
        assert!(e.contains("lore cache clear"), "{e}");
    }

    #[test]
    fn the_encoding_key_follows_the_rows_and_the_spec_and_skips_custom_code() {
        let (spec, _) = mixed(10);
        let key = spec.encoding_key("rows-a").unwrap();
        assert_eq!(spec.encoding_key("rows-a").unwrap(), key);
        assert_ne!(spec.encoding_key("rows-b").unwrap(), key);
        let mut other = spec.clone();
        other.split = Split::holdout(0.2, 0.1, 4);
        assert_ne!(other.encoding_key("rows-a").unwrap(), key);
        other.transformers.push(Transformer::custom("Mine", &["n"]));
        assert_eq!(other.encoding_key("rows-a"), None);
    }

    #[test]
    fn select_rows_picks_dense_and_sparse_rows_in_order() {
        let dense = Matrix::dense(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 3, 2);
        assert_eq!(
            dense.select_rows(&[2, 0]),
            Matrix::dense(vec![4.0, 5.0, 0.0, 1.0], 2, 2)
        );
        let mut csr = Csr::new();
        csr.indices.push(1);
        csr.values.push(7.0);
        csr.end_row();
        csr.end_row();
        let sparse = Matrix {
            values: Values::Sparse(csr),
            rows: 2,
            columns: 2,
        };
        let picked = sparse.select_rows(&[1, 0, 5]);
        assert_eq!(picked.rows, 2, "a row past the end is skipped");
        let Values::Sparse(csr) = picked.values else {
            panic!("{picked:?}")
        };
        assert_eq!((csr.indptr, csr.indices), (vec![0, 0, 1], vec![1]));
    }
}
