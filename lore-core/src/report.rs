//! The fit report: a Markdown page in each fitting with the stats and drawn charts (the ROC curve
//! or predicted against actual values on the test split, feature importance and the learning
//! curve), as SVG files beside it.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::encoders::Task;
use crate::error::{Error, Result};
use crate::estimators::{FitHistory, Scored};
use crate::metrics;
use crate::metrics::Stats;
use crate::pipelines::FittedPipeline;

/// The report's file name inside a fitting.
pub const REPORT_FILE: &str = "report.md";

fn chart_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(path, std::io::Error::other(e.to_string()))
}

/// Writes `report.md` and its charts into `dir`: the ROC curve on the test split (binary), or
/// predicted against actual values (regression); feature importance; the learning curve.
pub fn write(
    dir: &Path,
    model: &str,
    id: &str,
    stats: &Stats,
    history: &FitHistory,
    test: &Scored,
    pipeline: &FittedPipeline,
) -> Result<()> {
    let mut charts = Vec::new();
    match stats.task {
        Task::Binary => {
            roc(
                &dir.join("roc.svg"),
                &metrics::roc_curve(&test.labels, &test.predictions),
                stats.test.auc.unwrap_or(f64::NAN),
            )?;
            charts.push(("ROC curve on the test split", "roc.svg"));
        }
        Task::Regression => {
            predicted_actual(&dir.join("predicted.svg"), test)?;
            charts.push((
                "Predicted against actual on the test split",
                "predicted.svg",
            ));
        }
        Task::MultiClass { .. } | Task::Clustering => {}
    }
    if !stats.importance.is_empty() {
        importance(&dir.join("importance.svg"), &stats.importance)?;
        charts.push(("Feature importance", "importance.svg"));
    }
    if !history.train_loss.is_empty() {
        learning_curve(&dir.join("learning_curve.svg"), history)?;
        charts.push(("Learning curve", "learning_curve.svg"));
    }

    let mut md = String::new();
    let _ = writeln!(md, "# {model} — fitting {id}\n");
    let _ = writeln!(
        md,
        "A {} model, scored by {}.\n",
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
    let baseline = stats.baseline.iter().map(|b| ("test, baseline (prior)", b));
    let splits = [
        ("train", &stats.train),
        ("validation", &stats.validation),
        ("test", &stats.test),
    ];
    for (name, s) in splits.into_iter().chain(baseline) {
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
    for (title, file) in charts {
        let _ = writeln!(md, "![{title}]({file})\n");
    }
    // What a neural network needs to size its embeddings, and what a reader needs to read codes.
    let _ = writeln!(md, "## Features\n\n| feature | values |\n|---|---|");
    for (feature, cardinality) in pipeline.features.iter().zip(pipeline.cardinalities()) {
        let values = cardinality.map_or("numbers".to_string(), |n| format!("{n} codes"));
        let _ = writeln!(md, "| `{feature}` | {values} |");
    }
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, md).map_err(|e| Error::io(&path, e))
}

/// Most points drawn in the predicted-against-actual chart (the first rows of the test split).
const SCATTER_POINTS: usize = 2000;

fn predicted_actual(path: &Path, test: &Scored) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| chart_error(path, e);
    let points: Vec<(f64, f64)> = test
        .labels
        .iter()
        .zip(&test.predictions)
        .take(SCATTER_POINTS)
        .map(|(y, p)| (f64::from(*y), f64::from(*p)))
        .filter(|(y, p)| y.is_finite() && p.is_finite())
        .collect();
    let (lo, hi) = points
        .iter()
        .flat_map(|(y, p)| [*y, *p])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (480, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Predicted against actual (test)", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("actual")
        .y_desc("predicted")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], &BLACK.mix(0.3)))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            points
                .iter()
                .map(|p| Circle::new(*p, 2, BLUE.mix(0.4).filled())),
        )
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn roc(path: &Path, points: &[(f64, f64)], auc: f64) -> Result<()> {
    let root = SVGBackend::new(path, (480, 480)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| chart_error(path, e);
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("ROC on test (AUC {auc:.3})"), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("false positive rate")
        .y_desc("true positive rate")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            &BLACK.mix(0.3),
        ))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(points.iter().copied(), &BLUE))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn importance(path: &Path, importance: &[(String, f64)]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| chart_error(path, e);
    let n = importance.len().max(1);
    let root = SVGBackend::new(path, (800, 60 + 28 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let max = importance
        .iter()
        .map(|(_, g)| *g)
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption("Feature importance", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(300)
        .build_cartesian_2d(0f64..max * 1.05, 0f64..n as f64)
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = importance.iter().map(|(f, _)| f.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let slot = (n as f64 - y - 0.5).round();
            if (n as f64 - y - 0.5 - slot).abs() < 0.01 && slot >= 0.0 {
                labels.get(slot as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(importance.iter().enumerate().map(|(i, (_, gain))| {
            let top = (n - i) as f64 - 0.15;
            Rectangle::new([(0.0, top - 0.7), (*gain, top)], BLUE.mix(0.7).filled())
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn learning_curve(path: &Path, history: &FitHistory) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| chart_error(path, e);
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let all = history
        .train_loss
        .iter()
        .chain(&history.validation_loss)
        .copied();
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let rounds = history.rounds.max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Learning curve ({})", history.metric),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(1f64..rounds.max(2.0), lo * 0.98..hi * 1.02)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("round")
        .draw()
        .map_err(|e| err(&e))?;
    for (series, color, label) in [
        (&history.train_loss, BLUE, "train"),
        (&history.validation_loss, RED, "validation"),
    ] {
        chart
            .draw_series(LineSeries::new(
                series.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)),
                &color,
            ))
            .map_err(|e| err(&e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}
