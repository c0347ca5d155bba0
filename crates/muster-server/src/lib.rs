//! Muster's HTTP server: the native API under `/api/v1`, health and metrics, and the OpenAPI
//! document. Handlers parse requests into core types, ask the store, and shape JSON answers; the
//! decisions themselves live in `muster-core`.

mod api;
mod audit;
pub mod auth;
mod error;
mod ingest;
mod json;
mod limit;
mod listen;
mod metrics;
mod openapi;
mod tls;
pub(crate) mod ui;

pub use error::ApiError;
pub use muster_engine::ProviderConfig;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use muster_core::auth::{ApiToken, Role};
use muster_core::{Clock, SystemClock, new_id};
use muster_store::{SqlStore, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://muster-data/muster.db";
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Server settings, already merged from file, environment and flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    /// The bootstrap admin token, used only when the database has no token yet.
    pub admin_token: Option<String>,
    pub body_limit: usize,
    /// Base of links in messages.
    pub public_url: Option<String>,
    /// SMTP, Twilio, Slack and webhook settings.
    pub providers: muster_engine::ProviderConfig,
    /// Minutes before a shift that its incoming person is told; 0 turns notices off.
    pub handoff_notice_minutes: i64,
    /// Overrides of the message templates, by name.
    pub message_templates: std::collections::BTreeMap<String, String>,
    /// Secrets runbooks name as `{{ secret:NAME }}`.
    pub secrets: std::collections::BTreeMap<String, String>,
    /// Where runbooks' HTTP actions may go.
    pub http_policy: muster_engine::HttpPolicy,
    /// Days metric data is kept.
    pub metric_retention_days: i64,
    /// Days routed events and alerts are kept.
    pub inbound_retention_days: i64,
    /// Days resolved incidents without an analysis are kept; 0 keeps them forever.
    pub resolved_incident_retention_days: i64,
    /// Many ingest requests share one commit (on by default; off only to measure the difference).
    pub ingest_batching: bool,
    /// This node's stable name (see `EngineConfig::node_id`).
    pub node_id: Option<String>,
    /// Requests a minute one API token may make on one node (0: no limit).
    pub token_rate_per_minute: u32,
    /// Serve HTTPS with this certificate chain and key (PEM files, reloaded on SIGHUP).
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// How long a client may take to send a request's headers, and again its body.
    pub client_timeout: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            database_url: DEFAULT_DATABASE.into(),
            admin_token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            public_url: None,
            providers: muster_engine::ProviderConfig::default(),
            handoff_notice_minutes: 30,
            message_templates: Default::default(),
            secrets: Default::default(),
            http_policy: Default::default(),
            metric_retention_days: 15,
            inbound_retention_days: 30,
            resolved_incident_retention_days: 0,
            ingest_batching: true,
            node_id: None,
            tls_cert: None,
            tls_key: None,
            token_rate_per_minute: 6000,
            client_timeout: std::time::Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<metrics::Metrics>,
    /// Base of links Muster hands out (calendar URLs, page links).
    pub public_url: Option<String>,
    /// For webhooks and providers.
    pub http: reqwest::Client,
    /// The workers of this node; handlers wake them after writing jobs.
    pub engine: Arc<muster_engine::Engine>,
    /// Provider settings, for verifying what providers send back (SMS replies, Slack buttons).
    pub providers: Arc<muster_engine::ProviderConfig>,
    /// Per-integration rate limits on what senders post.
    pub limiter: Arc<limit::Limiter>,
    /// Writes what senders post, many requests to a commit.
    pub ingester: ingest::Ingester,
    /// The web UI's compiled templates.
    pub ui: Arc<ui::Views>,
    /// Requests a minute one API token may make on this node (0: no limit).
    pub token_rate_per_minute: u32,
    /// Becomes true when the node begins to stop: streams that never end on their own end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// A built server: its listener is bound, its database migrated.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: SqlStore,
    engine: Arc<muster_engine::Engine>,
    database_url: String,
    tls: Option<tls::Tls>,
    client_timeout: std::time::Duration,
    /// Tells the workers and long-lived responses that the node is stopping.
    stop: tokio::sync::watch::Sender<bool>,
    /// A token generated at first start, to be shown once.
    pub generated_admin_token: Option<String>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = SqlStore::connect(&config.database_url)
            .await
            .with_context(|| format!("opening the {} database", backend_name(&config.database_url)))?;
        let generated_admin_token = bootstrap_admin(&store, config.admin_token.as_deref(), clock.as_ref()).await?;
        seed_library(&store, clock.as_ref()).await?;
        let engine_config = muster_engine::EngineConfig {
            public_url: config.public_url.clone(),
            handoff_notice_minutes: config.handoff_notice_minutes,
            message_templates: config.message_templates.clone(),
            secrets: config.secrets.clone(),
            http_policy: config.http_policy.clone(),
            metric_retention: jiff::SignedDuration::from_hours(24 * config.metric_retention_days.max(1)),
            node_id: config.node_id.clone(),
            inbound_retention: jiff::SignedDuration::from_hours(24 * config.inbound_retention_days.max(1)),
            resolved_retention: (config.resolved_incident_retention_days > 0)
                .then(|| jiff::SignedDuration::from_hours(24 * config.resolved_incident_retention_days)),
        };
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        let engine = Arc::new(
            muster_engine::Engine::new(shared.clone(), clock.clone(), &config.providers, engine_config)
                .await
                .map_err(|e| anyhow::anyhow!("starting the job engine: {e}"))?,
        );
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding the listen address {}", config.listen))?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .context("building the HTTP client")?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let state = AppState {
            stopping,
            clock,
            metrics: Arc::new(metrics::Metrics::new()),
            public_url: config.public_url.clone(),
            http,
            engine: engine.clone(),
            providers: Arc::new(config.providers.clone()),
            limiter: Arc::new(limit::Limiter::default()),
            ingester: ingest::Ingester::start(shared.clone(), config.ingest_batching),
            ui: Arc::new(ui::Views::new().map_err(|e| anyhow::anyhow!("the web UI's templates: {e}"))?),
            token_rate_per_minute: config.token_rate_per_minute,
            store: shared,
        };
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::Tls::load(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("TLS needs both a certificate (--tls-cert) and a key (--tls-key)"),
        };
        let mut router = router(state, config.body_limit, config.client_timeout);
        if tls.is_some() {
            // Browsers that saw Muster over HTTPS keep to it.
            router = router.layer(axum::middleware::map_response(|mut res: axum::response::Response| async move {
                res.headers_mut().insert(
                    axum::http::header::STRICT_TRANSPORT_SECURITY,
                    axum::http::HeaderValue::from_static("max-age=31536000"),
                );
                res
            }));
        }
        Ok(Self {
            listener,
            router,
            store,
            engine,
            database_url: config.database_url.clone(),
            tls,
            client_timeout: config.client_timeout,
            stop,
            generated_admin_token,
        })
    }

    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves (and runs this node's job workers) until `shutdown` completes, then finishes the
    /// requests and jobs in flight and closes the database.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let stop = self.stop;
        let mut engine_stopped = stop.subscribe();
        let workers = tokio::spawn(self.engine.clone().run(Some(self.database_url.clone()), async move {
            let _ = engine_stopped.wait_for(|s| *s).await;
        }));
        let stopping = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        if let Some(tls) = &self.tls {
            tls.reload_on_hangup();
        }
        let result = listen::serve(self.listener, self.router, self.tls, self.client_timeout, stopping).await;
        let _ = workers.await;
        self.store.close().await;
        Ok(result?)
    }

    /// This node's job engine (tests drive simulated time through it).
    pub fn engine(&self) -> Arc<muster_engine::Engine> {
        self.engine.clone()
    }
}

