//! `lore generate` of each kind and `lore destroy`, and fitting and testing what they made.

use super::*;

#[test]
fn generate_model_then_fit_it() {
    let root = project("generate", "shop", 5000);
    let out = ok(&lore(&root, &["generate", "model", "Churn"]));
    for file in [
        "src/extracts/churn.sql",
        "src/pipelines/churn.rs",
        "src/estimators/churn.rs",
        "src/models/churn.rs",
        "tests/churn.rs",
    ] {
        assert!(
            out.contains(file) && root.join(file).is_file(),
            "{file}: {out}"
        );
    }
    let fitted: Value = ok_json(&lore(&root, &["fit", "Churn", "--json"]));
    assert_eq!(fitted["model"], "Churn");
    refuses(&root, &["generate", "model", "Churn"], &["already exists"]);
    refuses(&root, &["generate", "model", "churn"], &["CamelCase"]);

    // A transformer and an encoder of the project's own, used by name from a TOML model that
    // the stand-alone `lore` hands to the project's binary, where they are registered.
    prints(
        &root,
        &["generate", "transformer", "WordCount"],
        &["src/transformers/word_count.rs"],
    );
    prints(
        &root,
        &["generate", "encoder", "Sorted"],
        &["src/encoders/sorted.rs"],
    );
    refuses(
        &root,
        &["generate", "encoder", "Sorted"],
        &["already exists"],
    );
    let declared = |transformer: &str| {
        format!(
            r#"[pipeline.extract]
sql = "users"
params = {{ limit = 5000 }}

[[pipeline.transformers]]
type = "Custom"
name = "{transformer}"
columns = ["email"]
params = {{ separator = "@" }}

[pipeline.split]
type = "Holdout"

[[pipeline.encoders]]
type = "Custom"
name = "Sorted"
column = "first_name"
params = {{ longest = 3 }}

[[pipeline.encoders]]
type = "Norm"
column = "{transformer}(email)"

[[pipeline.encoders]]
type = "Norm"
column = "basket_value"

[pipeline.output]
type = "Boolean"
column = "has_subscription"

[estimator]
type = "XGBoost"
n_estimators = 20
"#
        )
    };
    put(&root, "src/models/own.toml", declared("WordCount"));
    let fitted: Value = ok_json(&lore(&root, &["fit", "Own", "--json"]));
    let fitting = Path::new(fitted["path"].as_str().unwrap());
    let pipeline: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("pipeline.json")).unwrap())
            .unwrap();
    let sorted = &pipeline["encoders"][0];
    assert_eq!(sorted["name"], "Sorted");
    assert!(
        sorted["learned"]["values"].as_array().is_some_and(
            |v| v.len() > 10 && v.iter().all(|v| v.as_str().unwrap().chars().count() <= 3)
        ),
        "what the encoder learned is saved with the fitting: {sorted}"
    );
    let report = std::fs::read_to_string(fitting.join("report.md")).unwrap();
    holds(
        &report,
        &[
            "| `Norm(WordCount(email))` | numbers |",
            "| `Sorted(first_name)` |",
        ],
    );
    put(
        &root,
        "rows.csv",
        "first_name,email,basket_value\nJohn,john@gmail.com,55.5\n,x@y@z,1\n",
    );
    let out = ok(&lore(&root, &["predict", "Own", "--input", "rows.csv"]));
    assert_eq!(out.lines().count(), 3, "{out}");

    put(&root, "src/models/own.toml", declared("WordCuont"));
    refuses(
        &root,
        &["fit", "Own"],
        &["`WordCuont`", "registered: WordCount"],
    );
}

#[test]
fn one_of_each_generator_passes_lore_test_and_destroy_leaves_the_project_as_it_was() {
    let root = project("generate-each", "kinds", 3000);
    // The first build records the project itself in Cargo.lock; a user commits after it.
    let metadata = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "-q", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .expect("cargo runs");
    assert!(metadata.status.success(), "{metadata:?}");
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "a new project"]);
    let clean = |when: &str| {
        let status = git(&root, &["status", "--porcelain"]);
        assert!(
            status.is_empty(),
            "{when}, git status shows changes:\n{status}"
        );
    };

    let dry = ok(&lore(&root, &["generate", "model", "Churn", "--dry-run"]));
    holds(
        &dry,
        &[
            "would create src/models/churn.rs",
            "would edit src/models/mod.rs",
        ],
    );
    clean("after --dry-run");

    let made = ok(&lore(&root, &["generate", "model", "Churn"]));
    holds(
        &made,
        &[
            "create src/extracts/churn.sql",
            "create tests/churn.rs",
            "edit src/pipelines/mod.rs",
            "edit src/estimators/mod.rs",
            "edit src/models/mod.rs",
        ],
    );
    let each = [
        ("extract", "Orders", "create src/extracts/orders.sql"),
        ("pipeline", "Orders", "create src/pipelines/orders.rs"),
        ("estimator", "Orders", "create src/estimators/orders.rs"),
        (
            "transformer",
            "WordCount",
            "create src/transformers/word_count.rs",
        ),
        ("encoder", "Hashed", "create src/encoders/hashed.rs"),
        (
            "test",
            "SubscribersDeclared",
            "create tests/subscribers_declared.rs",
        ),
    ];
    for (kind, name, says) in each {
        prints(&root, &["generate", kind, name], &[says]);
    }
    let mistakes: [(&[&str], &[&str]); 5] = [
        (
            &["generate", "model", "Churn"],
            &["already exists", "lore destroy model Churn"],
        ),
        (&["generate", "model", "churn"], &["did you mean `Churn`?"]),
        (
            &["generate", "test", "Subscriber"],
            &["did you mean `Subscribers`?"],
        ),
        (&["generate", "modle", "X"], &["model"]),
        (
            &["destroy", "model", "Chrun"],
            &["no model Chrun", "did you mean `Churn`?"],
        ),
    ];
    for (args, says) in mistakes {
        refuses(&root, args, says);
    }

    // What the generators wrote compiles, its tests pass, and the new model fits.
    let tested = ok(&lore(&root, &["test"]));
    holds(&tested, &["ok    Churn:", "every model passed"]);
    assert_eq!(
        ok_json(&lore(&root, &["fit", "Churn", "--json"]))["model"],
        "Churn"
    );

    prints(
        &root,
        &["destroy", "model", "Churn", "--dry-run"],
        &["would remove src/models/churn.rs"],
    );
    prints(
        &root,
        &["destroy", "model", "Churn"],
        &["remove tests/churn.rs", "edit src/models/mod.rs"],
    );
    for (kind, name, _) in each.iter().rev() {
        ok(&lore(&root, &["destroy", kind, name]));
    }
    clean("after destroying each");
    refuses(
        &root,
        &["destroy", "model", "Churn"],
        &["no model Churn to destroy"],
    );
}
