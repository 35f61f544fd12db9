//! `lore extract`, `lore sql`, `lore predictions`, `lore data convert` and `lore cache`: data in and out.

use super::*;

/// `KEY=VALUE` pairs as typed JSON values: numbers, true/false and null are typed, the rest is text.
pub(super) fn typed_params(pairs: &[String]) -> Result<BTreeMap<String, serde_json::Value>> {
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

pub(super) async fn extract(args: ExtractArgs) -> Result<ExitCode> {
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

pub(super) async fn sql(args: SqlArgs) -> Result<ExitCode> {
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

pub(super) async fn predictions(args: LoggedArgs) -> Result<ExitCode> {
    let project = current_project()?;
    let query = listed(&args)?;
    let mut df = prediction_log::read(&project, &query).await?;
    let columns = [
        ("predicted_at", "PREDICTED AT"),
        ("model", "MODEL"),
        ("fitting_id", "FITTING"),
        ("prediction", "PREDICTION"),
        ("probability", "PROBABILITY"),
        ("latency_ms", "MS"),
        ("prediction_id", "PREDICTION ID"),
    ];
    let none = "No predictions logged; set log_predictions = true in config/api.toml and restart \
                `lore api` to log them";
    show_logged(&mut df, &args, ("predictions", none), &columns)
}

/// The query of the rows `args` lists: `--limit` of them unless they are exported.
pub(super) fn listed(args: &LoggedArgs) -> Result<logged::Query> {
    let limit = (args.export.is_none() && args.limit > 0).then_some(args.limit);
    rows::logged_query(args.model.as_deref(), args.since.as_deref(), limit)
}

/// Writes `df` to `--export`, or shows its `columns` (name, title) one line a row; `what` names
/// the rows, and says what to do where there are none.
pub(super) fn show_logged(
    df: &mut DataFrame,
    args: &LoggedArgs,
    (what, none): (&str, &str),
    columns: &[(&str, &str)],
) -> Result<ExitCode> {
    match &args.export {
        Some(path) => {
            files::write(df, path)?;
            eprintln!("Wrote {} {what} to {}", df.height(), path.display());
        }
        None if df.height() == 0 => eprintln!("{none}"),
        None => print_table(df, columns)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One line a row of `df`: its `columns` (name, title), padded; the rest is left to --export.
fn print_table(df: &DataFrame, columns: &[(&str, &str)]) -> Result<()> {
    let text = |name: &str| -> Result<Vec<String>> {
        let column = df.column(name)?.cast(&polars::prelude::DataType::String)?;
        Ok(column
            .str()?
            .iter()
            .map(|v| v.unwrap_or("null").to_string())
            .collect())
    };
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

pub(super) fn print_head(df: &DataFrame, limit: usize) {
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

pub(super) fn convert(
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

pub(super) fn cache(command: CacheCommand) -> Result<ExitCode> {
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
