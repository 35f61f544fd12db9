//! Predictions pinned to their values, for a yes/no, a several-class and a number model: the
//! numbers written at fit time for every row of every split, `lore predict` on the same rows as
//! raw CSV, and `lore api` on them as JSON (a few rows a request, which the row path answers, and
//! all in one, which the frame path answers) are the same numbers to the last bit; and Python's
//! xgboost, loading the saved booster, predicts exactly the fit-time numbers from the exported
//! encoded rows (`LORE_TEST_PYTHON`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

mod common;
use common::*;

/// The fields of one CSV line; a field in double quotes may hold commas and doubled quotes
/// (feature names such as `"Discrete(DateTime(signup_date, month))"` do).
fn fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// A CSV file (one record a line) as its header and rows of fields.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = fields(lines.next().unwrap());
    (header, lines.map(fields).collect())
}

/// The columns `names` of a CSV file, as the f32 each field writes.
fn numbers(path: &Path, names: &[String]) -> Vec<Vec<f32>> {
    let (header, rows) = read_csv(path);
    let at: Vec<usize> = names
        .iter()
        .map(|n| {
            header
                .iter()
                .position(|h| h == n)
                .unwrap_or_else(|| panic!("no {n} in {}: {header:?}", path.display()))
        })
        .collect();
    rows.iter()
        .map(|r| at.iter().map(|&i| r[i].parse::<f32>().unwrap()).collect())
        .collect()
}

/// The raw rows of a CSV file as JSON records: a number where the field is one, null where it
/// is empty, text otherwise.
fn records(path: &Path) -> Vec<Value> {
    let (header, rows) = read_csv(path);
    rows.iter()
        .map(|r| {
            let record: serde_json::Map<String, Value> = header
                .iter()
                .zip(r)
                .map(|(h, v)| {
                    let value = match v.as_str() {
                        "" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(v)
                            .map(Value::Number)
                            .unwrap_or_else(|_| Value::String(v.clone())),
                    };
                    (h.clone(), value)
                })
                .collect();
            Value::Object(record)
        })
        .collect()
}

/// The numbers of one API answer, a row each: the probability of yes, the probability of each
/// of `classes`, or the number predicted.
fn answered(body: &Value, classes: &[String]) -> Vec<Vec<f32>> {
    let f32_of = |v: &Value| -> f32 { v.to_string().parse().unwrap() };
    match body.get("probabilities").and_then(Value::as_array) {
        Some(rows) if classes.is_empty() => rows.iter().map(|p| vec![f32_of(p)]).collect(),
        Some(rows) => rows
            .iter()
            .map(|r| classes.iter().map(|c| f32_of(&r[c])).collect())
            .collect(),
        None => body["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| vec![f32_of(p)])
            .collect(),
    }
}

fn sorted(mut rows: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    rows.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}

#[test]
fn lore_predict_the_api_and_pythons_xgboost_give_the_numbers_of_the_fit() {
    let root = sample_project("pinned", 3000);
    write_segment_models(&root);
    let classes: Vec<String> = ["heavy", "light", "regular"].map(String::from).into();
    let python = python();
    let mut served = BTreeMap::new();
    let prediction = vec!["prediction".to_string()];
    let per_class: Vec<String> = classes.iter().map(|c| format!("prediction_{c}")).collect();
    for (model, extract, params, fitted) in [
        (
            "SubscribersDeclared",
            "users",
            &["--param", "limit=1000000"][..],
            &prediction,
        ),
        ("Segments", "segments", &[][..], &per_class),
        ("Sessions", "segments", &[][..], &prediction),
    ] {
        let export = root.join("encoded").join(model);
        let out: Value = ok_json(&lore(
            &root,
            &[
                "-q",
                "fit",
                model,
                "--export",
                export.to_str().unwrap(),
                "--json",
            ],
        ));

        // Every row of every split, as predicted at fit time.
        let mut at_fit = Vec::new();
        for split in ["train", "validation", "test"] {
            let csv = export.join(format!("{split}.csv"));
            ok(&lore(
                &root,
                &[
                    "data",
                    "convert",
                    export.join(format!("{split}.parquet")).to_str().unwrap(),
                    csv.to_str().unwrap(),
                ],
            ));
            at_fit.extend(numbers(&csv, fitted));
        }
        assert_eq!(
            at_fit.len(),
            3000,
            "{model}: every sample row is in a split"
        );

        // The same rows raw, through `lore predict`: the same numbers, bit for bit.
        let raw = root.join(format!("{model}-raw.csv"));
        let mut args = vec!["-q", "extract", extract, "--output", raw.to_str().unwrap()];
        args.extend(params);
        ok(&lore(&root, &args));
        let predicted = root.join(format!("{model}-predicted.csv"));
        ok(&lore(
            &root,
            &[
                "-q",
                "predict",
                model,
                "--input",
                raw.to_str().unwrap(),
                "--output",
                predicted.to_str().unwrap(),
            ],
        ));
        let (names, model_classes) = match model {
            "Segments" => (
                classes.iter().map(|c| format!("probability_{c}")).collect(),
                classes.clone(),
            ),
            "SubscribersDeclared" => (vec!["probability".to_string()], vec![]),
            _ => (vec!["prediction".to_string()], vec![]),
        };
        let by_predict = numbers(&predicted, &names);
        assert_eq!(
            sorted(by_predict.clone()),
            sorted(at_fit),
            "{model}: lore predict on the raw rows gives the numbers of the fit"
        );
        served.insert(model, (records(&raw), by_predict, model_classes));

        // Python's xgboost on the exported encoded rows: the numbers of the fit.
        if let Some(python) = &python {
            booster_in_python(python, &out, &export);
        }
    }

    // The API on the same rows, row by row: 50 a request (the row path) and all 3,000 in one
    // (the frame path).
    let (_server, port) = api(&root, &[]);
    for (model, (records, by_predict, classes)) in &served {
        let path = format!("/models/{model}/predict");
        let mut few = Vec::new();
        for chunk in records.chunks(50) {
            let (status, body) = http(port, "POST", &path, &Value::from(chunk).to_string());
            assert_eq!(status, 200, "{model}: {body}");
            few.extend(answered(&body, classes));
        }
        assert_eq!(&few, by_predict, "{model}: the API, 50 rows a request");
        let (status, body) = http(
            port,
            "POST",
            &path,
            &Value::from(records.clone()).to_string(),
        );
        assert_eq!(status, 200, "{model}: {body}");
        assert_eq!(
            &answered(&body, classes),
            by_predict,
            "{model}: the API, every row in one request"
        );
    }
}
