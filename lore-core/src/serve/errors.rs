//! Error answers: one JSON shape for every route and protocol, so a client of any of them reads
//! what went wrong the same way. `error` and `message` carry the same text (Lore's clients read
//! the first, MLflow's the second), `error_code` is MLflow's name for the status, and `field`,
//! `row` and `expected` point at the value at fault.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sentry::{Hub, SentryFutureExt};
use serde_json::json;

use super::{metrics, records, ApiState};
use crate::error::Error;
use crate::error_reports;

/// An error answer: `{"error", "error_code", "message", "field"?, "row"?, "expected"?}`.
pub(super) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
    pub row: Option<usize>,
    pub expected: Option<&'static str>,
    /// Seconds after which a retry may succeed (a 503 when the server is at its limit).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            row: None,
            expected: None,
            retry_after: None,
        }
    }
}

/// MLflow's name for an error of `status` (its `databricks_pb2.ErrorCode`).
fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "RESOURCE_DOES_NOT_EXIST",
        408 | 504 => "DEADLINE_EXCEEDED",
        413 | 429 => "REQUEST_LIMIT_EXCEEDED",
        503 => "TEMPORARILY_UNAVAILABLE",
        s if s >= 500 => "INTERNAL_ERROR",
        _ => "BAD_REQUEST",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.message,
            "error_code": error_code(self.status),
            "message": self.message,
        });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        if let Some(row) = self.row {
            body["row"] = json!(row);
        }
        if let Some(expected) = self.expected {
            body["expected"] = json!(expected);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
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
            retry_after: None,
        }
    }
}

/// The whole message of a 5xx answer.
pub(super) const SERVER_FAULT: &str = "the server failed to answer this request; its log says why";

/// The longest error text kept when an answer that is not JSON is made JSON.
const MAX_ERROR_TEXT: usize = 1_000;

/// Makes every error answer JSON of one shape: axum's own rejections (413, 415, a bad query),
/// 404, 405 and the like come as text or empty, and are rewritten with their text or reason.
pub(super) async fn json_errors(response: Response) -> Response {
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
        if name == header::ALLOW || name == header::RETRY_AFTER || name == header::WWW_AUTHENTICATE
        {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Runs `work` on tokio's blocking threads inside the request's error-report hub (see
/// [`report`]), so a panic in it is reported once, as the request's event with its tags; the
/// panic answers a 500 without a second report.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let hub = Hub::current();
    tokio::task::spawn_blocking(move || Hub::run(hub, work))
        .await
        .map_err(|e| match e.is_panic() {
            // The panic hook has already logged and reported it.
            true => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, SERVER_FAULT),
            false => Error::Fitting(format!("a prediction was cancelled: {e}")).into(),
        })
}

/// The longest URI taken, in bytes (longer: 414).
pub const MAX_URI: usize = 8 * 1024;

/// The most header fields taken (more: 431).
pub const MAX_HEADERS: usize = 100;

/// The most bytes of header fields taken, names and values together (more: 431).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses a request whose URI or headers are larger than Lore takes, with a JSON 414 or 431
/// (hyper's own limits, far above these, answer with an empty body).
pub(super) async fn head_limits(request: Request, next: Next) -> Response {
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

/// Reports 5xx answers to the error tracker (see [`crate::error_reports`]) when reports are on.
/// Each request runs in a hub of its own labelled with its route, model and fitting, so the error
/// logged while answering is its one event, with the request's log lines as breadcrumbs; a 5xx
/// with no error logged is reported by itself. A 503 of a server at its limit is a metric (see
/// `/metrics`), not a fault.
pub(super) async fn report(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if !error_reports::enabled() {
        return next.run(request).await;
    }
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let route = format!("{} {route}", request.method());
    hub.configure_scope(|scope| {
        scope.set_tag("route", &route);
        if let Some((model, served)) = metrics::model_of(&state, request.uri().path()) {
            scope.set_tag("model", model);
            scope.set_tag("fitting", &served.fitting.id);
        }
    });
    let response = next.run(request).bind_hub(Arc::clone(&hub)).await;
    let status = response.status();
    if status.is_server_error()
        && status != StatusCode::SERVICE_UNAVAILABLE
        && hub.last_event_id().is_none()
    {
        hub.capture_message(
            &format!("answered {status} to {route}"),
            sentry::Level::Error,
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, PoisonError};

    /// Keeps what the client sends, in place of a server.
    #[derive(Default)]
    struct Kept(Mutex<Vec<sentry::Envelope>>);

    impl sentry::Transport for Kept {
        fn send_envelope(&self, envelope: sentry::Envelope) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(envelope);
        }
    }

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_one_report_with_the_request_tags_and_a_500() {
        let kept = Arc::new(Kept::default());
        let client = sentry::Client::from(sentry::ClientOptions {
            dsn: "https://key@errors.invalid/1".parse().ok(),
            transport: Some(Arc::new(Arc::clone(&kept))),
            default_integrations: false,
            integrations: vec![Arc::new(
                sentry::integrations::panic::PanicIntegration::new(),
            )],
            ..Default::default()
        });
        let hub = Arc::new(Hub::new(Some(Arc::new(client)), Arc::default()));
        hub.configure_scope(|scope| scope.set_tag("route", "POST /models/{name}/predict"));
        let answer = blocking(|| -> u8 { panic!("a planted panic") })
            .bind_hub(Arc::clone(&hub))
            .await;
        let Err(error) = answer else {
            panic!("a panic answered as if it had worked");
        };
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.message, SERVER_FAULT);
        assert!(
            hub.last_event_id().is_some(),
            "the request's hub saw no event"
        );
        let sent = kept.0.lock().unwrap_or_else(PoisonError::into_inner);
        let events: Vec<_> = sent.iter().filter_map(|e| e.event()).collect();
        assert_eq!(events.len(), 1, "{events:?}");
        let route = events[0].tags.get("route").map(String::as_str);
        assert_eq!(route, Some("POST /models/{name}/predict"));
        let text = serde_json::to_string(events[0]).unwrap_or_default();
        assert!(text.contains("a planted panic"), "{text}");
    }

    #[tokio::test]
    async fn blocking_work_that_returns_gives_its_value() {
        assert_eq!(blocking(|| 7).await.ok(), Some(7));
    }
}
