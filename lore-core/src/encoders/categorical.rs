//! Categories as features: codes already in the data (`Enum`), one 0/1 feature per frequent
//! category (`OneHot`), or codes over a learned vocabulary (`Unique`). The vocabulary and its
//! learner are shared with the sequence encoders.

use std::fmt;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Fitted, Learner, Reads, Spec, Start};
use crate::encoders::read::{count_texts, each_finite, side_by_side, values, Items};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput};
use crate::error::{Error, Result};
use crate::frame::{self, TextKey};

pub(crate) fn one() -> usize {
    1
}

/// Categories with their training counts.
type Counted = Vec<(String, usize)>;

/// Non-negative integer codes already in the data, kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enum {
    /// The column.
    pub column: String,
}

/// A fitted [`Enum`]: codes `0..cardinality` as they are; `cardinality` for larger (unseen)
/// codes, `cardinality + 1` for null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedEnum {
    /// The column.
    pub column: String,
    /// One more than the largest training code.
    pub cardinality: usize,
}

#[derive(Debug)]
struct LearnEnum {
    column: String,
    max: Option<i64>,
}

reads!("Enum": Enum, FittedEnum);

impl Spec for Enum {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(Box::new(LearnEnum {
            column: self.column.clone(),
            max: None,
        }))
    }
}

impl Learner for LearnEnum {
    fn in_place(&self) -> bool {
        true
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let mut wrong = None;
        let max = &mut self.max;
        each_finite(df, &self.column, by, false, rows, |x| {
            if x < 0.0 || x.fract() != 0.0 {
                wrong.get_or_insert(x);
            } else {
                *max = Some(max.map_or(x as i64, |m| m.max(x as i64)));
            }
        })?;
        match wrong {
            None => Ok(()),
            Some(x) => Err(Error::ColumnType {
                column: self.column.clone(),
                message: format!(
                    "{by} needs non-negative whole numbers but found {x}; use Unique for other categories"
                ),
            }),
        }
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        Ok(FittedEnum {
            column: self.column,
            cardinality: self.max.map_or(0, |m| m as usize + 1),
        }
        .into())
    }
}

impl Fitted for FittedEnum {
    fn cardinality(&self) -> Option<usize> {
        Some(self.cardinality + 2)
    }

    fn decode(&self, value: f32) -> Option<String> {
        let code = value as usize;
        (code < self.cardinality).then(|| code.to_string())
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        Ok(values(df, &self.column, by, false)?
            .into_iter()
            .map(|v| enum_code(v, self.cardinality))
            .collect())
    }
}

/// One 0/1 feature per category seen at least `minimum_occurrences` times and in at least
/// `percent_occurrences` percent of the training rows, most frequent first; other, unseen and
/// null values are all zeros.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneHot {
    /// The column.
    pub column: String,
    /// Fewest training rows a category needs to get a feature of its own.
    #[serde(default = "one")]
    pub minimum_occurrences: usize,
    /// Smallest percentage (0..100) of the training rows a category needs.
    #[serde(default)]
    pub percent_occurrences: f64,
    /// Leave out the most frequent category's feature (all zeros then means it), for linear
    /// models that need independent features.
    #[serde(default)]
    pub drop_first: bool,
}

/// A fitted [`OneHot`]: one 0/1 feature per kept category (the first left out with
/// `drop_first`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedOneHot {
    /// The column.
    pub column: String,
    /// The kept categories, most frequent first.
    pub categories: Vec<String>,
    /// Whether the first category has no feature of its own.
    pub drop_first: bool,
}

reads!("OneHot": OneHot, FittedOneHot);

impl Spec for OneHot {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        let percent = self.percent_occurrences;
        if !(0.0..=100.0).contains(&percent) {
            return Err(Error::InvalidParam {
                key: format!("{}.percent_occurrences", start.by),
                message: format!("{percent} is not a percentage between 0 and 100"),
            });
        }
        let (column, drop_first) = (self.column.clone(), self.drop_first);
        let minimum = self.minimum_occurrences.max(1);
        Ok(Box::new(LearnCounts::new(
            self.columns(),
            None,
            move |counts, rows| {
                let least = minimum.max((percent / 100.0 * rows as f64).ceil() as usize);
                let mut kept: Counted = counts.into_iter().filter(|(_, n)| *n >= least).collect();
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                FittedOneHot {
                    column,
                    categories: kept.into_iter().map(|(c, _)| c).collect(),
                    drop_first,
                }
                .into()
            },
        )))
    }
}

impl Fitted for FittedOneHot {
    fn width(&self) -> usize {
        self.categories
            .len()
            .saturating_sub(usize::from(self.drop_first))
    }

    fn features(&self) -> Vec<String> {
        let stem = crate::encoders::contract::stem("OneHot", &[&self.column]);
        self.categories
            .iter()
            .skip(usize::from(self.drop_first))
            .map(|c| format!("{stem}={c}"))
            .collect()
    }

    fn cardinality(&self) -> Option<usize> {
        Some(2)
    }

