//! The one contract every encoder keeps, built-in or the project's own: a spec checks its
//! parameters and starts a [`Learner`]; the learner reads training rows (at once or in batches)
//! and finishes into a [`Fitted`] encoder, which is saved with the fitting and encodes rows
//! unchanged at prediction time.

use std::fmt;

use polars::prelude::*;

use crate::encoders::{FittedEncoder, FittedOutput, OutputEncoder};
use crate::error::{Error, Result};
use crate::matrix::Csr;

/// What a spec is given to start learning: who it is in errors and what the model predicts.
pub struct Start<'a> {
    /// How errors name it: `encoder Unique(city)`.
    pub by: &'a str,
    /// The model's output, for encoders that learn from the labels.
    pub output: &'a OutputEncoder,
}

impl Start<'_> {
    /// `n` when it is at least 1, else an error naming the parameter `key`.
    pub fn at_least_one(&self, key: &str, n: usize) -> Result<usize> {
        if n == 0 {
            Err(Error::InvalidParam {
                key: format!("{}.{key}", self.by),
                message: "must be at least 1".into(),
            })
        } else {
            Ok(n)
        }
    }
}

/// What an encoder's spec and its fitted form share: the name and the columns it reads.
pub trait Reads {
    /// The name specs give it by `type`, such as `Unique` (a custom encoder's registered name).
    fn kind(&self) -> &str;

    /// Every column it reads, its own first.
    fn columns(&self) -> Vec<&str>;
}

/// Implements [`Reads`] for an encoder's spec and fitted types, named `$kind` (or `named by` one
/// of their fields): they read the field `column`, or the fields listed after `;`, or with
/// `; twin` the `column` and the optional `twin` coded over the same vocabulary.
macro_rules! reads {
    (named by $name:ident: $($t:ty),+) => {$(
        impl $crate::encoders::contract::Reads for $t {
            fn kind(&self) -> &str {
                &self.$name
            }

            fn columns(&self) -> Vec<&str> {
                vec![&self.column]
            }
        })+
    };
    ($kind:literal: $($t:ty),+) => {
        $crate::encoders::contract::reads!(@each $kind, [$($t),+], (|e| vec![&e.column]));
    };
    ($kind:literal: $($t:ty),+; twin) => {
        $crate::encoders::contract::reads!(@each $kind, [$($t),+], (|e| {
            $crate::encoders::contract::with_twin(&e.column, &e.twin)
        }));
    };
    ($kind:literal: $($t:ty),+; $($field:ident),+) => {
        $crate::encoders::contract::reads!(@each $kind, [$($t),+], (|e| vec![$(&e.$field),+]));
    };
    (@each $kind:literal, [$($t:ty),+], $columns:tt) => {
        $($crate::encoders::contract::reads!(@one $kind, $t, $columns);)+
    };
    (@one $kind:literal, $t:ty, (|$e:ident| $columns:expr)) => {
        impl $crate::encoders::contract::Reads for $t {
            fn kind(&self) -> &str {
                $kind
            }

            fn columns(&self) -> Vec<&str> {
                let $e = self;
                $columns
            }
        }
    };
}
pub(crate) use reads;

/// An encoder as a spec names it: its columns and parameters, before it has seen data.
pub trait Spec: Reads + fmt::Debug + Send + Sync {
    /// Checks the parameters (before any data is read) and gives an empty learner.
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>>;
}

/// What an encoder has learned so far from training rows.
pub trait Learner: fmt::Debug + Send {
    /// Whether it reads a subset of a frame's rows in place; otherwise it is given a copy of
    /// those rows.
    fn in_place(&self) -> bool {
        false
    }

    /// Learns from the rows `rows` of `df` (every row when `None`): called once for a whole
    /// read, once per batch for a streamed one, always with the training rows in the same order.
    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()>;

    /// The fitted encoder, given the fitted output (the classes, for encoders of labels).
    fn finish(self: Box<Self>, output: &FittedOutput) -> Result<FittedEncoder>;
}

/// An encoder with what it learned: what it makes of a column, saved in every fitting.
pub trait Fitted: Reads + fmt::Debug + Send + Sync {
    /// How many features it makes.
    fn width(&self) -> usize {
        1
    }

