//! `lore fit --export DIR`: the encoded train, validation and test splits as Parquet files, one
//! column per feature, with each row's label and the fitted model's predictions, so the same
//! matrices can be studied or fitted elsewhere (Python's xgboost, scikit-learn, a notebook).

use std::path::Path;

use polars::prelude::*;

use crate::encoders::Task;
use crate::error::{Error, Result};
use crate::estimators::{LabelledBatches, Scored};
use crate::pipelines::{FittedPipeline, Values};

/// The names of the exported files, by split.
pub const FILES: [&str; 3] = ["train.parquet", "validation.parquet", "test.parquet"];

/// Writes each split into `dir` (created if needed). A feature value that is missing, or absent
/// from a sparse row, is NaN: missing, as XGBoost saw it.
pub fn write(
    dir: &Path,
    pipeline: &FittedPipeline,
    splits: [&mut dyn LabelledBatches; 3],
    scored: &[Scored; 3],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let task = pipeline.output.task();
    let prediction_names: Vec<String> = match task {
        Task::MultiClass { .. } => pipeline
            .output
            .class_names()
            .iter()
            .map(|c| format!("prediction_{c}"))
            .collect(),
        Task::Binary | Task::Regression => vec!["prediction".into()],
        Task::Clustering => ["cluster", "distance", "silhouette"]
            .map(String::from)
            .to_vec(),
    };
    for ((split, scored), file) in splits.into_iter().zip(scored).zip(FILES) {
        let width = pipeline.features.len();
        let mut features = vec![Vec::<f32>::with_capacity(scored.labels.len()); width];
        let mut labels = Vec::with_capacity(scored.labels.len());
        split.reset()?;
        while let Some((x, y)) = split.next_batch()? {
            match &x.values {
                Values::Dense(values) => {
                    for row in values.chunks(x.columns.max(1)).take(x.rows) {
                        for (column, v) in features.iter_mut().zip(row) {
                            column.push(*v);
                        }
                    }
                }
                Values::Sparse(csr) => {
                    for r in 0..x.rows {
                        let start = features.first().map_or(0, Vec::len);
                        for column in features.iter_mut() {
                            column.push(f32::NAN);
                        }
                        let (from, to) = (csr.indptr[r] as usize, csr.indptr[r + 1] as usize);
                        for (c, v) in csr.indices[from..to].iter().zip(&csr.values[from..to]) {
                            if let Some(slot) =
                                features.get_mut(*c as usize).and_then(|f| f.get_mut(start))
                            {
                                *slot = *v;
                            }
                        }
                    }
                }
            }
            labels.extend_from_slice(y);
        }
        let rows = labels.len();
        let mut columns: Vec<Column> = pipeline
            .features
            .iter()
            .zip(features)
            .map(|(name, values)| Column::new(name.as_str().into(), values))
            .collect();
        columns.push(Column::new("label".into(), labels));
        let k = prediction_names.len();
        if scored.predictions.len() == rows * k {
            for (i, name) in prediction_names.iter().enumerate() {
                let p: Vec<f32> = (0..rows).map(|r| scored.predictions[r * k + i]).collect();
                columns.push(Column::new(name.as_str().into(), p));
            }
        }
        let path = dir.join(file);
        let mut df = DataFrame::new(rows, columns)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        let out = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        ParquetWriter::new(out)
            .finish(&mut df)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
