//! End-to-end serving: `lore api` as a model server, driven over real HTTP as its clients
//! would: MLflow's scoring protocol, probes, Prometheus metrics, request ids, a fitting chosen
//! by id or alias, the limits that shed load, SIGTERM with requests in flight, and promotions
//! under load.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::*;

const MODEL: &str = "SubscribersDeclared";

/// A project with the 2,000-row sample and two fittings of the declared model (the second,
/// the latest, with another max_depth); their ids, oldest first.
struct Fitted {
    root: PathBuf,
    ids: [String; 2],
}

fn fitted() -> &'static Fitted {
    static FITTED: OnceLock<Fitted> = OnceLock::new();
    FITTED.get_or_init(|| {
        let dir = workdir("serving");
        ok(&lore(&dir, &["init", "serving", "--sample-rows", "2000"]));
        let root = dir.join("serving");
        let fit = |extra: &[&str]| -> String {
            let mut args = vec!["fit", MODEL, "--json"];
            args.extend_from_slice(extra);
            let out: Value = serde_json::from_str(&ok(&lore(&root, &args))).unwrap();
            out["fitting_id"].as_str().unwrap().to_string()
        };
        let first = fit(&[]);
        let second = fit(&["-p", "max_depth=5"]);
        Fitted {
            root,
            ids: [first, second],
        }
    })
}

/// A copy of the fitted project of its own, for a test that changes aliases.
fn own_copy(name: &str) -> PathBuf {
    let to = workdir(name).join("serving");
    let status = Command::new("cp")
        .args(["-r"])
        .arg(&fitted().root)
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
    to
}

/// Two users, as JSON records.
fn records() -> Value {
    json!([
        {"first_name": "John", "email": "john1@gmail.com", "signup_date": "2015-01-02 10:00:00",
         "last_order_at": "2018-05-01 09:00:00", "orders": 12, "basket_value": 55.5, "sessions_30d": 4},
        {"first_name": "Ann", "email": "ann@nowhere.example", "signup_date": "2016-01-02 10:00:00",
         "last_order_at": "2018-05-01 09:00:00", "orders": 1, "basket_value": 5.5, "sessions_30d": 0}
    ])
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn post(port: u16, path: &str, body: &Value) -> Reply {
    request(port, "POST", path, &[JSON], body.to_string().as_bytes())
}

#[test]
fn mlflow_clients_get_the_predictions_of_lores_own_route_in_every_input_form() {
    let f = fitted();
    let (_server, port) = api(&f.root, &[]);
    let native = post(port, &format!("/models/{MODEL}/predict"), &records());
    assert_eq!(native.status, 200, "{}", native.body);
    let expected = native.json()["predictions"].clone();
    assert_eq!(expected.as_array().map(Vec::len), Some(2));

    let columns = [
        "first_name",
        "email",
        "signup_date",
        "last_order_at",
        "orders",
        "basket_value",
        "sessions_30d",
    ];
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
    let csv = TWO_USERS.as_bytes();
    let reply = request(
        port,
        "POST",
        "/invocations",
        &[("Content-Type", "text/csv")],
        csv,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["predictions"], expected);

    let reply = request(
        port,
        "POST",
        "/invocations",
        &[("Content-Type", "text/plain")],
        csv,
    );
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

/// `n` records of the two users, as a JSON body.
fn many(n: usize) -> Vec<u8> {
    let two = records();
    let all: Vec<Value> = (0..n).map(|i| two[i % 2].clone()).collect();
    serde_json::to_vec(&all).unwrap()
}

#[test]
fn limits_shed_load_time_out_and_sigterm_finishes_what_is_in_flight() {
    let f = fitted();
    let path = format!("/models/{MODEL}/predict");
    let (_server, port) = api(&f.root, &["--max-records", "5"]);
    let reply = request(port, "POST", &path, &[JSON], &many(6));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(reply.body.contains("more than 5 records"), "{}", reply.body);
    assert_eq!(request(port, "POST", &path, &[JSON], &many(5)).status, 200);

    // Explained predictions of many records take long; the body itself arrives at once.
    let explained = format!("{path}?explain=true");
    let explain_body = Arc::new(many(50_000));
    let (_server, port) = api(&f.root, &["--request-timeout", "0.1"]);
    let reply = request(port, "POST", &explained, &[JSON], &explain_body);
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.json()["error_code"], "DEADLINE_EXCEEDED");

    // One prediction at a time: of several big requests at once, some are shed.
    let (_server, port) = api(&f.root, &["--max-concurrency", "1"]);
    let body = Arc::new(many(20_000));
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let body = Arc::clone(&body);
                let path = path.clone();
                s.spawn(move || request(port, "POST", &path, &[JSON], &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let shed: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    assert!(
        !shed.is_empty(),
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 503));
    assert!(shed.iter().all(|r| r.header("retry-after") == Some("1")));

    // SIGTERM with requests in flight: each is answered, then the process exits 0.
    let (mut server, port) = api(&f.root, &[]);
    let pid = server.0.id().to_string();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let body = Arc::clone(&explain_body);
                let path = explained.clone();
                s.spawn(move || request(port, "POST", &path, &[JSON], &body))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "lore api exits 0 after SIGTERM: {status}");
}

/// The fitting the API says it serves for the model.
fn serving(port: u16) -> String {
    let models = request(port, "GET", "/models", &[], b"").json();
    models["models"][0]["fitting_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn promotions_and_rollbacks_under_load_drop_no_request() {
    let root = own_copy("reloads");
    let f = fitted();
    let [old, latest] = [f.ids[0].clone(), f.ids[1].clone()];
    let (server, port) = api(&root, &["--refresh", "0"]);
    let pid = server.0.id().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let path = format!("/models/{MODEL}/predict");
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop, path) = (Arc::clone(&stop), path.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let reply = post(port, &path, &records());
                    seen.push((
                        reply.status,
                        reply.json()["fitting_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    ));
                }
                seen
            })
        })
        .collect();
    let wait_for = |id: &str| {
        let started = Instant::now();
        while serving(port) != id {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never served {id}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    for round in 0..10 {
        let out = match round % 2 {
            0 => lore(&root, &["models", "promote", MODEL, &old]),
            _ => lore(&root, &["models", "rollback", MODEL]),
        };
        ok(&out);
        assert!(Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success());
        wait_for(if round % 2 == 0 { &old } else { &latest });
    }
    stop.store(true, Ordering::SeqCst);
    let seen: Vec<(u16, String)> = load.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(seen.len() > 20, "the load ran: {} requests", seen.len());
    let failed: Vec<_> = seen.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(5)]
    );
    let served: std::collections::BTreeSet<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(
        served,
        [old.as_str(), latest.as_str()].into_iter().collect(),
        "answers named both fittings"
    );
}

