//! The model registry: aliases, promotion and rollback, followed by `lore api`; changed fittings refused.

use super::*;

#[test]
fn a_changed_fitting_file_is_refused_by_name_and_never_served() {
    let root = sample_project("sealed", 2000);
    let out: Value = ok_json(&lore(
        &root,
        &["-q", "fit", "SubscribersDeclared", "--json"],
    ));
    let fitting = PathBuf::from(out["path"].as_str().unwrap());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fitting.join("manifest.json")).unwrap())
            .unwrap();
    for file in ["params.json", "pipeline.json", "model.json", "stats.json"] {
        assert_eq!(
            manifest["files"][file]["sha256"].as_str().map(str::len),
            Some(64),
            "{file} in {manifest}"
        );
    }
    put(&root, "rows.csv", TWO_USERS);
    let predict = ["predict", "SubscribersDeclared", "--input", "rows.csv"];
    ok(&lore(&root, &predict));

    // One byte of the fitted encoders flipped: the JSON still parses, the manifest catches it.
    let encoders = fitting.join("pipeline.json");
    let mut bytes = std::fs::read(&encoders).unwrap();
    let at = bytes.iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&encoders, &bytes).unwrap();
    refuses(&root, &predict, &["pipeline.json", "SHA-256"]);

    // The API skips it, saying why, and serves nothing from it.
    let log = root.join("api.stderr");
    let (server, port) = api_logged(&root, &[], &log);
    let (_, models) = http(port, "GET", "/models", "");
    assert_eq!(models["models"], serde_json::json!([]), "{models}");
    let (status, _) = http(port, "POST", "/models/SubscribersDeclared/predict", "[]");
    assert_eq!(status, 404);
    drop(server);
    let stderr = std::fs::read_to_string(&log).unwrap();
    holds(&stderr, &["pipeline.json", "skipped"]);
}

#[test]
fn promote_rollback_and_history_and_the_api_follows_the_production_alias() {
    let root = sample_project("registered", 2000);
    let a = fit_declared(&root, &[])["fitting_id"].clone();
    let b = fit_declared(&root, &["-p", "max_depth=5"])["fitting_id"].clone();
    let (ida, idb) = (a.as_str().unwrap(), b.as_str().unwrap());
    let (_server, port) = api(&root, &["--refresh", "1"]);
    wait_for_fitting(port, "SubscribersDeclared", &b, Value::Null);

    let promote = |id: &str| {
        ok(&lore(
            &root,
            &["models", "promote", "SubscribersDeclared", id],
        ))
    };
    assert!(promote(ida).contains(&format!("production -> {ida}")));
    wait_for_fitting(port, "SubscribersDeclared", &a, "production".into());
    assert!(promote(idb).contains(&format!("(was {ida})")));
    wait_for_fitting(port, "SubscribersDeclared", &b, "production".into());
    let out = ok(&lore(&root, &["models", "rollback", "SubscribersDeclared"]));
    assert!(
        out.contains(&format!("production -> {ida} (rolled back from {idb})")),
        "{out}"
    );
    wait_for_fitting(port, "SubscribersDeclared", &a, "production".into());
    ok(&lore(
        &root,
        &[
            "models",
            "promote",
            "SubscribersDeclared",
            idb,
            "--to",
            "staging",
        ],
    ));

    let history: Value = ok_json(&lore(
        &root,
        &["models", "history", "SubscribersDeclared", "--json"],
    ));
    let events: Vec<(String, String, String)> = items(&history["events"])
        .iter()
        .map(|e| {
            (
                e["alias"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["fitting_id"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let event = |alias: &str, action: &str, id: &str| {
        (alias.to_string(), action.to_string(), id.to_string())
    };
    assert_eq!(
        events,
        [
            event("production", "promote", ida),
            event("production", "promote", idb),
            event("production", "rollback", ida),
            event("staging", "promote", idb),
        ]
    );
    assert_eq!(history["holders"]["production"], a);
    assert_eq!(history["holders"]["staging"], b);
    put(&root, "rows.csv", TWO_USERS);
    let by_alias = ok(&lore(
        &root,
        &[
            "predict",
            "SubscribersDeclared",
            "--fitting",
            "production",
            "--input",
            "rows.csv",
        ],
    ));
    let by_id = ok(&lore(
        &root,
        &[
            "predict",
            "SubscribersDeclared",
            "--fitting",
            ida,
            "--input",
            "rows.csv",
        ],
    ));
    assert_eq!(
        by_alias, by_id,
        "--fitting production predicts with the fitting it holds"
    );

    // Rolled back past its first promotion, production holds nothing: the latest is served.
    ok(&lore(&root, &["models", "rollback", "SubscribersDeclared"]));
    wait_for_fitting(port, "SubscribersDeclared", &b, Value::Null);
    refuses(
        &root,
        &["models", "rollback", "SubscribersDeclared"],
        &["nothing to roll back"],
    );
    let err = failed(&lore(
        &root,
        &["models", "promote", "SubscribersDeclared", "nope"],
    ));
    assert!(
        err.contains("no fitting `nope`") && err.contains(ida),
        "{err}"
    );
    refuses(
        &root,
        &[
            "models",
            "promote",
            "SubscribersDeclared",
            ida,
            "--to",
            "Prod",
        ],
        &["`Prod` is not an alias name"],
    );
}
