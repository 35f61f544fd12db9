//! What the tests share: the unit tests, and by path the integration tests, not each of which
//! uses every helper.
#![allow(dead_code)]

/// Fails, showing `text` whole, unless it holds every one of `parts`.
#[track_caller]
pub fn holds(text: &str, parts: &[&str]) {
    let missing: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| !text.contains(p))
        .collect();
    assert!(missing.is_empty(), "{missing:?} missing from:\n{text}");
}

/// Fails unless `result` is an error whose message holds every one of `parts`.
#[track_caller]
pub fn refused<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>, parts: &[&str]) {
    match result {
        Ok(value) => panic!("expected an error holding {parts:?}, got {value:?}"),
        Err(e) => holds(&e.to_string(), parts),
    }
}

/// `value` saved as JSON and read back, as a fitting saves and loads it.
#[track_caller]
pub fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

/// The Python of `LORE_TEST_PYTHON` (scripts/python: xgboost with scipy, pyarrow,
/// prometheus_client); `None`, and the check skipped, without one unless `LORE_REQUIRE_PYTHON`
/// is set.
pub fn python() -> Option<std::path::PathBuf> {
    match std::env::var("LORE_TEST_PYTHON") {
        Ok(path) => Some(std::path::PathBuf::from(path)),
        Err(_) => {
            assert!(
                std::env::var("LORE_REQUIRE_PYTHON").is_err(),
                "LORE_REQUIRE_PYTHON is set but LORE_TEST_PYTHON is not"
            );
            eprintln!("LORE_TEST_PYTHON is not set: the comparison with Python is skipped");
            None
        }
    }
}
