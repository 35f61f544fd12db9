//! Where this `lore` was built from, which decides how new projects depend on Lore and where
//! they build.

use std::path::{Path, PathBuf};

/// `lore --version`: Lore's version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LORE_GIT_COMMIT"),
    ")"
);

/// The Lore checkout this binary was built from.
pub fn lore_checkout() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checkout = manifest.parent().unwrap_or(manifest);
    checkout
        .canonicalize()
        .unwrap_or_else(|_| checkout.to_path_buf())
}

/// The cargo target folder and profile this binary sits in, when it was built by cargo.
fn own_target() -> Option<(PathBuf, String)> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let profile_dir = exe.parent()?;
    let profile = profile_dir.file_name()?.to_str()?.to_string();
    let target = profile_dir.parent()?;
    target
        .join("CACHEDIR.TAG")
        .is_file()
        .then(|| (target.to_path_buf(), profile))
}

/// The target folder shared by every Lore project: `$LORE_TARGET_DIR`, else the one this `lore`
/// was built in (so compiled dependencies are reused), else `~/.cache/lore/target`.
pub fn shared_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LORE_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some((target, _)) = own_target() {
        return target;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("lore").join("target")
}

/// Whether projects are built with `--release`: yes unless this `lore` is itself a debug build.
pub fn release_profile() -> bool {
    own_target()
        .map(|(_, profile)| profile != "debug")
        .unwrap_or(true)
}
