//! The engine: workers that claim due jobs and carry out what they decide, through the notifiers.
//!
//! Every job's database effects are written in one transaction with the job's deletion, and only
//! while this node still holds the job's lease, so a job runs once per due time across nodes. A
//! send cannot be part of a transaction: a page is written (outbox) before it is sent, sent, then
//! its receipt written; a node that dies in between leaves the job to be taken over, and the page
//! is sent again with the same idempotency key.

mod detection;
pub mod links;
mod notifiers;
mod routing;
pub mod runbook;
mod tasks;
pub mod templates;

pub use detection::TriggerContext;
pub use notifiers::{Notifiers, ProviderConfig};
pub use routing::{alert_payload, heartbeat_alert, heartbeat_job, incident_dedupe};

use jiff::{SignedDuration, Timestamp};
use muster_core::Clock;
use muster_core::engage::{Job, NewJob, Task};
use muster_store::{Effects, Finish, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a claim holds a job before another node may take it over.
pub const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// Jobs claimed at once.
const BATCH: u32 = 64;
/// Jobs of one batch run side by side.
const CONCURRENCY: usize = 16;
/// The longest a worker sleeps without looking for due jobs.
const MAX_SLEEP: Duration = Duration::from_millis(1000);

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Base of links in messages (acknowledgement links); without it pages carry no link.
    pub public_url: Option<String>,
    /// Minutes before a shift starts that its incoming person is told; 0 turns notices off.
    pub handoff_notice_minutes: i64,
    /// Overrides of the message templates, by name (see `templates`).
    pub message_templates: std::collections::BTreeMap<String, String>,
    /// Values runbooks name as `{{ secret:NAME }}`; redacted from everything an execution shows.
    pub secrets: std::collections::BTreeMap<String, String>,
    /// Where runbooks' HTTP actions may go.
    pub http_policy: HttpPolicy,
    /// How long metric data is kept.
    pub metric_retention: SignedDuration,
    /// How long routed inbound items (events, alerts) are kept.
    pub inbound_retention: SignedDuration,
    /// How long resolved incidents without an analysis are kept; forever when absent.
    pub resolved_retention: Option<SignedDuration>,
    /// This node's name, stable across restarts, so a restarted node takes back at once the jobs it
    /// held when it stopped; a random one when absent (its old claims then wait out their lease).
    pub node_id: Option<String>,
}

/// Where runbooks' HTTP actions may go: a host or network in `deny` is refused; when `allow` is
/// not empty, only what it names is allowed. Link-local and cloud metadata addresses are always
/// refused. Entries are host names (`example.com` also covers its subdomains) or networks
/// (`10.0.0.0/8`, `fd00::/8`, or a single address).
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl HttpPolicy {
    fn names(list: &[String], host: &str, ip: Option<std::net::IpAddr>) -> bool {
        list.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return ip.is_some_and(|ip| net.contains(&ip));
            }
            if let Ok(single) = entry.parse::<std::net::IpAddr>() {
                return ip == Some(single);
            }
            let host = host.to_ascii_lowercase();
            host == entry || host.ends_with(&format!(".{entry}"))
        })
    }

    /// Whether a host (resolved to `ip`) may be reached.
    pub fn permits(&self, host: &str, ip: std::net::IpAddr) -> bool {
        if Self::names(&self.deny, host, Some(ip)) {
            return false;
        }
        self.allow.is_empty() || Self::names(&self.allow, host, Some(ip))
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            handoff_notice_minutes: 30,
            message_templates: Default::default(),
            secrets: Default::default(),
            http_policy: HttpPolicy::default(),
            metric_retention: SignedDuration::from_hours(24 * 15),
            inbound_retention: SignedDuration::from_hours(24 * 30),
            resolved_retention: None,
            node_id: None,
        }
    }
}

pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) notifiers: Notifiers,
    pub(crate) config: EngineConfig,
    pub(crate) node: String,
    /// Key of the HMAC that signs acknowledgement links.
    pub(crate) link_key: String,
    pub(crate) templates: templates::Templates,
    /// When each provider may next be used (per-provider rate limits, per node).
    pub(crate) next_send: std::sync::Mutex<std::collections::HashMap<String, Timestamp>>,
    pub(crate) providers: ProviderConfig,
    /// The Python interpreter scripts run with, when the machine has one.
    pub(crate) python: Option<String>,
    wake: Arc<Notify>,
}

#[derive(Debug)]
pub enum EngineError {
    Store(StoreError),
    /// A setting that does not hold together (a message template that does not compile).
    Config(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e)
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Store(e) => write!(f, "{e}"),
            EngineError::Config(e) => write!(f, "{e}"),
        }
    }
}

