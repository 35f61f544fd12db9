//! Extracts, SQL, `lore data convert`, the query cache, and secrets in database URLs.

use super::*;

#[test]
fn extract_and_sql_show_rows_and_refuse_bad_input() {
    let d = demo();
    prints(
        &d.root,
        &["extract", "users", "--param", "limit=5"],
        &["shape: (5, 8)", "first_name"],
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
    prints(
        &d.root,
        &["data", "convert", "seven.parquet", "seven.csv"],
        &["7 rows", "orders: i64"],
    );
    refuses(
        &d.root,
        &[
            "extract", "users", "--param", "limit=5", "--param", "nope=1",
        ],
        &["`nope`", "users.sql"],
    );
    refuses(
        &d.root,
        &["extract", "missing"],
        &["no extract `missing`", "users"],
    );

    prints(
        &d.root,
        &[
            "sql",
            "SELECT count(*) AS n FROM users WHERE orders > :k",
            "--param",
            "k=1000",
        ],
        &["shape: (1, 1)"],
    );
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
    holds(&err, &["mysql", "[main]"]);
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

    prints(
        &dir,
        &[
            "data",
            "convert",
            "orders.xlsx",
            "orders.parquet",
            "--sheet",
            "Orders",
        ],
        &["2 rows", "customer: str", "total: f64"],
    );
    let csv = ok(&lore(
        &dir,
        &["data", "convert", "orders.parquet", "orders.csv"],
    ));
    holds(&csv, &["2 rows"]);
    let text = std::fs::read_to_string(dir.join("orders.csv")).unwrap();
    holds(&text, &["\"Acme, Inc.\",12.5"]);
    refuses(
        &dir,
        &[
            "data",
            "convert",
            "orders.xlsx",
            "o.parquet",
            "--sheet",
            "Sales",
        ],
        &["no sheet `Sales`", "Notes, Orders"],
    );
}

#[test]
fn the_query_cache_serves_repeat_reads_and_can_be_cleared() {
    let root = project("cache", "cached", 2000);
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
    prints(&root, &["cache", "ls"], &["1 entries"]);
    assert!(ok(&lore(&root, &["cache", "clear"])).contains("Removed 1"));
    failed(&lore(
        &root,
        &["extract", "users", "--param", "limit=1500", "--cache"],
    ));
}

#[test]
fn a_cached_extract_caches_the_encoded_splits_for_the_next_fit() {
    let root = project("encoded", "encoded", 3000);
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
    holds(&log, &["encoding the extract again"]);
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
fn a_password_in_a_url_is_shown_and_logged_nowhere() {
    let root = project("secrets", "secrets", 2000);
    let mut config = std::fs::read_to_string(root.join("config/database.toml")).unwrap();
    config.push_str(
        "\n[leaky]\nurl = \"postgres://lore:p@ss:w0rd@127.0.0.1:1/db?sslmode=disable&password=hunter2\"\nconnect_timeout = 2\n",
    );
    put(&root, "config/database.toml", config);
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
