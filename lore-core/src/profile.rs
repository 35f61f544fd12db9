//! What a fitting's data looked like, saved beside it (`profile.json`) as the reference that
//! `lore check` compares new data with: for each input column its rows, nulls and kind, for
//! numbers their range, moments, a histogram, quantiles and (when few) the values themselves,
//! for text the categories with their counts; for each feature a summary; and the distribution
//! of the model's scores on the test rows. Built a batch at a time, so streamed fits profile
//! their data as they read it, in memory bounded whatever the rows.

use std::hash::BuildHasher;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::encoders::Task;
use crate::error::Result;
use crate::frame::{self, Kind};
use crate::matrix::{Matrix, Values};

/// How profiles are made: a profile cached by a Lore that made them otherwise is not reused.
pub const PROFILE_VERSION: u32 = 1;
/// Numbers kept per column, drawn evenly from all of them (every one up to this many): what the
/// quantiles and the histogram are read from.
pub const SAMPLE: usize = 100_000;
/// A column with at most this many numbers keeps them all in the profile, so that the tests
/// for small references (Kolmogorov-Smirnov) compare the values themselves.
pub const KEPT_VALUES: usize = 1_000;
/// The most categories kept, most frequent first; the rest are counted together. Enough for
/// every name of a first-name column, so that a category test sees the categories themselves.
pub const TOP: usize = 10_000;
/// A column with at most this many distinct numbers keeps each with its count: its
/// distribution is then known exactly.
pub const FEW_VALUES: usize = 100;
/// Distinct texts counted while reading; beyond, new ones are counted together, which keeps a
/// streamed fit's memory bounded on identifiers.
const DISTINCT_CAP: usize = 100_000;
/// Bins of the histogram, equal in width between the smallest and largest value.
const BINS: usize = 20;
/// Quantiles at the middles of this many equal shares: the reference stands for its numbers by
/// these many equally likely values where it keeps no values of its own.
const QUANTILES: usize = 200;

/// A fitting's reference profile.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Rows of the extract.
    pub rows: u64,
    /// Each input column, in the extract's order.
    pub columns: Vec<ColumnProfile>,
    /// Each feature the estimator learned from, on the test rows.
    #[serde(default)]
    pub features: Vec<FeatureSummary>,
    /// The share of the extract's rows that repeat an earlier row, where it was read whole.
    pub duplicates: Option<f64>,
    /// The model's scores on the test rows (a binary model's probability, a regression's value,
    /// a multi-class model's highest probability); none for clustering.
    pub scores: Option<ColumnProfile>,
}

/// One column's profile.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// What it holds.
    pub kind: Kind,
    /// Rows read.
    pub rows: u64,
    /// Rows with no value.
    pub nulls: u64,
    /// Numbers (and dates and timestamps, as seconds since 1970).
    pub numbers: Option<Numbers>,
    /// Text and booleans.
    pub categories: Option<Categories>,
}

/// The distribution of a column of numbers.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Numbers {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean.
    pub mean: f64,
    /// The standard deviation (of the population, as numpy's `std`).
    pub std: f64,
    /// The shares of the values in equal-width bins from `min` to `max`.
    pub histogram: Histogram,
    /// The values at the middles of 200 equal shares (0.0025, 0.0075, …, 0.9975 of the way
    /// through them), in order.
    pub quantiles: Vec<f64>,
    /// Each distinct value with its count, ascending, where there are at most [`FEW_VALUES`].
    pub few: Option<Vec<(f64, u64)>>,
    /// Every value, in order, where there are at most [`KEPT_VALUES`].
    pub values: Option<Vec<f64>>,
}

impl Numbers {
    /// The distribution function, as points (x, share of values at or below x) ascending: steps
    /// at each value where the values are few; else linear between the quantiles, the first and
    /// last half share held at the first and last quantile (drawn out to the smallest and
    /// largest value, a long tail would weigh as if the whole end share lay halfway out).
    pub fn distribution(&self) -> Vec<(f64, f64)> {
        if let Some(few) = &self.few {
            let total = few.iter().map(|(_, n)| *n).sum::<u64>().max(1) as f64;
            let mut below = 0.0;
            let mut points = Vec::with_capacity(2 * few.len());
            for (value, n) in few {
                points.push((*value, below / total));
                below += *n as f64;
                points.push((*value, below / total));
            }
            return points;
        }
        let k = self.quantiles.len() as f64;
        let (Some(first), Some(last)) = (self.quantiles.first(), self.quantiles.last()) else {
            return vec![(self.min, 0.0), (self.max, 1.0)];
        };
        std::iter::once((*first, 0.0))
            .chain(
                self.quantiles
                    .iter()
                    .enumerate()
                    .map(|(i, q)| (*q, (i as f64 + 0.5) / k)),
            )
            .chain(std::iter::once((*last, 1.0)))
            .collect()
    }
}

