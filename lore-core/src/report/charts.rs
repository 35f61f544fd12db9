//! The fit report's charts, drawn with plotters as SVG text: `report.md` links them as files
//! beside it, `report.html` holds them inline.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::estimators::{FitHistory, Scored};

/// One drawn chart.
pub(super) struct Chart {
    /// What it shows, as a caption.
    pub title: String,
    /// Its file name beside `report.md`.
    pub file: &'static str,
    /// The SVG.
    pub svg: String,
}

/// Most points drawn in a scatter chart (the first rows of the test split).
const SCATTER_POINTS: usize = 2000;

/// Most points of a curve: a ROC or precision-recall curve of a million rows is cut to this.
const CURVE_POINTS: usize = 500;

/// Bins of the calibration curve.
const CALIBRATION_BINS: usize = 10;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws a chart of `size` into SVG text with `draw`; `file` names it in errors.
fn svg(
    file: &'static str,
    title: impl Into<String>,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> std::result::Result<(), String>,
) -> Result<Chart> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_error(file, e))?;
        draw(&root).map_err(|e| chart_error(file, e))?;
        root.present().map_err(|e| chart_error(file, e))?;
    }
    Ok(Chart {
        title: title.into(),
        file,
        svg: text,
    })
}

fn chart_error(file: &str, e: impl std::fmt::Display) -> Error {
    Error::Data(format!("drawing the report's chart {file}: {e}"))
}

/// plotters' errors as text, for `?` inside a drawing.
fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The smallest and largest finite values, or 0..1 when there are none or they are equal.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Every `step`-th point of `points`, the last one kept, so a curve keeps its shape.
fn thinned(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let step = points.len().div_ceil(CURVE_POINTS).max(1);
    let last = points.last().copied();
    let mut out: Vec<(f64, f64)> = points.into_iter().step_by(step).collect();
    if let Some(last) = last {
        if out.last() != Some(&last) {
            out.push(last);
        }
    }
    out
}

/// A curve over the unit square with the line a model without skill draws, `axes` named.
fn unit_curve(
    file: &'static str,
    title: String,
    axes: (&str, &str),
    chance: Vec<(f64, f64)>,
    points: Vec<(f64, f64)>,
) -> Result<Chart> {
    let caption = title.clone();
    svg(file, title, (480, 480), |root| {
        let mut chart = framed(root, &caption, (0.0..1.0, 0.0..1.0), axes, chance)?;
        chart
            .draw_series(LineSeries::new(thinned(points), &BLUE))
            .map_err(text)?;
        Ok(())
    })
}

/// The chart area of `root` over `x` by `y`, captioned, its axes named, with a grey reference
/// line (chance, a perfect model, no error) drawn through `reference`.
fn framed<'a, 'b>(
    root: &'a Area<'b>,
    caption: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    axes: (&str, &str),
    reference: Vec<(f64, f64)>,
) -> std::result::Result<
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    String,
> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x, y)
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .draw()
        .map_err(text)?;
    chart
        .draw_series(LineSeries::new(reference, &BLACK.mix(0.3)))
        .map_err(text)?;
    Ok(chart)
}

/// The ROC curve on the test split.
pub(super) fn roc(points: &[(f64, f64)], auc: f64) -> Result<Chart> {
    unit_curve(
        "roc.svg",
        format!("ROC on test (AUC {auc:.3})"),
        ("false positive rate", "true positive rate"),
        vec![(0.0, 0.0), (1.0, 1.0)],
        points.to_vec(),
    )
}

/// The precision-recall curve on the test split, against the share of positives (what a model
/// without skill gets).
pub(super) fn precision_recall(test: &Scored) -> Result<Chart> {
    let mut rows: Vec<(f32, bool)> = test
        .predictions
        .iter()
        .zip(&test.labels)
        .map(|(p, y)| (*p, *y > 0.5))
        .filter(|(p, _)| p.is_finite())
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = rows.iter().filter(|(_, y)| *y).count().max(1) as f64;
    let mut points = Vec::with_capacity(rows.len());
    let (mut tp, mut seen) = (0.0, 0.0);
    for (_, y) in &rows {
        seen += 1.0;
        if *y {
            tp += 1.0;
        }
        points.push((tp / positives, tp / seen));
    }
    let base = positives / rows.len().max(1) as f64;
    unit_curve(
        "precision_recall.svg",
        "Precision and recall on test".to_string(),
        ("recall", "precision"),
        vec![(0.0, base), (1.0, base)],
        points,
    )
}

