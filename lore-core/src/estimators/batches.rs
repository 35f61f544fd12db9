//! Labelled rows read one batch at a time, as many times as an estimator needs: how every
//! estimator reads its training and validation splits, whether they are in memory or spilled.

use std::borrow::Borrow;
use std::path::Path;

use polars::prelude::IdxSize;

use crate::error::{Error, Result};
use crate::pipelines::Matrix;

/// Labelled rows that XGBoost reads one batch at a time, as many times as it needs.
pub trait LabelledBatches {
    /// The rows of all batches together.
    fn rows(&self) -> usize;
    /// Starts again from the first batch.
    fn reset(&mut self) -> Result<()>;
    /// The next batch's features and labels, or `None` after the last; a batch stays valid until
    /// the next call.
    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>>;
    /// Where an estimator may keep its own copy of these rows on disk instead of in memory
    /// (a path prefix in a folder that exists); `None` keeps them in memory.
    fn page_to(&self) -> Option<&Path> {
        None
    }
    /// Another reader of the same rows from the first batch, independent of this one, so that
    /// several estimators can be fitted at once; `None` where the rows cannot be shared.
    fn cursor(&self) -> Option<Box<dyn LabelledBatches + Send + '_>> {
        None
    }
}

/// Rows already in memory, given as one batch.
pub type InMemory = OneBatch<Matrix, Vec<f32>>;

/// Rows given as one batch, owned (`InMemory`) or borrowed (a cursor of another's rows).
pub struct OneBatch<X, Y> {
    /// The features.
    pub x: X,
    /// One label per row.
    pub y: Y,
    given: bool,
}

impl<X, Y> OneBatch<X, Y> {
    /// One batch of `x` labelled `y`.
    pub fn new(x: X, y: Y) -> OneBatch<X, Y> {
        OneBatch { x, y, given: false }
    }
}

impl<X, Y> LabelledBatches for OneBatch<X, Y>
where
    X: Borrow<Matrix> + Sync,
    Y: Borrow<[f32]> + Sync,
{
    fn rows(&self) -> usize {
        self.x.borrow().rows
    }

    fn reset(&mut self) -> Result<()> {
        self.given = false;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
        if std::mem::replace(&mut self.given, true) {
            return Ok(None);
        }
        Ok(Some((self.x.borrow(), self.y.borrow())))
    }

    fn cursor(&self) -> Option<Box<dyn LabelledBatches + Send + '_>> {
        Some(Box::new(OneBatch::new(self.x.borrow(), self.y.borrow())))
    }
}

/// Other batches, passed on as they are, keeping every `every`-th row of the first pass over them
/// (counted across batches) as a sample: XGBoost reads training rows several times to quantise
/// them, and the sample costs no pass of its own.
pub struct Sampling<'a> {
    source: &'a mut dyn LabelledBatches,
    every: usize,
    /// Rows of the first pass so far.
    seen: usize,
    first_pass_done: bool,
    sample: Vec<(Matrix, Vec<f32>)>,
}

impl<'a> Sampling<'a> {
    /// `source`, sampling every `every`-th row (every row when `every` is 0 or 1).
    pub fn new(source: &'a mut dyn LabelledBatches, every: usize) -> Sampling<'a> {
        Sampling {
            source,
            every: every.max(1),
            seen: 0,
            first_pass_done: false,
            sample: Vec::new(),
        }
    }

    /// The rows kept, once a whole pass has been read.
    pub fn into_sample(self) -> Batches {
        Batches {
            batches: self.sample,
            at: 0,
        }
    }
}

impl LabelledBatches for Sampling<'_> {
    fn rows(&self) -> usize {
        self.source.rows()
    }

    fn reset(&mut self) -> Result<()> {
        self.first_pass_done |= self.seen > 0;
        self.source.reset()
    }

    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
        let batch = self.source.next_batch()?;
        match batch {
            Some((x, y)) if !self.first_pass_done => {
                if y.len() != x.rows {
                    return Err(Error::Estimator(format!(
                        "a batch of {} rows came with {} labels",
                        x.rows,
                        y.len()
                    )));
                }
                let first = (self.every - self.seen % self.every) % self.every;
                let picked: Vec<usize> = (first..x.rows).step_by(self.every).collect();
                let at: Vec<IdxSize> = picked
                    .iter()
                    .filter_map(|&r| IdxSize::try_from(r).ok())
                    .collect();
                self.sample
                    .push((x.select_rows(&at), picked.iter().map(|&r| y[r]).collect()));
                self.seen += x.rows;
            }
            None => self.first_pass_done |= self.seen > 0,
            Some(_) => {}
        }
        Ok(batch)
    }

    fn page_to(&self) -> Option<&Path> {
        self.source.page_to()
    }
}

/// Labelled rows held in memory as several batches.
pub struct Batches {
    batches: Vec<(Matrix, Vec<f32>)>,
    at: usize,
}

impl LabelledBatches for Batches {
    fn rows(&self) -> usize {
        self.batches.iter().map(|(x, _)| x.rows).sum()
    }

    fn reset(&mut self) -> Result<()> {
        self.at = 0;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
        let batch = self.batches.get(self.at);
        self.at += 1;
        Ok(batch.map(|(x, y)| (x, y.as_slice())))
    }
}
