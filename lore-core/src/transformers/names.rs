//! First names: `NameAge`, `NameSex` and `NamePopulation` from the names' statistics, and
//! `NameFamilial` for the family words people file contacts under.

use polars::prelude::*;

use super::Transformer;
use crate::error::Result;
use crate::frame;
use crate::names::{self, NameStats};

/// The words people file family members under in address books.
const FAMILIAL: &[&str] = &[
    "mom", "mommy", "mother", "mum", "mama", "momma", "dad", "daddy", "father", "papa", "pops",
    "bro", "brother", "sis", "sister", "grandma", "grandpa", "granny", "nana", "aunt", "auntie",
    "uncle", "son", "daughter", "wife", "husband", "hubby", "babe", "baby", "honey", "cousin",
];

impl Transformer {
    /// The figure `NameAge`, `NameSex` and `NamePopulation` take from a name's statistics;
    /// `None` for the other transformers.
    pub(crate) fn name_stat(&self, stats: NameStats) -> Option<f64> {
        match self {
            Transformer::NameAge { .. } => Some(stats.mean_age),
            Transformer::NameSex { .. } => Some(stats.share_male),
            Transformer::NamePopulation { .. } => Some(stats.population),
            _ => None,
        }
    }
}

/// The figure `field` takes of each first name of `column`.
pub(super) fn stat(
    df: &DataFrame,
    column: &str,
    field: impl Fn(NameStats) -> f64,
    by: &str,
    out: &str,
) -> Result<Column> {
    // Names repeat: each distinct spelling is looked up (trimmed, lower-cased) once.
    let given = frame::text(df, column, by)?;
    let mut seen: PlHashMap<frame::TextKey, f64> = PlHashMap::new();
    let mut values = Vec::with_capacity(given.len());
    frame::each_keyed_text(&given, |v| {
        values.push(match v {
            None => f64::NAN,
            Some((key, v)) => *seen
                .entry(key)
                .or_insert_with(|| names::lookup(v).map_or(f64::NAN, &field)),
        })
    });
    Ok(frame::float_column(out, values))
}

/// 1 where a first name of `column` is a family word, 0 otherwise.
pub(super) fn familials(df: &DataFrame, column: &str, by: &str, out: &str) -> Result<Column> {
    let values = frame::text(df, column, by)?
        .iter()
        .map(|v| v.map(familial))
        .collect();
    Ok(frame::number_column(out, values))
}

/// 1 where a first name is a family word ([`Transformer::NameFamilial`]), 0 otherwise.
pub(crate) fn familial(name: &str) -> f64 {
    let name = name.trim().to_lowercase();
    f64::from(u8::from(FAMILIAL.contains(&name.as_str())))
}