    /// The names of its features, in order: `Norm(x)`, `OneHot(city)=Oslo`, `Token(text)[0]`.
    fn features(&self) -> Vec<String> {
        match self.width() {
            1 => vec![stem(self.kind(), &self.columns())],
            width => positions(self.kind(), &self.columns(), width),
        }
    }

    /// How many integer codes each of its features takes, or `None` for floats.
    fn cardinality(&self) -> Option<usize> {
        None
    }

    /// The readable value behind a code or a float (never NaN here), where it can tell: by
    /// default the float itself.
    fn decode(&self, value: f32) -> Option<String> {
        Some(value.to_string())
    }

    /// Every row of `df`, [`Fitted::width`] values a row, row after row; floats are NaN where a
    /// value is missing, codes follow [`Fitted::cardinality`].
    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>>;

    /// Training rows as the estimator learns from them, `first` the position of `df`'s first
    /// row among all training rows (in the order they were learned from). The same as
    /// [`Fitted::encode`] except for encoders of labels, whose training codes must not hold the
    /// row's own label.
    fn encode_training(&self, df: &DataFrame, first: u64, by: &str) -> Result<Vec<f32>> {
        let _ = first;
        self.encode(df, by)
    }

    /// Whether [`Fitted::encode_training`] differs from [`Fitted::encode`], so training rows must
    /// be encoded on their own, in the order they were learned from.
    fn codes_training_apart(&self) -> bool {
        false
    }

    /// Whether its features are sparse (most entries absent): estimators then get a sparse
    /// matrix, built with [`Fitted::encode_sparse`].
    fn is_sparse(&self) -> bool {
        false
    }

    /// Its features as sparse rows where it [`Fitted::is_sparse`]; `None` for dense encoders.
    fn encode_sparse(&self, df: &DataFrame, by: &str) -> Result<Option<Csr>> {
        let _ = (df, by);
        Ok(None)
    }
}

/// `Kind(a, b)`: the name of an encoder's one feature, the stem of its features' names.
pub fn stem(kind: &str, columns: &[&str]) -> String {
    format!("{kind}({})", columns.join(", "))
}

/// The columns of an encoder of `column` and, optionally, its twin coded over the same
/// vocabulary.
pub fn with_twin<'a>(column: &'a String, twin: &'a Option<String>) -> Vec<&'a str> {
    std::iter::once(column)
        .chain(twin)
        .map(String::as_str)
        .collect()
}

/// `Kind(c)[0]`, `Kind(c)[1]`, ...: `length` features per column, column after column.
pub fn positions(kind: &str, columns: &[&str], length: usize) -> Vec<String> {
    columns
        .iter()
        .flat_map(|c| (0..length).map(move |i| format!("{kind}({c})[{i}]")))
        .collect()
}

/// A learner of an encoder that learns nothing: it only checks that its columns are there.
#[derive(Debug)]
pub struct Checks {
    /// The columns to check.
    pub columns: Vec<String>,
    /// Whether the first column must hold numbers.
    pub numbers: bool,
    /// The fitted encoder it finishes as.
    pub fitted: FittedEncoder,
}

impl Checks {
    /// A learner that checks the columns `fitted` reads (the first holding numbers when
    /// `numbers`) and finishes as `fitted`: for encoders that learn nothing from the rows.
    pub fn boxed(fitted: impl Into<FittedEncoder>, numbers: bool) -> Result<Box<dyn Learner>> {
        let fitted = fitted.into();
        let columns = fitted.columns().iter().map(|c| c.to_string()).collect();
        Ok(Box::new(Checks {
            columns,
            numbers,
            fitted,
        }))
    }
}

impl Learner for Checks {
    fn in_place(&self) -> bool {
        true
    }

    fn learn(&mut self, df: &DataFrame, _rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        for c in &self.columns {
            crate::frame::column(df, c, by)?;
        }
        if let (true, Some(first)) = (self.numbers, self.columns.first()) {
            crate::frame::numbers(df, first, by)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _output: &FittedOutput) -> Result<FittedEncoder> {
        Ok(self.fitted)
    }
}
