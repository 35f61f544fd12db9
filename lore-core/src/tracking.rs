//! Runs: every fitting is recorded in the project's metadata database with its model, id, times,
//! params, stats and the git commit of the project when there is one.

use std::path::Path;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::env::{absolute_sqlite_url, expand_vars, Project};
use crate::error::{Error, Result};
use crate::frame;
use crate::io::{Connection, Origin};

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

/// The metadata database URL: `[metadata]` in `config/database.toml`, else
/// `$LORE_METADATA_URL`, else `data/metadata.sqlite`.
pub fn metadata_url(project: &Project) -> Result<String> {
    if let Some(config) = project.connection_opt("metadata")? {
        if let Some(url) = config.urls.into_iter().next() {
            return Ok(url);
        }
    }
    let raw =
        expand_vars("${LORE_METADATA_URL:-sqlite:data/metadata.sqlite}").map_err(Error::Data)?;
    Ok(absolute_sqlite_url(&raw, &project.root))
}

async fn open(project: &Project) -> Result<Connection> {
    std::fs::create_dir_all(project.data_dir()).map_err(|e| Error::io(project.data_dir(), e))?;
    let connection = Connection::open(&metadata_url(project)?, true).await?;
    connection.migrate().await?;
    Ok(connection)
}

fn origin(site: &str) -> Origin {
    Origin {
        model: None,
        site: format!("lore tracking: {site}"),
    }
}

/// Records a run.
pub async fn record(project: &Project, run: &Run) -> Result<()> {
    let connection = open(project).await?;
    let params = BTreeMap::from([
        ("fitting_id".to_string(), json!(run.fitting_id)),
        ("model".to_string(), json!(run.model)),
        ("started_at".to_string(), json!(run.started_at)),
        ("finished_at".to_string(), json!(run.finished_at)),
        ("params".to_string(), json!(run.params.to_string())),
        ("stats".to_string(), json!(run.stats.to_string())),
        ("git_commit".to_string(), json!(run.git_commit)),
        ("path".to_string(), json!(run.path)),
    ]);
    connection
        .execute_with(
            "INSERT INTO fittings (fitting_id, model, started_at, finished_at, params, stats, git_commit, path)
             VALUES (:fitting_id, :model, :started_at, :finished_at, :params, :stats, :git_commit, :path)",
            &params,
            &origin("record"),
        )
        .await?;
    connection.close().await;
    Ok(())
}

/// Every recorded run, newest first, of one model or of all.
pub async fn list(project: &Project, model: Option<&str>) -> Result<Vec<Run>> {
    let connection = open(project).await?;
    let columns = "fitting_id, model, started_at, finished_at, params, stats, git_commit, path";
    let (statement, params) = match model {
        Some(m) => (
            format!("SELECT {columns} FROM fittings WHERE model = :model ORDER BY fitting_id DESC"),
            BTreeMap::from([("model".to_string(), json!(m))]),
        ),
        None => (
            format!("SELECT {columns} FROM fittings ORDER BY fitting_id DESC"),
            BTreeMap::new(),
        ),
    };
    let df = connection
        .query_frame(&statement, &params, &origin("list"))
        .await?;
    connection.close().await;
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let text = |name: &str| frame::strings(&df, name, "lore runs");
    let (ids, models, started, finished) = (
        text("fitting_id")?,
        text("model")?,
        text("started_at")?,
        text("finished_at")?,
    );
    let (params, stats, commits, paths) = (
        text("params")?,
        text("stats")?,
        text("git_commit")?,
        text("path")?,
    );
    let json_of = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    Ok((0..df.height())
        .map(|i| Run {
            fitting_id: ids[i].clone().unwrap_or_default(),
            model: models[i].clone().unwrap_or_default(),
            started_at: started[i].clone().unwrap_or_default(),
            finished_at: finished[i].clone().unwrap_or_default(),
            params: json_of(&params[i]),
            stats: json_of(&stats[i]),
            git_commit: commits[i].clone(),
            path: paths[i].clone().unwrap_or_default(),
        })
        .collect())
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
