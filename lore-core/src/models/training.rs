//! Fitting a model: extract, transform, split, encode, fit, evaluate against the baseline, save
//! and record; or reuse an earlier fitting made from identical inputs. A fitting is written under
//! a temporary name and renamed, so an interrupted fit leaves nothing behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::DataFrame;

use super::fitting::{write_compact_json, PROFILE_FILE};
use super::fitting::{write_json, Fitting, PARAMS_FILE, PIPELINE_FILE, STATS_FILE};
use super::manifest::Provenance;
use super::prepare::{
    in_memory, prepare_rows, prepare_streamed, prepare_whole, CheckFirst, Prepared, Streaming,
};
use super::runs::{fit_run, trial_runs, RunData};
use super::search::{self, SearchOptions, Trained, SEARCH_FILE};
use super::{export, fingerprint, manifest, ModelSpec};
use crate::encoders::Task;
use crate::env::Project;
use crate::error::{Error, Result};
use crate::estimators::{
    Baseline, Estimator, FitHistory, FittedEstimator, Importance, InMemory, LabelledBatches,
    OneBatch, Scored,
};
use crate::io::{Database, Extract, Origin};
use crate::matrix::Matrix;
use crate::metrics::{self, Metric, SplitStats, Stats, Timings};
use crate::profile::{self, FeatureProfiler};
use crate::progress::Progress;
use crate::report;
use crate::rows::RowPlan;
use crate::tracking::{self, Run};

/// How to run a fit.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Hide the progress bar.
    pub quiet: bool,
    /// Also write the encoded splits, with their labels and the fitted model's predictions, as
    /// `train.parquet`, `validation.parquet` and `test.parquet` into this folder.
    pub export: Option<PathBuf>,
    /// Search the model's hyper-parameter space and keep the best trial.
    pub search: Option<SearchOptions>,
    /// Fit even when an earlier fitting was made from identical inputs.
    pub force: bool,
    /// Tags for the run (`tags.KEY` in its document).
    pub tags: BTreeMap<String, String>,
    /// Check the extract's rows against a fitting's profile first, refusing broken ones.
    pub check: Option<CheckFirst>,
    /// The rows to learn from instead of the extract's, read whole (`lore retrain`: the
    /// extract's and the annotated feedback's).
    pub rows: Option<DataFrame>,
}

/// What [`fit`] gives: the fitting, its run, and whether an earlier identical fit was reused.
#[derive(Debug)]
pub struct Fitted {
    /// The fitting, new or reused.
    pub fitting: Fitting,
    /// Its run as recorded.
    pub run: Run,
    /// Whether the fitting is an earlier one made from identical inputs (same fingerprint).
    pub reused: bool,
}

/// A new id, `YYYYMMDD-HHMMSS-xxxx`: the last part is the fraction of the second in 1/65536ths,
/// so ids of fits in the same second still sort in the order they were made.
pub(super) fn new_fitting_id() -> String {
    let now = chrono::Utc::now();
    let fraction = u64::from(now.timestamp_subsec_micros().min(999_999)) * 0x10000 / 1_000_000;
    format!("{}-{fraction:04x}", now.format("%Y%m%d-%H%M%S"))
}

/// Hands the pages of memory freed so far back to the system. The extract's frames, the
/// transformers' columns and the spill were made and freed on several threads, and the allocator
/// keeps what each thread freed for that thread; the estimator, which comes next and holds the
/// most, would otherwise start on top of it.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: glibc's malloc_trim only returns free pages of its own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Every row of `split` scored by `estimator`, a batch at a time, with its features summed up
/// by `features` on the way.
fn score(
    estimator: &FittedEstimator,
    split: &mut dyn LabelledBatches,
    features: &mut FeatureProfiler,
) -> Result<Scored> {
    let mut scored = Scored::default();
    split.reset()?;
    while let Some((x, y)) = split.next_batch()? {
        scored.predictions.extend(estimator.predict(x)?);
        scored.labels.extend_from_slice(y);
        features.update(x);
    }
    Ok(scored)
}

/// The baseline's scores on the `test` labels: the prior of the `train` labels (the estimator
/// `Baseline` as it is by default), fitted through the same contract as the model; `None` for
/// clustering, which has no labels.
fn baseline(
    task: Task,
    scoring: Metric,
    train: &[f32],
    test: &[f32],
) -> Result<Option<SplitStats>> {
    if task == Task::Clustering || train.is_empty() {
        return Ok(None);
    }
    let (fitted, _, _) = Estimator::Baseline(Baseline::default()).fit(
        task,
        &[],
        &mut OneBatch::new(Matrix::dense(vec![], train.len(), 0), train),
        &mut InMemory::new(Matrix::empty(0), vec![]),
        &mut |_, _| {},
    )?;
    let predictions = fitted.predict(&Matrix::dense(vec![], test.len(), 0))?;
    Ok(Some(metrics::evaluate(task, scoring, test, &predictions)))
}

