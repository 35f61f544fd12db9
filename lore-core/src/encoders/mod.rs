//! Encoders turn a column into numbers an estimator can use. Each is a spec that is `fit` on the
//! training split only, giving a fitted encoder that is saved with the fitting and used unchanged
//! at prediction time. An encoder gives either floats (NaN where a value is missing) or integer
//! codes with a fixed cardinality, where null, unseen and out-of-range values get codes of their
//! own, so an embedding can learn what they mean.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame::{self, TextKey};
use crate::pipelines::Csr;
use crate::transformers::{has_no_params, no_params};

mod custom;
mod output;

pub use custom::{is_registered, register, CustomEncoder};
pub use output::{FittedOutput, OutputEncoder, OutputState, Task};

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
        /// A second column coded with the same vocabulary (learned from both), such as
        /// `first_name_twin` next to `first_name`: one feature each.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
    },
    /// Text cut into lower-cased words; the first `sequence_length` words are coded like
    /// `Unique` over one vocabulary, one feature per position; positions after the last word
    /// (and null text) have the null code.
    Token {
        /// The column.
        column: String,
        /// How many words (features) to keep per row.
        #[serde(default = "ten")]
        sequence_length: usize,
        /// Fewest training occurrences a word needs to get a code of its own.
        #[serde(default = "one")]
        minimum_occurrences: usize,
        /// A second column coded with the same vocabulary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
    },
    /// Lists (list columns, or text whose items are separated by `separator`) coded like
    /// `Unique` over one vocabulary of items, one feature per position up to `sequence_length`.
    NestedUnique {
        /// The column.
        column: String,
        /// How many items (features) to keep per row.
        #[serde(default = "ten")]
        sequence_length: usize,
        /// Fewest training occurrences an item needs to get a code of its own.
        #[serde(default = "one")]
        minimum_occurrences: usize,
        /// What separates the items of a text column.
        #[serde(default = "comma")]
        separator: String,
        /// A second column coded with the same vocabulary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
    },
    /// Lists of numbers: every item clipped to the range of all training items, then
    /// standardised with their mean and standard deviation; one feature per position up to
    /// `sequence_length`, NaN after the last item.
    NestedNorm {
        /// The column.
        column: String,
        /// How many items (features) to keep per row.
        #[serde(default = "ten")]
        sequence_length: usize,
        /// What separates the items of a text column.
        #[serde(default = "comma")]
        separator: String,
    },
    /// A position in a sequence (0 for the first item) and the sequence's length: the first
    /// `depth` and the last `depth` positions get codes of their own, every position between
    /// shares one middle code (the picking-sequence encoder of Python Lore).
    MiddleOut {
        /// The column of positions, counted from 0.
        column: String,
        /// The column with the length of each row's sequence.
        length: String,
        /// How many positions at each end get codes of their own.
        #[serde(default = "one")]
        depth: usize,
    },
    /// Text as a sparse bag of words, each row scaled to unit length: TF-IDF weights over the
    /// training vocabulary, or word counts hashed into `max_features` buckets. A word a row does
    /// not hold is an absent (missing) entry, not a zero.
    Text {
        /// The column.
        column: String,
        /// How words become features.
        #[serde(default)]
        vectorizer: Vectorizer,
        /// TF-IDF: the largest vocabulary, the words in most training rows first; hashing: the
        /// number of buckets.
        #[serde(default = "thousand")]
        max_features: usize,
        /// TF-IDF: fewest training rows a word must be in to join the vocabulary.
        #[serde(default = "one")]
        minimum_occurrences: usize,
        /// Longest run of consecutive words taken as one term (1: single words, 2: words and
        /// pairs of words, ...).
        #[serde(default = "one")]
        ngrams: usize,
    },
    /// An encoder of the project's own, written in Rust and registered under `name`
    /// ([`register`]); its features are named `name(column)`.
    Custom {
        /// The name it is registered under.
        name: String,
        /// The column.
        column: String,
        /// Its parameters: the fields of the registered type.
        #[serde(default = "no_params", skip_serializing_if = "has_no_params")]
        params: serde_json::Value,
    },
}

/// How [`Encoder::Text`] turns words into features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vectorizer {
    /// Term frequency times smoothed inverse document frequency, ln((1 + n) / (1 + df)) + 1, as
    /// scikit-learn's `TfidfVectorizer`.
    #[default]
    Tfidf,
    /// Term counts in `max_features` buckets by a stable hash of the term: no vocabulary to
    /// learn or save, unseen words still count.
    Hashing,
}

fn thousand() -> usize {
    1000
}

/// A stable 64-bit hash of text (FNV-1a), the same in every process and version.
pub(crate) fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The terms of `text`: its lower-cased words and, up to `ngrams`, runs of consecutive words.
fn terms(text: &str, ngrams: usize) -> Vec<String> {
    let words = words(text);
    let mut terms = words.clone();
    for n in 2..=ngrams {
        terms.extend(words.windows(n).map(|w| w.join(" ")));
    }
    terms
}

/// `(feature, weight)` pairs scaled to unit length, sorted by feature, repeated features summed.
fn unit_row(mut entries: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
    entries.sort_unstable_by_key(|(i, _)| *i);
    let mut merged: Vec<(u32, f32)> = Vec::with_capacity(entries.len());
    for (i, w) in entries {
        match merged.last_mut() {
            Some((j, total)) if *j == i => *total += w,
            _ => merged.push((i, w)),
        }
    }
    let norm = merged.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut merged {
            *w /= norm;
        }
    }
    merged
}

fn comma() -> String {
    ",".into()
}

fn one() -> usize {
    1
}

fn ten() -> usize {
    10
}

/// Builders for Rust pipelines, with the same defaults as TOML specs.
impl Encoder {
    /// `Pass` of `column`.
    pub fn pass(column: impl Into<String>) -> Encoder {
        Encoder::Pass {
            column: column.into(),
        }
    }

    /// `Uniform` of `column`.
    pub fn uniform(column: impl Into<String>) -> Encoder {
        Encoder::Uniform {
            column: column.into(),
        }
    }

    /// `Norm` of `column`.
    pub fn norm(column: impl Into<String>) -> Encoder {
        Encoder::Norm {
            column: column.into(),
        }
    }

    /// `Discrete` of `column` into `bins` bins.
    pub fn discrete(column: impl Into<String>, bins: usize) -> Encoder {
        Encoder::Discrete {
            column: column.into(),
            bins,
        }
    }

    /// `Quantile` of `column` into `quantiles` bins.
    pub fn quantile(column: impl Into<String>, quantiles: usize) -> Encoder {
        Encoder::Quantile {
            column: column.into(),
            quantiles,
        }
    }

    /// `Boolean` of `column`.
    pub fn boolean(column: impl Into<String>) -> Encoder {
        Encoder::Boolean {
            column: column.into(),
        }
    }

