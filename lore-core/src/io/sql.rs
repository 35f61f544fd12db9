//! SQL text: `:name` and `{name}` parameters turned into the driver's placeholders (always bound,
//! never pasted), safe identifiers, and column definitions for a data frame.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::connection::Backend;
use crate::error::{Error, Result};

/// How a driver writes positional parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `?` (SQLite).
    Question,
    /// `$1, $2, ...` (PostgreSQL).
    Dollar,
}

/// Values of an extract's or a statement's `:name` parameters, by name.
pub type Params = BTreeMap<String, serde_json::Value>;

/// One parameter use in SQL text.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// The 1-based line it is on.
    pub line: usize,
}

/// SQL with its parameters replaced by positional placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The SQL for the driver.
    pub sql: String,
    /// Each placeholder's parameter, in order.
    pub params: Vec<Param>,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Replaces `:name` and `{name}` outside strings, quoted identifiers and comments with
/// placeholders; `::` (a PostgreSQL cast) is left alone.
pub fn parse(text: &str, style: Placeholders) -> Parsed {
    let chars: Vec<char> = text.chars().collect();
    let mut sql = String::with_capacity(text.len());
    let mut params = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let copy = |sql: &mut String, line: &mut usize, from: usize, to: usize| {
        for &c in &chars[from..to] {
            if c == '\n' {
                *line += 1;
            }
            sql.push(c);
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let name_end = |start: usize| {
            chars[start..]
                .iter()
                .position(|x| !is_ident(*x))
                .map(|p| start + p)
                .unwrap_or(chars.len())
        };
        let placeholder = |sql: &mut String, params: &mut Vec<Param>, name: String, line: usize| {
            params.push(Param { name, line });
            match style {
                Placeholders::Question => sql.push('?'),
                Placeholders::Dollar => sql.push_str(&format!("${}", params.len())),
            }
        };
        match c {
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .map(|p| i + 2 + p)
                    .unwrap_or(chars.len());
                copy(&mut sql, &mut line, i, end);
                i = end;
            }
            '-' if next == Some('-') => {
                let end = chars[i..]
                    .iter()
                    .position(|&x| x == '\n')
                    .map(|p| i + p)
                    .unwrap_or(chars.len());
                copy(&mut sql, &mut line, i, end);
                i = end;
            }
            '/' if next == Some('*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map(|j| j + 2)
                    .unwrap_or(chars.len());
                copy(&mut sql, &mut line, i, end);
                i = end;
            }
            ':' if next == Some(':') => {
                sql.push_str("::");
                i += 2;
            }
            ':' | '{'
                if next.is_some_and(is_ident_start)
                    && (c == ':' || chars.get(name_end(i + 1)) == Some(&'}')) =>
            {
                let end = name_end(i + 1);
                placeholder(
                    &mut sql,
                    &mut params,
                    chars[i + 1..end].iter().collect(),
                    line,
                );
                // `{name}` ends past its closing brace.
                i = end + usize::from(c == '{');
            }
            _ => {
                copy(&mut sql, &mut line, i, i + 1);
                i += 1;
            }
        }
    }
    Parsed { sql, params }
}

/// The values to bind, in placeholder order; `source` names the SQL in errors. A parameter the
/// SQL uses but `values` lacks, or a value that cannot be bound (a list or a table), is an error.
pub fn binds(parsed: &Parsed, values: &Params, source: &str) -> Result<Vec<serde_json::Value>> {
    parsed
        .params
        .iter()
        .map(|p| match values.get(&p.name) {
            None => Err(Error::InvalidParam {
                key: p.name.clone(),
                message: format!(
                    "{source}, line {}: the SQL uses :{} but no value is given for it (given: {})",
                    p.line,
                    p.name,
                    if values.is_empty() { "none".to_string() } else { values.keys().cloned().collect::<Vec<_>>().join(", ") }
                ),
            }),
            Some(v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => Err(Error::InvalidParam {
                key: p.name.clone(),
                message: format!("{source}, line {}: {v} cannot be bound; give a number, text, true/false or null", p.line),
            }),
            Some(v) => Ok(v.clone()),
        })
        .collect()
}

/// `name` quoted as an SQL identifier, if it is a plain name (letters, digits, `_`, and `.` between
/// a schema and a table).
pub fn identifier(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name
            .split('.')
            .all(|p| p.chars().next().is_some_and(is_ident_start) && p.chars().all(is_ident));
    if !ok {
        return Err(Error::InvalidParam {
            key: "table".into(),
            message: format!("`{name}` is not a plain table name; use letters, digits and _ (schema.table allowed)"),
        });
    }
    Ok(name
        .split('.')
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("."))
}

/// `"a" BIGINT, "b" TEXT, ...` for a table holding `df`.
pub fn column_definitions(df: &DataFrame, backend: Backend) -> Result<String> {
    df.columns()
        .iter()
        .map(|c| {
            let kind = match c.dtype() {
                DataType::Boolean => "BOOLEAN",
                dt if dt.is_integer() => "BIGINT",
                dt if dt.is_float() => "DOUBLE PRECISION",
                DataType::Date => "DATE",
                DataType::Datetime(_, _) if backend == Backend::Sqlite => "DATETIME",
                DataType::Datetime(_, _) => "TIMESTAMP",
                _ => "TEXT",
            };
            Ok(format!("\"{}\" {kind}", c.name().replace('"', "\"\"")))
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn both_parameter_styles_are_bound_not_pasted() {
        let text = "SELECT ':no', x::int FROM t -- :nor\nWHERE a < :limit AND b = {b_2} /* :nope */\n  AND c = :limit";
        let q = parse(text, Placeholders::Question);
        assert_eq!(
            q.sql,
            "SELECT ':no', x::int FROM t -- :nor\nWHERE a < ? AND b = ? /* :nope */\n  AND c = ?"
        );
        assert_eq!(
            q.params,
            vec![
                Param {
                    name: "limit".into(),
                    line: 2
                },
                Param {
                    name: "b_2".into(),
                    line: 2
                },
                Param {
                    name: "limit".into(),
                    line: 3
                }
            ]
        );
        let d = parse(text, Placeholders::Dollar);
        assert!(
            d.sql.contains("a < $1 AND b = $2") && d.sql.ends_with("c = $3"),
            "{}",
            d.sql
        );
        assert_eq!(
            parse("SELECT '{a}', {not a name}", Placeholders::Question).params,
            vec![]
        );
    }

    #[test]
    fn missing_and_unbindable_values_name_the_line() {
        let q = parse("SELECT *\nFROM t WHERE a = :a", Placeholders::Question);
        refused(
            binds(&q, &BTreeMap::new(), "users.sql"),
            &["users.sql, line 2", ":a"],
        );
        let values = BTreeMap::from([("a".to_string(), serde_json::json!([1, 2]))]);
        refused(binds(&q, &values, "users.sql"), &["cannot be bound"]);
    }

    #[test]
    fn identifiers_are_checked_and_quoted() {
        assert_eq!(identifier("public.users").unwrap(), "\"public\".\"users\"");
        assert!(identifier("users; DROP TABLE x").is_err());
    }
}
