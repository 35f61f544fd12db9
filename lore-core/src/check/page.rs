//! A check as one self-contained HTML page: the verdict, what failed, a table of every column
//! (nulls before and now, the share outside the range, the share unseen, the test and its
//! value), and for each drifted column its reference and new distributions overlaid in an
//! inline SVG chart. No script or style is fetched from anywhere.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::{ColumnCheck, Report};
use crate::error::{Error, Result};

/// What the page says it checked.
pub struct Heading<'a> {
    /// The model.
    pub model: &'a str,
    /// The fitting whose profile was the reference.
    pub fitting: &'a str,
    /// Where the new rows came from.
    pub input: &'a str,
}

/// `text` safe inside HTML text and attribute values (the fit report's page uses it too).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page of `report`.
pub fn html(heading: &Heading, report: &Report) -> Result<String> {
    let mut page = String::new();
    let verdict = if report.passed() { "passed" } else { "failed" };
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Check of {model}: {verdict}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}.bad{{color:#b00;font-weight:bold}}\
         figure{{display:inline-block;margin:1em}}</style></head>\n<body data-verdict=\"{verdict}\">\n\
         <h1>Check of {model}: <span class=\"{class}\">{verdict}</span></h1>\n\
         <p>{rows} rows of {input} against fitting {fitting} ({reference} rows). Dataset drift: \
         {drifted} of {tested} columns ({share:.0}%){dataset}.</p>\n",
        model = escape(heading.model),
        class = if report.passed() { "good" } else { "bad" },
        rows = report.rows,
        input = escape(heading.input),
        fitting = escape(heading.fitting),
        reference = report.reference_rows,
        drifted = report.dataset.drifted,
        tested = report.dataset.tested,
        share = 100.0 * report.dataset.share,
        dataset = if report.dataset.detected { ": the dataset drifted" } else { "" },
    );
    let failures: Vec<&String> = report.problems.iter().chain(&report.drifts).collect();
    if !failures.is_empty() {
        page.push_str("<h2>What failed</h2>\n<ul>\n");
        for failure in failures {
            let _ = writeln!(page, "<li>{}</li>", escape(failure));
        }
        page.push_str("</ul>\n");
    }
    page.push_str(
        "<h2>Columns</h2>\n<table><tr><th>column</th><th>kind</th><th>nulls before</th>\
         <th>nulls now</th><th>outside the range</th><th>unseen</th><th>test</th><th>value</th>\
         <th>drift</th></tr>\n",
    );
    let percent = |x: f64| format!("{:.1}%", 100.0 * x);
    for column in report.columns.iter().chain(&report.scores) {
        let (test, value, verdict) = match &column.drift {
            Some(d) => (
                d.test.name(),
                format!("{:.4}", d.value),
                if d.drifted {
                    "<span class=\"bad\">drift</span>"
                } else {
                    "no"
                },
            ),
            None => ("-", "-".to_string(), "-"),
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td>\
             <td>{test}</td><td>{value}</td><td>{verdict}</td></tr>",
            escape(&column.name),
            column.kind.label(),
            percent(column.reference_nulls),
            if column.issues.iter().any(|i| i.contains("nulls")) {
                " class=\"bad\""
            } else {
                ""
            },
            percent(column.current_nulls),
            column.out_of_range.map_or("-".into(), percent),
            column.unseen.map_or("-".into(), percent),
        );
    }
    for name in &report.missing_columns {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td colspan=\"8\" class=\"bad\">missing</td></tr>",
            escape(name)
        );
    }
    page.push_str("</table>\n");
    let drifted: Vec<&ColumnCheck> = report
        .columns
        .iter()
        .chain(&report.scores)
        .filter(|c| c.drifted())
        .collect();
    if !drifted.is_empty() {
        page.push_str("<h2>Drifted columns: training (grey) and now (red)</h2>\n");
    }
    for column in drifted {
        let bars = &column.bars;
        let _ = writeln!(
            page,
            "<figure class=\"chart\" data-column=\"{}\">{}<figcaption>{}</figcaption></figure>",
            escape(&column.name),
            chart(&column.name, bars)?,
            escape(&column.name)
        );
    }
    page.push_str(
        "<script>document.body.dataset.charts = document.querySelectorAll('figure.chart svg').length;</script>\n\
         </body></html>\n",
    );
    Ok(page)
}

/// Bars of shares before and now, side by side over `bars`' labels, as inline SVG.
fn chart(name: &str, bars: &[(String, f64, f64)]) -> Result<String> {
    let err = |e: &dyn std::fmt::Display| Error::Data(format!("the chart of {name}: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let n = bars.len().max(1);
        let top = bars
            .iter()
            .map(|(_, a, b)| a.max(*b))
            .fold(0.0, f64::max)
            .max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption(name, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, 0f64..top * 1.1)
            .map_err(|e| err(&e))?;
        let labels: Vec<String> = bars.iter().map(|(l, _, _)| l.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(10))
            .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
            .y_desc("share")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, before, _))| {
                let x = i as f64;
                Rectangle::new(
                    [(x + 0.1, 0.0), (x + 0.9, *before)],
                    BLACK.mix(0.3).filled(),
                )
            }))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, _, now))| {
                let x = i as f64;
                Rectangle::new([(x + 0.25, 0.0), (x + 0.75, *now)], RED.mix(0.6).filled())
            }))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
