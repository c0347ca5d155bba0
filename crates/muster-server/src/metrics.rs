//! Prometheus metrics: request counts and latencies by route, incidents opened and deduplicated.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub incident_starts: Family<OutcomeLabels, Counter>,
    pub inbound: Family<SourceLabels, Counter>,
    pub throttled: Family<SourceLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("muster");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let incident_starts = Family::<OutcomeLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register(
            "incident_starts",
            "Incident starts by outcome: created, deduplicated, replayed",
            incident_starts.clone(),
        );
        let inbound = Family::<SourceLabels, Counter>::default();
        let throttled = Family::<SourceLabels, Counter>::default();
        registry.register("inbound_items", "Events and alerts received and recorded, by source", inbound.clone());
        registry.register(
            "inbound_throttled",
            "Requests refused with 429 by an integration's rate limit",
            throttled.clone(),
        );
        Self { registry, requests, latency, incident_starts, inbound, throttled }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn count_inbound(&self, source: &str, n: usize) {
        self.inbound.get_or_create(&SourceLabels { source: source.to_string() }).inc_by(n as u64);
    }

    pub fn count_throttled(&self, source: &str) {
        self.throttled.get_or_create(&SourceLabels { source: source.to_string() }).inc();
    }

    pub fn count_start(&self, outcome: &str) {
        self.incident_starts.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times each request under its route template (`/api/v1/incidents/{id}`), never the raw
/// path, so label sets stay bounded.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics
        .latency
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    res
}
