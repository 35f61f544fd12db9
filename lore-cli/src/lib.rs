//! The `lore` command line. It parses, calls lore-core and prints; nothing more.
//!
//! The stand-alone `lore` binary calls [`main`]; a project's own binary calls [`main_with`] with
//! its Rust models, so both offer the same commands.

mod args;
mod build_info;
mod commands;
mod delegate;

use std::process::ExitCode;

use clap::Parser;
use lore_core::logs::{self, LogFile, Scrubbed};
use lore_core::models::Model;

pub use args::Cli;

/// Who is running the command line.
pub(crate) enum Host {
    /// The stand-alone `lore`: declared models only; Rust models run through the project binary.
    Standalone,
    /// A project's binary, with its Rust models compiled in.
    Project(Vec<Box<dyn Model>>),
}

/// Entry point of the stand-alone `lore` binary.
pub fn main() -> ExitCode {
    run(Host::Standalone)
}

/// Entry point of a project's binary: Lore's command line with `models` registered.
pub fn main_with(models: Vec<Box<dyn Model>>) -> ExitCode {
    run(Host::Project(models))
}

fn run(host: Host) -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match commands::dispatch(cli, host) {
        Ok(code) => code,
        Err(e) => {
            let mut message = e.to_string();
            // lore-core's errors already say their source; a cause is added only once.
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            // Kept in the log file too; on standard error it is the line below alone.
            tracing::error!(target: FAILURE, "{message}");
            eprintln!("error: {}", lore_core::redact::redact(&message));
            ExitCode::FAILURE
        }
    }
}

/// The log target of a command's failure, which is printed on standard error by itself.
const FAILURE: &str = "lore_failure";

/// Logs go to standard error (warnings, or everything at `--verbose` / `LORE_LOG`) and, inside a
/// project, to `logs/<LORE_ENV>.log` at info level: plain text, or JSON lines in production.
/// Every line is scrubbed of secrets and cut when long; the file is 0600 and rotated at
/// `LORE_LOG_MAX_BYTES` (10 MiB by default).
fn init_logging(verbose: bool) {
    use std::sync::Mutex;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};
    type Boxed = Box<dyn Layer<Registry> + Send + Sync>;
    // The log file first: finding the project loads its .env, which may set LORE_ENV.
    let file = log_file();
    let production = lore_core::env::current() == "production";
    // Slow-statement warnings are expected of big extracts: kept in the log file and with -v.
    // The AWS SDK's own notes (each credential provider it tries) would drown Lore's; its
    // failures reach the user through Lore's errors, and retries through Lore's log lines.
    let default = if verbose {
        "info,sqlx=warn,aws_config=error,aws_smithy_runtime=warn,aws_sdk_s3=warn"
    } else {
        "warn,sqlx::query=error,aws_config=error"
    };
    let mut filter =
        EnvFilter::try_from_env("LORE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    if let Ok(off) = format!("{FAILURE}=off").parse() {
        filter = filter.add_directive(off);
    }
    let stderr = fmt::layer()
        .with_writer(|| Scrubbed::new(std::io::stderr()))
        .with_target(false);
    let stderr: Boxed = if production {
        stderr.json().with_filter(filter).boxed()
    } else {
        stderr.without_time().with_filter(filter).boxed()
    };
    let mut layers = vec![stderr];
    layers.extend(file.map(|file| -> Boxed {
        let layer = fmt::layer()
            .with_writer(Mutex::new(Scrubbed::new(file)))
            .with_ansi(false)
            .with_target(false);
        let filter = EnvFilter::new("info,sqlx=warn,aws_config=error,aws_smithy_runtime=warn");
        if production {
            layer.json().with_filter(filter).boxed()
        } else {
            layer.with_filter(filter).boxed()
        }
    }));
    tracing_subscriber::registry().with(layers).init();
}

/// `logs/<LORE_ENV>.log` of the project around the working folder; none outside a project, and
/// none (with a note on standard error) when it cannot be opened.
fn log_file() -> Option<LogFile> {
    let cwd = std::env::current_dir().ok()?;
    let project = lore_core::env::Project::discover(&cwd).ok()?;
    let path = project
        .root
        .join("logs")
        .join(format!("{}.log", lore_core::env::current()));
    let max = std::env::var("LORE_LOG_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(logs::MAX_FILE);
    match LogFile::open(&path, max) {
        Ok(file) => Some(file),
        Err(e) => {
            eprintln!("note: not logging to {}: {e}", path.display());
            None
        }
    }
}
