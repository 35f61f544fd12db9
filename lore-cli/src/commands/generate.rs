//! `lore generate KIND NAME` and `lore destroy KIND NAME`.

use lore_core::generators::{self, Kind, Plan};

use super::*;
use crate::args::GenerateArgs;

pub(super) fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let kind = args.kind;
    let plan = generators::plan(&project.root, kind, &args.name)?;
    carry_out(&project, &plan, args.dry_run)?;
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let name = &args.name;
    let next = match kind {
        Kind::Model => format!("lore fit {name}, and `lore test` runs its test"),
        Kind::Pipeline => format!("use {name}Pipeline in a Rust model's #[model(pipeline = ...)]"),
        Kind::Estimator => "return it from a Rust model's `estimator()`".to_string(),
        Kind::Extract => format!(
            "point a model's extract at it: sql = \"{}\"",
            models::snake_case(name)
        ),
        Kind::Transformer => {
            format!("use it in a model as {{ type = \"Custom\", name = \"{name}\", columns = [\"COLUMN\"] }}")
        }
        Kind::Encoder => {
            format!("use it in a model as {{ type = \"Custom\", name = \"{name}\", column = \"COLUMN\" }}")
        }
        Kind::Test => "lore test".to_string(),
    };
    println!("Next: {next}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn destroy(args: GenerateArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let plan = generators::plan_destroy(&project.root, args.kind, &args.name)?;
    carry_out(&project, &plan, args.dry_run)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints each change of `plan` and, unless `dry_run`, makes it.
fn carry_out(project: &Project, plan: &Plan, dry_run: bool) -> Result<()> {
    for change in &plan.changes {
        match dry_run {
            true => println!("would {}", change.describe()),
            false => println!("{}", change.describe()),
        }
    }
    if !dry_run {
        generators::apply(&project.root, plan)?;
    }
    Ok(())
}
