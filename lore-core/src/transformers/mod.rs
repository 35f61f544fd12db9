//! Transformers: each reads one or more columns and adds one derived column, row by row, with no
//! state learned from data (that is what encoders are for). A transformer's output is named after
//! it, such as `Log(NameAge(first_name))`, so transformers chain by naming an earlier one's output
//! as their column. Nulls stay null; a value a transformer cannot take (the log of a negative
//! number, an unknown first name) becomes null rather than an error, so one odd row never stops a
//! fit or a prediction. A column of the wrong type is an error naming the column.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;
use crate::names;

mod custom;

pub use custom::{is_registered, register, CustomTransformer};

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

/// The calendar parts [`Transformer::DateTime`] can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatePart {
    /// The year.
    Year,
    /// The month, 1..12.
    Month,
    /// The day of the month, 1..31.
    Day,
    /// The day of the week, 0 (Monday) .. 6.
    Weekday,
    /// The hour, 0..23.
    Hour,
    /// The day of the year, 1..366.
    DayOfYear,
    /// Seconds since 1970-01-01 00:00:00 UTC.
    Epoch,
}

/// What [`Transformer::Age`] measures to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// The moment the transformer runs (so a fitting's ages grow as it ages).
    #[default]
    Now,
    /// A fixed date, `YYYY-MM-DD`.
    Date(String),
    /// Another date or timestamp column of the same row.
    Column(String),
}

/// The unit of [`Transformer::Age`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeUnit {
    /// Seconds.
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    #[default]
    Days,
    /// Weeks.
    Weeks,
    /// Years of 365.2425 days.
    Years,
}

/// The operations of [`Transformer::String`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StringOp {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// Without leading and trailing white space.
    Trim,
    /// The number of characters.
    Length,
    /// The first group of `pattern` (or its whole match); null where it does not match.
    Extract,
    /// 1 where `pattern` matches, 0 where it does not.
    Contains,
}

/// The words people file family members under in address books.
const FAMILIAL: &[&str] = &[
    "mom", "mommy", "mother", "mum", "mama", "momma", "dad", "daddy", "father", "papa", "pops",
    "bro", "brother", "sis", "sister", "grandma", "grandpa", "granny", "nana", "aunt", "auntie",
    "uncle", "son", "daughter", "wife", "husband", "hubby", "babe", "baby", "honey", "cousin",
];

