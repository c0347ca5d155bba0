//! Stacks: a template applied as a named set of resources, atomically.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use muster_core::auth::Role;
use muster_core::stack::{ApplyReport, StackResource};
use muster_store::StoredStack;
use muster_template::{Options, Source, plan_stack};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyBody {
    /// The template text (CloudFormation YAML or JSON, or native Muster YAML).
    template: Option<String>,
    /// Several native Muster files, applied together (a folder).
    #[serde(default)]
    files: Vec<TemplateFile>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    /// Report what would change and change nothing.
    #[serde(default)]
    dry_run: bool,
    /// Import the supported resources and list the rest, instead of refusing the template.
    #[serde(default)]
    skip_unsupported: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    name: String,
    content: String,
}

#[utoipa::path(put, path = "/api/v1/stacks/{name}", tag = "stacks", request_body = ApplyBody,
    params(("name" = String, Path)),
    responses((status = 200, body = ApplyReport), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn apply(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<ApplyBody>,
) -> ApiResult<Json<ApplyReport>> {
    caller.require(Role::Admin)?;
    let mut sources: Vec<Source> =
        body.files.into_iter().map(|f| Source { name: f.name, content: f.content }).collect();
    match (body.template, sources.is_empty()) {
        (Some(t), true) => sources.push(Source { name: "template".into(), content: t }),
        (None, false) => {}
        (Some(_), false) => return Err(ApiError::invalid("files", "give either template or files, not both")),
        (None, true) => return Err(ApiError::invalid("template", "is required")),
    }
    let options = Options { parameters: body.parameters, skip_unsupported: body.skip_unsupported };
    let plan = plan_stack(&name, &sources, &options)?;
    let mut report = s.store.apply_stack(&plan, body.dry_run, s.clock.now()).await?;
    report.warnings.extend(s.engine.notifiers().missing_providers(&plan, &s.providers));
    tracing::info!(stack = %name, dry_run = body.dry_run, changed = report.changed, "stack applied");
    Ok(Json(report))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackView {
    name: String,
    format: String,
    parameters: BTreeMap<String, String>,
    #[schema(value_type = Object)]
    outputs: BTreeMap<String, Value>,
    resources: Vec<StackResource>,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<String>,
}

fn view(s: StoredStack, with_template: bool) -> StackView {
    StackView {
        name: s.name,
        format: s.format,
        parameters: s.parameters,
        outputs: s.outputs,
        resources: s.resources,
        created_at: s.created_at,
        updated_at: s.updated_at,
        template: with_template.then_some(s.template),
    }
}

#[derive(Serialize, ToSchema)]
pub struct StackList {
    items: Vec<StackView>,
}

#[utoipa::path(get, path = "/api/v1/stacks", tag = "stacks", responses((status = 200, body = StackList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<StackList>> {
    caller.require(Role::Viewer)?;
    let items = s.store.list_stacks().await?.into_iter().map(|s| view(s, false)).collect();
    Ok(Json(StackList { items }))
}

#[utoipa::path(get, path = "/api/v1/stacks/{name}", tag = "stacks", params(("name" = String, Path)),
    responses((status = 200, body = StackView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<StackView>> {
    caller.require(Role::Viewer)?;
    let stack = s.store.get_stack(&name).await?.ok_or_else(|| ApiError::not_found(format!("stack {name}")))?;
    Ok(Json(view(stack, true)))
}

#[derive(Serialize, ToSchema)]
pub struct DeletedStack {
    stack: String,
    deleted: Vec<StackResource>,
}

#[utoipa::path(delete, path = "/api/v1/stacks/{name}", tag = "stacks", params(("name" = String, Path)),
    responses((status = 200, body = DeletedStack), (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Json<DeletedStack>)> {
    caller.require(Role::Admin)?;
    let deleted = s
        .store
        .delete_stack(&name, s.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stack {name}")))?;
    tracing::info!(stack = %name, resources = deleted.len(), "stack deleted");
    Ok((StatusCode::OK, Json(DeletedStack { stack: name, deleted })))
}
