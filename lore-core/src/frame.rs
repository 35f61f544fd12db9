//! Typed access to the columns of a data frame, with errors that name the column.

use polars::prelude::*;
use polars_arrow::array::{Array, View};

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
    let mut out = Vec::with_capacity(df.height());
    each_number(df, name, needed_by, None, |v| out.push(f(v)))?;
    Ok(out)
}

/// Calls `f` with the number in each row of `name` in order, or in each row of `rows` (rows past
/// the end left out), `None` where null or NaN. Numeric columns are read from their buffers as
/// they are stored, with no copy of the column and no `Option` built by the column's iterator;
/// text and booleans are read as [`numbers`] reads them.
pub fn each_number(
    df: &DataFrame,
    name: &str,
    needed_by: &str,
    rows: Option<&[IdxSize]>,
    mut f: impl FnMut(Option<f64>),
) -> Result<()> {
    let col = column(df, name, needed_by)?;
    match col.dtype() {
        DataType::Float64 => native(col.f64()?, rows, |x| x, f),
        DataType::Float32 => native(col.f32()?, rows, f64::from, f),
        DataType::Int64 => native(col.i64()?, rows, |x| x as f64, f),
        DataType::Int32 => native(col.i32()?, rows, f64::from, f),
        DataType::UInt64 => native(col.u64()?, rows, |x| x as f64, f),
        DataType::UInt32 => native(col.u32()?, rows, f64::from, f),
        dt if dt.is_primitive_numeric() => {
            let cast = col.cast(&DataType::Float64)?;
            native(cast.f64()?, rows, |x| x, f)
        }
        _ => {
            let all = numbers(df, name, needed_by)?;
            let number = |v: Option<f64>| v.filter(|x| !x.is_nan());
            match rows {
                None => all.into_iter().for_each(|v| f(number(v))),
                Some(rows) => rows
                    .iter()
                    .filter_map(|r| all.get(*r as usize))
                    .for_each(|v| f(number(*v))),
            }
        }
    }
    Ok(())
}

/// [`each_number`] over a column of one native type, each value made a number by `number`.
fn native<T: PolarsNumericType>(
    ca: &ChunkedArray<T>,
    rows: Option<&[IdxSize]>,
    number: impl Fn(T::Native) -> f64,
    mut f: impl FnMut(Option<f64>),
) {
    let value = |x: T::Native| Some(number(x)).filter(|x| !x.is_nan());
    match rows {
        // Chunk by chunk, values beside their validity bits.
        None => {
            for array in ca.downcast_iter() {
                let xs = array.values().iter();
                match array.validity().filter(|v| v.unset_bits() > 0) {
                    None => xs.for_each(|x| f(value(*x))),
                    Some(valid) => xs
                        .zip(valid.iter())
                        .for_each(|(x, ok)| f(if ok { value(*x) } else { None })),
                }
            }
        }
        Some(rows) => {
            let arrays: Vec<_> = ca.downcast_iter().collect();
            for (c, r) in in_chunks(rows, arrays.iter().map(|a| a.len())) {
                let array = arrays[c];
                let ok = array.validity().is_none_or(|v| v.get_bit(r));
                f(if ok { value(array.values()[r]) } else { None });
            }
        }
    }
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

/// A text as a hash-map key: a text of up to 12 bytes is the 16 bytes of its Arrow view (its
/// length and its bytes), hashed and compared as one number instead of through `memcmp`; a longer
/// text is itself. Equal texts have equal keys whichever column they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKey<'a> {
    /// A text that fits in a view.
    Short(u128),
    /// A longer text.
    Long(&'a str),
}

impl<'a> TextKey<'a> {
    /// The key of `text`.
    pub fn of(text: &'a str) -> TextKey<'a> {
        match text.len() <= View::MAX_INLINE_SIZE as usize {
            true => TextKey::Short(View::new_inline(text.as_bytes()).as_u128()),
            false => TextKey::Long(text),
        }
    }

    /// The key of `text`, read from its `view` when the text is short.
    fn of_view(view: View, text: &'a str) -> TextKey<'a> {
        match view.length {
            // The bytes after a short text are zero in a valid view; the mask makes sure.
            n if n <= View::MAX_INLINE_SIZE => {
                TextKey::Short(view.as_u128() & (u128::MAX >> (96 - 8 * n)))
            }
            _ => TextKey::Long(text),
        }
    }

    /// The text the key stands for.
    pub fn text(&self) -> String {
        match self {
            TextKey::Short(bits) => {
                let bytes = bits.to_le_bytes();
                let length = (*bits as u32 as usize).min(View::MAX_INLINE_SIZE as usize);
                String::from_utf8_lossy(&bytes[4..4 + length]).into_owned()
            }
            TextKey::Long(text) => text.to_string(),
        }
    }
}

impl std::hash::Hash for TextKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            // One word for the hasher: the length and first four bytes folded into the rest.
            TextKey::Short(bits) => state.write_u64((*bits >> 64) as u64 ^ (*bits as u64)),
            TextKey::Long(text) => text.hash(state),
        }
    }
}

