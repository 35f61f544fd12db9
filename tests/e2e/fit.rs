//! Initialising a project and fitting its models: the sample's AUC, the declared and the Rust model alike, streamed fits, searches, reuse of identical fits, and the errors of a bad spec or parameter.

use super::*;

#[test]
fn init_then_fit_reaches_the_expected_auc_and_saves_a_fitting() {
    let d = demo();
    let auc = d.rust["stats"]["test"]["auc"].as_f64().unwrap();
    assert!(auc >= 0.70, "test AUC {auc} on the 100,000-row sample");
    assert_eq!(d.rust["stats"]["test"]["rows"], 9000);
    let dir = Path::new(d.rust["path"].as_str().unwrap());
    for file in [
        "params.json",
        "stats.json",
        "pipeline.json",
        "model.json",
        "report.md",
        "roc.svg",
        "importance.svg",
        "learning_curve.svg",
    ] {
        assert!(dir.join(file).is_file(), "fitting has no {file}");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("| `Unique(first_name)` |")
            && report.contains("| `Norm(basket_value)` | numbers |"),
        "the report lists every feature with its codes: {report}"
    );
    let booster: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert!(
        booster["learner"].is_object(),
        "model.json is XGBoost's own JSON model"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary fitting folders left behind"
    );
    let logs: String = std::fs::read_dir(d.root.join("logs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        logs.contains("extracted") && logs.contains("users.sql"),
        "the fit is logged under logs/: {logs}"
    );
}

#[test]
fn declared_and_rust_models_give_the_same_test_auc() {
    let d = demo();
    assert_eq!(
        d.declared["stats"]["test"]["auc"],
        d.rust["stats"]["test"]["auc"]
    );
    assert_eq!(
        d.declared["stats"]["best_iteration"],
        d.rust["stats"]["best_iteration"]
    );
    let table = ok(&lore(
        &d.root,
        &[
            "fit",
            "SubscribersDeclared",
            "--param",
            "limit=20000",
            "--param",
            "max_depth=2",
        ],
    ));
    holds(&table, &["validation", "best iteration"]);
    assert!(
        table.contains(" 1800 "),
        "test split of 20,000 rows is 1,800: {table}"
    );
}

#[test]
fn bad_params_list_the_valid_ones() {
    let d = demo();
    let err = failed(&lore(
        &d.root,
        &["fit", "SubscribersDeclared", "--param", "depth=2"],
    ));
    holds(
        &err,
        &[
            "`depth`",
            "did you mean `estimator.max_depth`?",
            "the extract's: limit",
        ],
    );
    refuses(
        &d.root,
        &["fit", "SubscribersDeclared", "--param", "max_depth=deep"],
        &["max_depth", "whole number"],
    );
}

#[test]
fn unknown_model_lists_the_models() {
    let d = demo();
    refuses(
        &d.root,
        &["fit", "Nope"],
        &["Nope", "Subscribers", "SubscribersDeclared"],
    );
    // A typo is refused at once, with the model meant, and nothing is built for it.
    let err = failed(&lore(&d.root, &["fit", "Subscriber"]));
    holds(
        &err,
        &["no model named `Subscriber`", "did you mean `Subscribers`?"],
    );
    assert!(!err.contains("Building"), "{err}");
    refuses(
        &d.root,
        &["predict", "Subscriber", "--input", "x.csv"],
        &["no model named `Subscriber`", "did you mean `Subscribers`?"],
    );
}

#[test]
fn outside_a_project_commands_say_how_to_start() {
    let dir = workdir("outside");
    refuses(&dir, &["fit", "Subscribers"], &["Lore.toml", "lore init"]);
    refuses(&dir, &["init", "bad name"], &["not a valid project name"]);
}

#[test]
fn lore_runs_without_a_library_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_lore"))
        .arg("--version")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("lore runs");
    assert!(
        out.status.success(),
        "lore needs LD_LIBRARY_PATH: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("lore "));
}

#[test]
fn a_streamed_fit_reads_in_batches_and_leaves_no_spill_behind() {
    let d = demo();
    let out: Value = ok_json(&lore(
        &d.root,
        &[
            "fit",
            "SubscribersDeclared",
            "--param",
            "batch_rows=15000",
            "--json",
        ],
    ));
    let stats = &out["stats"];
    let rows: Vec<u64> = ["train", "validation", "test"]
        .iter()
        .map(|s| stats[*s]["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows.iter().sum::<u64>(), 100_000, "{stats}");
    assert!(
        (8_000..10_000).contains(&rows[2]),
        "test share about 9%: {rows:?}"
    );
    assert!(stats["test"]["auc"].as_f64().unwrap() >= 0.70, "{stats}");
    let params: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(out["path"].as_str().unwrap()).join("params.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(params["pipeline"]["extract"]["batch_rows"], 15000);
    let spill: Vec<_> = std::fs::read_dir(d.root.join("data/cache"))
        .map(|r| {
            r.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".spill"))
                .collect()
        })
        .unwrap_or_default();
    assert!(spill.is_empty(), "spill folders left behind");
}

#[test]
fn spec_mistakes_are_errors_naming_the_file_line_and_column() {
    let root = project("spec-errors", "oops", 1000);
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    // (model, its TOML, the line (from 1) that is at fault, what the error says, its hint)
    let line_of =
        |text: &str, needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    let misspelled = declared.replacen("type = \"Quantile\"", "type = \"Quantiel\"", 1);
    let wrong_column =
        declared.replacen("column = \"basket_value\"", "column = \"basket_valeu\"", 1);
    let wrong_type = declared
        .replacen(
            "type = \"LogPlusOne\"\ncolumn = \"orders\"",
            "type = \"LogPlusOne\"\ncolumn = \"email\"",
            1,
        )
        .replacen(
            "column = \"LogPlusOne(orders)\"",
            "column = \"LogPlusOne(email)\"",
            1,
        );
    let cases = [
        (
            "MisspelledEncoder",
            line_of(&misspelled, "\"Quantiel\""),
            &misspelled,
            "unknown variant `Quantiel`",
            "did you mean `Quantile`?",
        ),
        (
            "WrongColumn",
            line_of(&wrong_column, "\"basket_valeu\""),
            &wrong_column,
            "missing column `basket_valeu`",
            "did you mean `basket_value`?",
        ),
        (
            "WrongType",
            line_of(&wrong_type, "type = \"LogPlusOne\"") + 1,
            &wrong_type,
            "transformer LogPlusOne(email) needs numbers",
            "column `email`",
        ),
    ];
    for (model, line, text, what, hint) in cases {
        assert_ne!(text, &declared, "{model}: the template changed");
        let file = match model {
            "MisspelledEncoder" => "src/models/misspelled_encoder.toml",
            "WrongColumn" => "src/models/wrong_column.toml",
            _ => "src/models/wrong_type.toml",
        };
        put(&root, file, text);
        let err = failed(&lore(&root, &["fit", model]));
        // The value at fault starts after `type = ` (column 8) or `column = ` (column 10).
        let column = if model == "MisspelledEncoder" { 8 } else { 10 };
        assert!(
            err.contains(&format!("{file}: line {line}, column {column}:"))
                && err.contains(what)
                && err.contains(hint),
            "{model}: {err}"
        );
        std::fs::remove_file(root.join(file)).unwrap();
    }
}

#[test]
fn bad_estimator_parameters_fail_before_training_naming_the_parameter() {
    let root = project("bad-estimator", "bad", 1000);
    let cases: [(&[&str], &str); 4] = [
        (&["max_depth=-1"], "estimator.max_depth"),
        (&["objective=binary:nonsense"], "binary:nonsense"),
        (&["objective=reg:squarederror"], "Boolean(has_subscription)"),
        (&["scoring=rmse"], "scoring"),
    ];
    for (params, named) in cases {
        let mut args = vec!["fit", "SubscribersDeclared"];
        for p in params {
            args.extend(["-p", p]);
        }
        let err = failed(&lore(&root, &args));
        assert!(err.contains(named), "{params:?}: {err}");
        assert!(!err.contains("extracting"), "{params:?} read data: {err}");
    }
    assert!(
        !root.join("models/SubscribersDeclared").exists(),
        "no fitting is written"
    );
    // A value out of range is blamed on the --param that set it, not on the TOML.
    let err = failed(&lore(
        &root,
        &["fit", "SubscribersDeclared", "-p", "learning_rate=5"],
    ));
    holds(&err, &["set by --param learning_rate=5"]);
    assert!(!err.contains("line "), "{err}");
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    put(
        &root,
        "src/models/deep.toml",
        declared.replace("max_depth = 3", "max_depth = -1"),
    );
    refuses(&root, &["fit", "Deep"], &["deep.toml", "max_depth"]);
}

#[test]
fn a_search_records_every_trial_and_keeps_one_better_than_the_defaults() {
    let root = project("search", "tune", 20000);
    let search_with = |more: &[&str]| {
        let args = ["-q", "fit", "SubscribersDeclared", "--json", "--search"];
        ok_json(&lore(&root, &[&args[..], more].concat()))
    };
    let out = search_with(&["20"]);
    let search = &out["search"];
    let trials = search["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 20, "{search}");
    assert!(trials.iter().all(|t| t["score"].is_f64()), "{search}");
    assert_eq!(
        trials[0]["params"]["estimator.max_depth"], 3,
        "trial 0 is the model's own parameters"
    );
    let best = &trials[search["best"].as_u64().unwrap() as usize];
    let best_score = best["score"].as_f64().unwrap();
    assert!(
        best_score > trials[0]["score"].as_f64().unwrap(),
        "the best trial beats the defaults: {search}"
    );
    assert!(trials
        .iter()
        .all(|t| t["score"].as_f64().unwrap() <= best_score));
    // The kept fitting is the best trial's: its parameters, its validation score, every trial.
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    let params: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("params.json")).unwrap())
            .unwrap();
    assert_eq!(
        params["estimator"]["max_depth"],
        best["params"]["estimator.max_depth"]
    );
    assert_eq!(
        out["stats"]["validation"]["score"].as_f64(),
        Some(best_score)
    );
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("search.json")).unwrap())
            .unwrap();
    assert_eq!(&recorded, search);

    // Other strategies, trials two at a time.
    for strategy in ["random", "grid"] {
        let out = search_with(&["6", "--search-strategy", strategy, "--jobs", "2"]);
        assert_eq!(
            out["search"]["trials"].as_array().unwrap().len(),
            6,
            "{out}"
        );
        assert_eq!(out["search"]["strategy"], strategy);
    }

    // A search without a space, or over a pipeline parameter, is refused before any data is read.
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    let (without, _) = declared.split_once("\n# What `lore fit").unwrap();
    put(&root, "src/models/plain.toml", without);
    refuses(&root, &["fit", "Plain", "--search", "5"], &["[search]"]);
    put(
        &root,
        "src/models/wide.toml",
        format!("{without}\n[search]\nlimit = {{ int = [100, 1000] }}\n"),
    );
    refuses(
        &root,
        &["fit", "Wide", "--search", "5"],
        &["search.limit", "not an estimator parameter"],
    );
    refuses(
        &root,
        &["fit", "Wide", "--search", "5", "--search-strategy", "bayes"],
        &["bayes", "tpe"],
    );
}

