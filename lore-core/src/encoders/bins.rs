//! Numbers as bin codes: equal-width bins over the training range (`Discrete`, dates too) or
//! bins holding equal shares of the training rows (`Quantile`).

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Fitted, Learner, Spec, Start};
use crate::encoders::read::{each_finite, holds_dates, map_values, Range};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput};
use crate::error::Result;

/// How many training values a `Quantile` encoder keeps to place its boundaries: all of them up
/// to this many, a seeded uniform sample beyond (so batches and whole reads agree in expectation).
const QUANTILE_SAMPLE: usize = 100_000;

fn ten() -> usize {
    10
}

/// Numbers, dates or timestamps cut into `bins` equal-width bins over the training range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discrete {
    /// The column.
    pub column: String,
    /// How many bins.
    #[serde(default = "ten")]
    pub bins: usize,
}

/// A fitted [`Discrete`]: the training range and the number of bins; code `bins` is null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedDiscrete {
    /// The column.
    pub column: String,
    /// Training minimum (seconds since 1970 for dates).
    pub min: f64,
    /// Training maximum.
    pub max: f64,
    /// How many bins.
    pub bins: usize,
    /// Whether the column holds dates or timestamps.
    #[serde(default)]
    pub dates: bool,
}

#[derive(Debug)]
struct LearnDiscrete {
    column: String,
    bins: usize,
    range: Range,
    /// Whether the column holds dates or timestamps (binned as seconds since 1970), known from
    /// the first rows.
    dates: Option<bool>,
}

reads!("Discrete": Discrete, FittedDiscrete);

impl Spec for Discrete {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(Box::new(LearnDiscrete {
            column: self.column.clone(),
            bins: start.at_least_one("bins", self.bins)?,
            range: Range::new(),
            dates: None,
        }))
    }
}

impl Learner for LearnDiscrete {
    fn in_place(&self) -> bool {
        true
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let dates = match self.dates {
            Some(d) => d,
            None => *self.dates.insert(holds_dates(df, &self.column, by)?),
        };
        let range = &mut self.range;
        each_finite(df, &self.column, by, dates, rows, |x| range.add(x))
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        let (min, max) = self.range.bounds();
        Ok(FittedDiscrete {
            column: self.column,
            min,
            max,
            bins: self.bins,
            dates: self.dates.unwrap_or(false),
        }
        .into())
    }
}

impl Fitted for FittedDiscrete {
    fn cardinality(&self) -> Option<usize> {
        Some(self.bins + 1)
    }

    fn decode(&self, value: f32) -> Option<String> {
        let code = value as usize;
        let width = (self.max - self.min) / self.bins as f64;
        (code < self.bins).then(|| {
            let lo = self.min + width * code as f64;
            format!("[{lo}, {})", lo + width)
        })
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        map_values(df, &self.column, by, self.dates, |v| {
            discrete_code(v, self.min, self.max, self.bins)
        })
    }
}

/// Numbers cut into `quantiles` bins holding equal shares of the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantile {
    /// The column.
    pub column: String,
    /// How many bins.
    #[serde(default = "ten")]
    pub quantiles: usize,
}

/// A fitted [`Quantile`]: boundaries between equal-share bins: codes `0..quantiles` inside the
/// training range, `quantiles` below it, `quantiles + 1` above it, `quantiles + 2` null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedQuantile {
    /// The column.
    pub column: String,
    /// The `quantiles - 1` inner boundaries, ascending.
    pub boundaries: Vec<f64>,
    /// How many bins.
    pub quantiles: usize,
    /// Training minimum.
    pub min: f64,
    /// Training maximum.
    pub max: f64,
}

#[derive(Debug)]
struct LearnQuantile {
    column: String,
    quantiles: usize,
    sample: Vec<f64>,
    seen: u64,
    range: Range,
    rng: rand_pcg::Pcg64,
}

reads!("Quantile": Quantile, FittedQuantile);

impl Spec for Quantile {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(Box::new(LearnQuantile {
            column: self.column.clone(),
            quantiles: start.at_least_one("quantiles", self.quantiles)?,
            sample: Vec::new(),
            seen: 0,
            range: Range::new(),
            rng: rand_pcg::Pcg64::seed_from_u64(0),
        }))
    }
}

impl Learner for LearnQuantile {
    fn in_place(&self) -> bool {
        true
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let LearnQuantile {
            sample,
            seen,
            range,
            rng,
            ..
        } = self;
        // Reservoir sampling: every training value has the same chance to be kept.
        each_finite(df, &self.column, by, false, rows, |x| {
            range.add(x);
            *seen += 1;
            if sample.len() < QUANTILE_SAMPLE {
                sample.push(x);
            } else {
                let slot = rng.random_range(0..*seen);
                if let Some(kept) = sample.get_mut(slot as usize) {
                    *kept = x;
                }
            }
        })
    }

