//! End-to-end: drives the built `lore` binary exactly as a user would: init a project, fit the
//! declared and the Rust model, predict from a file, serve over real HTTP, generate a model.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

mod common;
use common::*;

struct Demo {
    root: PathBuf,
    declared: Value,
    rust: Value,
}

/// One project with the default 100,000-row sample, both Subscribers models fitted.
fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = workdir("demo");
        let out = ok(&lore(&dir, &["init", "demo"]));
        assert!(out.contains("Created"), "{out}");
        let root = dir.join("demo");
        for file in [
            "Lore.toml",
            "Cargo.toml",
            "Cargo.lock",
            ".env.template",
            ".gitignore",
            "README.md",
            "config/database.toml",
            "config/aws.toml",
            "src/main.rs",
            "src/lib.rs",
            "src/extracts/users.sql",
            "src/models/subscribers.rs",
            "src/models/subscribers_declared.toml",
            "src/pipelines/subscribers.rs",
            "tests/subscribers.rs",
            "data/users.sqlite",
        ] {
            assert!(root.join(file).is_file(), "lore init wrote no {file}");
        }
        for folder in ["models", "logs", "docs"] {
            assert!(root.join(folder).is_dir(), "lore init made no {folder}/");
        }
        let out = lore(&root, &["-v", "fit", "SubscribersDeclared", "--json"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let declared: Value = serde_json::from_str(&ok(&out)).expect("--json prints JSON");
        assert!(
            stderr.contains("no cargo build"),
            "the declared model must fit in-process: {stderr}"
        );
        assert!(
            !stderr.contains("Compiling"),
            "the declared model must not compile anything: {stderr}"
        );
        let rust: Value =
            serde_json::from_str(&ok(&lore(&root, &["fit", "Subscribers", "--json"])))
                .expect("--json prints JSON");
        Demo {
            root,
            declared,
            rust,
        }
    })
}

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
    assert!(
        table.contains("validation") && table.contains("best iteration"),
        "{table}"
    );
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
    assert!(
        err.contains("`depth`")
            && err.contains("estimator.max_depth")
            && err.contains("pipeline.extract.params.limit"),
        "{err}"
    );
    let err = failed(&lore(
        &d.root,
        &["fit", "SubscribersDeclared", "--param", "max_depth=deep"],
    ));
    assert!(
        err.contains("max_depth") && err.contains("whole number"),
        "{err}"
    );
}

#[test]
fn unknown_model_lists_the_models() {
    let d = demo();
    let err = failed(&lore(&d.root, &["fit", "Nope"]));
    assert!(
        err.contains("Nope") && err.contains("Subscribers") && err.contains("SubscribersDeclared"),
        "{err}"
    );
}

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

    std::fs::write(
        d.root.join("missing.csv"),
        "first_name,email\nJohn,j@gmail.com\n",
    )
    .unwrap();
    let err = failed(&lore(
        &d.root,
        &["predict", "Subscribers", "--input", "missing.csv"],
    ));
    assert!(
        err.contains("missing column") && err.contains("missing.csv"),
        "{err}"
    );
    assert!(
        err.contains("`signup_date`") || err.contains("`orders`"),
        "{err}"
    );
}

#[test]
fn api_predicts_over_http_and_survives_bad_requests() {
    let d = demo();
    let (server, port) = api(&d.root, &[]);

    assert_eq!(http(port, "GET", "/health", "").0, 200);
    let (status, models) = http(port, "GET", "/models", "");
    assert_eq!(status, 200);
    let names: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Subscribers") && names.contains(&"SubscribersDeclared"),
        "{models}"
    );

    let good = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4},
                   {"first_name":null,"email":"ann@icloud.com","signup_date":"2017-11-20 08:00:00","last_order_at":"2017-12-01 10:00:00","orders":0,"basket_value":null,"sessions_30d":1}]"#;
    let (status, body) = http(port, "POST", "/models/Subscribers/predict", good);
    assert_eq!(status, 200, "{body}");
    let probabilities = body["probabilities"].as_array().unwrap();
    assert_eq!(probabilities.len(), 2);
    assert!(
        probabilities
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.as_f64().unwrap())),
        "{body}"
    );
    assert_eq!(body["fitting_id"], d.rust["fitting_id"], "{body}");
    assert_eq!(body["predictions"].as_array().unwrap().len(), 2);

    let (status, body) = http(
        port,
        "POST",
        "/models/Subscribers/predict",
        "[{\"first_name\": ",
    );
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );

    let (status, body) = http(
        port,
        "POST",
        "/models/Subscribers/predict",
        r#"[{"first_name":"John"}]"#,
    );
    assert_eq!(status, 400);
    assert!(body["field"].is_string(), "{body}");

    let wrong = good.replace("\"orders\":12", "\"orders\":\"twelve\"");
    let (status, body) = http(port, "POST", "/models/Subscribers/predict", &wrong);
    assert_eq!(status, 400);
    assert_eq!(body["field"], "orders", "{body}");

    let (status, body) = http(port, "POST", "/models/Subscribers/predict", good);
    assert_eq!(
        status, 200,
        "the server keeps serving after bad requests: {body}"
    );
    assert_eq!(http(port, "POST", "/models/Nope/predict", good).0, 404);
    let (status, spec) = http(port, "GET", "/openapi.json", "");
    assert_eq!(status, 200);
    assert!(
        spec["paths"]["/models/Subscribers/predict"].is_object(),
        "{spec}"
    );
    drop(server);
}

#[test]
fn runs_lists_every_fitting() {
    let d = demo();
    let runs: Value = serde_json::from_str(&ok(&lore(&d.root, &["runs", "--json"]))).unwrap();
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fitting_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&d.rust["fitting_id"].as_str().unwrap())
            && ids.contains(&d.declared["fitting_id"].as_str().unwrap()),
        "{runs}"
    );
}

#[test]
fn generate_model_then_fit_it() {
    let dir = workdir("generate");
    ok(&lore(&dir, &["init", "shop", "--sample-rows", "5000"]));
    let root = dir.join("shop");
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
    let fitted: Value =
        serde_json::from_str(&ok(&lore(&root, &["fit", "Churn", "--json"]))).unwrap();
    assert_eq!(fitted["model"], "Churn");
    let err = failed(&lore(&root, &["generate", "model", "Churn"]));
    assert!(err.contains("already exists"), "{err}");
    let err = failed(&lore(&root, &["generate", "model", "churn"]));
    assert!(err.contains("CamelCase"), "{err}");

    // A transformer and an encoder of the project's own, used by name from a TOML model that
    // the stand-alone `lore` hands to the project's binary, where they are registered.
    let out = ok(&lore(&root, &["generate", "transformer", "WordCount"]));
    assert!(out.contains("src/transformers/word_count.rs"), "{out}");
    let out = ok(&lore(&root, &["generate", "encoder", "Sorted"]));
    assert!(out.contains("src/encoders/sorted.rs"), "{out}");
    let err = failed(&lore(&root, &["generate", "encoder", "Sorted"]));
    assert!(err.contains("already exists"), "{err}");
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
    std::fs::write(root.join("src/models/own.toml"), declared("WordCount")).unwrap();
    let fitted: Value = serde_json::from_str(&ok(&lore(&root, &["fit", "Own", "--json"]))).unwrap();
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
    assert!(
        report.contains("| `Norm(WordCount(email))` | numbers |")
            && report.contains("| `Sorted(first_name)` |"),
        "{report}"
    );
    std::fs::write(
        root.join("rows.csv"),
        "first_name,email,basket_value\nJohn,john@gmail.com,55.5\n,x@y@z,1\n",
    )
    .unwrap();
    let out = ok(&lore(&root, &["predict", "Own", "--input", "rows.csv"]));
    assert_eq!(out.lines().count(), 3, "{out}");

    std::fs::write(root.join("src/models/own.toml"), declared("WordCuont")).unwrap();
    let err = failed(&lore(&root, &["fit", "Own"]));
    assert!(
        err.contains("`WordCuont`") && err.contains("registered: WordCount"),
        "{err}"
    );
}

