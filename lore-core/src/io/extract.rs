//! SQL extracts: `src/extracts/NAME.sql`, or `NAME.sql.tera` rendered with the parameters first
//! (for optional clauses). Parameters are written `:name` or `{name}` and always bound by the
//! driver; in a template `{{ name }}` is bound too, and the only text a template pastes is a
//! table or column name from a list written beside it
//! (`{{ table | identifier(allow=["users", "users_2019"]) }}`). A missing parameter, an unused
//! one, a value that cannot bind, or any other `{{ ... }}` is an error naming the extract, the
//! line and the parameter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sql::{self, Params, Placeholders};
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
    pub params: Params,
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

    /// This extract cut to its first rows: its SQL as a subquery under `LIMIT :<param>`, so the
    /// database stops early (`lore test`).
    pub fn first_rows(&self, param: &str) -> Extract {
        let inner = self.text.trim_end().trim_end_matches(';');
        Extract {
            // The newline ends a `--` comment the extract may close with.
            text: format!("SELECT * FROM (\n{inner}\n) AS lore_first_rows LIMIT :{param}"),
            ..self.clone()
        }
    }

    /// The SQL to run with `values`: the template rendered (if it is one), every parameter used
    /// and bound. Returns the SQL in the driver's placeholder style and the values in order.
    pub fn render(
        &self,
        values: &Params,
        style: Placeholders,
    ) -> Result<(String, Vec<serde_json::Value>)> {
        let text = if self.template {
            let context = tera::Context::from_serialize(values)
                .map_err(|e| Error::config(&self.path, e.to_string()))?;
            let safe = bind_expressions(&self.text, &self.path)?;
            let mut tera = tera::Tera::default();
            tera.register_filter("identifier", identifier_filter);
            tera.add_raw_template(&self.name, &safe)
                .and_then(|()| tera.render(&self.name, &context))
                .map_err(|e| {
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

/// The template `text` with every `{{ ... }}` made safe before it is rendered: a parameter
/// name alone becomes `:name`, so its value is bound and never pasted (nor read again for
/// placeholders); `{{ name | identifier(allow=[...]) }}` stays, for the `identifier` filter to
/// check against its list; anything else is refused, saying the line and what to write.
fn bind_expressions(text: &str, path: &Path) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut in_comment) = (false, false);
    let mut rest = text;
    let line_of = |rest: &str| text[..text.len() - rest.len()].matches('\n').count() + 1;
    while let Some(c) = rest.chars().next() {
        let (copied, skip) = if rest.starts_with("{%") || rest.starts_with("{#") {
            let close = if rest.starts_with("{%") { "%}" } else { "#}" };
            let end = rest[2..].find(close).map_or(rest.len(), |i| i + 4);
            (&rest[..end], end)
        } else if rest.starts_with("--") && !in_string {
            in_comment = true;
            (&rest[..2], 2)
        } else if rest.starts_with("{{") {
            let Some(close) = rest.find("}}") else {
                return Err(Error::config(
                    path,
                    format!("line {}: `{{{{` is never closed with `}}}}`", line_of(rest)),
                ));
            };
            let inner = rest[2..close].trim_matches('-').trim();
            let line = line_of(rest);
            if is_plain_name(inner) {
                if in_string {
                    return Err(Error::config(
                        path,
                        format!(
                            "line {line}: `{{{{ {inner} }}}}` is inside quotes, where it would be \
                             the text `:{inner}` and never its value; write it without quotes \
                             (`= :{inner}`; for a pattern, `LIKE '%' || :{inner} || '%'`)"
                        ),
                    ));
                }
                out.push(':');
                out.push_str(inner);
            } else if is_identifier_filter(inner) {
                out.push_str(&rest[..close + 2]);
            } else {
                return Err(Error::config(
                    path,
                    format!(
                        "line {line}: `{{{{ {} }}}}` would paste text into the SQL, and values \
                         are bound, never pasted: write :name (or {{{{ name }}}}) for a value, \
                         and {{{{ name | identifier(allow=[\"a\", \"b\"]) }}}} for a table or \
                         column name chosen from a list",
                        inner.chars().take(80).collect::<String>()
                    ),
                ));
            }
            rest = &rest[close + 2..];
            continue;
        } else {
            match c {
                '\n' => in_comment = false,
                '\'' if !in_comment => in_string = !in_string,
                _ => {}
            }
            (&rest[..c.len_utf8()], c.len_utf8())
        };
        out.push_str(copied);
        rest = &rest[skip..];
    }
    Ok(out)
}

/// Whether `text` is one identifier (a parameter's name).
fn is_plain_name(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` is `name | identifier(...)`.
fn is_identifier_filter(text: &str) -> bool {
    let Some((name, filter)) = text.split_once('|') else {
        return false;
    };
    let filter = filter.trim();
    is_plain_name(name.trim())
        && filter.starts_with("identifier")
        && filter["identifier".len()..].trim_start().starts_with('(')
        && filter.ends_with(')')
}

/// The `identifier` filter of extract templates: the value, which must be one of the texts in
/// `allow`, quoted as an SQL identifier.
fn identifier_filter(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let allowed: Vec<&str> = args
        .get("allow")
        .and_then(tera::Value::as_array)
        .map(|list| list.iter().filter_map(tera::Value::as_str).collect())
        .unwrap_or_default();
    if allowed.is_empty() {
        return Err(tera::Error::msg(
            "identifier needs the names it may take: identifier(allow=[\"users\", \"users_2019\"])",
        ));
    }
    let name = value.as_str().unwrap_or_default();
    if !allowed.contains(&name) {
        return Err(tera::Error::msg(format!(
            "{value} is not one of the names allowed here ({}); give one of them",
            allowed.join(", ")
        )));
    }
    sql::identifier(name)
        .map(tera::Value::String)
        .map_err(|e| tera::Error::msg(e.to_string()))
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
    use crate::testing::*;

    fn values(pairs: &[(&str, serde_json::Value)]) -> Params {
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
    fn template_values_are_bound_and_only_allowed_names_are_pasted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.sql.tera"),
            "SELECT count(*) FROM {{ table | identifier(allow=[\"users\", \"old_users\"]) }}\n\
             -- it's a comment\n\
             WHERE name = {{ name }}{% if other %} OR name = {{- other -}}{% endif %}",
        )
        .unwrap();
        let e = Extract::load(dir.path(), "t").unwrap();
        let evil = "x' OR '1'='1 :limit";
        let (sql, binds) = e
            .render(
                &values(&[
                    ("table", serde_json::json!("users")),
                    ("name", serde_json::json!(evil)),
                    ("other", serde_json::json!(evil)),
                ]),
                Placeholders::Dollar,
            )
            .unwrap();
        assert!(sql.starts_with("SELECT count(*) FROM \"users\"\n"), "{sql}");
        assert!(sql.ends_with("WHERE name = $1 OR name = $2"), "{sql}");
        assert!(!sql.contains("OR '1'"), "{sql}");
        assert_eq!(binds, [serde_json::json!(evil), serde_json::json!(evil)]);

        refused(
            e.render(
                &values(&[
                    ("table", serde_json::json!("users; DROP TABLE users")),
                    ("name", serde_json::json!(1)),
                    ("other", serde_json::Value::Null),
                ]),
                Placeholders::Question,
            ),
            &["not one of the names allowed"],
        );

        for (text, says) in [
            ("SELECT 1\nWHERE a = {{ name | upper }}", "line 2"),
            ("SELECT 1 WHERE a = '{{ name }}'", "inside quotes"),
            ("SELECT {{ a ~ b }}", "would paste"),
            (
                "SELECT {{ t | identifier(allow=[\"u\"]) }} {{ x",
                "never closed",
            ),
        ] {
            std::fs::write(dir.path().join("bad.sql.tera"), text).unwrap();
            let bad = Extract::load(dir.path(), "bad").unwrap();
            let err = bad
                .render(
                    &values(&[("name", serde_json::json!("v"))]),
                    Placeholders::Question,
                )
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("bad.sql.tera") && err.contains(says),
                "{text}: {err}"
            );
        }
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
        refused(
            e.render(
                &values(&[
                    ("limit", serde_json::json!(1)),
                    ("extra", serde_json::json!(1)),
                ]),
                Placeholders::Question,
            ),
            &["u.sql", "`extra`", "never uses"],
        );
        refused(
            e.render(&BTreeMap::new(), Placeholders::Question),
            &["u.sql, line 2", ":limit"],
        );
        refused(
            Extract::load(dir.path(), "nope"),
            &["no extract `nope`", "u"],
        );
    }
}
