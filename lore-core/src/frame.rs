//! Typed access to the columns of a data frame, with errors that name the column.

use polars::prelude::*;

use crate::error::{Error, Result};

/// The column `name` of `df`, or an error naming it, what needs it and the columns present.
pub fn column<'a>(df: &'a DataFrame, name: &str, needed_by: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| Error::MissingColumn {
        column: name.to_string(),
        needed_by: needed_by.to_string(),
        location: None,
        present: df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// The values of `name` as numbers (integers, reals and booleans; numeric text is parsed).
pub fn numbers(df: &DataFrame, name: &str, needed_by: &str) -> Result<Vec<Option<f64>>> {
    let col = column(df, name, needed_by)?;
    match col.dtype() {
        DataType::String => {
            let ca = col.str()?;
            ca.iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(s) if s.trim().is_empty() => Ok(None),
                    Some(s) => s
                        .trim()
                        .parse::<f64>()
                        .map(Some)
                        .map_err(|_| Error::ColumnType {
                            column: name.to_string(),
                            message: format!("{needed_by} needs numbers but found the text {s:?}"),
                        }),
                })
                .collect()
        }
        DataType::Boolean => Ok(col
            .bool()?
            .iter()
            .map(|v| v.map(|b| if b { 1.0 } else { 0.0 }))
            .collect()),
        DataType::Null => Ok(vec![None; col.len()]),
        dt if dt.is_primitive_numeric() => {
            let cast = col.cast(&DataType::Float64)?;
            Ok(cast.f64()?.iter().collect())
        }
        other => Err(Error::ColumnType {
            column: name.to_string(),
            message: format!("{needed_by} needs numbers but the column holds {other}"),
        }),
    }
}

/// `f` of every value of `name` as a number (NaN given as `None`), in one pass over a numeric
/// column; text and booleans are read as [`numbers`] reads them.
pub fn map_numbers<T>(
    df: &DataFrame,
    name: &str,
    needed_by: &str,
    f: impl Fn(Option<f64>) -> T,
) -> Result<Vec<T>> {
    let col = column(df, name, needed_by)?;
    if !col.dtype().is_primitive_numeric() {
        return Ok(numbers(df, name, needed_by)?
            .into_iter()
            .map(|v| f(v.filter(|x| !x.is_nan())))
            .collect());
    }
    let cast = col.cast(&DataType::Float64)?;
    let mut out = Vec::with_capacity(col.len());
    // Chunk by chunk, values beside their validity bits: no `Option` built per value by the
    // column's iterator.
    for array in cast.f64()?.downcast_iter() {
        let xs = array.values().iter();
        match array.validity().filter(|v| v.unset_bits() > 0) {
            None => out.extend(xs.map(|x| f((!x.is_nan()).then_some(*x)))),
            Some(valid) => out.extend(
                xs.zip(valid.iter())
                    .map(|(x, ok)| f((ok && !x.is_nan()).then_some(*x))),
            ),
        }
    }
    Ok(out)
}

/// The values of `name` as a text column to iterate without copying (numbers, booleans and dates
/// are written out).
pub fn text(df: &DataFrame, name: &str, needed_by: &str) -> Result<StringChunked> {
    let col = column(df, name, needed_by)?;
    match col.dtype() {
        DataType::String => Ok(col.str()?.clone()),
        _ => Ok(col.cast(&DataType::String)?.str()?.clone()),
    }
}

