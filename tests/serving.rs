//! End-to-end serving, the protocols: `lore api` driven over real HTTP as its clients would:
//! MLflow's scoring protocol, the Open Inference Protocol V2, probes, Prometheus metrics,
//! request ids, a fitting chosen by id or alias, and the /docs page in a headless browser.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod common;
use common::served::*;
use common::*;

#[test]
fn mlflow_clients_get_the_predictions_of_lores_own_route_in_every_input_form() {
    let f = fitted();
    let (_server, port) = api(&f.root, &[]);
    let native = post(port, &format!("/models/{MODEL}/predict"), &records());
    assert_eq!(native.status, 200, "{}", native.body);
    let expected = native.json()["predictions"].clone();
    assert_eq!(expected.as_array().map(Vec::len), Some(2));

    let columns = COLUMNS;
    let rows: Vec<Value> = records()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Value::Array(columns.iter().map(|c| r[c].clone()).collect()))
        .collect();
    let columnar: serde_json::Map<String, Value> = columns
        .iter()
        .map(|c| {
            let values = records()
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[c].clone())
                .collect();
            (c.to_string(), Value::Array(values))
        })
        .collect();
    for body in [
        json!({"dataframe_split": {"columns": columns, "data": rows, "index": [0, 1]}}),
        json!({"dataframe_records": records()}),
        json!({"instances": records()}),
        json!({"inputs": columnar}),
        json!({"dataframe_records": records(), "params": {}}),
    ] {
        for path in [
            "/invocations".to_string(),
            format!("/models/{MODEL}/invocations"),
        ] {
            let reply = post(port, &path, &body);
            assert_eq!(reply.status, 200, "{path} {body}: {}", reply.body);
            assert_eq!(reply.json()["predictions"], expected, "{body}");
            assert_eq!(reply.header("x-lore-fitting"), Some(f.ids[1].as_str()));
        }
    }
    let csv_as = |content_type| {
        let headers = [("Content-Type", content_type)];
        request(port, "POST", "/invocations", &headers, TWO_USERS.as_bytes())
    };
    let reply = csv_as("text/csv");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["predictions"], expected);

    let reply = csv_as("text/plain");
    assert_eq!(reply.status, 415, "{}", reply.body);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("text/csv"));
    let two = json!({"dataframe_records": records(), "instances": records()});
    let reply = post(port, "/invocations", &two);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error_code"], "BAD_REQUEST");
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("exactly one"));
    let reply = post(port, "/invocations", &json!({"inputs": [[1, 2]]}));
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("takes 7 inputs"), "{}", reply.body);
    let bad_csv = TWO_USERS.replace(",12,", ",twelve,");
    let reply = request(
        port,
        "POST",
        "/invocations",
        &[("Content-Type", "text/csv")],
        bad_csv.as_bytes(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        (reply.json()["field"].clone(), reply.json()["row"].clone()),
        (json!("orders"), json!(1))
    );

    let ping = request(port, "GET", "/ping", &[], b"");
    assert_eq!(ping.status, 200);
    let version = request(port, "GET", "/version", &[], b"");
    assert_eq!(version.status, 200);
    assert!(!version.body.trim().is_empty());
}

/// One sample of a Prometheus page: name, labels, value.
type Sample = (String, serde_json::Map<String, Value>, f64);

/// The samples of a Prometheus text page, parsed by Prometheus' own Python client.
fn parsed_metrics(text: &str) -> Option<Vec<Sample>> {
    let python = python()?;
    let script = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
        print(json.dumps(out))";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the page:\n{text}"
    );
    let samples: Vec<Sample> = serde_json::from_slice(&out.stdout).unwrap();
    Some(samples)
}