impl Engine {
    /// An engine for this node. The link key is shared by every node through the database.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        providers: &ProviderConfig,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let notifiers = Notifiers::new(providers).map_err(|e| EngineError::Config(e.to_string()))?;
        let templates = templates::Templates::new(&config.message_templates).map_err(EngineError::Config)?;
        let random: String = (0..4).map(|_| format!("{:016x}", rand::random::<u64>())).collect();
        let link_key = store.setting("ack_link_key", &random).await?;
        // Old metric data goes hourly, starting an hour after the first node starts.
        let prune_at = clock.now() + SignedDuration::from_hours(1);
        store.enqueue(&[NewJob::at(Task::PruneMetrics, prune_at).unique("prune-metrics")], clock.now()).await?;
        store
            .enqueue(&[NewJob::at(Task::RemindActionItems, prune_at).unique("remind-action-items")], clock.now())
            .await?;
        if config.handoff_notice_minutes > 0 {
            store
                .enqueue(
                    &[NewJob::at(Task::PlanHandoffNotices, clock.now()).unique("plan-handoff-notices")],
                    clock.now(),
                )
                .await?;
        }
        let node = config.node_id.clone().unwrap_or_else(|| format!("node-{}", muster_core::new_id()));
        // Jobs this node held when it last stopped run again now, not after their lease. SQLite is
        // one process's database, so every claim in it is this node's.
        let released = match store.backend() {
            muster_store::Backend::Sqlite => store.release_claims(None).await?,
            muster_store::Backend::Postgres => store.release_claims(Some(&node)).await?,
        };
        if released > 0 {
            tracing::info!(jobs = released, node = %node, "took back jobs held when this node stopped");
        }
        Ok(Self {
            store,
            clock,
            notifiers,
            config,
            node,
            link_key,
            templates,
            next_send: Default::default(),
            providers: providers.clone(),
            python: runbook::find_python(),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Wakes this node's worker (after jobs were written here).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The notifiers this server has.
    pub fn notifiers(&self) -> &Notifiers {
        &self.notifiers
    }

    /// The key that signs acknowledgement links (shared by all nodes).
    pub fn link_key(&self) -> &str {
        &self.link_key
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs every job due now, until none is; returns how many ran. Tests drive simulated time
    /// with this and a manual clock.
    pub async fn run_due(&self) -> Result<usize, EngineError> {
        let mut ran = 0;
        loop {
            let jobs = self.store.claim_jobs(&self.node, self.clock.now(), LEASE, BATCH).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            ran += jobs.len();
            // Jobs of a batch are independent; running them side by side lets sends to slow
            // providers overlap instead of queueing behind each other.
            let mut pending = jobs.into_iter();
            loop {
                let chunk: Vec<Job> = pending.by_ref().take(CONCURRENCY).collect();
                if chunk.is_empty() {
                    break;
                }
                futures_util::future::join_all(chunk.into_iter().map(|job| self.run_one(job))).await;
            }
        }
    }

    async fn run_one(&self, job: Job) {
        let kind = job.task.kind();
        let id = job.id.clone();
        if let Err(e) = self.handle(job).await {
            // The job stays claimed until its lease runs out, then runs again (here or elsewhere).
            tracing::warn!(job = %id, kind, error = %e, "job failed; it will run again after its lease");
        }
    }

    pub(crate) async fn finish(&self, job: &Job, effects: Effects) -> Result<Finish, EngineError> {
        let outcome = self.store.finish_job(&job.id, &self.node, &effects, self.clock.now()).await?;
        if outcome == Finish::Guarded {
            // The engagement was acknowledged or stopped meanwhile: drop the job, write nothing.
            return Ok(self.store.finish_job(&job.id, &self.node, &Effects::default(), self.clock.now()).await?);
        }
        if outcome == Finish::LeaseLost {
            tracing::warn!(job = %job.id, "lease lost before the job finished; another node has it");
        }
        Ok(outcome)
    }

    /// Works until `shutdown` completes: claims due jobs, then sleeps until the next is due, a
    /// wake-up comes (from this node, or from another through PostgreSQL's LISTEN/NOTIFY), or a
    /// second passes.
    pub async fn run(self: Arc<Self>, database_url: Option<String>, shutdown: impl std::future::Future<Output = ()>) {
        let mut listener = match database_url.as_deref() {
            Some(url) if url.starts_with("postgres") => match sqlx::postgres::PgListener::connect(url).await {
                Ok(mut l) => match l.listen("muster_jobs").await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot LISTEN for job wake-ups; polling instead");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect a job listener; polling instead");
                    None
                }
            },
            _ => None,
        };
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_due().await {
                tracing::warn!(error = %e, "job worker: database error");
            }
            let sleep = match self.store.next_job_due().await {
                Ok(Some(due)) => {
                    let wait = due.duration_since(self.clock.now());
                    if wait.is_negative() { Duration::ZERO } else { wait.unsigned_abs().min(MAX_SLEEP) }
                }
                _ => MAX_SLEEP,
            };
            let notified = async {
                match listener.as_mut() {
                    Some(l) => {
                        if l.recv().await.is_err() {
                            tokio::time::sleep(MAX_SLEEP).await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(sleep) => {},
                () = self.wake.notified() => {},
                () = notified => {},
            }
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Takes a provider's send slot: `None` when it may send now (the slot is taken), else when
    /// its next slot opens (nothing is taken; the caller comes back then and asks again).
    pub(crate) fn throttle(&self, destination: &str) -> Option<Timestamp> {
        let rate = self.providers.rate(destination)?;
        let gap = SignedDuration::from_secs_f64(1.0 / rate);
        let now = self.now();
        let mut next = self.next_send.lock().unwrap_or_else(|e| e.into_inner());
        match next.get(destination).copied() {
            Some(open) if open > now => Some(open),
            _ => {
                next.insert(destination.to_string(), now + gap);
                None
            }
        }
    }
}

#[cfg(test)]
mod policy_tests {
    use super::HttpPolicy;

    #[test]
    fn deny_wins_and_allow_narrows() {
        let ip = |s: &str| s.parse().expect("ip");
        let open = HttpPolicy::default();
        assert!(open.permits("example.com", ip("93.184.216.34")));
        let p = HttpPolicy {
            allow: vec!["example.com".into(), "10.0.0.0/8".into()],
            deny: vec!["bad.example.com".into(), "10.9.0.0/16".into()],
        };
        assert!(p.permits("api.example.com", ip("93.184.216.34")));
        assert!(!p.permits("bad.example.com", ip("93.184.216.34")));
        assert!(p.permits("intranet", ip("10.1.2.3")));
        assert!(!p.permits("intranet", ip("10.9.2.3")));
        assert!(!p.permits("other.org", ip("8.8.8.8")), "allow narrows to what it names");
    }
}
