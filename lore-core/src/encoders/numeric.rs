//! Numbers as floats: passed through (`Pass`), scaled to the training range (`Uniform`), or
//! clipped and standardised (`Norm`).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Checks, Fitted, Learner, Spec, Start};
use crate::encoders::read::{each_finite, map_values, Moments};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput};
use crate::error::Result;

/// Numbers passed through unchanged (NaN for null); it learns nothing, so it is its own fitted
/// form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pass {
    /// The column.
    pub column: String,
}

reads!("Pass": Pass);

impl Spec for Pass {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Checks::boxed(self.clone(), true)
    }
}

impl Fitted for Pass {
    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        map_values(df, &self.column, by, false, |v| {
            v.map_or(f32::NAN, |x| x as f32)
        })
    }
}

/// Numbers scaled to [0, 1] by the training minimum and maximum, clipped outside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// The column.
    pub column: String,
}

/// A fitted [`Uniform`]: the training range; values map to [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedUniform {
    /// The column.
    pub column: String,
    /// Training minimum.
    pub min: f64,
    /// Training maximum.
    pub max: f64,
}

/// Learns the moments and range of a column's finite values, read in place.
#[derive(Debug)]
struct LearnMoments {
    column: String,
    moments: Moments,
    finish: fn(String, &Moments) -> FittedEncoder,
}

impl LearnMoments {
    /// A learner of `column`'s moments that `finish` turns into the fitted encoder.
    fn boxed(column: &str, finish: fn(String, &Moments) -> FittedEncoder) -> Box<dyn Learner> {
        Box::new(LearnMoments {
            column: column.to_string(),
            moments: Moments::new(),
            finish,
        })
    }
}

impl Learner for LearnMoments {
    fn in_place(&self) -> bool {
        true
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let moments = &mut self.moments;
        each_finite(df, &self.column, by, false, rows, |x| moments.add(x))
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        Ok((self.finish)(self.column, &self.moments))
    }
}

reads!("Uniform": Uniform, FittedUniform);

impl Spec for Uniform {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(LearnMoments::boxed(&self.column, |column, moments| {
            let (min, max) = moments.bounds();
            FittedUniform { column, min, max }.into()
        }))
    }
}

impl Fitted for FittedUniform {
    fn decode(&self, value: f32) -> Option<String> {
        Some((self.min + f64::from(value) * (self.max - self.min)).to_string())
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        map_values(df, &self.column, by, false, |v| {
            uniform_code(v, self.min, self.max)
        })
    }
}

/// Numbers clipped to the training range, then standardised with the training mean and
/// standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Norm {
    /// The column.
    pub column: String,
}

/// A fitted [`Norm`]: the training mean, standard deviation and range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedNorm {
    /// The column.
    pub column: String,
    /// Training mean.
    pub mean: f64,
    /// Training standard deviation (1 when constant).
    pub std: f64,
    /// Training minimum: smaller values are clipped to it (none in fittings made before
    /// clipping existed).
    #[serde(default)]
    pub min: Option<f64>,
    /// Training maximum: larger values are clipped to it.
    #[serde(default)]
    pub max: Option<f64>,
}

reads!("Norm": Norm, FittedNorm);

impl Spec for Norm {
    fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
        Ok(LearnMoments::boxed(&self.column, |column, moments| {
            let (mean, std, min, max) = moments.spread();
            FittedNorm {
                column,
                mean,
                std,
                min: Some(min),
                max: Some(max),
            }
            .into()
        }))
    }
}

impl Fitted for FittedNorm {
    fn decode(&self, value: f32) -> Option<String> {
        Some((self.mean + f64::from(value) * self.std).to_string())
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        map_values(df, &self.column, by, false, |v| {
            norm_code(v, self.mean, self.std, self.min, self.max)
        })
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Pass` of `column`.
    pub fn pass(column: impl Into<String>) -> Encoder {
        Pass {
            column: column.into(),
        }
        .into()
    }

    /// `Uniform` of `column`.
    pub fn uniform(column: impl Into<String>) -> Encoder {
        Uniform {
            column: column.into(),
        }
        .into()
    }

    /// `Norm` of `column`.
    pub fn norm(column: impl Into<String>) -> Encoder {
        Norm {
            column: column.into(),
        }
        .into()
    }
}

/// The `Uniform` code of one number (`None`: null or NaN) of a training range `min..=max`.
#[inline]
pub(crate) fn uniform_code(v: Option<f64>, min: f64, max: f64) -> f32 {
    let span = max - min;
    match v {
        None => f32::NAN,
        Some(_) if span <= 0.0 => 0.0,
        Some(x) => ((x.clamp(min, max) - min) / span) as f32,
    }
}

/// The `Norm` code of one number (`None`: null or NaN), clipped to the training range if known.
#[inline]
pub(crate) fn norm_code(
    v: Option<f64>,
    mean: f64,
    std: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> f32 {
    let (lo, hi) = (
        min.unwrap_or(f64::NEG_INFINITY),
        max.unwrap_or(f64::INFINITY),
    );
    v.map_or(f32::NAN, |x| ((x.clamp(lo, hi) - mean) / std) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit, same, x};

    #[test]
    fn pass_keeps_numbers_and_nulls_as_nan() {
        let f = fit(Encoder::pass("x"), &x(&[Some(1.0)]));
        let v = codes(&f, &x(&[Some(-2.5), None, Some(f64::NAN)]));
        assert!(same(&v, &[-2.5, f32::NAN, f32::NAN]), "{v:?}");
        assert_eq!(f.cardinality(), None);
    }

    #[test]
    fn uniform_scales_to_the_training_range_and_clips() {
        let f = fit(Encoder::uniform("x"), &x(&[Some(10.0), Some(20.0), None]));
        let v = codes(&f, &x(&[Some(15.0), Some(0.0), Some(99.0), None]));
        assert!(same(&v, &[0.5, 0.0, 1.0, f32::NAN]), "{v:?}");
        assert_eq!(f.decode(0.5), Some("15".into()));
    }

    #[test]
    fn norm_clips_to_the_training_range_then_standardises() {
        let f = fit(Encoder::norm("x"), &x(&[Some(1.0), Some(3.0), None]));
        assert_eq!(
            f,
            FittedEncoder::Norm(FittedNorm {
                column: "x".into(),
                mean: 2.0,
                std: 1.0,
                min: Some(1.0),
                max: Some(3.0),
            })
        );
        let v = codes(&f, &x(&[Some(2.0), Some(50.0), Some(-50.0), None]));
        assert!(same(&v, &[0.0, 1.0, -1.0, f32::NAN]), "{v:?}");
    }
}
