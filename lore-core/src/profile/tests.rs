//! Profiles of small frames, whole and in batches.

use super::*;
use crate::matrix::Csr;

fn frame() -> DataFrame {
    df! {
        "orders" => [Some(1.0), Some(2.0), None, Some(2.0), Some(5.0), Some(2.0)],
        "city" => [Some("Oslo"), Some("Rome"), Some("Oslo"), None, Some("Oslo"), Some("Lima")],
        "paid" => [true, false, true, true, false, true],
    }
    .unwrap()
}

#[test]
fn numbers_and_categories_of_a_frame() {
    let mut profiler = Profiler::default();
    profiler.update(&frame()).unwrap();
    let profile = profiler.finish();
    assert_eq!(profile.rows, 6);
    let orders = &profile.columns[0];
    assert_eq!(
        (orders.kind, orders.rows, orders.nulls),
        (Kind::Number, 6, 1)
    );
    let numbers = orders.numbers.as_ref().unwrap();
    assert_eq!((numbers.min, numbers.max, numbers.mean), (1.0, 5.0, 2.4));
    // numpy: np.std([1, 2, 2, 5, 2]).
    assert!((numbers.std - 1.356_465_996_625_053_9).abs() < 1e-12);
    assert_eq!(numbers.few, Some(vec![(1.0, 1), (2.0, 3), (5.0, 1)]));
    assert_eq!(numbers.values, Some(vec![1.0, 2.0, 2.0, 2.0, 5.0]));
    let steps = [
        (1.0, 0.0),
        (1.0, 0.2),
        (2.0, 0.2),
        (2.0, 0.8),
        (5.0, 0.8),
        (5.0, 1.0),
    ];
    assert_eq!(numbers.distribution(), steps);
    assert_eq!(numbers.quantiles.len(), 200);
    // numpy: np.quantile([1, 2, 2, 2, 5], [0.0025, 0.5025, 0.9975]).
    assert!((numbers.quantiles[0] - 1.01).abs() < 1e-12);
    assert_eq!(numbers.quantiles[100], 2.0);
    assert!((numbers.quantiles[199] - 4.97).abs() < 1e-12);
    assert_eq!(
        numbers.histogram.edges.len(),
        numbers.histogram.shares.len() + 1
    );
    assert!((numbers.histogram.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let city = &profile.columns[1];
    assert_eq!((city.kind, city.nulls), (Kind::Text, 1));
    let categories = city.categories.as_ref().unwrap();
    assert_eq!(categories.top[0], ("Oslo".to_string(), 3));
    // Ties in order of the value.
    assert_eq!(categories.top[1].0, "Lima");
    assert_eq!((categories.distinct, categories.other), (3, 0));
    assert!(categories.complete());
    let paid = &profile.columns[2];
    assert_eq!(paid.kind, Kind::Boolean);
    assert_eq!(
        paid.categories.as_ref().unwrap().top[0],
        ("true".to_string(), 4)
    );
}

#[test]
fn batches_profile_as_the_whole() {
    let df = frame();
    let mut whole = Profiler::default();
    whole.update(&df).unwrap();
    let mut batched = Profiler::default();
    batched.update(&df.slice(0, 4)).unwrap();
    batched.update(&df.slice(4, 2)).unwrap();
    let (whole, batched) = (whole.finish(), batched.finish());
    assert_eq!(whole.rows, batched.rows);
    for (a, b) in whole.columns.iter().zip(&batched.columns) {
        assert_eq!(a.categories, b.categories);
        let (a, b) = (a.numbers.as_ref(), b.numbers.as_ref());
        assert_eq!(a.map(|n| &n.quantiles), b.map(|n| &n.quantiles));
        assert_eq!(a.map(|n| &n.few), b.map(|n| &n.few));
    }
}

#[test]
fn many_values_are_sampled_and_summed_exactly() {
    let n = SAMPLE + 50_000;
    let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let df = df! { "x" => values }.unwrap();
    let mut profiler = Profiler::default();
    profiler.update(&df).unwrap();
    let numbers = profiler.finish().columns[0].numbers.clone().unwrap();
    assert_eq!((numbers.min, numbers.max), (0.0, (n - 1) as f64));
    assert!((numbers.mean - (n - 1) as f64 / 2.0).abs() < 1e-6);
    assert_eq!((numbers.few, numbers.values), (None, None));
    // The sample's median is near the middle.
    let middle = (n - 1) as f64 / 2.0;
    assert!((numbers.quantiles[100] - middle).abs() < 0.02 * n as f64);
}

#[test]
fn identifiers_are_told_from_categories() {
    let categories = |distinct| Categories {
        distinct,
        top: Vec::new(),
        other: 0,
    };
    assert!(categories(900).identifier(1_000));
    assert!(!categories(20).identifier(1_000));
    assert!(!categories(90).identifier(90));
    // More than a profile counts: an identifier whatever the rows.
    assert!(categories(100_001).identifier(10_000_000));
    // An identifier keeps only its most frequent values.
    let ids: Vec<String> = (0..300).map(|i| format!("u{i}@example.com")).collect();
    let df = df! { "email" => ids }.unwrap();
    let mut profiler = Profiler::default();
    profiler.update(&df).unwrap();
    let emails = profiler.finish().columns[0].categories.clone().unwrap();
    assert_eq!(
        (emails.distinct, emails.top.len(), emails.other),
        (300, 100, 200)
    );
}

#[test]
fn quantiles_as_numpy() {
    // np.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 1]) == [1, 1.75, 2.5, 4].
    let sorted = [1.0, 2.0, 3.0, 4.0];
    let at: Vec<f64> = [0.0, 0.25, 0.5, 1.0]
        .iter()
        .map(|p| quantile(&sorted, *p))
        .collect();
    assert_eq!(at, vec![1.0, 1.75, 2.5, 4.0]);
    assert!(quantile(&[], 0.5).is_nan());
}

#[test]
fn features_dense_and_sparse() {
    let names = vec!["a".to_string(), "b".to_string()];
    let mut dense = FeatureProfiler::new(&names);
    dense.update(&Matrix::dense(vec![1.0, f32::NAN, 3.0, 4.0], 2, 2));
    let summary = dense.finish();
    assert_eq!(
        (summary[0].present, summary[0].mean, summary[0].std),
        (2, 2.0, 1.0)
    );
    assert_eq!((summary[1].present, summary[1].missing), (1, 1));
    let mut csr = Csr::new();
    csr.indices = vec![1];
    csr.values = vec![7.0];
    csr.end_row();
    let mut sparse = FeatureProfiler::new(&names);
    sparse.update(&Matrix {
        values: Values::Sparse(csr),
        rows: 1,
        columns: 2,
    });
    let summary = sparse.finish();
    assert_eq!(
        (summary[0].present, summary[1].present, summary[1].max),
        (0, 1, 7.0)
    );
    assert!(summary[0].min.is_nan());
}

#[test]
fn scores_of_each_task() {
    let binary = scores(&[0.1, 0.9, 0.5], Task::Binary).unwrap();
    assert_eq!(binary.numbers.unwrap().max, 0.9f32 as f64);
    let multi = scores(&[0.2, 0.8, 0.6, 0.4], Task::MultiClass { classes: 2 }).unwrap();
    assert_eq!(multi.rows, 2);
    assert_eq!(multi.numbers.unwrap().min, 0.6f32 as f64);
    assert!(scores(&[0.0, 1.0, 0.5], Task::Clustering).is_none());
}