/// Calls `f` with each text of `texts` in order and its key, `None` where null: for counting and
/// looking up many repeated texts.
pub fn each_keyed_text<'a>(
    texts: &'a StringChunked,
    mut f: impl FnMut(Option<(TextKey<'a>, &'a str)>),
) {
    for array in texts.downcast_iter() {
        let views = array.views();
        for (i, view) in views.iter().enumerate() {
            f(array
                .is_valid(i)
                .then(|| array.value(i))
                .map(|text| (TextKey::of_view(*view, text), text)));
        }
    }
}

/// The text of each row of `rows` in `texts` with its key, `None` where null; rows past the end
/// are left out.
pub fn keyed_text_rows<'a>(
    texts: &'a StringChunked,
    rows: &'a [IdxSize],
) -> impl Iterator<Item = Option<(TextKey<'a>, &'a str)>> + 'a {
    let arrays: Vec<_> = texts.downcast_iter().collect();
    let lengths: Vec<usize> = arrays.iter().map(|a| a.len()).collect();
    in_chunks(rows, lengths).map(move |(c, r)| {
        let array = arrays[c];
        let text = array.is_valid(r).then(|| array.value(r))?;
        Some((TextKey::of_view(array.views()[r], text), text))
    })
}

/// Where each row of `rows` is in a column of chunks of `lengths` rows: the chunk and the row
/// within it; rows past the end are left out. Rows in order are found with one step forward
/// each, others by a search.
fn in_chunks(
    rows: &[IdxSize],
    lengths: impl IntoIterator<Item = usize>,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut starts = vec![0usize];
    for length in lengths {
        starts.push(starts[starts.len() - 1] + length);
    }
    let mut chunk = 0usize;
    rows.iter().filter_map(move |r| {
        let r = *r as usize;
        let end = *starts.last()?;
        if r >= end {
            return None;
        }
        if r < starts[chunk] || r >= starts[chunk + 1] {
            chunk = starts.partition_point(|s| *s <= r) - 1;
        }
        Some((chunk, r - starts[chunk]))
    })
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
            Some(s) => text_seconds(s).ok_or_else(|| Error::ColumnType {
                column: name.to_string(),
                message: format!(
                    "{needed_by} needs timestamps like 2018-06-01 12:00:00 but found {s:?}"
                ),
            })?,
        });
    }
    Ok(out)
}