/// The calibration curve on the test split: the share of positives in each bin of predicted
/// probability against the bin's mean prediction, beside the diagonal of a calibrated model.
pub(super) fn calibration(test: &Scored) -> Result<Chart> {
    let mut bins = [(0.0f64, 0.0f64, 0usize); CALIBRATION_BINS];
    for (p, y) in test.predictions.iter().zip(&test.labels) {
        if !p.is_finite() {
            continue;
        }
        let p = f64::from(*p).clamp(0.0, 1.0);
        let bin = ((p * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        bins[bin].0 += p;
        bins[bin].1 += f64::from(*y);
        bins[bin].2 += 1;
    }
    let points: Vec<(f64, f64)> = bins
        .iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(p, y, n)| (p / *n as f64, y / *n as f64))
        .collect();
    unit_curve(
        "calibration.svg",
        "Calibration on test".to_string(),
        ("mean predicted probability", "share of positives"),
        vec![(0.0, 0.0), (1.0, 1.0)],
        points,
    )
}

/// The confusion matrix on the test split as a heat map: each cell shaded by its share of the
/// true class's rows, with its count.
pub(super) fn confusion(classes: &[String], matrix: &[Vec<u64>]) -> Result<Chart> {
    let n = classes.len().clamp(1, 50);
    let side = (120 + 60 * n as u32).min(1200);
    svg(
        "confusion.svg",
        "Confusion on test",
        (side + 80, side),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(
                    "Confusion on test (rows: true, columns: predicted)",
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d(0f64..n as f64, 0f64..n as f64)
                .map_err(text)?;
            let name = |at: f64| {
                classes
                    .get(at.floor() as usize)
                    .cloned()
                    .unwrap_or_default()
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(n * 2 + 1)
                .y_labels(n * 2 + 1)
                .x_label_formatter(&|x| {
                    if x.fract() == 0.5 {
                        name(*x)
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| {
                    if y.fract() == 0.5 {
                        name(n as f64 - y)
                    } else {
                        String::new()
                    }
                })
                .draw()
                .map_err(text)?;
            for (i, row) in matrix.iter().take(n).enumerate() {
                let total = row.iter().sum::<u64>().max(1) as f64;
                for (j, count) in row.iter().take(n).enumerate() {
                    let share = *count as f64 / total;
                    let (x, y) = (j as f64, (n - 1 - i) as f64);
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x, y), (x + 1.0, y + 1.0)],
                            BLUE.mix(0.1 + 0.8 * share).filled(),
                        )))
                        .map_err(text)?;
                    chart
                        .draw_series(std::iter::once(Text::new(
                            count.to_string(),
                            (x + 0.4, y + 0.55),
                            ("sans-serif", 16),
                        )))
                        .map_err(text)?;
                }
            }
            Ok(())
        },
    )
}

/// The test split's values and predictions of a regression, finite ones, at most
/// [`SCATTER_POINTS`].
fn pairs(test: &Scored) -> Vec<(f64, f64)> {
    test.labels
        .iter()
        .zip(&test.predictions)
        .take(SCATTER_POINTS)
        .map(|(y, p)| (f64::from(*y), f64::from(*p)))
        .filter(|(y, p)| y.is_finite() && p.is_finite())
        .collect()
}

/// A regression's predictions against the actual values on the test split, beside the
/// diagonal of perfect predictions.
pub(super) fn predicted_actual(test: &Scored) -> Result<Chart> {
    scatter(test, false)
}

/// A regression's residuals (actual less predicted) against its predictions on the test split,
/// beside the line of none.
pub(super) fn residuals(test: &Scored) -> Result<Chart> {
    scatter(test, true)
}

