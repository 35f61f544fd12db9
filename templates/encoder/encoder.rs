//! The `{{ name }}` encoder. Like Lore's own encoders it learns from the training rows only,
//! what it learned is saved with each fitting, and predictions reuse it unchanged. It is
//! registered in `src/encoders/mod.rs`, so Rust pipelines
//! (`Encoder::custom("{{ name }}", "city")`)
//! and TOML models (`{ type = "Custom", name = "{{ name }}", column = "city" }`) both use it.

use std::collections::{BTreeSet, HashMap};

use lore_core::frame;
use lore_core::polars::prelude::*;
use lore_core::Result;
use serde::{Deserialize, Serialize};

/// For now: one code per training value in sorted order, then a code for values never seen in
/// training and one for null. Its fields are its parameters, read from the spec's `params`.
#[derive(Debug, Deserialize)]
pub struct {{ name }} {
    /// Values longer than this many characters are cut to it before coding (`params =
    /// { longest = 20 }`); no limit by default.
    #[serde(default)]
    pub longest: Option<usize>,
}

/// What `{{ name }}` learns from the training rows.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Learned {
    /// Every training value, sorted: a value's code is its place here.
    pub values: BTreeSet<String>,
}

impl {{ name }} {
    fn cut<'a>(&self, value: &'a str) -> &'a str {
        match self.longest.and_then(|n| value.char_indices().nth(n)) {
            Some((at, _)) => &value[..at],
            None => value,
        }
    }
}

impl lore_core::encoders::CustomEncoder for {{ name }} {
    type Learned = Learned;

    fn learn(&self, learned: &mut Learned, df: &DataFrame, column: &str) -> Result<()> {
        for value in frame::text(df, column, "encoder {{ name }}")?.iter().flatten() {
            learned.values.insert(self.cut(value).to_string());
        }
        Ok(())
    }

    fn encode(&self, learned: &Learned, df: &DataFrame, column: &str) -> Result<Vec<f32>> {
        let codes: HashMap<&str, usize> = learned
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        let unseen = learned.values.len();
        Ok(frame::text(df, column, "encoder {{ name }}")?
            .iter()
            .map(|value| match value {
                Some(value) => codes.get(self.cut(value)).copied().unwrap_or(unseen) as f32,
                None => (unseen + 1) as f32,
            })
            .collect())
    }

    fn cardinality(&self, learned: &Learned) -> Option<usize> {
        Some(learned.values.len() + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::encoders::Encoder;

    #[test]
    fn codes_training_values_and_marks_unseen_and_null() {
        lore_core::encoders::register::<{{ name }}>("{{ name }}");
        let encoder = Encoder::custom("{{ name }}", "city");
        let train = df!("city" => ["Oslo", "Rome", "Oslo"]).unwrap();
        let fitted = encoder.fit(&train).unwrap();
        let later = df!("city" => [Some("Rome"), Some("Paris"), None]).unwrap();
        assert_eq!(fitted.encode(&later).unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(fitted.cardinality(), Some(4));
    }
}