    fn decode(&self, value: f32) -> Option<String> {
        Some((value as usize == 1).to_string())
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let width = self.width();
        let index: PlHashMap<&str, usize> =
            one_hot_features(&self.categories, self.drop_first).collect();
        let texts = frame::text(df, &self.column, by)?;
        let mut out = vec![0.0; texts.len() * width];
        for (row, v) in texts.iter().enumerate() {
            if let Some(i) = v.and_then(|v| index.get(v)) {
                out[row * width + i] = 1.0;
            }
        }
        Ok(out)
    }
}

/// Categories as codes, most frequent first; categories seen fewer than `minimum_occurrences`
/// times in training share a long-tail code, and unseen and null values have codes of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unique {
    /// The column.
    pub column: String,
    /// Fewest training rows a category needs to get a code of its own.
    #[serde(default = "one")]
    pub minimum_occurrences: usize,
    /// A second column coded with the same vocabulary (learned from both), such as
    /// `first_name_twin` next to `first_name`: one feature each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
}

/// A fitted [`Unique`]: codes for the kept categories in order, then one for the long tail, one
/// for unseen values and one for null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedUnique {
    /// The column.
    pub column: String,
    /// The kept categories; a category's code is its index.
    pub categories: Vec<String>,
    /// Training categories too rare for a code of their own.
    #[serde(default)]
    pub long_tail: Vec<String>,
    /// A second column coded with the same categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
}

reads!("Unique": Unique, FittedUnique; twin);

impl Spec for Unique {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        let (column, twin) = (self.column.clone(), self.twin.clone());
        let minimum = self.minimum_occurrences.max(1);
        Ok(Box::new(LearnCounts::new(
            self.columns(),
            None,
            move |counts, _| {
                let (categories, long_tail) = vocabulary(counts, minimum);
                FittedUnique {
                    column,
                    categories,
                    long_tail,
                    twin,
                }
                .into()
            },
        )))
    }
}

impl Fitted for FittedUnique {
    fn width(&self) -> usize {
        1 + usize::from(self.twin.is_some())
    }

    fn features(&self) -> Vec<String> {
        self.columns()
            .into_iter()
            .map(|c| format!("Unique({c})"))
            .collect()
    }

    fn cardinality(&self) -> Option<usize> {
        Some(self.categories.len() + 3)
    }

