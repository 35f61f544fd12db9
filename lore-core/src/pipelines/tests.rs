//! What pipelines promise: splits that are seeded, disjoint and complete; encoders that learn
//! from the training rows only; encodings that survive the cache.

use super::*;
use crate::pipelines::cache::PIPELINE_COLUMN;
use crate::testing::*;

fn rows(n: usize) -> DataFrame {
    let ids: Vec<i64> = (0..n as i64).map(|i| i / 4).collect();
    let labels: Vec<i64> = (0..n as i64).map(|i| i64::from(i % 10 < 2)).collect();
    let days: Vec<String> = (0..n)
        .map(|i| format!("2018-01-01 00:00:{:02}", (n - 1 - i) % 60))
        .collect();
    df!("user" => ids, "y" => labels, "at" => days, "n" => (0..n as i64).rev().collect::<Vec<_>>())
        .unwrap()
}

fn y() -> OutputEncoder {
    OutputEncoder::Boolean { column: "y".into() }
}

fn every_row_once(s: &Splits, n: usize) {
    let mut all: Vec<IdxSize> = s
        .train
        .iter()
        .chain(&s.validation)
        .chain(&s.test)
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..n as IdxSize).collect::<Vec<_>>());
}

#[test]
fn holdout_is_seeded_disjoint_and_complete() {
    let split = Split::holdout(0.1, 0.2, 7);
    let df = rows(1000);
    let a = split.rows(&df, &y()).unwrap();
    assert_eq!(a, split.rows(&df, &y()).unwrap());
    assert_eq!(
        (a.train.len(), a.validation.len(), a.test.len()),
        (700, 100, 200)
    );
    every_row_once(&a, 1000);
    let other = Split::holdout(0.1, 0.2, 8).rows(&df, &y()).unwrap();
    assert_ne!(a.test, other.test);
}

#[test]
fn a_stratify_column_keeps_each_value_on_one_side() {
    let split = Split::Holdout {
        validation: 0.1,
        test: 0.2,
        seed: 3,
        stratify: Some("user".into()),
        stratify_labels: false,
        subsample: None,
    };
    let df = rows(1000);
    let s = split.rows(&df, &y()).unwrap();
    every_row_once(&s, 1000);
    let users = |rows: &[IdxSize]| -> std::collections::BTreeSet<IdxSize> {
        rows.iter().map(|r| r / 4).collect()
    };
    assert!(users(&s.train).is_disjoint(&users(&s.test)));
    assert!(users(&s.train).is_disjoint(&users(&s.validation)));
    assert_eq!(s.test.len(), 200);
    let streamed = split.assign_batch(&df, 0).unwrap();
    for (r, k) in streamed.iter().enumerate() {
        assert_eq!(*k, streamed[r - r % 4], "row {r} left its user's split");
    }
}

#[test]
fn label_stratification_keeps_the_class_balance_in_every_split() {
    let mut split = Split::holdout(0.1, 0.2, 5);
    if let Split::Holdout {
        stratify_labels, ..
    } = &mut split
    {
        *stratify_labels = true;
    }
    let df = rows(1000);
    let s = split.rows(&df, &y()).unwrap();
    every_row_once(&s, 1000);
    let positives = |rows: &[IdxSize]| rows.iter().filter(|r| *r % 10 < 2).count();
    assert_eq!((positives(&s.test), s.test.len()), (40, 200));
    assert_eq!((positives(&s.validation), s.validation.len()), (20, 100));
}

#[test]
fn subsample_keeps_that_many_rows_and_needs_the_whole_extract() {
    let mut split = Split::holdout(0.1, 0.1, 5);
    if let Split::Holdout { subsample, .. } = &mut split {
        *subsample = Some(100);
    }
    let s = split.rows(&rows(1000), &y()).unwrap();
    assert_eq!(s.train.len() + s.validation.len() + s.test.len(), 100);
    refused(
        split.assign_batch(&rows(10), 0),
        &["split.subsample", "LIMIT"],
    );
}

