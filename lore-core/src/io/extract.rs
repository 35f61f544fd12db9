//! SQL extracts: `src/extracts/NAME.sql`, or `NAME.sql.tera` rendered with the parameters first
//! (for optional clauses). Parameters are written `:name` or `{name}` and always bound by the
//! driver. A missing parameter, an unused one, or a value that cannot bind is an error naming the
//! extract, the line and the parameter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sql::{self, Placeholders};
use crate::error::{Error, Result};

/// What a model reads: an extract file, the connection it runs on, its bound parameters, and
/// whether its result is cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// The extract's name: `src/extracts/<sql>.sql` or `<sql>.sql.tera`.
    pub sql: String,
    /// The connection in `config/database.toml` to run it on.
    #[serde(default = "default_connection")]
    pub connection: String,
    /// Values bound to the `:name` / `{name}` placeholders of the SQL.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Keep the result in the query cache (memory and `data/cache/`).
    #[serde(default)]
    pub cache: bool,
    /// Stream the extract in batches of this many rows instead of reading it whole, for extracts
    /// larger than memory (`lore fit` then fits encoders batch by batch and spills to Parquet).
    #[serde(default)]
    pub batch_rows: Option<usize>,
}

fn default_connection() -> String {
    "main".to_string()
}

impl ExtractSpec {
    /// An extract of `src/extracts/<sql>.sql` on the `main` connection, with no parameters.
    pub fn new(sql: impl Into<String>) -> Self {
        ExtractSpec {
            sql: sql.into(),
            connection: default_connection(),
            params: BTreeMap::new(),
            cache: false,
            batch_rows: None,
        }
    }

    /// Binds `value` to the `:name` placeholder.
    pub fn param(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.params.insert(name.into(), value);
        self
    }
}

/// An extract file, read but not yet rendered.
#[derive(Debug, Clone)]
pub struct Extract {
    /// Its name (the file name without `.sql` / `.sql.tera`).
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    text: String,
    template: bool,
}

impl Extract {
    /// Its SQL as written (before a template is rendered).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Reads `<dir>/<name>.sql` or `<dir>/<name>.sql.tera`.
    pub fn load(dir: &Path, name: &str) -> Result<Extract> {
        let plain = dir.join(format!("{name}.sql"));
        let template = dir.join(format!("{name}.sql.tera"));
        let (path, is_template) =
            if plain.is_file() {
                (plain, false)
            } else if template.is_file() {
                (template, true)
            } else {
                let known = list_extracts(dir);
                return Err(Error::config(
                    &plain,
                    format!(
                    "no extract `{name}` (no {name}.sql or {name}.sql.tera); the extracts are: {}",
                    if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
                ),
                ));
            };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Extract {
            name: name.to_string(),
            path,
            text,
            template: is_template,
        })
    }

    /// An extract from SQL text (`lore sql`); `label` stands for the file in messages.
    pub fn inline(label: &str, text: &str) -> Extract {
        Extract {
            name: label.to_string(),
            path: PathBuf::from(label),
            text: text.to_string(),
            template: false,
        }
    }

    /// The SQL to run with `values`: the template rendered (if it is one), every parameter used
    /// and bound. Returns the SQL in the driver's placeholder style and the values in order.
    pub fn render(
        &self,
        values: &BTreeMap<String, serde_json::Value>,
        style: Placeholders,
    ) -> Result<(String, Vec<serde_json::Value>)> {
        let text = if self.template {
            let context = tera::Context::from_serialize(values)
                .map_err(|e| Error::config(&self.path, e.to_string()))?;
            tera::Tera::one_off(&self.text, &context, false).map_err(|e| {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message = format!("{message}: {s}");
                    source = s.source();
                }
                Error::config(&self.path, message)
            })?
        } else {
            self.text.clone()
        };
        let parsed = sql::parse(&text, style);
        let site = self.path.display().to_string();
        let binds = sql::binds(&parsed, values, &site)?;
        for key in values.keys() {
            let used = parsed.params.iter().any(|p| &p.name == key)
                || (self.template && mentions(&self.text, key));
            if !used {
                return Err(Error::InvalidParam {
                    key: key.clone(),
                    message: format!("{site}: `{key}` is given but the SQL never uses it; remove it or write :{key} where it belongs"),
                });
            }
        }
        Ok((parsed.sql, binds))
    }
}

/// Whether `word` appears in `text` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The extract names in `dir`, sorted.
pub fn list_extracts(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.strip_suffix(".sql.tera")
                .or_else(|| name.strip_suffix(".sql"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn templates_render_optional_clauses_and_still_bind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("u.sql.tera"), "SELECT * FROM users\nWHERE 1 = 1\n{% if country %}AND country = :country{% endif %}\nLIMIT {limit}").unwrap();
        let e = Extract::load(dir.path(), "u").unwrap();
        let (sql, binds) = e
            .render(
                &values(&[
                    ("limit", serde_json::json!(5)),
                    ("country", serde_json::json!("NL")),
                ]),
                Placeholders::Dollar,
            )
            .unwrap();
        assert!(
            sql.contains("AND country = $1") && sql.ends_with("LIMIT $2"),
            "{sql}"
        );
        assert_eq!(binds, vec![serde_json::json!("NL"), serde_json::json!(5)]);
        let (sql, _) = e
            .render(
                &values(&[
                    ("limit", serde_json::json!(5)),
                    ("country", serde_json::Value::Null),
                ]),
                Placeholders::Question,
            )
            .unwrap();
        assert!(!sql.contains("country"), "{sql}");
    }

    #[test]
    fn unused_and_missing_parameters_are_errors_naming_the_extract() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("u.sql"),
            "SELECT *\nFROM users LIMIT :limit",
        )
        .unwrap();
        let e = Extract::load(dir.path(), "u").unwrap();
        let err = e
            .render(
                &values(&[
                    ("limit", serde_json::json!(1)),
                    ("extra", serde_json::json!(1)),
                ]),
                Placeholders::Question,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("u.sql") && err.contains("`extra`") && err.contains("never uses"),
            "{err}"
        );
        let err = e
            .render(&BTreeMap::new(), Placeholders::Question)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("u.sql, line 2") && err.contains(":limit"),
            "{err}"
        );
        let err = Extract::load(dir.path(), "nope").unwrap_err().to_string();
        assert!(
            err.contains("no extract `nope`") && err.contains("u"),
            "{err}"
        );
    }
}
