//! Property tests of the transformer and encoder catalogue: on arbitrary columns (nulls, NaN,
//! infinities, empty and unicode strings, dates far from today, empty frames) nothing panics,
//! the same input always gives the same output, and a fitted encoder saved and reloaded encodes
//! exactly as before.

use std::collections::BTreeMap;

use lore_core::encoders::{Encoder, FittedEncoder, Vectorizer};
use lore_core::transformers::{AgeUnit, DatePart, Reference, StringOp, Transformer};
use polars::prelude::*;
use proptest::prelude::*;

/// Numbers with the awkward ones over-represented.
fn number() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
        Just(Some(f64::NEG_INFINITY)),
        Just(Some(0.0)),
        Just(Some(-0.0)),
        (-1e12f64..1e12).prop_map(Some),
        any::<f64>().prop_map(Some),
    ]
}

/// Text: empty, white space, unicode, names, emails, phone numbers, dates and junk.
fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        Just(Some("   ".to_string())),
        Just(Some("John".to_string())),
        Just(Some("Ann@Gmail.COM".to_string())),
        Just(Some("(415) 555-0134".to_string())),
        Just(Some("2018-06-01 12:30:00".to_string())),
        Just(Some("9999-12-31".to_string())),
        Just(Some("ÉMILIE 🎉 é@ü.de".to_string())),
        any::<String>().prop_map(Some),
        "[a-zA-Z@. 0-9-]{0,24}".prop_map(Some),
    ]
}

/// A frame of `n` rows with number columns `x`, `y`, `lat`, `lon` and text columns `s`, `t`.
fn frame() -> impl Strategy<Value = DataFrame> {
    (0usize..40).prop_flat_map(|n| {
        (
            proptest::collection::vec(number(), n),
            proptest::collection::vec(number(), n),
            proptest::collection::vec(text(), n),
            proptest::collection::vec(text(), n),
        )
            .prop_map(|(x, y, s, t)| {
                let l = lists(&x, &y);
                df!(
                    "x" => x.clone(),
                    "y" => y.clone(),
                    "lat" => x,
                    "lon" => y,
                    "s" => s,
                    "t" => t,
                    "l" => l,
                )
                .unwrap()
            })
    })
}

/// A column of lists of numbers: row i holds `x[i]` and, where it is not null, `y[i]`.
fn lists(x: &[Option<f64>], y: &[Option<f64>]) -> Vec<Series> {
    x.iter()
        .zip(y)
        .map(|(a, b)| {
            let items: Vec<Option<f64>> = std::iter::once(*a).chain(b.map(Some)).collect();
            Series::new("".into(), items)
        })
        .collect()
}

/// What `step` gives, or `None` when it fails the same way twice (an error is fine; a different
/// one each time is not).
fn value_or_same_error<T>(
    step: impl Fn() -> lore_core::Result<T>,
    what: &str,
) -> Result<Option<T>, TestCaseError> {
    match step() {
        Ok(value) => Ok(Some(value)),
        Err(first) => {
            let again = step().err().map(|e| e.to_string());
            prop_assert_eq!(Some(first.to_string()), again, "{}", what);
            Ok(None)
        }
    }
}