#[test]
fn streamed_rows_are_assigned_by_seed_in_their_shares() {
    let split = Split::holdout(0.1, 0.2, 7);
    let df = df!("x" => vec![0i64; 100_000]).unwrap();
    let assigned = split.assign_batch(&df, 0).unwrap();
    assert_eq!(assigned, split.assign_batch(&df, 0).unwrap());
    let counts = assigned.iter().fold([0usize; 3], |mut c, k| {
        c[*k as usize] += 1;
        c
    });
    assert!((69_000..71_000).contains(&counts[0]), "{counts:?}");
    assert!((9_500..10_500).contains(&counts[1]), "{counts:?}");
    assert!((19_500..20_500).contains(&counts[2]), "{counts:?}");
    let later = split.assign_batch(&df.slice(0, 10), 50_000).unwrap();
    assert_eq!(later, assigned[50_000..50_010].to_vec());
}

#[test]
fn time_series_tests_on_the_newest_rows() {
    let split = Split::TimeSeries {
        column: "n".into(),
        validation: 0.1,
        test: 0.2,
    };
    let s = split.rows(&rows(100), &y()).unwrap();
    every_row_once(&s, 100);
    // Column n counts down, so the newest rows are the first ones.
    assert!(s.test.iter().all(|r| *r < 20), "{:?}", s.test);
    assert!(s.validation.iter().all(|r| (20..30).contains(r)));
    let by_time = Split::TimeSeries {
        column: "at".into(),
        validation: 0.0,
        test: 0.5,
    }
    .rows(&rows(60), &y())
    .unwrap();
    assert!(by_time.test.iter().all(|r| *r < 30), "{:?}", by_time.test);
    refused(
        split.assign_batch(&rows(10), 0),
        &["TimeSeries", "batch_rows"],
    );
}

#[test]
fn bad_shares_are_refused() {
    refused(
        Split::holdout(0.6, 0.5, 1).rows(&rows(10), &y()),
        &["no rows to train"],
    );
    refused(
        Split::holdout(0.1, 1.5, 1).assign_batch(&rows(10), 0),
        &["split.test", "1.5"],
    );
}

#[test]
fn inputs_exclude_derived_columns_and_prepare_names_missing_ones() {
    let spec = PipelineSpec {
        extract: ExtractSpec::new("t"),
        transformers: vec![Transformer::LogPlusOne {
            column: "orders".into(),
        }],
        split: Split::holdout(0.0, 0.0, 1),
        encoders: vec![
            Encoder::Norm(crate::encoders::numeric::Norm {
                column: "LogPlusOne(orders)".into(),
            }),
            Encoder::unique("city", 1),
        ],
        output: OutputEncoder::Boolean { column: "y".into() },
    };
    let mut df = df!("orders" => [1i64, 2], "city" => ["a", "b"], "y" => [0, 1]).unwrap();
    spec.transform(&mut df).unwrap();
    let fitted = spec.fit(&df).unwrap();
    assert_eq!(fitted.inputs(), vec!["orders", "city"]);
    let m = fitted
        .prepare(df!("orders" => [3i64], "city" => ["b"]).unwrap(), "test")
        .unwrap();
    assert_eq!((m.rows, m.columns), (1, 2));
    refused(
        fitted.prepare(df!("orders" => [3i64]).unwrap(), "x.csv"),
        &["`city`", "x.csv"],
    );
}

