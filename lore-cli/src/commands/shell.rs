//! `lore completions SHELL` and `lore man`: the command line described for shells and `man`.

use clap::CommandFactory;

use super::*;
use crate::args::CompletionsArgs;

pub(super) fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "lore", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn man() -> Result<ExitCode> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .context("cannot write the man page to standard output")?;
    Ok(ExitCode::SUCCESS)
}
