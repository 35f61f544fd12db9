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

/// `cargo SUBCOMMAND --manifest-path <root>/Cargo.toml [--release] [--quiet]` for the project at
/// `root` (quiet unless `verbose`),
/// without the variables a cargo that runs this `lore` (`cargo run`, `cargo test`) sets for it.
/// Build scripts such as ring's declare `CARGO_MANIFEST_DIR` and `CARGO_PKG_*` as inputs, and
/// cargo reads those from its own environment: left in, they rerun the script and rebuild
/// everything above it (rustls, the AWS SDK, lore-core) in the shared target folder, for this
/// build and again for the next one without them.
pub fn project_cargo(subcommand: &str, root: &Path, verbose: bool) -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref());
        if set_by_cargo {
            cargo.env_remove(name.as_ref());
        }
    }
    cargo
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    if build_info::release_profile() {
        cargo.arg("--release");
    }
    if !verbose {
        cargo.arg("--quiet");
    }
    cargo
}

/// Runs this command line's arguments in the project's binary, building it first if needed.
fn run_in_project_binary(root: &Path, verbose: bool) -> Result<ExitCode> {
    let manifest = root.join("Cargo.toml");
    let mut cargo = project_cargo("run", root, verbose);
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
