//! Incidents: start (with dedupe and client tokens), list, show, update, timeline, related items.

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use muster_core::auth::Role;
use muster_core::incident::{
    Impact, Incident, IncidentPatch, IncidentStatus, RelatedItem, RelatedItemKind, Roles, StartRequest, Tags,
    TimelineEvent, Trigger, prepare_related_item, prepare_start, prepare_user_event,
};
use muster_store::{IncidentQuery, StartOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartBody {
    title: Option<String>,
    impact: Option<Impact>,
    summary: Option<String>,
    dedupe_string: Option<String>,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    roles: Roles,
    /// Idempotency: a retried start with the same token returns the same incident.
    client_token: Option<String>,
    /// Name or id; its incident template fills what this request leaves out.
    response_plan: Option<String>,
    trigger: Option<Trigger>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartResponse {
    #[serde(flatten)]
    incident: Incident,
    /// `created`, `deduplicated` (an open incident with the same dedupe string took the trigger) or
    /// `replayed` (a start with the same client token happened before).
    outcome: &'static str,
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = StartBody,
    responses((status = 201, body = StartResponse, description = "opened"),
              (status = 200, body = StartResponse, description = "deduplicated or replayed"),
              (status = 400, body = crate::error::ErrorBody)))]
pub async fn start(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<StartBody>,
) -> ApiResult<(StatusCode, Json<StartResponse>)> {
    caller.require(Role::Responder)?;
    let plan = match body.response_plan.as_deref().map(str::trim) {
        Some(key) if !key.is_empty() => Some(
            s.store
                .get_plan(key)
                .await?
                .ok_or_else(|| ApiError::invalid("responsePlan", format!("no response plan is named {key:?}")))?,
        ),
        _ => None,
    };
    let req = StartRequest {
        title: body.title,
        impact: body.impact,
        summary: body.summary,
        dedupe_string: body.dedupe_string,
        tags: body.tags,
        roles: body.roles,
        client_token: body.client_token,
        response_plan: body.response_plan,
        trigger: body.trigger.unwrap_or_default(),
    };
    let new = prepare_start(req, plan.as_ref(), caller.actor(), s.clock.now())?;
    let outcome = s.store.start_incident(new).await?;
    let (status, label) = match &outcome {
        StartOutcome::Created(_) => (StatusCode::CREATED, "created"),
        StartOutcome::Deduplicated(_) => (StatusCode::OK, "deduplicated"),
        StartOutcome::Replayed(_) => (StatusCode::OK, "replayed"),
    };
    s.metrics.count_start(label);
    // The plan's engagements were written with the incident; start on them now.
    s.engine.wake();
    let incident = outcome.into_incident();
    tracing::info!(incident = %incident.id, number = incident.number, outcome = label, "incident start");
    Ok((status, Json(StartResponse { incident, outcome: label })))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// `OPEN` or `RESOLVED`.
    status: Option<String>,
    /// At most this many (1-500, default 50).
    limit: Option<u32>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentList {
    items: Vec<Incident>,
    next_token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, body = IncidentList)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<IncidentList>> {
    caller.require(Role::Viewer)?;
    let status = p.status.as_deref().filter(|s| !s.is_empty()).map(str::parse::<IncidentStatus>).transpose()?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be from 1 to 500"));
    }
    let before = p
        .next_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<i64>().map_err(|_| ApiError::invalid("nextToken", "is not a token this API gave")))
        .transpose()?;
    let page = s.store.list_incidents(&IncidentQuery { status, before, limit }).await?;
    Ok(Json(IncidentList { items: page.items, next_token: page.next.map(|n| n.to_string()) }))
}

