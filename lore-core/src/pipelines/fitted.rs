//! A fitted pipeline: the transformers and fitted encoders that turn new rows into features,
//! saved in every fitting as `pipeline.json`, and the fast paths that encode many rows at once.

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::encoders::{FittedEncoder, FittedOutput};
use crate::error::{Error, Result};
use crate::frame::{self, Kind};
use crate::matrix::{Csr, Matrix, Values};
use crate::pipelines::split::Splits;
use crate::pipelines::unregistered;
use crate::transformers::{self, Transformer};

/// Rows encoded at a time by one core: their features stay in cache while they are laid side by
/// side.
const CHUNK: usize = 64 * 1024;

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
    pub(crate) fn encode_splits(
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
            // Training rows are coded apart; each part is encoded once, from its own rows.
            let take = |p: &Vec<IdxSize>| df.take(&IdxCa::from_vec("row".into(), p.clone()));
            return Ok([
                self.encode_training(&take(parts[0])?, 0)?,
                self.encode(&take(parts[1])?)?,
                self.encode(&take(parts[2])?)?,
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
