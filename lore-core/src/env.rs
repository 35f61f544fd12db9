//! Environments: the project root (marked by `Lore.toml`), `.env`, `LORE_ENV` and `config/*.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file that marks a project's root folder.
pub const PROJECT_FILE: &str = "Lore.toml";

/// The environment a process runs in, from `LORE_ENV`: development (default), test or production.
pub fn current() -> String {
    std::env::var("LORE_ENV").unwrap_or_else(|_| "development".to_string())
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
    /// Finds the project containing `start`, reads its `Lore.toml` and loads its `.env`
    /// (variables already set in the real environment win).
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
        let dotenv = root.join(".env");
        if dotenv.is_file() {
            dotenvy::from_path(&dotenv).map_err(|e| {
                Error::config(&dotenv, format!("{e}; each line must be NAME=value"))
            })?;
        }
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

    /// `models`: every fitting, as `models/<Model>/<fitting id>/`.
    pub fn fittings_dir(&self) -> PathBuf {
        self.root.join("models")
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
        let (path, sections) = self.database_config()?;
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
        let (path, mut sections) = self.database_config()?;
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

    fn database_config(&self) -> Result<(PathBuf, BTreeMap<String, Section>)> {
        let path = self.root.join("config").join("database.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let sections =
            toml::from_str(&text).map_err(|e| Error::config(&path, toml_message(&e, &text)))?;
        Ok((path, sections))
    }
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
    let message = e.message().trim_end();
    let message = match suggestion(message) {
        Some(close) => format!("{message}; did you mean `{close}`?"),
        None => message.to_string(),
    };
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {message}")
        }
        None => message,
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

/// Removes the password from a database URL so it can be shown or logged.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((auth, host)) = rest.split_once('@') {
            let user = auth.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn project_with(database_toml: &str) -> (tempfile::TempDir, Project) {
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
        assert!(
            e.contains("database.toml") && e.contains("[warehouse]") && e.contains("main"),
            "{e}"
        );
        let (_dir, broken) = project_with("[main]\nurl = 3\n");
        assert!(broken
            .connection("main")
            .unwrap_err()
            .to_string()
            .contains("line 2"));
        let (_dir, typo) = project_with("[main]\nurl = \"sqlite:x\"\npoolsize = 3\n");
        assert!(typo
            .connection("main")
            .unwrap_err()
            .to_string()
            .contains("poolsize"));
        let (_dir, replicas) = project_with(
            "[r]\nurls = [\"postgres://a/db\", \"postgres://b/db\"]\nsticky = true\npool_size = 2\n",
        );
        let r = replicas.connection("r").unwrap();
        assert_eq!((r.urls.len(), r.sticky, r.pool_size), (2, true, 2));
    }

    #[test]
    fn outside_a_project_says_how_to_start_one() {
        let dir = tempfile::tempdir().unwrap();
        let e = Project::discover(dir.path()).unwrap_err().to_string();
        assert!(e.contains("Lore.toml") && e.contains("lore init"), "{e}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://me:secret@h/db"),
            "postgres://me:***@h/db"
        );
    }

    #[test]
    fn toml_errors_name_line_and_column() {
        let text = "a = 1\nb = \n";
        let e = toml::from_str::<toml::Value>(text).unwrap_err();
        assert!(toml_message(&e, text).starts_with("line 2"));
    }
}