/// Shares of values in bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The bins' edges, ascending: one more than the bins.
    pub edges: Vec<f64>,
    /// The share of the values in each bin (the last bin holds its right edge).
    pub shares: Vec<f64>,
}

/// The categories of a column of text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Categories {
    /// Distinct values counted (at least this many, where `complete` is false).
    pub distinct: u64,
    /// The most frequent values with their counts, most frequent first, at most [`TOP`].
    pub top: Vec<(String, u64)>,
    /// Rows whose value is not in `top`.
    pub other: u64,
}

impl Categories {
    /// Whether every value read is in `top`, so a value missing from it was never seen.
    pub fn complete(&self) -> bool {
        self.other == 0
    }

    /// Whether the column looks like an identifier or free text rather than categories: more
    /// distinct values than half its rows, or more than a profile counts. Such a column is checked for nulls and kind only.
    pub fn identifier(&self, rows: u64) -> bool {
        (rows >= 100 && self.distinct * 2 > rows) || self.distinct > DISTINCT_CAP as u64
    }
}

/// A feature's summary on the test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSummary {
    /// The feature's name.
    pub name: String,
    /// Rows with a value (sparse matrices leave absent entries out).
    pub present: u64,
    /// Rows whose value is missing (NaN).
    pub missing: u64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean of the values present.
    pub mean: f64,
    /// Their standard deviation.
    pub std: f64,
}

/// One column's values as read from a frame: what both the profile and a check read.
pub enum Read {
    /// The numbers, nulls and NaN left out.
    Numbers(Vec<f64>),
    /// The texts, nulls left out.
    Texts(StringChunked),
}

impl Read {
    /// The values of `name`, read as its `kind` reads; dates and timestamps become seconds.
    pub fn of(df: &DataFrame, name: &str, kind: Kind) -> Result<Read> {
        let needed_by = "the data profile";
        Ok(match kind {
            Kind::Number => {
                let mut values = Vec::with_capacity(df.height());
                frame::each_number(df, name, needed_by, None, |v| values.extend(v))?;
                Read::Numbers(values)
            }
            Kind::Date | Kind::Timestamp => Read::Numbers(
                frame::epoch_seconds(df, name, needed_by)?
                    .into_iter()
                    .filter(|v| !v.is_nan())
                    .collect(),
            ),
            Kind::Text | Kind::Boolean => Read::Texts(frame::text(df, name, needed_by)?),
        })
    }
}

/// Builds a [`Profile`] from the frames of an extract, one batch at a time.
#[derive(Default)]
pub struct Profiler {
    rows: u64,
    columns: Vec<ColumnProfiler>,
}

impl Profiler {
    /// Adds a batch's rows; the first batch fixes the columns and their kinds.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        if self.columns.is_empty() {
            self.columns = df
                .columns()
                .iter()
                .map(|c| ColumnProfiler::new(c.name().as_str(), Kind::of(c)))
                .collect();
        }
        self.rows += df.height() as u64;
        self.columns
            .par_iter_mut()
            .filter(|c| df.column(&c.name).is_ok())
            .try_for_each(|c| c.update(df))
    }

    /// The profile of every row added, with no features or scores yet.
    pub fn finish(self) -> Profile {
        Profile {
            rows: self.rows,
            columns: self
                .columns
                .into_iter()
                .map(ColumnProfiler::finish)
                .collect(),
            features: Vec::new(),
            duplicates: None,
            scores: None,
        }
    }
}

/// One column's profile so far.
struct ColumnProfiler {
    name: String,
    kind: Kind,
    rows: u64,
    nulls: u64,
    numbers: NumberProfiler,
    counts: PlHashMap<String, u64>,
    /// Rows of texts that came after the distinct cap was reached and were new.
    uncounted: u64,
}

impl ColumnProfiler {
    fn new(name: &str, kind: Kind) -> ColumnProfiler {
        ColumnProfiler {
            name: name.to_string(),
            kind,
            rows: 0,
            nulls: 0,
            numbers: NumberProfiler::new(name),
            counts: PlHashMap::new(),
            uncounted: 0,
        }
    }

