//! Object storage: an S3 bucket (AWS, or any S3-compatible server such as MinIO or Garage)
//! through aws-sdk-s3. Every request is tried up to [`S3Settings::attempts`] times, backing off
//! between tries and logging each retry (seen with `--verbose`); an error says which bucket and
//! key, what the server said, and what to check. Credentials come from the standard AWS chain
//! (environment, `AWS_PROFILE` and `~/.aws`, instance roles), never from the project's files.

use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::env::S3Settings;
use crate::error::{Error, Result};

/// The most bytes an object read whole into memory may have (16 MiB).
pub const MAX_READ: i64 = 16 << 20;
/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its key, from the bucket's root.
    pub key: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A bucket reached with the settings of `config/aws.toml`.
#[derive(Clone)]
pub struct S3 {
    client: Client,
    settings: S3Settings,
}

/// How a failed request is treated.
enum Failure {
    /// Worth another try: the server was unreachable, slow, or said so (5xx, 429, SlowDown).
    Transient(String),
    /// Trying again would not help: refused credentials, a missing bucket, a bad request.
    Permanent(String),
}

/// Sorts an SDK error into transient or permanent, with the server's code and message (or the
/// whole chain of causes when nothing came back).
fn classify<E>(e: &SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = e.code().unwrap_or("");
            let message = match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => format!("HTTP {status}"),
            };
            let busy = matches!(
                code,
                "SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable"
            );
            if status >= 500 || status == 429 || busy {
                Failure::Transient(message)
            } else {
                Failure::Permanent(message)
            }
        }
        SdkError::ConstructionFailure(_) => Failure::Permanent(causes(e)),
        _ => {
            let text = causes(e);
            // No credentials anywhere in the chain is not something a retry fixes.
            if text.contains("credentials") || text.contains("Credentials") {
                Failure::Permanent(text)
            } else {
                Failure::Transient(text)
            }
        }
    }
}

/// An error and its causes, each said once: `dispatch failure: io error: ... Connection refused`.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    text
}

