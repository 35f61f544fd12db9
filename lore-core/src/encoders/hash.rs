//! A high-cardinality category as a hashed code (`Hash`): ids with millions of values in a fixed
//! number of buckets, with nothing to learn or save but the bucket count and the seed.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Checks, Fitted, Learner, Spec, Start};
use crate::encoders::Encoder;
use crate::error::Result;
use crate::frame;

fn buckets() -> usize {
    1024
}

/// A category hashed into `buckets` codes by a stable hash of its text (the same in every
/// process and version), seeded by `seed`; null has a code of its own. Unlike `Unique` it learns
/// no vocabulary, so it suits ids with millions of values, and an unseen id still lands in a
/// bucket; different categories may share one. Codes `0..buckets` are the hashes, `buckets` is
/// null. It learns nothing, so it is its own fitted form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hash {
    /// The column.
    pub column: String,
    /// How many codes.
    #[serde(default = "buckets")]
    pub buckets: usize,
    /// Changes which categories share a bucket.
    #[serde(default)]
    pub seed: u64,
}

reads!("Hash": Hash);

impl Spec for Hash {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        start.at_least_one("buckets", self.buckets)?;
        Checks::boxed(self.clone(), false)
    }
}

impl Hash {
    /// The bucket of one text.
    fn bucket(&self, text: &str) -> f32 {
        (seeded_hash(self.seed, text) % self.buckets as u64) as f32
    }
}

impl Fitted for Hash {
    fn cardinality(&self) -> Option<usize> {
        Some(self.buckets + 1)
    }

    fn decode(&self, value: f32) -> Option<String> {
        let code = value as usize;
        (code < self.buckets).then(|| format!("bucket {code}"))
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let null = self.buckets as f32;
        Ok(frame::text(df, &self.column, by)?
            .iter()
            .map(|v| v.map_or(null, |t| self.bucket(t)))
            .collect())
    }
}

/// FNV-1a of the seed's bytes, then the text's: stable across processes, platforms and versions.
fn seeded_hash(seed: u64, text: &str) -> u64 {
    seed.to_le_bytes()
        .iter()
        .chain(text.as_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Hash` of `column` into `buckets` codes.
    pub fn hash(column: impl Into<String>, buckets: usize) -> Encoder {
        Hash {
            column: column.into(),
            buckets,
            seed: 0,
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit};
    use crate::encoders::FittedEncoder;
    use crate::testing::*;

    fn ids(values: &[Option<&str>]) -> DataFrame {
        df!("id" => values).unwrap()
    }

    #[test]
    fn hash_codes_every_id_in_its_buckets_the_same_every_time_with_one_for_null() {
        let f = fit(Encoder::hash("id", 8), &ids(&[Some("a")]));
        assert_eq!(f.cardinality(), Some(9));
        assert_eq!(f.features(), vec!["Hash(id)"]);
        let rows: Vec<String> = (0..1000).map(|i| format!("user-{i}")).collect();
        let df = df!("id" => &rows).unwrap();
        let v = codes(&f, &df);
        assert!(v.iter().all(|c| *c >= 0.0 && *c < 8.0 && c.fract() == 0.0));
        let used: std::collections::BTreeSet<u32> = v.iter().map(|c| *c as u32).collect();
        assert_eq!(used.len(), 8, "a thousand ids fill every bucket");
        assert_eq!(codes(&f, &df), v, "the same id, the same bucket");
        // Pinned: the code of an id must not change between versions, or saved fittings break.
        assert_eq!(codes(&f, &ids(&[Some("user-1"), None])), vec![4.0, 8.0]);
        assert_eq!(f.decode(8.0), None);
        assert_eq!(f.decode(3.0), Some("bucket 3".into()));
    }

    #[test]
    fn a_seed_moves_ids_between_buckets_and_zero_buckets_are_refused() {
        let df = df!("id" => (0..100).map(|i| format!("{i}")).collect::<Vec<_>>()).unwrap();
        let plain = codes(&fit(Encoder::hash("id", 16), &df), &df);
        let seeded = FittedEncoder::from(Hash {
            column: "id".into(),
            buckets: 16,
            seed: 7,
        });
        assert_ne!(codes(&seeded, &df), plain);
        refused(
            Encoder::hash("id", 0).fit(&df),
            &["Hash(id).buckets", "at least 1"],
        );
    }
}
