//! The HTTP API: for every fitted model, the fitting its `production` alias holds, else its
//! latest, served with axum and swapped atomically when either changes (requests in flight
//! finish on the fitting they started with). With S3 configured, the models, fittings and
//! aliases in the bucket count too, and a fitting only the bucket has is pulled into `models/`
//! before it is served, so several servers sharing one bucket serve the same fittings.
//!
//! One server speaks several protocols: Lore's own (`POST /models/{name}/predict`, and
//! `/models/{name}/versions/{fitting-or-alias}/predict`), MLflow's scoring protocol
//! (`POST /invocations`, `GET /ping`, `GET /version`, see [`mlflow`]), the Open Inference
//! Protocol V2 of KServe and Triton (`/v2/...`, see [`v2`]), probes in BentoML's
//! convention (`/livez`, `/healthz`, `/readyz`) and Prometheus' `GET /metrics`. Every error
//! answer is JSON of one shape (see [`errors`]); every prediction names the fitting that made
//! it, in its body and in the `X-Lore-Fitting` header.

mod auth;
mod errors;
mod feedback;
mod metrics;
mod mlflow;
mod openapi;
pub mod prediction_log;
pub mod records;
mod server;
mod v2;

pub use auth::{key_digest, parse_digest, Auth};
pub use errors::{MAX_HEADERS, MAX_HEADER_BYTES, MAX_URI};
pub use metrics::Metrics;
use prediction_log::Pending;
pub use prediction_log::PredictionLog;
pub use records::Limits;
pub use server::{serve, Settings};

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::env::Project;
use crate::error::Result;
use crate::frame::Kind;
use crate::models::store::{self, S3Store, Store};
use crate::models::Predictions;
use crate::models::{aliases, Fitting};
use errors::ApiError;
use metrics::Answered;

/// One fitting as served: the fitting, its input columns with their kinds, and the alias it
/// was chosen by (if any).
struct Served {
    fitting: Arc<Fitting>,
    inputs: Arc<Vec<(String, Option<Kind>)>>,
    alias: Option<String>,
}

impl Served {
    fn new(fitting: Fitting, alias: Option<String>) -> Served {
        Served {
            inputs: Arc::new(fitting.typed_inputs()),
            fitting: Arc::new(fitting),
            alias,
        }
    }
}

/// `fitting`, predicting on one thread a request: the server runs requests in parallel, one a
/// core, and XGBoost's threads for a request of one row cost more than the prediction (a third
/// of the throughput under load).
fn single_threaded(mut fitting: Fitting) -> Result<Fitting> {
    fitting.limit_threads(1)?;
    Ok(fitting)
}

/// The fittings served, by model: replaced whole on a change, so a reader never waits.
type Catalogue = BTreeMap<String, Arc<Served>>;

/// Fittings asked for by id or alias (`/models/{name}/versions/{v}/predict`), kept for reuse.
#[derive(Default)]
struct Pinned {
    /// (model, id or alias asked for, when it was resolved, the fitting), oldest first.
    entries: VecDeque<(String, String, Instant, Arc<Served>)>,
}

/// How many fittings asked for by version are kept loaded besides those served.
const MAX_PINNED: usize = 8;

/// How long an alias asked for by version is trusted before it is looked up again.
const ALIAS_TTL: Duration = Duration::from_secs(5);

/// What the handlers share: one loaded fitting per model, swapped when the alias or the latest
/// fitting changes (see [`ApiState::refresh`]), and the server's counters.
#[derive(Clone)]
pub struct ApiState {
    settings: Arc<Settings>,
    project: Arc<Project>,
    fittings: Arc<ArcSwap<Catalogue>>,
    /// Fittings (model, id) that failed to load, reported once and not tried again.
    broken: Arc<Mutex<BTreeSet<(String, String)>>>,
    pinned: Arc<Mutex<Pinned>>,
    remote: Option<S3Store>,
    metrics: Arc<Metrics>,
    /// Predictions allowed at once; past it a request gets 503 and `Retry-After`.
    permits: Arc<Semaphore>,
    /// Set once every model is loaded; cleared when the server starts shutting down.
    ready: Arc<AtomicBool>,
    /// One refresh at a time (polling, SIGHUP and `/admin/reload` may ask together).
    refreshing: Arc<tokio::sync::Mutex<()>>,
    /// Where predictions are logged, when `log_predictions` is on.
    log: Option<PredictionLog>,
}

