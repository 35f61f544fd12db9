//! Fitting a model and the fittings it leaves: `models/<Model>/<fitting id>/` holds the resolved
//! spec (`params.json`), the stats (`stats.json`), the fitted pipeline (`pipeline.json`) and the
//! estimator in its own format, the report, and a manifest of every file's SHA-256 that loading
//! checks. A fitting is written under a temporary name and renamed, so an interrupted fit leaves
//! nothing behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use super::manifest::Provenance;
use super::search::{self, SearchOptions, SearchRecord, Trained, SEARCH_FILE};
use super::{export, fingerprint, manifest, ModelSpec};
use crate::encoders::{FittedEncoder, OutputState, Task};
use crate::env::Project;
use crate::error::{Error, Result};
use crate::estimators::{
    FitHistory, FittedEstimator, Importance, InMemory, LabelledBatches, Scored,
};
use crate::io::{Database, Extract, Origin, ProjectConnection, ReadOptions};
use crate::metrics::{self, Metric, SplitStats, Stats, Timings};
use crate::pipelines::{EncodedSplits, FittedPipeline, Matrix, ENCODING_VERSION};
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

/// Predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// What the model predicts.
    pub task: Task,
    /// The classes, in label order (none for a regression).
    pub classes: Vec<String>,
    /// The decoded answer for each row.
    pub predictions: Vec<serde_json::Value>,
    /// The estimator's numbers, [`Task::width`] a row: the probability of yes, a probability
    /// per class, or the number predicted.
    pub values: Vec<f32>,
    /// Why each row got its prediction, when asked for.
    pub contributions: Option<Contributions>,
}

/// Each feature's SHAP contribution to each row's prediction, in the model's margin (log-odds
/// for a classifier; for several classes, toward the class predicted). A row's contributions
/// and its bias add up to its margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    /// The features, then `bias`.
    pub names: Vec<String>,
    /// `names.len()` numbers a row.
    pub values: Vec<f32>,
}

/// The fitted pipeline and the train, validation and test splits, encoded, to read in batches.
struct Prepared {
    pipeline: FittedPipeline,
    splits: [Box<dyn LabelledBatches + Send>; 3],
    /// The folder of the spilled batches, removed when the fit is done with them.
    spill: Option<Spill>,
}

/// Reads the extract whole, splits it exactly by its shares, fits encoders on train, encodes.
/// With a cached extract, the encoded splits are cached too, so the next fit of the same rows
/// through the same pipeline (another estimator, other parameters) starts from them.
async fn prepare_whole(
    spec: &ModelSpec,
    connection: &ProjectConnection,
    extract: &Extract,
    origin: Origin,
    progress: &Progress,
    seconds: &mut Timings,
) -> Result<Prepared> {
    let t = Instant::now();
    let encoding_key = match spec.pipeline.extract.cache {
        true => spec
            .pipeline
            .encoding_key(&connection.extract_key(extract, &spec.pipeline.extract.params)?),
        false => None,
    };
    if let Some(key) = &encoding_key {
        // An entry that cannot be read (a file from another version, cut short) is encoded
        // again and replaced rather than failing the fit.
        let cached = connection.cache().get(key).and_then(|cached| {
            cached
                .map(|df| EncodedSplits::from_frame(&df).map(|e| (e, df.height())))
                .transpose()
        });
        match cached {
            Ok(Some((encoded, rows))) => {
                seconds.extract = t.elapsed().as_secs_f64();
                tracing::info!(
                    rows,
                    seconds = seconds.extract,
                    "encoded splits of {} read from the query cache (transformers and encoders \
                     not run again)",
                    extract.path.display()
                );
                return Ok(in_memory(encoded));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}; encoding the extract again"),
        }
    }
    let options = ReadOptions {
        cache: Some(spec.pipeline.extract.cache),
        origin,
    };
    let df = connection
        .read_extract(extract, &spec.pipeline.extract.params, &options)
        .await?;
    if df.height() == 0 {
        return Err(Error::config(
            &extract.path,
            "the extract returned no rows; check its SQL and parameters",
        ));
    }
    seconds.extract = t.elapsed().as_secs_f64();
    tracing::info!(
        rows = df.height(),
        seconds = seconds.extract,
        "extracted {}",
        extract.path.display()
    );

    progress.stage("transforming and encoding");
    spec.pipeline.check_columns(&column_names(&df))?;
    let encoded = spec.pipeline.fit_encode(df, seconds)?;
    if let Some(key) = &encoding_key {
        if let Some(frame) = encoded.to_frame()? {
            connection.cache().put(key, &frame)?;
        }
    }
    Ok(in_memory(encoded))
}

