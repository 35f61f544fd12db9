//! `lore retrain`: a challenger fitted on the model's extract plus the annotated rows of its
//! feedback, scored with the served fitting (the champion) on the same rows, promoted to
//! production only when it wins by a margin. Production is pinned to the champion first where no
//! fitting held it, so that a losing challenger is not served for being the newest. Two sets of
//! rows judge them: the test rows the pipeline's split holds out of the extract and feedback
//! together (fresh rows neither learned from; the champion may have learned from some of the
//! extract's, which only makes it harder to beat), and a share of the feedback held out of the
//! challenger's training, which is what production looks like now.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::prepare::read_whole;
use super::store::S3Store;
use super::training::{fit, FitOptions, Fitted};
use super::{aliases, runs, Fitting, ModelSpec};
use crate::env::Project;
use crate::error::{Error, Result};
use crate::feedback;
use crate::metrics::{Metric, SplitStats};
use crate::tracking::logged::Query;
use crate::tracking::{self, Run};

/// How to retrain.
#[derive(Debug, Clone, Default)]
pub struct RetrainOptions {
    /// Only feedback sent at or after this moment.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// The share of the feedback held out of training, to score both fittings on.
    pub holdout: f64,
    /// How much better the challenger must score to win (negative: how much worse it may).
    pub margin: f64,
    /// Promote the challenger to production when it wins.
    pub promote: bool,
    /// Hide the fit's progress bar.
    pub quiet: bool,
}

/// Two fittings' metrics on the same rows.
#[derive(Debug, Clone, Serialize)]
pub struct Duel {
    /// The rows, in words.
    pub rows: String,
    /// The served fitting's metrics on them.
    pub champion: SplitStats,
    /// The challenger's.
    pub challenger: SplitStats,
}

impl Duel {
    /// How much better the challenger scored, in the direction `scoring` improves; `None`
    /// where either score is missing (an AUC of rows of one class).
    pub fn gain(&self, scoring: Metric) -> Option<f64> {
        let (champion, challenger) = (self.champion.score?, self.challenger.score?);
        Some(match scoring.greater_is_better() {
            true => challenger - champion,
            false => champion - challenger,
        })
    }
}

/// What `lore retrain` did and decided.
#[derive(Debug)]
pub struct Retrained {
    /// The served fitting's id.
    pub champion: String,
    /// The new fitting.
    pub challenger: Fitting,
    /// The metric both are scored by.
    pub scoring: Metric,
    /// Both on the test rows of the extract and feedback.
    pub test: Duel,
    /// Both on the held-out feedback, where any was held out.
    pub feedback: Option<Duel>,
    /// Annotated rows learned from, and held out.
    pub feedback_rows: [usize; 2],
    /// Whether the challenger won by the margin.
    pub wins: bool,
    /// Whether it was promoted to production.
    pub promoted: bool,
}

/// Whether the challenger wins: by `margin` on the held-out feedback without losing more than
/// the margin's size on the test rows, or (with no feedback score) by `margin` on the test rows.
/// A negative margin lets a challenger that is a little worse win.
fn decide(test: &Duel, feedback: Option<&Duel>, scoring: Metric, margin: f64) -> bool {
    let on_test = test.gain(scoring);
    match feedback.and_then(|f| f.gain(scoring)) {
        Some(gain) => gain >= margin && on_test.is_none_or(|g| g >= -margin.abs()),
        None => on_test.is_some_and(|g| g >= margin),
    }
}