fn backend_name(url: &str) -> &'static str {
    muster_store::Backend::from_url(url).map(|b| b.as_str()).unwrap_or("unknown")
}

/// Creates the first admin token when there is none: the given one, or a generated one that is
/// returned so the caller can show it once.
async fn bootstrap_admin(store: &SqlStore, given: Option<&str>, clock: &dyn Clock) -> anyhow::Result<Option<String>> {
    if store.count_tokens().await? > 0 {
        return Ok(None);
    }
    let (secret, generated) = match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.len() < 16 => anyhow::bail!("MUSTER_ADMIN_TOKEN must be at least 16 characters"),
        Some(s) => (s.to_string(), false),
        None => (auth::generate_secret(), true),
    };
    let token = ApiToken {
        id: new_id(),
        name: "admin".into(),
        role: Role::Admin,
        token_hash: auth::hash_secret(&secret),
        created_at: clock.now(),
        created_by: "bootstrap".into(),
        revoked_at: None,
    };
    store.create_token(&token).await?;
    Ok(generated.then_some(secret))
}

/// Stores the built-in runbooks (updating older copies).
async fn seed_library(store: &SqlStore, clock: &dyn Clock) -> anyhow::Result<()> {
    for (name, yaml) in muster_core::library::RUNBOOKS {
        let doc = muster_template::to_json(yaml).map_err(|e| anyhow::anyhow!("built-in runbook {name}: {e}"))?;
        muster_core::runbook::parse_document(&doc).map_err(|e| anyhow::anyhow!("built-in runbook {name}: {e}"))?;
        store.seed_runbook(name, &doc, clock.now()).await?;
    }
    Ok(())
}