/// The mean radius of the Earth in kilometres (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

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
            } => {
                let numeric = values.values().chain(default).all(|v| v.is_number());
                let text = values.values().chain(default).all(|v| v.is_string());
                if !numeric && !text {
                    return Err(bad(
                        "values",
                        "must be all numbers or all text (the default too)".into(),
                    ));
                }
            }
            Transformer::Age {
                reference: Reference::Date(d),
                ..
            } => {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| {
                    bad("reference", format!("`{d}` is not a YYYY-MM-DD date: {e}"))
                })?;
            }
            Transformer::String { op, pattern, .. } => {
                match (op, pattern) {
                    (StringOp::Extract | StringOp::Contains, None) => {
                        return Err(bad(
                            "pattern",
                            format!("`{}` needs a regular expression", op.name()),
                        ))
                    }
                    (StringOp::Extract | StringOp::Contains, Some(p)) => {
                        regex::Regex::new(p).map_err(|e| bad("pattern", e.to_string()))?;
                    }
                    _ => {}
                };
            }
            Transformer::Custom { name, params, .. } => {
                custom::build(name, params)?;
            }
            _ => {}
        }
        Ok(())
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
        let numbers_of = |column: &str, f: &dyn Fn(f64) -> Option<f64>| -> Result<Column> {
            let values =
                frame::map_numbers(df, column, &by, |v| v.and_then(f).unwrap_or(f64::NAN))?;
            Ok(frame::float_column(&out, values))
        };
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
            | Transformer::Sqrt { column } => match self.of_number() {
                Some(f) => numbers_of(column, &f),
                None => Err(Error::Data(format!("{by} has no function of a number"))),
            },
            Transformer::IsNull { column } => {
                let col = frame::column(df, column, &by)?;
                let mut missing: Vec<bool> =
                    col.is_null().iter().map(|v| v == Some(true)).collect();
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
                Ok(frame::number_column(&out, values))
            }
            Transformer::Map {
                column,
                values,
                default,
            } => {
                let keys = frame::strings(df, column, &by)?;
                let look = |k: Option<String>| k.and_then(|k| values.get(&k)).or(default.as_ref());
                if values.values().chain(default).all(|v| v.is_number()) {
                    let mapped = keys
                        .into_iter()
                        .map(|k| look(k).and_then(|v| v.as_f64()))
                        .collect();
                    Ok(frame::number_column(&out, mapped))
                } else {
                    let mapped = keys
                        .into_iter()
                        .map(|k| look(k).and_then(|v| v.as_str()).map(str::to_string));
                    Ok(frame::text_column(&out, mapped))
                }
            }
            Transformer::DateTime { column, part } => {
                let mut values = seconds_of.get(df, column, &by)?;
                for t in values.iter_mut().filter(|t| !t.is_nan()) {
                    *t = part.of(*t);
                }
                Ok(frame::float_column(&out, values))
            }
            Transformer::Age {
                column,
                reference,
                unit,
            } => {
                let mut from = seconds_of.get(df, column, &by)?;
                let seconds = unit.seconds();
                let mut to = |at: f64| {
                    for a in from.iter_mut() {
                        *a = (at - *a) / seconds;
                    }
                };
                match reference {
                    Reference::Now => to(chrono::Utc::now().timestamp_micros() as f64 / 1e6),
                    Reference::Date(d) => {
                        let d = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|e| Error::Data(e.to_string()))?;
                        to(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() as f64)
                    }
                    Reference::Column(other) => {
                        let at = seconds_of.read(df, other, &by)?;
                        for (a, b) in from.iter_mut().zip(at.iter()) {
                            *a = (b - *a) / seconds;
                        }
                    }
                }
                Ok(frame::float_column(&out, from))
            }
            Transformer::String {
                column,
                op,
                pattern,
            } => {
                let texts = frame::text(df, column, &by)?;
                let regex = match pattern {
                    Some(p) => Some(regex::Regex::new(p).map_err(|e| Error::Data(e.to_string()))?),
                    None => None,
                };
                match (op, &regex) {
                    (StringOp::Length, _) => {
                        let values = texts
                            .iter()
                            .map(|t| t.map(|t| t.chars().count() as f64))
                            .collect();
                        Ok(frame::number_column(&out, values))
                    }
                    (StringOp::Contains, Some(re)) => {
                        let values = texts
                            .iter()
                            .map(|t| t.map(|t| f64::from(u8::from(re.is_match(t)))))
                            .collect();
                        Ok(frame::number_column(&out, values))
                    }
                    (StringOp::Extract, Some(re)) => {
                        let values = texts.iter().map(|t| {
                            let caps = re.captures(t?)?;
                            caps.get(1)
                                .or_else(|| caps.get(0))
                                .map(|m| m.as_str().to_string())
                        });
                        Ok(frame::text_column(&out, values))
                    }
                    _ => {
                        let values = texts.iter().map(|t| {
                            t.map(|t| match op {
                                StringOp::Upper => t.to_uppercase(),
                                StringOp::Trim => t.trim().to_string(),
                                _ => t.to_lowercase(),
                            })
                        });
                        Ok(frame::text_column(&out, values))
                    }
                }
            }
            Transformer::AreaCode { column } => {
                let phones = frame::text(df, column, &by)?;
                let values = phones.iter().map(|v| v.and_then(area_code));
                Ok(frame::text_column(&out, values))
            }
            Transformer::EmailDomain { column } => {
                let emails = frame::text(df, column, &by)?;
                let mut domains = MutableBinaryViewArray::<str>::with_capacity(emails.len());
                for email in emails.iter() {
                    match email.and_then(email_domain) {
                        None => domains.push_null(),
                        Some(d) => domains.push_value(d),
                    }
                }
                let domains = StringChunked::with_chunk(out.as_str().into(), domains.freeze());
                Ok(domains.into_column())
            }
            Transformer::NameAge { column }
            | Transformer::NameSex { column }
            | Transformer::NamePopulation { column } => {
                let field = |stats: names::NameStats| self.name_stat(stats).unwrap_or(f64::NAN);
                // Names repeat: each distinct spelling is looked up (trimmed, lower-cased) once.
                let given = frame::text(df, column, &by)?;
                let mut seen: PlHashMap<frame::TextKey, f64> = PlHashMap::new();
                let mut values = Vec::with_capacity(given.len());
                frame::each_keyed_text(&given, |v| {
                    values.push(match v {
                        None => f64::NAN,
                        Some((key, v)) => *seen
                            .entry(key)
                            .or_insert_with(|| names::lookup(v).map_or(f64::NAN, field)),
                    })
                });
                Ok(frame::float_column(&out, values))
            }
            Transformer::NameFamilial { column } => {
                let values = frame::text(df, column, &by)?
                    .iter()
                    .map(|v| v.map(familial))
                    .collect();
                Ok(frame::number_column(&out, values))
            }
            Transformer::Distance {
                lat_a,
                lon_a,
                lat_b,
                lon_b,
            } => {
                let columns = [lat_a, lon_a, lat_b, lon_b]
                    .iter()
                    .map(|c| frame::numbers(df, c, &by))
                    .collect::<Result<Vec<_>>>()?;
                let values = (0..df.height())
                    .map(|r| {
                        let p: Vec<f64> = columns.iter().map(|c| c[r]).collect::<Option<_>>()?;
                        haversine_km(p[0], p[1], p[2], p[3])
                    })
                    .collect();
                Ok(frame::number_column(&out, values))
            }
        }
    }
}

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