/// How many of a model's newest fittings are tried, newest first, when the latest fails to load.
const MAX_FALLBACKS: usize = 5;

/// Every model with a fitting, in `models/` or in `remote`, with the ids of its fittings.
async fn fitted(
    project: &Project,
    remote: Option<&S3Store>,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut all = store::LocalStore::new(project).fittings().await?;
    if let Some(remote) = remote {
        for (model, ids) in remote.fittings().await? {
            let known = all.entry(model).or_default();
            known.extend(ids);
            known.sort();
            known.dedup();
        }
    }
    Ok(all)
}

impl ApiState {
    /// Loads, for every model with a fitting in `project` (or in its S3 bucket), the fitting
    /// its `production` alias holds, or else its latest.
    pub async fn load(project: &Project, settings: Settings) -> Result<ApiState> {
        let settings_log = settings.log_predictions;
        let state = ApiState {
            permits: Arc::new(Semaphore::new(settings.max_concurrency.max(1))),
            settings: Arc::new(settings),
            project: Arc::new(project.clone()),
            fittings: Arc::default(),
            broken: Arc::default(),
            pinned: Arc::default(),
            remote: S3Store::of(project).await?,
            metrics: Arc::default(),
            ready: Arc::default(),
            refreshing: Arc::default(),
            log: match settings_log {
                Some(buffer) => Some(PredictionLog::start(project, buffer).await?),
                None => None,
            },
        };
        state.refresh().await?;
        state.ready.store(true, Ordering::SeqCst);
        Ok(state)
    }

    /// Loads the fittings to serve where they differ from those served (a promotion, a
    /// rollback, a new latest fit); returns a line for each model that changed. A fitting that
    /// fails to load (damaged, or with names that are not Lore's) is reported once and skipped:
    /// the fitting served before stays, and for a model served by its latest fitting the newest
    /// one that loads is served instead. Other models are not held back by it.
    pub async fn refresh(&self) -> Result<Vec<String>> {
        let _one = self.refreshing.lock().await;
        let remote = self.remote.as_ref();
        let mut changed = Vec::new();
        for (model, ids) in fitted(&self.project, remote).await? {
            match self.refresh_model(&model, &ids).await {
                Ok(line) => changed.extend(line),
                Err(e) => tracing::error!("{model}: not updated: {e}"),
            }
        }
        Ok(changed)
    }

    /// [`ApiState::refresh`] for one model with fittings `ids` (oldest first).
    async fn refresh_model(&self, model: &str, ids: &[String]) -> Result<Option<String>> {
        let (project, remote) = (&*self.project, self.remote.as_ref());
        let held = aliases::holder(project, remote, model, aliases::PRODUCTION).await?;
        let alias = held.as_ref().map(|_| aliases::PRODUCTION.to_string());
        let candidates: Vec<String> = match held {
            Some(id) => vec![id],
            None => ids.iter().rev().take(MAX_FALLBACKS).cloned().collect(),
        };
        for id in candidates {
            let current = self.served(model);
            if let Some(current) = current.as_ref().filter(|s| s.fitting.id == id) {
                if current.alias == alias {
                    return Ok(None);
                }
                // The same fitting, now chosen another way: no reload, only what it says.
                let relabelled = Arc::new(Served {
                    fitting: Arc::clone(&current.fitting),
                    inputs: Arc::clone(&current.inputs),
                    alias: alias.clone(),
                });
                self.swap(model, relabelled);
                return Ok(None);
            }
            if self.is_broken(model, &id) {
                continue;
            }
            let fitting = match store::load(project, remote, model, Some(&id)).await {
                Ok(fitting) => single_threaded(fitting)?,
                Err(e) => {
                    tracing::error!("{model}: fitting {id} skipped: {e}");
                    self.broken
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((model.to_string(), id));
                    continue;
                }
            };
            let line = match &alias {
                Some(a) => format!("{model}: serving fitting {id} ({a})"),
                None => format!("{model}: serving fitting {id} (latest)"),
            };
            tracing::info!(model, fitting = id, alias, "loaded");
            self.swap(model, Arc::new(Served::new(fitting, alias.clone())));
            self.metrics.loaded(model, current.is_some());
            return Ok(Some(line));
        }
        Ok(None)
    }

