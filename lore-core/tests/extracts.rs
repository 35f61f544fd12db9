//! The same extract tests against SQLite and a real PostgreSQL (`LORE_TEST_POSTGRES_URL`, started
//! by scripts/postgres; with `LORE_REQUIRE_POSTGRES=1`, as in scripts/test and CI, its absence fails).

use std::collections::BTreeMap;
use std::path::Path;

use lore_core::env::Project;
use lore_core::io::{Database, Origin, ProjectConnection, ReadOptions};
use lore_core::sample;
use polars::prelude::*;
use serde_json::json;

#[path = "../src/testing.rs"]
mod testing;
use testing::holds;

fn postgres_url() -> Option<String> {
    match std::env::var("LORE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("LORE_REQUIRE_POSTGRES").is_err(),
                "LORE_REQUIRE_POSTGRES is set but LORE_TEST_POSTGRES_URL is not"
            );
            eprintln!("LORE_TEST_POSTGRES_URL is not set: PostgreSQL cases skipped (scripts/test starts one)");
            None
        }
    }
}

/// The databases of a fresh [`project`] with extracts of `table`.
fn database(table: &str) -> (tempfile::TempDir, Database) {
    let (dir, project) = project(table);
    (dir, Database::new(&project).unwrap())
}

/// A project in a fresh folder whose `main` is SQLite and whose `pg` is the test PostgreSQL (when
/// there is one), with extracts of `table`.
fn project(table: &str) -> (tempfile::TempDir, Project) {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    std::fs::write(dir.join("Lore.toml"), "[app]\nname = \"extracts_test\"\n").unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("src/extracts")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::File::create(dir.join("data/t.sqlite")).unwrap();
    std::fs::write(
        dir.join("config/database.toml"),
        "[main]\nurl = \"sqlite:data/t.sqlite\"\n\n[pg]\nurl = \"${LORE_TEST_POSTGRES_URL:-postgres://nobody@127.0.0.1:1/none}\"\npool_size = 2\n\n\
         [bad]\nurl = \"postgres://lore:hunter2@127.0.0.1:1/nothing\"\nconnect_timeout = 2\n\n[garbled]\nurl = \"postgres://lore:hunter2@:::/x\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("src/extracts/{table}.sql")),
        format!("-- users with at least {{min_orders}} orders\nSELECT id, first_name, email, orders, basket_value\nFROM {table}\nWHERE orders >= {{min_orders}}\nORDER BY id\nLIMIT :limit\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("src/extracts/{table}_by_name.sql")),
        format!("SELECT count(*) AS n FROM {table} WHERE first_name = :name\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("src/extracts/{table}_broken.sql")),
        format!("SELECT id\nFROM {table}\nWHERE WHERE id = 1\n"),
    )
    .unwrap();
    let project = Project::open(dir).unwrap();
    (folder, project)
}

/// Writes `rows` sample users into `table` over `connection`, and gives the connection.
async fn load_users(
    db: &Database,
    connection: &str,
    table: &str,
    rows: usize,
) -> ProjectConnection {
    let c = db.connection(connection).unwrap();
    let mut df = sample::frame(&sample::generate(rows, 7)).unwrap();
    df = df
        .select(["id", "first_name", "email", "orders", "basket_value"])
        .unwrap();
    c.replace(table, &df).await.unwrap();
    c
}

/// The first row's `n`, a count.
fn count(df: DataFrame) -> Option<i64> {
    df.column("n")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .get(0)
}

/// The text in the first row of `column`.
fn first_text(df: &DataFrame, column: &str) -> String {
    df.column(column)
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string()
}

fn params(limit: i64, min_orders: i64) -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([
        ("limit".to_string(), json!(limit)),
        ("min_orders".to_string(), json!(min_orders)),
    ])
}

fn backends() -> Vec<&'static str> {
    let mut b = vec!["main"];
    if postgres_url().is_some() {
        b.push("pg");
    }
    b
}

