//! `lore runs`: listing, showing, comparing and exporting runs.

use super::*;

/// The query `lore runs` and `lore runs export` run.
pub(super) fn run_query(model: Option<String>, select: &RunSelection) -> Result<tracking::Query> {
    Ok(tracking::Query {
        model: model.or_else(|| select.model.clone()),
        kind: select.kind,
        filter: select.filter.as_deref().map(Filter::parse).transpose()?,
        sort: Vec::new(),
        limit: None,
    })
}

pub(super) async fn runs(args: RunsArgs) -> Result<ExitCode> {
    let project = current_project()?;
    match args.command {
        Some(RunsCommand::Show { run, json }) => return show_run(&project, &run, json).await,
        Some(RunsCommand::Compare { runs, changed }) => {
            return compare_runs(&project, &runs, changed).await
        }
        Some(RunsCommand::Export {
            select,
            format,
            output,
        }) => return export_runs(&project, &select, format, output.as_deref()).await,
        None => {}
    }
    let query = listing_query(args.model, &args.select, args.sort.as_deref(), args.limit)?;
    let columns: Vec<Path> = args
        .columns
        .iter()
        .map(|c| Path::parse(c).with_context(|| format!("--columns: `{c}` is not a key")))
        .collect::<Result<_>>()?;
    let mut runs = tracking::search(&project, &query).await?;
    let more = args.limit > 0 && runs.len() > args.limit;
    runs.truncate(if more { args.limit } else { runs.len() });
    if args.json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    // A typo in a key shows `-` in every row, or matches no run: say so instead.
    let mut asked: Vec<String> = Vec::new();
    if runs.is_empty() {
        asked.extend(
            query
                .filter
                .iter()
                .flat_map(|f| f.paths())
                .map(|p| p.to_string()),
        );
    }
    for (name, path) in args.columns.iter().zip(&columns) {
        let document = |r: &Run| serde_json::Value::Object(r.document().clone());
        if runs.iter().all(|r| path.get(&document(r)).is_none()) {
            asked.push(name.clone());
        }
    }
    if !asked.is_empty() {
        known_keys(&project, &asked).await?;
    }
    print_runs(&runs, &args.columns, &columns);
    if more {
        println!("(first {} runs; --limit 0 shows them all)", args.limit);
    } else if runs.is_empty() {
        println!("(no runs match)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses the first of `keys` that no run of the project has, with the closest one it has.
async fn known_keys(project: &Project, keys: &[String]) -> Result<()> {
    let all = tracking::search(project, &tracking::Query::default()).await?;
    for key in keys {
        if let Err(close) = tracking::known_key(&all, key) {
            let close = close.map_or(String::new(), |c| format!(" did you mean `{c}`?"));
            bail!(
                "no run has the key `{key}`;{close} `lore runs show RUN` lists the keys of a run"
            );
        }
    }
    Ok(())
}

/// The query of `lore runs`: its selection, `--sort` keys (`-` first for descending) and one
/// more run than `--limit`, to tell whether there are more.
fn listing_query(
    model: Option<String>,
    select: &RunSelection,
    sort: Option<&str>,
    limit: usize,
) -> Result<tracking::Query> {
    let mut query = run_query(model, select)?;
    if let Some(sort) = sort {
        for key in sort.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let (descending, key) = match key.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, key),
            };
            let path =
                Path::parse(key).with_context(|| format!("--sort {sort}: `{key}` is not a key"))?;
            query.sort.push((path, descending));
        }
    }
    query.limit = (limit > 0).then_some(limit + 1);
    Ok(query)
}

/// One line a run: its id, kind and model, then its score, the baseline's score, the boosting
/// round early stopping kept, the commit and tags; or the `columns` asked for (`names` as given).
fn print_runs(runs: &[Run], names: &[String], columns: &[Path]) {
    let mut header = format!("{:<26} {:<8} {:<22}", "run", "kind", "model");
    if columns.is_empty() {
        header += &format!(
            " {:>22} {:>8} {:>10}  git       tags",
            "score", "baseline", "best_round"
        );
    }
    for c in names {
        header += &format!(" {:>14}", c.rsplit('.').next().unwrap_or(c));
    }
    println!("{header}");
    for r in runs {
        let mut line = format!("{:<26} {:<8} {:<22}", r.id(), r.kind(), r.model());
        if columns.is_empty() {
            line += &format!(
                " {:>22} {:>8} {:>10}  {:<8}  {}",
                score(r),
                cell(r.get("metrics.baseline.score")),
                number(r.get("metrics.best_iteration")),
                commit(r),
                tags(r)
            );
        }
        for c in columns {
            let document = serde_json::Value::Object(r.document().clone());
            line += &format!(" {:>14}", cell(c.get(&document)));
        }
        println!("{line}");
    }
}

