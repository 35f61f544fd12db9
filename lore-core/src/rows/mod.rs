//! A few input records as typed rows, and a fitted pipeline applied to them a row at a time:
//! each transformer and encoder on the values of one row, with no data frame, into a dense row of
//! features. A prediction request of a few rows served this way skips the fixed cost of column
//! operations, which is most of the cost of one row. The answers are the frame path's to the bit:
//! each value is read as the frame path reads its column, and the per-value arithmetic is the
//! encoders' and transformers' own. Whatever the row path cannot answer exactly so (a custom
//! transformer or encoder, a bag of words, text that is no number, a number where a date is
//! read) sends the whole request down the frame path, which answers or names the fault.

use std::borrow::Cow;
use std::collections::HashMap;

use polars::prelude::*;

use crate::encoders::bins::{FittedDiscrete, FittedQuantile};
use crate::encoders::categorical::{FittedEnum, FittedOneHot, FittedUnique};
use crate::encoders::numeric::{FittedNorm, FittedUniform};
use crate::encoders::sequences::{FittedNestedNorm, FittedNestedUnique, FittedToken, MiddleOut};
use crate::encoders::{self, FittedEncoder};
use crate::error::Result;
use crate::frame;
use crate::names;
use crate::pipelines::FittedPipeline;
use crate::pipelines::Matrix;
use crate::transformers::{self, Reference, StringOp, Transformer};

/// The values of one input column of some records, typed as the frame built from them types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Whole numbers (a 64-bit integer column).
    Ints(Vec<Option<i64>>),
    /// Numbers (a 64-bit float column).
    Floats(Vec<Option<f64>>),
    /// true / false.
    Bools(Vec<Option<bool>>),
    /// Text (dates and timestamps too, as sent).
    Texts(Vec<Option<String>>),
}

/// Input records as typed columns: what a request's body is read into.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// Each input column some record holds, with its values.
    pub columns: Vec<(String, Values)>,
    /// How many records.
    pub len: usize,
}

impl Rows {
    /// The records as a data frame, for the frame path.
    pub fn into_frame(self) -> Result<DataFrame> {
        let columns: Vec<Column> = self
            .columns
            .into_iter()
            .map(|(name, values)| {
                let name = name.as_str().into();
                match values {
                    Values::Ints(v) => Column::new(name, v),
                    Values::Floats(v) => Column::new(name, v),
                    Values::Bools(v) => Column::new(name, v),
                    Values::Texts(v) => Column::new(name, v),
                }
            })
            .collect();
        Ok(DataFrame::new(self.len, columns)?)
    }
}

/// One value of a row with the type of its column: the row path's reading of a value follows
/// its column's type, as the frame path's does.
#[derive(Debug, Clone)]
enum Cell<'a> {
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Text(Option<Cow<'a, str>>),
}

/// The row path cannot answer this as the frame path would: take the frame path.
#[derive(Debug)]
struct Unsure;

type Sure<T> = std::result::Result<T, Unsure>;

/// The built-in encoders coded row by row; any other goes through the frame path.
const BY_ROW: [&str; 14] = [
    "Pass",
    "Uniform",
    "Norm",
    "Discrete",
    "Quantile",
    "Boolean",
    "Equals",
    "Enum",
    "OneHot",
    "Unique",
    "Token",
    "NestedUnique",
    "NestedNorm",
    "MiddleOut",
];

