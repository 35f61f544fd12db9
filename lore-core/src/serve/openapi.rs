//! `GET /openapi.json`: every route of every protocol the server speaks, in OpenAPI 3.1, with
//! each model's inputs typed from its fitting (type, nullable, and an example record).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use super::{ApiState, Served};
use crate::frame::Kind;

/// The JSON schema of an input of `kind` (any scalar when the fitting predates kinds).
fn schema(kind: Option<Kind>) -> Value {
    match kind {
        Some(Kind::Text) => json!({"type": ["string", "null"]}),
        Some(Kind::Number) => json!({"type": ["number", "null"]}),
        Some(Kind::Boolean) => json!({"type": ["boolean", "null"]}),
        Some(Kind::Date) => json!({"type": ["string", "null"], "format": "date"}),
        Some(Kind::Timestamp) => json!({"type": ["string", "null"], "format": "date-time"}),
        None => json!({"type": ["string", "number", "boolean", "null"]}),
    }
}

/// A value of `kind` to show in an example record.
fn example(kind: Option<Kind>) -> Value {
    match kind {
        Some(Kind::Text) | None => json!("text"),
        Some(Kind::Number) => json!(1.0),
        Some(Kind::Boolean) => json!(true),
        Some(Kind::Date) => json!("2026-01-31"),
        Some(Kind::Timestamp) => json!("2026-01-31T12:00:00"),
    }
}

/// The schema of one record of `served`'s inputs, with an example.
fn record(served: &Served) -> Value {
    let properties: Map<String, Value> = served
        .inputs
        .iter()
        .map(|(c, kind)| (c.clone(), schema(*kind)))
        .collect();
    let example: Map<String, Value> = served
        .inputs
        .iter()
        .map(|(c, kind)| (c.clone(), example(*kind)))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": served.inputs.iter().map(|(c, _)| c).collect::<Vec<_>>(),
        "example": example,
    })
}

/// The errors every prediction route may answer, in the one error shape.
fn errors() -> Value {
    let error = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut out = Map::new();
    for (status, what) in [
        ("400", "a malformed body, or a missing or mistyped field: `field` names it, `row` the record (from 1), `expected` what it takes"),
        ("404", "no such model, fitting or alias"),
        ("413", "a body, record count, field count or text longer than the server takes"),
        ("415", "a body of another content type"),
        ("503", "the server is at its limit of predictions at once (see Retry-After), or shutting down"),
        ("504", "the request took longer than the server gives one"),
    ] {
        let mut e = error.clone();
        e["description"] = json!(what);
        out.insert(status.into(), e);
    }
    Value::Object(out)
}

/// A simple GET route answering `what`.
fn simple(summary: &str, what: &str) -> Value {
    json!({"get": {"summary": summary, "responses": {"200": {"description": what}}}})
}

