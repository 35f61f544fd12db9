//! `lore init`, `lore fit` (its metrics and search trials printed) and `lore reproduce`.

use super::*;

pub(super) async fn init(args: InitArgs, quiet: bool) -> Result<ExitCode> {
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
        lockfile: Some(include_str!("../../../Cargo.lock").to_string()),
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

/// What `lore fit --check` holds the extract to: the profile of the model's production fitting,
/// else its latest; `None`, said on standard error, for a model with no fitting yet.
async fn check_first(project: &Project, spec: &models::ModelSpec) -> Result<Option<CheckFirst>> {
    let remote = S3Store::of(project).await?;
    if store::resolve(project, remote.as_ref(), &spec.name, None)
        .await?
        .is_none()
    {
        eprintln!(
            "{} has no fitting to check the extract against yet: fitting without a check",
            spec.name
        );
        return Ok(None);
    }
    let production =
        aliases::holder(project, remote.as_ref(), &spec.name, aliases::PRODUCTION).await?;
    let fitting = store::load(project, remote.as_ref(), &spec.name, production.as_deref()).await?;
    Ok(Some(CheckFirst {
        fitting: format!("{} of {}", fitting.id, fitting.model),
        reference: fitting.profile()?,
        policy: models::check::policy(project, spec)?,
    }))
}

/// The model `name` of the project, or the exit code of the project's binary where the model is
/// one of its Rust models, or needs code of its own, that this `lore` lacks.
pub(super) fn model_entry(
    project: &Project,
    name: &str,
    host: &Host,
    verbose: bool,
) -> Result<std::result::Result<Entry, ExitCode>> {
    let catalogue = models::catalogue(rust_models(host), &project.model_sources_dir())?;
    let Some(entry) = catalogue.iter().find(|e| e.spec.name == name).cloned() else {
        // Built only when its sources define the model: a typo is refused at once.
        let known = known_models(project, host)?;
        if known.iter().any(|k| k == name) {
            let needs = [format!("Rust model {name}")];
            if let Some(code) = delegate::hand_over(host, project, &needs, verbose)? {
                return Ok(Err(code));
            }
        }
        return Err(unknown_model(name, known).into());
    };
    match &entry.source {
        Source::Declared(path) => tracing::info!(
            "fitting {name} declared in {} inside this process: no cargo build",
            path.display()
        ),
        Source::Rust => tracing::info!("fitting {name} compiled into this binary"),
    }
    let needs = entry.spec.pipeline.unregistered();
    match delegate::hand_over(host, project, &needs, verbose)? {
        Some(code) => Ok(Err(code)),
        None => Ok(Ok(entry)),
    }
}

/// A fit's error blamed on the `--param` that set the value at fault, else on the line of the
/// declared model's TOML.
pub(super) fn blamed(
    spec: &models::ModelSpec,
    params: &[String],
    source: &Source,
    e: lore_core::Error,
) -> lore_core::Error {
    let declared = match source {
        Source::Declared(path) => Some(path.as_path()),
        Source::Rust => None,
    };
    models::params::blamed(spec, params, declared, e)
}

/// Every model the project defines: declared ones, Rust ones compiled into this binary, and
/// (for the stand-alone `lore`) Rust ones its sources define.
pub(super) fn known_models(project: &Project, host: &Host) -> Result<Vec<String>> {
    let catalogue = models::catalogue(rust_models(host), &project.model_sources_dir())?;
    let mut known: Vec<String> = catalogue.into_iter().map(|e| e.spec.name).collect();
    known.extend(models::rust_model_names(&project.model_sources_dir()));
    known.sort();
    known.dedup();
    Ok(known)
}

/// "No model named ..." with the closest of `known`.
pub(super) fn unknown_model(name: &str, known: Vec<String>) -> lore_core::Error {
    lore_core::Error::UnknownModel {
        name: name.to_string(),
        known,
    }
}

pub(super) async fn fit(args: FitArgs, host: Host, verbose: bool, quiet: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let Entry { spec, source } =
        or_handed_over!(model_entry(&project, &args.model, &host, verbose)?);
    let spec = models::params::apply(&spec, &args.params)?;
    let search = match args.search {
        Some(trials) => Some(models::SearchOptions {
            trials,
            strategy: args.search_strategy,
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
    let check = match args.check {
        true => check_first(&project, &spec).await?,
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
            tags: tags.clone(),
            check,
            rows: None,
        },
    )
    .await;
    let Fitted {
        fitting,
        run,
        reused,
    } = match (fitted, &source) {
        (Ok(fitted), _) => fitted,
        (Err(e), source) => return Err(blamed(&spec, &args.params, source, e).into()),
    };
    lore_core::error_reports::tag("fitting", &fitting.id);
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
    let done = Done {
        fitting: &fitting,
        fingerprint: run.get("fingerprint"),
        reused,
        uploaded,
        export: args.export.as_deref(),
        tags: &tags,
    };
    match args.json {
        true => print_json(&done.json()),
        false => done.print(),
    }
    Ok(ExitCode::SUCCESS)
}

/// What a `lore fit` did, as it is printed.
struct Done<'a> {
    fitting: &'a Fitting,
    fingerprint: Option<&'a serde_json::Value>,
    reused: bool,
    uploaded: Option<String>,
    export: Option<&'a std::path::Path>,
    tags: &'a BTreeMap<String, String>,
}

impl Done<'_> {
    /// The `--json` output.
    fn json(&self) -> serde_json::Value {
        let fitting = self.fitting;
        serde_json::json!({
            "model": fitting.model,
            "fitting_id": fitting.id,
            "path": fitting.dir.display().to_string(),
            "reused": self.reused,
            "stats": fitting.stats,
            "search": fitting.search,
            "fingerprint": self.fingerprint,
            "uploaded": self.uploaded,
        })
    }

    /// The metrics table and where everything went.
    fn print(&self) {
        let fitting = self.fitting;
        let s = &fitting.stats;
        if self.reused {
            println!(
                "Reused fitting {} of {}: it was made from identical inputs (spec, SQL, \
                 parameters, data, Lore version, git state); `--force` fits again",
                fitting.id, fitting.model
            );
            if !self.tags.is_empty() {
                let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("tagged its run {}", tags.join(" "));
            }
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
        // A reused fitting's timings are its first fit's, not this command's.
        let when = match self.reused {
            true => " when it was made",
            false => "",
        };
        println!(
            "{rounds}{:.2}s extract, {:.2}s fit{when}",
            s.seconds.extract, s.seconds.fit
        );
        if let Some(search) = &fitting.search {
            print_search(search);
        }
        if let Some(dir) = self.export {
            println!("encoded splits: {}", dir.display());
        }
        println!(
            "report: {}",
            fitting.dir.join(lore_core::report::REPORT_FILE).display()
        );
        if let Some(location) = &self.uploaded {
            println!("uploaded to {location}{}/{}/", fitting.model, fitting.id);
        }
    }
}

/// `KEY=VALUE` pairs as text, for `flag`.
pub(super) fn key_values(pairs: &[String], flag: &str) -> Result<BTreeMap<String, String>> {
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

/// Every trial of a search, the kept one marked.
pub(super) fn print_search(search: &models::search::SearchRecord) {
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
pub(super) fn print_metrics(task: Task, splits: &[(&str, &SplitStats)]) {
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

pub(super) async fn reproduce(args: ReproduceArgs, quiet: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let r = models::reproduce::reproduce(&project, &args.fitting, quiet || args.json).await?;
    if args.json {
        print_json(&serde_json::json!({
            "fitting_id": r.original.id,
            "reproduced_by": r.fitted.fitting.id,
            "matches": r.matches(),
            "same_data": r.same_data,
            "compared": r.compared,
            "differences": r.differences.iter().map(|(k, a, b)| serde_json::json!({"metric": k, "original": a, "reproduced": b})).collect::<Vec<_>>(),
        }));
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