impl Cell<'_> {
    /// The value as [`frame::numbers`] reads it (NaN kept).
    fn number(&self) -> Sure<Option<f64>> {
        Ok(match self {
            Cell::Int(v) => v.map(|i| i as f64),
            Cell::Float(v) => *v,
            Cell::Bool(v) => v.map(|b| f64::from(u8::from(b))),
            Cell::Text(None) => None,
            Cell::Text(Some(s)) => match s.trim() {
                "" => None,
                t => Some(t.parse::<f64>().map_err(|_| Unsure)?),
            },
        })
    }

    /// The value as [`frame::map_numbers`] reads it: NaN as none.
    fn value(&self) -> Sure<Option<f64>> {
        Ok(self.number()?.filter(|x| !x.is_nan()))
    }

    /// The value as [`frame::text`] reads it; a real number written out is left to the frame
    /// path, whose layout of it is polars'.
    fn text(&self) -> Sure<Option<Cow<'_, str>>> {
        Ok(match self {
            Cell::Int(v) => v.map(|i| Cow::Owned(i.to_string())),
            Cell::Bool(v) => v.map(|b| Cow::Borrowed(if b { "true" } else { "false" })),
            Cell::Text(v) => v.as_deref().map(Cow::Borrowed),
            Cell::Float(None) => None,
            Cell::Float(Some(_)) => return Err(Unsure),
        })
    }

    /// Seconds since 1970 as [`frame::epoch_seconds`] reads them, NaN for none.
    fn seconds(&self) -> Sure<f64> {
        match self {
            Cell::Text(None) => Ok(f64::NAN),
            Cell::Text(Some(s)) => frame::text_seconds(s).ok_or(Unsure),
            _ => Err(Unsure),
        }
    }

    /// Whole seconds since 1970 as [`frame::timestamps`] reads them.
    fn whole_seconds(&self) -> Sure<Option<f64>> {
        match self {
            Cell::Text(None) => Ok(None),
            Cell::Text(Some(s)) if s.trim().is_empty() => Ok(None),
            Cell::Text(Some(s)) => frame::parse_timestamp(s)
                .map(|t| Some(t.and_utc().timestamp() as f64))
                .ok_or(Unsure),
            _ => Err(Unsure),
        }
    }

    /// The items of a list as [`frame::lists`] reads text: split at `separator`, trimmed, empty
    /// ones left out.
    fn items(&self, separator: &str) -> Sure<Option<Vec<String>>> {
        Ok(self.text()?.map(|t| {
            t.split(separator)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect()
        }))
    }
}

/// A number as a cell of a column of numbers that keeps no NaN (the frame path's float columns).
fn float(x: f64) -> Cell<'static> {
    Cell::Float(Some(x).filter(|x| !x.is_nan()))
}

/// A transformer with the slots of the columns it reads and of the column it writes.
#[derive(Debug, Clone)]
struct Step {
    transformer: Transformer,
    reads: Vec<usize>,
    writes: usize,
    /// The pattern of a `String` transformer's `extract` or `contains`.
    pattern: Option<regex::Regex>,
    /// The fixed date an `Age` measures to, in seconds since 1970.
    at: Option<f64>,
}

/// The codes of the categories of a `Unique`, `Token` or `NestedUnique` encoder, as its
/// vocabulary gives them.
#[derive(Debug, Clone)]
struct Codes {
    codes: HashMap<String, f32>,
    kept: usize,
}

impl Codes {
    fn new(categories: &[String], long_tail: &[String]) -> Codes {
        let codes = encoders::categorical::vocabulary_codes(categories, long_tail)
            .map(|(c, code)| (c.to_string(), code))
            .collect();
        Codes {
            codes,
            kept: categories.len(),
        }
    }

    fn code(&self, value: Option<&str>) -> f32 {
        encoders::categorical::vocabulary_code(self.kept, value.map(|v| self.codes.get(v).copied()))
    }
}

/// An encoder with the slots of the columns it reads and what it looks values up in.
#[derive(Debug, Clone)]
struct Encoding {
    encoder: FittedEncoder,
    reads: Vec<usize>,
    width: usize,
    /// `OneHot`: each kept category's feature.
    features: HashMap<String, usize>,
    /// `Unique`, `Token` and `NestedUnique`: the vocabulary's codes.
    codes: Option<Codes>,
}

/// A fitted pipeline compiled for the row path: every column a slot, every transformer and
/// encoder reading and writing slots.
#[derive(Debug, Clone)]
pub struct RowPlan {
    /// The input column each of the first slots holds.
    inputs: Vec<String>,
    slots: usize,
    steps: Vec<Step>,
    encodings: Vec<Encoding>,
    width: usize,
}