    /// Serves `served` for `model` from the next request on.
    fn swap(&self, model: &str, served: Arc<Served>) {
        self.fittings.rcu(|catalogue| {
            let mut next = Catalogue::clone(catalogue);
            next.insert(model.to_string(), Arc::clone(&served));
            next
        });
    }

    /// Whether fitting `id` of `model` failed to load before (and so is not tried again).
    fn is_broken(&self, model: &str, id: &str) -> bool {
        self.broken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(model.to_string(), id.to_string()))
    }

    fn served(&self, model: &str) -> Option<Arc<Served>> {
        self.fittings.load().get(model).cloned()
    }

    /// The model `name` served, or a 404 listing those served.
    fn model(&self, name: &str) -> std::result::Result<Arc<Served>, ApiError> {
        self.served(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no fitted model `{}`; served models: {}",
                    name.chars().take(100).collect::<String>(),
                    self.models().join(", ")
                ),
            )
        })
    }

    /// The fitting of `model` that `version` names (a fitting id or an alias), loaded once and
    /// kept among the last [`MAX_PINNED`] asked for.
    async fn version(
        &self,
        model: &str,
        version: &str,
    ) -> std::result::Result<Arc<Served>, ApiError> {
        let served = self.model(model)?;
        if served.fitting.id == version || served.alias.as_deref() == Some(version) {
            return Ok(served);
        }
        let cached = {
            let pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
            pinned
                .entries
                .iter()
                .find(|(m, v, at, s)| {
                    m == model && v == version && (s.fitting.id == *v || at.elapsed() < ALIAS_TTL)
                })
                .map(|(.., s)| Arc::clone(s))
        };
        if let Some(served) = cached {
            return Ok(served);
        }
        let not_found = |detail: &dyn std::fmt::Display| {
            tracing::debug!("{model} version {version}: {detail}");
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "model `{model}` has no fitting or alias `{}` that can be served; `lore \
                     models show {model}` lists its fittings and aliases",
                    version.chars().take(100).collect::<String>()
                ),
            )
        };
        if crate::paths::fault(version).is_some() {
            return Err(not_found(&"not a plain name"));
        }
        let fitting = store::load(&self.project, self.remote.as_ref(), model, Some(version))
            .await
            .map_err(|e| not_found(&e))?;
        let fitting = single_threaded(fitting)?;
        let alias = (fitting.id != version).then(|| version.to_string());
        let served = Arc::new(Served::new(fitting, alias));
        let mut pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        pinned
            .entries
            .retain(|(m, v, ..)| !(m == model && v == version));
        if pinned.entries.len() >= MAX_PINNED {
            pinned.entries.pop_front();
        }
        pinned.entries.push_back((
            model.to_string(),
            version.to_string(),
            Instant::now(),
            Arc::clone(&served),
        ));
        Ok(served)
    }

    fn all(&self) -> Vec<(String, Arc<Served>)> {
        self.fittings
            .load()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect()
    }

    /// The names of the models served.
    pub fn models(&self) -> Vec<String> {
        self.fittings.load().keys().cloned().collect()
    }

    /// Each model served, with the fitting it serves and the alias that chose it (if any).
    pub fn serving(&self) -> Vec<(String, String, Option<String>)> {
        self.all()
            .into_iter()
            .map(|(name, s)| (name, s.fitting.id.clone(), s.alias.clone()))
            .collect()
    }

    /// The project's own transformers and encoders the served fittings use that this program
    /// has not registered.
    pub fn unregistered(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .flat_map(|(_, s)| s.fitting.pipeline.unregistered())
            .collect()
    }

    /// Refreshes (see [`ApiState::refresh`]) every `every` when given, and at once on SIGHUP;
    /// a failure is logged and the fittings served stay.
    pub fn follow(&self, every: Option<Duration>) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = every.map(|every| {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick
            });
            if let Some(tick) = &mut tick {
                tick.tick().await;
            }
            let mut hangup = Hangup::new();
            loop {
                tokio::select! {
                    () = async { match &mut tick { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {}
                    () = hangup.recv() => tracing::info!("SIGHUP: looking for new fittings"),
                }
                state.refresh_logged().await;
            }
        });
    }

    /// Refreshes, logging what changed or why it failed.
    async fn refresh_logged(&self) -> Vec<String> {
        match self.refresh().await {
            Ok(lines) => {
                lines.iter().for_each(|l| tracing::info!("{l}"));
                lines
            }
            Err(e) => {
                tracing::error!("{e}; still serving the fittings loaded before");
                Vec::new()
            }
        }
    }
}