/// The values of `name` as owned text (numbers and booleans are written out).
pub fn strings(df: &DataFrame, name: &str, needed_by: &str) -> Result<Vec<Option<String>>> {
    Ok(text(df, name, needed_by)?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// The values of `name` as lists of text: list columns item by item, text split at `separator`
/// (items trimmed, empty ones left out), numbers as one-item lists.
pub fn lists(
    df: &DataFrame,
    name: &str,
    needed_by: &str,
    separator: &str,
) -> Result<Vec<Option<Vec<String>>>> {
    let col = column(df, name, needed_by)?;
    if let DataType::List(_) = col.dtype() {
        return col
            .list()?
            .series_iter()
            .map(|items| {
                items
                    .map(|items| -> Result<Vec<String>> {
                        Ok(items
                            .cast(&DataType::String)?
                            .str()?
                            .iter()
                            .flatten()
                            .map(str::to_string)
                            .collect())
                    })
                    .transpose()
            })
            .collect();
    }
    Ok(text(df, name, needed_by)?
        .iter()
        .map(|v| {
            v.map(|v| {
                v.split(separator)
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
        })
        .collect())
}

/// The values of `name` as timestamps: date and datetime columns as they are, text parsed from
/// `YYYY-MM-DD HH:MM:SS`, RFC 3339 or `YYYY-MM-DD`.
pub fn timestamps(
    df: &DataFrame,
    name: &str,
    needed_by: &str,
) -> Result<Vec<Option<chrono::NaiveDateTime>>> {
    let col = column(df, name, needed_by)?;
    match col.dtype() {
        DataType::Datetime(unit, _) => {
            let per_micro = |v: i64| match unit {
                TimeUnit::Nanoseconds => v / 1_000,
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v.saturating_mul(1_000),
            };
            let raw = col.cast(&DataType::Int64)?;
            Ok(raw
                .i64()?
                .iter()
                .map(|v| {
                    chrono::DateTime::from_timestamp_micros(per_micro(v?)).map(|t| t.naive_utc())
                })
                .collect())
        }
        DataType::Date => {
            let days = col.cast(&DataType::Int32)?;
            let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
            Ok(days
                .i32()?
                .iter()
                .map(|d| epoch.checked_add_signed(chrono::Duration::days(i64::from(d?))))
                .collect())
        }
        DataType::Null => Ok(vec![None; col.len()]),
        DataType::String => col
            .str()?
            .iter()
            .map(|v| match v {
                None => Ok(None),
                Some(s) if s.trim().is_empty() => Ok(None),
                Some(s) => parse_timestamp(s)
                    .map(Some)
                    .ok_or_else(|| Error::ColumnType {
                        column: name.to_string(),
                        message: format!(
                            "{needed_by} needs timestamps like 2018-06-01 12:00:00 but found {s:?}"
                        ),
                    }),
            })
            .collect(),
        other => Err(Error::ColumnType {
            column: name.to_string(),
            message: format!("{needed_by} needs dates or timestamps but the column holds {other}"),
        }),
    }
}

/// Seconds since 1970-01-01 00:00 of each value of `name` (NaN where there is none), read like
/// [`timestamps`] reads them but without building a date for each row where the text has the
/// usual layouts: for arithmetic on many rows.
pub fn epoch_seconds(df: &DataFrame, name: &str, needed_by: &str) -> Result<Vec<f64>> {
    let col = column(df, name, needed_by)?;
    if col.dtype() != &DataType::String {
        return Ok(timestamps(df, name, needed_by)?
            .into_iter()
            .map(|t| t.map_or(f64::NAN, |t| t.and_utc().timestamp_micros() as f64 / 1e6))
            .collect());
    }
    let texts = col.str()?;
    let mut out = Vec::with_capacity(texts.len());
    for v in texts.iter() {
        out.push(match v {
            None => f64::NAN,
            Some(s) => match common_epoch(s.as_bytes()) {
                Some(seconds) => seconds as f64,
                None if s.trim().is_empty() => f64::NAN,
                None => parse_timestamp(s)
                    .map(|t| t.and_utc().timestamp_micros() as f64 / 1e6)
                    .ok_or_else(|| Error::ColumnType {
                        column: name.to_string(),
                        message: format!(
                            "{needed_by} needs timestamps like 2018-06-01 12:00:00 but found {s:?}"
                        ),
                    })?,
            },
        });
    }
    Ok(out)
}

/// The date of a day counted from 1970-01-01 in the proleptic Gregorian calendar: year, month
/// (1..12) and day (1..31) (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * i64::from((month + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Seconds since 1970 of `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (or with `T`), checked as
/// [`parse_common_timestamp`] checks them; `None` for any other text.
fn common_epoch(b: &[u8]) -> Option<i64> {
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let time = match b.len() {
        10 => 0,
        19 if matches!(b[10], b' ' | b'T') && b[13] == b':' && b[16] == b':' => {
            let (h, m, s) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            i64::from(h * 3600 + m * 60 + s)
        }
        _ => return None,
    };
    Some(days_from_civil(i64::from(year), month, day) * 86_400 + time)
}

/// `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` (or with `T`) read digit by digit: the layouts
/// databases write, parsed about ten times faster than through a format string.
fn parse_common_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    let b = s.as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date =
        chrono::NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 7)?, number(8, 10)?)?;
    match b.len() {
        10 => date.and_hms_opt(0, 0, 0),
        19 if matches!(b[10], b' ' | b'T') && b[13] == b':' && b[16] == b':' => {
            date.and_hms_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?)
        }
        _ => None,
    }
}

fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    use chrono::{NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Some(t) = parse_common_timestamp(s) {
        return Some(t);
    }
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

/// A column of numbers named `name`, null where a value is NaN; the values are moved in, not
/// copied.
pub fn float_column(name: &str, values: Vec<f64>) -> Column {
    let nulls = values.iter().any(|x| x.is_nan());
    let validity = nulls.then(|| {
        values
            .iter()
            .map(|x| !x.is_nan())
            .collect::<polars_arrow::bitmap::Bitmap>()
    });
    Float64Chunked::from_vec_validity(name.into(), values, validity).into_column()
}

/// A column of optional numbers named `name`.
pub fn number_column(name: &str, values: Vec<Option<f64>>) -> Column {
    Column::new(name.into(), values)
}

/// A column of optional text named `name`, from owned or borrowed strings.
pub fn text_column<S: AsRef<str>>(name: &str, values: impl Iterator<Item = Option<S>>) -> Column {
    let mut ca: StringChunked = values.collect();
    ca.rename(name.into());
    ca.into_column()
}

/// Builds a data frame from JSON records (objects); a key missing from a record is null there.
/// A column mixing numbers and text, or holding arrays or objects, is an error naming the field.
pub fn from_records(records: &[serde_json::Value]) -> Result<DataFrame> {
    use serde_json::Value;
    let mut keys: Vec<String> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let obj = r.as_object().ok_or_else(|| {
            Error::Input(format!(
                "record {} is not a JSON object of field: value pairs",
                i + 1
            ))
        })?;
        for k in obj.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let mut columns = Vec::with_capacity(keys.len());
    for key in &keys {
        let values: Vec<&Value> = records
            .iter()
            .map(|r| r.get(key).unwrap_or(&Value::Null))
            .collect();
        let kind = |v: &Value| match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        };
        let kinds: Vec<u8> = values.iter().map(|v| kind(v)).filter(|k| *k != 0).collect();
        if let Some(row) = values.iter().position(|v| kind(v) == 4) {
            return Err(Error::ColumnType {
                column: key.clone(),
                message: format!(
                    "record {} holds an array or object; give a number, text, true/false or null",
                    row + 1
                ),
            });
        }
        let first = kinds.first().copied().unwrap_or(3);
        if let Some(row) = values.iter().position(|v| kind(v) != 0 && kind(v) != first) {
            return Err(Error::ColumnType {
                column: key.clone(),
                message: format!(
                    "record {} holds {} where earlier records hold {}",
                    row + 1,
                    values[row],
                    if first == 2 {
                        "numbers"
                    } else if first == 1 {
                        "true/false"
                    } else {
                        "text"
                    }
                ),
            });
        }
        let column = match first {
            1 => Column::new(
                key.as_str().into(),
                values.iter().map(|v| v.as_bool()).collect::<Vec<_>>(),
            ),
            2 if values.iter().all(|v| v.is_null() || v.is_i64()) => Column::new(
                key.as_str().into(),
                values.iter().map(|v| v.as_i64()).collect::<Vec<_>>(),
            ),
            2 => Column::new(
                key.as_str().into(),
                values.iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
            ),
            _ => Column::new(
                key.as_str().into(),
                values
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
        };
        columns.push(column);
    }
    Ok(DataFrame::new(records.len(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_agree_with_chrono_and_refuse_what_it_refuses() {
        for text in [
            "1970-01-01",
            "2018-06-01 12:30:45",
            "2020-02-29T23:59:59",
            "1900-03-01",
            "1969-12-31 23:59:59",
            "2400-02-29",
            "0001-01-01",
        ] {
            let chrono = parse_timestamp(text).unwrap().and_utc().timestamp();
            assert_eq!(common_epoch(text.as_bytes()), Some(chrono), "{text}");
        }
        for text in [
            "2019-02-29",
            "2018-13-01",
            "2018-06-01 24:00:00",
            "2018-06-00",
            "June 1",
        ] {
            assert_eq!(common_epoch(text.as_bytes()), None, "{text}");
        }
        let df = df!("t" => [Some("2018-06-01T00:00:00+02:00"), Some(" "), None]).unwrap();
        let seconds = epoch_seconds(&df, "t", "test").unwrap();
        assert_eq!(seconds[0], 1_527_804_000.0);
        assert!(seconds[1].is_nan() && seconds[2].is_nan());
        let bad = df!("t" => ["2019-02-29"]).unwrap();
        assert!(epoch_seconds(&bad, "t", "test").is_err());
    }

    #[test]
    fn records_become_typed_columns() {
        let df = from_records(&[
            serde_json::json!({"a": 1, "b": "x"}),
            serde_json::json!({"a": 2.5}),
        ])
        .unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(numbers(&df, "a", "t").unwrap(), vec![Some(1.0), Some(2.5)]);
        assert_eq!(
            strings(&df, "b", "t").unwrap(),
            vec![Some("x".to_string()), None]
        );
    }

    #[test]
    fn mixed_types_name_the_field_and_record() {
        let e = from_records(&[serde_json::json!({"a": 1}), serde_json::json!({"a": "x"})])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`a`") && e.contains("record 2"), "{e}");
        let e = numbers(&df!("n" => ["1", "lots"]).unwrap(), "n", "encoder Norm(n)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`n`") && e.contains("lots"), "{e}");
    }
}