#[test]
fn identical_fits_are_reused_and_a_changed_param_or_row_refits() {
    let root = project("reuse", "same", 3000);
    let first = fit_declared(&root, &[]);
    assert_eq!(first["reused"], false);
    assert_eq!(
        first["fingerprint"].as_str().map(str::len),
        Some(64),
        "{first}"
    );
    let again = fit_declared(&root, &[]);
    assert_eq!(again["reused"], true, "{again}");
    assert_eq!(again["fitting_id"], first["fitting_id"]);
    prints(
        &root,
        &["-q", "fit", "SubscribersDeclared", "--tag", "team=growth"],
        &[
            "Reused fitting",
            "--force",
            "tagged its run team=growth",
            "fit when it was made",
        ],
    );
    let fittings = || {
        std::fs::read_dir(root.join("models/SubscribersDeclared"))
            .unwrap()
            .count()
    };
    assert_eq!(fittings(), 1, "reusing writes no fitting");

    let param = fit_declared(&root, &["-p", "max_depth=5"]);
    assert_eq!(param["reused"], false, "a changed param refits");
    let forced = fit_declared(&root, &["--force"]);
    assert_eq!(forced["reused"], false);
    assert_ne!(forced["fitting_id"], first["fitting_id"]);

    // The latest identical fit is reproduced exactly from its saved spec.
    let id = forced["fitting_id"].as_str().unwrap();
    prints(
        &root,
        &["-q", "reproduce", id],
        &["the extract gave the same rows", "metrics match"],
    );

    // One row of the data changed: the fingerprint differs, so it refits.
    ok(&lore(
        &root,
        &["sql", "UPDATE users SET orders = orders + 7 WHERE id = 5"],
    ));
    let changed = fit_declared(&root, &[]);
    assert_eq!(changed["reused"], false, "a changed row refits: {changed}");
    assert_ne!(changed["fingerprint"], first["fingerprint"]);
    assert_eq!(
        fit_declared(&root, &[])["fitting_id"],
        changed["fitting_id"]
    );
    let out: Value =
        serde_json::from_str(&lore_status(&root, &["-q", "reproduce", id, "--json"], 1)).unwrap();
    assert_eq!(out["same_data"], false, "{out}");
    assert_eq!(out["matches"], false, "{out}");
    refuses(
        &root,
        &["reproduce", "20990101-000000-0000"],
        &["no fitting `20990101-000000-0000`"],
    );
}

#[test]
fn every_fitting_has_a_report_page_that_draws_each_chart_in_a_browser() {
    let root = project("report", "reported", 3000);
    let fitted = fit_declared(&root, &[]);
    let page = PathBuf::from(ok(&lore(&root, &["report"])).trim());
    assert_eq!(page.file_name().unwrap(), "report.html");
    assert!(
        page.starts_with(fitted["path"].as_str().unwrap()),
        "{}",
        page.display()
    );
    let named = ok(&lore(
        &root,
        &[
            "report",
            "SubscribersDeclared",
            fitted["fitting_id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(PathBuf::from(named.trim()), page);
    let html = std::fs::read_to_string(&page).unwrap();
    holds(
        &html,
        &[
            "data-expected=\"6\"",
            "baseline (prior)",
            "Precision and recall",
            "Calibration",
            "Confusion",
            "<h2>Data</h2>",
            "first_name",
        ],
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the page fetches nothing"
    );
    // ROC, precision-recall, calibration, confusion, importance and the learning curve.
    page_in_a_browser(&page, &["data-charts=\"6\"", "baseline (prior)"]);
    refuses(
        &root,
        &["report", "SubscribersDeclare"],
        &["did you mean `SubscribersDeclared`?"],
    );
}
