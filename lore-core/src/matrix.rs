//! The features estimators learn from: a dense or sparse matrix of `f32`, shared by the
//! encoders that make it and every module after them.

use polars::prelude::IdxSize;

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
