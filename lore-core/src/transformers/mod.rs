//! Transformers: each reads one or more columns and adds one derived column, row by row, with no
//! state learned from data (that is what encoders are for). A transformer's output is named after
//! it, such as `Log(NameAge(first_name))`, so transformers chain by naming an earlier one's output
//! as their column. Nulls stay null; a value a transformer cannot take (the log of a negative
//! number, an unknown first name) becomes null rather than an error, so one odd row never stops a
//! fit or a prediction. A column of the wrong type is an error naming the column.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

mod apply;
mod custom;
mod dates;
mod geography;
mod map;
mod math;
mod names;
mod text;

pub use apply::apply_all;
pub use custom::{is_registered, register, CustomTransformer};
use dates::Seconds;
pub use dates::{AgeUnit, DatePart, Reference};
pub(crate) use geography::haversine_km;
pub(crate) use names::familial;
pub use text::StringOp;
pub(crate) use text::{area_code, email_domain};

/// A column-to-column transformation, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Transformer {
    /// `ln(x)`; null where `x <= 0`.
    Log {
        /// The numeric column.
        column: String,
    },
    /// `ln(1 + max(x, 0))`, for counts and amounts with a long tail.
    LogPlusOne {
        /// The numeric column.
        column: String,
    },
    /// `sqrt(x)`; null where `x < 0`.
    Sqrt {
        /// The numeric column.
        column: String,
    },
    /// 1 where the value is null (or NaN), 0 otherwise; never null itself.
    IsNull {
        /// Any column.
        column: String,
    },
    /// Looks each value (as text) up in a table; values not in it get `default` (null if unset).
    Map {
        /// Any column; numbers and booleans are looked up by their text (`1`, `true`).
        column: String,
        /// The table: all numbers (a numeric output) or all text (a text output).
        values: BTreeMap<String, serde_json::Value>,
        /// The answer for values not in the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<serde_json::Value>,
    },
    /// A calendar part of a date or timestamp.
    DateTime {
        /// The date or timestamp column.
        column: String,
        /// Which part.
        part: DatePart,
    },
    /// The time from `column` to `reference`, in `unit` (negative when `column` is later).
    Age {
        /// The date or timestamp column.
        column: String,
        /// What to measure to: `now` (when the transformer runs), a fixed date or another column.
        #[serde(default)]
        reference: Reference,
        /// The unit of the answer.
        #[serde(default)]
        unit: AgeUnit,
    },
    /// A text operation: `lower`, `upper`, `trim`, `length`, `extract` or `contains`.
    String {
        /// The text column.
        column: String,
        /// The operation.
        op: StringOp,
        /// The regular expression of `extract` (its first group, or the whole match) and `contains`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// The three-digit area code of a North American phone number, whatever its punctuation.
    AreaCode {
        /// The phone-number column.
        column: String,
    },
    /// The domain of an email address, lower-cased (`Ann@Gmail.com` -> `gmail.com`).
    EmailDomain {
        /// The email column.
        column: String,
    },
    /// Mean age of people with this first name (null for unknown names).
    NameAge {
        /// The first-name column.
        column: String,
    },
    /// Share of people with this first name who are male (null for unknown names).
    NameSex {
        /// The first-name column.
        column: String,
    },
    /// How many people carry this first name (null for unknown names).
    NamePopulation {
        /// The first-name column.
        column: String,
    },
    /// 1 where the "first name" is a family word (mom, dad, bro, sis, ...), as in address books.
    NameFamilial {
        /// The first-name column.
        column: String,
    },
    /// The great-circle distance in kilometres between two points given in degrees.
    Distance {
        /// Latitude of the first point.
        lat_a: String,
        /// Longitude of the first point.
        lon_a: String,
        /// Latitude of the second point.
        lat_b: String,
        /// Longitude of the second point.
        lon_b: String,
    },
    /// A transformer of the project's own, written in Rust and registered under `name`
    /// ([`register`]); its output is named `name(columns)`.
    Custom {
        /// The name it is registered under.
        name: String,
        /// The columns it reads, in the order it expects them.
        columns: Vec<String>,
        /// Its parameters: the fields of the registered type.
        #[serde(default = "no_params", skip_serializing_if = "has_no_params")]
        params: serde_json::Value,
    },
}