/// Encoded splits held in memory, to read as one batch each.
fn in_memory(encoded: EncodedSplits) -> Prepared {
    let EncodedSplits { pipeline, x, y } = encoded;
    let [x0, x1, x2] = x;
    let [y0, y1, y2] = y;
    Prepared {
        pipeline,
        splits: [
            Box::new(InMemory::new(x0, y0)),
            Box::new(InMemory::new(x1, y1)),
            Box::new(InMemory::new(x2, y2)),
        ],
        spill: None,
    }
}

/// A folder of spilled batches under `data/cache/`, removed when dropped.
struct Spill {
    dir: PathBuf,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The names of the splits, as spill files are named.
const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// Streams the extract in batches: each batch is transformed, its rows assigned to a split by a
/// seeded hash, the training rows fed to the encoders, and the columns the encoders need spilled
/// to one Parquet file per split. Only one batch of raw rows is in memory at a time; the estimator
/// then reads the spilled splits back a batch at a time, encoding as it goes.
async fn prepare_streamed(
    project: &Project,
    spec: &ModelSpec,
    connection: &ProjectConnection,
    batch_rows: usize,
    origin: Origin,
    progress: &Progress,
    seconds: &mut Timings,
) -> Result<Prepared> {
    let t = Instant::now();
    progress.stage(&format!(
        "streaming {} in batches of {batch_rows} rows",
        spec.pipeline.extract.sql
    ));
    let spill = Spill {
        dir: project
            .data_dir()
            .join("cache")
            .join(format!(".spill-{}", new_fitting_id())),
    };
    std::fs::create_dir_all(&spill.dir).map_err(|e| Error::io(&spill.dir, e))?;
    let (states, output, files, first_rows) =
        stream_to_spill(spec, connection, batch_rows, origin, &spill.dir).await?;
    seconds.extract = t.elapsed().as_secs_f64();
    let rows: Vec<usize> = files
        .iter()
        .map(|f| f.iter().map(|(_, n)| n).sum())
        .collect();
    tracing::info!(
        train = rows[0],
        validation = rows[1],
        test = rows[2],
        seconds = seconds.extract,
        "streamed and spilled"
    );
    let output = output.finish().map_err(|e| e.in_spec("pipeline.output"))?;
    let encoders: Vec<FittedEncoder> = states
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.finish(&output)
                .map_err(|e| e.in_spec(format!("pipeline.encoders.{i}")))
        })
        .collect::<Result<_>>()?;
    let pipeline = Arc::new(
        FittedPipeline {
            encoding: ENCODING_VERSION,
            transformers: spec.pipeline.transformers.clone(),
            features: encoders.iter().flat_map(FittedEncoder::features).collect(),
            encoders,
            output,
            input_kinds: Default::default(),
        }
        .with_input_kinds(&first_rows),
    );
    let [f0, f1, f2] = files;
    let batches = |files, split: &str| -> Box<dyn LabelledBatches + Send> {
        Box::new(SpilledBatches {
            files,
            pipeline: Arc::clone(&pipeline),
            pages: spill.dir.join(format!("xgboost-{split}")),
            training: split == SPLITS[0],
            at: 0,
            first: 0,
            current: None,
        })
    };
    let splits = [
        batches(f0, SPLITS[0]),
        batches(f1, SPLITS[1]),
        batches(f2, SPLITS[2]),
    ];
    Ok(Prepared {
        pipeline: pipeline.as_ref().clone(),
        splits,
        spill: Some(spill),
    })
}

/// Spilled files of one split, with their row counts.
type SpilledFiles = Vec<(PathBuf, usize)>;

