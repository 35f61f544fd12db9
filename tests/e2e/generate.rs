//! `lore generate model`, and fitting what it made.

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
