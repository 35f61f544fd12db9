//! `lore check`: new rows against a fitting's profile, printed as a table or JSON; exit code 1
//! when the check fails.

use super::*;
use lore_core::check::{ColumnCheck, Report};

pub(super) async fn check(args: CheckArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let remote = S3Store::of(&project)
        .await?
        .map(|r| r.showing_progress(!args.json));
    let fitting = models::check::reference(
        &project,
        remote.as_ref(),
        &args.model,
        args.fitting.as_deref(),
    )
    .await?;
    let needs = fitting.pipeline.unregistered();
    if let Some(code) = delegate::hand_over(host, &project, &needs, verbose)? {
        return Ok(code);
    }
    let (df, location) = match (&args.input, &args.extract) {
        (Some(path), _) => (files::read(path)?, path.display().to_string()),
        (None, Some(name)) => {
            let db = Database::new(&project)?;
            let options = ReadOptions {
                cache: Some(false),
                origin: Origin {
                    model: Some(args.model.clone()),
                    site: format!("lore check {}", args.model),
                },
            };
            let df = db
                .connection(&args.connection)?
                .read(name, &typed_params(&args.params)?, &options)
                .await?;
            (df, format!("extract {name}"))
        }
        (None, None) if args.predictions => {
            let since = match &args.since {
                Some(text) => Some(
                    prediction_log::parse_since(text, chrono::Utc::now())
                        .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
                ),
                None => None,
            };
            let query = prediction_log::Query {
                model: Some(args.model.clone()),
                since,
                limit: None,
            };
            let df = prediction_log::inputs(&project, &query).await?;
            let location = match &args.since {
                Some(since) => format!("the predictions logged since {since}"),
                None => "the logged predictions".to_string(),
            };
            if df.height() == 0 {
                bail!(
                    "no predictions of {} in {location}; `lore api` logs them with \
                     log_predictions = true in config/api.toml",
                    args.model
                );
            }
            (df, location)
        }
        (None, None) => {
            bail!("give the new rows with --input FILE, --extract NAME or --predictions")
        }
    };
    // The thresholds as the model declares them now, else as it was fitted.
    let catalogue = models::catalogue(rust_models(host), &project.model_sources_dir())?;
    let spec = catalogue
        .iter()
        .find(|e| e.spec.name == args.model)
        .map_or(&fitting.spec, |e| &e.spec);
    let policy = models::check::policy(&project, spec)?;
    let (report, run) = fitting
        .check(&project, &df, &location, &policy, args.html.as_deref())
        .await?;
    if args.json {
        print_json(&serde_json::json!({
            "model": fitting.model,
            "fitting_id": fitting.id,
            "input": location,
            "passed": report.passed(),
            "run_id": run.id(),
            "report": report,
        }));
    } else {
        print_report(&fitting, &location, &report);
        if let Some(path) = &args.html {
            println!("Report: {}", path.display());
        }
        println!(
            "Recorded as run {} (`lore runs show {}`).",
            run.id(),
            run.id()
        );
    }
    Ok(match report.passed() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

/// The report as a table of columns, then the dataset's drift and what failed.
fn print_report(fitting: &Fitting, location: &str, report: &Report) {
    println!(
        "Checked {} rows of {location} against {} fitting {} ({} rows): {}",
        report.rows,
        fitting.model,
        fitting.id,
        report.reference_rows,
        if report.passed() { "passed" } else { "FAILED" }
    );
    println!(
        "{:<28} {:<9} {:>15} {:>8} {:>8}  {:<15} {:>10}  drift",
        "column", "kind", "nulls (was→now)", "outside", "unseen", "test", "value"
    );
    for column in report.columns.iter().chain(&report.scores) {
        print_column(column);
    }
    for name in &report.missing_columns {
        println!("{name:<28} missing");
    }
    if !report.extra_columns.is_empty() {
        println!(
            "Columns not in training: {}",
            report.extra_columns.join(", ")
        );
    }
    println!(
        "Dataset drift: {} of {} columns ({:.0}%): {}",
        report.drifted,
        report.tested,
        100.0 * report.drift_share,
        if report.dataset_drift { "yes" } else { "no" }
    );
    for failure in report.problems.iter().chain(&report.drifts) {
        println!("  - {failure}");
    }
}

fn print_column(column: &ColumnCheck) {
    let percent = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
    let (test, value, drifted) = match &column.drift {
        Some(d) => (
            d.test.name().to_string(),
            format!("{:.4}", d.value),
            if d.drifted { "DRIFT" } else { "no" },
        ),
        None => ("-".into(), "-".into(), "-"),
    };
    let kind = match column.now {
        Some(now) => format!("{}→{}", column.kind.label(), now.label()),
        None => column.kind.label().to_string(),
    };
    let nulls = format!(
        "{:.1}%→{:.1}%",
        100.0 * column.reference_nulls,
        100.0 * column.current_nulls
    );
    println!(
        "{:<28} {:<9} {:>15} {:>8} {:>8}  {:<15} {:>10}  {}{}",
        column.name,
        kind,
        nulls,
        percent(column.out_of_range),
        percent(column.unseen),
        test,
        value,
        drifted,
        if column.issues.is_empty() {
            ""
        } else {
            "  (quality)"
        }
    );
}