/// The parameters of a custom transformer or encoder that names none.
pub(crate) fn no_params() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

pub(crate) fn has_no_params(params: &serde_json::Value) -> bool {
    params.as_object().is_some_and(serde_json::Map::is_empty)
}

impl Transformer {
    /// A custom transformer registered as `name`, reading `columns`, with no parameters.
    pub fn custom(name: impl Into<String>, columns: &[&str]) -> Transformer {
        Transformer::Custom {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            params: no_params(),
        }
    }

    /// The name of this custom transformer when this program has not registered it.
    pub fn unregistered(&self) -> Option<&str> {
        match self {
            Transformer::Custom { name, .. } if !is_registered(name) => Some(name),
            _ => None,
        }
    }
}

impl Transformer {
    /// The name of the column this transformer adds, such as `EmailDomain(email)`.
    pub fn output(&self) -> String {
        match self {
            Transformer::Log { column } => format!("Log({column})"),
            Transformer::LogPlusOne { column } => format!("LogPlusOne({column})"),
            Transformer::Sqrt { column } => format!("Sqrt({column})"),
            Transformer::IsNull { column } => format!("IsNull({column})"),
            Transformer::Map { column, .. } => format!("Map({column})"),
            Transformer::DateTime { column, part } => {
                format!("DateTime({column}, {})", part.name())
            }
            Transformer::Age {
                column,
                reference,
                unit,
            } => {
                let to = match reference {
                    Reference::Now => "now",
                    Reference::Date(d) | Reference::Column(d) => d,
                };
                format!("Age({column}, {to}, {})", unit.name())
            }
            Transformer::String {
                column,
                op,
                pattern,
            } => match pattern {
                Some(p) if matches!(op, StringOp::Extract | StringOp::Contains) => {
                    format!("String({column}, {} {p})", op.name())
                }
                _ => format!("String({column}, {})", op.name()),
            },
            Transformer::AreaCode { column } => format!("AreaCode({column})"),
            Transformer::EmailDomain { column } => format!("EmailDomain({column})"),
            Transformer::NameAge { column } => format!("NameAge({column})"),
            Transformer::NameSex { column } => format!("NameSex({column})"),
            Transformer::NamePopulation { column } => format!("NamePopulation({column})"),
            Transformer::NameFamilial { column } => format!("NameFamilial({column})"),
            Transformer::Distance {
                lat_a,
                lon_a,
                lat_b,
                lon_b,
            } => format!("Distance({lat_a}, {lon_a}, {lat_b}, {lon_b})"),
            Transformer::Custom { name, columns, .. } => {
                format!("{name}({})", columns.join(", "))
            }
        }
    }

