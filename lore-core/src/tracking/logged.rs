//! What the metadata database logs beside runs (the predictions `lore api` made, the feedback on
//! them), read newest first: a model's, since a moment, at most so many.

use std::collections::BTreeMap;

use polars::prelude::DataFrame;
use serde_json::json;

use crate::env::Project;
use crate::error::{Error, Result};
use crate::io::Origin;

/// Which logged rows to read: a model's, since a moment, the newest so many.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only this model's predictions.
    pub model: Option<String>,
    /// Only predictions made at or after this moment.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// The rows of `select` (a query of the metadata database without WHERE) that `query` asks for,
/// newest first: `columns` name the time, the model and the key that orders rows of one time.
pub async fn newest(
    project: &Project,
    select: &str,
    [time, model, key]: [&str; 3],
    query: &Query,
    site: &str,
) -> Result<DataFrame> {
    let mut sql = format!("{select} WHERE {time} >= :since");
    let since = query
        .since
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default();
    let mut params = BTreeMap::from([("since".to_string(), json!(since))]);
    if let Some(name) = &query.model {
        sql.push_str(&format!(" AND {model} = :model"));
        params.insert("model".into(), json!(name));
    }
    sql.push_str(&format!(" ORDER BY {time} DESC, {key} DESC"));
    if let Some(limit) = query.limit {
        sql.push_str(" LIMIT :limit");
        params.insert("limit".into(), json!(limit));
    }
    let origin = Origin {
        model: query.model.clone(),
        site: site.into(),
    };
    let connection = super::open(project).await?;
    let read = connection.query_frame(&sql, &params, &origin).await;
    connection.close().await;
    read
}

/// One row for each JSON object of `records`, a column for each of their keys, as polars reads
/// JSON lines; `what` names them in errors.
pub fn records<'a>(records: impl Iterator<Item = &'a str>, what: &str) -> Result<DataFrame> {
    let mut lines = String::new();
    for record in records {
        lines.push_str(record);
        lines.push('\n');
    }
    if lines.is_empty() {
        return Ok(DataFrame::empty());
    }
    use polars::prelude::SerReader;
    polars::prelude::JsonReader::new(std::io::Cursor::new(lines.into_bytes()))
        .with_json_format(polars::prelude::JsonFormat::JsonLines)
        .finish()
        .map_err(|e| Error::Data(format!("{what}: {e}")))
}

/// A moment given as an age (`30m`, `2h`, `7d`, `90s`, `1w`) before `now`, or as a date or
/// timestamp (`2026-12-01`, `2026-12-01T10:00:00Z`); `None` with what was wrong.
pub fn parse_since(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.trim();
    let age = text
        .char_indices()
        .last()
        .and_then(|(at, unit)| Some((text[..at].parse::<u32>().ok()?, unit)));
    if let Some((n, unit)) = age {
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => 0,
        };
        if seconds > 0 {
            return Ok(now - chrono::Duration::seconds(i64::from(n) * seconds));
        }
    }
    if let Some(t) = crate::frame::parse_timestamp(text) {
        return Ok(t.and_utc());
    }
    Err(format!(
        "`{}` is neither an age (30m, 2h, 7d, 1w) nor a date or timestamp (2026-12-01, \
         2026-12-01T10:00:00Z)",
        text.chars().take(40).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_ages_dates_and_timestamps() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |s: &str| parse_since(s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("90s").unwrap(), "2026-12-02T11:58:30+00:00");
        assert_eq!(at("2h").unwrap(), "2026-12-02T10:00:00+00:00");
        assert_eq!(at("1w").unwrap(), "2026-11-25T12:00:00+00:00");
        assert_eq!(at("2026-12-01").unwrap(), "2026-12-01T00:00:00+00:00");
        assert_eq!(
            at("2026-12-01T10:00:00Z").unwrap(),
            "2026-12-01T10:00:00+00:00"
        );
        for bad in ["", "soon", "3x", "-2h", "2026-13-01"] {
            assert!(at(bad).unwrap_err().contains("neither an age"), "{bad}");
        }
    }
}
