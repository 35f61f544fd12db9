//! The runs a fit, a search's trials, an evaluation and a check record: their documents, built from what
//! each did.

use std::path::Path;

use super::fitting::Fitting;
use super::manifest::{self, Provenance};
use super::retrain::{RetrainOptions, Retrained};
use super::search::SearchRecord;
use super::training::FitOptions;
use super::ModelSpec;
use crate::check::Report;
use crate::error::Result;
use crate::io::Extract;
use crate::metrics::{SplitStats, Stats};
use crate::report;
use crate::tracking::{Run, RunKind};

/// What a fit read: the extract and how many rows and columns it gave.
pub(super) struct RunData<'a> {
    pub(super) extract: &'a Extract,
    pub(super) rows: [usize; 3],
    pub(super) columns: usize,
    pub(super) features: usize,
}

/// The document of a fit's run.
pub(super) fn fit_run(
    spec: &ModelSpec,
    id: &str,
    stats: &Stats,
    data: &RunData,
    provenance: &Provenance,
    dir: &Path,
    options: &FitOptions,
) -> Result<Run> {
    let mut run = Run::new(RunKind::Fit, &spec.name, id);
    run.store("fitting_id", id)?;
    run.store("finished_at", chrono::Utc::now().to_rfc3339())?;
    run.store("params", spec)?;
    let [train, validation, test] = data.rows;
    run.store(
        "data",
        serde_json::json!({
            "extract": data.extract.name,
            "connection": spec.pipeline.extract.connection,
            "parameters": spec.pipeline.extract.params,
            "rows": train + validation + test,
            "columns": data.columns,
            "features": data.features,
            "splits": {"train": train, "validation": validation, "test": test},
            "sha256": provenance.data_sha256,
        }),
    )?;
    run.store(
        "metrics",
        serde_json::json!({
            "task": stats.task,
            "scoring": stats.scoring,
            "train": stats.train,
            "validation": stats.validation,
            "test": stats.test,
            "baseline": stats.baseline,
            "best_iteration": stats.best_iteration,
            "rounds": stats.rounds,
        }),
    )?;
    run.store("seconds", &stats.seconds)?;
    common(&mut run, provenance, options)?;
    run.store(
        "artifacts",
        serde_json::json!({
            "fitting": dir.display().to_string(),
            "report": dir.join(report::REPORT_FILE).display().to_string(),
            "manifest": dir.join(manifest::MANIFEST_FILE).display().to_string(),
        }),
    )?;
    Ok(run)
}

/// What every run of a fit records: git state, Lore's version, the fingerprint and the tags.
fn common(run: &mut Run, provenance: &Provenance, options: &FitOptions) -> Result<()> {
    run.store(
        "git",
        serde_json::json!({"commit": provenance.git_commit, "dirty": provenance.git_dirty}),
    )?;
    run.store("lore_version", env!("CARGO_PKG_VERSION"))?;
    run.store("fingerprint", &provenance.fingerprint)?;
    for (k, v) in &options.tags {
        run.store(&format!("tags.{k}"), v)?;
    }
    Ok(())
}

/// One run per trial of a search, numbered after the fitting it chose.
pub(super) fn trial_runs(
    spec: &ModelSpec,
    id: &str,
    record: &SearchRecord,
    provenance: &Provenance,
    options: &FitOptions,
) -> Result<Vec<Run>> {
    record
        .trials
        .iter()
        .map(|trial| {
            let mut run = Run::new(
                RunKind::Trial,
                &spec.name,
                &format!("{id}-t{:03}", trial.number),
            );
            run.store("fitting_id", id)?;
            run.store("params", spec)?;
            for (key, value) in &trial.params {
                run.store(&format!("params.{key}"), value)?;
            }
            let scoring = record.scoring.name();
            run.store("metrics.scoring", record.scoring)?;
            run.store(&format!("metrics.validation.{scoring}"), trial.score)?;
            run.store("metrics.validation.score", trial.score)?;
            run.store("metrics.best_iteration", trial.best_iteration)?;
            run.store("seconds.fit", trial.seconds)?;
            run.store(
                "search",
                serde_json::json!({
                    "trial": trial.number,
                    "kept": trial.number == record.best,
                    "strategy": record.strategy,
                    "error": trial.error,
                }),
            )?;
            common(&mut run, provenance, options)?;
            Ok(run)
        })
        .collect()
}

