//! Metrics (PutMetricData, series, statistics) and metric alarms (with state, history and a
//! by-hand state change for trying actions).

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use muster_core::Invalid;
use muster_core::alarm::{Alarm, AlarmHistoryItem, AlarmSpec, Evaluation, StateValue};
use muster_core::auth::Role;
use muster_core::error::text;
use muster_core::metric::{Dimensions, PutMetricData, Statistic, prepare_metric_data};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsAccepted {
    /// Datapoints written.
    datapoints: usize,
    /// Alarm evaluations the data asked for.
    evaluations: usize,
}

/// Takes a batch shaped like CloudWatch's PutMetricData. The data is written before the answer.
#[utoipa::path(post, path = "/api/v1/metrics", tag = "detection", request_body = PutMetricData,
    responses((status = 200, body = MetricsAccepted), (status = 400, body = crate::error::ErrorBody)))]
pub async fn put_metrics(
    State(s): State<AppState>,
    caller: Caller,
    Body(batch): Body<PutMetricData>,
) -> ApiResult<Json<MetricsAccepted>> {
    caller.require(Role::Responder)?;
    let data = prepare_metric_data(batch, s.clock.now())?;
    let evaluations = s.store.put_metric_data(&data, s.clock.now()).await?;
    if evaluations > 0 {
        s.engine.wake();
    }
    Ok(Json(MetricsAccepted { datapoints: data.len(), evaluations }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesItem {
    namespace: String,
    metric_name: String,
    dimensions: Dimensions,
    last_timestamp: Timestamp,
    datapoints: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SeriesList {
    items: Vec<SeriesItem>,
}

#[derive(Deserialize, IntoParams)]
pub struct SeriesParams {
    namespace: Option<String>,
}

/// The metric series that have data, as CloudWatch's ListMetrics.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "detection", params(SeriesParams), responses((status = 200, body = SeriesList)))]
pub async fn list_metrics(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<SeriesParams>,
) -> ApiResult<Json<SeriesList>> {
    caller.require(Role::Viewer)?;
    let items = s
        .store
        .list_series(p.namespace.as_deref())
        .await?
        .into_iter()
        .map(|x| SeriesItem {
            namespace: x.namespace,
            metric_name: x.metric_name,
            dimensions: x.dimensions,
            last_timestamp: x.last,
            datapoints: x.count,
        })
        .collect();
    Ok(Json(SeriesList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct StatisticsParams {
    namespace: String,
    metric_name: String,
    /// `Name=Value`, comma-separated.
    dimensions: Option<String>,
    /// Default `Average`.
    statistic: Option<String>,
    /// Seconds, default 60.
    period: Option<u32>,
    /// Default: an hour before `to`.
    from: Option<Timestamp>,
    /// Default: now.
    to: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct StatisticPoint {
    timestamp: Timestamp,
    value: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Statistics {
    statistic: String,
    period: u32,
    datapoints: Vec<StatisticPoint>,
}

/// A metric's statistic per period, as CloudWatch's GetMetricStatistics.
#[utoipa::path(get, path = "/api/v1/metrics/statistics", tag = "detection", params(StatisticsParams),
    responses((status = 200, body = Statistics), (status = 400, body = crate::error::ErrorBody)))]
pub async fn statistics(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<StatisticsParams>,
) -> ApiResult<Json<Statistics>> {
    caller.require(Role::Viewer)?;
    let statistic_name = p.statistic.unwrap_or_else(|| "Average".into());
    let statistic = Statistic::parse("statistic", &statistic_name)?;
    let period = p.period.unwrap_or(60);
    if period == 0 {
        return Err(Invalid::new("period", "must be at least 1 second").into());
    }
    let to = p.to.unwrap_or_else(|| s.clock.now());
    let from = p.from.unwrap_or(to - SignedDuration::from_hours(1));
    if from >= to || to.duration_since(from) > SignedDuration::from_hours(24 * 15) {
        return Err(Invalid::new("from", "must be before `to`, at most 15 days earlier").into());
    }
    let dimensions = parse_dimension_list(p.dimensions.as_deref())?;
    let data = s.store.metric_data(&p.namespace, &p.metric_name, &dimensions, from, to).await?;
    let datapoints = muster_core::metric::per_period(&data, i64::from(period), statistic)
        .into_iter()
        .map(|(timestamp, value)| StatisticPoint { timestamp, value })
        .collect();
    Ok(Json(Statistics { statistic: statistic_name, period, datapoints }))
}

/// `Name=Value,Name=Value` (as `muster metric` takes them) into a dimension set.
fn parse_dimension_list(text: Option<&str>) -> Result<Dimensions, Invalid> {
    let mut out = Dimensions::new();
    for part in text.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) =
            part.split_once('=').ok_or_else(|| Invalid::new("dimensions", format!("{part:?} is not Name=Value")))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct AlarmList {
    items: Vec<Alarm>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct AlarmParams {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    state: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/alarms", tag = "detection", params(AlarmParams), responses((status = 200, body = AlarmList)))]
pub async fn list_alarms(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<AlarmParams>,
) -> ApiResult<Json<AlarmList>> {
    caller.require(Role::Viewer)?;
    let state = match p.state.as_deref() {
        None | Some("") => None,
        Some(v) => {
            Some(StateValue::parse(v).ok_or_else(|| Invalid::new("state", "use OK, ALARM or INSUFFICIENT_DATA"))?)
        }
    };
    Ok(Json(AlarmList { items: s.store.list_alarms(state).await? }))
}

#[utoipa::path(post, path = "/api/v1/alarms", tag = "detection", request_body = AlarmSpec,
    responses((status = 201, body = Alarm), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_alarm(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<AlarmSpec>,
) -> ApiResult<(StatusCode, Json<Alarm>)> {
    caller.require(Role::Admin)?;
    let (a, _) = s.store.put_alarm(None, &spec.validate()?, s.clock.now()).await?;
    s.engine.wake();
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(put, path = "/api/v1/alarms/{name}", tag = "detection", request_body = AlarmSpec, params(("name" = String, Path)),
    responses((status = 200, body = Alarm), (status = 201, body = Alarm)))]
pub async fn put_alarm(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<AlarmSpec>,
) -> ApiResult<(StatusCode, Json<Alarm>)> {
    caller.require(Role::Admin)?;
    let (a, created) = s.store.put_alarm(Some(&name), &spec.validate()?, s.clock.now()).await?;
    s.engine.wake();
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

async fn find(s: &AppState, key: &str) -> ApiResult<Alarm> {
    s.store.get_alarm(key).await?.ok_or_else(|| ApiError::not_found(format!("alarm {key}")))
}

#[utoipa::path(get, path = "/api/v1/alarms/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 200, body = Alarm)))]
pub async fn show_alarm(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Alarm>> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&s, &name).await?))
}

#[utoipa::path(delete, path = "/api/v1/alarms/{name}", tag = "detection", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_alarm(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_alarm(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("alarm {name}")))
    }
}

#[derive(Serialize, ToSchema)]
pub struct AlarmHistory {
    items: Vec<AlarmHistoryItem>,
}

#[utoipa::path(get, path = "/api/v1/alarms/{name}/history", tag = "detection", params(("name" = String, Path)),
    responses((status = 200, body = AlarmHistory)))]
pub async fn alarm_history(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<AlarmHistory>> {
    caller.require(Role::Viewer)?;
    let a = find(&s, &name).await?;
    Ok(Json(AlarmHistory { items: s.store.alarm_history(&a.id).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStateBody {
    state_value: String,
    state_reason: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    state_reason_data: Value,
}

/// Sets an alarm's state by hand, as CloudWatch's SetAlarmState: its actions run, and the next
/// evaluation puts it back as the data says.
#[utoipa::path(post, path = "/api/v1/alarms/{name}/state", tag = "detection", request_body = SetStateBody,
    params(("name" = String, Path)), responses((status = 200, body = Alarm)))]
pub async fn set_alarm_state(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<SetStateBody>,
) -> ApiResult<Json<Alarm>> {
    caller.require(Role::Responder)?;
    let state = StateValue::parse(&body.state_value)
        .ok_or_else(|| Invalid::new("stateValue", "use OK, ALARM or INSUFFICIENT_DATA"))?;
    let reason = text("stateReason", &body.state_reason, 1023)?;
    let evaluation = Evaluation { state, reason, reason_data: body.state_reason_data };
    s.store
        .set_alarm_state(&name, &evaluation, s.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alarm {name}")))?;
    s.engine.wake();
    Ok(Json(find(&s, &name).await?))
}
