//! Encoders turn a column into numbers an estimator can use. Each is a spec that is `fit` on the
//! training split only, giving a fitted encoder that is saved with the fitting and used unchanged
//! at prediction time. An encoder gives either floats (NaN where a value is missing) or integer
//! codes with a fixed cardinality, where null, unseen and out-of-range values get codes of their
//! own, so an embedding can learn what they mean.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

/// How many training values a `Quantile` encoder keeps to place its boundaries: all of them up
/// to this many, a seeded uniform sample beyond (so batches and whole reads agree in expectation).
const QUANTILE_SAMPLE: usize = 100_000;

/// How one input column becomes one feature, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Encoder {
    /// Numbers passed through unchanged (NaN for null).
    Pass {
        /// The column.
        column: String,
    },
    /// Numbers scaled to [0, 1] by the training minimum and maximum, clipped outside them.
    Uniform {
        /// The column.
        column: String,
    },
    /// Numbers clipped to the training range, then standardised with the training mean and
    /// standard deviation.
    Norm {
        /// The column.
        column: String,
    },
    /// Numbers, dates or timestamps cut into `bins` equal-width bins over the training range.
    Discrete {
        /// The column.
        column: String,
        /// How many bins.
        #[serde(default = "ten")]
        bins: usize,
    },
    /// Numbers cut into `quantiles` bins holding equal shares of the training rows.
    Quantile {
        /// The column.
        column: String,
        /// How many bins.
        #[serde(default = "ten")]
        quantiles: usize,
    },
    /// Yes/no values (true/false, 1/0, yes/no, t/f, y/n) as 1 and 0.
    Boolean {
        /// The column.
        column: String,
    },
    /// 1 where two columns hold the same value, 0 where they differ.
    Equals {
        /// The first column.
        column: String,
        /// The column to compare it with.
        other: String,
    },
    /// Non-negative integer codes already in the data, kept as they are.
    Enum {
        /// The column.
        column: String,
    },
    /// One 0/1 feature per category seen at least `minimum_occurrences` times and in at least
    /// `percent_occurrences` percent of the training rows, most frequent first; other, unseen and
    /// null values are all zeros.
    OneHot {
        /// The column.
        column: String,
        /// Fewest training rows a category needs to get a feature of its own.
        #[serde(default = "one")]
        minimum_occurrences: usize,
        /// Smallest percentage (0..100) of the training rows a category needs.
        #[serde(default)]
        percent_occurrences: f64,
        /// Leave out the most frequent category's feature (all zeros then means it), for linear
        /// models that need independent features.
        #[serde(default)]
        drop_first: bool,
    },
    /// Categories as codes, most frequent first; categories seen fewer than `minimum_occurrences`
    /// times in training share a long-tail code, and unseen and null values have codes of their own.
    Unique {
        /// The column.
        column: String,
        /// Fewest training rows a category needs to get a code of its own.
        #[serde(default = "one")]
        minimum_occurrences: usize,
    },
}

fn one() -> usize {
    1
}

fn ten() -> usize {
    10
}

impl Encoder {
    /// The column this encoder reads (the first, for encoders of two).
    pub fn column(&self) -> &str {
        self.columns()[0]
    }

