//! Fittings in S3 (the test server of scripts/garage): upload, serving from a fresh copy, shared buckets, and hostile objects.

use super::*;
use common::served::MODEL;

/// `.env` lines pointing a project at the test S3 server of scripts/garage (`LORE_TEST_S3_*`),
/// its fittings under a prefix of their own; `None` (the case is skipped) without a server,
/// which `LORE_REQUIRE_S3=1` (scripts/test, CI) turns into a failure.
fn s3_env(name: &str) -> Option<String> {
    let var = |n: &str| std::env::var(format!("LORE_TEST_S3_{n}")).unwrap_or_default();
    if var("ENDPOINT").is_empty() {
        assert!(
            std::env::var("LORE_REQUIRE_S3").is_err(),
            "LORE_REQUIRE_S3 is set but LORE_TEST_S3_ENDPOINT is not"
        );
        eprintln!("LORE_TEST_S3_ENDPOINT is not set: S3 case skipped (scripts/test starts Garage)");
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(format!(
        "LORE_S3_BUCKET={}\nLORE_S3_PREFIX={name}-{nanos}\nAWS_ENDPOINT_URL_S3={}\n\
         LORE_S3_PATH_STYLE=true\nAWS_REGION={}\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
        var("BUCKET"),
        var("ENDPOINT"),
        var("REGION"),
        var("ACCESS_KEY_ID"),
        var("SECRET_ACCESS_KEY")
    ))
}

/// A test's folder `work` and in it a small project of `name` whose `.env` points at the test S3
/// server, with a fit of the declared model uploaded (its `--json` output); none without a
/// server.
fn s3_project(work: &str, name: &str) -> Option<(PathBuf, PathBuf, Value)> {
    let env = s3_env(name)?;
    let dir = workdir(work);
    ok(&lore(&dir, &["init", name, "--sample-rows", "2000"]));
    let root = dir.join(name);
    put(&root, ".env", env);
    let uploaded = fit_declared(&root, &["--upload"]);
    Some((dir, root, uploaded))
}

/// A copy of the project as a new server would have it: its files and settings, but no
/// fittings and no metadata database.
fn fresh_copy(root: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("models")).unwrap();
    for entry in ["Lore.toml", ".env", "config", "src"] {
        let status = Command::new("cp")
            .args(["-r", entry])
            .arg(to)
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success(), "cp {entry}");
    }
}

