//! The `lore` command line. It parses, calls lore-core and prints; nothing more.
//!
//! The stand-alone `lore` binary calls [`main`]; a project's own binary calls [`main_with`] with
//! its Rust models, so both offer the same commands.

mod args;
mod build_info;
mod commands;
mod delegate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use lore_core::env::Project;
use lore_core::error_reports;
use lore_core::logs::{self, LogFile, Scrubbed};
use lore_core::models::Model;
use lore_core::redact::redact;

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
    #[cfg(unix)]
    wait_passively();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Found first: finding the project loads its .env, which may set LORE_ENV and SENTRY_DSN.
    let project = std::env::current_dir()
        .ok()
        .and_then(|cwd| Project::discover(&cwd).ok());
    // Dropped last, when the process exits: it waits for the last reports to leave.
    let _reports = start_error_reports(project.as_ref(), &matches);
    init_logging(cli.verbose, project.as_ref(), _reports.is_some());
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
            tracing::error!(target: error_reports::FAILURE_TARGET, "{message}");
            eprintln!("error: {}", redact(&message));
            ExitCode::FAILURE
        }
    }
}

/// Makes OpenMP's threads (XGBoost's) sleep while they wait for work instead of spinning, unless
/// `OMP_WAIT_POLICY` says otherwise. Spinning threads on cores that something else keeps busy (a
/// build, another job) made a 0.5 s fit take 6 s (median; up to 14 s); sleeping costs about 3%
/// on an idle machine (docs/performance.md). OpenMP reads the setting once, as its library loads before
/// `main`, so the process starts itself again with it; when that fails it goes on as it is.
#[cfg(unix)]
fn wait_passively() {
    use std::os::unix::process::CommandExt;
    const POLICY: &str = "OMP_WAIT_POLICY";
    if std::env::var_os(POLICY).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` returns only when it failed.
    let _ = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(POLICY, "passive")
        .exec();
}

/// Logs go to standard error (warnings, or everything at `--verbose` / `LORE_LOG`) and, inside a
/// project, to `logs/<LORE_ENV>.log` at info level: plain text, or JSON lines in production.
/// Every line is scrubbed of secrets and cut when long; the file is 0600 and rotated at
/// `LORE_LOG_MAX_BYTES` (10 MiB by default).
fn init_logging(verbose: bool, project: Option<&Project>, reporting: bool) {
    use std::sync::Mutex;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};
    type Boxed = Box<dyn Layer<Registry> + Send + Sync>;
    let file = project.and_then(log_file);
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
    // A command's failure is printed on standard error by itself, below.
    if let Ok(off) = format!("{}=off", error_reports::FAILURE_TARGET).parse() {
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
    if reporting {
        let filter = EnvFilter::new("info,sqlx=warn,aws_config=error,aws_smithy_runtime=warn");
        layers.push(error_reports::tracing_layer().with_filter(filter).boxed());
    }
    tracing_subscriber::registry().with(layers).init();
}

/// Starts sending error reports when a DSN is set, labelled with the command and its model; a
/// DSN that cannot be used is said on standard error, and the command goes on unreported.
fn start_error_reports(
    project: Option<&Project>,
    matches: &clap::ArgMatches,
) -> Option<error_reports::Reporting> {
    let settings = match error_reports::settings(project, env!("CARGO_PKG_VERSION")) {
        Ok(settings) => settings?,
        Err(e) => {
            eprintln!("note: not reporting errors: {}", redact(&e.to_string()));
            return None;
        }
    };
    let guard = error_reports::start(&settings);
    error_reports::tag("lore", build_info::VERSION);
    let mut command = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        command.push(name);
        if let Ok(Some(model)) = sub.try_get_one::<String>("model") {
            error_reports::tag("model", model);
        }
        current = sub;
    }
    error_reports::tag("command", &command.join(" "));
    Some(guard)
}

/// `logs/<LORE_ENV>.log` of the project around the working folder; none outside a project, and
/// none (with a note on standard error) when it cannot be opened.
fn log_file(project: &Project) -> Option<LogFile> {
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
