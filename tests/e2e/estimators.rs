//! The estimators besides XGBoost: linfa's, the neural network (cargo feature `torch`), k-means.

use super::*;

#[test]
fn linfa_estimators_fit_the_sample_and_a_number_and_predict_after_reloading() {
    let root = project("linfa", "classic", 20000);
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    let (pipeline, _) = declared.split_once("[estimator]").unwrap();
    let text_pipeline = pipeline
        .split_once("[[pipeline.encoders]]")
        .unwrap()
        .0
        .to_string()
        + "[[pipeline.encoders]]\ntype = \"Text\"\ncolumn = \"email\"\nmax_features = 30\n\
           minimum_occurrences = 20\n\n[pipeline.output]\ntype = \"Boolean\"\ncolumn = \"has_subscription\"\n\n";
    put(&root, "rows.csv", TWO_USERS);
    // (model, its pipeline, estimator table, the least test AUC: above a constant's 0.5)
    let classifiers = [
        ("Logistic", pipeline, "type = \"LogisticRegression\"", 0.65),
        ("Gaussian", pipeline, "type = \"GaussianNB\"", 0.6),
        (
            "Tree",
            pipeline,
            "type = \"DecisionTree\"\nmax_depth = 5",
            0.6,
        ),
        (
            "Forest",
            pipeline,
            "type = \"RandomForest\"\nn_estimators = 30\nmax_depth = 6",
            0.65,
        ),
        ("Margin", pipeline, "type = \"Svm\"\nmax_rows = 2000", 0.6),
        (
            "Words",
            text_pipeline.as_str(),
            "type = \"MultinomialNB\"",
            0.52,
        ),
    ];
    for (model, pipeline, estimator, least) in classifiers {
        let file = format!("src/models/{}.toml", model.to_lowercase());
        put(
            &root,
            &file,
            format!("{pipeline}[estimator]\n{estimator}\n"),
        );
        let out: Value = ok_json(&lore(&root, &["-q", "fit", model, "--json"]));
        let auc = out["stats"]["test"]["auc"].as_f64().unwrap();
        assert!(auc > least, "{model}: test AUC {auc}");
        assert!(PathBuf::from(out["path"].as_str().unwrap())
            .join("model.linfa.json")
            .is_file());
        let predictions = ok(&lore(&root, &["predict", model, "--input", "rows.csv"]));
        assert_eq!(predictions.lines().count(), 3, "{model}: {predictions}");
    }

    // A number: least squares, plain and penalised, beats the mean.
    for (model, estimator, extra) in [
        ("Spend", "LinearRegression", ""),
        ("Shrunk", "ElasticNet", "penalty = 0.05"),
        ("Kernel", "Svm", "max_rows = 2000"),
    ] {
        put(
            &root,
            format!("src/models/{}.toml", model.to_lowercase()),
            activity_model("users", "type = \"Pass\"\ncolumn = \"sessions_30d\"", extra)
                .replace("type = \"XGBoost\"", &format!("type = \"{estimator}\""))
                .replace(USERS, LIMITED_USERS),
        );
        let out: Value = ok_json(&lore(&root, &["-q", "fit", model, "--json"]));
        assert!(
            out["stats"]["test"]["r2"].as_f64().unwrap() > 0.05,
            "{model}: {out}"
        );
        let predictions = ok(&lore(&root, &["predict", model, "--input", "rows.csv"]));
        assert_eq!(predictions.lines().count(), 3, "{model}: {predictions}");
    }

    // Counts only for MultinomialNB; classes only for a classifier; no SHAP without XGBoost.
    put(
        &root,
        "src/models/negative.toml",
        format!("{pipeline}[estimator]\ntype = \"MultinomialNB\"\n"),
    );
    refuses(&root, &["fit", "Negative"], &["negative values"]);
    put(
        &root,
        "src/models/wrong.toml",
        format!("{pipeline}[estimator]\ntype = \"LinearRegression\"\n"),
    );
    refuses(
        &root,
        &["fit", "Wrong"],
        &["estimator.type", "LinearRegression"],
    );
    refuses(
        &root,
        &["predict", "Logistic", "--input", "rows.csv", "--explain"],
        &["XGBoost"],
    );
}

