//! Sequences as one feature per position: the first words of text (`Token`) or items of lists
//! (`NestedUnique`) coded over one vocabulary, the first numbers of lists standardised
//! (`NestedNorm`), and a position within a sequence coded from both ends (`MiddleOut`).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::categorical::{one, vocabulary, LearnCounts, Vocabulary};
use crate::encoders::contract::{positions, reads, Checks, Fitted, Learner, Reads, Spec, Start};
use crate::encoders::numeric::norm_code;
use crate::encoders::read::{number_lists, side_by_side, values, Items, Moments};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput};
use crate::error::Result;

fn ten() -> usize {
    10
}

fn comma() -> String {
    ",".into()
}

/// Text cut into lower-cased words; the first `sequence_length` words are coded like `Unique`
/// over one vocabulary, one feature per position; positions after the last word (and null
/// text) have the null code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The column.
    pub column: String,
    /// How many words (features) to keep per row.
    #[serde(default = "ten")]
    pub sequence_length: usize,
    /// Fewest training occurrences a word needs to get a code of its own.
    #[serde(default = "one")]
    pub minimum_occurrences: usize,
    /// A second column coded with the same vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
}

/// A fitted [`Token`]: a vocabulary of words coded like `Unique`, per position:
/// `sequence_length` features per column, the null code after the last word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedToken {
    /// The column.
    pub column: String,
    /// A second column coded with the same vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
    /// Words kept per row.
    pub sequence_length: usize,
    /// The kept words; a word's code is its index.
    pub categories: Vec<String>,
    /// Training words too rare for a code of their own.
    pub long_tail: Vec<String>,
}

/// Lists (list columns, or text whose items are separated by `separator`) coded like `Unique`
/// over one vocabulary of items, one feature per position up to `sequence_length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NestedUnique {
    /// The column.
    pub column: String,
    /// How many items (features) to keep per row.
    #[serde(default = "ten")]
    pub sequence_length: usize,
    /// Fewest training occurrences an item needs to get a code of its own.
    #[serde(default = "one")]
    pub minimum_occurrences: usize,
    /// What separates the items of a text column.
    #[serde(default = "comma")]
    pub separator: String,
    /// A second column coded with the same vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
}

/// A fitted [`NestedUnique`]: a vocabulary of list items coded like `Unique`, per position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedNestedUnique {
    /// The column.
    pub column: String,
    /// A second column coded with the same vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
    /// What separates the items of a text column.
    pub separator: String,
    /// Items kept per row.
    pub sequence_length: usize,
    /// The kept items; an item's code is its index.
    pub categories: Vec<String>,
    /// Training items too rare for a code of their own.
    pub long_tail: Vec<String>,
}

/// The codes of the first `length` items of every row of every column, column after column.
fn sequence_codes(
    df: &DataFrame,
    columns: Vec<&str>,
    items: Items<'_>,
    vocabulary: &Vocabulary<'_>,
    length: usize,
    by: &str,
) -> Result<Vec<f32>> {
    let blocks = columns
        .into_iter()
        .map(|c| {
            let codes = items
                .read(df, c, by)?
                .iter()
                .flat_map(|row| vocabulary.codes(row.as_ref(), length))
                .collect();
            Ok((codes, length))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(side_by_side(&blocks, df.height()))
}

/// `Fitted` for an encoder of the first `sequence_length` items of its column (and twin), coded
/// over one vocabulary; `items` says how a value splits into items.
macro_rules! vocabulary_sequence {
    ($fitted:ty, $kind:literal, |$s:ident| $items:expr) => {
        impl Fitted for $fitted {
            fn width(&self) -> usize {
                self.sequence_length * (1 + usize::from(self.twin.is_some()))
            }

            fn features(&self) -> Vec<String> {
                positions($kind, &self.columns(), self.sequence_length)
            }

            fn cardinality(&self) -> Option<usize> {
                Some(self.categories.len() + 3)
            }

            fn decode(&self, value: f32) -> Option<String> {
                Vocabulary::decode(&self.categories, value as usize)
            }

            fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
                let $s = self;
                let vocabulary = Vocabulary::new(&self.categories, &self.long_tail);
                let columns = self.columns();
                sequence_codes(df, columns, $items, &vocabulary, self.sequence_length, by)
            }
        }
    };
}

reads!("Token": Token, FittedToken; twin);

impl Spec for Token {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        let length = start.at_least_one("sequence_length", self.sequence_length)?;
        let (column, twin) = (self.column.clone(), self.twin.clone());
        let minimum = self.minimum_occurrences.max(1);
        Ok(Box::new(LearnCounts::new(
            self.columns(),
            Some((None, length)),
            move |counts, _| {
                let (categories, long_tail) = vocabulary(counts, minimum);
                FittedToken {
                    column,
                    twin,
                    sequence_length: length,
                    categories,
                    long_tail,
                }
                .into()
            },
        )))
    }
}

