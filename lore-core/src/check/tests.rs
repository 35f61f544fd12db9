//! Checks of generated rows with known changes against the profile of unchanged ones.

use super::*;
use crate::profile::Profiler;
use crate::testing::*;

/// What to change in generated rows.
#[derive(Default, Clone, Copy)]
struct Shift {
    /// Added to `amount`, in its standard deviations (about 1.7).
    mean: f64,
    /// The share of `city` that is a new city.
    new_city: f64,
    /// The share of `score` that is null.
    nulls: f64,
}

/// `n` rows: `amount` (numbers, roughly bell-shaped), `city` (five categories), `score`
/// (numbers, 2% null), `flag` (0 or 1).
fn rows(n: usize, seed: u64, shift: Shift) -> DataFrame {
    use rand::{Rng, SeedableRng};
    let mut random = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut uniform = move || random.random::<f64>();
    let cities = ["Oslo", "Rome", "Lima", "Pune", "Kyiv"];
    let (mut amount, mut city, mut score, mut flag) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let bell = (0..4).map(|_| uniform()).sum::<f64>() * 3.0;
        amount.push(bell + shift.mean * 1.732);
        let pick = uniform();
        city.push(if pick < shift.new_city {
            "Baku"
        } else {
            cities[((uniform() * uniform()).sqrt() * 5.0) as usize]
        });
        let s = uniform() * 100.0;
        score.push((uniform() >= 0.02 && uniform() >= shift.nulls).then_some(s));
        flag.push(if uniform() < 0.3 { 1.0 } else { 0.0 });
    }
    df! {"amount" => amount, "city" => city, "score" => score, "flag" => flag}.unwrap()
}

fn profile_of(df: &DataFrame) -> Profile {
    let mut profiler = Profiler::default();
    profiler.update(df).unwrap();
    let mut profile = profiler.finish();
    profile.duplicates = Some(profile::duplicate_share(df).unwrap());
    profile
}

