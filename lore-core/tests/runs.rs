//! Runs found by filters in the metadata database, SQLite and a real PostgreSQL
//! (`LORE_TEST_POSTGRES_URL`, as in tests/extracts.rs), give exactly the runs the same filters
//! pick in memory.

#[path = "common/runs.rs"]
mod sample_runs;

use std::path::Path;

use lore_core::env::Project;
use lore_core::tracking::{self, Filter, Query, Run};

fn project(dir: &Path, metadata: &str) -> Project {
    std::fs::write(dir.join("Lore.toml"), "[app]\nname = \"runs_test\"\n").unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/database.toml"),
        format!("[main]\nurl = \"sqlite:data/t.sqlite\"\n\n[metadata]\nurl = \"{metadata}\"\n"),
    )
    .unwrap();
    Project::open(dir).unwrap()
}

async fn same_as_in_memory(project: &Project, prefix: &str) {
    let runs = sample_runs::runs(3000, 11, prefix);
    tracking::record(project, &runs).await.unwrap();
    let mut newest_first: Vec<&Run> = runs.iter().collect();
    newest_first.sort_by(|a, b| b.id().cmp(a.id()));
    for text in sample_runs::FILTERS {
        let filter = Filter::parse(text).unwrap();
        let expected: Vec<&str> = newest_first
            .iter()
            .filter(|r| filter.matches(&serde_json::to_value(r).unwrap()))
            .map(|r| r.id())
            .filter(|id| id.starts_with(prefix))
            .collect();
        let found = tracking::search(
            project,
            &Query {
                filter: Some(filter),
                ..Query::default()
            },
        )
        .await
        .unwrap();
        let found: Vec<&str> = found
            .iter()
            .map(Run::id)
            .filter(|id| id.starts_with(prefix))
            .collect();
        assert!(
            !expected.is_empty() && expected.len() < runs.len(),
            "`{text}` should pick some runs, not all: {}",
            expected.len()
        );
        assert_eq!(found, expected, "`{text}`");
    }
    let documents: Vec<(serde_json::Value, &str)> = newest_first
        .iter()
        .filter(|r| r.id().starts_with(prefix))
        .map(|r| (serde_json::to_value(r).unwrap(), r.id()))
        .collect();
    for (text, sort, limit) in sample_runs::SORTED {
        let filter = Filter::parse(text).unwrap();
        let matching = documents
            .iter()
            .filter(|(d, _)| filter.matches(d))
            .map(|(d, id)| (d, *id))
            .collect();
        let expected = sample_runs::first_by_key(matching, sort, *limit);
        let with_prefix = Filter::And(
            Box::new(filter),
            Box::new(Filter::parse(&format!("run_id like '{prefix}%'")).unwrap()),
        );
        let found = tracking::search(
            project,
            &Query {
                filter: Some(with_prefix),
                sort: vec![sample_runs::sort_key(sort)],
                limit: Some(*limit),
                ..Query::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            found.iter().map(Run::id).collect::<Vec<_>>(),
            expected,
            "`{text}` sorted by {sort}"
        );
    }
    let one = tracking::find(project, &format!("{prefix}0000042"))
        .await
        .unwrap();
    assert_eq!(
        &one,
        runs.iter().find(|r| r.id() == one.id()).unwrap(),
        "documents come back whole"
    );
}

#[tokio::test]
async fn sqlite_filters_equal_filtering_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "sqlite:data/metadata.sqlite");
    same_as_in_memory(&p, "").await;
}

#[tokio::test]
async fn postgres_filters_equal_filtering_in_memory() {
    let Ok(url) = std::env::var("LORE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("LORE_REQUIRE_POSTGRES").is_err(),
            "LORE_REQUIRE_POSTGRES is set but LORE_TEST_POSTGRES_URL is not"
        );
        eprintln!("LORE_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), &url);
    let prefix = format!("pg{}-", std::process::id());
    same_as_in_memory(&p, &prefix).await;
}