    /// `Equals` of `column` and `other`.
    pub fn equals(column: impl Into<String>, other: impl Into<String>) -> Encoder {
        Encoder::Equals {
            column: column.into(),
            other: other.into(),
        }
    }

    /// `Enum` of `column`.
    pub fn enumerated(column: impl Into<String>) -> Encoder {
        Encoder::Enum {
            column: column.into(),
        }
    }

    /// `OneHot` of `column`, a feature for every training category.
    pub fn one_hot(column: impl Into<String>) -> Encoder {
        Encoder::OneHot {
            column: column.into(),
            minimum_occurrences: 1,
            percent_occurrences: 0.0,
            drop_first: false,
        }
    }

    /// `Unique` of `column`, a code of its own for categories seen `minimum_occurrences` times.
    pub fn unique(column: impl Into<String>, minimum_occurrences: usize) -> Encoder {
        Encoder::Unique {
            column: column.into(),
            minimum_occurrences,
            twin: None,
        }
    }

    /// `Token` of `column`, its first `sequence_length` words.
    pub fn token(column: impl Into<String>, sequence_length: usize) -> Encoder {
        Encoder::Token {
            column: column.into(),
            sequence_length,
            minimum_occurrences: 1,
            twin: None,
        }
    }

    /// `NestedUnique` of `column`, its first `sequence_length` items (text separated by commas).
    pub fn nested_unique(column: impl Into<String>, sequence_length: usize) -> Encoder {
        Encoder::NestedUnique {
            column: column.into(),
            sequence_length,
            minimum_occurrences: 1,
            separator: comma(),
            twin: None,
        }
    }

    /// `NestedNorm` of `column`, its first `sequence_length` numbers (text separated by commas).
    pub fn nested_norm(column: impl Into<String>, sequence_length: usize) -> Encoder {
        Encoder::NestedNorm {
            column: column.into(),
            sequence_length,
            separator: comma(),
        }
    }

    /// `MiddleOut` of the positions in `column` within sequences of `length`.
    pub fn middle_out(
        column: impl Into<String>,
        length: impl Into<String>,
        depth: usize,
    ) -> Encoder {
        Encoder::MiddleOut {
            column: column.into(),
            length: length.into(),
            depth,
        }
    }
}

impl Encoder {
    /// A custom encoder registered as `name`, of `column`, with no parameters.
    pub fn custom(name: impl Into<String>, column: impl Into<String>) -> Encoder {
        Encoder::Custom {
            name: name.into(),
            column: column.into(),
            params: no_params(),
        }
    }

    /// The name of this custom encoder when this program has not registered it.
    pub fn unregistered(&self) -> Option<&str> {
        match self {
            Encoder::Custom { name, .. } if !is_registered(name) => Some(name),
            _ => None,
        }
    }

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
            | Encoder::NestedNorm { column, .. }
            | Encoder::Text { column, .. }
            | Encoder::Custom { column, .. } => vec![column],
            Encoder::Unique { column, twin, .. }
            | Encoder::Token { column, twin, .. }
            | Encoder::NestedUnique { column, twin, .. } => std::iter::once(column)
                .chain(twin)
                .map(String::as_str)
                .collect(),
            Encoder::Equals { column, other } => vec![column, other],
            Encoder::MiddleOut { column, length, .. } => vec![column, length],
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
            Encoder::Token { .. } => "Token",
            Encoder::NestedUnique { .. } => "NestedUnique",
            Encoder::NestedNorm { .. } => "NestedNorm",
            Encoder::MiddleOut { .. } => "MiddleOut",
            Encoder::Text { .. } => "Text",
            Encoder::Custom { name, .. } => name,
        };
        format!("{kind}({})", self.columns().join(", "))
    }

    /// Learns what this encoder needs from the training rows in `df`.
    pub fn fit(&self, df: &DataFrame) -> Result<FittedEncoder> {
        let mut state = self.start()?;
        state.update(df)?;
        state.finish()
    }

    /// Learns what this encoder needs from the rows `rows` of `df` (the training rows of a
    /// frame that also holds the others), without copying them out.
    pub fn fit_rows(&self, df: &DataFrame, rows: &[IdxSize]) -> Result<FittedEncoder> {
        let mut state = self.start()?;
        state.learn(df, Some(rows))?;
        state.finish()
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
            Encoder::MiddleOut { depth, .. } => {
                at_least_one("depth", *depth)?;
                StateKind::Stateless
            }
            Encoder::Text {
                max_features,
                ngrams,
                ..
            } => {
                at_least_one("max_features", *max_features)?;
                at_least_one("ngrams", *ngrams)?;
                StateKind::Text {
                    documents: PlHashMap::new(),
                    rows: 0,
                    ngrams: *ngrams,
                }
            }
            Encoder::Custom { name, params, .. } => StateKind::Custom {
                learner: custom::build(name, params)?,
                learned: serde_json::Value::Null,
            },
            Encoder::NestedNorm {
                sequence_length, ..
            } => {
                at_least_one("sequence_length", *sequence_length)?;
                StateKind::Moments {
                    n: 0.0,
                    mean: 0.0,
                    m2: 0.0,
                    range: Range::new(),
                }
            }
            Encoder::Token {
                sequence_length,
                minimum_occurrences,
                ..
            }
            | Encoder::NestedUnique {
                sequence_length,
                minimum_occurrences,
                ..
            } => {
                at_least_one("sequence_length", *sequence_length)?;
                StateKind::Unique {
                    minimum: (*minimum_occurrences).max(1),
                    counts: PlHashMap::new(),
                    rows: 0,
                }
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
    Text {
        /// How many training rows hold each term.
        documents: PlHashMap<String, usize>,
        /// Training rows with text.
        rows: usize,
        ngrams: usize,
    },
    Custom {
        learner: std::sync::Arc<dyn custom::Learner>,
        learned: serde_json::Value,
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

/// Calls `f` with each finite value of `name` as [`values`] reads them, in `rows` (every row when
/// `None`): what fitting learns from. Nulls, NaN and infinities are left out.
fn each_finite(
    df: &DataFrame,
    name: &str,
    by: &str,
    dates: bool,
    rows: Option<&[IdxSize]>,
    mut f: impl FnMut(f64),
) -> Result<()> {
    let col = frame::column(df, name, by)?;
    if dates || !col.dtype().is_primitive_numeric() {
        let all = values(df, name, by, dates)?;
        let at = |r: usize| all.get(r).copied().flatten().filter(|x| x.is_finite());
        match rows {
            None => (0..all.len()).filter_map(at).for_each(f),
            Some(rows) => rows.iter().filter_map(|r| at(*r as usize)).for_each(f),
        }
        return Ok(());
    }
    frame::each_number(df, name, by, rows, |v| {
        if let Some(x) = v.filter(|x| x.is_finite()) {
            f(x)
        }
    })
}

/// Adds to `counts` how often each text of `name` that is not null occurs in `rows` (every row
/// when `None`), counting by [`TextKey`] so that the rows' texts are neither copied nor compared
/// byte by byte.
fn count_texts(
    df: &DataFrame,
    name: &str,
    by: &str,
    rows: Option<&[IdxSize]>,
    counts: &mut PlHashMap<String, usize>,
) -> Result<()> {
    let texts = frame::text(df, name, by)?;
    let mut keyed: PlHashMap<TextKey, usize> = PlHashMap::new();
    let mut count = |key| *keyed.entry(key).or_default() += 1;
    match rows {
        None => frame::each_keyed_text(&texts, |v| v.into_iter().for_each(|(k, _)| count(k))),
        Some(rows) => frame::keyed_text_rows(&texts, rows)
            .flatten()
            .for_each(|(k, _)| count(k)),
    }
    for (key, n) in keyed {
        *counts.entry(key.text()).or_default() += n;
    }
    Ok(())
}

/// `f` of every value of `name` as [`values`] reads them, in one pass where the column is numeric.
fn map_values(
    df: &DataFrame,
    name: &str,
    by: &str,
    dates: bool,
    f: impl Fn(Option<f64>) -> f32,
) -> Result<Vec<f32>> {
    if dates {
        Ok(values(df, name, by, true)?.into_iter().map(f).collect())
    } else {
        frame::map_numbers(df, name, by, f)
    }
}

/// How a sequence encoder reads the items of a row.
#[derive(Debug, Clone, Copy)]
enum Items<'a> {
    /// Lower-cased words of text.
    Words,
    /// List items, or text items separated by this.
    List(&'a str),
}

impl Items<'_> {
    /// The items of every row of `column`.
    fn read(self, df: &DataFrame, column: &str, by: &str) -> Result<Vec<Option<Vec<String>>>> {
        match self {
            Items::Words => Ok(frame::text(df, column, by)?
                .iter()
                .map(|v| v.map(words))
                .collect()),
            Items::List(separator) => frame::lists(df, column, by, separator),
        }
    }
}

/// The lower-cased words of `text`: its runs of letters and digits.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Lists of numbers; an item that is not a number is an error naming the column.
fn number_lists(
    df: &DataFrame,
    column: &str,
    by: &str,
    separator: &str,
) -> Result<Vec<Option<Vec<f64>>>> {
    frame::lists(df, column, by, separator)?
        .into_iter()
        .map(|row| {
            row.map(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.parse::<f64>().map_err(|_| Error::ColumnType {
                            column: column.to_string(),
                            message: format!(
                                "{by} needs lists of numbers but found the item {item:?}"
                            ),
                        })
                    })
                    .collect::<Result<Vec<f64>>>()
            })
            .transpose()
        })
        .collect()
}

