//! The command line, as clap derive types.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lore_core::search::Strategy;
use lore_core::tracking::RunKind;

mod operate;
pub use operate::{CompletionsArgs, EnvArgs, GenerateArgs, ReportArgs, TestArgs};

/// What `lore --help` says after the commands: where to start, and the environment variables
/// every command reads (each command's own are in its `--help`).
const ENVIRONMENT_HELP: &str = "\
Start with `lore init NAME`, then `cd NAME && lore fit Subscribers`.

Environment:
  LORE_ENV                the environment: config/<env>/*.toml over config/*.toml, .env.<env>
                          over .env (development by default; `lore test` uses test)
  LORE_LOG                what to log to standard error, as a tracing filter (e.g. debug)
  LORE_LOG_MAX_BYTES      size at which logs/<env>.log is rotated (10 MiB)
  LORE_QUERY_CACHE_LIMIT  bytes of extracts kept in data/cache/ (10 GiB)
  LORE_TARGET_DIR         the cargo target folder projects are built in
  SENTRY_DSN              report errors and panics to this Sentry server (config/sentry.toml)
  OMP_WAIT_POLICY         how XGBoost's OpenMP threads wait: passive unless set (active spins)
  BROWSER                 the program `lore report --open` opens the page with";

/// Lore: from a SQL extract to a fitted, evaluated, recorded model behind an HTTP endpoint.
#[derive(Debug, Parser)]
#[command(
    name = "lore",
    version = crate::build_info::VERSION,
    propagate_version = true,
    after_help = "Start with `lore init NAME`, then `cd NAME && lore fit Subscribers`.",
    after_long_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    /// Show what Lore is doing (stages, timings, where models come from).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print only results and errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project with sample data and a working model, written in Rust and in TOML.
    Init(InitArgs),
    /// Fit a model: extract, transform, split, encode, fit, evaluate, save and record it.
    ///
    /// Declared models (src/models/*.toml) are fitted inside this process, with no compilation.
    /// Rust models are fitted by the project's own binary: `lore fit Subscribers` runs `cargo run
    /// --release -- fit Subscribers`, which rebuilds only what changed, in the target folder
    /// shared by every Lore project. The fitting goes to models/<MODEL>/<fitting id>/ and is
    /// recorded in the metadata database (`lore runs`).
    Fit(FitArgs),
    /// Predict with a saved fitting for every row of a CSV, Parquet or JSON lines file.
    Predict(PredictArgs),
    /// Evaluate a saved fitting on new labelled rows: the metrics `lore fit` reports, on them.
    Evaluate(EvaluateArgs),
    /// Check new rows against the data a fitting learned from (its profile): quality (columns
    /// gone or added, kinds, nulls, numbers outside the training range, unseen categories,
    /// duplicate rows, row count) and drift of each column and of the model's scores, each
    /// column tested as Evidently does by default; thresholds from the model's [checks] table or
    /// config/checks.toml. Recorded as a `check` run; exits 1 when the check fails, for cron
    /// and CI.
    Check(CheckArgs),
    /// Serve every fitted model over HTTP: the fitting its production alias holds, else its
    /// latest, pulling from the S3 bucket of config/aws.toml what models/ lacks. Lore's routes,
    /// MLflow's /invocations, probes (/livez, /readyz), /metrics and /openapi.json on one port;
    /// API keys and JWTs from config/api.toml; SIGHUP reloads fittings. With log_predictions =
    /// true in config/api.toml every prediction is logged (`lore predictions` reads them).
    Api(ApiArgs),
    /// Add code to the project from templates, registered where Lore finds it: a model (its
    /// extract, pipeline, estimator, model and test), or one pipeline, estimator, extract,
    /// transformer, encoder, or test of an existing model. Never overwrites; --dry-run prints
    /// what it would write. `lore test` runs what it makes.
    Generate(GenerateArgs),
    /// Take out what `lore generate KIND NAME` made: its files removed, its registrations taken
    /// out of the mod.rs files, the project as it was before (fittings in models/ are kept).
    Destroy(GenerateArgs),
    /// List the project's models (Rust and declared); list, push and pull their fittings (S3);
    /// promote, roll back and show the history of their aliases (production, staging, ...).
    Models(ModelsArgs),
    /// List runs (fits, evaluations, search trials, checks, retrains), newest first; filter, sort,
    /// show, compare and export them.
    ///
    /// Columns: `score` is the run's scoring metric on the rows it names: test for a fit, valid
    /// (the validation split) for a search trial, input for an evaluation; `baseline` is the
    /// score on the test rows of predicting the training labels' prior, what a model must beat;
    /// `best_round` is the boosting round early stopping kept; `git` is the commit (+: with
    /// uncommitted changes). A key in --where, --sort or --columns that no run has is refused.
    Runs(RunsArgs),
    /// List the predictions `lore api` logged (`log_predictions = true` in config/api.toml),
    /// newest first: id, model, fitting, request, time, latency, inputs and answer; or write
    /// them to a file.
    Predictions(LoggedArgs),
    /// List the true labels sent for served predictions (POST /models/{name}/feedback or `lore
    /// feedback add`), newest first, with what the model said; or write them to a file (with
    /// a MODEL, as the model's labelled rows: inputs and the column it predicts).
    Feedback(FeedbackArgs),
    /// Fit a challenger on the model's extract plus the annotated rows of its feedback, score it
    /// and the served fitting on the same test rows of the extract and on held-out feedback,
    /// and with --promote-if-better move the production alias to it when it wins; the decision
    /// is recorded as a `retrain` run. A running `lore api` picks the promotion up when it
    /// next looks for fittings.
    Retrain(RetrainArgs),
    /// Fit a fitting again from the spec it saved and say whether every metric came out the
    /// same (and whether the extract gave the same rows). The new fitting is kept, tagged
    /// reproduces=FITTING.
    Reproduce(ReproduceArgs),
    /// Make the data profile of a fitting from before Lore kept one (what `lore check` holds
    /// new rows to): its extract read again, whole, with the parameters it was fitted with;
    /// saved as profile.json in the fitting, its manifest sealed again over it.
    Profile(ProfileArgs),
    /// Print the path of a fitting's report page (report.html: its metrics against the
    /// baseline, ROC, precision-recall and calibration curves, confusion heat map or residuals,
    /// feature importance, learning curve and data profile, in one self-contained page), or
    /// open it in the browser with --open.
    Report(ReportArgs),
    /// Print the configuration of the environment (LORE_ENV, default development): every
    /// setting of config/*.toml with config/<env>/*.toml over it key by key, the file it came
    /// from and where each ${VAR} it reads was set (.env.<env>, .env, the environment or its
    /// default); secrets masked.
    Env(EnvArgs),
    /// Run the project's tests with LORE_ENV=test: its Rust tests (`cargo test`), then each model
    /// checked on the test database (config/test/database.toml, made from the first rows of the
    /// development database or from tests/fixtures/): its extract runs under a LIMIT and a fit
    /// on those rows succeeds. Test fittings go to data/test/models/. Exits 1 when any fails.
    Test(TestArgs),
    /// Print a completion script for a shell: `lore completions bash > /etc/bash_completion.d/lore`,
    /// or `source <(lore completions zsh)`.
    Completions(CompletionsArgs),
    /// Print Lore's man page (roff): `lore man > ~/.local/share/man/man1/lore.1`.
    Man,
    /// Run an extract (src/extracts/NAME.sql) and show its first rows, or write them to a file.
    Extract(ExtractArgs),
    /// Run one SQL statement on a connection and show its rows.
    Sql(SqlArgs),
    /// Work with data files.
    #[command(subcommand)]
    Data(DataCommand),
    /// Inspect or empty the query cache (data/cache/).
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// Arguments of `lore extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The extract's name (src/extracts/NAME.sql or NAME.sql.tera).
    pub name: String,
    /// Bind a parameter (KEY=VALUE; numbers, true/false and null are typed, the rest is text). Repeatable.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The connection to run it on.
    #[arg(long, default_value = "main")]
    pub connection: String,
    /// Rows to show (the whole result goes to --output).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Write every row to this file (.csv, .tsv, .parquet, .json, .jsonl).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Read through the query cache.
    #[arg(long)]
    pub cache: bool,
    /// Say how many rows were read, the bytes their columns hold in memory (each text's 16-byte
    /// view included), and in how many seconds (on standard error).
    #[arg(long)]
    pub timing: bool,
}

/// Which logged rows `lore predictions` and `lore feedback` list.
#[derive(Debug, Args)]
pub struct LoggedArgs {
    /// Only this model's.
    pub model: Option<String>,
    /// Only those since then: an age (30m, 2h, 7d, 1w) or a date or UTC timestamp
    /// (2026-12-01, 2026-12-01T10:00:00Z).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Show at most this many (0: all); --export writes them all.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Write them all to this file (.csv, .tsv, .parquet, .json, .jsonl) instead of showing them.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

/// Arguments of `lore feedback`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FeedbackArgs {
    /// Send feedback instead of listing it.
    #[command(subcommand)]
    pub command: Option<FeedbackCommand>,
    /// Which feedback to list.
    #[command(flatten)]
    pub list: LoggedArgs,
}

/// What `lore feedback` does besides listing.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Send the true label of a logged prediction (--prediction ID) or of a record (--record
    /// JSON), or of every row of a file (--input: a prediction_id column, or the model's input
    /// columns, and the column the model predicts). Feedback sent again for a row replaces it.
    Add(FeedbackAddArgs),
}

/// Arguments of `lore feedback add`.
#[derive(Debug, Args)]
pub struct FeedbackAddArgs {
    /// The model the predictions are of.
    pub model: String,
    /// The id `lore api` answered the prediction with.
    #[arg(long, conflicts_with_all = ["record", "input"], requires = "label")]
    pub prediction: Option<String>,
    /// Or the record itself, as a JSON object of the model's inputs.
    #[arg(long, conflicts_with = "input", requires = "label")]
    pub record: Option<String>,
    /// The true label (a number, true/false, or a text).
    #[arg(long)]
    pub label: Option<String>,
    /// Or a file of rows (.csv, .parquet, .jsonl), each with its label.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Who sends it [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
}

/// Arguments of `lore retrain`.
#[derive(Debug, Args)]
pub struct RetrainArgs {
    /// The model to fit again with its feedback.
    pub model: String,
    /// Only feedback sent since then: an age (30m, 2h, 7d) or a date or timestamp.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// The share of the feedback held out to score both fittings on, not learned from.
    #[arg(long, default_value_t = 0.3, value_name = "SHARE")]
    pub holdout: f64,
    /// Move the production alias to the challenger when it wins.
    #[arg(long)]
    pub promote_if_better: bool,
    /// How much better the challenger's score must be to win (negative: how much worse it may
    /// be).
    #[arg(long, default_value_t = 0.002, allow_negative_numbers = true)]
    pub margin: f64,
    /// Set a parameter of the model for the challenger (KEY=VALUE, as `lore fit --param`).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lore sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The statement; `:name` parameters are bound from --param.
    pub sql: String,
    /// Bind a parameter (KEY=VALUE). Repeatable.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The connection to run it on.
    #[arg(long, default_value = "main")]
    pub connection: String,
    /// Rows to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// What `lore data` does.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Convert CSV, TSV, JSON, JSON lines, Parquet or a sheet of an Excel / OpenDocument workbook
    /// (.xlsx, .xlsm, .xlsb, .xls, .ods) into CSV, TSV, JSON, JSON lines or Parquet (by
    /// extension), printing the inferred schema.
    Convert {
        /// The file to read.
        input: PathBuf,
        /// The file to write, such as users.parquet.
        output: PathBuf,
        /// The sheet of a workbook to read (default: the first); its first row names the columns.
        #[arg(long)]
        sheet: Option<String>,
    },
}

/// What `lore cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List cached results, least recently used first.
    Ls,
    /// Remove every cached result.
    Clear,
}

/// Arguments of `lore init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project's name; a folder of that name is created here.
    pub name: String,
    /// Rows in the sample `users` table.
    #[arg(long, default_value_t = 100_000)]
    pub sample_rows: usize,
    /// Seed of the sample data (the same seed gives the same rows).
    #[arg(long, default_value_t = lore_core::sample::DEFAULT_SEED)]
    pub seed: u64,
    /// The Lore checkout the project depends on [default: the one this `lore` was built from].
    #[arg(long)]
    pub lore_path: Option<PathBuf>,
}

/// Arguments of `lore fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model to fit, such as Subscribers (`lore models` lists them).
    pub model: String,
    /// Override a parameter, cast to its type: a full path (estimator.max_depth=4) or a unique
    /// ending (max_depth=4, limit=50000). Repeatable. An unknown key lists the valid ones.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the encoded train, validation and test splits, with each row's label and the
    /// fitted model's predictions, as Parquet files into this folder (to study or fit elsewhere).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Search the model's hyper-parameter space (its [search] table) with N trials, the model's
    /// own parameters first, and keep the one with the best validation score; every trial is
    /// recorded in the kept fitting's search.json.
    #[arg(long, value_name = "N")]
    pub search: Option<usize>,
    /// How trials after the first are proposed: random, grid or tpe (a tree-structured Parzen
    /// estimator).
    #[arg(
        long,
        value_name = "STRATEGY",
        default_value = "tpe",
        requires = "search",
        value_parser = PossibleValuesParser::new(["random", "grid", "tpe"])
            .try_map(|s| s.parse::<Strategy>())
    )]
    pub search_strategy: Strategy,
    /// Trials fitted at once, each estimator on a share of the cores.
    #[arg(long, default_value_t = 1, requires = "search")]
    pub jobs: usize,
    /// Tag the run (`tags.KEY` in its document, for `lore runs --where`). Repeatable.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Fit even if an earlier fitting was made from identical inputs (spec, SQL, parameters,
    /// data, search, Lore version and git state), which `lore fit` otherwise reuses (it always
    /// fits with --export).
    #[arg(long)]
    pub force: bool,
    /// Upload the fitting to the S3 bucket of config/aws.toml after the fit (as `lore models
    /// push` does).
    #[arg(long)]
    pub upload: bool,
    /// Check the extract's rows against the profile of the model's production fitting (else
    /// its latest) first, and refuse to fit on a broken extract: a column gone, too few rows, a
    /// kind changed, a burst of nulls (the thresholds of `lore check`; drift alone passes).
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `lore check`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("rows").required(true).args(["input", "extract", "predictions"])))]
pub struct CheckArgs {
    /// The model whose fitting's profile the rows are held to.
    pub model: String,
    /// The fitting: its id, or an alias such as staging [default: the production alias's,
    /// else the latest].
    #[arg(long)]
    pub fitting: Option<String>,
    /// The new rows.
    #[command(flatten)]
    pub rows: RowsFrom,
    /// Or the inputs of the predictions `lore api` logged for the model (`log_predictions =
    /// true` in config/api.toml).
    #[arg(long, conflicts_with_all = ["input", "extract"])]
    pub predictions: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML page (the drifted columns' training
    /// and new distributions drawn overlaid).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Where a command's rows come from: a file, an extract, or (with --predictions or --feedback)
/// what `lore api` logged.
#[derive(Debug, Args)]
pub struct RowsFrom {
    /// The rows: .csv, .parquet or .jsonl.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Or the rows of an extract (src/extracts/NAME.sql).
    #[arg(long, conflicts_with = "input")]
    pub extract: Option<String>,
    /// Bind a parameter of --extract (KEY=VALUE). Repeatable.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The connection --extract runs on.
    #[arg(long, default_value = "main")]
    pub connection: String,
    /// Only what was logged since then, with --predictions or --feedback: an age (30m, 2h, 7d)
    /// or a date or timestamp.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

/// A fitting and a file of rows for it, as `lore predict` names them.
#[derive(Debug, Args)]
pub struct FittingRows {
    /// The model whose fitting is used.
    pub model: String,
    /// The fitting to use: its id, or an alias of the registry such as staging [default: the
    /// one `lore api` serves: the production alias's, else the latest].
    #[arg(long)]
    pub fitting: Option<String>,
    /// The rows: .csv, .parquet or .jsonl (for `evaluate`, with the column the model predicts).
    #[arg(long, short)]
    pub input: PathBuf,
}

/// Arguments of `lore evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model whose fitting is evaluated.
    pub model: String,
    /// The fitting: its id, or an alias such as staging [default: the one `lore api` serves:
    /// the production alias's, else the latest].
    #[arg(long)]
    pub fitting: Option<String>,
    /// The labelled rows, with the column the model predicts.
    #[command(flatten)]
    pub rows: RowsFrom,
    /// Or the rows of the model's feedback: logged predictions and records with their true
    /// labels (`lore feedback`), the live accuracy of what is served.
    #[arg(long, conflicts_with_all = ["input", "extract"])]
    pub feedback: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lore predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model, its fitting and the rows to predict.
    #[command(flatten)]
    pub rows: FittingRows,
    /// Where to write predictions (.csv, .parquet or .jsonl) [default: CSV on stdout].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also write each feature's SHAP contribution to each prediction (`shap_<feature>` and
    /// `shap_bias` columns, in log-odds for a classifier; they add up to the prediction's margin).
    #[arg(long)]
    pub explain: bool,
    /// Input columns to write beside the predictions, comma-separated (an id to join them back
    /// on, or inputs to read them with), first and in this order.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub keep: Vec<String>,
}

/// Arguments of `lore api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Check this often (seconds) for a promotion, a rollback or a new latest fitting, and serve
    /// it without a restart (0: never; SIGHUP checks at once either way).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub refresh: u64,
    /// The largest request body taken, in bytes (a larger one gets 413).
    #[arg(long, env = "LORE_API_MAX_BODY", default_value_t = 16 << 20, value_name = "BYTES")]
    pub max_body: usize,
    /// The most records one request may hold (more: 413).
    #[arg(long, env = "LORE_API_MAX_RECORDS", default_value_t = 100_000)]
    pub max_records: usize,
    /// The most fields one record may hold, the model's inputs and others together (more: 413).
    #[arg(long, env = "LORE_API_MAX_FIELDS", default_value_t = 1_000)]
    pub max_fields: usize,
    /// The longest text value taken, in bytes (longer: 413).
    #[arg(
        long,
        env = "LORE_API_MAX_TEXT",
        default_value_t = 65_536,
        value_name = "BYTES"
    )]
    pub max_text: usize,
    /// The most different fields the model does not take in one request: they are skipped and
    /// listed in the answer's `ignored_fields` (more: 413).
    #[arg(long, env = "LORE_API_MAX_IGNORED", default_value_t = 1_000)]
    pub max_ignored: usize,
    /// Refuse a record with a field the model does not take (a 400 naming it) instead of
    /// skipping the field.
    #[arg(long, env = "LORE_API_REFUSE_UNKNOWN_FIELDS")]
    pub refuse_unknown_fields: bool,
    /// Seconds a client has to send a request's headers, counted from when the connection is
    /// ready for them; past it the connection is closed.
    #[arg(
        long,
        env = "LORE_API_HEADER_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECONDS"
    )]
    pub header_timeout: f64,
    /// Seconds a client has to send a request's body (past it: 408).
    #[arg(
        long,
        env = "LORE_API_BODY_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECONDS"
    )]
    pub body_timeout: f64,
    /// Seconds a connection with no request in flight may go without a byte from its client
    /// (a keep-alive connection waiting for its next request) before it is closed.
    #[arg(
        long,
        env = "LORE_API_IDLE_TIMEOUT",
        default_value_t = 5.0,
        value_name = "SECONDS"
    )]
    pub idle_timeout: f64,
    /// Seconds the server takes over one whole request before answering 504.
    #[arg(
        long,
        env = "LORE_API_REQUEST_TIMEOUT",
        default_value_t = 60.0,
        value_name = "SECONDS"
    )]
    pub request_timeout: f64,
    /// Seconds Ctrl-C or SIGTERM waits for open requests before closing their connections.
    #[arg(
        long,
        env = "LORE_API_SHUTDOWN_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: f64,
    /// The most predictions answered at once; a request past it gets 503 with Retry-After at
    /// once instead of waiting in a queue.
    #[arg(long, env = "LORE_API_MAX_CONCURRENCY", default_value_t = 1024)]
    pub max_concurrency: usize,
    /// Log a line for every request (id, route, model, fitting, status, rows, milliseconds);
    /// without it only failed requests are logged.
    #[arg(long, env = "LORE_API_ACCESS_LOG")]
    pub access_log: bool,
    /// Take the API key whose SHA-256 digest (64 hex digits: `printf %s "$KEY" | sha256sum`)
    /// this is, besides those of config/api.toml; repeat it, or give several separated by
    /// commas in LORE_API_KEY_SHA256.
    #[arg(
        long = "api-key-sha256",
        env = "LORE_API_KEY_SHA256",
        value_delimiter = ',',
        value_name = "DIGEST"
    )]
    pub api_key_sha256: Vec<String>,
    /// Listen on an address other machines can reach with no authentication configured (by
    /// default that is refused).
    #[arg(long)]
    pub allow_unauthenticated: bool,
}

/// Arguments of `lore models`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModelsArgs {
    /// List, ship or promote fittings instead of listing the models.
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `lore models` does besides listing.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List fittings, newest last, with the aliases that hold them: those in models/, or with
    /// --remote those in the S3 bucket of config/aws.toml (marking the ones cached locally).
    Ls {
        /// Only this model's fittings.
        model: Option<String>,
        /// List the S3 bucket's fittings instead of models/.
        #[arg(long)]
        remote: bool,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Upload a fitting to the S3 bucket of config/aws.toml (under <prefix>/<LORE_ENV>/), its
    /// files checked by SHA-256 and its manifest last.
    Push {
        /// The model.
        model: String,
        /// The fitting's id or an alias such as production [default: the latest in models/].
        fitting: Option<String>,
    },
    /// Download a fitting from the S3 bucket into models/, checked against its manifest.
    Pull {
        /// The model.
        model: String,
        /// The fitting's id or an alias such as production [default: production's holder, else
        /// the latest fitting, here or in the bucket].
        fitting: Option<String>,
    },
    /// Point an alias (production, staging, any name) at a fitting; `lore api` serves the
    /// production alias's fitting when it is set.
    Promote {
        /// The model, such as Subscribers.
        model: String,
        /// The fitting's id.
        fitting: String,
        /// The alias.
        #[arg(long, default_value = "production")]
        to: String,
    },
    /// Point an alias back at the fitting it held before its last promotion.
    Rollback {
        /// The model.
        model: String,
        /// The alias.
        #[arg(long, default_value = "production")]
        alias: String,
    },
    /// Every promotion and rollback of a model's aliases, oldest first, and who holds each now.
    History {
        /// The model.
        model: String,
        /// Print the events as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A `--json` flag.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lore reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The fitting's id (`lore runs --kind fit` lists them).
    pub fitting: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lore profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The fitting's id (`lore models ls` lists them).
    pub fitting: String,
    /// Make it again where the fitting has one.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `lore runs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// Show, compare or export runs instead of listing them.
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Only this model's runs (the same as --model).
    #[arg(id = "runs_model", value_name = "MODEL")]
    pub model: Option<String>,
    /// Which runs.
    #[command(flatten)]
    pub select: RunSelection,
    /// Sort by these comma-separated keys, a leading `-` for descending, such as
    /// -metrics.test.auc; runs without the key come last [default: newest first].
    #[arg(long, value_name = "KEYS", allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// Show these comma-separated keys as columns, such as metrics.test.auc,params.estimator.learning_rate.
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Show at most this many runs (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print the runs' documents as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which runs `lore runs` and `lore runs export` take.
#[derive(Debug, Args)]
pub struct RunSelection {
    /// Only this model's runs.
    #[arg(long = "model", value_name = "MODEL")]
    pub model: Option<String>,
    /// Only runs of this kind.
    #[arg(
        long,
        value_parser = PossibleValuesParser::new(RunKind::NAMES)
            .try_map(|s| s.parse::<RunKind>())
    )]
    pub kind: Option<RunKind>,
    /// Only runs passing this filter, run in the metadata database, such as
    /// 'metrics.test.auc >= 0.72 and params.estimator.max_depth = 6'. Operators = != < <= > >=
    /// in, not in, like, exists, not exists; and, or, parentheses; MLflow's search_runs syntax
    /// where it maps (`metrics.`test.auc``, AND, ILIKE, IS NULL). See docs/reference.md.
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
}

/// What `lore runs` does besides listing.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run's whole document: params, data, metrics, tags, timings, artifacts.
    Show {
        /// The run's id, or the start of it (a fit's run has its fitting's id).
        run: String,
        /// Print the document as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Runs side by side: every param, data and metric key, changed ones marked with `*`.
    Compare {
        /// Two or more run ids (or starts of them).
        #[arg(num_args = 2.., required = true)]
        runs: Vec<String>,
        /// Show only the keys whose values differ.
        #[arg(long)]
        changed: bool,
    },
    /// Write runs as a table, one column per key: CSV or Parquet.
    Export {
        /// Which runs.
        #[command(flatten)]
        select: RunSelection,
        /// The file format.
        #[arg(long, value_enum, default_value_t = TableFormat::Csv)]
        format: TableFormat,
        /// The file to write [default: CSV on stdout].
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command (unique names, valid defaults), which only debug
    /// builds run and only for the command a user types.
    #[test]
    fn every_command_passes_clap_s_checks() {
        super::Cli::command().debug_assert();
    }
}

/// The formats `lore runs export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Comma-separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// Its name, which is also the file extension it takes.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }
}
