//! What every encoder promises, checked across families: learning only from what it is fitted
//! on, the same in batches as at once, and saved fittings that encode the same.

use crate::testing::*;
use polars::prelude::*;

use crate::encoders::bins::{Discrete, Quantile};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput, OutputEncoder};

pub(crate) fn fit(encoder: Encoder, train: &DataFrame) -> FittedEncoder {
    encoder.fit(train).unwrap()
}

pub(crate) fn codes(fitted: &FittedEncoder, df: &DataFrame) -> Vec<f32> {
    fitted.encode(df).unwrap()
}

pub(crate) fn x(values: &[Option<f64>]) -> DataFrame {
    df!("x" => values).unwrap()
}

pub(crate) fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-6)
}

#[test]
fn encoders_see_only_what_they_are_fitted_on() {
    let train = df!("c" => ["a", "a"], "x" => [1.0, 2.0]).unwrap();
    let test = df!("c" => ["only-in-test"], "x" => [1000.0]).unwrap();
    let unique = fit(Encoder::unique("c", 1), &train);
    assert_eq!(
        unique.decode(codes(&unique, &test)[0]),
        Some("(unseen)".into())
    );
    let uniform = fit(Encoder::uniform("x"), &train);
    assert_eq!(codes(&uniform, &test), vec![1.0]);
}

#[test]
fn fitting_in_batches_learns_what_fitting_at_once_does() {
    let all = df!("x" => [Some(1.0), Some(4.0), None, Some(10.0), Some(-2.0)], "c" => ["a", "b", "a", "c", "a"]).unwrap();
    for encoder in [
        Encoder::norm("x"),
        Encoder::uniform("x"),
        Encoder::Discrete(Discrete {
            column: "x".into(),
            bins: 3,
        }),
        Encoder::Quantile(Quantile {
            column: "x".into(),
            quantiles: 3,
        }),
        Encoder::unique("c", 2),
    ] {
        let mut state = encoder.start(&OutputEncoder::Cluster {}).unwrap();
        state.update(&all.slice(0, 2)).unwrap();
        state.update(&all.slice(2, 3)).unwrap();
        let batched = state.finish(&FittedOutput::Cluster {}).unwrap();
        let at_once = encoder.fit(&all).unwrap();
        assert!(
            same(
                &batched.encode(&all).unwrap(),
                &at_once.encode(&all).unwrap()
            ),
            "{encoder:?}"
        );
    }
}

#[test]
fn fitted_encoders_round_trip_through_json() {
    let df = df!("x" => [Some(1.0), Some(5.0), None], "c" => ["a", "b", "a"]).unwrap();
    for encoder in [
        Encoder::Quantile(Quantile {
            column: "x".into(),
            quantiles: 2,
        }),
        Encoder::unique("c", 2),
        Encoder::norm("x"),
    ] {
        let fitted = encoder.fit(&df).unwrap();
        let back: FittedEncoder = round_trip(&fitted);
        assert_eq!(back, fitted);
        assert!(same(
            &back.encode(&df).unwrap(),
            &fitted.encode(&df).unwrap()
        ));
    }
}

#[test]
fn a_spec_with_an_unknown_field_is_refused() {
    refused(
        toml::from_str::<Encoder>("type = \"Norm\"\ncolumn = \"x\"\nbins = 3"),
        &["unknown field `bins`"],
    );
}