impl RowPlan {
    /// The row path of `pipeline`, or `None` where it has a transformer or an encoder the row
    /// path leaves to the frame path (custom ones, bags of words, invalid parameters).
    pub fn compile(pipeline: &FittedPipeline) -> Option<RowPlan> {
        let inputs = pipeline.inputs();
        let mut slot_of: HashMap<String, usize> = inputs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let mut slots = inputs.len();
        let mut steps = Vec::with_capacity(pipeline.transformers.len());
        for t in &pipeline.transformers {
            if matches!(t, Transformer::Custom { .. }) || t.validate().is_err() {
                return None;
            }
            let reads = slots_of(&slot_of, &t.inputs())?;
            let pattern = match t {
                Transformer::String {
                    pattern: Some(p), ..
                } => Some(regex::Regex::new(p).ok()?),
                _ => None,
            };
            let at = match t {
                Transformer::Age {
                    reference: Reference::Date(d),
                    ..
                } => Some(
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .ok()?
                        .and_time(chrono::NaiveTime::MIN)
                        .and_utc()
                        .timestamp() as f64,
                ),
                _ => None,
            };
            let writes = *slot_of.entry(t.output()).or_insert_with(|| {
                slots += 1;
                slots - 1
            });
            steps.push(Step {
                transformer: t.clone(),
                reads,
                writes,
                pattern,
                at,
            });
        }
        let mut encodings = Vec::with_capacity(pipeline.encoders.len());
        for e in &pipeline.encoders {
            // A project's encoder may share a built-in's name; it goes through the frame path.
            let by_row =
                !matches!(e, FittedEncoder::Custom(_)) && BY_ROW.contains(&e.fitted().kind());
            if !by_row {
                return None;
            }
            let reads = slots_of(&slot_of, &e.columns())?;
            let (features, codes) = match e {
                FittedEncoder::OneHot(FittedOneHot {
                    categories,
                    drop_first,
                    ..
                }) => {
                    let features = encoders::categorical::one_hot_features(categories, *drop_first)
                        .map(|(c, i)| (c.to_string(), i))
                        .collect();
                    (features, None)
                }
                FittedEncoder::Unique(FittedUnique {
                    categories,
                    long_tail,
                    ..
                })
                | FittedEncoder::Token(FittedToken {
                    categories,
                    long_tail,
                    ..
                })
                | FittedEncoder::NestedUnique(FittedNestedUnique {
                    categories,
                    long_tail,
                    ..
                }) => (HashMap::new(), Some(Codes::new(categories, long_tail))),
                _ => (HashMap::new(), None),
            };
            let width = e.width();
            let written = match e {
                FittedEncoder::OneHot(_) => width,
                FittedEncoder::Unique(_) => reads.len(),
                FittedEncoder::Token(FittedToken {
                    sequence_length, ..
                })
                | FittedEncoder::NestedUnique(FittedNestedUnique {
                    sequence_length, ..
                }) => reads.len() * sequence_length,
                FittedEncoder::NestedNorm(FittedNestedNorm {
                    sequence_length, ..
                }) => *sequence_length,
                _ => 1,
            };
            if written != width {
                return None;
            }
            encodings.push(Encoding {
                encoder: e.clone(),
                reads,
                width,
                features,
                codes,
            });
        }
        let width = encodings.iter().map(|e| e.width).sum();
        Some(RowPlan {
            inputs,
            slots,
            steps,
            encodings,
            width,
        })
    }

    /// The features of every row of `rows`, as [`FittedPipeline::prepare`] would encode them
    /// from their frame; `None` where the frame path must answer instead (an input no record
    /// holds, or a value the row path does not read as the frame path would).
    pub fn encode(&self, rows: &Rows) -> Option<Matrix> {
        let columns = self
            .inputs
            .iter()
            .map(|name| rows.columns.iter().find(|(c, _)| c == name).map(|(_, v)| v))
            .collect::<Option<Vec<&Values>>>()?;
        let mut values = vec![0f32; rows.len * self.width];
        let mut cells: Vec<Cell> = Vec::with_capacity(self.slots);
        for (r, out) in values.chunks_exact_mut(self.width.max(1)).enumerate() {
            cells.clear();
            for column in &columns {
                cells.push(match column {
                    Values::Ints(v) => Cell::Int(*v.get(r)?),
                    Values::Floats(v) => Cell::Float(*v.get(r)?),
                    Values::Bools(v) => Cell::Bool(*v.get(r)?),
                    Values::Texts(v) => Cell::Text(v.get(r)?.as_deref().map(Cow::Borrowed)),
                });
            }
            cells.resize(self.slots, Cell::Float(None));
            for step in &self.steps {
                let cell = step.apply(&cells).ok()?;
                cells[step.writes] = cell;
            }
            let mut offset = 0;
            for e in &self.encodings {
                e.encode(&cells, &mut out[offset..offset + e.width]).ok()?;
                offset += e.width;
            }
        }
        Some(Matrix::dense(values, rows.len, self.width))
    }
}

/// The slots of `columns`, or `None` where one has none.
fn slots_of(slot_of: &HashMap<String, usize>, columns: &[&str]) -> Option<Vec<usize>> {
    columns.iter().map(|c| slot_of.get(*c).copied()).collect()
}

