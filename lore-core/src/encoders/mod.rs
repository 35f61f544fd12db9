//! Encoders turn a column into numbers an estimator can use. Each is a spec that is `fit` on the
//! training split only, giving a fitted encoder that is saved with the fitting and used unchanged
//! at prediction time. An encoder gives either floats (NaN where a value is missing) or integer
//! codes with a fixed cardinality, where null, unseen and out-of-range values get codes of their
//! own, so an embedding can learn what they mean.
//!
//! Every encoder keeps the contract of [`contract`]: a spec type, a learner and a fitted type,
//! whole in the file of its family. The two enums below only name them for serde (a spec's
//! `type`) and dispatch to them; adding an encoder is a new file and one line in the
//! `encoders!` list below.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matrix::Csr;

pub mod bins;
pub mod categorical;
pub mod contract;
pub mod custom;
pub mod flags;
pub mod hash;
pub mod numeric;
mod output;
mod read;
pub mod sequences;
pub mod target;
pub mod text;

pub use contract::{Fitted, Learner, Reads, Spec, Start};
pub use custom::{is_registered, register, CustomEncoder};
pub use flags::yes_no;
pub use output::{FittedOutput, OutputEncoder, OutputState, RawLabels, Task};
pub(crate) use read::{interleave, words};
pub(crate) use text::text_hash;
pub use text::Vectorizer;

