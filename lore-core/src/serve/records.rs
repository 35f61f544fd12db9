//! A prediction request's body read straight into the model's input columns: one pass over the
//! JSON, each value checked against the kind of its column as it is read, keys the model does
//! not take skipped and counted, and every count bounded (rows, keys a record, text length,
//! distinct unknown keys), so a request costs what its bytes are worth and no more.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;

use crate::frame::Kind;
use crate::rows::{self, Rows};

/// What a request may hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most records in one request.
    pub rows: usize,
    /// Most keys in one record, the model's and others together.
    pub keys: usize,
    /// Longest text value, in bytes.
    pub text: usize,
    /// Most distinct keys the model does not take, over the whole request.
    pub unknown: usize,
    /// Refuse a record with a key the model does not take, instead of skipping it.
    pub refuse_unknown: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rows: 100_000,
            keys: 1_000,
            text: 65_536,
            unknown: 1_000,
            refuse_unknown: false,
        }
    }
}

/// Why a body was refused: a client's mistake (400) or a limit passed (413).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// 400 or 413.
    pub status: u16,
    /// What was wrong, where, and what to send instead.
    pub message: String,
    /// The field at fault, if one is.
    pub field: Option<String>,
    /// The record at fault (1-based), if one is.
    pub row: Option<usize>,
    /// What the field takes, when a value was of the wrong kind.
    pub expected: Option<&'static str>,
}

impl Refused {
    fn bad(message: String) -> Refused {
        Refused {
            status: 400,
            message,
            field: None,
            row: None,
            expected: None,
        }
    }

    fn too_large(message: String) -> Refused {
        Refused {
            status: 413,
            ..Refused::bad(message)
        }
    }

    fn at(mut self, field: &str, row: usize) -> Refused {
        self.field = Some(field.to_string());
        self.row = Some(row);
        self
    }
}

/// The records read: the model's input columns that the records hold, and the keys skipped,
/// with how many records had each.
#[derive(Debug)]
pub struct Records {
    /// One row a record, one column for each input some record holds.
    pub rows: Rows,
    /// Keys the model does not take, with how many records held each.
    pub ignored: BTreeMap<String, usize>,
}

/// Reads `body`, a JSON list of records, `{"records": [...]}` or one record, against `inputs`:
/// each input column with its kind (`None`: any JSON number, text or true/false, one kind a
/// column, as fittings saved before kinds were kept are read).
pub fn read(
    body: &[u8],
    inputs: &[(String, Option<Kind>)],
    limits: &Limits,
) -> Result<Records, Refused> {
    let mut reader = Reader {
        index: inputs
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect(),
        columns: inputs
            .iter()
            .map(|(name, kind)| Builder::new(name, *kind))
            .collect(),
        limits,
        rows: 0,
        ignored: BTreeMap::new(),
        fault: None,
    };
    let mut json = serde_json::Deserializer::from_slice(body);
    let outcome = (&mut json)
        .deserialize_any(BodySeed(&mut reader))
        .and_then(|()| json.end());
    if let Some(fault) = reader.fault.take() {
        return Err(fault);
    }
    if let Err(e) = outcome {
        return Err(Refused::bad(match e.classify() {
            serde_json::error::Category::Data => format!(
                "{e}; send a JSON list of records, such as [{{\"first_name\": \"Ann\", ...}}]"
            ),
            _ => format!(
                "malformed JSON at line {}, column {}: {e}; send a JSON list of records",
                e.line(),
                e.column()
            ),
        }));
    }
    let rows = reader.rows;
    let columns = reader
        .columns
        .into_iter()
        .filter(|c| c.seen)
        .map(|c| c.finish(rows))
        .collect();
    Ok(Records {
        rows: Rows { columns, len: rows },
        ignored: reader.ignored,
    })
}

/// The state of one read: a builder per input column, and what has been refused.
struct Reader<'a> {
    index: HashMap<&'a str, usize>,
    columns: Vec<Builder>,
    limits: &'a Limits,
    rows: usize,
    ignored: BTreeMap<String, usize>,
    /// Why reading stopped, when it was the request's fault rather than the JSON's syntax.
    fault: Option<Refused>,
}

