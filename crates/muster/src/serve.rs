//! `muster serve`: settings from flags, environment and an optional config file (in that order of
//! precedence), logging, and the server until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Args;
use muster_server::{Application, Config, DEFAULT_BODY_LIMIT, DEFAULT_DATABASE, DEFAULT_LISTEN, ProviderConfig};
use serde::Deserialize;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. [default: 127.0.0.1:8080]
    #[arg(long, env = "MUSTER_LISTEN")]
    listen: Option<String>,
    /// sqlite://PATH or postgres://... [default: sqlite://muster-data/muster.db]
    #[arg(long, env = "MUSTER_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// A YAML file of server settings.
    #[arg(long, env = "MUSTER_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, env = "MUSTER_LOG_FORMAT")]
    log_format: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM); reloaded on SIGHUP.
    #[arg(long, env = "MUSTER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "MUSTER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The config file. Every key is optional; flags and environment variables win over it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database: Option<String>,
    public_url: Option<String>,
    body_limit_bytes: Option<usize>,
    /// Seconds a client may take to send a request's headers, and again its body (default 30).
    client_timeout_seconds: Option<u64>,
    log_format: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    twilio_api_url: Option<String>,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    twilio_from: Option<String>,
    slack_api_url: Option<String>,
    slack_bot_token: Option<String>,
    slack_signing_secret: Option<String>,
    webhook_signing_secret: Option<String>,
    handoff_notice_minutes: Option<i64>,
    /// Days metric data is kept (default 15).
    metric_retention_days: Option<i64>,
    /// Requests a minute one API token may make on one node (default 6000; 0: no limit).
    token_rate_per_minute: Option<u32>,
    /// Days routed events and alerts are kept (default 30).
    inbound_retention_days: Option<i64>,
    /// Days resolved incidents without an analysis are kept (default 0: forever).
    resolved_incident_retention_days: Option<i64>,
    /// Message template overrides: pageSubject, pageText, notificationSubject, notificationText.
    #[serde(default)]
    message_templates: std::collections::BTreeMap<String, String>,
    /// Sends per second per provider: sms, voice, email, slack, webhook, teams, mattermost.
    #[serde(default)]
    provider_rates: std::collections::BTreeMap<String, f64>,
    /// Teams channel ID → incoming webhook URL (for AWS Chatbot Teams configurations).
    #[serde(default)]
    teams_webhooks: std::collections::BTreeMap<String, String>,
    /// Secrets runbooks name as `{{ secret:NAME }}` (also `MUSTER_SECRET_NAME` in the environment).
    #[serde(default)]
    secrets: std::collections::BTreeMap<String, String>,
    /// Where runbooks' HTTP actions may go: `{allow: [...], deny: [...]}`, hosts or networks.
    #[serde(default)]
    runbook_http: RunbookHttp,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunbookHttp {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// This node's stable name: `MUSTER_NODE_ID`, else the host's name and the listen address (none
/// when the port is chosen at random, since two such nodes on one host would share it).
fn node_id(listen: &str) -> Option<String> {
    if let Some(id) = env("MUSTER_NODE_ID") {
        return Some(id);
    }
    if listen.ends_with(":0") {
        return None;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| env("HOSTNAME"))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())?;
    Some(format!("{host}/{listen}"))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_norway::from_str(&text).with_context(|| format!("{} is not a valid config file", path.display()))?
        }
        None => FileConfig::default(),
    };
    let log_format = args.log_format.or(file.log_format).unwrap_or_else(|| "text".into());
    init_logging(&log_format)?;
    let providers = ProviderConfig {
        smtp_url: env("MUSTER_SMTP_URL").or(file.smtp_url),
        smtp_from: env("MUSTER_SMTP_FROM").or(file.smtp_from),
        twilio_api_url: env("MUSTER_TWILIO_API_URL").or(file.twilio_api_url),
        twilio_account_sid: env("MUSTER_TWILIO_ACCOUNT_SID").or(file.twilio_account_sid),
        twilio_auth_token: env("MUSTER_TWILIO_AUTH_TOKEN").or(file.twilio_auth_token),
        twilio_from: env("MUSTER_TWILIO_FROM").or(file.twilio_from),
        slack_api_url: env("MUSTER_SLACK_API_URL").or(file.slack_api_url),
        slack_bot_token: env("MUSTER_SLACK_BOT_TOKEN").or(file.slack_bot_token),
        slack_signing_secret: env("MUSTER_SLACK_SIGNING_SECRET").or(file.slack_signing_secret),
        webhook_signing_secret: env("MUSTER_WEBHOOK_SIGNING_SECRET").or(file.webhook_signing_secret),
        rates: file.provider_rates.clone(),
        teams_webhooks: file.teams_webhooks.clone(),
    };
    let handoff_notice_minutes = match env("MUSTER_HANDOFF_NOTICE_MINUTES") {
        Some(v) => {
            v.parse().with_context(|| format!("MUSTER_HANDOFF_NOTICE_MINUTES {v:?} is not a number of minutes"))?
        }
        None => file.handoff_notice_minutes.unwrap_or(30),
    };
    if !(0..=24 * 60).contains(&handoff_notice_minutes) {
        anyhow::bail!("handoff notice minutes must be from 0 (off) to 1440");
    }
    let listen = args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen_for_id = listen.clone();
    let config = Config {
        listen,
        database_url: args.database.or(file.database).unwrap_or_else(|| DEFAULT_DATABASE.into()),
        admin_token: env("MUSTER_ADMIN_TOKEN"),
        body_limit: file.body_limit_bytes.unwrap_or(DEFAULT_BODY_LIMIT),
        public_url: env("MUSTER_PUBLIC_URL").or(file.public_url),
        providers,
        handoff_notice_minutes,
        message_templates: file.message_templates,
        secrets: {
            let mut secrets = file.secrets;
            for (k, v) in std::env::vars() {
                if let Some(name) = k.strip_prefix("MUSTER_SECRET_").filter(|n| !n.is_empty()) {
                    secrets.insert(name.to_string(), v);
                }
            }
            secrets
        },
        http_policy: muster_engine::HttpPolicy { allow: file.runbook_http.allow, deny: file.runbook_http.deny },
        metric_retention_days: match file.metric_retention_days {
            Some(d) if !(1..=455).contains(&d) => anyhow::bail!("metricRetentionDays must be from 1 to 455"),
            Some(d) => d,
            None => 15,
        },
        inbound_retention_days: match file.inbound_retention_days {
            Some(d) if !(1..=3650).contains(&d) => anyhow::bail!("inboundRetentionDays must be from 1 to 3650"),
            Some(d) => d,
            None => 30,
        },
        resolved_incident_retention_days: match file.resolved_incident_retention_days {
            Some(d) if d < 0 => anyhow::bail!("resolvedIncidentRetentionDays must be 0 (keep) or more"),
            Some(d) => d,
            None => 0,
        },
        ingest_batching: true,
        node_id: node_id(&listen_for_id),
        token_rate_per_minute: file.token_rate_per_minute.unwrap_or(6000),
        tls_cert: args.tls_cert.or(file.tls_cert),
        tls_key: args.tls_key.or(file.tls_key),
        client_timeout: match file.client_timeout_seconds {
            Some(s) if !(1..=600).contains(&s) => anyhow::bail!("clientTimeoutSeconds must be from 1 to 600"),
            Some(s) => std::time::Duration::from_secs(s),
            None => std::time::Duration::from_secs(30),
        },
    };
    let app = Application::build(config.clone()).await?;
    let addr = app.address()?;
    if let Some(token) = &app.generated_admin_token {
        println!("No API token existed, so one admin token was made. It is shown only this once:");
        println!("  MUSTER_TOKEN={token}");
    }
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    println!("muster {} listening on {scheme}://{addr}", env!("CARGO_PKG_VERSION"));
    let backend = muster_store::Backend::from_url(&config.database_url).map(|b| b.as_str()).unwrap_or("?");
    tracing::info!(address = %addr, backend, "listening");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub(crate) fn init_logging(format: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_env("MUSTER_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("log format {other:?}: use text or json"),
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