    fn update(&mut self, df: &DataFrame) -> Result<()> {
        let rows = df.height() as u64;
        self.rows += rows;
        match Read::of(df, &self.name, self.kind)? {
            Read::Numbers(values) => {
                self.nulls += rows - values.len() as u64;
                values.into_iter().for_each(|v| self.numbers.push(v));
            }
            Read::Texts(texts) => {
                for text in texts.iter() {
                    let Some(text) = text else {
                        self.nulls += 1;
                        continue;
                    };
                    if let Some(count) = self.counts.get_mut(text) {
                        *count += 1;
                    } else if self.counts.len() < DISTINCT_CAP {
                        self.counts.insert(text.to_string(), 1);
                    } else {
                        self.uncounted += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> ColumnProfile {
        let (numbers, categories) = match self.kind {
            Kind::Text | Kind::Boolean => {
                let present = self.rows - self.nulls;
                (None, Some(categories(self.counts, self.uncounted, present)))
            }
            _ => (self.numbers.finish(), None),
        };
        ColumnProfile {
            name: self.name,
            kind: self.kind,
            rows: self.rows,
            nulls: self.nulls,
            numbers,
            categories,
        }
    }
}

/// The categories of `counts`, most frequent first (ties by value, so a profile is the same for
/// the same rows), with `uncounted` rows of values never counted.
/// An identifier keeps only its most frequent values, to show: it is not compared by category.
const TOP_IDENTIFIER: usize = 100;

fn categories(counts: PlHashMap<String, u64>, uncounted: u64, present: u64) -> Categories {
    let distinct = counts.len() as u64 + u64::from(uncounted > 0);
    let mut all: Vec<(String, u64)> = counts.into_iter().collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut categories = Categories {
        distinct,
        top: Vec::new(),
        other: 0,
    };
    let kept = match categories.identifier(present) {
        true => TOP_IDENTIFIER,
        false => TOP,
    };
    categories.other = all.iter().skip(kept).map(|(_, n)| n).sum::<u64>() + uncounted;
    all.truncate(kept);
    categories.top = all;
    categories
}

/// A column of numbers so far: exact count, range and moments (Welford's), the distinct values
/// while few, and a uniform sample of at most [`SAMPLE`] values (Algorithm R, seeded by the
/// column's name so that a profile is the same for the same rows).
struct NumberProfiler {
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
    few: Option<Vec<(f64, u64)>>,
    sample: Vec<f64>,
    random: rand_pcg::Pcg64Mcg,
}

impl NumberProfiler {
    fn new(name: &str) -> NumberProfiler {
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        NumberProfiler {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
            few: Some(Vec::new()),
            sample: Vec::new(),
            random: rand_pcg::Pcg64Mcg::seed_from_u64(seed),
        }
    }

    fn push(&mut self, x: f64) {
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        if let Some(few) = &mut self.few {
            match few.iter().position(|(v, _)| *v == x) {
                Some(at) => few[at].1 += 1,
                None if few.len() < FEW_VALUES => few.push((x, 1)),
                None => self.few = None,
            }
        }
        if self.sample.len() < SAMPLE {
            self.sample.push(x);
        } else {
            let at = self.random.random_range(0..self.count);
            if let Some(slot) = self.sample.get_mut(at as usize) {
                *slot = x;
            }
        }
    }

    fn finish(mut self) -> Option<Numbers> {
        if self.count == 0 {
            return None;
        }
        self.sample.sort_by(f64::total_cmp);
        let sample = &self.sample;
        let quantiles = (0..QUANTILES)
            .map(|i| quantile(sample, (i as f64 + 0.5) / QUANTILES as f64))
            .collect();
        let mut few = self.few;
        if let Some(few) = &mut few {
            few.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Some(Numbers {
            min: self.min,
            max: self.max,
            mean: self.mean,
            std: (self.m2 / self.count as f64).sqrt(),
            histogram: Histogram::of(sample, self.min, self.max),
            quantiles,
            few,
            values: (self.count as usize <= KEPT_VALUES).then(|| self.sample.clone()),
        })
    }
}

/// The value a share `p` of the way through `sorted` (numpy's default, linear between the two
/// nearest); NaN for no values.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let at = p.clamp(0.0, 1.0) * last as f64;
    let (below, fraction) = (at.floor() as usize, at.fract());
    let low = sorted[below.min(last)];
    let high = sorted[(below + 1).min(last)];
    low + (high - low) * fraction
}

impl Histogram {
    /// The shares of `values` in [`BINS`] equal bins from `min` to `max` (one bin when they are
    /// equal).
    pub fn of(values: &[f64], min: f64, max: f64) -> Histogram {
        let bins = if max > min { BINS } else { 1 };
        let width = (max - min) / bins as f64;
        let edges: Vec<f64> = (0..=bins)
            .map(|i| {
                if i == bins {
                    max
                } else {
                    min + width * i as f64
                }
            })
            .collect();
        Histogram {
            shares: Histogram::shares_over(&edges, values),
            edges,
        }
    }

    /// The shares of `values` in the bins of `edges`; values outside them are left out, so the
    /// shares sum to the share inside.
    pub fn shares_over(edges: &[f64], values: &[f64]) -> Vec<f64> {
        let bins = edges.len().saturating_sub(1);
        let (Some(first), Some(last)) = (edges.first(), edges.last()) else {
            return Vec::new();
        };
        if bins == 0 {
            return Vec::new();
        }
        let mut counts = vec![0u64; bins];
        for v in values {
            if v < first || v > last {
                continue;
            }
            let bin = edges
                .partition_point(|e| e <= v)
                .saturating_sub(1)
                .min(bins - 1);
            counts[bin] += 1;
        }
        let total = values.len().max(1) as f64;
        counts.into_iter().map(|n| n as f64 / total).collect()
    }
}

/// Each feature of the matrices of a split summed up, one batch at a time.
pub struct FeatureProfiler {
    names: Vec<String>,
    sums: Vec<(u64, u64, f64, f64, f64, f64)>,
}

impl FeatureProfiler {
    /// No rows yet, for the features `names`.
    pub fn new(names: &[String]) -> FeatureProfiler {
        FeatureProfiler {
            names: names.to_vec(),
            sums: vec![(0, 0, f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0); names.len()],
        }
    }

    /// Adds a batch's rows.
    pub fn update(&mut self, x: &Matrix) {
        let mut add = |column: usize, v: f32| {
            let Some((present, missing, min, max, sum, squares)) = self.sums.get_mut(column) else {
                return;
            };
            if v.is_nan() {
                *missing += 1;
                return;
            }
            let v = f64::from(v);
            *present += 1;
            *min = min.min(v);
            *max = max.max(v);
            *sum += v;
            *squares += v * v;
        };
        match &x.values {
            Values::Dense(values) if x.columns > 0 => {
                for row in values.chunks(x.columns) {
                    row.iter().enumerate().for_each(|(c, v)| add(c, *v));
                }
            }
            Values::Dense(_) => {}
            Values::Sparse(csr) => {
                for (c, v) in csr.indices.iter().zip(&csr.values) {
                    add(*c as usize, *v);
                }
            }
        }
    }

    /// The summaries of every row added.
    pub fn finish(self) -> Vec<FeatureSummary> {
        self.names
            .into_iter()
            .zip(self.sums)
            .map(|(name, (present, missing, min, max, sum, squares))| {
                let n = present.max(1) as f64;
                let mean = sum / n;
                FeatureSummary {
                    name,
                    present,
                    missing,
                    min: if present > 0 { min } else { f64::NAN },
                    max: if present > 0 { max } else { f64::NAN },
                    mean,
                    std: (squares / n - mean * mean).max(0.0).sqrt(),
                }
            })
            .collect()
    }
}

/// The profile of a model's scores, [`Task::width`] numbers per row (a multi-class model's
/// highest probability is its score); `None` for clustering or no rows.
pub fn scores(predictions: &[f32], task: Task) -> Option<ColumnProfile> {
    let width = task.width();
    if task == Task::Clustering || predictions.is_empty() {
        return None;
    }
    let mut numbers = NumberProfiler::new("score");
    for row in predictions.chunks(width) {
        let score = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !score.is_nan() {
            numbers.push(f64::from(score));
        }
    }
    let rows = (predictions.len() / width) as u64;
    Some(ColumnProfile {
        name: "score".to_string(),
        kind: Kind::Number,
        rows,
        nulls: rows - numbers.count,
        numbers: numbers.finish(),
        categories: None,
    })
}

/// The share of `df`'s rows that repeat an earlier row, every column compared (rows hashed
/// whole; two different rows hashing alike is as rare as a 64-bit collision).
pub fn duplicate_share(df: &DataFrame) -> Result<f64> {
    let rows = df.height();
    if rows < 2 {
        return Ok(0.0);
    }
    let mut hashes = vec![0u64; rows];
    let state = PlRandomState::default();
    for column in df.columns() {
        let name = column.name().as_str();
        let mix = |h: &mut u64, part: u64| {
            *h = (*h ^ part)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(23)
        };
        if column.dtype().is_primitive_numeric() {
            let mut i = 0;
            frame::each_number(df, name, "the duplicate check", None, |v| {
                if let Some(h) = hashes.get_mut(i) {
                    mix(h, v.map_or(u64::MAX, f64::to_bits));
                }
                i += 1;
            })?;
        } else {
            let texts = frame::text(df, name, "the duplicate check")?;
            for (h, text) in hashes.iter_mut().zip(texts.iter()) {
                mix(h, state.hash_one(text));
            }
        }
    }
    hashes.sort_unstable();
    hashes.dedup();
    Ok(1.0 - hashes.len() as f64 / rows as f64)
}

#[cfg(test)]
mod tests;
