//! `report.html`: the fit report as one self-contained page, every chart an inline SVG, no
//! script or style fetched from anywhere. A line of script counts the charts drawn into
//! `data-charts` on the body, which the browser test reads.

use std::fmt::Write as _;

use super::charts::Chart;
use super::{metric_rows, Contents};
use crate::check::page::escape;
use crate::metrics;

/// The page of `contents` with `charts` inline.
pub(super) fn html(contents: &Contents, charts: &[Chart]) -> String {
    let Contents {
        model,
        id,
        stats,
        pipeline,
        profile,
        ..
    } = contents;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{model}: fitting {id}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}.baseline{{color:#777}}\
         figure{{display:inline-block;margin:1em;vertical-align:top}}</style></head>\n\
         <body data-expected=\"{expected}\">\n<h1>{model}: fitting {id}</h1>\n\
         <p>A {task} model, scored by {scoring}; {rounds}the grey row is the baseline, the \
         training labels' prior, on the test rows: what the model must beat.</p>\n",
        model = escape(model),
        id = escape(id),
        expected = charts.len(),
        task = stats.task.name(),
        scoring = stats.scoring.name(),
        rounds = match stats.rounds {
            0 | 1 => String::new(),
            n => format!("best iteration {} of {n} rounds; ", stats.best_iteration),
        },
    );
    let columns = metrics::columns(stats.task);
    page.push_str("<h2>Metrics</h2>\n<table><tr><th>split</th><th>rows</th>");
    for (name, _) in &columns {
        let _ = write!(page, "<th>{}</th>", escape(name));
    }
    page.push_str("</tr>\n");
    for (name, split) in metric_rows(stats) {
        let class = if name.contains("baseline") {
            " class=\"baseline\""
        } else {
            ""
        };
        let _ = write!(page, "<tr{class}><td>{name}</td><td>{}</td>", split.rows);
        for (_, value) in &columns {
            let _ = write!(
                page,
                "<td>{}</td>",
                value(split).map_or("–".into(), |v| format!("{v:.4}"))
            );
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n<h2>Charts</h2>\n");
    for chart in charts {
        let _ = writeln!(
            page,
            "<figure class=\"chart\" data-chart=\"{}\">{}<figcaption>{}</figcaption></figure>",
            escape(chart.file),
            chart.svg,
            escape(&chart.title)
        );
    }
    page.push_str("<h2>Features</h2>\n<table><tr><th>feature</th><th>values</th><th>importance (gain)</th></tr>\n");
    for (feature, cardinality) in pipeline.features.iter().zip(pipeline.cardinalities()) {
        let values = cardinality.map_or("numbers".to_string(), |n| format!("{n} codes"));
        let gain = stats
            .importance
            .iter()
            .find(|(f, _)| f == feature)
            .map_or("–".into(), |(_, g)| format!("{g:.4}"));
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{values}</td><td>{gain}</td></tr>",
            escape(feature)
        );
    }
    let _ = write!(
        page,
        "</table>\n<h2>Data</h2>\n<p>{} rows{}.</p>\n<table><tr><th>column</th><th>kind</th>\
         <th>nulls</th><th>min</th><th>mean</th><th>max</th><th>distinct</th><th>most frequent</th></tr>\n",
        profile.rows,
        profile
            .duplicates
            .map_or(String::new(), |d| format!(", {:.1}% repeating an earlier row", 100.0 * d)),
    );
    for column in &profile.columns {
        let nulls = 100.0 * column.nulls as f64 / column.rows.max(1) as f64;
        let (min, mean, max) = match &column.numbers {
            Some(n) => (
                format!("{:.4}", n.min),
                format!("{:.4}", n.mean),
                format!("{:.4}", n.max),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let (distinct, top) = match &column.categories {
            Some(c) => (
                c.distinct.to_string(),
                c.top
                    .iter()
                    .take(3)
                    .map(|(value, count)| format!("{} ({count})", escape(value)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{nulls:.1}%</td><td>{min}</td><td>{mean}</td>\
             <td>{max}</td><td>{distinct}</td><td style=\"text-align:left\">{top}</td></tr>",
            escape(&column.name),
            column.kind.label(),
        );
    }
    page.push_str(
        "</table>\n<script>document.body.dataset.charts = \
         document.querySelectorAll('figure.chart svg').length;</script>\n</body></html>\n",
    );
    page
}