    fn finish(mut self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        self.sample.sort_by(f64::total_cmp);
        let (sample, quantiles) = (&self.sample, self.quantiles);
        let boundaries = (1..quantiles)
            .filter_map(|i| sample.get((i * sample.len()) / quantiles).copied())
            .collect();
        let (min, max) = self.range.bounds();
        Ok(FittedQuantile {
            column: self.column,
            boundaries,
            quantiles,
            min,
            max,
        }
        .into())
    }
}

impl Fitted for FittedQuantile {
    fn cardinality(&self) -> Option<usize> {
        Some(self.quantiles + 3)
    }

    fn decode(&self, value: f32) -> Option<String> {
        let (quantiles, min, max) = (self.quantiles, self.min, self.max);
        match value as usize {
            c if c < quantiles => {
                let lo = if c == 0 { min } else { self.boundaries[c - 1] };
                let hi = self.boundaries.get(c).copied().unwrap_or(max);
                Some(format!("[{lo}, {hi}]"))
            }
            c if c == quantiles => Some(format!("< {min}")),
            c if c == quantiles + 1 => Some(format!("> {max}")),
            _ => None,
        }
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        map_values(df, &self.column, by, false, |v| {
            quantile_code(v, &self.boundaries, self.quantiles, self.min, self.max)
        })
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Discrete` of `column` into `bins` bins.
    pub fn discrete(column: impl Into<String>, bins: usize) -> Encoder {
        Discrete {
            column: column.into(),
            bins,
        }
        .into()
    }

    /// `Quantile` of `column` into `quantiles` bins.
    pub fn quantile(column: impl Into<String>, quantiles: usize) -> Encoder {
        Quantile {
            column: column.into(),
            quantiles,
        }
        .into()
    }
}

/// The `Discrete` code of one number (`None`: null or NaN): its bin of `bins` equal bins of
/// `min..=max`, `bins` for null.
#[inline]
pub(crate) fn discrete_code(v: Option<f64>, min: f64, max: f64, bins: usize) -> f32 {
    let width = (max - min) / bins as f64;
    let last = (bins - 1) as f64;
    match v {
        None => bins as f32,
        Some(_) if width <= 0.0 => 0.0,
        // Truncating after the clamp is flooring: the value is not negative then.
        Some(x) => ((x - min) / width).clamp(0.0, last) as u64 as f32,
    }
}

/// The `Quantile` code of one number (`None`: null or NaN).
#[inline]
pub(crate) fn quantile_code(
    v: Option<f64>,
    boundaries: &[f64],
    quantiles: usize,
    min: f64,
    max: f64,
) -> f32 {
    match v {
        None => (quantiles + 2) as f32,
        Some(x) if x < min => quantiles as f32,
        Some(x) if x > max => (quantiles + 1) as f32,
        Some(x) => boundaries.partition_point(|b| *b <= x).min(quantiles - 1) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit, x};
    use crate::testing::*;

    #[test]
    fn discrete_bins_numbers_and_dates_with_a_code_for_null() {
        let f = fit(
            Encoder::Discrete(Discrete {
                column: "x".into(),
                bins: 2,
            }),
            &x(&[Some(1.0), Some(3.0), None]),
        );
        let v = codes(&f, &x(&[Some(0.0), Some(1.9), Some(2.1), Some(99.0), None]));
        assert_eq!(v, vec![0.0, 0.0, 1.0, 1.0, 2.0]);
        assert_eq!(f.cardinality(), Some(3));
        assert_eq!(f.decode(1.0), Some("[2, 3)".into()));

        let dates = df!("d" => ["2018-01-01", "2018-12-31"]).unwrap();
        let f = fit(
            Encoder::Discrete(Discrete {
                column: "d".into(),
                bins: 4,
            }),
            &dates,
        );
        let later =
            df!("d" => [Some("2018-02-01"), Some("2018-11-30"), Some("2031-01-01"), None]).unwrap();
        assert_eq!(codes(&f, &later), vec![0.0, 3.0, 3.0, 4.0]);
    }

    #[test]
    fn quantile_has_codes_below_above_and_null() {
        let train = x(&(1..=100).map(|i| Some(f64::from(i))).collect::<Vec<_>>());
        let f = fit(
            Encoder::Quantile(Quantile {
                column: "x".into(),
                quantiles: 4,
            }),
            &train,
        );
        let FittedEncoder::Quantile(FittedQuantile { boundaries, .. }) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(boundaries, &vec![26.0, 51.0, 76.0]);
        let v = codes(
            &f,
            &x(&[
                Some(1.0),
                Some(30.0),
                Some(100.0),
                Some(0.5),
                Some(101.0),
                None,
            ]),
        );
        assert_eq!(v, vec![0.0, 1.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(f.cardinality(), Some(7));
        assert_eq!(f.decode(4.0), Some("< 1".into()));
    }

    #[test]
    fn zero_bins_are_refused_naming_the_parameter() {
        refused(
            Encoder::Quantile(Quantile {
                column: "x".into(),
                quantiles: 0,
            })
            .start(&crate::encoders::OutputEncoder::Cluster {}),
            &["Quantile(x).quantiles", "at least 1"],
        );
    }
}
