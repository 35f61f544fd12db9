//! Transformers: each reads one or two columns and adds one derived column, row by row, with no
//! state learned from data (that is what encoders are for).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;
use crate::names;

/// A column-to-column transformation, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Transformer {
    /// The domain of an email address, lower-cased (`Ann@Gmail.com` -> `gmail.com`).
    EmailDomain {
        /// The email column.
        column: String,
    },
    /// `ln(1 + x)`, for counts and amounts with a long tail.
    LogPlusOne {
        /// The numeric column.
        column: String,
    },
    /// Share of people with this first name who are male (null for unknown names).
    NameSex {
        /// The first-name column.
        column: String,
    },
    /// Mean age of people with this first name (null for unknown names).
    NameAge {
        /// The first-name column.
        column: String,
    },
    /// Days from one timestamp column to another (`end - start`).
    DaysBetween {
        /// The earlier timestamp.
        start: String,
        /// The later timestamp.
        end: String,
    },
    /// A calendar part of a timestamp: year, month, day, weekday (0 = Monday) or hour.
    DatePart {
        /// The timestamp column.
        column: String,
        /// Which part.
        part: DatePartKind,
    },
}

/// The calendar parts [`Transformer::DatePart`] can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatePartKind {
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
}

impl Transformer {
    /// The name of the column this transformer adds, such as `EmailDomain(email)`.
    pub fn output(&self) -> String {
        match self {
            Transformer::EmailDomain { column } => format!("EmailDomain({column})"),
            Transformer::LogPlusOne { column } => format!("LogPlusOne({column})"),
            Transformer::NameSex { column } => format!("NameSex({column})"),
            Transformer::NameAge { column } => format!("NameAge({column})"),
            Transformer::DaysBetween { start, end } => format!("DaysBetween({start}, {end})"),
            Transformer::DatePart { column, part } => {
                format!("DatePart({column}, {})", part_name(*part))
            }
        }
    }

    /// The columns this transformer reads.
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            Transformer::EmailDomain { column }
            | Transformer::LogPlusOne { column }
            | Transformer::NameSex { column }
            | Transformer::NameAge { column }
            | Transformer::DatePart { column, .. } => vec![column],
            Transformer::DaysBetween { start, end } => vec![start, end],
        }
    }

    /// Adds this transformer's output column to `df`.
    pub fn apply(&self, df: &mut DataFrame) -> Result<()> {
        let by = format!("transformer {}", self.output());
        let out = self.output();
        match self {
            Transformer::EmailDomain { column } => {
                let values = frame::strings(df, column, &by)?
                    .into_iter()
                    .map(|v| {
                        v.and_then(|s| s.rsplit_once('@').map(|(_, d)| d.trim().to_lowercase()))
                            .filter(|d| !d.is_empty())
                    })
                    .collect();
                frame::put_strings(df, &out, values)
            }
            Transformer::LogPlusOne { column } => {
                let values = frame::numbers(df, column, &by)?
                    .into_iter()
                    .map(|v| v.filter(|x| *x > -1.0).map(f64::ln_1p))
                    .collect();
                frame::put_numbers(df, &out, values)
            }
            Transformer::NameSex { column } | Transformer::NameAge { column } => {
                let sex = matches!(self, Transformer::NameSex { .. });
                let values = frame::strings(df, column, &by)?
                    .into_iter()
                    .map(|v| {
                        v.and_then(|n| names::lookup(&n)).map(|s| {
                            if sex {
                                s.share_male
                            } else {
                                s.mean_age
                            }
                        })
                    })
                    .collect();
                frame::put_numbers(df, &out, values)
            }
            Transformer::DaysBetween { start, end } => {
                let a = timestamps(df, start, &by)?;
                let b = timestamps(df, end, &by)?;
                let values = a
                    .into_iter()
                    .zip(b)
                    .map(|(a, b)| Some((b? - a?).num_seconds() as f64 / 86_400.0))
                    .collect();
                frame::put_numbers(df, &out, values)
            }
            Transformer::DatePart { column, part } => {
                let values = timestamps(df, column, &by)?
                    .into_iter()
                    .map(|t| {
                        t.map(|t| match part {
                            DatePartKind::Year => t.year() as f64,
                            DatePartKind::Month => t.month() as f64,
                            DatePartKind::Day => t.day() as f64,
                            DatePartKind::Weekday => t.weekday().num_days_from_monday() as f64,
                            DatePartKind::Hour => t.hour() as f64,
                        })
                    })
                    .collect();
                frame::put_numbers(df, &out, values)
            }
        }
    }
}