async fn stream_to_spill(
    spec: &ModelSpec,
    connection: &ProjectConnection,
    batch_rows: usize,
    origin: Origin,
    spill: &Path,
) -> Result<(
    Vec<crate::encoders::EncoderState>,
    OutputState,
    [SpilledFiles; 3],
    DataFrame,
)> {
    let mut output = spec.pipeline.output.start();
    let mut states = spec
        .pipeline
        .encoders
        .iter()
        .map(|e| e.start(&spec.pipeline.output))
        .collect::<Result<Vec<_>>>()?;
    let keep = spec.pipeline.encoded_columns();
    let mut batches = connection
        .batches(
            &spec.pipeline.extract.sql,
            &spec.pipeline.extract.params,
            batch_rows,
            origin,
        )
        .await?;
    let (mut row, mut batch_no) = (0u64, 0usize);
    let mut files: [SpilledFiles; 3] = Default::default();
    let mut first_rows = DataFrame::empty();
    while let Some(batch) = batches.next().await {
        let mut df = batch?;
        if batch_no == 0 {
            spec.pipeline.check_columns(&column_names(&df))?;
            // The first rows, as read, are what the input kinds are found from.
            first_rows = df.head(Some(crate::pipelines::KIND_ROWS));
        }
        spec.pipeline.transform(&mut df)?;
        let split = spec.pipeline.split.assign_batch(&df, row)?;
        row += df.height() as u64;
        let slim = df.select(keep.iter().map(|c| c.as_str()))?;
        drop(df);
        output
            .update(&slim)
            .map_err(|e| e.in_spec("pipeline.output"))?;
        for (k, name) in SPLITS.iter().enumerate() {
            let mask = BooleanChunked::from_iter_values(
                "split".into(),
                split.iter().map(|s| usize::from(*s) == k),
            );
            let mut part = slim.filter(&mask)?;
            if part.height() == 0 {
                continue;
            }
            if k == 0 {
                for (i, state) in states.iter_mut().enumerate() {
                    state
                        .update(&part)
                        .map_err(|e| e.in_spec(format!("pipeline.encoders.{i}")))?;
                }
            }
            let path = spill.join(format!("{name}-{batch_no:06}.parquet"));
            let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            ParquetWriter::new(file).finish(&mut part)?;
            files[k].push((path, part.height()));
        }
        batch_no += 1;
    }
    if row == 0 {
        return Err(Error::Data(format!(
            "extract {} returned no rows; check its SQL and parameters",
            spec.pipeline.extract.sql
        )));
    }
    Ok((states, output, files, first_rows))
}

/// One split's spilled files, read back and encoded a file at a time.
struct SpilledBatches {
    files: SpilledFiles,
    pipeline: Arc<FittedPipeline>,
    /// Where the estimator may page its copy of the split out to.
    pages: PathBuf,
    /// Whether these are the training rows, encoded as the estimator learns from them.
    training: bool,
    at: usize,
    /// The position of the next file's first row in the split.
    first: u64,
    current: Option<(Matrix, Vec<f32>)>,
}

impl LabelledBatches for SpilledBatches {
    fn rows(&self) -> usize {
        self.files.iter().map(|(_, n)| n).sum()
    }

    fn reset(&mut self) -> Result<()> {
        self.at = 0;
        self.first = 0;
        self.current = None;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
        self.current = None;
        let Some((path, _)) = self.files.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        let x = match self.training {
            true => self.pipeline.encode_training(&df, self.first)?,
            false => self.pipeline.encode(&df)?,
        };
        self.first += df.height() as u64;
        let y = self.pipeline.output.labels(&df)?;
        let (x, y) = self.current.insert((x, y));
        Ok(Some((x, y.as_slice())))
    }

    fn page_to(&self) -> Option<&Path> {
        Some(&self.pages)
    }

    fn cursor(&self) -> Option<Box<dyn LabelledBatches + Send + '_>> {
        // Each reader pages to its own files.
        static READERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = READERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Box::new(SpilledBatches {
            files: self.files.clone(),
            pipeline: Arc::clone(&self.pipeline),
            pages: self.pages.with_extension(format!("reader{n}")),
            training: self.training,
            at: 0,
            first: 0,
            current: None,
        }))
    }
}