    /// The columns this transformer reads.
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            Transformer::Log { column }
            | Transformer::LogPlusOne { column }
            | Transformer::Sqrt { column }
            | Transformer::IsNull { column }
            | Transformer::Map { column, .. }
            | Transformer::DateTime { column, .. }
            | Transformer::String { column, .. }
            | Transformer::AreaCode { column }
            | Transformer::EmailDomain { column }
            | Transformer::NameAge { column }
            | Transformer::NameSex { column }
            | Transformer::NamePopulation { column }
            | Transformer::NameFamilial { column } => vec![column],
            Transformer::Age {
                column, reference, ..
            } => match reference {
                Reference::Column(other) => vec![column, other],
                _ => vec![column],
            },
            Transformer::Distance {
                lat_a,
                lon_a,
                lat_b,
                lon_b,
            } => vec![lat_a, lon_a, lat_b, lon_b],
            Transformer::Custom { columns, .. } => columns.iter().map(String::as_str).collect(),
        }
    }

    /// Checks the parameters that do not depend on data (a pattern, a date, a table), so a bad
    /// one fails before any data is read.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Error::InvalidParam {
            key: format!("transformer {}.{field}", self.output()),
            message,
        };
        match self {
            Transformer::Map {
                values, default, ..
            } => map::validate(values, default.as_ref()).map_err(|m| bad("values", m)),
            Transformer::Age { reference, .. } => {
                dates::validate(reference).map_err(|m| bad("reference", m))
            }
            Transformer::String { op, pattern, .. } => {
                text::validate(*op, pattern.as_deref()).map_err(|m| bad("pattern", m))
            }
            Transformer::Custom { name, params, .. } => custom::build(name, params).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Adds this transformer's output column to `df`.
    pub fn apply(&self, df: &mut DataFrame) -> Result<()> {
        let column = self.compute(df)?;
        df.with_column(column)?;
        Ok(())
    }

    /// This transformer's output column for the rows of `df`, which it only reads.
    pub fn compute(&self, df: &DataFrame) -> Result<Column> {
        self.compute_with(df, &Seconds::default())
    }

    /// The columns this transformer reads as timestamps.
    fn timestamp_inputs(&self) -> Vec<&str> {
        match self {
            Transformer::DateTime { .. } | Transformer::Age { .. } => self.inputs(),
            _ => Vec::new(),
        }
    }

    /// [`Transformer::compute`], reading timestamp columns from `seconds` where it holds them.
    fn compute_with(&self, df: &DataFrame, seconds_of: &Seconds) -> Result<Column> {
        self.validate()?;
        let by = format!("transformer {}", self.output());
        let out = self.output();
        match self {
            Transformer::Custom {
                name,
                columns,
                params,
            } => {
                for column in columns {
                    frame::column(df, column, &by)?;
                }
                let mut computed = custom::build(name, params)?.compute(df, columns)?;
                if computed.len() != df.height() {
                    return Err(Error::Data(format!(
                        "{by} returned {} values for {} rows; return one value per row",
                        computed.len(),
                        df.height()
                    )));
                }
                computed.rename(out.as_str().into());
                Ok(computed)
            }
            Transformer::Log { column }
            | Transformer::LogPlusOne { column }
            | Transformer::Sqrt { column } => math::of_number(self, df, column, &by, &out),
            Transformer::IsNull { column } => math::is_null(df, column, &by, &out),
            Transformer::Map {
                column,
                values,
                default,
            } => map::compute(df, column, values, default.as_ref(), &by, &out),
            Transformer::DateTime { column, part } => Ok(dates::date_time(
                seconds_of.get(df, column, &by)?,
                *part,
                &out,
            )),
            Transformer::Age {
                column,
                reference,
                unit,
            } => dates::age(df, column, reference, *unit, seconds_of, &by, &out),
            Transformer::String {
                column,
                op,
                pattern,
            } => text::string(df, column, *op, pattern.as_deref(), &by, &out),
            Transformer::AreaCode { column } => text::area_codes(df, column, &by, &out),
            Transformer::EmailDomain { column } => text::email_domains(df, column, &by, &out),
            Transformer::NameAge { column }
            | Transformer::NameSex { column }
            | Transformer::NamePopulation { column } => {
                let field = |stats| self.name_stat(stats).unwrap_or(f64::NAN);
                names::stat(df, column, field, &by, &out)
            }
            Transformer::NameFamilial { column } => names::familials(df, column, &by, &out),
            Transformer::Distance {
                lat_a,
                lon_a,
                lat_b,
                lon_b,
            } => geography::distance(df, [lat_a, lon_a, lat_b, lon_b], &by, &out),
        }
    }
}

#[cfg(test)]
mod tests;