impl Step {
    /// The transformer's output for the row `cells`, as [`Transformer::compute`] gives it.
    fn apply(&self, cells: &[Cell]) -> Sure<Cell<'static>> {
        let read = |k: usize| self.reads.get(k).and_then(|s| cells.get(*s)).ok_or(Unsure);
        let first = read(0)?;
        let owned = |t: Option<Cow<str>>| Cell::Text(t.map(|t| Cow::Owned(t.into_owned())));
        Ok(match &self.transformer {
            t @ (Transformer::Log { .. }
            | Transformer::LogPlusOne { .. }
            | Transformer::Sqrt { .. }) => {
                let f = t.of_number().ok_or(Unsure)?;
                float(first.value()?.and_then(f).unwrap_or(f64::NAN))
            }
            Transformer::IsNull { .. } => {
                let missing = match first {
                    Cell::Int(v) => v.is_none(),
                    Cell::Float(v) => v.is_none_or(f64::is_nan),
                    Cell::Bool(v) => v.is_none(),
                    Cell::Text(v) => v.is_none(),
                };
                Cell::Float(Some(f64::from(u8::from(missing))))
            }
            Transformer::Map {
                values, default, ..
            } => {
                let key = first.text()?;
                let found = key
                    .and_then(|k| values.get(k.as_ref()))
                    .or(default.as_ref());
                if values.values().chain(default).all(|v| v.is_number()) {
                    Cell::Float(found.and_then(|v| v.as_f64()))
                } else {
                    Cell::Text(
                        found
                            .and_then(|v| v.as_str())
                            .map(|v| Cow::Owned(v.to_string())),
                    )
                }
            }
            Transformer::DateTime { part, .. } => {
                let t = first.seconds()?;
                float(if t.is_nan() { t } else { part.of(t) })
            }
            Transformer::Age {
                reference, unit, ..
            } => {
                let from = first.seconds()?;
                let at = match reference {
                    Reference::Now => chrono::Utc::now().timestamp_micros() as f64 / 1e6,
                    Reference::Date(_) => self.at.ok_or(Unsure)?,
                    Reference::Column(_) => read(1)?.seconds()?,
                };
                float((at - from) / unit.seconds())
            }
            Transformer::String { op, .. } => {
                let text = first.text()?;
                match (op, &self.pattern) {
                    (StringOp::Length, _) => Cell::Float(text.map(|t| t.chars().count() as f64)),
                    (StringOp::Contains, Some(re)) => {
                        Cell::Float(text.map(|t| f64::from(u8::from(re.is_match(&t)))))
                    }
                    (StringOp::Extract, Some(re)) => {
                        let extracted = text.and_then(|t| {
                            let caps = re.captures(&t)?;
                            caps.get(1)
                                .or_else(|| caps.get(0))
                                .map(|m| m.as_str().to_string())
                        });
                        Cell::Text(extracted.map(Cow::Owned))
                    }
                    (StringOp::Contains | StringOp::Extract, None) => return Err(Unsure),
                    (StringOp::Upper, _) => owned(text.map(|t| Cow::Owned(t.to_uppercase()))),
                    (StringOp::Trim, _) => owned(text.map(|t| Cow::Owned(t.trim().to_string()))),
                    (StringOp::Lower, _) => owned(text.map(|t| Cow::Owned(t.to_lowercase()))),
                }
            }
            Transformer::AreaCode { .. } => Cell::Text(
                first
                    .text()?
                    .and_then(|t| transformers::area_code(&t))
                    .map(Cow::Owned),
            ),
            Transformer::EmailDomain { .. } => {
                let text = first.text()?;
                owned(text.as_deref().and_then(transformers::email_domain))
            }
            Transformer::NameAge { .. }
            | Transformer::NameSex { .. }
            | Transformer::NamePopulation { .. } => {
                let stats = first.text()?.and_then(|t| names::lookup(&t));
                float(
                    stats
                        .and_then(|s| self.transformer.name_stat(s))
                        .unwrap_or(f64::NAN),
                )
            }
            Transformer::NameFamilial { .. } => {
                Cell::Float(first.text()?.map(|t| transformers::familial(&t)))
            }
            Transformer::Distance { .. } => {
                let mut p = [0f64; 4];
                let mut known = true;
                for (k, at) in p.iter_mut().enumerate() {
                    match read(k)?.number()? {
                        Some(x) => *at = x,
                        None => known = false,
                    }
                }
                Cell::Float(
                    known
                        .then(|| transformers::haversine_km(p[0], p[1], p[2], p[3]))
                        .flatten(),
                )
            }
            Transformer::Custom { .. } => return Err(Unsure),
        })
    }
}

