//! Where a command's rows come from: a file, an extract, or what `lore api` logged.

use super::*;

/// The query of the rows logged for `model` since `since` (an age or a moment), at most `limit`.
pub(super) fn logged_query(
    model: Option<&str>,
    since: Option<&str>,
    limit: Option<usize>,
) -> Result<logged::Query> {
    let since = match since {
        Some(text) => Some(
            logged::parse_since(text, chrono::Utc::now())
                .map_err(|m| anyhow::anyhow!("--since: {m}"))?,
        ),
        None => None,
    };
    Ok(logged::Query {
        model: model.map(str::to_string),
        since,
        limit,
    })
}

/// Rows `lore api` logged for a model, which a command may read instead of a file or an extract.
#[derive(Clone, Copy)]
pub(super) enum Logged<'a> {
    /// The inputs of its predictions.
    Predictions,
    /// Its feedback's annotated rows, the label in the column named.
    Feedback(&'a str),
}

impl Logged<'_> {
    /// The flag that asks for them.
    fn flag(self) -> &'static str {
        match self {
            Logged::Predictions => "--predictions",
            Logged::Feedback(_) => "--feedback",
        }
    }
}

/// The rows `from` names (a file or an extract), else those `logged` names, with words for where
/// they came from; `offered` is what the command could have read from the log.
pub(super) async fn read_rows(
    project: &Project,
    model: &str,
    from: &RowsFrom,
    (offered, logged): (Logged<'_>, Option<Logged<'_>>),
) -> Result<(DataFrame, String)> {
    if from.since.is_some() && logged.is_none() {
        bail!("--since goes with {}", offered.flag());
    }
    if !from.params.is_empty() && from.extract.is_none() {
        bail!("--param binds a parameter of --extract NAME, which is missing");
    }
    let since = from.since.as_deref();
    let query = || logged_query(Some(model), since, None);
    let (df, location) = match (&from.input, &from.extract, logged) {
        (Some(path), _, _) => return Ok((files::read(path)?, path.display().to_string())),
        (None, Some(name), _) => {
            let options = ReadOptions {
                cache: Some(false),
                origin: Origin {
                    model: Some(model.to_string()),
                    site: format!("lore {model}: --extract {name}"),
                },
            };
            let df = Database::new(project)?
                .connection(&from.connection)?
                .read(name, &typed_params(&from.params)?, &options)
                .await?;
            return Ok((df, format!("extract {name}")));
        }
        (None, None, Some(Logged::Predictions)) => (
            prediction_log::inputs(project, &query()?).await?,
            "predictions",
        ),
        (None, None, Some(Logged::Feedback(label))) => (
            lore_core::feedback::labelled(project, &query()?, label).await?,
            "feedback",
        ),
        (None, None, None) => bail!(
            "give the rows with --input FILE, --extract NAME or {}",
            offered.flag()
        ),
    };
    let words = match since {
        Some(since) => format!("the {location} logged since {since}"),
        None => format!("the logged {location}"),
    };
    if df.height() == 0 {
        let how = match logged {
            Some(Logged::Feedback(_)) => format!(
                "send true labels with POST /models/{model}/feedback or `lore feedback add`"
            ),
            _ => "`lore api` logs predictions with log_predictions = true in config/api.toml"
                .to_string(),
        };
        bail!("none of {model} in {words}; {how}");
    }
    Ok((df, words))
}