impl Reader<'_> {
    /// Stops the read with `fault`; the error the parser sees only unwinds it.
    fn refuse<E: de::Error>(&mut self, fault: Refused) -> E {
        let message = fault.message.clone();
        self.fault = Some(fault);
        E::custom(message)
    }

    /// Starts record `self.rows + 1`.
    fn start_record<E: de::Error>(&mut self) -> Result<usize, E> {
        if self.rows >= self.limits.rows {
            let limit = self.limits.rows;
            return Err(self.refuse(Refused::too_large(format!(
                "more than {limit} records in one request; send them in smaller requests"
            ))));
        }
        self.rows += 1;
        Ok(self.rows)
    }

    /// Reads the record whose map is `map`, `first` its first key when the caller read it.
    fn record<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        first: Option<Cow<'de, str>>,
    ) -> Result<(), A::Error> {
        let row = self.start_record()?;
        let mut keys = 0usize;
        let mut next = first;
        loop {
            let key = match next.take() {
                Some(key) => key,
                None => match map.next_key::<Cow<'de, str>>()? {
                    Some(key) => key,
                    None => break,
                },
            };
            keys += 1;
            if keys > self.limits.keys {
                let limit = self.limits.keys;
                return Err(self.refuse(Refused::too_large(format!(
                    "record {row} has more than {limit} fields; send only the model's inputs \
                     (GET /models lists them)"
                ))));
            }
            match self.index.get(key.as_ref()).copied() {
                Some(i) => {
                    let limits = self.limits;
                    let column = &mut self.columns[i];
                    if column.last_row == row {
                        let name = column.name.clone();
                        return Err(self.refuse(
                            Refused::bad(format!(
                                "field `{name}` is given twice in record {row}; give it once"
                            ))
                            .at(&name, row),
                        ));
                    }
                    let value = map.next_value_seed(ValueSeed)?;
                    if let Err(fault) = column.push(value, row, limits) {
                        return Err(self.refuse(fault));
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    if let Err(fault) = self.ignore(&key, row) {
                        return Err(self.refuse(fault));
                    }
                }
            }
        }
        Ok(())
    }

    /// Counts `key`, which the model does not take, in record `row`.
    fn ignore(&mut self, key: &str, row: usize) -> Result<(), Refused> {
        let shown: String = key.chars().take(100).collect();
        if self.limits.refuse_unknown {
            return Err(Refused::bad(format!(
                "record {row} has the field `{shown}`, which the model does not take; send only \
                 its inputs (GET /models lists them)"
            ))
            .at(&shown, row));
        }
        if let Some(count) = self.ignored.get_mut(&shown) {
            *count += 1;
            return Ok(());
        }
        if self.ignored.len() >= self.limits.unknown {
            let limit = self.limits.unknown;
            return Err(Refused::too_large(format!(
                "more than {limit} different fields the model does not take, by record {row}; \
                 send only its inputs (GET /models lists them)"
            )));
        }
        self.ignored.insert(shown, 1);
        Ok(())
    }
}

/// One JSON value of an input field: the scalars a column can hold, or the kind of what it
/// cannot.
enum Scalar<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Cow<'de, str>),
    /// An array or an object, skipped.
    Nested(&'static str),
}

impl Scalar<'_> {
    /// What it is, for messages.
    fn describe(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(_) | Scalar::Float(_) => "a number".into(),
            Scalar::Text(t) if t.chars().count() > 40 => {
                format!("the text {:?}...", t.chars().take(40).collect::<String>())
            }
            Scalar::Text(t) => format!("the text {:?}", t.as_ref()),
            Scalar::Nested(what) => (*what).into(),
        }
    }
}

/// One input column as it is read.
struct Builder {
    name: String,
    /// The kind it must hold: from the fitting, or else from its first value.
    kind: Option<Kind>,
    /// Whether the fitting named its kind (else it was taken from the first value).
    declared: bool,
    /// The record it last had a value in.
    last_row: usize,
    seen: bool,
    values: Values,
}

