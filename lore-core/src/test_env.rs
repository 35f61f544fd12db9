//! The test environment `lore test` runs in (`LORE_ENV=test`): a small SQLite database of its own
//! behind the `main` connection, made from the first rows of each table of the development
//! database, or from the fixture files under `tests/fixtures/`, so tests never touch real data;
//! and the check of each model on it: its extract runs under a `LIMIT` and a fit on those rows
//! succeeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env::{self, Project};
use crate::error::{Error, Result};
use crate::io::{files, Backend, Connection, Database, Extract, Origin, ReadOptions};
use crate::models::{self, FitOptions, ModelSpec};
use crate::paths;

/// The environment `lore test` runs in.
pub const ENV: &str = "test";

/// Where fixture files live, one table each (`users.csv` is the table `users`).
pub const FIXTURES: &str = "tests/fixtures";

/// Rows copied of each development table, and rows each model's extract is cut to.
pub const ROWS: usize = 2000;

/// Most tables a test database is made of, so a huge schema cannot stall `lore test`.
const MAX_TABLES: usize = 256;

/// The parameter that carries the row limit of a model's extract.
const LIMIT_PARAM: &str = "lore_test_rows";

/// The test database as [`prepare`] left it.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// The SQLite file.
    pub path: PathBuf,
    /// Whether it was made now (false: it was there already).
    pub made: bool,
    /// What it was made from: the fixtures folder or the development connection (no password).
    pub source: String,
    /// Each table made and its rows.
    pub tables: Vec<(String, u64)>,
}

/// The SQLite file behind the test environment's `main` connection, made when missing (or when
/// `fresh`): from `tests/fixtures/` when that folder holds data files, else from the first
/// `rows` rows of each table of the development environment's `main` connection.
pub async fn prepare(project: &Project, rows: usize, fresh: bool) -> Result<TestDatabase> {
    let config_path = project.root.join("config").join(ENV).join("database.toml");
    if env::current() != ENV {
        return Err(Error::config(
            &config_path,
            format!(
                "LORE_ENV is `{}`: the test database is made only with LORE_ENV={ENV}",
                env::current()
            ),
        ));
    }
    let main = project.connection("main")?;
    let path = main
        .urls
        .first()
        .and_then(|url| sqlite_file(url))
        .ok_or_else(|| {
            Error::config(
                &config_path,
                "the test environment's [main] connection is not a SQLite file; `lore test` \
                 makes its database there: set url = \"sqlite:data/test.sqlite\"",
            )
        })?;
    let mut database = TestDatabase {
        path: path.clone(),
        made: false,
        source: String::new(),
        tables: Vec::new(),
    };
    if path.is_file() && !fresh {
        return Ok(database);
    }
    let making = path.with_extension("making");
    for stale in [&making, &path] {
        if stale.exists() {
            std::fs::remove_file(stale).map_err(|e| Error::io(stale, e))?;
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let target = Connection::open(&format!("sqlite://{}", making.display()), true).await?;
    let fixtures = fixture_files(&project.root.join(FIXTURES))?;
    let made = if fixtures.is_empty() {
        from_development(project, &target, &path, rows).await
    } else {
        from_fixtures(&project.root, &fixtures, &target).await
    };
    target.close().await;
    let (source, tables) = match made {
        Ok(made) => made,
        Err(e) => {
            let _ = std::fs::remove_file(&making);
            return Err(e);
        }
    };
    std::fs::rename(&making, &path).map_err(|e| Error::io(&path, e))?;
    database.made = true;
    database.source = source;
    database.tables = tables;
    Ok(database)
}

/// The path of a `sqlite://` URL made absolute by the project; `None` for other databases and
/// in-memory ones.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (path != ":memory:" && Path::new(path).is_absolute()).then(|| PathBuf::from(path))
}

/// The data files in `dir` (CSV, TSV, Parquet, JSON, JSON lines), by name; none when it is
/// missing.
fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && files::Format::of(p).is_ok())
        .collect();
    found.sort();
    if found.len() > MAX_TABLES {
        return Err(Error::config(
            dir,
            format!("{} fixture files; at most {MAX_TABLES}", found.len()),
        ));
    }
    Ok(found)
}

/// Loads each fixture file as the table named by its stem.
async fn from_fixtures(
    root: &Path,
    fixtures: &[PathBuf],
    target: &Connection,
) -> Result<(String, Vec<(String, u64)>)> {
    let mut tables = Vec::new();
    for file in fixtures {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let place = file.display().to_string();
        let table = paths::checked("table", stem, &place)?;
        let df = files::read(file)?;
        tables.push((table.to_string(), target.replace(table, &df).await?));
    }
    Ok((root.join(FIXTURES).display().to_string(), tables))
}