    /// Every column this encoder reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Encoder::Pass { column }
            | Encoder::Uniform { column }
            | Encoder::Norm { column }
            | Encoder::Discrete { column, .. }
            | Encoder::Quantile { column, .. }
            | Encoder::Boolean { column }
            | Encoder::Enum { column }
            | Encoder::OneHot { column, .. }
            | Encoder::Unique { column, .. } => vec![column],
            Encoder::Equals { column, other } => vec![column, other],
        }
    }

    /// The name of the feature it makes, such as `Unique(first_name)` (the stem of the names of
    /// the features of an encoder that makes several).
    pub fn feature(&self) -> String {
        let kind = match self {
            Encoder::Pass { .. } => "Pass",
            Encoder::Uniform { .. } => "Uniform",
            Encoder::Norm { .. } => "Norm",
            Encoder::Discrete { .. } => "Discrete",
            Encoder::Quantile { .. } => "Quantile",
            Encoder::Boolean { .. } => "Boolean",
            Encoder::Equals { .. } => "Equals",
            Encoder::Enum { .. } => "Enum",
            Encoder::OneHot { .. } => "OneHot",
            Encoder::Unique { .. } => "Unique",
        };
        format!("{kind}({})", self.columns().join(", "))
    }

    /// Learns what this encoder needs from the training rows in `df`.
    pub fn fit(&self, df: &DataFrame) -> Result<FittedEncoder> {
        let mut state = self.start()?;
        state.update(df)?;
        Ok(state.finish())
    }

    /// An empty accumulator, for fitting on training rows that arrive in batches.
    pub fn start(&self) -> Result<EncoderState> {
        let by = format!("encoder {}", self.feature());
        let at_least_one = |key: &str, n: usize| {
            if n == 0 {
                Err(Error::InvalidParam {
                    key: format!("{by}.{key}"),
                    message: "must be at least 1".into(),
                })
            } else {
                Ok(n)
            }
        };
        let kind = match self {
            Encoder::Pass { .. } | Encoder::Boolean { .. } | Encoder::Equals { .. } => {
                StateKind::Stateless
            }
            Encoder::Uniform { .. } | Encoder::Norm { .. } => StateKind::Moments {
                n: 0.0,
                mean: 0.0,
                m2: 0.0,
                range: Range::new(),
            },
            Encoder::Discrete { bins, .. } => StateKind::Discrete {
                bins: at_least_one("bins", *bins)?,
                range: Range::new(),
                dates: None,
            },
            Encoder::Quantile { quantiles, .. } => StateKind::Quantile {
                quantiles: at_least_one("quantiles", *quantiles)?,
                sample: Vec::new(),
                seen: 0,
                range: Range::new(),
                rng: rand_pcg::Pcg64::seed_from_u64(0),
            },
            Encoder::Enum { .. } => StateKind::Enum { max: None },
            Encoder::OneHot {
                percent_occurrences,
                ..
            } if !(0.0..=100.0).contains(percent_occurrences) => {
                return Err(Error::InvalidParam {
                    key: format!("{by}.percent_occurrences"),
                    message: format!("{percent_occurrences} is not a percentage between 0 and 100"),
                })
            }
            Encoder::OneHot {
                minimum_occurrences,
                ..
            } => StateKind::Unique {
                minimum: (*minimum_occurrences).max(1),
                counts: PlHashMap::new(),
                rows: 0,
            },
            Encoder::Unique {
                minimum_occurrences,
                ..
            } => StateKind::Unique {
                minimum: (*minimum_occurrences).max(1),
                counts: PlHashMap::new(),
                rows: 0,
            },
        };
        Ok(EncoderState {
            spec: self.clone(),
            by,
            kind,
        })
    }
}

/// The smallest and largest value seen.
#[derive(Debug, Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
}