#[test]
fn outside_a_project_commands_say_how_to_start() {
    let dir = workdir("outside");
    let err = failed(&lore(&dir, &["fit", "Subscribers"]));
    assert!(
        err.contains("Lore.toml") && err.contains("lore init"),
        "{err}"
    );
    let err = failed(&lore(&dir, &["init", "bad name"]));
    assert!(err.contains("not a valid project name"), "{err}");
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

fn lore_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lore"));
    command.args(args).current_dir(dir);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("lore runs")
}

#[test]
fn extract_and_sql_show_rows_and_refuse_bad_input() {
    let d = demo();
    let out = ok(&lore(&d.root, &["extract", "users", "--param", "limit=5"]));
    assert!(
        out.contains("shape: (5, 8)") && out.contains("first_name"),
        "{out}"
    );
    ok(&lore(
        &d.root,
        &[
            "extract",
            "users",
            "--param",
            "limit=7",
            "--output",
            "seven.parquet",
        ],
    ));
    let back = ok(&lore(
        &d.root,
        &["data", "convert", "seven.parquet", "seven.csv"],
    ));
    assert!(
        back.contains("7 rows") && back.contains("orders: i64"),
        "{back}"
    );
    let err = failed(&lore(
        &d.root,
        &[
            "extract", "users", "--param", "limit=5", "--param", "nope=1",
        ],
    ));
    assert!(err.contains("`nope`") && err.contains("users.sql"), "{err}");
    let err = failed(&lore(&d.root, &["extract", "missing"]));
    assert!(
        err.contains("no extract `missing`") && err.contains("users"),
        "{err}"
    );

    let out = ok(&lore(
        &d.root,
        &[
            "sql",
            "SELECT count(*) AS n FROM users WHERE orders > :k",
            "--param",
            "k=1000",
        ],
    ));
    assert!(out.contains("shape: (1, 1)"), "{out}");
    let err = failed(&lore(
        &d.root,
        &["sql", "SELECT id\nFROM users\nWHERE WHERE"],
    ));
    assert!(
        err.contains("[main]") && err.contains("line 3") && err.trim_end().lines().count() == 1,
        "{err}"
    );

    let err = failed(&lore_env(
        &d.root,
        &["extract", "users", "--param", "limit=1"],
        &[("DATABASE_URL", "postgres://lore:hunter2@127.0.0.1:1/none")],
    ));
    assert!(
        err.contains("[main]") && !err.contains("hunter2") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    let err = failed(&lore_env(
        &d.root,
        &["extract", "users"],
        &[("DATABASE_URL", "mysql://x/y")],
    ));
    assert!(err.contains("mysql") && err.contains("[main]"), "{err}");
}

#[test]
fn a_fitting_whose_encoders_coded_differently_is_refused_with_what_to_do() {
    let dir = workdir("old-fitting");
    ok(&lore(&dir, &["init", "old", "--sample-rows", "3000"]));
    let root = dir.join("old");
    let out: Value = serde_json::from_str(&ok(&lore(
        &root,
        &["-q", "fit", "SubscribersDeclared", "--json"],
    )))
    .unwrap();
    let pipeline = Path::new(out["path"].as_str().unwrap()).join("pipeline.json");
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&pipeline).unwrap()).unwrap();
    assert_eq!(saved["encoding"], 2);
    saved.as_object_mut().unwrap().remove("encoding");
    std::fs::write(&pipeline, saved.to_string()).unwrap();
    // A fitting from before encoding versions also predates manifests.
    std::fs::remove_file(pipeline.with_file_name("manifest.json")).unwrap();
    std::fs::write(
        root.join("one.csv"),
        "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d
         John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4
",
    )
    .unwrap();
    let err = failed(&lore(
        &root,
        &["predict", "SubscribersDeclared", "--input", "one.csv"],
    ));
    assert!(
        err.contains("pipeline.json")
            && err.contains("version 1")
            && err.contains("lore fit SubscribersDeclared"),
        "{err}"
    );
}

#[test]
fn a_one_hot_encoder_fits_predicts_and_names_its_features() {
    let dir = workdir("one-hot");
    ok(&lore(&dir, &["init", "hot", "--sample-rows", "5000"]));
    let root = dir.join("hot");
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
    std::fs::write(root.join("src/models/hot_mail.toml"), one_hot).unwrap();
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "HotMail", "--json"]))).unwrap();
    let features: Vec<String> = out["stats"]["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap().to_string())
        .collect();
    assert!(
        features.contains(&"OneHot(EmailDomain(email))=gmail.com".to_string()),
        "{features:?}"
    );
    std::fs::write(root.join("two.csv"), TWO_USERS).unwrap();
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
    std::fs::write(root.join("src/models/text_mail.toml"), text).unwrap();
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "TextMail", "--json"]))).unwrap();
    let features: Vec<String> = out["stats"]["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap().to_string())
        .collect();
    assert!(
        features.contains(&"Text(email)=gmail".to_string()),
        "{features:?}"
    );
    assert!(out["stats"]["test"]["auc"].as_f64().unwrap() > 0.6, "{out}");
    let predictions = ok(&lore(&root, &["predict", "TextMail", "--input", "two.csv"]));
    assert_eq!(predictions.lines().count(), 3, "{predictions}");
}

#[test]
fn data_convert_reads_a_workbook_sheet() {
    let dir = workdir("workbook");
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("Notes").unwrap();
    let sheet = book.add_worksheet().set_name("Orders").unwrap();
    sheet.write_string(0, 0, "customer").unwrap();
    sheet.write_string(0, 1, "total").unwrap();
    for (row, (customer, total)) in [("Acme, Inc.", 12.5), ("Bolt", 7.0)].iter().enumerate() {
        sheet.write_string(row as u32 + 1, 0, *customer).unwrap();
        sheet.write_number(row as u32 + 1, 1, *total).unwrap();
    }
    book.save(dir.join("orders.xlsx")).unwrap();

    let out = ok(&lore(
        &dir,
        &[
            "data",
            "convert",
            "orders.xlsx",
            "orders.parquet",
            "--sheet",
            "Orders",
        ],
    ));
    assert!(
        out.contains("2 rows") && out.contains("customer: str") && out.contains("total: f64"),
        "{out}"
    );
    let csv = ok(&lore(
        &dir,
        &["data", "convert", "orders.parquet", "orders.csv"],
    ));
    assert!(csv.contains("2 rows"), "{csv}");
    let text = std::fs::read_to_string(dir.join("orders.csv")).unwrap();
    assert!(text.contains("\"Acme, Inc.\",12.5"), "{text}");
    let err = failed(&lore(
        &dir,
        &[
            "data",
            "convert",
            "orders.xlsx",
            "o.parquet",
            "--sheet",
            "Sales",
        ],
    ));
    assert!(
        err.contains("no sheet `Sales`") && err.contains("Notes, Orders"),
        "{err}"
    );
}

#[test]
fn the_query_cache_serves_repeat_reads_and_can_be_cleared() {
    let dir = workdir("cache");
    ok(&lore(&dir, &["init", "cached", "--sample-rows", "2000"]));
    let root = dir.join("cached");
    let first = ok(&lore(
        &root,
        &["extract", "users", "--param", "limit=1500", "--cache"],
    ));
    std::fs::remove_file(root.join("data/users.sqlite")).unwrap();
    let second = ok(&lore(
        &root,
        &["extract", "users", "--param", "limit=1500", "--cache"],
    ));
    assert_eq!(
        first, second,
        "the disk cache answers after a restart, without the database"
    );
    let ls = ok(&lore(&root, &["cache", "ls"]));
    assert!(ls.contains("1 entries"), "{ls}");
    assert!(ok(&lore(&root, &["cache", "clear"])).contains("Removed 1"));
    failed(&lore(
        &root,
        &["extract", "users", "--param", "limit=1500", "--cache"],
    ));
}

