//! Runbooks and their executions: define, validate, run, approve, reject, cancel.

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
use muster_core::engage::{NewJob, Task};
use muster_core::new_id;
use muster_core::runbook::{
    Document, Execution, ExecutionStatus, Runbook, bind_parameters, check_script_safety, parse_document,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

/// A document given as JSON, or as YAML or JSON text.
fn document_value(v: Value) -> ApiResult<Value> {
    match v {
        Value::String(text) => muster_template::to_json(&text).map_err(|e| ApiError::invalid("document", e)),
        other => Ok(other),
    }
}

fn checked(doc: &Value) -> Result<Document, Invalid> {
    let parsed = parse_document(doc).map_err(|e| e.within("document"))?;
    check_script_safety(&parsed).map_err(|e| e.within("document"))?;
    Ok(parsed)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookBody {
    name: String,
    /// The Automation document: JSON, or YAML/JSON text.
    #[schema(value_type = Object)]
    document: Value,
}

#[derive(Serialize, ToSchema)]
pub struct RunbookList {
    items: Vec<Runbook>,
}

#[utoipa::path(get, path = "/api/v1/runbooks", tag = "runbooks", responses((status = 200, body = RunbookList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<RunbookList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(RunbookList { items: s.store.list_runbooks().await? }))
}

async fn put(s: &AppState, key: Option<&str>, body: RunbookBody) -> ApiResult<(StatusCode, Json<Runbook>)> {
    let name = muster_core::plan::validate_name("name", &body.name)?;
    let doc = document_value(body.document)?;
    checked(&doc)?;
    let (rb, created) = s.store.put_runbook(key, &name, &doc, s.clock.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(rb)))
}

#[utoipa::path(post, path = "/api/v1/runbooks", tag = "runbooks", request_body = RunbookBody,
    responses((status = 201, body = Runbook), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<RunbookBody>,
) -> ApiResult<(StatusCode, Json<Runbook>)> {
    caller.require(Role::Admin)?;
    put(&s, None, body).await
}

#[utoipa::path(put, path = "/api/v1/runbooks/{name}", tag = "runbooks", request_body = RunbookBody, params(("name" = String, Path)),
    responses((status = 200, body = Runbook), (status = 201, body = Runbook)))]
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<RunbookBody>,
) -> ApiResult<(StatusCode, Json<Runbook>)> {
    caller.require(Role::Admin)?;
    put(&s, Some(&name), body).await
}

#[utoipa::path(get, path = "/api/v1/runbooks/{name}", tag = "runbooks", params(("name" = String, Path)), responses((status = 200, body = Runbook)))]
pub async fn show(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Runbook>> {
    caller.require(Role::Viewer)?;
    s.store.get_runbook(&name).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("runbook {name}")))
}

#[utoipa::path(delete, path = "/api/v1/runbooks/{name}", tag = "runbooks", params(("name" = String, Path)), responses((status = 204)))]
pub async fn remove(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_runbook(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("runbook {name}")))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateBody {
    #[schema(value_type = Object)]
    document: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    valid: bool,
    steps: Vec<String>,
    /// Steps Muster cannot run (AWS API calls, commands on instances), by name and action.
    unsupported_steps: Vec<String>,
    parameters: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/runbooks/validate", tag = "runbooks", request_body = ValidateBody,
    responses((status = 200, body = Validation), (status = 400, body = crate::error::ErrorBody)))]