impl Range {
    fn new() -> Range {
        Range {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn add(&mut self, x: f64) {
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// `(min, max)`, or `(0, 0)` when nothing was seen.
    fn bounds(self) -> (f64, f64) {
        if self.min.is_finite() {
            (self.min, self.max)
        } else {
            (0.0, 0.0)
        }
    }
}

/// Categories with their training counts.
type Counted = Vec<(String, usize)>;

/// What an encoder has learned so far from training rows; [`EncoderState::finish`] fits it.
#[derive(Debug, Clone)]
pub struct EncoderState {
    spec: Encoder,
    by: String,
    kind: StateKind,
}

#[derive(Debug, Clone)]
enum StateKind {
    Stateless,
    Moments {
        n: f64,
        mean: f64,
        m2: f64,
        range: Range,
    },
    Discrete {
        bins: usize,
        range: Range,
        /// Whether the column holds dates or timestamps (binned as seconds since 1970).
        dates: Option<bool>,
    },
    Quantile {
        quantiles: usize,
        sample: Vec<f64>,
        seen: u64,
        range: Range,
        rng: rand_pcg::Pcg64,
    },
    Enum {
        max: Option<i64>,
    },
    Unique {
        minimum: usize,
        counts: PlHashMap<String, usize>,
        /// Training rows seen, nulls included.
        rows: usize,
    },
}

/// Whether `name` holds dates or timestamps (as date columns or as text that parses as one).
fn holds_dates(df: &DataFrame, name: &str, by: &str) -> Result<bool> {
    let col = frame::column(df, name, by)?;
    Ok(match col.dtype() {
        DataType::Date | DataType::Datetime(..) => true,
        DataType::String => frame::numbers(df, name, by).is_err(),
        _ => false,
    })
}

/// Numbers, or dates and timestamps as seconds since 1970.
fn values(df: &DataFrame, name: &str, by: &str, dates: bool) -> Result<Vec<Option<f64>>> {
    if dates {
        Ok(frame::timestamps(df, name, by)?
            .into_iter()
            .map(|t| t.map(|t| t.and_utc().timestamp() as f64))
            .collect())
    } else {
        Ok(frame::numbers(df, name, by)?
            .into_iter()
            .map(|v| v.filter(|x| !x.is_nan()))
            .collect())
    }
}

impl EncoderState {
    /// Learns from more training rows. Infinities are left out of what is learned, like nulls, so
    /// the fitted statistics stay finite (and savable); at encoding they are clipped or binned as
    /// out-of-range values.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        let by = &self.by;
        let columns = self.spec.columns();
        let column = columns[0];
        match &mut self.kind {
            StateKind::Stateless => {
                for c in &columns {
                    frame::column(df, c, by)?;
                }
                if matches!(self.spec, Encoder::Pass { .. }) {
                    frame::numbers(df, column, by)?;
                }
            }
            StateKind::Moments { n, mean, m2, range } => {
                // Welford's update: stable, and the same whether rows come at once or in batches.
                for x in values(df, column, by, false)?
                    .into_iter()
                    .flatten()
                    .filter(|x| x.is_finite())
                {
                    *n += 1.0;
                    let delta = x - *mean;
                    *mean += delta / *n;
                    *m2 += delta * (x - *mean);
                    range.add(x);
                }
            }
            StateKind::Discrete { range, dates, .. } => {
                let is_dates = match *dates {
                    Some(d) => d,
                    None => *dates.insert(holds_dates(df, column, by)?),
                };
                for x in values(df, column, by, is_dates)?
                    .into_iter()
                    .flatten()
                    .filter(|x| x.is_finite())
                {
                    range.add(x);
                }
            }
            StateKind::Quantile {
                sample,
                seen,
                range,
                rng,
                ..
            } => {
                // Reservoir sampling: every training value has the same chance to be kept.
                for x in values(df, column, by, false)?
                    .into_iter()
                    .flatten()
                    .filter(|x| x.is_finite())
                {
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
                }
            }
            StateKind::Enum { max } => {
                for x in values(df, column, by, false)?
                    .into_iter()
                    .flatten()
                    .filter(|x| x.is_finite())
                {
                    if x < 0.0 || x.fract() != 0.0 {
                        return Err(Error::ColumnType {
                            column: column.to_string(),
                            message: format!(
                                "{by} needs non-negative whole numbers but found {x}; use Unique for other categories"
                            ),
                        });
                    }
                    *max = Some(max.map_or(x as i64, |m| m.max(x as i64)));
                }
            }
            StateKind::Unique { counts, rows, .. } => {
                *rows += df.height();
                for v in frame::text(df, column, by)?.iter().flatten() {
                    match counts.get_mut(v) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(v.to_string(), 1);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The fitted encoder.
    pub fn finish(self) -> FittedEncoder {
        let columns: Vec<String> = self.spec.columns().iter().map(|c| c.to_string()).collect();
        let column = columns[0].clone();
        match (self.spec, self.kind) {
            (Encoder::Boolean { .. }, _) => FittedEncoder::Boolean { column },
            (Encoder::Equals { other, .. }, _) => FittedEncoder::Equals { column, other },
            (Encoder::Uniform { .. }, StateKind::Moments { range, .. }) => {
                let (min, max) = range.bounds();
                FittedEncoder::Uniform { column, min, max }
            }
            (_, StateKind::Moments { n, mean, m2, range }) => {
                let var = if n > 0.0 { m2 / n } else { 0.0 };
                let (min, max) = range.bounds();
                // Values near f64::MAX can overflow the variance; the largest finite spread stands in.
                let std = match var {
                    v if v.is_infinite() => f64::MAX,
                    v if v > 0.0 => v.sqrt(),
                    _ => 1.0,
                };
                FittedEncoder::Norm {
                    column,
                    mean: if mean.is_finite() { mean } else { 0.0 },
                    std,
                    min: Some(min),
                    max: Some(max),
                }
            }
            (_, StateKind::Discrete { bins, range, dates }) => {
                let (min, max) = range.bounds();
                FittedEncoder::Discrete {
                    column,
                    min,
                    max,
                    bins,
                    dates: dates.unwrap_or(false),
                }
            }
            (
                _,
                StateKind::Quantile {
                    quantiles,
                    mut sample,
                    range,
                    ..
                },
            ) => {
                sample.sort_by(f64::total_cmp);
                let boundaries = (1..quantiles)
                    .filter_map(|i| {
                        let at = (i * sample.len()) / quantiles;
                        sample.get(at).copied()
                    })
                    .collect();
                let (min, max) = range.bounds();
                FittedEncoder::Quantile {
                    column,
                    boundaries,
                    quantiles,
                    min,
                    max,
                }
            }
            (_, StateKind::Enum { max }) => FittedEncoder::Enum {
                column,
                cardinality: max.map_or(0, |m| m as usize + 1),
            },
            (
                Encoder::OneHot {
                    percent_occurrences,
                    drop_first,
                    ..
                },
                StateKind::Unique {
                    minimum,
                    counts,
                    rows,
                },
            ) => {
                let least =
                    minimum.max((percent_occurrences / 100.0 * rows as f64).ceil() as usize);
                let mut kept: Counted = counts.into_iter().filter(|(_, n)| *n >= least).collect();
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                FittedEncoder::OneHot {
                    column,
                    categories: kept.into_iter().map(|(c, _)| c).collect(),
                    drop_first,
                }
            }
            (
                _,
                StateKind::Unique {
                    minimum, counts, ..
                },
            ) => {
                let (mut kept, tail): (Counted, Counted) =
                    counts.into_iter().partition(|(_, n)| *n >= minimum);
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let mut long_tail: Vec<String> = tail.into_iter().map(|(c, _)| c).collect();
                long_tail.sort();
                FittedEncoder::Unique {
                    column,
                    categories: kept.into_iter().map(|(c, _)| c).collect(),
                    long_tail,
                }
            }
            (_, StateKind::Stateless) => FittedEncoder::Pass { column },
        }
    }
}

/// An encoder with what it learned from training data; saved in every fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FittedEncoder {
    /// Numbers passed through.
    Pass {
        /// The column.
        column: String,
    },
    /// The training range; values map to [0, 1].
    Uniform {
        /// The column.
        column: String,
        /// Training minimum.
        min: f64,
        /// Training maximum.
        max: f64,
    },
    /// The training mean, standard deviation and range.
    Norm {
        /// The column.
        column: String,
        /// Training mean.
        mean: f64,
        /// Training standard deviation (1 when constant).
        std: f64,
        /// Training minimum: smaller values are clipped to it (none in fittings made before
        /// clipping existed).
        #[serde(default)]
        min: Option<f64>,
        /// Training maximum: larger values are clipped to it.
        #[serde(default)]
        max: Option<f64>,
    },
    /// The training range and the number of bins; code `bins` is null.
    Discrete {
        /// The column.
        column: String,
        /// Training minimum (seconds since 1970 for dates).
        min: f64,
        /// Training maximum.
        max: f64,
        /// How many bins.
        bins: usize,
        /// Whether the column holds dates or timestamps.
        #[serde(default)]
        dates: bool,
    },
    /// Boundaries between equal-share bins: codes `0..quantiles` inside the training range,
    /// `quantiles` below it, `quantiles + 1` above it, `quantiles + 2` null.
    Quantile {
        /// The column.
        column: String,
        /// The `quantiles - 1` inner boundaries, ascending.
        boundaries: Vec<f64>,
        /// How many bins.
        quantiles: usize,
        /// Training minimum.
        min: f64,
        /// Training maximum.
        max: f64,
    },
    /// 1 for yes, 0 for no, NaN for null or anything else.
    Boolean {
        /// The column.
        column: String,
    },
    /// 1 where the columns agree, 0 where they differ, NaN where either is null.
    Equals {
        /// The first column.
        column: String,
        /// The second column.
        other: String,
    },
    /// Codes `0..cardinality` as they are; `cardinality` for larger (unseen) codes, `cardinality
    /// + 1` for null.
    Enum {
        /// The column.
        column: String,
        /// One more than the largest training code.
        cardinality: usize,
    },
    /// One 0/1 feature per kept category (the first left out with `drop_first`).
    OneHot {
        /// The column.
        column: String,
        /// The kept categories, most frequent first.
        categories: Vec<String>,
        /// Whether the first category has no feature of its own.
        drop_first: bool,
    },
    /// Codes for the kept categories in order, then one for the long tail, one for unseen values
    /// and one for null.
    Unique {
        /// The column.
        column: String,
        /// The kept categories; a category's code is its index.
        categories: Vec<String>,
        /// Training categories too rare for a code of their own.
        #[serde(default)]
        long_tail: Vec<String>,
    },
}

/// Recognises yes/no text: `Some(true)` for 1, true, t, yes, y; `Some(false)` for 0, false, f,
/// no, n; `None` for anything else.
pub fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "t" | "yes" | "y" => Some(true),
        "0" | "0.0" | "false" | "f" | "no" | "n" => Some(false),
        _ => None,
    }
}

impl FittedEncoder {
    /// The column it reads (the first, for encoders of two).
    pub fn column(&self) -> &str {
        self.columns()[0]
    }

    /// Every column it reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            FittedEncoder::Pass { column }
            | FittedEncoder::Uniform { column, .. }
            | FittedEncoder::Norm { column, .. }
            | FittedEncoder::Discrete { column, .. }
            | FittedEncoder::Quantile { column, .. }
            | FittedEncoder::Boolean { column }
            | FittedEncoder::Enum { column, .. }
            | FittedEncoder::OneHot { column, .. }
            | FittedEncoder::Unique { column, .. } => vec![column],
            FittedEncoder::Equals { column, other } => vec![column, other],
        }
    }

    /// How many features it makes (one, except for `OneHot`).
    pub fn width(&self) -> usize {
        match self {
            FittedEncoder::OneHot {
                categories,
                drop_first,
                ..
            } => categories.len().saturating_sub(usize::from(*drop_first)),
            _ => 1,
        }
    }

    /// The names of the features it makes, in order: `Norm(x)`, or `OneHot(city)=Oslo`, ...
    pub fn features(&self) -> Vec<String> {
        let kind = match self {
            FittedEncoder::Pass { .. } => "Pass",
            FittedEncoder::Uniform { .. } => "Uniform",
            FittedEncoder::Norm { .. } => "Norm",
            FittedEncoder::Discrete { .. } => "Discrete",
            FittedEncoder::Quantile { .. } => "Quantile",
            FittedEncoder::Boolean { .. } => "Boolean",
            FittedEncoder::Equals { .. } => "Equals",
            FittedEncoder::Enum { .. } => "Enum",
            FittedEncoder::OneHot { .. } => "OneHot",
            FittedEncoder::Unique { .. } => "Unique",
        };
        let stem = format!("{kind}({})", self.columns().join(", "));
        match self {
            FittedEncoder::OneHot {
                categories,
                drop_first,
                ..
            } => categories
                .iter()
                .skip(usize::from(*drop_first))
                .map(|c| format!("{stem}={c}"))
                .collect(),
            _ => vec![stem],
        }
    }

    /// How many integer codes each of its features takes, or `None` for an encoder of floats.
    pub fn cardinality(&self) -> Option<usize> {
        match self {
            FittedEncoder::Pass { .. }
            | FittedEncoder::Uniform { .. }
            | FittedEncoder::Norm { .. } => None,
            FittedEncoder::Discrete { bins, .. } => Some(bins + 1),
            FittedEncoder::Quantile { quantiles, .. } => Some(quantiles + 3),
            FittedEncoder::Boolean { .. }
            | FittedEncoder::Equals { .. }
            | FittedEncoder::OneHot { .. } => Some(2),
            FittedEncoder::Enum { cardinality, .. } => Some(cardinality + 2),
            FittedEncoder::Unique { categories, .. } => Some(categories.len() + 3),
        }
    }

    /// The readable value behind a code or a float, where the encoder can tell: a category, a
    /// bin's range, yes/no, or the original number.
    pub fn decode(&self, value: f32) -> Option<String> {
        if value.is_nan() {
            return None;
        }
        let code = value as usize;
        match self {
            FittedEncoder::Pass { .. } => Some(value.to_string()),
            FittedEncoder::Uniform { min, max, .. } => {
                Some((min + f64::from(value) * (max - min)).to_string())
            }
            FittedEncoder::Norm { mean, std, .. } => {
                Some((mean + f64::from(value) * std).to_string())
            }
            FittedEncoder::Discrete { min, max, bins, .. } => {
                let width = (max - min) / *bins as f64;
                (code < *bins).then(|| {
                    let lo = min + width * code as f64;
                    format!("[{lo}, {})", lo + width)
                })
            }
            FittedEncoder::Quantile {
                boundaries,
                quantiles,
                min,
                max,
                ..
            } => match code {
                c if c < *quantiles => {
                    let lo = if c == 0 { *min } else { boundaries[c - 1] };
                    let hi = boundaries.get(c).copied().unwrap_or(*max);
                    Some(format!("[{lo}, {hi}]"))
                }
                c if c == *quantiles => Some(format!("< {min}")),
                c if c == quantiles + 1 => Some(format!("> {max}")),
                _ => None,
            },
            FittedEncoder::Boolean { .. }
            | FittedEncoder::Equals { .. }
            | FittedEncoder::OneHot { .. } => Some((code == 1).to_string()),
            FittedEncoder::Enum { cardinality, .. } => {
                (code < *cardinality).then(|| code.to_string())
            }
            FittedEncoder::Unique { categories, .. } => match code.checked_sub(categories.len()) {
                None => categories.get(code).cloned(),
                Some(0) => Some("(long tail)".into()),
                Some(1) => Some("(unseen)".into()),
                Some(_) => None,
            },
        }
    }

    /// Encodes every row of `df`, [`FittedEncoder::width`] values a row, row after row; floats are
    /// NaN where a value is missing, codes follow [`FittedEncoder::cardinality`].
    pub fn encode(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let by = format!("fitted encoder of {}", self.columns().join(", "));
        Ok(match self {
            FittedEncoder::Pass { column } => values(df, column, &by, false)?
                .into_iter()
                .map(|v| v.map_or(f32::NAN, |x| x as f32))
                .collect(),
            FittedEncoder::Uniform { column, min, max } => {
                let span = max - min;
                values(df, column, &by, false)?
                    .into_iter()
                    .map(|v| match v {
                        None => f32::NAN,
                        Some(_) if span <= 0.0 => 0.0,
                        Some(x) => ((x.clamp(*min, *max) - min) / span) as f32,
                    })
                    .collect()
            }
            FittedEncoder::Norm {
                column,
                mean,
                std,
                min,
                max,
            } => {
                let (lo, hi) = (
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                );
                values(df, column, &by, false)?
                    .into_iter()
                    .map(|v| v.map_or(f32::NAN, |x| ((x.clamp(lo, hi) - mean) / std) as f32))
                    .collect()
            }
            FittedEncoder::Discrete {
                column,
                min,
                max,
                bins,
                dates,
            } => {
                let width = (max - min) / *bins as f64;
                let last = (*bins - 1) as f64;
                values(df, column, &by, *dates)?
                    .into_iter()
                    .map(|v| match v {
                        None => *bins as f32,
                        Some(_) if width <= 0.0 => 0.0,
                        Some(x) => ((x - min) / width).floor().clamp(0.0, last) as f32,
                    })
                    .collect()
            }
            FittedEncoder::Quantile {
                column,
                boundaries,
                quantiles,
                min,
                max,
            } => values(df, column, &by, false)?
                .into_iter()
                .map(|v| match v {
                    None => (quantiles + 2) as f32,
                    Some(x) if x < *min => *quantiles as f32,
                    Some(x) if x > *max => (quantiles + 1) as f32,
                    Some(x) => boundaries.partition_point(|b| *b <= x).min(quantiles - 1) as f32,
                })
                .collect(),
            FittedEncoder::Boolean { column } => frame::text(df, column, &by)?
                .iter()
                .map(|v| match v.and_then(yes_no) {
                    Some(true) => 1.0,
                    Some(false) => 0.0,
                    None => f32::NAN,
                })
                .collect(),
            FittedEncoder::Equals { column, other } => {
                let a = frame::text(df, column, &by)?;
                let b = frame::text(df, other, &by)?;
                a.iter()
                    .zip(b.iter())
                    .map(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) => f32::from(u8::from(a.trim() == b.trim())),
                        _ => f32::NAN,
                    })
                    .collect()
            }
            FittedEncoder::Enum {
                column,
                cardinality,
            } => values(df, column, &by, false)?
                .into_iter()
                .map(|v| match v {
                    None => (cardinality + 1) as f32,
                    Some(x) if x >= 0.0 && x.fract() == 0.0 && (x as usize) < *cardinality => {
                        x as f32
                    }
                    Some(_) => *cardinality as f32,
                })
                .collect(),
            FittedEncoder::OneHot {
                column,
                categories,
                drop_first,
            } => {
                let skip = usize::from(*drop_first);
                let width = self.width();
                let index: PlHashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .skip(skip)
                    .map(|(i, c)| (c.as_str(), i - skip))
                    .collect();
                let texts = frame::text(df, column, &by)?;
                let mut out = vec![0.0; texts.len() * width];
                for (row, v) in texts.iter().enumerate() {
                    if let Some(i) = v.and_then(|v| index.get(v)) {
                        out[row * width + i] = 1.0;
                    }
                }
                out
            }
            FittedEncoder::Unique {
                column,
                categories,
                long_tail,
            } => {
                let index: PlHashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                let tail: PlHashSet<&str> = long_tail.iter().map(String::as_str).collect();
                let n = categories.len();
                frame::text(df, column, &by)?
                    .iter()
                    .map(|v| match v {
                        None => (n + 2) as f32,
                        Some(s) => match index.get(s) {
                            Some(i) => *i as f32,
                            None if tail.contains(s) => n as f32,
                            None => (n + 1) as f32,
                        },
                    })
                    .collect()
            }
        })
    }
}

