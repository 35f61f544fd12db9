//! `lore predict` and `lore evaluate` on files: yes/no, several classes and numbers, explained and exported.

use super::*;

#[test]
fn predict_prints_one_row_per_input_and_names_missing_columns() {
    let d = demo();
    let csv = d.root.join("some.csv");
    std::fs::write(
        &csv,
        "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d\n\
         John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4\n\
         Mary,mary2@aol.com,2017-11-20 08:00:00,2017-12-01 10:00:00,0,,1\n\
         ,x@instacart.com,2016-03-03 00:00:00,2018-12-01 00:00:00,40,80,9\n",
    )
    .unwrap();
    let out = ok(&lore(
        &d.root,
        &["predict", "Subscribers", "--input", "some.csv"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "prediction,probability");
    // Input columns kept beside the answers, to join them back; and which fitting answered.
    let predict = |keep: &str| {
        let args = [
            "predict",
            "Subscribers",
            "--input",
            "some.csv",
            "--keep",
            keep,
        ];
        lore(&d.root, &args)
    };
    let kept = predict("first_name,orders");
    let kept_out = ok(&kept);
    assert!(
        kept_out.starts_with("first_name,orders,prediction,probability\nJohn,12,"),
        "{kept_out}"
    );
    holds(
        &String::from_utf8_lossy(&kept.stderr),
        &["using fitting", "the latest"],
    );
    holds(
        &failed(&predict("id")),
        &["--keep id", "some.csv has no column `id`"],
    );
    assert_eq!(lines.len(), 4, "{out}");
    for line in &lines[1..] {
        let p: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{line}");
    }
    let jsonl = d.root.join("predictions.jsonl");
    ok(&lore(
        &d.root,
        &[
            "predict",
            "SubscribersDeclared",
            "--input",
            "some.csv",
            "--output",
            "predictions.jsonl",
        ],
    ));
    assert_eq!(std::fs::read_to_string(jsonl).unwrap().lines().count(), 3);

    put(
        &d.root,
        "missing.csv",
        "first_name,email\nJohn,j@gmail.com\n",
    );
    let err = failed(&lore(
        &d.root,
        &["predict", "Subscribers", "--input", "missing.csv"],
    ));
    holds(&err, &["missing column", "missing.csv"]);
    assert!(
        err.contains("`signup_date`") || err.contains("`orders`"),
        "{err}"
    );
}

#[test]
fn a_fitting_whose_encoders_coded_differently_is_refused_with_what_to_do() {
    let root = project("old-fitting", "old", 3000);
    let out: Value = ok_json(&lore(
        &root,
        &["-q", "fit", "SubscribersDeclared", "--json"],
    ));
    let pipeline = Path::new(out["path"].as_str().unwrap()).join("pipeline.json");
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&pipeline).unwrap()).unwrap();
    assert_eq!(saved["encoding"], 2);
    saved.as_object_mut().unwrap().remove("encoding");
    std::fs::write(&pipeline, saved.to_string()).unwrap();
    // A fitting from before encoding versions also predates manifests.
    std::fs::remove_file(pipeline.with_file_name("manifest.json")).unwrap();
    put(
        &root,
        "one.csv",
        "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d
         John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4
",
    );
    let err = failed(&lore(
        &root,
        &["predict", "SubscribersDeclared", "--input", "one.csv"],
    ));
    holds(
        &err,
        &["pipeline.json", "version 1", "lore fit SubscribersDeclared"],
    );
}

#[test]
fn a_one_hot_encoder_fits_predicts_and_names_its_features() {
    let root = project("one-hot", "hot", 5000);
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    let one_hot = declared.replace(
        "type = \"Unique\"\ncolumn = \"EmailDomain(email)\"\nminimum_occurrences = 50",
        "type = \"OneHot\"\ncolumn = \"EmailDomain(email)\"\nminimum_occurrences = 50",
    );
    assert_ne!(
        one_hot, declared,
        "the template has the Unique(EmailDomain) encoder"
    );
    put(&root, "src/models/hot_mail.toml", one_hot);
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "HotMail", "--json"]));
    has_feature(&out, "OneHot(EmailDomain(email))=gmail.com");
    put(&root, "two.csv", TWO_USERS);
    let predictions = ok(&lore(&root, &["predict", "HotMail", "--input", "two.csv"]));
    assert_eq!(predictions.lines().count(), 3, "{predictions}");

    // A sparse Text encoder, in a fit that streams the extract in batches.
    let text = declared
        .replace(
            "type = \"Unique\"\ncolumn = \"EmailDomain(email)\"\nminimum_occurrences = 50",
            "type = \"Text\"\ncolumn = \"email\"\nmax_features = 20\nminimum_occurrences = 20",
        )
        .replace(
            "params = { limit = 1000000 }",
            "params = { limit = 1000000 }\nbatch_rows = 2000",
        );
    assert!(text.contains("batch_rows") && text.contains("\"Text\""));
    put(&root, "src/models/text_mail.toml", text);
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "TextMail", "--json"]));
    has_feature(&out, "Text(email)=gmail");
    assert!(out["stats"]["test"]["auc"].as_f64().unwrap() > 0.6, "{out}");
    let predictions = ok(&lore(&root, &["predict", "TextMail", "--input", "two.csv"]));
    assert_eq!(predictions.lines().count(), 3, "{predictions}");
}