/// Whether the annotated row `id` is held out, for a `share` of them: by a digest of its id, so
/// that a row stays on its side from one retrain to the next.
fn held_out(id: &str, share: f64) -> bool {
    let digest = Sha256::digest(id.as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    f64::from(n) / f64::from(u32::MAX) < share
}

/// `rows` with exactly the columns of `like`, in its order and of its types: a column `rows`
/// lacks is all null.
fn aligned(rows: &DataFrame, like: &DataFrame) -> Result<DataFrame> {
    let columns = like
        .columns()
        .iter()
        .map(|c| match rows.column(c.name()) {
            Ok(found) => found.cast(c.dtype()),
            Err(_) => Ok(Column::full_null(
                c.name().clone(),
                rows.height(),
                c.dtype(),
            )),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok(DataFrame::new(rows.height(), columns)?)
}

/// Fits a challenger for `spec` on its extract plus the annotated rows of its feedback, scores
/// it and `champion` on the same rows, records the decision as a `retrain` run, and promotes
/// the challenger to production when asked and it wins; gives the decision and its run.
pub async fn retrain(
    project: &Project,
    remote: Option<&S3Store>,
    spec: &ModelSpec,
    champion: &Fitting,
    options: &RetrainOptions,
) -> Result<(Retrained, Run)> {
    if !(0.0..1.0).contains(&options.holdout) {
        return Err(Error::InvalidParam {
            key: "holdout".into(),
            message: format!(
                "{} is not a share from 0 up to (not including) 1",
                options.holdout
            ),
        });
    }
    let label = champion.pipeline.output.column();
    let query = Query {
        model: Some(spec.name.clone()),
        since: options.since,
        limit: None,
    };
    let annotated = feedback::labelled(project, &query, label).await?;
    if annotated.height() == 0 {
        return Err(Error::Input(format!(
            "{} has no feedback to retrain with{}; send the true labels of its predictions with \
             POST /models/{}/feedback or `lore feedback add`",
            spec.name,
            if options.since.is_some() {
                " in that time"
            } else {
                ""
            },
            spec.name
        )));
    }
    let ids = crate::frame::text(&annotated, "feedback_id", "the feedback")?;
    let mask: BooleanChunked = ids
        .iter()
        .map(|id| Some(held_out(id.unwrap_or_default(), options.holdout)))
        .collect();
    let held = annotated.filter(&mask)?;
    let learned = annotated.filter(&!&mask)?;

    let mut rows = read_whole(project, spec, format!("lore retrain {}", spec.name)).await?;
    rows.vstack_mut(&aligned(&learned, &rows)?)?;
    rows.align_chunks_par();

    // Held by no alias, the champion is served as the latest fitting, and the challenger would
    // be served next for being newer, win or lose: production is pinned to the champion first.
    let production = aliases::holder(project, remote, &spec.name, aliases::PRODUCTION).await?;
    if production.is_none() {
        aliases::promote(
            project,
            remote,
            &spec.name,
            &champion.id,
            aliases::PRODUCTION,
        )
        .await?;
    }
    let tags = BTreeMap::from([("retrain_of".to_string(), champion.id.clone())]);
    let Fitted {
        fitting: challenger,
        ..
    } = fit(
        project,
        spec,
        &FitOptions {
            quiet: options.quiet,
            force: true,
            tags,
            rows: Some(rows.clone()),
            ..FitOptions::default()
        },
    )
    .await?;

    let scoring = challenger.stats.scoring;
    let duel = |df: DataFrame, words: String| -> Result<Duel> {
        Ok(Duel {
            champion: champion.score(df.clone(), &words, scoring)?,
            challenger: challenger.score(df, &words, scoring)?,
            rows: words,
        })
    };
    let test_rows = spec.pipeline.test_rows(&rows)?;
    let test = duel(
        test_rows,
        "the test rows of the extract and feedback".into(),
    )?;
    let feedback = match held.height() {
        0 => None,
        _ => Some(duel(held.clone(), "the held-out feedback".into())?),
    };
    let wins = decide(&test, feedback.as_ref(), scoring, options.margin);
    let promoted = match wins && options.promote {
        true => {
            aliases::promote(
                project,
                remote,
                &spec.name,
                &challenger.id,
                aliases::PRODUCTION,
            )
            .await?;
            true
        }
        _ => false,
    };
    let retrained = Retrained {
        champion: champion.id.clone(),
        challenger,
        scoring,
        test,
        feedback,
        feedback_rows: [learned.height(), held.height()],
        wins,
        promoted,
    };
    let run = runs::retrain(&retrained, options)?;
    tracking::record(project, std::slice::from_ref(&run)).await?;
    Ok((retrained, run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duel(champion: Option<f64>, challenger: Option<f64>) -> Duel {
        let stats = |score| SplitStats {
            score,
            ..SplitStats::default()
        };
        Duel {
            rows: "rows".into(),
            champion: stats(champion),
            challenger: stats(challenger),
        }
    }

    #[test]
    fn the_challenger_wins_by_the_margin_on_feedback_without_losing_the_test_rows() {
        let auc = Metric::Auc;
        let test = duel(Some(0.80), Some(0.80));
        assert!(decide(
            &test,
            Some(&duel(Some(0.70), Some(0.71))),
            auc,
            0.002
        ));
        assert!(!decide(
            &test,
            Some(&duel(Some(0.70), Some(0.701))),
            auc,
            0.002
        ));
        let worse_test = duel(Some(0.80), Some(0.70));
        assert!(!decide(
            &worse_test,
            Some(&duel(Some(0.70), Some(0.75))),
            auc,
            0.002
        ));
        // No feedback score: the test rows decide.
        assert!(decide(&duel(Some(0.7), Some(0.8)), None, auc, 0.002));
        assert!(!decide(
            &duel(Some(0.7), Some(0.8)),
            Some(&duel(None, None)),
            auc,
            0.2
        ));
        // Lower is better for an error.
        let rmse = Metric::Rmse;
        assert!(decide(&duel(Some(2.0), Some(1.0)), None, rmse, 0.5));
        assert!(!decide(&duel(Some(1.0), Some(2.0)), None, rmse, 0.0));
    }

    #[test]
    fn a_row_stays_on_its_side_and_the_share_holds() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("p-{i}")).collect();
        let held = ids.iter().filter(|id| held_out(id, 0.3)).count();
        assert!((2_800..3_200).contains(&held), "{held}");
        assert!(ids.iter().all(|id| held_out(id, 0.3) == held_out(id, 0.3)));
        assert!(!ids.iter().any(|id| held_out(id, 0.0)));
    }
}