impl Transformer {
    /// The figure `NameAge`, `NameSex` and `NamePopulation` take from a name's statistics;
    /// `None` for the other transformers.
    pub(crate) fn name_stat(&self, stats: names::NameStats) -> Option<f64> {
        match self {
            Transformer::NameAge { .. } => Some(stats.mean_age),
            Transformer::NameSex { .. } => Some(stats.share_male),
            Transformer::NamePopulation { .. } => Some(stats.population),
            _ => None,
        }
    }
}

/// The domain of one email address as [`Transformer::EmailDomain`] gives it: what follows the
/// last `@`, trimmed and lower-cased; `None` when there is none.
pub(crate) fn email_domain(email: &str) -> Option<Cow<'_, str>> {
    // Addresses are short: a plain scan from the end beats a general search.
    let at = email.bytes().rposition(|b| b == b'@')?;
    let d = &email[at + 1..];
    let spaced = d.starts_with(char::is_whitespace) || d.ends_with(char::is_whitespace);
    let d = Some(if spaced { d.trim() } else { d }).filter(|d| !d.is_empty())?;
    Some(
        match d.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
            true => Cow::Owned(d.to_lowercase()),
            false => Cow::Borrowed(d),
        },
    )
}

/// 1 where a first name is a family word ([`Transformer::NameFamilial`]), 0 otherwise.
pub(crate) fn familial(name: &str) -> f64 {
    let name = name.trim().to_lowercase();
    f64::from(u8::from(FAMILIAL.contains(&name.as_str())))
}

/// Timestamp columns already read as seconds since 1970, so that transformers reading the same
/// column (`Age` and `DateTime` of a signup date) parse it once.
#[derive(Default)]
struct Seconds(PlHashMap<String, Vec<f64>>);

impl Seconds {
    /// `column` in seconds: a copy of the parsed column, to change in place.
    fn get(&self, df: &DataFrame, column: &str, by: &str) -> Result<Vec<f64>> {
        Ok(self.read(df, column, by)?.into_owned())
    }

    /// `column` in seconds, borrowed when it was parsed before.
    fn read(&self, df: &DataFrame, column: &str, by: &str) -> Result<Cow<'_, [f64]>> {
        Ok(match self.0.get(column) {
            Some(seconds) => Cow::Borrowed(seconds),
            None => Cow::Owned(frame::epoch_seconds(df, column, by)?),
        })
    }
}

/// Fewest rows in one piece of a frame that [`apply_all`] transforms a piece at a time.
const PIECE_ROWS: usize = 64 * 1024;

/// Applies `transformers` as [`Transformer::apply`] one after another would, on every core. The
/// built-in transformers compute each row from that row alone, so a large frame is cut into
/// pieces of rows, transformed side by side and joined again as chunks of each output column:
/// every core does the same share of every transformer. Otherwise (a small frame, or a custom
/// transformer, which may read the whole column) the transformers whose inputs are ready are
/// computed side by side: first all that read only the extract's columns, then those that read
/// their outputs, and so on.
pub fn apply_all(transformers: &[Transformer], df: &mut DataFrame) -> Result<()> {
    let pieces = rayon::current_num_threads() * 2;
    let built_in = transformers
        .iter()
        .all(|t| !matches!(t, Transformer::Custom { .. }));
    if pieces > 1 && built_in && df.height() >= 2 * PIECE_ROWS {
        apply_in_pieces(
            transformers,
            df,
            df.height().div_ceil(pieces).max(PIECE_ROWS),
        )
    } else {
        apply_by_level(transformers, df)
    }
}

