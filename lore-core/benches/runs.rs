//! `lore runs --where` over 100,000 stored runs: the filter runs in the metadata database (SQLite,
//! the embedded default) as SQL over JSONB. Every filter of the runs tests, and each timed query,
//! is first checked against the same filter applied in memory to every run. `cargo bench -p lore-core --bench runs`;
//! `LORE_BENCH_RUNS` sets the runs (default 100,000).

#[path = "../tests/common/runs.rs"]
mod sample_runs;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use lore_core::env::Project;
use lore_core::tracking::{self, Filter, Path, Query, Run};

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
    for text in sample_runs::FILTERS {
        let filter = Filter::parse(text).unwrap();
        let query = Query {
            filter: Some(filter.clone()),
            ..Query::default()
        };
        let found = runtime
            .block_on(tracking::search(&project, &query))
            .unwrap();
        let expected: Vec<&str> = picked(&filter).into_iter().map(|(_, id)| id).collect();
        assert_eq!(
            found.iter().map(Run::id).collect::<Vec<_>>(),
            expected,
            "{text}"
        );
    }
    eprintln!(
        "{} filters give the runs they pick in memory",
        sample_runs::FILTERS.len()
    );

    let cases: [(&str, &str, Option<&str>, Option<usize>); 4] = [
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
            "sorted by auc, first 50",
            "metrics.test.auc >= 0.6 and kind = 'fit'",
            Some("metrics.test.auc"),
            Some(51),
        ),
    ];
    let mut group = c.benchmark_group(format!("runs --where over {n} runs"));
    group.sample_size(20);
    for (name, text, sort, limit) in cases {
        let filter = Filter::parse(text).unwrap();
        let query = Query {
            filter: Some(filter.clone()),
            sort: sort
                .map(|s| (Path::parse(s).unwrap(), true))
                .into_iter()
                .collect(),
            limit,
            ..Query::default()
        };
        let found = runtime
            .block_on(tracking::search(&project, &query))
            .unwrap();
        let mut expected = picked(&filter);
        let matching = expected.len();
        if let Some(s) = sort {
            let path = Path::parse(s).unwrap();
            let key = |d: &serde_json::Value| {
                path.get(d)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(f64::NEG_INFINITY)
            };
            expected.sort_by(|a, b| key(b.0).total_cmp(&key(a.0)).then(b.1.cmp(a.1)));
        }
        let expected: Vec<&str> = expected
            .into_iter()
            .map(|(_, id)| id)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
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
