//! The row path checked against the frame path, for every built-in transformer and encoder.

use super::*;
use crate::encoders::{Encoder, FittedOutput};
use crate::pipelines::{Values as Features, ENCODING_VERSION};
use crate::transformers::{AgeUnit, DatePart};
use proptest::prelude::*;

const NAMES: &[&str] = &["John", "mary", " Ann ", "Mom", "Zyx", "", "JOHN"];
const EMAILS: &[&str] = &[
    "john1@gmail.com",
    "b@Yahoo.com",
    "no-at-sign",
    "c@ spaced.org ",
    "@",
    "a@b@Ünï.de",
];
const TIMES: &[&str] = &[
    "2015-01-02 10:00:00",
    "2018-05-01",
    "2019-02-28T23:59:59",
    "2020-02-29 00:00:00.5",
    "2016-07-04T12:30:00+02:00",
    " ",
];
const PHONES: &[&str] = &["(415) 555-0100", "+1 212 555 0199", "12345", ""];
const WORDS: &[&str] = &["Hello world, hello!", "world", "", "new words here"];
const TAGS: &[&str] = &["a,b, ,c", "b", "", "z,a"];
const NUMBER_LISTS: &[&str] = &["1.5,2,-3", "", "7", "1e3, 4"];

/// A column of `values` picked by index from `pool` (index past it: null).
fn texts(pool: &[&str], picks: &[usize]) -> Values {
    Values::Texts(
        picks
            .iter()
            .map(|i| pool.get(*i).map(|s| s.to_string()))
            .collect(),
    )
}

fn training_rows() -> Rows {
    let picks = |pool: &[&str]| (0..24).map(|i| i % (pool.len() + 1)).collect::<Vec<_>>();
    let n = 24;
    Rows {
        columns: vec![
            ("name".into(), texts(NAMES, &picks(NAMES))),
            ("email".into(), texts(EMAILS, &picks(EMAILS))),
            ("signup".into(), texts(TIMES, &picks(TIMES))),
            (
                "last".into(),
                texts(
                    TIMES,
                    &picks(TIMES)[3..]
                        .iter()
                        .chain(&[0, 1, 2])
                        .copied()
                        .collect::<Vec<_>>(),
                ),
            ),
            ("phone".into(), texts(PHONES, &picks(PHONES))),
            ("words".into(), texts(WORDS, &picks(WORDS))),
            ("tags".into(), texts(TAGS, &picks(TAGS))),
            ("items".into(), texts(NUMBER_LISTS, &picks(NUMBER_LISTS))),
            (
                "orders".into(),
                Values::Ints(
                    (0..n)
                        .map(|i| (i % 5 != 0).then_some(i as i64 * 3 - 10))
                        .collect(),
                ),
            ),
            (
                "code".into(),
                Values::Ints(
                    (0..n)
                        .map(|i| (i % 7 != 3).then_some(i as i64 % 4))
                        .collect(),
                ),
            ),
            (
                "basket".into(),
                Values::Floats(
                    (0..n)
                        .map(|i| (i % 6 != 1).then_some(i as f64 * 7.25 - 20.0))
                        .collect(),
                ),
            ),
            (
                "active".into(),
                Values::Bools((0..n).map(|i| (i % 5 != 4).then_some(i % 2 == 0)).collect()),
            ),
            (
                "lat".into(),
                Values::Floats((0..n).map(|i| Some(i as f64 * 3.5 - 40.0)).collect()),
            ),
            (
                "lon".into(),
                Values::Floats((0..n).map(|i| Some(i as f64 * 9.0 - 100.0)).collect()),
            ),
            (
                "pos".into(),
                Values::Ints((0..n).map(|i| Some(i as i64 % 6 - 1)).collect()),
            ),
            (
                "len".into(),
                Values::Ints((0..n).map(|i| Some(i as i64 % 5 + 1)).collect()),
            ),
            (
                "y".into(),
                Values::Bools((0..n).map(|i| Some(i % 3 == 0)).collect()),
            ),
        ],
        len: n,
    }
}

