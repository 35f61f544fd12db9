//! `lore runs --where` over 100,000 stored runs: the filter runs in the metadata database (SQLite,
//! the embedded default) as SQL over JSONB. Every filter of the runs tests, and each timed query,
//! is first checked against the same filter applied in memory to every run. `cargo bench -p lore-core --bench runs`;
//! `LORE_BENCH_RUNS` sets the runs (default 100,000).

#[path = "../tests/common/runs.rs"]
mod sample_runs;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use lore_core::env::Project;
use lore_core::tracking::{self, Filter, Query, Run};

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("LORE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Lore.toml"), "[app]\nname = \"bench\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/database.toml"),
        "[main]\nurl = \"sqlite:data/t.sqlite\"\n",
    )
    .unwrap();
    let project = Project::open(dir.path()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let runs = sample_runs::runs(n, 7, "");
    let t = Instant::now();
    for chunk in runs.chunks(10_000) {
        runtime.block_on(tracking::record(&project, chunk)).unwrap();
    }
    let bytes = std::fs::metadata(dir.path().join("data/metadata.sqlite"))
        .unwrap()
        .len();
    eprintln!(
        "recorded {n} runs in {:.1}s; metadata.sqlite is {} MB",
        t.elapsed().as_secs_f64(),
        bytes / 1_000_000
    );
    let mut newest_first: Vec<&Run> = runs.iter().collect();
    newest_first.sort_by(|a, b| b.id().cmp(a.id()));
    let documents: Vec<serde_json::Value> = newest_first
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    // The documents `filter` picks in memory, newest first, with their ids.
    let picked = |filter: &Filter| -> Vec<(&serde_json::Value, &str)> {
        documents
            .iter()
            .zip(&newest_first)
            .filter(|(d, _)| filter.matches(d))
            .map(|(d, r)| (d, r.id()))
            .collect()
    };

    // Every filter of the tests, at this scale, gives exactly the runs it picks in memory.
    // These are the first queries on their keys: each key compared gets its index here.
    let mut searching = std::time::Duration::ZERO;
    for text in sample_runs::FILTERS {
        let filter = Filter::parse(text).unwrap();
        let query = Query {
            filter: Some(filter.clone()),
            ..Query::default()
        };
        let t = Instant::now();
        let found = runtime
            .block_on(tracking::search(&project, &query))
            .unwrap();
        searching += t.elapsed();
        let expected: Vec<&str> = picked(&filter).into_iter().map(|(_, id)| id).collect();
        assert_eq!(
            found.iter().map(Run::id).collect::<Vec<_>>(),
            expected,
            "{text}"
        );
    }
    eprintln!(
        "{} filters give the runs they pick in memory; their searches, which made the key \
         indexes, took {:.1}s",
        sample_runs::FILTERS.len(),
        searching.as_secs_f64()
    );

    // And every sorted query of the tests, limited, in the order it asks for.
    for (text, sort, limit) in sample_runs::SORTED {
        let filter = Filter::parse(text).unwrap();
        let query = Query {
            filter: Some(filter.clone()),
            sort: vec![sample_runs::sort_key(sort)],
            limit: Some(*limit),
            ..Query::default()
        };
        let found = runtime
            .block_on(tracking::search(&project, &query))
            .unwrap();
        let expected = sample_runs::first_by_key(picked(&filter), sort, *limit);
        assert_eq!(
            found.iter().map(Run::id).collect::<Vec<_>>(),
            expected,
            "{text} sorted by {sort}"
        );
    }
    eprintln!(
        "{} sorted queries give the runs they sort in memory",
        sample_runs::SORTED.len()
    );

    let cases: [(&str, &str, Option<&str>, Option<usize>); 6] = [
        (
            "metrics, first 50",
            "metrics.test.auc >= 0.72 and tags.team = 'growth'",
            None,
            Some(51),
        ),
        (
            "metrics and params, first 50",
            "metrics.test.auc >= 0.72 and params.estimator.max_depth = 6",
            None,
            Some(51),
        ),
        (
            "metrics and params, all",
            "metrics.test.auc >= 0.72 and params.estimator.max_depth = 6",
            None,
            None,
        ),
        (
            "rare, first 50",
            "metrics.test.auc >= 0.799 and params.estimator.max_depth = 6",
            None,
            Some(51),
        ),
        (
            "sorted by auc, first 50",
            "metrics.test.auc >= 0.6 and kind = 'fit'",
            Some("-metrics.test.auc"),
            Some(51),
        ),
        (
            "sorted by log_loss, first 50",
            "tags.team = 'growth'",
            Some("metrics.test.log_loss"),
            Some(51),
        ),
    ];
    let mut group = c.benchmark_group(format!("runs --where over {n} runs"));
    group.sample_size(20);
    for (name, text, sort, limit) in cases {
        let filter = Filter::parse(text).unwrap();
        let query = Query {
            filter: Some(filter.clone()),
            sort: sort.map(sample_runs::sort_key).into_iter().collect(),
            limit,
            ..Query::default()
        };
        let found = runtime
            .block_on(tracking::search(&project, &query))
            .unwrap();
        let matches = picked(&filter);
        let matching = matches.len();
        let limit_or_all = limit.unwrap_or(usize::MAX);
        let expected: Vec<&str> = match sort {
            Some(s) => sample_runs::first_by_key(matches, s, limit_or_all),
            None => matches
                .into_iter()
                .map(|(_, id)| id)
                .take(limit_or_all)
                .collect(),
        };
        assert_eq!(
            found.iter().map(Run::id).collect::<Vec<_>>(),
            expected,
            "{text}"
        );
        eprintln!(
            "{name}: `{text}` matches {matching} of {n} runs, gives {}",
            found.len()
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime
                    .block_on(tracking::search(&project, &query))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
