//! Fitting a model and the fittings it leaves: `models/<Model>/<fitting id>/` holds the resolved
//! spec (`params.json`), the stats (`stats.json`), the fitted pipeline (`pipeline.json`) and the
//! estimator in its own format, the report, and a manifest of every file's SHA-256 that loading
//! checks. A fitting is written under a temporary name and renamed, so an interrupted fit leaves
//! nothing behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use super::manifest::Provenance;
use super::predictions::{Contributions, Predictions};
use super::prepare::{column_names, prepare_streamed, prepare_whole, Prepared};
use super::search::{self, SearchOptions, SearchRecord, Trained, SEARCH_FILE};
use super::{export, fingerprint, manifest, ModelSpec};
use crate::encoders::Task;
use crate::env::Project;
use crate::error::{Error, Result};
use crate::estimators::{
    Baseline, Estimator, FitHistory, FittedEstimator, Importance, InMemory, LabelledBatches, Scored,
};
use crate::io::{Database, Extract, Origin};
use crate::matrix::Matrix;
use crate::metrics::{self, Metric, SplitStats, Stats, Timings};
use crate::pipelines::{FittedPipeline, ENCODING_VERSION};
use crate::progress::Progress;
use crate::report;
use crate::rows::{RowPlan, Rows};
use crate::tracking::{self, Run, RunKind};

/// The resolved spec of a fitting.
pub const PARAMS_FILE: &str = "params.json";
/// Most rows [`Fitting::predict_rows`] encodes a row at a time: past it, column operations on a
/// frame, spread over every core, are the faster.
pub const ROW_PATH_ROWS: usize = 64;
/// The evaluation of a fitting.
pub const STATS_FILE: &str = "stats.json";
/// The fitted transformers and encoders of a fitting.
pub const PIPELINE_FILE: &str = "pipeline.json";

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

/// A saved fitting, loaded for predictions.
#[derive(Debug)]
pub struct Fitting {
    /// The model's name.
    pub model: String,
    /// The fitting's id (sortable by time).
    pub id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// The resolved spec it was fitted with.
    pub spec: ModelSpec,
    /// The fitted pipeline.
    pub pipeline: FittedPipeline,
    /// What it measured.
    pub stats: Stats,
    /// Every trial of the search that chose its parameters, when one did.
    pub search: Option<SearchRecord>,
    estimator: FittedEstimator,
    /// The pipeline compiled for a few rows at a time, where it can be.
    row_plan: Option<RowPlan>,
}

