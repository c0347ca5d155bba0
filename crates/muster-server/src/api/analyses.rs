//! Post-incident analyses (with their computed metrics, exports and action items), analysis
//! templates, and reports across incidents.

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use muster_core::Invalid;
use muster_core::analysis::{
    ActionItem, ActionItemSpec, Analysis, AnalysisMetrics, AnalysisPatch, AnalysisStatus, AnalysisTemplate, Period,
    Report, compute_metrics, excerpt_of, report, report_csv, to_json, to_markdown,
};
use muster_core::auth::Role;
use muster_core::engage::Page;
use muster_core::incident::{Incident, RelatedItem};
use muster_core::runbook::Execution;
use muster_store::ActionItemQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    /// The incident (id or number).
    incident: String,
    /// A template's name; `default` when absent.
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// An analysis with what it pulls in from its incident, and its metrics computed now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisView {
    #[serde(flatten)]
    analysis: Analysis,
    incident: Incident,
    metrics: AnalysisMetrics,
    related_items: Vec<RelatedItem>,
    pages: Vec<Page>,
    runbook_executions: Vec<Execution>,
    action_items: Vec<ActionItem>,
}

async fn view(s: &AppState, analysis: Analysis) -> ApiResult<AnalysisView> {
    let incident = s
        .store
        .get_incident(&analysis.incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("incident {}", analysis.incident_id)))?;
    let timeline = s.store.list_timeline(&incident.id).await?;
    let pages = s.store.list_pages(Some(&incident.id), None).await?;
    let metrics = compute_metrics(&incident, &timeline, &pages);
    let action_items = s
        .store
        .list_action_items(&ActionItemQuery { analysis_id: Some(analysis.id.clone()), ..Default::default() })
        .await?;
    Ok(AnalysisView {
        related_items: s.store.list_related_items(&incident.id).await?,
        runbook_executions: s.store.list_executions(Some(&incident.id)).await?,
        incident,
        metrics,
        pages,
        action_items,
        analysis,
    })
}

async fn find(s: &AppState, id: &str) -> ApiResult<Analysis> {
    s.store.get_analysis(id).await?.ok_or_else(|| ApiError::not_found(format!("analysis {id}")))
}

async fn template(s: &AppState, name: &str) -> ApiResult<AnalysisTemplate> {
    match s.store.get_analysis_template(name).await? {
        Some(t) => Ok(t),
        None if name == "default" => Ok(AnalysisTemplate::default_template()),
        None => Err(Invalid::new("template", format!("there is no analysis template {name:?}")).into()),
    }
}

