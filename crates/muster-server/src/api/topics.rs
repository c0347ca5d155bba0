//! Topics, chat channels, publishing, and the notifications sent.

use super::Params;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use muster_core::auth::Role;
use muster_core::engage::{NewJob, Task};
use muster_core::error::text;
use muster_core::topic::{ChatChannel, ChatChannelSpec, Notification, Topic, TopicSpec};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct TopicList {
    items: Vec<Topic>,
}

#[utoipa::path(get, path = "/api/v1/topics", tag = "notifications", responses((status = 200, body = TopicList)))]
pub async fn list_topics(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<TopicList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(TopicList { items: s.store.list_topics().await? }))
}

#[utoipa::path(post, path = "/api/v1/topics", tag = "notifications", request_body = TopicSpec, responses((status = 201, body = Topic)))]
pub async fn create_topic(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<TopicSpec>,
) -> ApiResult<(StatusCode, Json<Topic>)> {
    caller.require(Role::Admin)?;
    let (t, _) = s.store.put_topic(None, &spec.validate()?, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(get, path = "/api/v1/topics/{name}", tag = "notifications", params(("name" = String, Path)), responses((status = 200, body = Topic)))]
pub async fn show_topic(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Topic>> {
    caller.require(Role::Viewer)?;
    s.store.get_topic(&name).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("topic {name}")))
}

#[utoipa::path(put, path = "/api/v1/topics/{name}", tag = "notifications", request_body = TopicSpec, params(("name" = String, Path)),
    responses((status = 200, body = Topic), (status = 201, body = Topic)))]
pub async fn put_topic(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<TopicSpec>,
) -> ApiResult<(StatusCode, Json<Topic>)> {
    caller.require(Role::Admin)?;
    let (t, created) = s.store.put_topic(Some(&name), &spec.validate()?, s.clock.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(t)))
}

#[utoipa::path(delete, path = "/api/v1/topics/{name}", tag = "notifications", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_topic(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_topic(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("topic {name}")))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    subject: String,
    message: String,
}

#[derive(Serialize, ToSchema)]
pub struct Published {
    queued: bool,
}

/// Tells a topic's subscribers and chat channels, as SNS's Publish does.
#[utoipa::path(post, path = "/api/v1/topics/{name}/publish", tag = "notifications", request_body = PublishBody,
    params(("name" = String, Path)), responses((status = 202, body = Published)))]
pub async fn publish(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<PublishBody>,
) -> ApiResult<(StatusCode, Json<Published>)> {
    caller.require(Role::Responder)?;
    let topic = s.store.get_topic(&name).await?.ok_or_else(|| ApiError::not_found(format!("topic {name}")))?;
    let task = Task::Publish {
        approval: None,
        incident_id: None,
        target: topic.spec.name,
        subject: text("subject", &body.subject, 200)?,
        text: text("message", &body.message, 8000)?,
    };
    s.store.enqueue(&[NewJob::at(task, s.clock.now())], s.clock.now()).await?;
    s.engine.wake();
    Ok((StatusCode::ACCEPTED, Json(Published { queued: true })))
}

#[derive(Serialize, ToSchema)]
pub struct ChatChannelList {
    items: Vec<ChatChannel>,
}

#[utoipa::path(get, path = "/api/v1/chat-channels", tag = "notifications", responses((status = 200, body = ChatChannelList)))]
pub async fn list_chat_channels(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<ChatChannelList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(ChatChannelList { items: s.store.list_chat_channels().await? }))
}

#[utoipa::path(post, path = "/api/v1/chat-channels", tag = "notifications", request_body = ChatChannelSpec, responses((status = 201, body = ChatChannel)))]
pub async fn create_chat_channel(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<ChatChannelSpec>,
) -> ApiResult<(StatusCode, Json<ChatChannel>)> {
    caller.require(Role::Admin)?;
    let (c, _) = s.store.put_chat_channel(None, &spec.validate()?, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/chat-channels/{name}", tag = "notifications", params(("name" = String, Path)), responses((status = 200, body = ChatChannel)))]
pub async fn show_chat_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<ChatChannel>> {
    caller.require(Role::Viewer)?;
    s.store.get_chat_channel(&name).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("chat channel {name}")))
}

#[utoipa::path(put, path = "/api/v1/chat-channels/{name}", tag = "notifications", request_body = ChatChannelSpec, params(("name" = String, Path)),
    responses((status = 200, body = ChatChannel), (status = 201, body = ChatChannel)))]
pub async fn put_chat_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<ChatChannelSpec>,
) -> ApiResult<(StatusCode, Json<ChatChannel>)> {
    caller.require(Role::Admin)?;
    let (c, created) = s.store.put_chat_channel(Some(&name), &spec.validate()?, s.clock.now()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(c)))
}

#[utoipa::path(delete, path = "/api/v1/chat-channels/{name}", tag = "notifications", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_chat_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_chat_channel(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("chat channel {name}")))
    }
}

#[derive(Deserialize, IntoParams)]
pub struct NotificationParams {
    /// An incident's id or number.
    incident: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    items: Vec<Notification>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams), responses((status = 200, body = NotificationList)))]
pub async fn list_notifications(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<NotificationParams>,
) -> ApiResult<Json<NotificationList>> {
    caller.require(Role::Viewer)?;
    let incident = super::incident_id(&s, p.incident.as_deref()).await?;
    Ok(Json(NotificationList { items: s.store.list_notifications(incident.as_deref()).await? }))
}
