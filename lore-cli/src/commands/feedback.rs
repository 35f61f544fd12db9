//! The feedback loop: `lore feedback` lists and sends the true labels of served predictions,
//! `lore retrain` fits a challenger with them and promotes it when it wins.

use super::*;
use lore_core::feedback::{self, Feedback};
use lore_core::models::retrain::{self, Duel, RetrainOptions, Retrained};

pub(super) async fn list_feedback(args: LoggedArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let query = listed(&args)?;
    // Exported for a model, the rows are what it learns from: inputs and the column it predicts.
    let mut df = match (&args.export, &args.model) {
        (Some(_), Some(model)) => {
            let fitting = store::load(&project, None, model, None).await?;
            feedback::labelled(&project, &query, fitting.pipeline.output.column()).await?
        }
        _ => feedback::read(&project, &query).await?,
    };
    let columns = [
        ("sent_at", "SENT AT"),
        ("model", "MODEL"),
        ("fitting_id", "FITTING"),
        ("prediction", "PREDICTION"),
        ("label", "LABEL"),
        ("sent_by", "BY"),
        ("feedback_id", "PREDICTION OR RECORD"),
    ];
    let none = "No feedback yet; send the true labels of served predictions with POST \
                /models/{name}/feedback or `lore feedback add`";
    show_logged(&mut df, &args, ("feedback", none), &columns)
}

/// A label given on the command line: JSON where it parses (1, 0.5, true), else text.
fn label(text: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .filter(|v| v.is_number() || v.is_boolean() || v.is_string())
        .unwrap_or_else(|| serde_json::Value::String(text.to_string()))
}

/// The feedback of every row of `df`: by its `prediction_id` where it has one, else the row's
/// other columns as the record; its label in the column `label`.
fn from_rows(df: &DataFrame, label_column: &str, path: &std::path::Path) -> Result<Vec<Feedback>> {
    if df.column(label_column).is_err() {
        bail!(
            "{}: no column `{label_column}`, the true label of each row (the column the model \
             predicts)",
            path.display()
        );
    }
    use polars::prelude::{JsonFormat, JsonWriter, SerWriter};
    let mut buffer = Vec::new();
    JsonWriter::new(&mut buffer)
        .with_json_format(JsonFormat::JsonLines)
        .finish(&mut df.clone())?;
    let mut items = Vec::with_capacity(df.height());
    for (line, text) in buffer
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let serde_json::Value::Object(mut row) = serde_json::from_slice(text)? else {
            bail!("{}: row {} is not a record", path.display(), line + 1);
        };
        let label = row.remove(label_column).unwrap_or_default();
        let prediction_id = match row.remove("prediction_id") {
            Some(serde_json::Value::String(id)) => Some(id),
            _ => None,
        };
        items.push(Feedback {
            record: prediction_id.is_none().then_some(row),
            prediction_id,
            label,
        });
    }
    Ok(items)
}

pub(super) async fn add_feedback(args: FeedbackAddArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let items = match (&args.prediction, &args.record, &args.label, &args.input) {
        (Some(id), None, Some(value), None) => vec![Feedback {
            prediction_id: Some(id.clone()),
            record: None,
            label: label(value),
        }],
        (None, Some(record), Some(value), None) => {
            let record = serde_json::from_str(record)
                .context("--record: give the record as a JSON object of the model's inputs")?;
            vec![Feedback {
                prediction_id: None,
                record: Some(record),
                label: label(value),
            }]
        }
        (None, None, None, Some(path)) => {
            let fitting = store::load(&project, None, &args.model, None).await?;
            let column = fitting.pipeline.output.column();
            from_rows(&files::read(path)?, column, path)?
        }
        _ => bail!(
            "give --prediction ID --label VALUE, --record JSON --label VALUE, or --input FILE"
        ),
    };
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "lore feedback".into());
    let stored = feedback::add(&project, &args.model, &items, &by).await?;
    println!("Stored {stored} feedback for {} (from {by})", args.model);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn retrain(
    args: RetrainArgs,
    host: &Host,
    verbose: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let project = current_project()?;
    let Entry { spec, source } =
        or_handed_over!(model_entry(&project, &args.model, host, verbose)?);
    let spec = models::params::apply(&spec, &args.params)?;
    let wanted = (args.model.as_str(), None);
    let champion = or_handed_over!(fitting_for(&project, wanted, host, verbose, !args.json).await?);
    let since = rows::logged_query(None, args.since.as_deref(), None)?.since;
    let options = RetrainOptions {
        since,
        holdout: args.holdout,
        margin: args.margin,
        promote: args.promote_if_better,
        quiet: quiet || args.json,
    };
    let remote = S3Store::of(&project).await?;
    let done = retrain::retrain(&project, remote.as_ref(), &spec, &champion, &options).await;
    let (retrained, run) = match done {
        Ok(done) => done,
        Err(e) => return Err(blamed(&spec, &args.params, &source, e).into()),
    };
    if args.json {
        print_json(&serde_json::json!({
            "model": args.model,
            "champion": retrained.champion,
            "challenger": retrained.challenger.id,
            "scoring": retrained.scoring.name(),
            "test": retrained.test,
            "feedback": retrained.feedback,
            "feedback_rows": retrained.feedback_rows,
            "wins": retrained.wins,
            "promoted": retrained.promoted,
            "run_id": run.id(),
        }));
    } else {
        print_decision(&args, &retrained, &run);
    }
    Ok(ExitCode::SUCCESS)
}

/// Both fittings' scores, and what was decided.
fn print_decision(args: &RetrainArgs, retrained: &Retrained, run: &Run) {
    let [learned, held] = retrained.feedback_rows;
    println!(
        "Fitted challenger {} of {} on its extract and {learned} annotated rows ({held} held out)",
        retrained.challenger.id, args.model
    );
    let duels: Vec<&Duel> = std::iter::once(&retrained.test)
        .chain(&retrained.feedback)
        .collect();
    let labels: Vec<String> = duels
        .iter()
        .map(|d| format!("{} ({} rows)", d.rows, d.challenger.rows))
        .collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0);
    let champion = format!("champion {}", short(&retrained.champion));
    let score = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
    println!(
        "{:<width$}  {champion:>20}  {:>12}",
        retrained.scoring.name(),
        "challenger"
    );
    for (duel, label) in duels.iter().zip(&labels) {
        println!(
            "{label:<width$}  {:>20}  {:>12}",
            score(duel.champion.score),
            score(duel.challenger.score)
        );
    }
    let margin = args.margin;
    let verdict = match (retrained.wins, retrained.promoted) {
        (true, true) => {
            format!("The challenger wins by the margin ({margin}): promoted to production")
        }
        (true, false) => format!(
            "The challenger wins by the margin ({margin}); --promote-if-better would promote it"
        ),
        (false, _) => format!(
            "The challenger does not win by the margin ({margin}): production stays on {}",
            retrained.champion
        ),
    };
    println!("{verdict}.");
    println!(
        "Recorded as run {} (`lore runs show {}`).",
        run.id(),
        run.id()
    );
}

/// The time part of a fitting id, enough to tell two apart in a table's heading.
fn short(id: &str) -> &str {
    id.get(9..).unwrap_or(id)
}
