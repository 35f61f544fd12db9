//! `lore generate KIND NAME` and `lore destroy KIND NAME`: code added to a project from the
//! templates in `templates/`, registered where Lore finds it, and taken out again exactly. Each
//! generator first makes a [`Plan`] (the files it creates, edits or removes), which `--dry-run`
//! prints and [`apply`] carries out; nothing is overwritten.

use std::path::{Path, PathBuf};

use tera::Context;

use crate::error::{Error, Result};
use crate::models::{self, snake_case, Source};
use crate::project::{crate_name, render};

/// What `lore generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Rust model: extract, pipeline, estimator, model and test, registered.
    Model,
    /// A Rust pipeline (`src/pipelines/NAME.rs`), registered as a module.
    Pipeline,
    /// A Rust estimator (`src/estimators/NAME.rs`), registered as a module.
    Estimator,
    /// An extract (`src/extracts/NAME.sql`).
    Extract,
    /// A custom transformer (`src/transformers/NAME.rs`), registered by name.
    Transformer,
    /// A custom encoder (`src/encoders/NAME.rs`), registered by name.
    Encoder,
    /// A test of an existing model (`tests/NAME.rs`).
    Test,
}

crate::choices::choices!(Kind by "KIND" as "a kind of code `lore generate` makes" {
    Model => "model",
    Pipeline => "pipeline",
    Estimator => "estimator",
    Extract => "extract",
    Transformer => "transformer",
    Encoder => "encoder",
    Test => "test",
});

impl Kind {
    fn example(self) -> &'static str {
        match self {
            Kind::Model | Kind::Pipeline | Kind::Estimator | Kind::Test => "Churn",
            Kind::Extract => "Orders",
            Kind::Transformer => "WordCount",
            Kind::Encoder => "Hashed",
        }
    }
}

/// One change to a project's files, relative to its root.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new file and its text.
    Create(PathBuf, String),
    /// A file's new text (a module or a registration added or taken out).
    Edit(PathBuf, String),
    /// A file removed.
    Remove(PathBuf),
}

impl Change {
    /// `create src/x.rs`, `edit src/models/mod.rs`, `remove tests/x.rs`.
    pub fn describe(&self) -> String {
        let (verb, path) = match self {
            Change::Create(p, _) => ("create", p),
            Change::Edit(p, _) => ("edit", p),
            Change::Remove(p) => ("remove", p),
        };
        format!("{verb} {}", path.display())
    }
}

/// What a generator (or its undoing) does to a project, before it is done.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The kind made or taken out.
    pub kind: Kind,
    /// Its name, as given.
    pub name: String,
    /// The changes, in the order they are made.
    pub changes: Vec<Change>,
}

