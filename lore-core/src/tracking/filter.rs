//! Filters over run documents: `metrics.test.auc >= 0.72 and params.estimator.max_depth = 6`,
//! parsed once, then either translated to SQL over the metadata database's JSON (SQLite JSONB,
//! PostgreSQL JSONB) or checked against a document in memory, with the same answer both ways.
//!
//! Operators: `= != < <= > >= in, not in, like, not like, exists, not exists`, `and`, `or` and
//! parentheses; keywords in any case. A path is dotted keys (`metrics.test.auc`); a number steps
//! into an array (`metrics.test.confusion.0.1`); a key in backticks or double quotes may hold
//! any character, and its dots step into nested documents, so MLflow's `metrics.\`test.auc\``
//! means `metrics.test.auc`. MLflow's `search_runs` forms are accepted where they map: `AND`,
//! `ILIKE`, `<>`, `IS NULL`, `IS NOT NULL`, `attributes.run_id`, `attributes.start_time`,
//! `tags.NAME`.
//!
//! A comparison holds only where the key exists with the literal's type: `auc > 0.7` is false
//! for a run without `auc` and for one whose `auc` is text; `!=` and `not in` also need the key.
//! `like` is case-insensitive on every backend (`%` any run of characters, `_` one).

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::io::Backend;

mod parse;

use parse::Parser;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// A dotted path into a run document.
#[derive(Debug, Clone, PartialEq)]
pub struct Path(pub Vec<Step>);

/// A literal a path is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// true or false.
    Bool(bool),
}

/// How a path is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both hold.
    And(Box<Filter>, Box<Filter>),
    /// Either holds.
    Or(Box<Filter>, Box<Filter>),
    /// The path holds a value of the literal's type that compares so.
    Compare(Path, Compare, Literal),
    /// The path holds one of the literals (`negated`: it holds a value and none of them).
    In(Path, Vec<Literal>, bool),
    /// The path holds text matching the pattern, ignoring case (`negated`: text not matching).
    Like(Path, String, bool),
    /// The path holds a value other than null (`negated`: it does not).
    Exists(Path, bool),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match step {
                Step::Key(k) => f.write_str(k)?,
                Step::Index(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

impl Path {
    /// Parses a dotted path on its own, as `--sort` and `--columns` give it.
    pub fn parse(text: &str) -> Result<Path> {
        Parser::whole(text, "path", Parser::path)
    }

    /// The value at this path in `document`, if there is one.
    pub fn get<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        let mut at = document;
        for step in &self.0 {
            at = match (step, at) {
                (Step::Key(k), Value::Object(map)) => map.get(k)?,
                (Step::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(at)
    }

    /// The first step (the document's section) and the rest.
    fn split_first(&self) -> (Option<&str>, &[Step]) {
        match self.0.first() {
            Some(Step::Key(k)) => (Some(k.as_str()), &self.0[1..]),
            _ => (None, &self.0[..]),
        }
    }
}

impl Filter {
    /// Parses a filter; an error names the column of the text where it went wrong.
    pub fn parse(text: &str) -> Result<Filter> {
        Parser::whole(text, "--where", Parser::or)
    }

    /// Whether `document` passes the filter.
    pub fn matches(&self, document: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(document) && b.matches(document),
            Filter::Or(a, b) => a.matches(document) || b.matches(document),
            Filter::Compare(path, op, literal) => {
                path.get(document).is_some_and(|v| compare(v, *op, literal))
            }
            Filter::In(path, literals, negated) => match path.get(document) {
                None | Some(Value::Null) => false,
                Some(v) => literals.iter().any(|l| compare(v, Compare::Eq, l)) != *negated,
            },
            Filter::Like(path, pattern, negated) => match path.get(document) {
                Some(Value::String(s)) => like(s, pattern) != *negated,
                _ => false,
            },
            Filter::Exists(path, negated) => {
                matches!(path.get(document), None | Some(Value::Null)) == *negated
            }
        }
    }

    /// Every path the filter reads.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut paths = a.paths();
                paths.extend(b.paths());
                paths
            }
            Filter::Compare(p, ..)
            | Filter::In(p, ..)
            | Filter::Like(p, ..)
            | Filter::Exists(p, _) => {
                vec![p]
            }
        }
    }
}