fn flagged(report: &Report) -> Vec<&str> {
    report
        .columns
        .iter()
        .filter(|c| c.flagged())
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn unchanged_rows_pass_and_known_shifts_are_flagged_exactly() {
    for (n, numbers, categories) in [
        (20_000, Test::Wasserstein, Test::JensenShannon),
        (800, Test::Ks, Test::ChiSquared),
    ] {
        let reference = profile_of(&rows(n, 1, Shift::default()));
        let policy = Policy::default();
        let same = check(&reference, &rows(n, 2, Shift::default()), None, &policy).unwrap();
        assert!(
            same.passed(),
            "{n} rows: {:?} {:?}",
            same.problems,
            same.drifts
        );
        assert_eq!(flagged(&same), Vec::<&str>::new());
        assert_eq!((same.dataset.drifted, same.dataset.tested), (0, 4));
        let amount = &same.columns[0];
        assert_eq!(amount.drift.as_ref().unwrap().test, numbers);
        assert_eq!(same.columns[1].drift.as_ref().unwrap().test, categories);
        // Two values: a Z-test for a small reference, Jensen-Shannon for a large one.
        let flag = same.columns[3].drift.as_ref().unwrap().test;
        assert_eq!(
            flag,
            if n > 1_000 {
                Test::JensenShannon
            } else {
                Test::Z
            }
        );

        let shift = Shift {
            mean: 0.5,
            new_city: 0.2,
            nulls: 0.3,
        };
        let shifted = check(&reference, &rows(n, 3, shift), None, &policy).unwrap();
        assert_eq!(flagged(&shifted), ["amount", "city", "score"], "{n} rows");
        assert!(!shifted.passed());
        assert!(shifted.columns[0].drifted() && shifted.columns[1].drifted());
        assert!(shifted.columns[1].unseen.unwrap() > 0.15);
        holds(
            &shifted.problems.join("\n"),
            &["`score`", "nulls", "`city`", "never seen"],
        );
        assert!(shifted.dataset.detected, "2 of 4 columns is half");
    }
}

#[test]
fn a_column_gone_a_kind_changed_and_no_rows_are_problems() {
    let df = rows(500, 1, Shift::default());
    let reference = profile_of(&df);
    let mut current = rows(500, 2, Shift::default());
    current = current.drop("score").unwrap();
    let texts: Vec<String> = (0..500).map(|i| format!("n{i}")).collect();
    current
        .replace("flag", Column::new("flag".into(), texts))
        .unwrap();
    current
        .with_column(Column::new("extra".into(), vec![1.0; 500]))
        .unwrap();
    let report = check(&reference, &current, None, &Policy::default()).unwrap();
    assert_eq!(report.missing_columns, ["score"]);
    assert_eq!(report.extra_columns, ["extra"]);
    let problems = report.problems.join("\n");
    holds(
        &problems,
        &[
            "column `score` is missing",
            "`flag`: was number in training and is text now",
        ],
    );
    let empty = check(&reference, &df.head(Some(0)), None, &Policy::default()).unwrap();
    holds(&empty.problems.join("\n"), &["0 rows, fewer than the 1"]);
}

#[test]
fn duplicate_rows_beyond_the_reference_fail() {
    let df = rows(400, 1, Shift::default());
    let reference = profile_of(&df);
    let repeated = df.head(Some(100)).vstack(&df.head(Some(100))).unwrap();
    let repeated = repeated.vstack(&df.head(Some(100))).unwrap();
    let report = check(&reference, &repeated, None, &Policy::default()).unwrap();
    assert!((report.duplicates - 2.0 / 3.0).abs() < 1e-12);
    holds(
        &report.problems.join("\n"),
        &["66.7% of the rows repeat an earlier row"],
    );
}

#[test]
fn scores_are_tested_and_the_policy_chooses_tests_and_what_fails() {
    let df = rows(5_000, 1, Shift::default());
    let mut reference = profile_of(&df);
    let scores: Vec<f32> = (0..2_000).map(|i| (i % 100) as f32 / 100.0).collect();
    reference.scores = profile::scores(&scores, crate::encoders::Task::Binary);
    let moved: Vec<f64> = (0..5_000).map(|i| 0.5 + (i % 50) as f64 / 100.0).collect();
    let mut policy = Policy::default();
    policy.tests.insert("amount".into(), Test::Psi);
    let current = rows(
        5_000,
        2,
        Shift {
            mean: 1.0,
            ..Shift::default()
        },
    );
    let report = check(&reference, &current, Some(&moved), &policy).unwrap();
    let score = report.scores.as_ref().unwrap();
    assert!(score.drifted(), "{score:?}");
    assert_eq!(report.columns[0].drift.as_ref().unwrap().test, Test::Psi);
    assert!(report.columns[0].drifted());
    holds(
        &report.drifts.join("\n"),
        &["`amount` drifted: psi distance", "`score` drifted"],
    );
    policy.fail_on = FailOn::Dataset;
    let report = check(&reference, &current, Some(&moved), &policy).unwrap();
    assert!(
        report.passed(),
        "one drifted column of four is no dataset drift: {:?}",
        report.problems
    );
    policy.drift_share = 0.25;
    let report = check(&reference, &current, Some(&moved), &policy).unwrap();
    holds(
        &report.drifts.join("\n"),
        &["the dataset drifted: 1 of 4 columns"],
    );
}

#[test]
fn thresholds_out_of_range_are_refused_by_key() {
    let policy = Policy {
        p_value: 2.0,
        ..Policy::default()
    };
    refused(
        policy.validate(),
        &["checks.p_value", "2 is not between 0 and 1"],
    );
    refused(
        "t-test".parse::<Test>(),
        &["checks.tests", "`t-test` is not a drift test", "ks"],
    );
    let parsed: Policy = toml::from_str("distance = 0.2\n[tests]\namount = \"psi\"\n").unwrap();
    assert_eq!((parsed.distance, parsed.tests["amount"]), (0.2, Test::Psi));
    assert!(toml::from_str::<Policy>("treshold = 1").is_err());
}

#[test]
fn rare_categories_are_compared_together() {
    // 100 rows a side: a category needs 5% of both together to stand alone.
    let (left, right) = pool_rare(&[60.0, 36.0, 2.0, 2.0], &[58.0, 36.0, 3.0, 3.0]);
    assert_eq!(
        (left, right),
        (vec![60.0, 36.0, 4.0], vec![58.0, 36.0, 6.0])
    );
    let (left, right) = pool_rare(&[50.0, 50.0], &[40.0, 60.0]);
    assert_eq!((left, right), (vec![50.0, 50.0], vec![40.0, 60.0]));
}

#[test]
fn categories_line_up_with_new_ones_kept_apart_or_in_the_rest() {
    let reference = || [("a".to_string(), 5), ("b".to_string(), 3)].into_iter();
    let current = || [("b".to_string(), 1), ("c".to_string(), 4)].into_iter();
    assert_eq!(
        aligned(reference(), 0, current()),
        (vec![5.0, 3.0, 0.0], vec![0.0, 1.0, 4.0])
    );
    assert_eq!(
        aligned(reference(), 2, current()),
        (vec![5.0, 3.0, 2.0], vec![0.0, 1.0, 4.0])
    );
}
