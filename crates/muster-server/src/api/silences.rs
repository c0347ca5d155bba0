//! Silences: label matchers with an end time. Alertmanager's own silence API
//! (`/api/v2/silences`, `/api/v2/silence/{id}`), so `amtool silence add|query|expire` works against
//! Muster, and the same under `/api/v1/silences`. An alert a silence catches is recorded as
//! suppressed, with the silence's id, never dropped.

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use muster_core::auth::Role;
use muster_core::integration::IntegrationType;
use muster_core::silence::{Matcher, Silence, SilenceSpec, parse_filter};
use serde_json::{Value, json};

/// Who may manage silences through the Alertmanager paths: an API token with the responder role,
/// or the key of an Alertmanager integration (what amtool's HTTP config carries).
async fn silencer(s: &AppState, headers: &HeaderMap, key: Option<&str>) -> ApiResult<String> {
    let given = key.map(str::to_string).or_else(|| {
        let auth = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
        auth.strip_prefix("Bearer ").map(|t| t.trim().to_string())
    });
    let Some(secret) = given else {
        return Err(ApiError::Unauthorized("a bearer token (API token or Alertmanager integration key) is required"));
    };
    let hash = crate::auth::hash_secret(&secret);
    if let Some(i) = s.store.integration_by_key(&hash).await?
        && i.spec.kind == IntegrationType::Alertmanager
    {
        return Ok(format!("integration:{}", i.spec.name));
    }
    match s.store.token_by_hash(&hash).await? {
        Some(t) if t.role.allows(Role::Responder) => Ok(t.name),
        Some(_) => Err(ApiError::Forbidden("managing silences needs the responder role".into())),
        None => Err(ApiError::Unauthorized("unknown token")),
    }
}

/// Every `filter` query parameter (`filter=alertname="x"` may repeat).
fn filters(query: &[(String, String)]) -> ApiResult<Vec<Matcher>> {
    query.iter().filter(|(k, _)| k == "filter").map(|(_, v)| parse_filter(v).map_err(ApiError::from)).collect()
}

async fn list(s: &AppState, filter: &[Matcher]) -> ApiResult<Vec<Value>> {
    let now = s.clock.now();
    Ok(s.store.list_silences().await?.iter().filter(|x| x.matches_filter(filter)).map(|x| x.to_gettable(now)).collect())
}

async fn create(s: &AppState, spec: SilenceSpec, actor: &str) -> ApiResult<Silence> {
    let mut spec = spec.validate()?;
    let now = s.clock.now();
    if spec.ends_at <= now {
        return Err(muster_core::Invalid::new("endsAt", "must be in the future").into());
    }
    if spec.id.is_none() && spec.starts_at < now {
        // As Alertmanager does: a new silence that started in the past starts now.
        spec.starts_at = now;
    }
    if let Some(id) = &spec.id
        && s.store.get_silence(id).await?.is_none()
    {
        return Err(ApiError::not_found(format!("silence {id}")));
    }
    let silence = Silence::from_spec(spec, now);
    s.store.put_silence(&silence).await?;
    tracing::info!(silence = %silence.id, by = actor, "silence set");
    Ok(silence)
}

async fn expire(s: &AppState, id: &str) -> ApiResult<()> {
    let mut silence = s.store.get_silence(id).await?.ok_or_else(|| ApiError::not_found(format!("silence {id}")))?;
    if silence.expire(s.clock.now()) {
        s.store.put_silence(&silence).await?;
    }
    Ok(())
}

#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
pub struct KeyOnly {
    /// An Alertmanager integration key, for tools that cannot set an Authorization header.
    key: Option<String>,
}

/// The `filter` and `key` query parameters of the silence lists.
#[derive(utoipa::IntoParams)]
#[allow(dead_code)] // reason: describes the query for the API document; the handlers read it as pairs
struct ListQuery {
    /// A label matcher such as `alertname="TunnelDown"` (`=`, `!=`, `=~`, `!~`); may repeat.
    filter: Option<Vec<String>>,
    /// An Alertmanager integration key (the `/api/v2` path only).
    key: Option<String>,
}

/// `GET /api/v2/silences`
#[utoipa::path(get, path = "/api/v2/silences", tag = "silences", params(ListQuery),
    responses((status = 200, body = Vec<Value>, description = "Alertmanager's gettableSilences"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn am_list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(query): Params<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<Value>>> {
    let key = query.iter().find(|(k, _)| k == "key").map(|(_, v)| v.as_str());
    silencer(&s, &headers, key).await?;
    Ok(Json(list(&s, &filters(&query)?).await?))
}

/// `POST /api/v2/silences`: answers `{"silenceID": ...}` as Alertmanager does.
#[utoipa::path(post, path = "/api/v2/silences", tag = "silences", params(KeyOnly), request_body = SilenceSpec,
    responses((status = 200, body = Value, description = "`silenceID`"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn am_create(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<KeyOnly>,
    Body(spec): Body<SilenceSpec>,
) -> ApiResult<Json<Value>> {
    let actor = silencer(&s, &headers, q.key.as_deref()).await?;
    let silence = create(&s, spec, &actor).await?;
    Ok(Json(json!({"silenceID": silence.id})))
}

/// `GET /api/v2/silence/{id}`
#[utoipa::path(get, path = "/api/v2/silence/{id}", tag = "silences", params(("id" = String, Path), KeyOnly),
    responses((status = 200, body = Value, description = "Alertmanager's gettableSilence"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn am_show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<KeyOnly>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    silencer(&s, &headers, q.key.as_deref()).await?;
    let silence = s.store.get_silence(&id).await?.ok_or_else(|| ApiError::not_found(format!("silence {id}")))?;
    Ok(Json(silence.to_gettable(s.clock.now())))
}

/// `DELETE /api/v2/silence/{id}`: expires it.
#[utoipa::path(delete, path = "/api/v2/silence/{id}", tag = "silences", params(("id" = String, Path), KeyOnly),
    responses((status = 200, description = "Expired"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn am_expire(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<KeyOnly>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    silencer(&s, &headers, q.key.as_deref()).await?;
    expire(&s, &id).await?;
    Ok(StatusCode::OK)
}

/// `GET /api/v1/silences`
#[utoipa::path(get, path = "/api/v1/silences", tag = "silences", params(ListQuery),
    responses((status = 200, body = Value, description = "`items`: the silences, expired ones too"), (status = 400, body = ErrorBody)))]
pub async fn list_silences(
    State(s): State<AppState>,
    caller: Caller,
    Params(query): Params<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    Ok(Json(json!({"items": list(&s, &filters(&query)?).await?})))
}

/// `POST /api/v1/silences`
#[utoipa::path(post, path = "/api/v1/silences", tag = "silences", request_body = SilenceSpec,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_silence(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<SilenceSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Responder)?;
    let silence = create(&s, spec, caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(silence.to_gettable(s.clock.now()))))
}

/// `GET /api/v1/silences/{id}`
#[utoipa::path(get, path = "/api/v1/silences/{id}", tag = "silences", params(("id" = String, Path)),
    responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
pub async fn show_silence(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let silence = s.store.get_silence(&id).await?.ok_or_else(|| ApiError::not_found(format!("silence {id}")))?;
    Ok(Json(silence.to_gettable(s.clock.now())))
}

/// `DELETE /api/v1/silences/{id}`: expires it (it stays listed, as expired).
#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "silences", params(("id" = String, Path)),
    responses((status = 204, description = "Expired"), (status = 404, body = ErrorBody)))]
pub async fn expire_silence(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    expire(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
