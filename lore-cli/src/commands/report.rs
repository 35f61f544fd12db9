//! `lore report`: a fitting's report page, its path printed or opened in the browser.

use lore_core::report::REPORT_PAGE;

use super::*;
use crate::args::ReportArgs;

pub(super) async fn report(args: ReportArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let model = match args.model {
        Some(model) => model,
        None => last_fitted(&project)?,
    };
    let wanted = (model.as_str(), args.fitting.as_deref());
    let fitting = or_handed_over!(fitting_for(&project, wanted, host, verbose, true).await?);
    let page = fitting.dir.join(REPORT_PAGE);
    if !page.is_file() {
        bail!(
            "{}: fitting {} of {model} has no report page (it was fitted before Lore wrote one; \
             its report.md is beside it); fit the model again for one",
            page.display(),
            fitting.id
        );
    }
    if !args.open {
        println!("{}", page.display());
        return Ok(ExitCode::SUCCESS);
    }
    let opener = std::env::var_os("BROWSER").unwrap_or_else(|| "xdg-open".into());
    let opened = std::process::Command::new(&opener)
        .arg(&page)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !opened {
        bail!(
            "could not open {} with {} (set $BROWSER to your browser); open it by hand",
            page.display(),
            opener.to_string_lossy()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The model whose fitting is the newest of the project (fitting ids sort by time).
fn last_fitted(project: &Project) -> Result<String> {
    Fitting::fitted_models(project)
        .into_iter()
        .filter_map(|model| Fitting::ids(project, &model).pop().map(|id| (id, model)))
        .max()
        .map(|(_, model)| model)
        .context("no model has a fitting yet; `lore fit MODEL` makes one, with its report")
}