/// Declares the encoders: each `Name => SpecType, FittedType` becomes a variant of [`Encoder`]
/// (the spec, `type = "Name"` in TOML) and of [`FittedEncoder`] (what a fitting saves).
macro_rules! encoders {
    ($($(#[doc = $doc:literal])* $name:ident => $spec:ty, $fitted:ty;)*) => {
        /// How one input column becomes features, named in specs by its `type`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum Encoder {
            $($(#[doc = $doc])* $name($spec),)*
        }

        /// An encoder with what it learned from training data; saved in every fitting.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum FittedEncoder {
            $($(#[doc = $doc])* $name($fitted),)*
        }

        impl Encoder {
            /// The spec behind the `type`.
            pub fn spec(&self) -> &dyn Spec {
                match self {
                    $(Encoder::$name(e) => e,)*
                }
            }
        }

        impl FittedEncoder {
            /// The fitted encoder behind the `type`.
            pub fn fitted(&self) -> &dyn Fitted {
                match self {
                    $(FittedEncoder::$name(e) => e,)*
                }
            }
        }

        $(
            impl From<$spec> for Encoder {
                fn from(e: $spec) -> Encoder {
                    Encoder::$name(e)
                }
            }

            impl From<$fitted> for FittedEncoder {
                fn from(e: $fitted) -> FittedEncoder {
                    FittedEncoder::$name(e)
                }
            }
        )*
    };
}

encoders! {
    /// Numbers passed through unchanged (NaN for null).
    Pass => numeric::Pass, numeric::Pass;
    /// Numbers scaled to [0, 1] by the training range, clipped outside it.
    Uniform => numeric::Uniform, numeric::FittedUniform;
    /// Numbers clipped to the training range, then standardised.
    Norm => numeric::Norm, numeric::FittedNorm;
    /// Numbers, dates or timestamps cut into equal-width bins over the training range.
    Discrete => bins::Discrete, bins::FittedDiscrete;
    /// Numbers cut into bins holding equal shares of the training rows.
    Quantile => bins::Quantile, bins::FittedQuantile;
    /// Yes/no values as 1 and 0.
    Boolean => flags::Boolean, flags::Boolean;
    /// 1 where two columns hold the same value, 0 where they differ.
    Equals => flags::Equals, flags::Equals;
    /// Non-negative integer codes already in the data.
    Enum => categorical::Enum, categorical::FittedEnum;
    /// One 0/1 feature per frequent category.
    OneHot => categorical::OneHot, categorical::FittedOneHot;
    /// Categories as codes, most frequent first.
    Unique => categorical::Unique, categorical::FittedUnique;
    /// The first words of text, coded over one vocabulary.
    Token => sequences::Token, sequences::FittedToken;
    /// The first items of lists, coded over one vocabulary.
    NestedUnique => sequences::NestedUnique, sequences::FittedNestedUnique;
    /// The first numbers of lists, standardised.
    NestedNorm => sequences::NestedNorm, sequences::FittedNestedNorm;
    /// A position in a sequence, coded from both ends.
    MiddleOut => sequences::MiddleOut, sequences::MiddleOut;
    /// Text as a sparse bag of words.
    Text => text::Text, text::FittedText;
    /// A category hashed into a fixed number of codes.
    Hash => hash::Hash, hash::Hash;
    /// A category as the mean label of its training rows, cross-fitted.
    Target => target::Target, target::FittedTarget;
    /// An encoder of the project's own, registered by name.
    Custom => custom::Custom, custom::FittedCustom;
}

/// What a spec and a fitted encoder both tell, through the [`Reads`] they share.
macro_rules! both_tell {
    ($($enum:ident => $inner:ident),+) => {$(
        impl $enum {
            /// The name of this custom encoder when this program has not registered it.
            pub fn unregistered(&self) -> Option<&str> {
                match self {
                    $enum::Custom(e) if !is_registered(&e.name) => Some(&e.name),
                    _ => None,
                }
            }

            /// The column it reads (the first, for encoders of two).
            pub fn column(&self) -> &str {
                self.columns()[0]
            }

            /// Every column it reads.
            pub fn columns(&self) -> Vec<&str> {
                self.$inner().columns()
            }
        }
    )+};
}

both_tell!(Encoder => spec, FittedEncoder => fitted);

impl Encoder {
    /// The name of the feature it makes, such as `Unique(first_name)` (the stem of the names of
    /// the features of an encoder that makes several).
    pub fn feature(&self) -> String {
        contract::stem(self.spec().kind(), &self.columns())
    }

    /// Learns what this encoder needs from the training rows in `df`, for a model without labels
    /// (an encoder of labels refuses).
    pub fn fit(&self, df: &DataFrame) -> Result<FittedEncoder> {
        self.fit_rows(
            df,
            None,
            (&OutputEncoder::Cluster {}, &FittedOutput::Cluster {}),
        )
    }

    /// Learns what this encoder needs from the rows `rows` of `df` (the training rows of a
    /// frame that also holds the others; every row when `None`), without copying them out where
    /// it can; `output` is what the model predicts, as specified and as fitted.
    pub fn fit_rows(
        &self,
        df: &DataFrame,
        rows: Option<&[IdxSize]>,
        output: (&OutputEncoder, &FittedOutput),
    ) -> Result<FittedEncoder> {
        let mut state = self.start(output.0)?;
        state.learn(df, rows)?;
        state.finish(output.1)
    }

    /// Checks the parameters and gives an empty accumulator, for training rows that arrive in
    /// batches; `output` is what the model predicts.
    pub fn start(&self, output: &OutputEncoder) -> Result<EncoderState> {
        let by = format!("encoder {}", self.feature());
        let learner = self.spec().learner(&Start { by: &by, output })?;
        Ok(EncoderState {
            columns: self.columns().iter().map(|c| c.to_string()).collect(),
            by,
            learner,
        })
    }
}

/// What an encoder has learned so far from training rows; [`EncoderState::finish`] fits it.
#[derive(Debug)]
pub struct EncoderState {
    columns: Vec<String>,
    by: String,
    learner: Box<dyn Learner>,
}

impl EncoderState {
    /// Learns from more training rows. Infinities are left out of what is learned, like nulls, so
    /// the fitted statistics stay finite (and savable); at encoding they are clipped or binned as
    /// out-of-range values.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        self.learn(df, None)
    }

    /// Learns from the rows `rows` of `df`, or from all of them when `None`: in place where the
    /// learner can, else from a copy of those rows.
    pub fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>) -> Result<()> {
        match rows {
            Some(rows) if !self.learner.in_place() => {
                let idx = IdxCa::from_vec("row".into(), rows.to_vec());
                let mut taken = Vec::with_capacity(self.columns.len());
                for c in &self.columns {
                    taken.push(crate::frame::column(df, c, &self.by)?.take(&idx)?);
                }
                let copy = DataFrame::new(rows.len(), taken)?;
                self.learner.learn(&copy, None, &self.by)
            }
            _ => self.learner.learn(df, rows, &self.by),
        }
    }

    /// The fitted encoder, given the fitted output.
    pub fn finish(self, output: &FittedOutput) -> Result<FittedEncoder> {
        self.learner.finish(output)
    }
}

impl FittedEncoder {
    /// How many features it makes: one, except for `OneHot`, twins and sequences.
    pub fn width(&self) -> usize {
        self.fitted().width()
    }

    /// The names of the features it makes, in order: `Norm(x)`, or `OneHot(city)=Oslo`, ...
    pub fn features(&self) -> Vec<String> {
        self.fitted().features()
    }

    /// How many integer codes each of its features takes, or `None` for an encoder of floats.
    pub fn cardinality(&self) -> Option<usize> {
        self.fitted().cardinality()
    }

    /// The readable value behind a code or a float, where the encoder can tell: a category, a
    /// bin's range, yes/no, or the original number.
    pub fn decode(&self, value: f32) -> Option<String> {
        if value.is_nan() {
            return None;
        }
        self.fitted().decode(value)
    }

    /// Whether its features are sparse (most entries absent): estimators then get a sparse
    /// matrix, built with [`FittedEncoder::encode_sparse`].
    pub fn is_sparse(&self) -> bool {
        self.fitted().is_sparse()
    }

    /// How errors name it while encoding.
    fn by(&self) -> String {
        format!("fitted encoder of {}", self.columns().join(", "))
    }

    /// Encodes every row of `df` as sparse rows (as training rows from position `training` when
    /// given); an encoder of dense features gives every value that is not missing.
    pub fn encode_sparse(&self, df: &DataFrame, training: Option<u64>) -> Result<Csr> {
        if let Some(csr) = self.fitted().encode_sparse(df, &self.by())? {
            return Ok(csr);
        }
        let mut csr = Csr::new();
        let width = self.width();
        let dense = match training {
            Some(first) => self.encode_training(df, first)?,
            None => self.encode(df)?,
        };
        for r in 0..df.height() {
            for (j, v) in dense[r * width..(r + 1) * width].iter().enumerate() {
                if !v.is_nan() {
                    csr.indices.push(j as u32);
                    csr.values.push(*v);
                }
            }
            csr.end_row();
        }
        Ok(csr)
    }

    /// Encodes every row of `df`, [`FittedEncoder::width`] values a row, row after row; floats are
    /// NaN where a value is missing, codes follow [`FittedEncoder::cardinality`].
    pub fn encode(&self, df: &DataFrame) -> Result<Vec<f32>> {
        self.checked(df, self.fitted().encode(df, &self.by())?)
    }

    /// Encodes training rows as the estimator learns from them (see
    /// [`Fitted::encode_training`]), `first` the position of `df`'s first row among them.
    pub fn encode_training(&self, df: &DataFrame, first: u64) -> Result<Vec<f32>> {
        self.checked(df, self.fitted().encode_training(df, first, &self.by())?)
    }

    /// `values` when they are width × rows many, else an error naming the encoder.
    fn checked(&self, df: &DataFrame, values: Vec<f32>) -> Result<Vec<f32>> {
        let width = self.width();
        if values.len() != df.height() * width {
            return Err(Error::Data(format!(
                "encoder {} gave {} values for {} rows of {width} features; give width × rows \
                 values, row after row",
                contract::stem(self.fitted().kind(), &self.columns()),
                values.len(),
                df.height()
            )));
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests;