/// The values of a column, nulls where a record lacked it.
enum Values {
    Empty,
    Ints(Vec<Option<i64>>),
    Floats(Vec<Option<f64>>),
    Bools(Vec<Option<bool>>),
    Texts(Vec<Option<String>>),
}

impl Builder {
    fn new(name: &str, kind: Option<Kind>) -> Builder {
        Builder {
            name: name.to_string(),
            kind,
            declared: kind.is_some(),
            last_row: 0,
            seen: false,
            values: Values::Empty,
        }
    }

    /// The refusal of `value` in record `row`.
    fn wrong(&self, value: &Scalar, row: usize, kind: Kind) -> Refused {
        let source = match self.declared {
            true => "the model takes",
            false => "earlier records hold",
        };
        Refused {
            expected: Some(kind.name()),
            ..Refused::bad(format!(
                "field `{}` in record {row}: {} where {source} {}",
                self.name,
                value.describe(),
                kind.name()
            ))
            .at(&self.name, row)
        }
    }

    /// Adds `value` from record `row`, nulls first for the records that lacked the column.
    fn push(&mut self, value: Scalar, row: usize, limits: &Limits) -> Result<(), Refused> {
        self.last_row = row;
        self.seen = true;
        if let Scalar::Nested(_) = value {
            let expected = self.kind.map_or("a number, text or true/false", Kind::name);
            return Err(Refused {
                expected: self.kind.map(Kind::name),
                ..Refused::bad(format!(
                    "field `{}` in record {row}: {} where the model takes {expected}",
                    self.name,
                    value.describe()
                ))
                .at(&self.name, row)
            });
        }
        if let Scalar::Text(t) = &value {
            if t.len() > limits.text {
                return Err(Refused::too_large(format!(
                    "field `{}` in record {row}: a text of {} bytes, longer than the {} taken",
                    self.name,
                    t.len(),
                    limits.text
                ))
                .at(&self.name, row));
            }
        }
        let kind = match (self.kind, &value) {
            (Some(kind), _) => kind,
            (None, Scalar::Null) => return self.fill(row, None),
            (None, Scalar::Bool(_)) => Kind::Boolean,
            (None, Scalar::Int(_) | Scalar::Float(_)) => Kind::Number,
            (None, _) => Kind::Text,
        };
        self.kind = Some(kind);
        let accepted = match (kind, value) {
            (_, Scalar::Null) => None,
            (Kind::Number, Scalar::Int(i)) => Some(Cell::Int(i)),
            (Kind::Number, Scalar::Float(x)) => Some(Cell::Float(x)),
            (Kind::Boolean, Scalar::Bool(b)) => Some(Cell::Bool(b)),
            (Kind::Text, Scalar::Text(t)) => Some(Cell::Text(t.into_owned())),
            (Kind::Date | Kind::Timestamp, Scalar::Text(t)) if kind.accepts_text(t.trim()) => {
                Some(Cell::Text(t.into_owned()))
            }
            (kind, value) => return Err(self.wrong(&value, row, kind)),
        };
        self.fill(row, accepted)
    }

    /// Stores `cell` as the value of record `row`.
    fn fill(&mut self, row: usize, cell: Option<Cell>) -> Result<(), Refused> {
        let before = row - 1;
        if let (Values::Empty, Some(cell)) = (&self.values, &cell) {
            self.values = match cell {
                Cell::Int(_) => Values::Ints(Vec::new()),
                Cell::Float(_) => Values::Floats(Vec::new()),
                Cell::Bool(_) => Values::Bools(Vec::new()),
                Cell::Text(_) => Values::Texts(Vec::new()),
            };
        }
        if let (Values::Ints(ints), Some(Cell::Float(_))) = (&self.values, &cell) {
            self.values = Values::Floats(ints.iter().map(|v| v.map(|i| i as f64)).collect());
        }
        // A cell of another kind than the column's (or none) is a null.
        match (&mut self.values, cell) {
            (Values::Empty, _) => {}
            (Values::Ints(v), Some(Cell::Int(i))) => put(v, before, Some(i)),
            (Values::Floats(v), Some(Cell::Int(i))) => put(v, before, Some(i as f64)),
            (Values::Floats(v), Some(Cell::Float(x))) => put(v, before, Some(x)),
            (Values::Bools(v), Some(Cell::Bool(b))) => put(v, before, Some(b)),
            (Values::Texts(v), Some(Cell::Text(t))) => put(v, before, Some(t)),
            (Values::Ints(v), _) => put(v, before, None),
            (Values::Floats(v), _) => put(v, before, None),
            (Values::Bools(v), _) => put(v, before, None),
            (Values::Texts(v), _) => put(v, before, None),
        }
        Ok(())
    }

