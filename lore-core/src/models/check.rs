//! A fitting's reference profile against new rows (`lore check`, `lore fit --check`): the
//! thresholds a model is checked under, the profile a fitting saved, the model's scores of the
//! new rows, and the `check` run that records the outcome.

use std::path::Path;

use polars::prelude::*;
use rand::SeedableRng;

use super::fitting::{read_json, write_compact_json, Fitting, PROFILE_FILE};
use super::prepare::{profile_whole, read_whole};
use super::{manifest, runs, ModelSpec};
use crate::check::page::Heading;
use crate::check::{self, Policy, Report};
use crate::env::Project;
use crate::error::{Error, Result};
use crate::profile::{self as profiles, FeatureProfiler, Profile};
use crate::tracking::{self, Run};

/// Rows the model scores for the drift of its scores, at most: a uniform sample of as many rows
/// as the profile keeps numbers of a column to know its distribution.
const SCORED_ROWS: usize = profiles::SAMPLE;

/// The project's checks file, the thresholds of every model without a `[checks]` table.
pub const CHECKS_FILE: &str = "checks.toml";

/// The thresholds `spec` is checked under: its `[checks]` table, else `config/checks.toml`, else
/// the defaults.
pub fn policy(project: &Project, spec: &ModelSpec) -> Result<Policy> {
    if let Some(policy) = &spec.checks {
        policy.validate()?;
        return Ok(policy.clone());
    }
    let Some(layered) = project.config::<Policy>(CHECKS_FILE)? else {
        return Ok(Policy::default());
    };
    layered.value.validate()?;
    Ok(layered.value)
}

/// The profile saved in the fitting folder `dir` of `model`.
pub fn saved_profile(dir: &Path, model: &str) -> Result<Profile> {
    if !dir.join(PROFILE_FILE).is_file() {
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        return Err(Error::Fitting(format!(
            "{}: fitting {id} of {model} has no data profile (it was fitted before Lore kept \
             one); `lore profile {id}` makes one from its extract, or fit the model again",
            dir.display()
        )));
    }
    read_json(dir, PROFILE_FILE)
}

impl Fitting {
    /// Makes the fitting's profile again from its extract, read whole with the parameters it
    /// was fitted with, and saves it, the manifest sealed again over it: for fittings made
    /// before Lore kept one. Refuses a fitting whose files no longer match their manifest, and
    /// (unless `replace`) one that has a profile. Gives the profile and whether the extract
    /// gave as many rows as the fit read (a table that changed since is profiled as it is now).
    pub async fn profile_again(&self, project: &Project, replace: bool) -> Result<(Profile, bool)> {
        let sealed = manifest::verify(&self.dir)?;
        if !replace && self.dir.join(PROFILE_FILE).is_file() {
            return Err(Error::Fitting(format!(
                "{}: fitting {} of {} has a profile already; --force makes it again",
                self.dir.display(),
                self.id,
                self.model
            )));
        }
        let spec = &self.spec;
        let df = read_whole(project, spec, format!("lore profile {}", self.id)).await?;
        let stats = &self.stats;
        let same_rows = df.height() == stats.train.rows + stats.validation.rows + stats.test.rows;
        let mut profile = profile_whole(&df)?;
        let test = spec.pipeline.test_rows(&df)?;
        let x = self.pipeline.prepare(test, "the extract's test rows")?;
        let mut features = FeatureProfiler::new(&self.pipeline.features);
        features.update(&x);
        profile.features = features.finish();
        let predicted = self.estimator.predict(&x)?;
        profile.scores = profiles::scores(&predicted, self.pipeline.output.task());
        write_compact_json(&self.dir, PROFILE_FILE, &profile)?;
        if let Some(sealed) = sealed {
            manifest::write(&self.dir, &sealed.provenance)?;
        }
        Ok((profile, same_rows))
    }

    /// The reference profile of the data this fitting learned from.
    pub fn profile(&self) -> Result<Profile> {
        saved_profile(&self.dir, &self.model)
    }

    /// Checks the raw input rows `df` against the fitting's profile under `policy`, with the
    /// model's scores of them where every input is present, writes the report as an HTML page
    /// to `page` where given, and records a `check` run; `location` names the rows in errors
    /// and in the run.
    pub async fn check(
        &self,
        project: &Project,
        df: &DataFrame,
        location: &str,
        policy: &Policy,
        page: Option<&Path>,
    ) -> Result<(Report, Run)> {
        let mut profile = self.profile()?;
        // Rows from production have no label; its absence is no fault of theirs.
        let label = self.pipeline.output.column();
        if df.column(label).is_err() {
            profile.columns.retain(|c| c.name != label);
        }
        let scores = self.scores(df, location);
        let report = check::check(&profile, df, scores.as_deref(), policy)?;
        let mut run = runs::check(self, location, &report)?;
        if let Some(path) = page {
            let heading = Heading {
                model: &self.model,
                fitting: &self.id,
                input: location,
            };
            let html = check::page::html(&heading, &report)?;
            std::fs::write(path, html).map_err(|e| Error::io(path, e))?;
            run.store("artifacts.report", path.display().to_string())?;
        }
        tracking::record(project, std::slice::from_ref(&run)).await?;
        Ok((report, run))
    }

    /// The model's score of each row (a multi-class model's highest probability), of a uniform
    /// sample of [`SCORED_ROWS`] where there are more; `None` where an input is missing or the
    /// rows cannot be predicted, which the check reports itself.
    fn scores(&self, df: &DataFrame, location: &str) -> Option<Vec<f64>> {
        if self.inputs().iter().any(|c| df.column(c).is_err()) {
            return None;
        }
        let sample = match df.height() > SCORED_ROWS {
            false => Ok(df.clone()),
            true => {
                let mut rng = rand_pcg::Pcg64::seed_from_u64(0);
                let mut rows: Vec<IdxSize> =
                    rand::seq::index::sample(&mut rng, df.height(), SCORED_ROWS)
                        .into_iter()
                        .map(|r| r as IdxSize)
                        .collect();
                rows.sort_unstable();
                df.take(&IdxCa::from_vec("rows".into(), rows))
                    .map_err(Error::from)
            }
        };
        match sample.and_then(|rows| self.predict(rows, location, false)) {
            Ok(p) => Some(
                p.values
                    .chunks(p.task.width().max(1))
                    .map(|row| f64::from(row.iter().copied().fold(f32::NEG_INFINITY, f32::max)))
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!("{e}; the check leaves the model's scores out");
                None
            }
        }
    }
}
