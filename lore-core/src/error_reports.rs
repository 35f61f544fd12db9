//! Error reports to Sentry, or any server that takes its protocol (Bugsink, GlitchTip), when a
//! DSN is set: `SENTRY_DSN` in the environment or `.env`, else `dsn` in `config/sentry.toml`.
//! What is reported: a command's failure, a panic, every error logged (an API answer of 5xx among
//! them), each with the log lines before it as breadcrumbs; the release (the project's commit and
//! Lore's version), the environment (`LORE_ENV`), and the model and fitting as tags. Every event
//! is scrubbed before it leaves: URLs' passwords, settings and fields named like secrets, and
//! the values of the environment's secret variables.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::env::{self, expand_vars, Project};
use crate::error::{Error, Result};
use crate::redact::{is_secret_name, redact, MASK, NAME_FIELDS, VALUE_FIELDS};

/// The config file that may name the DSN and how much is sent.
pub const CONFIG_FILE: &str = "sentry.toml";

/// The variable that names the DSN, as in every Sentry SDK.
pub const DSN_VARIABLE: &str = "SENTRY_DSN";

/// The log target of a command's failure, reported as the command's one event.
pub const FAILURE_TARGET: &str = "lore_failure";

/// How long the last events may take to be sent when the process exits.
const FLUSH: Duration = Duration::from_secs(5);

/// Values of secret variables shorter than this are not looked for in events: too likely to
/// match ordinary text (`1`, `true`).
const MIN_SECRET: usize = 8;

/// `config/sentry.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentryFile {
    dsn: Option<String>,
    environment: Option<String>,
    sample_rate: Option<f32>,
}

/// Where reports go and how they are labelled.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server and project events are sent to.
    pub dsn: sentry::types::Dsn,
    /// `LORE_ENV`, unless `config/sentry.toml` names another.
    pub environment: String,
    /// The share of errors sent, 0 to 1.
    pub sample_rate: f32,
    /// `<project>@<project commit>+lore-<Lore's version>`.
    pub release: String,
}

/// The settings of the project at `project` (or outside any project: `SENTRY_DSN` alone), for
/// Lore `lore_version`; `None` when no DSN is set.
pub fn settings(project: Option<&Project>, lore_version: &str) -> Result<Option<Settings>> {
    let layered = match project {
        Some(project) => project.config::<SentryFile>(CONFIG_FILE)?,
        None => None,
    };
    let shown = layered
        .as_ref()
        .map(|l| l.shown())
        .unwrap_or_else(|| Path::new("config").join(CONFIG_FILE));
    let file = layered.map(|l| l.value).unwrap_or_default();
    let expand = |key: &str, raw: &str| {
        expand_vars(raw).map_err(|m| Error::config(&shown, format!("{key}: {m}")))
    };
    let from_env = std::env::var(DSN_VARIABLE)
        .ok()
        .filter(|d| !d.trim().is_empty());
    let (dsn, origin) = match (from_env, &file.dsn) {
        (Some(dsn), _) => (dsn, DSN_VARIABLE.to_string()),
        (None, Some(raw)) => (expand("dsn", raw)?, format!("{}: dsn", shown.display())),
        (None, None) => return Ok(None),
    };
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return Ok(None);
    }
    let dsn = dsn.parse().map_err(|e| {
        Error::config(
            &shown,
            format!(
                "{origin} is not a DSN ({e}): {}; copy it from the error tracker's project \
                 settings, like https://KEY@HOST/PROJECT",
                redact(dsn)
            ),
        )
    })?;
    let sample_rate = file.sample_rate.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_rate) {
        return Err(Error::config(
            &shown,
            format!("sample_rate = {sample_rate}: it is the share of errors sent, from 0 to 1"),
        ));
    }
    let environment = match &file.environment {
        Some(raw) => expand("environment", raw)?,
        None => env::current(),
    };
    Ok(Some(Settings {
        dsn,
        environment,
        sample_rate,
        release: release(project, lore_version),
    }))
}

/// `<project>@<commit>+lore-<version>`: the project's git commit (`unversioned` outside git) and
/// Lore's version, which together say what code ran; `lore@<version>` outside a project.
fn release(project: Option<&Project>, lore_version: &str) -> String {
    let Some(project) = project else {
        return format!("lore@{lore_version}");
    };
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&project.root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unversioned".to_string());
    format!("{}@{commit}+lore-{lore_version}", project.name)
}

/// Reporting under way: reports are sent until it is dropped, which waits a few seconds for the
/// last ones to leave.
pub struct Reporting {
    _client: sentry::ClientInitGuard,
}

/// Starts reporting with `settings`.
pub fn start(settings: &Settings) -> Reporting {
    let secrets = Arc::new(secret_values());
    let breadcrumb_secrets = Arc::clone(&secrets);
    let client = sentry::init(sentry::ClientOptions {
        dsn: Some(settings.dsn.clone()),
        release: Some(Cow::Owned(settings.release.clone())),
        environment: Some(Cow::Owned(settings.environment.clone())),
        sample_rate: settings.sample_rate,
        send_default_pii: false,
        shutdown_timeout: FLUSH,
        before_send: Some(Arc::new(move |event| scrubbed(event, &secrets))),
        before_breadcrumb: Some(Arc::new(move |crumb| scrubbed(crumb, &breadcrumb_secrets))),
        ..Default::default()
    });
    Reporting { _client: client }
}

/// The layer that turns log lines into reports: errors become events (a command's failure too),
/// warnings and information become the breadcrumbs of the next event.
pub fn tracing_layer<S>() -> sentry::integrations::tracing::SentryLayer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use sentry::integrations::tracing::EventFilter;
    sentry::integrations::tracing::layer().event_filter(|metadata| match *metadata.level() {
        tracing::Level::ERROR => EventFilter::Event,
        tracing::Level::WARN | tracing::Level::INFO => EventFilter::Breadcrumb,
        _ => EventFilter::Ignore,
    })
}