fn remote_fittings(root: &Path) -> Vec<Value> {
    let out = ok(&lore(root, &["models", "ls", "--remote", "--json"]));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_fit_uploaded_to_s3_is_served_and_predicted_by_a_fresh_copy_with_no_fittings() {
    let Some((dir, root, a)) = s3_project("s3-ship", "shipped") else {
        return;
    };
    let ida = a["fitting_id"].as_str().unwrap();
    assert!(a["uploaded"].as_str().unwrap().starts_with("s3://"), "{a}");
    let b = fit_declared(&root, &["-p", "max_depth=5"]);
    let idb = b["fitting_id"].as_str().unwrap();
    let listed = remote_fittings(&root);
    assert_eq!(listed.len(), 1, "only the uploaded fitting: {listed:?}");
    assert_eq!(listed[0]["fitting_id"], ida);

    // Promoting pushes the fitting first, so every server following the alias can pull it.
    let out = ok(&lore(&root, &["models", "promote", MODEL, idb]));
    assert!(out.contains(&format!("production -> {idb}")), "{out}");
    let listed = remote_fittings(&root);
    let ids: Vec<&Value> = listed.iter().map(|f| &f["fitting_id"]).collect();
    assert_eq!(ids, [ida, idb]);
    assert_eq!(listed[1]["aliases"], serde_json::json!(["production"]));

    let server_dir = dir.join("server");
    fresh_copy(&root, &server_dir);
    let local = ok(&lore(&server_dir, &["models", "ls", "--json"]));
    assert_eq!(local.trim(), "[]", "the copy starts with no fittings");
    let (_server, port) = api(&server_dir, &[]);
    wait_for_fitting(port, MODEL, &b["fitting_id"], "production".into());
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let (status, predicted) = http(port, "POST", &format!("/models/{MODEL}/predict"), body);
    assert_eq!(status, 200, "{predicted}");
    assert_eq!(predicted["fitting_id"], idb, "{predicted}");
    let pulled = server_dir.join("models").join(MODEL).join(idb);
    assert!(
        pulled.join("manifest.json").is_file(),
        "the pulled fitting is cached in models/"
    );

    // lore predict pulls too, resolving the alias from the bucket's alias object.
    let predict_dir = dir.join("predictor");
    fresh_copy(&root, &predict_dir);
    put(
        &predict_dir,
        "rows.csv",
        "first_name,email,signup_date,last_order_at,orders,basket_value,sessions_30d\n\
         John,john1@gmail.com,2015-01-02 10:00:00,2018-05-01 09:00:00,12,55.5,4\n",
    );
    let out = ok(&lore(
        &predict_dir,
        &[
            "predict",
            MODEL,
            "--input",
            "rows.csv",
            "--fitting",
            "production",
        ],
    ));
    assert_eq!(out.lines().count(), 2, "a header and one prediction: {out}");
    assert!(predict_dir.join("models").join(MODEL).join(idb).is_dir());
    let out = ok(&lore(&predict_dir, &["models", "pull", MODEL, ida]));
    assert!(out.contains(&format!("Pulled {MODEL}/{ida}")), "{out}");
    let out = ok(&lore(&predict_dir, &["models", "ls", "--json"]));
    assert!(out.contains(ida) && out.contains(idb), "{out}");
}

#[test]
fn two_servers_sharing_a_bucket_serve_a_promotion_made_by_a_third_process_with_no_failed_request() {
    let Some((dir, root, a)) = s3_project("s3-replicas", "replicas") else {
        return;
    };
    let b = fit_declared(&root, &["-p", "max_depth=5", "--upload"]);
    let ida = a["fitting_id"].as_str().unwrap();
    // Two replicas with no fittings and no database of their own: all they share is the bucket.
    let mut ports = Vec::new();
    let mut servers = Vec::new();
    for replica in ["replica-1", "replica-2"] {
        let copy = dir.join(replica);
        fresh_copy(&root, &copy);
        let (server, port) = api(&copy, &["--refresh", "1"]);
        wait_for_fitting(port, MODEL, &b["fitting_id"], Value::Null);
        servers.push(server);
        ports.push(port);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let load: Vec<_> = ports
        .iter()
        .map(|&port| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let path = format!("/models/{MODEL}/predict");
                    statuses.push(http(port, "POST", &path, body).0);
                }
                statuses
            })
        })
        .collect();
    let promoted = std::time::Instant::now();
    ok(&lore(&root, &["models", "promote", MODEL, ida]));
    for &port in &ports {
        wait_for_fitting(port, MODEL, &a["fitting_id"], "production".into());
    }
    let took = promoted.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let statuses: Vec<u16> = load.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request during the promotion was answered: {statuses:?}"
    );
    // The refresh interval (1 s), the promotion's own upload, and loading the fitting.
    assert!(
        took < std::time::Duration::from_secs(10),
        "both replicas served the promotion {took:?} after it was made"
    );
    drop(servers);
}

