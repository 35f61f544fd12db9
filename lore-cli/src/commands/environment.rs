//! `lore env` (the configuration the environment resolves to) and `lore test` (the project's
//! tests in the test environment).

use lore_core::env::{self as environment, Setting};
use lore_core::test_env;

use super::*;
use crate::args::{EnvArgs, TestArgs};

pub(super) fn env(args: EnvArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let env = environment::current();
    let settings = environment::settings(&project.root, &env)?;
    let lore_env_from = environment::variable_origin("LORE_ENV");
    let lore_env_from = match lore_env_from.as_str() {
        "unset" => "the default".to_string(),
        other => other.to_string(),
    };
    if args.json {
        print_json(&serde_json::json!({
            "environment": env,
            "environment_from": lore_env_from,
            "root": project.root.display().to_string(),
            "settings": settings,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("environment: {env} (LORE_ENV from {lore_env_from})");
    println!("project: {}", project.root.display());
    if settings.is_empty() {
        println!("no settings: config/ holds no .toml files");
    }
    let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    for Setting {
        key,
        value,
        file,
        variables,
    } in &settings
    {
        let mut from = file.clone();
        for (name, origin) in variables {
            from.push_str(&format!(", ${name} from {origin}"));
        }
        println!("{key:width$}  {value}  ({from})");
    }
    Ok(ExitCode::SUCCESS)
}

/// Set for the project's binary that `lore test` hands over to: the test database is made.
const PREPARED: &str = "LORE_TEST_DATABASE_MADE";

pub(super) async fn test(args: TestArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    // Before the project is opened, so that .env.test and config/test/ are what it reads.
    std::env::set_var("LORE_ENV", test_env::ENV);
    let project = current_project()?;
    let known = known_models(&project, host)?;
    if let Some(name) = args.models.iter().find(|name| !known.contains(name)) {
        return Err(unknown_model(name, known).into());
    }
    // The project's binary, handed the command below, finds the database made already.
    if std::env::var_os(PREPARED).is_none() {
        prepare(&project, &args).await?;
        std::env::set_var(PREPARED, "1");
    }
    let standalone = matches!(host, Host::Standalone);
    let rust_project = project.root.join("Cargo.toml").is_file();
    if standalone && rust_project && !args.no_cargo {
        cargo_test(&project.root, verbose)?;
    }
    // The project's binary knows its Rust models; it checks every model, `cargo test` left out.
    if let Some(code) = delegate::hand_over(host, &project, &["Rust models".into()], verbose)? {
        return Ok(code);
    }
    let catalogue = models::catalogue(rust_models(host), &project.model_sources_dir())?;
    let mut failed = Vec::new();
    for entry in &catalogue {
        let name = &entry.spec.name;
        if !args.models.is_empty() && !args.models.contains(name) {
            continue;
        }
        eprintln!("checking {name}: its extract on the test database, and a fit...");
        match test_env::check_model(&project, &entry.spec, args.rows).await {
            Ok(check) => println!(
                "ok    {name}: {} rows, fitted {}",
                check.rows, check.fitting
            ),
            Err(e) => {
                let e = match &entry.source {
                    Source::Declared(path) => models::in_declared(path, e),
                    Source::Rust => e,
                };
                println!("FAIL  {name}: {e}");
                failed.push(name.clone());
            }
        }
    }
    if failed.is_empty() {
        println!("lore test: every model passed");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("lore test: {} failed: {}", failed.len(), failed.join(", "));
    Ok(ExitCode::FAILURE)
}

/// Makes the test database where it is missing (or with --fresh) and says which it is.
async fn prepare(project: &Project, args: &TestArgs) -> Result<()> {
    let database = test_env::prepare(project, args.rows, args.fresh).await?;
    if database.made {
        let tables: Vec<String> = database
            .tables
            .iter()
            .map(|(name, rows)| format!("{name} ({rows} rows)"))
            .collect();
        println!(
            "made the test database {} from {}: {}",
            database.path.display(),
            database.source,
            tables.join(", ")
        );
    } else {
        println!(
            "test database: {} (`lore test --fresh` makes it again)",
            database.path.display()
        );
    }
    Ok(())
}

/// Runs the project's own tests (`cargo test`) with LORE_ENV=test, as `lore` builds projects.
fn cargo_test(root: &std::path::Path, verbose: bool) -> Result<()> {
    let manifest = root.join("Cargo.toml");
    let mut cargo = delegate::project_cargo("test", root, verbose);
    eprintln!("running the project's Rust tests (cargo test)...");
    let status = cargo.status().with_context(|| {
        format!(
            "cannot run cargo to test {}; install Rust (rustup), or `lore test --no-cargo` checks \
             the models only",
            manifest.display()
        )
    })?;
    if !status.success() {
        bail!(
            "the project's Rust tests failed (cargo test, above); fix them, or `lore test \
             --no-cargo` checks the models only"
        );
    }
    Ok(())
}
