//! `Kind`: what a raw input column holds (text, number, boolean, date, timestamp), recorded in
//! each fitting for requests and checks to be held to.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{common_epoch, parse_timestamp};

/// What a raw input column holds, as found in the rows a model was fitted on: what a prediction
/// request must send for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Text.
    Text,
    /// Numbers (integers or reals).
    Number,
    /// true / false.
    Boolean,
    /// Dates, written `YYYY-MM-DD`.
    Date,
    /// Timestamps, written `YYYY-MM-DD HH:MM:SS` or RFC 3339.
    Timestamp,
}

impl Kind {
    /// The kind of `column`: by its type, and for text by its values (a text column whose
    /// values are all dates or timestamps is one of dates or timestamps).
    pub fn of(column: &Column) -> Kind {
        match column.dtype() {
            DataType::Boolean => Kind::Boolean,
            dt if dt.is_primitive_numeric() => Kind::Number,
            DataType::Date => Kind::Date,
            DataType::Datetime(_, _) => Kind::Timestamp,
            DataType::String => {
                let Ok(texts) = column.str() else {
                    return Kind::Text;
                };
                // A sample is enough: a column of dates is dates from its first rows on.
                let sample: Vec<&str> = texts.iter().flatten().take(1000).collect();
                if sample.is_empty() {
                    Kind::Text
                } else if sample.iter().all(|t| Kind::Date.accepts_text(t)) {
                    Kind::Date
                } else if sample.iter().all(|t| Kind::Timestamp.accepts_text(t)) {
                    Kind::Timestamp
                } else {
                    Kind::Text
                }
            }
            _ => Kind::Text,
        }
    }

    /// Its name in messages and in the OpenAPI document.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Boolean => "true/false",
            Kind::Date => "date (YYYY-MM-DD)",
            Kind::Timestamp => "timestamp (YYYY-MM-DD HH:MM:SS)",
        }
    }

    /// Its one-word name, as documents spell it (`text`, `number`, `boolean`, `date`,
    /// `timestamp`): for tables, where [`Kind::name`] is too long.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
        }
    }

    /// Whether `text` is a value of this kind when written as text: any text is text, a date
    /// is `YYYY-MM-DD`, a timestamp what [`super::timestamps`] reads.
    pub fn accepts_text(self, text: &str) -> bool {
        match self {
            Kind::Text => true,
            Kind::Date => text.len() == 10 && common_epoch(text.as_bytes()).is_some(),
            Kind::Timestamp => parse_timestamp(text).is_some(),
            Kind::Number | Kind::Boolean => false,
        }
    }
}

/// The kind of each of `columns` that `df` holds.
pub fn kinds(df: &DataFrame, columns: &[String]) -> std::collections::BTreeMap<String, Kind> {
    columns
        .iter()
        .filter_map(|c| Some((c.clone(), Kind::of(df.column(c).ok()?))))
        .collect()
}