/// A run's score on its scoring metric, named with the rows it was measured on: the test
/// split's for a fit, the validation split's for a search trial, the input's for an
/// evaluation (`test auc 0.7134`).
pub(super) fn score(r: &Run) -> String {
    // Fittings from before scoring metrics were recorded were scored by AUC.
    let scoring = r
        .get("metrics.scoring")
        .and_then(|v| v.as_str())
        .unwrap_or("auc");
    let splits: &[&str] = match r.kind() {
        "evaluate" => &["input"],
        "trial" => &["validation"],
        _ => &["test", "input", "validation"],
    };
    splits
        .iter()
        .find_map(|split| {
            let at = |k: &str| {
                r.get(&format!("metrics.{split}.{k}"))
                    .and_then(|v| v.as_f64())
            };
            let shown = if *split == "validation" {
                "valid"
            } else {
                split
            };
            at("score")
                .or_else(|| at(scoring))
                .map(|v| format!("{shown} {scoring} {v:.4}"))
        })
        .unwrap_or_else(|| "-".into())
}

pub(super) fn number(v: Option<&serde_json::Value>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

pub(super) fn commit(r: &Run) -> String {
    let c = r.get("git.commit").and_then(|v| v.as_str()).unwrap_or("-");
    let dirty = r.get("git.dirty").and_then(|v| v.as_bool()) == Some(true);
    format!("{}{}", &c[..c.len().min(7)], if dirty { "+" } else { "" })
}

pub(super) fn tags(r: &Run) -> String {
    match r.get("tags") {
        Some(serde_json::Value::Object(tags)) => tags
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// A value for a table cell: numbers to 4 decimals, text as it is, `-` for none.
pub(super) fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "-".into(),
        Some(serde_json::Value::Number(n)) if n.is_f64() => {
            n.as_f64().map_or(n.to_string(), |f| format!("{f:.4}"))
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(super) async fn show_run(project: &Project, id: &str, json: bool) -> Result<ExitCode> {
    let run = tracking::find(project, id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (key, value) in run.flatten() {
        println!("{key} = {value}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn compare_runs(
    project: &Project,
    ids: &[String],
    changed_only: bool,
) -> Result<ExitCode> {
    let mut runs = Vec::new();
    for id in ids {
        runs.push(tracking::find(project, id).await?);
    }
    let (keys, flat) = tracking::flat(&runs);
    let shown = [
        "params.",
        "data.",
        "metrics.",
        "tags.",
        "seconds.",
        "git.",
        "fingerprint",
    ];
    let keys: Vec<String> = keys
        .into_iter()
        .filter(|k| shown.iter().any(|p| k.starts_with(p)))
        .collect();
    let width = keys.iter().map(String::len).max().unwrap_or(3).min(60);
    let mut header = format!("  {:<width$}", "key");
    for r in &runs {
        header += &format!("  {:>24}", r.id());
    }
    println!("{header}");
    let mut differing = 0;
    for key in &keys {
        let values: Vec<String> = flat.iter().map(|f| cell(f.get(key))).collect();
        let differs = values.iter().any(|v| *v != values[0]);
        differing += usize::from(differs);
        if changed_only && !differs {
            continue;
        }
        let mut line = format!("{} {:<width$}", if differs { "*" } else { " " }, key);
        for v in &values {
            let v: String = v.chars().take(24).collect();
            line += &format!("  {v:>24}");
        }
        println!("{line}");
    }
    println!("{differing} of {} keys differ (marked *)", keys.len());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn export_runs(
    project: &Project,
    select: &RunSelection,
    format: TableFormat,
    output: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let runs = tracking::search(project, &run_query(None, select)?).await?;
    let mut df = tracking::table(&runs)?;
    let format = format.name();
    match (format, output) {
        ("csv", None) => files::write_csv(&mut df, std::io::stdout().lock())?,
        (_, Some(path)) => {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if extension != format {
                bail!(
                    "--output {}: give a .{format} file for --format {format}",
                    path.display()
                );
            }
            files::write(&mut df, path)?;
            eprintln!(
                "Wrote {} runs ({} columns) to {}",
                df.height(),
                df.width(),
                path.display()
            );
        }
        (_, None) => bail!("--format {format} needs --output FILE.{format}"),
    }
    Ok(ExitCode::SUCCESS)
}