#[test]
fn encoders_learn_only_from_the_training_split() {
    let spec = PipelineSpec {
        extract: ExtractSpec::new("t"),
        transformers: vec![],
        split: Split::holdout(0.2, 0.2, 7),
        encoders: vec![
            Encoder::unique("city", 1),
            Encoder::Uniform(crate::encoders::numeric::Uniform { column: "n".into() }),
        ],
        output: OutputEncoder::Boolean { column: "y".into() },
    };
    // Every even row shares a city; every odd row has a city of its own.
    let cities: Vec<String> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                "Oslo".into()
            } else {
                format!("city-{i}")
            }
        })
        .collect();
    let df = df!("city" => cities.clone(), "n" => (0..200i64).collect::<Vec<_>>(), "y" => [0i64, 1].repeat(100))
        .unwrap();
    let splits = spec.split.rows(&df, &spec.output).unwrap();
    let train = df
        .take(&IdxCa::from_vec("".into(), splits.train.clone()))
        .unwrap();
    let test = df
        .take(&IdxCa::from_vec("".into(), splits.test.clone()))
        .unwrap();
    let fitted = spec.fit(&train).unwrap();
    let Values::Dense(encoded) = fitted.encode(&test).unwrap().values else {
        panic!("no encoder here is sparse")
    };
    let seen: Vec<&String> = splits.train.iter().map(|r| &cities[*r as usize]).collect();
    let mut unseen = 0;
    for (i, row) in splits.test.iter().enumerate() {
        let city = &cities[*row as usize];
        let decoded = fitted.encoders[0].decode(encoded[i * 2]);
        if seen.contains(&city) {
            assert_eq!(decoded.as_ref(), Some(city));
        } else {
            assert_eq!(decoded.as_deref(), Some("(unseen)"), "{city}");
            unseen += 1;
        }
    }
    assert!(unseen > 0);
    // The range of `n` is the training rows' range: the largest test value may lie beyond it.
    let FittedEncoder::Uniform(crate::encoders::numeric::FittedUniform { min, max, .. }) =
        &fitted.encoders[1]
    else {
        panic!("{:?}", fitted.encoders[1])
    };
    let train_n: Vec<f64> = splits.train.iter().map(|r| f64::from(*r)).collect();
    assert_eq!(*min, train_n.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(
        *max,
        train_n.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    );
    assert_eq!(
        fitted.cardinalities(),
        vec![Some(fitted.encoders[0].cardinality().unwrap_or(0)), None]
    );
}

#[test]
fn a_sparse_encoder_makes_the_whole_matrix_sparse_keeping_dense_zeros() {
    let spec = PipelineSpec {
        extract: ExtractSpec::new("t"),
        transformers: vec![],
        split: Split::holdout(0.0, 0.0, 1),
        encoders: vec![
            Encoder::Pass(crate::encoders::numeric::Pass { column: "n".into() }),
            Encoder::Text(crate::encoders::text::Text {
                column: "t".into(),
                vectorizer: crate::encoders::Vectorizer::Tfidf,
                max_features: 10,
                minimum_occurrences: 1,
                ngrams: 1,
            }),
        ],
        output: OutputEncoder::Boolean { column: "y".into() },
    };
    let df = df!("n" => [Some(0.0), None], "t" => ["hi", "yo"], "y" => [0, 1]).unwrap();
    let fitted = spec.fit(&df).unwrap();
    let m = fitted.encode(&df).unwrap();
    assert_eq!((m.rows, m.columns), (2, 3));
    let Values::Sparse(csr) = m.values else {
        panic!("{m:?}")
    };
    // Row 0: n = 0 kept (a real zero), "hi" at 1 + its index; row 1: n missing, "yo".
    assert_eq!(csr.indptr, vec![0, 2, 3]);
    assert_eq!(csr.values[0], 0.0);
    assert_eq!(csr.indices[0], 0);
    assert!(csr.indices[1] >= 1 && csr.indices[2] >= 1 && csr.indices[1] != csr.indices[2]);
}

/// Whether two matrices hold the same values, bit for bit (NaN included).
fn same(a: &Matrix, b: &Matrix) -> bool {
    let bits = |m: &Matrix| match &m.values {
        Values::Dense(v) => v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        Values::Sparse(c) => c.values.iter().map(|x| x.to_bits()).collect(),
    };
    (a.rows, a.columns, bits(a)) == (b.rows, b.columns, bits(b))
}

/// A frame with numbers (with nulls), text categories, sentences and labels, and a spec
/// with one encoder of each way of learning.
fn mixed(n: usize) -> (PipelineSpec, DataFrame) {
    let spec = PipelineSpec {
        extract: ExtractSpec::new("t"),
        transformers: vec![Transformer::LogPlusOne { column: "n".into() }],
        split: Split::holdout(0.2, 0.1, 3),
        encoders: vec![
            Encoder::unique("city", 2),
            Encoder::norm("LogPlusOne(n)"),
            Encoder::discrete("n", 4),
            Encoder::quantile("x", 3),
            Encoder::Pass(crate::encoders::numeric::Pass { column: "x".into() }),
            Encoder::token("words", 2),
        ],
        output: OutputEncoder::Boolean { column: "y".into() },
    };
    let df = df!(
        "city" => (0..n).map(|i| (i % 7 != 0).then(|| format!("c{}", i % 5))).collect::<Vec<_>>(),
        "n" => (0..n as i64).map(|i| (i % 11 != 0).then_some(i)).collect::<Vec<_>>(),
        "x" => (0..n).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(),
        "words" => (0..n).map(|i| format!("w{} and w{}", i % 3, i % 4)).collect::<Vec<_>>(),
        "y" => (0..n as i64).map(|i| i % 3 % 2).collect::<Vec<_>>()
    )
    .unwrap();
    (spec, df)
}

