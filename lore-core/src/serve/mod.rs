//! The HTTP API: for every fitted model, the fitting its `production` alias holds, else its
//! latest, served with axum and swapped when either changes. With S3 configured, the models,
//! fittings and aliases in the bucket count too, and a fitting only the bucket has is pulled
//! into `models/` before it is served.
//!
//! `GET /health`, `GET /models`, `POST /models/{name}/predict[?explain=true]` (a JSON list of
//! records) and `GET /openapi.json`. Every error answer is JSON of one shape,
//! `{"error": ..., "field"?, "row"?, "expected"?}`: a client's mistake is a 4xx naming the field
//! and record, and a 5xx says only that the server failed (the detail goes to the log).

mod records;
mod server;

pub use records::Limits;
pub use server::{serve, Settings};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::env::Project;
use crate::error::{Error, Result};
use crate::frame::Kind;
use crate::models::store::{self, S3Store, Store};
use crate::models::{aliases, Fitting};

/// One model as served: its fitting, its input columns with their kinds, and the alias it was
/// chosen by (if any).
#[derive(Clone)]
struct Served {
    fitting: Arc<Mutex<Fitting>>,
    inputs: Arc<Vec<(String, Option<Kind>)>>,
    id: String,
    alias: Option<String>,
}

/// What the handlers share: one loaded fitting per model, swapped when the alias or the latest
/// fitting changes (see [`ApiState::refresh`]).
#[derive(Clone, Default)]
pub struct ApiState {
    settings: Arc<Settings>,
    fittings: Arc<RwLock<BTreeMap<String, Served>>>,
    /// Fittings (model, id) that failed to load, reported once and not tried again.
    broken: Arc<Mutex<BTreeSet<(String, String)>>>,
    remote: Option<S3Store>,
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
        let state = ApiState {
            settings: Arc::new(settings),
            remote: S3Store::of(project).await?,
            ..ApiState::default()
        };
        state.refresh(project).await?;
        Ok(state)
    }

    /// Loads the fittings to serve where they differ from those served (a promotion, a
    /// rollback, a new latest fit); returns a line for each model that changed. A fitting that
    /// fails to load (damaged, or with names that are not Lore's) is reported once and skipped:
    /// the fitting served before stays, and for a model served by its latest fitting the newest
    /// one that loads is served instead. Other models are not held back by it.
    pub async fn refresh(&self, project: &Project) -> Result<Vec<String>> {
        let remote = self.remote.as_ref();
        let mut changed = Vec::new();
        for (model, ids) in fitted(project, remote).await? {
            match self.refresh_model(project, &model, &ids).await {
                Ok(line) => changed.extend(line),
                Err(e) => tracing::error!("{model}: not updated: {e}"),
            }
        }
        Ok(changed)
    }

    /// [`ApiState::refresh`] for one model with fittings `ids` (oldest first).
    async fn refresh_model(
        &self,
        project: &Project,
        model: &str,
        ids: &[String],
    ) -> Result<Option<String>> {
        let remote = self.remote.as_ref();
        let held = aliases::holder(project, remote, model, aliases::PRODUCTION).await?;
        let alias = held.as_ref().map(|_| aliases::PRODUCTION.to_string());
        let candidates: Vec<String> = match held {
            Some(id) => vec![id],
            None => ids.iter().rev().take(MAX_FALLBACKS).cloned().collect(),
        };
        for id in candidates {
            let current = self.served(model).map(|s| (s.id, s.alias));
            if current.as_ref() == Some(&(id.clone(), alias.clone())) {
                return Ok(None);
            }
            if self.is_broken(model, &id) {
                continue;
            }
            let fitting = match store::load(project, remote, model, Some(&id)).await {
                Ok(fitting) => fitting,
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
            let inputs = fitting
                .inputs()
                .into_iter()
                .map(|c| {
                    let kind = fitting.pipeline.input_kinds.get(&c).copied();
                    (c, kind)
                })
                .collect();
            self.fittings
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(
                    model.to_string(),
                    Served {
                        fitting: Arc::new(Mutex::new(fitting)),
                        inputs: Arc::new(inputs),
                        id,
                        alias,
                    },
                );
            return Ok(Some(line));
        }
        Ok(None)
    }

    /// Whether fitting `id` of `model` failed to load before (and so is not tried again).
    fn is_broken(&self, model: &str, id: &str) -> bool {
        self.broken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(model.to_string(), id.to_string()))
    }

    fn served(&self, model: &str) -> Option<Served> {
        self.fittings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .cloned()
    }

    fn all(&self) -> Vec<(String, Served)> {
        self.fittings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The names of the models served.
    pub fn models(&self) -> Vec<String> {
        self.all().into_iter().map(|(name, _)| name).collect()
    }

    /// The project's own transformers and encoders the served fittings use that this program
    /// has not registered.
    pub fn unregistered(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .flat_map(|(_, s)| {
                s.fitting
                    .lock()
                    .map(|f| f.pipeline.unregistered())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Checks every `every` for promotions, rollbacks and new fittings, and serves them; a
    /// failure is logged and the fittings served stay.
    pub fn follow(&self, project: Project, every: Duration) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match state.refresh(&project).await {
                    Ok(lines) => lines.iter().for_each(|l| tracing::info!("{l}")),
                    Err(e) => tracing::error!("{e}; still serving the fittings loaded before"),
                }
            }
        });
    }
}

