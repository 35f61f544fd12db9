//! What the encoders share: reading a column's values (numbers, dates, texts, lists) for
//! learning and encoding, the running statistics they learn, and laying features side by side.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{self, TextKey};

/// The smallest and largest value seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    min: f64,
    max: f64,
}

impl Range {
    pub(crate) fn new() -> Range {
        Range {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub(crate) fn add(&mut self, x: f64) {
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// `(min, max)`, or `(0, 0)` when nothing was seen.
    pub(crate) fn bounds(self) -> (f64, f64) {
        if self.min.is_finite() {
            (self.min, self.max)
        } else {
            (0.0, 0.0)
        }
    }
}

/// Welford's running mean and variance with the range: stable, and the same whether rows come
/// at once or in batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
    range: Range,
}

impl Moments {
    pub(crate) fn new() -> Moments {
        Moments {
            n: 0.0,
            mean: 0.0,
            m2: 0.0,
            range: Range::new(),
        }
    }

    pub(crate) fn add(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
        self.range.add(x);
    }

    /// `(min, max)`, or `(0, 0)` when nothing was seen.
    pub(crate) fn bounds(&self) -> (f64, f64) {
        self.range.bounds()
    }

    /// Mean, standard deviation and range, finite and savable.
    pub(crate) fn spread(&self) -> (f64, f64, f64, f64) {
        let var = if self.n > 0.0 { self.m2 / self.n } else { 0.0 };
        let (min, max) = self.range.bounds();
        // Values near f64::MAX can overflow the variance; the largest finite spread stands in.
        let std = match var {
            v if v.is_infinite() => f64::MAX,
            v if v > 0.0 => v.sqrt(),
            _ => 1.0,
        };
        (
            if self.mean.is_finite() {
                self.mean
            } else {
                0.0
            },
            std,
            min,
            max,
        )
    }
}

/// Whether `name` holds dates or timestamps (as date columns or as text that parses as one).
pub(crate) fn holds_dates(df: &DataFrame, name: &str, by: &str) -> Result<bool> {
    let col = frame::column(df, name, by)?;
    Ok(match col.dtype() {
        DataType::Date | DataType::Datetime(..) => true,
        DataType::String => frame::numbers(df, name, by).is_err(),
        _ => false,
    })
}

/// Numbers, or dates and timestamps as seconds since 1970.
pub(crate) fn values(
    df: &DataFrame,
    name: &str,
    by: &str,
    dates: bool,
) -> Result<Vec<Option<f64>>> {
    if dates {
        Ok(frame::timestamps(df, name, by)?
            .into_iter()
            .map(|t| t.map(|t| t.and_utc().timestamp() as f64))
            .collect())
    } else {
        Ok(frame::numbers(df, name, by)?
            .into_iter()
            .map(|v| v.filter(|x| !x.is_nan()))
            .collect())
    }
}

/// Calls `f` with each finite value of `name` as [`values`] reads them, in `rows` (every row when
/// `None`): what fitting learns from. Nulls, NaN and infinities are left out.
pub(crate) fn each_finite(
    df: &DataFrame,
    name: &str,
    by: &str,
    dates: bool,
    rows: Option<&[IdxSize]>,
    mut f: impl FnMut(f64),
) -> Result<()> {
    let col = frame::column(df, name, by)?;
    if dates || !col.dtype().is_primitive_numeric() {
        let all = values(df, name, by, dates)?;
        let at = |r: usize| all.get(r).copied().flatten().filter(|x| x.is_finite());
        match rows {
            None => (0..all.len()).filter_map(at).for_each(f),
            Some(rows) => rows.iter().filter_map(|r| at(*r as usize)).for_each(f),
        }
        return Ok(());
    }
    frame::each_number(df, name, by, rows, |v| {
        if let Some(x) = v.filter(|x| x.is_finite()) {
            f(x)
        }
    })
}

/// Adds to `counts` how often each text of `name` that is not null occurs in `rows` (every row
/// when `None`), counting by [`TextKey`] so that the rows' texts are neither copied nor compared
/// byte by byte.
pub(crate) fn count_texts(
    df: &DataFrame,
    name: &str,
    by: &str,
    rows: Option<&[IdxSize]>,
    counts: &mut PlHashMap<String, usize>,
) -> Result<()> {
    let texts = frame::text(df, name, by)?;
    let mut keyed: PlHashMap<TextKey, usize> = PlHashMap::new();
    let mut count = |key| *keyed.entry(key).or_default() += 1;
    match rows {
        None => frame::each_keyed_text(&texts, |v| v.into_iter().for_each(|(k, _)| count(k))),
        Some(rows) => frame::keyed_text_rows(&texts, rows)
            .flatten()
            .for_each(|(k, _)| count(k)),
    }
    for (key, n) in keyed {
        *counts.entry(key.text()).or_default() += n;
    }
    Ok(())
}

/// `f` of every value of `name` as [`values`] reads them, in one pass where the column is numeric.
pub(crate) fn map_values(
    df: &DataFrame,
    name: &str,
    by: &str,
    dates: bool,
    f: impl Fn(Option<f64>) -> f32,
) -> Result<Vec<f32>> {
    if dates {
        Ok(values(df, name, by, true)?.into_iter().map(f).collect())
    } else {
        frame::map_numbers(df, name, by, f)
    }
}

/// How a sequence encoder reads the items of a row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Items<'a> {
    /// Lower-cased words of text.
    Words,
    /// List items, or text items separated by this.
    List(&'a str),
}

impl Items<'_> {
    /// The items of every row of `column`.
    pub(crate) fn read(
        self,
        df: &DataFrame,
        column: &str,
        by: &str,
    ) -> Result<Vec<Option<Vec<String>>>> {
        match self {
            Items::Words => Ok(frame::text(df, column, by)?
                .iter()
                .map(|v| v.map(words))
                .collect()),
            Items::List(separator) => frame::lists(df, column, by, separator),
        }
    }
}

/// The lower-cased words of `text`: its runs of letters and digits.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Lists of numbers; an item that is not a number is an error naming the column.
pub(crate) fn number_lists(
    df: &DataFrame,
    column: &str,
    by: &str,
    separator: &str,
) -> Result<Vec<Option<Vec<f64>>>> {
    frame::lists(df, column, by, separator)?
        .into_iter()
        .map(|row| {
            row.map(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.parse::<f64>().map_err(|_| Error::ColumnType {
                            column: column.to_string(),
                            message: format!(
                                "{by} needs lists of numbers but found the item {item:?}"
                            ),
                        })
                    })
                    .collect::<Result<Vec<f64>>>()
            })
            .transpose()
        })
        .collect()
}

/// Blocks of row-major values, `width` a row each, side by side: row after row of the blocks'
/// rows placed next to one another.
pub(crate) fn side_by_side(blocks: &[(Vec<f32>, usize)], rows: usize) -> Vec<f32> {
    let columns: usize = blocks.iter().map(|(_, w)| w).sum();
    let mut values = vec![0f32; rows * columns];
    interleave(blocks, &mut values);
    values
}

/// Writes blocks of row-major values side by side into `into`, which holds as many rows of all
/// the blocks' widths together.
pub(crate) fn interleave(blocks: &[(Vec<f32>, usize)], into: &mut [f32]) {
    let columns: usize = blocks.iter().map(|(_, w)| w).sum();
    if columns == 0 {
        return;
    }
    let mut offset = 0;
    for (block, width) in blocks.iter().filter(|(_, w)| *w > 0) {
        for (to, from) in into
            .chunks_exact_mut(columns)
            .zip(block.chunks_exact(*width))
        {
            to[offset..offset + width].copy_from_slice(from);
        }
        offset += width;
    }
}
