//! `lore models`: the catalogue, and the registry's fittings, aliases, pushes and pulls.

use super::*;

pub(super) fn list_models(args: JsonArgs, host: Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let needs = ["Rust models".to_string()];
    if let Some(code) = delegate::hand_over(&host, &project, &needs, verbose)? {
        return Ok(code);
    }
    let catalogue = models::catalogue(rust_models(&host), &project.model_sources_dir())?;
    let rows: Vec<serde_json::Value> = catalogue
        .iter()
        .map(|e| {
            let (kind, file) = match &e.source {
                Source::Rust => ("rust", None),
                Source::Declared(p) => ("declared", Some(p.display().to_string())),
            };
            let fittings = Fitting::ids(&project, &e.spec.name);
            serde_json::json!({ "name": e.spec.name, "kind": kind, "file": file, "fittings": fittings.len(), "latest": fittings.last() })
        })
        .collect();
    if args.json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!("{:<24} {:<9} {:>8}  latest", "model", "kind", "fittings");
        for r in rows {
            println!(
                "{:<24} {:<9} {:>8}  {}",
                r["name"].as_str().unwrap_or(""),
                r["kind"].as_str().unwrap_or(""),
                r["fittings"],
                r["latest"].as_str().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn registry(command: ModelsCommand, quiet: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let remote = S3Store::of(&project)
        .await?
        .map(|r| r.showing_progress(!quiet));
    let remote = remote.as_ref();
    match command {
        ModelsCommand::Ls {
            model,
            remote: from_remote,
            json,
        } => return list_fittings(&project, model.as_deref(), from_remote, json).await,
        ModelsCommand::Push { model, fitting } => {
            let remote = S3Store::required(&project).await?.showing_progress(!quiet);
            let id = match store::resolve(&project, None, &model, fitting.as_deref()).await? {
                Some(resolved) => resolved.id,
                None => Fitting::find(&project, &model, None)?.id,
            };
            match store::push(&project, &remote, &model, &id).await? {
                true => println!("Pushed {model}/{id} to {}{model}/{id}/", remote.location()),
                false => println!("{model}/{id} is in {} already", remote.location()),
            }
        }
        ModelsCommand::Pull { model, fitting } => {
            let remote = S3Store::required(&project).await?.showing_progress(!quiet);
            // Without a fitting named, production's holder where there is one, else the latest.
            let wanted = match fitting {
                Some(name) => Some(name),
                None => {
                    aliases::holder(&project, Some(&remote), &model, aliases::PRODUCTION).await?
                }
            };
            let id = store::resolve(&project, Some(&remote), &model, wanted.as_deref())
                .await?
                .map(|resolved| resolved.id)
                .with_context(|| format!("{} holds no fitting of {model}", remote.location()))?;
            let dir = store::pull(&project, &remote, &model, &id).await?;
            println!("Pulled {model}/{id} into {}", dir.display());
        }
        ModelsCommand::Promote { model, fitting, to } => {
            let previous = aliases::promote(&project, remote, &model, &fitting, &to).await?;
            match previous {
                Some(p) if p == fitting => println!("{model}: {to} already holds {fitting}"),
                Some(p) => println!("{model}: {to} -> {fitting} (was {p})"),
                None => println!("{model}: {to} -> {fitting}"),
            }
        }
        ModelsCommand::Rollback { model, alias } => {
            let (from, to) = aliases::rollback(&project, remote, &model, &alias).await?;
            match to {
                Some(to) => println!("{model}: {alias} -> {to} (rolled back from {from})"),
                None => println!("{model}: {alias} holds no fitting now (rolled back from {from}); `lore api` serves the latest"),
            }
        }
        ModelsCommand::History { model, json } => {
            let events = aliases::history(&project, &model, None).await?;
            let holders = aliases::holders(&project, remote, &model).await?;
            if json {
                print_json(
                    &serde_json::json!({"model": model, "events": events, "holders": holders}),
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:>5}  {:<26} {:<12} {:<9} fitting",
                "seq", "at", "alias", "action"
            );
            for e in &events {
                println!(
                    "{:>5}  {:<26} {:<12} {:<9} {}",
                    e.seq,
                    e.at.get(..19).unwrap_or(&e.at),
                    e.alias,
                    e.action,
                    e.fitting_id.as_deref().unwrap_or("(none)")
                );
            }
            if events.is_empty() {
                println!("(no promotions yet; `lore models promote {model} FITTING` makes one)");
            }
            for (alias, id) in &holders {
                println!("{alias} holds {id}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lore models ls`: the fittings of models/ (or of the S3 bucket), with their aliases.
pub(super) async fn list_fittings(
    project: &Project,
    only: Option<&str>,
    from_remote: bool,
    json: bool,
) -> Result<ExitCode> {
    let remote = match from_remote {
        true => Some(S3Store::required(project).await?),
        false => None,
    };
    let local = store::LocalStore::new(project);
    let (location, mut fittings) = match &remote {
        Some(r) => (r.location(), r.fittings().await?),
        None => (local.location(), local.fittings().await?),
    };
    if let Some(model) = only {
        fittings.retain(|m, _| m == model);
    }
    let mut rows = Vec::new();
    for (model, ids) in &fittings {
        let holders = aliases::holders(project, remote.as_ref(), model).await?;
        for id in ids {
            let held: Vec<&str> = holders
                .iter()
                .filter(|(_, h)| *h == id)
                .map(|(a, _)| a.as_str())
                .collect();
            let cached = project.fittings_dir().join(model).join(id).is_dir();
            rows.push(serde_json::json!({
                "model": model, "fitting_id": id, "aliases": held, "local": cached,
            }));
        }
    }
    if json {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{location}");
    println!("{:<24} {:<24} {:<6} aliases", "model", "fitting", "local");
    for r in &rows {
        let aliases: Vec<&str> = r["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        println!(
            "{:<24} {:<24} {:<6} {}",
            r["model"].as_str().unwrap_or(""),
            r["fitting_id"].as_str().unwrap_or(""),
            if r["local"] == true { "yes" } else { "no" },
            aliases.join(", ")
        );
    }
    if rows.is_empty() {
        println!("(no fittings)");
    }
    Ok(ExitCode::SUCCESS)
}
