//! One-row prediction in process, as `lore api` makes it: a JSON body of one record read into
//! the model's input columns (checked against their kinds), transformed, encoded and predicted,
//! answer out. Needs a fitting made by `lore fit`: `LORE_BENCH_FITTING=models/<Model>/<id>
//! cargo bench -p lore-core --bench predict` (bench/predict_one.sh makes one and runs this).

use criterion::{criterion_group, criterion_main, Criterion};
use lore_core::models::Fitting;
use lore_core::serve::records;
use lore_core::serve::Limits;

const RECORD: &[u8] = br#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;

fn one_row(c: &mut Criterion) {
    let Ok(dir) = std::env::var("LORE_BENCH_FITTING") else {
        eprintln!("LORE_BENCH_FITTING is not set: run bench/predict_one.sh");
        return;
    };
    let mut fitting = match Fitting::load(std::path::Path::new(&dir)) {
        Ok(fitting) => fitting,
        Err(e) => {
            eprintln!("{dir}: {e}");
            return;
        }
    };
    // As `lore api` predicts: one thread a request.
    if let Err(e) = fitting.limit_threads(1) {
        eprintln!("{dir}: {e}");
        return;
    }
    let inputs = fitting.typed_inputs();
    let limits = Limits::default();
    let plan = lore_core::rows::RowPlan::compile(&fitting.pipeline);
    let mut group = c.benchmark_group("predict");
    group.bench_function("one record: read, encode, predict", |b| {
        b.iter(|| {
            let records = records::read(RECORD, &inputs, &limits).map_err(|r| r.message);
            records.and_then(|r| {
                fitting
                    .predict_rows(r.rows, "the bench", false)
                    .map_err(|e| e.to_string())
            })
        })
    });
    // Where the time goes: reading the record alone, encoding it a row at a time, and the frame
    // path the row path replaces for a few rows.
    group.bench_function("one record: read", |b| {
        b.iter(|| records::read(RECORD, &inputs, &limits).map(|r| r.rows.len))
    });
    if let Ok(read) = records::read(RECORD, &inputs, &limits) {
        if let Some(plan) = &plan {
            group.bench_function("one record: transform, encode (row path)", |b| {
                b.iter(|| plan.encode(&read.rows).is_some())
            });
        }
        group.bench_function("one record: transform, encode, predict (frame path)", |b| {
            b.iter(|| {
                read.rows
                    .clone()
                    .into_frame()
                    .and_then(|frame| fitting.predict(frame, "the bench", false))
                    .is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, one_row);
criterion_main!(benches);
