//! Engagements, pages and acknowledgements (API, and the signed links in every page).

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use muster_core::auth::Role;
use muster_core::engage::{Engagement, EngagementStatus, NewJob, Page, Task};
use muster_core::error::{optional_text, text};
use muster_core::incident::contact_alias;
use muster_core::new_id;
use muster_engine::links;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    /// An incident's id or number.
    incident: Option<String>,
    engagement: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PageList {
    items: Vec<Page>,
}

#[utoipa::path(get, path = "/api/v1/pages", tag = "paging", params(PageParams), responses((status = 200, body = PageList)))]
pub async fn list_pages(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<PageList>> {
    caller.require(Role::Viewer)?;
    let incident = super::incident_id(&s, p.incident.as_deref()).await?;
    Ok(Json(PageList { items: s.store.list_pages(incident.as_deref(), p.engagement.as_deref()).await? }))
}

#[utoipa::path(get, path = "/api/v1/pages/{id}", tag = "paging", params(("id" = String, Path)), responses((status = 200, body = Page)))]
pub async fn show_page(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Page>> {
    caller.require(Role::Viewer)?;
    s.store.get_page(&id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("page {id}")))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AckAnswer {
    page: Page,
    /// True when this acknowledgement stopped the engagement.
    stopped: bool,
    /// False when the page had been acknowledged before.
    newly: bool,
}

#[utoipa::path(post, path = "/api/v1/pages/{id}/ack", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = AckAnswer), (status = 404, body = crate::error::ErrorBody)))]
pub async fn ack_page(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AckAnswer>> {
    caller.require(Role::Responder)?;
    let acked = s
        .store
        .acknowledge(&id, caller.actor(), "api", s.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("page {id}")))?;
    tracing::info!(page = %id, stopped = acked.stopped, "page acknowledged");
    Ok(Json(AckAnswer { page: acked.page, stopped: acked.stopped, newly: acked.newly }))
}

#[derive(Deserialize, IntoParams)]
pub struct LinkParams {
    /// When the link stops working (Unix seconds).
    exp: Option<i64>,
    /// The link's signature.
    sig: Option<String>,
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Muster</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
         button{{font-size:1.25rem;padding:.75rem 1.5rem;border-radius:.5rem;border:0;background:#0b57d0;color:#fff;cursor:pointer}}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    (status, Html(page)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Checks a signed link; the page when it is right.
async fn linked_page(s: &AppState, id: &str, p: &LinkParams) -> Result<Page, Response> {
    let key = s.engine.link_key();
    let valid = match (p.exp, p.sig.as_deref()) {
        (Some(exp), Some(sig)) => links::verify(key, id, exp, sig, s.clock.now()),
        _ => false,
    };
    let page = if valid { s.store.get_page(id).await.ok().flatten() } else { None };
    page.ok_or_else(|| {
        html(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "<p>It may have expired. Acknowledge from the Muster app or CLI instead.</p>",
        )
    })
}

/// GET shows what would be acknowledged, with a button: link scanners in mail systems follow
/// links, and must not acknowledge anything by doing so.
#[utoipa::path(get, path = "/ack/{page}", tag = "paging", security(()), params(("page" = String, Path), LinkParams),
    responses((status = 200, body = String, content_type = "text/html"), (status = 404, body = String, content_type = "text/html")))]
pub async fn ack_page_confirm(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Params(p): Params<LinkParams>,
) -> Response {
    let page = match linked_page(&s, &id, &p).await {
        Ok(page) => page,
        Err(r) => return r,
    };
    let subject = match s.store.get_engagement(&page.engagement_id).await {
        Ok(Some(e)) => e.subject,
        _ => String::new(),
    };
    if page.read_at.is_some() {
        return html(StatusCode::OK, "Already acknowledged", &format!("<p>{}</p>", escape(&subject)));
    }
    let action =
        format!("/ack/{}?exp={}&sig={}", escape(&id), p.exp.unwrap_or(0), escape(p.sig.as_deref().unwrap_or("")));
    html(
        StatusCode::OK,
        "Acknowledge this page?",
        &format!(
            "<p>{}</p><p>Paged: {} via {}.</p><form method=\"post\" action=\"{action}\"><button type=\"submit\">Acknowledge</button></form>",
            escape(&subject),
            escape(&page.contact),
            escape(&page.channel_name)
        ),
    )
}

/// The button on that page: acknowledges the page the signed link names.
#[utoipa::path(post, path = "/ack/{page}", tag = "paging", security(()), params(("page" = String, Path), LinkParams),
    responses((status = 200, body = String, content_type = "text/html"), (status = 404, body = String, content_type = "text/html"),
        (status = 503, body = String, content_type = "text/html")))]
pub async fn ack_page_by_link(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Params(p): Params<LinkParams>,
) -> Response {
    let page = match linked_page(&s, &id, &p).await {
        Ok(page) => page,
        Err(r) => return r,
    };
    match s.store.acknowledge(&page.id, &page.contact, "link", s.clock.now()).await {
        Ok(Some(a)) => {
            let note = if a.stopped { "The escalation is stopped." } else { "Thank you." };
            html(StatusCode::OK, "Acknowledged", &format!("<p>{note}</p>"))
        }
        Ok(None) => html(StatusCode::NOT_FOUND, "This link does not work", "<p>No such page.</p>"),
        Err(e) => {
            tracing::warn!(error = %e, "acknowledgement by link failed");
            html(StatusCode::SERVICE_UNAVAILABLE, "Try again", "<p>Muster could not record that just now.</p>")
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngageBody {
    /// A contact alias (or ARN): a person, an on-call schedule or an escalation plan.
    contact: String,
    subject: String,
    #[serde(default)]
    content: Option<String>,
    /// The incident this is about (id or number), if any.
    incident: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/engagements", tag = "paging", request_body = EngageBody,
    responses((status = 201, body = Engagement), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_engagement(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<EngageBody>,
) -> ApiResult<(StatusCode, Json<Engagement>)> {
    caller.require(Role::Responder)?;
    let alias = contact_alias(body.contact.trim());
    if s.store.get_contact(&alias).await?.is_none() {
        return Err(ApiError::invalid("contact", format!("there is no contact {alias:?}")));
    }
    let incident = super::incident_id(&s, body.incident.as_deref()).await?;
    let now = s.clock.now();
    let e = Engagement {
        id: new_id(),
        incident_id: incident,
        contact: alias,
        subject: text("subject", &body.subject, 200)?,
        content: optional_text("content", body.content.as_deref(), 4000)?.unwrap_or_default(),
        status: EngagementStatus::Active,
        created_at: now,
        created_by: caller.actor().to_string(),
        stopped_at: None,
        acknowledged_by: None,
        acknowledged_via: None,
    };
    s.store.create_engagement(&e, &NewJob::at(Task::StartEngagement { engagement_id: e.id.clone() }, now)).await?;
    s.engine.wake();
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Serialize, ToSchema)]
pub struct EngagementList {
    items: Vec<Engagement>,
}

#[utoipa::path(get, path = "/api/v1/engagements", tag = "paging", params(PageParams), responses((status = 200, body = EngagementList)))]
pub async fn list_engagements(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<EngagementList>> {
    caller.require(Role::Viewer)?;
    let incident = super::incident_id(&s, p.incident.as_deref()).await?;
    Ok(Json(EngagementList { items: s.store.list_engagements(incident.as_deref()).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct EngagementView {
    #[serde(flatten)]
    engagement: Engagement,
    pages: Vec<Page>,
}

#[utoipa::path(get, path = "/api/v1/engagements/{id}", tag = "paging", params(("id" = String, Path)), responses((status = 200, body = EngagementView)))]
pub async fn show_engagement(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EngagementView>> {
    caller.require(Role::Viewer)?;
    let engagement =
        s.store.get_engagement(&id).await?.ok_or_else(|| ApiError::not_found(format!("engagement {id}")))?;
    let pages = s.store.list_pages(None, Some(&id)).await?;
    Ok(Json(EngagementView { engagement, pages }))
}

#[utoipa::path(post, path = "/api/v1/engagements/{id}/stop", tag = "paging", params(("id" = String, Path)), responses((status = 200, body = Engagement)))]
pub async fn stop_engagement(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Engagement>> {
    caller.require(Role::Responder)?;
    s.store.stop_engagement(&id, s.clock.now()).await?;
    s.store.get_engagement(&id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("engagement {id}")))
}
