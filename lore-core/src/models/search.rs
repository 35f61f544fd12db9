//! `lore fit MODEL --search N`: fits the estimator N times on the same encoded splits, the first
//! time with the model's own parameters and then with parameters the strategy proposes from the
//! model's search space, and keeps the trial with the best validation score.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{params, ModelSpec};
use crate::encoders::Task;
use crate::error::{Error, Result};
use crate::estimators::{FitHistory, FittedEstimator, LabelledBatches, Scored};
use crate::metrics::{self, Metric};
use crate::progress::Progress;
use crate::search::{self, Sampler, Strategy};

/// The file in the kept fitting that records every trial of its search.
pub const SEARCH_FILE: &str = "search.json";

/// How to search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Trials to run, the model's own parameters first.
    pub trials: usize,
    /// How trials after the first are proposed.
    pub strategy: Strategy,
    /// Trials fitted at once (each estimator then gets a share of the cores).
    pub jobs: usize,
    /// Seed of the proposals.
    pub seed: u64,
}

/// One trial of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Its number, from 0 (the model's own parameters).
    pub number: usize,
    /// The searched parameters' values, by full path.
    pub params: BTreeMap<String, Value>,
    /// The model's scoring metric on the validation split.
    pub score: Option<f64>,
    /// The boosting round kept.
    pub best_iteration: u32,
    /// Seconds the fit took.
    pub seconds: f64,
    /// Why the trial failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `search.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// How trials were proposed.
    pub strategy: Strategy,
    /// The metric compared, on the validation split.
    pub scoring: Metric,
    /// Whether a higher score is better.
    pub greater_is_better: bool,
    /// The number of the trial kept.
    pub best: usize,
    /// Every trial, in the order they were numbered.
    pub trials: Vec<Trial>,
}

/// An estimator fitted on the training split, with the spec it was fitted with.
pub(super) struct Trained {
    pub spec: ModelSpec,
    pub estimator: FittedEstimator,
    pub history: FitHistory,
    pub scored: [Scored; 2],
}

/// A trial's score, number and fit, kept while it is the best.
type Kept = (f64, usize, Trained);

/// What the trials share while they run.
struct Shared {
    sampler: Sampler,
    done: Vec<(Vec<Value>, Option<f64>)>,
    next: usize,
    trials: Vec<Trial>,
    best: Option<Kept>,
}

/// The full paths of the searched parameters of `spec`, checked: every one an estimator
/// parameter (the splits are encoded once for every trial), named by its own name
/// (`subsample`) or a path (`estimator.subsample`).
pub fn searched_keys(spec: &ModelSpec) -> Result<Vec<String>> {
    search::check(&spec.search)?;
    let all = params::list(spec)?;
    spec.search
        .keys()
        .map(|key| {
            let own = format!("estimator.{key}");
            let path = match all.iter().any(|(p, _)| *p == own) {
                true => own,
                false => params::resolve_key(spec, key)?,
            };
            if !path.starts_with("estimator.") {
                return Err(Error::InvalidParam {
                    key: format!("search.{key}"),
                    message: format!(
                        "`{path}` is not an estimator parameter; a search encodes the splits once \
                         and varies only the estimator's parameters"
                    ),
                });
            }
            Ok(path)
        })
        .collect()
}

/// `spec` with the searched parameters `keys` set to `values`, validated.
fn with_values(spec: &ModelSpec, keys: &[String], values: &[Value]) -> Result<ModelSpec> {
    let overrides: Vec<String> = keys
        .iter()
        .zip(values)
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    let trial = params::apply(spec, &overrides)?;
    trial.estimator.validate(&trial.pipeline.output)?;
    Ok(trial)
}

