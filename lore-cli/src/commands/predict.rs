//! `lore predict` and `lore evaluate`: a fitting and the rows for it.

use super::*;

/// The fitting of `model` that `wanted` names, else the one `lore api` serves (the production
/// alias's holder, else the latest): one rule for every command that uses a fitting, each saying
/// on standard error which one answered (when `progress`). It is pulled from the project's bucket
/// where only that has it. Or the exit code of the project's binary when the fitting needs code of
/// the project's own that this `lore` lacks.
pub(super) async fn fitting_for(
    project: &Project,
    (model, wanted): (&str, Option<&str>),
    host: &Host,
    verbose: bool,
    progress: bool,
) -> Result<std::result::Result<Fitting, ExitCode>> {
    let remote = S3Store::of(project)
        .await?
        .map(|r| r.showing_progress(progress));
    let production = match wanted {
        None => aliases::holder(project, remote.as_ref(), model, aliases::PRODUCTION).await?,
        Some(_) => None,
    };
    let fitting = match store::load(
        project,
        remote.as_ref(),
        model,
        wanted.or(production.as_deref()),
    )
    .await
    {
        Ok(fitting) => fitting,
        Err(e) => {
            let known = known_models(project, host)?;
            if !known.iter().any(|k| k == model) {
                return Err(unknown_model(model, known).into());
            }
            return Err(e.into());
        }
    };
    if progress {
        let which = match (wanted, &production) {
            (Some(_), _) => "as asked",
            (None, Some(_)) => "the production alias's holder, which `lore api` serves",
            (None, None) => "the latest; no fitting holds the production alias",
        };
        eprintln!("using fitting {} of {model}: {which}", fitting.id);
    }
    lore_core::error_reports::tag("fitting", &fitting.id);
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
    let wanted = (rows.model.as_str(), rows.fitting.as_deref());
    Ok(
        match fitting_for(&project, wanted, host, verbose, true).await? {
            Ok(fitting) => Ok((fitting, files::read(&rows.input)?)),
            Err(code) => Err(code),
        },
    )
}

pub(super) async fn evaluate(args: EvaluateArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let wanted = (args.model.as_str(), args.fitting.as_deref());
    let fitting = or_handed_over!(fitting_for(&project, wanted, host, verbose, !args.json).await?);
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
    let (fitting, df) = or_handed_over!(fitting_and_rows(&args.rows, host, verbose).await?);
    let kept = kept_columns(&df, &args.keep, &args.rows.input)?;
    let p = fitting.predict(df, &args.rows.input.display().to_string(), args.explain)?;
    let mut out = p.frame()?;
    if let Some(mut kept) = kept {
        let answers: Vec<polars::prelude::Column> = out.columns().to_vec();
        for name in answers.iter().map(|c| c.name().to_string()) {
            if args.keep.contains(&name) {
                bail!("--keep {name}: the predictions have a column of that name; keep the input column under another name");
            }
        }
        kept.hstack_mut(&answers)?;
        out = kept;
    }
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

/// The `--keep` columns of the input rows `df`, to write beside the predictions; `None` when
/// none are asked for.
fn kept_columns(
    df: &DataFrame,
    keep: &[String],
    input: &std::path::Path,
) -> Result<Option<DataFrame>> {
    if keep.is_empty() {
        return Ok(None);
    }
    let present: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    if let Some(missing) = keep.iter().find(|k| !present.contains(k)) {
        bail!(
            "--keep {missing}: {} has no column `{missing}`; its columns are: {}",
            input.display(),
            present.join(", ")
        );
    }
    Ok(Some(df.select(keep.iter().map(String::as_str))?))
}