impl Encoder {
    /// How a sequence encoder reads its items and how many it keeps; `None` for encoders of
    /// single values.
    fn sequence(&self) -> Option<(Items<'_>, usize)> {
        match self {
            Encoder::Token {
                sequence_length, ..
            } => Some((Items::Words, *sequence_length)),
            Encoder::NestedUnique {
                sequence_length,
                separator,
                ..
            }
            | Encoder::NestedNorm {
                sequence_length,
                separator,
                ..
            } => Some((Items::List(separator), *sequence_length)),
            _ => None,
        }
    }
}

/// Training categories split into those with codes of their own, most frequent first, and the
/// long tail of rarer ones, sorted.
fn vocabulary(counts: PlHashMap<String, usize>, minimum: usize) -> (Vec<String>, Vec<String>) {
    let (mut kept, tail): (Counted, Counted) = counts.into_iter().partition(|(_, n)| *n >= minimum);
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut long_tail: Vec<String> = tail.into_iter().map(|(c, _)| c).collect();
    long_tail.sort();
    (kept.into_iter().map(|(c, _)| c).collect(), long_tail)
}

/// Mean, standard deviation and range from Welford's sums, finite and savable.
fn spread(n: f64, mean: f64, m2: f64, range: Range) -> (f64, f64, f64, f64) {
    let var = if n > 0.0 { m2 / n } else { 0.0 };
    let (min, max) = range.bounds();
    // Values near f64::MAX can overflow the variance; the largest finite spread stands in.
    let std = match var {
        v if v.is_infinite() => f64::MAX,
        v if v > 0.0 => v.sqrt(),
        _ => 1.0,
    };
    (if mean.is_finite() { mean } else { 0.0 }, std, min, max)
}