/// A run of `kind` about `fitting` on the rows `data` describes, its other keys stored by
/// `fill`.
fn about(
    kind: RunKind,
    fitting: &Fitting,
    data: serde_json::Value,
    fill: impl FnOnce(&mut Run) -> Result<()>,
) -> Result<Run> {
    let mut run = Run::new(kind, &fitting.model, &super::training::new_fitting_id());
    run.store("fitting_id", &fitting.id)?;
    run.store("data", data)?;
    fill(&mut run)?;
    run.store("finished_at", chrono::Utc::now().to_rfc3339())?;
    run.store("lore_version", env!("CARGO_PKG_VERSION"))?;
    run.store("artifacts.fitting", fitting.dir.display().to_string())?;
    Ok(run)
}

/// The run of an evaluation of `fitting` on `input`, which gave `stats`.
pub(super) fn evaluation(fitting: &Fitting, input: &str, stats: &SplitStats) -> Result<Run> {
    let data = serde_json::json!({"input": input, "rows": stats.rows});
    about(RunKind::Evaluate, fitting, data, |run| {
        run.store("params", &fitting.spec)?;
        run.store("metrics.task", fitting.stats.task)?;
        run.store("metrics.scoring", fitting.stats.scoring)?;
        run.store("metrics.input", stats)?;
        run.store("metrics.test", &fitting.stats.test)
    })
}

/// The run of a check of `fitting`'s profile against the rows of `input`.
pub(super) fn check(fitting: &Fitting, input: &str, report: &Report) -> Result<Run> {
    let data = serde_json::json!({"input": input, "rows": report.rows, "reference_rows": report.reference_rows});
    about(RunKind::Check, fitting, data, |run| fill_check(run, report))
}

/// The metrics and columns of a check's run.
fn fill_check(run: &mut Run, report: &Report) -> Result<()> {
    run.store(
        "metrics",
        serde_json::json!({
            "passed": report.passed(),
            "tested": report.dataset.tested,
            "drifted": report.dataset.drifted,
            "drift_share": report.dataset.share,
            "dataset_drift": report.dataset.detected,
            "duplicates": report.duplicates,
            "problems": report.problems.len(),
            "missing_columns": report.missing_columns,
        }),
    )?;
    for column in report.columns.iter().chain(&report.scores) {
        let key = format!("columns.{}", column.name);
        run.store(
            &key,
            serde_json::json!({
                "flagged": column.flagged(),
                "nulls": column.current_nulls,
                "out_of_range": column.out_of_range,
                "unseen": column.unseen,
                "drift": column.drift,
                "issues": column.issues,
            }),
        )?;
    }
    run.store(
        "failures",
        report
            .problems
            .iter()
            .chain(&report.drifts)
            .collect::<Vec<_>>(),
    )
}

/// The run of a retrain's decision, about its challenger.
pub(super) fn retrain(retrained: &Retrained, options: &RetrainOptions) -> Result<Run> {
    let [learned, held_out] = retrained.feedback_rows;
    let data = serde_json::json!({"feedback_rows": learned, "held_out_feedback_rows": held_out});
    let challenger = &retrained.challenger;
    about(RunKind::Retrain, challenger, data, |run| {
        run.store("params.holdout", options.holdout)?;
        run.store("params.margin", options.margin)?;
        run.store("params.promote_if_better", options.promote)?;
        run.store("champion_id", &retrained.champion)?;
        run.store("metrics.scoring", retrained.scoring)?;
        run.store("metrics.test", &retrained.test)?;
        run.store("metrics.feedback", &retrained.feedback)?;
        run.store("metrics.wins", retrained.wins)?;
        run.store("metrics.promoted", retrained.promoted)
    })
}