/// How the column to predict becomes labels, and predictions become answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum OutputEncoder {
    /// A yes/no column (0/1, true/false, yes/no): labels 0 and 1, answers true when p >= 0.5.
    Boolean {
        /// The column to predict.
        column: String,
    },
}

impl OutputEncoder {
    /// The column to predict.
    pub fn column(&self) -> &str {
        match self {
            OutputEncoder::Boolean { column } => column,
        }
    }

    /// The labels of every row of `df`; a missing or unreadable label is an error naming the row.
    pub fn labels(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let OutputEncoder::Boolean { column } = self;
        let by = format!("output encoder Boolean({column})");
        frame::text(df, column, &by)?
            .iter()
            .enumerate()
            .map(|(row, v)| {
                let v = v.unwrap_or_default();
                match yes_no(v) {
                    Some(yes) => Ok(f32::from(u8::from(yes))),
                    None => Err(Error::ColumnType {
                        column: column.clone(),
                        message: format!(
                            "row {}: {by} needs 0/1 or true/false but found {:?}",
                            row + 1,
                            v.trim()
                        ),
                    }),
                }
            })
            .collect()
    }

    /// The answer for a predicted probability.
    pub fn decode(&self, probability: f32) -> serde_json::Value {
        serde_json::Value::Bool(probability >= 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(encoder: Encoder, train: &DataFrame) -> FittedEncoder {
        encoder.fit(train).unwrap()
    }

    fn codes(fitted: &FittedEncoder, df: &DataFrame) -> Vec<f32> {
        fitted.encode(df).unwrap()
    }

    fn x(values: &[Option<f64>]) -> DataFrame {
        df!("x" => values).unwrap()
    }

    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-6)
    }