    /// The column's name and values, `rows` long.
    fn finish(self, rows: usize) -> (String, rows::Values) {
        let values = match self.values {
            Values::Empty => match self.kind {
                Some(Kind::Number) => rows::Values::Floats(vec![None; rows]),
                Some(Kind::Boolean) => rows::Values::Bools(vec![None; rows]),
                _ => rows::Values::Texts(vec![None; rows]),
            },
            Values::Ints(v) => rows::Values::Ints(filled(v, rows)),
            Values::Floats(v) => rows::Values::Floats(filled(v, rows)),
            Values::Bools(v) => rows::Values::Bools(filled(v, rows)),
            Values::Texts(v) => rows::Values::Texts(filled(v, rows)),
        };
        (self.name, values)
    }
}

/// Appends `value` to a column after nulls for the records before it that lacked the field.
fn put<T>(values: &mut Vec<Option<T>>, before: usize, value: Option<T>) {
    values.resize_with(before, || None);
    values.push(value);
}

/// A column `rows` long, nulls for the last records that lacked the field.
fn filled<T>(mut values: Vec<Option<T>>, rows: usize) -> Vec<Option<T>> {
    values.resize_with(rows, || None);
    values
}

/// One accepted value.
enum Cell {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// Declares a seed that reads part of a body into the [`Reader`]: the struct, its
/// `DeserializeSeed` (through the deserializer's `$method`), and its `Visitor`, which expects
/// `$expecting` and visits with the functions given.
macro_rules! reader_seed {
    ($(#[doc = $doc:literal])* $name:ident<$de:lifetime>: $method:ident, $expecting:literal,
     { $($visits:tt)* }) => {
        $(#[doc = $doc])*
        struct $name<'r, 'a>(&'r mut Reader<'a>);

        impl<$de> DeserializeSeed<$de> for $name<'_, '_> {
            type Value = ();

            fn deserialize<D: Deserializer<$de>>(self, d: D) -> Result<(), D::Error> {
                d.$method(self)
            }
        }

        impl<$de> Visitor<$de> for $name<'_, '_> {
            type Value = ();

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str($expecting)
            }

            $($visits)*
        }
    };
}

reader_seed!(
    /// The whole body: a list of records, `{"records": [...]}`, or one record.
    BodySeed<'de>: deserialize_any, "a JSON list of records", {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
            RecordsSeed(self.0).visit_seq(seq)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let Some(first) = map.next_key::<Cow<'de, str>>()? else {
                return self.0.record(map, None);
            };
            if first != "records" {
                return self.0.record(map, Some(first));
            }
            map.next_value_seed(RecordsSeed(&mut *self.0))?;
            if let Some(other) = map.next_key::<Cow<'de, str>>()? {
                return Err(self.0.refuse(Refused::bad(format!(
                    "the body has `{}` beside `records`; send {{\"records\": [...]}} alone",
                    other.chars().take(100).collect::<String>()
                ))));
            }
            Ok(())
        }
    }
);

reader_seed!(
    /// A list of records.
    RecordsSeed<'de>: deserialize_seq, "a list of records", {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(RecordSeed(&mut *self.0))?.is_some() {}
            Ok(())
        }
    }
);

reader_seed!(
    /// One record.
    RecordSeed<'de>: deserialize_any, "a record: a JSON object of field: value pairs", {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
            self.0.record(map, None)
        }
    }
);

/// One field's value.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, text, true/false or null")
    }

    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested("a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested("an object"))
    }
}

#[cfg(test)]
mod tests;