#[test]
fn a_damaged_object_is_refused_and_s3_failures_leave_no_registry_change() {
    let Some((dir, root, fitted)) = s3_project("s3-failures", "guarded") else {
        return;
    };
    let id = fitted["fitting_id"].as_str().unwrap();

    // S3 down: every request is tried 4 times (seen with -v), then a clear error; the alias
    // is written nowhere.
    let down = [("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")];
    let out = lore_env(&root, &["-v", "models", "promote", MODEL, id], &down);
    let err = failed(&out);
    holds(&err, &["try 2 of 4", "after 4 tries", "127.0.0.1:9"]);
    let history: Value = ok_json(&lore(&root, &["models", "history", MODEL, "--json"]));
    assert_eq!(history["events"], serde_json::json!([]), "{history}");
    assert_eq!(history["holders"], serde_json::json!({}), "{history}");
    assert_eq!(remote_fittings(&root)[0]["aliases"], serde_json::json!([]));

    // A fit whose upload fails is kept locally, and the error says how to upload it later.
    let out = lore_env(&root, &["-q", "fit", MODEL, "--force", "--upload"], &down);
    let err = failed(&out);
    holds(&err, &["the upload failed", "lore models push"]);
    assert_eq!(
        ok(&lore(&root, &["models", "ls", "--json"]))
            .matches("fitting_id")
            .count(),
        2
    );

    // Wrong credentials: refused at once, saying which.
    let wrong = [("AWS_SECRET_ACCESS_KEY", "not-the-secret")];
    let err = failed(&lore_env(&root, &["models", "push", MODEL, id], &wrong));
    holds(&err, &["credentials were refused"]);
    assert!(!err.contains("try 2"), "a refusal is not retried: {err}");

    // Flip one byte of the stored encoder file: a pull refuses it by name and keeps nothing.
    flip_byte_in_bucket(&bucket_key(&root, MODEL, id, "pipeline.json"));
    let copy = dir.join("copy");
    fresh_copy(&root, &copy);
    refuses(
        &copy,
        &["models", "pull", MODEL, id],
        &["pipeline.json", "damaged"],
    );
    let left: Vec<_> = std::fs::read_dir(copy.join("models").join(MODEL))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "nothing is kept of a bad download: {left:?}"
    );
    refuses(
        &copy,
        &["predict", MODEL, "--input", "x.csv", "--fitting", id],
        &["pipeline.json"],
    );
}

/// The bucket key of one file of a fitting of the project at `root`.
fn bucket_key(root: &Path, model: &str, id: &str, file: &str) -> String {
    let env = std::fs::read_to_string(root.join(".env")).unwrap();
    let prefix = env
        .lines()
        .find_map(|l| l.strip_prefix("LORE_S3_PREFIX="))
        .unwrap();
    format!("{prefix}/development/{model}/{id}/{file}")
}

/// A client of the test bucket of its own, and the bucket's name.
fn bucket_client() -> (aws_sdk_s3::Client, String) {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let var = |n: &str| std::env::var(format!("LORE_TEST_S3_{n}")).unwrap();
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(var("REGION")))
        .endpoint_url(var("ENDPOINT"))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            var("ACCESS_KEY_ID"),
            var("SECRET_ACCESS_KEY"),
            None,
            None,
            "e2e",
        ))
        .build();
    (aws_sdk_s3::Client::from_conf(config), var("BUCKET"))
}

/// The object at `key` in the test bucket.
fn bucket_get(key: &str) -> Vec<u8> {
    let (client, bucket) = bucket_client();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let got = client.get_object().bucket(&bucket).key(key).send().await;
        got.unwrap().body.collect().await.unwrap().to_vec()
    })
}

/// Writes `bytes` at `key` in the test bucket, as anyone with write access to it could.
fn bucket_put(key: &str, bytes: Vec<u8>) {
    let (client, bucket) = bucket_client();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    });
}

/// Flips one byte of the object at `key` in the test bucket.
fn flip_byte_in_bucket(key: &str) {
    let mut bytes = bucket_get(key);
    bytes[10] ^= 1;
    bucket_put(key, bytes);
}