/// The SHA-256 of `bytes`, base64 as S3's `x-amz-checksum-sha256` wants it.
fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The base64 form of a hex SHA-256 (as a fitting's manifest records it).
fn hex_to_base64(hex: &str) -> Option<String> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl S3 {
    /// A client for the bucket of `settings`, with credentials from the AWS chain. Nothing is
    /// sent until the first request.
    pub async fn connect(settings: &S3Settings) -> S3 {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.path_style)
            // Retries are ours, so that each one is logged with its reason and delay.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(settings.timeout))
                    .operation_attempt_timeout(settings.timeout)
                    .build(),
            );
        if shared.region().is_none() {
            builder = builder.region(Region::new("us-east-1"));
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        S3 {
            client: Client::from_conf(builder.build()),
            settings: settings.clone(),
        }
    }

    /// The settings the client was made with.
    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.settings.bucket)
    }

    /// The error for a request that failed for good, with what to check.
    fn error(&self, what: &str, key: &str, message: &str, tries: u32) -> Error {
        let endpoint = self
            .settings
            .endpoint
            .clone()
            .unwrap_or_else(|| "AWS".to_string());
        let hint = if message.contains("loading credentials")
            || message.contains("no credentials")
            || message.contains("credentials provider")
        {
            "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             AWS_PROFILE"
                .to_string()
        } else if message.contains("InvalidAccessKeyId")
            || message.contains("SignatureDoesNotMatch")
            || message.contains("AccessDenied")
            || message.contains("Forbidden")
            || message.contains("HTTP 403")
        {
            "the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or \
             AWS_PROFILE) and that the key may read and write the bucket"
                .to_string()
        } else if message.contains("NoSuchBucket") {
            format!(
                "the bucket does not exist: create it, or fix `bucket` in {}",
                self.settings.file.display()
            )
        } else {
            format!(
                "check that {endpoint} is up and that `endpoint`, `region` and `bucket` in {} \
                 are right",
                self.settings.file.display()
            )
        };
        let tries = match tries {
            1 => String::new(),
            n => format!(" (after {n} tries)"),
        };
        Error::Storage(format!(
            "{what} {} at {endpoint} failed{tries}: {message}; {hint}",
            self.url(key)
        ))
    }

    /// Runs `request` until it succeeds, fails for good, or has been tried `attempts` times,
    /// waiting 0.2 s, 0.4 s, 0.8 s ... between tries.
    async fn attempt<T, E, F, Fut>(&self, what: &str, key: &str, mut request: F) -> Result<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E>>>,
    {
        let attempts = self.settings.attempts.max(1);
        let mut delay = Duration::from_millis(200);
        for n in 1..=attempts {
            match request().await {
                Ok(v) => return Ok(v),
                Err(e) => match classify(&e) {
                    Failure::Transient(m) if n < attempts => {
                        tracing::info!(
                            "S3 {what} {}: {m}; try {} of {attempts} in {:.1}s",
                            self.url(key),
                            n + 1,
                            delay.as_secs_f64()
                        );
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                    Failure::Transient(m) | Failure::Permanent(m) => {
                        return Err(self.error(what, key, &m, n))
                    }
                },
            }
        }
        Err(self.error(what, key, "no try was made", 0))
    }

    /// Every object whose key starts with `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Object>> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .attempt("list", prefix, || {
                    self.client
                        .list_objects_v2()
                        .bucket(&self.settings.bucket)
                        .prefix(prefix)
                        .set_continuation_token(token.clone())
                        .send()
                })
                .await?;
            objects.extend(page.contents().iter().filter_map(|o| {
                Some(Object {
                    key: o.key()?.to_string(),
                    bytes: o.size().unwrap_or(0).max(0) as u64,
                })
            }));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => {
                    token = Some(next.to_string())
                }
                _ => break,
            }
        }
        Ok(objects)
    }

    /// The answer to a GET of `key` (its body still to be read), or `None` when there is no
    /// such object.
    async fn get(&self, key: &str) -> Result<Option<GetObjectOutput>> {
        self.attempt("get", key, || async {
            match self
                .client
                .get_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => Ok(Some(out)),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// The object at `key`, or `None` when there is none. Objects read whole (manifests, alias
    /// objects) are small; one over [`MAX_READ`] bytes is refused before it is read.
    pub async fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(out) = self.get(key).await? else {
            return Ok(None);
        };
        if out.content_length.is_some_and(|n| n > MAX_READ) {
            return Err(Error::Storage(format!(
                "{}: {} bytes, more than the {MAX_READ} a manifest or alias object may have; \
                 it was not written by Lore: remove it",
                self.url(key),
                out.content_length.unwrap_or_default()
            )));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| self.error("get", key, &causes(&e), 1))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Writes `bytes` at `key`; the server checks them against their SHA-256.
    pub async fn write(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let sum = checksum(bytes);
        self.attempt("put", key, || {
            self.client
                .put_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .checksum_sha256(&sum)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Uploads the file at `path` to `key`, whose SHA-256 (hex) is `sha256`: the server refuses
    /// bytes that do not match. Files larger than the part size go up in parts.
    pub async fn upload(&self, path: &Path, key: &str, sha256: &str) -> Result<()> {
        let bytes = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if bytes > self.settings.part_size {
            return self.upload_in_parts(path, key, bytes).await;
        }
        let sum = hex_to_base64(sha256).ok_or_else(|| {
            Error::Storage(format!("{}: `{sha256}` is not a SHA-256", path.display()))
        })?;
        self.attempt("put", key, || async {
            let body = ByteStream::from_path(path).await.map_err(|e| {
                SdkError::construction_failure(Error::Storage(format!(
                    "{}: {}",
                    path.display(),
                    causes(&e)
                )))
            })?;
            self.client
                .put_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .checksum_sha256(&sum)
                .body(body)
                .send()
                .await
        })
        .await
        .map(|_| ())
    }

    /// A multipart upload, each part with its own SHA-256; aborted on failure so that no parts
    /// are left behind.
    async fn upload_in_parts(&self, path: &Path, key: &str, bytes: u64) -> Result<()> {
        let created = self
            .attempt("start multipart upload", key, || {
                self.client
                    .create_multipart_upload()
                    .bucket(&self.settings.bucket)
                    .key(key)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .send()
            })
            .await?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let sent = self.send_parts(path, key, bytes, &upload_id).await;
        let completed = match sent {
            Ok(parts) => {
                self.attempt("complete multipart upload", key, || {
                    self.client
                        .complete_multipart_upload()
                        .bucket(&self.settings.bucket)
                        .key(key)
                        .upload_id(&upload_id)
                        .multipart_upload(
                            CompletedMultipartUpload::builder()
                                .set_parts(Some(parts.clone()))
                                .build(),
                        )
                        .send()
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = completed {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.settings.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(a) = aborted {
                tracing::warn!(
                    "could not abort the multipart upload of {}: {}",
                    self.url(key),
                    causes(&a)
                );
            }
            return Err(e);
        }
        Ok(())
    }

    async fn send_parts(
        &self,
        path: &Path,
        key: &str,
        bytes: u64,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let size = self.settings.part_size;
        let mut parts = Vec::new();
        for (i, offset) in (0..bytes).step_by(size as usize).enumerate() {
            let number = i as i32 + 1;
            let mut chunk = vec![0u8; size.min(bytes - offset) as usize];
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut chunk))
                .map_err(|e| Error::io(path, e))?;
            let sum = checksum(&chunk);
            let what = format!("put part {number}");
            let out = self
                .attempt(&what, key, || {
                    self.client
                        .upload_part()
                        .bucket(&self.settings.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .checksum_sha256(&sum)
                        .body(ByteStream::from(chunk.clone()))
                        .send()
                })
                .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .checksum_sha256(sum)
                    .build(),
            );
        }
        Ok(parts)
    }

    /// Downloads `key` into the file `path`; `false` when there is no such object.
    pub async fn download(&self, key: &str, path: &Path) -> Result<bool> {
        let Some(mut out) = self.get(key).await? else {
            return Ok(false);
        };
        let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        while let Some(block) = out.body.next().await {
            let block = block.map_err(|e| self.error("get", key, &causes(&e), 1))?;
            file.write_all(&block).map_err(|e| Error::io(path, e))?;
        }
        file.sync_all().map_err(|e| Error::io(path, e))?;
        Ok(true)
    }

    /// Deletes the object at `key` (nothing happens when there is none).
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.attempt("delete", key, || {
            self.client
                .delete_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .send()
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_base64_of_the_sha256() {
        // The SHA-256 of "abc", as S3 documents it.
        assert_eq!(
            checksum(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            hex_to_base64(hex).as_deref(),
            Some(checksum(b"abc").as_str())
        );
        assert_eq!(hex_to_base64("zz"), None);
    }
}
