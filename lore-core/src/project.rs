//! Scaffolding: `lore init` writes a new project from the templates in `templates/project`, and
//! `lore generate model` adds a model from `templates/model`. Templates are embedded at build time.

use std::path::{Path, PathBuf};

use tera::{Context, Tera};

use crate::env::PROJECT_FILE;
use crate::error::{Error, Result};
use crate::io::Connection;
use crate::models::snake_case;
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

/// (path pattern, template text) for `lore generate model`; `NAME` is the model's snake name.
const MODEL_TEMPLATES: &[(&str, &str)] = &[
    (
        "src/extracts/NAME.sql",
        include_str!("../../templates/model/extract.sql"),
    ),
    (
        "src/pipelines/NAME.rs",
        include_str!("../../templates/model/pipeline.rs"),
    ),
    (
        "src/estimators/NAME.rs",
        include_str!("../../templates/model/estimator.rs"),
    ),
    (
        "src/models/NAME.rs",
        include_str!("../../templates/model/model.rs"),
    ),
    (
        "tests/NAME.rs",
        include_str!("../../templates/model/test.rs"),
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

fn render(name: &str, text: &str, context: &Context) -> Result<String> {
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

/// Refuses a name that is not CamelCase letters and digits, giving `example` of a good one.
fn check_name(name: &str, kind: &str, example: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!(
                "`{name}` is not a {kind} name; use CamelCase letters and digits, such as {example}"
            ),
        })
    }
}

/// What `lore generate` adds to a project besides models: Rust code registered by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// A transformer (`src/transformers/NAME.rs`).
    Transformer,
    /// An encoder (`src/encoders/NAME.rs`).
    Encoder,
}

impl Component {
    fn kind(self) -> &'static str {
        match self {
            Component::Transformer => "transformer",
            Component::Encoder => "encoder",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Component::Transformer => include_str!("../../templates/transformer/transformer.rs"),
            Component::Encoder => include_str!("../../templates/encoder/encoder.rs"),
        }
    }
}

/// Adds transformer or encoder `name` (CamelCase) to the project at `root` and registers it in
/// `src/transformers/mod.rs` or `src/encoders/mod.rs`; returns the files written.
pub fn generate_component(root: &Path, component: Component, name: &str) -> Result<Vec<PathBuf>> {
    let kind = component.kind();
    check_name(
        name,
        kind,
        if component == Component::Encoder {
            "Hashed"
        } else {
            "WordCount"
        },
    )?;
    crate::env::Project::open(root)?;
    let snake = snake_case(name);
    let relative = format!("src/{kind}s/{snake}.rs");
    if root.join(&relative).exists() {
        return Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!("{kind} {name} already exists ({relative}); choose another name"),
        });
    }
    let registry_path = root.join(format!("src/{kind}s/mod.rs"));
    let registry = std::fs::read_to_string(&registry_path).map_err(|e| {
        Error::config(
            &registry_path,
            format!(
                "cannot read it ({e}); a project needs src/{kind}s/mod.rs with a `pub fn register()` \
                 that its main calls, as `lore init` writes it"
            ),
        )
    })?;
    let line = format!("lore_core::{kind}s::register::<{snake}::{name}>(\"{name}\");");
    let registry = register_in(&add_module(&registry, &snake), &line).ok_or_else(|| {
        Error::config(
            &registry_path,
            format!("cannot find `pub fn register() {{`; add `{line}` to it by hand"),
        )
    })?;
    let mut context = Context::new();
    context.insert("name", name);
    context.insert("snake", &snake);
    let written = write_file(
        root,
        &relative,
        &render(&relative, component.template(), &context)?,
    )?;
    std::fs::write(&registry_path, registry).map_err(|e| Error::io(&registry_path, e))?;
    Ok(vec![written, registry_path])
}

/// Adds `line` at the end of the body of `pub fn register()`.
fn register_in(text: &str, line: &str) -> Option<String> {
    let start = text.find("pub fn register()")?;
    let open = start + text[start..].find('{')? + 1;
    let close = open + text[open..].find("\n}")?;
    let body = text[open..close].trim_end();
    Some(format!(
        "{}{body}\n    {line}{}",
        &text[..open],
        &text[close..]
    ))
}

