//! `lore runs`: every fitting recorded, found by filters, shown, compared and exported.

use super::*;

#[test]
fn runs_lists_every_fitting() {
    let d = demo();
    let runs: Value = ok_json(&lore(&d.root, &["runs", "--json"]));
    let ids: Vec<&str> = items(&runs)
        .iter()
        .map(|r| r["fitting_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&d.rust["fitting_id"].as_str().unwrap())
            && ids.contains(&d.declared["fitting_id"].as_str().unwrap()),
        "{runs}"
    );
    // A key no run has is refused with the one meant, not shown as `-` or "no runs match".
    refuses(
        &d.root,
        &["runs", "--columns", "metrics.test.aucc"],
        &[
            "no run has the key `metrics.test.aucc`",
            "did you mean `metrics.test.auc`?",
        ],
    );
    refuses(
        &d.root,
        &["runs", "--where", "metrics.tset.auc > 0.5"],
        &["no run has the key `metrics.tset.auc`"],
    );
    prints(&d.root, &["runs"], &["best_round", "test auc 0."]);
}

fn runs_json(root: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["runs", "--json"];
    all.extend_from_slice(args);
    match serde_json::from_str(&ok(&lore(root, &all))).expect("--json prints JSON") {
        Value::Array(runs) => runs,
        other => panic!("not a list: {other}"),
    }
}

#[test]
fn runs_are_documents_found_by_filters_shown_compared_and_exported() {
    let root = project("runs", "tracked", 3000);
    let growth = fit_declared(&root, &["--tag", "team=growth"]);
    let risk = fit_declared(&root, &["-p", "max_depth=5", "--tag", "team=risk"]);
    fit_declared(&root, &["-p", "max_depth=4", "--search", "3"]);

    let found = runs_json(&root, &["--where", "tags.team = 'growth'"]);
    assert_eq!(found.len(), 1, "{found:?}");
    let run = &found[0];
    assert_eq!(run["run_id"], growth["fitting_id"]);
    assert_eq!(run["kind"], "fit");
    assert_eq!(run["data"]["rows"], 3000);
    assert!(run["metrics"]["test"]["auc"].as_f64().is_some(), "{run}");
    assert_eq!(run["params"]["estimator"]["type"], "XGBoost");
    assert!(Path::new(run["artifacts"]["fitting"].as_str().unwrap()).is_dir());
    let found = runs_json(
        &root,
        &[
            "--where",
            "params.estimator.max_depth = 5 and metrics.test.auc > 0.5",
        ],
    );
    assert_eq!(
        found.iter().map(|r| &r["run_id"]).collect::<Vec<_>>(),
        [&risk["fitting_id"]]
    );
    let found = runs_json(
        &root,
        &[
            "--where",
            "metrics.`test.auc` > 0 AND tags.team ILIKE 'GROW%'",
        ],
    );
    assert_eq!(found.len(), 1, "MLflow's syntax: {found:?}");

    let trials = runs_json(&root, &["--kind", "trial"]);
    assert_eq!(trials.len(), 3);
    assert_eq!(
        trials
            .iter()
            .filter(|t| t["search"]["kept"] == true)
            .count(),
        1
    );
    assert!(
        trials
            .iter()
            .all(|t| t["metrics"]["validation"]["auc"].is_number()),
        "{trials:?}"
    );

    let sorted = ok(&lore(
        &root,
        &[
            "runs",
            "--kind",
            "fit",
            "--sort",
            "-metrics.test.auc",
            "--columns",
            "metrics.test.auc",
        ],
    ));
    let aucs: Vec<f64> = sorted
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    assert_eq!(aucs.len(), 3, "{sorted}");
    assert!(aucs.windows(2).all(|w| w[0] >= w[1]), "{sorted}");
    prints(
        &root,
        &["runs", "--limit", "2"],
        &["--limit 0 shows them all"],
    );

    let (a, b) = (
        growth["fitting_id"].as_str().unwrap(),
        risk["fitting_id"].as_str().unwrap(),
    );
    prints(
        &root,
        &["runs", "show", a],
        &["metrics.test.auc = ", "tags.team = \"growth\""],
    );
    let compared = ok(&lore(&root, &["runs", "compare", a, b]));
    assert!(
        compared
            .lines()
            .any(|l| l.starts_with("* params.estimator.max_depth")),
        "{compared}"
    );
    assert!(
        compared.lines().any(|l| l.starts_with("  data.rows")),
        "{compared}"
    );

    let out = ok(&lore(
        &root,
        &[
            "runs", "export", "--format", "csv", "--output", "runs.csv", "--kind", "fit",
        ],
    ));
    assert!(out.is_empty(), "{out}");
    let csv = std::fs::read_to_string(root.join("runs.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    holds(header, &["metrics.test.auc", "params.estimator.max_depth"]);
    assert_eq!(csv.lines().count(), 4, "a header and three fits");
    ok(&lore(
        &root,
        &[
            "runs",
            "export",
            "--format",
            "parquet",
            "--output",
            "runs.parquet",
        ],
    ));
    let converted = ok(&lore(
        &root,
        &["data", "convert", "runs.parquet", "back.csv"],
    ));
    assert!(
        converted.contains("6 rows"),
        "three fits and three trials: {converted}"
    );

    ok(&lore(
        &root,
        &[
            "extract",
            "users",
            "--param",
            "limit=300",
            "--output",
            "labelled.csv",
        ],
    ));
    ok(&lore(
        &root,
        &["evaluate", "SubscribersDeclared", "--input", "labelled.csv"],
    ));
    let evaluated = runs_json(&root, &["--kind", "evaluate"]);
    assert_eq!(evaluated.len(), 1);
    assert_eq!(evaluated[0]["data"]["rows"], 300);
    assert!(
        evaluated[0]["metrics"]["input"]["auc"].is_number(),
        "{:?}",
        evaluated[0]
    );

    refuses(
        &root,
        &["runs", "--where", "metrics.test.auc >> 1"],
        &["--where", "column 19"],
    );
    refuses(&root, &["runs", "show", "nope"], &["no run `nope`"]);
    refuses(
        &root,
        &["runs", "--kind", "bogus"],
        &["bogus", "fit, evaluate, trial"],
    );
    refuses(
        &root,
        &["fit", "SubscribersDeclared", "--tag", "oops"],
        &["--tag oops", "KEY=VALUE"],
    );
}
