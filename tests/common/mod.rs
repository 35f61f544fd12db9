//! What the end-to-end tests share: running the built `lore` binary in a folder, a fresh
//! folder for each test's projects, and `lore api` on a free port with a plain HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub mod served;

// One copy of lore-core's test helpers; not every test binary uses each.
#[path = "../../lore-core/src/testing.rs"]
mod testing;
#[allow(unused_imports)]
pub use testing::*;

/// Writes `contents` to `path` under `dir`, as a user saves a file.
#[track_caller]
pub fn put(dir: &Path, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
    std::fs::write(dir.join(path), contents).unwrap();
}

pub fn lore(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lore"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("lore runs")
}

pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "lore failed ({}):\nstdout: {}\nstderr: {stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command that must succeed printed, parsed as JSON (its `--json` output).
#[track_caller]
pub fn ok_json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// Runs `lore` with `args` in `dir`, which must succeed and print every one of `parts`.
#[track_caller]
pub fn prints(dir: &Path, args: &[&str], parts: &[&str]) {
    holds(&ok(&lore(dir, args)), parts);
}

/// Runs `lore` with `args` in `dir`, which must fail saying every one of `parts`.
#[track_caller]
pub fn refuses(dir: &Path, args: &[&str], parts: &[&str]) {
    holds(&failed(&lore(dir, args)), parts);
}

/// The items of the JSON list `v`.
#[track_caller]
pub fn items(v: &Value) -> &[Value] {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .as_slice()
}

pub fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "lore should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Chromium on the PATH, to load pages as a browser does; `None`, and the check skipped,
/// without one unless `LORE_REQUIRE_BROWSER` is set (scripts/test sets it; scripts/system-packages
/// installs Debian's chromium).
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var("LORE_REQUIRE_BROWSER").is_err(),
            "LORE_REQUIRE_BROWSER is set but no chromium is on the PATH"
        );
        eprintln!("no chromium on the PATH: pages are not loaded in a browser");
    }
    found
}

/// A fresh folder for this run's projects.
pub fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

/// A project `name` made by `lore init` with `rows` sample users, in a fresh folder of its own.
pub fn sample_project(name: &str, rows: u32) -> PathBuf {
    let dir = workdir(name);
    ok(&lore(
        &dir,
        &["init", name, "--sample-rows", &rows.to_string()],
    ));
    dir.join(name)
}

/// A `lore api` process, stopped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to lore api");
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// `lore api --port 0` with `args` in `root`, and the port it listens on.
pub fn api(root: &Path, args: &[&str]) -> (Server, u16) {
    api_with_env(root, args, &[], Stdio::inherit())
}

/// [`api`] with its standard error written to the file `log`.
pub fn api_logged(root: &Path, args: &[&str], log: &Path) -> (Server, u16) {
    let file = std::fs::File::create(log).unwrap();
    api_with_env(root, args, &[], Stdio::from(file))
}

/// [`api`] with the environment variables `env` set and standard error sent to `stderr`.
pub fn api_with_env(
    root: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stderr: Stdio,
) -> (Server, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lore"))
        .args(["api", "--port", "0"])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("lore api starts");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // The rest (the fittings served, the protocols) is read and dropped, so the pipe never fills.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

/// Checks with tests/python/booster_in_python.py that Python's xgboost, loading the booster of
/// the fitting `fitted` (`lore fit --json`'s answer), predicts exactly the numbers of the fit for
/// the encoded rows `lore fit --export` wrote to `export`.
pub fn booster_in_python(python: &Path, fitted: &Value, export: &Path) {
    let checked = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/booster_in_python.py"))
        .arg(fitted["path"].as_str().unwrap())
        .arg(export)
        .output()
        .expect("python runs");
    assert!(
        checked.status.success(),
        "{}: {}{}",
        export.display(),
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// Two users as a CSV file of the sample's columns.
pub const TWO_USERS: &str =
    "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d\n\
     John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4\n\
     Ann,ann@nowhere.example,2016-01-02 10:00:00,2018-05-01 09:00:00,1,5.5,0\n";

/// An HTTP answer: status, headers (names lowercase) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (null when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One request with `headers` and `body` on a connection of its own.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to lore api");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (a 413, a 504) before it has read the whole body, and close.
    let _ = stream.write_all(body);
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("no answer to {method} {path}: {e}"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The resident memory of process `pid`, in bytes.
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A declared model over the sample users predicting `output` (a TOML table) from activity.
pub fn activity_model(extract: &str, output: &str, estimator: &str) -> String {
    format!(
        "[pipeline.extract]\nsql = \"{extract}\"\n\n[pipeline.split]\ntype = \"Holdout\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"orders\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"basket_value\"\n\n\
         [pipeline.output]\n{output}\n\n[estimator]\ntype = \"XGBoost\"\n{estimator}\n"
    )
}

/// Writes the `segments` extract into the sample project at `root`, and two models over it:
/// `Segments` (one of three classes) and `Sessions` (a number, its booster saved as UBJ).
pub fn write_segment_models(root: &Path) {
    put(root, "src/extracts/segments.sql", SEGMENTS_SQL);
    put(
        root,
        "src/models/segments.toml",
        activity_model(
            "segments",
            "type = \"Unique\"\ncolumn = \"segment\"",
            "max_depth = 2",
        ),
    );
    put(
        root,
        "src/models/sessions.toml",
        activity_model(
            "segments",
            "type = \"Pass\"\ncolumn = \"sessions_30d\"",
            "model_format = \"ubj\"",
        ),
    );
}

/// The sample's segments: each user's activity and a class made from its sessions.
const SEGMENTS_SQL: &str =
    "SELECT orders, basket_value, sessions_30d, CASE WHEN sessions_30d >= 5 THEN 'heavy' \
     WHEN sessions_30d >= 2 THEN 'regular' ELSE 'light' END AS segment FROM users ORDER BY id";
