//! The subscribers pipeline of Python Lore's benchmark (`../shared/bench/README.md`), as declared
//! in the project template's `subscribers_declared.toml`, on a synthetic frame shaped like
//! `gen_data.py`'s `users` table: transformers, split, encoder fit and encoding of the three
//! splits, in memory (no extract, no estimator). `cargo bench -p lore-core --bench pipeline`;
//! `LORE_BENCH_ROWS` sets the rows (default 1,000,000).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use lore_core::metrics::Timings;
use lore_core::polars::prelude::*;
use rand::{Rng, SeedableRng};

const DOMAINS: [&str; 10] = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "comcast.net",
    "msn.com",
    "live.com",
    "instacart.com",
];

/// `rows` rows with the columns, types and rough distributions of the benchmark's `users`.
fn users(rows: usize) -> DataFrame {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(20180601);
    let names = lore_core::names::all();
    let stamp = |seconds: i64| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    let (start, signup_end, end) = (1_388_534_400i64, 1_530_403_199i64, 1_546_300_799i64);
    let mut first_name = Vec::with_capacity(rows);
    let mut email = Vec::with_capacity(rows);
    let mut signup = Vec::with_capacity(rows);
    let mut last_order = Vec::with_capacity(rows);
    let mut orders = Vec::with_capacity(rows);
    let mut basket = Vec::with_capacity(rows);
    let mut sessions = Vec::with_capacity(rows);
    let mut label = Vec::with_capacity(rows);
    for id in 1..=rows {
        let kind: f64 = rng.random();
        let name = if kind < 0.01 {
            None
        } else if kind < 0.03 {
            Some(format!("Zorix{}", rng.random_range(0..500)))
        } else {
            let n = &names[rng.random_range(0..names.len().min(2000))].0;
            Some(n[..1].to_uppercase() + &n[1..])
        };
        let domain = if rng.random::<f64>() < 0.03 {
            format!("mail{}.example.org", rng.random_range(0..300))
        } else {
            DOMAINS[rng.random_range(0..DOMAINS.len())].to_string()
        };
        let local = name.as_deref().unwrap_or("user").to_lowercase();
        email.push(format!("{local}{id}@{domain}"));
        first_name.push(name);
        let s = rng.random_range(start..signup_end);
        signup.push(stamp(s));
        last_order.push(stamp(rng.random_range(s..end)));
        orders.push(rng.random_range(0i64..40));
        basket.push((rng.random::<f64>() >= 0.02).then(|| rng.random_range(10.0..150.0f64)));
        sessions.push(rng.random_range(0i64..12));
        label.push(i64::from(rng.random::<f64>() < 0.35));
    }
    DataFrame::new(
        rows,
        vec![
            Column::new("id".into(), (1..=rows as i64).collect::<Vec<_>>()),
            Column::new("first_name".into(), first_name),
            Column::new("email".into(), email),
            Column::new("signup_date".into(), signup),
            Column::new("last_order_at".into(), last_order),
            Column::new("orders".into(), orders),
            Column::new("basket_value".into(), basket),
            Column::new("sessions_30d".into(), sessions),
            Column::new("has_subscription".into(), label),
        ],
    )
    .expect("columns of equal length")
}

fn pipeline(c: &mut Criterion) {
    let rows = std::env::var("LORE_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let toml = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../templates/project/src/models/subscribers_declared.toml");
    let spec = lore_core::models::read_declared(&toml).expect("the template's declared model");
    let df = users(rows);
    let mut group = c.benchmark_group("subscribers pipeline");
    group.sample_size(10);
    group.bench_function(
        format!("transform, split, fit and encode {rows} rows"),
        |b| {
            b.iter(|| {
                spec.pipeline
                    .fit_encode(df.clone(), &mut Timings::default())
                    .expect("the pipeline fits")
            })
        },
    );
    let mut transformed = df.clone();
    spec.pipeline
        .transform(&mut transformed)
        .expect("the transformers run");
    group.bench_function(format!("transformers alone, {rows} rows"), |b| {
        b.iter(|| {
            let mut df = df.clone();
            spec.pipeline
                .transform(&mut df)
                .expect("the transformers run");
            df
        })
    });
    let fitted = spec.pipeline.fit(&transformed).expect("the encoders fit");
    group.bench_function(format!("encoder fit alone, {rows} rows"), |b| {
        b.iter(|| spec.pipeline.fit(&transformed).expect("the encoders fit"))
    });
    group.bench_function(format!("encoding alone, {rows} rows"), |b| {
        b.iter(|| fitted.encode(&transformed).expect("the rows encode"))
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
