//! What `GET /metrics` reports, in Prometheus' text format (version 0.0.4): requests by route,
//! model and status, their durations as a histogram, requests in flight, rows predicted, fitting
//! loads and swaps, requests shed, the fitting each model serves and the build. And the
//! middleware that counts them, gives each request an id (`X-Request-Id`, kept when the client
//! sent a sane one) and names the fitting that answered (`X-Lore-Fitting`).

use super::prediction_log::{Counts, Pending};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiState, Served};

/// The request id header, kept from the request or made, and returned.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The header naming the fitting that made an answer.
pub static FITTING: HeaderName = HeaderName::from_static("x-lore-fitting");

/// When this process started, in seconds since 1970: the first part of the ids it makes, so
/// that ids of two runs of the server differ.
static STARTED: LazyLock<u64> = LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
});

/// The upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 16] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// The request-duration histogram of one route.
#[derive(Default)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not yet cumulative).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The model and fitting that answered a request, put on the response by its handler.
#[derive(Clone)]
pub(super) struct Answered {
    pub model: String,
    pub fitting: String,
    pub rows: usize,
}

/// The server's counters, shared by every request.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    rows: Mutex<BTreeMap<String, u64>>,
    loads: Mutex<BTreeMap<String, u64>>,
    swaps: Mutex<BTreeMap<String, u64>>,
    shed: AtomicU64,
    next_id: AtomicU64,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str, by: u64) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    match map.get_mut(key) {
        Some(n) => *n += by,
        None => {
            map.insert(key.to_string(), by);
        }
    }
}

impl Metrics {
    /// Counts a fitting of `model` loaded, and whether it replaced one served before.
    pub fn loaded(&self, model: &str, swapped: bool) {
        bump(&self.loads, model, 1);
        if swapped {
            bump(&self.swaps, model, 1);
        }
    }

