//! Runs as queryable documents: recorded, listed, filtered, compared and exported.

use super::*;
use crate::testing::*;

fn project() -> (tempfile::TempDir, Project) {
    crate::env::tests::project_with("[main]\nurl = \"sqlite:data/u.sqlite\"\n")
}

fn run(model: &str, id: &str, auc: f64, depth: i64) -> Run {
    let mut run = Run::new(RunKind::Fit, model, id);
    run.store("metrics.test.auc", auc).unwrap();
    run.store("params.estimator.max_depth", depth).unwrap();
    run.store("tags.team", "growth").unwrap();
    run
}

#[tokio::test]
async fn runs_are_stored_as_documents_and_found_by_filter_in_the_database() {
    let (dir, project) = project();
    let runs = [
        run("A", "20260101-000000-0001", 0.70, 4),
        run("B", "20260101-000000-0002", 0.74, 6),
        run("A", "20260101-000000-0003", 0.73, 6),
    ];
    record(&project, &runs).await.unwrap();
    assert!(dir.path().join("data/metadata.sqlite").is_file());
    let all = search(&project, &Query::default()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(Run::id).collect();
    assert_eq!(
        ids,
        [
            "20260101-000000-0003",
            "20260101-000000-0002",
            "20260101-000000-0001"
        ]
    );
    assert_eq!(all[2], runs[0], "a document comes back as it was stored");
    let query = Query {
        filter: Some(
            Filter::parse("metrics.test.auc >= 0.72 and params.estimator.max_depth = 6").unwrap(),
        ),
        sort: vec![(Path::parse("metrics.test.auc").unwrap(), true)],
        ..Query::default()
    };
    let found = search(&project, &query).await.unwrap();
    assert_eq!(
        found.iter().map(Run::id).collect::<Vec<_>>(),
        ["20260101-000000-0002", "20260101-000000-0003"]
    );
    let a = search(
        &project,
        &Query {
            model: Some("A".into()),
            limit: Some(1),
            ..Query::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        a.iter().map(Run::id).collect::<Vec<_>>(),
        ["20260101-000000-0003"]
    );

    let mut changed = runs[1].clone();
    changed.store("data.source", "warehouse").unwrap();
    record(&project, &[changed]).await.unwrap();
    let again = find(&project, "20260101-000000-0002").await.unwrap();
    assert_eq!(again.get("data.source"), Some(&json!("warehouse")));
    assert_eq!(
        search(&project, &Query::default()).await.unwrap().len(),
        3,
        "recording again replaces"
    );
    refused(find(&project, "20260101").await, &["several", "-0003"]);
    assert_eq!(
        find(&project, "20260101-000000-0001")
            .await
            .unwrap()
            .model(),
        "A"
    );
    assert!(find(&project, "nope")
        .await
        .unwrap_err()
        .to_string()
        .contains("no run `nope`"));
}

async fn key_indexes(project: &Project) -> Vec<String> {
    let connection = open(project).await.unwrap();
    let df = connection
        .query_frame(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'runs_key_%'",
            &BTreeMap::new(),
            &origin("test"),
        )
        .await
        .unwrap();
    connection.close().await;
    frame::strings(&df, "sql", "test")
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

/// The ids `query` gives, then the ids the same query picks in memory.
async fn both_ways(project: &Project, runs: &[Run], query: &Query) -> (Vec<String>, Vec<String>) {
    let found = search(project, query).await.unwrap();
    let filter = query.filter.clone().unwrap();
    let documents: Vec<(Value, &str)> = runs
        .iter()
        .map(|r| (serde_json::to_value(r).unwrap(), r.id()))
        .filter(|(d, _)| filter.matches(d))
        .collect();
    let mut expected: Vec<(&Value, &str)> = documents.iter().map(|(d, id)| (d, *id)).collect();
    // Newest first, then by each sort key (numbers only here), missing values last.
    expected.sort_by(|a, b| b.1.cmp(a.1));
    for (path, descending) in query.sort.iter().rev() {
        expected.sort_by(|a, b| {
            match (
                path.get(a.0).and_then(Value::as_f64),
                path.get(b.0).and_then(Value::as_f64),
            ) {
                (Some(x), Some(y)) if *descending => y.total_cmp(&x),
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            }
        });
    }
    let expected = expected
        .into_iter()
        .take(query.limit.unwrap_or(usize::MAX))
        .map(|(_, id)| id.to_string())
        .collect();
    (found.iter().map(|r| r.id().to_string()).collect(), expected)
}

#[tokio::test]
async fn limited_queries_read_the_first_runs_in_their_order_then_look_keys_up() {
    let (_dir, project) = project();
    let runs: Vec<Run> = (0..WINDOW + 600)
        .map(|i| {
            let mut run = Run::new(RunKind::Fit, ["A", "B"][i % 2], &format!("r{i:06}"));
            if i % 53 != 0 {
                run.store("metrics.score", (i * 7919 % 1000) as f64 / 1000.0)
                    .unwrap();
            }
            run.store("metrics.rows", i % 97).unwrap();
            run
        })
        .collect();
    record(&project, &runs).await.unwrap();
    let query = |filter: &str, sort: &[&str], limit: Option<usize>| Query {
        filter: Some(Filter::parse(filter).unwrap()),
        sort: sort
            .iter()
            .map(|s| {
                (
                    Path::parse(s.trim_start_matches('-')).unwrap(),
                    s.starts_with('-'),
                )
            })
            .collect(),
        limit,
        ..Query::default()
    };
    let cases = [
        // Common: the first 10,000 runs in the order hold 50 matches.
        query("metrics.score >= 0.5", &[], Some(50)),
        query("model = 'B'", &["-metrics.score", "metrics.rows"], Some(50)),
        query("metrics.rows < 50", &["metrics.score"], Some(300)),
        // Rare: they do not, so the indexes answer.
        query("metrics.score >= 0.998 and model = 'A'", &[], Some(50)),
        query("metrics.rows = 5", &["-metrics.score"], Some(200)),
        query("metrics.score >= 0.998", &[], None),
    ];
    for q in &cases {
        let (found, expected) = both_ways(&project, &runs, q).await;
        assert!(!expected.is_empty(), "{q:?}");
        assert_eq!(found, expected, "{q:?}");
    }
    let made = key_indexes(&project).await;
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made
        .iter()
        .any(|sql| sql.contains(r#"json_extract(document, '$."metrics"."score"')"#)));
}

#[tokio::test]
async fn key_indexes_stop_at_the_maximum_and_queries_still_answer() {
    let (_dir, project) = project();
    let mut run = Run::new(RunKind::Fit, "A", "r1");
    for k in 0..indexes::MAX + 3 {
        run.store(&format!("metrics.m{k}"), k).unwrap();
    }
    record(&project, std::slice::from_ref(&run)).await.unwrap();
    for k in 0..indexes::MAX + 3 {
        let sorted = Query {
            sort: vec![(Path::parse(&format!("metrics.m{k}")).unwrap(), true)],
            filter: Some(Filter::parse(&format!("metrics.m{k} = {k}")).unwrap()),
            ..Query::default()
        };
        let found = search(&project, &sorted).await.unwrap();
        assert_eq!(found.len(), 1, "metrics.m{k}");
    }
    assert_eq!(key_indexes(&project).await.len(), indexes::MAX);
}

#[test]
fn store_makes_objects_on_the_way_and_keeps_the_identity() {
    let mut run = Run::new(RunKind::Trial, "M", "x");
    run.store("data.source.table", "users").unwrap();
    assert_eq!(run.get("data.source.table"), Some(&json!("users")));
    assert!(run.store("run_id", "y").is_err());
    assert!(run.store("metrics.0", 1).is_err());
    assert_eq!(run.kind(), "trial");
    assert_eq!(run.fitting_id(), None);
}