/// Runs the search on the encoded `train` and `validation` splits and returns the best trial's
/// fit and every trial; `cardinalities` describes the features, as for
/// [`Estimator::fit`](crate::estimators::Estimator::fit).
pub(super) fn run(
    spec: &ModelSpec,
    task: Task,
    cardinalities: &[Option<usize>],
    [train, validation]: [&mut dyn LabelledBatches; 2],
    options: &SearchOptions,
    progress: &Progress,
) -> Result<(Trained, SearchRecord)> {
    let keys = searched_keys(spec)?;
    if validation.rows() == 0 {
        return Err(Error::InvalidParam {
            key: "pipeline.split.validation".into(),
            message: "a search compares trials on the validation split, which has no rows; \
                      give it a share"
                .into(),
        });
    }
    let scoring = spec.scoring.unwrap_or(Metric::default_for(task));
    let current = params::list(spec)?;
    let defaults: Vec<Value> = keys
        .iter()
        .map(|k| {
            current
                .iter()
                .find(|(p, _)| p == k)
                .map_or(Value::Null, |(_, v)| v.clone())
        })
        .collect();
    let total = options.trials.max(1);
    let shared = Mutex::new(Shared {
        sampler: Sampler::new(&spec.search, options.strategy, total, options.seed),
        done: Vec::new(),
        next: 0,
        trials: Vec::new(),
        best: None,
    });
    progress.trials(0, total, None);
    let jobs = options.jobs.max(1);
    let threads = match (jobs, std::thread::available_parallelism()) {
        (1, _) => None,
        (_, Ok(cores)) => Some((cores.get() / jobs).max(1) as i64),
        (_, Err(_)) => Some(1),
    };
    let worker = |train: &mut dyn LabelledBatches, validation: &mut dyn LabelledBatches| {
        trials(
            spec,
            (task, cardinalities),
            scoring,
            &keys,
            &defaults,
            threads,
            total,
            train,
            validation,
            &shared,
            progress,
        )
    };
    let shared_rows = train.cursor().is_some() && validation.cursor().is_some();
    if jobs > 1 && shared_rows {
        let cursors: Vec<_> = (0..jobs)
            .filter_map(|_| Some((train.cursor()?, validation.cursor()?)))
            .collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = cursors
                .into_iter()
                .map(|(mut t, mut v)| scope.spawn(move || worker(t.as_mut(), v.as_mut())))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Estimator("a trial panicked".into())))
                })
                .collect::<Result<Vec<()>>>()
        })?;
    } else {
        // One trial at a time, or rows that cannot be shared between fits.
        worker(train, validation)?;
    }
    let Shared {
        mut trials, best, ..
    } = shared
        .into_inner()
        .map_err(|_| Error::Estimator("a trial panicked".into()))?;
    trials.sort_by_key(|t| t.number);
    let Some((_, best, trained)) = best else {
        let why = trials
            .iter()
            .find_map(|t| t.error.clone())
            .unwrap_or_default();
        return Err(Error::Estimator(format!(
            "every one of the {} trials failed; the first: {why}",
            trials.len()
        )));
    };
    let record = SearchRecord {
        strategy: options.strategy,
        scoring,
        greater_is_better: scoring.greater_is_better(),
        best,
        trials,
    };
    Ok((trained, record))
}

/// Runs trials until all are numbered: proposes under the lock, fits outside it.
#[allow(clippy::too_many_arguments)]
fn trials(
    spec: &ModelSpec,
    (task, cardinalities): (Task, &[Option<usize>]),
    scoring: Metric,
    keys: &[String],
    defaults: &[Value],
    threads: Option<i64>,
    total: usize,
    train: &mut dyn LabelledBatches,
    validation: &mut dyn LabelledBatches,
    shared: &Mutex<Shared>,
    progress: &Progress,
) -> Result<()> {
    let lock = || {
        shared
            .lock()
            .map_err(|_| Error::Estimator("a trial panicked".into()))
    };
    loop {
        let (number, values) = {
            let mut s = lock()?;
            if s.next >= total {
                return Ok(());
            }
            let number = s.next;
            s.next += 1;
            let values = match number {
                0 => Some(defaults.to_vec()),
                _ => {
                    let done = s.done.clone();
                    s.sampler.propose(&done)
                }
            };
            match values {
                Some(values) => (number, values),
                // A grid smaller than the trials asked for is used up.
                None => {
                    s.next = total;
                    return Ok(());
                }
            }
        };
        let started = Instant::now();
        let fitted = with_values(spec, keys, &values).and_then(|trial| {
            let estimator = match threads {
                Some(n) => trial.estimator.sharing_cores(n),
                None => trial.estimator.clone(),
            };
            let (estimator, history, scored) = estimator.fit(
                task,
                cardinalities,
                &mut *train,
                &mut *validation,
                &mut |_, _| {},
            )?;
            let [_, valid] = &scored;
            let score = metrics::evaluate(task, scoring, &valid.labels, &valid.predictions)
                .score
                .ok_or_else(|| {
                    Error::Estimator(format!("the validation {} is not a number", scoring.name()))
                })?;
            Ok((
                score,
                Trained {
                    spec: trial,
                    estimator,
                    history,
                    scored,
                },
            ))
        });
        let seconds = started.elapsed().as_secs_f64();
        let mut s = lock()?;
        let params = keys.iter().cloned().zip(values.iter().cloned()).collect();
        let trial = match fitted {
            Ok((score, trained)) => {
                let best_iteration = trained.history.best_iteration;
                // Ties go to the lower number: the model's own parameters first.
                let better = s.best.as_ref().is_none_or(|(best, kept, _)| {
                    let improves = match scoring.greater_is_better() {
                        true => score > *best,
                        false => score < *best,
                    };
                    improves || (score == *best && number < *kept)
                });
                if better {
                    s.best = Some((score, number, trained));
                }
                let oriented = if scoring.greater_is_better() {
                    score
                } else {
                    -score
                };
                s.done.push((values, Some(oriented)));
                Trial {
                    number,
                    params,
                    score: Some(score),
                    best_iteration,
                    seconds,
                    error: None,
                }
            }
            Err(e) => {
                tracing::warn!("search trial {number} failed: {e}");
                s.done.push((values, None));
                Trial {
                    number,
                    params,
                    score: None,
                    best_iteration: 0,
                    seconds,
                    error: Some(e.to_string()),
                }
            }
        };
        s.trials.push(trial);
        let best = s.best.as_ref().map(|(score, _, _)| *score);
        progress.trials(s.trials.len(), total, best);
    }
}