/// Carries out `plan` in the project at `root`.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    for change in &plan.changes {
        match change {
            Change::Create(relative, text) | Change::Edit(relative, text) => {
                let path = root.join(relative);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
            }
            Change::Remove(relative) => {
                let path = root.join(relative);
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}

/// The files a generator of `kind` creates for `snake`, each with its template.
fn files(kind: Kind, snake: &str) -> Vec<(String, &'static str)> {
    let file = |pattern: &str, template| (pattern.replace("NAME", snake), template);
    let extract = file(
        "src/extracts/NAME.sql",
        include_str!("../../templates/model/extract.sql"),
    );
    let pipeline = file(
        "src/pipelines/NAME.rs",
        include_str!("../../templates/model/pipeline.rs"),
    );
    let estimator = file(
        "src/estimators/NAME.rs",
        include_str!("../../templates/model/estimator.rs"),
    );
    match kind {
        Kind::Model => vec![
            extract,
            pipeline,
            estimator,
            file(
                "src/models/NAME.rs",
                include_str!("../../templates/model/model.rs"),
            ),
            file(
                "tests/NAME.rs",
                include_str!("../../templates/model/test.rs"),
            ),
        ],
        Kind::Pipeline => vec![pipeline],
        Kind::Estimator => vec![estimator],
        Kind::Extract => vec![extract],
        Kind::Transformer => vec![file(
            "src/transformers/NAME.rs",
            include_str!("../../templates/transformer/transformer.rs"),
        )],
        Kind::Encoder => vec![file(
            "src/encoders/NAME.rs",
            include_str!("../../templates/encoder/encoder.rs"),
        )],
        // Which template depends on the model: see `test_template`.
        Kind::Test => vec![file("tests/NAME.rs", "")],
    }
}

/// The registrations a generator of `kind` adds for `name`: (registry file, module to declare,
/// line to add inside its list or `register()`).
fn registrations(kind: Kind, name: &str, snake: &str) -> Vec<(&'static str, Option<String>)> {
    let component = |kind: &str| {
        Some(format!(
            "lore_core::{kind}s::register::<{snake}::{name}>(\"{name}\");"
        ))
    };
    match kind {
        Kind::Model => vec![
            ("src/pipelines/mod.rs", None),
            ("src/estimators/mod.rs", None),
            (
                "src/models/mod.rs",
                Some(format!("Box::new({snake}::{name}),")),
            ),
        ],
        Kind::Pipeline => vec![("src/pipelines/mod.rs", None)],
        Kind::Estimator => vec![("src/estimators/mod.rs", None)],
        Kind::Transformer => vec![("src/transformers/mod.rs", component("transformer"))],
        Kind::Encoder => vec![("src/encoders/mod.rs", component("encoder"))],
        Kind::Extract | Kind::Test => Vec::new(),
    }
}

/// What `lore generate kind name` would do in the project at `root`; refuses a name that is not
/// CamelCase (suggesting one), one already taken, and a test of a model the project lacks.
pub fn plan(root: &Path, kind: Kind, name: &str) -> Result<Plan> {
    check_name(name, kind)?;
    let project = crate::env::Project::open(root)?;
    let snake = snake_case(name);
    let made = files(kind, &snake);
    let taken: Vec<&str> = made
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| root.join(p).exists())
        .collect();
    let declared_clash =
        kind == Kind::Model && root.join(format!("src/models/{snake}.toml")).exists();
    if !taken.is_empty() || declared_clash {
        let what = if declared_clash {
            format!("src/models/{snake}.toml")
        } else {
            taken.join(", ")
        };
        return Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!(
                "{} {name} already exists ({what}); choose another name, or `lore destroy {} {name}` first",
                kind.name(),
                kind.name()
            ),
        });
    }
    let mut context = Context::new();
    context.insert("model", name);
    context.insert("name", name);
    context.insert("snake", &snake);
    context.insert("crate_name", &crate_name(&project.name));
    let extract_exists = root.join(format!("src/extracts/{snake}.sql")).exists();
    let extract = if kind == Kind::Model || extract_exists {
        snake.as_str()
    } else {
        "users"
    };
    context.insert("extract", extract);
    let mut changes = Vec::new();
    for (relative, template) in made {
        let template = match kind {
            Kind::Test => test_template(&project, name, &mut context)?,
            _ => template,
        };
        let text = render(&relative, template, &context)?;
        changes.push(Change::Create(relative.into(), text));
    }
    for (registry, line) in registrations(kind, name, &snake) {
        let path = root.join(registry);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::config(
                &path,
                format!("cannot read it ({e}); `lore generate` registers {} there, as `lore init` wrote it", kind.name()),
            )
        })?;
        let mut text = add_module(&text, &snake);
        if let Some(line) = line {
            text = add_line(&text, &line).ok_or_else(|| {
                Error::config(
                    &path,
                    format!("cannot find the list of `pub fn all()` or `pub fn register()`; add `{line}` to it by hand"),
                )
            })?;
        }
        changes.push(Change::Edit(registry.into(), text));
    }
    Ok(Plan {
        kind,
        name: name.to_string(),
        changes,
    })
}

