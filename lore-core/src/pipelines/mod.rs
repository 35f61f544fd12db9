//! Pipelines: from an extract's rows to encoded matrices. Transformers add columns, the rows are
//! split into train / validation / test, encoders are fit on the training rows only, and every
//! split is encoded with those fitted encoders.

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

use crate::encoders::{Encoder, FittedEncoder, FittedOutput, OutputEncoder};
use crate::error::{Error, Result};
use crate::io::ExtractSpec;
use crate::metrics::Timings;
use crate::transformers::{self, Transformer};

mod cache;
mod fitted;
mod split;

pub use crate::matrix::{Csr, Matrix, Values};
pub use fitted::{FittedPipeline, ENCODING_VERSION};
pub use split::{Split, Splits};

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

/// The names of the custom transformers, then encoders, this program has not registered.
pub(crate) fn unregistered<'a>(
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
        let first_missing = |columns: Vec<&str>, available: &[String]| {
            columns
                .into_iter()
                .find(|c| !available.iter().any(|a| a == c))
                .map(str::to_string)
        };
        for (i, t) in self.transformers.iter().enumerate() {
            if let Some(column) = first_missing(t.inputs(), &available) {
                return Err(
                    missing(&column, format!("transformer {}", t.output()), &available)
                        .in_spec(format!("pipeline.transformers.{i}")),
                );
            }
            available.push(t.output());
        }
        for (i, e) in self.encoders.iter().enumerate() {
            if let Some(column) = first_missing(e.columns(), &available) {
                return Err(
                    missing(&column, format!("encoder {}", e.feature()), &available)
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

impl PipelineSpec {
    /// The rows of `df` (raw, as the extract gives them) that [`PipelineSpec::fit_encode`] holds
    /// out as test rows, as they are: what two fittings of this pipeline are compared on.
    pub fn test_rows(&self, df: &DataFrame) -> Result<DataFrame> {
        let mut transformed = df.clone();
        self.transform(&mut transformed)?;
        let transformed = transformed.select(self.encoded_columns())?;
        let splits = self.split.rows(&transformed, &self.output)?;
        let test = IdxCa::from_vec("test".into(), splits.test);
        Ok(df.take(&test)?)
    }
}

/// How many rows, from the first, the kinds of the raw input columns are found from.
pub const KIND_ROWS: usize = 1000;

#[cfg(test)]
mod tests;
