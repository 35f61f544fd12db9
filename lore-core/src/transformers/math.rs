//! Functions of one number (`Log`, `LogPlusOne`, `Sqrt`) and `IsNull`: numbers in, numbers out,
//! null where a function has no answer.

use polars::prelude::*;

use super::Transformer;
use crate::error::{Error, Result};
use crate::frame;

impl Transformer {
    /// The function of one number of `Log`, `LogPlusOne` and `Sqrt` (`None` where it has no
    /// answer); `None` for the other transformers.
    pub(crate) fn of_number(&self) -> Option<fn(f64) -> Option<f64>> {
        match self {
            Transformer::Log { .. } => Some(|x| (x > 0.0).then(|| x.ln())),
            Transformer::LogPlusOne { .. } => Some(|x| Some(x.max(0.0).ln_1p())),
            Transformer::Sqrt { .. } => Some(|x| (x >= 0.0).then(|| x.sqrt())),
            _ => None,
        }
    }
}

/// `f` of each number of `column`, named `out`; NaN where `f` has no answer or the value is null.
pub(super) fn of_number(
    t: &Transformer,
    df: &DataFrame,
    column: &str,
    by: &str,
    out: &str,
) -> Result<Column> {
    let Some(f) = t.of_number() else {
        return Err(Error::Data(format!("{by} has no function of a number")));
    };
    let values = frame::map_numbers(df, column, by, |v| v.and_then(f).unwrap_or(f64::NAN))?;
    Ok(frame::float_column(out, values))
}

/// 1 where `column` is null (or NaN), 0 otherwise.
pub(super) fn is_null(df: &DataFrame, column: &str, by: &str, out: &str) -> Result<Column> {
    let col = frame::column(df, column, by)?;
    let mut missing: Vec<bool> = col.is_null().iter().map(|v| v == Some(true)).collect();
    if col.dtype().is_float() {
        let values = col.cast(&DataType::Float64)?;
        for (m, v) in missing.iter_mut().zip(values.f64()?.iter()) {
            *m |= v.is_some_and(f64::is_nan);
        }
    }
    let values = missing
        .into_iter()
        .map(|m| Some(f64::from(u8::from(m))))
        .collect();
    Ok(frame::number_column(out, values))
}