impl Encoding {
    /// The encoder's features of the row `cells` into `out`, as [`FittedEncoder::encode`] gives
    /// them.
    fn encode(&self, cells: &[Cell], out: &mut [f32]) -> Sure<()> {
        let read = |k: usize| self.reads.get(k).and_then(|s| cells.get(*s)).ok_or(Unsure);
        let first = read(0)?;
        let mut put = |k: usize, v: f32| match out.get_mut(k) {
            Some(at) => {
                *at = v;
                Ok(())
            }
            None => Err(Unsure),
        };
        match &self.encoder {
            FittedEncoder::Pass(_) => put(0, first.value()?.map_or(f32::NAN, |x| x as f32)),
            FittedEncoder::Uniform(FittedUniform { min, max, .. }) => put(
                0,
                encoders::numeric::uniform_code(first.value()?, *min, *max),
            ),
            FittedEncoder::Norm(FittedNorm {
                mean,
                std,
                min,
                max,
                ..
            }) => put(
                0,
                encoders::numeric::norm_code(first.value()?, *mean, *std, *min, *max),
            ),
            FittedEncoder::Discrete(FittedDiscrete {
                min,
                max,
                bins,
                dates,
                ..
            }) => {
                let v = match dates {
                    true => first.whole_seconds()?,
                    false => first.value()?,
                };
                put(0, encoders::bins::discrete_code(v, *min, *max, *bins))
            }
            FittedEncoder::Quantile(FittedQuantile {
                boundaries,
                quantiles,
                min,
                max,
                ..
            }) => put(
                0,
                encoders::bins::quantile_code(first.value()?, boundaries, *quantiles, *min, *max),
            ),
            FittedEncoder::Boolean(_) => put(
                0,
                match first.text()?.as_deref().and_then(encoders::yes_no) {
                    Some(true) => 1.0,
                    Some(false) => 0.0,
                    None => f32::NAN,
                },
            ),
            FittedEncoder::Equals(_) => {
                let (a, b) = (first.text()?, read(1)?.text()?);
                put(
                    0,
                    match (a, b) {
                        (Some(a), Some(b)) => f32::from(u8::from(a.trim() == b.trim())),
                        _ => f32::NAN,
                    },
                )
            }
            FittedEncoder::Enum(FittedEnum { cardinality, .. }) => put(
                0,
                encoders::categorical::enum_code(first.value()?, *cardinality),
            ),
            // The row starts at zeros: only the category's feature is set.
            FittedEncoder::OneHot(_) => {
                match first
                    .text()?
                    .and_then(|t| self.features.get(t.as_ref()).copied())
                {
                    Some(i) => put(i, 1.0),
                    None => Ok(()),
                }
            }
            FittedEncoder::Unique(_) => {
                let codes = self.codes.as_ref().ok_or(Unsure)?;
                for k in 0..self.reads.len() {
                    put(k, codes.code(read(k)?.text()?.as_deref()))?;
                }
                Ok(())
            }
            FittedEncoder::Token(FittedToken {
                sequence_length, ..
            })
            | FittedEncoder::NestedUnique(FittedNestedUnique {
                sequence_length, ..
            }) => {
                let codes = self.codes.as_ref().ok_or(Unsure)?;
                for k in 0..self.reads.len() {
                    let items = match &self.encoder {
                        FittedEncoder::NestedUnique(FittedNestedUnique { separator, .. }) => {
                            read(k)?.items(separator)?
                        }
                        _ => read(k)?.text()?.map(|t| encoders::words(&t)),
                    };
                    let items = items.unwrap_or_default();
                    for i in 0..*sequence_length {
                        let code = codes.code(items.get(i).map(String::as_str));
                        put(k * sequence_length + i, code)?;
                    }
                }
                Ok(())
            }
            FittedEncoder::NestedNorm(e) => {
                let items = first
                    .items(&e.separator)?
                    .unwrap_or_default()
                    .iter()
                    .map(|item| item.parse::<f64>().map_err(|_| Unsure))
                    .collect::<Sure<Vec<f64>>>()?;
                for i in 0..e.sequence_length {
                    let item = items.get(i).copied().filter(|x| !x.is_nan());
                    put(
                        i,
                        encoders::numeric::norm_code(item, e.mean, e.std, Some(e.min), Some(e.max)),
                    )?;
                }
                Ok(())
            }
            FittedEncoder::MiddleOut(MiddleOut { depth, .. }) => {
                let (position, length) = (first.value()?, read(1)?.value()?);
                put(
                    0,
                    encoders::sequences::middle_out_code(position, length, *depth),
                )
            }
            _ => Err(Unsure),
        }
    }
}

#[cfg(test)]
mod tests;
