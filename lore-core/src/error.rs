//! The one error type of lore-core: each variant says what went wrong, where, and what to do.

use std::path::PathBuf;

/// Everything that can go wrong inside lore-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `Lore.toml` was found in the working directory or any of its parents.
    #[error("no Lore project here: no Lore.toml in {0} or any folder above it; run `lore init NAME` to create one, or cd into a project")]
    NoProject(PathBuf),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// A configuration or specification file is malformed.
    #[error("{path}: {message}")]
    Config {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong in it, with line and column where known, and what to do.
        message: String,
    },

    /// A model name that the project does not define.
    #[error("no model named `{name}` in this project;{} the models are: {}", did_you_mean(.name, .known), list_or(.known, "(none yet: run `lore generate model NAME`)"))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// Every model the project has.
        known: Vec<String>,
    },

    /// A `--param` key that the model does not have.
    #[error("model {model} has no parameter `{key}`;{} {}", did_you_mean_param(.key, .valid), param_summary(.valid))]
    UnknownParam {
        /// The model whose parameters were searched.
        model: String,
        /// The key given.
        key: String,
        /// Every valid key.
        valid: Vec<String>,
    },

    /// A parameter value of the wrong type or out of range.
    #[error("parameter `{key}`: {message}")]
    InvalidParam {
        /// The parameter at fault.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },

    /// A column that a transformer, encoder or input row needs is not there.
    #[error("missing column `{column}`{}: the {needed_by} needs it;{} columns present: {}", in_location(.location), did_you_mean(.column, .present), list_or(.present, "(none)"))]
    MissingColumn {
        /// The column that is missing.
        column: String,
        /// What needs it (an encoder, a transformer).
        needed_by: String,
        /// Where the data came from (a file, an extract, a request), when known.
        location: Option<String>,
        /// The columns that are there.
        present: Vec<String>,
    },

    /// A column holds values of a type its consumer cannot use.
    #[error("column `{column}`: {message}")]
    ColumnType {
        /// The column at fault.
        column: String,
        /// What was found and what was expected.
        message: String,
    },

    /// A database could not be reached or a query failed.
    #[error("database {url}: {message}")]
    Database {
        /// The connection (with any password removed).
        url: String,
        /// What the database said, and what to do.
        message: String,
    },

    /// A data frame operation failed.
    #[error("data: {0}")]
    Data(String),

    /// The estimator failed to fit or predict.
    #[error("estimator: {0}")]
    Estimator(String),

    /// A fitting could not be found or loaded.
    #[error("fitting: {0}")]
    Fitting(String),

    /// A run could not be found, or a filter over runs is wrong.
    #[error("runs: {0}")]
    Run(String),

    /// A promotion, rollback or alias lookup in the model registry failed.
    #[error("model registry: {0}")]
    Registry(String),

    /// Object storage (S3) refused a request or could not be reached.
    #[error("object storage: {0}")]
    Storage(String),

    /// A name from outside (a bucket, a manifest, a request, the command line) that cannot be
    /// a file or folder name.
    #[error("{what} {name} in {place} is refused: {reason}; Lore writes only letters, digits, `_`, `-` and `.` there, so the name was not made by Lore: remove or rename it")]
    UnsafeName {
        /// What the name stands for: a model, a fitting id, a file.
        what: String,
        /// The name, quoted and cut short.
        name: String,
        /// Where it came from.
        place: String,
        /// What is wrong with it.
        reason: String,
    },

    /// New training data failed its check against a fitting's profile (`lore fit --check`).
    #[error("the rows of extract {extract} fail the check against fitting {fitting}: {}; fix the extract or its parameters, or fit without --check", .problems.join("; "))]
    CheckFailed {
        /// The extract read.
        extract: String,
        /// The fitting whose profile the rows were checked against.
        fitting: String,
        /// What failed, each a sentence.
        problems: Vec<String>,
    },

    /// Input to a prediction is malformed.
    #[error("{0}")]
    Input(String),

    /// An item of a model's spec that does not work with the data, named by its key, such as
    /// `pipeline.transformers.1`, so a declared model's error can point at its line.
    #[error("{key}: {source}")]
    InSpec {
        /// The item's key in the spec.
        key: String,
        /// What went wrong with it.
        source: Box<Error>,
    },
}

/// " did you mean `x`?" for the present column closest to a missing one, when one is close.
fn did_you_mean(column: &str, present: &[String]) -> String {
    present
        .iter()
        .map(|p| {
            (
                strsim::jaro_winkler(&column.to_lowercase(), &p.to_lowercase()),
                p,
            )
        })
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| format!(" did you mean `{p}`?"))
        .unwrap_or_default()
}

/// The parameter `key` most likely meant: the closest full path or ending of one.
fn did_you_mean_param(key: &str, valid: &[String]) -> String {
    let key = key.to_lowercase();
    valid
        .iter()
        .map(|p| {
            let last = p.rsplit('.').next().unwrap_or(p).to_lowercase();
            // `depth` for `max_depth`: a part of the name is as good as a near miss of it.
            let part = if key.len() >= 4 && last.contains(&key) {
                0.9
            } else {
                0.0
            };
            let score = strsim::jaro_winkler(&key, &p.to_lowercase())
                .max(strsim::jaro_winkler(&key, &last))
                .max(part);
            (score, p)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| format!(" did you mean `{p}`?"))
        .unwrap_or_default()
}

/// A model's parameters in brief: the estimator's and the extract's by name, the rest counted.
fn param_summary(valid: &[String]) -> String {
    let under = |prefix: &str| -> Vec<&str> {
        valid
            .iter()
            .filter_map(|p| p.strip_prefix(prefix))
            .collect()
    };
    let estimator = under("estimator.");
    let extract = under("pipeline.extract.params.");
    let rest = valid.len() - estimator.len() - extract.len();
    let mut parts = Vec::new();
    if !estimator.is_empty() {
        parts.push(format!("the estimator's: {}", estimator.join(", ")));
    }
    if !extract.is_empty() {
        parts.push(format!("the extract's: {}", extract.join(", ")));
    }
    if rest > 0 {
        parts.push(format!(
            "and {rest} more of the pipeline, by full path (such as pipeline.split.seed)"
        ));
    }
    match parts.is_empty() {
        true => "it has none".to_string(),
        false => format!("its parameters are {}", parts.join("; ")),
    }
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
    }
}

fn in_location(location: &Option<String>) -> String {
    location
        .as_ref()
        .map(|l| format!(" in {l}"))
        .unwrap_or_default()
}

/// The result type of lore-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Fitting`] for a file of a fitting at `path` that is not the JSON it should be,
    /// naming the line and column.
    pub fn fitting_json(path: &std::path::Path, e: &serde_json::Error) -> Self {
        Error::Fitting(format!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    }

    /// This error, as the fault of the spec item at `key` (unless it already names one).
    pub fn in_spec(self, key: impl Into<String>) -> Self {
        match self {
            Error::InSpec { .. } => self,
            e => Error::InSpec {
                key: key.into(),
                source: Box::new(e),
            },
        }
    }

    /// The column an error is about, when it is about one.
    pub fn column(&self) -> Option<&str> {
        match self {
            Error::MissingColumn { column, .. } | Error::ColumnType { column, .. } => Some(column),
            Error::InSpec { source, .. } => source.column(),
            _ => None,
        }
    }

    /// An [`Error::Config`] for `path`.
    pub fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Data(e.to_string())
    }
}
