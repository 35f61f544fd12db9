//! The built-in transformers on one frame of awkward rows: typical values, edges, nulls and junk.

use super::apply::PIECE_ROWS;
use super::*;
use crate::testing::*;
use chrono::NaiveDate;

#[test]
fn a_large_frame_transformed_in_pieces_matches_one_transformer_after_another() {
    let n = 2 * PIECE_ROWS + 1_000;
    let day = |i: usize| format!("2018-{:02}-{:02} 0{}:00:00", i % 12 + 1, i % 28 + 1, i % 10);
    let mut df = df!(
        "first_name" => (0..n).map(|i| ["John", "Mary", "Zorblax", ""][i % 4]).collect::<Vec<_>>(),
        "email" => (0..n).map(|i| format!("u{i}@Example{}.com", i % 7)).collect::<Vec<_>>(),
        "signup" => (0..n).map(day).collect::<Vec<_>>(),
        "seen" => (0..n).map(|i| day(i + 5)).collect::<Vec<_>>(),
        "orders" => (0..n).map(|i| (i % 9) as i64 - 1).collect::<Vec<_>>()
    )
    .unwrap();
    let transformers: Vec<Transformer> = serde_json::from_value(serde_json::json!([
        {"type": "NameAge", "column": "first_name"},
        {"type": "Log", "column": "NameAge(first_name)"},
        {"type": "EmailDomain", "column": "email"},
        {"type": "Age", "column": "signup", "reference": {"column": "seen"}, "unit": "days"},
        {"type": "DateTime", "column": "signup", "part": "month"},
        {"type": "LogPlusOne", "column": "orders"},
    ]))
    .unwrap();
    let mut one_by_one = df.clone();
    for t in &transformers {
        t.apply(&mut one_by_one).unwrap();
    }
    apply_all(&transformers, &mut df).unwrap();
    assert!(df.column("Log(NameAge(first_name))").unwrap().n_chunks() > 1);
    assert!(df.equals_missing(&one_by_one));
}

/// Five rows with the awkward cases: a typical value, an edge value, a null, and junk.
fn frame() -> DataFrame {
    df!(
        "x" => [Some(std::f64::consts::E), Some(0.0), None, Some(-4.0), Some(f64::NAN)],
        "email" => [Some("Ann@Gmail.COM"), Some("nobody"), None, Some("x@"), Some(" b@Yahoo.com ")],
        "first_name" => [Some("John"), Some("Zorblax"), None, Some("MOM"), Some(" mary ")],
        "a" => [Some("2018-01-01 00:00:00"), Some("2018-01-01"), None, Some("2020-02-29T12:00:00"), Some("2018-06-01")],
        "b" => [Some("2018-01-03 12:00:00"), Some("2018-03-01T00:00:00"), Some("2018-01-01"), Some("2020-02-29T00:00:00"), None],
        "phone" => [Some("(415) 555-0134"), Some("+1 212 555 0199"), None, Some("555-0134"), Some("0044 20 7946 0018")],
        "tier" => [Some("gold"), Some("silver"), None, Some("tin"), Some("gold")],
        "lat_a" => [Some(51.5007), Some(0.0), None, Some(91.0), Some(40.7128)],
        "lon_a" => [Some(-0.1246), Some(0.0), Some(1.0), Some(0.0), Some(-74.0060)],
        "lat_b" => [Some(40.6892), Some(0.0), Some(1.0), Some(0.0), Some(40.7128)],
        "lon_b" => [Some(-74.0445), Some(0.0), Some(1.0), Some(0.0), Some(-74.0060)],
    )
    .unwrap()
}

fn run(t: &Transformer) -> Column {
    let mut df = frame();
    t.apply(&mut df).unwrap();
    df.column(&t.output()).unwrap().clone()
}

fn numbers(t: Transformer) -> Vec<Option<f64>> {
    run(&t).f64().unwrap().iter().collect()
}

