//! The layers of one environment's configuration, after Kedro's `conf/base` + `conf/local` and
//! Rails' environments: `config/<file>.toml` is the base and `config/<env>/<file>.toml` overrides
//! it key by key; `.env` then `.env.<env>` give variables, and real environment variables win
//! over both. [`settings`] says where each resolved value came from, for `lore env`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{described, expand_vars, toml_message};
use crate::error::{Error, Result};
use crate::paths;
use crate::redact::{is_secret_name, redact, MASK};

/// The environment when `LORE_ENV` is set nowhere.
pub const DEFAULT_ENV: &str = "development";

/// Config and `.env` files larger than this are refused.
const MAX_FILE: u64 = 1 << 20;

/// Which `.env` file set each variable this process took from one.
fn origins() -> &'static Mutex<BTreeMap<String, PathBuf>> {
    static ORIGINS: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    ORIGINS.get_or_init(Default::default)
}

/// Reads a config or `.env` file, refusing one too large to be configuration.
fn read_small(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_FILE {
        return Err(Error::config(
            path,
            format!("{size} bytes is too large for configuration (at most 1 MiB)"),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// The `NAME=value` pairs of the `.env`-style file `path`, in order; none when it is missing.
fn dotenv_pairs(path: &Path) -> Result<Vec<(String, String)>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = read_small(path)?;
    let bad = |e: dotenvy::Error| Error::config(path, format!("{e}; each line must be NAME=value"));
    dotenvy::from_read_iter(text.as_bytes())
        .map(|pair| pair.map_err(bad))
        .collect()
}

/// Sets the variables of `root`'s `.env` and `.env.<env>` that the real environment does not:
/// `.env.<env>` wins over `.env`. The environment is `LORE_ENV` from the real environment, else
/// from `.env` (which sets it then), else development; it is returned.
pub(super) fn load_dotenv(root: &Path) -> Result<String> {
    let base = root.join(".env");
    let base_pairs = dotenv_pairs(&base)?;
    let env = environment(std::env::var("LORE_ENV").ok(), &base_pairs)?;
    let own = root.join(format!(".env.{env}"));
    let mut chosen: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    for (path, pairs) in [
        (base.clone(), base_pairs),
        (own.clone(), dotenv_pairs(&own)?),
    ] {
        for (key, value) in pairs {
            chosen.insert(key, (value, path.clone()));
        }
    }
    let mut origins = origins().lock().unwrap_or_else(|p| p.into_inner());
    for (key, (value, path)) in chosen {
        let from_file = origins.get(&key).is_some_and(|p| p.starts_with(root));
        if std::env::var_os(&key).is_none() || from_file {
            std::env::set_var(&key, value);
            origins.insert(key, path);
        }
    }
    Ok(env)
}

/// The environment: `real` (the real environment's `LORE_ENV`), else `.env`'s, else development;
/// refused unless it is a plain name, since it names a folder and files.
fn environment(real: Option<String>, dotenv: &[(String, String)]) -> Result<String> {
    let env = real
        .or_else(|| {
            dotenv
                .iter()
                .rev()
                .find(|(k, _)| k == "LORE_ENV")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| DEFAULT_ENV.to_string());
    paths::checked("environment", &env, "LORE_ENV")?;
    Ok(env)
}

/// Where variable `name` came from: a `.env` file, the real environment, or nowhere.
pub fn variable_origin(name: &str) -> String {
    let origins = origins().lock().unwrap_or_else(|p| p.into_inner());
    match (origins.get(name), std::env::var_os(name)) {
        (Some(path), _) => file_name(path),
        (None, Some(_)) => "the environment".to_string(),
        (None, None) => "unset".to_string(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A config file read for one environment: its value and the files it came from.
#[derive(Debug)]
pub struct Layered<T> {
    /// The merged settings.
    pub value: T,
    /// `config/<file>` and `config/<env>/<file>`, those that exist, base first.
    pub files: Vec<PathBuf>,
}

impl<T> Layered<T> {
    /// The files as one path for messages: `config/x.toml`, or `config/x.toml (with
    /// config/test/x.toml over it)`.
    pub fn shown(&self) -> PathBuf {
        shown(&self.files)
    }
}

/// Config files as one path for messages (see [`Layered::shown`]).
fn shown(files: &[PathBuf]) -> PathBuf {
    match files {
        [one] => one.clone(),
        [base, over] => PathBuf::from(format!(
            "{} (with {} over it)",
            base.display(),
            over.display()
        )),
        _ => PathBuf::new(),
    }
}

/// The two layers of `config/<file>` for environment `env`, those that exist.
fn layer_paths(root: &Path, env: &str, file: &str) -> Vec<PathBuf> {
    let config = root.join("config");
    [config.join(file), config.join(env).join(file)]
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// `config/<file>` of the project at `root` with `config/<env>/<file>` over it key by key (tables
/// merge, anything else is replaced), as `T`; `None` when neither file exists.
pub fn layered<T: DeserializeOwned>(
    root: &Path,
    env: &str,
    file: &str,
) -> Result<Option<Layered<T>>> {
    let files = layer_paths(root, env, file);
    let value = match files.as_slice() {
        [] => return Ok(None),
        [one] => {
            let text = read_small(one)?;
            toml::from_str(&text).map_err(|e| Error::config(one, toml_message(&e, &text)))?
        }
        _ => {
            let mut merged = toml::Table::new();
            for path in &files {
                merge(&mut merged, table(path)?);
            }
            let shown = Layered {
                value: (),
                files: files.clone(),
            }
            .shown();
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| Error::config(&shown, described(e.message())))?
        }
    };
    Ok(Some(Layered { value, files }))
}

fn table(path: &Path) -> Result<toml::Table> {
    let text = read_small(path)?;
    toml::from_str(&text).map_err(|e| Error::config(path, toml_message(&e, &text)))
}

/// `over` laid on `base`: a table in both merges key by key, anything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// One resolved setting, as `lore env` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// `database.main.url`: the file's stem, then the keys.
    pub key: String,
    /// The value with `${VAR}` expanded and secrets masked.
    pub value: String,
    /// The file that set it, relative to the project root.
    pub file: String,
    /// Each `${VAR}` in it and where that variable came from (a `.env` file, the environment,
    /// or `default`).
    pub variables: BTreeMap<String, String>,
}

/// Every setting of every `config/*.toml` for environment `env`, resolved, in key order.
pub fn settings(root: &Path, env: &str) -> Result<Vec<Setting>> {
    let config = root.join("config");
    let mut files: Vec<String> = Vec::new();
    for dir in [config.clone(), config.join(env)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") && entry.path().is_file() && !files.contains(&name) {
                files.push(name);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let stem = file.trim_end_matches(".toml").to_string();
        let mut leaves: BTreeMap<String, (toml::Value, PathBuf)> = BTreeMap::new();
        for path in layer_paths(root, env, &file) {
            flatten(&stem, table(&path)?, &path, &mut leaves);
        }
        for (key, (value, path)) in leaves {
            out.push(setting(root, key, &value, &path));
        }
    }
    Ok(out)
}

fn flatten(
    prefix: &str,
    table: toml::Table,
    path: &Path,
    out: &mut BTreeMap<String, (toml::Value, PathBuf)>,
) {
    for (key, value) in table {
        let key = format!("{prefix}.{key}");
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, path, out),
            value => {
                out.insert(key, (value, path.to_path_buf()));
            }
        }
    }
}

fn setting(root: &Path, key: String, value: &toml::Value, path: &Path) -> Setting {
    let mut variables = BTreeMap::new();
    let raw = match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (name, has_default) in references(&raw) {
        let origin = variable_origin(&name);
        let origin = if origin == "unset" && has_default {
            "default".to_string()
        } else {
            origin
        };
        variables.insert(name, origin);
    }
    let leaf = key.rsplit('.').next().unwrap_or_default();
    let value = if is_secret_name(leaf) {
        MASK.to_string()
    } else {
        match expand_vars(&raw) {
            Ok(expanded) => redact(&expanded),
            Err(message) => format!("{} ({message})", redact(&raw)),
        }
    };
    Setting {
        key,
        value,
        file: path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string(),
        variables,
    }
}

/// The variables `${NAME}` / `${NAME:-default}` named in `raw`, each with whether it has a default.
fn references(raw: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        match inner.split_once(":-") {
            Some((name, _)) => out.push((name.to_string(), true)),
            None => out.push((inner.to_string(), false)),
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Db {
        main: Conn,
        metadata: Option<Conn>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Conn {
        url: String,
        pool_size: Option<u32>,
    }

    #[test]
    fn an_environment_overrides_the_base_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "config/database.toml",
            "[main]\nurl = \"sqlite:a\"\npool_size = 3\n\n[metadata]\nurl = \"sqlite:m\"\n",
        );
        write(
            root,
            "config/production/database.toml",
            "[main]\nurl = \"postgres://u:hunter2@db/x\"\n",
        );
        let base: Layered<Db> = layered(root, "development", "database.toml")
            .unwrap()
            .unwrap();
        assert_eq!(base.value.main.url, "sqlite:a");
        assert_eq!(base.files.len(), 1);
        let prod: Layered<Db> = layered(root, "production", "database.toml")
            .unwrap()
            .unwrap();
        assert_eq!(prod.value.main.url, "postgres://u:hunter2@db/x");
        assert_eq!(
            prod.value.main.pool_size,
            Some(3),
            "keys it does not name stay"
        );
        assert_eq!(prod.value.metadata.as_ref().unwrap().url, "sqlite:m");
        assert!(prod
            .shown()
            .to_string_lossy()
            .contains("production/database.toml over it"));
        assert!(layered::<Db>(root, "development", "api.toml")
            .unwrap()
            .is_none());

        write(
            root,
            "config/staging/database.toml",
            "[main]\npoolsize = 2\n",
        );
        refused(
            layered::<Db>(root, "staging", "database.toml"),
            &["staging/database.toml", "poolsize", "pool_size"],
        );

        let settings = settings(root, "production").unwrap();
        let url = settings
            .iter()
            .find(|s| s.key == "database.main.url")
            .unwrap();
        assert_eq!(url.file, "config/production/database.toml");
        assert!(!url.value.contains("hunter2"), "{url:?}");
        let pool = settings
            .iter()
            .find(|s| s.key == "database.main.pool_size")
            .unwrap();
        assert_eq!(
            (pool.file.as_str(), pool.value.as_str()),
            ("config/database.toml", "3")
        );
    }

    #[test]
    fn variables_name_their_origin_and_secret_keys_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "config/aws.toml", "[s3]\nbucket = \"${LORE_T_LAYER_BUCKET:-none}\"\nsecret_key = \"plain\"\nother = \"${LORE_T_LAYER_UNSET:-d}\"\n");
        write(root, ".env", "LORE_T_LAYER_BUCKET=from-env-file\n");
        let env = load_dotenv(root).unwrap();
        let settings = settings(root, &env).unwrap();
        let bucket = settings.iter().find(|s| s.key == "aws.s3.bucket").unwrap();
        assert_eq!(bucket.value, "from-env-file");
        assert_eq!(bucket.variables["LORE_T_LAYER_BUCKET"], ".env");
        let other = settings.iter().find(|s| s.key == "aws.s3.other").unwrap();
        assert_eq!(other.variables["LORE_T_LAYER_UNSET"], "default");
        let secret = settings
            .iter()
            .find(|s| s.key == "aws.s3.secret_key")
            .unwrap();
        assert_eq!(secret.value, MASK);
    }

    #[test]
    fn the_environment_comes_from_the_real_one_then_dotenv_and_cannot_leave_its_folder() {
        let pair = |v: &str| vec![("LORE_ENV".to_string(), v.to_string())];
        assert_eq!(environment(None, &[]).unwrap(), DEFAULT_ENV);
        assert_eq!(environment(None, &pair("staging")).unwrap(), "staging");
        assert_eq!(
            environment(Some("test".into()), &pair("staging")).unwrap(),
            "test"
        );
        refused(
            environment(None, &pair("../../etc")),
            &["LORE_ENV", "../../etc"],
        );
        refused(environment(Some("a/b".into()), &[]), &["LORE_ENV"]);
    }
}
