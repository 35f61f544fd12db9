//! Where fittings are kept: the project's `models/` folder ([`LocalStore`]) and, when
//! `config/aws.toml` names a bucket, S3 under `<prefix>/<LORE_ENV>/` ([`S3Store`]). Both hold
//! `<Model>/<fitting>/<file>` and are [`Store`]s, so pushing and pulling are one copy between
//! two stores: file by file, each checked against the fitting's manifest, the manifest written
//! last so that a copy cut short is never taken for a fitting.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use super::manifest::{self, Manifest, MANIFEST_FILE};
use super::{aliases, Fitting};
use crate::env::{self, Project};
use crate::error::{Error, Result};
use crate::io::s3::S3;
use crate::paths;
use crate::progress::TransferProgress;

/// A place that holds fittings.
pub trait Store: Sync {
    /// Where it is, for messages: a folder, or `s3://bucket/prefix/env`.
    fn location(&self) -> String;

    /// Every complete fitting it holds (one with its manifest): model to ids, oldest first.
    fn fittings(&self) -> impl Future<Output = Result<BTreeMap<String, Vec<String>>>> + Send;

    /// A local folder holding fitting `id` of `model`, checked against its manifest: the
    /// fitting's own folder when it is local, else a download into `scratch`.
    fn fetch(
        &self,
        model: &str,
        id: &str,
        scratch: &Path,
    ) -> impl Future<Output = Result<PathBuf>> + Send;

