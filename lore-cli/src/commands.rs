//! One function per command: parse nothing, decide little, call lore-core, print.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_core::env::Project;
use std::collections::BTreeMap;

use lore_core::encoders::Task;
use lore_core::io::{files, Database, Extract, Origin, QueryCache, ReadOptions};
use lore_core::metrics::SplitStats;
use lore_core::models::store::{self, S3Store, Store};
use lore_core::models::{self, aliases, Entry, FitOptions, Fitted, Fitting, Source};
use lore_core::project::Component;
use lore_core::serve::prediction_log;
use lore_core::tracking::{Filter, Path, Run, RunKind};
use lore_core::{project, serve, tracking};
use polars::prelude::DataFrame;

use crate::args::{
    ApiArgs, CacheCommand, Cli, Command, DataCommand, EvaluateArgs, ExtractArgs, FitArgs,
    FittingRows, GenerateCommand, InitArgs, JsonArgs, ModelsArgs, ModelsCommand, PredictArgs,
    PredictionsArgs, ReproduceArgs, RunSelection, RunsArgs, RunsCommand, SqlArgs,
};
use crate::{build_info, delegate, Host};

/// Runs the parsed command.
pub(crate) fn dispatch(cli: Cli, host: Host) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (verbose, quiet) = (cli.verbose, cli.quiet);
    match cli.command {
        Command::Init(args) => runtime.block_on(init(args, quiet)),
        Command::Fit(args) => runtime.block_on(fit(args, host, verbose, quiet)),
        Command::Predict(args) => runtime.block_on(predict(args, &host, verbose)),
        Command::Evaluate(args) => runtime.block_on(evaluate(args, &host, verbose)),
        Command::Api(args) => runtime.block_on(api(args, &host, verbose)),
        Command::Generate(GenerateCommand::Model { name }) => generate_model(&name),
        Command::Generate(GenerateCommand::Transformer { name }) => {
            generate_component(Component::Transformer, &name)
        }
        Command::Generate(GenerateCommand::Encoder { name }) => {
            generate_component(Component::Encoder, &name)
        }
        Command::Models(ModelsArgs {
            command: Some(command),
            ..
        }) => runtime.block_on(registry(command, quiet)),
        Command::Models(ModelsArgs {
            command: None,
            json,
        }) => list_models(JsonArgs { json }, host, verbose),
        Command::Runs(args) => runtime.block_on(runs(args)),
        Command::Predictions(args) => runtime.block_on(predictions(args)),
        Command::Reproduce(args) => runtime.block_on(reproduce(args, quiet)),
        Command::Extract(args) => runtime.block_on(extract(args)),
        Command::Sql(args) => runtime.block_on(sql(args)),
        Command::Data(DataCommand::Convert {
            input,
            output,
            sheet,
        }) => convert(&input, sheet.as_deref(), &output),
        Command::Cache(command) => cache(command),
    }
}

fn current_project() -> Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    Ok(Project::discover(&cwd)?)
}

fn rust_models(host: &Host) -> &[Box<dyn models::Model>] {
    match host {
        Host::Project(models) => models,
        Host::Standalone => &[],
    }
}

/// Whether a stand-alone `lore` should hand this command to the project's binary.
fn delegates(host: &Host, project: &Project) -> bool {
    matches!(host, Host::Standalone) && project.root.join("Cargo.toml").is_file()
}

async fn init(args: InitArgs, quiet: bool) -> Result<ExitCode> {
    let lore_path = args.lore_path.unwrap_or_else(build_info::lore_checkout);
    if !lore_path.join("lore-core").join("Cargo.toml").is_file() {
        bail!(
            "--lore-path {}: no lore-core/Cargo.toml there; give the folder of a Lore checkout",
            lore_path.display()
        );
    }
    let options = project::InitOptions {
        name: args.name.clone(),
        parent: std::env::current_dir().context("cannot read the current folder")?,
        xgboost_lib_dir: env!("XGBOOST_LIB_DIR").to_string(),
        lore_path,
        target_dir: build_info::shared_target_dir(),
        lockfile: Some(include_str!("../../Cargo.lock").to_string()),
        sample_rows: args.sample_rows,
        seed: args.seed,
    };
    if !quiet {
        eprintln!(
            "Writing project {} with {} sample users...",
            args.name, args.sample_rows
        );
    }
    let root = project::init(&options).await?;
    println!("Created {}", root.display());
    println!("Next: cd {} && lore fit Subscribers", args.name);
    Ok(ExitCode::SUCCESS)
}