#[test]
fn fitting_in_place_gives_what_fitting_on_copied_training_rows_gives() {
    let (spec, df) = mixed(500);
    let encoded = spec
        .fit_encode(df.clone(), &mut Timings::default())
        .unwrap();
    let mut transformed = df;
    spec.transform(&mut transformed).unwrap();
    let splits = spec.split.rows(&transformed, &spec.output).unwrap();
    let part = |rows: &[IdxSize]| {
        transformed
            .take(&IdxCa::from_vec("".into(), rows.to_vec()))
            .unwrap()
    };
    let copied = spec.fit(&part(&splits.train)).unwrap();
    assert_eq!(encoded.pipeline, copied);
    for (k, rows) in [&splits.train, &splits.validation, &splits.test]
        .into_iter()
        .enumerate()
    {
        assert!(
            same(&encoded.x[k], &copied.encode(&part(rows)).unwrap()),
            "split {k}"
        );
        assert_eq!(encoded.y[k], copied.output.labels(&part(rows)).unwrap());
    }
    assert_eq!(encoded.x[0].rows, splits.train.len());
}

#[test]
fn encoded_splits_survive_the_cache_frame_and_sparse_ones_are_not_cached() {
    let (spec, df) = mixed(300);
    let encoded = spec.fit_encode(df, &mut Timings::default()).unwrap();
    let frame = encoded.to_frame().unwrap().unwrap();
    assert_eq!(frame.height(), 300);
    let back = EncodedSplits::from_frame(&frame).unwrap();
    assert_eq!((&back.pipeline, &back.y), (&encoded.pipeline, &encoded.y));
    for k in 0..3 {
        assert!(same(&back.x[k], &encoded.x[k]), "split {k}");
    }
    let sparse = EncodedSplits {
        x: [
            Matrix {
                values: Values::Sparse(Csr::new()),
                rows: 0,
                columns: 1,
            },
            Matrix::empty(1),
            Matrix::empty(1),
        ],
        ..encoded
    };
    assert_eq!(sparse.to_frame().unwrap(), None);
    let broken = frame.drop(PIPELINE_COLUMN).unwrap();
    refused(EncodedSplits::from_frame(&broken), &["lore cache clear"]);
}

#[test]
fn the_encoding_key_follows_the_rows_and_the_spec_and_skips_custom_code() {
    let (spec, _) = mixed(10);
    let key = spec.encoding_key("rows-a").unwrap();
    assert_eq!(spec.encoding_key("rows-a").unwrap(), key);
    assert_ne!(spec.encoding_key("rows-b").unwrap(), key);
    let mut other = spec.clone();
    other.split = Split::holdout(0.2, 0.1, 4);
    assert_ne!(other.encoding_key("rows-a").unwrap(), key);
    other.transformers.push(Transformer::custom("Mine", &["n"]));
    assert_eq!(other.encoding_key("rows-a"), None);
}

#[test]
fn select_rows_picks_dense_and_sparse_rows_in_order() {
    let dense = Matrix::dense(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 3, 2);
    assert_eq!(
        dense.select_rows(&[2, 0]),
        Matrix::dense(vec![4.0, 5.0, 0.0, 1.0], 2, 2)
    );
    let mut csr = Csr::new();
    csr.indices.push(1);
    csr.values.push(7.0);
    csr.end_row();
    csr.end_row();
    let sparse = Matrix {
        values: Values::Sparse(csr),
        rows: 2,
        columns: 2,
    };
    let picked = sparse.select_rows(&[1, 0, 5]);
    assert_eq!(picked.rows, 2, "a row past the end is skipped");
    let Values::Sparse(csr) = picked.values else {
        panic!("{picked:?}")
    };
    assert_eq!((csr.indptr, csr.indices), (vec![0, 0, 1], vec![1]));
}