/// Labels every report this process sends from now on with `key` = `value` (the command, the
/// model, the fitting).
pub fn tag(key: &str, value: &str) {
    sentry::Hub::main().configure_scope(|scope| scope.set_tag(key, value));
}

/// Whether reports are being sent.
pub fn enabled() -> bool {
    sentry::Hub::main()
        .client()
        .is_some_and(|client| client.is_enabled())
}

/// The values of this process's variables named like secrets (`*_PASSWORD`, `*_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`, ...), looked for in every event whatever text holds them.
fn secret_values() -> Vec<String> {
    let mut values: Vec<String> = std::env::vars()
        .filter(|(name, value)| is_secret_name(name) && value.len() >= MIN_SECRET)
        .map(|(_, value)| value)
        .collect();
    // The longest first, so that a secret holding another is masked whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values
}

/// `item` (an event or a breadcrumb) with its secrets masked, through its JSON form so that no
/// field is missed; `None` (not sent) in the unlikely case it cannot be read back.
fn scrubbed<T: serde::Serialize + serde::de::DeserializeOwned>(
    item: T,
    secrets: &[String],
) -> Option<T> {
    let mut value = serde_json::to_value(&item).ok()?;
    scrub(&mut value, secrets);
    serde_json::from_value(value).ok()
}

/// Masks, anywhere in `value`: the text of a field named like a secret, the secrets [`redact`]
/// finds in any text, and each of `secrets`.
fn scrub(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) => {
            let mut clean = redact(text);
            for secret in secrets {
                if clean.contains(secret.as_str()) {
                    clean = clean.replace(secret.as_str(), MASK);
                }
            }
            *text = clean;
        }
        Value::Array(items) => items.iter_mut().for_each(|item| scrub(item, secrets)),
        Value::Object(fields) => {
            // `{"key": "sslpassword", "value": "..."}`, as a library logs a setting.
            let names_secret = fields.iter().any(|(name, field)| {
                NAME_FIELDS.contains(&name.as_str()) && field.as_str().is_some_and(is_secret_name)
            });
            for (name, field) in fields.iter_mut() {
                let secret =
                    is_secret_name(name) || (names_secret && VALUE_FIELDS.contains(&name.as_str()));
                match field {
                    Value::String(text) if secret && !text.is_empty() => {
                        *text = MASK.to_string();
                    }
                    _ => scrub(field, secrets),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Breadcrumb, Event, Exception, Level};

    #[test]
    fn events_lose_every_secret_and_keep_the_rest() {
        let mut event = Event {
            message: Some(
                "cannot connect to postgres://lore:hunter2-planted@db:5432/x?sslpassword=s3cr3t \
                 with token ABCDEFGH-planted-value"
                    .into(),
            ),
            level: Level::Error,
            ..Default::default()
        };
        event.tags.insert("model".into(), "Churn".into());
        event.extra.insert("api_key".into(), "key-planted".into());
        event.exception.values.push(Exception {
            ty: "lore fit".into(),
            value: Some("password=hunter3 failed".into()),
            ..Default::default()
        });
        event.breadcrumbs.values.push(Breadcrumb {
            message: Some("Authorization: Bearer ABCDEFGH-planted-value".into()),
            ..Default::default()
        });
        let mut setting = Breadcrumb {
            message: Some("ignoring unrecognized connect parameter".into()),
            ..Default::default()
        };
        setting.data.insert("key".into(), "sslpassword".into());
        setting.data.insert("value".into(), "ssl-planted".into());
        event.breadcrumbs.values.push(setting);
        let secrets = vec!["ABCDEFGH-planted-value".to_string()];
        let Some(clean) = scrubbed(event, &secrets) else {
            panic!("the event was dropped");
        };
        let text = serde_json::to_string(&clean).unwrap_or_default();
        for planted in [
            "hunter2",
            "hunter3",
            "s3cr3t",
            "key-planted",
            "ABCDEFGH",
            "ssl-planted",
        ] {
            assert!(!text.contains(planted), "{planted} left in {text}");
        }
        assert_eq!(clean.tags.get("model").map(String::as_str), Some("Churn"));
        assert_eq!(clean.exception.values[0].ty, "lore fit");
        assert!(text.contains("postgres://lore:***@db:5432/x"), "{text}");
    }

    #[test]
    fn a_dsn_comes_from_the_environment_or_config_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        std::fs::write(root.join(env::PROJECT_FILE), "[app]\nname = \"churn\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(root.join("config")).unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(root).unwrap_or_else(|e| panic!("{e}"));
        let config = root.join("config").join(CONFIG_FILE);
        std::fs::write(
            &config,
            "dsn = \"https://abc@errors.example/7\"\nsample_rate = 0.5\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let Ok(Some(found)) = settings(Some(&project), "0.1.0") else {
            panic!("no settings from {}", config.display());
        };
        assert_eq!(found.dsn.host(), "errors.example");
        assert_eq!(found.dsn.project_id().to_string(), "7");
        assert_eq!(found.sample_rate, 0.5);
        assert!(found.release.starts_with("churn@"), "{}", found.release);
        assert!(found.release.ends_with("+lore-0.1.0"), "{}", found.release);
        std::fs::write(&config, "dsn = \"not a dsn:pw@\"\n").unwrap_or_else(|e| panic!("{e}"));
        let message = settings(Some(&project), "0.1.0")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("sentry.toml") && message.contains("not a DSN"));
        std::fs::write(&config, "dsn = \"\"\nsample_rate = 2.0\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(settings(Some(&project), "0.1.0"), Ok(None)));
    }
}
