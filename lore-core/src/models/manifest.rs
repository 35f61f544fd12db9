//! A fitting's manifest: the SHA-256 and size of every file it holds, with the Lore version, git
//! commit and fingerprint of the inputs that made it. Written last, before the fitting is renamed into place; checked
//! whenever the fitting is loaded, so that a changed, truncated or missing file is refused by
//! name before anything is predicted from it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The manifest's file name inside a fitting.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a fitting holds, file by file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The version of Lore that wrote the fitting.
    pub lore_version: String,
    /// Where the fitting came from.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Every file but the manifest, by name.
    pub files: BTreeMap<String, FileEntry>,
}

/// Where a fitting came from: what `lore fit` finds an identical earlier fit by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The project's git commit at fit time, where the project is a git checkout.
    pub git_commit: Option<String>,
    /// Whether the checkout had changes not committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    /// The SHA-256 of the rows the estimator learned from, split and encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sha256: Option<String>,
    /// The SHA-256 of every input together: spec, SQL, its parameters, data, Lore version and
    /// git state (see `models::fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One file of a fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The SHA-256 (hex) and size of the file at `path`, read in blocks.
fn digest(path: &Path) -> Result<FileEntry> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&block[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        bytes,
    })
}

/// Writes the manifest of every file in `dir`, with where the fitting came from.
pub fn write(dir: &Path, provenance: &Provenance) -> Result<Manifest> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name == MANIFEST_FILE || !entry.path().is_file() {
            continue;
        }
        files.insert(name, digest(&entry.path())?);
    }
    let manifest = Manifest {
        lore_version: env!("CARGO_PKG_VERSION").into(),
        provenance: provenance.clone(),
        files,
    };
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
    Ok(manifest)
}

/// The manifest of `dir`, unchecked; `None` for a fitting from before manifests.
pub fn read(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        Error::Fitting(format!(
            "{}: line {}, column {}: {e}; the manifest is damaged, so the fitting cannot be \
             trusted: fit the model again",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    Ok(Some(manifest))
}

/// Checks every file the manifest of `dir` lists against its size and SHA-256. A fitting from
/// before manifests (none in `dir`) is loaded unchecked.
pub fn verify(dir: &Path) -> Result<Option<Manifest>> {
    let Some(manifest) = read(dir)? else {
        return Ok(None);
    };
    let path = dir.join(MANIFEST_FILE);
    let place = path.display().to_string();
    for (name, want) in &manifest.files {
        let file = crate::paths::child(dir, "file", name, &place)?;
        if !file.is_file() {
            return Err(Error::Fitting(format!(
                "{}: missing, but {} lists it; restore the file or fit the model again",
                file.display(),
                path.display()
            )));
        }
        let got = digest(&file)?;
        if got.bytes != want.bytes {
            return Err(Error::Fitting(format!(
                "{}: {} bytes where {} recorded {} (truncated or changed after the fit); \
                 restore the file or fit the model again",
                file.display(),
                got.bytes,
                path.display(),
                want.bytes
            )));
        }
        if got.sha256 != want.sha256 {
            return Err(Error::Fitting(format!(
                "{}: its SHA-256 is {} where {} recorded {} (changed after the fit); restore \
                 the file or fit the model again",
                file.display(),
                got.sha256,
                path.display(),
                want.sha256
            )));
        }
    }
    Ok(Some(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn a_changed_truncated_or_missing_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("pipeline.json"), b"{\"encoders\": []}").unwrap();
        std::fs::write(d.join("model.json"), vec![7u8; 200_000]).unwrap();
        let provenance = Provenance {
            git_commit: Some("abc".into()),
            fingerprint: Some("f".into()),
            ..Provenance::default()
        };
        let written = write(d, &provenance).unwrap();
        let text = std::fs::read_to_string(d.join(MANIFEST_FILE)).unwrap();
        holds(&text, &["\"git_commit\": \"abc\""]);
        assert_eq!(written.files.len(), 2);
        assert_eq!(written.files["model.json"].bytes, 200_000);
        assert_eq!(verify(d).unwrap(), Some(written));

        let mut bytes = std::fs::read(d.join("pipeline.json")).unwrap();
        bytes[3] ^= 1;
        std::fs::write(d.join("pipeline.json"), &bytes).unwrap();
        refused(verify(d), &["pipeline.json", "SHA-256"]);
        bytes[3] ^= 1;
        std::fs::write(d.join("pipeline.json"), &bytes).unwrap();
        assert!(verify(d).is_ok(), "restored, it passes again");

        std::fs::write(d.join("model.json"), vec![7u8; 1000]).unwrap();
        refused(verify(d), &["model.json", "truncated"]);
        std::fs::remove_file(d.join("model.json")).unwrap();
        refused(verify(d), &["model.json", "missing"]);
    }

    #[test]
    fn a_fitting_without_a_manifest_loads_unchecked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(verify(dir.path()).unwrap(), None);
    }
}
