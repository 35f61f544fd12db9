//! Who may call the API: API keys (sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`,
//! kept only as SHA-256 digests and compared in constant time) and JWTs (HS256 with a secret,
//! RS256 or ES256 with a public key; `exp`, and `aud` and `iss` when configured, checked).
//! Configured in `config/api.toml` (`${VAR}` expanded) and by `lore api`'s flags. Probes and
//! `/metrics` answer without a credential unless `open_probes = false`. A refusal is a 401 with
//! `WWW-Authenticate` that never repeats the credential.

use std::fmt;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;
use super::ApiState;
use crate::env::{expand_vars, Project};
use crate::error::{Error, Result};

/// The routes that answer without a credential when probes are open.
const PROBES: [&str; 7] = [
    "/livez", "/healthz", "/health", "/readyz", "/ping", "/version", "/metrics",
];

/// How requests are authenticated; none configured lets every request in.
#[derive(Clone, Default)]
pub struct Auth {
    /// SHA-256 digests of the API keys taken.
    pub key_digests: Vec<[u8; 32]>,
    /// How JWTs are checked, when they are taken.
    pub jwt: Option<Jwt>,
    /// Whether probes and `/metrics` answer without a credential.
    pub open_probes: bool,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Auth({} keys, jwt: {}, open probes: {})",
            self.key_digests.len(),
            self.jwt.is_some(),
            self.open_probes
        )
    }
}

/// What a JWT must be to be taken: signed with `key` by one of the algorithms of `validation`,
/// unexpired, and for the audience and issuer configured.
#[derive(Clone)]
pub struct Jwt {
    key: DecodingKey,
    validation: Validation,
}

/// `config/api.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiFile {
    auth: Option<AuthSection>,
    /// Write every prediction to the metadata database's `predictions` table.
    pub log_predictions: Option<bool>,
    /// Most log entries waiting to be written; past it entries are dropped and counted.
    pub prediction_log_buffer: Option<usize>,
}

/// `config/api.toml` in `project` and its path (empty settings when it is missing).
pub(super) fn api_file(project: &Project) -> Result<(std::path::PathBuf, ApiFile)> {
    Ok(match project.config::<ApiFile>("api.toml")? {
        Some(layered) => (layered.shown(), layered.value),
        None => (
            project.root.join("config").join("api.toml"),
            ApiFile::default(),
        ),
    })
}

/// `[auth]` of `config/api.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    #[serde(default)]
    api_keys_sha256: Vec<String>,
    open_probes: Option<bool>,
    jwt: Option<JwtSection>,
}

/// `[auth.jwt]` of `config/api.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtSection {
    algorithm: String,
    secret: Option<String>,
    public_key_file: Option<String>,
    audience: Option<String>,
    issuer: Option<String>,
}

/// The SHA-256 digest of `key`, in lowercase hex, as `api_keys_sha256` takes it.
pub fn key_digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A digest given in hex, or what is wrong with it.
pub fn parse_digest(hex: &str) -> std::result::Result<[u8; 32], String> {
    let hex = hex.trim();
    let shown = || format!("`{}…`", hex.chars().take(8).collect::<String>());
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{} is not a SHA-256 digest (64 hex digits); make one with `printf %s \"$KEY\" | \
             sha256sum`",
            shown()
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| shown())?;
    }
    Ok(out)
}

impl Auth {
    /// Whether any credential is asked for.
    pub fn is_enabled(&self) -> bool {
        !self.key_digests.is_empty() || self.jwt.is_some()
    }

    /// The settings of `config/api.toml` in `project` (none when it is missing).
    pub fn of(project: &Project) -> Result<Auth> {
        let (path, file) = api_file(project)?;
        let Some(section) = file.auth else {
            return Ok(Auth {
                open_probes: true,
                ..Auth::default()
            });
        };
        let expand = |key: &str, raw: &str| {
            expand_vars(raw).map_err(|m| Error::config(&path, format!("[auth] {key}: {m}")))
        };
        let mut key_digests = Vec::new();
        for (i, raw) in section.api_keys_sha256.iter().enumerate() {
            let value = expand("api_keys_sha256", raw)?;
            if value.trim().is_empty() {
                continue;
            }
            let digest = parse_digest(&value).map_err(|m| {
                Error::config(&path, format!("[auth] api_keys_sha256 item {}: {m}", i + 1))
            })?;
            key_digests.push(digest);
        }
        let jwt = match section.jwt {
            Some(jwt) => Some(Jwt::of(&path, &project.root, &jwt)?),
            None => None,
        };
        Ok(Auth {
            key_digests,
            jwt,
            open_probes: section.open_probes.unwrap_or(true),
        })
    }

