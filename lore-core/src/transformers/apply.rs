//! Applying a pipeline's transformers to a frame on every core: in pieces of rows side by
//! side, or a level of independent transformers at a time.

use polars::prelude::*;
use rayon::prelude::*;

use super::dates::Seconds;
use super::Transformer;
use crate::error::Result;
use crate::frame;

/// Fewest rows in one piece of a frame that [`apply_all`] transforms a piece at a time.
pub(super) const PIECE_ROWS: usize = 64 * 1024;

/// Applies `transformers` as [`Transformer::apply`] one after another would, on every core. The
/// built-in transformers compute each row from that row alone, so a large frame is cut into
/// pieces of rows, transformed side by side and joined again as chunks of each output column:
/// every core does the same share of every transformer. Otherwise (a small frame, or a custom
/// transformer, which may read the whole column) the transformers whose inputs are ready are
/// computed side by side: first all that read only the extract's columns, then those that read
/// their outputs, and so on.
pub fn apply_all(transformers: &[Transformer], df: &mut DataFrame) -> Result<()> {
    let pieces = rayon::current_num_threads() * 2;
    let built_in = transformers
        .iter()
        .all(|t| !matches!(t, Transformer::Custom { .. }));
    if pieces > 1 && built_in && df.height() >= 2 * PIECE_ROWS {
        apply_in_pieces(
            transformers,
            df,
            df.height().div_ceil(pieces).max(PIECE_ROWS),
        )
    } else {
        apply_by_level(transformers, df)
    }
}

/// [`apply_all`] on pieces of `rows` rows of `df`, side by side.
fn apply_in_pieces(transformers: &[Transformer], df: &mut DataFrame, rows: usize) -> Result<()> {
    let outputs: Vec<String> = transformers.iter().map(Transformer::output).collect();
    let mut order: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut added: Vec<&str> = Vec::new();
    for output in &outputs {
        if !added.contains(&output.as_str()) {
            added.push(output);
        }
        if !order.contains(output) {
            order.push(output.clone());
        }
    }
    // Timestamp columns that several transformers read are parsed once a piece.
    let mut read: Vec<(&str, usize)> = Vec::new();
    let mut shared: Vec<(&str, usize)> = Vec::new();
    for (i, t) in transformers.iter().enumerate() {
        for column in t.timestamp_inputs() {
            match read.iter().find(|(c, _)| *c == column) {
                Some(first) if !shared.contains(first) => shared.push(*first),
                Some(_) => {}
                None => read.push((column, i)),
            }
        }
    }
    let starts: Vec<usize> = (0..df.height()).step_by(rows).collect();
    let columns = starts
        .par_iter()
        .map(|start| {
            let mut piece = df.slice(*start as i64, rows);
            let mut seconds = Seconds::default();
            for (column, i) in &shared {
                let by = format!("transformer {}", transformers[*i].output());
                // A transformer before the one reading it may have replaced the column.
                if outputs[..*i].iter().all(|o| o != column) {
                    let parsed = frame::epoch_seconds(&piece, column, &by)
                        .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))?;
                    seconds.0.insert(column.to_string(), parsed);
                }
            }
            for (i, t) in transformers.iter().enumerate() {
                let column = t
                    .compute_with(&piece, &seconds)
                    .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))?;
                seconds.0.remove(t.output().as_str());
                piece.with_column(column)?;
            }
            added
                .iter()
                .map(|name| Ok(piece.column(name)?.clone()))
                .collect::<Result<Vec<Column>>>()
        })
        .collect::<Result<Vec<Vec<Column>>>>()?;
    let mut pieces = columns.into_iter();
    if let Some(mut joined) = pieces.next() {
        for piece in pieces {
            for (whole, part) in joined.iter_mut().zip(piece) {
                whole.append_owned(part)?;
            }
        }
        for column in joined {
            df.with_column(column)?;
        }
    }
    *df = df.select(order)?;
    Ok(())
}

/// [`apply_all`] a level of transformers at a time, each on the whole of `df`.
fn apply_by_level(transformers: &[Transformer], df: &mut DataFrame) -> Result<()> {
    // A transformer's level: 0 when it reads no earlier transformer's output, else one more
    // than the highest level among the earlier transformers it reads.
    let outputs: Vec<String> = transformers.iter().map(Transformer::output).collect();
    let mut levels: Vec<usize> = Vec::with_capacity(transformers.len());
    for (i, t) in transformers.iter().enumerate() {
        let inputs = t.inputs();
        let level = (0..i)
            .filter(|j| inputs.contains(&outputs[*j].as_str()))
            .map(|j| levels[j] + 1)
            .max()
            .unwrap_or(0);
        levels.push(level);
    }
    let deepest = levels.iter().copied().max().unwrap_or(0);
    // The columns in the order applying one after another leaves them.
    let mut order: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    for output in &outputs {
        if !order.contains(output) {
            order.push(output.clone());
        }
    }
    for level in 0..=deepest {
        let frame: &DataFrame = df;
        let in_level: Vec<usize> = (0..transformers.len())
            .filter(|i| levels[*i] == level)
            .collect();
        // When transformers of this level read the same timestamp column, every timestamp column
        // of the level is parsed once, side by side with the transformers that read none; then
        // those that do run on the parsed seconds.
        let mut readers: Vec<(&str, usize)> = Vec::new();
        let mut repeated = false;
        for &i in &in_level {
            for column in transformers[i].timestamp_inputs() {
                match readers.iter().any(|(c, _)| *c == column) {
                    true => repeated = true,
                    false => readers.push((column, i)),
                }
            }
        }
        let shared = if repeated { readers } else { Vec::new() };
        let reads_shared = |i: &usize| {
            transformers[*i]
                .timestamp_inputs()
                .iter()
                .any(|c| shared.iter().any(|(s, _)| s == c))
        };
        let compute = |i: usize, seconds: &Seconds| {
            let started = std::time::Instant::now();
            let t = &transformers[i];
            let column = t
                .compute_with(frame, seconds)
                .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")));
            tracing::debug!(seconds = started.elapsed().as_secs_f64(), "{}", t.output());
            column
        };
        let (parsed, early) = rayon::join(
            || {
                shared
                    .par_iter()
                    .map(|(column, i)| {
                        let by = format!("transformer {}", transformers[*i].output());
                        frame::epoch_seconds(frame, column, &by)
                            .map(|s| (column.to_string(), s))
                            .map_err(|e| e.in_spec(format!("pipeline.transformers.{i}")))
                    })
                    .collect::<Result<PlHashMap<_, _>>>()
            },
            || {
                in_level
                    .par_iter()
                    .filter(|i| !reads_shared(i))
                    .map(|i| compute(*i, &Seconds::default()))
                    .collect::<Result<Vec<_>>>()
            },
        );
        let seconds = Seconds(parsed?);
        let late = in_level
            .par_iter()
            .filter(|i| reads_shared(i))
            .map(|i| compute(*i, &seconds))
            .collect::<Result<Vec<_>>>()?;
        for column in early?.into_iter().chain(late) {
            df.with_column(column)?;
        }
    }
    *df = df.select(order)?;
    Ok(())
}
