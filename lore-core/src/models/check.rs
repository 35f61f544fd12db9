//! A fitting's reference profile against new rows (`lore check`, `lore fit --check`): the
//! thresholds a model is checked under, the profile a fitting saved, the model's scores of the
//! new rows, and the `check` run that records the outcome.

use std::path::Path;

use polars::prelude::*;

use super::fitting::{read_json, Fitting, PROFILE_FILE};
use super::store::{self, S3Store};
use super::{aliases, runs, ModelSpec};
use crate::check::page::Heading;
use crate::check::{self, Policy, Report};
use crate::env::{toml_message, Project};
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::tracking::{self, Run};

/// The project's checks file, the thresholds of every model without a `[checks]` table.
pub const CHECKS_FILE: &str = "checks.toml";

/// The thresholds `spec` is checked under: its `[checks]` table, else `config/checks.toml`, else
/// the defaults.
pub fn policy(project: &Project, spec: &ModelSpec) -> Result<Policy> {
    if let Some(policy) = &spec.checks {
        policy.validate()?;
        return Ok(policy.clone());
    }
    let path = project.root.join("config").join(CHECKS_FILE);
    if !path.is_file() {
        return Ok(Policy::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let policy: Policy =
        toml::from_str(&text).map_err(|e| Error::config(&path, toml_message(&e, &text)))?;
    policy.validate()?;
    Ok(policy)
}

/// The profile saved in the fitting folder `dir` of `model`.
pub fn saved_profile(dir: &Path, model: &str) -> Result<Profile> {
    if !dir.join(PROFILE_FILE).is_file() {
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        return Err(Error::Fitting(format!(
            "{}: fitting {id} of {model} has no data profile (it was fitted before Lore kept \
             one); fit the model again to check new data against it",
            dir.display()
        )));
    }
    read_json(dir, PROFILE_FILE)
}

impl Fitting {
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
            let html = check::page::html(&heading, &report, &profile)?;
            std::fs::write(path, html).map_err(|e| Error::io(path, e))?;
            run.store("artifacts.report", path.display().to_string())?;
        }
        tracking::record(project, std::slice::from_ref(&run)).await?;
        Ok((report, run))
    }

    /// The model's score of each row (a multi-class model's highest probability); `None` where
    /// an input is missing or the rows cannot be predicted, which the check reports itself.
    fn scores(&self, df: &DataFrame, location: &str) -> Option<Vec<f64>> {
        if self.inputs().iter().any(|c| df.column(c).is_err()) {
            return None;
        }
        match self.predict(df.clone(), location, false) {
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

/// The fitting new rows of `model` are checked against: the one `wanted` names, else the
/// production alias's holder, else the latest (pulled from `remote` where only it has it).
pub async fn reference(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    wanted: Option<&str>,
) -> Result<Fitting> {
    let production = match wanted {
        Some(_) => None,
        None => aliases::holder(project, remote, model, "production").await?,
    };
    store::load(project, remote, model, wanted.or(production.as_deref())).await
}
