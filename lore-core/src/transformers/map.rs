//! `Map`: each value, as text, looked up in a table of numbers or of texts, with a default.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::Result;
use crate::frame;

/// Checks that the table (and the default) is all numbers or all text; `Err` says which.
pub(super) fn validate(
    values: &BTreeMap<String, serde_json::Value>,
    default: Option<&serde_json::Value>,
) -> std::result::Result<(), String> {
    let numeric = values.values().chain(default).all(|v| v.is_number());
    let text = values.values().chain(default).all(|v| v.is_string());
    match numeric || text {
        true => Ok(()),
        false => Err("must be all numbers or all text (the default too)".into()),
    }
}

/// Each value of `column` looked up in `values`, `default` where it is not there.
pub(super) fn compute(
    df: &DataFrame,
    column: &str,
    values: &BTreeMap<String, serde_json::Value>,
    default: Option<&serde_json::Value>,
    by: &str,
    out: &str,
) -> Result<Column> {
    let keys = frame::strings(df, column, by)?;
    let look = |k: Option<String>| k.and_then(|k| values.get(&k)).or(default);
    if values.values().chain(default).all(|v| v.is_number()) {
        let mapped = keys
            .into_iter()
            .map(|k| look(k).and_then(|v| v.as_f64()))
            .collect();
        Ok(frame::number_column(out, mapped))
    } else {
        let mapped = keys
            .into_iter()
            .map(|k| look(k).and_then(|v| v.as_str()).map(str::to_string));
        Ok(frame::text_column(out, mapped))
    }
}
