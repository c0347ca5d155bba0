//! Event rules, events, integrations and what they received, in the native API.

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use muster_core::Invalid;
use muster_core::auth::Role;
use muster_core::integration::{INBOUND_EVENT, Inbound, Integration, IntegrationSpec, IntegrationType};
use muster_core::pattern::EventPattern;
use muster_core::rule::{Rule, RuleSpec, complete_event};
use muster_store::{InboundQuery, NewInbound};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestBody {
    #[schema(value_type = Object)]
    event_pattern: Value,
    #[schema(value_type = Object)]
    event: Value,
}

#[derive(Serialize, ToSchema)]
pub struct TestResult {
    result: bool,
}

/// Whether a pattern matches an event, as EventBridge's TestEventPattern; 400 for an invalid
/// pattern, naming where in it and why.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "detection", request_body = TestBody,
    responses((status = 200, body = TestResult), (status = 400, body = crate::error::ErrorBody)))]
pub async fn test_pattern(caller: Caller, Body(body): Body<TestBody>) -> ApiResult<Json<TestResult>> {
    caller.require(Role::Viewer)?;
    let pattern = EventPattern::parse(&body.event_pattern).map_err(|e| e.within("eventPattern"))?;
    Ok(Json(TestResult { result: pattern.matches(&body.event) }))
}

#[derive(Serialize, ToSchema)]
pub struct RuleList {
    items: Vec<Rule>,
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "detection", responses((status = 200, body = RuleList)))]
pub async fn list_rules(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<RuleList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(RuleList { items: s.store.list_rules().await? }))
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "detection", request_body = RuleSpec,
    responses((status = 201, body = Rule), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_rule(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<RuleSpec>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    caller.require(Role::Admin)?;
    let (r, _) = s.store.put_rule(None, &spec.validate()?, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(put, path = "/api/v1/rules/{name}", tag = "detection", request_body = RuleSpec, params(("name" = String, Path)),
    responses((status = 200, body = Rule), (status = 201, body = Rule)))]
pub async fn put_rule(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<RuleSpec>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    caller.require(Role::Admin)?;
    let (r, created) = s.store.put_rule(Some(&name), &spec.validate()?, s.clock.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/rules/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 200, body = Rule)))]
pub async fn show_rule(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Rule>> {
    caller.require(Role::Viewer)?;
    s.store.get_rule(&name).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("rule {name}")))
}

#[utoipa::path(delete, path = "/api/v1/rules/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_rule(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_rule(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("rule {name}")))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsBody {
    /// Events (`source`, `detail-type`, `detail`, `resources`, ...) or PutEvents entries
    /// (`Source`, `DetailType`, `Detail`, `Resources`).
    #[schema(value_type = Vec<Object>)]
    entries: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventsAccepted {
    /// One per entry: the id the event was recorded under.
    entries: Vec<EventEntry>,
    failed_entry_count: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventEntry {
    event_id: String,
}

/// Records events (before answering) and matches them against the enabled rules.
#[utoipa::path(post, path = "/api/v1/events", tag = "detection", request_body = EventsBody,
    responses((status = 200, body = EventsAccepted), (status = 400, body = crate::error::ErrorBody)))]
pub async fn put_events(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<EventsBody>,
) -> ApiResult<Json<EventsAccepted>> {
    caller.require(Role::Responder)?;
    if body.entries.is_empty() || body.entries.len() > 100 {
        return Err(Invalid::new("entries", "must hold 1 to 100 events").into());
    }
    let now = s.clock.now();
    let mut items = Vec::with_capacity(body.entries.len());
    for (i, e) in body.entries.iter().enumerate() {
        let event = complete_event(e, now).map_err(|err| err.within(&format!("entries[{i}]")))?;
        items.push(NewInbound { id: muster_core::new_id(), kind: INBOUND_EVENT, integration_id: None, payload: event });
    }
    let entries = items.iter().map(|i| EventEntry { event_id: i.id.clone() }).collect();
    let n = items.len();
    s.ingester.ingest(items, vec![], now).await?;
    s.engine.wake();
    s.metrics.count_inbound("event", n);
    Ok(Json(EventsAccepted { entries, failed_entry_count: 0 }))
}