/// An HS256 token for `audience`, expiring `expires_in` seconds from now (negative: past).
fn token(secret: &str, audience: &str, expires_in: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"sub": "tester", "aud": audience, "exp": now + expires_in});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn only_a_right_key_or_a_valid_token_gets_in_and_no_credential_is_logged() {
    let root = own_copy("auth");
    let err = failed(&lore(&root, &["api", "--host", "0.0.0.0", "--port", "0"]));
    assert!(
        err.contains("--allow-unauthenticated") && err.contains("--api-key-sha256"),
        "{err}"
    );

    let key = "lore-test-key-7f3a9c2e";
    let secret = "lore-test-secret-0123456789abcdef0123456789";
    std::fs::write(
        root.join("config/api.toml"),
        "[auth]\napi_keys_sha256 = [\"${LORE_TEST_KEY_DIGEST}\"]\n\n[auth.jwt]\nalgorithm = \"HS256\"\n\
         secret = \"${LORE_TEST_JWT_SECRET}\"\naudience = \"lore-test\"\n",
    )
    .unwrap();
    let digest = lore_core::serve::key_digest(key);
    let log = root.join("api-stderr.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let env = [
        ("LORE_TEST_KEY_DIGEST", digest.as_str()),
        ("LORE_TEST_JWT_SECRET", secret),
        ("LORE_LOG", "debug"),
    ];
    let (server, port) = api_with_env(&root, &[], &env, Stdio::from(stderr));
    let path = format!("/models/{MODEL}/predict");
    let body = records().to_string();
    let valid = token(secret, "lore-test", 600);
    let expired = token(secret, "lore-test", -3600);
    let elsewhere = token(secret, "another-api", 600);
    let forged = token(
        "not-the-secret-0123456789abcdef0123456789",
        "lore-test",
        600,
    );
    let bearer = |t: &str| format!("Bearer {t}");
    let (valid_b, expired_b, elsewhere_b, forged_b, key_b) = (
        bearer(&valid),
        bearer(&expired),
        bearer(&elsewhere),
        bearer(&forged),
        bearer(key),
    );
    let refused: [(&str, Vec<(&str, &str)>); 6] = [
        ("no credential", vec![]),
        ("a wrong key", vec![("X-API-Key", "lore-test-key-wrong")]),
        (
            "a wrong key as bearer",
            vec![("Authorization", "Bearer lore-test-key-wrong")],
        ),
        ("an expired token", vec![("Authorization", &expired_b)]),
        (
            "a token for another audience",
            vec![("Authorization", &elsewhere_b)],
        ),
        (
            "a token signed with another secret",
            vec![("Authorization", &forged_b)],
        ),
    ];
    for (what, mut headers) in refused {
        headers.push(JSON);
        let reply = request(port, "POST", &path, &headers, body.as_bytes());
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{what}"
        );
        assert_eq!(reply.json()["error_code"], "UNAUTHENTICATED", "{what}");
    }
    let expired_reply = request(
        port,
        "POST",
        &path,
        &[JSON, ("Authorization", &expired_b)],
        body.as_bytes(),
    );
    assert!(
        expired_reply.body.contains("expired"),
        "{}",
        expired_reply.body
    );
    let audience_reply = request(
        port,
        "POST",
        &path,
        &[JSON, ("Authorization", &elsewhere_b)],
        body.as_bytes(),
    );
    assert!(
        audience_reply.body.contains("audience"),
        "{}",
        audience_reply.body
    );
    for headers in [
        vec![JSON, ("X-API-Key", key)],
        vec![JSON, ("Authorization", key_b.as_str())],
        vec![JSON, ("Authorization", valid_b.as_str())],
    ] {
        let reply = request(port, "POST", &path, &headers, body.as_bytes());
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.body);
    }
    for probe in ["/livez", "/readyz", "/metrics", "/ping"] {
        assert_eq!(
            request(port, "GET", probe, &[], b"").status,
            200,
            "{probe} stays open"
        );
    }
    assert_eq!(request(port, "POST", "/admin/reload", &[], b"").status, 401);
    let reload = request(port, "POST", "/admin/reload", &[("X-API-Key", key)], b"");
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert_eq!(reload.json()["serving"][0]["model"], MODEL);
    drop(server);
    let mut logged = std::fs::read_to_string(&log).unwrap();
    for file in std::fs::read_dir(root.join("logs")).unwrap() {
        logged.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap_or_default());
    }
    assert!(
        logged.contains("refused a request"),
        "the refusals are logged: {logged}"
    );
    for secret_text in [key, secret, &valid, &expired, &forged, &digest] {
        assert!(
            !logged.contains(secret_text),
            "a credential reached the log:\n{logged}"
        );
    }
}