/// Writes `sql` as the extract `name` of the project in `dir`, and reads it whole from the `pg`
/// connection.
async fn read_pg(dir: &Path, project: &Project, name: &str, sql: &str) -> DataFrame {
    std::fs::write(dir.join(format!("src/extracts/{name}.sql")), sql).unwrap();
    Database::new(project)
        .unwrap()
        .connection("pg")
        .unwrap()
        .dataframe(name, &BTreeMap::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn one_extract_gives_equal_frames_on_sqlite_and_postgres() {
    let (_dir, db) = database("users_equal");
    let mut frames = Vec::new();
    for backend in backends() {
        load_users(&db, backend, "users_equal", 3000).await;
        let df = db
            .connection(backend)
            .unwrap()
            .dataframe("users_equal", &params(500, 5))
            .await
            .unwrap();
        assert_eq!(df.height(), 500, "{backend}");
        assert_eq!(
            df.dtypes(),
            vec![
                DataType::Int64,
                DataType::String,
                DataType::String,
                DataType::Int64,
                DataType::Float64
            ],
            "{backend}"
        );
        assert!(
            df.column("basket_value").unwrap().null_count() > 0,
            "{backend}: NULLs stay null"
        );
        frames.push(df);
    }
    if frames.len() == 2 {
        assert_eq!(frames[0], frames[1]);
    }
}

#[tokio::test]
async fn parameter_values_are_data_never_sql() {
    let (_dir, db) = database("users_inject");
    for backend in backends() {
        let c = load_users(&db, backend, "users_inject", 100).await;
        let evil = BTreeMap::from([("name".to_string(), json!("'; DROP TABLE users_inject; --"))]);
        let df = c.dataframe("users_inject_by_name", &evil).await.unwrap();
        assert_eq!(count(df), Some(0), "{backend}");
        assert!(
            c.connection().table_exists("users_inject").await.unwrap(),
            "{backend}: the table is still there"
        );
        let all = c.dataframe("users_inject", &params(1000, 0)).await.unwrap();
        assert_eq!(all.height(), 100, "{backend}");
    }
}

#[tokio::test]
async fn an_injection_through_every_template_syntax_is_bound_or_refused_with_its_line() {
    let (dir, project) = project("users_tpl");
    let extracts = dir.path().join("src/extracts");
    for (name, where_clause) in [
        ("tpl_braces", "first_name = {{ name }}"),
        ("tpl_single", "first_name = {name}"),
        ("tpl_colon", "first_name = :name"),
    ] {
        std::fs::write(
            extracts.join(format!("{name}.sql.tera")),
            format!("SELECT count(*) AS n\nFROM users_tpl\nWHERE {where_clause}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        extracts.join("tpl_filtered.sql.tera"),
        "SELECT count(*) AS n\nFROM users_tpl\nWHERE first_name = {{ name | lower }}\n",
    )
    .unwrap();
    let db = Database::new(&project).unwrap();
    for backend in backends() {
        let c = load_users(&db, backend, "users_tpl", 200).await;
        let some_name = c
            .connection()
            .query_frame(
                "SELECT first_name FROM users_tpl WHERE first_name IS NOT NULL LIMIT 1",
                &BTreeMap::new(),
                &Origin::default(),
            )
            .await
            .unwrap();
        let name = first_text(&some_name, "first_name");
        for extract in ["tpl_braces", "tpl_single", "tpl_colon"] {
            let honest = BTreeMap::from([("name".to_string(), json!(name))]);
            let expected = count(c.dataframe(extract, &honest).await.unwrap());
            assert!(expected.unwrap() > 0, "{backend} {extract}");
            let evil = BTreeMap::from([("name".to_string(), json!("x' OR '1'='1"))]);
            let got = count(c.dataframe(extract, &evil).await.unwrap());
            assert_eq!(
                got,
                Some(0),
                "{backend} {extract}: bound, so no row has that name"
            );
        }
        let evil = BTreeMap::from([("name".to_string(), json!("x' OR '1'='1"))]);
        let err = c
            .dataframe("tpl_filtered", &evil)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tpl_filtered.sql.tera")
                && err.contains("line 3")
                && err.contains(":name"),
            "{backend}: {err}"
        );
    }
}

#[tokio::test]
async fn errors_name_the_connection_and_extract_and_hide_passwords() {
    let (_dir, db) = database("users_errors");
    let read_error = |connection: &'static str| {
        let c = db.connection(connection).unwrap();
        async move {
            c.dataframe("users_errors", &params(1, 0))
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let unreachable = read_error("bad").await;
    assert!(
        unreachable.contains("[bad]")
            && !unreachable.contains("hunter2")
            && !unreachable.contains('\n'),
        "{unreachable}"
    );
    let garbled = read_error("garbled").await;
    assert!(
        garbled.contains("[garbled]") && !garbled.contains("hunter2"),
        "{garbled}"
    );
    let missing = db.connection("nowhere").unwrap_err().to_string();
    holds(&missing, &["[nowhere]", "main"]);
    for backend in backends() {
        let c = load_users(&db, backend, "users_errors", 10).await;
        let no_file = c
            .dataframe("nope", &BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        holds(&no_file, &["no extract `nope`", "users_errors"]);
        let syntax = c
            .dataframe("users_errors_broken", &BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            syntax.contains("users_errors_broken.sql") && syntax.contains(&format!("[{backend}]")),
            "{syntax}"
        );
        let unused = c
            .dataframe(
                "users_errors",
                &BTreeMap::from([
                    ("limit".to_string(), json!(1)),
                    ("min_orders".to_string(), json!(1)),
                    ("typo".to_string(), json!(1)),
                ]),
            )
            .await
            .unwrap_err()
            .to_string();
        holds(&unused, &["`typo`", "users_errors.sql"]);
    }
}

#[tokio::test]
async fn cached_reads_come_back_without_the_database() {
    let (_dir, project) = project("users_cached");
    for backend in backends() {
        let db = Database::new(&project).unwrap();
        let c = load_users(&db, backend, "users_cached", 200).await;
        let cached = ReadOptions {
            cache: Some(true),
            origin: Origin::default(),
        };
        let first = c
            .read("users_cached", &params(150, 0), &cached)
            .await
            .unwrap();
        c.connection()
            .execute("DROP TABLE users_cached")
            .await
            .unwrap();
        let again = Database::new(&project).unwrap();
        let second = again
            .connection(backend)
            .unwrap()
            .read("users_cached", &params(150, 0), &cached)
            .await
            .unwrap();
        assert_eq!(
            first, second,
            "{backend}: the disk cache survives a new process"
        );
        assert!(
            c.read("users_cached", &params(150, 0), &ReadOptions::default())
                .await
                .is_err(),
            "{backend}: uncached reads hit the database"
        );
        assert!(
            c.read("users_cached", &params(149, 0), &cached)
                .await
                .is_err(),
            "{backend}: other values are another key"
        );
    }
    assert!(!Database::new(&project)
        .unwrap()
        .cache()
        .entries()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn batches_stream_every_row_and_writes_insert_and_replace() {
    let (_dir, db) = database("users_stream");
    for backend in backends() {
        let c = load_users(&db, backend, "users_stream", 1000).await;
        let mut batches = c
            .batches("users_stream", &params(10_000, 0), 300, Origin::default())
            .await
            .unwrap();
        let mut sizes = Vec::new();
        while let Some(batch) = batches.next().await {
            sizes.push(batch.unwrap().height());
        }
        assert_eq!(sizes, vec![300, 300, 300, 100], "{backend}");

        let all = c
            .dataframe("users_stream", &params(10_000, 0))
            .await
            .unwrap();
        c.insert(
            "users_stream",
            &all.head(Some(10))
                .with_column(Column::new(
                    "id".into(),
                    (5000i64..5010).collect::<Vec<_>>(),
                ))
                .unwrap()
                .clone(),
        )
        .await
        .unwrap();
        assert_eq!(
            c.dataframe("users_stream", &params(10_000, 0))
                .await
                .unwrap()
                .height(),
            1010,
            "{backend}"
        );
        c.replace("users_stream", &all.head(Some(5))).await.unwrap();
        assert_eq!(
            c.dataframe("users_stream", &params(10_000, 0))
                .await
                .unwrap()
                .height(),
            5,
            "{backend}"
        );
        assert!(
            c.connection()
                .table_exists("users_stream_backup")
                .await
                .unwrap(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn statements_carry_a_comment_naming_app_and_call_site() {
    let Some(_) = postgres_url() else { return };
    let (dir, project) = project("users_comment");
    let df = read_pg(
        dir.path(),
        &project,
        "me",
        "SELECT query AS q FROM pg_stat_activity WHERE pid = pg_backend_pid()\n",
    )
    .await;
    let q = first_text(&df, "q");
    assert!(
        q.starts_with("/* extracts_test | ") && q.contains("tests/extracts.rs:"),
        "{q}"
    );
}

#[tokio::test]
async fn replicas_rotate_per_statement_unless_sticky() {
    let (dir, project) = project("users_replicas");
    for (file, value) in [("a", 1), ("b", 2)] {
        let c = lore_core::io::Connection::open(
            &format!(
                "sqlite://{}",
                dir.path().join(format!("data/{file}.sqlite")).display()
            ),
            true,
        )
        .await
        .unwrap();
        c.execute(&format!(
            "CREATE TABLE t (v INTEGER); INSERT INTO t VALUES ({value});"
        ))
        .await
        .unwrap();
        c.close().await;
    }
    let mut config = std::fs::read_to_string(dir.path().join("config/database.toml")).unwrap();
    config.push_str("\n[rotating]\nurls = [\"sqlite:data/a.sqlite\", \"sqlite:data/b.sqlite\"]\n\n[sticky]\nurls = [\"sqlite:data/a.sqlite\", \"sqlite:data/b.sqlite\"]\nsticky = true\n");
    std::fs::write(dir.path().join("config/database.toml"), config).unwrap();
    std::fs::write(dir.path().join("src/extracts/v.sql"), "SELECT v FROM t\n").unwrap();
    let db = Database::new(&project).unwrap();
    for (name, expected) in [("rotating", vec![1, 2, 1, 2]), ("sticky", vec![1, 1, 1, 1])] {
        let c = db.connection(name).unwrap();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let df = c.dataframe("v", &BTreeMap::new()).await.unwrap();
            seen.push(df.column("v").unwrap().i64().unwrap().get(0).unwrap());
        }
        assert_eq!(seen, expected, "{name}");
    }
}

#[tokio::test]
async fn postgres_types_become_polars_types_and_the_metadata_database_can_live_there() {
    let Some(url) = postgres_url() else { return };
    let (dir, project) = project("users_types");
    let df = read_pg(dir.path(), &project, "types", "SELECT DATE '2018-06-01' AS d, TIMESTAMP '2018-06-01 10:30:00' AS t, true AS b, 2::int4 AS i, 1.5::float4 AS f, NULL::text AS n\n").await;
    assert_eq!(
        df.dtypes(),
        vec![
            DataType::Date,
            DataType::Datetime(TimeUnit::Microseconds, None),
            DataType::Boolean,
            DataType::Int64,
            DataType::Float64,
            DataType::String
        ]
    );
    assert_eq!(df.column("n").unwrap().null_count(), 1);

    let mut config = std::fs::read_to_string(dir.path().join("config/database.toml")).unwrap();
    config.push_str(&format!("\n[metadata]\nurl = \"{url}\"\n"));
    std::fs::write(dir.path().join("config/database.toml"), config).unwrap();
    let id = format!("pg-{}", std::process::id());
    let mut run = lore_core::tracking::Run::new(lore_core::tracking::RunKind::Fit, "PgModel", &id);
    run.store("metrics.test.auc", 0.5).unwrap();
    lore_core::tracking::record(&project, std::slice::from_ref(&run))
        .await
        .unwrap();
    let query = lore_core::tracking::Query {
        model: Some("PgModel".into()),
        ..Default::default()
    };
    let runs = lore_core::tracking::search(&project, &query).await.unwrap();
    assert!(runs.contains(&run), "{runs:?}");
    assert!(
        !dir.path().join("data/metadata.sqlite").exists(),
        "the metadata went to PostgreSQL"
    );
}

#[tokio::test]
async fn a_connection_the_server_dropped_is_replaced_and_the_statement_still_runs() {
    let Some(url) = postgres_url() else { return };
    let (dir, project) = project("users_dropped");
    let mut config = std::fs::read_to_string(dir.path().join("config/database.toml")).unwrap();
    config.push_str("\n[single]\nurl = \"${LORE_TEST_POSTGRES_URL}\"\npool_size = 1\n");
    std::fs::write(dir.path().join("config/database.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("src/extracts/backend.sql"),
        "SELECT pg_backend_pid() AS pid\n",
    )
    .unwrap();
    let db = Database::new(&project).unwrap();
    let single = db.connection("single").unwrap();
    let pid = |df: DataFrame| df.column("pid").unwrap().i64().unwrap().get(0).unwrap();
    let first = pid(single.dataframe("backend", &BTreeMap::new()).await.unwrap());

    let admin = lore_core::io::Connection::open(&url, false).await.unwrap();
    admin
        .execute(&format!("SELECT pg_terminate_backend({first})"))
        .await
        .unwrap();
    admin.close().await;

    let second = pid(single.dataframe("backend", &BTreeMap::new()).await.unwrap());
    assert_ne!(first, second, "a new server connection runs the statement");
}

#[tokio::test]
async fn sqlite_values_are_typed_by_their_storage_and_declared_type() {
    let (_dir, db) = database("users_sqlite_types");
    let project_main = db.connection("main").unwrap();
    let main = project_main.connection();
    main.execute(
        "CREATE TABLE kinds (b BOOLEAN, d DATE, t DATETIME, i INTEGER, f REAL, s TEXT, w INTEGER);
         INSERT INTO kinds VALUES (1, '2018-06-01', '2018-06-01 10:30:00', 2, 1.5, 'x', 3);
         INSERT INTO kinds VALUES (0, 'not a date', '2018-06-02', NULL, 2, NULL, 4.5);",
    )
    .await
    .unwrap();
    let origin = Origin {
        model: None,
        site: "test".into(),
    };
    let none = BTreeMap::new();
    let df = main
        .query_frame("SELECT * FROM kinds ORDER BY rowid", &none, &origin)
        .await
        .unwrap();
    assert_eq!(
        df.dtypes(),
        vec![
            DataType::Boolean,
            DataType::String,
            DataType::Datetime(TimeUnit::Microseconds, None),
            DataType::Int64,
            DataType::Float64,
            DataType::String,
            DataType::Float64,
        ]
    );
    let text = |c: &str| -> Vec<Option<String>> {
        let column = df.column(c).unwrap().cast(&DataType::String).unwrap();
        let values = column.str().unwrap().iter();
        values.map(|v| v.map(str::to_string)).collect()
    };
    assert_eq!(text("b"), [Some("true".into()), Some("false".into())]);
    assert_eq!(
        text("d"),
        [Some("2018-06-01".into()), Some("not a date".into())]
    );
    assert_eq!(
        text("t"),
        [
            Some("2018-06-01 10:30:00.000000".into()),
            Some("2018-06-02 00:00:00.000000".into())
        ]
    );
    assert_eq!(text("i"), [Some("2".into()), None]);
    assert_eq!(text("w"), [Some("3.0".into()), Some("4.5".into())]);
    assert_eq!(text("s"), [Some("x".into()), None]);

    // Bound, never pasted; an empty answer keeps its columns.
    let hostile = BTreeMap::from([("s".to_string(), json!("x' OR 1=1 --"))]);
    let df = main
        .query_frame("SELECT i, s FROM kinds WHERE s = :s", &hostile, &origin)
        .await
        .unwrap();
    assert_eq!((df.height(), df.get_column_names().len()), (0, 2));

    // A value no column type holds is refused, naming the column.
    let blob = main
        .query_frame("SELECT x'00ff' AS raw", &none, &origin)
        .await
        .unwrap_err()
        .to_string();
    holds(&blob, &["raw", "hex()"]);

    // A statement that writes goes through the driver's own path and still answers.
    let df = main
        .query_frame(
            "INSERT INTO kinds (i) VALUES (9) RETURNING i",
            &none,
            &origin,
        )
        .await
        .unwrap();
    assert_eq!(df.column("i").unwrap().i64().unwrap().get(0), Some(9));
}
