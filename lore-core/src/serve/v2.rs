//! The Open Inference Protocol, version 2 (KServe, Triton, Seldon), over REST: `GET /v2`,
//! `/v2/health/live`, `/v2/health/ready`, `/v2/models/{name}[/versions/{v}]` (metadata: the
//! inputs with their names, datatypes and shapes), `.../ready`, and `POST .../infer` with one
//! input tensor a column (`BYTES` for text, dates and timestamps; `FP64`, `INT64`, `BOOL` for the
//! rest), answered with the outputs `predictions` and, for a classifier, `probabilities`, and
//! the request's `id`. The tensors are turned into records and read by [`super::records`], so
//! the kinds and limits of Lore's own route hold.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::{body, json_only, ApiState, Served};
use crate::encoders::Task;
use crate::frame::Kind;

/// The protocol's routes.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v2", get(server))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{name}", get(metadata))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(version_metadata),
        )
        .route("/v2/models/{name}/ready", get(model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(version_ready),
        )
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(version_infer),
        )
}

async fn server() -> Json<Value> {
    Json(json!({"name": "lore", "version": env!("CARGO_PKG_VERSION"), "extensions": []}))
}

async fn live() -> Json<Value> {
    Json(json!({"live": true}))
}

async fn ready(State(state): State<ApiState>) -> Response {
    let ready = state.ready.load(Ordering::SeqCst);
    let status = match ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(json!({"ready": ready}))).into_response()
}

/// The protocol's datatype of an input of `kind`.
fn datatype(kind: Option<Kind>) -> &'static str {
    match kind {
        Some(Kind::Number) => "FP64",
        Some(Kind::Boolean) => "BOOL",
        _ => "BYTES",
    }
}

/// The model's metadata: its versions, inputs and outputs.
fn describe(name: &str, served: &Served) -> Value {
    let inputs: Vec<Value> = served
        .inputs
        .iter()
        .map(|(c, kind)| json!({"name": c, "datatype": datatype(*kind), "shape": [-1]}))
        .collect();
    let task = served.fitting.pipeline.output.task();
    let mut outputs =
        vec![json!({"name": "predictions", "datatype": prediction_type(&task), "shape": [-1]})];
    if let Some(shape) = probability_shape(&task) {
        outputs.push(json!({"name": "probabilities", "datatype": "FP64", "shape": shape}));
    }
    json!({
        "name": name,
        "versions": [served.fitting.id],
        "platform": "lore",
        "inputs": inputs,
        "outputs": outputs,
    })
}

/// The datatype of a task's predictions: yes/no, a number, a cluster, or a class name.
fn prediction_type(task: &Task) -> &'static str {
    match task {
        Task::Binary => "BOOL",
        Task::Regression => "FP64",
        Task::Clustering => "INT64",
        Task::MultiClass { .. } => "BYTES",
    }
}

/// The shape of a task's probabilities: of yes a row, or of each class a row; none for others.
fn probability_shape(task: &Task) -> Option<Value> {
    match task {
        Task::Binary => Some(json!([-1])),
        Task::MultiClass { classes } => Some(json!([-1, classes])),
        Task::Regression | Task::Clustering => None,
    }
}

async fn metadata(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let served = state.model(&name)?;
    Ok(Json(describe(&name, &served)))
}

async fn version_metadata(
    State(state): State<ApiState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let served = state.version(&name, &version).await?;
    Ok(Json(describe(&name, &served)))
}

async fn model_ready(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.model(&name)?;
    Ok(Json(json!({"name": name, "ready": true})))
}

async fn version_ready(
    State(state): State<ApiState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state.version(&name, &version).await?;
    Ok(Json(json!({"name": name, "ready": true})))
}

/// An inference request (its `parameters`, none of which Lore's models take, are ignored).
#[derive(Debug, Deserialize)]
struct InferRequest {
    id: Option<String>,
    inputs: Vec<Tensor>,
    #[serde(default)]
    outputs: Option<Vec<RequestedOutput>>,
}

/// One input tensor: a column of the model.
#[derive(Debug, Deserialize)]
struct Tensor {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Value,
}

/// An output asked for by name.
#[derive(Debug, Deserialize)]
struct RequestedOutput {
    name: String,
}

async fn infer(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let served = state.model(&name)?;
    answer(state, name, served, request).await
}