/// A small deterministic generator (xorshift), so a failing body can be found again.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A body that is almost right, or not at all: values of every wrong kind, NaN and infinities,
/// huge numbers, deep nesting, empty lists, broken JSON, bytes that are not UTF-8, MLflow forms.
fn hostile(dice: &mut Dice) -> (String, Vec<u8>, &'static str) {
    let values = [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "\"NaN\"",
        "null",
        "true",
        "[]",
        "{}",
        "\"\"",
        "\"\\u0000\"",
        "18446744073709551616",
        "-0",
        "1.7976931348623157e308",
        "\"12\"",
        "[1,2]",
        "{\"a\":1}",
        "\"2015-13-45 99:99:99\"",
        "\"\\ud800\"",
    ];
    let fields = [
        "first_name",
        "email",
        "signup_date",
        "last_order_at",
        "orders",
        "basket_value",
        "sessions_30d",
        "unknown",
        "",
        "orders\u{0}",
    ];
    let good = records()[0].to_string();
    let predict = format!("/models/{MODEL}/predict");
    let body = match dice.below(13) {
        0 => {
            let mut record = records()[0].clone();
            let field = dice.pick(&fields);
            let value: Value = serde_json::from_str(dice.pick(&values)).unwrap_or(Value::Null);
            record[field] = value;
            format!("[{record}]")
        }
        1 => {
            let field = dice.pick(&fields);
            good.replacen(
                &format!("\"{field}\":"),
                &format!("\"{field}\":{},\"x\":", dice.pick(&values)),
                1,
            )
        }
        2 => format!("[{}]", dice.pick(&values)),
        3 => dice.pick(&values).to_string(),
        4 => {
            let depth = 1 + dice.below(5000);
            format!("{}{}", "[".repeat(depth), "]".repeat(dice.below(depth + 1)))
        }
        5 => {
            let cut = dice.below(good.len());
            format!("[{}", &good[..cut])
        }
        6 => {
            let mut bytes = format!("[{good}]").into_bytes();
            for _ in 0..1 + dice.below(4) {
                let i = dice.below(bytes.len());
                bytes[i] = dice.next() as u8;
            }
            return (predict, bytes, "application/json");
        }
        7 => format!(
            "{{\"dataframe_split\": {{\"columns\": [\"orders\"], \"data\": [[{}]]}}}}",
            dice.pick(&values)
        ),
        8 => format!(
            "{{\"{}\": {}}}",
            dice.pick(&["inputs", "instances", "dataframe_records", "params", "x"]),
            dice.pick(&values)
        ),
        9 => "[]".to_string(),
        10 => format!("[{}]", vec![good.as_str(); 1 + dice.below(3)].join(",")),
        11 => {
            let infer = format!(
                "{{\"id\": {}, \"inputs\": [{{\"name\": \"{}\", \"shape\": [{}], \"datatype\": \"{}\", \"data\": [{}]}}]}}",
                dice.pick(&values),
                dice.pick(&fields),
                dice.pick(&["1", "-1", "0", "1, 1", "2", "99999999999"]),
                dice.pick(&["FP64", "BYTES", "BOOL", "INT64", "NOPE"]),
                dice.pick(&values)
            );
            return (
                format!("/v2/models/{MODEL}/infer"),
                infer.into_bytes(),
                "application/json",
            );
        }
        _ => {
            let csv = format!(
                "orders,basket_value\n{},{}\n",
                dice.pick(&values),
                dice.pick(&values)
            );
            return ("/invocations".to_string(), csv.into_bytes(), "text/csv");
        }
    };
    let path = match dice.below(4) {
        0 => "/invocations".to_string(),
        1 => format!(
            "/models/{}/predict",
            dice.pick(&["Nope", "..", "%00", MODEL])
        ),
        _ => predict,
    };
    (path, body.into_bytes(), "application/json")
}

