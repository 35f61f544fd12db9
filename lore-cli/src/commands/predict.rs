//! `lore predict` and `lore evaluate`: a fitting and the rows for it.

use super::*;

/// Which fitting a command takes where `--fitting` is not given.
#[derive(Clone, Copy)]
pub(super) enum WhichFitting {
    /// The latest.
    Latest,
    /// The one `lore api` serves: the production alias's holder, else the latest.
    Served,
}

/// The fitting of `model` that `wanted` names, else the one `which` says, pulled from the project's
/// bucket where only it has it; or the exit code of the project's binary when the fitting needs
/// code of the project's own that this `lore` lacks.
pub(super) async fn fitting_for(
    project: &Project,
    (model, wanted, which): (&str, Option<&str>, WhichFitting),
    host: &Host,
    verbose: bool,
    progress: bool,
) -> Result<std::result::Result<Fitting, ExitCode>> {
    let remote = S3Store::of(project)
        .await?
        .map(|r| r.showing_progress(progress));
    let production = match (which, wanted) {
        (WhichFitting::Served, None) => {
            aliases::holder(project, remote.as_ref(), model, aliases::PRODUCTION).await?
        }
        _ => None,
    };
    let wanted = wanted.or(production.as_deref());
    let fitting = store::load(project, remote.as_ref(), model, wanted).await?;
    let needs = fitting.pipeline.unregistered();
    match delegate::hand_over(host, project, &needs, verbose)? {
        Some(code) => Ok(Err(code)),
        None => Ok(Ok(fitting)),
    }
}

/// A fitting and the rows of a file for it, or the exit code of the project's binary when the
/// fitting needs code of the project's own that this `lore` lacks.
async fn fitting_and_rows(
    rows: &FittingRows,
    host: &Host,
    verbose: bool,
) -> Result<std::result::Result<(Fitting, DataFrame), ExitCode>> {
    let project = current_project()?;
    let wanted = (
        rows.model.as_str(),
        rows.fitting.as_deref(),
        WhichFitting::Latest,
    );
    Ok(
        match fitting_for(&project, wanted, host, verbose, true).await? {
            Ok(fitting) => Ok((fitting, files::read(&rows.input)?)),
            Err(code) => Err(code),
        },
    )
}

pub(super) async fn evaluate(args: EvaluateArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let which = match args.feedback {
        true => WhichFitting::Served,
        false => WhichFitting::Latest,
    };
    let wanted = (args.model.as_str(), args.fitting.as_deref(), which);
    let fitting = match fitting_for(&project, wanted, host, verbose, !args.json).await? {
        Ok(fitting) => fitting,
        Err(code) => return Ok(code),
    };
    let label = Logged::Feedback(fitting.pipeline.output.column());
    let logged = args.feedback.then_some(label);
    let (df, input) = read_rows(&project, &args.model, &args.rows, (label, logged)).await?;
    let (stats, run) = fitting.evaluate(&project, df, &input).await?;
    if args.json {
        print_json(&serde_json::json!({
            "model": fitting.model,
            "fitting_id": fitting.id,
            "input": input,
            "scoring": fitting.stats.scoring.name(),
            "stats": stats,
            "run_id": run.id(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Evaluated {} (fitting {}) on {} ({} rows): {} {}",
        fitting.model,
        fitting.id,
        input,
        stats.rows,
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