/// [`apply_all`] on pieces of `rows` rows of `df`, side by side.
fn apply_in_pieces(transformers: &[Transformer], df: &mut DataFrame, rows: usize) -> Result<()> {
    let outputs: Vec<String> = transformers.iter().map(Transformer::output).collect();
    let mut order: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut added: Vec<&str> = Vec::new();
    for output in &outputs {
        if !added.contains(&output.as_str()) {
            added.push(output);
        }
        if !order.contains(output) {
            order.push(output.clone());
        }
    }
    // Timestamp columns that several transformers read are parsed once a piece.
    let mut read: Vec<(&str, usize)> = Vec::new();
    let mut shared: Vec<(&str, usize)> = Vec::new();
    for (i, t) in transformers.iter().enumerate() {
        for column in t.timestamp_inputs() {
            match read.iter().find(|(c, _)| *c == column) {
                Some(first) if !shared.contains(first) => shared.push(*first),
                Some(_) => {}
                None => read.push((column, i)),
            }
        }
    }
    let starts: Vec<usize> = (0..df.height()).step_by(rows).collect();
    let columns = starts
        .par_iter()
        .map(|start| {
            let mut piece = df.slice(*start as i64, rows);
            let mut seconds = Seconds::default();
            for (column, i) in &shared {
                let by = format!("transformer {}", transformers[*i].output());
                // A transformer before the one reading it may have replaced the column.
                if outputs[..*i].iter().all(|o| o != column) {
                    let parsed = frame::epoch_seconds(&piece, column, &by)
                        .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))?;
                    seconds.0.insert(column.to_string(), parsed);
                }
            }
            for (i, t) in transformers.iter().enumerate() {
                let column = t
                    .compute_with(&piece, &seconds)
                    .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))?;
                seconds.0.remove(t.output().as_str());
                piece.with_column(column)?;
            }
            added
                .iter()
                .map(|name| Ok(piece.column(name)?.clone()))
                .collect::<Result<Vec<Column>>>()
        })
        .collect::<Result<Vec<Vec<Column>>>>()?;
    let mut pieces = columns.into_iter();
    if let Some(mut joined) = pieces.next() {
        for piece in pieces {
            for (whole, part) in joined.iter_mut().zip(piece) {
                whole.append_owned(part)?;
            }
        }
        for column in joined {
            df.with_column(column)?;
        }
    }
    *df = df.select(order)?;
    Ok(())
}

/// [`apply_all`] a level of transformers at a time, each on the whole of `df`.
fn apply_by_level(transformers: &[Transformer], df: &mut DataFrame) -> Result<()> {
    // A transformer's level: 0 when it reads no earlier transformer's output, else one more
    // than the highest level among the earlier transformers it reads.
    let outputs: Vec<String> = transformers.iter().map(Transformer::output).collect();
    let mut levels: Vec<usize> = Vec::with_capacity(transformers.len());
    for (i, t) in transformers.iter().enumerate() {
        let inputs = t.inputs();
        let level = (0..i)
            .filter(|j| inputs.contains(&outputs[*j].as_str()))
            .map(|j| levels[j] + 1)
            .max()
            .unwrap_or(0);
        levels.push(level);
    }
    let deepest = levels.iter().copied().max().unwrap_or(0);
    // The columns in the order applying one after another leaves them.
    let mut order: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    for output in &outputs {
        if !order.contains(output) {
            order.push(output.clone());
        }
    }
    for level in 0..=deepest {
        let frame: &DataFrame = df;
        let in_level: Vec<usize> = (0..transformers.len())
            .filter(|i| levels[*i] == level)
            .collect();
        // When transformers of this level read the same timestamp column, every timestamp column
        // of the level is parsed once, side by side with the transformers that read none; then
        // those that do run on the parsed seconds.
        let mut readers: Vec<(&str, usize)> = Vec::new();
        let mut repeated = false;
        for &i in &in_level {
            for column in transformers[i].timestamp_inputs() {
                match readers.iter().any(|(c, _)| *c == column) {
                    true => repeated = true,
                    false => readers.push((column, i)),
                }
            }
        }
        let shared = if repeated { readers } else { Vec::new() };
        let reads_shared = |i: &usize| {
            transformers[*i]
                .timestamp_inputs()
                .iter()
                .any(|c| shared.iter().any(|(s, _)| s == c))
        };
        let compute = |i: usize, seconds: &Seconds| {
            let started = std::time::Instant::now();
            let t = &transformers[i];
            let column = t
                .compute_with(frame, seconds)
                .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")));
            tracing::debug!(seconds = started.elapsed().as_secs_f64(), "{}", t.output());
            column
        };
        let (parsed, early) = rayon::join(
            || {
                shared
                    .par_iter()
                    .map(|(column, i)| {
                        let by = format!("transformer {}", transformers[*i].output());
                        frame::epoch_seconds(frame, column, &by)
                            .map(|s| (column.to_string(), s))
                            .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))
                    })
                    .collect::<Result<PlHashMap<_, _>>>()
            },
            || {
                in_level
                    .par_iter()
                    .filter(|i| !reads_shared(i))
                    .map(|i| compute(*i, &Seconds::default()))
                    .collect::<Result<Vec<_>>>()
            },
        );
        let seconds = Seconds(parsed?);
        let late = in_level
            .par_iter()
            .filter(|i| reads_shared(i))
            .map(|i| compute(*i, &seconds))
            .collect::<Result<Vec<_>>>()?;
        for column in early?.into_iter().chain(late) {
            df.with_column(column)?;
        }
    }
    *df = df.select(order)?;
    Ok(())
}

