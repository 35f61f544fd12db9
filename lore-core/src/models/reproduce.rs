//! Reproducing a fitting: fit again from the spec it saved and compare every metric, so a user
//! learns whether the fitting can be remade from what is recorded (the same SQL and parameters
//! on the same data give the same model).

use std::collections::BTreeMap;

use serde_json::Value;

use super::fitting::Fitting;
use super::manifest;
use super::training::{self, FitOptions, Fitted};
use crate::env::Project;
use crate::error::{Error, Result};

/// A fitting fitted again.
#[derive(Debug)]
pub struct Reproduction {
    /// The fitting reproduced.
    pub original: Fitting,
    /// The new fit, saved and recorded (tagged `reproduces=<id>`).
    pub fitted: Fitted,
    /// Whether the extract gave the same rows (`None` when the original did not record them).
    pub same_data: Option<bool>,
    /// Every metric whose value differs, as (split.metric, original, reproduced).
    pub differences: Vec<(String, f64, f64)>,
    /// How many metrics were compared.
    pub compared: usize,
}

impl Reproduction {
    /// Whether every metric came out the same.
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Where the fitting named `id` lives, among every model's fittings.
pub fn locate(project: &Project, id: &str) -> Result<Fitting> {
    let models = Fitting::fitted_models(project);
    for model in &models {
        if Fitting::ids(project, model).iter().any(|i| i == id) {
            return Fitting::load(&project.fittings_dir().join(model).join(id));
        }
    }
    Err(Error::Fitting(format!(
        "no fitting `{id}` in {} (models with fittings: {}); `lore runs --kind fit` lists them",
        project.fittings_dir().display(),
        if models.is_empty() {
            "none".into()
        } else {
            models.join(", ")
        }
    )))
}

/// Fits the fitting named `id` again from its saved spec and compares the metrics.
pub async fn reproduce(project: &Project, id: &str, quiet: bool) -> Result<Reproduction> {
    let original = locate(project, id)?;
    let options = FitOptions {
        quiet,
        force: true,
        tags: BTreeMap::from([("reproduces".to_string(), id.to_string())]),
        ..FitOptions::default()
    };
    let fitted = training::fit(project, &original.spec, &options).await?;
    let data = |dir| {
        manifest::read(dir)
            .ok()
            .flatten()
            .and_then(|m| m.provenance.data_sha256)
    };
    let same_data = match (data(&original.dir), data(&fitted.fitting.dir)) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    let numbers = |f: &Fitting| -> Result<BTreeMap<String, f64>> {
        let mut out = BTreeMap::new();
        for (split, stats) in [
            ("train", &f.stats.train),
            ("validation", &f.stats.validation),
            ("test", &f.stats.test),
        ] {
            let value = serde_json::to_value(stats).map_err(|e| Error::Data(e.to_string()))?;
            if let Value::Object(map) = value {
                for (k, v) in map {
                    if let Some(x) = v.as_f64() {
                        out.insert(format!("{split}.{k}"), x);
                    }
                }
            }
        }
        out.insert("best_iteration".into(), f64::from(f.stats.best_iteration));
        out.insert("rounds".into(), f64::from(f.stats.rounds));
        Ok(out)
    };
    let (before, after) = (numbers(&original)?, numbers(&fitted.fitting)?);
    let differences = before
        .iter()
        .filter_map(|(k, &a)| {
            let b = after.get(k).copied().unwrap_or(f64::NAN);
            // Floating-point sums may be added in another order; anything beyond that differs.
            let same = (a - b).abs() <= 1e-9 * a.abs().max(1.0) || (a.is_nan() && b.is_nan());
            (!same).then(|| (k.clone(), a, b))
        })
        .collect();
    Ok(Reproduction {
        original,
        fitted,
        same_data,
        differences,
        compared: before.len(),
    })
}
