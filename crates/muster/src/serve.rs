//! `muster serve`: settings from flags, environment and an optional config file (in that order of
//! precedence), logging, and the server until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Args;
use muster_server::{Application, Config, DEFAULT_BODY_LIMIT, DEFAULT_DATABASE, DEFAULT_LISTEN};
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
}

/// The config file. Every key is optional; flags and environment variables win over it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database: Option<String>,
    public_url: Option<String>,
    body_limit_bytes: Option<usize>,
    log_format: Option<String>,
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
    let config = Config {
        listen: args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into()),
        database_url: args.database.or(file.database).unwrap_or_else(|| DEFAULT_DATABASE.into()),
        admin_token: env("MUSTER_ADMIN_TOKEN"),
        body_limit: file.body_limit_bytes.unwrap_or(DEFAULT_BODY_LIMIT),
        public_url: env("MUSTER_PUBLIC_URL").or(file.public_url),
    };
    let app = Application::build(config.clone()).await?;
    let addr = app.address()?;
    if let Some(token) = &app.generated_admin_token {
        println!("No API token existed, so one admin token was made. It is shown only this once:");
        println!("  MUSTER_TOKEN={token}");
    }
    println!("muster {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    let backend = muster_store::Backend::from_url(&config.database_url).map(|b| b.as_str()).unwrap_or("?");
    tracing::info!(address = %addr, backend, "listening");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logging(format: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_env("MUSTER_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("log format {other:?}: use text or json"),
    }
    Ok(())
}

async fn shutdown_signal() {
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
