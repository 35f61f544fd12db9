//! Models: a pipeline plus an estimator, described once as a [`ModelSpec`] whether written in Rust
//! (`#[derive(Model)]`) or declared in TOML (`src/models/<name>.toml`), fitted into fittings.

pub mod aliases;
pub mod check;
mod export;
pub mod fingerprint;
pub mod fitting;
pub mod manifest;
pub mod params;
mod predictions;
mod prepare;
pub use predictions::{Contributions, Predictions};
pub mod reproduce;
pub mod retrain;
mod runs;
pub mod search;
pub mod store;
mod training;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::toml_message;
use crate::error::{Error, Result};
use crate::estimators::Estimator;
use crate::metrics::Metric;
use crate::pipelines::PipelineSpec;
use crate::search::SearchSpace;

pub use crate::metrics::Stats;
pub use fitting::Fitting;
pub use prepare::CheckFirst;
pub use search::{SearchOptions, Trial};
pub use training::{fit, FitOptions, Fitted};

/// The complete runtime description of a model; saved as `params.json` with every fitting, so any
/// fitting can be reproduced from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model's name, such as `Subscribers`.
    pub name: String,
    /// From rows to features.
    pub pipeline: PipelineSpec,
    /// What learns from the features.
    pub estimator: Estimator,
    /// The metric the model is judged by [default: AUC for yes/no, log-loss for classes, RMSE
    /// for numbers].
    #[serde(default)]
    pub scoring: Option<Metric>,
    /// The hyper-parameters `lore fit --search N` tries, by their `--param` names.
    #[serde(default, skip_serializing_if = "SearchSpace::is_empty")]
    pub search: SearchSpace,
    /// The thresholds `lore check` holds new data to [default: `config/checks.toml`, else
    /// Lore's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<crate::check::Policy>,
}

impl ModelSpec {
    /// Checks the whole spec before any data is read: the pipeline, the estimator's
    /// hyper-parameters and that they and the scoring metric suit the output encoder.
    pub fn validate(&self) -> Result<()> {
        self.pipeline.validate()?;
        self.estimator.validate(&self.pipeline.output)?;
        if let Some(metric) = self.scoring {
            metric.check(&self.pipeline.output)?;
        }
        Ok(())
    }
}

/// A model written in Rust; `#[derive(Model)]` implements it from a [`ModelDefinition`].
pub trait Model: Send + Sync {
    /// The model's name (its type name).
    fn name(&self) -> String;
    /// Its runtime description.
    fn spec(&self) -> ModelSpec;
}

/// What a Rust model's author writes beside `#[model(pipeline = ...)]`: its estimator.
pub trait ModelDefinition {
    /// The estimator and its hyper-parameters.
    fn estimator(&self) -> Estimator;
    /// The metric the model is judged by [default: by what it predicts].
    fn scoring(&self) -> Option<Metric> {
        None
    }
    /// The hyper-parameters `lore fit --search N` tries [default: none].
    fn search(&self) -> SearchSpace {
        SearchSpace::new()
    }
    /// The thresholds `lore check` holds new data to [default: `config/checks.toml`, else
    /// Lore's].
    fn checks(&self) -> Option<crate::check::Policy> {
        None
    }
}

/// A pipeline written in Rust; `#[derive(Pipeline)]` implements it from a [`PipelineDefinition`]
/// and the struct's fields, which become the extract's bound parameters.
pub trait Pipeline {
    /// Its runtime description.
    fn spec(&self) -> PipelineSpec;
}

/// What a Rust pipeline's author writes; the extract and its parameters come from the derive.
pub trait PipelineDefinition {
    /// Derived columns, applied in order.
    fn transformers(&self) -> Vec<crate::transformers::Transformer> {
        Vec::new()
    }
    /// How rows are split.
    fn split(&self) -> crate::pipelines::Split;
    /// One feature per encoder.
    fn encoders(&self) -> Vec<crate::encoders::Encoder>;
    /// The column to predict.
    fn output(&self) -> crate::encoders::OutputEncoder;
}

/// Where a model is described.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Compiled into this binary from Rust code.
    Rust,
    /// Declared in a TOML file, fitted without compilation.
    Declared(PathBuf),
}

/// A model the project has, with where it comes from.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its description.
    pub spec: ModelSpec,
    /// Rust or TOML.
    pub source: Source,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredFile {
    name: Option<String>,
    pipeline: PipelineSpec,
    estimator: Estimator,
    #[serde(default)]
    scoring: Option<Metric>,
    #[serde(default)]
    search: SearchSpace,
    #[serde(default)]
    checks: Option<crate::check::Policy>,
}

