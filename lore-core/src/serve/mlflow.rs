//! MLflow's scoring protocol, as `mlflow models serve` speaks it, so a client written for MLflow
//! works unchanged: `POST /invocations` (the one model served; with several,
//! `/models/{name}/invocations`), `GET /ping` and `GET /version`. A JSON body holds exactly one
//! of `dataframe_split`, `dataframe_records`, `instances` or `inputs` (and optional `params`);
//! a `text/csv` body has a header row. The answer is `{"predictions": [...]}`, and an error
//! carries MLflow's `error_code` and `message`.
//!
//! Each form is turned into a JSON list of records and read by [`super::records`], so every
//! value is checked against its column's kind and every limit holds as on Lore's own route.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::{body, media_type, ApiState, Served};
use crate::frame::Kind;

/// The keys of a JSON body that hold its rows.
const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// MLflow's routes.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/invocations", post(invocations))
        .route("/models/{name}/invocations", post(model_invocations))
        .route("/ping", get(ping))
        .route("/version", get(version))
}

async fn ping() -> Response {
    // MLflow answers a newline.
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        "\n",
    )
        .into_response()
}

async fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

async fn invocations(
    State(state): State<ApiState>,
    request: Request,
) -> Result<Response, ApiError> {
    let models = state.models();
    let [name] = models.as_slice() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            match models.is_empty() {
                true => "no model is served yet; run `lore fit MODEL`".to_string(),
                false => format!(
                    "this server serves {} models ({}); POST to /models/{{name}}/invocations",
                    models.len(),
                    models.join(", ")
                ),
            },
        ));
    };
    let name = name.clone();
    answer(state, name, request).await
}

async fn model_invocations(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    answer(state, name, request).await
}

/// How an MLflow body is written.
enum Format {
    Json,
    Csv,
}

async fn answer(state: ApiState, name: String, request: Request) -> Result<Response, ApiError> {
    let served = state.model(&name)?;
    let format = match media_type(request.headers()).as_deref() {
        Some("application/json") => Format::Json,
        Some("text/csv") => Format::Csv,
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "this predictor only supports the following content types: types \
                     ['text/csv', 'application/json'], got '{}'",
                    other
                        .unwrap_or("none")
                        .chars()
                        .take(100)
                        .collect::<String>()
                ),
            ))
        }
    };
    let bytes = body(&state, request).await?;
    let small = bytes.len() <= super::SMALL_BODY;
    let convert = {
        let served = std::sync::Arc::clone(&served);
        move || match format {
            Format::Json => from_json(&bytes, &served),
            Format::Csv => from_csv(&bytes, &served),
        }
    };
    let records = match small {
        true => convert(),
        false => super::errors::blocking(convert).await?,
    }?;
    let predicted = state.predict(served, Bytes::from(records), false).await?;
    let answer = json!({
        "predictions": predicted.predictions.predictions,
        "fitting_id": predicted.fitting.id,
    });
    Ok(predicted.respond(&name, answer, super::IdsAt::Top))
}

fn bad(message: String) -> ApiError {
    tracing::debug!("refused a request: {message}");
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The records of a JSON body in any of MLflow's forms, as a JSON list of records.
fn from_json(bytes: &[u8], served: &Served) -> Result<Vec<u8>, ApiError> {
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        bad(format!(
            "malformed JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(mut body) = body else {
        return Err(bad(input_keys_message(&[])));
    };
    let given: Vec<&str> = INPUT_KEYS
        .iter()
        .copied()
        .filter(|k| body.contains_key(*k))
        .collect();
    let unknown: Vec<String> = body
        .keys()
        .filter(|k| !INPUT_KEYS.contains(&k.as_str()) && k.as_str() != "params")
        .map(|k| k.chars().take(100).collect())
        .collect();
    let [key] = given.as_slice() else {
        let keys: Vec<String> = body.keys().map(|k| k.chars().take(100).collect()).collect();
        return Err(bad(input_keys_message(&keys)));
    };
    if !unknown.is_empty() {
        return Err(bad(format!(
            "unknown key{} {} beside `{key}`; the body takes one input key and `params`",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        )));
    }
    if let Some(params) = body.get("params") {
        if !params.is_object() {
            return Err(bad("`params` must be an object of parameters".into()));
        }
    }
    let key = *key;
    let rows = body.remove(key).unwrap_or(Value::Null);
    let records = match key {
        "dataframe_split" => split(rows, key)?,
        "dataframe_records" => match rows {
            Value::Array(rows) => rows,
            _ => return Err(bad("`dataframe_records` must be a list of records".into())),
        },
        _ => tensor(rows, key, served)?,
    };
    serde_json::to_vec(&records).map_err(|e| bad(e.to_string()))
}

/// MLflow's message for a body without exactly one input key.
fn input_keys_message(keys: &[String]) -> String {
    format!(
        "the input must be a JSON object with exactly one of the input fields {{'dataframe_split', \
         'dataframe_records', 'instances', 'inputs'}}; received an object with the fields [{}]",
        keys.join(", ")
    )
}

/// `{"columns": [...], "data": [[...], ...]}` (and an `index`, which is ignored) as records.
fn split(rows: Value, key: &str) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut split) = rows else {
        return Err(bad(format!(
            "`{key}` must be an object with `columns` and `data`"
        )));
    };
    let columns: Vec<String> = match split.remove("columns") {
        Some(Value::Array(columns)) => columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| match c {
                Value::String(c) => Ok(c),
                _ => Err(bad(format!("`{key}.columns` item {} is not a name", i + 1))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad(format!("`{key}` needs `columns`, a list of names"))),
    };
    let Some(Value::Array(data)) = split.remove("data") else {
        return Err(bad(format!("`{key}` needs `data`, a list of rows")));
    };
    data.into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Array(values) if values.len() == columns.len() => {
                Ok(Value::Object(columns.iter().cloned().zip(values).collect()))
            }
            Value::Array(values) => Err(bad(format!(
                "`{key}.data` row {} has {} values for {} columns",
                i + 1,
                values.len(),
                columns.len()
            ))),
            _ => Err(bad(format!("`{key}.data` row {} is not a list", i + 1))),
        })
        .collect()
}

