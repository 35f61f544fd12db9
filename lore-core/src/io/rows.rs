//! Database rows into typed polars columns: integers, floats, booleans, text, dates and
//! timestamps, with NULLs kept as nulls. A column whose values disagree widens (integers to
//! floats, dates to timestamps, anything to text) rather than failing.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use polars::prelude::*;

/// One value read from a database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A timestamp without time zone (UTC for zoned ones).
    Timestamp(NaiveDateTime),
}

impl Value {
    fn text(self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Text(s) => Some(s),
            Value::Date(d) => Some(d.to_string()),
            Value::Timestamp(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        }
    }
}

/// The values of one column, typed by the first non-null value and widened when needed. Values
/// go straight into polars' layouts (numbers beside a validity bitmap made at the first null,
/// text with its count), so a column is held once while it is read and not copied to finish.
enum Builder {
    Nulls(usize),
    Int(PrimitiveChunkedBuilder<Int64Type>, usize),
    Float(PrimitiveChunkedBuilder<Float64Type>, usize),
    Bool(BooleanChunkedBuilder, usize),
    Text(StringChunkedBuilder, usize),
    Date(Vec<Option<NaiveDate>>),
    Timestamp(Vec<Option<NaiveDateTime>>),
}

impl Builder {
    fn len(&self) -> usize {
        match self {
            Builder::Nulls(n)
            | Builder::Int(_, n)
            | Builder::Float(_, n)
            | Builder::Bool(_, n)
            | Builder::Text(_, n) => *n,
            Builder::Date(v) => v.len(),
            Builder::Timestamp(v) => v.len(),
        }
    }

    fn text_builder(n: usize) -> Builder {
        Builder::Text(StringChunkedBuilder::new(PlSmallStr::EMPTY, n), 0)
    }

    /// A builder of `kind`'s first value after `n` nulls.
    fn after_nulls(n: usize, kind: &Value) -> Builder {
        fn nulls<B: ChunkedBuilder<N, T>, N, T: PolarsDataType>(mut b: B, n: usize) -> B {
            for _ in 0..n {
                b.append_null();
            }
            b
        }
        let room = n.max(1024);
        match kind {
            Value::Int(_) => Builder::Int(
                nulls(PrimitiveChunkedBuilder::new(PlSmallStr::EMPTY, room), n),
                n,
            ),
            Value::Float(_) => Builder::Float(
                nulls(PrimitiveChunkedBuilder::new(PlSmallStr::EMPTY, room), n),
                n,
            ),
            Value::Bool(_) => Builder::Bool(
                nulls(BooleanChunkedBuilder::new(PlSmallStr::EMPTY, room), n),
                n,
            ),
            Value::Date(_) => Builder::Date(vec![None; n]),
            Value::Timestamp(_) => Builder::Timestamp(vec![None; n]),
            Value::Text(_) | Value::Null => {
                let mut text = Builder::text_builder(n);
                for _ in 0..n {
                    text.push(Value::Null);
                }
                text
            }
        }
    }

    /// Every value so far, for a column that must change its type.
    fn values(self) -> Vec<Value> {
        fn all<T>(v: impl IntoIterator<Item = Option<T>>, value: fn(T) -> Value) -> Vec<Value> {
            v.into_iter()
                .map(|x| x.map_or(Value::Null, value))
                .collect()
        }
        match self {
            Builder::Nulls(n) => vec![Value::Null; n],
            Builder::Int(b, _) => all(b.finish().iter().collect::<Vec<_>>(), Value::Int),
            Builder::Float(b, _) => all(b.finish().iter().collect::<Vec<_>>(), Value::Float),
            Builder::Bool(b, _) => all(b.finish().iter().collect::<Vec<_>>(), Value::Bool),
            Builder::Date(v) => all(v, Value::Date),
            Builder::Timestamp(v) => all(v, Value::Timestamp),
            Builder::Text(b, _) => all(
                b.finish()
                    .iter()
                    .map(|t| t.map(str::to_string))
                    .collect::<Vec<_>>(),
                Value::Text,
            ),
        }
    }