impl EncoderState {
    /// Learns from more training rows. Infinities are left out of what is learned, like nulls, so
    /// the fitted statistics stay finite (and savable); at encoding they are clipped or binned as
    /// out-of-range values.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        self.learn(df, None)
    }

    /// Learns from the rows `rows` of `df`, or from all of them when `None`. Numbers and single
    /// texts are read in place; the other kinds learn from a copy of those rows.
    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>) -> Result<()> {
        let by = &self.by;
        let columns = self.spec.columns();
        let column = columns[0];
        let in_place = match &self.kind {
            StateKind::Moments { .. } => !matches!(self.spec, Encoder::NestedNorm { .. }),
            // Stateless encoders only check their columns, whatever the rows.
            StateKind::Stateless
            | StateKind::Discrete { .. }
            | StateKind::Quantile { .. }
            | StateKind::Enum { .. } => true,
            StateKind::Unique { .. } => self.spec.sequence().is_none(),
            StateKind::Text { .. } | StateKind::Custom { .. } => false,
        };
        if let (Some(rows), false) = (rows, in_place) {
            let idx = IdxCa::from_vec("row".into(), rows.to_vec());
            let mut taken = Vec::with_capacity(columns.len());
            for c in &columns {
                taken.push(frame::column(df, c, by)?.take(&idx)?);
            }
            return self.learn(&DataFrame::new(rows.len(), taken)?, None);
        }
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
                let add = |x: f64| {
                    *n += 1.0;
                    let delta = x - *mean;
                    *mean += delta / *n;
                    *m2 += delta * (x - *mean);
                    range.add(x);
                };
                match &self.spec {
                    Encoder::NestedNorm {
                        sequence_length,
                        separator,
                        ..
                    } => number_lists(df, column, by, separator)?
                        .into_iter()
                        .flatten()
                        .flat_map(|items| items.into_iter().take(*sequence_length))
                        .filter(|x| x.is_finite())
                        .for_each(add),
                    _ => each_finite(df, column, by, false, rows, add)?,
                }
            }
            StateKind::Discrete { range, dates, .. } => {
                let is_dates = match *dates {
                    Some(d) => d,
                    None => *dates.insert(holds_dates(df, column, by)?),
                };
                each_finite(df, column, by, is_dates, rows, |x| range.add(x))?;
            }
            StateKind::Quantile {
                sample,
                seen,
                range,
                rng,
                ..
            } => {
                // Reservoir sampling: every training value has the same chance to be kept.
                each_finite(df, column, by, false, rows, |x| {
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
                })?;
            }
            StateKind::Enum { max } => {
                let mut wrong = None;
                each_finite(df, column, by, false, rows, |x| {
                    if x < 0.0 || x.fract() != 0.0 {
                        wrong.get_or_insert(x);
                    } else {
                        *max = Some(max.map_or(x as i64, |m| m.max(x as i64)));
                    }
                })?;
                if let Some(x) = wrong {
                    return Err(Error::ColumnType {
                        column: column.to_string(),
                        message: format!(
                            "{by} needs non-negative whole numbers but found {x}; use Unique for other categories"
                        ),
                    });
                }
            }
            StateKind::Text {
                documents,
                rows,
                ngrams,
            } => {
                for text in frame::text(df, column, by)?.iter().flatten() {
                    *rows += 1;
                    let mut row = terms(text, *ngrams);
                    row.sort_unstable();
                    row.dedup();
                    for term in row {
                        *documents.entry(term).or_default() += 1;
                    }
                }
            }
            StateKind::Custom { learner, learned } => {
                frame::column(df, column, by)?;
                learner.learn(learned, df, column)?;
            }
            StateKind::Unique {
                counts, rows: seen, ..
            } => {
                *seen += rows.map_or(df.height(), <[IdxSize]>::len);
                for c in &columns {
                    match self.spec.sequence() {
                        None => count_texts(df, c, by, rows, counts)?,
                        Some((items, length)) => {
                            for row in items.read(df, c, by)?.into_iter().flatten() {
                                for v in row.iter().take(length) {
                                    match counts.get_mut(v) {
                                        Some(n) => *n += 1,
                                        None => {
                                            counts.insert(v.to_string(), 1);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The fitted encoder.
    pub fn finish(self) -> Result<FittedEncoder> {
        let columns: Vec<String> = self.spec.columns().iter().map(|c| c.to_string()).collect();
        let column = columns[0].clone();
        Ok(match (self.spec, self.kind) {
            (
                Encoder::Text {
                    vectorizer,
                    max_features,
                    minimum_occurrences,
                    ..
                },
                StateKind::Text {
                    documents,
                    rows,
                    ngrams,
                },
            ) => match vectorizer {
                Vectorizer::Hashing => FittedEncoder::Text {
                    column,
                    vectorizer,
                    ngrams,
                    vocabulary: Vec::new(),
                    idf: Vec::new(),
                    width: max_features,
                },
                Vectorizer::Tfidf => {
                    let mut kept: Counted = documents
                        .into_iter()
                        .filter(|(_, n)| *n >= minimum_occurrences)
                        .collect();
                    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    kept.truncate(max_features);
                    let idf = kept
                        .iter()
                        .map(|(_, n)| ((1.0 + rows as f64) / (1.0 + *n as f64)).ln() + 1.0)
                        .collect();
                    FittedEncoder::Text {
                        column,
                        vectorizer,
                        ngrams,
                        width: kept.len(),
                        vocabulary: kept.into_iter().map(|(term, _)| term).collect(),
                        idf,
                    }
                }
            },
            (Encoder::Custom { name, params, .. }, StateKind::Custom { learner, learned }) => {
                let (width, cardinality) = learner.shape(&learned)?;
                FittedEncoder::Custom {
                    name,
                    column,
                    params,
                    learned,
                    width,
                    cardinality,
                }
            }
            (Encoder::Boolean { .. }, _) => FittedEncoder::Boolean { column },
            (Encoder::Equals { other, .. }, _) => FittedEncoder::Equals { column, other },
            (Encoder::Uniform { .. }, StateKind::Moments { range, .. }) => {
                let (min, max) = range.bounds();
                FittedEncoder::Uniform { column, min, max }
            }
            (
                Encoder::NestedNorm {
                    sequence_length,
                    separator,
                    ..
                },
                StateKind::Moments { n, mean, m2, range },
            ) => {
                let (mean, std, min, max) = spread(n, mean, m2, range);
                FittedEncoder::NestedNorm {
                    column,
                    sequence_length,
                    separator,
                    mean,
                    std,
                    min,
                    max,
                }
            }
            (_, StateKind::Moments { n, mean, m2, range }) => {
                let (mean, std, min, max) = spread(n, mean, m2, range);
                FittedEncoder::Norm {
                    column,
                    mean,
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
                Encoder::Token {
                    sequence_length,
                    twin,
                    ..
                },
                StateKind::Unique {
                    minimum, counts, ..
                },
            ) => {
                let (categories, long_tail) = vocabulary(counts, minimum);
                FittedEncoder::Token {
                    column,
                    twin,
                    sequence_length,
                    categories,
                    long_tail,
                }
            }
            (
                Encoder::NestedUnique {
                    sequence_length,
                    separator,
                    twin,
                    ..
                },
                StateKind::Unique {
                    minimum, counts, ..
                },
            ) => {
                let (categories, long_tail) = vocabulary(counts, minimum);
                FittedEncoder::NestedUnique {
                    column,
                    twin,
                    separator,
                    sequence_length,
                    categories,
                    long_tail,
                }
            }
            (
                spec,
                StateKind::Unique {
                    minimum, counts, ..
                },
            ) => {
                let (categories, long_tail) = vocabulary(counts, minimum);
                let twin = match spec {
                    Encoder::Unique { twin, .. } => twin,
                    _ => None,
                };
                FittedEncoder::Unique {
                    column,
                    categories,
                    long_tail,
                    twin,
                }
            }
            (Encoder::MiddleOut { length, depth, .. }, _) => FittedEncoder::MiddleOut {
                column,
                length,
                depth,
            },
            (_, StateKind::Stateless | StateKind::Custom { .. } | StateKind::Text { .. }) => {
                FittedEncoder::Pass { column }
            }
        })
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
        /// A second column coded with the same categories.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
    },
    /// A vocabulary of words coded like `Unique`, per position: `sequence_length` features per
    /// column, the null code after the last word.
    Token {
        /// The column.
        column: String,
        /// A second column coded with the same vocabulary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
        /// Words kept per row.
        sequence_length: usize,
        /// The kept words; a word's code is its index.
        categories: Vec<String>,
        /// Training words too rare for a code of their own.
        long_tail: Vec<String>,
    },
    /// A vocabulary of list items coded like `Unique`, per position.
    NestedUnique {
        /// The column.
        column: String,
        /// A second column coded with the same vocabulary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        twin: Option<String>,
        /// What separates the items of a text column.
        separator: String,
        /// Items kept per row.
        sequence_length: usize,
        /// The kept items; an item's code is its index.
        categories: Vec<String>,
        /// Training items too rare for a code of their own.
        long_tail: Vec<String>,
    },
    /// The mean, standard deviation and range of every training item of number lists.
    NestedNorm {
        /// The column.
        column: String,
        /// Items kept per row.
        sequence_length: usize,
        /// What separates the items of a text column.
        separator: String,
        /// Mean of the training items.
        mean: f64,
        /// Standard deviation of the training items (1 when constant).
        std: f64,
        /// Smallest training item: smaller ones are clipped to it.
        min: f64,
        /// Largest training item: larger ones are clipped to it.
        max: f64,
    },
    /// Codes `0..depth` for the first positions, `depth` for the middle, `depth + 1..=2 * depth`
    /// for the last positions (the last is `2 * depth`), `2 * depth + 1` for null or a position
    /// outside its sequence.
    MiddleOut {
        /// The column of positions, counted from 0.
        column: String,
        /// The column of sequence lengths.
        length: String,
        /// Positions at each end with codes of their own.
        depth: usize,
    },
    /// A bag of words: TF-IDF over a vocabulary, or hashed counts; sparse.
    Text {
        /// The column.
        column: String,
        /// How words become features.
        vectorizer: Vectorizer,
        /// Longest run of words taken as one term.
        ngrams: usize,
        /// TF-IDF: the terms, a term's feature is its index; empty for hashing.
        vocabulary: Vec<String>,
        /// TF-IDF: each term's inverse document frequency.
        idf: Vec<f64>,
        /// How many features: the vocabulary's size, or the hashing buckets.
        width: usize,
    },
    /// A project's own encoder and what it learned.
    Custom {
        /// The name it is registered under.
        name: String,
        /// The column.
        column: String,
        /// Its parameters.
        #[serde(default = "no_params", skip_serializing_if = "has_no_params")]
        params: serde_json::Value,
        /// What it learned from the training rows.
        learned: serde_json::Value,
        /// How many features it makes.
        width: usize,
        /// How many codes each feature takes, or none for floats.
        cardinality: Option<usize>,
    },
}

/// Codes of the categories of a fitted `Unique`, `Token` or `NestedUnique`: a category's index,
/// then one code each for the long tail, unseen values and null.
struct Vocabulary<'a> {
    /// The code of every training category, the long tail's included: one lookup a value.
    codes: PlHashMap<TextKey<'a>, f32>,
    /// How many categories have codes of their own.
    kept: usize,
}

impl<'a> Vocabulary<'a> {
    fn new(categories: &'a [String], long_tail: &'a [String]) -> Vocabulary<'a> {
        let mut codes = PlHashMap::with_capacity(categories.len() + long_tail.len());
        codes.extend(
            vocabulary_codes(categories, long_tail).map(|(c, code)| (TextKey::of(c), code)),
        );
        Vocabulary {
            codes,
            kept: categories.len(),
        }
    }

    fn code(&self, value: Option<&str>) -> f32 {
        self.code_of(value.map(TextKey::of))
    }

    /// The code of a text given by its key.
    #[inline]
    fn code_of(&self, key: Option<TextKey<'_>>) -> f32 {
        vocabulary_code(self.kept, key.map(|k| self.codes.get(&k).copied()))
    }

    /// `length` codes for the first items of a row, the null code after its last item.
    fn codes<'r>(
        &'r self,
        row: Option<&'r Vec<String>>,
        length: usize,
    ) -> impl Iterator<Item = f32> + 'r {
        let items = row.map_or(&[][..], Vec::as_slice);
        (0..length).map(move |i| self.code(items.get(i).map(String::as_str)))
    }

    /// What a code stands for.
    fn decode(categories: &[String], code: usize) -> Option<String> {
        match code.checked_sub(categories.len()) {
            None => categories.get(code).cloned(),
            Some(0) => Some("(long tail)".into()),
            Some(1) => Some("(unseen)".into()),
            Some(_) => None,
        }
    }
}

/// Every training category of a vocabulary with its code: the long tail's share code `kept`, and
/// a kept category (listed after them, so it wins) has its index.
pub(crate) fn vocabulary_codes<'a>(
    categories: &'a [String],
    long_tail: &'a [String],
) -> impl Iterator<Item = (&'a str, f32)> {
    let kept = categories.len() as f32;
    long_tail.iter().map(move |c| (c.as_str(), kept)).chain(
        categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as f32)),
    )
}

/// The code of a value in a vocabulary of `kept` categories, given its code where it has one:
/// `kept + 1` for an unseen value, `kept + 2` for null.
pub(crate) fn vocabulary_code(kept: usize, value: Option<Option<f32>>) -> f32 {
    match value {
        None => (kept + 2) as f32,
        Some(found) => found.unwrap_or((kept + 1) as f32),
    }
}

/// Blocks of row-major values, `width` a row each, side by side: row after row of the blocks'
/// rows placed next to one another.
pub(crate) fn side_by_side(blocks: &[(Vec<f32>, usize)], rows: usize) -> Vec<f32> {
    let columns: usize = blocks.iter().map(|(_, w)| w).sum();
    let mut values = vec![0f32; rows * columns];
    interleave(blocks, &mut values);
    values
}

/// Writes blocks of row-major values side by side into `into`, which holds as many rows of all
/// the blocks' widths together.
pub(crate) fn interleave(blocks: &[(Vec<f32>, usize)], into: &mut [f32]) {
    let columns: usize = blocks.iter().map(|(_, w)| w).sum();
    if columns == 0 {
        return;
    }
    let mut offset = 0;
    for (block, width) in blocks.iter().filter(|(_, w)| *w > 0) {
        for (to, from) in into
            .chunks_exact_mut(columns)
            .zip(block.chunks_exact(*width))
        {
            to[offset..offset + width].copy_from_slice(from);
        }
        offset += width;
    }
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
    /// The name of this custom encoder when this program has not registered it.
    pub fn unregistered(&self) -> Option<&str> {
        match self {
            FittedEncoder::Custom { name, .. } if !is_registered(name) => Some(name),
            _ => None,
        }
    }

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
            | FittedEncoder::NestedNorm { column, .. }
            | FittedEncoder::Text { column, .. }
            | FittedEncoder::Custom { column, .. } => vec![column],
            FittedEncoder::Unique { column, twin, .. }
            | FittedEncoder::Token { column, twin, .. }
            | FittedEncoder::NestedUnique { column, twin, .. } => std::iter::once(column)
                .chain(twin)
                .map(String::as_str)
                .collect(),
            FittedEncoder::Equals { column, other } => vec![column, other],
            FittedEncoder::MiddleOut { column, length, .. } => vec![column, length],
        }
    }

    /// How many features it makes: one, except for `OneHot`, twins and sequences.
    pub fn width(&self) -> usize {
        match self {
            FittedEncoder::OneHot {
                categories,
                drop_first,
                ..
            } => categories.len().saturating_sub(usize::from(*drop_first)),
            FittedEncoder::Unique { twin, .. } => 1 + usize::from(twin.is_some()),
            FittedEncoder::Token {
                twin,
                sequence_length,
                ..
            }
            | FittedEncoder::NestedUnique {
                twin,
                sequence_length,
                ..
            } => sequence_length * (1 + usize::from(twin.is_some())),
            FittedEncoder::NestedNorm {
                sequence_length, ..
            } => *sequence_length,
            FittedEncoder::Custom { width, .. } | FittedEncoder::Text { width, .. } => *width,
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
            FittedEncoder::Token { .. } => "Token",
            FittedEncoder::NestedUnique { .. } => "NestedUnique",
            FittedEncoder::NestedNorm { .. } => "NestedNorm",
            FittedEncoder::MiddleOut { .. } => "MiddleOut",
            FittedEncoder::Text { .. } => "Text",
            FittedEncoder::Custom { name, .. } => name,
        };
        let stem = format!("{kind}({})", self.columns().join(", "));
        let positions = |columns: Vec<&str>, length: usize| -> Vec<String> {
            columns
                .into_iter()
                .flat_map(|c| (0..length).map(move |i| format!("{kind}({c})[{i}]")))
                .collect()
        };
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
            FittedEncoder::Unique { .. } => self
                .columns()
                .into_iter()
                .map(|c| format!("{kind}({c})"))
                .collect(),
            FittedEncoder::Token {
                sequence_length, ..
            }
            | FittedEncoder::NestedUnique {
                sequence_length, ..
            }
            | FittedEncoder::NestedNorm {
                sequence_length, ..
            } => positions(self.columns(), *sequence_length),
            FittedEncoder::Custom { width, .. } if *width != 1 => positions(self.columns(), *width),
            FittedEncoder::Text {
                vocabulary, width, ..
            } => match vocabulary.is_empty() {
                true => positions(self.columns(), *width),
                false => vocabulary.iter().map(|t| format!("{stem}={t}")).collect(),
            },
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
            FittedEncoder::Unique { categories, .. }
            | FittedEncoder::Token { categories, .. }
            | FittedEncoder::NestedUnique { categories, .. } => Some(categories.len() + 3),
            FittedEncoder::NestedNorm { .. } | FittedEncoder::Text { .. } => None,
            FittedEncoder::MiddleOut { depth, .. } => Some(2 * depth + 2),
            FittedEncoder::Custom { cardinality, .. } => *cardinality,
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
            FittedEncoder::Norm { mean, std, .. } | FittedEncoder::NestedNorm { mean, std, .. } => {
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
            FittedEncoder::Unique { categories, .. }
            | FittedEncoder::Token { categories, .. }
            | FittedEncoder::NestedUnique { categories, .. } => {
                Vocabulary::decode(categories, code)
            }
            FittedEncoder::MiddleOut { depth, .. } => match code {
                c if c < *depth => Some(format!("position {c}")),
                c if c == *depth => Some("middle".into()),
                c if c <= 2 * depth => Some(format!("{} from the end", 2 * depth - c)),
                _ => None,
            },
            FittedEncoder::Custom { .. } | FittedEncoder::Text { .. } => Some(value.to_string()),
        }
    }

    /// Whether its features are sparse (most entries absent): estimators then get a sparse
    /// matrix, built with [`FittedEncoder::encode_sparse`].
    pub fn is_sparse(&self) -> bool {
        matches!(self, FittedEncoder::Text { .. })
    }

    /// Encodes every row of `df` as sparse rows; an encoder of dense features gives every value
    /// that is not missing.
    pub fn encode_sparse(&self, df: &DataFrame) -> Result<Csr> {
        let mut csr = Csr::new();
        let FittedEncoder::Text {
            column,
            vectorizer,
            ngrams,
            vocabulary,
            idf,
            width,
        } = self
        else {
            let width = self.width();
            let dense = self.encode(df)?;
            for r in 0..df.height() {
                for (j, v) in dense[r * width..(r + 1) * width].iter().enumerate() {
                    if !v.is_nan() {
                        csr.indices.push(j as u32);
                        csr.values.push(*v);
                    }
                }
                csr.end_row();
            }
            return Ok(csr);
        };
        let by = format!("fitted encoder of {column}");
        let index: PlHashMap<&str, u32> = vocabulary
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        for text in frame::text(df, column, &by)?.iter() {
            let entries: Vec<(u32, f32)> = terms(text.unwrap_or_default(), *ngrams)
                .iter()
                .filter_map(|term| match vectorizer {
                    Vectorizer::Tfidf => index
                        .get(term.as_str())
                        .map(|i| (*i, idf[*i as usize] as f32)),
                    Vectorizer::Hashing => {
                        Some(((text_hash(term) % (*width).max(1) as u64) as u32, 1.0))
                    }
                })
                .collect();
            for (i, w) in unit_row(entries) {
                csr.indices.push(i);
                csr.values.push(w);
            }
            csr.end_row();
        }
        Ok(csr)
    }

    /// Encodes every row of `df`, [`FittedEncoder::width`] values a row, row after row; floats are
    /// NaN where a value is missing, codes follow [`FittedEncoder::cardinality`].
    pub fn encode(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let by = format!("fitted encoder of {}", self.columns().join(", "));
        Ok(match self {
            FittedEncoder::Pass { column } => {
                map_values(df, column, &by, false, |v| v.map_or(f32::NAN, |x| x as f32))?
            }
            FittedEncoder::Uniform { column, min, max } => {
                map_values(df, column, &by, false, |v| uniform_code(v, *min, *max))?
            }
            FittedEncoder::Norm {
                column,
                mean,
                std,
                min,
                max,
            } => map_values(df, column, &by, false, |v| {
                norm_code(v, *mean, *std, *min, *max)
            })?,
            FittedEncoder::Discrete {
                column,
                min,
                max,
                bins,
                dates,
            } => map_values(df, column, &by, *dates, |v| {
                discrete_code(v, *min, *max, *bins)
            })?,
            FittedEncoder::Quantile {
                column,
                boundaries,
                quantiles,
                min,
                max,
            } => map_values(df, column, &by, false, |v| {
                quantile_code(v, boundaries, *quantiles, *min, *max)
            })?,
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
                .map(|v| enum_code(v, *cardinality))
                .collect(),
            FittedEncoder::OneHot {
                column,
                categories,
                drop_first,
            } => {
                let width = self.width();
                let index: PlHashMap<&str, usize> =
                    one_hot_features(categories, *drop_first).collect();
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
                categories,
                long_tail,
                ..
            } => {
                let vocabulary = Vocabulary::new(categories, long_tail);
                let blocks = self
                    .columns()
                    .into_iter()
                    .map(|c| {
                        let texts = frame::text(df, c, &by)?;
                        let mut codes = Vec::with_capacity(texts.len());
                        frame::each_keyed_text(&texts, |v| {
                            codes.push(vocabulary.code_of(v.map(|(k, _)| k)))
                        });
                        Ok((codes, 1))
                    })
                    .collect::<Result<Vec<_>>>()?;
                side_by_side(&blocks, df.height())
            }
            FittedEncoder::Token {
                sequence_length,
                categories,
                long_tail,
                ..
            }
            | FittedEncoder::NestedUnique {
                sequence_length,
                categories,
                long_tail,
                ..
            } => {
                let items = match self {
                    FittedEncoder::NestedUnique { separator, .. } => Items::List(separator),
                    _ => Items::Words,
                };
                let vocabulary = Vocabulary::new(categories, long_tail);
                let blocks = self
                    .columns()
                    .into_iter()
                    .map(|c| {
                        let codes = items
                            .read(df, c, &by)?
                            .iter()
                            .flat_map(|row| vocabulary.codes(row.as_ref(), *sequence_length))
                            .collect();
                        Ok((codes, *sequence_length))
                    })
                    .collect::<Result<Vec<_>>>()?;
                side_by_side(&blocks, df.height())
            }
            FittedEncoder::NestedNorm {
                column,
                sequence_length,
                separator,
                mean,
                std,
                min,
                max,
            } => number_lists(df, column, &by, separator)?
                .iter()
                .flat_map(|row| {
                    let items = row.as_deref().unwrap_or_default();
                    (0..*sequence_length).map(move |i| {
                        norm_code(
                            items.get(i).copied().filter(|x| !x.is_nan()),
                            *mean,
                            *std,
                            Some(*min),
                            Some(*max),
                        )
                    })
                })
                .collect(),
            FittedEncoder::MiddleOut {
                column,
                length,
                depth,
            } => {
                let positions = values(df, column, &by, false)?;
                let lengths = values(df, length, &by, false)?;
                positions
                    .iter()
                    .zip(&lengths)
                    .map(|(p, l)| middle_out_code(*p, *l, *depth))
                    .collect()
            }
            FittedEncoder::Text { width, .. } => {
                let sparse = self.encode_sparse(df)?;
                let mut dense = vec![0.0; df.height() * width];
                for r in 0..df.height() {
                    for (i, v) in sparse.row(r) {
                        dense[r * width + i as usize] = v;
                    }
                }
                dense
            }
            FittedEncoder::Custom {
                name,
                column,
                params,
                learned,
                width,
                ..
            } => {
                frame::column(df, column, &by)?;
                let values = custom::build(name, params)?.encode(learned, df, column)?;
                if values.len() != df.height() * width {
                    return Err(Error::Data(format!(
                        "encoder {name}({column}) gave {} values for {} rows of {width} features; \
                         give width × rows values, row after row",
                        values.len(),
                        df.height()
                    )));
                }
                values
            }
        })
    }
}

