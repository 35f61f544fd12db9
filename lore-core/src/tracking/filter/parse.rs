//! The filter language's recursive-descent parser: paths, literals, comparisons, `and`, `or`,
//! parentheses and MLflow's forms, each error naming the column where the text went wrong.

use std::fmt;

use super::{Compare, Filter, Literal, Path, Step};
use crate::error::{Error, Result};

/// A recursive-descent parser over the filter's characters.
pub(super) struct Parser {
    chars: Vec<char>,
    at: usize,
    what: &'static str,
    text: String,
}

impl Parser {
    pub(super) fn new(text: &str, what: &'static str) -> Result<Parser> {
        if text.trim().is_empty() {
            return Err(Error::InvalidParam {
                key: what.into(),
                message: "is empty; give a condition such as `metrics.test.auc >= 0.7`".into(),
            });
        }
        Ok(Parser {
            chars: text.chars().collect(),
            at: 0,
            what,
            text: text.to_string(),
        })
    }

    /// `text` read whole by `read` (named `what` in errors): nothing may follow what it reads.
    pub(super) fn whole<T>(
        text: &str,
        what: &'static str,
        read: impl FnOnce(&mut Parser) -> Result<T>,
    ) -> Result<T> {
        let mut parser = Parser::new(text, what)?;
        let value = read(&mut parser)?;
        parser.end()?;
        Ok(value)
    }

    fn error(&self, message: impl fmt::Display) -> Error {
        Error::InvalidParam {
            key: self.what.into(),
            message: format!(
                "{message} at column {} of `{}`; a condition reads `metrics.test.auc >= 0.7 and params.estimator.max_depth in (4, 6)`",
                self.at + 1,
                self.text
            ),
        }
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.at).copied()
    }

    pub(super) fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.error(format!("unexpected `{c}`"))),
        }
    }

    /// The next word (letters, digits, `_`), without consuming it.
    fn word(&mut self) -> String {
        self.skip_space();
        self.chars[self.at..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect()
    }

    /// Consumes `keyword` (any case) if it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        let w = self.word();
        if w.eq_ignore_ascii_case(keyword) {
            self.at += w.chars().count();
            true
        } else {
            false
        }
    }

    pub(super) fn or(&mut self) -> Result<Filter> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut left = self.atom()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Filter> {
        if self.peek() == Some('(') {
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(')') {
                return Err(self.error("expected `)`"));
            }
            self.at += 1;
            return Ok(inner);
        }
        let path = self.path()?;
        let path = mlflow_attribute(path);
        if self.keyword("exists") {
            return Ok(Filter::Exists(path, false));
        }
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return Err(self.error("expected `null` after `is`"));
            }
            return Ok(Filter::Exists(path, !negated));
        }
        let negated = self.keyword("not");
        if self.keyword("in") {
            return Ok(Filter::In(path, self.list()?, negated));
        }
        if self.keyword("like") || self.keyword("ilike") {
            return match self.literal()? {
                Literal::Text(p) => Ok(Filter::Like(path, p, negated)),
                _ => Err(self.error("`like` takes a quoted pattern such as '%xgb%'")),
            };
        }
        if negated {
            if self.keyword("exists") {
                return Ok(Filter::Exists(path, true));
            }
            return Err(self.error("expected `in`, `like` or `exists` after `not`"));
        }
        let op = self.operator()?;
        let literal = self.literal()?;
        if matches!(literal, Literal::Bool(_)) && !matches!(op, Compare::Eq | Compare::Ne) {
            return Err(self.error("true and false compare with = and != only"));
        }
        Ok(Filter::Compare(path, op, literal))
    }

    fn operator(&mut self) -> Result<Compare> {
        self.skip_space();
        let rest: String = self.chars[self.at..].iter().take(2).collect();
        let (op, len) = match rest.as_str() {
            "!=" | "<>" => (Compare::Ne, 2),
            "<=" => (Compare::Le, 2),
            ">=" => (Compare::Ge, 2),
            "==" => (Compare::Eq, 2),
            _ => match rest.chars().next() {
                Some('=') => (Compare::Eq, 1),
                Some('<') => (Compare::Lt, 1),
                Some('>') => (Compare::Gt, 1),
                _ => {
                    return Err(self
                        .error("expected an operator (= != < <= > >= in, not in, like, exists)"))
                }
            },
        };
        self.at += len;
        Ok(op)
    }

    fn list(&mut self) -> Result<Vec<Literal>> {
        if self.peek() != Some('(') {
            return Err(self.error("expected `(` to open the list after `in`"));
        }
        self.at += 1;
        let mut items = vec![self.literal()?];
        loop {
            match self.peek() {
                Some(',') => {
                    self.at += 1;
                    items.push(self.literal()?);
                }
                Some(')') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err(self.error("expected `,` or `)` in the list")),
            }
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String> {
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.chars.get(self.at) {
                None => {
                    self.at = start;
                    return Err(self.error(format!("unclosed {quote}")));
                }
                // A doubled quote stands for itself, as in SQL.
                Some(&c) if c == quote && self.chars.get(self.at + 1) == Some(&quote) => {
                    out.push(quote);
                    self.at += 2;
                }
                Some(&c) if c == quote => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(&c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Literal> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => Ok(Literal::Text(self.quoted(q)?)),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let token: String = self.chars[self.at..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                    .collect();
                let n: f64 = token
                    .parse()
                    .map_err(|_| self.error(format!("`{token}` is not a number")))?;
                self.at += token.chars().count();
                Ok(Literal::Number(n))
            }
            _ if self.keyword("true") => Ok(Literal::Bool(true)),
            _ if self.keyword("false") => Ok(Literal::Bool(false)),
            _ => Err(self.error("expected a value: a number, 'quoted text' or true/false")),
        }
    }

    pub(super) fn path(&mut self) -> Result<Path> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some(q @ ('`' | '"')) => {
                    let key = self.quoted(q)?;
                    steps.extend(key.split('.').map(|k| Step::Key(k.to_string())));
                }
                _ => {
                    let w = self.word();
                    if w.is_empty() {
                        return Err(self.error("expected a key such as metrics.test.auc"));
                    }
                    self.at += w.chars().count();
                    steps.push(match w.parse::<usize>() {
                        Ok(i) if w.chars().all(|c| c.is_ascii_digit()) => Step::Index(i),
                        _ => Step::Key(w),
                    });
                }
            }
            if self.chars.get(self.at) == Some(&'.') {
                self.at += 1;
            } else {
                return Ok(Path(steps));
            }
        }
    }
}

/// MLflow's names for a run's own fields (`attributes.run_id`, `attributes.start_time`), as
/// Lore's documents name them; other paths are left as they are.
fn mlflow_attribute(path: Path) -> Path {
    match path.0.as_slice() {
        [Step::Key(a), Step::Key(name)] if a == "attributes" || a == "attribute" || a == "run" => {
            let name = match name.as_str() {
                "run_id" | "id" => "run_id",
                "start_time" => "started_at",
                "end_time" => "finished_at",
                other => other,
            };
            Path(vec![Step::Key(name.to_string())])
        }
        _ => path,
    }
}