    /// This column again, as `into`'s type, with every value so far.
    fn retype(&mut self, mut into: Builder) {
        let values = std::mem::replace(self, Builder::Nulls(0)).values();
        for v in values {
            into.push(v);
        }
        *self = into;
    }

    fn widen_to_text(&mut self) {
        if !matches!(self, Builder::Text(..)) {
            let n = self.len();
            self.retype(Builder::text_builder(n));
        }
    }

    fn push(&mut self, value: Value) {
        match (&mut *self, value) {
            (Builder::Nulls(n), Value::Null) => *n += 1,
            (Builder::Nulls(n), v) => {
                *self = Builder::after_nulls(*n, &v);
                self.push(v);
            }
            (Builder::Int(c, n), Value::Null) => {
                c.append_null();
                *n += 1;
            }
            (Builder::Int(c, n), Value::Int(i)) => {
                c.append_value(i);
                *n += 1;
            }
            (Builder::Int(_, n), v @ Value::Float(_)) => {
                let n = *n;
                self.retype(Builder::after_nulls(0, &Value::Float(0.0)));
                debug_assert_eq!(self.len(), n);
                self.push(v);
            }
            (Builder::Float(c, n), Value::Null) => {
                c.append_null();
                *n += 1;
            }
            (Builder::Float(c, n), Value::Float(f)) => {
                c.append_value(f);
                *n += 1;
            }
            (Builder::Float(c, n), Value::Int(i)) => {
                c.append_value(i as f64);
                *n += 1;
            }
            (Builder::Bool(c, n), Value::Null) => {
                c.append_null();
                *n += 1;
            }
            (Builder::Bool(c, n), Value::Bool(b)) => {
                c.append_value(b);
                *n += 1;
            }
            (Builder::Text(c, n), Value::Text(t)) => {
                c.append_value(&t);
                *n += 1;
            }
            (Builder::Text(c, n), v) => {
                c.append_option(v.text());
                *n += 1;
            }
            (Builder::Date(c), Value::Null) => c.push(None),
            (Builder::Date(c), Value::Date(d)) => c.push(Some(d)),
            (Builder::Timestamp(c), Value::Null) => c.push(None),
            (Builder::Timestamp(c), Value::Timestamp(t)) => c.push(Some(t)),
            (Builder::Timestamp(c), Value::Date(d)) => c.push(Some(d.and_time(NaiveTime::MIN))),
            (Builder::Date(c), Value::Timestamp(t)) => {
                let mut times: Vec<Option<NaiveDateTime>> = c
                    .iter()
                    .map(|d| d.map(|d| d.and_time(NaiveTime::MIN)))
                    .collect();
                times.push(Some(t));
                *self = Builder::Timestamp(times);
            }
            (_, v) => {
                self.widen_to_text();
                self.push(v);
            }
        }
    }

    /// Appends a text borrowed from the database, copied once into a text column's layout.
    fn push_text(&mut self, text: &str) {
        match self {
            Builder::Text(c, n) => {
                c.append_value(text);
                *n += 1;
            }
            Builder::Nulls(_) => {
                self.widen_to_text();
                self.push_text(text);
            }
            _ => self.push(Value::Text(text.to_string())),
        }
    }

    fn finish(self, name: &str) -> PolarsResult<Column> {
        let name: PlSmallStr = name.into();
        Ok(match self {
            Builder::Nulls(n) => Column::full_null(name, n, &DataType::String),
            Builder::Int(b, _) => b.finish().with_name(name).into_column(),
            Builder::Float(b, _) => b.finish().with_name(name).into_column(),
            Builder::Bool(b, _) => b.finish().with_name(name).into_column(),
            Builder::Text(v, _) => v.finish().with_name(name).into_column(),
            Builder::Date(v) => {
                let days: Vec<Option<i32>> =
                    v.into_iter().map(|d| d.map(days_since_epoch)).collect();
                Column::new(name, days).cast(&DataType::Date)?
            }
            Builder::Timestamp(v) => {
                let micros: Vec<Option<i64>> = v
                    .into_iter()
                    .map(|t| t.map(|t| t.and_utc().timestamp_micros()))
                    .collect();
                Column::new(name, micros).cast(&DataType::Datetime(TimeUnit::Microseconds, None))?
            }
        })
    }
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days() as i32
}

