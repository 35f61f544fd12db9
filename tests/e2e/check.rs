//! `lore check` and `lore fit --check` on the sample project: another sample of the same table
//! passes, the same rows with three known shifts are flagged exactly, and a fit refuses an
//! extract whose column vanished.

use super::*;

const MODEL: &str = "SubscribersDeclared";

/// The CSV `from` with three columns changed: `sessions_30d` moved up by half its standard
/// deviation, a new first name in every fifth row, and `basket_value` null in three rows of ten.
fn shift(from: &Path, to: &Path) {
    let text = std::fs::read_to_string(from).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (name, basket, sessions) = (at("first_name"), at("basket_value"), at("sessions_30d"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let values: Vec<f64> = rows.iter().map(|r| r[sessions].parse().unwrap()).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    let mut out = header.join(",") + "\n";
    for (i, mut row) in rows.into_iter().enumerate() {
        row[sessions] = (values[i] + 0.5 * sd).to_string();
        if i % 5 == 0 {
            row[name] = "Zebulonia".into();
        }
        if i % 10 < 3 {
            row[basket] = String::new();
        }
        out += &(row.join(",") + "\n");
    }
    std::fs::write(to, out).unwrap();
}

/// The names of the columns a check's JSON report flags.
fn flagged(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = items(&report["report"]["columns"])
        .iter()
        .filter(|c| !items(&c["issues"]).is_empty() || c["drift"]["drifted"] == true)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn check_passes_another_sample_and_flags_exactly_the_shifted_columns() {
    let root = sample_project("checked", 200000);
    // Fitted on the first half of the table; the second half is another sample of it.
    let fitted = ok_json(&lore(
        &root,
        &["fit", MODEL, "-p", "limit=100000", "--json"],
    ));
    let profile = root
        .join("models")
        .join(MODEL)
        .join(fitted["fitting_id"].as_str().unwrap())
        .join("profile.json");
    let profile: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    assert_eq!(profile["rows"], 100_000);
    assert_eq!(items(&profile["columns"]).len(), 8);
    assert!(profile["scores"]["numbers"]["histogram"]["shares"].is_array());

    let all = root.join("all.csv");
    ok(&lore(
        &root,
        &[
            "extract",
            "users",
            "-p",
            "limit=200000",
            "-o",
            all.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let same = root.join("same.csv");
    put(
        &root,
        "same.csv",
        [&lines[..1], &lines[100_001..]].concat().join("\n") + "\n",
    );
    let passed = ok_json(&lore(
        &root,
        &["check", MODEL, "--input", "same.csv", "--json"],
    ));
    assert_eq!(passed["passed"], true, "{passed}");
    assert_eq!(flagged(&passed), Vec::<String>::new(), "{passed}");
    assert_eq!(passed["fitting_id"], fitted["fitting_id"]);
    assert!(passed["report"]["scores"]["drift"]["test"].is_string());

    shift(&same, &root.join("shifted.csv"));
    let out = lore(&root, &["check", MODEL, "--input", "shifted.csv", "--json"]);
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let shifted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shifted["passed"], false);
    assert_eq!(
        flagged(&shifted),
        ["basket_value", "first_name", "sessions_30d"]
    );
    let out = lore(
        &root,
        &[
            "check",
            MODEL,
            "--input",
            "shifted.csv",
            "--html",
            "check.html",
        ],
    );
    holds(
        &String::from_utf8_lossy(&out.stdout),
        &[
            "FAILED",
            "sessions_30d",
            "DRIFT",
            "`basket_value`: ",
            "% nulls, against",
            "never seen",
            "Report: check.html",
        ],
    );
    let drifted: Vec<&Value> = items(&shifted["report"]["columns"])
        .iter()
        .filter(|c| c["drift"]["drifted"] == true)
        .collect();
    let charts =
        drifted.len() + usize::from(shifted["report"]["scores"]["drift"]["drifted"] == true);
    let drawn = format!("data-charts=\"{charts}\"");
    page_in_a_browser(
        &root.join("check.html"),
        &[&drawn, "data-verdict=\"failed\"", "<svg"],
    );

    // Each check is a run, found by its metrics.
    let runs = ok_json(&lore(
        &root,
        &[
            "runs",
            "--where",
            "kind = 'check' and metrics.passed = false",
            "--json",
        ],
    ));
    assert_eq!(items(&runs).len(), 2, "{runs}");
    // Production rows have no label: its absence is no problem.
    let text = std::fs::read_to_string(&same).unwrap();
    let unlabelled: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(kept, _)| kept))
        .collect();
    assert!(
        text.starts_with("first_name")
            && text.lines().next().unwrap().ends_with("has_subscription")
    );
    put(&root, "unlabelled.csv", unlabelled.join("\n") + "\n");
    let passed = ok_json(&lore(
        &root,
        &["check", MODEL, "-i", "unlabelled.csv", "--json"],
    ));
    assert_eq!(passed["passed"], true, "{passed}");
    refuses(&root, &["check", MODEL], &["--input", "--extract"]);
}

#[test]
fn fit_check_refuses_an_extract_whose_column_vanished_naming_it() {
    let root = sample_project("vanished", 3000);
    let first = lore(&root, &["fit", MODEL, "--check", "--json"]);
    holds(
        &String::from_utf8_lossy(&first.stderr),
        &["no fitting to check the extract against yet"],
    );
    ok(&first);
    ok(&lore(&root, &["fit", MODEL, "--check", "--json"]));
    let sql = root.join("src/extracts/users.sql");
    let text = std::fs::read_to_string(&sql).unwrap();
    std::fs::write(&sql, text.replace(", sessions_30d", "")).unwrap();
    refuses(
        &root,
        &["fit", MODEL, "--check"],
        &[
            "fail the check against fitting",
            "column `sessions_30d` is missing",
            "without --check",
        ],
    );
}

#[test]
fn a_fitting_from_before_profiles_gets_one_from_lore_profile() {
    let root = sample_project("unprofiled", 3000);
    let fitted = ok_json(&lore(&root, &["fit", MODEL, "--json"]));
    let id = fitted["fitting_id"].as_str().unwrap();
    // As an older Lore left it: no profile, and a manifest without one.
    let dir = root.join("models").join(MODEL).join(id);
    std::fs::remove_file(dir.join("profile.json")).unwrap();
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["files"]
        .as_object_mut()
        .unwrap()
        .remove("profile.json");
    put(&dir, "manifest.json", manifest.to_string());
    ok(&lore(
        &root,
        &["extract", "users", "-p", "limit=3000", "-o", "rows.csv"],
    ));
    let check = ["check", MODEL, "--input", "rows.csv"];
    refuses(
        &root,
        &check,
        &["has no data profile", &format!("`lore profile {id}`")],
    );

    prints(
        &root,
        &["profile", id],
        &["Profiled 3000 rows", id, "profile.json"],
    );
    let profile: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("profile.json")).unwrap()).unwrap();
    assert_eq!(profile["rows"], 3000);
    assert!(
        profile["scores"]["numbers"]["quantiles"].is_array(),
        "{profile}"
    );
    assert!(!items(&profile["features"]).is_empty());
    // Sealed again: the fitting loads, and the same rows pass.
    ok(&lore(&root, &check));
    refuses(
        &root,
        &["profile", id],
        &["has a profile already", "--force"],
    );
    ok(&lore(&root, &["profile", id, "--force"]));
    refuses(
        &root,
        &["profile", "20000101-000000-0000"],
        &["no fitting `20000101-000000-0000`"],
    );
}
