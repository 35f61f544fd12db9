//! The arguments of the commands that operate a project rather than a model: `lore env`, `lore
//! test`, `lore generate`, `lore destroy`, `lore completions` and `lore man`.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use lore_core::generators::Kind;

/// Arguments of `lore env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print the settings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lore test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only these models (default: every model).
    pub models: Vec<String>,
    /// Rows copied of each development table into the test database, and rows each model's
    /// extract is cut to for its fit.
    #[arg(long, default_value_t = lore_core::test_env::ROWS)]
    pub rows: usize,
    /// Make the test database again, from tests/fixtures/ or the development database.
    #[arg(long)]
    pub fresh: bool,
    /// Leave out `cargo test` (the project's own Rust tests); only check the models.
    #[arg(long)]
    pub no_cargo: bool,
}

/// Arguments of `lore completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Arguments of `lore generate` and `lore destroy`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to make (or take out): model (extract, pipeline, estimator, model and test,
    /// registered), pipeline (src/pipelines/NAME.rs, reading src/extracts/NAME.sql, else users),
    /// estimator (src/estimators/NAME.rs), extract (src/extracts/NAME.sql), transformer or
    /// encoder (usable from TOML as { type = "Custom", name = "NAME", ... }), test (tests/NAME.rs,
    /// of an existing model).
    #[arg(
        value_parser = PossibleValuesParser::new(Kind::NAMES).try_map(|s| s.parse::<Kind>())
    )]
    pub kind: Kind,
    /// Its name in CamelCase, such as Churn (files are named in snake_case: churn.rs).
    pub name: String,
    /// Print the files it would create, edit or remove; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `lore report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The model [default: the model fitted last].
    pub model: Option<String>,
    /// The fitting: its id, or an alias such as staging [default: the one `lore api` serves:
    /// the production alias's, else the latest].
    pub fitting: Option<String>,
    /// Open the page in the browser (xdg-open, or $BROWSER) instead of printing its path.
    #[arg(long)]
    pub open: bool,
}