impl Filter {
    /// The paths the filter compares with `=`, `<`, `<=`, `>`, `>=` or `in`: those an index on
    /// the path's value can answer.
    pub(crate) fn compared(&self) -> Vec<&Path> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut paths = a.compared();
                paths.extend(b.compared());
                paths
            }
            Filter::Compare(_, Compare::Ne, _) | Filter::In(_, _, true) => Vec::new(),
            Filter::Compare(p, ..) | Filter::In(p, ..) => vec![p],
            Filter::Like(..) | Filter::Exists(..) => Vec::new(),
        }
    }

    /// Whether only runs with a `params` section can pass: then the query joins `run_params`
    /// as an inner join, which lets the database start from an index on a param.
    pub(crate) fn needs_params(&self) -> bool {
        let on_params = |p: &Path| matches!(p.split_first(), (Some("params"), _));
        match self {
            Filter::And(a, b) => a.needs_params() || b.needs_params(),
            Filter::Or(a, b) => a.needs_params() && b.needs_params(),
            Filter::Compare(p, ..) | Filter::In(p, ..) | Filter::Like(p, ..) => on_params(p),
            Filter::Exists(p, negated) => !negated && on_params(p),
        }
    }
}

/// Compares a document's value with a literal of the same type; other types never compare.
fn compare(value: &Value, op: Compare, literal: &Literal) -> bool {
    let ordering = match (value, literal) {
        (Value::Number(n), Literal::Number(l)) => match n.as_f64() {
            Some(v) => v.partial_cmp(l),
            None => None,
        },
        (Value::String(s), Literal::Text(l)) => Some(s.as_str().cmp(l.as_str())),
        (Value::Bool(b), Literal::Bool(l)) => {
            return match op {
                Compare::Eq => b == l,
                Compare::Ne => b != l,
                _ => false,
            }
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        return false;
    };
    use std::cmp::Ordering::*;
    match op {
        Compare::Eq => ordering == Equal,
        Compare::Ne => ordering != Equal,
        Compare::Lt => ordering == Less,
        Compare::Le => ordering != Greater,
        Compare::Gt => ordering == Greater,
        Compare::Ge => ordering != Less,
    }
}

/// SQL's `LIKE`, ignoring ASCII case as SQLite does: `%` any run, `_` any one character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Classic two-pointer wildcard match with backtracking to the last `%`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < t.len() {
        if j < p.len() && (p[j] == '_' || (p[j] != '%' && p[j] == t[i])) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|&c| c == '%')
}

/// The tables a run's document lives in: its `params` section in one, the rest in the other,
/// so that a filter on metrics never reads the (larger) params.
pub(crate) const DOCUMENT: &str = "r.document";
/// The column of a run's `params` section.
pub(crate) const PARAMS: &str = "p.params";

/// Top-level keys that `runs` also keeps as columns, always the document's text: a condition
/// on them reads the column (and its index) instead of the document.
const COLUMNS: [&str; 4] = ["run_id", "kind", "model", "started_at"];

/// Where SQLite finds a path's value: the table and column holding its document, and the path
/// as an SQL literal of JSON path syntax (`'$."metrics"."test"."auc"'`). Paths are written into
/// the SQL rather than bound so that an index on the same expression can answer it.
pub(crate) struct SqliteKey {
    /// `runs` or `run_params`.
    pub table: &'static str,
    /// `document` or `params`.
    pub column: &'static str,
    /// The JSON path, quoted as an SQL literal.
    pub json_path: String,
}

impl SqliteKey {
    /// The key of `path`.
    pub(crate) fn of(path: &Path) -> Result<SqliteKey> {
        let (table, column, steps) = match path.split_first() {
            (Some("params"), rest) => ("run_params", "params", rest),
            _ => ("runs", "document", &path.0[..]),
        };
        let mut json_path = String::from("$");
        for step in steps {
            match step {
                Step::Key(k) if k.contains('"') || k.chars().any(char::is_control) => {
                    return Err(Error::InvalidParam {
                        key: "--where".into(),
                        message: format!(
                            "the key `{k}` in `{path}` holds a double quote or a control \
                             character, which run keys cannot"
                        ),
                    })
                }
                Step::Key(k) => json_path += &format!(".\"{k}\""),
                Step::Index(i) => json_path += &format!("[{i}]"),
            }
        }
        Ok(SqliteKey {
            table,
            column,
            json_path: format!("'{}'", json_path.replace('\'', "''")),
        })
    }