/// The test template for model `name` (a Rust model: it is registered; a declared one: its spec
/// parses), with the declared file put into `context`; refuses a name that is no model.
fn test_template(
    project: &crate::env::Project,
    name: &str,
    context: &mut Context,
) -> Result<&'static str> {
    let dir = project.model_sources_dir();
    if models::rust_model_names(&dir).iter().any(|n| n == name) {
        return Ok(include_str!("../../templates/model/test.rs"));
    }
    let catalogue = models::catalogue(&[], &dir)?;
    match catalogue.iter().find(|e| e.spec.name == name) {
        Some(models::Entry {
            source: Source::Declared(path),
            ..
        }) => {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            context.insert("file", &file);
            Ok(include_str!("../../templates/model/declared_test.rs"))
        }
        _ => {
            let mut known = models::rust_model_names(&dir);
            known.extend(catalogue.into_iter().map(|e| e.spec.name));
            Err(Error::UnknownModel {
                name: name.to_string(),
                known,
            })
        }
    }
}

/// What `lore destroy kind name` would do: remove the files `lore generate kind name` created
/// and take its registrations out again, leaving the project as it was before; refuses when
/// nothing of it is there.
pub fn plan_destroy(root: &Path, kind: Kind, name: &str) -> Result<Plan> {
    check_name(name, kind)?;
    crate::env::Project::open(root)?;
    let snake = snake_case(name);
    let mut changes: Vec<Change> = files(kind, &snake)
        .into_iter()
        .filter(|(p, _)| root.join(p).is_file())
        .map(|(p, _)| Change::Remove(p.into()))
        .collect();
    if changes.is_empty() {
        return Err(Error::InvalidParam {
            key: "NAME".into(),
            message: format!(
                "there is no {} {name} to destroy (no {}){}",
                kind.name(),
                files(kind, &snake)
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                closest_generated(root, kind, &snake)
            ),
        });
    }
    for (registry, line) in registrations(kind, name, &snake) {
        let path = root.join(registry);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut after = remove_module(&text, &snake);
        if let Some(line) = line {
            after = remove_line(&after, &line);
        }
        if after != text {
            changes.push(Change::Edit(registry.into(), after));
        }
    }
    Ok(Plan {
        kind,
        name: name.to_string(),
        changes,
    })
}

/// " did you mean `Churn`?" for the generated file of `kind` closest to `snake`, if one is close.
fn closest_generated(root: &Path, kind: Kind, snake: &str) -> String {
    let Some((first, _)) = files(kind, snake).into_iter().next() else {
        return String::new();
    };
    let relative = Path::new(&first);
    let (Some(dir), Some(extension)) = (relative.parent(), relative.extension()) else {
        return String::new();
    };
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return String::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension() == Some(extension))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|stem| stem != "mod")
        .map(|stem| (strsim::jaro_winkler(snake, &stem), stem))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, stem)| format!("; did you mean `{}`?", camel_case(&stem)))
        .unwrap_or_default()
}

/// `word_count` -> `WordCount`.
fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Refuses a name that is not CamelCase letters and digits, suggesting the CamelCase of it.
fn check_name(name: &str, kind: Kind) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64;
    if valid {
        return Ok(());
    }
    let plain: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let suggestion = camel_case(&plain.to_lowercase());
    let hint = match suggestion.chars().next() {
        Some(c) if c.is_ascii_uppercase() && suggestion.len() <= 64 => {
            format!("; did you mean `{suggestion}`?")
        }
        _ => format!(", such as {}", kind.example()),
    };
    Err(Error::InvalidParam {
        key: "NAME".into(),
        message: format!(
            "`{name}` is not a {} name: use CamelCase letters and digits (at most 64){hint}",
            kind.name()
        ),
    })
}

