//! The model registry: aliases (`production`, `staging`, any name) that point at one fitting of
//! a model each. Every promotion and rollback is an event in the metadata database; an alias's
//! holder comes from replaying them (a promotion pushes a fitting, a rollback pops back to the
//! one before), so history is never rewritten and rollback always knows where to go.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::Fitting;
use crate::env::Project;
use crate::error::{Error, Result};
use crate::frame;
use crate::io::Origin;
use crate::tracking;

/// The alias `lore api` serves when it is set.
pub const PRODUCTION: &str = "production";

/// One promotion or rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Its place in the registry's history (increasing).
    pub seq: i64,
    /// The model.
    pub model: String,
    /// The alias.
    pub alias: String,
    /// `promote` or `rollback`.
    pub action: String,
    /// The fitting the alias holds after the event (`None`: no fitting any more).
    pub fitting_id: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// Refuses alias names that would not read well in a URL or a shell.
fn check_alias(alias: &str) -> Result<()> {
    let ok = !alias.is_empty()
        && alias.len() <= 64
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Registry(format!(
            "`{alias}` is not an alias name; use lower-case letters, digits, - and _ (such as \
             production or staging)"
        )))
    }
}

fn origin(site: &str) -> Origin {
    Origin {
        model: None,
        site: format!("lore registry: {site}"),
    }
}

/// Every event of `model`'s aliases (or of one alias), oldest first.
pub async fn history(project: &Project, model: &str, alias: Option<&str>) -> Result<Vec<Event>> {
    let connection = tracking::open(project).await?;
    let mut params = BTreeMap::from([("model".to_string(), json!(model))]);
    let mut statement =
        "SELECT seq, model, alias, action, fitting_id, at FROM alias_events WHERE model = :model"
            .to_string();
    if let Some(alias) = alias {
        statement += " AND alias = :alias";
        params.insert("alias".into(), json!(alias));
    }
    statement += " ORDER BY seq";
    let df = connection
        .query_frame(&statement, &params, &origin("history"))
        .await;
    connection.close().await;
    let df = df?;
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let text = |name: &str| frame::strings(&df, name, "the model registry");
    let (models, aliases, actions, fittings, ats) = (
        text("model")?,
        text("alias")?,
        text("action")?,
        text("fitting_id")?,
        text("at")?,
    );
    let seqs = frame::strings(&df, "seq", "the model registry")?;
    Ok((0..df.height())
        .map(|i| Event {
            seq: seqs[i]
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(i as i64),
            model: models[i].clone().unwrap_or_default(),
            alias: aliases[i].clone().unwrap_or_default(),
            action: actions[i].clone().unwrap_or_default(),
            fitting_id: fittings[i].clone(),
            at: ats[i].clone().unwrap_or_default(),
        })
        .collect())
}

/// Each alias's stack of holders, replayed from `events` (oldest first); the last is the holder.
fn replay(events: &[Event]) -> BTreeMap<String, Vec<String>> {
    let mut stacks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in events {
        let stack = stacks.entry(e.alias.clone()).or_default();
        match (e.action.as_str(), &e.fitting_id) {
            ("promote", Some(id)) => stack.push(id.clone()),
            ("rollback", _) => {
                stack.pop();
            }
            _ => {}
        }
    }
    stacks
}

/// The fitting each alias of `model` holds now.
pub async fn holders(project: &Project, model: &str) -> Result<BTreeMap<String, String>> {
    Ok(replay(&history(project, model, None).await?)
        .into_iter()
        .filter_map(|(alias, stack)| stack.last().map(|id| (alias, id.clone())))
        .collect())
}

/// The fitting `alias` of `model` holds now, if any.
pub async fn holder(project: &Project, model: &str, alias: &str) -> Result<Option<String>> {
    Ok(replay(&history(project, model, Some(alias)).await?)
        .remove(alias)
        .and_then(|stack| stack.last().cloned()))
}

async fn append(
    project: &Project,
    model: &str,
    alias: &str,
    action: &str,
    fitting_id: Option<&str>,
) -> Result<()> {
    let connection = tracking::open(project).await?;
    let params = BTreeMap::from([
        ("model".to_string(), json!(model)),
        ("alias".to_string(), json!(alias)),
        ("action".to_string(), json!(action)),
        ("fitting_id".to_string(), json!(fitting_id)),
        ("at".to_string(), json!(chrono::Utc::now().to_rfc3339())),
    ]);
    let done = connection
        .execute_with(
            "INSERT INTO alias_events (model, alias, action, fitting_id, at)
             VALUES (:model, :alias, :action, :fitting_id, :at)",
            &params,
            &origin(action),
        )
        .await;
    connection.close().await;
    done.map(|_| ())
}

/// Points `alias` of `model` at fitting `id`, which must exist; returns the previous holder.
pub async fn promote(
    project: &Project,
    model: &str,
    id: &str,
    alias: &str,
) -> Result<Option<String>> {
    check_alias(alias)?;
    let ids = Fitting::ids(project, model);
    if !ids.iter().any(|i| i == id) {
        return Err(Error::Registry(format!(
            "model {model} has no fitting `{id}` in {} to promote; its fittings: {}",
            project.fittings_dir().join(model).display(),
            if ids.is_empty() {
                "(none)".into()
            } else {
                ids.join(", ")
            }
        )));
    }
    let previous = holder(project, model, alias).await?;
    if previous.as_deref() == Some(id) {
        return Ok(previous);
    }
    append(project, model, alias, "promote", Some(id)).await?;
    Ok(previous)
}

/// Points `alias` of `model` back at the fitting it held before the last promotion; returns
/// (the holder rolled back from, the holder now).
pub async fn rollback(
    project: &Project,
    model: &str,
    alias: &str,
) -> Result<(String, Option<String>)> {
    check_alias(alias)?;
    let mut stack = replay(&history(project, model, Some(alias)).await?)
        .remove(alias)
        .unwrap_or_default();
    let Some(from) = stack.pop() else {
        return Err(Error::Registry(format!(
            "{model}'s alias `{alias}` holds no fitting, so there is nothing to roll back; \
             `lore models history {model}` shows its events"
        )));
    };
    let to = stack.last().cloned();
    append(project, model, alias, "rollback", to.as_deref()).await?;
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, alias: &str, action: &str, id: Option<&str>) -> Event {
        Event {
            seq,
            model: "M".into(),
            alias: alias.into(),
            action: action.into(),
            fitting_id: id.map(str::to_string),
            at: String::new(),
        }
    }

    #[test]
    fn replaying_pushes_promotions_and_pops_rollbacks_per_alias() {
        let events = [
            event(1, "production", "promote", Some("a")),
            event(2, "staging", "promote", Some("c")),
            event(3, "production", "promote", Some("b")),
            event(4, "production", "rollback", Some("a")),
            event(5, "staging", "rollback", None),
        ];
        let stacks = replay(&events);
        assert_eq!(stacks["production"], ["a"]);
        assert!(stacks["staging"].is_empty());
    }

    #[test]
    fn alias_names_are_plain() {
        assert!(check_alias("production").is_ok());
        assert!(check_alias("canary-2").is_ok());
        assert!(check_alias("Prod").is_err());
        assert!(check_alias("a b").is_err());
        assert!(check_alias("").is_err());
    }
}
