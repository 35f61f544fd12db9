//! Scaffolding: `lore init` writes a new project from the templates in `templates/project`
//! (embedded at build time); `lore generate` (the generators module) adds code to it later.

use std::path::{Path, PathBuf};

use tera::{Context, Tera};

use crate::env::PROJECT_FILE;
use crate::error::{Error, Result};
use crate::io::Connection;
use crate::sample;

/// (path in the new project, template text) for `lore init`.
const PROJECT_TEMPLATES: &[(&str, &str)] = &[
    (
        "Lore.toml",
        include_str!("../../templates/project/Lore.toml"),
    ),
    (
        "Cargo.toml",
        include_str!("../../templates/project/Cargo.toml"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../templates/project/.cargo/config.toml"),
    ),
    (
        ".env.template",
        include_str!("../../templates/project/env.template"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/project/gitignore"),
    ),
    (
        "README.md",
        include_str!("../../templates/project/README.md"),
    ),
    (
        "config/database.toml",
        include_str!("../../templates/project/config/database.toml"),
    ),
    (
        "config/aws.toml",
        include_str!("../../templates/project/config/aws.toml"),
    ),
    (
        "config/sentry.toml",
        include_str!("../../templates/project/config/sentry.toml"),
    ),
    (
        "config/test/database.toml",
        include_str!("../../templates/project/config/test/database.toml"),
    ),
    (
        "config/production/database.toml",
        include_str!("../../templates/project/config/production/database.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../../templates/project/src/main.rs"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/project/src/lib.rs"),
    ),
    (
        "src/extracts/users.sql",
        include_str!("../../templates/project/src/extracts/users.sql"),
    ),
    (
        "src/pipelines/mod.rs",
        include_str!("../../templates/project/src/pipelines/mod.rs"),
    ),
    (
        "src/pipelines/subscribers.rs",
        include_str!("../../templates/project/src/pipelines/subscribers.rs"),
    ),
    (
        "src/estimators/mod.rs",
        include_str!("../../templates/project/src/estimators/mod.rs"),
    ),
    (
        "src/estimators/subscribers.rs",
        include_str!("../../templates/project/src/estimators/subscribers.rs"),
    ),
    (
        "src/models/mod.rs",
        include_str!("../../templates/project/src/models/mod.rs"),
    ),
    (
        "src/transformers/mod.rs",
        include_str!("../../templates/project/src/transformers/mod.rs"),
    ),
    (
        "src/encoders/mod.rs",
        include_str!("../../templates/project/src/encoders/mod.rs"),
    ),
    (
        "src/models/subscribers.rs",
        include_str!("../../templates/project/src/models/subscribers.rs"),
    ),
    (
        "src/models/subscribers_declared.toml",
        include_str!("../../templates/project/src/models/subscribers_declared.toml"),
    ),
    (
        "tests/subscribers.rs",
        include_str!("../../templates/project/tests/subscribers.rs"),
    ),
];

/// The empty folders of a new project.
const PROJECT_FOLDERS: &[&str] = &["data", "models", "logs", "docs"];

/// What `lore init` needs to know.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The project's name (also its folder and crate name).
    pub name: String,
    /// The folder to create the project in.
    pub parent: PathBuf,
    /// The Lore checkout the project depends on (path dependencies).
    pub lore_path: PathBuf,
    /// The target folder shared by every Lore project on the machine.
    pub target_dir: PathBuf,
    /// The `XGBOOST_LIB_DIR` the project is built with: the one Lore was built with.
    pub xgboost_lib_dir: String,
    /// A `Cargo.lock` to start from, so the project builds the same dependency versions as Lore.
    pub lockfile: Option<String>,
    /// Rows in the sample `users` table.
    pub sample_rows: usize,
    /// Seed of the sample data.
    pub seed: u64,
}

/// `my-app` -> `my_app`: the Rust crate name of a project.
pub fn crate_name(name: &str) -> String {
    name.replace('-', "_").to_lowercase()
}

/// `text`, the template `templates/<name>`, rendered with `context`.
pub(crate) fn render(name: &str, text: &str, context: &Context) -> Result<String> {
    Tera::one_off(text, context, false).map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        Error::config(format!("templates/{name}"), message)
    })
}

fn write_file(root: &Path, relative: &str, text: &str) -> Result<PathBuf> {
    let path = root.join(relative);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// Creates a project with sample data; it is written under a temporary name and renamed, so a
/// failure leaves nothing behind. Returns the project's folder.
pub async fn init(options: &InitOptions) -> Result<PathBuf> {
    let name = &options.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!("`{name}` is not a valid project name; use letters, digits, - and _, starting with a letter"),
        });
    }
    let root = options.parent.join(name);
    if root.exists() {
        return Err(Error::io(
            &root,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; choose another name or remove it",
            ),
        ));
    }
    let tmp = options.parent.join(format!(".{name}.lore-init"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    let result = write_project(options, &tmp).await;
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &root).map_err(|e| Error::io(&root, e))?;
    Ok(root)
}

async fn write_project(options: &InitOptions, root: &Path) -> Result<()> {
    let mut context = Context::new();
    context.insert("app", &options.name);
    context.insert("crate_name", &crate_name(&options.name));
    context.insert("lore_path", &options.lore_path.display().to_string());
    context.insert("target_dir", &options.target_dir.display().to_string());
    context.insert("xgboost_lib_dir", &options.xgboost_lib_dir);
    for (relative, template) in PROJECT_TEMPLATES {
        write_file(root, relative, &render(relative, template, &context)?)?;
    }
    for folder in PROJECT_FOLDERS {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    if let Some(lock) = &options.lockfile {
        write_file(root, "Cargo.lock", lock)?;
    }
    let db = root.join("data").join("users.sqlite");
    let connection = Connection::open(&format!("sqlite://{}", db.display()), true).await?;
    sample::write(
        &connection,
        &sample::generate(options.sample_rows, options.seed),
    )
    .await?;
    connection.close().await;
    Ok(())
}

/// Whether `dir` is the root of a project.
pub fn is_project(dir: &Path) -> bool {
    dir.join(PROJECT_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        let mut context = Context::new();
        for key in [
            "app",
            "crate_name",
            "lore_path",
            "target_dir",
            "xgboost_lib_dir",
        ] {
            context.insert(key, "x");
        }
        for (name, text) in PROJECT_TEMPLATES {
            render(name, text, &context).unwrap();
        }
    }
}