/// SIGHUP where there is one; never elsewhere.
struct Hangup(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangup {
    fn new() -> Hangup {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Hangup(signal(SignalKind::hangup()).ok())
        }
        #[cfg(not(unix))]
        Hangup()
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.0 {
            if signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

/// The API's routes over `state`, every error answered as JSON, every request counted.
pub fn router(state: ApiState) -> Router {
    let max_body = state.settings.max_body;
    Router::new()
        .route("/health", get(live))
        .route("/livez", get(live))
        .route("/healthz", get(live))
        .route("/readyz", get(ready))
        .route("/metrics", get(prometheus))
        .route("/models", get(models))
        .route("/models/{name}/predict", post(predict))
        .route("/models/{name}/feedback", post(feedback::feedback))
        .route(
            "/models/{name}/versions/{version}/predict",
            post(predict_version),
        )
        .route("/openapi.json", get(openapi::openapi))
        .route("/docs", get(docs))
        .route("/admin/reload", post(reload))
        .merge(mlflow::routes())
        .merge(v2::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(from_fn_with_state(state.clone(), deadline))
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn(errors::head_limits))
        .layer(middleware::map_response(errors::json_errors))
        .layer(from_fn_with_state(state.clone(), metrics::observe))
        .layer(from_fn_with_state(state.clone(), errors::report))
        .with_state(state)
}

/// Bounds the time of a whole request; past it the client gets a 504, as from MLflow's server.
async fn deadline(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("a request took longer than {limit:?} and was answered 504");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the request took longer than the {} s the server gives one; send fewer \
                     records, or try again",
                    limit.as_secs_f64()
                ),
            )
            .into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route; GET /openapi.json lists them (POST /models/{name}/predict, POST \
         /invocations, GET /models, GET /livez, GET /readyz, GET /metrics, ...)",
    )
}

/// The API's documentation as a page: `/openapi.json` rendered in the browser by a script of
/// its own, so it works offline.
async fn docs() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'",
            ),
        ],
        include_str!("docs.html"),
    )
        .into_response()
}

