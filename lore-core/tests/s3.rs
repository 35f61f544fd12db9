//! Object storage against a real S3 server: Garage on loopback, started by scripts/garage
//! (`LORE_TEST_S3_*`; with `LORE_REQUIRE_S3=1`, as in scripts/test and CI, its absence fails).
//! One test in this binary, because it gives the AWS chain its credentials through the
//! process environment.

use std::time::Duration;

use lore_core::env::S3Settings;
use lore_core::io::s3::S3;

#[path = "../src/testing.rs"]
mod testing;
use testing::holds;

fn settings() -> Option<S3Settings> {
    let var = |n: &str| std::env::var(format!("LORE_TEST_S3_{n}")).unwrap_or_default();
    if var("ENDPOINT").is_empty() {
        assert!(
            std::env::var("LORE_REQUIRE_S3").is_err(),
            "LORE_REQUIRE_S3 is set but LORE_TEST_S3_ENDPOINT is not"
        );
        eprintln!(
            "LORE_TEST_S3_ENDPOINT is not set: S3 cases skipped (scripts/test starts Garage)"
        );
        return None;
    }
    std::env::set_var("AWS_ACCESS_KEY_ID", var("ACCESS_KEY_ID"));
    std::env::set_var("AWS_SECRET_ACCESS_KEY", var("SECRET_ACCESS_KEY"));
    Some(S3Settings {
        file: "config/aws.toml".into(),
        bucket: var("BUCKET"),
        prefix: String::new(),
        region: Some(var("REGION")),
        endpoint: Some(var("ENDPOINT")),
        path_style: true,
        part_size: 5 * 1024 * 1024,
        attempts: 3,
        timeout: Duration::from_secs(30),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn upload_download_list_and_checksums_against_a_real_server() {
    let Some(settings) = settings() else {
        return;
    };
    let s3 = S3::connect(&settings).await;
    let run = format!("lore-core-test-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();

    // 12 MiB in 5 MiB parts: a multipart upload of three parts, each checked by SHA-256.
    let big: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &big).unwrap();
    let key = format!("{run}/fitting/big.bin");
    s3.upload(&path, &key, &sha256_hex(&big)).await.unwrap();
    let back = dir.path().join("back.bin");
    assert!(s3.download(&key, &back).await.unwrap());
    assert!(
        std::fs::read(&back).unwrap() == big,
        "the same bytes come back"
    );

    // A small file in one request; bytes that do not match the SHA-256 given are refused.
    let small = dir.path().join("small.json");
    std::fs::write(&small, b"{\"a\": 1}").unwrap();
    let small_key = format!("{run}/fitting/small.json");
    s3.upload(&small, &small_key, &sha256_hex(b"{\"a\": 1}"))
        .await
        .unwrap();
    let wrong = s3
        .upload(
            &small,
            &format!("{run}/fitting/wrong.json"),
            &sha256_hex(b"other"),
        )
        .await
        .unwrap_err()
        .to_string();
    holds(&wrong, &["wrong.json"]);

    let listed = s3.list(&format!("{run}/")).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, [key.as_str(), small_key.as_str()]);
    assert_eq!(listed[0].bytes, big.len() as u64);

    assert_eq!(s3.read(&format!("{run}/none")).await.unwrap(), None);
    assert!(!s3.download(&format!("{run}/none"), &back).await.unwrap());
    s3.write(&format!("{run}/note"), b"hello").await.unwrap();
    assert_eq!(
        s3.read(&format!("{run}/note")).await.unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    for k in [key, small_key, format!("{run}/note")] {
        s3.delete(&k).await.unwrap();
    }
    assert!(s3.list(&format!("{run}/")).await.unwrap().is_empty());

    // A server that is not there: tried `attempts` times, then an error naming the endpoint.
    let down = S3Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..settings
    };
    let e = S3::connect(&down)
        .await
        .read("x")
        .await
        .unwrap_err()
        .to_string();
    holds(&e, &["127.0.0.1:9", "after 3 tries"]);
}