    #[test]
    fn pass_keeps_numbers_and_nulls_as_nan() {
        let f = fit(Encoder::Pass { column: "x".into() }, &x(&[Some(1.0)]));
        let v = codes(&f, &x(&[Some(-2.5), None, Some(f64::NAN)]));
        assert!(same(&v, &[-2.5, f32::NAN, f32::NAN]), "{v:?}");
        assert_eq!(f.cardinality(), None);
    }

    #[test]
    fn uniform_scales_to_the_training_range_and_clips() {
        let f = fit(
            Encoder::Uniform { column: "x".into() },
            &x(&[Some(10.0), Some(20.0), None]),
        );
        let v = codes(&f, &x(&[Some(15.0), Some(0.0), Some(99.0), None]));
        assert!(same(&v, &[0.5, 0.0, 1.0, f32::NAN]), "{v:?}");
        assert_eq!(f.decode(0.5), Some("15".into()));
    }

    #[test]
    fn norm_clips_to_the_training_range_then_standardises() {
        let f = fit(
            Encoder::Norm { column: "x".into() },
            &x(&[Some(1.0), Some(3.0), None]),
        );
        assert_eq!(
            f,
            FittedEncoder::Norm {
                column: "x".into(),
                mean: 2.0,
                std: 1.0,
                min: Some(1.0),
                max: Some(3.0),
            }
        );
        let v = codes(&f, &x(&[Some(2.0), Some(50.0), Some(-50.0), None]));
        assert!(same(&v, &[0.0, 1.0, -1.0, f32::NAN]), "{v:?}");
    }