    /// The expression an index on this key is built on, as a query must spell it to use it.
    pub(crate) fn expression(&self) -> String {
        format!("json_extract({}, {})", self.column, self.json_path)
    }

    /// The key's value as a query over `runs r` and `run_params p` reads it.
    pub(crate) fn in_query(&self) -> String {
        let alias = if self.table == "runs" { "r" } else { "p" };
        format!("json_extract({alias}.{}, {})", self.column, self.json_path)
    }

    /// The key's column of `runs`, when it is one the table keeps beside the document.
    fn run_column(path: &Path) -> Option<&'static str> {
        match path.0.as_slice() {
            [Step::Key(k)] => COLUMNS.iter().find(|c| **c == k).copied(),
            _ => None,
        }
    }

    /// Whether an index on this path's document value can help: not for the keys `runs` keeps
    /// as columns, which have their own.
    pub(crate) fn indexable(path: &Path) -> bool {
        SqliteKey::run_column(path).is_none()
    }
}

/// SQL over JSON for one backend, with its parameters named `:f0`, `:f1`, ...
pub(crate) struct Sql {
    backend: Backend,
    /// Whether SQLite may answer conditions from indexes; without, it checks each run it
    /// reads in the order of the scan.
    indexed: bool,
    /// A key whose conditions an index may answer even so: the order's, whose index the scan
    /// walks anyway.
    walked: Option<Path>,
    /// The parameters to bind.
    pub params: Vec<(String, Value)>,
}

impl Sql {
    /// A translator for `backend`.
    pub(crate) fn new(backend: Backend) -> Sql {
        Sql {
            backend,
            indexed: true,
            walked: None,
            params: Vec::new(),
        }
    }

    /// A translator whose conditions SQLite checks on every run it reads rather than looking
    /// them up in an index (which a walk of the runs in the query's order, stopping at the
    /// limit, beats where matches are common); the order itself may still walk an index, the
    /// one of the key `walked`, whose conditions then narrow the walk.
    pub(crate) fn unindexed(backend: Backend, walked: Option<&Path>) -> Sql {
        Sql {
            indexed: false,
            walked: walked.cloned(),
            ..Sql::new(backend)
        }
    }

    /// Whether an index may answer conditions on `path`.
    fn looks_up(&self, path: &Path) -> bool {
        self.indexed || self.walked.as_ref() == Some(path)
    }

    fn bind(&mut self, value: Value) -> String {
        let name = format!("f{}", self.params.len());
        self.params.push((name.clone(), value));
        format!(":{name}")
    }

    /// The JSON value at `path`, as an SQL expression of the backend's JSON type; for SQLite
    /// one no index answers unless `indexed`.
    fn value(&mut self, path: &Path, indexed: bool) -> Result<Expr> {
        match self.backend {
            Backend::Sqlite => {
                let key = SqliteKey::of(path)?;
                let alias = if key.table == "runs" { "r" } else { "p" };
                let column = format!("{alias}.{}", key.column);
                // Unary plus changes no value but keeps SQLite from using an index for it.
                let plus = if indexed { "" } else { "+" };
                let value = match SqliteKey::run_column(path) {
                    Some(c) => format!("{plus}r.{c}"),
                    None => format!("{plus}{}", key.in_query()),
                };
                Ok(Expr {
                    typ: format!("json_type({column}, {})", key.json_path),
                    text: value.clone(),
                    value,
                })
            }
            Backend::Postgres => {
                let (column, steps) = match path.split_first() {
                    (Some("params"), rest) => (PARAMS, rest),
                    _ => (DOCUMENT, &path.0[..]),
                };
                let mut args = vec![column.to_string()];
                for step in steps {
                    let s = match step {
                        Step::Key(k) => k.clone(),
                        Step::Index(i) => i.to_string(),
                    };
                    args.push(self.bind(Value::String(s)));
                }
                let e = match args.len() {
                    1 => column.to_string(),
                    _ => format!("jsonb_extract_path({})", args.join(", ")),
                };
                Ok(Expr {
                    typ: format!("jsonb_typeof({e})"),
                    value: e.clone(),
                    text: format!("({e} #>> '{{}}')"),
                })
            }
        }
    }