pub(super) async fn openapi(State(state): State<ApiState>) -> Json<Value> {
    let mut paths = Map::new();
    for (path, summary, what) in [
        (
            "/livez",
            "Liveness (also /health and /healthz)",
            "the process answers",
        ),
        (
            "/readyz",
            "Readiness: 503 until every model is loaded and while shutting down",
            "ready",
        ),
        (
            "/metrics",
            "Prometheus metrics (text format 0.0.4)",
            "the metrics",
        ),
        (
            "/docs",
            "This document as a page that works offline",
            "HTML",
        ),
        (
            "/models",
            "The models served, their fittings, inputs and scores",
            "the models",
        ),
        ("/ping", "MLflow's liveness probe", "ok"),
        (
            "/version",
            "The server's version (MLflow's convention)",
            "the version",
        ),
    ] {
        paths.insert(path.into(), simple(summary, what));
    }
    let served = state.all();
    for (name, s) in &served {
        let f = &s.fitting;
        let records = json!({"type": "array", "items": record(s)});
        let predict = json!({"post": {
            "summary": format!("Predict {} with {name} (fitting {})", f.pipeline.output.column(), f.id),
            "parameters": [{"name": "explain", "in": "query", "required": false,
                "description": "also give each feature's SHAP contribution to each prediction",
                "schema": {"type": "boolean"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": records}}},
            "responses": {"200": {"description": "predictions, probabilities (of yes, or of each class; none for a number) and the fitting id; with explain, contributions; ignored_fields, the keys no input uses; prediction_ids, one a row, when the prediction log is on (log_predictions in config/api.toml). The X-Lore-Fitting header names the fitting too."}},
        }});
        let mut predict_errors = predict.clone();
        if let Some(responses) = predict_errors["post"]["responses"].as_object_mut() {
            if let Value::Object(e) = errors() {
                responses.extend(e);
            }
        }
        paths.insert(format!("/models/{name}/predict"), predict_errors.clone());
        let mut versioned = predict_errors;
        if let Some(parameters) = versioned["post"]["parameters"].as_array_mut() {
            parameters.push(json!({"name": "version", "in": "path", "required": true,
                "description": "a fitting id, or an alias such as production or staging",
                "schema": {"type": "string"}}));
        }
        paths.insert(
            format!("/models/{name}/versions/{{version}}/predict"),
            versioned,
        );
        paths.insert(format!("/models/{name}/feedback"), json!({"post": {
            "summary": format!("The true {} of predictions of {name} (by their prediction_ids) or of records", f.pipeline.output.column()),
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "description": "{\"prediction_id\": …, \"label\": …}, {\"record\": {…}, \"label\": …}, or {\"feedback\": [those]}; \"by\" names who sends them"}}}},
            "responses": {"200": {"description": "how many were stored: {\"model\": …, \"stored\": N}"},
                "400": {"description": "a malformed item, or a prediction id the log does not hold"},
                "404": {"description": "no such model served"}},
        }}));
        paths.insert(format!("/v2/models/{name}/infer"), v2_route(s));
        paths.insert(
            format!("/v2/models/{name}"),
            simple(
                "Open Inference Protocol V2: the model's inputs and outputs",
                "metadata",
            ),
        );
        let invocations = mlflow_route(s);
        paths.insert(format!("/models/{name}/invocations"), invocations.clone());
        if served.len() == 1 {
            paths.insert("/invocations".into(), invocations);
        }
    }
    Json(json!({
        "openapi": "3.1.0",
        "info": {"title": "Lore API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object",
            "required": ["error", "error_code", "message"],
            "properties": {
                "error": {"type": "string", "description": "what was wrong and what to do"},
                "message": {"type": "string", "description": "the same text, for MLflow's clients"},
                "error_code": {"type": "string", "description": "MLflow's name for the status, e.g. BAD_REQUEST"},
                "field": {"type": "string"},
                "row": {"type": "integer", "minimum": 1},
                "expected": {"type": "string"},
            },
        }}},
    }))
}

/// MLflow's `/invocations` for the model `served`.
fn mlflow_route(served: &Served) -> Value {
    let columns: Vec<&String> = served.inputs.iter().map(|(c, _)| c).collect();
    let one = record(served);
    json!({"post": {
        "summary": "MLflow's scoring protocol: exactly one of dataframe_split, dataframe_records, instances or inputs (and optional params), or a text/csv body with a header row",
        "requestBody": {"required": true, "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "dataframe_split": {"type": "object", "properties": {
                    "columns": {"type": "array", "items": {"type": "string"}, "example": columns},
                    "data": {"type": "array", "items": {"type": "array"}}}},
                "dataframe_records": {"type": "array", "items": one},
                "instances": {"type": "array"},
                "inputs": {"type": ["array", "object"]},
                "params": {"type": "object"},
            }}},
            "text/csv": {"schema": {"type": "string"}},
        }},
        "responses": {
            "200": {"description": "{\"predictions\": [...]}"},
            "400": {"description": "a malformed body, or not exactly one input key"},
            "415": {"description": "neither application/json nor text/csv"},
        },
    }})
}

/// The Open Inference Protocol's `infer` for the model `served`.
fn v2_route(served: &Served) -> Value {
    let example: Vec<Value> = served
        .inputs
        .iter()
        .map(|(c, kind)| {
            let datatype = match kind {
                Some(Kind::Number) => "FP64",
                Some(Kind::Boolean) => "BOOL",
                _ => "BYTES",
            };
            json!({"name": c, "shape": [1], "datatype": datatype, "data": [example(*kind)]})
        })
        .collect();
    json!({"post": {
        "summary": "Open Inference Protocol V2 (KServe, Triton): one input tensor a column, answered with the outputs predictions and probabilities",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "inputs": {"type": "array", "items": {"type": "object", "required": ["name", "shape", "datatype", "data"]}},
                "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            },
            "example": {"id": "1", "inputs": example},
        }}}},
        "responses": {
            "200": {"description": "{\"model_name\", \"model_version\", \"id\", \"outputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}"},
            "400": {"description": "a malformed request, a bad shape, or a value of the wrong kind"},
        },
    }})
}