fn part_name(part: DatePartKind) -> &'static str {
    match part {
        DatePartKind::Year => "year",
        DatePartKind::Month => "month",
        DatePartKind::Day => "day",
        DatePartKind::Weekday => "weekday",
        DatePartKind::Hour => "hour",
    }
}

/// Parses a text column of `YYYY-MM-DD HH:MM:SS`, RFC 3339 or `YYYY-MM-DD` values.
fn timestamps(df: &DataFrame, name: &str, by: &str) -> Result<Vec<Option<NaiveDateTime>>> {
    frame::strings(df, name, by)?
        .into_iter()
        .map(|v| match v {
            None => Ok(None),
            Some(s) => parse_timestamp(&s)
                .map(Some)
                .ok_or_else(|| Error::ColumnType {
                    column: name.to_string(),
                    message: format!(
                        "{by} needs timestamps like 2018-06-01 12:00:00 but found {s:?}"
                    ),
                }),
        })
        .collect()
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.naive_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "email" => [Some("Ann@Gmail.COM"), Some("nobody"), None],
            "orders" => [Some(0i64), Some(9), None],
            "first_name" => [Some("John"), Some("Zorblax"), None],
            "a" => [Some("2018-01-01 00:00:00"), Some("2018-01-01"), None],
            "b" => [Some("2018-01-03 12:00:00"), Some("2018-03-01T00:00:00"), Some("2018-01-01")],
        )
        .unwrap()
    }

    fn run(t: Transformer) -> Column {
        let mut df = frame();
        t.apply(&mut df).unwrap();
        df.column(&t.output()).unwrap().clone()
    }

    #[test]
    fn email_domain_lowercases_and_nulls_bad_addresses() {
        let c = run(Transformer::EmailDomain {
            column: "email".into(),
        });
        let v: Vec<Option<&str>> = c.str().unwrap().iter().collect();
        assert_eq!(v, vec![Some("gmail.com"), None, None]);
    }

    #[test]
    fn log_plus_one_and_names() {
        let c = run(Transformer::LogPlusOne {
            column: "orders".into(),
        });
        let v: Vec<Option<f64>> = c.f64().unwrap().iter().collect();
        assert_eq!(v[0], Some(0.0));
        assert!((v[1].unwrap() - 10f64.ln()).abs() < 1e-12);
        assert_eq!(v[2], None);
        let age = run(Transformer::NameAge {
            column: "first_name".into(),
        });
        let v: Vec<Option<f64>> = age.f64().unwrap().iter().collect();
        assert!(v[0].is_some() && v[1].is_none() && v[2].is_none());
    }

    #[test]
    fn dates() {
        let c = run(Transformer::DaysBetween {
            start: "a".into(),
            end: "b".into(),
        });
        let v: Vec<Option<f64>> = c.f64().unwrap().iter().collect();
        assert_eq!(v, vec![Some(2.5), Some(59.0), None]);
        let m = run(Transformer::DatePart {
            column: "b".into(),
            part: DatePartKind::Month,
        });
        let v: Vec<Option<f64>> = m.f64().unwrap().iter().collect();
        assert_eq!(v, vec![Some(1.0), Some(3.0), Some(1.0)]);
    }

    #[test]
    fn missing_column_is_named() {
        let mut df = frame();
        let e = Transformer::NameSex {
            column: "name".into(),
        }
        .apply(&mut df)
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`name`") && e.contains("NameSex(name)") && e.contains("first_name"),
            "{e}"
        );
    }
}