    /// Counts a request refused because the server was at its concurrency limit.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, route: &str, model: &str, status: u16, seconds: f64, rows: usize) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            *requests
                .entry((route.to_string(), model.to_string(), status))
                .or_default() += 1;
        }
        {
            let mut durations = self
                .durations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let h = durations.entry(route.to_string()).or_default();
            if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
                h.counts[i] += 1;
            }
            h.count += 1;
            h.sum += seconds;
        }
        if rows > 0 {
            bump(&self.rows, model, rows as u64);
        }
    }

    /// A new request id: this process's start, then a count.
    fn request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:x}-{n:x}", *STARTED)
    }

    /// Every metric in Prometheus' text format; `serving` is each model with its fitting id
    /// and the alias that chose it.
    pub fn render(
        &self,
        serving: &[(String, String, Option<String>)],
        log: Option<&Counts>,
    ) -> String {
        let mut out = String::new();
        if let Some(counts) = log {
            header(
                &mut out,
                "lore_prediction_log_entries_total",
                "counter",
                "Predicted rows for the prediction log: written, dropped (its queue was full) or \
                 failed (the database refused them).",
            );
            for (outcome, n) in [
                ("written", &counts.written),
                ("dropped", &counts.dropped),
                ("failed", &counts.failed),
            ] {
                let _ = writeln!(
                    out,
                    "lore_prediction_log_entries_total{{outcome=\"{outcome}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
        }
        header(
            &mut out,
            "lore_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, model and status.",
        );
        for ((route, model, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "lore_http_requests_total{{route=\"{}\",model=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(model)
            );
        }
        header(
            &mut out,
            "lore_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer, by route template.",
        );
        for (route, h) in self
            .durations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(out, "lore_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(
                out,
                "lore_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "lore_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "lore_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        for (name, kind, help, value) in [
            (
                "lore_http_requests_in_flight",
                "gauge",
                "Requests being answered now.",
                self.in_flight.load(Ordering::Relaxed).to_string(),
            ),
            (
                "lore_http_requests_shed_total",
                "counter",
                "Requests refused with 503 because the server was at its concurrency limit.",
                self.shed.load(Ordering::Relaxed).to_string(),
            ),
        ] {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        for (name, help, map) in [
            (
                "lore_predicted_rows_total",
                "Rows predicted, by model.",
                &self.rows,
            ),
            (
                "lore_fitting_loads_total",
                "Fittings loaded to be served, by model.",
                &self.loads,
            ),
            (
                "lore_fitting_swaps_total",
                "Times a model's served fitting was replaced by another, by model.",
                &self.swaps,
            ),
        ] {
            header(&mut out, name, "counter", help);
            for (model, n) in map.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                let _ = writeln!(out, "{name}{{model=\"{}\"}} {n}", escape(model));
            }
        }
        header(
            &mut out,
            "lore_model_fitting_info",
            "gauge",
            "The fitting each model serves (1), with the alias that chose it.",
        );
        for (model, fitting, alias) in serving {
            let _ = writeln!(
                out,
                "lore_model_fitting_info{{model=\"{}\",fitting=\"{}\",alias=\"{}\"}} 1",
                escape(model),
                escape(fitting),
                escape(alias.as_deref().unwrap_or("latest"))
            );
        }
        header(
            &mut out,
            "lore_build_info",
            "gauge",
            "The running build of Lore (1).",
        );
        let _ = writeln!(
            out,
            "lore_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as Prometheus' text format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The served model a request's path names, and the fitting serving it, for labels set before a
/// handler has answered or when it refused: only names of models served, so a client cannot add
/// labels of its own.
pub(super) fn model_of(state: &ApiState, path: &str) -> Option<(String, Arc<Served>)> {
    let name = match path
        .strip_prefix("/models/")
        .or_else(|| path.strip_prefix("/v2/models/"))
    {
        Some(rest) => rest.split('/').next()?.to_string(),
        None if path == "/invocations" => match state.models().as_slice() {
            [only] => only.clone(),
            _ => return None,
        },
        None => return None,
    };
    let served = state.served(&name)?;
    Some((name, served))
}

/// The longest request id kept from a client.
const MAX_REQUEST_ID: usize = 128;

/// The client's request id, when it is one a log line can carry as it is.
fn given_id(request: &Request) -> Option<String> {
    let id = request.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
    sane.then(|| id.to_string())
}

/// Counts the request in `/metrics`, gives it an id, names the answering fitting in a header,
/// and writes an access line: every request with `access_log`, else those that failed.
pub(super) async fn observe(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let metrics = &state.metrics;
    let id = given_id(&request).unwrap_or_else(|| metrics.request_id());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut response = next.run(request).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let answered = response.extensions_mut().remove::<Answered>();
    if let (Some(log), Some(pending)) = (&state.log, response.extensions_mut().remove::<Pending>())
    {
        log.push(pending, &id, seconds * 1e3);
    }
    let (model, rows) = match &answered {
        Some(a) => (a.model.clone(), a.rows),
        None => (
            model_of(&state, &path)
                .map(|(name, _)| name)
                .unwrap_or_default(),
            0,
        ),
    };
    let model = model.as_str();
    metrics.observe(&route, model, status, seconds, rows);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    if let Some(a) = &answered {
        if let Ok(value) = HeaderValue::from_str(&a.fitting) {
            response.headers_mut().insert(FITTING.clone(), value);
        }
    }
    if state.settings.access_log || status >= 400 {
        tracing::info!(
            request_id = id,
            %method,
            route,
            model,
            fitting = answered.as_ref().map(|a| a.fitting.as_str()).unwrap_or(""),
            status,
            rows,
            ms = seconds * 1e3,
            "answered"
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn counts_land_in_their_labels_and_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("/models/{name}/predict", "Churn", 200, 0.003, 2);
        m.observe("/models/{name}/predict", "Churn", 200, 0.2, 1);
        m.observe("/models/{name}/predict", "Churn", 400, 0.001, 0);
        m.loaded("Churn", false);
        m.loaded("Churn", true);
        let text = m.render(&[("Churn".into(), "20260101".into(), None)], None);
        holds(
            &text,
            &[
                "lore_http_requests_total{route=\"/models/{name}/predict\",model=\"Churn\",status=\"200\"} 2",
                "status=\"400\"} 1",
                "le=\"0.005\"} 2",
                "le=\"0.001\"} 1",
                "le=\"+Inf\"} 3",
                "lore_predicted_rows_total{model=\"Churn\"} 3",
                "lore_fitting_swaps_total{model=\"Churn\"} 1",
                "lore_model_fitting_info{model=\"Churn\",fitting=\"20260101\",alias=\"latest\"} 1",
            ],
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
