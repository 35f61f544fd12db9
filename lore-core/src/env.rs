//! Environments: the project root (marked by `Lore.toml`), `.env`, `LORE_ENV` and `config/*.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

mod layers;
pub use layers::{layered, settings, variable_origin, Layered, Setting, DEFAULT_ENV};

/// The file that marks a project's root folder.
pub const PROJECT_FILE: &str = "Lore.toml";

/// The environment a process runs in, from `LORE_ENV` (set by the real environment or the
/// project's `.env`): development (default), test, production, or any plain name.
pub fn current() -> String {
    std::env::var("LORE_ENV").unwrap_or_else(|_| DEFAULT_ENV.to_string())
}

/// A Lore project on disk, found by walking up from a folder to its `Lore.toml`.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `Lore.toml`.
    pub root: PathBuf,
    /// The application name from `Lore.toml`.
    pub name: String,
}

#[derive(Deserialize)]
struct ProjectFile {
    app: AppSection,
}

#[derive(Deserialize)]
struct AppSection {
    name: String,
}

impl Project {
    /// Finds the project containing `start`, reads its `Lore.toml` and loads its `.env` and
    /// `.env.<LORE_ENV>` (variables already set in the real environment win).
    pub fn discover(start: &Path) -> Result<Project> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let marker = d.join(PROJECT_FILE);
            if marker.is_file() {
                return Project::open(d);
            }
            dir = d.parent();
        }
        Err(Error::NoProject(start.to_path_buf()))
    }

    /// Opens the project whose root is `root`.
    pub fn open(root: &Path) -> Result<Project> {
        let marker = root.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&marker).map_err(|e| Error::io(&marker, e))?;
        let file: ProjectFile =
            toml::from_str(&text).map_err(|e| Error::config(&marker, toml_message(&e, &text)))?;
        layers::load_dotenv(root)?;
        Ok(Project {
            root: root.to_path_buf(),
            name: file.app.name,
        })
    }

    /// `src/extracts`: the SQL files that models read.
    pub fn extracts_dir(&self) -> PathBuf {
        self.root.join("src").join("extracts")
    }

    /// `src/models`: Rust models and declarative model specs (`*.toml`).
    pub fn model_sources_dir(&self) -> PathBuf {
        self.root.join("src").join("models")
    }

    /// `models`: every fitting, as `models/<Model>/<fitting id>/`; in the test environment
    /// `data/test/models`, so that `lore test` never mixes its fittings with real ones.
    pub fn fittings_dir(&self) -> PathBuf {
        if current() == "test" {
            return self.data_dir().join("test").join("models");
        }
        self.root.join("models")
    }

    /// `config/<file>` with `config/<LORE_ENV>/<file>` over it key by key; `None` when neither
    /// exists.
    pub fn config<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<Option<Layered<T>>> {
        layered(&self.root, &current(), file)
    }

    /// `data`: the sample database, the metadata database and caches.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The settings of connection `name` from `config/database.toml`, with `${VAR:-default}`
    /// expanded and relative SQLite paths made absolute against the project root.
    pub fn connection(&self, name: &str) -> Result<ConnectionConfig> {
        if let Some(config) = self.connection_opt(name)? {
            return Ok(config);
        }
        let (path, sections) = self.database_config(&current())?;
        Err(Error::config(
            &path,
            format!(
                "no connection [{name}]; the connections are: {}; add a [{name}] section with a url",
                sections.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// Like [`Project::connection`], but `None` when `config/database.toml` has no `[name]`.
    pub fn connection_opt(&self, name: &str) -> Result<Option<ConnectionConfig>> {
        self.connection_in(name, &current())
    }

    /// Connection `name` as environment `env` sees it (`lore test` reads the development one);
    /// `None` when it has no `[name]`.
    pub fn connection_in(&self, name: &str, env: &str) -> Result<Option<ConnectionConfig>> {
        let (path, mut sections) = self.database_config(env)?;
        let Some(section) = sections.remove(name) else {
            return Ok(None);
        };
        let raw: Vec<String> = match (section.url, section.urls) {
            (Some(UrlOrList::One(u)), None) => vec![u],
            (Some(UrlOrList::Many(us)), None) | (None, Some(us)) => us,
            (None, None) => {
                return Err(Error::config(
                    &path,
                    format!("[{name}] has no url = \"...\""),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    &path,
                    format!("[{name}] has both url and urls; keep one"),
                ))
            }
        };
        if raw.is_empty() {
            return Err(Error::config(&path, format!("[{name}] lists no urls")));
        }
        let urls = raw
            .iter()
            .map(|u| {
                expand_vars(u)
                    .map(|u| absolute_sqlite_url(&u, &self.root))
                    .map_err(|m| Error::config(&path, format!("[{name}] url: {m}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ConnectionConfig {
            name: name.to_string(),
            urls,
            sticky: section.sticky.unwrap_or(false),
            pool_size: section.pool_size.unwrap_or(4).max(1),
            connect_timeout: Duration::from_secs_f64(
                section.connect_timeout.unwrap_or(10.0).max(0.1),
            ),
            idle_timeout: section
                .idle_timeout
                .map(|s| Duration::from_secs_f64(s.max(0.1))),
            create: false,
        }))
    }

    /// The S3 store of `config/aws.toml` (`[s3]`, with `${VAR:-default}` expanded); `None` when
    /// the file is missing or its bucket is empty, which keeps fittings local.
    pub fn s3(&self) -> Result<Option<S3Settings>> {
        let Some(layered) = self.config::<AwsFile>("aws.toml")? else {
            return Ok(None);
        };
        let path = layered.shown();
        let Some(s3) = layered.value.s3 else {
            return Ok(None);
        };
        let expand = |key: &str, raw: &str| {
            expand_vars(raw).map_err(|m| Error::config(&path, format!("[s3] {key}: {m}")))
        };
        let bucket = expand("bucket", &s3.bucket)?.trim().to_string();
        if bucket.is_empty() {
            return Ok(None);
        }
        let optional = |key: &str, raw: &Option<String>| -> Result<Option<String>> {
            Ok(match raw {
                Some(raw) => Some(expand(key, raw)?.trim().to_string()).filter(|v| !v.is_empty()),
                None => None,
            })
        };
        let path_style = match &s3.path_style {
            None => false,
            Some(BoolOrText::Bool(b)) => *b,
            Some(BoolOrText::Text(raw)) => match expand("path_style", raw)?.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                other => {
                    return Err(Error::config(
                        &path,
                        format!("[s3] path_style: `{other}` is not true or false"),
                    ))
                }
            },
        };
        let prefix = optional("prefix", &s3.prefix)?
            .map(|p| p.trim_matches('/').to_string())
            .unwrap_or_default();
        if let Some(e) = optional("endpoint", &s3.endpoint)? {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(Error::config(
                    &path,
                    format!("[s3] endpoint: `{e}` is not a URL; write it as https://host[:port]"),
                ));
            }
        }
        Ok(Some(S3Settings {
            file: path.clone(),
            bucket,
            prefix,
            region: optional("region", &s3.region)?,
            endpoint: optional("endpoint", &s3.endpoint)?,
            path_style,
            part_size: (s3.part_size_mb.unwrap_or(16.0).max(5.0) * 1024.0 * 1024.0) as u64,
            attempts: s3.attempts.unwrap_or(4).max(1),
            timeout: Duration::from_secs_f64(s3.timeout.unwrap_or(60.0).max(0.1)),
        }))
    }

    fn database_config(&self, env: &str) -> Result<(PathBuf, BTreeMap<String, Section>)> {
        match layered(&self.root, env, "database.toml")? {
            Some(layered) => Ok((layered.shown(), layered.value)),
            None => {
                let path = self.root.join("config").join("database.toml");
                Err(Error::config(
                    &path,
                    "missing; it names the connections extracts read (`[main] url = ...`)",
                ))
            }
        }
    }
}

/// `config/aws.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AwsFile {
    s3: Option<S3Section>,
}

/// The `[s3]` section of `config/aws.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct S3Section {
    bucket: String,
    prefix: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    path_style: Option<BoolOrText>,
    part_size_mb: Option<f64>,
    attempts: Option<u32>,
    timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

/// Where fittings are shipped in S3, from `config/aws.toml`. Credentials are not here: they come
/// from the standard AWS chain (environment, profiles, instance roles).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Settings {
    /// The file the settings came from, for messages.
    pub file: PathBuf,
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside the bucket, without slashes at either end (may be empty).
    pub prefix: String,
    /// The region [default: the AWS chain's, else us-east-1].
    pub region: Option<String>,
    /// The URL of an S3-compatible server (MinIO, Garage, Ceph) instead of AWS.
    pub endpoint: Option<String>,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint`.
    pub path_style: bool,
    /// Files larger than this go up in parts of this size (at least 5 MiB, S3's floor).
    pub part_size: u64,
    /// How many times a request is tried before giving up (backing off between tries).
    pub attempts: u32,
    /// How long one try of a request may take.
    pub timeout: Duration,
}

/// One `[name]` section of `config/database.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    url: Option<UrlOrList>,
    urls: Option<Vec<String>>,
    sticky: Option<bool>,
    pool_size: Option<u32>,
    connect_timeout: Option<f64>,
    idle_timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UrlOrList {
    One(String),
    Many(Vec<String>),
}

/// The settings of one named connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionConfig {
    /// Its name in `config/database.toml` (`main`, `warehouse`, ...).
    pub name: String,
    /// One URL, or several for read replicas.
    pub urls: Vec<String>,
    /// With several URLs: keep to the first one that answers instead of rotating per statement.
    pub sticky: bool,
    /// Most open connections per URL.
    pub pool_size: u32,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// Close connections idle this long.
    pub idle_timeout: Option<Duration>,
    /// Create a missing SQLite file (for Lore's own databases, never for extracts).
    pub create: bool,
}

impl ConnectionConfig {
    /// A single-URL connection with default pool settings.
    pub fn single(name: &str, url: &str) -> ConnectionConfig {
        ConnectionConfig {
            name: name.to_string(),
            urls: vec![url.to_string()],
            sticky: false,
            pool_size: 4,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: None,
            create: false,
        }
    }
}

/// Expands `${VAR}` and `${VAR:-default}` from the process environment.
pub fn expand_vars(raw: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` at byte {start} has no closing `}}`"))?;
        let inner = &after[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(var), default) {
            (Ok(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            _ => return Err(format!("environment variable {var} is not set and has no default; set it in .env or the environment")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Makes the path of a `sqlite:` URL absolute against `root`; other URLs are returned unchanged.
pub fn absolute_sqlite_url(url: &str, root: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_string();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path == ":memory:" {
        return url.to_string();
    }
    let full = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        root.join(path)
    };
    match query {
        Some(q) => format!("sqlite://{}?{q}", full.display()),
        None => format!("sqlite://{}", full.display()),
    }
}

/// A TOML error message with its line and column.
pub fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = described(e.message());
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

/// A serde message with a "did you mean" when it names a close miss.
fn described(message: &str) -> String {
    let message = message.trim_end();
    match suggestion(message) {
        Some(close) => format!("{message}; did you mean `{close}`?"),
        None => message.to_string(),
    }
}

/// For serde's "unknown variant `Uniqe`, expected one of `Unique`, ..." (or field), the expected
/// name closest to the one given, when it is close enough to be a slip of the keyboard.
fn suggestion(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown variant `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    let (given, expected) = rest.split_once('`')?;
    let given = given.to_lowercase();
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| {
            (
                strsim::levenshtein(&given, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.to_string())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn expands_defaults_and_set_variables() {
        std::env::set_var("LORE_TEST_EXPAND", "postgres://x");
        assert_eq!(
            expand_vars("${LORE_TEST_EXPAND:-sqlite:a}").as_deref(),
            Ok("postgres://x")
        );
        assert_eq!(
            expand_vars("${LORE_TEST_UNSET_VAR:-sqlite:a}").as_deref(),
            Ok("sqlite:a")
        );
        assert!(expand_vars("${LORE_TEST_UNSET_VAR}")
            .unwrap_err()
            .contains("LORE_TEST_UNSET_VAR"));
    }

    fn project_with_aws(text: Option<&str>) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        if let Some(text) = text {
            std::fs::write(dir.path().join("config/aws.toml"), text).unwrap();
        }
        let project = Project {
            root: dir.path().to_path_buf(),
            name: "p".into(),
        };
        (dir, project)
    }

    #[test]
    fn s3_settings_come_from_config_aws_toml_and_an_empty_bucket_keeps_them_off() {
        let (_d, p) = project_with_aws(None);
        assert_eq!(p.s3().unwrap(), None, "no file: no S3");
        let (_d, p) = project_with_aws(Some("[s3]\nbucket = \"${LORE_TEST_UNSET_BUCKET:-}\"\n"));
        assert_eq!(p.s3().unwrap(), None, "an empty bucket: no S3");

        let text = "[s3]\nbucket = \"models\"\nprefix = \"/shop/\"\nendpoint = \"http://127.0.0.1:3900\"\n\
                    path_style = \"true\"\npart_size_mb = 1\nattempts = 0\n";
        let (_d, p) = project_with_aws(Some(text));
        let s = p.s3().unwrap().unwrap();
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("models", "shop"));
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert!(s.path_style);
        assert_eq!(s.part_size, 5 * 1024 * 1024, "never below S3's 5 MiB floor");
        assert_eq!(s.attempts, 1, "at least one try");
        assert_eq!(s.region, None);

        let (_d, p) = project_with_aws(Some(
            "[s3]\nbucket = \"b\"\nendpoint = \"localhost:9000\"\n",
        ));
        refused(p.s3(), &["aws.toml", "endpoint", "https://"]);
        let (_d, p) = project_with_aws(Some("[s3]\nbucket = \"b\"\npath_style = \"maybe\"\n"));
        assert!(p.s3().unwrap_err().to_string().contains("path_style"));
        let (_d, p) = project_with_aws(Some("[s3]\nbucket = \"b\"\nsecret_key = \"x\"\n"));
        refused(p.s3(), &["secret_key", "line 3"]);
    }

    #[test]
    fn relative_sqlite_paths_are_made_absolute() {
        let root = Path::new("/p");
        assert_eq!(
            absolute_sqlite_url("sqlite:data/a.sqlite", root),
            "sqlite:///p/data/a.sqlite"
        );
        assert_eq!(
            absolute_sqlite_url("sqlite:///abs/a.sqlite", root),
            "sqlite:///abs/a.sqlite"
        );
        assert_eq!(
            absolute_sqlite_url("postgres://h/db", root),
            "postgres://h/db"
        );
    }

    /// A project in a fresh folder whose `config/database.toml` is `database_toml`.
    pub(crate) fn project_with(database_toml: &str) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), "[app]\nname = \"t\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/database.toml"), database_toml).unwrap();
        std::fs::create_dir_all(dir.path().join("src/models")).unwrap();
        let project = Project::discover(&dir.path().join("src/models")).unwrap();
        (dir, project)
    }

    #[test]
    fn connections_resolve_against_the_root_and_missing_ones_are_listed() {
        let (dir, project) =
            project_with("[main]\nurl = \"${LORE_TEST_NO_SUCH_VAR:-sqlite:data/u.sqlite}\"\n");
        assert_eq!(project.name, "t");
        let expected = format!("sqlite://{}", dir.path().join("data/u.sqlite").display());
        assert_eq!(project.connection("main").unwrap().urls, vec![expected]);
        assert_eq!(project.connection_opt("warehouse").unwrap(), None);
        let e = project.connection("warehouse").unwrap_err().to_string();
        holds(&e, &["database.toml", "[warehouse]", "main"]);
        let (_dir, broken) = project_with("[main]\nurl = 3\n");
        refused(broken.connection("main"), &["line 2"]);
        let (_dir, typo) = project_with("[main]\nurl = \"sqlite:x\"\npoolsize = 3\n");
        refused(typo.connection("main"), &["poolsize"]);
        let (_dir, replicas) = project_with(
            "[r]\nurls = [\"postgres://a/db\", \"postgres://b/db\"]\nsticky = true\npool_size = 2\n",
        );
        let r = replicas.connection("r").unwrap();
        assert_eq!((r.urls.len(), r.sticky, r.pool_size), (2, true, 2));
    }

    #[test]
    fn outside_a_project_says_how_to_start_one() {
        let dir = tempfile::tempdir().unwrap();
        refused(Project::discover(dir.path()), &["Lore.toml", "lore init"]);
    }

    #[test]
    fn toml_errors_name_line_and_column() {
        let text = "a = 1\nb = \n";
        let e = toml::from_str::<toml::Value>(text).unwrap_err();
        assert!(toml_message(&e, text).starts_with("line 2"));
    }
}