/// Adds model `name` (CamelCase) to the project at `root` and registers it; returns the files written.
pub fn generate_model(root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    check_name(name, "model", "Churn")?;
    let project = crate::env::Project::open(root)?;
    let snake = snake_case(name);
    let exists: Vec<String> = MODEL_TEMPLATES
        .iter()
        .map(|(p, _)| p.replace("NAME", &snake))
        .filter(|p| root.join(p).exists())
        .collect();
    if !exists.is_empty()
        || root
            .join("src/models")
            .join(format!("{snake}.toml"))
            .exists()
    {
        return Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!(
                "model {name} already exists ({}); choose another name",
                exists.join(", ")
            ),
        });
    }
    let registry_path = root.join("src/models/mod.rs");
    let registry =
        std::fs::read_to_string(&registry_path).map_err(|e| Error::io(&registry_path, e))?;
    let registry = register_model(&registry, name, &snake).ok_or_else(|| {
        Error::config(
            &registry_path,
            "cannot find `vec![` in `pub fn all()`; register the model there by hand",
        )
    })?;

    let mut context = Context::new();
    context.insert("model", name);
    context.insert("snake", &snake);
    context.insert("crate_name", &crate_name(&project.name));
    let mut written = Vec::new();
    for (pattern, template) in MODEL_TEMPLATES {
        let relative = pattern.replace("NAME", &snake);
        written.push(write_file(
            root,
            &relative,
            &render(pattern, template, &context)?,
        )?);
    }
    for module in ["pipelines", "estimators"] {
        let path = root.join("src").join(module).join("mod.rs");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        std::fs::write(&path, add_module(&text, &snake)).map_err(|e| Error::io(&path, e))?;
    }
    std::fs::write(&registry_path, registry).map_err(|e| Error::io(&registry_path, e))?;
    written.push(registry_path);
    Ok(written)
}

/// Adds `pub mod NAME;` after the last `pub mod` line.
fn add_module(text: &str, snake: &str) -> String {
    let line = format!("pub mod {snake};");
    let mut lines: Vec<&str> = text.lines().collect();
    match lines.iter().rposition(|l| l.starts_with("pub mod ")) {
        Some(last) => lines.insert(last + 1, &line),
        None => {
            // The first module goes right after the file's doc comment, as rustfmt keeps it.
            let doc_end = lines
                .iter()
                .position(|l| !l.starts_with("//!"))
                .unwrap_or(lines.len());
            lines.insert(doc_end, "");
            lines.insert(doc_end + 1, &line);
        }
    }
    lines.join("\n") + "\n"
}

/// Adds the module and a `Box::new(NAME)` entry to `models/mod.rs`.
fn register_model(text: &str, name: &str, snake: &str) -> Option<String> {
    let with_module = add_module(text, snake);
    let all = with_module.find("pub fn all()")?;
    let open = all + with_module[all..].find("vec![")? + "vec![".len();
    let close = open + with_module[open..].find(']')?;
    let body = with_module[open..close].trim_end();
    let entry = format!("        Box::new({snake}::{name}),");
    Some(format!(
        "{}{body}\n{entry}\n    {}",
        &with_module[..open],
        &with_module[close..]
    ))
}

/// Whether `dir` is the root of a project.
pub fn is_project(dir: &Path) -> bool {
    dir.join(PROJECT_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn registers_a_model_in_the_list() {
        let text = "pub mod subscribers;\n\npub fn all() -> Vec<Box<dyn Model>> {\n    vec![\n        Box::new(subscribers::Subscribers),\n    ]\n}\n";
        let out = register_model(text, "Churn", "churn").unwrap();
        holds(
            &out,
            &[
                "pub mod subscribers;\npub mod churn;",
                "Box::new(subscribers::Subscribers),\n        Box::new(churn::Churn),\n    ]",
            ],
        );
    }

    #[test]
    fn every_template_renders() {
        let mut context = Context::new();
        for key in [
            "app",
            "crate_name",
            "lore_path",
            "target_dir",
            "xgboost_lib_dir",
            "model",
            "snake",
        ] {
            context.insert(key, "x");
        }
        for (name, text) in PROJECT_TEMPLATES.iter().chain(MODEL_TEMPLATES) {
            render(name, text, &context).unwrap();
        }
        context.insert("name", "X");
        for component in [Component::Transformer, Component::Encoder] {
            render("component", component.template(), &context).unwrap();
        }
    }

    #[test]
    fn the_first_module_follows_the_doc_comment() {
        let text = "//! Doc.\n\npub fn register() {}\n";
        assert_eq!(
            add_module(text, "a"),
            "//! Doc.\n\npub mod a;\n\npub fn register() {}\n"
        );
        assert_eq!(
            add_module(&add_module(text, "a"), "b"),
            "//! Doc.\n\npub mod a;\npub mod b;\n\npub fn register() {}\n"
        );
    }

    #[test]
    fn registers_a_component_in_register() {
        let text = "//! Doc.\n\npub fn register() {\n    // A note.\n}\n";
        let once = register_in(text, "a();").unwrap();
        assert_eq!(
            once,
            "//! Doc.\n\npub fn register() {\n    // A note.\n    a();\n}\n"
        );
        let twice = register_in(&once, "b();").unwrap();
        assert!(twice.ends_with("    a();\n    b();\n}\n"), "{twice}");
        assert!(register_in("fn main() {}", "a();").is_none());
    }
}