async fn version_infer(
    State(state): State<ApiState>,
    Path((name, version)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let served = state.version(&name, &version).await?;
    answer(state, name, served, request).await
}

fn bad(message: String) -> ApiError {
    tracing::debug!("refused a request: {message}");
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

async fn answer(
    state: ApiState,
    name: String,
    served: Arc<Served>,
    request: Request,
) -> Result<Response, ApiError> {
    json_only(request.headers())?;
    let bytes = body(&state, request).await?;
    let infer: InferRequest = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not an inference request at line {}, column {}: {e}; send {{\"inputs\": [{{\"name\", \
             \"shape\", \"datatype\", \"data\"}}]}}",
            e.line(),
            e.column()
        ))
    })?;
    let records = records_of(&infer.inputs)?;
    let body = serde_json::to_vec(&records).map_err(|e| bad(e.to_string()))?;
    let predicted = state.predict(served, body.into(), false).await?;
    let p = &predicted.predictions;
    let rows = p.len();
    let mut outputs = vec![json!({
        "name": "predictions",
        "shape": [rows],
        "datatype": prediction_type(&p.task),
        "data": p.predictions,
    })];
    if probability_shape(&p.task).is_some() {
        let width = p.task.width();
        let shape = match width {
            1 => json!([rows]),
            k => json!([rows, k]),
        };
        let data: Vec<f64> = p.values.iter().map(|v| f64::from(*v)).collect();
        let mut probabilities =
            json!({"name": "probabilities", "shape": shape, "datatype": "FP64", "data": data});
        if !p.classes.is_empty() {
            probabilities["parameters"] = json!({"classes": p.classes});
        }
        outputs.push(probabilities);
    }
    if let Some(asked) = &infer.outputs {
        let names: Vec<&str> = asked.iter().map(|o| o.name.as_str()).collect();
        if let Some(unknown) = names
            .iter()
            .find(|n| !["predictions", "probabilities"].contains(n))
        {
            return Err(bad(format!(
                "no output `{}`; the outputs are predictions and probabilities",
                unknown.chars().take(100).collect::<String>()
            )));
        }
        outputs.retain(|o| names.iter().any(|n| o["name"] == *n));
    }
    let mut answer = json!({
        "model_name": name,
        "model_version": predicted.fitting.id,
        "outputs": outputs,
    });
    if let Some(id) = infer.id {
        answer["id"] = json!(id);
    }
    Ok(predicted.respond(&name, answer, super::IdsAt::Parameters))
}

/// The records the input tensors hold: row `i` of every tensor is record `i`.
fn records_of(inputs: &[Tensor]) -> Result<Vec<Value>, ApiError> {
    let mut rows: Option<usize> = None;
    let mut columns = Vec::with_capacity(inputs.len());
    for tensor in inputs {
        let shown: String = tensor.name.chars().take(100).collect();
        if ![
            "BYTES", "BOOL", "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8",
            "UINT16", "UINT32", "UINT64",
        ]
        .contains(&tensor.datatype.as_str())
        {
            return Err(bad(format!(
                "input `{shown}`: `{}` is not a datatype of the protocol",
                tensor.datatype.chars().take(20).collect::<String>()
            )));
        }
        let n = match tensor.shape.as_slice() {
            [n] | [n, 1] if *n >= 0 => *n as usize,
            _ => {
                return Err(bad(format!(
                    "input `{shown}`: shape {:?}; a column is [rows] or [rows, 1]",
                    tensor.shape
                )))
            }
        };
        let mut data = Vec::new();
        flatten(&tensor.data, &mut data, 0).map_err(|m| bad(format!("input `{shown}`: {m}")))?;
        if data.len() != n {
            return Err(bad(format!(
                "input `{shown}`: shape {:?} holds {n} values, data has {}",
                tensor.shape,
                data.len()
            )));
        }
        if rows.is_some_and(|r| r != n) {
            return Err(bad(format!(
                "input `{shown}` has {n} rows, the inputs before it {}",
                rows.unwrap_or_default()
            )));
        }
        rows = Some(n);
        columns.push((tensor.name.clone(), data));
    }
    let mut records = vec![Map::new(); rows.unwrap_or(0)];
    for (name, data) in columns {
        for (record, value) in records.iter_mut().zip(data) {
            record.insert(name.clone(), value);
        }
    }
    Ok(records.into_iter().map(Value::Object).collect())
}

/// The deepest nesting of a tensor's data taken.
const MAX_DEPTH: usize = 2;

/// Appends the scalars of `data` (flat, or nested row by row) to `out`.
fn flatten(data: &Value, out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    match data {
        Value::Array(items) if depth < MAX_DEPTH => {
            for item in items {
                flatten(item, out, depth + 1)?;
            }
            Ok(())
        }
        Value::Array(_) | Value::Object(_) => {
            Err("data nests deeper than [rows, 1]; send a flat list a column".into())
        }
        scalar if depth == 0 => Err(format!("data must be a list, not {scalar}")),
        scalar => {
            out.push(scalar.clone());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, shape: Vec<i64>, data: Value) -> Tensor {
        Tensor {
            name: name.into(),
            shape,
            datatype: "FP64".into(),
            data,
        }
    }

    #[test]
    fn tensors_become_records_and_mismatched_shapes_are_named() {
        let records = records_of(&[
            tensor("a", vec![2], json!([1, 2])),
            tensor("b", vec![2, 1], json!([[3], [4]])),
        ]);
        let records = records.ok().unwrap_or_default();
        assert_eq!(
            records,
            vec![json!({"a": 1, "b": 3}), json!({"a": 2, "b": 4})]
        );
        let short = records_of(&[tensor("a", vec![3], json!([1, 2]))])
            .err()
            .map(|e| e.message);
        assert!(short.is_some_and(|m| m.contains("holds 3 values, data has 2")));
        let deep = records_of(&[tensor("a", vec![1], json!([[[1]]]))])
            .err()
            .map(|e| e.message);
        assert!(deep.is_some_and(|m| m.contains("nests deeper")));
    }
}