/// `subscribers_declared` -> `SubscribersDeclared`.
pub fn camel_case(snake: &str) -> String {
    snake
        .split(['_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next()
                .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `SubscribersDeclared` -> `subscribers_declared`.
pub fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads one declared model from a TOML file; its name defaults to the file name in CamelCase.
pub fn read_declared(path: &Path) -> Result<ModelSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file: DeclaredFile =
        toml::from_str(&text).map_err(|e| Error::config(path, toml_message(&e, &text)))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    Ok(ModelSpec {
        name: file.name.unwrap_or_else(|| camel_case(stem)),
        pipeline: file.pipeline,
        estimator: file.estimator,
        scoring: file.scoring,
        search: file.search,
        checks: file.checks,
    })
}

/// `e` pointed at the line of the declared model `path` that caused it: for an error about a
/// spec item (`pipeline.transformers.1`), the item's line in the TOML, or the line naming the
/// column at fault within it.
pub fn in_declared(path: &Path, e: Error) -> Error {
    let Ok(text) = std::fs::read_to_string(path) else {
        return e;
    };
    let at = match &e {
        Error::InSpec { key, .. } => locate(&text, key, e.column()),
        Error::InvalidParam { key, .. } => locate_param(&text, key),
        _ => return e,
    };
    match at {
        Some((line, column)) => Error::config(path, format!("line {line}, column {column}: {e}")),
        None => Error::config(path, e.to_string()),
    }
}

/// Line and column (from 1) of the item `key` (`pipeline.encoders.3`, or a table such as
/// `pipeline.output`) in a declared model's TOML: where `"needle"` is written inside it when
/// given and found, else its header.
fn locate(text: &str, key: &str, needle: Option<&str>) -> Option<(usize, usize)> {
    let mut parts = key.splitn(3, '.');
    let table = format!("{}.{}", parts.next()?, parts.next()?);
    let index: Option<usize> = parts.next().and_then(|n| n.parse().ok());
    let header = match index {
        Some(_) => format!("[[{table}]]"),
        None => format!("[{table}]"),
    };
    let (mut seen, mut start) = (0, None);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if start.is_some() {
                break;
            }
            if trimmed.starts_with(&header) {
                if index.is_none_or(|n| n == seen) {
                    start = Some(i + 1);
                }
                seen += 1;
            }
            continue;
        }
        if let (Some(_), Some(needle)) = (start, needle) {
            if let Some(at) = line.find(&format!("\"{needle}\"")) {
                return Some((i + 1, at + 1));
            }
        }
    }
    start.map(|line| (line, 1))
}

/// Line and column (from 1) of the value of the parameter `key` (`estimator.max_depth`,
/// `scoring`) in a declared model's TOML, or of its table's header when the value is not
/// written there (a default).
fn locate_param(text: &str, key: &str) -> Option<(usize, usize)> {
    let (table, field) = match key.rsplit_once('.') {
        Some((table, field)) => (Some(format!("[{table}]")), field),
        None => (None, key),
    };
    let mut inside = table.is_none();
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if inside && header.is_some() || table.is_none() {
                break;
            }
            inside = table.as_deref().is_some_and(|t| trimmed.starts_with(t));
            if inside {
                header = Some((i + 1, 1));
            }
            continue;
        }
        let written = trimmed
            .strip_prefix(field)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if inside && written {
            let value = line.find('=').map_or(0, |at| {
                at + 1 + line[at + 1..].len() - line[at + 1..].trim_start().len()
            });
            return Some((i + 1, value + 1));
        }
    }
    header
}

/// Every declared model (`*.toml`) in `dir`, sorted by file name.
pub fn declared_models(dir: &Path) -> Result<Vec<Entry>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            Ok(Entry {
                spec: read_declared(&p)?,
                source: Source::Declared(p),
            })
        })
        .collect()
}

/// Every model of a project: the Rust ones compiled in, then the declared ones.
pub fn catalogue(rust: &[Box<dyn Model>], models_dir: &Path) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = rust
        .iter()
        .map(|m| Entry {
            spec: m.spec(),
            source: Source::Rust,
        })
        .collect();
    entries.extend(declared_models(models_dir)?);
    Ok(entries)
}