#[test]
fn a_cached_extract_caches_the_encoded_splits_for_the_next_fit() {
    let dir = workdir("encoded");
    ok(&lore(&dir, &["init", "encoded", "--sample-rows", "3000"]));
    let root = dir.join("encoded");
    let fit = |extra: &[&str]| {
        let mut args = vec![
            "-v",
            "fit",
            "SubscribersDeclared",
            "--param",
            "pipeline.extract.cache=true",
            "--json",
            // Each fit must run, not reuse the last identical one: the cache is what is tested.
            "--force",
        ];
        args.extend_from_slice(extra);
        let out = lore(&root, &args);
        let stats: Value = serde_json::from_str(&ok(&out)).expect("--json prints JSON");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (stats["stats"].clone(), stderr)
    };
    let reused = "transformers and encoders not run again";
    let (first, log) = fit(&[]);
    assert!(!log.contains(reused), "{log}");
    // Without the database, only the cache can answer.
    std::fs::remove_file(root.join("data/users.sqlite")).unwrap();
    let (second, log) = fit(&[]);
    assert!(log.contains(reused), "{log}");
    assert_eq!(second["test"]["auc"], first["test"]["auc"]);
    assert_eq!(second["seconds"]["encode"], 0.0);
    // Another estimator parameter, the same encoding.
    let (_, log) = fit(&["--param", "learning_rate=0.1"]);
    assert!(log.contains(reused), "{log}");
    // A damaged entry (the one the last fit read, so the newest) is encoded again and replaced.
    let newest = std::fs::read_dir(root.join("data/cache"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .max_by_key(|e| e.metadata().unwrap().modified().unwrap())
        .unwrap()
        .path();
    std::fs::write(&newest, b"not parquet").unwrap();
    let (again, log) = fit(&[]);
    assert!(log.contains("encoding the extract again"), "{log}");
    assert_eq!(again["test"]["auc"], first["test"]["auc"]);
    let (_, log) = fit(&[]);
    assert!(log.contains(reused), "{log}");
    // Another encoder parameter: encoded again, from the cached extract.
    let (_, log) = fit(&["--param", "pipeline.encoders.8.quantiles=4"]);
    assert!(
        !log.contains(reused) && log.contains("read from the query cache"),
        "{log}"
    );
}

#[test]
fn a_streamed_fit_reads_in_batches_and_leaves_no_spill_behind() {
    let d = demo();
    let out: Value = serde_json::from_str(&ok(&lore(
        &d.root,
        &[
            "fit",
            "SubscribersDeclared",
            "--param",
            "batch_rows=15000",
            "--json",
        ],
    )))
    .unwrap();
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
    let dir = workdir("spec-errors");
    ok(&lore(&dir, &["init", "oops", "--sample-rows", "1000"]));
    let root = dir.join("oops");
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
        std::fs::write(root.join(file), text).unwrap();
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
fn classes_and_numbers_are_fitted_evaluated_explained_and_exported() {
    let dir = workdir("tasks");
    ok(&lore(&dir, &["init", "tasks", "--sample-rows", "5000"]));
    let root = dir.join("tasks");
    write_segment_models(&root);

    // Several classes: better than always answering the commonest, in accuracy and log-loss.
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "Segments", "--json"]))).unwrap();
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
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "Sessions", "--json"]))).unwrap();
    let test = &out["stats"]["test"];
    assert_eq!(out["stats"]["task"], "Regression");
    assert!(test["r2"].as_f64().unwrap() > 0.0, "{test}");
    assert_eq!(test["score"], test["rmse"]);
    assert!(test.get("auc").is_none(), "{test}");
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    assert!(fitting.join("model.ubj").is_file());
    assert!(fitting.join("predicted.svg").is_file());
    let report = std::fs::read_to_string(fitting.join("report.md")).unwrap();
    assert!(
        report.contains("RMSE") && report.contains("regression"),
        "{report}"
    );

    // Predictions, explained: the contributions and the bias add up to the number predicted.
    std::fs::write(
        root.join("rows.csv"),
        "orders,basket_value,sessions_30d,segment\n0,20.5,0,light\n30,80,7,heavy\n12,,3,regular\n",
    )
    .unwrap();
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
    let out: Value = serde_json::from_str(&ok(&lore(
        &root,
        &["evaluate", "Segments", "--input", "rows.csv", "--json"],
    )))
    .unwrap();
    assert_eq!(out["stats"]["rows"], 3);
    assert!(out["stats"]["accuracy"].as_f64().is_some(), "{out}");
    let text = ok(&lore(
        &root,
        &["evaluate", "Sessions", "--input", "rows.csv"],
    ));
    assert!(text.contains("RMSE") && text.contains("input"), "{text}");
    std::fs::write(root.join("unlabelled.csv"), "orders,basket_value\n3,20\n").unwrap();
    let err = failed(&lore(
        &root,
        &["evaluate", "Sessions", "--input", "unlabelled.csv"],
    ));
    assert!(
        err.contains("`sessions_30d`") && err.contains("unlabelled.csv"),
        "{err}"
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
        let out: Value = serde_json::from_str(&ok(&lore(
            &root,
            &["-q", "fit", model, "--export", &export, "--json"],
        )))
        .unwrap();
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

/// The Python with XGBoost's package that scripts/python made (`LORE_TEST_PYTHON`); with
/// `LORE_REQUIRE_PYTHON=1`, as in scripts/test and CI, its absence fails.

#[test]
fn bad_estimator_parameters_fail_before_training_naming_the_parameter() {
    let dir = workdir("bad-estimator");
    ok(&lore(&dir, &["init", "bad", "--sample-rows", "1000"]));
    let root = dir.join("bad");
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
    let declared =
        std::fs::read_to_string(root.join("src/models/subscribers_declared.toml")).unwrap();
    std::fs::write(
        root.join("src/models/deep.toml"),
        declared.replace("max_depth = 3", "max_depth = -1"),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Deep"]));
    assert!(
        err.contains("deep.toml") && err.contains("max_depth"),
        "{err}"
    );
}

#[test]
fn a_search_records_every_trial_and_keeps_one_better_than_the_defaults() {
    let dir = workdir("search");
    ok(&lore(&dir, &["init", "tune", "--sample-rows", "20000"]));
    let root = dir.join("tune");
    let out: Value = serde_json::from_str(&ok(&lore(
        &root,
        &[
            "-q",
            "fit",
            "SubscribersDeclared",
            "--search",
            "20",
            "--json",
        ],
    )))
    .unwrap();
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
        let out: Value = serde_json::from_str(&ok(&lore(
            &root,
            &[
                "-q",
                "fit",
                "SubscribersDeclared",
                "--search",
                "6",
                "--search-strategy",
                strategy,
                "--jobs",
                "2",
                "--json",
            ],
        )))
        .unwrap();
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
    std::fs::write(root.join("src/models/plain.toml"), without).unwrap();
    let err = failed(&lore(&root, &["fit", "Plain", "--search", "5"]));
    assert!(err.contains("[search]"), "{err}");
    std::fs::write(
        root.join("src/models/wide.toml"),
        format!("{without}\n[search]\nlimit = {{ int = [100, 1000] }}\n"),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Wide", "--search", "5"]));
    assert!(
        err.contains("search.limit") && err.contains("not an estimator parameter"),
        "{err}"
    );
    let err = failed(&lore(
        &root,
        &["fit", "Wide", "--search", "5", "--search-strategy", "bayes"],
    ));
    assert!(err.contains("bayes") && err.contains("tpe"), "{err}");
}

#[test]
fn linfa_estimators_fit_the_sample_and_a_number_and_predict_after_reloading() {
    let dir = workdir("linfa");
    ok(&lore(&dir, &["init", "classic", "--sample-rows", "20000"]));
    let root = dir.join("classic");
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
    std::fs::write(root.join("rows.csv"), TWO_USERS).unwrap();
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
        std::fs::write(
            root.join(&file),
            format!("{pipeline}[estimator]\n{estimator}\n"),
        )
        .unwrap();
        let out: Value =
            serde_json::from_str(&ok(&lore(&root, &["-q", "fit", model, "--json"]))).unwrap();
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
        std::fs::write(
            root.join(format!("src/models/{}.toml", model.to_lowercase())),
            activity_model("users", "type = \"Pass\"\ncolumn = \"sessions_30d\"", extra)
                .replace("type = \"XGBoost\"", &format!("type = \"{estimator}\""))
                .replace(USERS, LIMITED_USERS),
        )
        .unwrap();
        let out: Value =
            serde_json::from_str(&ok(&lore(&root, &["-q", "fit", model, "--json"]))).unwrap();
        assert!(
            out["stats"]["test"]["r2"].as_f64().unwrap() > 0.05,
            "{model}: {out}"
        );
        let predictions = ok(&lore(&root, &["predict", model, "--input", "rows.csv"]));
        assert_eq!(predictions.lines().count(), 3, "{model}: {predictions}");
    }

    // Counts only for MultinomialNB; classes only for a classifier; no SHAP without XGBoost.
    std::fs::write(
        root.join("src/models/negative.toml"),
        format!("{pipeline}[estimator]\ntype = \"MultinomialNB\"\n"),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Negative"]));
    assert!(err.contains("negative values"), "{err}");
    std::fs::write(
        root.join("src/models/wrong.toml"),
        format!("{pipeline}[estimator]\ntype = \"LinearRegression\"\n"),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Wrong"]));
    assert!(
        err.contains("estimator.type") && err.contains("LinearRegression"),
        "{err}"
    );
    let err = failed(&lore(
        &root,
        &["predict", "Logistic", "--input", "rows.csv", "--explain"],
    ));
    assert!(err.contains("XGBoost"), "{err}");
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
    let dir = workdir("network");
    ok(&lore(&dir, &["init", "deep", "--sample-rows", "20000"]));
    let root = dir.join("deep");
    std::fs::write(
        root.join("src/models/deep.toml"),
        declared_with(
            &root,
            "type = \"NeuralNetwork\"\nhidden_width = 32\nbatch_size = 128\nepochs = 10\ndevice = \"cpu\"",
        ),
    )
    .unwrap();
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "Deep", "--json"]))).unwrap();
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
    let embedded = shape["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.get("Embedded").is_some())
        .count();
    assert!(embedded >= 3, "the sample's codes are embedded: {shape}");
    assert!(fitting.join("model.safetensors").is_file());
    assert!(fitting.join("learning_curve.svg").is_file());

    // Each `lore predict` loads the saved network afresh.
    std::fs::write(root.join("rows.csv"), TWO_USERS).unwrap();
    let first = ok(&lore(&root, &["predict", "Deep", "--input", "rows.csv"]));
    let second = ok(&lore(&root, &["predict", "Deep", "--input", "rows.csv"]));
    assert_eq!(first.lines().count(), 3, "{first}");
    assert_eq!(first, second, "a reloaded network predicts the same");

    // A number, in its own units.
    std::fs::write(
        root.join("src/models/sessions.toml"),
        activity_model(
            "users",
            "type = \"Pass\"\ncolumn = \"sessions_30d\"",
            "batch_size = 128\nepochs = 10\ndevice = \"cpu\"",
        )
        .replace("type = \"XGBoost\"", "type = \"NeuralNetwork\"")
        .replace(USERS, LIMITED_USERS),
    )
    .unwrap();
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "Sessions", "--json"]))).unwrap();
    assert!(out["stats"]["test"]["r2"].as_f64().unwrap() > 0.05, "{out}");
}

