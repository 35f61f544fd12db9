//! End-to-end serving, the safety of it: authentication, the limits that shed load, SIGTERM
//! with requests in flight, promotions under load, and a fuzz of hostile bodies, all against
//! `lore api` over real HTTP.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::served::*;
use common::*;

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
    let explain_body = many(50_000);
    let (_server, port) = api(&f.root, &["--request-timeout", "0.1"]);
    let reply = request(port, "POST", &explained, &[JSON], &explain_body);
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.json()["error_code"], "DEADLINE_EXCEEDED");

    // One prediction at a time: of several big requests at once, some are shed.
    let (_server, port) = api(&f.root, &["--max-concurrency", "1"]);
    let body = many(20_000);
    let replies = at_once(6, port, &path, &body, || {});
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
    let replies = at_once(4, port, &explained, &explain_body, || {
        std::thread::sleep(Duration::from_millis(200));
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    });
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "lore api exits 0 after SIGTERM: {status}");
}

/// The answers to `n` requests posting `body` to `path` at once, `meanwhile` run while they are
/// in flight.
fn at_once(n: usize, port: u16, path: &str, body: &[u8], meanwhile: impl FnOnce()) -> Vec<Reply> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| s.spawn(|| request(port, "POST", path, &[JSON], body)))
            .collect();
        meanwhile();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
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
    refuses(
        &root,
        &["api", "--host", "0.0.0.0", "--port", "0"],
        &["--allow-unauthenticated", "--api-key-sha256"],
    );

    let key = "lore-test-key-7f3a9c2e";
    let secret = "lore-test-secret-0123456789abcdef0123456789";
    put(&root, "config/api.toml", "[auth]\napi_keys_sha256 = [\"${LORE_TEST_KEY_DIGEST}\"]\n\n[auth.jwt]\nalgorithm = \"HS256\"\n\
         secret = \"${LORE_TEST_JWT_SECRET}\"\naudience = \"lore-test\"\n");
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
    for (token, why) in [(&expired_b, "expired"), (&elsewhere_b, "audience")] {
        let reply = request(
            port,
            "POST",
            &path,
            &[JSON, ("Authorization", token)],
            body.as_bytes(),
        );
        holds(&reply.body, &[why]);
    }
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
        COLUMNS[0],
        COLUMNS[1],
        COLUMNS[2],
        COLUMNS[3],
        COLUMNS[4],
        COLUMNS[5],
        COLUMNS[6],
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
            peak = peak.max(resident_bytes(server.0.id()));
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
