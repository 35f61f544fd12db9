//! The cache of a fit's encoded splits: one frame holding every split's features, each row's
//! split and label, and the fitted pipeline, so a refit of the same rows skips the encoding.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::matrix::{Matrix, Values};
use crate::pipelines::{EncodedSplits, FittedPipeline};

/// The column of a cached encoding that says which split a row is in: 0 train, 1 validation,
/// 2 test.
const SPLIT_COLUMN: &str = "split";
/// The column of a cached encoding with each row's label.
const LABEL_COLUMN: &str = "label";
/// The column of a cached encoding whose first row holds the fitted pipeline, as JSON.
pub(crate) const PIPELINE_COLUMN: &str = "pipeline";

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