#[cfg(not(feature = "torch"))]
#[test]
fn a_neural_network_without_libtorch_says_how_to_enable_it() {
    let dir = workdir("no-torch");
    ok(&lore(&dir, &["init", "plain", "--sample-rows", "1000"]));
    let root = dir.join("plain");
    std::fs::write(
        root.join("src/models/deep.toml"),
        declared_with(&root, "type = \"NeuralNetwork\""),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Deep"]));
    assert!(
        err.contains("--features lore-cli/torch") && err.contains("scripts/torch"),
        "{err}"
    );
    assert!(!err.contains("extracting"), "read data: {err}");
}

#[test]
fn k_means_groups_rows_without_labels_and_predict_gives_the_cluster() {
    let dir = workdir("kmeans");
    ok(&lore(&dir, &["init", "groups", "--sample-rows", "5000"]));
    let root = dir.join("groups");
    let model = activity_model("users", "type = \"Cluster\"", "n_clusters = 4\nn_runs = 3")
        .replace("type = \"XGBoost\"", "type = \"KMeans\"")
        .replace(USERS, LIMITED_USERS);
    std::fs::write(root.join("src/models/segments.toml"), &model).unwrap();
    let out: Value =
        serde_json::from_str(&ok(&lore(&root, &["-q", "fit", "Segments", "--json"]))).unwrap();
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

    std::fs::write(
        root.join("rows.csv"),
        "orders,basket_value\n1,5.5\n12,55.5\n300,900\n",
    )
    .unwrap();
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
    std::fs::write(
        root.join("src/models/mixed.toml"),
        model.replace("type = \"Cluster\"", "type = \"Pass\"\ncolumn = \"orders\""),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Mixed"]));
    assert!(
        err.contains("estimator.type") && err.contains("Cluster"),
        "{err}"
    );
    std::fs::write(
        root.join("src/models/labelled.toml"),
        activity_model("users", "type = \"Cluster\"", "").replace(USERS, LIMITED_USERS),
    )
    .unwrap();
    let err = failed(&lore(&root, &["fit", "Labelled"]));
    assert!(err.contains("XGBoost learns from labels"), "{err}");
}

#[test]
fn a_changed_fitting_file_is_refused_by_name_and_never_served() {
    let dir = workdir("manifest");
    ok(&lore(&dir, &["init", "sealed", "--sample-rows", "2000"]));
    let root = dir.join("sealed");
    let out: Value = serde_json::from_str(&ok(&lore(
        &root,
        &["-q", "fit", "SubscribersDeclared", "--json"],
    )))
    .unwrap();
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("manifest.json")).unwrap())
            .unwrap();
    for file in ["params.json", "pipeline.json", "model.json", "stats.json"] {
        assert_eq!(
            manifest["files"][file]["sha256"].as_str().map(str::len),
            Some(64),
            "{file} in {manifest}"
        );
    }
    std::fs::write(root.join("rows.csv"), TWO_USERS).unwrap();
    let predict = ["predict", "SubscribersDeclared", "--input", "rows.csv"];
    ok(&lore(&root, &predict));

    // One byte of the fitted encoders flipped: the JSON still parses, the manifest catches it.
    let encoders = fitting.join("pipeline.json");
    let mut bytes = std::fs::read(&encoders).unwrap();
    let at = bytes.iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&encoders, &bytes).unwrap();
    let err = failed(&lore(&root, &predict));
    assert!(
        err.contains("pipeline.json") && err.contains("SHA-256"),
        "{err}"
    );

    // The API skips it, saying why, and serves nothing from it.
    let log = dir.join("api.stderr");
    let (server, port) = api_with_stderr(
        &root,
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let (_, models) = http(port, "GET", "/models", "");
    assert_eq!(models["models"], serde_json::json!([]), "{models}");
    let (status, _) = http(port, "POST", "/models/SubscribersDeclared/predict", "[]");
    assert_eq!(status, 404);
    drop(server);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("pipeline.json") && stderr.contains("skipped"),
        "{stderr}"
    );
}

/// `lore -q fit SubscribersDeclared --json` with `args`, in `root`.
fn fit_declared(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["-q", "fit", "SubscribersDeclared", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&lore(root, &all))).expect("--json prints JSON")
}