/// Collects rows column by column and turns them into a data frame.
pub struct FrameBuilder {
    names: Vec<String>,
    columns: Vec<Builder>,
}

impl FrameBuilder {
    /// A builder for columns `names`.
    pub fn new(names: Vec<String>) -> FrameBuilder {
        let columns = names.iter().map(|_| Builder::Nulls(0)).collect();
        FrameBuilder { names, columns }
    }

    /// The column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Rows collected so far.
    pub fn rows(&self) -> usize {
        self.columns.first().map(Builder::len).unwrap_or(0)
    }

    /// Appends the value of column `index` of the current row.
    pub fn push(&mut self, index: usize, value: Value) {
        if let Some(c) = self.columns.get_mut(index) {
            c.push(value);
        }
    }

    /// Appends the text value of column `index` of the current row, without an owned copy of
    /// its own.
    pub fn push_text(&mut self, index: usize, text: &str) {
        if let Some(c) = self.columns.get_mut(index) {
            c.push_text(text);
        }
    }

    /// The rows collected so far as a data frame; the builder starts empty again.
    pub fn take(&mut self) -> PolarsResult<DataFrame> {
        let rows = self.rows();
        let columns = std::mem::replace(
            &mut self.columns,
            self.names.iter().map(|_| Builder::Nulls(0)).collect(),
        );
        let columns = self
            .names
            .iter()
            .zip(columns)
            .map(|(n, b)| b.finish(n))
            .collect::<PolarsResult<Vec<_>>>()?;
        DataFrame::new(rows, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_typed_and_widen_on_disagreement() {
        let mut b = FrameBuilder::new(vec![
            "i".into(),
            "f".into(),
            "t".into(),
            "d".into(),
            "n".into(),
            "b".into(),
            "dt".into(),
        ]);
        let date = NaiveDate::from_ymd_opt(2018, 6, 1).unwrap();
        for (i, f, t) in [
            (Value::Null, Value::Int(1), Value::Int(3)),
            (Value::Int(2), Value::Float(1.5), Value::Text("x".into())),
        ] {
            b.push(0, i);
            b.push(1, f);
            b.push(2, t);
            b.push(3, Value::Date(date));
            b.push(4, Value::Null);
            b.push(5, Value::Bool(true));
        }
        b.push(6, Value::Date(date));
        b.push(6, Value::Timestamp(date.and_hms_opt(12, 30, 0).unwrap()));
        let df = b.take().unwrap();
        assert_eq!(df.height(), 2);
        let types: Vec<DataType> = df.dtypes();
        assert_eq!(
            types,
            vec![
                DataType::Int64,
                DataType::Float64,
                DataType::String,
                DataType::Date,
                DataType::String,
                DataType::Boolean,
                DataType::Datetime(TimeUnit::Microseconds, None),
            ]
        );
        assert_eq!(df.column("i").unwrap().null_count(), 1);
        assert_eq!(df.column("t").unwrap().str().unwrap().get(0), Some("3"));
        assert_eq!(b.rows(), 0);
    }

    #[test]
    fn text_after_nulls_keeps_the_nulls() {
        let mut b = FrameBuilder::new(vec!["t".into()]);
        for v in [
            Value::Null,
            Value::Null,
            Value::Text("x".into()),
            Value::Int(4),
        ] {
            b.push(0, v);
        }
        let df = b.take().unwrap();
        let t: Vec<Option<&str>> = df.column("t").unwrap().str().unwrap().iter().collect();
        assert_eq!(t, vec![None, None, Some("x"), Some("4")]);
    }
}