fn router(state: AppState, body_limit: usize, client_timeout: std::time::Duration) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let metrics = state.metrics.clone();
    Router::new()
        .nest("/api/v1", api::routes())
        .merge(ui::routes())
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/v2/alerts", get(api::compat::alertmanager_v2_list).post(api::compat::alertmanager_v2))
        .route("/api/v2/silences", get(api::silences::am_list).post(api::silences::am_create))
        .route("/api/v2/silence/{id}", get(api::silences::am_show).delete(api::silences::am_expire))
        .route("/integrations/alertmanager", axum::routing::post(api::compat::alertmanager_webhook))
        .route("/integrations/grafana", axum::routing::post(api::compat::grafana_webhook))
        .route("/integrations/generic", axum::routing::post(api::compat::generic_webhook))
        .route("/integrations/sns", axum::routing::post(api::compat::sns_delivery))
        .route("/integrations/heartbeat", get(api::compat::heartbeat).post(api::compat::heartbeat))
        .route("/v2/enqueue", axum::routing::post(api::compat::pagerduty_enqueue))
        .route("/v2/change/enqueue", axum::routing::post(api::compat::pagerduty_change_enqueue))
        .route("/integrations/twilio/sms", axum::routing::post(api::inbound::twilio_sms))
        .route("/integrations/slack/interactions", axum::routing::post(api::inbound::slack_interaction))
        .route("/ack/{page}", get(api::paging::ack_page_confirm).post(api::paging::ack_page_by_link))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(serve_metrics))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        // A client that sends its body too slowly holds nothing for long (a pause between pieces
        // here; the whole body in `json::Raw`).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(client_timeout))
        .layer(axum::Extension(json::BodyLimit(body_limit)))
        .layer(axum::Extension(json::ClientTimeout(client_timeout)))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(move |req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers within 2 s.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 503, body = String, content_type = "text/plain")))]
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // A probe answers quickly: a database that takes longer than this is not ready.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await;
    match ping.unwrap_or_else(|_| Err(muster_store::StoreError::Unavailable("no answer within 2 s".into()))) {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n".to_string())
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, body = String, content_type = "text/plain; version=0.0.4")))]
pub(crate) async fn serve_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], state.metrics.encode())
}