/// The server's resident memory, in bytes.
fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

#[test]
fn ten_thousand_hostile_bodies_get_no_5xx_and_the_server_answers_after() {
    let f = fitted();
    let (server, port) = api(&f.root, &[]);
    let path = format!("/models/{MODEL}/predict");
    let before = post(port, &path, &records());
    assert_eq!(before.status, 200);
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut statuses = std::collections::BTreeMap::new();
    let mut peak = 0;
    for i in 0..10_000 {
        let (target, body, kind) = hostile(&mut dice);
        let reply = request(port, "POST", &target, &[("Content-Type", kind)], &body);
        assert!(
            reply.status < 500,
            "body {i} to {target} got {}: {}\n{}",
            reply.status,
            reply.body,
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        );
        assert!(
            reply.json()["error"].is_string() || reply.status == 200,
            "{}",
            reply.body
        );
        *statuses.entry(reply.status).or_insert(0) += 1;
        if i % 500 == 0 {
            peak = peak.max(resident(server.0.id()));
        }
    }
    let after = post(port, &path, &records());
    assert_eq!(after.status, 200);
    assert_eq!(after.json()["predictions"], before.json()["predictions"]);
    assert!(
        peak < 400 << 20,
        "resident memory reached {} MB",
        peak >> 20
    );
    assert!(
        statuses.len() >= 3,
        "the bodies reached several answers: {statuses:?}"
    );
}

#[test]
fn an_open_inference_round_trip_matches_lore_predict_on_the_same_rows() {
    let f = fitted();
    std::fs::write(f.root.join("v2-rows.csv"), TWO_USERS).unwrap();
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
    let kinds: std::collections::BTreeMap<String, String> = meta["inputs"]
        .as_array()
        .unwrap()
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
            let data: Vec<Value> = users
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u[name].clone())
                .collect();
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

/// Chromium on the PATH, to load pages as a browser does; `None`, and the check skipped,
/// without one unless `LORE_REQUIRE_BROWSER` is set (scripts/test sets it; scripts/system-packages
/// installs Debian's chromium).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var("LORE_REQUIRE_BROWSER").is_err(),
            "LORE_REQUIRE_BROWSER is set but no chromium is on the PATH"
        );
        eprintln!("no chromium on the PATH: the docs page is not loaded in a browser");
    }
    found
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