/// The scatter chart of a regression's test rows: predicted against actual, or with
/// `residuals` actual less predicted against predicted.
fn scatter(test: &Scored, residuals: bool) -> Result<Chart> {
    let pairs = pairs(test);
    let (file, title, caption, axes, color) = match residuals {
        false => (
            "predicted.svg",
            "Predicted against actual on the test split",
            "Predicted against actual (test)",
            ("actual", "predicted"),
            BLUE,
        ),
        true => (
            "residuals.svg",
            "Residuals on the test split",
            "Residuals (test)",
            ("predicted", "actual - predicted"),
            RED,
        ),
    };
    let (points, x, y, line) = if residuals {
        let points: Vec<(f64, f64)> = pairs.into_iter().map(|(y, p)| (p, y - p)).collect();
        let x = range(points.iter().map(|(p, _)| *p));
        let (lo, hi) = range(points.iter().map(|(_, r)| *r));
        let reach = lo.abs().max(hi.abs()).max(1e-9);
        (points, x, (-reach, reach), vec![(x.0, 0.0), (x.1, 0.0)])
    } else {
        let (lo, hi) = range(pairs.iter().flat_map(|(y, p)| [*y, *p]));
        (pairs, (lo, hi), (lo, hi), vec![(lo, lo), (hi, hi)])
    };
    svg(file, title, (480, 480), |root| {
        let mut chart = framed(root, caption, (x.0..x.1, y.0..y.1), axes, line)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 2, color.mix(0.4).filled())),
            )
            .map_err(text)?;
        Ok(())
    })
}

/// Each feature's importance (gain), as bars, most important first.
pub(super) fn importance(importance: &[(String, f64)]) -> Result<Chart> {
    let n = importance.len().max(1);
    let max = importance
        .iter()
        .map(|(_, g)| *g)
        .fold(0.0, f64::max)
        .max(1e-9);
    svg(
        "importance.svg",
        "Feature importance",
        (800, 60 + 28 * n as u32),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption("Feature importance", ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(300)
                .build_cartesian_2d(0f64..max * 1.05, 0f64..n as f64)
                .map_err(text)?;
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
                .map_err(text)?;
            chart
                .draw_series(importance.iter().enumerate().map(|(i, (_, gain))| {
                    let top = (n - i) as f64 - 0.15;
                    Rectangle::new([(0.0, top - 0.7), (*gain, top)], BLUE.mix(0.7).filled())
                }))
                .map_err(text)?;
            Ok(())
        },
    )
}

/// The training and validation loss of each boosting round.
pub(super) fn learning_curve(history: &FitHistory) -> Result<Chart> {
    let (lo, hi) = range(
        history
            .train_loss
            .iter()
            .chain(&history.validation_loss)
            .copied(),
    );
    let rounds = history.rounds.max(1) as f64;
    let caption = format!("Learning curve ({})", history.metric);
    svg("learning_curve.svg", "Learning curve", (640, 400), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(1f64..rounds.max(2.0), lo * 0.98..hi * 1.02)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("round")
            .draw()
            .map_err(text)?;
        for (series, color, label) in [
            (&history.train_loss, BLUE, "train"),
            (&history.validation_loss, RED, "validation"),
        ] {
            chart
                .draw_series(LineSeries::new(
                    series.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)),
                    &color,
                ))
                .map_err(text)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(text)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(labels: &[f32], predictions: &[f32]) -> Scored {
        Scored {
            labels: labels.to_vec(),
            predictions: predictions.to_vec(),
        }
    }

    #[test]
    fn every_chart_draws_marks() {
        let test = scored(&[0.0, 1.0, 1.0, 0.0, 1.0], &[0.1, 0.8, 0.6, 0.4, 0.9]);
        let charts = [
            roc(&[(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)], 0.9).unwrap(),
            precision_recall(&test).unwrap(),
            calibration(&test).unwrap(),
            confusion(&["false".into(), "true".into()], &[vec![2, 0], vec![1, 2]]).unwrap(),
            predicted_actual(&test).unwrap(),
            residuals(&test).unwrap(),
            importance(&[("a".into(), 2.0), ("b".into(), 1.0)]).unwrap(),
        ];
        for chart in charts {
            assert!(chart.svg.starts_with("<svg"), "{}", chart.file);
            assert!(
                chart.svg.contains("<polyline")
                    || chart.svg.contains("<rect")
                    || chart.svg.contains("<circle"),
                "{} draws nothing",
                chart.file
            );
        }
    }

    #[test]
    fn long_curves_are_thinned_keeping_their_ends() {
        let points: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, i as f64)).collect();
        let thin = thinned(points);
        assert!(thin.len() <= CURVE_POINTS + 1, "{}", thin.len());
        assert_eq!(thin.first(), Some(&(0.0, 0.0)));
        assert_eq!(thin.last(), Some(&(99_999.0, 99_999.0)));
    }
}