    /// Whether `request` carries a credential this takes; `Err` says why not, never repeating
    /// the credential.
    fn check(&self, request: &Request) -> std::result::Result<(), &'static str> {
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let Some(credential) = key.or(bearer) else {
            return Err(
                "no credential: send `Authorization: Bearer <key or token>` or `X-API-Key: <key>`",
            );
        };
        if self.key_matches(credential) {
            return Ok(());
        }
        match (
            &self.jwt,
            key.is_none() && credential.split('.').count() == 3,
        ) {
            (Some(jwt), true) => jwt.check(credential),
            _ => Err("the credential was refused"),
        }
    }

    /// Whether the SHA-256 of `key` is one of the digests taken, compared in constant time and
    /// against every digest, so the answer's timing says nothing of which came close.
    fn key_matches(&self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        let mut matched = subtle::Choice::from(0);
        for known in &self.key_digests {
            matched |= known.ct_eq(digest.as_slice());
        }
        matched.into()
    }
}

impl Jwt {
    /// The JWT settings of `[auth.jwt]` in `path`, relative files from `root`.
    fn of(path: &Path, root: &Path, section: &JwtSection) -> Result<Jwt> {
        let fail = |m: String| Error::config(path, format!("[auth.jwt] {m}"));
        let expand =
            |key: &str, raw: &str| expand_vars(raw).map_err(|m| fail(format!("{key}: {m}")));
        let algorithm = match section.algorithm.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => {
                return Err(fail(format!(
                    "algorithm: `{}` is not taken; use HS256, RS256 or ES256",
                    other.chars().take(20).collect::<String>()
                )))
            }
        };
        let key = match (algorithm, &section.secret, &section.public_key_file) {
            (Algorithm::HS256, Some(secret), None) => {
                let secret = expand("secret", secret)?;
                if secret.len() < 32 {
                    return Err(fail(format!(
                        "secret: {} bytes; an HS256 secret needs at least 32",
                        secret.len()
                    )));
                }
                DecodingKey::from_secret(secret.as_bytes())
            }
            (Algorithm::RS256 | Algorithm::ES256, None, Some(file)) => {
                let file = expand("public_key_file", file)?;
                let pem_path = root.join(&file);
                let pem = std::fs::read(&pem_path).map_err(|e| Error::io(&pem_path, e))?;
                let key = match algorithm {
                    Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                    _ => DecodingKey::from_ec_pem(&pem),
                };
                key.map_err(|e| fail(format!("public_key_file {file}: not a PEM public key: {e}")))?
            }
            (Algorithm::HS256, _, _) => {
                return Err(fail("HS256 takes `secret` (and no public_key_file)".into()))
            }
            _ => {
                return Err(fail(format!(
                    "{} takes `public_key_file`, a PEM public key (and no secret)",
                    section.algorithm
                )))
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp"]);
        match &section.audience {
            Some(audience) => validation.set_audience(&[expand("audience", audience)?]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &section.issuer {
            validation.set_issuer(&[expand("issuer", issuer)?]);
        }
        Ok(Jwt { key, validation })
    }

    /// Whether `token` is signed by the key and valid now, for the audience and issuer.
    fn check(&self, token: &str) -> std::result::Result<(), &'static str> {
        use jsonwebtoken::errors::ErrorKind;
        match jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &self.validation) {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::InvalidAudience => "the token is not for this audience",
                ErrorKind::InvalidIssuer => "the token is not from the issuer taken",
                ErrorKind::MissingRequiredClaim(_) => "the token has no `exp`",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                _ => "the token was refused (bad signature, algorithm or form)",
            }),
        }
    }
}

/// Lets a request in when it needs no credential or carries one taken; else a 401.
pub(super) async fn authenticate(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let auth = &state.settings.auth;
    if !auth.is_enabled() || (auth.open_probes && PROBES.contains(&request.uri().path())) {
        return next.run(request).await;
    }
    match auth.check(&request) {
        Ok(()) => next.run(request).await,
        Err(why) => {
            tracing::debug!("refused a request: {why}");
            let mut response = ApiError::new(StatusCode::UNAUTHORIZED, why).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lore\""),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_and_bad_ones_say_how_to_make_one() {
        let hex = key_digest("s3cret-key");
        assert_eq!(hex.len(), 64);
        let auth = Auth {
            key_digests: vec![parse_digest(&hex).unwrap_or_default()],
            ..Auth::default()
        };
        assert!(auth.key_matches("s3cret-key"));
        assert!(!auth.key_matches("s3cret-kez"));
        let e = parse_digest("abc").err().unwrap_or_default();
        assert!(e.contains("sha256sum") && !e.contains("abc…x"), "{e}");
    }
}