/// Copies the first `rows` rows of each table of the development `main` connection.
async fn from_development(
    project: &Project,
    target: &Connection,
    path: &Path,
    rows: usize,
) -> Result<(String, Vec<(String, u64)>)> {
    let config = project
        .connection_in("main", env::DEFAULT_ENV)?
        .ok_or_else(|| {
            Error::config(
                project.root.join("config").join("database.toml"),
                format!(
                    "no [main] connection in the development environment to make the test \
                     database from; put one data file per table under {FIXTURES}/"
                ),
            )
        })?;
    if config
        .urls
        .iter()
        .any(|u| sqlite_file(u).as_deref() == Some(path))
    {
        return Err(Error::config(
            project.root.join("config").join(ENV).join("database.toml"),
            "the test environment's [main] is the development database itself; give it a file \
             of its own, such as url = \"sqlite:data/test.sqlite\"",
        ));
    }
    let source = Connection::new(config, &project.name)?;
    let listing = match source.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = \
             current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    let origin = Origin {
        model: None,
        site: "lore test".into(),
    };
    let names = source
        .query_frame(listing, &BTreeMap::new(), &origin)
        .await
        .map_err(|e| no_development_data(e, &source))?;
    let names: Vec<String> = crate::frame::strings(&names, "name", "the list of tables")?
        .into_iter()
        .flatten()
        .collect();
    let mut tables = Vec::new();
    for name in names.iter().take(MAX_TABLES) {
        let Ok(quoted) = crate::io::sql::identifier(name) else {
            tracing::warn!("not copying table {name:?} into the test database: not a plain name");
            continue;
        };
        let params = BTreeMap::from([("rows".to_string(), serde_json::json!(rows))]);
        let df = source
            .query_frame(
                &format!("SELECT * FROM {quoted} LIMIT :rows"),
                &params,
                &origin,
            )
            .await?;
        tables.push((name.clone(), target.replace(name, &df).await?));
    }
    let shown = source.display_url();
    source.close().await;
    Ok((shown, tables))
}

/// The development database could not be read: say what to do instead.
fn no_development_data(e: Error, source: &Connection) -> Error {
    Error::Data(format!(
        "cannot read the development database {} to make the test database from ({e}); put \
         one data file per table under {FIXTURES}/ instead",
        source.display_url()
    ))
}

/// What the check of one model found.
#[derive(Debug, Clone)]
pub struct ModelCheck {
    /// The model.
    pub model: String,
    /// Rows its extract gave under the limit.
    pub rows: usize,
    /// The fitting made from them.
    pub fitting: String,
}

/// Runs `spec`'s extract on the test environment's database under `LIMIT rows` and fits the
/// model on what it gives; the fitting goes to the test environment's fittings folder.
pub async fn check_model(project: &Project, spec: &ModelSpec, rows: usize) -> Result<ModelCheck> {
    let extract = Extract::load(&project.extracts_dir(), &spec.pipeline.extract.sql)?;
    let mut params = spec.pipeline.extract.params.clone();
    params.insert(LIMIT_PARAM.to_string(), serde_json::json!(rows));
    let options = ReadOptions {
        cache: Some(false),
        origin: Origin {
            model: Some(spec.name.clone()),
            site: format!("lore test {}", spec.name),
        },
    };
    let df = Database::new(project)?
        .connection(&spec.pipeline.extract.connection)?
        .read_extract(&extract.first_rows(LIMIT_PARAM), &params, &options)
        .await?;
    let height = df.height();
    if height == 0 {
        return Err(Error::Data(format!(
            "the extract {} of {} gave no rows on the test database; put rows for it under \
             {FIXTURES}/ or make the test database again (`lore test --fresh`)",
            spec.pipeline.extract.sql, spec.name
        )));
    }
    let fitted = models::fit(
        project,
        spec,
        &FitOptions {
            quiet: true,
            force: true,
            rows: Some(df),
            tags: BTreeMap::from([("lore_test".to_string(), "true".to_string())]),
            ..FitOptions::default()
        },
    )
    .await?;
    Ok(ModelCheck {
        model: spec.name.clone(),
        rows: height,
        fitting: fitted.fitting.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_can_be_test_databases() {
        assert_eq!(
            sqlite_file("sqlite:///p/data/test.sqlite?mode=rwc"),
            Some(PathBuf::from("/p/data/test.sqlite"))
        );
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("postgres://u:p@h/db"), None);
    }

    #[test]
    fn fixtures_are_the_data_files_of_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(fixture_files(&dir.path().join("none")).unwrap().is_empty());
        for name in ["users.csv", "orders.parquet", "notes.txt"] {
            std::fs::write(dir.path().join(name), "a\n1\n").unwrap();
        }
        let found = fixture_files(dir.path()).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["orders.parquet", "users.csv"]);
    }
}
