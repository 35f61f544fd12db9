//! `lore check`: new rows against a fitting's profile, printed as a table or JSON; exit code 1
//! when the check fails.

use super::*;
use lore_core::check::{ColumnCheck, Report};

pub(super) async fn check(args: CheckArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let wanted = (args.model.as_str(), args.fitting.as_deref());
    let fitting = or_handed_over!(fitting_for(&project, wanted, host, verbose, !args.json).await?);
    let logged = args.predictions.then_some(Logged::Predictions);
    let (df, location) = read_rows(
        &project,
        &args.model,
        &args.rows,
        (Logged::Predictions, logged),
    )
    .await?;
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
        report.dataset.drifted,
        report.dataset.tested,
        100.0 * report.dataset.share,
        if report.dataset.detected { "yes" } else { "no" }
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

pub(super) async fn profile(args: ProfileArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let fitting = models::reproduce::locate(&project, &args.fitting)?;
    let needs = fitting.pipeline.unregistered();
    if let Some(code) = delegate::hand_over(host, &project, &needs, verbose)? {
        return Ok(code);
    }
    let (profile, same_rows) = fitting.profile_again(&project, args.force).await?;
    println!(
        "Profiled {} rows of {} for fitting {} of {}: {}",
        profile.rows,
        fitting.spec.pipeline.extract.sql,
        fitting.id,
        fitting.model,
        fitting.dir.join(models::fitting::PROFILE_FILE).display()
    );
    if !same_rows {
        eprintln!(
            "warning: the extract gave another number of rows than the fit read: the table changed \
             since, and the profile describes its rows as they are now"
        );
    }
    Ok(ExitCode::SUCCESS)
}