fn texts(t: Transformer) -> Vec<Option<String>> {
    run(&t)
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

fn round(values: Vec<Option<f64>>, places: i32) -> Vec<Option<f64>> {
    let k = 10f64.powi(places);
    values
        .into_iter()
        .map(|v| v.map(|v| (v * k).round() / k))
        .collect()
}

fn col(name: &str) -> String {
    name.to_string()
}

#[test]
fn log_is_null_for_zero_negative_null_and_nan() {
    let v = round(numbers(Transformer::Log { column: col("x") }), 9);
    assert_eq!(v, vec![Some(1.0), None, None, None, None]);
}

#[test]
fn log_plus_one_clips_negatives_to_zero() {
    let v = numbers(Transformer::LogPlusOne { column: col("x") });
    assert!((v[0].unwrap() - std::f64::consts::E.ln_1p()).abs() < 1e-12);
    assert_eq!(&v[1..], &[Some(0.0), None, Some(0.0), None]);
}

#[test]
fn sqrt_is_null_for_negatives() {
    let v = numbers(Transformer::Sqrt { column: col("x") });
    assert_eq!(&v[1..], &[Some(0.0), None, None, None]);
}

#[test]
fn is_null_counts_nan_and_is_never_null() {
    let v = numbers(Transformer::IsNull { column: col("x") });
    assert_eq!(
        v,
        vec![Some(0.0), Some(0.0), Some(1.0), Some(0.0), Some(1.0)]
    );
    let v = numbers(Transformer::IsNull {
        column: col("email"),
    });
    assert_eq!(
        v,
        vec![Some(0.0), Some(0.0), Some(1.0), Some(0.0), Some(0.0)]
    );
}

#[test]
fn map_gives_numbers_or_text_and_the_default_for_unlisted_values() {
    let table = |pairs: &[(&str, serde_json::Value)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let v = numbers(Transformer::Map {
        column: col("tier"),
        values: table(&[("gold", 3.into()), ("silver", 2.into())]),
        default: Some(0.into()),
    });
    assert_eq!(
        v,
        vec![Some(3.0), Some(2.0), Some(0.0), Some(0.0), Some(3.0)]
    );
    let v = texts(Transformer::Map {
        column: col("tier"),
        values: table(&[("gold", "top".into())]),
        default: None,
    });
    assert_eq!(
        v,
        vec![Some("top".into()), None, None, None, Some("top".into())]
    );
    refused(
        Transformer::Map {
            column: col("tier"),
            values: table(&[("gold", 1.into()), ("silver", "two".into())]),
            default: None,
        }
        .validate(),
        &["Map(tier).values", "all numbers"],
    );
}

#[test]
fn date_time_parts() {
    let part = |part| {
        numbers(Transformer::DateTime {
            column: col("a"),
            part,
        })
    };
    assert_eq!(
        part(DatePart::Month),
        vec![Some(1.0), Some(1.0), None, Some(2.0), Some(6.0)]
    );
    assert_eq!(part(DatePart::DayOfYear)[3], Some(60.0));
    assert_eq!(
        part(DatePart::Weekday)[0],
        Some(0.0),
        "2018-01-01 was a Monday"
    );
    assert_eq!(part(DatePart::Hour)[3], Some(12.0));
    assert_eq!(part(DatePart::Epoch)[0], Some(1_514_764_800.0));
    assert_eq!(part(DatePart::Year)[4], Some(2018.0));
    assert_eq!(part(DatePart::Day)[4], Some(1.0));
}

#[test]
fn age_to_another_column_a_date_or_now() {
    let v = numbers(Transformer::Age {
        column: col("a"),
        reference: Reference::Column(col("b")),
        unit: AgeUnit::Days,
    });
    assert_eq!(v, vec![Some(2.5), Some(59.0), None, Some(-0.5), None]);
    let v = numbers(Transformer::Age {
        column: col("a"),
        reference: Reference::Date("2019-01-01".into()),
        unit: AgeUnit::Weeks,
    });
    assert_eq!(round(v, 4)[0], Some(52.1429));
    let v = numbers(Transformer::Age {
        column: col("a"),
        reference: Reference::Now,
        unit: AgeUnit::Years,
    });
    assert!(v[0].unwrap() > 8.0, "{v:?}");
    refused(
        Transformer::Age {
            column: col("a"),
            reference: Reference::Date("01/02/2019".into()),
            unit: AgeUnit::Days,
        }
        .validate(),
        &["reference", "01/02/2019"],
    );
}

#[test]
fn age_reads_date_and_datetime_columns() {
    let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let mut df = df!("signed" => [Some(day("2018-01-01")), None]).unwrap();
    let ten_days = NaiveDate::parse_from_str("2018-01-11", "%Y-%m-%d")
        .unwrap()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_micros();
    let until = Column::new("until".into(), vec![ten_days, ten_days])
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .unwrap();
    df.with_column(until).unwrap();
    let t = Transformer::Age {
        column: col("signed"),
        reference: Reference::Column(col("until")),
        unit: AgeUnit::Hours,
    };
    t.apply(&mut df).unwrap();
    let v: Vec<Option<f64>> = df
        .column(&t.output())
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(v, vec![Some(240.0), None]);
}

#[test]
fn string_operations() {
    let op = |op, pattern: Option<&str>| Transformer::String {
        column: col("email"),
        op,
        pattern: pattern.map(str::to_string),
    };
    assert_eq!(
        texts(op(StringOp::Lower, None))[0],
        Some("ann@gmail.com".into())
    );
    assert_eq!(texts(op(StringOp::Upper, None))[1], Some("NOBODY".into()));
    assert_eq!(
        texts(op(StringOp::Trim, None))[4],
        Some("b@Yahoo.com".into())
    );
    assert_eq!(
        numbers(op(StringOp::Length, None)),
        vec![Some(13.0), Some(6.0), None, Some(2.0), Some(13.0)]
    );
    assert_eq!(
        texts(op(StringOp::Extract, Some(r"@(\w+)\."))),
        vec![Some("Gmail".into()), None, None, None, Some("Yahoo".into())]
    );
    assert_eq!(
        numbers(op(StringOp::Contains, Some("(?i)yahoo"))),
        vec![Some(0.0), Some(0.0), None, Some(0.0), Some(1.0)]
    );
    refused(
        op(StringOp::Extract, None).validate(),
        &["pattern", "extract"],
    );
    refused(
        op(StringOp::Contains, Some("(unclosed")).validate(),
        &["pattern", "unclosed"],
    );
}

#[test]
fn area_codes_of_north_american_numbers_only() {
    let v = texts(Transformer::AreaCode {
        column: col("phone"),
    });
    assert_eq!(
        v,
        vec![Some("415".into()), Some("212".into()), None, None, None]
    );
}

#[test]
fn email_domain_lowercases_and_nulls_bad_addresses() {
    let v = texts(Transformer::EmailDomain {
        column: col("email"),
    });
    assert_eq!(
        v,
        vec![
            Some("gmail.com".into()),
            None,
            None,
            None,
            Some("yahoo.com".into())
        ]
    );
}

#[test]
fn name_statistics_are_null_for_unknown_names() {
    for t in [
        Transformer::NameAge {
            column: col("first_name"),
        },
        Transformer::NameSex {
            column: col("first_name"),
        },
        Transformer::NamePopulation {
            column: col("first_name"),
        },
    ] {
        let v = numbers(t.clone());
        assert!(v[0].is_some() && v[4].is_some(), "{t:?}: {v:?}");
        assert!(v[1].is_none() && v[2].is_none(), "{t:?}: {v:?}");
    }
    let sex = numbers(Transformer::NameSex {
        column: col("first_name"),
    });
    assert!(sex[0].unwrap() > 0.9 && sex[4].unwrap() < 0.1, "{sex:?}");
}

#[test]
fn familial_names() {
    let v = numbers(Transformer::NameFamilial {
        column: col("first_name"),
    });
    assert_eq!(v, vec![Some(0.0), Some(0.0), None, Some(1.0), Some(0.0)]);
}

#[test]
fn distance_in_kilometres_null_for_impossible_coordinates() {
    let v = round(
        numbers(Transformer::Distance {
            lat_a: col("lat_a"),
            lon_a: col("lon_a"),
            lat_b: col("lat_b"),
            lon_b: col("lon_b"),
        }),
        0,
    );
    assert_eq!(v, vec![Some(5575.0), Some(0.0), None, None, Some(0.0)]);
}

#[test]
fn transformers_chain_by_output_name() {
    let mut df = frame();
    let age = Transformer::NameAge {
        column: col("first_name"),
    };
    let log = Transformer::Log {
        column: age.output(),
    };
    age.apply(&mut df).unwrap();
    log.apply(&mut df).unwrap();
    assert_eq!(log.output(), "Log(NameAge(first_name))");
    let v = df.column(&log.output()).unwrap().f64().unwrap().get(0);
    assert!(v.unwrap() > 3.0, "{v:?}");
}

#[test]
fn applying_all_at_once_equals_applying_one_after_another() {
    let chain = vec![
        Transformer::NameAge {
            column: col("first_name"),
        },
        Transformer::EmailDomain {
            column: col("email"),
        },
        Transformer::Log {
            column: col("NameAge(first_name)"),
        },
        Transformer::Map {
            column: col("tier"),
            values: [("gold".to_string(), serde_json::json!("x@GOLD.com"))].into(),
            default: None,
        },
        Transformer::EmailDomain {
            column: col("Map(tier)"),
        },
    ];
    let mut one_by_one = frame();
    for t in &chain {
        t.apply(&mut one_by_one).unwrap();
    }
    let mut together = frame();
    apply_all(&chain, &mut together).unwrap();
    assert_eq!(together, one_by_one);
    assert_eq!(
        together
            .column("EmailDomain(Map(tier))")
            .unwrap()
            .str()
            .unwrap()
            .get(0),
        Some("gold.com")
    );
}

#[test]
fn wrong_column_and_wrong_type_are_named() {
    let mut df = frame();
    refused(
        Transformer::NameSex {
            column: col("name"),
        }
        .apply(&mut df),
        &["`name`", "NameSex(name)", "first_name"],
    );
    refused(
        Transformer::Log {
            column: col("email"),
        }
        .apply(&mut df),
        &["`email`", "Log(email)"],
    );
    refused(
        Transformer::DateTime {
            column: col("x"),
            part: DatePart::Year,
        }
        .apply(&mut df),
        &["`x`", "timestamps"],
    );
}

#[test]
fn specs_read_from_toml() {
    #[derive(Deserialize)]
    struct Spec {
        transformers: Vec<Transformer>,
    }
    let spec: Spec = toml::from_str(
        r#"
        [[transformers]]
        type = "Age"
        column = "signup_date"
        reference = { column = "last_order_at" }

        [[transformers]]
        type = "Age"
        column = "signup_date"
        reference = { date = "2020-01-01" }
        unit = "years"

        [[transformers]]
        type = "String"
        column = "email"
        op = "extract"
        pattern = "@(.+)$"

        [[transformers]]
        type = "Map"
        column = "tier"
        values = { gold = 3, silver = 2 }
        default = 0
        "#,
    )
    .unwrap();
    assert_eq!(
        spec.transformers[0].output(),
        "Age(signup_date, last_order_at, days)"
    );
    assert_eq!(
        spec.transformers[1].output(),
        "Age(signup_date, 2020-01-01, years)"
    );
    assert_eq!(
        spec.transformers[2].output(),
        "String(email, extract @(.+)$)"
    );
    assert_eq!(spec.transformers[3].output(), "Map(tier)");
}