/// The extract line of an [`activity_model`] of `users`.
const USERS: &str = "sql = \"users\"";
/// The same line with the `users` extract's `limit` given.
const LIMITED_USERS: &str = "sql = \"users\"\nparams = { limit = 100000 }";

/// The sample's declared model with its estimator table replaced by `estimator`.
fn declared_with(root: &Path, estimator: &str) -> String {
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    let (pipeline, _) = declared.split_once("[estimator]").unwrap();
    format!("{pipeline}[estimator]\n{estimator}\n")
}

#[cfg(feature = "torch")]
#[test]
fn a_neural_network_learns_codes_and_numbers_and_predicts_after_reloading() {
    let root = project("network", "deep", 20000);
    put(&root, "src/models/deep.toml", declared_with(
            &root,
            "type = \"NeuralNetwork\"\nhidden_width = 32\nbatch_size = 128\nepochs = 10\ndevice = \"cpu\"",
        ));
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "Deep", "--json"]));
    let stats = &out["stats"];
    let auc = stats["test"]["auc"].as_f64().unwrap();
    assert!(auc > 0.68, "test AUC {auc}");
    // Early stopping keeps the best epoch: the fit runs every epoch, or stops `patience` (3)
    // epochs after the best one.
    let (best, rounds) = (
        stats["best_iteration"].as_u64().unwrap(),
        stats["rounds"].as_u64().unwrap(),
    );
    assert!(rounds == 10 || rounds == best + 1 + 3, "{stats}");
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    let shape: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("model.network.json")).unwrap())
            .unwrap();
    let embedded = items(&shape["inputs"])
        .iter()
        .filter(|i| i.get("Embedded").is_some())
        .count();
    assert!(embedded >= 3, "the sample's codes are embedded: {shape}");
    assert!(fitting.join("model.safetensors").is_file());
    assert!(fitting.join("learning_curve.svg").is_file());

    // Each `lore predict` loads the saved network afresh.
    put(&root, "rows.csv", TWO_USERS);
    let first = ok(&lore(&root, &["predict", "Deep", "--input", "rows.csv"]));
    let second = ok(&lore(&root, &["predict", "Deep", "--input", "rows.csv"]));
    assert_eq!(first.lines().count(), 3, "{first}");
    assert_eq!(first, second, "a reloaded network predicts the same");

    // A number, in its own units.
    put(
        &root,
        "src/models/sessions.toml",
        activity_model(
            "users",
            "type = \"Pass\"\ncolumn = \"sessions_30d\"",
            "batch_size = 128\nepochs = 10\ndevice = \"cpu\"",
        )
        .replace("type = \"XGBoost\"", "type = \"NeuralNetwork\"")
        .replace(USERS, LIMITED_USERS),
    );
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "Sessions", "--json"]));
    assert!(out["stats"]["test"]["r2"].as_f64().unwrap() > 0.05, "{out}");
}

#[cfg(not(feature = "torch"))]
#[test]
fn a_neural_network_without_libtorch_says_how_to_enable_it() {
    let root = project("no-torch", "plain", 1000);
    put(
        &root,
        "src/models/deep.toml",
        declared_with(&root, "type = \"NeuralNetwork\""),
    );
    let err = failed(&lore(&root, &["fit", "Deep"]));
    holds(&err, &["--features lore-cli/torch", "scripts/torch"]);
    assert!(!err.contains("extracting"), "read data: {err}");
}