    /// The backend's false, its test of a JSON type name for a number, and for text.
    fn words(&self) -> (&'static str, &'static str, &'static str) {
        match self.backend {
            Backend::Sqlite => ("0", "IN ('integer', 'real')", "= 'text'"),
            Backend::Postgres => ("false", "= 'number'", "= 'string'"),
        }
    }

    /// The filter as an SQL condition.
    pub(crate) fn condition(&mut self, filter: &Filter) -> Result<String> {
        let (no, _, is_text) = self.words();
        Ok(match filter {
            Filter::And(a, b) => format!("({} AND {})", self.condition(a)?, self.condition(b)?),
            Filter::Or(a, b) => format!("({} OR {})", self.condition(a)?, self.condition(b)?),
            Filter::Compare(path, op, literal) => {
                let e = self.value(path, self.looks_up(path))?;
                self.compare(&e, *op, literal)
            }
            Filter::In(path, literals, negated) => {
                let e = self.value(path, self.looks_up(path))?;
                let any: Vec<String> = literals
                    .iter()
                    .map(|l| self.compare(&e, Compare::Eq, l))
                    .collect();
                let any = format!("({})", any.join(" OR "));
                match negated {
                    false => any,
                    // A comparison may be NULL where the key is missing; NOT must see false.
                    true => format!(
                        "(COALESCE({t} NOT IN ('null'), {no}) AND NOT COALESCE({any}, {no}))",
                        t = e.typ
                    ),
                }
            }
            Filter::Like(path, pattern, negated) => {
                let e = self.value(path, self.looks_up(path))?;
                let p = self.bind(Value::String(pattern.clone()));
                let like = match (self.backend, negated) {
                    (Backend::Sqlite, false) => "LIKE",
                    (Backend::Sqlite, true) => "NOT LIKE",
                    (Backend::Postgres, false) => "ILIKE",
                    (Backend::Postgres, true) => "NOT ILIKE",
                };
                format!(
                    "(CASE WHEN {} {is_text} THEN {} {like} {p} ELSE {no} END)",
                    e.typ, e.text
                )
            }
            Filter::Exists(path, negated) => {
                let e = self.value(path, self.looks_up(path))?;
                match negated {
                    false => format!("COALESCE({} NOT IN ('null'), {no})", e.typ),
                    true => format!("NOT COALESCE({} NOT IN ('null'), {no})", e.typ),
                }
            }
        })
    }

    fn compare(&mut self, e: &Expr, op: Compare, literal: &Literal) -> String {
        let (no, is_number, is_text) = self.words();
        let sign = match op {
            Compare::Eq => "=",
            Compare::Ne => "<>",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        };
        // SQLite orders every number before every text: a range upwards from a number is
        // bounded below '' to keep it off text values (`auc = 'n/a'`) in the index, and one
        // downwards from a text is bounded at '' to keep it off the numbers.
        let (v, value, is_type, bound, postgres) = match literal {
            Literal::Number(n) => (
                self.bind(number(*n, self.backend)),
                &e.value,
                is_number,
                matches!(op, Compare::Gt | Compare::Ge).then_some("< ''"),
                format!("({})::float8", e.value),
            ),
            Literal::Text(s) => (
                self.bind(Value::String(s.clone())),
                &e.text,
                is_text,
                matches!(op, Compare::Lt | Compare::Le).then_some(">= ''"),
                // Byte order, as SQLite and Rust compare text, whatever the database's locale.
                format!("{} COLLATE \"C\"", e.text),
            ),
            Literal::Bool(b) => {
                let wanted = match (op, b) {
                    (Compare::Eq, true) | (Compare::Ne, false) => "true",
                    _ => "false",
                };
                return match self.backend {
                    Backend::Sqlite => format!("COALESCE({} = '{wanted}', 0)", e.typ),
                    Backend::Postgres => format!(
                        "COALESCE({} = 'boolean' AND {} = '{wanted}'::jsonb, false)",
                        e.typ, e.value
                    ),
                };
            }
        };
        // SQLite: the value compared on its own and its type checked beside it, so that an
        // index on the value answers the comparison; PostgreSQL casts only values of the type.
        match (self.backend, bound) {
            (Backend::Sqlite, Some(bound)) => format!(
                "({value} {sign} {v} AND {value} {bound} AND {} {is_type})",
                e.typ
            ),
            (Backend::Sqlite, None) => format!("({value} {sign} {v} AND {} {is_type})", e.typ),
            (Backend::Postgres, _) => format!(
                "(CASE WHEN {} {is_type} THEN {postgres} {sign} {v} ELSE {no} END)",
                e.typ
            ),
        }
    }