/// Seconds since 1970 of one text as [`epoch_seconds`] reads it: NaN for blank text, `None` for
/// text that is no timestamp.
pub(crate) fn text_seconds(s: &str) -> Option<f64> {
    match common_epoch(s.as_bytes()) {
        Some(seconds) => Some(seconds as f64),
        None if s.trim().is_empty() => Some(f64::NAN),
        None => parse_timestamp(s).map(|t| t.and_utc().timestamp_micros() as f64 / 1e6),
    }
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
    // Every digit is read and checked without a branch per digit: one check for all of them.
    let digits = |from: usize, to: usize, ok: &mut bool| -> u32 {
        b[from..to].iter().fold(0u32, |n, c| {
            let d = c.wrapping_sub(b'0');
            *ok &= d < 10;
            n * 10 + u32::from(d)
        })
    };
    let time = match b.len() {
        10 => false,
        19 if matches!(b[10], b' ' | b'T') && b[13] == b':' && b[16] == b':' => true,
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut ok = true;
    let (year, month, day) = (
        digits(0, 4, &mut ok),
        digits(5, 7, &mut ok),
        digits(8, 10, &mut ok),
    );
    let (h, m, sec) = match time {
        true => (
            digits(11, 13, &mut ok),
            digits(14, 16, &mut ok),
            digits(17, 19, &mut ok),
        ),
        false => (0, 0, 0),
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !ok || day == 0 || day > days_in_month || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(days_from_civil(i64::from(year), month, day) * 86_400 + i64::from(h * 3600 + m * 60 + sec))
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

/// A timestamp in any layout [`timestamps`] reads from text, or `None`.
pub(crate) fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
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

/// The bytes `df`'s columns hold in memory. Polars' own estimate counts a text column as the
/// length of its text, but each value also has a 16-byte view, and text longer than 12 bytes sits
/// in buffers beside the views: those are what is counted here for text.
pub fn held_bytes(df: &DataFrame) -> usize {
    df.columns()
        .iter()
        .map(|c| match c.str() {
            Ok(text) => text
                .downcast_iter()
                .map(|a| {
                    a.views().len() * std::mem::size_of::<View>()
                        + a.total_buffer_len()
                        + a.validity().map_or(0, |v| v.len().div_ceil(8))
                })
                .sum(),
            Err(_) => c.as_materialized_series().estimated_size(),
        })
        .sum()
}

mod kind;
pub use kind::{kinds, Kind};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn held_bytes_count_each_texts_view_and_the_long_texts_buffer() {
        let short = "x".repeat(12);
        let long = "y".repeat(100);
        let df = DataFrame::new(
            3,
            vec![
                text_column(
                    "t",
                    [Some(short.as_str()), Some(long.as_str()), None].into_iter(),
                ),
                Column::new("n".into(), [1i64, 2, 3]),
            ],
        )
        .unwrap();
        // Three 16-byte views, the one text over 12 bytes, a validity byte, three integers.
        assert_eq!(held_bytes(&df), 3 * 16 + 100 + 1 + 3 * 8);
        assert!(held_bytes(&df) > df.estimated_size());
    }

    /// A column of three chunks, as transformers computed a piece of rows at a time leave it.
    fn chunked<T: Clone>(parts: [&[T]; 3]) -> Column
    where
        Series: NamedFrom<Vec<T>, [T]>,
    {
        let mut whole = Series::new("c".into(), parts[0].to_vec());
        for part in &parts[1..] {
            whole
                .append(&Series::new("c".into(), part.to_vec()))
                .unwrap();
        }
        assert_eq!(whole.n_chunks(), 3);
        whole.into_column()
    }

    #[test]
    fn rows_are_read_across_chunks_in_any_order() {
        let numbers = chunked([&[Some(1i64), None], &[Some(3)], &[Some(4), Some(5)]]);
        let df = DataFrame::new(5, vec![numbers]).unwrap();
        let mut seen = Vec::new();
        each_number(&df, "c", "test", Some(&[4, 0, 1, 3, 9, 2]), |v| {
            seen.push(v)
        })
        .unwrap();
        assert_eq!(seen, [Some(5.0), Some(1.0), None, Some(4.0), Some(3.0)]);
        let mut all = Vec::new();
        each_number(&df, "c", "test", None, |v| all.push(v)).unwrap();
        assert_eq!(all, [Some(1.0), None, Some(3.0), Some(4.0), Some(5.0)]);

        let long = "a text longer than twelve bytes";
        let texts = chunked([&[Some("b"), None], &[Some(long)], &[Some("é"), Some("b")]]);
        let df = DataFrame::new(5, vec![texts]).unwrap();
        let texts = text(&df, "c", "test").unwrap();
        let picked: Vec<_> = keyed_text_rows(&texts, &[4, 2, 1, 0, 7]).collect();
        assert_eq!(
            picked,
            [
                Some((TextKey::of("b"), "b")),
                Some((TextKey::of(long), long)),
                None,
                Some((TextKey::of("b"), "b")),
            ]
        );
        let mut keys = Vec::new();
        each_keyed_text(&texts, |v| keys.push(v.map(|(k, _)| k)));
        assert_eq!(keys[0], keys[4]);
        assert_ne!(keys[0], keys[3]);
        let back: Vec<String> = keys.iter().flatten().map(TextKey::text).collect();
        assert_eq!(back, ["b", long, "é", "b"]);
    }

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
            "201x-06-01",
            "2018-0a-01",
            "2018-06-01 12:3x:00",
            "2018-06-01 12:30:4 ",
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
    fn kinds_follow_types_and_dates_written_as_text() {
        let df = df!(
            "n" => [Some(1i64), None],
            "x" => [1.5, 2.0],
            "b" => [true, false],
            "d" => ["2018-01-02", "2019-12-31"],
            "t" => ["2018-01-02 10:00:00", "2018-01-02"],
            "s" => ["2018-01-02", "soon"],
            "e" => [None::<&str>, None]
        )
        .unwrap();
        let names: Vec<String> = ["n", "x", "b", "d", "t", "s", "e", "absent"]
            .map(String::from)
            .to_vec();
        let found = kinds(&df, &names);
        let want = [
            Kind::Number,
            Kind::Number,
            Kind::Boolean,
            Kind::Date,
            Kind::Timestamp,
            Kind::Text,
            Kind::Text,
        ];
        for (name, kind) in names.iter().zip(want) {
            assert_eq!(found[name], kind, "{name}");
        }
        assert!(!found.contains_key("absent"));
    }

    #[test]
    fn text_where_numbers_are_needed_names_the_column() {
        refused(
            numbers(&df!("n" => ["1", "lots"]).unwrap(), "n", "encoder Norm(n)"),
            &["`n`", "lots"],
        );
    }
}
