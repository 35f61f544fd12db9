//! `lore predict` and `lore evaluate`: a fitting and the rows of a file for it.

use super::*;

/// A fitting and the rows of a file for it, or the exit code of the project's binary when the
/// fitting needs code of the project's own that this `lore` lacks.
pub(super) async fn fitting_and_rows(
    rows: &FittingRows,
    host: &Host,
    verbose: bool,
) -> Result<std::result::Result<(Fitting, DataFrame), ExitCode>> {
    let project = current_project()?;
    let remote = S3Store::of(&project)
        .await?
        .map(|r| r.showing_progress(true));
    let fitting = store::load(
        &project,
        remote.as_ref(),
        &rows.model,
        rows.fitting.as_deref(),
    )
    .await?;
    let needs = fitting.pipeline.unregistered();
    if let Some(code) = delegate::hand_over(host, &project, &needs, verbose)? {
        return Ok(Err(code));
    }
    let df = files::read(&rows.input)?;
    Ok(Ok((fitting, df)))
}

pub(super) async fn evaluate(args: EvaluateArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let (fitting, df) = match fitting_and_rows(&args.rows, host, verbose).await? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let input = args.rows.input.display().to_string();
    let (stats, run) = fitting.evaluate(&current_project()?, df, &input).await?;
    if args.json {
        print_json(&serde_json::json!({
            "model": fitting.model,
            "fitting_id": fitting.id,
            "input": args.rows.input.display().to_string(),
            "scoring": fitting.stats.scoring.name(),
            "stats": stats,
            "run_id": run.id(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Evaluated {} (fitting {}) on {}: {} {}",
        fitting.model,
        fitting.id,
        args.rows.input.display(),
        fitting.stats.scoring.name(),
        stats.score.map_or("-".into(), |v| format!("{v:.4}"))
    );
    print_metrics(
        fitting.stats.task,
        &[("test (fit)", &fitting.stats.test), ("input", &stats)],
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn predict(args: PredictArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let (fitting, df) = match fitting_and_rows(&args.rows, host, verbose).await? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let p = fitting.predict(df, &args.rows.input.display().to_string(), args.explain)?;
    let mut out = p.frame()?;
    match &args.output {
        Some(path) => {
            files::write(&mut out, path)?;
            eprintln!(
                "Wrote {} predictions of {} (fitting {}) to {}",
                p.len(),
                fitting.model,
                fitting.id,
                path.display()
            );
        }
        None => files::write_csv(&mut out, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