#[test]
fn names_from_a_bucket_never_leave_their_folder_and_bad_fittings_are_skipped() {
    let Some((dir, root, good)) = s3_project("s3-hostile", "hostile") else {
        return;
    };
    let id = good["fitting_id"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&bucket_get(&bucket_key(&root, MODEL, id, "manifest.json")))
            .unwrap();
    let params = bucket_get(&bucket_key(&root, MODEL, id, "params.json"));

    // Fittings sorting after the good one, whose manifests name files outside their folder,
    // each file also in the bucket where a naive download would find it.
    let outside = dir.join("abs");
    let absolute = format!("{}/x", outside.display());
    let hostile = [
        ("zz-dotdot", "../x"),
        ("zz-absolute", absolute.as_str()),
        ("zz-nested", "a/../../x"),
    ];
    for (fake, name) in hostile {
        let mut m = manifest.clone();
        m["files"][name] = m["files"]["params.json"].clone();
        bucket_put(
            &bucket_key(&root, MODEL, fake, "manifest.json"),
            serde_json::to_vec(&m).unwrap(),
        );
        bucket_put(&bucket_key(&root, MODEL, fake, name), params.clone());
        for (file, _) in manifest["files"].as_object().unwrap() {
            let bytes = bucket_get(&bucket_key(&root, MODEL, id, file));
            bucket_put(&bucket_key(&root, MODEL, fake, file), bytes);
        }
    }
    // A fitting id with a slash, and a MODEL whose only fitting is a hostile one.
    bucket_put(
        &bucket_key(&root, MODEL, "zz/slashed", "manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    );
    let mut evil = manifest.clone();
    evil["files"]["../../../x"] = evil["files"]["params.json"].clone();
    bucket_put(
        &bucket_key(&root, "Evil", "20990101-000000-0000", "manifest.json"),
        serde_json::to_vec(&evil).unwrap(),
    );

    let server_dir = dir.join("server");
    fresh_copy(&root, &server_dir);
    let log = dir.join("api.stderr");
    let (server, port) = api_logged(&server_dir, &[], &log);
    let (status, models) = http(port, "GET", "/models", "");
    assert_eq!(status, 200);
    let served: Vec<(&str, &str)> = items(&models["models"])
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["fitting_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        served,
        [(MODEL, id)],
        "the good fitting is served, nothing else"
    );
    let body = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    let (status, predicted) = http(port, "POST", &format!("/models/{MODEL}/predict"), body);
    assert_eq!(status, 200, "{predicted}");
    drop(server);

    let stderr = std::fs::read_to_string(&log).unwrap();
    for name in [
        "\"../x\"",
        &format!("{absolute:?}"),
        "\"a/../../x\"",
        "\"zz/slashed\"",
        "\"../../../x\"",
    ] {
        assert!(stderr.contains(name), "{name} is refused by name: {stderr}");
    }
    assert!(
        stderr.contains("s3://"),
        "the refusal names the bucket: {stderr}"
    );
    let pulled = ok(&lore(&server_dir, &["models", "ls", "--json"]));
    assert!(
        !pulled.contains("zz-"),
        "no hostile fitting is kept: {pulled}"
    );

    // Pulling one by hand is refused the same way, and the command line's names are checked.
    refuses(
        &server_dir,
        &["models", "pull", MODEL, "zz-dotdot"],
        &["\"../x\"", "s3://"],
    );
    refuses(
        &server_dir,
        &["models", "pull", MODEL, "zz/../../escape"],
        &["path separator"],
    );

    // Nothing anywhere but the good fitting's own files in models/<Model>/<id>/.
    assert!(!outside.exists(), "nothing written at an absolute path");
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            match entry.path().is_dir() {
                true => stack.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    assert!(
        !files.iter().any(|f| f.file_name().unwrap() == "x"),
        "no file x was written: {files:?}"
    );
    let fittings = server_dir.join("models");
    for file in files.iter().filter(|f| f.starts_with(&fittings)) {
        let inside = file.strip_prefix(&fittings).unwrap();
        assert!(
            inside.starts_with(Path::new(MODEL).join(id)),
            "{} is outside models/{MODEL}/{id}/",
            file.display()
        );
    }
}
