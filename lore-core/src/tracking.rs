//! Runs: every fitting is recorded in the project's metadata database with its model, id, times,
//! params, stats and the git commit of the project when there is one.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::env::{absolute_sqlite_url, expand_vars, Project};
use crate::error::{Error, Result};
use crate::io::Connection;

/// One recorded fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The model's name.
    pub model: String,
    /// The fitting's id.
    pub fitting_id: String,
    /// When fitting started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// The resolved spec.
    pub params: serde_json::Value,
    /// The stats.
    pub stats: serde_json::Value,
    /// The project's git commit, if it is a git repository.
    pub git_commit: Option<String>,
    /// The fitting's folder.
    pub path: String,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS fittings (
    fitting_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    params TEXT NOT NULL,
    stats TEXT NOT NULL,
    git_commit TEXT,
    path TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fittings_model ON fittings (model, fitting_id);";

/// The metadata database URL: `[metadata]` in `config/database.toml`, else
/// `$LORE_METADATA_URL`, else `data/metadata.sqlite`.
pub fn metadata_url(project: &Project) -> Result<String> {
    if let Some(url) = project.connection_url("metadata")? {
        return Ok(url);
    }
    let raw =
        expand_vars("${LORE_METADATA_URL:-sqlite:data/metadata.sqlite}").map_err(Error::Data)?;
    Ok(absolute_sqlite_url(&raw, &project.root))
}

async fn open(project: &Project) -> Result<Connection> {
    std::fs::create_dir_all(project.data_dir()).map_err(|e| Error::io(project.data_dir(), e))?;
    let connection = Connection::open(&metadata_url(project)?, true).await?;
    connection.execute(SCHEMA).await?;
    Ok(connection)
}

/// Records a run.
pub async fn record(project: &Project, run: &Run) -> Result<()> {
    let connection = open(project).await?;
    sqlx::query(
        "INSERT INTO fittings (fitting_id, model, started_at, finished_at, params, stats, git_commit, path)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&run.fitting_id)
    .bind(&run.model)
    .bind(&run.started_at)
    .bind(&run.finished_at)
    .bind(run.params.to_string())
    .bind(run.stats.to_string())
    .bind(&run.git_commit)
    .bind(&run.path)
    .execute(connection.pool())
    .await
    .map_err(|e| connection.error(e))?;
    connection.close().await;
    Ok(())
}

/// Every recorded run, newest first, of one model or of all.
pub async fn list(project: &Project, model: Option<&str>) -> Result<Vec<Run>> {
    let connection = open(project).await?;
    let rows = sqlx::query(
        "SELECT fitting_id, model, started_at, finished_at, params, stats, git_commit, path FROM fittings
         WHERE (?1 IS NULL OR model = ?1) ORDER BY fitting_id DESC",
    )
    .bind(model)
    .fetch_all(connection.pool())
    .await
    .map_err(|e| connection.error(e))?;
    let runs = rows
        .iter()
        .map(|r| {
            let json = |s: String| serde_json::from_str(&s).unwrap_or(serde_json::Value::Null);
            Ok(Run {
                fitting_id: r.try_get(0)?,
                model: r.try_get(1)?,
                started_at: r.try_get(2)?,
                finished_at: r.try_get(3)?,
                params: json(r.try_get(4)?),
                stats: json(r.try_get(5)?),
                git_commit: r.try_get(6)?,
                path: r.try_get(7)?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| connection.error(e));
    connection.close().await;
    runs
}

/// The commit checked out in `root`, if it is a git work tree with a commit.
pub fn git_commit(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_are_recorded_and_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(crate::env::PROJECT_FILE),
            "[app]\nname = \"t\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/database.toml"),
            "[main]\nurl = \"sqlite:data/u.sqlite\"\n",
        )
        .unwrap();
        let project = Project::open(dir.path()).unwrap();
        let run = |model: &str, id: &str| Run {
            model: model.into(),
            fitting_id: id.into(),
            started_at: "s".into(),
            finished_at: "f".into(),
            params: serde_json::json!({"name": model}),
            stats: serde_json::json!({"test": {"auc": 0.7}}),
            git_commit: None,
            path: "p".into(),
        };
        record(&project, &run("A", "1")).await.unwrap();
        record(&project, &run("B", "2")).await.unwrap();
        record(&project, &run("A", "3")).await.unwrap();
        let all = list(&project, None).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|r| r.fitting_id.as_str())
                .collect::<Vec<_>>(),
            vec!["3", "2", "1"]
        );
        let a = list(&project, Some("A")).await.unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], run("A", "3"));
        assert!(dir.path().join("data/metadata.sqlite").is_file());
    }
}