#[test]
fn probes_metrics_and_headers_count_and_name_every_request() {
    let f = fitted();
    let (_server, port) = api(&f.root, &[]);
    for probe in ["/livez", "/healthz", "/health", "/readyz"] {
        assert_eq!(request(port, "GET", probe, &[], b"").status, 200, "{probe}");
    }
    let path = format!("/models/{MODEL}/predict");
    let n = 7;
    for i in 0..n {
        let id = format!("test-{i}");
        let reply = request(
            port,
            "POST",
            &path,
            &[JSON, ("X-Request-Id", &id)],
            records().to_string().as_bytes(),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("x-request-id"),
            Some(id.as_str()),
            "the client's id comes back"
        );
        assert_eq!(reply.header("x-lore-fitting"), Some(f.ids[1].as_str()));
        assert_eq!(reply.json()["fitting_id"], f.ids[1].as_str());
    }
    for _ in 0..3 {
        let reply = request(port, "POST", &path, &[JSON], b"[{\"orders\": \"x\"}]");
        assert_eq!(reply.status, 400);
        let made = reply.header("x-request-id").unwrap_or_default().to_string();
        assert!(!made.is_empty(), "a request without an id is given one");
    }
    let page = request(port, "GET", "/metrics", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/plain"));
    let Some(samples) = parsed_metrics(&page.body) else {
        return;
    };
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k) == Some(&json!(v))))
            .map(|(.., v)| *v)
    };
    let route = "/models/{name}/predict";
    let requests = "lore_http_requests_total";
    assert_eq!(
        value(
            requests,
            &[("route", route), ("model", MODEL), ("status", "200")]
        ),
        Some(n as f64)
    );
    assert_eq!(
        value(
            requests,
            &[("route", route), ("model", MODEL), ("status", "400")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            "lore_http_request_duration_seconds_count",
            &[("route", route)]
        ),
        Some(10.0)
    );
    assert_eq!(
        value(
            "lore_http_request_duration_seconds_bucket",
            &[("route", route), ("le", "+Inf")]
        ),
        Some(10.0)
    );
    assert_eq!(
        value("lore_predicted_rows_total", &[("model", MODEL)]),
        Some(2.0 * n as f64)
    );
    assert_eq!(
        value(
            "lore_model_fitting_info",
            &[("model", MODEL), ("fitting", &f.ids[1])]
        ),
        Some(1.0)
    );
    assert_eq!(
        value("lore_fitting_loads_total", &[("model", MODEL)]),
        Some(1.0)
    );
    assert!(value("lore_build_info", &[]).is_some());
    assert_eq!(
        value("lore_http_requests_in_flight", &[]),
        Some(1.0),
        "only /metrics itself"
    );
}

#[test]
fn a_fitting_or_alias_chosen_in_the_path_answers_and_names_itself() {
    let root = own_copy("versions");
    let f = fitted();
    let [old, latest] = [&f.ids[0], &f.ids[1]];
    ok(&lore(
        &root,
        &["models", "promote", MODEL, old, "--to", "staging"],
    ));
    let (_server, port) = api(&root, &[]);
    for (version, fitting) in [
        (old.as_str(), old),
        (latest.as_str(), latest),
        ("staging", old),
    ] {
        let reply = post(
            port,
            &format!("/models/{MODEL}/versions/{version}/predict"),
            &records(),
        );
        assert_eq!(reply.status, 200, "{version}: {}", reply.body);
        assert_eq!(reply.json()["fitting_id"], fitting.as_str(), "{version}");
        assert_eq!(reply.header("x-lore-fitting"), Some(fitting.as_str()));
    }
    let served = post(port, &format!("/models/{MODEL}/predict"), &records());
    assert_eq!(
        served.json()["fitting_id"],
        latest.as_str(),
        "the latest is still served"
    );
    for version in ["nope", "..", "production"] {
        let reply = post(
            port,
            &format!("/models/{MODEL}/versions/{version}/predict"),
            &records(),
        );
        assert_eq!(reply.status, 404, "{version}: {}", reply.body);
        assert!(reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("lore models show"));
    }
}