/// Creates an analysis of an incident: the template's questions, the incident's timeline as an
/// editable excerpt, and metrics computed from the record.
#[utoipa::path(post, path = "/api/v1/post-incident-analyses", tag = "analysis", request_body = CreateBody,
    responses((status = 201, body = AnalysisView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<AnalysisView>)> {
    caller.require(Role::Responder)?;
    let incident = s
        .store
        .get_incident(body.incident.trim())
        .await?
        .ok_or_else(|| Invalid::new("incident", format!("there is no incident {}", body.incident)))?;
    let template = template(&s, body.template.as_deref().unwrap_or("default")).await?;
    let now = s.clock.now();
    let title = match body.title {
        Some(t) => muster_core::error::text("title", &t, 200)?,
        None => format!("Incident #{}: {}", incident.number, incident.title),
    };
    let analysis = Analysis {
        id: muster_core::new_id(),
        incident_id: incident.id.clone(),
        title,
        status: AnalysisStatus::Draft,
        template,
        answers: Default::default(),
        timeline_excerpt: excerpt_of(&s.store.list_timeline(&incident.id).await?),
        created_at: now,
        updated_at: now,
        created_by: caller.actor().to_string(),
    };
    s.store.put_analysis(&analysis).await?;
    Ok((StatusCode::CREATED, Json(view(&s, analysis).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// An incident's id or number.
    incident: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AnalysisList {
    items: Vec<Analysis>,
}

#[utoipa::path(get, path = "/api/v1/post-incident-analyses", tag = "analysis", params(ListParams),
    responses((status = 200, body = AnalysisList)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<AnalysisList>> {
    caller.require(Role::Viewer)?;
    let incident = super::incident_id(&s, p.incident.as_deref()).await?;
    Ok(Json(AnalysisList { items: s.store.list_analyses(incident.as_deref()).await? }))
}

#[utoipa::path(get, path = "/api/v1/post-incident-analyses/{id}", tag = "analysis", params(("id" = String, Path)),
    responses((status = 200, body = AnalysisView)))]
pub async fn show(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AnalysisView>> {
    caller.require(Role::Viewer)?;
    let a = find(&s, &id).await?;
    Ok(Json(view(&s, a).await?))
}

/// Answers questions, edits the title or the timeline excerpt, moves the status
/// (DRAFT, IN_REVIEW, PUBLISHED).
#[utoipa::path(patch, path = "/api/v1/post-incident-analyses/{id}", tag = "analysis", request_body = AnalysisPatch,
    params(("id" = String, Path)), responses((status = 200, body = AnalysisView)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<AnalysisPatch>,
) -> ApiResult<Json<AnalysisView>> {
    caller.require(Role::Responder)?;
    let a = patch.apply(find(&s, &id).await?, s.clock.now())?;
    s.store.put_analysis(&a).await?;
    Ok(Json(view(&s, a).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportParams {
    /// `markdown` (default) or `json`.
    format: Option<String>,
}

/// The analysis as Markdown (title, metrics, answers, timeline, action items) or JSON.
#[utoipa::path(get, path = "/api/v1/post-incident-analyses/{id}/export", tag = "analysis",
    params(("id" = String, Path), ExportParams), responses((status = 200, description = "text/markdown or JSON")))]
pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(p): Params<ExportParams>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let v = view(&s, find(&s, &id).await?).await?;
    match p.format.as_deref().unwrap_or("markdown") {
        "markdown" | "md" => Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            to_markdown(&v.analysis, &v.incident, &v.metrics, &v.action_items),
        )
            .into_response()),
        "json" => Ok(Json(to_json(&v.analysis, &v.incident, &v.metrics, &v.action_items)).into_response()),
        other => Err(Invalid::new("format", format!("{other:?}: use markdown or json")).into()),
    }
}

#[utoipa::path(post, path = "/api/v1/post-incident-analyses/{id}/action-items", tag = "analysis", request_body = ActionItemSpec,
    params(("id" = String, Path)), responses((status = 201, body = ActionItem), (status = 400, body = crate::error::ErrorBody)))]
pub async fn add_item(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(spec): Body<ActionItemSpec>,
) -> ApiResult<(StatusCode, Json<ActionItem>)> {
    caller.require(Role::Responder)?;
    let a = find(&s, &id).await?;
    let item = s.store.put_action_item(None, &a.id, &spec.validate()?, s.clock.now()).await.map_err(owner_error)?;
    Ok((StatusCode::CREATED, Json(item)))
}

fn owner_error(e: muster_store::StoreError) -> ApiError {
    match e {
        // An unknown owner or item is bad input, not a conflict with stored state.
        muster_store::StoreError::Conflict(i) => ApiError::Invalid(i),
        other => other.into(),
    }
}

#[utoipa::path(put, path = "/api/v1/post-incident-analyses/{id}/action-items/{item}", tag = "analysis", request_body = ActionItemSpec,
    params(("id" = String, Path), ("item" = String, Path)), responses((status = 200, body = ActionItem)))]
pub async fn replace_item(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    Body(spec): Body<ActionItemSpec>,
) -> ApiResult<Json<ActionItem>> {
    caller.require(Role::Responder)?;
    let a = find(&s, &id).await?;
    Ok(Json(s.store.put_action_item(Some(&item), &a.id, &spec.validate()?, s.clock.now()).await.map_err(owner_error)?))
}

#[utoipa::path(delete, path = "/api/v1/post-incident-analyses/{id}/action-items/{item}", tag = "analysis",
    params(("id" = String, Path), ("item" = String, Path)), responses((status = 204)))]