impl DatePart {
    fn name(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Month => "month",
            DatePart::Day => "day",
            DatePart::Weekday => "weekday",
            DatePart::Hour => "hour",
            DatePart::DayOfYear => "dayofyear",
            DatePart::Epoch => "epoch",
        }
    }

    /// This part of the time `seconds` after 1970-01-01 00:00 UTC, computed on the count
    /// itself rather than through a calendar type: DateTime runs once a row.
    pub(crate) fn of(self, seconds: f64) -> f64 {
        // Whole seconds, floored without a libm call.
        let whole = seconds as i64 - i64::from((seconds as i64) as f64 > seconds);
        let days = whole.div_euclid(86_400);
        let (year, month, day) = frame::civil_from_days(days);
        match self {
            DatePart::Year => year as f64,
            DatePart::Month => f64::from(month),
            DatePart::Day => f64::from(day),
            // 1970-01-01 was a Thursday, day 3 counting from Monday.
            DatePart::Weekday => (days + 3).rem_euclid(7) as f64,
            DatePart::Hour => (whole.rem_euclid(86_400) / 3600) as f64,
            DatePart::DayOfYear => (days - frame::days_from_civil(year, 1, 1) + 1) as f64,
            DatePart::Epoch => whole as f64,
        }
    }
}

impl AgeUnit {
    fn name(self) -> &'static str {
        match self {
            AgeUnit::Seconds => "seconds",
            AgeUnit::Minutes => "minutes",
            AgeUnit::Hours => "hours",
            AgeUnit::Days => "days",
            AgeUnit::Weeks => "weeks",
            AgeUnit::Years => "years",
        }
    }

    pub(crate) fn seconds(self) -> f64 {
        match self {
            AgeUnit::Seconds => 1.0,
            AgeUnit::Minutes => 60.0,
            AgeUnit::Hours => 3_600.0,
            AgeUnit::Days => 86_400.0,
            AgeUnit::Weeks => 604_800.0,
            AgeUnit::Years => 365.2425 * 86_400.0,
        }
    }
}

impl StringOp {
    fn name(self) -> &'static str {
        match self {
            StringOp::Lower => "lower",
            StringOp::Upper => "upper",
            StringOp::Trim => "trim",
            StringOp::Length => "length",
            StringOp::Extract => "extract",
            StringOp::Contains => "contains",
        }
    }
}

/// The area code of a 10-digit number, or of an 11-digit one that starts with the country code 1.
pub(crate) fn area_code(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        10 => digits.as_str(),
        11 if digits.starts_with('1') => &digits[1..],
        _ => return None,
    };
    Some(national[..3].to_string())
}

