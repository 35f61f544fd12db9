//! Yes/no features: a column of yes/no values (`Boolean`), or whether two columns agree
//! (`Equals`).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, Checks, Fitted, Learner, Spec, Start};
use crate::encoders::Encoder;
use crate::error::Result;
use crate::frame;

/// Recognises yes/no text: `Some(true)` for 1, true, t, yes, y; `Some(false)` for 0, false, f,
/// no, n; `None` for anything else.
pub fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "t" | "yes" | "y" => Some(true),
        "0" | "0.0" | "false" | "f" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// `Spec` and `Fitted` for a yes/no feature that learns nothing (so it is its own fitted form):
/// codes 1 and 0, NaN where it cannot tell, read back as true and false; the type's own `flags`
/// gives each row's code.
macro_rules! yes_no_feature {
    ($t:ty) => {
        impl Spec for $t {
            fn learner(&self, _start: &Start<'_>) -> Result<Box<dyn Learner>> {
                Checks::boxed(self.clone(), false)
            }
        }

        impl Fitted for $t {
            fn cardinality(&self) -> Option<usize> {
                Some(2)
            }

            fn decode(&self, value: f32) -> Option<String> {
                Some((value as usize == 1).to_string())
            }

            fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
                self.flags(df, by)
            }
        }
    };
}

/// Yes/no values (true/false, 1/0, yes/no, t/f, y/n) as 1 and 0, NaN for null or anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boolean {
    /// The column.
    pub column: String,
}

reads!("Boolean": Boolean);

yes_no_feature!(Boolean);

impl Boolean {
    /// Each row's 1 (yes), 0 (no) or NaN (null or anything else).
    fn flags(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        Ok(frame::text(df, &self.column, by)?
            .iter()
            .map(|v| match v.and_then(yes_no) {
                Some(true) => 1.0,
                Some(false) => 0.0,
                None => f32::NAN,
            })
            .collect())
    }
}

/// 1 where two columns hold the same value, 0 where they differ, NaN where either is null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equals {
    /// The first column.
    pub column: String,
    /// The column to compare it with.
    pub other: String,
}

reads!("Equals": Equals; column, other);

yes_no_feature!(Equals);

impl Equals {
    /// Each row's 1 (the columns agree), 0 (they differ) or NaN (either is null).
    fn flags(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let a = frame::text(df, &self.column, by)?;
        let b = frame::text(df, &self.other, by)?;
        Ok(a.iter()
            .zip(b.iter())
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => f32::from(u8::from(a.trim() == b.trim())),
                _ => f32::NAN,
            })
            .collect())
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Boolean` of `column`.
    pub fn boolean(column: impl Into<String>) -> Encoder {
        Boolean {
            column: column.into(),
        }
        .into()
    }

    /// `Equals` of `column` and `other`.
    pub fn equals(column: impl Into<String>, other: impl Into<String>) -> Encoder {
        Equals {
            column: column.into(),
            other: other.into(),
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, fit, same};
    use crate::testing::*;

    #[test]
    fn boolean_reads_yes_no_in_its_many_spellings() {
        let df = df!("b" => [Some("Yes"), Some("0"), Some("true"), Some("maybe"), None]).unwrap();
        let f = fit(Encoder::boolean("b"), &df);
        let v = codes(&f, &df);
        assert!(same(&v, &[1.0, 0.0, 1.0, f32::NAN, f32::NAN]), "{v:?}");
        let bools = df!("b" => [Some(true), Some(false), None]).unwrap();
        assert!(same(&codes(&f, &bools), &[1.0, 0.0, f32::NAN]));
    }

    #[test]
    fn equals_compares_two_columns() {
        let e = Encoder::equals("city", "home");
        assert_eq!(e.feature(), "Equals(city, home)");
        let df = df!(
            "city" => [Some("Oslo"), Some("Rome"), None],
            "home" => [Some("Oslo"), Some("Paris"), Some("Rome")]
        )
        .unwrap();
        let f = fit(e, &df);
        assert!(same(&codes(&f, &df), &[1.0, 0.0, f32::NAN]));
        let missing = df!("city" => ["Oslo"]).unwrap();
        refused(f.encode(&missing), &["`home`"]);
    }
}
