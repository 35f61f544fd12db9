//! Dates and timestamps: `DateTime` (a calendar part) and `Age` (the time to now, a date or
//! another column), computed on seconds since 1970, with the columns several transformers read
//! parsed once ([`Seconds`]).

use std::borrow::Cow;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

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

impl DatePart {
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn name(self) -> &'static str {
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

/// Timestamp columns already read as seconds since 1970, so that transformers reading the same
/// column (`Age` and `DateTime` of a signup date) parse it once.
#[derive(Default)]
pub(super) struct Seconds(pub(super) PlHashMap<String, Vec<f64>>);

impl Seconds {
    /// `column` in seconds: a copy of the parsed column, to change in place.
    pub(super) fn get(&self, df: &DataFrame, column: &str, by: &str) -> Result<Vec<f64>> {
        Ok(self.read(df, column, by)?.into_owned())
    }

    /// `column` in seconds, borrowed when it was parsed before.
    pub(super) fn read(&self, df: &DataFrame, column: &str, by: &str) -> Result<Cow<'_, [f64]>> {
        Ok(match self.0.get(column) {
            Some(seconds) => Cow::Borrowed(seconds),
            None => Cow::Owned(frame::epoch_seconds(df, column, by)?),
        })
    }
}

/// Checks a fixed reference date, so a bad one fails before any data is read.
pub(super) fn validate(reference: &Reference) -> std::result::Result<(), String> {
    match reference {
        Reference::Date(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|_| ())
            .map_err(|e| format!("`{d}` is not a YYYY-MM-DD date: {e}")),
        _ => Ok(()),
    }
}

/// `part` of each time, given in seconds since 1970 (NaN for null), as the column `out`.
pub(super) fn date_time(mut seconds: Vec<f64>, part: DatePart, out: &str) -> Column {
    for t in seconds.iter_mut().filter(|t| !t.is_nan()) {
        *t = part.of(*t);
    }
    frame::float_column(out, seconds)
}

/// The time from each time of `column` to `reference`, in `unit`.
pub(super) fn age(
    df: &DataFrame,
    column: &str,
    reference: &Reference,
    unit: AgeUnit,
    seconds_of: &Seconds,
    by: &str,
    out: &str,
) -> Result<Column> {
    let mut from = seconds_of.get(df, column, by)?;
    let seconds = unit.seconds();
    let mut to = |at: f64| {
        for a in from.iter_mut() {
            *a = (at - *a) / seconds;
        }
    };
    match reference {
        Reference::Now => to(chrono::Utc::now().timestamp_micros() as f64 / 1e6),
        Reference::Date(d) => {
            let d =
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| Error::Data(e.to_string()))?;
            to(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() as f64)
        }
        Reference::Column(other) => {
            let at = seconds_of.read(df, other, by)?;
            for (a, b) in from.iter_mut().zip(at.iter()) {
                *a = (b - *a) / seconds;
            }
        }
    }
    Ok(frame::float_column(out, from))
}
