//! The encoded rows as one dense matrix: `f64` for linfa's estimators, `f32` for the neural
//! network. Neither takes missing values, so a missing (NaN) feature is 0: the mean of a `Norm`
//! feature, the bottom of a `Uniform` one, "absent" for a count; the same at prediction time.

use ndarray::Array2;

use super::LabelledBatches;
use crate::error::{Error, Result};
use crate::pipelines::{Matrix, Values};

/// Every batch of `source` in one matrix, with the labels.
pub fn read<T: From<f32> + Default + Clone>(
    source: &mut dyn LabelledBatches,
) -> Result<(Array2<T>, Vec<f32>)> {
    let mut values = Vec::new();
    let mut labels = Vec::with_capacity(source.rows());
    let mut columns = None;
    source.reset()?;
    while let Some((x, y)) = source.next_batch()? {
        match columns {
            Some(c) if c != x.columns => {
                return Err(Error::Estimator(format!(
                    "a batch has {} feature columns where the first had {c}",
                    x.columns
                )))
            }
            _ => columns = Some(x.columns),
        }
        extend(&mut values, x);
        labels.extend_from_slice(y);
    }
    let columns = columns.unwrap_or(0);
    let x = Array2::from_shape_vec((labels.len(), columns), values)
        .map_err(|e| Error::Estimator(format!("the encoded rows do not form a matrix: {e}")))?;
    Ok((x, labels))
}

/// The rows of `x` as a dense matrix.
pub fn of<T: From<f32> + Default + Clone>(x: &Matrix) -> Result<Array2<T>> {
    let mut values = Vec::with_capacity(x.rows * x.columns);
    extend(&mut values, x);
    Array2::from_shape_vec((x.rows, x.columns), values)
        .map_err(|e| Error::Estimator(format!("the encoded rows do not form a matrix: {e}")))
}

fn extend<T: From<f32> + Default + Clone>(values: &mut Vec<T>, x: &Matrix) {
    let finite = |v: f32| {
        if v.is_finite() {
            T::from(v)
        } else {
            T::default()
        }
    };
    match &x.values {
        Values::Dense(dense) => values.extend(dense.iter().map(|v| finite(*v))),
        Values::Sparse(csr) => {
            for r in 0..x.rows {
                let start = values.len();
                values.resize(start + x.columns, T::default());
                let (from, to) = (csr.indptr[r] as usize, csr.indptr[r + 1] as usize);
                for (c, v) in csr.indices[from..to].iter().zip(&csr.values[from..to]) {
                    if let Some(slot) = values.get_mut(start + *c as usize) {
                        *slot = finite(*v);
                    }
                }
            }
        }
    }
}

/// The mean and standard deviation of `values` (1 where they are all the same).
pub fn moments(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let sd = (values.map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, if sd > 0.0 { sd } else { 1.0 })
}

/// Each column's mean and standard deviation over the rows of `x`.
pub fn scaling(x: &Array2<f64>) -> Vec<(f64, f64)> {
    x.columns()
        .into_iter()
        .map(|c| moments(c.iter().copied()))
        .collect()
}

/// `x` with each column standardised by its `scaling`.
pub fn standardised(x: &Array2<f64>, scaling: &[(f64, f64)]) -> Array2<f64> {
    let mut x = x.clone();
    for (mut column, (mean, scale)) in x.columns_mut().into_iter().zip(scaling) {
        column.mapv_inplace(|v| (v - mean) / scale);
    }
    x
}