/// `instances` or `inputs` (TensorFlow Serving's forms) as records: a list of records, a list
/// of rows in the order of the model's inputs, or an object of columns.
fn tensor(rows: Value, key: &str, served: &Served) -> Result<Vec<Value>, ApiError> {
    let names: Vec<&str> = served.inputs.iter().map(|(c, _)| c.as_str()).collect();
    match rows {
        Value::Array(rows) => rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| match row {
                Value::Object(_) => Ok(row),
                Value::Array(values) if values.len() == names.len() => Ok(Value::Object(
                    names.iter().map(|n| n.to_string()).zip(values).collect(),
                )),
                Value::Array(values) => Err(bad(format!(
                    "`{key}` row {} has {} values; the model takes {} inputs, in this order: {}",
                    i + 1,
                    values.len(),
                    names.len(),
                    names.join(", ")
                ))),
                _ => Err(bad(format!(
                    "`{key}` row {} is neither a record nor a list of values",
                    i + 1
                ))),
            })
            .collect(),
        Value::Object(columns) => {
            let mut length = None;
            for (name, values) in &columns {
                let n = match values {
                    Value::Array(values) => values.len(),
                    _ => 1,
                };
                if length.is_some_and(|l| l != n) {
                    return Err(bad(format!(
                        "`{key}` column `{}` has {n} values, not {} as the others",
                        name.chars().take(100).collect::<String>(),
                        length.unwrap_or_default()
                    )));
                }
                length = Some(n);
            }
            let mut records = vec![Map::new(); length.unwrap_or(0)];
            for (name, values) in columns {
                let values = match values {
                    Value::Array(values) => values,
                    scalar => vec![scalar],
                };
                for (record, value) in records.iter_mut().zip(values) {
                    record.insert(name.clone(), value);
                }
            }
            Ok(records.into_iter().map(Value::Object).collect())
        }
        _ => Err(bad(format!(
            "`{key}` must be a list of rows or an object of columns"
        ))),
    }
}

/// A `text/csv` body (a header row, then a row a record) as records, each value read as its
/// column's kind: an empty cell is null.
fn from_csv(bytes: &[u8], served: &Served) -> Result<Vec<u8>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("the CSV header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.to_string())
        .collect();
    let kinds: Vec<Option<Option<Kind>>> = headers
        .iter()
        .map(|h| {
            served
                .inputs
                .iter()
                .find(|(c, _)| c == h)
                .map(|(_, kind)| *kind)
        })
        .collect();
    let mut records = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| bad(format!("CSV row {}: {e}", i + 1)))?;
        let mut record = Map::new();
        for ((name, kind), cell) in headers.iter().zip(&kinds).zip(row.iter()) {
            let value = match kind {
                // A column the model does not take: kept as text, to be counted as ignored.
                None => Value::String(cell.to_string()),
                Some(kind) => cell_value(cell, *kind).map_err(|expected| ApiError {
                    field: Some(name.clone()),
                    row: Some(i + 1),
                    expected: Some(expected),
                    ..bad(format!(
                        "CSV row {}, column `{name}`: `{}` is not {expected}",
                        i + 1,
                        cell.chars().take(100).collect::<String>()
                    ))
                })?,
            };
            record.insert(name.clone(), value);
        }
        records.push(Value::Object(record));
    }
    serde_json::to_vec(&records).map_err(|e| bad(e.to_string()))
}

/// A CSV cell as the JSON value of its column's kind, or what the kind takes.
fn cell_value(cell: &str, kind: Option<Kind>) -> Result<Value, &'static str> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    match kind {
        Some(Kind::Number) => cell
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| json!(n))
            .ok_or("a finite number"),
        Some(Kind::Boolean) => match cell.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("true or false"),
        },
        Some(Kind::Text | Kind::Date | Kind::Timestamp) => Ok(Value::String(cell.to_string())),
        None => Ok(cell
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| json!(n))
            .unwrap_or_else(|| Value::String(cell.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rows_become_records_and_short_rows_are_named() {
        let rows = json!({"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]], "index": [0, 1]});
        let records = split(rows, "dataframe_split").ok().unwrap_or_default();
        assert_eq!(
            records,
            vec![json!({"a": 1, "b": "x"}), json!({"a": 2, "b": "y"})]
        );
        let short = json!({"columns": ["a", "b"], "data": [[1]]});
        let e = split(short, "dataframe_split").err().map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("row 1 has 1 values for 2 columns")));
    }

    #[test]
    fn csv_cells_take_their_column_kind() {
        assert_eq!(cell_value("2.5", Some(Kind::Number)), Ok(json!(2.5)));
        assert_eq!(cell_value("", Some(Kind::Number)), Ok(Value::Null));
        assert_eq!(cell_value("x", Some(Kind::Number)), Err("a finite number"));
        assert_eq!(
            cell_value("NaN", Some(Kind::Number)),
            Err("a finite number")
        );
        assert_eq!(cell_value("True", Some(Kind::Boolean)), Ok(json!(true)));
        assert_eq!(cell_value("12", Some(Kind::Text)), Ok(json!("12")));
    }
}