    /// Copies the checked fitting in the folder `dir` into the store as `model/id`.
    fn put(&self, dir: &Path, model: &str, id: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The project's `models/` folder.
pub struct LocalStore {
    project: Project,
    root: PathBuf,
}

impl LocalStore {
    /// The fittings folder of `project`.
    pub fn new(project: &Project) -> LocalStore {
        LocalStore {
            project: project.clone(),
            root: project.fittings_dir(),
        }
    }
}

/// `root/<model>/<id>`, both names checked (see [`paths`]); `place` says where they came from.
pub fn fitting_dir(root: &Path, model: &str, id: &str, place: &str) -> Result<PathBuf> {
    let model_dir = paths::child(root, "model", model, place)?;
    paths::child(&model_dir, "fitting id", id, place)
}

/// Copies every file of `from` into the folder `to`.
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        if entry.path().is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(entry.path(), &target).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

impl Store for LocalStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn fittings(&self) -> Result<BTreeMap<String, Vec<String>>> {
        Ok(Fitting::fitted_models(&self.project)
            .into_iter()
            .map(|model| {
                let ids = Fitting::ids(&self.project, &model);
                (model, ids)
            })
            .collect())
    }

    async fn fetch(&self, model: &str, id: &str, _scratch: &Path) -> Result<PathBuf> {
        let dir = fitting_dir(&self.root, model, id, "the fitting asked for")?;
        if !dir.is_dir() {
            return Err(Error::Fitting(format!(
                "model {model} has no fitting `{id}` in {}",
                self.location()
            )));
        }
        manifest::verify(&dir)?;
        Ok(dir)
    }

    async fn put(&self, dir: &Path, model: &str, id: &str) -> Result<()> {
        let target = fitting_dir(&self.root, model, id, "the fitting to store")?;
        if target.is_dir() {
            manifest::verify(&target)?;
            return Ok(());
        }
        // Filled beside the target and renamed into place, so a copy cut short is never a fitting.
        let staging = self
            .root
            .join(model)
            .join(format!(".incoming-{id}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let copied = copy_files(dir, &staging)
            .and_then(|()| manifest::verify(&staging).map(|_| ()))
            .and_then(|()| std::fs::rename(&staging, &target).map_err(|e| Error::io(&target, e)));
        if copied.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        copied
    }
}

/// The fittings of one environment in an S3 bucket: `s3://bucket/<prefix>/<env>/<Model>/<id>/`,
/// with each model's aliases in `<Model>/aliases.json` beside its fittings.
#[derive(Clone)]
pub struct S3Store {
    s3: S3,
    root: String,
    progress: bool,
}

/// The alias object's name inside a model's folder of the store.
pub const ALIASES_FILE: &str = "aliases.json";

impl S3Store {
    /// The store for environment `env` in the bucket of `s3`.
    pub fn new(s3: S3, env: &str) -> S3Store {
        let prefix = &s3.settings().prefix;
        let root = match prefix.is_empty() {
            true => format!("{env}/"),
            false => format!("{prefix}/{env}/"),
        };
        S3Store {
            s3,
            root,
            progress: false,
        }
    }

    /// The same store, drawing a progress bar of each fitting copied when `show` (on a
    /// terminal); without it copies are silent, as `lore api` wants.
    pub fn showing_progress(mut self, show: bool) -> S3Store {
        self.progress = show;
        self
    }

    /// The store of `project` for the current `LORE_ENV`; `None` when `config/aws.toml` names
    /// no bucket.
    pub async fn of(project: &Project) -> Result<Option<S3Store>> {
        match project.s3()? {
            Some(settings) => Ok(Some(S3Store::new(
                S3::connect(&settings).await,
                &env::current(),
            ))),
            None => Ok(None),
        }
    }

    /// The store of `project`, which must have one: the error says how to configure it.
    pub async fn required(project: &Project) -> Result<S3Store> {
        S3Store::of(project).await?.ok_or_else(|| {
            Error::config(
                project.root.join("config").join("aws.toml"),
                "no S3 bucket is configured: set `bucket` in its [s3] section (the generated \
                 file reads LORE_S3_BUCKET), with `endpoint` and `path_style` for a server \
                 other than AWS",
            )
        })
    }

    /// The bucket client, for reading and writing single objects.
    pub fn s3(&self) -> &S3 {
        &self.s3
    }

    /// The full key of `path` (`<Model>/<id>/<file>`, `<Model>/aliases.json`) in the bucket.
    pub fn key(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    /// The manifest of fitting `id` of `model` as stored, or `None` when the store lacks it.
    pub async fn manifest(&self, model: &str, id: &str) -> Result<Option<Vec<u8>>> {
        self.s3
            .read(&self.key(&format!("{model}/{id}/{MANIFEST_FILE}")))
            .await
    }

    /// The alias object of `model`, or `None` when it has none.
    pub async fn read_aliases(&self, model: &str) -> Result<Option<Vec<u8>>> {
        self.s3
            .read(&self.key(&format!("{model}/{ALIASES_FILE}")))
            .await
    }

    /// Replaces the alias object of `model` (`None`: removes it).
    pub async fn write_aliases(&self, model: &str, bytes: Option<&[u8]>) -> Result<()> {
        let key = self.key(&format!("{model}/{ALIASES_FILE}"));
        match bytes {
            Some(bytes) => self.s3.write(&key, bytes).await,
            None => self.s3.delete(&key).await,
        }
    }
}

impl Store for S3Store {
    fn location(&self) -> String {
        self.s3.url(&self.root)
    }

    async fn fittings(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for object in self.s3.list(&self.root).await? {
            let Some(folder) = object
                .key
                .strip_prefix(&self.root)
                .and_then(|rest| rest.strip_suffix(&format!("/{MANIFEST_FILE}")))
            else {
                continue;
            };
            let (model, id) = folder.split_once('/').unwrap_or((folder, ""));
            let place = self.s3.url(&object.key);
            let checked = paths::checked("model", model, &place)
                .and_then(|_| paths::checked("fitting id", id, &place));
            match checked {
                Ok(_) => all
                    .entry(model.to_string())
                    .or_default()
                    .push(id.to_string()),
                Err(e) => warn_once(&object.key, &e),
            }
        }
        all.values_mut().for_each(|ids| ids.sort());
        Ok(all)
    }

    async fn fetch(&self, model: &str, id: &str, scratch: &Path) -> Result<PathBuf> {
        let manifest_key = self.key(&format!("{model}/{id}/{MANIFEST_FILE}"));
        let manifest_url = self.s3.url(&manifest_key);
        paths::checked("model", model, &manifest_url)?;
        let dir = paths::child(scratch, "fitting id", id, &manifest_url)?;
        let Some(bytes) = self.s3.read(&manifest_key).await? else {
            return Err(Error::Fitting(format!(
                "model {model} has no fitting `{id}` in {}",
                self.location()
            )));
        };
        let listed: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Storage(format!(
                "{}: not a fitting manifest ({e}); push the fitting again",
                self.s3.url(&manifest_key)
            ))
        })?;
        // Every name is checked before anything is written, so a bad manifest leaves nothing.
        let mut targets = Vec::with_capacity(listed.files.len());
        for name in listed.files.keys() {
            if name == MANIFEST_FILE {
                return Err(Error::Storage(format!(
                    "{manifest_url}: the manifest lists itself as a file; push the fitting again"
                )));
            }
            targets.push(paths::child(&dir, "file", name, &manifest_url)?);
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let total = listed.files.values().map(|f| f.bytes).sum();
        let progress =
            TransferProgress::new(self.progress, &format!("pulling {model}/{id}"), total);
        for ((name, entry), target) in listed.files.iter().zip(&targets) {
            let key = self.key(&format!("{model}/{id}/{name}"));
            if !self.s3.download(&key, target).await? {
                return Err(Error::Storage(format!(
                    "{}: missing, but the fitting's manifest lists it; push the fitting again",
                    self.s3.url(&key)
                )));
            }
            progress.add(entry.bytes);
        }
        let path = dir.join(MANIFEST_FILE);
        std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        manifest::verify(&dir).map_err(|e| {
            Error::Storage(format!(
                "fitting {model}/{id} downloaded from {} does not match its manifest: {e}; the \
                 copy in the bucket is damaged, so nothing was kept: push it again from a \
                 machine with a good copy (`lore models push {model} {id}`)",
                self.location()
            ))
        })?;
        Ok(dir)
    }

    async fn put(&self, dir: &Path, model: &str, id: &str) -> Result<()> {
        let Some(listed) = manifest::verify(dir)? else {
            return Err(Error::Fitting(format!(
                "{}: this fitting predates manifests, so it cannot be shipped checked; fit the \
                 model again",
                dir.display()
            )));
        };
        let place = dir.join(MANIFEST_FILE).display().to_string();
        paths::checked("model", model, &place)?;
        paths::checked("fitting id", id, &place)?;
        let total = listed.files.values().map(|f| f.bytes).sum();
        let progress =
            TransferProgress::new(self.progress, &format!("pushing {model}/{id}"), total);
        for (name, entry) in &listed.files {
            let key = self.key(&format!("{model}/{id}/{name}"));
            let file = paths::child(dir, "file", name, &place)?;
            self.s3.upload(&file, &key, &entry.sha256).await?;
            progress.add(entry.bytes);
        }
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        self.s3
            .write(&self.key(&format!("{model}/{id}/{MANIFEST_FILE}")), &bytes)
            .await
    }
}

/// Warns that the fitting at `key` is skipped for `why`, once a process: a server lists the
/// bucket every few seconds and should not repeat itself.
fn warn_once(key: &str, why: &Error) {
    static REPORTED: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let first = REPORTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key.to_string());
    if first {
        tracing::warn!("skipped a fitting in the bucket: {why}");
    }
}

/// Copies fitting `model/id` from one store to another through `scratch`.
pub async fn copy(
    from: &impl Store,
    to: &impl Store,
    model: &str,
    id: &str,
    scratch: &Path,
) -> Result<()> {
    let dir = from.fetch(model, id, scratch).await?;
    to.put(&dir, model, id).await
}

/// Uploads local fitting `id` of `model` to `remote`; `false` when the same fitting (same
/// manifest) is there already.
pub async fn push(project: &Project, remote: &S3Store, model: &str, id: &str) -> Result<bool> {
    let local = LocalStore::new(project);
    let dir = fitting_dir(&local.root, model, id, "the fitting to push")?;
    let ours = std::fs::read(dir.join(MANIFEST_FILE)).ok();
    if ours.is_some() && remote.manifest(model, id).await? == ours {
        return Ok(false);
    }
    copy(&local, remote, model, id, &dir).await?;
    Ok(true)
}

/// Downloads fitting `id` of `model` from `remote` into `models/` (unless it is there already)
/// and returns its folder. A download that fails or does not match its manifest leaves nothing.
pub async fn pull(project: &Project, remote: &S3Store, model: &str, id: &str) -> Result<PathBuf> {
    let local = LocalStore::new(project);
    let target = fitting_dir(&local.root, model, id, "the fitting to pull")?;
    if target.join(super::fitting::PARAMS_FILE).is_file() {
        return Ok(target);
    }
    let scratch = local
        .root
        .join(model)
        .join(format!(".pull-{id}-{}", std::process::id()));
    let copied = copy(remote, &local, model, id, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    copied?;
    tracing::info!("pulled fitting {model}/{id} from {}", remote.location());
    Ok(target)
}

/// A fitting reference resolved to an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The fitting's id.
    pub id: String,
    /// Whether only the remote holds it, so it is pulled before it is loaded.
    pub remote_only: bool,
}

/// The fitting of `model` that `wanted` names, by the one rule every command follows: a fitting
/// id in `models/`, then one in `remote`, then an alias (`production`, `staging`, any name) read
/// from the registry; when `wanted` is `None`, the latest fitting in either. `None` where the
/// model has no fitting at all; a name that is neither an id nor an alias resolves to itself, so
/// that loading it says which fittings there are.
pub async fn resolve(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    wanted: Option<&str>,
) -> Result<Option<Resolved>> {
    let local_ids = Fitting::ids(project, model);
    let here = |id: &str, remote_only: bool| {
        Some(Resolved {
            id: id.to_string(),
            remote_only,
        })
    };
    if let Some(name) = wanted.filter(|name| local_ids.iter().any(|i| i == name)) {
        return Ok(here(name, false));
    }
    let remote_ids = match remote {
        Some(r) => r.fittings().await?.remove(model).unwrap_or_default(),
        None => Vec::new(),
    };
    let remote_only =
        |id: &str| !local_ids.iter().any(|i| i == id) && remote_ids.contains(&id.to_string());
    Ok(match wanted {
        Some(name) if remote_ids.iter().any(|i| i == name) => here(name, true),
        Some(name) => match aliases::holder(project, remote, model, name).await? {
            Some(id) => {
                tracing::info!("{name} holds fitting {id} of {model}");
                here(&id, remote_only(&id))
            }
            None => here(name, false),
        },
        None => local_ids
            .iter()
            .chain(&remote_ids)
            .max()
            .and_then(|id| here(id, remote_only(id))),
    })
}

/// Loads the fitting of `model` that `wanted` names ([`resolve`]), pulling it from `remote`
/// when only the remote has it.
pub async fn load(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    wanted: Option<&str>,
) -> Result<Fitting> {
    let resolved = resolve(project, remote, model, wanted).await?;
    if let (
        Some(Resolved {
            id,
            remote_only: true,
        }),
        Some(remote),
    ) = (&resolved, remote)
    {
        pull(project, remote, model, id).await?;
    }
    Fitting::find(project, model, resolved.as_ref().map(|r| r.id.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::manifest::Provenance;
    use crate::testing::*;

    fn project(root: &Path) -> Project {
        Project {
            root: root.to_path_buf(),
            name: "p".into(),
        }
    }

    /// A fitting-like folder with a manifest.
    fn fitting(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("params.json"), b"{}").unwrap();
        std::fs::write(dir.join("pipeline.json"), b"{\"encoders\": []}").unwrap();
        manifest::write(dir, &Provenance::default()).unwrap();
    }

    #[tokio::test]
    async fn the_local_store_takes_a_checked_copy_and_keeps_nothing_of_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(&project(dir.path()));
        let source = dir.path().join("elsewhere").join("a");
        fitting(&source);
        store.put(&source, "M", "a").await.unwrap();
        let listed = store.fittings().await.unwrap();
        assert_eq!(listed["M"], ["a"]);
        let fetched = store.fetch("M", "a", dir.path()).await.unwrap();
        assert_eq!(fetched, dir.path().join("models/M/a"));

        let bad = dir.path().join("elsewhere").join("b");
        fitting(&bad);
        std::fs::write(bad.join("pipeline.json"), b"{\"encoders\": [1]}").unwrap();
        let e = store.put(&bad, "M", "b").await.unwrap_err().to_string();
        holds(&e, &["pipeline.json"]);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("models/M"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["a"], "no staging folder or half copy is left");
        let e = store.fetch("M", "zz", dir.path()).await.unwrap_err();
        assert!(e.to_string().contains("no fitting `zz`"), "{e}");
    }

    #[tokio::test]
    async fn a_fitting_id_resolves_to_itself_and_none_to_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let project = project(dir.path());
        let model_dir = project.fittings_dir().join("M");
        assert_eq!(resolve(&project, None, "M", None).await.unwrap(), None);
        for id in ["20260101-000000-0000", "20260102-000000-0000"] {
            fitting(&model_dir.join(id));
        }
        let local = |id: &str| {
            Some(Resolved {
                id: id.into(),
                remote_only: false,
            })
        };
        let latest = resolve(&project, None, "M", None).await.unwrap();
        assert_eq!(latest, local("20260102-000000-0000"));
        let first = resolve(&project, None, "M", Some("20260101-000000-0000"));
        assert_eq!(first.await.unwrap(), local("20260101-000000-0000"));
    }
}
