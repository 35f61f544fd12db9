//! Whether new data still looks like a fitting's reference [`Profile`]: its quality (columns
//! gone or added, kinds changed, nulls, numbers outside the training range, categories never
//! seen, duplicate rows, too few rows) and its drift, column by column and on the model's
//! scores, each column tested as Evidently tests it by default (Kolmogorov-Smirnov, chi-squared
//! or a Z-test for a reference of 1,000 rows or fewer; the normed Wasserstein distance or
//! Jensen-Shannon above), under thresholds a [`Policy`] sets.

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::drift;
use crate::error::Result;
use crate::frame::{self, Kind};
use crate::profile::{self, ColumnProfile, Histogram, Numbers, Profile, Read};

/// A column's drift: the test, its value and whether the value means drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The test or distance used.
    pub test: Test,
    /// Its p-value or distance.
    pub value: f64,
    /// The threshold it was held to.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
}

/// One column's check.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnCheck {
    /// The column's name (`score` for the model's scores).
    pub name: String,
    /// What it held in the reference.
    pub kind: Kind,
    /// What it holds now, where that differs.
    pub now: Option<Kind>,
    /// The share of nulls in the reference.
    pub reference_nulls: f64,
    /// The share of nulls now.
    pub current_nulls: f64,
    /// The share of numbers outside the reference's range.
    pub out_of_range: Option<f64>,
    /// The share of values that are categories the reference never had.
    pub unseen: Option<f64>,
    /// The drift test, where the column is tested (not identifiers, dates or empty columns).
    pub drift: Option<Drift>,
    /// Each quality problem found, as a sentence.
    pub issues: Vec<String>,
    /// What the report draws, each bar a label with its share in the reference and now: the
    /// reference histogram's bins (by lower edge) for numbers; the reference's most frequent
    /// categories and the largest new ones for text.
    pub bars: Vec<(String, f64, f64)>,
}

impl ColumnCheck {
    /// Whether the column drifted.
    pub fn drifted(&self) -> bool {
        self.drift.as_ref().is_some_and(|d| d.drifted)
    }

    /// Whether the column drifted or failed a quality check.
    pub fn flagged(&self) -> bool {
        self.drifted() || !self.issues.is_empty()
    }
}

/// The outcome of a check.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Rows of the new data.
    pub rows: u64,
    /// Rows of the reference.
    pub reference_rows: u64,
    /// Reference columns the new data lacks.
    pub missing_columns: Vec<String>,
    /// Columns of the new data the reference did not have.
    pub extra_columns: Vec<String>,
    /// The share of the new rows that repeat an earlier row.
    pub duplicates: f64,
    /// Each reference column present in the new data.
    pub columns: Vec<ColumnCheck>,
    /// The drift of the model's scores, where both sides have them.
    pub scores: Option<ColumnCheck>,
    /// The drift of the dataset as a whole.
    pub dataset: DatasetDrift,
    /// The quality problems that fail the check, each a sentence.
    pub problems: Vec<String>,
    /// The drift that fails the check under the policy's `fail_on`, each a sentence.
    pub drifts: Vec<String>,
}

/// How many of a dataset's columns drifted, and whether that is enough to call the dataset
/// drifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// Columns tested for drift.
    pub tested: usize,
    /// Columns that drifted.
    pub drifted: usize,
    /// `drifted / tested` (0 when none was tested).
    pub share: f64,
    /// Whether `share` is at or above the policy's `drift_share`.
    pub detected: bool,
}

impl DatasetDrift {
    /// The drift of a dataset whose columns' checks are `columns`, under `policy`.
    fn of(columns: &[ColumnCheck], policy: &Policy) -> DatasetDrift {
        let tested = columns.iter().filter(|c| c.drift.is_some()).count();
        let drifted = columns.iter().filter(|c| c.drifted()).count();
        let share = match tested {
            0 => 0.0,
            _ => drifted as f64 / tested as f64,
        };
        DatasetDrift {
            tested,
            drifted,
            share,
            detected: tested > 0 && share >= policy.drift_share,
        }
    }
}

impl Report {
    /// Whether the new data passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.drifts.is_empty()
    }
}

