//! The fit report of each fitting, in two forms: `report.md`, with its charts as SVG files beside
//! it, for a repository viewer; and `report.html`, one self-contained page with the same charts
//! inline and nothing fetched from anywhere, for a browser (`lore report`). Both hold the
//! metrics against the baseline, the ROC, precision-recall and calibration curves and the
//! confusion heat map of a classifier, predicted against actual values and the residuals of a
//! regression, feature importance, the learning curve, the features and the data profile.

use std::fmt::Write as _;
use std::path::Path;

use crate::encoders::Task;
use crate::error::{Error, Result};
use crate::estimators::{FitHistory, Scored};
use crate::metrics;
use crate::metrics::Stats;
use crate::pipelines::FittedPipeline;
use crate::profile::Profile;

mod charts;
mod page;

use charts::Chart;

/// The Markdown report's file name inside a fitting.
pub const REPORT_FILE: &str = "report.md";

/// The HTML report's file name inside a fitting.
pub const REPORT_PAGE: &str = "report.html";

/// What a fit's report is made of.
pub struct Contents<'a> {
    /// The model.
    pub model: &'a str,
    /// The fitting's id.
    pub id: &'a str,
    /// Its metrics.
    pub stats: &'a Stats,
    /// Its rounds' losses.
    pub history: &'a FitHistory,
    /// The test split's labels and predictions.
    pub test: &'a Scored,
    /// The fitted pipeline (its features and classes).
    pub pipeline: &'a FittedPipeline,
    /// The data it learned from.
    pub profile: &'a Profile,
}

/// Writes `report.md`, its charts and `report.html` into `dir`.
pub fn write(dir: &Path, contents: &Contents) -> Result<()> {
    let charts = draw(contents)?;
    for chart in &charts {
        let path = dir.join(chart.file);
        std::fs::write(&path, &chart.svg).map_err(|e| Error::io(&path, e))?;
    }
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, markdown(contents, &charts)).map_err(|e| Error::io(&path, e))?;
    let path = dir.join(REPORT_PAGE);
    std::fs::write(&path, page::html(contents, &charts)).map_err(|e| Error::io(&path, e))
}

/// The charts the task calls for.
fn draw(contents: &Contents) -> Result<Vec<Chart>> {
    let Contents {
        stats,
        history,
        test,
        pipeline,
        ..
    } = contents;
    let mut charts = Vec::new();
    match stats.task {
        Task::Binary => {
            let points = metrics::roc_curve(&test.labels, &test.predictions);
            charts.push(charts::roc(&points, stats.test.auc.unwrap_or(f64::NAN))?);
            charts.push(charts::precision_recall(test)?);
            charts.push(charts::calibration(test)?);
        }
        Task::Regression => {
            charts.push(charts::predicted_actual(test)?);
            charts.push(charts::residuals(test)?);
        }
        Task::MultiClass { .. } | Task::Clustering => {}
    }
    if let (Some(confusion), Task::MultiClass { .. } | Task::Binary) =
        (&stats.test.confusion, stats.task)
    {
        charts.push(charts::confusion(
            &pipeline.output.class_names(),
            confusion,
        )?);
    }
    if !stats.importance.is_empty() {
        charts.push(charts::importance(&stats.importance)?);
    }
    if !history.train_loss.is_empty() {
        charts.push(charts::learning_curve(history)?);
    }
    Ok(charts)
}

/// The rows of the metrics table: each split, then the baseline on the test rows.
fn metric_rows(stats: &Stats) -> Vec<(&'static str, &metrics::SplitStats)> {
    let mut rows = vec![
        ("train", &stats.train),
        ("validation", &stats.validation),
        ("test", &stats.test),
    ];
    rows.extend(stats.baseline.iter().map(|b| ("test, baseline (prior)", b)));
    rows
}

/// `report.md`.
fn markdown(contents: &Contents, charts: &[Chart]) -> String {
    let Contents {
        model,
        id,
        stats,
        pipeline,
        ..
    } = contents;
    let mut md = String::new();
    let _ = writeln!(md, "# {model} — fitting {id}\n");
    let _ = writeln!(
        md,
        "A {} model, scored by {}. `lore report {model} {id}` opens this report as a page.\n",
        stats.task.name(),
        stats.scoring.name()
    );
    let columns = metrics::columns(stats.task);
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let _ = writeln!(
        md,
        "| split | rows | {} |\n|---|---:|{}",
        names.join(" | "),
        "---:|".repeat(names.len())
    );
    for (name, s) in metric_rows(stats) {
        let values: Vec<String> = columns
            .iter()
            .map(|(_, f)| f(s).map_or("–".into(), |v| format!("{v:.4}")))
            .collect();
        let _ = writeln!(md, "| {name} | {} | {} |", s.rows, values.join(" | "));
    }
    if let (Some(confusion), Task::MultiClass { .. } | Task::Binary) =
        (&stats.test.confusion, stats.task)
    {
        let classes = pipeline.output.class_names();
        let _ = writeln!(
            md,
            "\nConfusion on the test split (rows: true class, columns: predicted):\n\n| | {} |\n|---|{}",
            classes.join(" | "),
            "---:|".repeat(classes.len())
        );
        for (class, row) in classes.iter().zip(confusion) {
            let cells: Vec<String> = row.iter().map(u64::to_string).collect();
            let _ = writeln!(md, "| **{class}** | {} |", cells.join(" | "));
        }
    }
    if stats.rounds > 1 {
        let _ = writeln!(
            md,
            "\nBest iteration {} of {} rounds run.",
            stats.best_iteration, stats.rounds
        );
    }
    let _ = writeln!(md);
    for chart in charts {
        let _ = writeln!(md, "![{}]({})\n", chart.title, chart.file);
    }
    // What a neural network needs to size its embeddings, and what a reader needs to read codes.
    let _ = writeln!(md, "## Features\n\n| feature | values |\n|---|---|");
    for (feature, cardinality) in pipeline.features.iter().zip(pipeline.cardinalities()) {
        let values = cardinality.map_or("numbers".to_string(), |n| format!("{n} codes"));
        let _ = writeln!(md, "| `{feature}` | {values} |");
    }
    md
}