/// A new id, `YYYYMMDD-HHMMSS-xxxx`: the last part is the fraction of the second in 1/65536ths,
/// so ids of fits in the same second still sort in the order they were made.
fn new_fitting_id() -> String {
    let now = chrono::Utc::now();
    let fraction = u64::from(now.timestamp_subsec_micros().min(999_999)) * 0x10000 / 1_000_000;
    format!("{}-{fraction:04x}", now.format("%Y%m%d-%H%M%S"))
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<()> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Fitting(format!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
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

/// Every row of `split` scored by `estimator`, a batch at a time.
fn score(estimator: &FittedEstimator, split: &mut dyn LabelledBatches) -> Result<Scored> {
    let mut scored = Scored::default();
    split.reset()?;
    while let Some((x, y)) = split.next_batch()? {
        scored.predictions.extend(estimator.predict(x)?);
        scored.labels.extend_from_slice(y);
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
        &mut InMemory::new(Matrix::dense(vec![], train.len(), 0), train.to_vec()),
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
    let Prepared {
        pipeline,
        splits,
        spill,
    } = match spec.pipeline.extract.batch_rows {
        None => prepare_whole(spec, &connection, &extract, origin, &progress, &mut seconds).await?,
        Some(rows) => {
            let spill_dir = project
                .data_dir()
                .join("cache")
                .join(format!(".spill-{}", new_fitting_id()));
            prepare_streamed(
                spill_dir,
                spec,
                &connection,
                rows,
                origin,
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
    let scored_test = score(&estimator, test.as_mut())?;
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
        if let Some(record) = &searched {
            write_json(&tmp, SEARCH_FILE, record)?;
        }
        estimator.save(&tmp)?;
        report::write(
            &tmp, &spec.name, &id, &stats, &history, &scored[2], &pipeline,
        )?;

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

/// What a fit read: the extract and how many rows and columns it gave.
struct RunData<'a> {
    extract: &'a Extract,
    rows: [usize; 3],
    columns: usize,
    features: usize,
}

/// The document of a fit's run.
fn fit_run(
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
fn trial_runs(
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

impl Fitting {
    /// Loads the fitting in `dir` (`models/<Model>/<id>`).
    pub fn load(dir: &Path) -> Result<Fitting> {
        manifest::verify(dir)?;
        let spec: ModelSpec = read_json(dir, PARAMS_FILE)?;
        let pipeline: FittedPipeline = read_json(dir, PIPELINE_FILE)?;
        if pipeline.encoding != ENCODING_VERSION {
            return Err(Error::Fitting(format!(
                "{}: this fitting's encoders code values the way version {} of Lore's encoders did, \
                 and this Lore codes them as version {ENCODING_VERSION}; fit the model again (`lore fit {}`)",
                dir.join(PIPELINE_FILE).display(),
                pipeline.encoding,
                spec.name
            )));
        }
        let stats: Stats = read_json(dir, STATS_FILE)?;
        let search = match dir.join(SEARCH_FILE).is_file() {
            true => Some(read_json(dir, SEARCH_FILE)?),
            false => None,
        };
        let estimator = FittedEstimator::load(dir)?;
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        Ok(Fitting {
            model: spec.name.clone(),
            id,
            dir: dir.to_path_buf(),
            spec,
            row_plan: RowPlan::compile(&pipeline),
            pipeline,
            stats,
            search,
            estimator,
        })
    }

    /// The ids of every fitting of `model`, oldest first.
    pub fn ids(project: &Project, model: &str) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(project.fittings_dir().join(model))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(PARAMS_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect();
        ids.sort();
        ids
    }

    /// The names of every model with at least one fitting, sorted.
    pub fn fitted_models(project: &Project) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(project.fittings_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !Fitting::ids(project, n).is_empty())
            .collect();
        names.sort();
        names
    }

    /// Loads fitting `id` of `model`, or its latest when `id` is `None`.
    pub fn find(project: &Project, model: &str, id: Option<&str>) -> Result<Fitting> {
        let ids = Fitting::ids(project, model);
        let chosen = match id {
            Some(id) => ids.iter().find(|i| *i == id).cloned().ok_or_else(|| {
                Error::Fitting(format!(
                    "model {model} has no fitting `{id}`; its fittings are: {}",
                    if ids.is_empty() { "(none)".into() } else { ids.join(", ") }
                ))
            })?,
            None => ids.last().cloned().ok_or_else(|| {
                let fitted = Fitting::fitted_models(project);
                Error::Fitting(format!(
                    "model {model} has no fitting yet; run `lore fit {model}` first (fitted models: {})",
                    if fitted.is_empty() { "none".into() } else { fitted.join(", ") }
                ))
            })?,
        };
        Fitting::load(&project.fittings_dir().join(model).join(chosen))
    }

    /// The raw columns each input row must have.
    pub fn inputs(&self) -> Vec<String> {
        self.pipeline.inputs()
    }

    /// Each input column with the kind it held when fitted (`None` for fittings saved before
    /// kinds were kept), in the order of [`Fitting::inputs`].
    pub fn typed_inputs(&self) -> Vec<(String, Option<crate::frame::Kind>)> {
        self.inputs()
            .into_iter()
            .map(|c| {
                let kind = self.pipeline.input_kinds.get(&c).copied();
                (c, kind)
            })
            .collect()
    }

    /// Limits each of its predictions to `threads` threads (see
    /// [`FittedEstimator::limit_threads`]).
    pub fn limit_threads(&mut self, threads: usize) -> Result<()> {
        self.estimator.limit_threads(threads)
    }

    /// Predicts every row of `df` with the saved encoders; `location` names the data in errors.
    /// With `explain`, also each feature's contribution to each prediction.
    pub fn predict(&self, df: DataFrame, location: &str, explain: bool) -> Result<Predictions> {
        let x = self.pipeline.prepare(df, location)?;
        self.predict_matrix(&x, explain)
    }

    /// Predicts input records read as typed rows (a request's body), with the same answers as
    /// [`Fitting::predict`] on their frame: encoded a row at a time without a frame where the
    /// pipeline allows it (up to [`ROW_PATH_ROWS`] rows, unexplained), as a frame otherwise.
    pub fn predict_rows(&self, rows: Rows, location: &str, explain: bool) -> Result<Predictions> {
        let encoded = match (&self.row_plan, explain) {
            (Some(plan), false) if rows.len <= ROW_PATH_ROWS => plan.encode(&rows),
            _ => None,
        };
        match encoded {
            Some(x) => self.predict_matrix(&x, false),
            None => self.predict(rows.into_frame()?, location, explain),
        }
    }

    /// Whether a few rows are encoded without a frame ([`RowPlan`]); otherwise they go through
    /// a frame like any other.
    pub fn has_row_path(&self) -> bool {
        self.row_plan.is_some()
    }

    /// Predicts the rows of an encoded matrix.
    fn predict_matrix(&self, x: &Matrix, explain: bool) -> Result<Predictions> {
        let task = self.pipeline.output.task();
        let values = self.estimator.predict(x)?;
        let width = task.width();
        if values.len() != x.rows * width {
            return Err(Error::Fitting(format!(
                "{}: the saved estimator gives {} numbers for {} rows, but the output encoder \
                 asks for {width} a row ({}); fit the model again",
                self.dir.display(),
                values.len(),
                x.rows,
                task.name()
            )));
        }
        let predictions: Vec<serde_json::Value> = values
            .chunks(width)
            .map(|row| self.pipeline.output.decode(row))
            .collect();
        let contributions = match explain {
            false => None,
            true => Some(self.contributions(x, task, &values)?),
        };
        Ok(Predictions {
            task,
            classes: self.pipeline.output.class_names(),
            predictions,
            values,
            contributions,
        })
    }

    /// Evaluates the fitting on labelled rows it has not seen: `df` has the model's inputs and
    /// the column it predicts; `location` names the data in errors.
    pub fn evaluate(&self, df: DataFrame, location: &str) -> Result<SplitStats> {
        let column = self.pipeline.output.column();
        if !column.is_empty() && df.column(column).is_err() {
            return Err(Error::MissingColumn {
                column: column.to_string(),
                needed_by: "evaluation (the column the model predicts)".into(),
                location: Some(location.to_string()),
                present: column_names(&df),
            });
        }
        let labels = self.pipeline.output.labels(&df)?;
        let p = self.predict(df, location, false)?;
        Ok(metrics::evaluate(
            p.task,
            self.stats.scoring,
            &labels,
            &p.values,
        ))
    }

    /// The run of an evaluation of this fitting on `input`, which gave `stats`.
    pub fn evaluation_run(&self, input: &str, stats: &SplitStats) -> Result<Run> {
        let mut run = Run::new(RunKind::Evaluate, &self.model, &new_fitting_id());
        run.store("fitting_id", &self.id)?;
        run.store("params", &self.spec)?;
        run.store(
            "data",
            serde_json::json!({"input": input, "rows": stats.rows}),
        )?;
        run.store("metrics.task", self.stats.task)?;
        run.store("metrics.scoring", self.stats.scoring)?;
        run.store("metrics.input", stats)?;
        run.store("metrics.test", &self.stats.test)?;
        run.store("finished_at", chrono::Utc::now().to_rfc3339())?;
        run.store("lore_version", env!("CARGO_PKG_VERSION"))?;
        run.store("artifacts.fitting", self.dir.display().to_string())?;
        Ok(run)
    }

    /// The SHAP contributions of every row of `x`, toward the predicted class of a multi-class
    /// model (whose `values` are its probabilities).
    fn contributions(&self, x: &Matrix, task: Task, values: &[f32]) -> Result<Contributions> {
        let all = self.estimator.contributions(x)?;
        let n = self.pipeline.features.len() + 1;
        let mut names = self.pipeline.features.clone();
        names.push("bias".into());
        let values = match task {
            Task::MultiClass { classes } => values
                .chunks(classes)
                .enumerate()
                .flat_map(|(r, row)| {
                    let best = row
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |(k, _)| k);
                    let start = (r * classes + best) * n;
                    all.get(start..start + n).unwrap_or_default().to_vec()
                })
                .collect(),
            Task::Binary | Task::Regression | Task::Clustering => all,
        };
        if values.len() != x.rows * n {
            return Err(Error::Estimator(format!(
                "XGBoost gave {} contributions for {} rows of {} features and a bias",
                values.len(),
                x.rows,
                n - 1
            )));
        }
        Ok(Contributions { names, values })
    }
}
