//! Untrusted names made paths. A model name, a fitting id or a file name that comes from a bucket
//! listing, a manifest, an alias object, a request or the command line becomes a path only here,
//! and only when it is a plain name of the kind Lore itself writes: no separator, no `..`, no
//! absolute path, nothing hidden, so it always lands inside the folder it belongs to.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The longest name taken for a model, a fitting or a file.
pub const MAX_NAME: usize = 128;

/// Why `name` is not a plain name (ASCII letters, digits, `_`, `-` and `.`, not starting with
/// `.`, at most [`MAX_NAME`] bytes), or `None` when it is one.
pub fn fault(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > MAX_NAME {
        return Some("it is longer than 128 bytes");
    }
    if name.contains(['/', '\\']) {
        return Some("it holds a path separator");
    }
    if name.starts_with('.') {
        return Some("it starts with `.` (a parent folder, or a hidden file)");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Some("it holds characters other than letters, digits, `_`, `-` and `.`");
    }
    None
}

/// `name`, checked as [`fault`] checks it; `what` (a model, a fitting id, a file) and `place`
/// (where the name came from: an object, a manifest, a parameter) go into the error.
pub fn checked<'a>(what: &str, name: &'a str, place: &str) -> Result<&'a str> {
    match fault(name) {
        None => Ok(name),
        Some(reason) => Err(Error::UnsafeName {
            what: what.to_string(),
            name: shown(name),
            place: place.to_string(),
            reason: reason.to_string(),
        }),
    }
}

/// `root/name` for a checked `name` (see [`checked`]).
pub fn child(root: &Path, what: &str, name: &str, place: &str) -> Result<PathBuf> {
    Ok(root.join(checked(what, name, place)?))
}

/// `name` quoted for a message, cut to its first 100 characters.
fn shown(name: &str) -> String {
    match name.char_indices().nth(100) {
        Some((end, _)) => format!("{:?}...", &name[..end]),
        None => format!("{name:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn only_plain_names_become_paths_inside_their_folder() {
        for good in [
            "Subscribers",
            "20261202-140000-0a1b",
            "model.ubj",
            "x_y-z.json",
        ] {
            assert_eq!(fault(good), None, "{good}");
            assert_eq!(
                child(Path::new("/m"), "file", good, "test").unwrap(),
                Path::new("/m").join(good)
            );
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/abs/x",
            "a/../../x",
            "a\\..\\x",
            ".hidden",
            "a/b",
            "nul\0byte",
            "space d",
            "é",
            &"x".repeat(129),
        ] {
            assert!(fault(bad).is_some(), "{bad:?} must be refused");
        }
        refused(
            checked("file", "../../x", "s3://b/p/manifest.json"),
            &["\"../../x\"", "s3://b/p/manifest.json"],
        );
        let long = "y".repeat(5000);
        let e = checked("model", &long, "a listing")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "a long name is cut in the message: {e}");
    }
}
