//! Secrets taken out of text before it is shown or logged: the password of a URL's user info
//! (whatever characters it holds), query parameters and DSN settings named like secrets
//! (`password`, `sslpassword`, `token`, `key`, `secret`, ...), in a URL alone or anywhere in a
//! message. Every message with a URL, DSN or setting in it, and every log line, goes through
//! [`redact`].

/// What replaces a secret.
pub const MASK: &str = "***";

/// Whether a URL's query parameter named `name` holds a secret: any name with a secret's word
/// in it (`password`, `sslpassword`, `token`, `key`, `X-Amz-Signature`, ...).
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "key",
        "credential",
        "signature",
        "auth",
        "dsn",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// `text` with every secret in it replaced by `***`: in each URL (`scheme://...`) the
/// password of its user info and the values of its secret query parameters, and elsewhere the
/// value of each `name=value` whose name is a secret's (`password=... sslpassword='...'`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // `key=sslpassword value=...`, as a library logs a setting: the value after a secret's name.
    let mut named_secret = false;
    while !rest.is_empty() {
        let start = rest.find(|c: char| !is_separator(c)).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let (token, after) = rest.split_at(end);
        rest = after;
        if token.contains("://") {
            out.push_str(&redact_url(token));
            continue;
        }
        match token.split_once('=') {
            // `password='a b'`: the quoted value runs past the separators it holds.
            Some((name, "")) if is_secret_setting(name) && rest.starts_with(['\'', '"']) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
                let quote = rest.chars().next().unwrap_or('\'');
                rest = match rest[1..].find(quote) {
                    Some(close) => &rest[close + 2..],
                    None => "",
                };
            }
            Some((name, _)) if named_secret && VALUE_FIELDS.contains(&name) => {
                named_secret = false;
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            Some((name, value)) => {
                if NAME_FIELDS.contains(&name) {
                    named_secret = is_secret_setting(value.trim_matches(['"', '\'', ',']));
                }
                out.push_str(&redact_settings(token));
            }
            None => out.push_str(token),
        }
    }
    out
}

/// Fields that name a setting, in a log line or a record: `key=password value=...`.
pub const NAME_FIELDS: [&str; 4] = ["key", "name", "param", "parameter"];

/// Fields that hold the value of the setting a [`NAME_FIELDS`] field names.
pub const VALUE_FIELDS: [&str; 2] = ["value", "val"];

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

/// `url` with the password of its user info and its secret query parameters masked.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_pairs(url, '&');
    };
    let query_at = rest.find('?').unwrap_or(rest.len());
    // User info ends at the last `@` before the query, so a password holding `@`, `:` or `/`
    // is masked whole; a `?` in it shows as an `@` after a `?` with no `/` before.
    let at = rest[..query_at].rfind('@').or_else(|| {
        (!rest[..query_at].contains('/'))
            .then(|| rest[query_at..].find('@').map(|i| query_at + i))
            .flatten()
    });
    let (userinfo, after) = match at {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut out = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:{MASK}@")),
            None => out.push_str(&format!("{userinfo}@")),
        }
    }
    match after.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            out.push_str(&redact_pairs(query, '&'));
        }
        None => out.push_str(after),
    }
    out
}

/// Whether a setting written `name=value` in free text (a DSN, a message) holds a secret: one of
/// whose words (split at `_`, `-`, `.`) names a secret, or a compound ending in `key`
/// (`api_key`, `aws_secret_access_key`), but not a bare `KEY` as in `expected KEY=VALUE`.
fn is_secret_setting(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['_', '-', '.']).collect();
    let secret_word = |w: &&str| {
        [
            "password",
            "passwd",
            "pwd",
            "pass",
            "sslpassword",
            "secret",
            "token",
            "apikey",
            "credential",
            "credentials",
            "signature",
            "dsn",
        ]
        .contains(w)
    };
    words.iter().any(secret_word) || (words.len() > 1 && words.last() == Some(&"key"))
}

/// `name=value` settings joined by `&` (or alone) in free text, each secret value masked.
fn redact_settings(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_setting(name) => format!("{name}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `name=value` pairs separated by `separator` with each secret value masked.
fn redact_pairs(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_a_secret_is_written_is_masked() {
        let cases = [
            ("postgres://me:secret@h/db", "postgres://me:***@h/db"),
            ("postgres://me:p@ss@h:5432/db", "postgres://me:***@h:5432/db"),
            ("postgres://me:a:b:c@h/db", "postgres://me:***@h/db"),
            ("postgres://me:p%40ss@h/db", "postgres://me:***@h/db"),
            ("postgres://me:pa/ss@h/db", "postgres://me:***@h/db"),
            ("postgres://me:pa?ss@h/db", "postgres://me:***@h/db"),
            ("postgres://me@h/db", "postgres://me@h/db"),
            ("postgres://h/db?password=secret", "postgres://h/db?password=***"),
            (
                "postgres://h/db?user=me&sslpassword=s3&sslmode=require",
                "postgres://h/db?user=me&sslpassword=***&sslmode=require",
            ),
            (
                "postgresql://u:x@h1,h2/db?PASSWORD=y&token=z",
                "postgresql://u:***@h1,h2/db?PASSWORD=***&token=***",
            ),
            ("https://h/x?api_key=k&X-Amz-Signature=abc", "https://h/x?api_key=***&X-Amz-Signature=***"),
            ("sqlite:data/users.sqlite", "sqlite:data/users.sqlite"),
            ("sqlite:data/u.sqlite?mode=ro", "sqlite:data/u.sqlite?mode=ro"),
            (
                "host=db user=me password=secret dbname=x",
                "host=db user=me password=*** dbname=x",
            ),
            ("password='two words' host=h", "password=*** host=h"),
            (
                "cannot connect to \"postgres://me:hunter2@127.0.0.1:1/x?password=hunter3\": refused",
                "cannot connect to \"postgres://me:***@127.0.0.1:1/x?password=***\": refused",
            ),
            ("aws_secret_access_key=abc", "aws_secret_access_key=***"),
            ("nothing secret here: 1 = 1", "nothing secret here: 1 = 1"),
            (
                "--tag oops: expected KEY=VALUE such as team=growth",
                "--tag oops: expected KEY=VALUE such as team=growth",
            ),
            ("api_key=abc keyboard=us", "api_key=*** keyboard=us"),
            (
                "ignoring unrecognized connect parameter key=sslpassword value=s3",
                "ignoring unrecognized connect parameter key=sslpassword value=***",
            ),
            ("key=sslmode value=require", "key=sslmode value=require"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact(raw), want, "{raw}");
        }
        for raw in [
            "postgres://me:p@ss@h/db",
            "postgres://h/db?password=hunter2",
        ] {
            assert!(!redact(raw).contains("ss@h") && !redact(raw).contains("hunter2"));
        }
    }
}
