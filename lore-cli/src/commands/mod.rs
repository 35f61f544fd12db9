//! One function per command, one file per command group: parse nothing, decide little, call
//! lore-core, print. This file dispatches and holds what every group shares.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_core::env::Project;
use std::collections::BTreeMap;

use lore_core::encoders::Task;
use lore_core::io::{files, Database, Extract, Origin, QueryCache, ReadOptions};
use lore_core::metrics::SplitStats;
use lore_core::models::store::{self, S3Store, Store};
use lore_core::models::{self, aliases, CheckFirst, Entry, FitOptions, Fitted, Fitting, Source};
use lore_core::serve::prediction_log;
use lore_core::tracking::{logged, Filter, Path, Run};
use lore_core::{project, serve, tracking};
use polars::prelude::DataFrame;

use crate::args::{
    ApiArgs, CacheCommand, CheckArgs, Cli, Command, DataCommand, EvaluateArgs, ExtractArgs,
    FeedbackAddArgs, FeedbackArgs, FeedbackCommand, FitArgs, FittingRows, InitArgs, JsonArgs,
    LoggedArgs, ModelsArgs, ModelsCommand, PredictArgs, ProfileArgs, ReproduceArgs, RetrainArgs,
    RowsFrom, RunSelection, RunsArgs, RunsCommand, SqlArgs, TableFormat,
};
use crate::{build_info, delegate, Host};

mod api;
mod check;
mod data;
mod environment;
mod feedback;
mod fit;
mod generate;
mod predict;
mod registry;
mod report;
mod rows;
mod runs;
mod shell;

use api::*;
use check::*;
use data::*;
use environment::*;
use feedback::*;
use fit::*;
use generate::*;
use predict::*;
use registry::*;
use report::*;
use rows::{read_rows, Logged};
use runs::*;
use shell::*;

/// The value of `$found`, a `Result<T, ExitCode>` that is the exit code of the project's binary
/// where the command was handed over to it; that exit code is returned from the command.
macro_rules! or_handed_over {
    ($found:expr) => {
        match $found {
            Ok(value) => value,
            Err(code) => return Ok(code),
        }
    };
}
pub(crate) use or_handed_over;

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
        Command::Check(args) => runtime.block_on(check(args, &host, verbose)),
        Command::Api(args) => runtime.block_on(api(args, &host, verbose)),
        Command::Generate(args) => generate(args),
        Command::Destroy(args) => destroy(args),
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
        Command::Feedback(FeedbackArgs {
            command: Some(FeedbackCommand::Add(args)),
            ..
        }) => runtime.block_on(add_feedback(args)),
        Command::Feedback(FeedbackArgs { list, .. }) => runtime.block_on(list_feedback(list)),
        Command::Retrain(args) => runtime.block_on(retrain(args, &host, verbose, quiet)),
        Command::Reproduce(args) => runtime.block_on(reproduce(args, quiet)),
        Command::Profile(args) => runtime.block_on(profile(args, &host, verbose)),
        Command::Report(args) => runtime.block_on(report(args, &host, verbose)),
        Command::Env(args) => env(args),
        Command::Test(args) => runtime.block_on(test(args, &host, verbose)),
        Command::Completions(args) => completions(args),
        Command::Man => man(),
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

/// Prints `value` as one line of JSON, what `--json` gives.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
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