/// Checks `current` (raw input rows, as the extract gives them) against `reference`, with the
/// model's scores of those rows where known.
pub fn check(
    reference: &Profile,
    current: &DataFrame,
    scores: Option<&[f64]>,
    policy: &Policy,
) -> Result<Report> {
    policy.validate()?;
    let present: PlHashSet<&str> = current
        .get_column_names()
        .iter()
        .map(|c| c.as_str())
        .collect();
    let known: PlHashSet<&str> = reference.columns.iter().map(|c| c.name.as_str()).collect();
    let missing_columns: Vec<String> = reference
        .columns
        .iter()
        .filter(|c| !present.contains(c.name.as_str()))
        .map(|c| c.name.clone())
        .collect();
    let extra_columns: Vec<String> = current
        .get_column_names()
        .iter()
        .filter(|c| !known.contains(c.as_str()))
        .map(|c| c.to_string())
        .collect();
    let rows = current.height() as u64;
    let columns: Vec<ColumnCheck> = reference
        .columns
        .par_iter()
        .filter(|c| present.contains(c.name.as_str()))
        .map(|c| check_column(c, current, policy))
        .collect::<Result<_>>()?;
    let scores = match (&reference.scores, scores) {
        (Some(profile), Some(values)) => {
            let values: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            Some(check_values(profile, Read::Numbers(values), rows, policy))
        }
        _ => None,
    };
    let duplicates = profile::duplicate_share(current)?;
    let dataset = DatasetDrift::of(&columns, policy);
    let (mut problems, mut drifts) = (Vec::new(), Vec::new());
    for name in &missing_columns {
        problems.push(format!("column `{name}` is missing"));
    }
    if rows < policy.min_rows {
        problems.push(format!(
            "{rows} rows, fewer than the {} the policy asks for (checks.min_rows)",
            policy.min_rows
        ));
    }
    let reference_duplicates = reference.duplicates.unwrap_or(0.0);
    if duplicates - reference_duplicates > policy.duplicates {
        problems.push(format!(
            "{:.1}% of the rows repeat an earlier row (the reference had {:.1}%; checks.duplicates \
             allows {:.1} points more)",
            100.0 * duplicates,
            100.0 * reference_duplicates,
            100.0 * policy.duplicates
        ));
    }
    for column in columns.iter().chain(&scores) {
        problems.extend(
            column
                .issues
                .iter()
                .map(|i| format!("`{}`: {i}", column.name)),
        );
        if policy.fail_on == FailOn::Column && column.drifted() {
            if let Some(d) = &column.drift {
                drifts.push(format!(
                    "`{}` drifted: {} {} {} {}",
                    column.name,
                    d.test.name(),
                    if d.test.gives_p_value() {
                        "p-value"
                    } else {
                        "distance"
                    },
                    short(d.value),
                    if d.test.gives_p_value() {
                        format!("below {}", d.threshold)
                    } else {
                        format!("at or above {}", d.threshold)
                    }
                ));
            }
        }
    }
    if policy.fail_on == FailOn::Dataset && dataset.detected {
        drifts.push(format!(
            "the dataset drifted: {} of {} columns ({:.0}%, checks.drift_share is {:.0}%)",
            dataset.drifted,
            dataset.tested,
            100.0 * dataset.share,
            100.0 * policy.drift_share
        ));
    }
    Ok(Report {
        rows,
        reference_rows: reference.rows,
        missing_columns,
        extra_columns,
        duplicates,
        columns,
        scores,
        dataset,
        problems,
        drifts,
    })
}

