//! A fit's fingerprint: one SHA-256 over everything that decides what a fit learns (the
//! resolved spec, the extract's SQL and parameter values, the rows, the Lore version, and the git
//! commit with its uncommitted changes). `lore fit` reuses an earlier fitting with the same
//! fingerprint instead of fitting again.
//!
//! The rows are hashed as the estimator sees them: split, encoded, with their labels. That covers
//! whole and streamed extracts alike, and a change to any row the model uses changes it.

use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::manifest::{self, Provenance};
use super::{ModelSpec, SearchOptions};
use crate::error::{Error, Result};
use crate::estimators::LabelledBatches;
use crate::io::Extract;
use crate::pipelines::Values;
use crate::tracking;

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of the train, validation and test rows with their labels, each split read from
/// its first batch and left ready to read again.
pub fn data(splits: &mut [&mut dyn LabelledBatches]) -> Result<String> {
    let mut h = Sha256::new();
    for split in splits.iter_mut() {
        split.reset()?;
        h.update((split.rows() as u64).to_le_bytes());
        while let Some((x, y)) = split.next_batch()? {
            h.update((x.rows as u64).to_le_bytes());
            h.update((x.columns as u64).to_le_bytes());
            match &x.values {
                Values::Dense(values) => {
                    h.update([0u8]);
                    values.iter().for_each(|v| h.update(v.to_le_bytes()));
                }
                Values::Sparse(csr) => {
                    h.update([1u8]);
                    csr.indptr.iter().for_each(|v| h.update(v.to_le_bytes()));
                    csr.indices.iter().for_each(|v| h.update(v.to_le_bytes()));
                    csr.values.iter().for_each(|v| h.update(v.to_le_bytes()));
                }
            }
            y.iter().for_each(|v| h.update(v.to_le_bytes()));
        }
        split.reset()?;
    }
    Ok(hex(h.finalize()))
}

/// The provenance of a fit of `spec` from `extract` whose rows hash to `data`, in the project at
/// `root`, searching its hyper-parameters as `search` says.
pub fn provenance(
    root: &Path,
    spec: &ModelSpec,
    extract: &Extract,
    data: String,
    search: Option<&SearchOptions>,
) -> Result<Provenance> {
    let git_commit = tracking::git_commit(root);
    let git_dirty = git_commit.as_ref().and_then(|_| tracking::git_dirty(root));
    // A dirty checkout's changes are part of what was fitted: two different edits of the same
    // commit must not share a fingerprint.
    let changes = match git_dirty {
        Some(true) => tracking::git_diff(root).map(|d| hex(Sha256::digest(d))),
        _ => None,
    };
    let inputs = json!({
        "spec": spec,
        // How many trials and how they are proposed decide which fit is kept; how many run at
        // once does not.
        "search": search.map(|s| json!({"trials": s.trials, "strategy": s.strategy.name(), "seed": s.seed})),
        "sql": extract.text(),
        "parameters": spec.pipeline.extract.params,
        "data": data,
        "lore_version": env!("CARGO_PKG_VERSION"),
        "git_commit": git_commit,
        "git_changes": changes,
    });
    let text = serde_json::to_vec(&inputs).map_err(|e| Error::Data(e.to_string()))?;
    Ok(Provenance {
        git_commit,
        git_dirty,
        data_sha256: Some(data),
        fingerprint: Some(hex(Sha256::digest(text))),
    })
}

/// The newest fitting in `model_dir` made from inputs with `fingerprint`, if any.
pub fn find(model_dir: &Path, fingerprint: &str) -> Option<String> {
    let mut ids: Vec<String> = std::fs::read_dir(model_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    ids.into_iter().rev().find(|id| {
        manifest::read(&model_dir.join(id))
            .ok()
            .flatten()
            .and_then(|m| m.provenance.fingerprint)
            .as_deref()
            == Some(fingerprint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::InMemory;
    use crate::pipelines::Matrix;

    fn split(values: Vec<f32>, labels: Vec<f32>) -> InMemory {
        let rows = labels.len();
        InMemory::new(
            Matrix {
                columns: values.len() / rows,
                rows,
                values: Values::Dense(values),
            },
            labels,
        )
    }

    #[test]
    fn the_data_hash_changes_with_any_value_label_or_split() {
        let hash = |a: Vec<f32>, y: Vec<f32>, b: Vec<f32>| {
            let (mut s1, mut s2) = (split(a, y), split(b, vec![1.0]));
            data(&mut [&mut s1, &mut s2]).unwrap()
        };
        let base = hash(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0], vec![5.0, 6.0]);
        assert_eq!(
            base,
            hash(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0], vec![5.0, 6.0])
        );
        for changed in [
            hash(vec![1.0, 2.0, 3.0, 4.5], vec![0.0, 1.0], vec![5.0, 6.0]),
            hash(vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 1.0], vec![5.0, 6.0]),
            hash(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0], vec![5.0, 7.0]),
        ] {
            assert_ne!(base, changed, "a value, a label or another split changed");
        }
    }

    #[test]
    fn a_split_reads_again_from_its_first_row_after_hashing() {
        let mut s = split(vec![1.0, 2.0], vec![1.0]);
        data(&mut [&mut s]).unwrap();
        assert!(s.next_batch().unwrap().is_some());
    }
}
