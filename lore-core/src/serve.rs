//! The HTTP API: for every fitted model, the fitting its `production` alias holds, else its
//! latest, served with axum and swapped when either changes. With S3 configured, the models,
//! fittings and aliases in the bucket count too, and a fitting only the bucket has is pulled
//! into `models/` before it is served.
//!
//! `GET /health`, `GET /models`, `POST /models/{name}/predict[?explain=true]` (a JSON list of
//! records) and
//! `GET /openapi.json`. Bad input gets a 400 with a JSON error naming the field; the server keeps serving.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::env::Project;
use crate::error::{Error, Result};
use crate::frame;
use crate::models::store::{self, S3Store, Store};
use crate::models::{aliases, Fitting};

/// One model as served: its fitting, and the alias it was chosen by (if any).
#[derive(Clone)]
struct Served {
    fitting: Arc<Mutex<Fitting>>,
    id: String,
    alias: Option<String>,
}

/// What the handlers share: one loaded fitting per model, swapped when the alias or the latest
/// fitting changes (see [`ApiState::refresh`]).
#[derive(Clone, Default)]
pub struct ApiState {
    fittings: Arc<RwLock<BTreeMap<String, Served>>>,
    remote: Option<S3Store>,
}

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
    pub async fn load(project: &Project) -> Result<ApiState> {
        let state = ApiState {
            remote: S3Store::of(project).await?,
            ..ApiState::default()
        };
        state.refresh(project).await?;
        Ok(state)
    }

    /// Loads the fittings to serve where they differ from those served (a promotion, a
    /// rollback, a new latest fit); returns a line for each model that changed. A fitting that
    /// fails to load is an error, and the one served before stays.
    pub async fn refresh(&self, project: &Project) -> Result<Vec<String>> {
        let remote = self.remote.as_ref();
        let mut changed = Vec::new();
        for (model, ids) in fitted(project, remote).await? {
            let (id, alias) =
                match aliases::holder(project, remote, &model, aliases::PRODUCTION).await? {
                    Some(id) => (id, Some(aliases::PRODUCTION.to_string())),
                    None => match ids.last() {
                        Some(id) => (id.clone(), None),
                        None => continue,
                    },
                };
            let current = self.served(&model).map(|s| (s.id, s.alias));
            if current.as_ref() == Some(&(id.clone(), alias.clone())) {
                continue;
            }
            let fitting = store::load(project, remote, &model, Some(&id)).await?;
            let line = match &alias {
                Some(a) => format!("{model}: serving fitting {id} ({a})"),
                None => format!("{model}: serving fitting {id} (latest)"),
            };
            tracing::info!(model, fitting = id, alias, "loaded");
            self.fittings
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(
                    model,
                    Served {
                        fitting: Arc::new(Mutex::new(fitting)),
                        id,
                        alias,
                    },
                );
            changed.push(line);
        }
        Ok(changed)
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

/// The API's routes over `state`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/models", get(models))
        .route("/models/{name}/predict", post(predict))
        .route("/openapi.json", get(openapi))
        .with_state(state)
}

/// Serves `state` on `addr` until Ctrl-C; `on_ready` gets the bound address (port 0 picks one).
pub async fn serve(
    state: ApiState,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::Input(format!(
            "cannot listen on {addr}: {e}; choose another --port or --host"
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Input(e.to_string()))?;
    on_ready(bound);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Error::Input(format!("server on {bound} stopped: {e}")))
}

struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
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
            tracing::error!("{e}");
        }
        ApiError {
            status,
            message: e.to_string(),
            field,
        }
    }
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

async fn predict(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Query(query): Query<PredictQuery>,
    body: Bytes,
) -> std::result::Result<Json<Value>, ApiError> {
    let fitting = state
        .served(&name)
        .map(|s| s.fitting)
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "no fitted model `{name}`; served models: {}",
                state.models().join(", ")
            ),
            field: None,
        })?;
    let parsed: Value = serde_json::from_slice(&body).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: format!(
            "malformed JSON at line {}, column {}: {e}; send a JSON list of records",
            e.line(),
            e.column()
        ),
        field: None,
    })?;
    let records = match parsed {
        Value::Array(items) => items,
        Value::Object(mut obj) if obj.get("records").is_some_and(Value::is_array) => {
            match obj.remove("records") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        Value::Object(_) => vec![parsed],
        _ => return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            message:
                "the body must be a JSON list of records, such as [{\"first_name\": \"Ann\", ...}]"
                    .into(),
            field: None,
        }),
    };
    let df = frame::from_records(&records)?;
    let result = tokio::task::spawn_blocking(move || {
        let f = fitting.lock().map_err(|_| {
            Error::Fitting("the model is unavailable after an earlier failure".into())
        })?;
        let p = f.predict(df, "the request body", query.explain)?;
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
    Ok(Json(answer))
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
        let properties: serde_json::Map<String, Value> =
            f.inputs().into_iter().map(|c| (c, json!({}))).collect();
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
                    "400": {"description": "malformed body or a missing or mistyped field, named in `field`"}
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
