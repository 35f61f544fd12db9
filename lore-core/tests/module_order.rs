//! The one-way rule of docs/architecture.md: no lore-core module uses one that uses it back,
//! read from the sources (`crate::module` paths outside test code), so a cycle fails CI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, test files left out.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            files.push(path);
        }
    }
    files
}

/// The top-level modules each top-level module names as `crate::name`, outside its tests.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for path in sources(&src) {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let name = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if name != "lib" {
            modules.entry(name).or_default().push(path);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .into_iter()
        .map(|(module, files)| {
            let mut used = BTreeSet::new();
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (at, _) in code.match_indices("crate::") {
                    let rest = &code[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if names.contains(&name) && name != module {
                        used.insert(name);
                    }
                }
            }
            (module, used)
        })
        .collect()
}

/// A path of modules from `from` back to `to`, if `from` reaches it.
fn path_to(
    uses: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if !seen.insert(from.to_string()) {
        return None;
    }
    for next in uses.get(from).into_iter().flatten() {
        if next == to {
            return Some(vec![from.to_string(), to.to_string()]);
        }
        if let Some(mut path) = path_to(uses, next, to, seen) {
            path.insert(0, from.to_string());
            return Some(path);
        }
    }
    None
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let uses = uses();
    assert!(uses.len() > 10, "the modules were not found: {uses:?}");
    for module in uses.keys() {
        if let Some(cycle) = path_to(&uses, module, module, &mut BTreeSet::new()) {
            panic!(
                "lore-core modules use each other in a cycle: {}; move what both need into a \
                 module above them (see docs/architecture.md)",
                cycle.join(" -> ")
            );
        }
    }
}