/// The API's routes over `state`, every error answered as JSON.
pub fn router(state: ApiState) -> Router {
    let max_body = state.settings.max_body;
    Router::new()
        .route("/health", get(health))
        .route("/models", get(models))
        .route("/models/{name}/predict", post(predict))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), deadline))
        .layer(middleware::from_fn(head_limits))
        .layer(middleware::map_response(json_errors))
        .with_state(state)
}

/// An error answer: `{"error": ..., "field"?, "row"?, "expected"?}`.
struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
    row: Option<usize>,
    expected: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            row: None,
            expected: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        if let Some(row) = self.row {
            body["row"] = json!(row);
        }
        if let Some(expected) = self.expected {
            body["expected"] = json!(expected);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, field) = match &e {
            Error::MissingColumn { column, .. } | Error::ColumnType { column, .. } => {
                (StatusCode::BAD_REQUEST, Some(column.clone()))
            }
            Error::Input(_) | Error::InvalidParam { .. } => (StatusCode::BAD_REQUEST, None),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        if status.is_server_error() {
            // The detail (paths, internals) is the operator's, not the client's.
            tracing::error!("{e}");
            return ApiError::new(status, SERVER_FAULT);
        }
        tracing::debug!("refused a request: {e}");
        ApiError {
            field,
            ..ApiError::new(status, e.to_string())
        }
    }
}

impl From<records::Refused> for ApiError {
    fn from(r: records::Refused) -> Self {
        tracing::debug!("refused a request: {}", r.message);
        ApiError {
            status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            message: r.message,
            field: r.field,
            row: r.row,
            expected: r.expected,
        }
    }
}

/// The whole message of a 5xx answer.
const SERVER_FAULT: &str = "the server failed to answer this request; its log says why";

/// The longest error text kept when an answer that is not JSON is made JSON.
const MAX_ERROR_TEXT: usize = 1_000;