async fn fit(args: FitArgs, host: Host, verbose: bool, quiet: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let catalogue = models::catalogue(rust_models(&host), &project.model_sources_dir())?;
    let Some(Entry { spec, source }) = catalogue
        .iter()
        .find(|e| e.spec.name == args.model)
        .cloned()
    else {
        if delegates(&host, &project) {
            tracing::info!("{} is not a declared model; handing over to the project's binary for its Rust models", args.model);
            return delegate::run_in_project_binary(&project.root, verbose);
        }
        return Err(lore_core::Error::UnknownModel {
            name: args.model,
            known: catalogue.iter().map(|e| e.spec.name.clone()).collect(),
        }
        .into());
    };
    match &source {
        Source::Declared(path) => {
            tracing::info!(
                "fitting {} declared in {} inside this process: no cargo build",
                spec.name,
                path.display()
            )
        }
        Source::Rust => tracing::info!("fitting {} compiled into this binary", spec.name),
    }
    let unregistered = spec.pipeline.unregistered();
    if !unregistered.is_empty() && delegates(&host, &project) {
        tracing::info!(
            "{} uses the project's own {}; handing over to the project's binary, which registers them",
            spec.name,
            unregistered.join(", ")
        );
        return delegate::run_in_project_binary(&project.root, verbose);
    }
    let spec = models::params::apply(&spec, &args.params)?;
    let search = match args.search {
        Some(trials) => Some(models::SearchOptions {
            trials,
            strategy: args.search_strategy.parse()?,
            jobs: args.jobs,
            seed: 0,
        }),
        None => None,
    };
    let tags = key_values(&args.tags, "--tag")?;
    // Known before the fit, so a missing bucket setting does not cost a fit.
    let remote = match args.upload {
        true => Some(
            S3Store::required(&project)
                .await?
                .showing_progress(!quiet && !args.json),
        ),
        false => None,
    };
    let fitted = models::fit(
        &project,
        &spec,
        &FitOptions {
            quiet: quiet || args.json,
            export: args.export.clone(),
            search,
            force: args.force,
            tags,
        },
    )
    .await;
    let Fitted {
        fitting,
        run,
        reused,
    } = match (fitted, &source) {
        (Ok(fitted), _) => fitted,
        (Err(e), Source::Declared(path)) => return Err(models::in_declared(path, e).into()),
        (Err(e), Source::Rust) => return Err(e.into()),
    };
    let uploaded = match &remote {
        Some(remote) => {
            store::push(&project, remote, &fitting.model, &fitting.id)
                .await
                .with_context(|| {
                    format!(
                        "fitting {} of {} is saved in {}, but the upload failed; `lore models \
                         push {} {}` uploads it later",
                        fitting.id,
                        fitting.model,
                        fitting.dir.display(),
                        fitting.model,
                        fitting.id
                    )
                })?;
            Some(remote.location())
        }
        None => None,
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "model": fitting.model,
                "fitting_id": fitting.id,
                "path": fitting.dir.display().to_string(),
                "reused": reused,
                "stats": fitting.stats,
                "search": fitting.search,
                "fingerprint": run.get("fingerprint"),
                "uploaded": uploaded,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let s = &fitting.stats;
    if reused {
        println!(
            "Reused fitting {} of {}: it was made from identical inputs (spec, SQL, parameters, \
             data, Lore version, git state); `--force` fits again",
            fitting.id, fitting.model
        );
    } else {
        println!(
            "Fitted {} -> fitting {} ({}, scored by {})",
            fitting.model,
            fitting.id,
            s.task.name(),
            s.scoring.name()
        );
    }
    let mut splits = vec![
        ("train", &s.train),
        ("validation", &s.validation),
        ("test", &s.test),
    ];
    splits.extend(s.baseline.iter().map(|b| ("baseline", b)));
    print_metrics(s.task, &splits);
    let rounds = match s.rounds {
        // Estimators that fit in one go have no rounds to tell of.
        0 | 1 => String::new(),
        n => format!("best iteration {} of {n} rounds; ", s.best_iteration),
    };
    println!(
        "{rounds}{:.2}s extract, {:.2}s fit",
        s.seconds.extract, s.seconds.fit
    );
    if let Some(search) = &fitting.search {
        print_search(search);
    }
    if let Some(dir) = &args.export {
        println!("encoded splits: {}", dir.display());
    }
    println!(
        "report: {}",
        fitting.dir.join(lore_core::report::REPORT_FILE).display()
    );
    if let Some(location) = uploaded {
        println!("uploaded to {location}{}/{}/", fitting.model, fitting.id);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every trial of a search, the kept one marked.
fn print_search(search: &models::search::SearchRecord) {
    println!(
        "search: {} trials ({}), validation {} ({} is better); kept trial {}",
        search.trials.len(),
        search.strategy.name(),
        search.scoring.name(),
        if search.greater_is_better {
            "higher"
        } else {
            "lower"
        },
        search.best
    );
    for t in &search.trials {
        let params: Vec<String> = t
            .params
            .iter()
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("estimator.")))
            .collect();
        let score = match (&t.score, &t.error) {
            (Some(s), _) => format!("{s:.4}"),
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => "-".into(),
        };
        let mark = if t.number == search.best { "*" } else { " " };
        println!("{mark}{:>4}  {score:>8}  {}", t.number, params.join(" "));
    }
}

/// The metrics of `task` for each named split, one row each.
fn print_metrics(task: Task, splits: &[(&str, &SplitStats)]) {
    let columns = lore_core::metrics::columns(task);
    let mut header = format!("{:<12} {:>8}", "split", "rows");
    for (name, _) in &columns {
        header += &format!(" {name:>11}");
    }
    println!("{header}");
    for (name, split) in splits {
        let mut line = format!("{:<12} {:>8}", name, split.rows);
        for (_, value) in &columns {
            match value(split) {
                Some(v) if v.is_finite() => line += &format!(" {v:>11.4}"),
                _ => line += &format!(" {:>11}", "-"),
            }
        }
        println!("{line}");
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
    if !fitting.pipeline.unregistered().is_empty() && delegates(host, &project) {
        return Ok(Err(delegate::run_in_project_binary(
            &project.root,
            verbose,
        )?));
    }
    let df = files::read(&rows.input)?;
    Ok(Ok((fitting, df)))
}

async fn evaluate(args: EvaluateArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let (fitting, df) = match fitting_and_rows(&args.rows, host, verbose).await? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let input = args.rows.input.display().to_string();
    let stats = fitting.evaluate(df, &input)?;
    let run = fitting.evaluation_run(&input, &stats)?;
    tracking::record(&current_project()?, std::slice::from_ref(&run)).await?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "model": fitting.model,
                "fitting_id": fitting.id,
                "input": args.rows.input.display().to_string(),
                "scoring": fitting.stats.scoring.name(),
                "stats": stats,
                "run_id": run.id(),
            })
        );
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

