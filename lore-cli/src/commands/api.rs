//! `lore api`: the server's settings from the flags, then serving.

use super::*;

pub(super) async fn api(args: ApiArgs, host: &Host, verbose: bool) -> Result<ExitCode> {
    let project = current_project()?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| {
            format!(
                "--host {} --port {}: not an address to listen on",
                args.host, args.port
            )
        })?;
    let mut settings = api_settings(&args)?;
    settings.auth = serve::Auth::of(&project)?;
    settings.log_predictions = serve::prediction_log::configured(&project)?;
    for digest in args.api_key_sha256.iter().filter(|d| !d.trim().is_empty()) {
        let digest =
            serve::parse_digest(digest).map_err(|m| anyhow::anyhow!("--api-key-sha256: {m}"))?;
        settings.auth.key_digests.push(digest);
    }
    if !addr.ip().is_loopback() && !settings.auth.is_enabled() && !args.allow_unauthenticated {
        bail!(
            "--host {}: other machines could call this API, and no authentication is \
             configured; set API keys (--api-key-sha256, or [auth] in config/api.toml) or a JWT \
             key ([auth.jwt]), or say --allow-unauthenticated",
            args.host
        );
    }
    let state = serve::ApiState::load(&project, settings).await?;
    if let Some(code) = delegate::hand_over(host, &project, &state.unregistered(), verbose)? {
        return Ok(code);
    }
    let refresh = (args.refresh > 0).then(|| std::time::Duration::from_secs(args.refresh));
    if state.models().is_empty() {
        let when = match refresh {
            Some(every) => format!("within {}s (--refresh)", every.as_secs()),
            None => "on SIGHUP (--refresh 0 turned looking for them off)".to_string(),
        };
        eprintln!("warning: no fitted models yet; `lore fit MODEL`, and this API serves it {when}");
    }
    let models = state.models().join(", ");
    let serving = state.serving();
    state.follow(refresh);
    serve::serve(state, addr, |bound| {
        let mut lines = format!(
            "Serving {} on http://{bound}\n",
            if models.is_empty() {
                "no models"
            } else {
                &models
            }
        );
        for (model, fitting, alias) in &serving {
            let chosen = alias.as_deref().unwrap_or("latest");
            lines.push_str(&format!("  {model}: fitting {fitting} ({chosen})\n"));
        }
        lines.push_str(
            "  protocols: Lore POST /models/{name}/predict, MLflow POST /invocations, Open \
             Inference V2 POST /v2/models/{name}/infer, probes /livez /readyz, Prometheus \
             /metrics, OpenAPI /openapi.json\n",
        );
        // Whoever started the server may stop reading its output; serving goes on regardless.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(lines.as_bytes()).and_then(|()| out.flush());
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The server settings of `lore api`'s flags.
pub(super) fn api_settings(args: &ApiArgs) -> Result<serve::Settings> {
    let seconds = |flag: &str, value: f64| -> Result<std::time::Duration> {
        std::time::Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("--{flag} {value}: give a number of seconds above 0"))
    };
    Ok(serve::Settings {
        limits: serve::Limits {
            rows: args.max_records,
            keys: args.max_fields,
            text: args.max_text,
            unknown: args.max_ignored,
            refuse_unknown: args.refuse_unknown_fields,
        },
        max_body: args.max_body,
        header_timeout: seconds("header-timeout", args.header_timeout)?,
        body_timeout: seconds("body-timeout", args.body_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        request_timeout: seconds("request-timeout", args.request_timeout)?,
        shutdown_timeout: seconds("shutdown-timeout", args.shutdown_timeout)?,
        max_concurrency: args.max_concurrency.max(1),
        access_log: args.access_log,
        ..serve::Settings::default()
    })
}
