//! Parameter checks shared by the estimators, run once before any data is read (linfa's
//! `param_guard`): each refuses a value by the parameter's path in the spec and says what to give.
//! Whole numbers are read signed, so that a negative one is refused here, by name.

use super::invalid;
use crate::error::Result;

/// `value` is one of `choices`.
pub(crate) fn one_of(key: &str, value: &str, choices: &[&str]) -> Result<()> {
    match choices.contains(&value) {
        true => Ok(()),
        false => Err(invalid(
            key,
            format!("`{value}` is not one of {}", choices.join(", ")),
        )),
    }
}

/// Each whole number is at least its `low`.
pub(crate) fn at_least(values: &[(&str, i64, i64)]) -> Result<()> {
    for &(key, v, low) in values {
        if v < low {
            return Err(invalid(
                key,
                format!("{v} is below {low}; use {low} or more"),
            ));
        }
    }
    Ok(())
}

/// The whole number is from `low` to `high`.
pub(crate) fn within(key: &str, v: i64, low: i64, high: i64) -> Result<()> {
    match (low..=high).contains(&v) {
        true => Ok(()),
        false => Err(invalid(key, format!("{v} is not from {low} to {high}"))),
    }
}

/// Each number is a share: above 0, up to 1.
pub(crate) fn shares(values: &[(&str, f64)]) -> Result<()> {
    refuse(values, |v| v > 0.0 && v <= 1.0, "is not in (0, 1]")
}

/// Each number is finite and above 0.
pub(crate) fn positive(values: &[(&str, f64)]) -> Result<()> {
    refuse(
        values,
        |v| v > 0.0 && v.is_finite(),
        "is not a number above 0",
    )
}

/// Each number is finite and 0 or more.
pub(crate) fn non_negative(values: &[(&str, f64)]) -> Result<()> {
    refuse(
        values,
        |v| v >= 0.0 && v.is_finite(),
        "is not a number of 0 or more",
    )
}

/// The first value that is not `good`, refused with `what` it is not.
fn refuse(values: &[(&str, f64)], good: impl Fn(f64) -> bool, what: &str) -> Result<()> {
    match values.iter().find(|(_, v)| !good(*v)) {
        Some((key, v)) => Err(invalid(key, format!("{v} {what}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn each_check_names_the_first_bad_parameter() {
        refused(
            one_of("kernel", "rbf", &["linear"]),
            &["estimator.kernel", "`rbf`", "linear"],
        );
        refused(
            at_least(&[("a", 1, 1), ("b", 0, 1)]),
            &["estimator.b", "below 1"],
        );
        refused(
            within("depth", 65, 1, 64),
            &["estimator.depth", "from 1 to 64"],
        );
        refused(shares(&[("s", 1.5)]), &["estimator.s", "(0, 1]"]);
        refused(positive(&[("p", 0.0)]), &["estimator.p", "above 0"]);
        refused(
            non_negative(&[("n", f64::NAN)]),
            &["estimator.n", "0 or more"],
        );
        assert!(at_least(&[("a", 1, 1)]).is_ok() && shares(&[("s", 1.0)]).is_ok());
        assert!(positive(&[("p", 1e-9)]).is_ok() && non_negative(&[("n", 0.0)]).is_ok());
    }
}
