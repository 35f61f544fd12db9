//! The `{{ name }}` transformer. It reads the columns a spec names and adds the column
//! `{{ name }}(columns)`. It is registered in `src/transformers/mod.rs`, so Rust pipelines
//! (`Transformer::custom("{{ name }}", &["comment"])`) and TOML models
//! (`{ type = "Custom", name = "{{ name }}", columns = ["comment"] }`) both use it, at fit time
//! and at prediction time alike.

use lore_core::frame;
use lore_core::polars::prelude::*;
use lore_core::{Error, Result};
use serde::Deserialize;

/// For now: how many words the text of its column holds (null stays null). Its fields are its
/// parameters, read from the spec's `params` table.
#[derive(Debug, Deserialize)]
pub struct {{ name }} {
    /// What separates words (`params = { separator = "," }`); white space by default.
    #[serde(default)]
    pub separator: Option<String>,
}

impl lore_core::transformers::CustomTransformer for {{ name }} {
    fn compute(&self, df: &DataFrame, columns: &[String]) -> Result<Column> {
        let by = "transformer {{ name }}";
        let [column] = columns else {
            return Err(Error::Data(format!(
                "{by} reads one column but the spec names {}: {columns:?}",
                columns.len()
            )));
        };
        let words = frame::text(df, column, by)?
            .iter()
            .map(|text| {
                text.map(|text| match &self.separator {
                    Some(separator) => text
                        .split(separator.as_str())
                        .filter(|w| !w.trim().is_empty())
                        .count() as f64,
                    None => text.split_whitespace().count() as f64,
                })
            })
            .collect();
        Ok(frame::number_column(column, words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::transformers::Transformer;

    #[test]
    fn counts_words_and_keeps_nulls() {
        lore_core::transformers::register::<{{ name }}>("{{ name }}");
        let mut df = df!("comment" => [Some("fast and friendly"), Some(""), None]).unwrap();
        let transformer = Transformer::custom("{{ name }}", &["comment"]);
        transformer.apply(&mut df).unwrap();
        let counted: Vec<Option<f64>> = df
            .column("{{ name }}(comment)")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(counted, vec![Some(3.0), Some(0.0), None]);
    }
}