vocabulary_sequence!(FittedToken, "Token", |_s| Items::Words);

reads!("NestedUnique": NestedUnique, FittedNestedUnique; twin);

impl Spec for NestedUnique {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        let length = start.at_least_one("sequence_length", self.sequence_length)?;
        let (column, twin) = (self.column.clone(), self.twin.clone());
        let separator = self.separator.clone();
        let minimum = self.minimum_occurrences.max(1);
        Ok(Box::new(LearnCounts::new(
            self.columns(),
            Some((Some(separator.clone()), length)),
            move |counts, _| {
                let (categories, long_tail) = vocabulary(counts, minimum);
                FittedNestedUnique {
                    column,
                    twin,
                    separator,
                    sequence_length: length,
                    categories,
                    long_tail,
                }
                .into()
            },
        )))
    }
}

vocabulary_sequence!(FittedNestedUnique, "NestedUnique", |s| Items::List(
    &s.separator
));

/// Lists of numbers: every item clipped to the range of all training items, then standardised
/// with their mean and standard deviation; one feature per position up to `sequence_length`,
/// NaN after the last item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NestedNorm {
    /// The column.
    pub column: String,
    /// How many items (features) to keep per row.
    #[serde(default = "ten")]
    pub sequence_length: usize,
    /// What separates the items of a text column.
    #[serde(default = "comma")]
    pub separator: String,
}

/// A fitted [`NestedNorm`]: the mean, standard deviation and range of every training item of
/// number lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedNestedNorm {
    /// The column.
    pub column: String,
    /// Items kept per row.
    pub sequence_length: usize,
    /// What separates the items of a text column.
    pub separator: String,
    /// Mean of the training items.
    pub mean: f64,
    /// Standard deviation of the training items (1 when constant).
    pub std: f64,
    /// Smallest training item: smaller ones are clipped to it.
    pub min: f64,
    /// Largest training item: larger ones are clipped to it.
    pub max: f64,
}

#[derive(Debug)]
struct LearnNestedNorm {
    spec: NestedNorm,
    moments: Moments,
}

reads!("NestedNorm": NestedNorm, FittedNestedNorm);

impl Spec for NestedNorm {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        start.at_least_one("sequence_length", self.sequence_length)?;
        Ok(Box::new(LearnNestedNorm {
            spec: self.clone(),
            moments: Moments::new(),
        }))
    }
}

impl Learner for LearnNestedNorm {
    fn learn(&mut self, df: &DataFrame, _rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let spec = &self.spec;
        number_lists(df, &spec.column, by, &spec.separator)?
            .into_iter()
            .flatten()
            .flat_map(|items| items.into_iter().take(spec.sequence_length))
            .filter(|x| x.is_finite())
            .for_each(|x| self.moments.add(x));
        Ok(())
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        let (mean, std, min, max) = self.moments.spread();
        let NestedNorm {
            column,
            sequence_length,
            separator,
        } = self.spec;
        Ok(FittedNestedNorm {
            column,
            sequence_length,
            separator,
            mean,
            std,
            min,
            max,
        }
        .into())
    }
}

impl Fitted for FittedNestedNorm {
    fn width(&self) -> usize {
        self.sequence_length
    }

