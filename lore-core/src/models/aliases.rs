//! The model registry: aliases (`production`, `staging`, any name) that point at one fitting of
//! a model each. Every promotion and rollback is an event in the metadata database; an alias's
//! holder comes from replaying them (a promotion pushes a fitting, a rollback pops back to the
//! one before), so history is never rewritten and rollback always knows where to go.
//!
//! With S3 configured, each model's alias stacks are also written to `<Model>/aliases.json`
//! beside its fittings, before the event is recorded: that object is what every `lore api`
//! reading the bucket follows, so servers agree whichever database they have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self, S3Store, Store};
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

/// The alias object kept beside a model's fittings in S3.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct AliasFile {
    model: String,
    /// Each alias's holders, the current one last.
    aliases: BTreeMap<String, Vec<String>>,
    updated_at: String,
}

/// The alias stacks of `model` in `remote`'s alias object, if it has one.
async fn remote_stacks(
    remote: &S3Store,
    model: &str,
) -> Result<Option<BTreeMap<String, Vec<String>>>> {
    let Some(bytes) = remote.read_aliases(model).await? else {
        return Ok(None);
    };
    let file: AliasFile = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Registry(format!(
            "{}: not an alias object ({e}); promote a fitting again to rewrite it",
            remote
                .s3()
                .url(&remote.key(&format!("{model}/{}", store::ALIASES_FILE)))
        ))
    })?;
    Ok(Some(file.aliases))
}

/// Each alias's stack of holders for `model`: from the alias object in S3 when there is one,
/// else replayed from the database's events.
async fn stacks(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    if let Some(remote) = remote {
        if let Some(stacks) = remote_stacks(remote, model).await? {
            return Ok(stacks);
        }
    }
    Ok(replay(&history(project, model, None).await?))
}

/// The fitting each alias of `model` holds now.
pub async fn holders(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
) -> Result<BTreeMap<String, String>> {
    Ok(stacks(project, remote, model)
        .await?
        .into_iter()
        .filter_map(|(alias, stack)| stack.last().map(|id| (alias, id.clone())))
        .collect())
}

/// The fitting `alias` of `model` holds now, if any.
pub async fn holder(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    alias: &str,
) -> Result<Option<String>> {
    Ok(stacks(project, remote, model)
        .await?
        .remove(alias)
        .and_then(|stack| stack.last().cloned()))
}

/// Records one event: first the new stacks in S3 (where configured), then the event in the
/// database; when the database refuses it, the alias object is put back as it was, so the two
/// never disagree.
async fn record(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    alias: &str,
    action: &str,
    stacks: BTreeMap<String, Vec<String>>,
) -> Result<()> {
    let fitting_id = stacks.get(alias).and_then(|s| s.last()).cloned();
    let Some(remote) = remote else {
        return append(project, model, alias, action, fitting_id.as_deref()).await;
    };
    let before = remote.read_aliases(model).await?;
    let file = AliasFile {
        model: model.to_string(),
        aliases: stacks,
        updated_at: chrono::Utc::now().to_rfc3339(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Registry(e.to_string()))?;
    remote.write_aliases(model, Some(&bytes)).await?;
    if let Err(e) = append(project, model, alias, action, fitting_id.as_deref()).await {
        if let Err(undo) = remote.write_aliases(model, before.as_deref()).await {
            tracing::error!("could not put the alias object of {model} back: {undo}");
        }
        return Err(e);
    }
    Ok(())
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
/// With S3 configured the fitting is pushed first if the bucket lacks it, so that every server
/// following the alias can pull it.
pub async fn promote(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    id: &str,
    alias: &str,
) -> Result<Option<String>> {
    check_alias(alias)?;
    let local = Fitting::ids(project, model).iter().any(|i| i == id);
    let remote_ids = match remote {
        Some(r) => r.fittings().await?.remove(model).unwrap_or_default(),
        None => Vec::new(),
    };
    if !local && !remote_ids.iter().any(|i| i == id) {
        let mut ids = Fitting::ids(project, model);
        ids.extend(remote_ids);
        ids.sort();
        ids.dedup();
        return Err(Error::Registry(format!(
            "model {model} has no fitting `{id}` in {}{} to promote; its fittings: {}",
            project.fittings_dir().join(model).display(),
            remote.map_or(String::new(), |r| format!(" or {}", r.location())),
            if ids.is_empty() {
                "(none)".into()
            } else {
                ids.join(", ")
            }
        )));
    }
    if let Some(remote) = remote {
        if local && store::push(project, remote, model, id).await? {
            tracing::info!("pushed fitting {model}/{id} to {}", remote.location());
        }
    }
    let mut stacks = stacks(project, remote, model).await?;
    let stack = stacks.entry(alias.to_string()).or_default();
    let previous = stack.last().cloned();
    if previous.as_deref() == Some(id) {
        return Ok(previous);
    }
    stack.push(id.to_string());
    record(project, remote, model, alias, "promote", stacks).await?;
    Ok(previous)
}

/// Points `alias` of `model` back at the fitting it held before the last promotion; returns
/// (the holder rolled back from, the holder now).
pub async fn rollback(
    project: &Project,
    remote: Option<&S3Store>,
    model: &str,
    alias: &str,
) -> Result<(String, Option<String>)> {
    check_alias(alias)?;
    let mut stacks = stacks(project, remote, model).await?;
    let stack = stacks.entry(alias.to_string()).or_default();
    let Some(from) = stack.pop() else {
        return Err(Error::Registry(format!(
            "{model}'s alias `{alias}` holds no fitting, so there is nothing to roll back; \
             `lore models history {model}` shows its events"
        )));
    };
    let to = stack.last().cloned();
    record(project, remote, model, alias, "rollback", stacks).await?;
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
