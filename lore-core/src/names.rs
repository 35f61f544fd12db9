//! The first-names table: for each US first name, the share of people with it who are male and
//! their mean age (from public US Social Security baby-name statistics, as in Python Lore).

use polars::prelude::PlHashMap;
use std::sync::OnceLock;

/// The shipped table: name, share male, mean age, population; no header.
pub const NAMES_CSV: &str = include_str!("../data/names.csv");

/// What the table knows of one first name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameStats {
    /// Share of people with this name who are male, 0..1.
    pub share_male: f64,
    /// Mean age in years of people with this name.
    pub mean_age: f64,
    /// How many people carry it (a sampling weight).
    pub population: f64,
}

/// Every name in table order, with its statistics.
pub fn all() -> &'static [(String, NameStats)] {
    static TABLE: OnceLock<Vec<(String, NameStats)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        NAMES_CSV
            .lines()
            .filter_map(|line| {
                let mut parts = line.split(',');
                let name = parts.next()?.trim().to_lowercase();
                let share_male = parts.next()?.trim().parse().ok()?;
                let mean_age = parts.next()?.trim().parse().ok()?;
                let population = parts.next()?.trim().parse().ok()?;
                Some((
                    name,
                    NameStats {
                        share_male,
                        mean_age,
                        population,
                    },
                ))
            })
            .collect()
    })
}

/// The statistics of `name` (any case), or `None` for a name the table does not know.
pub fn lookup(name: &str) -> Option<NameStats> {
    static INDEX: OnceLock<PlHashMap<String, NameStats>> = OnceLock::new();
    let index = INDEX.get_or_init(|| all().iter().cloned().collect());
    let name = name.trim();
    // Lower-casing a short ASCII name on the stack saves an allocation per row.
    let mut buffer = [0u8; 48];
    if let Some(lower) = buffer.get_mut(..name.len()).filter(|_| name.is_ascii()) {
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        return std::str::from_utf8(lower)
            .ok()
            .and_then(|key| index.get(key))
            .copied();
    }
    index.get(name.to_lowercase().as_str()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_common_names_in_any_case() {
        assert!(all().len() > 6000);
        let john = lookup("John").unwrap();
        assert!(john.share_male > 0.99 && (john.mean_age - 51.6).abs() < 0.1);
        assert!(lookup("MARY").unwrap().share_male < 0.01);
        assert_eq!(lookup("Zorblax"), None);
    }
}
