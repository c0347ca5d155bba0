//! Endpoints in the wire formats of the tools that already send alerts: Prometheus Alertmanager
//! (API v2 and its webhook), PagerDuty Events API v2, Amazon SNS (carrying CloudWatch alarms),
//! Grafana, a generic JSON webhook, and heartbeats. Each validates, records what it received with
//! the job that routes it (one transaction), answers, and leaves routing to the engine.
//!
//! Integration keys authenticate them, as each tool can send one: in the body (PagerDuty's
//! `routing_key`), as a bearer token, as the password of basic auth, or as `?key=`.

use super::Params;
use crate::AppState;
use crate::error::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::json::Raw;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use muster_core::Invalid;
use muster_core::alert::{Alert, AlertAction, alertmanager, generic, grafana, pagerduty, sns};
use muster_core::integration::{INBOUND_ALERT, Integration, IntegrationType};
use muster_store::NewInbound;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, Default, IntoParams)]
pub struct KeyParam {
    /// The integration key, for senders that cannot set an Authorization header (it may also
    /// come as a bearer token, or as basic auth's user or password).
    key: Option<String>,
}

/// What an integration answers for the alerts it took: each was committed before this answer.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    accepted: usize,
    ids: Vec<String>,
}

/// The key a request carries, from wherever its tool puts it.
fn key_of(headers: &HeaderMap, query: &KeyParam) -> Option<String> {
    if let Some(k) = query.key.as_deref().filter(|k| !k.is_empty()) {
        return Some(k.to_string());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return Some(token.trim().to_string());
    }
    let basic = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
    Some(if pass.is_empty() { user } else { pass }.to_string())
}

async fn integration(s: &AppState, key: Option<&str>, kinds: &[IntegrationType]) -> ApiResult<Integration> {
    let Some(key) = key else {
        return Err(ApiError::Unauthorized("an integration key is required: a bearer token, basic auth, or ?key="));
    };
    let found = s.store.integration_by_key(&crate::auth::hash_secret(key)).await?;
    let Some(i) = found else { return Err(ApiError::Unauthorized("unknown integration key")) };
    if !kinds.contains(&i.spec.kind) {
        return Err(Invalid::new(
            "key",
            format!(
                "this key belongs to the {} integration {:?}, which does not take this format",
                i.spec.kind.as_str(),
                i.spec.name
            ),
        )
        .into());
    }
    Ok(i)
}

fn json_body(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("", format!("the request body is not valid JSON: {e}")))
}

/// Refuses with 429 and Retry-After when the integration is past its rate.
fn throttle(s: &AppState, i: &Integration, n: usize) -> ApiResult<()> {
    let rate = i.spec.rate_per_minute.unwrap_or(crate::limit::DEFAULT_PER_MINUTE);
    s.limiter.take(&i.id, rate, n as u32, s.clock.now()).map_err(|retry_after| {
        s.metrics.count_throttled(i.spec.kind.as_str());
        ApiError::TooManyRequests(
            format!("integration {} is sending faster than its {rate} alerts a minute", i.spec.name),
            retry_after,
        )
    })
}

/// Records alerts (before answering) with their routing jobs.
async fn record(s: &AppState, i: &Integration, alerts: &[Alert], kind: &'static str) -> ApiResult<Vec<String>> {
    let items: Vec<NewInbound> = alerts
        .iter()
        .map(|a| NewInbound {
            id: muster_core::new_id(),
            kind,
            integration_id: Some(i.id.clone()),
            payload: muster_engine::alert_payload(a),
        })
        .collect();
    let ids = items.iter().map(|i| i.id.clone()).collect();
    let n = items.len();
    s.ingester.ingest(items, vec![], s.clock.now()).await?;
    s.engine.wake();
    s.metrics.count_inbound(i.spec.kind.as_str(), n);
    Ok(ids)
}