async fn find(s: &AppState, key: &str) -> ApiResult<Incident> {
    s.store.get_incident(key).await?.ok_or_else(|| ApiError::not_found(format!("incident {key}")))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "id or number")),
    responses((status = 200, body = Incident), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Incident>> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&s, &id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchBody {
    title: Option<String>,
    summary: Option<String>,
    impact: Option<Impact>,
    status: Option<IncidentStatus>,
    roles: Option<Roles>,
    tags: Option<Tags>,
    /// A note for the timeline, written with the change (why it was resolved, say).
    note: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = PatchBody,
    params(("id" = String, Path, description = "id or number")),
    responses((status = 200, body = Incident), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<PatchBody>,
) -> ApiResult<Json<Incident>> {
    caller.require(Role::Responder)?;
    let patch = IncidentPatch {
        title: body.title,
        summary: body.summary,
        impact: body.impact,
        status: body.status,
        roles: body.roles,
        tags: body.tags,
        note: body.note,
    }
    .validate()?;
    let (incident, _) = s
        .store
        .update_incident(&id, &patch, caller.actor(), s.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("incident {id}")))?;
    Ok(Json(incident))
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    items: Vec<TimelineEvent>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "id or number")), responses((status = 200, body = Timeline)))]
pub async fn timeline(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Timeline>> {
    caller.require(Role::Viewer)?;
    let incident = find(&s, &id).await?;
    Ok(Json(Timeline { items: s.store.list_timeline(&incident.id).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventBody {
    message: String,
    /// `note` when absent; any other type is a custom event.
    event_type: Option<String>,
    /// When it happened, if earlier than now.
    event_time: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Value,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", request_body = EventBody,
    params(("id" = String, Path, description = "id or number")),
    responses((status = 201, body = TimelineEvent), (status = 400, body = crate::error::ErrorBody)))]
pub async fn add_event(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<EventBody>,
) -> ApiResult<(StatusCode, Json<TimelineEvent>)> {
    caller.require(Role::Responder)?;
    let event = prepare_user_event(
        body.event_type.as_deref(),
        &body.message,
        body.event_time,
        body.data,
        caller.actor(),
        s.clock.now(),
    )?;
    let written =
        s.store.add_timeline_event(&id, event).await?.ok_or_else(|| ApiError::not_found(format!("incident {id}")))?;
    Ok((StatusCode::CREATED, Json(written)))
}

#[derive(Serialize, ToSchema)]
pub struct RelatedItems {
    items: Vec<RelatedItem>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/related-items", tag = "incidents",
    params(("id" = String, Path, description = "id or number")), responses((status = 200, body = RelatedItems)))]
pub async fn related_items(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RelatedItems>> {
    caller.require(Role::Viewer)?;
    let incident = find(&s, &id).await?;
    Ok(Json(RelatedItems { items: s.store.list_related_items(&incident.id).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelatedItemBody {
    /// `metric`, `link`, `resource`, `incident`, `attachment` or `other`.
    #[serde(rename = "type")]
    kind: RelatedItemKind,
    title: Option<String>,
    value: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/related-items", tag = "incidents", request_body = RelatedItemBody,
    params(("id" = String, Path, description = "id or number")),
    responses((status = 201, body = RelatedItem), (status = 409, body = crate::error::ErrorBody)))]
pub async fn add_related_item(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<RelatedItemBody>,
) -> ApiResult<(StatusCode, Json<RelatedItem>)> {
    caller.require(Role::Responder)?;
    let incident = find(&s, &id).await?;
    let item = prepare_related_item(
        &incident.id,
        body.kind,
        body.title.as_deref(),
        &body.value,
        caller.actor(),
        s.clock.now(),
    )?;
    s.store.add_related_item(&item).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentAck {
    /// Pages acknowledged by this call.
    pages_acknowledged: usize,
    /// Engagements of the incident no longer running.
    engagements_stopped: usize,
}

/// Acknowledges an incident: every outstanding page of it, and stops whatever still escalates.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "incidents",
    params(("id" = String, Path, description = "id or number")), responses((status = 200, body = IncidentAck)))]
pub async fn ack(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<IncidentAck>> {
    use muster_core::engage::{EngagementStatus, PageStatus};
    caller.require(Role::Responder)?;
    let incident = find(&s, &id).await?;
    let now = s.clock.now();
    let mut pages_acknowledged = 0;
    for p in s.store.list_pages(Some(&incident.id), None).await? {
        if matches!(p.status, PageStatus::Pending | PageStatus::Sent | PageStatus::Delivered)
            && s.store.acknowledge(&p.id, caller.actor(), "api", now).await?.is_some_and(|a| a.newly)
        {
            pages_acknowledged += 1;
        }
    }
    let mut engagements_stopped = 0;
    for e in s.store.list_engagements(Some(&incident.id)).await? {
        if e.status != EngagementStatus::Active || s.store.stop_engagement(&e.id, now).await? {
            engagements_stopped += 1;
        }
    }
    let event = muster_core::incident::NewEvent::new(
        "incident.acknowledged",
        caller.actor(),
        format!("Acknowledged by {}", caller.actor()),
        serde_json::json!({"pagesAcknowledged": pages_acknowledged}),
        now,
    );
    s.store.add_timeline_event(&incident.id, event).await?;
    Ok(Json(IncidentAck { pages_acknowledged, engagements_stopped }))
}
