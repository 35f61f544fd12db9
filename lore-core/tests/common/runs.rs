//! Run documents shaped like `lore fit`'s, with seeded random params, metrics and tags (some
//! keys missing, some of another type), shared by the runs tests and the runs benchmark.

use lore_core::tracking::{Run, RunKind};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The spec of the project template's declared model, as a fit's `params` holds it.
pub fn spec() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../templates/project/src/models/subscribers_declared.toml"
    );
    let spec = lore_core::models::read_declared(std::path::Path::new(path)).unwrap();
    serde_json::to_value(spec).unwrap()
}

/// `n` runs of models `A`, `B`, `C` (with `prefix` before each), seeded by `seed`.
pub fn runs(n: usize, seed: u64, prefix: &str) -> Vec<Run> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let spec = spec();
    let teams = ["growth", "Search", "ads", "risk"];
    (0..n)
        .map(|i| {
            let model = format!("{prefix}{}", ["A", "B", "C"][i % 3]);
            let kind = if i % 5 == 0 {
                RunKind::Trial
            } else {
                RunKind::Fit
            };
            let mut run = Run::new(kind, &model, &format!("{prefix}{i:07}"));
            let mut params = spec.clone();
            params["estimator"]["max_depth"] = json!(rng.random_range(2..=10));
            params["estimator"]["eta"] = json!((rng.random_range(1..=30) as f64) / 100.0);
            run.store("params", params).unwrap();
            run.store("fitting_id", format!("f{i}")).unwrap();
            let auc: f64 = rng.random_range(0.5..0.8);
            match i % 17 {
                0 => {}
                1 => run.store("metrics.test.auc", "n/a").unwrap(),
                _ => run.store("metrics.test.auc", auc).unwrap(),
            }
            run.store("metrics.test.log_loss", rng.random_range(0.4..0.7))
                .unwrap();
            run.store("metrics.test.rows", rng.random_range(800..1200))
                .unwrap();
            run.store(
                "metrics.test.confusion",
                json!([[rng.random_range(0..50), 3], [4, rng.random_range(0..50)]]),
            )
            .unwrap();
            run.store("metrics.scoring", "auc").unwrap();
            run.store("metrics.best_iteration", rng.random_range(0..200))
                .unwrap();
            run.store("data.rows", rng.random_range(1000..100_000))
                .unwrap();
            run.store("data.columns", 7).unwrap();
            run.store("seconds.fit", rng.random_range(0.1..30.0))
                .unwrap();
            if i % 4 != 0 {
                run.store("tags.team", teams[rng.random_range(0..teams.len())])
                    .unwrap();
            }
            if i % 3 == 0 {
                run.store("tags.reviewed", i % 2 == 0).unwrap();
            }
            run.store("git.commit", format!("{:040x}", rng.random::<u128>()))
                .unwrap();
            run
        })
        .collect()
}

/// Filters covering every operator, missing keys, keys of another type, arrays and params.
pub const FILTERS: &[&str] = &[
    "metrics.test.auc >= 0.72",
    "metrics.test.auc >= 0.72 and params.estimator.max_depth = 6",
    "metrics.test.auc < 0.6 or params.estimator.eta > 0.25",
    "params.estimator.max_depth in (2, 3, 10) and kind = 'fit'",
    "params.estimator.max_depth not in (2, 3, 10)",
    "tags.team = 'growth' or tags.team like 'search'",
    "tags.team != 'ads' and tags.team not like 'r%'",
    "tags.team not exists",
    "tags.reviewed = true",
    "tags.reviewed != true",
    "metrics.test.auc exists and metrics.test.auc <= 0.55",
    "metrics.test.auc = 'n/a'",
    "metrics.test.confusion.0.0 > 40",
    "(model like '%A' or model like '%C') and (data.rows > 50000 or seconds.fit < 1)",
    "metrics.`test.log_loss` < 0.45 AND attributes.run_id LIKE '%1%'",
    "params.pipeline.extract.sql = 'users' and params.estimator.type = 'XGBoost' and params.estimator.eta <= 0.1",
    "git.commit > '00000000c' and metrics.best_iteration >= 150",
];

/// A `--sort` key as a query takes it: the path, and whether a leading `-` asks for descending.
pub fn sort_key(sort: &str) -> (lore_core::tracking::Path, bool) {
    let path = lore_core::tracking::Path::parse(sort.trim_start_matches('-')).unwrap();
    (path, sort.starts_with('-'))
}

/// The ids of the first `limit` of `(document, run id)` pairs in the order `--sort KEY` gives:
/// runs with a number at the key by it, then the rest; ties newest first.
pub fn first_by_key<'a>(
    mut runs: Vec<(&Value, &'a str)>,
    sort: &str,
    limit: usize,
) -> Vec<&'a str> {
    let (path, descending) = sort_key(sort);
    let key = |d: &Value| path.get(d).and_then(Value::as_f64);
    runs.sort_by(|a, b| {
        let by_value = match (key(a.0), key(b.0)) {
            (Some(x), Some(y)) if descending => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        };
        by_value.then(b.1.cmp(a.1))
    });
    runs.into_iter().take(limit).map(|(_, id)| id).collect()
}

/// Filters whose keys hold numbers or nothing, each with a sort key and a limit, as
/// `lore runs --where F --sort K --limit N` asks.
pub const SORTED: &[(&str, &str, usize)] = &[
    (
        "metrics.test.auc >= 0.6 and kind = 'fit'",
        "-metrics.test.auc",
        50,
    ),
    ("tags.team = 'growth'", "metrics.test.log_loss", 50),
    (
        "metrics.test.auc not exists or metrics.test.auc >= 0.7",
        "metrics.test.auc",
        400,
    ),
    (
        "metrics.test.auc not exists or metrics.test.auc < 0.55",
        "-metrics.test.auc",
        400,
    ),
    (
        "params.estimator.max_depth in (3, 4)",
        "-params.estimator.eta",
        30,
    ),
];
