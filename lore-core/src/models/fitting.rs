//! The fittings a fit leaves, loaded: `models/<Model>/<fitting id>/` holds the resolved spec
//! (`params.json`), the stats (`stats.json`), the fitted pipeline (`pipeline.json`) and the
//! estimator in its own format, the report, and a manifest of every file's SHA-256 that loading
//! checks. A loaded fitting predicts and evaluates.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use super::predictions::{Contributions, Predictions};
use super::prepare::column_names;
use super::runs;
use super::search::{SearchRecord, SEARCH_FILE};
use super::{manifest, ModelSpec};
use crate::encoders::Task;
use crate::env::Project;
use crate::error::{Error, Result};
use crate::estimators::FittedEstimator;
use crate::matrix::Matrix;
use crate::metrics::{self, Metric, SplitStats, Stats};
use crate::pipelines::{FittedPipeline, ENCODING_VERSION};
use crate::rows::{RowPlan, Rows};
use crate::tracking::{self, Run};

/// The resolved spec of a fitting.
pub const PARAMS_FILE: &str = "params.json";
/// Most rows [`Fitting::predict_rows`] encodes a row at a time: past it, column operations on a
/// frame, spread over every core, are the faster.
pub const ROW_PATH_ROWS: usize = 64;
/// The evaluation of a fitting.
pub const STATS_FILE: &str = "stats.json";
/// The reference profile of the data a fitting learned from (`lore check` compares new data
/// with it).
pub const PROFILE_FILE: &str = "profile.json";
/// The fitted transformers and encoders of a fitting.
pub const PIPELINE_FILE: &str = "pipeline.json";

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
    /// The fitted estimator.
    pub(super) estimator: FittedEstimator,
    /// The pipeline compiled for a few rows at a time, where it can be.
    pub(super) row_plan: Option<RowPlan>,
}

pub(super) fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<()> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
}

/// Writes `value` as JSON on one line: for files read by programs rather than people.
pub(super) fn write_compact_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<()> {
    let path = dir.join(name);
    let text = serde_json::to_string(value).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::fitting_json(&path, &e))
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

    /// Evaluates the fitting on labelled rows it has not seen, and records the evaluation as a
    /// run of the project: `df` has the model's inputs and the column it predicts; `location`
    /// names the data in errors and in the run.
    pub async fn evaluate(
        &self,
        project: &Project,
        df: DataFrame,
        location: &str,
    ) -> Result<(SplitStats, Run)> {
        let stats = self.score(df, location, self.stats.scoring)?;
        let run = runs::evaluation(self, location, &stats)?;
        tracking::record(project, std::slice::from_ref(&run)).await?;
        Ok((stats, run))
    }

    /// The metrics of this fitting on labelled rows, `scoring` among them.
    pub(super) fn score(
        &self,
        df: DataFrame,
        location: &str,
        scoring: Metric,
    ) -> Result<SplitStats> {
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
        Ok(metrics::evaluate(p.task, scoring, &labels, &p.values))
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