    /// An `ORDER BY` key for `path`: runs holding a value first, then by that value. SQLite
    /// orders the value alone, as an index on it does, so the sort can walk the index.
    pub(crate) fn order(&mut self, path: &Path, descending: bool) -> Result<String> {
        let e = self.value(path, true)?;
        Ok(match (self.backend, descending) {
            (Backend::Sqlite, true) => format!("{} DESC", e.value),
            (Backend::Sqlite, false) => format!("{} ASC NULLS LAST", e.value),
            (Backend::Postgres, true) => format!("({} IS NULL) ASC, {} DESC", e.typ, e.value),
            (Backend::Postgres, false) => format!("({} IS NULL) ASC, {} ASC", e.typ, e.value),
        })
    }
}

/// A JSON number for a literal: for SQLite integral ones as integers, so it compares them
/// exactly; for PostgreSQL always a float, as a prepared statement keeps the parameter types of
/// its first use and the same filter text may come with an integer one time, a fraction the next.
fn number(n: f64, backend: Backend) -> Value {
    if backend == Backend::Sqlite && n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// A path's value in SQL: its JSON type's name, the value itself, and the value as text.
struct Expr {
    typ: String,
    value: String,
    text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "run_id": "r1",
            "model": "Subscribers",
            "metrics": {"test": {"auc": 0.73, "rows": 900, "confusion": [[5, 1], [2, 7]]}},
            "params": {"estimator": {"type": "XGBoost", "max_depth": 6, "eta": 0.3}},
            "tags": {"team": "growth", "reviewed": true, "note": null},
        })
    }

    fn check(text: &str) -> bool {
        Filter::parse(text).unwrap().matches(&doc())
    }

    #[test]
    fn comparisons_hold_only_for_values_of_the_literals_type() {
        assert!(check("metrics.test.auc >= 0.72"));
        assert!(check(
            "metrics.test.auc >= 0.72 and params.estimator.max_depth = 6"
        ));
        assert!(!check("metrics.test.auc >= 0.75"));
        assert!(check(
            "metrics.test.auc >= 0.75 or params.estimator.type = 'XGBoost'"
        ));
        assert!(!check("params.estimator.max_depth = '6'"));
        assert!(!check("metrics.nope > 0"));
        assert!(!check("metrics.nope != 0"));
        assert!(check("metrics.test.confusion.1.1 = 7"));
        assert!(check("tags.reviewed = true and tags.reviewed != false"));
        assert!(check(
            "params.estimator.max_depth in (4, 6) and model not in ('Churn')"
        ));
        assert!(!check("metrics.nope not in (1)"));
        assert!(check("model like 'sub%' and model not like '%churn%'"));
        assert!(check(
            "tags.team exists and tags.note not exists and tags.nope not exists"
        ));
        assert!(check(
            "(model = 'x' or model = 'Subscribers') and (metrics.test.rows < 1000)"
        ));
        assert!(!check(
            "model = 'x' or model = 'y' and metrics.test.rows < 1000"
        ));
    }

    #[test]
    fn mlflow_forms_map_onto_documents() {
        assert!(check(
            "metrics.`test.auc` > 0.7 AND attributes.run_id = 'r1'"
        ));
        assert!(check(
            "metrics.\"test.auc\" > 0.7 AND tags.team ILIKE 'GROW%'"
        ));
        assert!(check(
            "tags.team IS NOT NULL and tags.nope IS NULL and model <> 'x'"
        ));
    }

    #[test]
    fn like_matches_runs_and_single_characters_ignoring_case() {
        assert!(like("XGBoost", "xgb%"));
        assert!(like("XGBoost", "%boo_t"));
        assert!(like("abc", "%%a%c"));
        assert!(!like("abc", "a_"));
        assert!(!like("abc", "%d%"));
    }

    #[test]
    fn errors_say_where_and_what_a_condition_looks_like() {
        refused(
            Filter::parse("metrics.test.auc >> 1"),
            &["--where", "column 19"],
        );
        refused(Filter::parse("metrics.test.auc in 1"), &["expected `(`"]);
        refused(Filter::parse("model = 'x"), &["unclosed '"]);
        let e = Filter::parse("tags.x > true").unwrap_err().to_string();
        assert!(e.contains("= and != only"), "{e}");
        assert!(Filter::parse("  ").is_err());
        assert!(Filter::parse("(model = 'x'").is_err());
    }

    #[test]
    fn sql_binds_every_value_and_reads_params_from_their_own_table() {
        let f = Filter::parse("params.estimator.max_depth = 6 and tags.team like 'g%'").unwrap();
        let mut sql = Sql::new(Backend::Sqlite);
        let text = sql.condition(&f).unwrap();
        // The path is written into the SQL, as the key's index is built on it; values are bound.
        assert!(
            text.contains(r#"(json_extract(p.params, '$."estimator"."max_depth"') = :f0 AND"#),
            "{text}"
        );
        assert!(
            text.contains(r#"json_type(r.document, '$."tags"."team"') = 'text'"#),
            "{text}"
        );
        assert!(!text.contains("g%") && !text.contains("= 6"), "{text}");
        assert_eq!(sql.params[0].1, json!(6));
        let mut scan = Sql::unindexed(Backend::Sqlite, None);
        let text = scan.condition(&f).unwrap();
        holds(&text, &["(+json_extract(p.params,"]);
        let mut pg = Sql::new(Backend::Postgres);
        let text = pg.condition(&f).unwrap();
        holds(&text, &["jsonb_extract_path(p.params, :f0, :f1)"]);
    }

    #[test]
    fn keys_are_quoted_into_sqlite_paths_and_run_columns_are_read_directly() {
        let quoted =
            Filter::parse("tags.`it's` = 'x' and model = 'A' and run_id like 'x%'").unwrap();
        let mut sql = Sql::new(Backend::Sqlite);
        let text = sql.condition(&quoted).unwrap();
        assert!(
            text.contains(r#"json_extract(r.document, '$."tags"."it''s"')"#),
            "{text}"
        );
        holds(&text, &["(r.model = :f1 AND"]);
        holds(&text, &["THEN r.run_id LIKE :f2"]);
        let bad = Filter::parse("tags.`a\"b` = 1").unwrap();
        refused(Sql::new(Backend::Sqlite).condition(&bad), &["double quote"]);
        let model = Path::parse("model").unwrap();
        assert!(!SqliteKey::indexable(&model));
        let auc = SqliteKey::of(&Path::parse("metrics.test.auc").unwrap()).unwrap();
        assert_eq!(auc.table, "runs");
        assert_eq!(
            auc.expression(),
            r#"json_extract(document, '$."metrics"."test"."auc"')"#
        );
        let f = Filter::parse(
            "(params.a = 1 or params.b exists) and (model = 'A' or kind != 'fit') and x > 1",
        )
        .unwrap();
        assert!(f.needs_params());
        assert_eq!(
            f.compared()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>(),
            ["params.a", "model", "x"]
        );
        assert!(!Filter::parse("params.a = 1 or x = 1")
            .unwrap()
            .needs_params());
        assert!(!Filter::parse("params.a not exists").unwrap().needs_params());
    }
}
