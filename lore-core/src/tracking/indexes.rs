//! Key indexes: in a SQLite metadata database, an index on the value at each key that `lore
//! runs` compares or sorts by, made the first time a query asks for the key, so that later
//! queries look the key up instead of reading every run's document. The database keeps them
//! up to date as runs are recorded; `lore runs` never needs more than [`MAX`] of them.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::filter::{Path, SqliteKey};
use crate::error::Result;
use crate::frame;
use crate::io::{Backend, Connection, Origin};

/// At most this many key indexes: each one is a little more work for every run recorded.
pub const MAX: usize = 32;

/// The names of key indexes start so.
const PREFIX: &str = "runs_key_";

/// Makes the missing indexes for `paths` (SQLite only; PostgreSQL reads the documents) and
/// returns the paths (as written) that have one. An index that cannot be made (a read-only
/// database, a lock held too long) is logged and left out: the query still answers, by
/// reading every run.
pub(crate) async fn ensure(connection: &Connection, paths: &[&Path]) -> Result<BTreeSet<String>> {
    let mut indexed = BTreeSet::new();
    if connection.backend() != Backend::Sqlite {
        return Ok(indexed);
    }
    let mut wanted = BTreeMap::new();
    for path in paths {
        if !SqliteKey::indexable(path) {
            continue;
        }
        let key = SqliteKey::of(path)?;
        wanted
            .entry(name(&key))
            .or_insert_with(|| (path.to_string(), key));
    }
    if wanted.is_empty() {
        return Ok(indexed);
    }
    let origin = Origin {
        model: None,
        site: "lore tracking: key indexes".into(),
    };
    let existing = connection
        .query_frame(
            &format!(
                "SELECT name, tbl_name FROM sqlite_master
                 WHERE type = 'index' AND substr(name, 1, {}) = :prefix",
                PREFIX.len()
            ),
            &BTreeMap::from([("prefix".to_string(), PREFIX.into())]),
            &origin,
        )
        .await?;
    let names = frame::strings(&existing, "name", "key indexes")?;
    let tables = frame::strings(&existing, "tbl_name", "key indexes")?;
    let existing: BTreeMap<String, String> = names
        .into_iter()
        .zip(tables)
        .filter_map(|(n, t)| Some((n?, t?)))
        .collect();
    let mut count = existing.len();
    let mut analyze = BTreeSet::new();
    for table in existing.values().collect::<BTreeSet<_>>() {
        if stale(connection, table, &origin).await {
            analyze.insert(table.clone());
        }
    }
    for (name, (path, key)) in wanted {
        if existing.contains_key(&name) {
            indexed.insert(path);
            continue;
        }
        if count >= MAX {
            tracing::info!(
                "runs: not indexing `{path}`, the metadata database has {MAX} key indexes \
                 already; the query reads every run"
            );
            continue;
        }
        let started = std::time::Instant::now();
        let made = connection
            .execute(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {} ({})",
                key.table,
                key.expression()
            ))
            .await;
        match made {
            Ok(()) => {
                tracing::info!(
                    "runs: indexed `{path}` in {:.2}s; later queries on it look it up",
                    started.elapsed().as_secs_f64()
                );
                count += 1;
                analyze.insert(key.table.to_string());
                indexed.insert(path);
            }
            Err(e) => {
                tracing::info!("runs: could not index `{path}` ({e}); the query reads every run")
            }
        }
    }
    // The planner weighs an index by its statistics: without them it takes an index on a key
    // every run has (`kind`) for one as selective as a key few runs hold.
    for table in analyze {
        if let Err(e) = connection.execute(&format!("ANALYZE {table}")).await {
            tracing::info!("runs: could not gather statistics on {table} ({e})");
        }
    }
    Ok(indexed)
}

/// Whether `table`'s statistics count half or twice the rows it has now: runs recorded since
/// they were gathered would make the planner misjudge its indexes. The rows are estimated by
/// the largest rowid, which SQLite finds without reading the table (runs are replaced in
/// place, never deleted).
async fn stale(connection: &Connection, table: &str, origin: &Origin) -> bool {
    let counts = connection
        .query_frame(
            &format!(
                "SELECT (SELECT max(rowid) FROM {table}) AS now,
                        (SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = :table
                         LIMIT 1) AS analyzed"
            ),
            &BTreeMap::from([("table".to_string(), table.into())]),
            origin,
        )
        .await;
    let number = |df: &polars::prelude::DataFrame, column: &str| {
        frame::numbers(df, column, "key indexes")
            .ok()
            .and_then(|v| v.first().copied().flatten())
    };
    match counts {
        Ok(df) => match (number(&df, "now"), number(&df, "analyzed")) {
            (Some(now), Some(analyzed)) => now > 2.0 * analyzed || 2.0 * now < analyzed,
            (Some(_), None) => true,
            _ => false,
        },
        // No statistics table yet: the first ANALYZE makes it.
        Err(_) => true,
    }
}

/// The index's name: the prefix and a digest of what it indexes (keys may hold any character).
fn name(key: &SqliteKey) -> String {
    let digest = Sha256::digest(format!("{} {}", key.table, key.expression()));
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}
