//! The audit log: every change made through the API, the CLI (an API client), the web UI or chat
//! is recorded with who, what, when and from where, apart from incident timelines. What senders
//! post (alerts, events, metrics) is data, not a change by a person, and is not audited; it is
//! recorded in the inbound table instead.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use muster_core::Invalid;
use muster_core::auth::Role;
use muster_store::{AuditEntry, AuditQuery};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};

/// Paths where senders post data.
fn is_ingest(path: &str) -> bool {
    matches!(
        path,
        "/api/v2/alerts"
            | "/integrations/alertmanager"
            | "/integrations/grafana"
            | "/integrations/generic"
            | "/integrations/sns"
            | "/integrations/heartbeat"
            | "/v2/enqueue"
            | "/v2/change/enqueue"
            | "/api/v1/metrics"
            | "/api/v1/events"
    )
}

async fn actor_of(s: &AppState, headers: &HeaderMap, path: &str) -> String {
    if let Some(secret) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        && let Ok(Some(t)) = s.store.token_by_hash(&crate::auth::hash_secret(secret.trim())).await
    {
        return t.name;
    }
    if let Some(secret) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        && let Ok(Some(i)) = s.store.integration_by_key(&crate::auth::hash_secret(secret.trim())).await
    {
        return format!("integration:{}", i.spec.name);
    }
    if let Some(session) = crate::ui::session::session_of(s, headers).await {
        return session.token.name;
    }
    if path.starts_with("/ack/") {
        "link".into()
    } else if path.starts_with("/integrations/slack") {
        "slack".into()
    } else if path.starts_with("/integrations/twilio") {
        "sms".into()
    } else {
        "anonymous".into()
    }
}

/// Records each request that may change something, after it is answered.
pub async fn record(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) || is_ingest(&path) {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let res = next.run(req).await;
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(str::to_string);
    let remote = match (peer, forwarded) {
        (Some(p), Some(f)) => Some(format!("{p} (for {f})")),
        (p, f) => p.or(f),
    };
    let header_text =
        |h: &HeaderMap, name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(200).collect());
    // A sign-in names its token through the session it starts.
    let mut who = headers.clone();
    if path == "/login"
        && let Some(cookie) = res.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok())
        && let Some(pair) = cookie.split(';').next()
        && let Ok(v) = axum::http::HeaderValue::from_str(pair)
    {
        who.insert(header::COOKIE, v);
    }
    let entry = AuditEntry {
        id: muster_core::new_id(),
        at: s.clock.now(),
        actor: actor_of(&s, &who, &path).await,
        method: method.to_string(),
        path: path.chars().take(500).collect(),
        status: res.status().as_u16(),
        remote,
        client: header_text(&headers, "user-agent"),
        request_id: header_text(res.headers(), "x-request-id").or_else(|| header_text(&headers, "x-request-id")),
    };
    if let Err(e) = s.store.record_audit(&entry).await {
        tracing::warn!(error = %e, path = %entry.path, "the audit log could not record a change");
    }
    res
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    actor: Option<String>,
    /// At most this many, newest first (default 500, at most 10,000).
    limit: Option<u32>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    items: Vec<AuditEntry>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The audit log, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams), responses((status = 200, body = AuditList)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    crate::api::Params(p): crate::api::Params<AuditParams>,
) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    let q = AuditQuery { from: p.from, to: p.to, actor: p.actor, limit: p.limit.unwrap_or(500) };
    let items = s.store.list_audit(&q).await?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(AuditList { items }).into_response()),
        "csv" => {
            let mut out = String::from("at,actor,method,path,status,remote,client,request_id\n");
            for e in &items {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    e.at,
                    csv_field(&e.actor),
                    e.method,
                    csv_field(&e.path),
                    e.status,
                    csv_field(e.remote.as_deref().unwrap_or("")),
                    csv_field(e.client.as_deref().unwrap_or("")),
                    e.request_id.as_deref().unwrap_or("")
                ));
            }
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        other => Err(ApiError::from(Invalid::new("format", format!("{other:?}: use json or csv")))),
    }
}
