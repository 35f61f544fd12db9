//! A project's own transformers: a serde type that implements [`CustomTransformer`], registered
//! by name when the project's binary starts, then named in specs like a built-in one:
//! `{ type = "Custom", name = "Initials", columns = ["first_name"], params = { ... } }`.

use std::sync::Arc;

use polars::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::registry::Registry;

/// A transformer written in a project: computes one new column from the columns it reads.
///
/// The type's fields are its parameters, read with serde from the spec's `params` table (use a
/// struct with named fields, `struct Initials {}` when it has none).
pub trait CustomTransformer: Send + Sync {
    /// The new column's value for every row of `df`; `columns` are the columns the spec names,
    /// in order. The column's name does not matter: it is renamed to the transformer's output.
    fn compute(&self, df: &DataFrame, columns: &[String]) -> Result<Column>;
}

static TRANSFORMERS: Registry<dyn CustomTransformer> = Registry::new("transformer");

/// Makes `T` the transformer `name` in this program, for Rust and TOML specs alike.
pub fn register<T: CustomTransformer + DeserializeOwned + 'static>(name: &str) {
    TRANSFORMERS.register::<T>(name, |t| Arc::new(t));
}

/// Whether a transformer `name` is registered in this program.
pub fn is_registered(name: &str) -> bool {
    TRANSFORMERS.contains(name)
}

/// The transformer registered as `name`, with `params`.
pub(crate) fn build(name: &str, params: &serde_json::Value) -> Result<Arc<dyn CustomTransformer>> {
    TRANSFORMERS.build(name, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;
    use crate::testing::*;
    use crate::transformers::Transformer;

    /// The first `letters` letters of a text column, upper-cased.
    #[derive(serde::Deserialize)]
    struct Initials {
        letters: usize,
    }

    impl CustomTransformer for Initials {
        fn compute(&self, df: &DataFrame, columns: &[String]) -> Result<Column> {
            let values = frame::text(df, &columns[0], "Initials")?
                .iter()
                .map(|v| {
                    v.map(|v| {
                        v.chars()
                            .take(self.letters)
                            .collect::<String>()
                            .to_uppercase()
                    })
                })
                .collect::<Vec<_>>();
            Ok(frame::text_column("anything", values.into_iter()))
        }
    }

    #[derive(serde::Deserialize)]
    struct Short {}

    impl CustomTransformer for Short {
        fn compute(&self, _: &DataFrame, _: &[String]) -> Result<Column> {
            Ok(frame::number_column("x", vec![Some(1.0)]))
        }
    }

    #[test]
    fn a_registered_transformer_is_named_in_toml_and_chains_like_a_built_in_one() {
        register::<Initials>("Initials");
        let spec: Transformer = toml::from_str(
            "type = \"Custom\"\nname = \"Initials\"\ncolumns = [\"first_name\"]\nparams = { letters = 2 }",
        )
        .unwrap();
        assert_eq!(spec.output(), "Initials(first_name)");
        assert_eq!(spec.unregistered(), None);
        let mut df = df!("first_name" => [Some("ann"), None]).unwrap();
        spec.apply(&mut df).unwrap();
        let out = frame::strings(&df, "Initials(first_name)", "test").unwrap();
        assert_eq!(out, vec![Some("AN".to_string()), None]);

        refused(
            Transformer::custom("Initials", &["surname"]).compute(&df),
            &["params", "letters"],
        );
        let unknown = Transformer::custom("Initails", &["first_name"]);
        assert_eq!(unknown.unregistered(), Some("Initails"));
        refused(unknown.compute(&df), &["`Initails`", "Initials"]);
    }

    #[test]
    fn a_transformer_giving_the_wrong_number_of_rows_is_an_error_naming_it() {
        register::<Short>("Short");
        let df = df!("a" => [1, 2, 3]).unwrap();
        refused(
            Transformer::custom("Short", &["a"]).compute(&df),
            &["Short(a)", "1 values for 3 rows"],
        );
    }
}