#[test]
fn identical_fits_are_reused_and_a_changed_param_or_row_refits() {
    let dir = workdir("reuse");
    ok(&lore(&dir, &["init", "same", "--sample-rows", "3000"]));
    let root = dir.join("same");
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
    let text = ok(&lore(&root, &["-q", "fit", "SubscribersDeclared"]));
    assert!(
        text.contains("Reused fitting") && text.contains("--force"),
        "{text}"
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
    let out = ok(&lore(&root, &["-q", "reproduce", id]));
    assert!(
        out.contains("the extract gave the same rows") && out.contains("metrics match"),
        "{out}"
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
    let err = failed(&lore(&root, &["reproduce", "20990101-000000-0000"]));
    assert!(err.contains("no fitting `20990101-000000-0000`"), "{err}");
}

/// Runs `lore` and checks it exits with `code`; its stdout.
fn lore_status(root: &Path, args: &[&str], code: i32) -> String {
    let out = lore(root, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    let dir = workdir("runs");
    ok(&lore(&dir, &["init", "tracked", "--sample-rows", "3000"]));
    let root = dir.join("tracked");
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
    let limited = ok(&lore(&root, &["runs", "--limit", "2"]));
    assert!(limited.contains("--limit 0 shows them all"), "{limited}");

    let (a, b) = (
        growth["fitting_id"].as_str().unwrap(),
        risk["fitting_id"].as_str().unwrap(),
    );
    let shown = ok(&lore(&root, &["runs", "show", a]));
    assert!(
        shown.contains("metrics.test.auc = ") && shown.contains("tags.team = \"growth\""),
        "{shown}"
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
    assert!(
        header.contains("metrics.test.auc") && header.contains("params.estimator.max_depth"),
        "{header}"
    );
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

    let err = failed(&lore(&root, &["runs", "--where", "metrics.test.auc >> 1"]));
    assert!(
        err.contains("--where") && err.contains("column 19"),
        "{err}"
    );
    let err = failed(&lore(&root, &["runs", "show", "nope"]));
    assert!(err.contains("no run `nope`"), "{err}");
    let err = failed(&lore(&root, &["runs", "--kind", "bogus"]));
    assert!(err.contains("fit, evaluate or trial"), "{err}");
    let err = failed(&lore(
        &root,
        &["fit", "SubscribersDeclared", "--tag", "oops"],
    ));
    assert!(
        err.contains("--tag oops") && err.contains("KEY=VALUE"),
        "{err}"
    );
}

/// Polls the API's `/models` until `model` is served from `fitting` by `alias`.
fn wait_for_fitting(port: u16, model: &str, fitting: &Value, alias: Value) {
    let started = std::time::Instant::now();
    loop {
        let (_, models) = http(port, "GET", "/models", "");
        let served = models["models"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["name"] == model).cloned())
            .unwrap_or_default();
        if served["fitting_id"] == *fitting && served["alias"] == alias {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the API never switched to {fitting} ({alias}): {served}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn promote_rollback_and_history_and_the_api_follows_the_production_alias() {
    let dir = workdir("registry");
    ok(&lore(
        &dir,
        &["init", "registered", "--sample-rows", "2000"],
    ));
    let root = dir.join("registered");
    let a = fit_declared(&root, &[])["fitting_id"].clone();
    let b = fit_declared(&root, &["-p", "max_depth=5"])["fitting_id"].clone();
    let (ida, idb) = (a.as_str().unwrap(), b.as_str().unwrap());
    let (_server, port) = api(&root, &["--refresh", "1"]);
    wait_for_fitting(port, "SubscribersDeclared", &b, Value::Null);

    let promote = |id: &str| {
        ok(&lore(
            &root,
            &["models", "promote", "SubscribersDeclared", id],
        ))
    };
    assert!(promote(ida).contains(&format!("production -> {ida}")));
    wait_for_fitting(port, "SubscribersDeclared", &a, "production".into());
    assert!(promote(idb).contains(&format!("(was {ida})")));
    wait_for_fitting(port, "SubscribersDeclared", &b, "production".into());
    let out = ok(&lore(&root, &["models", "rollback", "SubscribersDeclared"]));
    assert!(
        out.contains(&format!("production -> {ida} (rolled back from {idb})")),
        "{out}"
    );
    wait_for_fitting(port, "SubscribersDeclared", &a, "production".into());
    ok(&lore(
        &root,
        &[
            "models",
            "promote",
            "SubscribersDeclared",
            idb,
            "--to",
            "staging",
        ],
    ));

    let history: Value = serde_json::from_str(&ok(&lore(
        &root,
        &["models", "history", "SubscribersDeclared", "--json"],
    )))
    .unwrap();
    let events: Vec<(String, String, String)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["alias"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["fitting_id"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let event = |alias: &str, action: &str, id: &str| {
        (alias.to_string(), action.to_string(), id.to_string())
    };
    assert_eq!(
        events,
        [
            event("production", "promote", ida),
            event("production", "promote", idb),
            event("production", "rollback", ida),
            event("staging", "promote", idb),
        ]
    );
    assert_eq!(history["holders"]["production"], a);
    assert_eq!(history["holders"]["staging"], b);
    std::fs::write(root.join("rows.csv"), TWO_USERS).unwrap();
    let by_alias = ok(&lore(
        &root,
        &[
            "predict",
            "SubscribersDeclared",
            "--fitting",
            "production",
            "--input",
            "rows.csv",
        ],
    ));
    let by_id = ok(&lore(
        &root,
        &[
            "predict",
            "SubscribersDeclared",
            "--fitting",
            ida,
            "--input",
            "rows.csv",
        ],
    ));
    assert_eq!(
        by_alias, by_id,
        "--fitting production predicts with the fitting it holds"
    );

    // Rolled back past its first promotion, production holds nothing: the latest is served.
    ok(&lore(&root, &["models", "rollback", "SubscribersDeclared"]));
    wait_for_fitting(port, "SubscribersDeclared", &b, Value::Null);
    let err = failed(&lore(&root, &["models", "rollback", "SubscribersDeclared"]));
    assert!(err.contains("nothing to roll back"), "{err}");
    let err = failed(&lore(
        &root,
        &["models", "promote", "SubscribersDeclared", "nope"],
    ));
    assert!(
        err.contains("no fitting `nope`") && err.contains(ida),
        "{err}"
    );
    let err = failed(&lore(
        &root,
        &[
            "models",
            "promote",
            "SubscribersDeclared",
            ida,
            "--to",
            "Prod",
        ],
    ));
    assert!(err.contains("`Prod` is not an alias name"), "{err}");
}

/// `.env` lines pointing a project at the test S3 server of scripts/garage (`LORE_TEST_S3_*`),
/// its fittings under a prefix of their own; `None` (the case is skipped) without a server,
/// which `LORE_REQUIRE_S3=1` (scripts/test, CI) turns into a failure.
fn s3_env(name: &str) -> Option<String> {
    let var = |n: &str| std::env::var(format!("LORE_TEST_S3_{n}")).unwrap_or_default();
    if var("ENDPOINT").is_empty() {
        assert!(
            std::env::var("LORE_REQUIRE_S3").is_err(),
            "LORE_REQUIRE_S3 is set but LORE_TEST_S3_ENDPOINT is not"
        );
        eprintln!("LORE_TEST_S3_ENDPOINT is not set: S3 case skipped (scripts/test starts Garage)");
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(format!(
        "LORE_S3_BUCKET={}\nLORE_S3_PREFIX={name}-{nanos}\nAWS_ENDPOINT_URL_S3={}\n\
         LORE_S3_PATH_STYLE=true\nAWS_REGION={}\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
        var("BUCKET"),
        var("ENDPOINT"),
        var("REGION"),
        var("ACCESS_KEY_ID"),
        var("SECRET_ACCESS_KEY")
    ))
}

/// A small project of `name` in `dir` whose `.env` points at the test S3 server.
fn s3_project(dir: &Path, name: &str) -> Option<PathBuf> {
    let env = s3_env(name)?;
    ok(&lore(dir, &["init", name, "--sample-rows", "2000"]));
    let root = dir.join(name);
    std::fs::write(root.join(".env"), env).unwrap();
    Some(root)
}

/// A copy of the project as a new server would have it: its files and settings, but no
/// fittings and no metadata database.
fn fresh_copy(root: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("models")).unwrap();
    for entry in ["Lore.toml", ".env", "config", "src"] {
        let status = Command::new("cp")
            .args(["-r", entry])
            .arg(to)
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success(), "cp {entry}");
    }
}

fn remote_fittings(root: &Path) -> Vec<Value> {
    let out = ok(&lore(root, &["models", "ls", "--remote", "--json"]));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_fit_uploaded_to_s3_is_served_and_predicted_by_a_fresh_copy_with_no_fittings() {
    let dir = workdir("s3-ship");
    let Some(root) = s3_project(&dir, "shipped") else {
        return;
    };
    let model = "SubscribersDeclared";
    let a = fit_declared(&root, &["--upload"]);
    let ida = a["fitting_id"].as_str().unwrap();
    assert!(a["uploaded"].as_str().unwrap().starts_with("s3://"), "{a}");
    let b = fit_declared(&root, &["-p", "max_depth=5"]);
    let idb = b["fitting_id"].as_str().unwrap();
    let listed = remote_fittings(&root);
    assert_eq!(listed.len(), 1, "only the uploaded fitting: {listed:?}");
    assert_eq!(listed[0]["fitting_id"], ida);

    // Promoting pushes the fitting first, so every server following the alias can pull it.
    let out = ok(&lore(&root, &["models", "promote", model, idb]));
    assert!(out.contains(&format!("production -> {idb}")), "{out}");
    let listed = remote_fittings(&root);
    let ids: Vec<&Value> = listed.iter().map(|f| &f["fitting_id"]).collect();
    assert_eq!(ids, [ida, idb]);
    assert_eq!(listed[1]["aliases"], serde_json::json!(["production"]));

    let server_dir = dir.join("server");
    fresh_copy(&root, &server_dir);
    let local = ok(&lore(&server_dir, &["models", "ls", "--json"]));
    assert_eq!(local.trim(), "[]", "the copy starts with no fittings");
    let (_server, port) = api(&server_dir, &[]);
    wait_for_fitting(port, model, &b["fitting_id"], "production".into());
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let (status, predicted) = http(port, "POST", &format!("/models/{model}/predict"), body);
    assert_eq!(status, 200, "{predicted}");
    assert_eq!(predicted["fitting_id"], idb, "{predicted}");
    let pulled = server_dir.join("models").join(model).join(idb);
    assert!(
        pulled.join("manifest.json").is_file(),
        "the pulled fitting is cached in models/"
    );

    // lore predict pulls too, resolving the alias from the bucket's alias object.
    let predict_dir = dir.join("predictor");
    fresh_copy(&root, &predict_dir);
    std::fs::write(
        predict_dir.join("rows.csv"),
        "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d\n\
         John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4\n",
    )
    .unwrap();
    let out = ok(&lore(
        &predict_dir,
        &[
            "predict",
            model,
            "--input",
            "rows.csv",
            "--fitting",
            "production",
        ],
    ));
    assert_eq!(out.lines().count(), 2, "a header and one prediction: {out}");
    assert!(predict_dir.join("models").join(model).join(idb).is_dir());
    let out = ok(&lore(&predict_dir, &["models", "pull", model, ida]));
    assert!(out.contains(&format!("Pulled {model}/{ida}")), "{out}");
    let out = ok(&lore(&predict_dir, &["models", "ls", "--json"]));
    assert!(out.contains(ida) && out.contains(idb), "{out}");
}

#[test]
fn two_servers_sharing_a_bucket_serve_a_promotion_made_by_a_third_process_with_no_failed_request() {
    let dir = workdir("s3-replicas");
    let Some(root) = s3_project(&dir, "replicas") else {
        return;
    };
    let model = "SubscribersDeclared";
    let a = fit_declared(&root, &["--upload"]);
    let b = fit_declared(&root, &["-p", "max_depth=5", "--upload"]);
    let ida = a["fitting_id"].as_str().unwrap();
    // Two replicas with no fittings and no database of their own: all they share is the bucket.
    let mut ports = Vec::new();
    let mut servers = Vec::new();
    for replica in ["replica-1", "replica-2"] {
        let copy = dir.join(replica);
        fresh_copy(&root, &copy);
        let (server, port) = api(&copy, &["--refresh", "1"]);
        wait_for_fitting(port, model, &b["fitting_id"], Value::Null);
        servers.push(server);
        ports.push(port);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let load: Vec<_> = ports
        .iter()
        .map(|&port| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let path = format!("/models/{model}/predict");
                    statuses.push(http(port, "POST", &path, body).0);
                }
                statuses
            })
        })
        .collect();
    let promoted = std::time::Instant::now();
    ok(&lore(&root, &["models", "promote", model, ida]));
    for &port in &ports {
        wait_for_fitting(port, model, &a["fitting_id"], "production".into());
    }
    let took = promoted.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let statuses: Vec<u16> = load.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request during the promotion was answered: {statuses:?}"
    );
    // The refresh interval (1 s), the promotion's own upload, and loading the fitting.
    assert!(
        took < std::time::Duration::from_secs(10),
        "both replicas served the promotion {took:?} after it was made"
    );
    drop(servers);
}

#[test]
fn a_damaged_object_is_refused_and_s3_failures_leave_no_registry_change() {
    let dir = workdir("s3-failures");
    let Some(root) = s3_project(&dir, "guarded") else {
        return;
    };
    let model = "SubscribersDeclared";
    let fitted = fit_declared(&root, &["--upload"]);
    let id = fitted["fitting_id"].as_str().unwrap();

    // S3 down: every request is tried 4 times (seen with -v), then a clear error; the alias
    // is written nowhere.
    let down = [("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")];
    let out = lore_env(&root, &["-v", "models", "promote", model, id], &down);
    let err = failed(&out);
    assert!(
        err.contains("try 2 of 4") && err.contains("after 4 tries") && err.contains("127.0.0.1:9"),
        "{err}"
    );
    let history: Value =
        serde_json::from_str(&ok(&lore(&root, &["models", "history", model, "--json"]))).unwrap();
    assert_eq!(history["events"], serde_json::json!([]), "{history}");
    assert_eq!(history["holders"], serde_json::json!({}), "{history}");
    assert_eq!(remote_fittings(&root)[0]["aliases"], serde_json::json!([]));

    // A fit whose upload fails is kept locally, and the error says how to upload it later.
    let out = lore_env(&root, &["-q", "fit", model, "--force", "--upload"], &down);
    let err = failed(&out);
    assert!(
        err.contains("the upload failed") && err.contains("lore models push"),
        "{err}"
    );
    assert_eq!(
        ok(&lore(&root, &["models", "ls", "--json"]))
            .matches("fitting_id")
            .count(),
        2
    );

    // Wrong credentials: refused at once, saying which.
    let wrong = [("AWS_SECRET_ACCESS_KEY", "not-the-secret")];
    let err = failed(&lore_env(&root, &["models", "push", model, id], &wrong));
    assert!(err.contains("credentials were refused"), "{err}");
    assert!(!err.contains("try 2"), "a refusal is not retried: {err}");

    // Flip one byte of the stored encoder file: a pull refuses it by name and keeps nothing.
    flip_byte_in_bucket(&bucket_key(&root, model, id, "pipeline.json"));
    let copy = dir.join("copy");
    fresh_copy(&root, &copy);
    let err = failed(&lore(&copy, &["models", "pull", model, id]));
    assert!(
        err.contains("pipeline.json") && err.contains("damaged"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(copy.join("models").join(model))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "nothing is kept of a bad download: {left:?}"
    );
    let err = failed(&lore(
        &copy,
        &["predict", model, "--input", "x.csv", "--fitting", id],
    ));
    assert!(err.contains("pipeline.json"), "{err}");
}

/// The bucket key of one file of a fitting of the project at `root`.
fn bucket_key(root: &Path, model: &str, id: &str, file: &str) -> String {
    let env = std::fs::read_to_string(root.join(".env")).unwrap();
    let prefix = env
        .lines()
        .find_map(|l| l.strip_prefix("LORE_S3_PREFIX="))
        .unwrap();
    format!("{prefix}/development/{model}/{id}/{file}")
}

/// A client of the test bucket of its own, and the bucket's name.
fn bucket_client() -> (aws_sdk_s3::Client, String) {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let var = |n: &str| std::env::var(format!("LORE_TEST_S3_{n}")).unwrap();
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(var("REGION")))
        .endpoint_url(var("ENDPOINT"))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            var("ACCESS_KEY_ID"),
            var("SECRET_ACCESS_KEY"),
            None,
            None,
            "e2e",
        ))
        .build();
    (aws_sdk_s3::Client::from_conf(config), var("BUCKET"))
}

/// The object at `key` in the test bucket.
fn bucket_get(key: &str) -> Vec<u8> {
    let (client, bucket) = bucket_client();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let got = client.get_object().bucket(&bucket).key(key).send().await;
        got.unwrap().body.collect().await.unwrap().to_vec()
    })
}