fn transformers() -> Vec<Transformer> {
    let column = |c: &str| c.to_string();
    let string = |op, pattern: Option<&str>| Transformer::String {
        column: column("email"),
        op,
        pattern: pattern.map(str::to_string),
    };
    vec![
        Transformer::Log {
            column: column("basket"),
        },
        Transformer::LogPlusOne {
            column: column("orders"),
        },
        Transformer::Sqrt {
            column: column("basket"),
        },
        Transformer::IsNull {
            column: column("basket"),
        },
        Transformer::Map {
            column: column("code"),
            values: [("1".into(), 10.into()), ("2".into(), 20.5.into())].into(),
            default: Some((-1).into()),
        },
        Transformer::Map {
            column: column("name"),
            values: [("John".into(), "j".into()), ("mary".into(), "m".into())].into(),
            default: None,
        },
        Transformer::DateTime {
            column: column("signup"),
            part: DatePart::Month,
        },
        Transformer::DateTime {
            column: column("last"),
            part: DatePart::Weekday,
        },
        Transformer::Age {
            column: column("signup"),
            reference: Reference::Column(column("last")),
            unit: AgeUnit::Days,
        },
        Transformer::Age {
            column: column("signup"),
            reference: Reference::Date("2021-03-04".into()),
            unit: AgeUnit::Years,
        },
        string(StringOp::Lower, None),
        string(StringOp::Length, None),
        string(StringOp::Extract, Some("^([a-z]+)[0-9]*@")),
        string(StringOp::Contains, Some("gmail")),
        Transformer::AreaCode {
            column: column("phone"),
        },
        Transformer::EmailDomain {
            column: column("email"),
        },
        Transformer::NameAge {
            column: column("name"),
        },
        Transformer::NameSex {
            column: column("name"),
        },
        Transformer::NamePopulation {
            column: column("name"),
        },
        Transformer::NameFamilial {
            column: column("name"),
        },
        Transformer::Distance {
            lat_a: column("lat"),
            lon_a: column("lon"),
            lat_b: column("lon"),
            lon_b: column("lat"),
        },
        Transformer::Log {
            column: column("NameAge(name)"),
        },
    ]
}

fn encoders() -> Vec<Encoder> {
    vec![
        Encoder::pass("orders"),
        Encoder::uniform("basket"),
        Encoder::norm("LogPlusOne(orders)"),
        Encoder::norm("Log(NameAge(name))"),
        Encoder::discrete("NameSex(name)", 10),
        Encoder::discrete("signup", 4),
        Encoder::quantile("basket", 3),
        Encoder::boolean("active"),
        Encoder::equals("name", "Map(name)"),
        Encoder::enumerated("code"),
        Encoder::one_hot("EmailDomain(email)"),
        Encoder::unique("name", 1),
        Encoder::Unique(crate::encoders::categorical::Unique {
            column: "EmailDomain(email)".into(),
            minimum_occurrences: 1,
            twin: Some("String(email, extract ^([a-z]+)[0-9]*@)".into()),
        }),
        Encoder::token("words", 3),
        Encoder::nested_unique("tags", 2),
        Encoder::nested_norm("items", 2),
        Encoder::middle_out("pos", "len", 2),
        Encoder::norm("Age(signup, last, days)"),
        Encoder::norm("Age(signup, 2021-03-04, years)"),
        Encoder::norm("Distance(lat, lon, lon, lat)"),
        Encoder::boolean("orders"),
    ]
    .into_iter()
    .chain(
        [
            "IsNull(basket)",
            "DateTime(signup, month)",
            "DateTime(last, weekday)",
            "Map(code)",
            "Sqrt(basket)",
            "NamePopulation(name)",
            "NameFamilial(name)",
            "String(email, length)",
            "String(email, contains gmail)",
        ]
        .map(Encoder::pass),
    )
    .chain(["String(email, lower)", "AreaCode(phone)", "code"].map(|c| Encoder::unique(c, 1)))
    .collect()
}

/// Every built-in transformer and encoder, fitted on [`training_rows`].
fn fitted() -> FittedPipeline {
    let transformers = transformers();
    let mut train = training_rows().into_frame().unwrap();
    transformers::apply_all(&transformers, &mut train).unwrap();
    let encoders: Vec<FittedEncoder> = encoders().iter().map(|e| e.fit(&train).unwrap()).collect();
    FittedPipeline {
        encoding: ENCODING_VERSION,
        transformers,
        features: encoders.iter().flat_map(FittedEncoder::features).collect(),
        encoders,
        output: FittedOutput::Boolean { column: "y".into() },
        input_kinds: Default::default(),
    }
}

/// Equal to the bit, NaN equal to NaN.
fn same(a: &Matrix, b: &Matrix) -> bool {
    match (&a.values, &b.values) {
        (Features::Dense(x), Features::Dense(y)) => {
            (a.rows, a.columns) == (b.rows, b.columns)
                && x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(x, y)| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
        }
        _ => false,
    }
}