pub async fn delete_item(
    State(s): State<AppState>,
    caller: Caller,
    Path((_analysis, item)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    if s.store.delete_action_item(&item).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("action item {item}")))
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ItemParams {
    owner: Option<String>,
    /// `open` (default) or `all`.
    status: Option<String>,
    /// Only those past their due date.
    overdue: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemList {
    items: Vec<ItemWithOverdue>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemWithOverdue {
    #[serde(flatten)]
    item: ActionItem,
    overdue: bool,
}

/// Action items across every analysis.
#[utoipa::path(get, path = "/api/v1/action-items", tag = "analysis", params(ItemParams), responses((status = 200, body = ItemList)))]
pub async fn list_items(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ItemParams>,
) -> ApiResult<Json<ItemList>> {
    caller.require(Role::Viewer)?;
    let open = match p.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => return Err(Invalid::new("status", format!("{other:?}: use open or all")).into()),
    };
    let now = s.clock.now();
    let items = s
        .store
        .list_action_items(&ActionItemQuery { owner: p.owner, open, ..Default::default() })
        .await?
        .into_iter()
        .map(|item| ItemWithOverdue { overdue: item.overdue(now), item })
        .filter(|i| !p.overdue.unwrap_or(false) || i.overdue)
        .collect();
    Ok(Json(ItemList { items }))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateList {
    items: Vec<AnalysisTemplate>,
}

#[utoipa::path(get, path = "/api/v1/analysis-templates", tag = "analysis", responses((status = 200, body = TemplateList)))]
pub async fn list_templates(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<TemplateList>> {
    caller.require(Role::Viewer)?;
    let mut items = s.store.list_analysis_templates().await?;
    if !items.iter().any(|t| t.name == "default") {
        items.insert(0, AnalysisTemplate::default_template());
    }
    Ok(Json(TemplateList { items }))
}

#[utoipa::path(put, path = "/api/v1/analysis-templates/{name}", tag = "analysis", request_body = AnalysisTemplate,
    params(("name" = String, Path)), responses((status = 200, body = AnalysisTemplate), (status = 201, body = AnalysisTemplate)))]
pub async fn put_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(t): Body<AnalysisTemplate>,
) -> ApiResult<(StatusCode, Json<AnalysisTemplate>)> {
    caller.require(Role::Admin)?;
    if t.name != name {
        return Err(Invalid::new("name", "must be the name in the path").into());
    }
    let t = t.validate()?;
    let created = s.store.put_analysis_template(&t, s.clock.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(t)))
}

#[utoipa::path(get, path = "/api/v1/analysis-templates/{name}", tag = "analysis", params(("name" = String, Path)),
    responses((status = 200, body = AnalysisTemplate)))]
pub async fn show_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<AnalysisTemplate>> {
    caller.require(Role::Viewer)?;
    match template(&s, &name).await {
        Ok(t) => Ok(Json(t)),
        Err(_) => Err(ApiError::not_found(format!("analysis template {name}"))),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ReportParams {
    /// Default: 30 days before `to`.
    from: Option<Timestamp>,
    /// Default: now.
    to: Option<Timestamp>,
    /// `day`, `week` (default, from Monday) or `month`.
    period: Option<Period>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// MTTA and MTTR overall, by response plan, impact and period; pages per person (after hours in
/// each person's time zone); the noisiest sources. Incidents opened in `[from, to)`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "analysis", params(ReportParams),
    responses((status = 200, body = Report), (status = 400, body = crate::error::ErrorBody)))]
pub async fn reports(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ReportParams>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let to = p.to.unwrap_or_else(|| s.clock.now());
    let from = p.from.unwrap_or(to - SignedDuration::from_hours(24 * 30));
    if from >= to {
        return Err(Invalid::new("from", "must be before `to`").into());
    }
    let (incidents, pages) = s.store.report_data(from, to).await?;
    let r = report(&incidents, &pages, p.period.unwrap_or_default(), Some(from), Some(to));
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(r).into_response()),
        "csv" => Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], report_csv(&r)).into_response()),
        other => Err(Invalid::new("format", format!("{other:?}: use json or csv")).into()),
    }
}