fn transformers() -> Vec<Transformer> {
    let c = |s: &str| s.to_string();
    // The transformers of one column, as a spec names them.
    let of = |kind: &str, column: &str| -> Transformer {
        toml::from_str(&format!("type = \"{kind}\"\ncolumn = \"{column}\"")).unwrap()
    };
    let mut all: Vec<Transformer> = [
        ("Log", "x"),
        ("LogPlusOne", "x"),
        ("Sqrt", "x"),
        ("IsNull", "s"),
        ("IsNull", "x"),
        ("AreaCode", "s"),
        ("EmailDomain", "s"),
        ("NameAge", "s"),
        ("NameSex", "s"),
        ("NamePopulation", "s"),
        ("NameFamilial", "s"),
    ]
    .into_iter()
    .map(|(kind, column)| of(kind, column))
    .collect();
    all.extend([
        Transformer::Map {
            column: c("s"),
            values: BTreeMap::from([(c("John"), serde_json::json!(1))]),
            default: Some(serde_json::json!(0)),
        },
        Transformer::Distance {
            lat_a: c("lat"),
            lon_a: c("lon"),
            lat_b: c("y"),
            lon_b: c("x"),
        },
        Transformer::Age {
            column: c("t"),
            reference: Reference::Column(c("s")),
            unit: AgeUnit::Years,
        },
        Transformer::Age {
            column: c("t"),
            reference: Reference::Date(c("2020-02-29")),
            unit: AgeUnit::Seconds,
        },
    ]);
    for part in [
        DatePart::Year,
        DatePart::Weekday,
        DatePart::DayOfYear,
        DatePart::Epoch,
    ] {
        all.push(Transformer::DateTime {
            column: c("t"),
            part,
        });
    }
    for (op, pattern) in [
        (StringOp::Lower, None),
        (StringOp::Upper, None),
        (StringOp::Trim, None),
        (StringOp::Length, None),
        (StringOp::Extract, Some(r"@(\w+)")),
        (StringOp::Contains, Some("(?i)é")),
    ] {
        all.push(Transformer::String {
            column: c("s"),
            op,
            pattern: pattern.map(c),
        });
    }
    all
}

fn encoders() -> Vec<Encoder> {
    let c = |s: &str| s.to_string();
    vec![
        Encoder::Pass(lore_core::encoders::numeric::Pass { column: c("x") }),
        Encoder::Uniform(lore_core::encoders::numeric::Uniform { column: c("x") }),
        Encoder::Norm(lore_core::encoders::numeric::Norm { column: c("x") }),
        Encoder::Discrete(lore_core::encoders::bins::Discrete {
            column: c("x"),
            bins: 7,
        }),
        Encoder::Discrete(lore_core::encoders::bins::Discrete {
            column: c("t"),
            bins: 3,
        }),
        Encoder::Quantile(lore_core::encoders::bins::Quantile {
            column: c("x"),
            quantiles: 4,
        }),
        Encoder::Boolean(lore_core::encoders::flags::Boolean { column: c("s") }),
        Encoder::Equals(lore_core::encoders::flags::Equals {
            column: c("s"),
            other: c("t"),
        }),
        Encoder::unique("s", 2),
        Encoder::unique("x", 1),
        Encoder::OneHot(lore_core::encoders::categorical::OneHot {
            column: c("s"),
            minimum_occurrences: 1,
            percent_occurrences: 5.0,
            drop_first: true,
        }),
        Encoder::Unique(lore_core::encoders::categorical::Unique {
            column: c("s"),
            minimum_occurrences: 1,
            twin: Some(c("t")),
        }),
        Encoder::Token(lore_core::encoders::sequences::Token {
            column: c("s"),
            sequence_length: 3,
            minimum_occurrences: 1,
            twin: Some(c("t")),
        }),
        Encoder::NestedUnique(lore_core::encoders::sequences::NestedUnique {
            column: c("s"),
            sequence_length: 2,
            minimum_occurrences: 2,
            separator: c(" "),
            twin: None,
        }),
        Encoder::nested_norm("x", 2),
        Encoder::nested_norm("l", 2),
        Encoder::middle_out("x", "y", 2),
        Encoder::Text(lore_core::encoders::text::Text {
            column: c("s"),
            vectorizer: Vectorizer::Tfidf,
            max_features: 5,
            minimum_occurrences: 1,
            ngrams: 2,
        }),
        Encoder::Text(lore_core::encoders::text::Text {
            column: c("t"),
            vectorizer: Vectorizer::Hashing,
            max_features: 7,
            minimum_occurrences: 1,
            ngrams: 1,
        }),
    ]
}

/// Equal as encoded features: NaN equals NaN.
fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
}