#[test]
fn k_means_groups_rows_without_labels_and_predict_gives_the_cluster() {
    let root = project("kmeans", "groups", 5000);
    let model = activity_model("users", "type = \"Cluster\"", "n_clusters = 4\nn_runs = 3")
        .replace("type = \"XGBoost\"", "type = \"KMeans\"")
        .replace(USERS, LIMITED_USERS);
    put(&root, "src/models/segments.toml", &model);
    let out: Value = ok_json(&lore(&root, &["-q", "fit", "Segments", "--json"]));
    let stats = &out["stats"];
    assert_eq!(stats["task"], "Clustering", "{stats}");
    assert_eq!(stats["scoring"], "silhouette");
    let test = &stats["test"];
    let silhouette = test["silhouette"].as_f64().unwrap();
    assert!(silhouette > 0.0 && silhouette <= 1.0, "{test}");
    assert!(test["inertia"].as_f64().unwrap() > 0.0, "{test}");
    let sizes: Vec<u64> = serde_json::from_value(test["cluster_sizes"].clone()).unwrap();
    assert_eq!(sizes.iter().sum::<u64>(), test["rows"].as_u64().unwrap());
    assert!(sizes.len() <= 4 && sizes.iter().filter(|n| **n > 0).count() >= 2);

    put(
        &root,
        "rows.csv",
        "orders,basket_value\n1,5.5\n12,55.5\n300,900\n",
    );
    let predictions = ok(&lore(
        &root,
        &["predict", "Segments", "--input", "rows.csv"],
    ));
    let header = predictions.lines().next().unwrap();
    assert!(
        header.contains("prediction")
            && header.contains("distance")
            && header.contains("silhouette"),
        "{predictions}"
    );
    for line in predictions.lines().skip(1) {
        let cluster: u32 = line.split(',').next().unwrap().parse().unwrap();
        assert!(cluster < 4, "{predictions}");
    }

    // KMeans learns no labels, and a labelled estimator cannot learn from a Cluster output.
    put(
        &root,
        "src/models/mixed.toml",
        model.replace("type = \"Cluster\"", "type = \"Pass\"\ncolumn = \"orders\""),
    );
    refuses(&root, &["fit", "Mixed"], &["estimator.type", "Cluster"]);
    put(
        &root,
        "src/models/labelled.toml",
        activity_model("users", "type = \"Cluster\"", "").replace(USERS, LIMITED_USERS),
    );
    refuses(&root, &["fit", "Labelled"], &["XGBoost learns from labels"]);
}

#[test]
fn every_fit_shows_the_baseline_beside_the_model_and_a_baseline_model_scores_it() {
    let d = demo();
    let model = &d.rust["stats"];
    let baseline = &model["baseline"];
    assert_eq!(
        baseline["rows"], model["test"]["rows"],
        "the same test rows"
    );
    // A constant ranks nothing: AUC one half, as scikit-learn's DummyClassifier scores.
    assert_eq!(baseline["auc"].as_f64(), Some(0.5));
    assert!(model["test"]["auc"].as_f64().unwrap() > 0.7);
    let report =
        std::fs::read_to_string(Path::new(d.rust["path"].as_str().unwrap()).join("report.md"))
            .unwrap();
    let row = report
        .lines()
        .find(|l| l.starts_with("| test, baseline (prior) | 9000 |"))
        .unwrap_or_else(|| panic!("the report puts the baseline under the test row: {report}"));
    holds(row, &["| 0.5000 |"]);
    let runs = ok(&lore(
        &d.root,
        &["runs", "--model", "Subscribers", "--kind", "fit"],
    ));
    let header = runs.lines().next().unwrap_or_default();
    assert!(
        header.contains("score") && header.contains("baseline"),
        "{runs}"
    );
    let row = runs.lines().nth(1).unwrap_or_default();
    assert!(row.contains("auc 0.") && row.contains(" 0.5000 "), "{runs}");

    let root = project("baseline", "prior", 20000);
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    let (pipeline, _) = declared.split_once("[estimator]").unwrap();
    put(
        &root,
        "src/models/prior.toml",
        format!("{pipeline}[estimator]\ntype = \"Baseline\"\n"),
    );
    let text = ok(&lore(&root, &["-q", "fit", "Prior"]));
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no {name} line: {text}"))
    };
    assert_eq!(
        line("test"),
        line("baseline"),
        "a Baseline model scores exactly its own baseline: {text}"
    );
    put(&root, "rows.csv", TWO_USERS);
    let predictions = ok(&lore(&root, &["predict", "Prior", "--input", "rows.csv"]));
    let values: Vec<&str> = predictions.lines().skip(1).collect();
    assert_eq!(values.len(), 2, "{predictions}");
    assert_eq!(
        values[0], values[1],
        "the prior whatever the row: {predictions}"
    );
    let err = failed(&lore(
        &root,
        &["fit", "Prior", "--param", "estimator.strategy=mean"],
    ));
    holds(
        &err,
        &["estimator.strategy", "prior, most_frequent, uniform"],
    );
}
