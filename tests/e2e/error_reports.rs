//! Error reports: a failing fit and a 500 of `lore api` each reach a real Sentry-compatible
//! server (Bugsink, started on loopback by scripts/bugsink) as one event, labelled with the
//! release, environment, model and fitting, and holding none of the secrets planted in the
//! connection URL, the config, the environment and the request.

use super::*;
use std::time::{Duration, Instant};

/// Secrets planted where a careless report would pick them up; none may reach the server.
const PLANTED: [&str; 6] = [
    "planted-literal-pw-1",
    "planted-ssl-2",
    "planted-env-password-3",
    "planted-api-key-4",
    "planted-query-token-5",
    "planted-jwt-secret-6-0123456789abcdef",
];

/// scripts/bugsink, as scripts/test started it; `None` (the case is skipped) without it, which
/// `LORE_REQUIRE_SENTRY=1` (scripts/test, CI) turns into a failure.
fn bugsink() -> Option<PathBuf> {
    match std::env::var_os("LORE_TEST_BUGSINK") {
        Some(script) => Some(PathBuf::from(script)),
        None => {
            assert!(
                std::env::var("LORE_REQUIRE_SENTRY").is_err(),
                "LORE_REQUIRE_SENTRY is set but LORE_TEST_BUGSINK is not"
            );
            eprintln!(
                "LORE_TEST_BUGSINK is not set: error reports skipped (scripts/test starts Bugsink)"
            );
            None
        }
    }
}

/// `scripts/bugsink ARGS`, which must succeed; its standard output.
fn bugsink_says(script: &Path, args: &[&str]) -> String {
    let out = Command::new(script)
        .args(args)
        .output()
        .expect("bugsink runs");
    assert!(out.status.success(), "scripts/bugsink {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DSN of a new Bugsink project `name`.
fn new_dsn(script: &Path, name: &str) -> String {
    let dsn = bugsink_says(script, &["project", name]).trim().to_string();
    assert!(dsn.starts_with("http://"), "no DSN: {dsn:?}");
    dsn
}

/// The events the project of `dsn` received once `count` have arrived (within 60 s), and after
/// a few seconds more in which no other may come.
fn events(script: &Path, dsn: &str, count: usize) -> Vec<Value> {
    let read = || -> Vec<Value> {
        bugsink_says(script, &["events", dsn])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let started = Instant::now();
    while read().len() < count && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(3));
    let events = read();
    assert_eq!(events.len(), count, "{events:#?}");
    events
}

/// The one event the project of `dsn` received, which must hold no planted secret anywhere and
/// be labelled with `release`, `environment` and the model.
fn one_event(script: &Path, dsn: &str, release: &str, environment: &str) -> Value {
    let [event] = &events(script, dsn, 1)[..] else {
        unreachable!()
    };
    let text = event.to_string();
    for secret in PLANTED {
        assert!(
            !text.contains(secret),
            "{secret} reached the server: {text}"
        );
    }
    assert_eq!(event["release"], release, "{event}");
    assert_eq!(event["environment"], environment, "{event}");
    assert_eq!(event["tags"]["model"], "SubscribersDeclared", "{event}");
    event.clone()
}

#[test]
fn a_failing_fit_and_a_500_of_the_api_each_arrive_once_labelled_and_scrubbed() {
    let Some(script) = bugsink() else { return };
    let root = project("error-reports", "reported", 3000);
    put(
        &root,
        ".env",
        "REPORTS_DB_PASSWORD=planted-env-password-3\nLORE_JWT_SECRET=planted-jwt-secret-6-0123456789abcdef\n",
    );
    put(
        &root,
        "config/api.toml",
        format!(
            "[auth]\napi_keys_sha256 = [\"{}\"]\n\n[auth.jwt]\nalgorithm = \"HS256\"\n\
             secret = \"${{LORE_JWT_SECRET}}\"\n",
            lore_core::serve::key_digest("planted-api-key-4")
        ),
    );
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "a new project"]);
    let commit = git(&root, &["rev-parse", "--short=12", "HEAD"]);
    let release = format!(
        "reported@{}+lore-{}",
        commit.trim(),
        env!("CARGO_PKG_VERSION")
    );
    let fitted = fit_declared(&root, &[]);
    let fitting = fitted["fitting_id"].as_str().unwrap();

    // A fit in staging, whose database is down: one event, sent before the process exits.
    std::fs::create_dir_all(root.join("config/staging")).unwrap();
    put(
        &root,
        "config/staging/database.toml",
        "[main]\nurl = \"postgres://lore:planted-literal-pw-1@127.0.0.1:9/users?sslpassword=planted-ssl-2\"\n",
    );
    let dsn = new_dsn(&script, "fit");
    let out = lore_env(
        &root,
        &["fit", "SubscribersDeclared"],
        &[("LORE_ENV", "staging"), ("SENTRY_DSN", &dsn)],
    );
    let said = failed(&out);
    assert!(!said.contains("not reporting"), "{said}");
    let event = one_event(&script, &dsn, &release, "staging");
    assert_eq!(event["tags"]["command"], "fit", "{event}");
    assert!(
        event.to_string().contains("127.0.0.1:9"),
        "the event says what failed: {event}"
    );

    // `lore api`, its DSN in .env; the metadata database goes down while it serves, so storing
    // feedback answers 500. The request carries an API key, and a token in its URL.
    let dsn = new_dsn(&script, "api");
    let env = std::fs::read_to_string(root.join(".env")).unwrap();
    put(&root, ".env", format!("{env}SENTRY_DSN={dsn}\n"));
    let (_server, port) = api(&root, &["--refresh", "0"]);
    let auth = ("Authorization", "Bearer planted-api-key-4");
    let json = ("Content-Type", "application/json");
    let ann = r#"{"first_name": "Ann", "email": "ann@nowhere.example", "orders": 1,
        "signup_date": "2016-01-02 10:00:00", "last_order_at": "2018-05-01 09:00:00",
        "basket_value": 5.5, "sessions_30d": 0}"#;
    let record = format!("[{ann}]");
    let path = "/models/SubscribersDeclared/predict";
    let answer = request(port, "POST", path, &[auth, json], record.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let database = std::fs::read_to_string(root.join("config/database.toml")).unwrap();
    put(
        &root,
        "config/database.toml",
        database.replace(
            "${LORE_METADATA_URL:-sqlite:data/metadata.sqlite}",
            "postgres://lore:${REPORTS_DB_PASSWORD}@127.0.0.1:9/metadata",
        ),
    );
    let path = "/models/SubscribersDeclared/feedback?token=planted-query-token-5";
    let body = format!(r#"{{"record": {ann}, "label": 1}}"#);
    let answer = request(port, "POST", path, &[auth, json], body.as_bytes());
    assert_eq!(answer.status, 500, "{}", answer.body);
    let event = one_event(&script, &dsn, &release, "development");
    assert_eq!(event["tags"]["command"], "api", "{event}");
    assert_eq!(event["tags"]["fitting"], fitting, "{event}");
    assert_eq!(
        event["tags"]["route"], "POST /models/{name}/feedback",
        "{event}"
    );
}