pub(crate) fn haversine_km(lat_a: f64, lon_a: f64, lat_b: f64, lon_b: f64) -> Option<f64> {
    let valid = |lat: f64, lon: f64| lat.abs() <= 90.0 && lon.abs() <= 180.0;
    if !valid(lat_a, lon_a) || !valid(lat_b, lon_b) {
        return None;
    }
    let (p1, p2) = (lat_a.to_radians(), lat_b.to_radians());
    let dp = p2 - p1;
    let dl = (lon_b - lon_a).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_frame_transformed_in_pieces_matches_one_transformer_after_another() {
        let n = 2 * PIECE_ROWS + 1_000;
        let day = |i: usize| format!("2018-{:02}-{:02} 0{}:00:00", i % 12 + 1, i % 28 + 1, i % 10);
        let mut df = df!(
            "first_name" => (0..n).map(|i| ["John", "Mary", "Zorblax", ""][i % 4]).collect::<Vec<_>>(),
            "email" => (0..n).map(|i| format!("u{i}@Example{}.com", i % 7)).collect::<Vec<_>>(),
            "signup" => (0..n).map(day).collect::<Vec<_>>(),
            "seen" => (0..n).map(|i| day(i + 5)).collect::<Vec<_>>(),
            "orders" => (0..n).map(|i| (i % 9) as i64 - 1).collect::<Vec<_>>()
        )
        .unwrap();
        let transformers: Vec<Transformer> = serde_json::from_value(serde_json::json!([
            {"type": "NameAge", "column": "first_name"},
            {"type": "Log", "column": "NameAge(first_name)"},
            {"type": "EmailDomain", "column": "email"},
            {"type": "Age", "column": "signup", "reference": {"column": "seen"}, "unit": "days"},
            {"type": "DateTime", "column": "signup", "part": "month"},
            {"type": "LogPlusOne", "column": "orders"},
        ]))
        .unwrap();
        let mut one_by_one = df.clone();
        for t in &transformers {
            t.apply(&mut one_by_one).unwrap();
        }
        apply_all(&transformers, &mut df).unwrap();
        assert!(df.column("Log(NameAge(first_name))").unwrap().n_chunks() > 1);
        assert!(df.equals_missing(&one_by_one));
    }

    /// Five rows with the awkward cases: a typical value, an edge value, a null, and junk.
    fn frame() -> DataFrame {
        df!(
            "x" => [Some(std::f64::consts::E), Some(0.0), None, Some(-4.0), Some(f64::NAN)],
            "email" => [Some("Ann@Gmail.COM"), Some("nobody"), None, Some("x@"), Some(" b@Yahoo.com ")],
            "first_name" => [Some("John"), Some("Zorblax"), None, Some("MOM"), Some(" mary ")],
            "a" => [Some("2018-01-01 00:00:00"), Some("2018-01-01"), None, Some("2020-02-29T12:00:00"), Some("2018-06-01")],
            "b" => [Some("2018-01-03 12:00:00"), Some("2018-03-01T00:00:00"), Some("2018-01-01"), Some("2020-02-29T00:00:00"), None],
            "phone" => [Some("(415) 555-0134"), Some("+1 212 555 0199"), None, Some("555-0134"), Some("0044 20 7946 0018")],
            "tier" => [Some("gold"), Some("silver"), None, Some("tin"), Some("gold")],
            "lat_a" => [Some(51.5007), Some(0.0), None, Some(91.0), Some(40.7128)],
            "lon_a" => [Some(-0.1246), Some(0.0), Some(1.0), Some(0.0), Some(-74.0060)],
            "lat_b" => [Some(40.6892), Some(0.0), Some(1.0), Some(0.0), Some(40.7128)],
            "lon_b" => [Some(-74.0445), Some(0.0), Some(1.0), Some(0.0), Some(-74.0060)],
        )
        .unwrap()
    }

    fn run(t: &Transformer) -> Column {
        let mut df = frame();
        t.apply(&mut df).unwrap();
        df.column(&t.output()).unwrap().clone()
    }

    fn numbers(t: Transformer) -> Vec<Option<f64>> {
        run(&t).f64().unwrap().iter().collect()
    }

    fn texts(t: Transformer) -> Vec<Option<String>> {
        run(&t)
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn round(values: Vec<Option<f64>>, places: i32) -> Vec<Option<f64>> {
        let k = 10f64.powi(places);
        values
            .into_iter()
            .map(|v| v.map(|v| (v * k).round() / k))
            .collect()
    }

    fn col(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn log_is_null_for_zero_negative_null_and_nan() {
        let v = round(numbers(Transformer::Log { column: col("x") }), 9);
        assert_eq!(v, vec![Some(1.0), None, None, None, None]);
    }

    #[test]
    fn log_plus_one_clips_negatives_to_zero() {
        let v = numbers(Transformer::LogPlusOne { column: col("x") });
        assert!((v[0].unwrap() - std::f64::consts::E.ln_1p()).abs() < 1e-12);
        assert_eq!(&v[1..], &[Some(0.0), None, Some(0.0), None]);
    }

    #[test]
    fn sqrt_is_null_for_negatives() {
        let v = numbers(Transformer::Sqrt { column: col("x") });
        assert_eq!(&v[1..], &[Some(0.0), None, None, None]);
    }

    #[test]
    fn is_null_counts_nan_and_is_never_null() {
        let v = numbers(Transformer::IsNull { column: col("x") });
        assert_eq!(
            v,
            vec![Some(0.0), Some(0.0), Some(1.0), Some(0.0), Some(1.0)]
        );
        let v = numbers(Transformer::IsNull {
            column: col("email"),
        });
        assert_eq!(
            v,
            vec![Some(0.0), Some(0.0), Some(1.0), Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn map_gives_numbers_or_text_and_the_default_for_unlisted_values() {
        let table = |pairs: &[(&str, serde_json::Value)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let v = numbers(Transformer::Map {
            column: col("tier"),
            values: table(&[("gold", 3.into()), ("silver", 2.into())]),
            default: Some(0.into()),
        });
        assert_eq!(
            v,
            vec![Some(3.0), Some(2.0), Some(0.0), Some(0.0), Some(3.0)]
        );
        let v = texts(Transformer::Map {
            column: col("tier"),
            values: table(&[("gold", "top".into())]),
            default: None,
        });
        assert_eq!(
            v,
            vec![Some("top".into()), None, None, None, Some("top".into())]
        );
        let e = Transformer::Map {
            column: col("tier"),
            values: table(&[("gold", 1.into()), ("silver", "two".into())]),
            default: None,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Map(tier).values") && e.contains("all numbers"),
            "{e}"
        );
    }

    #[test]
    fn date_time_parts() {
        let part = |part| {
            numbers(Transformer::DateTime {
                column: col("a"),
                part,
            })
        };
        assert_eq!(
            part(DatePart::Month),
            vec![Some(1.0), Some(1.0), None, Some(2.0), Some(6.0)]
        );
        assert_eq!(part(DatePart::DayOfYear)[3], Some(60.0));
        assert_eq!(
            part(DatePart::Weekday)[0],
            Some(0.0),
            "2018-01-01 was a Monday"
        );
        assert_eq!(part(DatePart::Hour)[3], Some(12.0));
        assert_eq!(part(DatePart::Epoch)[0], Some(1_514_764_800.0));
        assert_eq!(part(DatePart::Year)[4], Some(2018.0));
        assert_eq!(part(DatePart::Day)[4], Some(1.0));
    }

    #[test]
    fn age_to_another_column_a_date_or_now() {
        let v = numbers(Transformer::Age {
            column: col("a"),
            reference: Reference::Column(col("b")),
            unit: AgeUnit::Days,
        });
        assert_eq!(v, vec![Some(2.5), Some(59.0), None, Some(-0.5), None]);
        let v = numbers(Transformer::Age {
            column: col("a"),
            reference: Reference::Date("2019-01-01".into()),
            unit: AgeUnit::Weeks,
        });
        assert_eq!(round(v, 4)[0], Some(52.1429));
        let v = numbers(Transformer::Age {
            column: col("a"),
            reference: Reference::Now,
            unit: AgeUnit::Years,
        });
        assert!(v[0].unwrap() > 8.0, "{v:?}");
        let e = Transformer::Age {
            column: col("a"),
            reference: Reference::Date("01/02/2019".into()),
            unit: AgeUnit::Days,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("reference") && e.contains("01/02/2019"), "{e}");
    }

    #[test]
    fn age_reads_date_and_datetime_columns() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let mut df = df!("signed" => [Some(day("2018-01-01")), None]).unwrap();
        let ten_days = NaiveDate::parse_from_str("2018-01-11", "%Y-%m-%d")
            .unwrap()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros();
        let until = Column::new("until".into(), vec![ten_days, ten_days])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap();
        df.with_column(until).unwrap();
        let t = Transformer::Age {
            column: col("signed"),
            reference: Reference::Column(col("until")),
            unit: AgeUnit::Hours,
        };
        t.apply(&mut df).unwrap();
        let v: Vec<Option<f64>> = df
            .column(&t.output())
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(v, vec![Some(240.0), None]);
    }

    #[test]
    fn string_operations() {
        let op = |op, pattern: Option<&str>| Transformer::String {
            column: col("email"),
            op,
            pattern: pattern.map(str::to_string),
        };
        assert_eq!(
            texts(op(StringOp::Lower, None))[0],
            Some("ann@gmail.com".into())
        );
        assert_eq!(texts(op(StringOp::Upper, None))[1], Some("NOBODY".into()));
        assert_eq!(
            texts(op(StringOp::Trim, None))[4],
            Some("b@Yahoo.com".into())
        );
        assert_eq!(
            numbers(op(StringOp::Length, None)),
            vec![Some(13.0), Some(6.0), None, Some(2.0), Some(13.0)]
        );
        assert_eq!(
            texts(op(StringOp::Extract, Some(r"@(\w+)\."))),
            vec![Some("Gmail".into()), None, None, None, Some("Yahoo".into())]
        );
        assert_eq!(
            numbers(op(StringOp::Contains, Some("(?i)yahoo"))),
            vec![Some(0.0), Some(0.0), None, Some(0.0), Some(1.0)]
        );
        let e = op(StringOp::Extract, None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("pattern") && e.contains("extract"), "{e}");
        let e = op(StringOp::Contains, Some("(unclosed"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("pattern") && e.contains("unclosed"), "{e}");
    }

    #[test]
    fn area_codes_of_north_american_numbers_only() {
        let v = texts(Transformer::AreaCode {
            column: col("phone"),
        });
        assert_eq!(
            v,
            vec![Some("415".into()), Some("212".into()), None, None, None]
        );
    }

    #[test]
    fn email_domain_lowercases_and_nulls_bad_addresses() {
        let v = texts(Transformer::EmailDomain {
            column: col("email"),
        });
        assert_eq!(
            v,
            vec![
                Some("gmail.com".into()),
                None,
                None,
                None,
                Some("yahoo.com".into())
            ]
        );
    }

    #[test]
    fn name_statistics_are_null_for_unknown_names() {
        for t in [
            Transformer::NameAge {
                column: col("first_name"),
            },
            Transformer::NameSex {
                column: col("first_name"),
            },
            Transformer::NamePopulation {
                column: col("first_name"),
            },
        ] {
            let v = numbers(t.clone());
            assert!(v[0].is_some() && v[4].is_some(), "{t:?}: {v:?}");
            assert!(v[1].is_none() && v[2].is_none(), "{t:?}: {v:?}");
        }
        let sex = numbers(Transformer::NameSex {
            column: col("first_name"),
        });
        assert!(sex[0].unwrap() > 0.9 && sex[4].unwrap() < 0.1, "{sex:?}");
    }

    #[test]
    fn familial_names() {
        let v = numbers(Transformer::NameFamilial {
            column: col("first_name"),
        });
        assert_eq!(v, vec![Some(0.0), Some(0.0), None, Some(1.0), Some(0.0)]);
    }

    #[test]
    fn distance_in_kilometres_null_for_impossible_coordinates() {
        let v = round(
            numbers(Transformer::Distance {
                lat_a: col("lat_a"),
                lon_a: col("lon_a"),
                lat_b: col("lat_b"),
                lon_b: col("lon_b"),
            }),
            0,
        );
        assert_eq!(v, vec![Some(5575.0), Some(0.0), None, None, Some(0.0)]);
    }

    #[test]
    fn transformers_chain_by_output_name() {
        let mut df = frame();
        let age = Transformer::NameAge {
            column: col("first_name"),
        };
        let log = Transformer::Log {
            column: age.output(),
        };
        age.apply(&mut df).unwrap();
        log.apply(&mut df).unwrap();
        assert_eq!(log.output(), "Log(NameAge(first_name))");
        let v = df.column(&log.output()).unwrap().f64().unwrap().get(0);
        assert!(v.unwrap() > 3.0, "{v:?}");
    }

    #[test]
    fn applying_all_at_once_equals_applying_one_after_another() {
        let chain = vec![
            Transformer::NameAge {
                column: col("first_name"),
            },
            Transformer::EmailDomain {
                column: col("email"),
            },
            Transformer::Log {
                column: col("NameAge(first_name)"),
            },
            Transformer::Map {
                column: col("tier"),
                values: [("gold".to_string(), serde_json::json!("x@GOLD.com"))].into(),
                default: None,
            },
            Transformer::EmailDomain {
                column: col("Map(tier)"),
            },
        ];
        let mut one_by_one = frame();
        for t in &chain {
            t.apply(&mut one_by_one).unwrap();
        }
        let mut together = frame();
        apply_all(&chain, &mut together).unwrap();
        assert_eq!(together, one_by_one);
        assert_eq!(
            together
                .column("EmailDomain(Map(tier))")
                .unwrap()
                .str()
                .unwrap()
                .get(0),
            Some("gold.com")
        );
    }

    #[test]
    fn wrong_column_and_wrong_type_are_named() {
        let mut df = frame();
        let e = Transformer::NameSex {
            column: col("name"),
        }
        .apply(&mut df)
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`name`") && e.contains("NameSex(name)") && e.contains("first_name"),
            "{e}"
        );
        let e = Transformer::Log {
            column: col("email"),
        }
        .apply(&mut df)
        .unwrap_err()
        .to_string();
        assert!(e.contains("`email`") && e.contains("Log(email)"), "{e}");
        let e = Transformer::DateTime {
            column: col("x"),
            part: DatePart::Year,
        }
        .apply(&mut df)
        .unwrap_err()
        .to_string();
        assert!(e.contains("`x`") && e.contains("timestamps"), "{e}");
    }

    #[test]
    fn specs_read_from_toml() {
        #[derive(Deserialize)]
        struct Spec {
            transformers: Vec<Transformer>,
        }
        let spec: Spec = toml::from_str(
            r#"
            [[transformers]]
            type = "Age"
            column = "signup_date"
            reference = { column = "last_order_at" }

            [[transformers]]
            type = "Age"
            column = "signup_date"
            reference = { date = "2020-01-01" }
            unit = "years"

            [[transformers]]
            type = "String"
            column = "email"
            op = "extract"
            pattern = "@(.+)$"

            [[transformers]]
            type = "Map"
            column = "tier"
            values = { gold = 3, silver = 2 }
            default = 0
            "#,
        )
        .unwrap();
        assert_eq!(
            spec.transformers[0].output(),
            "Age(signup_date, last_order_at, days)"
        );
        assert_eq!(
            spec.transformers[1].output(),
            "Age(signup_date, 2020-01-01, years)"
        );
        assert_eq!(
            spec.transformers[2].output(),
            "String(email, extract @(.+)$)"
        );
        assert_eq!(spec.transformers[3].output(), "Map(tier)");
    }
}