    fn decode(&self, value: f32) -> Option<String> {
        Some((self.mean + f64::from(value) * self.std).to_string())
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        Ok(number_lists(df, &self.column, by, &self.separator)?
            .iter()
            .flat_map(|row| {
                let items = row.as_deref().unwrap_or_default();
                (0..self.sequence_length).map(move |i| {
                    norm_code(
                        items.get(i).copied().filter(|x| !x.is_nan()),
                        self.mean,
                        self.std,
                        Some(self.min),
                        Some(self.max),
                    )
                })
            })
            .collect())
    }
}

/// A position in a sequence (0 for the first item) and the sequence's length: the first
/// `depth` and the last `depth` positions get codes of their own, every position between
/// shares one middle code (the picking-sequence encoder of Python Lore).
///
/// Codes `0..depth` are the first positions, `depth` the middle, `depth + 1..=2 * depth` the
/// last positions (the last is `2 * depth`), and `2 * depth + 1` null or a position outside its
/// sequence. It learns nothing, so it is its own fitted form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiddleOut {
    /// The column of positions, counted from 0.
    pub column: String,
    /// The column with the length of each row's sequence.
    pub length: String,
    /// How many positions at each end get codes of their own.
    #[serde(default = "one")]
    pub depth: usize,
}

reads!("MiddleOut": MiddleOut; column, length);

impl Spec for MiddleOut {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        start.at_least_one("depth", self.depth)?;
        Checks::boxed(self.clone(), false)
    }
}

impl Fitted for MiddleOut {
    fn cardinality(&self) -> Option<usize> {
        Some(2 * self.depth + 2)
    }

    fn decode(&self, value: f32) -> Option<String> {
        let depth = self.depth;
        match value as usize {
            c if c < depth => Some(format!("position {c}")),
            c if c == depth => Some("middle".into()),
            c if c <= 2 * depth => Some(format!("{} from the end", 2 * depth - c)),
            _ => None,
        }
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let positions = values(df, &self.column, by, false)?;
        let lengths = values(df, &self.length, by, false)?;
        Ok(positions
            .iter()
            .zip(&lengths)
            .map(|(p, l)| middle_out_code(*p, *l, self.depth))
            .collect())
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Token` of `column`, its first `sequence_length` words.
    pub fn token(column: impl Into<String>, sequence_length: usize) -> Encoder {
        Token {
            column: column.into(),
            sequence_length,
            minimum_occurrences: 1,
            twin: None,
        }
        .into()
    }

    /// `NestedUnique` of `column`, its first `sequence_length` items (text separated by commas).
    pub fn nested_unique(column: impl Into<String>, sequence_length: usize) -> Encoder {
        NestedUnique {
            column: column.into(),
            sequence_length,
            minimum_occurrences: 1,
            separator: comma(),
            twin: None,
        }
        .into()
    }

    /// `NestedNorm` of `column`, its first `sequence_length` numbers (text separated by commas).
    pub fn nested_norm(column: impl Into<String>, sequence_length: usize) -> Encoder {
        NestedNorm {
            column: column.into(),
            sequence_length,
            separator: comma(),
        }
        .into()
    }

    /// `MiddleOut` of the positions in `column` within sequences of `length`.
    pub fn middle_out(
        column: impl Into<String>,
        length: impl Into<String>,
        depth: usize,
    ) -> Encoder {
        MiddleOut {
            column: column.into(),
            length: length.into(),
            depth,
        }
        .into()
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
    use crate::encoders::tests::{codes, fit, same};
    use crate::testing::*;

    #[test]
    fn token_codes_the_first_words_with_null_after_the_last() {
        let train =
            df!("t" => [Some("Red apples, red pears"), Some("green apples"), None]).unwrap();
        let f = fit(Encoder::token("t", 3), &train);
        // Counted in the first three words: red 2, apples 2, green 1, pears 0 (fourth word).
        let FittedEncoder::Token(FittedToken { categories, .. }) = &f else {
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
        let FittedEncoder::NestedNorm(FittedNestedNorm { mean, min, max, .. }) = &f else {
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
        refused(
            f.encode(&df!("xs" => ["1, two"]).unwrap()),
            &["\"two\"", "xs"],
        );
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
}