/// Looks for new fittings at once (as SIGHUP does) and answers what changed and what is served.
async fn reload(State(state): State<ApiState>) -> Json<Value> {
    let changed = state.refresh_logged().await;
    let serving: Vec<Value> = state
        .serving()
        .into_iter()
        .map(|(model, fitting, alias)| json!({"model": model, "fitting_id": fitting, "alias": alias}))
        .collect();
    Json(json!({ "changed": changed, "serving": serving }))
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 once every model is loaded, 503 before and while shutting down (so a load balancer
/// sends no new requests).
async fn ready(State(state): State<ApiState>) -> std::result::Result<Json<Value>, ApiError> {
    if !state.ready.load(Ordering::SeqCst) {
        return Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the models are loading, or the server is shutting down",
            )
        });
    }
    Ok(Json(json!({ "status": "ready", "models": state.models() })))
}

async fn prometheus(State(state): State<ApiState>) -> Response {
    let log = state.log.as_ref().map(|l| &*l.counts);
    let text = state.metrics.render(&state.serving(), log);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn models(State(state): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = state
        .all()
        .into_iter()
        .map(|(name, s)| {
            let f = &s.fitting;
            json!({
                "name": name,
                "fitting_id": f.id,
                "alias": s.alias,
                "inputs": f.inputs(),
                "input_kinds": f.pipeline.input_kinds,
                "output": f.pipeline.output.column(),
                "task": f.stats.task.name(),
                "scoring": f.stats.scoring.name(),
                "test_score": f.stats.test.score,
                "test_auc": f.stats.test.auc,
            })
        })
        .collect();
    Json(json!({ "models": list }))
}

/// The query of a prediction request.
#[derive(Debug, Default, serde::Deserialize)]
struct PredictQuery {
    /// Also give each feature's contribution to each prediction.
    #[serde(default)]
    explain: bool,
}

/// Whether the request says its body is JSON (`application/json`, or any `+json` type).
fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

/// The request's media type, lowercase, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// Bodies up to this size are read on the async thread; larger ones beside it.
const SMALL_BODY: usize = 64 * 1024;

/// Requests of up to this many rows (without explanations) are predicted on the async thread:
/// the row path encodes them without a frame, and handing them to another thread would cost more
/// than predicting them.
const SMALL_BATCH: usize = crate::models::fitting::ROW_PATH_ROWS;

/// A request's body, read within the body timeout and the body limit.
async fn body(state: &ApiState, request: Request) -> std::result::Result<Bytes, ApiError> {
    let settings = &state.settings;
    match tokio::time::timeout(settings.body_timeout, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(rejection)) => Err(ApiError::new(
            rejection.status(),
            format!(
                "{}; the largest body taken is {} bytes",
                rejection.body_text(),
                settings.max_body
            ),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body was not received within {} s",
                settings.body_timeout.as_secs_f64()
            ),
        )),
    }
}

/// A prediction made: by which fitting, with which keys of the records skipped, and its
/// entries for the prediction log when it is on.
struct Predicted {
    fitting: Arc<Fitting>,
    predictions: Predictions,
    ignored: BTreeMap<String, usize>,
    logged: Option<Pending>,
}

/// Where an answer carries its prediction ids.
enum IdsAt {
    /// `prediction_ids` beside the predictions (Lore's and MLflow's answers).
    Top,
    /// `parameters.prediction_ids` (the Open Inference Protocol's answer).
    Parameters,
}

impl Predicted {
    /// `answer` as the response, with the prediction ids where logged, and the extensions that
    /// name the model and fitting in `/metrics` and headers and carry the log's entries.
    fn respond(self, model: &str, mut answer: serde_json::Value, ids_at: IdsAt) -> Response {
        let answered = Answered {
            model: model.to_string(),
            fitting: self.fitting.id.clone(),
            rows: self.predictions.predictions.len(),
        };
        if let Some(logged) = &self.logged {
            let ids = json!(logged.ids());
            match ids_at {
                IdsAt::Top => answer["prediction_ids"] = ids,
                IdsAt::Parameters => answer["parameters"] = json!({ "prediction_ids": ids }),
            }
        }
        let mut response = Json(answer).into_response();
        response.extensions_mut().insert(answered);
        if let Some(logged) = self.logged {
            response.extensions_mut().insert(logged);
        }
        response
    }
}