    #[test]
    fn discrete_bins_numbers_and_dates_with_a_code_for_null() {
        let f = fit(
            Encoder::Discrete {
                column: "x".into(),
                bins: 2,
            },
            &x(&[Some(1.0), Some(3.0), None]),
        );
        let v = codes(&f, &x(&[Some(0.0), Some(1.9), Some(2.1), Some(99.0), None]));
        assert_eq!(v, vec![0.0, 0.0, 1.0, 1.0, 2.0]);
        assert_eq!(f.cardinality(), Some(3));
        assert_eq!(f.decode(1.0), Some("[2, 3)".into()));

        let dates = df!("d" => ["2018-01-01", "2018-12-31"]).unwrap();
        let f = fit(
            Encoder::Discrete {
                column: "d".into(),
                bins: 4,
            },
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
            Encoder::Quantile {
                column: "x".into(),
                quantiles: 4,
            },
            &train,
        );
        let FittedEncoder::Quantile { boundaries, .. } = &f else {
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
    fn boolean_reads_yes_no_in_its_many_spellings() {
        let df = df!("b" => [Some("Yes"), Some("0"), Some("true"), Some("maybe"), None]).unwrap();
        let f = fit(Encoder::Boolean { column: "b".into() }, &df);
        let v = codes(&f, &df);
        assert!(same(&v, &[1.0, 0.0, 1.0, f32::NAN, f32::NAN]), "{v:?}");
        let bools = df!("b" => [Some(true), Some(false), None]).unwrap();
        assert!(same(&codes(&f, &bools), &[1.0, 0.0, f32::NAN]));
    }

    #[test]
    fn equals_compares_two_columns() {
        let df = df!(
            "city" => [Some("Oslo"), Some("Rome"), None],
            "home" => [Some("Oslo"), Some("Paris"), Some("Rome")]
        )
        .unwrap();
        let e = Encoder::Equals {
            column: "city".into(),
            other: "home".into(),
        };
        assert_eq!(e.feature(), "Equals(city, home)");
        let f = fit(e, &df);
        assert!(same(&codes(&f, &df), &[1.0, 0.0, f32::NAN]));
        let missing = df!("city" => ["Oslo"]).unwrap();
        let err = f.encode(&missing).unwrap_err().to_string();
        assert!(err.contains("`home`"), "{err}");
    }

    #[test]
    fn enum_keeps_codes_and_marks_unseen_and_null() {
        let f = fit(
            Encoder::Enum { column: "x".into() },
            &x(&[Some(0.0), Some(2.0)]),
        );
        assert_eq!(f.cardinality(), Some(5));
        let v = codes(&f, &x(&[Some(1.0), Some(7.0), Some(-1.0), None]));
        assert_eq!(v, vec![1.0, 3.0, 3.0, 4.0]);
        let err = Encoder::Enum { column: "x".into() }
            .fit(&x(&[Some(1.5)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`x`") && err.contains("whole numbers"),
            "{err}"
        );
    }

    #[test]
    fn unique_gives_long_tail_unseen_and_null_codes_of_their_own() {
        let train =
            df!("c" => [Some("a"), Some("a"), Some("b"), Some("a"), Some("c"), Some("c"), None])
                .unwrap();
        let f = fit(
            Encoder::Unique {
                column: "c".into(),
                minimum_occurrences: 2,
            },
            &train,
        );
        assert_eq!(
            f,
            FittedEncoder::Unique {
                column: "c".into(),
                categories: vec!["a".into(), "c".into()],
                long_tail: vec!["b".into()],
            }
        );
        let test = df!("c" => [Some("c"), Some("b"), Some("zzz"), None]).unwrap();
        assert_eq!(codes(&f, &test), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.cardinality(), Some(5));
        assert_eq!(f.decode(0.0), Some("a".into()));
        assert_eq!(f.decode(3.0), Some("(unseen)".into()));
    }

    #[test]
    fn one_hot_makes_a_feature_per_frequent_category() {
        let train = df!("c" => [Some("a"), Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None, None, None, None])
            .unwrap();
        let spec = |minimum, percent, drop_first| Encoder::OneHot {
            column: "c".into(),
            minimum_occurrences: minimum,
            percent_occurrences: percent,
            drop_first,
        };
        let f = fit(spec(2, 0.0, false), &train);
        assert_eq!(f.width(), 2);
        assert_eq!(f.features(), vec!["OneHot(c)=a", "OneHot(c)=b"]);
        let test = df!("c" => [Some("b"), Some("c"), Some("new"), None, Some("a")]).unwrap();
        assert_eq!(
            codes(&f, &test),
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        let by_share = fit(spec(1, 25.0, false), &train);
        assert_eq!(by_share.features(), vec!["OneHot(c)=a"]);
        let dropped = fit(spec(1, 0.0, true), &train);
        assert_eq!(dropped.features(), vec!["OneHot(c)=b", "OneHot(c)=c"]);
        assert_eq!(codes(&dropped, &test)[..2], [1.0, 0.0]);
        let e = spec(1, 250.0, false).start().unwrap_err().to_string();
        assert!(
            e.contains("OneHot(c).percent_occurrences") && e.contains("250"),
            "{e}"
        );
    }

    #[test]
    fn encoders_see_only_what_they_are_fitted_on() {
        let train = df!("c" => ["a", "a"], "x" => [1.0, 2.0]).unwrap();
        let test = df!("c" => ["only-in-test"], "x" => [1000.0]).unwrap();
        let unique = fit(
            Encoder::Unique {
                column: "c".into(),
                minimum_occurrences: 1,
            },
            &train,
        );
        assert_eq!(
            unique.decode(codes(&unique, &test)[0]),
            Some("(unseen)".into())
        );
        let uniform = fit(Encoder::Uniform { column: "x".into() }, &train);
        assert_eq!(codes(&uniform, &test), vec![1.0]);
    }

    #[test]
    fn zero_bins_are_refused_naming_the_parameter() {
        let err = Encoder::Quantile {
            column: "x".into(),
            quantiles: 0,
        }
        .start()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Quantile(x).quantiles") && err.contains("at least 1"),
            "{err}"
        );
    }

    #[test]
    fn fitting_in_batches_learns_what_fitting_at_once_does() {
        let all = df!("x" => [Some(1.0), Some(4.0), None, Some(10.0), Some(-2.0)], "c" => ["a", "b", "a", "c", "a"]).unwrap();
        for encoder in [
            Encoder::Norm { column: "x".into() },
            Encoder::Uniform { column: "x".into() },
            Encoder::Discrete {
                column: "x".into(),
                bins: 3,
            },
            Encoder::Quantile {
                column: "x".into(),
                quantiles: 3,
            },
            Encoder::Unique {
                column: "c".into(),
                minimum_occurrences: 2,
            },
        ] {
            let mut state = encoder.start().unwrap();
            state.update(&all.slice(0, 2)).unwrap();
            state.update(&all.slice(2, 3)).unwrap();
            let batched = state.finish();
            let at_once = encoder.fit(&all).unwrap();
            assert!(
                same(
                    &batched.encode(&all).unwrap(),
                    &at_once.encode(&all).unwrap()
                ),
                "{encoder:?}"
            );
        }
    }

    #[test]
    fn fitted_encoders_round_trip_through_json() {
        let df = df!("x" => [Some(1.0), Some(5.0), None], "c" => ["a", "b", "a"]).unwrap();
        for encoder in [
            Encoder::Quantile {
                column: "x".into(),
                quantiles: 2,
            },
            Encoder::Unique {
                column: "c".into(),
                minimum_occurrences: 2,
            },
            Encoder::Norm { column: "x".into() },
        ] {
            let fitted = encoder.fit(&df).unwrap();
            let back: FittedEncoder =
                serde_json::from_str(&serde_json::to_string(&fitted).unwrap()).unwrap();
            assert_eq!(back, fitted);
            assert!(same(
                &back.encode(&df).unwrap(),
                &fitted.encode(&df).unwrap()
            ));
        }
    }

    #[test]
    fn boolean_labels_name_the_bad_row() {
        let df = df!("y" => ["1", "false", "maybe"]).unwrap();
        let e = OutputEncoder::Boolean { column: "y".into() }
            .labels(&df)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 3") && e.contains("maybe") && e.contains("`y`"),
            "{e}"
        );
    }
}
