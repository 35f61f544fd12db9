//! Rust models are compiled into the project's own binary, whose `main` hands over to this
//! command line; the stand-alone `lore` runs that binary through `cargo run`, so `lore fit
//! Subscribers` and `cargo run --release -- fit Subscribers` are the same thing. Cargo rebuilds
//! only what changed, into the target folder shared by every Lore project.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::{build_info, Host};
use lore_core::env::Project;

/// Runs this command in the project's binary when a stand-alone `lore` lacks project code it
/// needs: `needs` names it (a Rust model, the project's own transformers or encoders), empty
/// when the command needs none. The one place the decision to hand over is made; `None` when
/// this `lore` goes on itself.
pub fn hand_over(
    host: &Host,
    project: &Project,
    needs: &[String],
    verbose: bool,
) -> Result<Option<ExitCode>> {
    let standalone = matches!(host, Host::Standalone);
    if needs.is_empty() || !standalone || !project.root.join("Cargo.toml").is_file() {
        return Ok(None);
    }
    tracing::info!(
        "this command needs the project's own {}; handing over to the project's binary",
        needs.join(", ")
    );
    run_in_project_binary(&project.root, verbose).map(Some)
}

/// Runs this command line's arguments in the project's binary, building it first if needed.
fn run_in_project_binary(root: &Path, verbose: bool) -> Result<ExitCode> {
    let manifest = root.join("Cargo.toml");
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.arg("run").arg("--manifest-path").arg(&manifest);
    if build_info::release_profile() {
        cargo.arg("--release");
    }
    if !verbose {
        cargo.arg("--quiet");
    }
    cargo.arg("--").args(std::env::args_os().skip(1));
    tracing::info!("running the project's own binary: {cargo:?}");
    if !verbose {
        eprintln!("Building {} (cargo, only what changed)...", root.display());
    }
    let status = cargo
        .status()
        .with_context(|| format!("cannot run cargo to build {}; install Rust (rustup) or fit a declared model (src/models/*.toml)", manifest.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