async fn predict(args: PredictArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
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

async fn api(args: ApiArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| {
            format!(
                "--host {} --port {}: not an address to listen on",
                args.host, args.port
            )
        })?;
    let mut settings = api_settings(&args)?;
    settings.auth = serve::Auth::of(&project)?;
    settings.log_predictions = serve::prediction_log::configured(&project)?;
    for digest in args.api_key_sha256.iter().filter(|d| !d.trim().is_empty()) {
        let digest =
            serve::parse_digest(digest).map_err(|m| anyhow::anyhow!("--api-key-sha256: {m}"))?;
        settings.auth.key_digests.push(digest);
    }
    if !addr.ip().is_loopback() && !settings.auth.is_enabled() && !args.allow_unauthenticated {
        bail!(
            "--host {}: other machines could call this API, and no authentication is \
             configured; set API keys (--api-key-sha256, or [auth] in config/api.toml) or a JWT \
             key ([auth.jwt]), or say --allow-unauthenticated",
            args.host
        );
    }
    let state = serve::ApiState::load(&project, settings).await?;
    if !state.unregistered().is_empty() && delegates(host, &project) {
        return delegate::run_in_project_binary(&project.root, verbose);
    }
    if state.models().is_empty() {
        eprintln!("warning: no fitted models yet; run `lore fit MODEL` and restart the API");
    }
    let models = state.models().join(", ");
    let serving = state.serving();
    let refresh = (args.refresh > 0).then(|| std::time::Duration::from_secs(args.refresh));
    state.follow(refresh);
    serve::serve(state, addr, |bound| {
        let mut lines = format!(
            "Serving {} on http://{bound}\n",
            if models.is_empty() {
                "no models"
            } else {
                &models
            }
        );
        for (model, fitting, alias) in &serving {
            let chosen = alias.as_deref().unwrap_or("latest");
            lines.push_str(&format!("  {model}: fitting {fitting} ({chosen})\n"));
        }
        lines.push_str(
            "  protocols: Lore POST /models/{name}/predict, MLflow POST /invocations, Open \
             Inference V2 POST /v2/models/{name}/infer, probes /livez /readyz, Prometheus \
             /metrics, OpenAPI /openapi.json\n",
        );
        // Whoever started the server may stop reading its output; serving goes on regardless.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(lines.as_bytes()).and_then(|()| out.flush());
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The server settings of `lore api`'s flags.
fn api_settings(args: &ApiArgs) -> Result<serve::Settings> {
    let seconds = |flag: &str, value: f64| -> Result<std::time::Duration> {
        std::time::Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("--{flag} {value}: give a number of seconds above 0"))
    };
    Ok(serve::Settings {
        limits: serve::Limits {
            rows: args.max_records,
            keys: args.max_fields,
            text: args.max_text,
            unknown: args.max_ignored,
            refuse_unknown: args.refuse_unknown_fields,
        },
        max_body: args.max_body,
        header_timeout: seconds("header-timeout", args.header_timeout)?,
        body_timeout: seconds("body-timeout", args.body_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        request_timeout: seconds("request-timeout", args.request_timeout)?,
        shutdown_timeout: seconds("shutdown-timeout", args.shutdown_timeout)?,
        max_concurrency: args.max_concurrency.max(1),
        access_log: args.access_log,
        ..serve::Settings::default()
    })
}

fn generate_model(name: &str) -> Result<ExitCode> {
    let project = current_project()?;
    let written = project::generate_model(&project.root, name)?;
    for path in written {
        println!(
            "wrote {}",
            path.strip_prefix(&project.root).unwrap_or(&path).display()
        );
    }
    println!("Next: lore fit {name}");
    Ok(ExitCode::SUCCESS)
}

fn generate_component(component: Component, name: &str) -> Result<ExitCode> {
    let project = current_project()?;
    let written = project::generate_component(&project.root, component, name)?;
    for path in written {
        println!(
            "wrote {}",
            path.strip_prefix(&project.root).unwrap_or(&path).display()
        );
    }
    let kind = match component {
        Component::Transformer => "{ type = \"Custom\", name = \"NAME\", columns = [\"COLUMN\"] }",
        Component::Encoder => "{ type = \"Custom\", name = \"NAME\", column = \"COLUMN\" }",
    };
    println!("Next: use it in a model as {}", kind.replace("NAME", name));
    Ok(ExitCode::SUCCESS)
}

fn list_models(args: JsonArgs, host: Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    if delegates(&host, &project) {
        return delegate::run_in_project_binary(&project.root, verbose);
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

async fn reproduce(args: ReproduceArgs, quiet: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let r = models::reproduce::reproduce(&project, &args.fitting, quiet || args.json).await?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "fitting_id": r.original.id,
                "reproduced_by": r.fitted.fitting.id,
                "matches": r.matches(),
                "same_data": r.same_data,
                "compared": r.compared,
                "differences": r.differences.iter().map(|(k, a, b)| serde_json::json!({"metric": k, "original": a, "reproduced": b})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "Fitted {} again from fitting {}'s spec -> fitting {}",
            r.original.model, r.original.id, r.fitted.fitting.id
        );
        match r.same_data {
            Some(true) => println!("data: the extract gave the same rows"),
            Some(false) => println!("data: the extract now gives different rows"),
            None => println!("data: the original fitting did not record its rows' hash"),
        }
        if r.matches() {
            println!("reproduced: all {} metrics match", r.compared);
        } else {
            println!(
                "not reproduced: {} of {} metrics differ",
                r.differences.len(),
                r.compared
            );
            for (k, a, b) in &r.differences {
                println!("  {k:<28} {a:>12.6} -> {b:>12.6}");
            }
        }
    }
    Ok(if r.matches() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn registry(command: ModelsCommand, quiet: bool) -> Result<ExitCode> {
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
            let id = match fitting {
                Some(id) => id,
                None => Fitting::find(&project, &model, None)?.id,
            };
            match store::push(&project, &remote, &model, &id).await? {
                true => println!("Pushed {model}/{id} to {}{model}/{id}/", remote.location()),
                false => println!("{model}/{id} is in {} already", remote.location()),
            }
        }
        ModelsCommand::Pull { model, fitting } => {
            let remote = S3Store::required(&project).await?.showing_progress(!quiet);
            let id = match fitting {
                Some(name) => {
                    match aliases::holder(&project, Some(&remote), &model, &name).await? {
                        Some(id) => id,
                        None => name,
                    }
                }
                None => match aliases::holder(&project, Some(&remote), &model, aliases::PRODUCTION)
                    .await?
                {
                    Some(id) => id,
                    None => remote
                        .fittings()
                        .await?
                        .remove(&model)
                        .and_then(|ids| ids.last().cloned())
                        .with_context(|| {
                            format!("{} holds no fitting of {model}", remote.location())
                        })?,
                },
            };
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
                println!(
                    "{}",
                    serde_json::json!({"model": model, "events": events, "holders": holders})
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
async fn list_fittings(
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

/// `KEY=VALUE` pairs as text, for `flag`.
fn key_values(pairs: &[String], flag: &str) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .with_context(|| {
                    format!("{flag} {pair}: expected KEY=VALUE, such as team=growth")
                })?;
            Ok((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// The query `lore runs` and `lore runs export` run.
fn run_query(model: Option<String>, select: &RunSelection) -> Result<tracking::Query> {
    let kind = match select.kind.as_deref() {
        None => None,
        Some("fit") => Some(RunKind::Fit),
        Some("evaluate") => Some(RunKind::Evaluate),
        Some("trial") => Some(RunKind::Trial),
        Some(other) => bail!("--kind {other}: not a kind of run; use fit, evaluate or trial"),
    };
    Ok(tracking::Query {
        model: model.or_else(|| select.model.clone()),
        kind,
        filter: select.filter.as_deref().map(Filter::parse).transpose()?,
        sort: Vec::new(),
        limit: None,
    })
}

async fn runs(args: RunsArgs) -> Result<ExitCode> {
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
        }) => return export_runs(&project, &select, &format, output.as_deref()).await,
        None => {}
    }
    let mut query = run_query(args.model, &args.select)?;
    if let Some(sort) = &args.sort {
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
    // One more than shown, to tell whether there are more.
    query.limit = (args.limit > 0).then_some(args.limit + 1);
    let mut runs = tracking::search(&project, &query).await?;
    let more = args.limit > 0 && runs.len() > args.limit;
    runs.truncate(if more { args.limit } else { runs.len() });
    if args.json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    let columns: Vec<Path> = args
        .columns
        .iter()
        .map(|c| Path::parse(c).with_context(|| format!("--columns: `{c}` is not a key")))
        .collect::<Result<_>>()?;
    let mut header = format!("{:<26} {:<8} {:<22}", "run", "kind", "model");
    if columns.is_empty() {
        header += &format!(
            " {:>18} {:>8} {:>6}  git       tags",
            "score", "baseline", "best"
        );
    }
    for c in &args.columns {
        header += &format!(" {:>14}", c.rsplit('.').next().unwrap_or(c));
    }
    println!("{header}");
    for r in &runs {
        let mut line = format!("{:<26} {:<8} {:<22}", r.id(), r.kind(), r.model());
        if columns.is_empty() {
            line += &format!(
                " {:>18} {:>8} {:>6}  {:<8}  {}",
                score(r),
                cell(r.get("metrics.baseline.score")),
                number(r.get("metrics.best_iteration")),
                commit(r),
                tags(r)
            );
        }
        for c in &columns {
            let document = serde_json::Value::Object(r.document().clone());
            line += &format!(" {:>14}", cell(c.get(&document)));
        }
        println!("{line}");
    }
    if more {
        println!("(first {} runs; --limit 0 shows them all)", args.limit);
    } else if runs.is_empty() {
        println!("(no runs match)");
    }
    Ok(ExitCode::SUCCESS)
}

/// A run's score on its scoring metric: the test split's for a fit, the validation split's
/// for a trial, the input's for an evaluation.
fn score(r: &Run) -> String {
    // Fittings from before scoring metrics were recorded were scored by AUC.
    let scoring = r
        .get("metrics.scoring")
        .and_then(|v| v.as_str())
        .unwrap_or("auc");
    ["test", "input", "validation"]
        .iter()
        .find_map(|split| {
            let at = |k: &str| {
                r.get(&format!("metrics.{split}.{k}"))
                    .and_then(|v| v.as_f64())
            };
            at("score").or_else(|| at(scoring))
        })
        .map(|v| format!("{scoring} {v:.4}"))
        .unwrap_or_else(|| "-".into())
}

fn number(v: Option<&serde_json::Value>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn commit(r: &Run) -> String {
    let c = r.get("git.commit").and_then(|v| v.as_str()).unwrap_or("-");
    let dirty = r.get("git.dirty").and_then(|v| v.as_bool()) == Some(true);
    format!("{}{}", &c[..c.len().min(7)], if dirty { "+" } else { "" })
}

fn tags(r: &Run) -> String {
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
fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "-".into(),
        Some(serde_json::Value::Number(n)) if n.is_f64() => {
            n.as_f64().map_or(n.to_string(), |f| format!("{f:.4}"))
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

async fn show_run(project: &Project, id: &str, json: bool) -> Result<ExitCode> {
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

async fn compare_runs(project: &Project, ids: &[String], changed_only: bool) -> Result<ExitCode> {
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

async fn export_runs(
    project: &Project,
    select: &RunSelection,
    format: &str,
    output: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let runs = tracking::search(project, &run_query(None, select)?).await?;
    let mut df = tracking::table(&runs)?;
    match (format, output) {
        ("csv", None) => files::write_csv(&mut df, std::io::stdout().lock())?,
        ("csv" | "parquet", Some(path)) => {
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
        ("parquet", None) => bail!("--format parquet needs --output FILE.parquet"),
        (other, _) => bail!("--format {other}: use csv or parquet"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `KEY=VALUE` pairs as typed JSON values: numbers, true/false and null are typed, the rest is text.
fn typed_params(pairs: &[String]) -> Result<BTreeMap<String, serde_json::Value>> {
    pairs
        .iter()
        .map(|pair| {
            let (k, v) = pair.split_once('=').with_context(|| {
                format!("--param {pair}: expected KEY=VALUE, such as limit=100")
            })?;
            let value = serde_json::from_str::<serde_json::Value>(v)
                .ok()
                .filter(|j| !j.is_object() && !j.is_array())
                .unwrap_or_else(|| serde_json::Value::String(v.to_string()));
            Ok((k.trim().to_string(), value))
        })
        .collect()
}

async fn extract(args: ExtractArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let db = Database::new(&project)?;
    let connection = db.connection(&args.connection)?;
    let options = ReadOptions {
        cache: Some(args.cache),
        origin: Origin {
            model: None,
            site: format!("lore extract {}", args.name),
        },
    };
    let started = std::time::Instant::now();
    let mut df = connection
        .read(&args.name, &typed_params(&args.params)?, &options)
        .await?;
    if args.timing {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "read {} rows, {} columns, {:.1} MB in memory, in {seconds:.3} s ({:.0} rows/s)",
            df.height(),
            df.width(),
            lore_core::frame::held_bytes(&df) as f64 / 1e6,
            df.height() as f64 / seconds.max(1e-9)
        );
    }
    match &args.output {
        Some(path) => {
            files::write(&mut df, path)?;
            println!(
                "Wrote {} rows of {} to {}",
                df.height(),
                args.name,
                path.display()
            );
        }
        None => print_head(&df, args.limit),
    }
    Ok(ExitCode::SUCCESS)
}

async fn sql(args: SqlArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let db = Database::new(&project)?;
    let connection = db.connection(&args.connection)?;
    let statement = Extract::inline("lore sql", &args.sql);
    let options = ReadOptions {
        cache: Some(false),
        origin: Origin {
            model: None,
            site: "lore sql".into(),
        },
    };
    let df = connection
        .read_extract(&statement, &typed_params(&args.params)?, &options)
        .await?;
    print_head(&df, args.limit);
    Ok(ExitCode::SUCCESS)
}

async fn predictions(args: PredictionsArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let since = match &args.since {
        Some(text) => Some(
            prediction_log::parse_since(text, chrono::Utc::now())
                .map_err(|m| anyhow::anyhow!("--since: {m}"))?,
        ),
        None => None,
    };
    let export = args.export.is_some();
    let query = prediction_log::Query {
        model: args.model.clone(),
        since,
        limit: (!export && args.limit > 0).then_some(args.limit),
    };
    let mut df = prediction_log::read(&project, &query).await?;
    match &args.export {
        Some(path) => {
            files::write(&mut df, path)?;
            eprintln!("Wrote {} predictions to {}", df.height(), path.display());
        }
        None if df.height() == 0 => eprintln!(
            "No predictions logged{}; set log_predictions = true in config/api.toml and restart \
             `lore api` to log them",
            args.model
                .as_deref()
                .map(|m| format!(" for {m}"))
                .unwrap_or_default()
        ),
        None => print_predictions(&df)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One line a logged prediction, newest first; the inputs are left to --export.
fn print_predictions(df: &DataFrame) -> Result<()> {
    let text = |name: &str| -> Result<Vec<String>> {
        let column = df.column(name)?.cast(&polars::prelude::DataType::String)?;
        Ok(column
            .str()?
            .iter()
            .map(|v| v.unwrap_or("null").to_string())
            .collect())
    };
    let columns = [
        ("predicted_at", "PREDICTED AT"),
        ("model", "MODEL"),
        ("fitting_id", "FITTING"),
        ("prediction", "PREDICTION"),
        ("probability", "PROBABILITY"),
        ("latency_ms", "MS"),
        ("prediction_id", "PREDICTION ID"),
    ];
    let values = columns
        .iter()
        .map(|(name, _)| text(name))
        .collect::<Result<Vec<_>>>()?;
    let widths: Vec<usize> = columns
        .iter()
        .zip(&values)
        .map(|((_, title), v)| {
            v.iter()
                .map(String::len)
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(columns.iter().map(|(_, title)| *title).collect());
    for r in 0..df.height() {
        line(values.iter().map(|v| v[r].as_str()).collect());
    }
    Ok(())
}

fn print_head(df: &DataFrame, limit: usize) {
    std::env::set_var("POLARS_FMT_MAX_ROWS", limit.to_string());
    std::env::set_var("POLARS_FMT_MAX_COLS", "50");
    println!("{}", df.head(Some(limit)));
    if df.height() > limit {
        println!(
            "{} rows in all; --limit N shows more, --output FILE writes them all",
            df.height()
        );
    }
}

fn convert(
    input: &std::path::Path,
    sheet: Option<&str>,
    output: &std::path::Path,
) -> Result<ExitCode> {
    let df = files::convert(input, sheet, output)?;
    println!(
        "{} -> {}: {} rows",
        input.display(),
        output.display(),
        df.height()
    );
    for line in files::schema_lines(&df) {
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn cache(command: CacheCommand) -> Result<ExitCode> {
    let project = current_project()?;
    let cache = QueryCache::for_data_dir(&project.data_dir())?;
    match command {
        CacheCommand::Ls => {
            let entries = cache.entries()?;
            println!("{:<66} {:>12}  last used", "key", "bytes");
            for e in &entries {
                let when: chrono::DateTime<chrono::Utc> = e.last_used.into();
                println!(
                    "{:<66} {:>12}  {}",
                    e.key,
                    e.bytes,
                    when.format("%Y-%m-%d %H:%M:%S")
                );
            }
            println!(
                "{} entries, {} bytes",
                entries.len(),
                entries.iter().map(|e| e.bytes).sum::<u64>()
            );
        }
        CacheCommand::Clear => {
            let (n, bytes) = cache.clear()?;
            println!("Removed {n} cached results ({bytes} bytes)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