#[test]
fn classes_and_numbers_are_fitted_evaluated_explained_and_exported() {
    let root = project("tasks", "tasks", 5000);
    write_segment_models(&root);

    // Several classes: better than always answering the commonest, in accuracy and log-loss.
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "Segments", "--json"]));
    let test = &out["stats"]["test"];
    assert_eq!(
        out["stats"]["task"],
        serde_json::json!({"MultiClass": {"classes": 3}})
    );
    assert_eq!(out["stats"]["scoring"], "log_loss");
    let confusion: Vec<Vec<f64>> = serde_json::from_value(test["confusion"].clone()).unwrap();
    let per_class: Vec<f64> = confusion.iter().map(|r| r.iter().sum()).collect();
    let rows: f64 = per_class.iter().sum();
    assert_eq!(rows, test["rows"].as_f64().unwrap());
    let majority = per_class.iter().cloned().fold(0.0, f64::max) / rows;
    let prior_log_loss: f64 = per_class
        .iter()
        .map(|n| -(n / rows) * (n / rows).ln())
        .sum();
    assert!(test["accuracy"].as_f64().unwrap() > majority, "{test}");
    assert!(
        test["log_loss"].as_f64().unwrap() < prior_log_loss,
        "{test}"
    );
    assert_eq!(test["score"], test["log_loss"]);
    assert!(test["macro_avg"]["f1"].as_f64().unwrap() > 0.0, "{test}");

    // A number: better than its mean (R² above 0), saved as UBJ.
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "Sessions", "--json"]));
    let test = &out["stats"]["test"];
    assert_eq!(out["stats"]["task"], "Regression");
    assert!(test["r2"].as_f64().unwrap() > 0.0, "{test}");
    assert_eq!(test["score"], test["rmse"]);
    assert!(test.get("auc").is_none(), "{test}");
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    assert!(fitting.join("model.ubj").is_file());
    assert!(fitting.join("predicted.svg").is_file());
    let report = std::fs::read_to_string(fitting.join("report.md")).unwrap();
    holds(&report, &["RMSE", "regression"]);

    // Predictions, explained: the contributions and the bias add up to the number predicted.
    put(
        &root,
        "rows.csv",
        "orders,basket_value,sessions_30d,segment\n0,20.5,0,light\n30,80,7,heavy\n12,,3,regular\n",
    );
    let out = ok(&lore(
        &root,
        &["predict", "Sessions", "--input", "rows.csv", "--explain"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "prediction,shap_Norm(orders),shap_Norm(basket_value),shap_bias",
        "{out}"
    );
    for line in &lines[1..] {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert!((v[1] + v[2] + v[3] - v[0]).abs() < 1e-3, "{line}");
    }
    let out = ok(&lore(
        &root,
        &["predict", "Segments", "--input", "rows.csv"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "prediction,probability,probability_heavy,probability_light,probability_regular"
    );
    for line in &lines[1..] {
        let class = line.split(',').next().unwrap();
        assert!(["heavy", "light", "regular"].contains(&class), "{line}");
    }

    // Evaluated on new labelled rows; rows without the label are refused, naming the column.
    let out: Value = ok_json(&lore(
        &root,
        &["evaluate", "Segments", "--input", "rows.csv", "--json"],
    ));
    assert_eq!(out["stats"]["rows"], 3);
    assert!(out["stats"]["accuracy"].as_f64().is_some(), "{out}");
    prints(
        &root,
        &["evaluate", "Sessions", "--input", "rows.csv"],
        &["RMSE", "input"],
    );
    put(&root, "unlabelled.csv", "orders,basket_value\n3,20\n");
    refuses(
        &root,
        &["evaluate", "Sessions", "--input", "unlabelled.csv"],
        &["`sessions_30d`", "unlabelled.csv"],
    );

    // The encoded splits, exported with labels and predictions; Python's own xgboost loads each
    // booster and predicts exactly what Lore did.
    let python = python();
    for (model, header) in [
        (
            "Sessions",
            "Norm(orders),Norm(basket_value),label,prediction\n",
        ),
        (
            "Segments",
            "Norm(orders),Norm(basket_value),label,prediction_heavy,prediction_light,prediction_regular\n",
        ),
        ("SubscribersDeclared", "Unique(first_name),"),
    ] {
        let export = format!("encoded/{model}");
        let out: Value = ok_json(&lore(
            &root,
            &["-q", "fit", model, "--export", &export, "--json"],
        ));
        for file in ["train.parquet", "validation.parquet", "test.parquet"] {
            let csv = format!("{export}/{file}.csv");
            ok(&lore(
                &root,
                &["data", "convert", &format!("{export}/{file}"), &csv],
            ));
            let csv = std::fs::read_to_string(root.join(csv)).unwrap();
            assert!(
                csv.starts_with(header),
                "{model} {file}: {}",
                &csv[..120.min(csv.len())]
            );
        }
        if let Some(python) = &python {
            booster_in_python(python, &out, &root.join(&export));
        }
    }
}

/// Fails unless the features of a fit's `--json` output name `feature`.
#[track_caller]
fn has_feature(out: &Value, feature: &str) {
    let names: Vec<&str> = items(&out["stats"]["importance"])
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert!(names.contains(&feature), "{feature} not in {names:?}");
}