/// The names of the columns of `df`.
fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect()
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
            prepare_streamed(
                project,
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

impl Predictions {
    /// How many rows were predicted.
    pub fn len(&self) -> usize {
        self.predictions.len()
    }

    /// Whether no rows were predicted.
    pub fn is_empty(&self) -> bool {
        self.predictions.is_empty()
    }

    /// The probabilities of each row: of yes (a number), or of each class (an object of class
    /// to probability); none for a regression.
    pub fn probabilities(&self) -> Option<Vec<serde_json::Value>> {
        match self.task {
            Task::Regression | Task::Clustering => None,
            Task::Binary => Some(self.values.iter().map(|p| json_number(*p)).collect()),
            Task::MultiClass { .. } => Some(named_rows(&self.classes, &self.values)),
        }
    }

    /// The contributions of each row as an object of feature to contribution.
    pub fn contributions_json(&self) -> Option<Vec<serde_json::Value>> {
        let c = self.contributions.as_ref()?;
        Some(named_rows(&c.names, &c.values))
    }

    /// A table with one row per input row: `prediction`; `probability` (of yes, or of the class
    /// predicted) and, for several classes, `probability_<class>` each; `shap_<feature>` and
    /// `shap_bias` when explained.
    pub fn frame(&self) -> Result<DataFrame> {
        let rows = self.len();
        let mut columns = Vec::new();
        let prediction: Column = match self.task {
            Task::Binary => Column::new(
                "prediction".into(),
                self.predictions
                    .iter()
                    .map(|v| v.as_bool())
                    .collect::<Vec<_>>(),
            ),
            Task::Clustering => Column::new(
                "prediction".into(),
                self.predictions
                    .iter()
                    .map(|v| v.as_i64())
                    .collect::<Vec<_>>(),
            ),
            _ if self.predictions.iter().all(|v| v.is_number()) => Column::new(
                "prediction".into(),
                self.predictions
                    .iter()
                    .map(|v| v.as_f64())
                    .collect::<Vec<_>>(),
            ),
            _ => crate::frame::text_column(
                "prediction",
                self.predictions
                    .iter()
                    .map(|v| v.as_str().map(str::to_string)),
            ),
        };
        columns.push(prediction);
        let width = self.task.width();
        match self.task {
            Task::Regression => {}
            Task::Clustering => {
                for (i, name) in [(1, "distance"), (2, "silhouette")] {
                    let v: Vec<f64> = (0..rows)
                        .map(|r| f64::from(self.values[r * width + i]))
                        .collect();
                    columns.push(Column::new(name.into(), v));
                }
            }
            Task::Binary => columns.push(Column::new(
                "probability".into(),
                self.values
                    .iter()
                    .map(|p| f64::from(*p))
                    .collect::<Vec<_>>(),
            )),
            Task::MultiClass { .. } => {
                let best: Vec<f64> = self
                    .values
                    .chunks(width)
                    .map(|row| f64::from(row.iter().copied().fold(f32::MIN, f32::max)))
                    .collect();
                columns.push(Column::new("probability".into(), best));
                for (k, class) in self.classes.iter().enumerate() {
                    let p: Vec<f64> = (0..rows)
                        .map(|r| f64::from(self.values[r * width + k]))
                        .collect();
                    columns.push(Column::new(format!("probability_{class}").into(), p));
                }
            }
        }
        if let Some(c) = &self.contributions {
            let n = c.names.len();
            for (k, name) in c.names.iter().enumerate() {
                let v: Vec<f64> = (0..rows).map(|r| f64::from(c.values[r * n + k])).collect();
                columns.push(Column::new(format!("shap_{name}").into(), v));
            }
        }
        Ok(DataFrame::new(rows, columns)?)
    }
}

/// Rows of `names.len()` numbers, each as a JSON object of name to number.
fn named_rows(names: &[String], values: &[f32]) -> Vec<serde_json::Value> {
    values
        .chunks(names.len().max(1))
        .map(|row| {
            let map = names
                .iter()
                .zip(row)
                .map(|(n, v)| (n.clone(), json_number(*v)))
                .collect();
            serde_json::Value::Object(map)
        })
        .collect()
}

/// A JSON number for a prediction (null for NaN, which JSON has no number for).
fn json_number(x: f32) -> serde_json::Value {
    serde_json::Number::from_f64(f64::from(x)).map_or(serde_json::Value::Null, Into::into)
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
