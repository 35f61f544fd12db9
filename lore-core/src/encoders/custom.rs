//! A project's own encoders: a serde type that implements [`CustomEncoder`], registered by name
//! when the project's binary starts, then named in specs like a built-in one:
//! `{ type = "Custom", name = "Hashed", column = "email", params = { buckets = 64 } }`.

use std::fmt;
use std::sync::Arc;

use polars::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Fitted, Learner, Spec, Start};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput};
use crate::error::{Error, Result};
use crate::frame;
use crate::registry::Registry;
use crate::transformers::{has_no_params, no_params};

/// An encoder written in a project. Like the built-in ones it learns from training rows only,
/// what it learned is saved in the fitting, and encoding reuses it unchanged.
///
/// The type's fields are its parameters, read with serde from the spec's `params` table (use a
/// struct with named fields, `struct Hashed {}` when it has none).
pub trait CustomEncoder: Send + Sync {
    /// What it learns from training rows; saved in the fitting's `pipeline.json`.
    type Learned: Serialize + DeserializeOwned + Default;

    /// Learns from training rows of `column`: called once when the extract is read whole, once
    /// per batch when it streams, starting from `Learned::default()`.
    fn learn(&self, learned: &mut Self::Learned, df: &DataFrame, column: &str) -> Result<()>;

    /// Encodes every row of `column`: [`CustomEncoder::width`] values a row, row after row, NaN
    /// where a value is missing.
    fn encode(&self, learned: &Self::Learned, df: &DataFrame, column: &str) -> Result<Vec<f32>>;

    /// How many features it makes.
    fn width(&self, _learned: &Self::Learned) -> usize {
        1
    }

    /// How many integer codes each feature takes, or `None` for floats.
    fn cardinality(&self, _learned: &Self::Learned) -> Option<usize> {
        None
    }
}

/// A [`CustomEncoder`] whose learned state travels as JSON, so encoders of every type fit, save
/// and encode through one interface.
pub(crate) trait ProjectEncoder: Send + Sync + fmt::Debug {
    /// Learns from more training rows; `learned` starts as null.
    fn learn(&self, learned: &mut serde_json::Value, df: &DataFrame, column: &str) -> Result<()>;
    /// Encodes every row.
    fn encode(&self, learned: &serde_json::Value, df: &DataFrame, column: &str)
        -> Result<Vec<f32>>;
    /// Width and cardinality.
    fn shape(&self, learned: &serde_json::Value) -> Result<(usize, Option<usize>)>;
}

struct Erased<T>(T);

impl<T> fmt::Debug for Erased<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

impl<T: CustomEncoder> Erased<T> {
    fn read(&self, learned: &serde_json::Value) -> Result<T::Learned> {
        if learned.is_null() {
            return Ok(T::Learned::default());
        }
        serde_json::from_value(learned.clone()).map_err(|e| {
            Error::Data(format!(
                "what encoder {self:?} learned cannot be read back: {e}; refit the model"
            ))
        })
    }
}

impl<T: CustomEncoder> ProjectEncoder for Erased<T> {
    fn learn(&self, learned: &mut serde_json::Value, df: &DataFrame, column: &str) -> Result<()> {
        let mut state = self.read(learned)?;
        self.0.learn(&mut state, df, column)?;
        *learned = serde_json::to_value(&state).map_err(|e| {
            Error::Data(format!(
                "what encoder {self:?} learned cannot be saved as JSON: {e}"
            ))
        })?;
        Ok(())
    }

    fn encode(
        &self,
        learned: &serde_json::Value,
        df: &DataFrame,
        column: &str,
    ) -> Result<Vec<f32>> {
        self.0.encode(&self.read(learned)?, df, column)
    }

    fn shape(&self, learned: &serde_json::Value) -> Result<(usize, Option<usize>)> {
        let state = self.read(learned)?;
        Ok((self.0.width(&state), self.0.cardinality(&state)))
    }
}

static ENCODERS: Registry<dyn ProjectEncoder> = Registry::new("encoder");

/// Makes `T` the encoder `name` in this program, for Rust and TOML specs alike.
pub fn register<T: CustomEncoder + DeserializeOwned + 'static>(name: &str) {
    ENCODERS.register::<T>(name, |e| Arc::new(Erased(e)));
}

/// Whether an encoder `name` is registered in this program.
pub fn is_registered(name: &str) -> bool {
    ENCODERS.contains(name)
}

/// The encoder registered as `name`, with `params`.
pub(crate) fn build(name: &str, params: &serde_json::Value) -> Result<Arc<dyn ProjectEncoder>> {
    ENCODERS.build(name, params)
}

/// An encoder of the project's own, written in Rust and registered under `name`
/// ([`register`]); its features are named `name(column)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    /// The name it is registered under.
    pub name: String,
    /// The column.
    pub column: String,
    /// Its parameters: the fields of the registered type.
    #[serde(default = "no_params", skip_serializing_if = "has_no_params")]
    pub params: serde_json::Value,
}