/// A number to four significant digits, as messages show statistics.
fn short(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// One reference column against the same column of `current`.
fn check_column(
    reference: &ColumnProfile,
    current: &DataFrame,
    policy: &Policy,
) -> Result<ColumnCheck> {
    let column = frame::column(current, &reference.name, "the check")?;
    let now = Kind::of(column);
    let rows = current.height() as u64;
    // Numbers read as text, or text as numbers, are a change of kind; a column of only nulls
    // has no kind to compare.
    let comparable = now == reference.kind
        || column.null_count() == column.len()
        || (reference.kind, now) == (Kind::Number, Kind::Boolean);
    if !comparable {
        let mut check = empty_check(reference, rows, column.null_count() as u64);
        check.now = Some(now);
        check.issues.push(format!(
            "was {} in training and is {} now",
            reference.kind.name(),
            now.name()
        ));
        return Ok(check);
    }
    let read = Read::of(current, &reference.name, reference.kind)?;
    Ok(check_values(reference, read, rows, policy))
}

/// A check with no values compared yet.
fn empty_check(reference: &ColumnProfile, rows: u64, nulls: u64) -> ColumnCheck {
    ColumnCheck {
        name: reference.name.clone(),
        kind: reference.kind,
        now: None,
        reference_nulls: share(reference.nulls, reference.rows),
        current_nulls: share(nulls, rows),
        out_of_range: None,
        unseen: None,
        drift: None,
        issues: Vec::new(),
        bars: Vec::new(),
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One reference column against the values read now from `rows` rows.
fn check_values(reference: &ColumnProfile, read: Read, rows: u64, policy: &Policy) -> ColumnCheck {
    let present = match &read {
        Read::Numbers(values) => values.len() as u64,
        Read::Texts(texts) => (texts.len() - texts.null_count()) as u64,
    };
    let mut check = empty_check(reference, rows, rows.saturating_sub(present));
    let null_change = check.current_nulls - check.reference_nulls;
    if rows > 0 && null_change.abs() > policy.null_rate {
        check.issues.push(format!(
            "{:.1}% nulls, against {:.1}% in training (checks.null_rate allows {:.1} points)",
            100.0 * check.current_nulls,
            100.0 * check.reference_nulls,
            100.0 * policy.null_rate
        ));
    }
    let dated = matches!(reference.kind, Kind::Date | Kind::Timestamp);
    match (read, &reference.numbers, &reference.categories) {
        (Read::Numbers(values), Some(numbers), _) if !values.is_empty() => {
            let outside = values
                .iter()
                .filter(|v| **v < numbers.min || **v > numbers.max)
                .count();
            let out_of_range = share(outside as u64, values.len() as u64);
            // Time moves on: dates past the training range are expected, not a fault.
            if !dated {
                check.out_of_range = Some(out_of_range);
                if out_of_range > policy.out_of_range {
                    check.issues.push(format!(
                        "{:.1}% of the values are outside the training range {} to {} \
                         (checks.out_of_range allows {:.1}%)",
                        100.0 * out_of_range,
                        numbers.min,
                        numbers.max,
                        100.0 * policy.out_of_range
                    ));
                }
                let edges = &numbers.histogram.edges;
                let now = Histogram::shares_over(edges, &values);
                check.bars = numbers
                    .histogram
                    .shares
                    .iter()
                    .zip(now)
                    .zip(edges.windows(2))
                    .map(|((before, now), edges)| (format!("{:.3}", edges[0]), *before, now))
                    .collect();
                let present = reference.rows - reference.nulls;
                check.drift = Some(number_drift(
                    &reference.name,
                    numbers,
                    present,
                    &values,
                    policy,
                ));
            }
        }
        (Read::Texts(texts), _, Some(categories)) if present > 0 => {
            let reference_present = reference.rows - reference.nulls;
            // An identifier's values are all new by nature: only its nulls and kind are checked.
            if !categories.identifier(reference_present) {
                let mut counts: PlHashMap<&str, u64> = PlHashMap::new();
                for text in texts.iter().flatten() {
                    *counts.entry(text).or_default() += 1;
                }
                let known: PlHashMap<&str, u64> = categories
                    .top
                    .iter()
                    .map(|(k, n)| (k.as_str(), *n))
                    .collect();
                let unseen: u64 = counts
                    .iter()
                    .filter(|(k, _)| !known.contains_key(*k))
                    .map(|(_, n)| n)
                    .sum();
                // Values outside the kept categories may be rare ones seen in training.
                let unseen_share =
                    (share(unseen, present) - share(categories.other, reference_present)).max(0.0);
                check.unseen = Some(unseen_share);
                if unseen_share > policy.unseen {
                    check.issues.push(format!(
                        "{:.1}% of the values are categories never seen in training \
                         (checks.unseen allows {:.1}%)",
                        100.0 * unseen_share,
                        100.0 * policy.unseen
                    ));
                }
                check.bars = bars(&categories.top, reference_present, &counts, &known, present);
                let (reference_counts, current_counts) = aligned(
                    categories.top.iter().map(|(k, n)| (k.clone(), *n)),
                    categories.other,
                    counts.into_iter().map(|(k, n)| (k.to_string(), n)),
                );
                check.drift = Some(category_drift(
                    &reference.name,
                    reference_present,
                    &reference_counts,
                    &current_counts,
                    policy,
                ));
            }
        }
        _ => {}
    }
    check
}

/// Categories to draw: the reference's 15 most frequent and up to 5 new ones with at least 1% of
/// the new values, each with its share before and now.
fn bars(
    top: &[(String, u64)],
    reference_present: u64,
    counts: &PlHashMap<&str, u64>,
    known: &PlHashMap<&str, u64>,
    present: u64,
) -> Vec<(String, f64, f64)> {
    let mut bars: Vec<(String, f64, f64)> = top
        .iter()
        .take(15)
        .map(|(k, n)| {
            let now = counts.get(k.as_str()).copied().unwrap_or(0);
            (k.clone(), share(*n, reference_present), share(now, present))
        })
        .collect();
    let mut new: Vec<(&str, u64)> = counts
        .iter()
        .filter(|(k, n)| share(**n, present) >= 0.01 && !known.contains_key(*k))
        .map(|(k, n)| (*k, *n))
        .collect();
    new.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    bars.extend(
        new.into_iter()
            .take(5)
            .map(|(k, n)| (k.to_string(), 0.0, share(n, present))),
    );
    bars
}

/// Counts of the same categories on both sides, in one order: the reference's kept categories,
/// then the new ones (each its own where the reference kept every category, else all counted
/// with the reference's rest).
fn aligned(
    reference: impl Iterator<Item = (String, u64)>,
    reference_other: u64,
    current: impl Iterator<Item = (String, u64)>,
) -> (Vec<f64>, Vec<f64>) {
    let mut order: PlHashMap<String, usize> = PlHashMap::new();
    let mut left = Vec::new();
    for (k, n) in reference {
        order.insert(k, left.len());
        left.push(n as f64);
    }
    let mut right = vec![0.0; left.len()];
    let mut rest = 0.0;
    let mut current: Vec<(String, u64)> = current.collect();
    current.sort_unstable();
    for (k, n) in current {
        match order.get(&k) {
            Some(&i) => right[i] += n as f64,
            None if reference_other == 0 => {
                left.push(0.0);
                right.push(n as f64);
            }
            None => rest += n as f64,
        }
    }
    if reference_other > 0 {
        left.push(reference_other as f64);
        right.push(rest);
    }
    (left, right)
}

/// The test Evidently picks for a column by default, from the reference's size, the column's
/// kind and how many distinct values both sides have together.
fn default_test(numeric: bool, reference_values: u64, distinct: usize, policy: &Policy) -> Test {
    let binary = if distinct > 2 {
        Test::ChiSquared
    } else {
        Test::Z
    };
    match (reference_values <= policy.small_reference, numeric) {
        (true, true) if distinct <= 5 => binary,
        (true, true) => Test::Ks,
        (true, false) => binary,
        (false, true) if distinct <= 5 => Test::JensenShannon,
        (false, true) => Test::Wasserstein,
        (false, false) => Test::JensenShannon,
    }
}

/// A column of numbers' drift.
fn number_drift(
    name: &str,
    numbers: &Numbers,
    present: u64,
    values: &[f64],
    policy: &Policy,
) -> Drift {
    // Few distinct values on both sides: tested as categories.
    let few: Option<(Vec<f64>, Vec<f64>)> = numbers.few.as_ref().and_then(|few| {
        let mut current: Vec<(String, u64)> = Vec::new();
        let mut seen: PlHashMap<u64, usize> = PlHashMap::new();
        for v in values {
            let at = *seen.entry(v.to_bits()).or_insert_with(|| {
                current.push((v.to_string(), 0));
                current.len() - 1
            });
            current[at].1 += 1;
            if current.len() > 5 {
                return None;
            }
        }
        let (left, right) = aligned(
            few.iter().map(|(v, n)| (v.to_string(), *n)),
            0,
            current.into_iter(),
        );
        (left.len() <= 5).then_some((left, right))
    });
    let distinct = few.as_ref().map_or(usize::MAX, |(l, _)| l.len());
    let test = policy
        .tests
        .get(name)
        .copied()
        .unwrap_or_else(|| default_test(true, present, distinct, policy));
    let reference_sample = || -> Vec<f64> {
        numbers
            .values
            .clone()
            .unwrap_or_else(|| numbers.quantiles.clone())
    };
    let value = match (test, &few) {
        (Test::ChiSquared | Test::Z | Test::JensenShannon, Some((left, right))) => {
            categorical_value(test, left, right)
        }
        (Test::Ks, _) | (Test::ChiSquared | Test::Z | Test::JensenShannon, None) => {
            // Tests of categories on many distinct numbers fall back to Kolmogorov-Smirnov.
            drift::kolmogorov_smirnov(&reference_sample(), values).p_value
        }
        (Test::Wasserstein, _) => {
            let distance = match &numbers.values {
                Some(kept) => drift::wasserstein(kept, values),
                None => drift::wasserstein_to_distribution(&numbers.distribution(), values),
            };
            distance / numbers.std.max(0.001)
        }
        (Test::Psi, _) => {
            let edges = &numbers.histogram.edges;
            let clamped: Vec<f64> = values
                .iter()
                .map(|v| v.clamp(numbers.min, numbers.max))
                .collect();
            drift::psi(
                &fill_zeroes(numbers.histogram.shares.clone()),
                &fill_zeroes(Histogram::shares_over(edges, &clamped)),
            )
        }
    };
    let test = match (test, &few) {
        (Test::ChiSquared | Test::Z | Test::JensenShannon, None) => Test::Ks,
        _ => test,
    };
    decide(test, value, policy)
}

/// A column of categories' drift.
fn category_drift(
    name: &str,
    present: u64,
    reference: &[f64],
    current: &[f64],
    policy: &Policy,
) -> Drift {
    let distinct = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r > 0.0 || **c > 0.0)
        .count();
    let test = match policy.tests.get(name).copied() {
        Some(Test::Ks | Test::Wasserstein) | None => default_test(false, present, distinct, policy),
        Some(test) => test,
    };
    decide(test, categorical_value(test, reference, current), policy)
}

/// The counts with every category too rare to compare on its own (fewer than 5 rows expected
/// in the smaller sample from both samples' share together: the chi-squared rule of thumb) put
/// together as one. Compared one by one, as Evidently compares them, the long tail of a column
/// such as first names reads as drift from sampling alone.
fn pool_rare(reference: &[f64], current: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (r_total, c_total) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    let smaller = r_total.min(c_total);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let (mut rare_left, mut rare_right, mut rare) = (0.0, 0.0, false);
    for (r, c) in reference.iter().zip(current) {
        if (r + c) / (r_total + c_total) * smaller < 5.0 {
            (rare_left, rare_right, rare) = (rare_left + r, rare_right + c, true);
        } else {
            left.push(*r);
            right.push(*c);
        }
    }
    if rare {
        left.push(rare_left);
        right.push(rare_right);
    }
    (left, right)
}

/// The p-value or distance of a test of categories, from both sides' counts, rare categories
/// pooled (a Z-test of two categories pools none).
fn categorical_value(test: Test, reference: &[f64], current: &[f64]) -> f64 {
    if test == Test::Z {
        return drift::two_proportions(reference, current).p_value;
    }
    let (reference, current) = pool_rare(reference, current);
    let (reference, current) = (reference.as_slice(), current.as_slice());
    let (r_total, c_total) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    match test {
        Test::ChiSquared => {
            let expected: Vec<f64> = reference.iter().map(|r| r * c_total / r_total).collect();
            drift::chi_squared(current, &expected).p_value
        }
        Test::Psi => {
            let shares = |counts: &[f64], total: f64| -> Vec<f64> {
                fill_zeroes(counts.iter().map(|n| n / total).collect())
            };
            drift::psi(&shares(reference, r_total), &shares(current, c_total))
        }
        _ => drift::jensen_shannon(reference, current),
    }
}

/// `shares` with each zero replaced as Evidently replaces it before PSI: by 0.0001, or by a
/// millionth of the smallest share where that is 0.0001 or less.
fn fill_zeroes(mut shares: Vec<f64>) -> Vec<f64> {
    let smallest = shares
        .iter()
        .copied()
        .filter(|s| *s > 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    shares
        .iter_mut()
        .filter(|s| **s == 0.0)
        .for_each(|s| *s = fill);
    shares
}

/// Whether `value` of `test` is drift under `policy`, as Evidently decides it (a
/// Kolmogorov-Smirnov p-value at the threshold is drift; other p-values must be below it).
fn decide(test: Test, value: f64, policy: &Policy) -> Drift {
    let (threshold, drifted) = if test == Test::Ks {
        (policy.p_value, value <= policy.p_value)
    } else if test.gives_p_value() {
        (policy.p_value, value < policy.p_value)
    } else {
        (policy.distance, value >= policy.distance)
    };
    Drift {
        test,
        value,
        threshold,
        drifted,
    }
}

pub mod page;
mod policy;
pub use policy::{FailOn, Policy, Test};

#[cfg(test)]
mod tests;