proptest! {
    // The committed cases beside this file (properties.proptest-regressions) run first; a new
    // failure adds its seed there.
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn transformers_never_panic_and_are_deterministic(df in frame()) {
        for t in transformers() {
            // Wrong types are errors, not panics; `Age` from now is not deterministic by design.
            let first = t.compute(&df);
            let second = t.compute(&df);
            match (first, second) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a.len(), df.height(), "{}", t.output());
                    if !matches!(t, Transformer::Age { reference: Reference::Now, .. }) {
                        prop_assert!(a.equals_missing(&b), "{} is not deterministic", t.output());
                    }
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "{}: {:?} then {:?}", t.output(), a.is_ok(), b.is_ok()),
            }
        }
    }

    #[test]
    fn encoders_never_panic_are_deterministic_and_reload_identically(
        train in frame(),
        test in frame(),
    ) {
        for e in encoders() {
            // Some columns cannot be learned from (all null, say): that is an error, the same
            // one each time, never a panic; `every_encoder_learns_and_encodes_plain_columns`
            // makes sure no encoder is only ever skipped here.
            let Some(fitted) = value_or_same_error(|| e.fit(&train), &e.feature())? else {
                continue;
            };
            let Some(encoded) = value_or_same_error(|| fitted.encode(&test), &e.feature())? else {
                continue;
            };
            prop_assert_eq!(encoded.len(), test.height() * fitted.width(), "{}", e.feature());
            prop_assert_eq!(fitted.features().len(), fitted.width(), "{}", e.feature());
            prop_assert!(same(&encoded, &fitted.encode(&test).unwrap()), "{} twice", e.feature());
            let saved = serde_json::to_string(&fitted).unwrap();
            let back: FittedEncoder = serde_json::from_str(&saved).unwrap();
            prop_assert!(same(&encoded, &back.encode(&test).unwrap()), "{} reloaded", e.feature());
            let sparse = fitted.encode_sparse(&test, None).unwrap();
            prop_assert_eq!(sparse.indptr.len(), test.height() + 1, "{} sparse rows", e.feature());
            prop_assert!(sparse.indices.iter().all(|i| (*i as usize) < fitted.width()));
            if let Some(cardinality) = fitted.cardinality() {
                for v in encoded.iter().filter(|v| !v.is_nan()) {
                    prop_assert!(
                        *v >= 0.0 && (*v as usize) < cardinality,
                        "{}: code {} outside 0..{}", e.feature(), v, cardinality
                    );
                }
            }
        }
    }
}

/// Plain columns every encoder can learn from: numbers, short lists of numbers as words (`s`),
/// timestamps (`t`).
fn plain_frame() -> DataFrame {
    let n = 30;
    let x: Vec<f64> = (0..n).map(|i| f64::from(i % 7) + 0.5).collect();
    let y: Vec<f64> = (0..n).map(|i| f64::from(i % 5) * 2.0).collect();
    let words = ["3 1 4", "1 5", "9 2 6", "5 3", "5 8 9"];
    let s: Vec<String> = (0..n).map(|i| words[i as usize % 5].to_string()).collect();
    let t: Vec<String> = (0..n)
        .map(|i| format!("2018-06-{:02} 12:30:00", i % 28 + 1))
        .collect();
    df!(
        "x" => x.clone(),
        "y" => y.clone(),
        "lat" => x.iter().map(|v| v * 10.0).collect::<Vec<f64>>(),
        "lon" => y.iter().map(|v| v * 10.0).collect::<Vec<f64>>(),
        "s" => s,
        "t" => t,
        "l" => lists(&x.iter().copied().map(Some).collect::<Vec<_>>(), &y.iter().copied().map(Some).collect::<Vec<_>>()),
    )
    .unwrap()
}

#[test]
fn every_encoder_learns_and_encodes_plain_columns() {
    let df = plain_frame();
    for e in encoders() {
        let fitted = e
            .fit(&df)
            .unwrap_or_else(|err| panic!("{}: {err}", e.feature()));
        let encoded = fitted
            .encode(&df)
            .unwrap_or_else(|err| panic!("{}: {err}", e.feature()));
        assert_eq!(
            encoded.len(),
            df.height() * fitted.width(),
            "{}",
            e.feature()
        );
    }
}