/// A fitted [`Custom`]: a project's own encoder and what it learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedCustom {
    /// The name it is registered under.
    pub name: String,
    /// The column.
    pub column: String,
    /// Its parameters.
    #[serde(default = "no_params", skip_serializing_if = "has_no_params")]
    pub params: serde_json::Value,
    /// What it learned from the training rows.
    pub learned: serde_json::Value,
    /// How many features it makes.
    pub width: usize,
    /// How many codes each feature takes, or none for floats.
    pub cardinality: Option<usize>,
}

#[derive(Debug)]
struct LearnCustom {
    spec: Custom,
    encoder: Arc<dyn ProjectEncoder>,
    learned: serde_json::Value,
}

reads!(named by name: Custom, FittedCustom);

impl Spec for Custom {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(Box::new(LearnCustom {
            spec: self.clone(),
            encoder: build(&self.name, &self.params)?,
            learned: serde_json::Value::Null,
        }))
    }
}

impl Learner for LearnCustom {
    fn learn(&mut self, df: &DataFrame, _rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        frame::column(df, &self.spec.column, by)?;
        self.encoder.learn(&mut self.learned, df, &self.spec.column)
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        let (width, cardinality) = self.encoder.shape(&self.learned)?;
        let Custom {
            name,
            column,
            params,
        } = self.spec;
        Ok(FittedCustom {
            name,
            column,
            params,
            learned: self.learned,
            width,
            cardinality,
        }
        .into())
    }
}

impl Fitted for FittedCustom {
    fn width(&self) -> usize {
        self.width
    }

    fn cardinality(&self) -> Option<usize> {
        self.cardinality
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        frame::column(df, &self.column, by)?;
        build(&self.name, &self.params)?.encode(&self.learned, df, &self.column)
    }
}

impl Encoder {
    /// A custom encoder registered as `name`, of `column`, with no parameters.
    pub fn custom(name: impl Into<String>, column: impl Into<String>) -> Encoder {
        Custom {
            name: name.into(),
            column: column.into(),
            params: no_params(),
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::OutputEncoder;
    use crate::testing::*;

    /// Numbers as their distance from the largest training value, in units of `scale`.
    #[derive(serde::Deserialize)]
    struct FromTop {
        scale: f64,
    }

    #[derive(Default, Serialize, serde::Deserialize)]
    struct Top {
        max: Option<f64>,
    }

    impl CustomEncoder for FromTop {
        type Learned = Top;

        fn learn(&self, learned: &mut Top, df: &DataFrame, column: &str) -> Result<()> {
            for x in frame::numbers(df, column, "FromTop")?.into_iter().flatten() {
                learned.max = Some(learned.max.map_or(x, |m| m.max(x)));
            }
            Ok(())
        }

        fn encode(&self, learned: &Top, df: &DataFrame, column: &str) -> Result<Vec<f32>> {
            let top = learned.max.unwrap_or(0.0);
            Ok(frame::numbers(df, column, "FromTop")?
                .into_iter()
                .map(|x| x.map_or(f32::NAN, |x| ((top - x) / self.scale) as f32))
                .collect())
        }
    }

    #[test]
    fn a_registered_encoder_learns_in_batches_saves_and_encodes() {
        register::<FromTop>("FromTop");
        let spec: Encoder = toml::from_str(
            "type = \"Custom\"\nname = \"FromTop\"\ncolumn = \"x\"\nparams = { scale = 2.0 }",
        )
        .unwrap();
        let mut state = spec.start(&OutputEncoder::Cluster {}).unwrap();
        state.update(&df!("x" => [1.0, 5.0]).unwrap()).unwrap();
        state
            .update(&df!("x" => [Some(9.0), None]).unwrap())
            .unwrap();
        let fitted = state.finish(&FittedOutput::Cluster {}).unwrap();
        assert_eq!(fitted.features(), vec!["FromTop(x)"]);
        assert_eq!(fitted.cardinality(), None);
        let saved = serde_json::to_string(&fitted).unwrap();
        holds(&saved, &["\"learned\":{\"max\":9.0}"]);
        let back: FittedEncoder = serde_json::from_str(&saved).unwrap();
        let later = df!("x" => [Some(9.0), Some(3.0), None]).unwrap();
        let v = back.encode(&later).unwrap();
        assert_eq!(&v[..2], &[0.0, 3.0]);
        assert!(v[2].is_nan());
    }

    #[test]
    fn an_unregistered_encoder_is_refused_before_any_data_is_read() {
        refused(
            Encoder::custom("NoSuch", "x").start(&OutputEncoder::Cluster {}),
            &["`NoSuch`", "lore generate encoder NoSuch"],
        );
        assert_eq!(
            Encoder::custom("NoSuch", "x").unregistered(),
            Some("NoSuch")
        );
    }
}