/// Extract -> transform -> split -> fit encoders on train -> encode -> fit -> evaluate -> save ->
/// record; or, where an earlier fitting was made from identical inputs and `force` is off,
/// extract -> encode -> reuse it.
pub async fn fit(project: &Project, spec: &ModelSpec, options: &FitOptions) -> Result<Fitted> {
    spec.validate()?;
    if options.search.is_some() {
        search::searched_keys(spec)?;
    }
    let started_at = chrono::Utc::now();
    let progress = Progress::new(options.quiet);
    let mut seconds = Timings::default();

    progress.stage(&format!("extracting {}", spec.pipeline.extract.sql));
    let db = Database::new(project)?;
    let connection = db.connection(&spec.pipeline.extract.connection)?;
    let extract = Extract::load(&project.extracts_dir(), &spec.pipeline.extract.sql)?;
    let site = extract
        .path
        .strip_prefix(&project.root)
        .unwrap_or(&extract.path)
        .display()
        .to_string();
    let origin = Origin {
        model: Some(spec.name.clone()),
        site,
    };
    let check_first = options.check.as_ref();
    let Prepared {
        pipeline,
        mut profile,
        splits,
        spill,
    } = match (&options.rows, spec.pipeline.extract.batch_rows) {
        (Some(df), _) => {
            let (encoded, profile) =
                prepare_rows(spec, df.clone(), check_first, &progress, &mut seconds)?;
            in_memory(encoded, profile)
        }
        (None, None) => {
            prepare_whole(
                spec,
                &connection,
                &extract,
                origin,
                check_first,
                &progress,
                &mut seconds,
            )
            .await?
        }
        (None, Some(rows)) => {
            let spill_dir = project
                .data_dir()
                .join("cache")
                .join(format!(".spill-{}", new_fitting_id()));
            let streaming = Streaming {
                spill_dir,
                batch_rows: rows,
            };
            prepare_streamed(
                streaming,
                spec,
                &connection,
                origin,
                check_first,
                &progress,
                &mut seconds,
            )
            .await?
        }
    };
    if splits[0].rows() == 0 {
        return Err(Error::config(
            &extract.path,
            "the extract gave no training rows; check its SQL, parameters and split",
        ));
    }

    let [mut train, mut validation, mut test] = splits;
    let data = fingerprint::data(&mut [train.as_mut(), validation.as_mut(), test.as_mut()])?;
    let provenance =
        fingerprint::provenance(&project.root, spec, &extract, data, options.search.as_ref())?;
    let model_dir = project.fittings_dir().join(&spec.name);
    // Exporting needs the splits scored by a fit made now.
    if !options.force && options.export.is_none() {
        if let Some(fitted) = reuse(project, &model_dir, &provenance, options).await? {
            progress.finish();
            return Ok(fitted);
        }
    }
    let rows = [train.rows(), validation.rows(), test.rows()];
    release_freed_memory();

    let t = Instant::now();
    let task = pipeline.output.task();
    let (trained, searched) = match &options.search {
        None => {
            let (estimator, history, scored) = spec.estimator.fit(
                task,
                &pipeline.cardinalities(),
                train.as_mut(),
                validation.as_mut(),
                &mut |round, total| progress.rounds(round, total),
            )?;
            let trained = Trained {
                spec: spec.clone(),
                estimator,
                history,
                scored,
            };
            (trained, None)
        }
        Some(search) => {
            let splits: [&mut dyn LabelledBatches; 2] = [train.as_mut(), validation.as_mut()];
            let (trained, record) = search::run(
                spec,
                task,
                &pipeline.cardinalities(),
                splits,
                search,
                &progress,
            )?;
            (trained, Some(record))
        }
    };
    let Trained {
        spec,
        estimator,
        history,
        scored: [scored_train, scored_validation],
    } = trained;
    let spec = &spec;
    seconds.fit = t.elapsed().as_secs_f64();

    let t = Instant::now();
    progress.stage("evaluating");
    let mut features = FeatureProfiler::new(&pipeline.features);
    let scored_test = score(&estimator, test.as_mut(), &mut features)?;
    profile.features = features.finish();
    profile.scores = profile::scores(&scored_test.predictions, task);
    let scored = [scored_train, scored_validation, scored_test];
    if let Some(dir) = &options.export {
        progress.stage(&format!(
            "exporting the encoded splits to {}",
            dir.display()
        ));
        export::write(
            dir,
            &pipeline,
            [train.as_mut(), validation.as_mut(), test.as_mut()],
            &scored,
        )?;
    }
    drop((train, validation, test, spill));
    let scoring = spec.scoring.unwrap_or(Metric::default_for(task));
    let [train, validation, test] = [0, 1, 2]
        .map(|i| metrics::evaluate(task, scoring, &scored[i].labels, &scored[i].predictions));
    let baseline = baseline(task, scoring, &scored[0].labels, &scored[2].labels)?;
    let importance = |kind| -> Result<Vec<(String, f64)>> {
        let Some(scores) = estimator.importance(pipeline.features.len(), kind)? else {
            return Ok(Vec::new());
        };
        let mut named: Vec<(String, f64)> = pipeline.features.iter().cloned().zip(scores).collect();
        named.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(named)
    };
    let FitHistory {
        best_iteration,
        rounds,
        ..
    } = history;
    let mut stats = Stats {
        task,
        scoring,
        train,
        validation,
        test,
        baseline,
        best_iteration,
        rounds,
        importance: importance(Importance::Gain)?,
        importance_weight: importance(Importance::Weight)?,
        importance_cover: importance(Importance::Cover)?,
        seconds: seconds.clone(),
    };
    seconds.evaluate = t.elapsed().as_secs_f64();

    let t = Instant::now();
    progress.stage("saving");
    let id = new_fitting_id();
    std::fs::create_dir_all(&model_dir).map_err(|e| Error::io(&model_dir, e))?;
    let tmp = model_dir.join(format!(".tmp-{id}"));
    let dir = model_dir.join(&id);
    let written = (|| {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        write_json(&tmp, PARAMS_FILE, spec)?;
        write_json(&tmp, PIPELINE_FILE, &pipeline)?;
        write_compact_json(&tmp, PROFILE_FILE, &profile)?;
        if let Some(record) = &searched {
            write_json(&tmp, SEARCH_FILE, record)?;
        }
        estimator.save(&tmp)?;
        let contents = report::Contents {
            model: &spec.name,
            id: &id,
            stats: &stats,
            history: &history,
            test: &scored[2],
            pipeline: &pipeline,
            profile: &profile,
        };
        report::write(&tmp, &contents)?;

        seconds.save = t.elapsed().as_secs_f64();
        stats.seconds = seconds.clone();
        write_json(&tmp, STATS_FILE, &stats)?;
        manifest::write(&tmp, &provenance)?;
        std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    progress.finish();

    let data = RunData {
        extract: &extract,
        rows,
        columns: pipeline.inputs().len(),
        features: pipeline.features.len(),
    };
    let mut run = fit_run(spec, &id, &stats, &data, &provenance, &dir, options)?;
    run.store("started_at", started_at.to_rfc3339())?;
    let mut runs = vec![run.clone()];
    if let Some(record) = &searched {
        runs.extend(trial_runs(spec, &id, record, &provenance, options)?);
    }
    tracking::record(project, &runs).await?;
    let fitting = Fitting {
        model: spec.name.clone(),
        id,
        dir,
        spec: spec.clone(),
        row_plan: RowPlan::compile(&pipeline),
        pipeline,
        stats,
        search: searched,
        estimator,
    };
    Ok(Fitted {
        fitting,
        run,
        reused: false,
    })
}

/// The earlier fitting with `provenance`'s fingerprint, loaded, with its run tagged anew; `None`
/// where there is none, or it no longer loads (then it is fitted again).
async fn reuse(
    project: &Project,
    model_dir: &Path,
    provenance: &Provenance,
    options: &FitOptions,
) -> Result<Option<Fitted>> {
    let Some(fingerprint) = &provenance.fingerprint else {
        return Ok(None);
    };
    let Some(id) = fingerprint::find(model_dir, fingerprint) else {
        return Ok(None);
    };
    let fitting = match Fitting::load(&model_dir.join(&id)) {
        Ok(fitting) => fitting,
        Err(e) => {
            tracing::warn!("{e}; fitting again instead of reusing {id}");
            return Ok(None);
        }
    };
    let mut run = match tracking::find(project, &id).await {
        Ok(run) => run,
        Err(e) => {
            tracing::warn!("{e}; fitting again instead of reusing {id}, whose run is not recorded");
            return Ok(None);
        }
    };
    if !options.tags.is_empty() {
        for (k, v) in &options.tags {
            run.store(&format!("tags.{k}"), v)?;
        }
        tracking::record(project, std::slice::from_ref(&run)).await?;
    }
    tracing::info!(
        fitting = id,
        fingerprint,
        "identical inputs: reusing the earlier fitting"
    );
    Ok(Some(Fitted {
        fitting,
        run,
        reused: true,
    }))
}
