//! Response plans.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use muster_core::auth::Role;
use muster_core::plan::{ResponsePlan, ResponsePlanSpec};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct PlanList {
    items: Vec<ResponsePlan>,
}

#[utoipa::path(get, path = "/api/v1/response-plans", tag = "response-plans", responses((status = 200, body = PlanList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<PlanList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(PlanList { items: s.store.list_plans().await? }))
}

#[utoipa::path(post, path = "/api/v1/response-plans", tag = "response-plans", request_body = ResponsePlanSpec,
    responses((status = 201, body = ResponsePlan), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<ResponsePlanSpec>,
) -> ApiResult<(StatusCode, Json<ResponsePlan>)> {
    caller.require(Role::Admin)?;
    let spec = spec.validate()?;
    Ok((StatusCode::CREATED, Json(s.store.create_plan(&spec, s.clock.now()).await?)))
}

#[utoipa::path(get, path = "/api/v1/response-plans/{key}", tag = "response-plans",
    params(("key" = String, Path, description = "name or id")), responses((status = 200, body = ResponsePlan)))]
pub async fn show(State(s): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<Json<ResponsePlan>> {
    caller.require(Role::Viewer)?;
    s.store.get_plan(&key).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("response plan {key}")))
}

#[utoipa::path(put, path = "/api/v1/response-plans/{key}", tag = "response-plans", request_body = ResponsePlanSpec,
    params(("key" = String, Path, description = "name or id")),
    responses((status = 200, body = ResponsePlan, description = "replaced"), (status = 201, body = ResponsePlan, description = "created")))]
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Body(spec): Body<ResponsePlanSpec>,
) -> ApiResult<(StatusCode, Json<ResponsePlan>)> {
    caller.require(Role::Admin)?;
    let spec = spec.validate()?;
    match s.store.replace_plan(&key, &spec, s.clock.now()).await? {
        Some(plan) => Ok((StatusCode::OK, Json(plan))),
        None => Ok((StatusCode::CREATED, Json(s.store.create_plan(&spec, s.clock.now()).await?))),
    }
}

#[utoipa::path(delete, path = "/api/v1/response-plans/{key}", tag = "response-plans",
    params(("key" = String, Path, description = "name or id")), responses((status = 204)))]
pub async fn remove(State(s): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_plan(&key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("response plan {key}")))
    }
}