/// Adds `pub mod NAME;` after the last `pub mod` line (the first one after the file's doc
/// comment, as rustfmt keeps it).
fn add_module(text: &str, snake: &str) -> String {
    let line = format!("pub mod {snake};");
    let mut lines: Vec<&str> = text.lines().collect();
    match lines.iter().rposition(|l| l.starts_with("pub mod ")) {
        Some(last) => lines.insert(last + 1, &line),
        None => {
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

/// Takes `pub mod NAME;` out again, with the blank line [`add_module`] put before a first one.
fn remove_module(text: &str, snake: &str) -> String {
    let line = format!("pub mod {snake};");
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(at) = lines.iter().position(|l| *l == line) {
        lines.remove(at);
        let alone = at > 0
            && lines.get(at - 1).is_some_and(|l| l.is_empty())
            && lines.get(at).is_none_or(|l| l.is_empty());
        if alone {
            lines.remove(at - 1);
        }
    }
    lines.join("\n") + "\n"
}

/// Adds `line` at the end of the list in `pub fn all()` (`vec![...]`) or of the body of `pub fn
/// register()`.
fn add_line(text: &str, line: &str) -> Option<String> {
    if let Some(all) = text.find("pub fn all()") {
        let open = all + text[all..].find("vec![")? + "vec![".len();
        let close = open + text[open..].find(']')?;
        let body = text[open..close].trim_end();
        return Some(format!(
            "{}{body}\n        {line}\n    {}",
            &text[..open],
            &text[close..]
        ));
    }
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

/// Takes the line holding exactly `line` (indentation aside) out again.
fn remove_line(text: &str, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(at) = lines.iter().position(|l| l.trim() == line) {
        lines.remove(at);
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn a_model_is_listed_and_taken_out_again_exactly() {
        let text = "pub mod subscribers;\n\npub fn all() -> Vec<Box<dyn Model>> {\n    vec![\n        Box::new(subscribers::Subscribers),\n    ]\n}\n";
        let out = add_line(&add_module(text, "churn"), "Box::new(churn::Churn),").unwrap();
        holds(
            &out,
            &[
                "pub mod subscribers;\npub mod churn;",
                "Box::new(subscribers::Subscribers),\n        Box::new(churn::Churn),\n    ]",
            ],
        );
        assert_eq!(
            remove_line(&remove_module(&out, "churn"), "Box::new(churn::Churn),"),
            text
        );
    }

    #[test]
    fn a_component_is_registered_and_taken_out_again_exactly() {
        let text = "//! Doc.\n\npub fn register() {\n    // A note.\n}\n";
        let once = add_line(&add_module(text, "a"), "a();").unwrap();
        assert_eq!(
            once,
            "//! Doc.\n\npub mod a;\n\npub fn register() {\n    // A note.\n    a();\n}\n"
        );
        let twice = add_line(&add_module(&once, "b"), "b();").unwrap();
        assert!(twice.ends_with("    a();\n    b();\n}\n"), "{twice}");
        assert!(twice.contains("pub mod a;\npub mod b;\n\n"), "{twice}");
        let back = remove_line(&remove_module(&twice, "b"), "b();");
        assert_eq!(back, once);
        assert_eq!(remove_line(&remove_module(&back, "a"), "a();"), text);
        assert!(add_line("fn main() {}", "a();").is_none());
    }

    #[test]
    fn names_must_be_camel_case_and_a_near_miss_is_suggested() {
        check_name("Churn", Kind::Model).unwrap();
        refused(check_name("churn", Kind::Model), &["did you mean `Churn`?"]);
        refused(
            check_name("word_count", Kind::Transformer),
            &["did you mean `WordCount`?"],
        );
        refused(check_name("../x", Kind::Extract), &["CamelCase"]);
        refused(check_name(&"A".repeat(65), Kind::Model), &["at most 64"]);
    }

    #[test]
    fn every_template_renders() {
        let mut context = Context::new();
        for key in ["model", "name", "snake", "crate_name", "extract", "file"] {
            context.insert(key, "x");
        }
        for kind in Kind::NAMES.iter().map(|n| n.parse::<Kind>().unwrap()) {
            for (name, text) in files(kind, "x") {
                render(&name, text, &context).unwrap();
            }
        }
        render(
            "declared test",
            include_str!("../../templates/model/declared_test.rs"),
            &context,
        )
        .unwrap();
    }
}