/// Writes `bytes` at `key` in the test bucket, as anyone with write access to it could.
fn bucket_put(key: &str, bytes: Vec<u8>) {
    let (client, bucket) = bucket_client();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    });
}

/// Flips one byte of the object at `key` in the test bucket.
fn flip_byte_in_bucket(key: &str) {
    let mut bytes = bucket_get(key);
    bytes[10] ^= 1;
    bucket_put(key, bytes);
}

#[test]
fn names_from_a_bucket_never_leave_their_folder_and_bad_fittings_are_skipped() {
    let dir = workdir("s3-hostile");
    let Some(root) = s3_project(&dir, "hostile") else {
        return;
    };
    let model = "SubscribersDeclared";
    let good = fit_declared(&root, &["--upload"]);
    let id = good["fitting_id"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&bucket_get(&bucket_key(&root, model, id, "manifest.json")))
            .unwrap();
    let params = bucket_get(&bucket_key(&root, model, id, "params.json"));

    // Fittings sorting after the good one, whose manifests name files outside their folder,
    // each file also in the bucket where a naive download would find it.
    let outside = dir.join("abs");
    let absolute = format!("{}/x", outside.display());
    let hostile = [
        ("zz-dotdot", "../x"),
        ("zz-absolute", absolute.as_str()),
        ("zz-nested", "a/../../x"),
    ];
    for (fake, name) in hostile {
        let mut m = manifest.clone();
        m["files"][name] = m["files"]["params.json"].clone();
        bucket_put(
            &bucket_key(&root, model, fake, "manifest.json"),
            serde_json::to_vec(&m).unwrap(),
        );
        bucket_put(&bucket_key(&root, model, fake, name), params.clone());
        for (file, _) in manifest["files"].as_object().unwrap() {
            let bytes = bucket_get(&bucket_key(&root, model, id, file));
            bucket_put(&bucket_key(&root, model, fake, file), bytes);
        }
    }
    // A fitting id with a slash, and a model whose only fitting is a hostile one.
    bucket_put(
        &bucket_key(&root, model, "zz/slashed", "manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    );
    let mut evil = manifest.clone();
    evil["files"]["../../../x"] = evil["files"]["params.json"].clone();
    bucket_put(
        &bucket_key(&root, "Evil", "20990101-000000-0000", "manifest.json"),
        serde_json::to_vec(&evil).unwrap(),
    );

    let server_dir = dir.join("server");
    fresh_copy(&root, &server_dir);
    let log = dir.join("api.stderr");
    let (server, port) = api_with_stderr(
        &server_dir,
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let (status, models) = http(port, "GET", "/models", "");
    assert_eq!(status, 200);
    let served: Vec<(&str, &str)> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["fitting_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        served,
        [(model, id)],
        "the good fitting is served, nothing else"
    );
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let (status, predicted) = http(port, "POST", &format!("/models/{model}/predict"), body);
    assert_eq!(status, 200, "{predicted}");
    drop(server);

    let stderr = std::fs::read_to_string(&log).unwrap();
    for name in [
        "\"../x\"",
        &format!("{absolute:?}"),
        "\"a/../../x\"",
        "\"zz/slashed\"",
        "\"../../../x\"",
    ] {
        assert!(stderr.contains(name), "{name} is refused by name: {stderr}");
    }
    assert!(
        stderr.contains("s3://"),
        "the refusal names the bucket: {stderr}"
    );
    let pulled = ok(&lore(&server_dir, &["models", "ls", "--json"]));
    assert!(
        !pulled.contains("zz-"),
        "no hostile fitting is kept: {pulled}"
    );

    // Pulling one by hand is refused the same way, and the command line's names are checked.
    let err = failed(&lore(&server_dir, &["models", "pull", model, "zz-dotdot"]));
    assert!(err.contains("\"../x\"") && err.contains("s3://"), "{err}");
    let err = failed(&lore(
        &server_dir,
        &["models", "pull", model, "zz/../../escape"],
    ));
    assert!(err.contains("path separator"), "{err}");

    // Nothing anywhere but the good fitting's own files in models/<Model>/<id>/.
    assert!(!outside.exists(), "nothing written at an absolute path");
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            match entry.path().is_dir() {
                true => stack.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    assert!(
        !files.iter().any(|f| f.file_name().unwrap() == "x"),
        "no file x was written: {files:?}"
    );
    let fittings = server_dir.join("models");
    for file in files.iter().filter(|f| f.starts_with(&fittings)) {
        let inside = file.strip_prefix(&fittings).unwrap();
        assert!(
            inside.starts_with(Path::new(model).join(id)),
            "{} is outside models/{model}/{id}/",
            file.display()
        );
    }
}

#[test]
fn oversized_requests_are_refused_cheaply_and_the_server_keeps_answering() {
    let d = demo();
    let (server, port) = api(&d.root, &[]);
    let pid = server.0.id();
    let good = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    for _ in 0..20 {
        assert_eq!(
            http(port, "POST", "/models/Subscribers/predict", good).0,
            200
        );
    }
    let before = resident_bytes(pid);

    let health = std::thread::spawn(move || {
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..100 {
            let t = std::time::Instant::now();
            assert_eq!(http(port, "GET", "/health", "").0, 200);
            slowest = slowest.max(t.elapsed());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        slowest
    });
    let spread: Vec<String> = (0..1000)
        .map(|r| {
            let fields: Vec<String> = (0..200).map(|k| format!("\"f{r}_{k}\":{k}")).collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    let spread = format!("[{}]", spread.join(","));
    let wide: Vec<String> = (0..100_000).map(|k| format!("\"k{k}\":1")).collect();
    let wide = format!("[{{{}}}]", wide.join(","));
    for round in 0..3 {
        for (what, body) in [
            ("1,000 records of 200 fields", &spread),
            ("100,000 fields", &wide),
        ] {
            let t = std::time::Instant::now();
            let (status, answer) = http(port, "POST", "/models/Subscribers/predict", body);
            eprintln!("round {round}: {what}: {status} in {:?}", t.elapsed());
            assert!(status == 400 || status == 413, "{what}: {status} {answer}");
            assert!(
                answer["error"].as_str().unwrap().contains("fields"),
                "{answer}"
            );
        }
    }
    let slowest = health.join().unwrap();
    let after = resident_bytes(pid);
    eprintln!(
        "resident memory {} MB -> {} MB; slowest /health {slowest:?}",
        before >> 20,
        after >> 20
    );
    assert!(
        after < before + (50 << 20),
        "memory grew by {} MB",
        (after.saturating_sub(before)) >> 20
    );
    assert_eq!(
        http(port, "POST", "/models/Subscribers/predict", good).0,
        200
    );
}

/// Bytes read from `stream` until the server closes it, or `None` if it is still open after
/// `wait`.
fn read_until_closed(stream: &mut TcpStream, wait: std::time::Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => return None,
        }
    }
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_ctrl_c_does_not_wait_for_them() {
    let d = demo();
    let timeouts = [
        "--header-timeout",
        "2",
        "--idle-timeout",
        "1.5",
        "--shutdown-timeout",
        "2",
    ];
    let (mut server, port) = api(&d.root, &timeouts);

    // Headers one byte a second, never idle for the idle timeout: closed at the header timeout,
    // long before they are done.
    let mut loris = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    let request =
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    for byte in request {
        if loris.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        loris
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        let mut buf = [0u8; 256];
        match loris.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => panic!("an answer to half a request"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    eprintln!("slow headers closed after {:?}", started.elapsed());
    assert!(
        closed,
        "a client sending its headers at 1 byte/s is cut off"
    );

    // An idle keep-alive connection is closed after its answer.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let got = read_until_closed(&mut idle, std::time::Duration::from_secs(8))
        .expect("the idle connection is closed by the server");
    eprintln!("idle keep-alive closed after {:?}", started.elapsed());
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));

    // A client in the middle of a body when Ctrl-C comes: the server still exits.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"POST /models/Subscribers/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exited = loop {
        if let Some(code) = server.0.try_wait().unwrap() {
            break Some(code);
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    eprintln!("exited {:?} after Ctrl-C", started.elapsed());
    let code = exited.expect("lore api exits after Ctrl-C with a slow client connected");
    assert!(code.success(), "{code}");
    drop(slow);
}

#[test]
fn every_error_answer_is_json_and_client_mistakes_are_never_500() {
    let d = demo();
    let (_server, port) = api(&d.root, &["--max-body", "100000"]);
    let raw = |request: &[u8]| -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The server may answer a body that is too large before it has all of it.
        let _ = stream.write_all(request);
        let got = read_until_closed(&mut stream, std::time::Duration::from_secs(10)).unwrap();
        let text = String::from_utf8_lossy(&got).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    };
    let predict = "/models/Subscribers/predict";
    let big = format!("[{}]", vec!["{}"; 60_000].join(","));
    let cases: Vec<(u16, Vec<u8>)> = vec![
        (404, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        (405, format!("GET {predict} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()),
        (
            415,
            format!("POST {predict} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]").into_bytes(),
        ),
        (
            413,
            format!("POST {predict} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}", big.len()).into_bytes(),
        ),
        (
            414,
            format!("GET /health?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(10_000)).into_bytes(),
        ),
        (
            431,
            format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(40_000)).into_bytes(),
        ),
        (
            400,
            format!("POST {predict}?explain=maybe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]").into_bytes(),
        ),
    ];
    for (want, request) in cases {
        let (status, body) = raw(&request);
        assert_eq!(
            status,
            want,
            "{}: {body}",
            String::from_utf8_lossy(&request[..40])
        );
        assert!(
            body["error"].is_string(),
            "{want}: JSON with an error: {body}"
        );
    }
}

#[test]
fn values_of_the_wrong_kind_get_400_naming_field_record_and_kind() {
    let dir = workdir("kinds");
    ok(&lore(&dir, &["init", "kinds", "--sample-rows", "2000"]));
    let root = dir.join("kinds");
    ok(&lore(
        &root,
        &["sql", "CREATE TABLE kinds (name TEXT, orders INTEGER, active BOOLEAN, born DATE, seen DATETIME, label BOOLEAN)"],
    ));
    ok(&lore(
        &root,
        &["sql", "INSERT INTO kinds SELECT first_name, orders, sessions_30d > 3, date(signup_date), signup_date, has_subscription FROM users"],
    ));
    std::fs::write(
        root.join("src/extracts/kinds.sql"),
        "SELECT name, orders, active, born, seen, label FROM kinds\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/models/kinds.toml"),
        "[pipeline.extract]\nsql = \"kinds\"\n\n\
         [[pipeline.transformers]]\ntype = \"DateTime\"\ncolumn = \"born\"\npart = \"month\"\n\n\
         [[pipeline.transformers]]\ntype = \"DateTime\"\ncolumn = \"seen\"\npart = \"hour\"\n\n\
         [pipeline.split]\ntype = \"Holdout\"\n\n\
         [[pipeline.encoders]]\ntype = \"Unique\"\ncolumn = \"name\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"orders\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"active\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"DateTime(born, month)\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"DateTime(seen, hour)\"\n\n\
         [pipeline.output]\ntype = \"Boolean\"\ncolumn = \"label\"\n\n\
         [estimator]\ntype = \"XGBoost\"\nn_estimators = 5\n",
    )
    .unwrap();
    ok(&lore(&root, &["fit", "Kinds", "--json"]));
    let (_server, port) = api(&root, &[]);
    let (_, models) = http(port, "GET", "/models", "");
    assert_eq!(
        models["models"][0]["input_kinds"],
        serde_json::json!({"name": "text", "orders": "number", "active": "boolean", "born": "date", "seen": "timestamp"}),
        "{models}"
    );
    let good = r#"{"name":"Ann","orders":3,"active":true,"born":"1990-01-02","seen":"2018-01-02 10:00:00"}"#;
    let (status, answer) = http(port, "POST", "/models/Kinds/predict", &format!("[{good}]"));
    assert_eq!(status, 200, "{answer}");
    let wrong = [
        ("name", "5", "text"),
        ("name", "[\"Ann\"]", "text"),
        ("orders", "\"3\"", "number"),
        ("orders", "\"NaN\"", "number"),
        ("orders", "true", "number"),
        ("active", "\"yes\"", "true/false"),
        ("active", "1", "true/false"),
        ("born", "\"02/01/1990\"", "date"),
        ("born", "19900102", "date"),
        ("seen", "\"yesterday\"", "timestamp"),
        ("seen", "{\"at\": 1}", "timestamp"),
    ];
    for (field, value, kind) in wrong {
        let bad = good.replace(
            &format!(
                "\"{field}\":{}",
                serde_json::from_str::<Value>(&format!("[{good}]")).unwrap()[0][field]
            ),
            &format!("\"{field}\":{value}"),
        );
        let body = format!("[{good},{good},{bad}]");
        let (status, answer) = http(port, "POST", "/models/Kinds/predict", &body);
        assert_eq!(status, 400, "{field}={value}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert_eq!(answer["row"], 3, "{answer}");
        assert!(
            answer["expected"].as_str().unwrap().starts_with(kind),
            "{answer}"
        );
        assert!(
            answer["error"].as_str().unwrap().contains("record 3"),
            "{answer}"
        );
    }
}

#[test]
fn a_password_in_a_url_is_shown_and_logged_nowhere() {
    let dir = workdir("secrets");
    ok(&lore(&dir, &["init", "secrets", "--sample-rows", "2000"]));
    let root = dir.join("secrets");
    let mut config = std::fs::read_to_string(root.join("config/database.toml")).unwrap();
    config.push_str(
        "\n[leaky]\nurl = \"postgres://lore:p@ss:w0rd@127.0.0.1:1/db?sslmode=disable&password=hunter2\"\nconnect_timeout = 2\n",
    );
    std::fs::write(root.join("config/database.toml"), config).unwrap();
    let out = lore(&root, &["-v", "sql", "SELECT 1", "--connection", "leaky"]);
    let stderr = failed(&out);
    assert!(
        stderr.contains("127.0.0.1:1"),
        "the error says where: {stderr}"
    );
    let mut logs = String::new();
    for entry in std::fs::read_dir(root.join("logs")).unwrap().flatten() {
        logs.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        use std::os::unix::fs::PermissionsExt;
        let mode = entry.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{} is private", entry.path().display());
    }
    assert!(
        logs.contains("127.0.0.1:1"),
        "the failure is logged: {logs}"
    );
    for secret in ["hunter2", "w0rd", "p@ss"] {
        assert!(!stderr.contains(secret), "{secret} on stderr: {stderr}");
        assert!(!logs.contains(secret), "{secret} in logs/: {logs}");
    }
}