pub async fn validate(caller: Caller, Body(body): Body<ValidateBody>) -> ApiResult<Json<Validation>> {
    caller.require(Role::Viewer)?;
    let doc = checked(&document_value(body.document)?)?;
    Ok(Json(Validation {
        valid: true,
        steps: doc.main_steps.iter().map(|s| format!("{} ({})", s.name, s.action)).collect(),
        unsupported_steps: doc.unsupported_steps(),
        parameters: doc.parameters.keys().cloned().collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    runbook: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    parameters: Map<String, Value>,
    /// The incident it works on (id or number), if any.
    incident: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/runbook-executions", tag = "runbooks", request_body = RunBody,
    responses((status = 201, body = Execution), (status = 400, body = crate::error::ErrorBody)))]
pub async fn run(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<RunBody>,
) -> ApiResult<(StatusCode, Json<Execution>)> {
    caller.require(Role::Responder)?;
    let rb = s
        .store
        .get_runbook(&body.runbook)
        .await?
        .ok_or_else(|| ApiError::invalid("runbook", format!("there is no runbook {:?}", body.runbook)))?;
    let doc =
        parse_document(&rb.document).map_err(|e| ApiError::Internal(format!("stored runbook does not parse: {e}")))?;
    let parameters = bind_parameters(&doc, &body.parameters)?;
    let incident = match body.incident.as_deref().filter(|i| !i.is_empty()) {
        Some(k) => Some(
            s.store
                .get_incident(k)
                .await?
                .ok_or_else(|| ApiError::invalid("incident", format!("there is no incident {k}")))?,
        ),
        None => None,
    };
    let now = s.clock.now();
    let e = Execution {
        id: new_id(),
        runbook: rb.name.clone(),
        status: ExecutionStatus::InProgress,
        parameters: Value::Object(parameters),
        incident_id: incident.as_ref().map(|i| i.id.clone()),
        outputs: json!({}),
        failure: None,
        steps: vec![],
        created_at: now,
        updated_at: now,
        ended_at: None,
        created_by: caller.actor().to_string(),
        document: None,
    };
    let first = NewJob::at(
        Task::RunStep { execution_id: e.id.clone(), step: doc.main_steps[0].name.clone(), resume: false },
        now,
    );
    s.store.create_execution(&e, &doc, &first).await?;
    if let Some(i) = &incident {
        let item = muster_core::incident::prepare_related_item(
            &i.id,
            muster_core::incident::RelatedItemKind::Other,
            Some(&format!("Runbook {}", rb.name)),
            &format!("runbook-execution:{}", e.id),
            caller.actor(),
            now,
        )?;
        s.store.add_related_item(&item).await?;
    }
    s.engine.wake();
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    incident: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    items: Vec<Execution>,
}

#[utoipa::path(get, path = "/api/v1/runbook-executions", tag = "runbooks", params(ListParams), responses((status = 200, body = ExecutionList)))]
pub async fn executions(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<ExecutionList>> {
    caller.require(Role::Viewer)?;
    let incident = super::incident_id(&s, p.incident.as_deref()).await?;
    Ok(Json(ExecutionList { items: s.store.list_executions(incident.as_deref()).await? }))
}

#[utoipa::path(get, path = "/api/v1/runbook-executions/{id}", tag = "runbooks", params(("id" = String, Path)), responses((status = 200, body = Execution)))]
pub async fn execution(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Execution>> {
    caller.require(Role::Viewer)?;
    s.store.get_execution(&id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("execution {id}")))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The approver (a contact alias) deciding; the token's name when absent.
    approver: Option<String>,
    comment: Option<String>,
}

async fn decide(
    s: &AppState,
    caller: &Caller,
    id: &str,
    body: DecisionBody,
    approve: bool,
) -> ApiResult<Json<Execution>> {
    caller.require(Role::Responder)?;
    let approver = body.approver.clone().unwrap_or_else(|| caller.actor().to_string());
    decide_as(s, caller.actor(), approver, id, approve, body.comment).await.map(Json)
}

/// Records an approval or rejection by `approver` (deciding as `actor`: a token's name, or a Slack
/// user) on the execution's waiting step, and lets the execution go on when enough have approved.
pub(crate) async fn decide_as(
    s: &AppState,
    actor: &str,
    approver: String,
    id: &str,
    approve: bool,
    comment: Option<String>,
) -> ApiResult<Execution> {
    let e = s.store.get_execution(id).await?.ok_or_else(|| ApiError::not_found(format!("execution {id}")))?;
    let doc = e.document.clone().ok_or_else(|| ApiError::Internal("an execution without its document".into()))?;
    let waiting =
        e.steps.iter().rev().find(|r| r.status == muster_core::runbook::StepStatus::Waiting).ok_or_else(|| {
            ApiError::Conflict(Invalid::new("execution", "the execution is not waiting for a decision"))
        })?;
    let step = doc
        .main_steps
        .iter()
        .find(|st| st.name == waiting.name)
        .ok_or_else(|| ApiError::Internal("a waiting step left its document".into()))?;
    let approvers: Vec<String> = step
        .inputs
        .get("Approvers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(muster_core::incident::contact_alias).collect())
        .unwrap_or_default();
    if step.action == "aws:approve" && !approvers.is_empty() && !approvers.contains(&approver) {
        return Err(ApiError::Forbidden(format!(
            "{approver} is not an approver of step {}; approvers are {}",
            step.name,
            approvers.join(", ")
        )));
    }
    let entry = json!({
        "approver": approver,
        "decision": if approve { "Approved" } else { "Rejected" },
        "comment": comment,
        "by": actor,
        "at": s.clock.now(),
    });
    let needed = step
        .inputs
        .get("MinRequiredApprovals")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(1) as usize;
    let approvals_so_far =
        waiting.approvals.iter().filter(|a| a["decision"] == "Approved" && a["approver"] != json!(approver)).count()
            + usize::from(approve);
    let resume = !approve || approvals_so_far >= needed;
    s.store.decide(id, entry, resume.then_some(step.name.as_str()), s.clock.now()).await?;
    if let Some(incident) = &e.incident_id {
        let message = format!(
            "{approver} {} step {} of runbook {}",
            if approve { "approved" } else { "rejected" },
            step.name,
            e.runbook
        );
        let event = muster_core::incident::NewEvent::new(
            "runbook.decision",
            actor,
            message,
            json!({"executionId": e.id}),
            s.clock.now(),
        );
        s.store.add_timeline_event(incident, event).await?;
    }
    s.engine.wake();
    s.store.get_execution(id).await?.ok_or_else(|| ApiError::not_found(format!("execution {id}")))
}

#[utoipa::path(post, path = "/api/v1/runbook-executions/{id}/approve", tag = "runbooks", request_body = DecisionBody,
    params(("id" = String, Path)), responses((status = 200, body = Execution), (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Execution>> {
    let body: DecisionBody = if body.is_empty() { DecisionBody::default() } else { crate::json::parse(&body)? };
    decide(&s, &caller, &id, body, true).await
}

#[utoipa::path(post, path = "/api/v1/runbook-executions/{id}/reject", tag = "runbooks", request_body = DecisionBody,
    params(("id" = String, Path)), responses((status = 200, body = Execution), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reject(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Execution>> {
    let body: DecisionBody = if body.is_empty() { DecisionBody::default() } else { crate::json::parse(&body)? };
    decide(&s, &caller, &id, body, false).await
}

#[utoipa::path(post, path = "/api/v1/runbook-executions/{id}/cancel", tag = "runbooks", params(("id" = String, Path)), responses((status = 200, body = Execution)))]
pub async fn cancel(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Execution>> {
    caller.require(Role::Responder)?;
    s.store.cancel_execution(&id, s.clock.now()).await?;
    s.store.get_execution(&id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("execution {id}")))
}

/// Runs the same runbook again with the same parameters, for the same incident.
#[utoipa::path(post, path = "/api/v1/runbook-executions/{id}/retry", tag = "runbooks", params(("id" = String, Path)),
    responses((status = 201, body = Execution)))]
pub async fn retry(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Execution>)> {
    caller.require(Role::Responder)?;
    let old = s.store.get_execution(&id).await?.ok_or_else(|| ApiError::not_found(format!("execution {id}")))?;
    let body = RunBody {
        runbook: old.runbook.clone(),
        parameters: old.parameters.as_object().cloned().unwrap_or_default(),
        incident: old.incident_id.clone(),
    };
    run(State(s), caller, Body(body)).await
}