/// Records from the pools: each value an index into its pool, past it null.
fn rows_of(picks: &[[usize; 13]]) -> Rows {
    let column = |k: usize| picks.iter().map(|p| p[k]).collect::<Vec<_>>();
    let number = |k: usize, scale: f64| {
        Values::Floats(
            column(k)
                .iter()
                .map(|i| (*i < 9).then_some((*i as f64 - 4.0) * scale))
                .collect(),
        )
    };
    let int = |k: usize, offset: i64| {
        Values::Ints(
            column(k)
                .iter()
                .map(|i| (*i < 9).then_some(*i as i64 - offset))
                .collect(),
        )
    };
    Rows {
        columns: vec![
            ("name".into(), texts(NAMES, &column(0))),
            ("email".into(), texts(EMAILS, &column(1))),
            ("signup".into(), texts(TIMES, &column(2))),
            ("last".into(), texts(TIMES, &column(3))),
            ("phone".into(), texts(PHONES, &column(4))),
            ("words".into(), texts(WORDS, &column(5))),
            ("tags".into(), texts(TAGS, &column(6))),
            ("items".into(), texts(NUMBER_LISTS, &column(7))),
            ("orders".into(), int(8, 2)),
            ("code".into(), int(9, 1)),
            ("basket".into(), number(10, 13.7)),
            (
                "active".into(),
                Values::Bools(
                    column(11)
                        .iter()
                        .map(|i| (*i < 2).then_some(*i == 1))
                        .collect(),
                ),
            ),
            ("lat".into(), number(12, 21.3)),
            ("lon".into(), number(12, -44.1)),
            ("pos".into(), int(8, 1)),
            ("len".into(), int(9, 0)),
        ],
        len: picks.len(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The row path's features are the frame path's, for every built-in transformer and
    /// encoder, nulls, blanks and values outside the training range included.
    #[test]
    fn rows_encode_exactly_as_their_frame(picks in prop::collection::vec(prop::array::uniform13(0usize..10), 1..6)) {
        let pipeline = fitted();
        let plan = RowPlan::compile(&pipeline).expect("every built-in has a row path");
        let rows = rows_of(&picks);
        let by_rows = plan.encode(&rows).expect("the row path answers these rows");
        let by_frame = pipeline.prepare(rows.into_frame().unwrap(), "test").unwrap();
        prop_assert!(same(&by_rows, &by_frame), "rows {:?}\nframe {:?}", by_rows.values, by_frame.values);
    }
}

#[test]
fn what_the_row_path_cannot_answer_exactly_goes_to_the_frame_path() {
    let pipeline = fitted();
    let plan = RowPlan::compile(&pipeline).unwrap();
    let mut rows = rows_of(&[[0; 13]]);
    let at = |rows: &mut Rows, name: &str| -> usize {
        rows.columns.iter().position(|(c, _)| c == name).unwrap()
    };
    // Text that is no timestamp: the frame path names the fault.
    let signup = at(&mut rows, "signup");
    rows.columns[signup].1 = Values::Texts(vec![Some("yesterday".into())]);
    assert!(plan.encode(&rows).is_none());
    assert!(pipeline
        .prepare(rows.clone().into_frame().unwrap(), "test")
        .is_err());
    // A real number read as text is written out the frame path's way.
    let mut rows = rows_of(&[[0; 13]]);
    let code = at(&mut rows, "code");
    rows.columns[code].1 = Values::Floats(vec![Some(1.0)]);
    assert!(plan.encode(&rows).is_none());
    assert!(pipeline
        .prepare(rows.clone().into_frame().unwrap(), "test")
        .is_ok());
    // A missing input.
    let mut rows = rows_of(&[[0; 13]]);
    rows.columns.retain(|(c, _)| c != "email");
    assert!(plan.encode(&rows).is_none());
    // A bag of words or a custom transformer has no row path at all.
    let mut words = pipeline.clone();
    words.encoders.push(
        Encoder::Text(crate::encoders::text::Text {
            column: "words".into(),
            vectorizer: crate::encoders::Vectorizer::Hashing,
            ngrams: 1,
            minimum_occurrences: 1,
            max_features: 8,
        })
        .fit(&training_rows().into_frame().unwrap())
        .unwrap(),
    );
    assert!(RowPlan::compile(&words).is_none());
    let mut custom = pipeline;
    custom
        .transformers
        .push(Transformer::custom("mine", &["name"]));
    assert!(RowPlan::compile(&custom).is_none());
}