/// Each kept category of a `OneHot` encoder with its feature (the first has none with
/// `drop_first`).
pub(crate) fn one_hot_features(
    categories: &[String],
    drop_first: bool,
) -> impl Iterator<Item = (&str, usize)> {
    let skip = usize::from(drop_first);
    categories
        .iter()
        .enumerate()
        .skip(skip)
        .map(move |(i, c)| (c.as_str(), i - skip))
}

/// The `Uniform` code of one number (`None`: null or NaN) of a training range `min..=max`.
#[inline]
pub(crate) fn uniform_code(v: Option<f64>, min: f64, max: f64) -> f32 {
    let span = max - min;
    match v {
        None => f32::NAN,
        Some(_) if span <= 0.0 => 0.0,
        Some(x) => ((x.clamp(min, max) - min) / span) as f32,
    }
}

/// The `Norm` code of one number (`None`: null or NaN), clipped to the training range if known.
#[inline]
pub(crate) fn norm_code(
    v: Option<f64>,
    mean: f64,
    std: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> f32 {
    let (lo, hi) = (
        min.unwrap_or(f64::NEG_INFINITY),
        max.unwrap_or(f64::INFINITY),
    );
    v.map_or(f32::NAN, |x| ((x.clamp(lo, hi) - mean) / std) as f32)
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

/// The `Enum` code of one number (`None`: null or NaN).
#[inline]
pub(crate) fn enum_code(v: Option<f64>, cardinality: usize) -> f32 {
    match v {
        None => (cardinality + 1) as f32,
        Some(x) if x >= 0.0 && x.fract() == 0.0 && (x as usize) < cardinality => x as f32,
        Some(_) => cardinality as f32,
    }
}

/// The `MiddleOut` code of a position and the length of its sequence (`None`: null or NaN).
#[inline]
pub(crate) fn middle_out_code(position: Option<f64>, length: Option<f64>, depth: usize) -> f32 {
    match (position, length) {
        (Some(p), Some(l)) if p >= 0.0 && p < l && p.fract() == 0.0 => {
            middle_out(p, l - 1.0 - p, depth) as f32
        }
        _ => (2 * depth + 1) as f32,
    }
}

/// The `MiddleOut` code of a position `from_start` places from a sequence's start and
/// `from_end` from its end: its own code near either end, whichever is nearer, and the middle
/// code `depth` otherwise. In floats, as the values come: positions beyond `usize` (a column of
/// 1e300) compare as they are instead of overflowing.
fn middle_out(from_start: f64, from_end: f64, depth: usize) -> usize {
    let deep = depth as f64;
    if from_start < from_end && from_start < deep {
        from_start as usize
    } else if from_end < from_start && from_end < deep {
        2 * depth - from_end as usize
    } else {
        depth
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
                twin: None,
            },
            &train,
        );
        assert_eq!(
            f,
            FittedEncoder::Unique {
                column: "c".into(),
                categories: vec!["a".into(), "c".into()],
                long_tail: vec!["b".into()],
                twin: None,
            }
        );
        let test = df!("c" => [Some("c"), Some("b"), Some("zzz"), None]).unwrap();
        assert_eq!(codes(&f, &test), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.cardinality(), Some(5));
        assert_eq!(f.decode(0.0), Some("a".into()));
        assert_eq!(f.decode(3.0), Some("(unseen)".into()));
    }

    #[test]
    fn twins_share_one_vocabulary_learned_from_both() {
        let train = df!(
            "first_name" => [Some("Ann"), Some("Bo"), None],
            "first_name_twin" => [Some("Cy"), Some("Ann"), Some("Bo")]
        )
        .unwrap();
        let f = fit(
            Encoder::Unique {
                column: "first_name".into(),
                minimum_occurrences: 1,
                twin: Some("first_name_twin".into()),
            },
            &train,
        );
        assert_eq!(f.width(), 2);
        assert_eq!(
            f.features(),
            vec!["Unique(first_name)", "Unique(first_name_twin)"]
        );
        // Ann and Bo twice each, Cy once: codes 0, 1, 2; then long tail 3, unseen 4, null 5.
        let later = df!(
            "first_name" => [Some("Cy"), None],
            "first_name_twin" => [Some("Ann"), Some("Zed")]
        )
        .unwrap();
        assert_eq!(codes(&f, &later), vec![2.0, 0.0, 5.0, 4.0]);
    }

    #[test]
    fn token_codes_the_first_words_with_null_after_the_last() {
        let train =
            df!("t" => [Some("Red apples, red pears"), Some("green apples"), None]).unwrap();
        let f = fit(Encoder::token("t", 3), &train);
        // Counted in the first three words: red 2, apples 2, green 1, pears 0 (fourth word).
        let FittedEncoder::Token { categories, .. } = &f else {
            panic!("{f:?}")
        };
        assert_eq!(categories, &["apples", "red", "green"]);
        let v = codes(
            &f,
            &df!("t" => [Some("RED Kiwis"), Some(""), None]).unwrap(),
        );
        // red, kiwis (unseen 4), null 5; then three nulls; then three nulls.
        assert_eq!(v, vec![1.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]);
        assert_eq!(f.cardinality(), Some(6));
        assert_eq!(f.features()[2], "Token(t)[2]");
        assert_eq!(f.decode(4.0), Some("(unseen)".into()));
    }

    #[test]
    fn nested_unique_codes_list_items_and_separated_text() {
        let lists =
            df!("tags" => [Series::new("".into(), ["a", "b"]), Series::new("".into(), ["b"])])
                .unwrap();
        let f = fit(Encoder::nested_unique("tags", 2), &lists);
        assert_eq!(codes(&f, &lists), vec![1.0, 0.0, 0.0, 4.0]);
        let text = df!("tags" => [Some("b, a,, c"), None]).unwrap();
        assert_eq!(codes(&f, &text), vec![0.0, 1.0, 4.0, 4.0]);
        assert_eq!(
            f.features(),
            vec!["NestedUnique(tags)[0]", "NestedUnique(tags)[1]"]
        );
    }

    #[test]
    fn nested_norm_standardises_every_item_and_pads_with_nan() {
        let train = df!("xs" => [Some("1, 3"), Some("2"), None]).unwrap();
        let f = fit(Encoder::nested_norm("xs", 3), &train);
        let FittedEncoder::NestedNorm { mean, min, max, .. } = &f else {
            panic!("{f:?}")
        };
        assert_eq!((*mean, *min, *max), (2.0, 1.0, 3.0));
        let std = (2.0f64 / 3.0).sqrt() as f32;
        let v = codes(&f, &df!("xs" => [Some("2, 99"), None]).unwrap());
        assert!(
            same(
                &v,
                &[0.0, 1.0 / std, f32::NAN, f32::NAN, f32::NAN, f32::NAN]
            ),
            "{v:?}"
        );
        let err = f
            .encode(&df!("xs" => ["1, two"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"two\"") && err.contains("xs"), "{err}");
    }

    #[test]
    fn middle_out_codes_both_ends_and_shares_the_middle() {
        let df = df!(
            "position" => [0, 1, 2, 3, 4, 5, 6, 0, 9, -1].map(Some).into_iter().chain([None]).collect::<Vec<Option<i64>>>(),
            "length" => [7i64, 7, 7, 7, 7, 7, 7, 1, 3, 3, 3]
        )
        .unwrap();
        let f = fit(Encoder::middle_out("position", "length", 2), &df);
        // Depth 2: 0, 1 | middle 2 | 3, 4 for the second-last and last; 5 for invalid or null.
        assert_eq!(
            codes(&f, &df),
            vec![0.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 2.0, 5.0, 5.0, 5.0]
        );
        assert_eq!(f.cardinality(), Some(6));
        assert_eq!(f.decode(3.0), Some("1 from the end".into()));
        let zero = Encoder::middle_out("position", "length", 0).fit(&df);
        assert!(zero.unwrap_err().to_string().contains("depth"));
    }

    #[test]
    fn text_weighs_words_by_tf_idf_like_scikit_learn_and_is_sparse() {
        let train = df!("t" => [Some("a b"), Some("A, c!"), Some("a"), None]).unwrap();
        let f = fit(
            Encoder::Text {
                column: "t".into(),
                vectorizer: Vectorizer::Tfidf,
                max_features: 10,
                minimum_occurrences: 1,
                ngrams: 1,
            },
            &train,
        );
        assert!(f.is_sparse());
        assert_eq!(f.features(), vec!["Text(t)=a", "Text(t)=b", "Text(t)=c"]);
        let later = df!("t" => [Some("b a a"), Some("zzz"), None]).unwrap();
        let csr = f.encode_sparse(&later).unwrap();
        assert_eq!(csr.indptr, vec![0, 2, 2, 2]);
        assert_eq!(csr.indices, vec![0, 1]);
        // tf-idf of a: 2 * (ln(4/4) + 1), of b: 1 * (ln(4/2) + 1); then unit length.
        let (a, b) = (2.0f64, 1.0 + 2f64.ln());
        let norm = (a * a + b * b).sqrt();
        assert!(
            (f64::from(csr.values[0]) - a / norm).abs() < 1e-6,
            "{csr:?}"
        );
        assert!(
            (f64::from(csr.values[1]) - b / norm).abs() < 1e-6,
            "{csr:?}"
        );
        // Dense, absent words are zeros.
        assert_eq!(codes(&f, &later)[2..], [0.0; 7]);
    }

    #[test]
    fn text_keeps_the_commonest_terms_and_can_hash_them_instead() {
        let train = df!("t" => ["red apple", "red pear", "green apple pie"]).unwrap();
        let f = fit(
            Encoder::Text {
                column: "t".into(),
                vectorizer: Vectorizer::Tfidf,
                max_features: 3,
                minimum_occurrences: 2,
                ngrams: 2,
            },
            &train,
        );
        // Only "apple" and "red" are in two rows; pairs like "red apple" in one.
        assert_eq!(f.features(), vec!["Text(t)=apple", "Text(t)=red"]);
        let hashed = fit(
            Encoder::Text {
                column: "t".into(),
                vectorizer: Vectorizer::Hashing,
                max_features: 16,
                minimum_occurrences: 1,
                ngrams: 1,
            },
            &train,
        );
        assert_eq!(hashed.width(), 16);
        let csr = hashed
            .encode_sparse(&df!("t" => ["never seen words"]).unwrap())
            .unwrap();
        assert!(!csr.indices.is_empty() && csr.indices.iter().all(|i| *i < 16));
        let norm: f32 = csr.values.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-6);
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
                twin: None,
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
                twin: None,
            },
        ] {
            let mut state = encoder.start().unwrap();
            state.update(&all.slice(0, 2)).unwrap();
            state.update(&all.slice(2, 3)).unwrap();
            let batched = state.finish().unwrap();
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
                twin: None,
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
}