/// Makes every error answer JSON of one shape: axum's own rejections (413, 415, a bad query),
/// 404, 405 and the like come as text or empty, and are rewritten with their text or reason.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_ERROR_TEXT * 4).await {
        Ok(bytes) if status.is_client_error() && !bytes.is_empty() => {
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(MAX_ERROR_TEXT)
                .collect()
        }
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut answer = ApiError::new(status, text).into_response();
    for (name, value) in parts.headers.iter() {
        if name == header::ALLOW || name == header::RETRY_AFTER {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// The longest URI taken, in bytes (longer: 414).
pub const MAX_URI: usize = 8 * 1024;

/// The most header fields taken (more: 431).
pub const MAX_HEADERS: usize = 100;

/// The most bytes of header fields taken, names and values together (more: 431).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses a request whose URI or headers are larger than Lore takes, with a JSON 414 or 431
/// (hyper's own limits, far above these, answer with an empty body).
async fn head_limits(request: Request, next: Next) -> Response {
    let uri = request.uri().to_string().len();
    if uri > MAX_URI {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the URI is {uri} bytes, more than the {MAX_URI} taken; send data in the body"),
        )
        .into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "{} header fields of {bytes} bytes, more than the {MAX_HEADERS} fields or \
                 {MAX_HEADER_BYTES} bytes taken",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Bounds the time of a whole request; past it the client gets a 503.
async fn deadline(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("a request took longer than {limit:?} and was answered 503");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the request took longer than {} s; send fewer records, or try again",
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
        "no such route; the routes are GET /health, GET /models, POST /models/{name}/predict \
         and GET /openapi.json",
    )
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn models(State(state): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = state
        .all()
        .into_iter()
        .filter_map(|(name, s)| {
            let f = s.fitting.lock().ok()?;
            Some(json!({
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
            }))
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
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

/// Bodies up to this size are read on the async thread; larger ones beside it.
const SMALL_BODY: usize = 64 * 1024;

async fn predict(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    query: std::result::Result<Query<PredictQuery>, QueryRejection>,
    request: Request,
) -> std::result::Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError {
        field: Some("explain".into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{}; explain takes true or false", e.body_text()),
        )
    })?;
    let served = state.served(&name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no fitted model `{}`; served models: {}",
                name.chars().take(100).collect::<String>(),
                state.models().join(", ")
            ),
        )
    })?;
    if !is_json(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON sent with the header Content-Type: application/json",
        ));
    }
    let settings = Arc::clone(&state.settings);
    let body = match tokio::time::timeout(settings.body_timeout, Bytes::from_request(request, &()))
        .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(rejection)) => {
            return Err(ApiError::new(
                rejection.status(),
                format!(
                    "{}; the largest body taken is {} bytes",
                    rejection.body_text(),
                    settings.max_body
                ),
            ))
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body was not received within {} s",
                    settings.body_timeout.as_secs_f64()
                ),
            ))
        }
    };
    let inputs = Arc::clone(&served.inputs);
    let small = body.len() <= SMALL_BODY;
    let read = move || records::read(&body, &inputs, &settings.limits);
    let records = match small {
        true => read(),
        false => tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| Error::Fitting(e.to_string()))?,
    }?;
    let fitting = served.fitting;
    let frame = records.frame;
    let result = tokio::task::spawn_blocking(move || {
        let f = fitting.lock().map_err(|_| {
            Error::Fitting("the model is unavailable after an earlier failure".into())
        })?;
        let p = f.predict(frame, "the request body", query.explain)?;
        Ok::<_, Error>((f.id.clone(), p))
    })
    .await
    .map_err(|e| Error::Fitting(e.to_string()))??;
    let (fitting_id, p) = result;
    let mut answer = json!({
        "model": name,
        "fitting_id": fitting_id,
        "predictions": p.predictions,
    });
    if let Some(probabilities) = p.probabilities() {
        answer["probabilities"] = probabilities.into();
    }
    if let Some(contributions) = p.contributions_json() {
        answer["contributions"] = contributions.into();
    }
    if !records.ignored.is_empty() {
        answer["ignored_fields"] = json!(records.ignored);
    }
    Ok(Json(answer))
}

/// The JSON schema of an input of `kind` (any scalar when the fitting predates kinds).
fn schema(kind: Option<Kind>) -> Value {
    match kind {
        Some(Kind::Text) => json!({"type": "string", "nullable": true}),
        Some(Kind::Number) => json!({"type": "number", "nullable": true}),
        Some(Kind::Boolean) => json!({"type": "boolean", "nullable": true}),
        Some(Kind::Date) => json!({"type": "string", "format": "date", "nullable": true}),
        Some(Kind::Timestamp) => {
            json!({"type": "string", "format": "date-time", "nullable": true})
        }
        None => json!({}),
    }
}

async fn openapi(State(state): State<ApiState>) -> Json<Value> {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/health".into(),
        json!({"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}}),
    );
    paths.insert("/models".into(), json!({"get": {"summary": "The models served, their fitting ids and inputs", "responses": {"200": {"description": "models"}}}}));
    for (name, s) in state.all() {
        let Ok(f) = s.fitting.lock() else { continue };
        let properties: serde_json::Map<String, Value> = s
            .inputs
            .iter()
            .map(|(c, kind)| (c.clone(), schema(*kind)))
            .collect();
        paths.insert(
            format!("/models/{name}/predict"),
            json!({"post": {
                "summary": format!("Predict {} with {name}", f.pipeline.output.column()),
                "parameters": [{"name": "explain", "in": "query", "required": false,
                    "description": "also give each feature's SHAP contribution to each prediction",
                    "schema": {"type": "boolean"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "array", "items": {"type": "object", "properties": properties, "required": f.inputs()}}}}},
                "responses": {
                    "200": {"description": "predictions, probabilities (of yes, or of each class; none for a number) and the fitting id; with explain, contributions"},
                    "400": {"description": "malformed body, or a missing or mistyped field: `field` names it, `row` the record (from 1), `expected` what it takes"},
                    "413": {"description": "a body, record count, field count or text longer than the server takes"},
                    "415": {"description": "a body not sent as Content-Type: application/json"}
                }
            }}),
        );
    }
    Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "Lore API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
    }))
}
