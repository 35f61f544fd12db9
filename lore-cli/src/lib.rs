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
            for cause in e.chain().skip(1) {
                message = format!("{message}: {cause}");
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose { "info,sqlx=warn" } else { "warn" };
    let filter = EnvFilter::try_from_env("LORE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if lore_core::env::current() == "production" {
        builder.json().init();
    } else {
        builder.without_time().init();
    }
}
