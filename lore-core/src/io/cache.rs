//! The query cache: extract results keyed by a hash of the connection's identity (never its
//! credentials), the SQL and the parameter values. Two tiers: memory (moka, weighted by bytes) and
//! Parquet files under `data/cache/` that survive restarts, kept under a size limit
//! (`LORE_QUERY_CACHE_LIMIT`, bytes) by evicting the least recently used.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Default disk limit: 10 GiB.
pub const DEFAULT_LIMIT: u64 = 10 << 30;
/// Default memory tier: 1 GiB.
pub const DEFAULT_MEMORY: u64 = 1 << 30;

/// A cached result on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    /// The hash that names it.
    pub key: String,
    /// Size of its Parquet file.
    pub bytes: u64,
    /// When it was last written or read.
    pub last_used: SystemTime,
}

/// The two-tier query cache of one project.
pub struct QueryCache {
    dir: PathBuf,
    limit: u64,
    memory: moka::sync::Cache<String, DataFrame>,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache")
            .field("dir", &self.dir)
            .field("limit", &self.limit)
            .finish()
    }
}

impl QueryCache {
    /// A cache in `dir` holding at most `limit` bytes on disk and `memory` bytes in memory.
    pub fn new(dir: PathBuf, limit: u64, memory: u64) -> QueryCache {
        let memory = moka::sync::Cache::builder()
            .max_capacity(memory)
            .weigher(|_k: &String, v: &DataFrame| {
                u32::try_from(v.estimated_size()).unwrap_or(u32::MAX)
            })
            .build();
        QueryCache { dir, limit, memory }
    }

    /// The cache under `data_dir/cache`, limited by `LORE_QUERY_CACHE_LIMIT` (bytes, default 10 GiB).
    pub fn for_data_dir(data_dir: &Path) -> Result<QueryCache> {
        let limit = match std::env::var("LORE_QUERY_CACHE_LIMIT") {
            Ok(v) => v.trim().parse::<u64>().map_err(|_| Error::InvalidParam {
                key: "LORE_QUERY_CACHE_LIMIT".into(),
                message: format!("`{v}` is not a number of bytes"),
            })?,
            Err(_) => DEFAULT_LIMIT,
        };
        Ok(QueryCache::new(
            data_dir.join("cache"),
            limit,
            DEFAULT_MEMORY.min(limit.max(1)),
        ))
    }

    /// The key of a query: a SHA-256 of the connection identity, the SQL and the parameters.
    pub fn key(identity: &str, sql: &str, params: &[serde_json::Value]) -> String {
        let mut h = Sha256::new();
        for part in [
            identity,
            sql,
            &serde_json::Value::Array(params.to_vec()).to_string(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.parquet"))
    }

    /// The cached result for `key`, from memory or disk; a disk hit counts as a use.
    pub fn get(&self, key: &str) -> Result<Option<DataFrame>> {
        if let Some(df) = self.memory.get(key) {
            self.touch(key);
            return Ok(Some(df));
        }
        let path = self.path(key);
        let Ok(file) = File::open(&path) else {
            return Ok(None);
        };
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        self.touch(key);
        self.memory.insert(key.to_string(), df.clone());
        Ok(Some(df))
    }

    fn touch(&self, key: &str) {
        if let Ok(file) = File::options().append(true).open(self.path(key)) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// Stores `df` under `key` in both tiers, then evicts the least recently used files over the limit.
    pub fn put(&self, key: &str, df: &DataFrame) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let path = self.path(key);
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        ParquetWriter::new(file)
            .finish(&mut df.clone())
            .map_err(|e| Error::Data(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        self.memory.insert(key.to_string(), df.clone());
        self.evict()?;
        Ok(())
    }

    /// Every entry on disk, least recently used first.
    pub fn entries(&self) -> Result<Vec<CacheEntry>> {
        let mut entries: Vec<CacheEntry> = match std::fs::read_dir(&self.dir) {
            Ok(read) => read
                .flatten()
                .filter_map(|e| {
                    let name = e
                        .file_name()
                        .to_str()?
                        .strip_suffix(".parquet")?
                        .to_string();
                    let meta = e.metadata().ok()?;
                    Some(CacheEntry {
                        key: name,
                        bytes: meta.len(),
                        last_used: meta.modified().ok()?,
                    })
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        entries.sort_by(|a, b| {
            a.last_used
                .cmp(&b.last_used)
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(entries)
    }

    fn evict(&self) -> Result<()> {
        let entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        for entry in entries {
            if total <= self.limit {
                break;
            }
            let path = self.path(&entry.key);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            self.memory.invalidate(&entry.key);
            total -= entry.bytes;
            tracing::info!(
                key = entry.key,
                bytes = entry.bytes,
                "evicted from the query cache"
            );
        }
        Ok(())
    }

    /// Removes every entry; returns how many files and bytes were removed.
    pub fn clear(&self) -> Result<(usize, u64)> {
        let entries = self.entries()?;
        for entry in &entries {
            let path = self.path(&entry.key);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        self.memory.invalidate_all();
        Ok((entries.len(), entries.iter().map(|e| e.bytes).sum()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: i64) -> DataFrame {
        df!("a" => (0..n).collect::<Vec<_>>(), "b" => (0..n).map(|i| format!("row {i}")).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn keys_ignore_credentials_but_not_sql_or_values() {
        let a = QueryCache::key(
            "main|postgres://me:***@h/db",
            "SELECT 1",
            &[serde_json::json!(1)],
        );
        assert_eq!(
            a,
            QueryCache::key(
                "main|postgres://me:***@h/db",
                "SELECT 1",
                &[serde_json::json!(1)]
            )
        );
        assert_ne!(
            a,
            QueryCache::key(
                "main|postgres://me:***@h/db",
                "SELECT 1",
                &[serde_json::json!(2)]
            )
        );
        assert_ne!(
            a,
            QueryCache::key(
                "main|postgres://me:***@h/db",
                "SELECT 2",
                &[serde_json::json!(1)]
            )
        );
    }

    #[test]
    fn disk_entries_survive_a_new_cache_and_the_limit_evicts_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = QueryCache::new(dir.path().to_path_buf(), 1 << 30, 1 << 20);
        cache.put("k1", &frame(100)).unwrap();
        let reopened = QueryCache::new(dir.path().to_path_buf(), 1 << 30, 1 << 20);
        assert_eq!(reopened.get("k1").unwrap().unwrap(), frame(100));
        assert_eq!(reopened.get("nope").unwrap(), None);

        let one = reopened.entries().unwrap()[0].bytes;
        let small = QueryCache::new(dir.path().to_path_buf(), one * 2 + one / 2, 1 << 20);
        std::thread::sleep(std::time::Duration::from_millis(20));
        small.put("k2", &frame(100)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        small.get("k1").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        small.put("k3", &frame(100)).unwrap();
        let keys: Vec<String> = small
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["k1", "k3"], "k2 was the least recently used");
        assert_eq!(small.clear().unwrap().0, 2);
        assert!(small.entries().unwrap().is_empty());
    }
}