/// The Rust models `src/models/*.rs` under `models_dir` define (`#[derive(Model)]` structs and
/// `impl Model for` types), read from the sources without compiling them: what the stand-alone
/// `lore` knows of a project's Rust models before it builds the project.
pub fn rust_model_names(models_dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(models_dir) else {
        return names;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut derived = false;
        for line in text.lines().map(str::trim) {
            let named = |rest: &str| -> Option<String> {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            };
            if line.starts_with("#[derive(") && line.contains("Model") {
                derived = true;
            } else if let Some(rest) = line.strip_prefix("impl Model for ") {
                names.extend(named(rest));
            } else if let Some(rest) = line.strip_prefix("pub struct ") {
                if std::mem::take(&mut derived) {
                    names.extend(named(rest));
                }
            } else if !line.starts_with("#[") && !line.starts_with("//") {
                derived = false;
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn rust_models_are_found_in_their_sources_without_compiling() {
        let dir = tempfile::tempdir().unwrap();
        let sources = [
            ("churn.rs", "/// Churn.\n#[derive(Model)]\n#[model(pipeline = P)]\npub struct Churn;\n\npub struct Helper;\n"),
            ("mine.rs", "impl Model for Mine {\n}\n"),
            ("notes.toml", "pub struct Nope;\n"),
        ];
        for (file, text) in sources {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        assert_eq!(rust_model_names(dir.path()), ["Churn", "Mine"]);
    }

    #[test]
    fn errors_at_a_spec_item_point_at_its_line_and_the_column_named() {
        let text = "[pipeline.extract]\nsql = \"users\"\n\n[[pipeline.transformers]]\ntype = \"Log\"\ncolumn = \"a\"\n\n[[pipeline.transformers]]\ntype = \"LogPlusOne\"\ncolumn = \"email\"\n\n[pipeline.output]\ntype = \"Boolean\"\ncolumn = \"y\"\n";
        assert_eq!(
            locate(text, "pipeline.transformers.1", Some("email")),
            Some((10, 10))
        );
        assert_eq!(
            locate(text, "pipeline.transformers.1", Some("zzz")),
            Some((8, 1))
        );
        assert_eq!(locate(text, "pipeline.transformers.0", None), Some((4, 1)));
        assert_eq!(locate(text, "pipeline.output", Some("y")), Some((14, 10)));
        assert_eq!(locate(text, "pipeline.encoders.0", None), None);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("churn.toml");
        std::fs::write(&path, text).unwrap();
        let e = Error::ColumnType {
            column: "email".into(),
            message: "transformer LogPlusOne(email) needs numbers".into(),
        }
        .in_spec("pipeline.transformers.1");
        let shown = in_declared(&path, e).to_string();
        assert!(
            shown.contains(
                "churn.toml: line 10, column 10: pipeline.transformers.1: column `email`"
            ),
            "{shown}"
        );
    }

    #[test]
    fn parameters_point_at_their_value_or_their_table() {
        let text = "scoring = \"auc\"\n\n[pipeline.extract]\nsql = \"users\"\n\n[estimator]\ntype = \"XGBoost\"\nmax_depth = -1\n";
        assert_eq!(locate_param(text, "estimator.max_depth"), Some((8, 13)));
        assert_eq!(locate_param(text, "estimator.seed"), Some((6, 1)));
        assert_eq!(locate_param(text, "scoring"), Some((1, 11)));
        assert_eq!(locate_param(text, "pipeline.split.seed"), None);
    }

    #[test]
    fn names_convert_both_ways() {
        assert_eq!(camel_case("subscribers_declared"), "SubscribersDeclared");
        assert_eq!(snake_case("SubscribersDeclared"), "subscribers_declared");
        assert_eq!(snake_case("Churn"), "churn");
    }

    #[test]
    fn declared_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[pipeline]\nsplit = 3\n").unwrap();
        refused(read_declared(&path), &["bad.toml", "line"]);
    }

    #[test]
    fn a_misspelled_encoder_or_field_gets_a_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("churn.toml");
        let spec = |encoder: &str| {
            format!(
                "[pipeline.extract]\nsql = \"users\"\n\n[[pipeline.encoders]]\n{encoder}\n\n\
                 [pipeline.output]\ntype = \"Boolean\"\ncolumn = \"y\"\n\n[estimator]\ntype = \"XGBoost\"\n"
            )
        };
        std::fs::write(&path, spec("type = \"Uniqe\"\ncolumn = \"first_name\"")).unwrap();
        let e = read_declared(&path).unwrap_err().to_string();
        holds(
            &e,
            &["churn.toml", "line 5", "`Uniqe`", "did you mean `Unique`?"],
        );
        std::fs::write(&path, spec("type = \"Norm\"\ncolumm = \"orders\"")).unwrap();
        refused(read_declared(&path), &["did you mean `column`?"]);
        std::fs::write(&path, spec("type = \"Zebra\"\ncolumn = \"orders\"")).unwrap();
        let e = read_declared(&path).unwrap_err().to_string();
        assert!(e.contains("`Zebra`") && !e.contains("did you mean"), "{e}");
    }
}