#[derive(Serialize, ToSchema)]
pub struct InboundList {
    items: Vec<Inbound>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct InboundParams {
    /// An integration's name or id.
    integration: Option<String>,
    /// `pending`, `routed`, `suppressed`, `unmatched`, `recorded` or `failed`.
    status: Option<String>,
    limit: Option<u32>,
}

/// What was received (events and alerts), newest first, with what routing did with each.
#[utoipa::path(get, path = "/api/v1/inbound", tag = "detection", params(InboundParams), responses((status = 200, body = InboundList)))]
pub async fn list_inbound(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<InboundParams>,
) -> ApiResult<Json<InboundList>> {
    caller.require(Role::Viewer)?;
    let integration_id = match p.integration.as_deref() {
        Some(key) => Some(
            s.store
                .get_integration(key)
                .await?
                .ok_or_else(|| Invalid::new("integration", format!("there is no integration {key}")))?
                .id,
        ),
        None => None,
    };
    let q = InboundQuery { integration_id, status: p.status, limit: p.limit.unwrap_or(100) };
    Ok(Json(InboundList { items: s.store.list_inbound(&q).await? }))
}

#[utoipa::path(get, path = "/api/v1/inbound/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 200, body = Inbound)))]
pub async fn show_inbound(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Inbound>> {
    caller.require(Role::Viewer)?;
    s.store.get_inbound(&id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("inbound item {id}")))
}

#[derive(Serialize, ToSchema)]
pub struct IntegrationList {
    items: Vec<Integration>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedIntegration {
    #[serde(flatten)]
    integration: Integration,
    /// The key senders authenticate with. Shown only here, once.
    key: String,
    /// Where this integration's sender posts (under the server's public URL).
    endpoint: String,
}

fn endpoint(kind: IntegrationType) -> &'static str {
    match kind {
        IntegrationType::Alertmanager => {
            "/api/v2/alerts (Alertmanager API v2) or /integrations/alertmanager (webhook_config)"
        }
        IntegrationType::Pagerduty => "/v2/enqueue (routing_key = the key)",
        IntegrationType::Sns => "/integrations/sns?key=KEY",
        IntegrationType::Grafana => "/integrations/grafana",
        IntegrationType::Generic => "/integrations/generic",
        IntegrationType::Heartbeat => "/integrations/heartbeat",
    }
}

#[utoipa::path(get, path = "/api/v1/integrations", tag = "detection", responses((status = 200, body = IntegrationList)))]
pub async fn list_integrations(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<IntegrationList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(IntegrationList { items: s.store.list_integrations().await? }))
}

async fn check_plan(s: &AppState, spec: &IntegrationSpec) -> ApiResult<()> {
    if let Some(p) = &spec.response_plan
        && s.store.get_plan(p).await?.is_none()
    {
        return Err(Invalid::new("responsePlan", format!("no response plan is named {p:?}")).into());
    }
    Ok(())
}

/// Creates an integration and answers with its key (shown once).
#[utoipa::path(post, path = "/api/v1/integrations", tag = "detection", request_body = IntegrationSpec,
    responses((status = 201, body = CreatedIntegration), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_integration(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<IntegrationSpec>,
) -> ApiResult<(StatusCode, Json<CreatedIntegration>)> {
    caller.require(Role::Admin)?;
    let spec = spec.validate()?;
    check_plan(&s, &spec).await?;
    let key = crate::auth::generate_key();
    let now = s.clock.now();
    let integration = s.store.create_integration(&spec, &crate::auth::hash_secret(&key), &key[..8], now).await?;
    if let Some(secs) = spec.interval_seconds {
        let due = now + jiff::SignedDuration::from_secs(i64::from(secs));
        s.store.enqueue(&[muster_engine::heartbeat_job(&integration.id, due)], now).await?;
    }
    let endpoint = endpoint(spec.kind).to_string();
    Ok((StatusCode::CREATED, Json(CreatedIntegration { integration, key, endpoint })))
}

#[utoipa::path(get, path = "/api/v1/integrations/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 200, body = Integration)))]
pub async fn show_integration(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Integration>> {
    caller.require(Role::Viewer)?;
    s.store.get_integration(&name).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("integration {name}")))
}

/// Replaces an integration's settings; its key stays.
#[utoipa::path(put, path = "/api/v1/integrations/{name}", tag = "detection", request_body = IntegrationSpec,
    params(("name" = String, Path)), responses((status = 200, body = Integration)))]
pub async fn replace_integration(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<IntegrationSpec>,
) -> ApiResult<Json<Integration>> {
    caller.require(Role::Admin)?;
    let spec = spec.validate()?;
    check_plan(&s, &spec).await?;
    s.store
        .replace_integration(&name, &spec, s.clock.now())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("integration {name}")))
}

#[utoipa::path(delete, path = "/api/v1/integrations/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_integration(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_integration(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("integration {name}")))
    }
}