#[test]
fn an_open_inference_round_trip_matches_lore_predict_on_the_same_rows() {
    let f = fitted();
    put(&f.root, "v2-rows.csv", TWO_USERS);
    let out = f.root.join("v2-predicted.jsonl");
    ok(&lore(
        &f.root,
        &[
            "predict",
            MODEL,
            "--input",
            "v2-rows.csv",
            "--output",
            out.to_str().unwrap(),
        ],
    ));
    let predicted: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (_server, port) = api(&f.root, &[]);
    assert_eq!(
        request(port, "GET", "/v2/health/ready", &[], b"").json()["ready"],
        true
    );
    assert_eq!(
        request(port, "GET", "/v2/health/live", &[], b"").status,
        200
    );
    let server = request(port, "GET", "/v2", &[], b"").json();
    assert_eq!(server["name"], "lore");
    let meta = request(port, "GET", &format!("/v2/models/{MODEL}"), &[], b"").json();
    assert_eq!(meta["versions"], json!([f.ids[1]]));
    let kinds: std::collections::BTreeMap<String, String> = items(&meta["inputs"])
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["datatype"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(kinds["orders"], "FP64");
    assert_eq!(kinds["email"], "BYTES");
    assert_eq!(
        request(port, "GET", &format!("/v2/models/{MODEL}/ready"), &[], b"").status,
        200
    );

    let users = records();
    let inputs: Vec<Value> = kinds
        .iter()
        .map(|(name, datatype)| {
            let data: Vec<Value> = items(&users).iter().map(|u| u[name].clone()).collect();
            json!({"name": name, "shape": [2], "datatype": datatype, "data": data})
        })
        .collect();
    let infer = json!({"id": "round-trip-1", "inputs": inputs});
    let reply = post(port, &format!("/v2/models/{MODEL}/infer"), &infer);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["id"], "round-trip-1");
    assert_eq!(answer["model_version"], f.ids[1].as_str());
    let outputs = answer["outputs"].as_array().unwrap();
    let output = |name: &str| outputs.iter().find(|o| o["name"] == name).cloned().unwrap();
    let predictions = output("predictions");
    assert_eq!(
        (
            predictions["datatype"].clone(),
            predictions["shape"].clone()
        ),
        (json!("BOOL"), json!([2]))
    );
    let probabilities = output("probabilities");
    assert_eq!(probabilities["shape"], json!([2]));
    for (i, row) in predicted.iter().enumerate() {
        assert_eq!(predictions["data"][i], row["prediction"], "row {i}: {row}");
        let (v2, cli) = (
            probabilities["data"][i].as_f64().unwrap(),
            row["probability"].as_f64().unwrap(),
        );
        assert!((v2 - cli).abs() < 1e-6, "row {i}: {v2} against {cli}");
    }

    let versioned = post(
        port,
        &format!("/v2/models/{MODEL}/versions/{}/infer", f.ids[0]),
        &infer,
    );
    assert_eq!(
        versioned.json()["model_version"],
        f.ids[0].as_str(),
        "{}",
        versioned.body
    );
    let only = json!({"inputs": inputs, "outputs": [{"name": "probabilities"}]});
    let reply = post(port, &format!("/v2/models/{MODEL}/infer"), &only);
    assert_eq!(reply.json()["outputs"].as_array().map(Vec::len), Some(1));
    let mut wrong = inputs.clone();
    wrong[0]["shape"] = json!([3]);
    let reply = post(
        port,
        &format!("/v2/models/{MODEL}/infer"),
        &json!({"inputs": wrong}),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("holds 3 values"), "{}", reply.body);
    let typed: Vec<Value> = inputs
        .iter()
        .map(|i| match i["name"] == "orders" {
            true => {
                json!({"name": "orders", "shape": [2], "datatype": "BYTES", "data": ["12", "1"]})
            }
            false => i.clone(),
        })
        .collect();
    let reply = post(
        port,
        &format!("/v2/models/{MODEL}/infer"),
        &json!({"inputs": typed}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["field"], "orders");
}

#[test]
fn the_docs_page_renders_every_route_with_typed_inputs_in_a_headless_browser() {
    let Some(browser) = chromium() else { return };
    let f = fitted();
    let (_server, port) = api(&f.root, &[]);
    let profile = workdir("chromium-profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("http://127.0.0.1:{port}/docs"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let predict = format!("data-path=\"/models/{MODEL}/predict\"");
    assert!(
        dom.contains(&predict),
        "the page lists the predict route:\n{dom}"
    );
    assert!(
        dom.contains(&format!("data-path=\"/v2/models/{MODEL}/infer\"")),
        "{dom}"
    );
    assert!(
        dom.contains("<code>orders</code>") && dom.contains("number | null"),
        "typed inputs:\n{dom}"
    );
    assert!(
        dom.contains(" routes</p>") && !dom.contains("Loading"),
        "the script ran:\n{dom}"
    );
}

#[test]
fn logged_predictions_carry_ids_and_are_read_back_by_lore_predictions() {
    let f = fitted();
    let root = own_copy("prediction-log");
    let native = format!("/models/{MODEL}/predict");
    let two = records().to_string();
    // Off by default: no ids in the answer.
    let (server, port) = api(&root, &[]);
    let reply = request(port, "POST", &native, &[JSON], two.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.json().get("prediction_ids").is_none(),
        "{}",
        reply.body
    );
    drop(server);

    put(&root, "config/api.toml", "log_predictions = true\n");
    let (mut server, port) = api(&root, &[]);
    let reply = request(
        port,
        "POST",
        &native,
        &[JSON, ("X-Request-Id", "req-native-1")],
        two.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    let ids: Vec<String> = serde_json::from_value(answer["prediction_ids"].clone()).unwrap();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let mlflow = json!({"dataframe_records": [records()[0]]}).to_string();
    let reply = request(
        port,
        "POST",
        "/invocations",
        &[JSON, ("X-Request-Id", "req-mlflow-1")],
        mlflow.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mlflow_ids: Vec<String> =
        serde_json::from_value(reply.json()["prediction_ids"].clone()).unwrap();
    assert_eq!(mlflow_ids.len(), 1);
    // Written off the request path, soon after.
    let written = (0..100).find_map(|_| {
        let metrics = request(port, "GET", "/metrics", &[], b"").body;
        if metrics.contains("lore_prediction_log_entries_total{outcome=\"written\"} 3") {
            return Some(metrics);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        None
    });
    let metrics = written.expect("three entries written within 10 s");
    assert!(metrics.contains("lore_prediction_log_entries_total{outcome=\"dropped\"} 0"));
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(server.0.wait().unwrap().success());

    // Read back: every row with its id, request, fitting, inputs and answer.
    ok(&lore(
        &root,
        &["predictions", MODEL, "--export", "log.json"],
    ));
    let text = std::fs::read_to_string(root.join("log.json")).unwrap();
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 3, "{text}");
    let by_id = |id: &str| rows.iter().find(|r| r["prediction_id"] == id).unwrap();
    for (k, id) in ids.iter().enumerate() {
        let row = by_id(id);
        assert_eq!(row["request_id"], "req-native-1");
        assert_eq!(row["fitting_id"], f.ids[1].as_str());
        assert_eq!(row["model"], MODEL);
        assert!(row["latency_ms"].as_f64().unwrap() > 0.0);
        let inputs: Value = serde_json::from_str(row["inputs"].as_str().unwrap()).unwrap();
        assert_eq!(inputs, records()[k], "{inputs}");
        let prediction: Value = serde_json::from_str(row["prediction"].as_str().unwrap()).unwrap();
        assert_eq!(prediction, answer["predictions"][k]);
        let probability: Value =
            serde_json::from_str(row["probability"].as_str().unwrap()).unwrap();
        assert_eq!(probability, answer["probabilities"][k]);
    }
    assert_eq!(by_id(&mlflow_ids[0])["request_id"], "req-mlflow-1");
    let shown = ok(&lore(
        &root,
        &["predictions", "--since", "1h", "--limit", "1"],
    ));
    assert!(shown.contains(&mlflow_ids[0]), "{shown}");
    let none = lore(&root, &["predictions", MODEL, "--since", "2999-01-01"]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("No predictions logged"));
    refuses(
        &root,
        &["predictions", "--since", "soon"],
        &["--since", "30m"],
    );
}