    fn decode(&self, value: f32) -> Option<String> {
        Vocabulary::decode(&self.categories, value as usize)
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let vocabulary = Vocabulary::new(&self.categories, &self.long_tail);
        let blocks = self
            .columns()
            .into_iter()
            .map(|c| {
                let texts = frame::text(df, c, by)?;
                let mut codes = Vec::with_capacity(texts.len());
                frame::each_keyed_text(&texts, |v| {
                    codes.push(vocabulary.code_of(v.map(|(k, _)| k)))
                });
                Ok((codes, 1))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(side_by_side(&blocks, df.height()))
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Enum` of `column`.
    pub fn enumerated(column: impl Into<String>) -> Encoder {
        Enum {
            column: column.into(),
        }
        .into()
    }

    /// `OneHot` of `column`, a feature for every training category.
    pub fn one_hot(column: impl Into<String>) -> Encoder {
        OneHot {
            column: column.into(),
            minimum_occurrences: 1,
            percent_occurrences: 0.0,
            drop_first: false,
        }
        .into()
    }

    /// `Unique` of `column`, a code of its own for categories seen `minimum_occurrences` times.
    pub fn unique(column: impl Into<String>, minimum_occurrences: usize) -> Encoder {
        Unique {
            column: column.into(),
            minimum_occurrences,
            twin: None,
        }
        .into()
    }
}

/// What a learner of counts makes of them: the categories (or items) with their training
/// counts, and how many training rows it saw.
type FinishCounts = Box<dyn FnOnce(PlHashMap<String, usize>, usize) -> FittedEncoder + Send>;

/// Counts the categories of one or more columns (or the first items of each row's sequence)
/// over the training rows.
pub(crate) struct LearnCounts {
    columns: Vec<String>,
    /// For sequences: the separator of list items (`None`: words of text) and how many items
    /// of a row count.
    sequence: Option<(Option<String>, usize)>,
    counts: PlHashMap<String, usize>,
    /// Training rows seen, nulls included.
    rows: usize,
    finish: FinishCounts,
}

impl fmt::Debug for LearnCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LearnCounts")
            .field("columns", &self.columns)
            .field("categories", &self.counts.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl LearnCounts {
    pub(crate) fn new(
        columns: Vec<&str>,
        sequence: Option<(Option<String>, usize)>,
        finish: impl FnOnce(PlHashMap<String, usize>, usize) -> FittedEncoder + Send + 'static,
    ) -> LearnCounts {
        LearnCounts {
            columns: columns.into_iter().map(str::to_string).collect(),
            sequence,
            counts: PlHashMap::new(),
            rows: 0,
            finish: Box::new(finish),
        }
    }
}

impl Learner for LearnCounts {
    fn in_place(&self) -> bool {
        self.sequence.is_none()
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        self.rows += rows.map_or(df.height(), <[IdxSize]>::len);
        let counts = &mut self.counts;
        for c in &self.columns {
            let Some((separator, length)) = &self.sequence else {
                count_texts(df, c, by, rows, counts)?;
                continue;
            };
            let items = separator.as_deref().map_or(Items::Words, Items::List);
            for row in items.read(df, c, by)?.into_iter().flatten() {
                for v in row.iter().take(*length) {
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

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        Ok((self.finish)(self.counts, self.rows))
    }
}

/// Training categories split into those with codes of their own, most frequent first, and the
/// long tail of rarer ones, sorted.
pub(crate) fn vocabulary(
    counts: PlHashMap<String, usize>,
    minimum: usize,
) -> (Vec<String>, Vec<String>) {
    let (mut kept, tail): (Counted, Counted) = counts.into_iter().partition(|(_, n)| *n >= minimum);
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut long_tail: Vec<String> = tail.into_iter().map(|(c, _)| c).collect();
    long_tail.sort();
    (kept.into_iter().map(|(c, _)| c).collect(), long_tail)
}
/// then one code each for the long tail, unseen values and null.
pub(crate) struct Vocabulary<'a> {
    /// The code of every training category, the long tail's included: one lookup a value.
    codes: PlHashMap<TextKey<'a>, f32>,
    /// How many categories have codes of their own.
    kept: usize,
}

impl<'a> Vocabulary<'a> {
    pub(crate) fn new(categories: &'a [String], long_tail: &'a [String]) -> Vocabulary<'a> {
        let mut codes = PlHashMap::with_capacity(categories.len() + long_tail.len());
        codes.extend(
            vocabulary_codes(categories, long_tail).map(|(c, code)| (TextKey::of(c), code)),
        );
        Vocabulary {
            codes,
            kept: categories.len(),
        }
    }

    pub(crate) fn code(&self, value: Option<&str>) -> f32 {
        self.code_of(value.map(TextKey::of))
    }

    /// The code of a text given by its key.
    #[inline]
    pub(crate) fn code_of(&self, key: Option<TextKey<'_>>) -> f32 {
        vocabulary_code(self.kept, key.map(|k| self.codes.get(&k).copied()))
    }

    /// `length` codes for the first items of a row, the null code after its last item.
    pub(crate) fn codes<'r>(
        &'r self,
        row: Option<&'r Vec<String>>,
        length: usize,
    ) -> impl Iterator<Item = f32> + 'r {
        let items = row.map_or(&[][..], Vec::as_slice);
        (0..length).map(move |i| self.code(items.get(i).map(String::as_str)))
    }

    /// What a code stands for.
    pub(crate) fn decode(categories: &[String], code: usize) -> Option<String> {
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

/// The `Enum` code of one number (`None`: null or NaN).
#[inline]
pub(crate) fn enum_code(v: Option<f64>, cardinality: usize) -> f32 {
    match v {
        None => (cardinality + 1) as f32,
        Some(x) if x >= 0.0 && x.fract() == 0.0 && (x as usize) < cardinality => x as f32,
        Some(_) => cardinality as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit, x};
    use crate::testing::*;

    #[test]
    fn enum_keeps_codes_and_marks_unseen_and_null() {
        let f = fit(Encoder::enumerated("x"), &x(&[Some(0.0), Some(2.0)]));
        assert_eq!(f.cardinality(), Some(5));
        let v = codes(&f, &x(&[Some(1.0), Some(7.0), Some(-1.0), None]));
        assert_eq!(v, vec![1.0, 3.0, 3.0, 4.0]);
        refused(
            Encoder::enumerated("x").fit(&x(&[Some(1.5)])),
            &["`x`", "whole numbers"],
        );
    }

    #[test]
    fn unique_gives_long_tail_unseen_and_null_codes_of_their_own() {
        let train =
            df!("c" => [Some("a"), Some("a"), Some("b"), Some("a"), Some("c"), Some("c"), None])
                .unwrap();
        let f = fit(Encoder::unique("c", 2), &train);
        assert_eq!(
            f,
            FittedEncoder::Unique(FittedUnique {
                column: "c".into(),
                categories: vec!["a".into(), "c".into()],
                long_tail: vec!["b".into()],
                twin: None,
            })
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
            Encoder::Unique(Unique {
                column: "first_name".into(),
                minimum_occurrences: 1,
                twin: Some("first_name_twin".into()),
            }),
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
    fn one_hot_makes_a_feature_per_frequent_category() {
        let train = df!("c" => [Some("a"), Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None, None, None, None])
            .unwrap();
        let spec = |minimum, percent, drop_first| {
            Encoder::OneHot(OneHot {
                column: "c".into(),
                minimum_occurrences: minimum,
                percent_occurrences: percent,
                drop_first,
            })
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
        refused(
            spec(1, 250.0, false).start(&crate::encoders::OutputEncoder::Cluster {}),
            &["OneHot(c).percent_occurrences", "250"],
        );
    }
}
