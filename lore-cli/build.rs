//! Lets the `lore` binary find XGBoost's shared library without `LD_LIBRARY_PATH`: the library
//! built by `xgboost_lib-sys` is copied beside the binary and the binary's rpath points there.
//! With the `torch` feature, the rpath also points at libtorch's folder (PyTorch's `lib/`), which
//! is too big to copy.

use std::path::{Path, PathBuf};

fn newest_xgboost_lib(build_dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(build_dir)
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("xgboost_lib-sys-")
        })
        .map(|e| e.path().join("out").join("lib").join("libxgboost.so"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

/// The commit Lore is built from (`lore --version`, error reports), and the files that change
/// when it does, so the build script runs again then; "unknown" outside a git checkout. The
/// checkout's `HEAD` is watched even when git cannot be run, so a later build can do better.
fn git_commit() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(head) = manifest
        .ancestors()
        .map(|d| d.join(".git").join("HEAD"))
        .find(|head| head.is_file())
    {
        println!("cargo:rerun-if-changed={}", head.display());
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".to_string();
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = Path::new(&dir);
        let mut watched = vec![dir.join("packed-refs")];
        watched.extend(git(&["symbolic-ref", "-q", "HEAD"]).map(|head| dir.join(head)));
        // A missing file would make cargo run this script on every build.
        for file in watched.iter().filter(|f| f.is_file()) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    commit
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=LORE_GIT_COMMIT={}", git_commit());
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    // OUT_DIR is <target>/<profile>/build/lore-cli-<hash>/out
    let Some(build_dir) = out_dir.ancestors().nth(2).map(Path::to_path_buf) else {
        return;
    };
    let Some(profile_dir) = build_dir.parent().map(Path::to_path_buf) else {
        return;
    };
    if let Some(lib) = newest_xgboost_lib(&build_dir) {
        // The binary asks for the library by its soname (libxgboost.so.N), the link's target.
        let soname = std::fs::read_link(&lib)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_owned()));
        let beside = profile_dir.join(soname.unwrap_or_else(|| "libxgboost.so".into()));
        if let Err(e) = std::fs::copy(&lib, &beside) {
            println!(
                "cargo:warning=could not copy {} beside the binary: {e}",
                lib.display()
            );
        }
        if let Some(dir) = lib.parent() {
            println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{}", dir.display());
        }
        println!("cargo:rerun-if-changed={}", lib.display());
    }
    // Set by torch-sys (its `links = "tch"`) for the crates that depend on it directly.
    if let Some(libtorch) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") {
        let libtorch = Path::new(&libtorch);
        println!(
            "cargo:rustc-link-arg-bins=-Wl,-rpath,{}",
            libtorch.display()
        );
        // Nothing calls libtorch_cuda by name, so the linker would drop it and libtorch would
        // see no CUDA device; keep it linked wherever PyTorch's build has it.
        if libtorch.join("libtorch_cuda.so").is_file() {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--no-as-needed,-L{},-ltorch_cuda,--as-needed",
                libtorch.display()
            );
        }
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN");
}
