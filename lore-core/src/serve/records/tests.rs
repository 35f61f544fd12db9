//! What a request body becomes: rows read into the model's columns, kinds checked, unknown keys
//! counted, every count bounded.

use super::*;

fn inputs() -> Vec<(String, Option<Kind>)> {
    [
        ("name", Kind::Text),
        ("orders", Kind::Number),
        ("active", Kind::Boolean),
        ("born", Kind::Date),
        ("seen", Kind::Timestamp),
    ]
    .map(|(n, k)| (n.to_string(), Some(k)))
    .to_vec()
}

fn column<'a>(records: &'a Records, name: &str) -> &'a rows::Values {
    let found = records.rows.columns.iter().find(|(c, _)| c == name);
    &found.unwrap().1
}

fn refused(body: &str) -> Refused {
    read(body.as_bytes(), &inputs(), &Limits::default()).unwrap_err()
}

/// `body` read against the test inputs with the default limits.
fn records(body: &[u8]) -> Records {
    read(body, &inputs(), &Limits::default()).unwrap()
}

#[test]
fn records_are_read_against_the_inputs_and_other_keys_counted() {
    let body = r#"[{"name": "Ann", "orders": 3, "extra": [1, {"a": 2}], "born": "1990-01-02"},
                   {"orders": 2.5, "active": true, "seen": "2018-01-02 10:00:00", "extra": 1, "x": null},
                   {"name": null}]"#;
    let r = records(body.as_bytes());
    assert_eq!(r.rows.len, 3);
    assert_eq!(
        column(&r, "orders"),
        &rows::Values::Floats(vec![Some(3.0), Some(2.5), None])
    );
    assert_eq!(
        column(&r, "name"),
        &rows::Values::Texts(vec![Some("Ann".into()), None, None])
    );
    assert_eq!(
        column(&r, "active"),
        &rows::Values::Bools(vec![None, Some(true), None])
    );
    assert_eq!(
        r.ignored,
        BTreeMap::from([("extra".into(), 2), ("x".into(), 1)])
    );
    let one = records(br#"{"orders": 7}"#);
    assert_eq!(one.rows.len, 1);
    let wrapped = records(br#"{"records": [{"orders": 7}, {}]}"#);
    assert_eq!(wrapped.rows.len, 2);
    let ints = records(br#"[{"orders": 7}, {"orders": 8}]"#);
    assert_eq!(
        column(&ints, "orders"),
        &rows::Values::Ints(vec![Some(7), Some(8)])
    );
}

#[test]
fn a_value_of_the_wrong_kind_names_the_field_the_record_and_the_kind() {
    let cases = [
        (r#"[{"orders": 1}, {"orders": "3"}]"#, "orders", 2, "number"),
        (r#"[{"orders": "NaN"}]"#, "orders", 1, "number"),
        (r#"[{"orders": true}]"#, "orders", 1, "number"),
        (r#"[{"name": 5}]"#, "name", 1, "text"),
        (r#"[{"active": "yes"}]"#, "active", 1, "true/false"),
        (r#"[{"active": 1}]"#, "active", 1, "true/false"),
        (r#"[{}, {}, {"born": "02/01/1990"}]"#, "born", 3, "date"),
        (r#"[{"born": "1990-02-30"}]"#, "born", 1, "date"),
        (r#"[{"seen": "yesterday"}]"#, "seen", 1, "timestamp"),
        (r#"[{"seen": 1514887200}]"#, "seen", 1, "timestamp"),
        (r#"[{"name": ["a"]}]"#, "name", 1, "text"),
        (r#"[{"orders": {"n": 1}}]"#, "orders", 1, "number"),
    ];
    for (body, field, row, kind) in cases {
        let r = refused(body);
        assert_eq!(r.status, 400, "{body}: {}", r.message);
        assert_eq!(r.field.as_deref(), Some(field), "{body}");
        assert_eq!(r.row, Some(row), "{body}");
        assert!(
            r.expected.is_some_and(|e| e.starts_with(kind)),
            "{body}: {r:?}"
        );
        assert!(
            r.message.contains(&format!("record {row}")),
            "{}",
            r.message
        );
    }
    let r = refused(r#"[{"orders": 1, "orders": 2}]"#);
    assert!(r.message.contains("twice"), "{}", r.message);
}

#[test]
fn fittings_without_kinds_take_the_first_value_kind() {
    let old = vec![("a".to_string(), None)];
    let r = read(
        br#"[{"a": null}, {"a": "x"}, {"a": 2}]"#,
        &old,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        (r.status, r.field.as_deref(), r.row),
        (400, Some("a"), Some(3))
    );
    assert!(
        r.message.contains("earlier records hold text"),
        "{}",
        r.message
    );
    let ok = read(
        br#"[{"a": null}, {"a": 1}, {"a": 2.5}]"#,
        &old,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        column(&ok, "a"),
        &rows::Values::Floats(vec![None, Some(1.0), Some(2.5)])
    );
}

#[test]
fn malformed_bodies_are_refused_saying_where() {
    let r = refused(r#"[{"name": "#);
    assert_eq!(r.status, 400);
    assert!(
        r.message.contains("malformed JSON at line 1"),
        "{}",
        r.message
    );
    for body in ["3", "\"x\"", "[1]", "[[]]", "[{}] x"] {
        assert_eq!(refused(body).status, 400, "{body}");
    }
    let r = refused(r#"{"records": [], "other": 1}"#);
    assert!(
        r.message.contains("`other` beside `records`"),
        "{}",
        r.message
    );
}

#[test]
fn every_count_is_bounded() {
    let limits = Limits {
        rows: 3,
        keys: 4,
        text: 10,
        unknown: 5,
        refuse_unknown: false,
    };
    let many = format!("[{}]", ["{}"; 4].join(","));
    let r = read(many.as_bytes(), &inputs(), &limits).unwrap_err();
    assert_eq!(r.status, 413, "{}", r.message);
    let wide: String = (0..5)
        .map(|i| format!("\"k{i}\": 1"))
        .collect::<Vec<_>>()
        .join(",");
    let r = read(format!("[{{{wide}}}]").as_bytes(), &inputs(), &limits).unwrap_err();
    assert_eq!(r.status, 413);
    assert!(
        r.message.contains("record 1 has more than 4 fields"),
        "{}",
        r.message
    );
    let r = read(br#"[{"name": "abcdefghijk"}]"#, &inputs(), &limits).unwrap_err();
    assert_eq!((r.status, r.field.as_deref()), (413, Some("name")));
    let spread = r#"[{"a":1,"b":1},{"c":1,"d":1},{"e":1,"f":1}]"#;
    let r = read(spread.as_bytes(), &inputs(), &limits).unwrap_err();
    assert!(
        r.message.contains("more than 5 different fields"),
        "{}",
        r.message
    );
    let strict = Limits {
        refuse_unknown: true,
        ..Limits::default()
    };
    let r = read(br#"[{"orders": 1, "zip": "x"}]"#, &inputs(), &strict).unwrap_err();
    assert_eq!((r.status, r.field.as_deref()), (400, Some("zip")));
}