fn accepted(ids: Vec<String>) -> Response {
    (StatusCode::ACCEPTED, Json(Accepted { accepted: ids.len(), ids })).into_response()
}

async fn take(s: &AppState, i: &Integration, alerts: Vec<Alert>) -> ApiResult<Response> {
    throttle(s, i, alerts.len())?;
    let ids = record(s, i, &alerts, INBOUND_ALERT).await?;
    Ok(accepted(ids))
}

/// `POST /api/v2/alerts`: Prometheus (or amtool) posting to its Alertmanager.
#[utoipa::path(post, path = "/api/v2/alerts", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    request_body(content = Vec<Value>, description = "Alertmanager's postableAlerts"),
    responses((status = 200, description = "Recorded"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn alertmanager_v2(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Alertmanager]).await?;
    let alerts = alertmanager::parse_v2_alerts(&json_body(&body)?, s.clock.now())?;
    throttle(&s, &i, alerts.len())?;
    record(&s, &i, &alerts, INBOUND_ALERT).await?;
    // Alertmanager answers a good post with 200 and no body.
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/v2/alerts`: the integration's current alerts as Alertmanager's `gettableAlerts`
/// (what `amtool alert query` shows): the latest of each alert still firing, `active` while its
/// incident is open, `suppressed` (with the silence) when a silence caught it.
#[utoipa::path(get, path = "/api/v2/alerts", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    responses((status = 200, body = Vec<Value>, description = "Alertmanager's gettableAlerts"),
        (status = 401, body = ErrorBody)))]
pub async fn alertmanager_v2_list(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<Value>>> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Alertmanager]).await?;
    let items = s
        .store
        .list_inbound(&muster_store::InboundQuery { integration_id: Some(i.id.clone()), status: None, limit: 500 })
        .await?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for item in items {
        let Ok(alert) = serde_json::from_value::<Alert>(item.payload["alert"].clone()) else { continue };
        let Some(fingerprint) = alert.dedupe.clone() else { continue };
        if !seen.insert(fingerprint.clone()) || alert.action != AlertAction::Trigger {
            continue;
        }
        let (state, silenced_by) = match item.status.as_str() {
            "suppressed" => {
                ("suppressed", item.outcome["silence"].as_str().map(|s| vec![s.to_string()]).unwrap_or_default())
            }
            "pending" => ("active", vec![]),
            "routed" => match &item.incident_id {
                Some(id) => match s.store.get_incident(id).await? {
                    Some(inc) if inc.status == muster_core::incident::IncidentStatus::Open => ("active", vec![]),
                    _ => continue,
                },
                None => continue,
            },
            _ => continue,
        };
        let annotations: serde_json::Map<String, Value> =
            alert.raw["annotations"].as_object().cloned().unwrap_or_default();
        out.push(json!({
            "labels": alert.labels,
            "annotations": annotations,
            "startsAt": alert.starts_at.unwrap_or(item.received_at),
            "endsAt": alert.ends_at.unwrap_or(item.received_at + jiff::SignedDuration::from_mins(5)),
            "updatedAt": item.received_at,
            "generatorURL": alert.raw["generatorURL"].as_str().unwrap_or(""),
            "fingerprint": fingerprint,
            "receivers": [{"name": i.spec.name}],
            "status": {"state": state, "silencedBy": silenced_by, "inhibitedBy": []},
        }));
    }
    Ok(Json(out))
}

/// `POST /integrations/alertmanager`: Alertmanager's webhook_config payload (version 4).
#[utoipa::path(post, path = "/integrations/alertmanager", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    request_body = Value, responses((status = 202, body = Accepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn alertmanager_webhook(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Alertmanager]).await?;
    let alerts = alertmanager::parse_webhook(&json_body(&body)?)?;
    take(&s, &i, alerts).await
}

/// `POST /integrations/grafana`: Grafana alerting's webhook contact point.
#[utoipa::path(post, path = "/integrations/grafana", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    request_body = Value, responses((status = 202, body = Accepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn grafana_webhook(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Grafana]).await?;
    let alerts = grafana::parse(&json_body(&body)?)?;
    take(&s, &i, alerts).await
}

/// `POST /integrations/generic`: any JSON, read through the integration's mapping.
#[utoipa::path(post, path = "/integrations/generic", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    request_body = Value, responses((status = 202, body = Accepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn generic_webhook(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Generic]).await?;
    let mapping = i.spec.mapping.clone().unwrap_or_else(|| generic::Mapping::new("/title"));
    let alert = generic::parse(&json_body(&body)?, &mapping)?;
    take(&s, &i, vec![alert]).await
}

/// `POST|GET /integrations/heartbeat`: a ping; a missed one opens an incident, the next ping
/// resolves it.
#[utoipa::path(method(get, post), path = "/integrations/heartbeat", tag = "senders", params(KeyParam),
    security(("integrationKey" = [])),
    responses((status = 200, body = Value, description = "`ok` and `nextBefore`, when the next ping is due"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn heartbeat(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Heartbeat]).await?;
    throttle(&s, &i, 1)?;
    let now = s.clock.now();
    let last = i.last_received_at.unwrap_or(i.created_at);
    let alert = muster_engine::heartbeat_alert(&i, AlertAction::Resolve, last, now);
    let item = NewInbound {
        id: muster_core::new_id(),
        kind: INBOUND_ALERT,
        integration_id: Some(i.id.clone()),
        payload: muster_engine::alert_payload(&alert),
    };
    let due = now + jiff::SignedDuration::from_secs(i64::from(i.spec.interval_seconds.unwrap_or(300)));
    s.ingester.ingest(vec![item], vec![muster_engine::heartbeat_job(&i.id, due)], now).await?;
    s.engine.wake();
    Ok((StatusCode::OK, Json(json!({"ok": true, "nextBefore": due}))).into_response())
}

/// PagerDuty's own 400 answer.
fn pd_invalid(errors: Vec<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(pagerduty::error_body(pagerduty::INVALID_EVENT_MESSAGE, &errors))).into_response()
}

/// `POST /v2/enqueue` and `/v2/change/enqueue`: PagerDuty Events API v2, answered as PagerDuty does
/// (202 with the dedup key; 400 `invalid event` with the reasons; 429 past the rate).
#[utoipa::path(post, path = "/v2/enqueue", tag = "senders", security(()),
    request_body(content = Value, description = "A PagerDuty Events API v2 event; its routing_key is the integration key"),
    responses((status = 202, body = Value), (status = 400, body = Value), (status = 429, body = Value)))]
pub async fn pagerduty_enqueue(State(s): State<AppState>, Raw(body): Raw) -> Response {
    enqueue(s, body).await
}

/// `POST /v2/change/enqueue`: PagerDuty change events (recorded, no incident).
#[utoipa::path(post, path = "/v2/change/enqueue", tag = "senders", security(()),
    request_body(content = Value, description = "A PagerDuty change event; its routing_key is the integration key"),
    responses((status = 202, body = Value), (status = 400, body = Value), (status = 429, body = Value)))]
pub async fn pagerduty_change_enqueue(State(s): State<AppState>, Raw(body): Raw) -> Response {
    enqueue(s, body).await
}

async fn enqueue(s: AppState, body: axum::body::Bytes) -> Response {
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v,
        Err(e) => return pd_invalid(vec![format!("Event object is not valid JSON: {e}")]),
    };
    let event = match pagerduty::parse_event(&value) {
        Ok(e) => e,
        Err(invalid) => return pd_invalid(pagerduty::errors_of(&invalid)),
    };
    let i = match integration(&s, Some(&event.routing_key), &[IntegrationType::Pagerduty]).await {
        Ok(i) => i,
        Err(ApiError::Unauthorized(_)) => return pd_invalid(vec!["Invalid routing key".into()]),
        Err(ApiError::Invalid(e)) => return pd_invalid(vec![e.message]),
        Err(e) => return e.into_response(),
    };
    if let Err(ApiError::TooManyRequests(_, retry_after)) = throttle(&s, &i, 1) {
        let mut out = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": "throttle event", "message": "Requests for this routing key are arriving too quickly. Please retry later."})),
        )
            .into_response();
        out.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return out;
    }
    match event.event {
        pagerduty::Event::Alert(mut alert) => {
            // A trigger without a dedup key gets one, returned so later events can name it.
            let key = alert.dedupe.clone().unwrap_or_else(|| muster_core::new_id().replace('-', ""));
            alert.dedupe = Some(key.clone());
            match record(&s, &i, &[alert], INBOUND_ALERT).await {
                Ok(_) => (StatusCode::ACCEPTED, Json(pagerduty::accepted_body(&key))).into_response(),
                Err(e) => e.into_response(),
            }
        }
        pagerduty::Event::Change(change) => {
            let item = NewInbound {
                id: muster_core::new_id(),
                kind: "change",
                integration_id: Some(i.id.clone()),
                payload: json!({
                    "summary": change.summary,
                    "source": change.source,
                    "timestamp": change.timestamp,
                    "customDetails": change.custom_details,
                    "links": change.links,
                }),
            };
            match s.ingester.ingest(vec![item], vec![], s.clock.now()).await {
                Ok(()) => {
                    s.engine.wake();
                    (StatusCode::ACCEPTED, Json(json!({"status": "success", "message": "Change event processed"})))
                        .into_response()
                }
                Err(e) => ApiError::from(e).into_response(),
            }
        }
    }
}

/// `POST /integrations/sns?key=KEY`: Amazon SNS HTTP delivery. A subscription confirmation is
/// recorded and shown (its SubscribeURL is for a person to visit: Muster fetches no URL a sender
/// names); notifications carrying CloudWatch alarms trigger (ALARM) or resolve (OK).
#[utoipa::path(post, path = "/integrations/sns", tag = "senders", params(KeyParam), security(("integrationKey" = [])),
    request_body(content = Value, description = "An SNS HTTP(S) message: Notification, SubscriptionConfirmation or UnsubscribeConfirmation"),
    responses((status = 200, description = "Recorded (a confirmation, or a notice)"), (status = 202, body = Accepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sns_delivery(
    State(s): State<AppState>,
    Params(q): Params<KeyParam>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let i = integration(&s, key_of(&headers, &q).as_deref(), &[IntegrationType::Sns]).await?;
    let message = sns::parse(&json_body(&body)?)?;
    let (kind, payload) = match message {
        sns::SnsMessage::Notification { alert: Some(alert), .. } => return take(&s, &i, vec![alert]).await,
        sns::SnsMessage::Notification { alert: None, topic_arn, message_id } => (
            "notice",
            json!({"type": "Notification", "topicArn": topic_arn, "messageId": message_id,
                "note": "an alarm's INSUFFICIENT_DATA state: recorded, no incident change"}),
        ),
        sns::SnsMessage::SubscriptionConfirmation { topic_arn, subscribe_url, message, .. } => (
            "subscription",
            json!({"type": "SubscriptionConfirmation", "topicArn": topic_arn, "subscribeUrl": subscribe_url,
                "message": message}),
        ),
        sns::SnsMessage::UnsubscribeConfirmation { topic_arn } => {
            ("notice", json!({"type": "UnsubscribeConfirmation", "topicArn": topic_arn}))
        }
    };
    throttle(&s, &i, 1)?;
    let item = NewInbound { id: muster_core::new_id(), kind, integration_id: Some(i.id.clone()), payload };
    s.ingester.ingest(vec![item], vec![], s.clock.now()).await?;
    s.engine.wake();
    Ok(StatusCode::OK.into_response())
}