impl ApiState {
    /// Predicts the records of `body` (a JSON list of records) with `served`, within the
    /// server's concurrency limit.
    async fn predict(
        &self,
        served: Arc<Served>,
        body: Bytes,
        explain: bool,
    ) -> std::result::Result<Predicted, ApiError> {
        let Ok(_permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.metrics.shed();
            return Err(ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the server is answering its limit of {} predictions at once; try again",
                        self.settings.max_concurrency
                    ),
                )
            });
        };
        let inputs = Arc::clone(&served.inputs);
        let settings = Arc::clone(&self.settings);
        let small = body.len() <= SMALL_BODY;
        let read = move || records::read(&body, &inputs, &settings.limits);
        let records = match small {
            true => read(),
            false => errors::blocking(read).await?,
        }?;
        let fitting = Arc::clone(&served.fitting);
        let rows = records.rows;
        let kept = self.log.as_ref().map(|_| rows.clone());
        let predictions = if rows.len <= SMALL_BATCH && !explain {
            fitting.predict_rows(rows, "the request body", false)?
        } else {
            let fitting = Arc::clone(&fitting);
            errors::blocking(move || fitting.predict_rows(rows, "the request body", explain))
                .await??
        };
        let logged = kept
            .map(|rows| prediction_log::entries(&fitting.model, &fitting.id, &rows, &predictions));
        Ok(Predicted {
            fitting,
            predictions,
            ignored: records.ignored,
            logged,
        })
    }
}

/// Lore's answer to a prediction request, with the response extension naming its fitting.
fn native_answer(name: &str, predicted: Predicted) -> Response {
    let p = &predicted.predictions;
    let mut answer = json!({
        "model": name,
        "fitting_id": predicted.fitting.id,
        "predictions": p.predictions,
    });
    if let Some(probabilities) = p.probabilities() {
        answer["probabilities"] = probabilities.into();
    }
    if let Some(contributions) = p.contributions_json() {
        answer["contributions"] = contributions.into();
    }
    if !predicted.ignored.is_empty() {
        answer["ignored_fields"] = json!(predicted.ignored);
    }
    predicted.respond(name, answer, IdsAt::Top)
}

/// The `explain` query, or a 400 naming it.
fn explain(
    query: std::result::Result<Query<PredictQuery>, QueryRejection>,
) -> std::result::Result<bool, ApiError> {
    let Query(query) = query.map_err(|e| ApiError {
        field: Some("explain".into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{}; explain takes true or false", e.body_text()),
        )
    })?;
    Ok(query.explain)
}

/// Refuses a body that is not JSON, with a 415 saying what to send.
fn json_only(headers: &HeaderMap) -> std::result::Result<(), ApiError> {
    match is_json(headers) {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON sent with the header Content-Type: application/json",
        )),
    }
}

async fn predict(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    query: std::result::Result<Query<PredictQuery>, QueryRejection>,
    request: Request,
) -> std::result::Result<Response, ApiError> {
    let explain = explain(query)?;
    let served = state.model(&name)?;
    json_only(request.headers())?;
    let body = body(&state, request).await?;
    let predicted = state.predict(served, body, explain).await?;
    Ok(native_answer(&name, predicted))
}

async fn predict_version(
    State(state): State<ApiState>,
    Path((name, version)): Path<(String, String)>,
    query: std::result::Result<Query<PredictQuery>, QueryRejection>,
    request: Request,
) -> std::result::Result<Response, ApiError> {
    let explain = explain(query)?;
    let served = state.version(&name, &version).await?;
    json_only(request.headers())?;
    let body = body(&state, request).await?;
    let predicted = state.predict(served, body, explain).await?;
    Ok(native_answer(&name, predicted))
}
