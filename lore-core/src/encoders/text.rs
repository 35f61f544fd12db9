//! Text as a sparse bag of words (`Text`): TF-IDF over a learned vocabulary, or hashed counts.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::categorical::one;
use crate::encoders::contract::{positions, reads, stem, Fitted, Learner, Spec, Start};
use crate::encoders::read::words;
use crate::encoders::{FittedEncoder, FittedOutput};
use crate::error::Result;
use crate::frame;
use crate::matrix::Csr;

fn thousand() -> usize {
    1000
}

/// Text as a sparse bag of words, each row scaled to unit length: TF-IDF weights over the
/// training vocabulary, or word counts hashed into `max_features` buckets. A word a row does
/// not hold is an absent (missing) entry, not a zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// The column.
    pub column: String,
    /// How words become features.
    #[serde(default)]
    pub vectorizer: Vectorizer,
    /// TF-IDF: the largest vocabulary, the words in most training rows first; hashing: the
    /// number of buckets.
    #[serde(default = "thousand")]
    pub max_features: usize,
    /// TF-IDF: fewest training rows a word must be in to join the vocabulary.
    #[serde(default = "one")]
    pub minimum_occurrences: usize,
    /// Longest run of consecutive words taken as one term (1: single words, 2: words and
    /// pairs of words, ...).
    #[serde(default = "one")]
    pub ngrams: usize,
}

/// How [`Text`] turns words into features.
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

/// A fitted [`Text`]: a bag of words, TF-IDF over a vocabulary or hashed counts; sparse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedText {
    /// The column.
    pub column: String,
    /// How words become features.
    pub vectorizer: Vectorizer,
    /// Longest run of words taken as one term.
    pub ngrams: usize,
    /// TF-IDF: the terms, a term's feature is its index; empty for hashing.
    pub vocabulary: Vec<String>,
    /// TF-IDF: each term's inverse document frequency.
    pub idf: Vec<f64>,
    /// How many features: the vocabulary's size, or the hashing buckets.
    pub width: usize,
}

#[derive(Debug)]
struct LearnText {
    spec: Text,
    /// How many training rows hold each term.
    documents: PlHashMap<String, usize>,
    /// Training rows with text.
    rows: usize,
}

reads!("Text": Text, FittedText);

impl Spec for Text {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        start.at_least_one("max_features", self.max_features)?;
        start.at_least_one("ngrams", self.ngrams)?;
        Ok(Box::new(LearnText {
            spec: self.clone(),
            documents: PlHashMap::new(),
            rows: 0,
        }))
    }
}

impl Learner for LearnText {
    fn learn(&mut self, df: &DataFrame, _rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        for text in frame::text(df, &self.spec.column, by)?.iter().flatten() {
            self.rows += 1;
            let mut row = terms(text, self.spec.ngrams);
            row.sort_unstable();
            row.dedup();
            for term in row {
                *self.documents.entry(term).or_default() += 1;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        let Text {
            column,
            vectorizer,
            max_features,
            minimum_occurrences,
            ngrams,
        } = self.spec;
        Ok(match vectorizer {
            Vectorizer::Hashing => FittedText {
                column,
                vectorizer,
                ngrams,
                vocabulary: Vec::new(),
                idf: Vec::new(),
                width: max_features,
            },
            Vectorizer::Tfidf => {
                let mut kept: Vec<(String, usize)> = self
                    .documents
                    .into_iter()
                    .filter(|(_, n)| *n >= minimum_occurrences)
                    .collect();
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                kept.truncate(max_features);
                let rows = self.rows as f64;
                let idf = kept
                    .iter()
                    .map(|(_, n)| ((1.0 + rows) / (1.0 + *n as f64)).ln() + 1.0)
                    .collect();
                FittedText {
                    column,
                    vectorizer,
                    ngrams,
                    width: kept.len(),
                    vocabulary: kept.into_iter().map(|(term, _)| term).collect(),
                    idf,
                }
            }
        }
        .into())
    }
}

impl Fitted for FittedText {
    fn width(&self) -> usize {
        self.width
    }

    fn features(&self) -> Vec<String> {
        if self.vocabulary.is_empty() {
            return positions("Text", &[&self.column], self.width);
        }
        let stem = stem("Text", &[&self.column]);
        self.vocabulary
            .iter()
            .map(|t| format!("{stem}={t}"))
            .collect()
    }

    fn is_sparse(&self) -> bool {
        true
    }

    fn encode_sparse(&self, df: &DataFrame, by: &str) -> Result<Option<Csr>> {
        let mut csr = Csr::new();
        let index: PlHashMap<&str, u32> = self
            .vocabulary
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        for text in frame::text(df, &self.column, by)?.iter() {
            let entries: Vec<(u32, f32)> = terms(text.unwrap_or_default(), self.ngrams)
                .iter()
                .filter_map(|term| match self.vectorizer {
                    Vectorizer::Tfidf => index
                        .get(term.as_str())
                        .map(|i| (*i, self.idf[*i as usize] as f32)),
                    Vectorizer::Hashing => {
                        Some(((text_hash(term) % self.width.max(1) as u64) as u32, 1.0))
                    }
                })
                .collect();
            for (i, w) in unit_row(entries) {
                csr.indices.push(i);
                csr.values.push(w);
            }
            csr.end_row();
        }
        Ok(Some(csr))
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let width = self.width;
        let mut dense = vec![0.0; df.height() * width];
        if let Some(sparse) = self.encode_sparse(df, by)? {
            for r in 0..df.height() {
                for (i, v) in sparse.row(r) {
                    dense[r * width + i as usize] = v;
                }
            }
        }
        Ok(dense)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit};
    use crate::encoders::Encoder;

    #[test]
    fn text_weighs_words_by_tf_idf_like_scikit_learn_and_is_sparse() {
        let train = df!("t" => [Some("a b"), Some("A, c!"), Some("a"), None]).unwrap();
        let f = fit(
            Encoder::Text(Text {
                column: "t".into(),
                vectorizer: Vectorizer::Tfidf,
                max_features: 10,
                minimum_occurrences: 1,
                ngrams: 1,
            }),
            &train,
        );
        assert!(f.is_sparse());
        assert_eq!(f.features(), vec!["Text(t)=a", "Text(t)=b", "Text(t)=c"]);
        let later = df!("t" => [Some("b a a"), Some("zzz"), None]).unwrap();
        let csr = f.encode_sparse(&later, None).unwrap();
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
            Encoder::Text(Text {
                column: "t".into(),
                vectorizer: Vectorizer::Tfidf,
                max_features: 3,
                minimum_occurrences: 2,
                ngrams: 2,
            }),
            &train,
        );
        // Only "apple" and "red" are in two rows; pairs like "red apple" in one.
        assert_eq!(f.features(), vec!["Text(t)=apple", "Text(t)=red"]);
        let hashed = fit(
            Encoder::Text(Text {
                column: "t".into(),
                vectorizer: Vectorizer::Hashing,
                max_features: 16,
                minimum_occurrences: 1,
                ngrams: 1,
            }),
            &train,
        );
        assert_eq!(hashed.width(), 16);
        let csr = hashed
            .encode_sparse(&df!("t" => ["never seen words"]).unwrap(), None)
            .unwrap();
        assert!(!csr.indices.is_empty() && csr.indices.iter().all(|i| *i < 16));
        let norm: f32 = csr.values.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-6);
    }
}
