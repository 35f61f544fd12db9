//! Environments (`config/<env>/`, `.env.<env>`, `lore env`) and `lore test` in a new project.

use super::*;

#[test]
fn each_environment_resolves_its_own_configuration_and_lore_test_passes_out_of_the_box() {
    let root = project("environments", "envs", 3000);
    let again = failed(&lore(root.parent().unwrap(), &["init", "envs"]));
    assert_eq!(
        again.matches("already exists").count(),
        1,
        "said once: {again}"
    );

    // The test environment that `lore init` wrote: its own small database.
    let shown = ok(&lore_env(&root, &["env"], &[("LORE_ENV", "test")]));
    holds(
        &shown,
        &[
            "environment: test (LORE_ENV from the environment)",
            "data/test.sqlite",
            "config/test/database.toml",
        ],
    );
    let development = ok(&lore(&root, &["env"]));
    holds(
        &development,
        &["environment: development", "data/users.sqlite"],
    );
    assert!(!development.contains("test.sqlite"), "{development}");

    // A production value wins only in production; its password never shows.
    std::fs::create_dir_all(root.join("config/production")).unwrap();
    put(
        &root,
        "config/production/database.toml",
        "[main]\nurl = \"postgres://lore:planted-password@db.invalid/prod\"\n",
    );
    put(
        &root,
        ".env.production",
        "LORE_METADATA_URL=sqlite:data/production-metadata.sqlite\n",
    );
    for env in [None, Some("test")] {
        let envs: Vec<(&str, &str)> = env.map(|e| ("LORE_ENV", e)).into_iter().collect();
        let shown = ok(&lore_env(&root, &["env"], &envs));
        assert!(
            !shown.contains("db.invalid") && !shown.contains("production-metadata"),
            "{shown}"
        );
    }
    let production = ok(&lore_env(
        &root,
        &["env", "--json"],
        &[("LORE_ENV", "production")],
    ));
    assert!(!production.contains("planted-password"), "{production}");
    let production: Value = serde_json::from_str(&production).unwrap();
    let setting = |key: &str| {
        items(&production["settings"])
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key}: {production}"))
    };
    let main = setting("database.main.url");
    assert_eq!(main["file"], "config/production/database.toml");
    holds(
        main["value"].as_str().unwrap(),
        &["postgres://lore:***@db.invalid/prod"],
    );
    let metadata = setting("database.metadata.url");
    assert_eq!(
        metadata["file"], "config/database.toml",
        "a key production leaves alone stays"
    );
    assert_eq!(
        metadata["variables"]["LORE_METADATA_URL"],
        ".env.production"
    );
    // LORE_ENV may come from .env too; a name that would leave config/ is refused.
    put(&root, ".env", "LORE_ENV=../../etc\n");
    refuses(&root, &["env"], &["LORE_ENV", "../../etc"]);
    std::fs::remove_file(root.join(".env")).unwrap();

    // `lore test`: the project's Rust tests, then every model on the test database.
    let tested = ok(&lore(&root, &["test"]));
    holds(
        &tested,
        &[
            "made the test database",
            "ok    Subscribers:",
            "ok    SubscribersDeclared:",
            "every model passed",
        ],
    );
    assert!(root.join("data/test.sqlite").is_file());
    assert!(
        root.join("data/test/models/SubscribersDeclared").is_dir(),
        "test fittings stay apart"
    );
    assert!(
        !root.join("models/SubscribersDeclared").exists(),
        "no fitting among the real ones"
    );

    // A model that cannot fit fails `lore test`, naming it; an unknown one is refused.
    put(
        &root,
        "src/models/broken.toml",
        "[pipeline.extract]\nsql = \"users\"\nparams = { limit = 100 }\n\n[pipeline.split]\ntype = \"Holdout\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"orders\"\n\n[pipeline.output]\ntype = \"Boolean\"\n\
         column = \"no_such_column\"\n\n[estimator]\ntype = \"XGBoost\"\n",
    );
    let out = lore(&root, &["test", "--no-cargo", "Broken"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    holds(
        &String::from_utf8_lossy(&out.stdout),
        &["FAIL  Broken:", "no_such_column"],
    );
    refuses(&root, &["test", "--no-cargo", "Nope"], &["Nope"]);
}

#[test]
fn completions_a_man_page_and_the_version_with_its_commit() {
    let dir = workdir("shell");
    holds(
        &ok(&lore(&dir, &["completions", "bash"])),
        &["_lore()", "generate"],
    );
    holds(
        &ok(&lore(&dir, &["completions", "fish"])),
        &["complete -c lore"],
    );
    holds(&ok(&lore(&dir, &["man"])), &[".TH lore", "generate"]);
    let version = ok(&lore(&dir, &["--version"]));
    assert!(
        version.starts_with("lore 0.") && version.contains("(commit "),
        "{version}"
    );
    refuses(&dir, &["completions", "tcsh"], &["tcsh"]);
}
