//! Text: `String` operations (case, trim, length, a pattern's match), `AreaCode` of a phone
//! number and `EmailDomain` of an address.

use std::borrow::Cow;

use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frame;

/// The operations of [`Transformer::String`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StringOp {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// Without leading and trailing white space.
    Trim,
    /// The number of characters.
    Length,
    /// The first group of `pattern` (or its whole match); null where it does not match.
    Extract,
    /// 1 where `pattern` matches, 0 where it does not.
    Contains,
}

impl StringOp {
    pub(super) fn name(self) -> &'static str {
        match self {
            StringOp::Lower => "lower",
            StringOp::Upper => "upper",
            StringOp::Trim => "trim",
            StringOp::Length => "length",
            StringOp::Extract => "extract",
            StringOp::Contains => "contains",
        }
    }
}

/// Checks that `op` has the pattern it needs and that it compiles; `Err` says what is wrong.
pub(super) fn validate(op: StringOp, pattern: Option<&str>) -> std::result::Result<(), String> {
    match (op, pattern) {
        (StringOp::Extract | StringOp::Contains, None) => {
            Err(format!("`{}` needs a regular expression", op.name()))
        }
        (StringOp::Extract | StringOp::Contains, Some(p)) => {
            regex::Regex::new(p).map(|_| ()).map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

/// `op` (with `pattern`) on each text of `column`.
pub(super) fn string(
    df: &DataFrame,
    column: &str,
    op: StringOp,
    pattern: Option<&str>,
    by: &str,
    out: &str,
) -> Result<Column> {
    let texts = frame::text(df, column, by)?;
    let regex = match pattern {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| Error::Data(e.to_string()))?),
        None => None,
    };
    match (op, &regex) {
        (StringOp::Length, _) => {
            let values = texts
                .iter()
                .map(|t| t.map(|t| t.chars().count() as f64))
                .collect();
            Ok(frame::number_column(out, values))
        }
        (StringOp::Contains, Some(re)) => {
            let values = texts
                .iter()
                .map(|t| t.map(|t| f64::from(u8::from(re.is_match(t)))))
                .collect();
            Ok(frame::number_column(out, values))
        }
        (StringOp::Extract, Some(re)) => {
            let values = texts.iter().map(|t| {
                let caps = re.captures(t?)?;
                caps.get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_string())
            });
            Ok(frame::text_column(out, values))
        }
        _ => {
            let values = texts.iter().map(|t| {
                t.map(|t| match op {
                    StringOp::Upper => t.to_uppercase(),
                    StringOp::Trim => t.trim().to_string(),
                    _ => t.to_lowercase(),
                })
            });
            Ok(frame::text_column(out, values))
        }
    }
}

/// The area code of each phone number of `column`.
pub(super) fn area_codes(df: &DataFrame, column: &str, by: &str, out: &str) -> Result<Column> {
    let phones = frame::text(df, column, by)?;
    let values = phones.iter().map(|v| v.and_then(area_code));
    Ok(frame::text_column(out, values))
}

/// The area code of a 10-digit number, or of an 11-digit one that starts with the country code 1.
pub(crate) fn area_code(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        10 => digits.as_str(),
        11 if digits.starts_with('1') => &digits[1..],
        _ => return None,
    };
    Some(national[..3].to_string())
}

/// The domain of each address of `column`.
pub(super) fn email_domains(df: &DataFrame, column: &str, by: &str, out: &str) -> Result<Column> {
    let emails = frame::text(df, column, by)?;
    let mut domains = MutableBinaryViewArray::<str>::with_capacity(emails.len());
    for email in emails.iter() {
        match email.and_then(email_domain) {
            None => domains.push_null(),
            Some(d) => domains.push_value(d),
        }
    }
    let domains = StringChunked::with_chunk(out.into(), domains.freeze());
    Ok(domains.into_column())
}

/// The domain of one email address as [`super::Transformer::EmailDomain`] gives it: what follows the
/// last `@`, trimmed and lower-cased; `None` when there is none.
pub(crate) fn email_domain(email: &str) -> Option<Cow<'_, str>> {
    // Addresses are short: a plain scan from the end beats a general search.
    let at = email.bytes().rposition(|b| b == b'@')?;
    let d = &email[at + 1..];
    let spaced = d.starts_with(char::is_whitespace) || d.ends_with(char::is_whitespace);
    let d = Some(if spaced { d.trim() } else { d }).filter(|d| !d.is_empty())?;
    Some(
        match d.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
            true => Cow::Owned(d.to_lowercase()),
            false => Cow::Borrowed(d),
        },
    )
}
