//! On-call: contacts and their channels, rotations, overrides, who is on call, shifts, calendars.

use super::Params;
use crate::AppState;
use crate::auth::{Caller, MaybeCaller};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use muster_core::auth::Role;
use muster_core::contact::{
    ACTIVATION_CODE_MINUTES, Channel, ChannelSpec, Contact, ContactPlan, ContactSpec, ContactType,
};
use muster_core::ical::{CalEvent, calendar};
use muster_core::new_id;
use muster_core::rotation::{Override, Rotation, RotationSpec, Schedule, Shift, validate_override};
use muster_store::Activation;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

/// The longest range a shift listing covers.
const MAX_RANGE_DAYS: i64 = 400;

fn parse_instant(field: &str, v: Option<&str>, default: Timestamp) -> ApiResult<Timestamp> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| ApiError::invalid(field, format!("{s:?} is not an RFC 3339 instant"))),
    }
}

fn range(from: Option<&str>, to: Option<&str>, now: Timestamp, default_days: i64) -> ApiResult<(Timestamp, Timestamp)> {
    let from = parse_instant("from", from, now)?;
    let to = parse_instant("to", to, from + SignedDuration::from_hours(24 * default_days))?;
    if to <= from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        return Err(ApiError::invalid("to", format!("a range spans at most {MAX_RANGE_DAYS} days")));
    }
    Ok((from, to))
}

async fn find_contact(s: &AppState, key: &str) -> ApiResult<Contact> {
    s.store.get_contact(key).await?.ok_or_else(|| ApiError::not_found(format!("contact {key}")))
}

async fn find_rotation(s: &AppState, key: &str) -> ApiResult<Rotation> {
    s.store.get_rotation(key).await?.ok_or_else(|| ApiError::not_found(format!("rotation {key}")))
}

fn schedule_of(r: &Rotation) -> ApiResult<Schedule> {
    r.spec.schedule().map_err(|e| ApiError::Internal(format!("stored rotation {} does not compile: {e}", r.spec.name)))
}

async fn overrides_of(s: &AppState, rotation_id: &str, from: Timestamp, to: Timestamp) -> ApiResult<Vec<Override>> {
    Ok(s.store.list_overrides(Some(rotation_id), from, to).await?.into_iter().map(|(_, o)| o).collect())
}

fn calendar_url(s: &AppState, kind: &str, name: &str, token: &str) -> String {
    let base = s.public_url.as_deref().unwrap_or("").trim_end_matches('/');
    format!("{base}/api/v1/{kind}/{name}/calendar.ics?token={token}")
}

// ---- contacts ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    #[serde(flatten)]
    contact: Contact,
    channels: Vec<Channel>,
    /// A secret URL calendar apps can subscribe to.
    calendar_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    items: Vec<Contact>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "on-call", responses((status = 200, body = ContactList)))]
pub async fn list_contacts(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<ContactList>> {
    caller.require(Role::Viewer)?;
    Ok(Json(ContactList { items: s.store.list_contacts().await? }))
}

async fn contact_view(s: &AppState, c: Contact) -> ApiResult<ContactView> {
    let channels = s.store.list_channels(&c.id).await?;
    let calendar_url = calendar_url(s, "contacts", &c.alias, &c.calendar_token);
    Ok(ContactView { contact: c, channels, calendar_url })
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "on-call", request_body = ContactSpec,
    responses((status = 201, body = ContactView), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_contact(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<ContactSpec>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    caller.require(Role::Admin)?;
    let c = s.store.create_contact(&spec.validate()?, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(contact_view(&s, c).await?)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{alias}", tag = "on-call", params(("alias" = String, Path)),
    responses((status = 200, body = ContactView)))]
pub async fn show_contact(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
) -> ApiResult<Json<ContactView>> {
    caller.require(Role::Viewer)?;
    let c = find_contact(&s, &alias).await?;
    Ok(Json(contact_view(&s, c).await?))
}

#[utoipa::path(put, path = "/api/v1/contacts/{alias}", tag = "on-call", request_body = ContactSpec, params(("alias" = String, Path)),
    responses((status = 200, body = ContactView), (status = 201, body = ContactView)))]
pub async fn replace_contact(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
    Body(spec): Body<ContactSpec>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    caller.require(Role::Admin)?;
    let spec = spec.validate()?;
    let (status, c) = match s.store.replace_contact(&alias, &spec, s.clock.now()).await? {
        Some(c) => (StatusCode::OK, c),
        None if spec.alias != alias => {
            return Err(ApiError::invalid("alias", format!("must be the alias in the path, {alias}")));
        }
        None => (StatusCode::CREATED, s.store.create_contact(&spec, s.clock.now()).await?),
    };
    Ok((status, Json(contact_view(&s, c).await?)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{alias}", tag = "on-call", params(("alias" = String, Path)), responses((status = 204)))]
pub async fn delete_contact(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_contact(&alias).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("contact {alias}")))
    }
}

// ---- escalation plans: the contacts of type ESCALATION, as a collection of their own ----

/// An escalation plan as people write it: a contact of type `ESCALATION` without the type.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationPlanSpec {
    alias: String,
    display_name: Option<String>,
    /// The stages; each pages its contacts (or whoever is on call in its rotations).
    plan: ContactPlan,
}

impl EscalationPlanSpec {
    fn contact(self) -> ContactSpec {
        ContactSpec {
            alias: self.alias,
            display_name: self.display_name,
            kind: ContactType::Escalation,
            time_zone: None,
            rotations: Vec::new(),
            plan: Some(self.plan),
        }
    }
}

/// An escalation contact, or a 404 naming the escalation plan.
async fn find_escalation(s: &AppState, alias: &str) -> ApiResult<Contact> {
    match s.store.get_contact(alias).await? {
        Some(c) if c.kind == ContactType::Escalation => Ok(c),
        _ => Err(ApiError::not_found(format!("escalation plan {alias}"))),
    }
}

#[utoipa::path(get, path = "/api/v1/escalation-plans", tag = "on-call", responses((status = 200, body = ContactList)))]
pub async fn list_escalation_plans(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<ContactList>> {
    caller.require(Role::Viewer)?;
    let items = s.store.list_contacts().await?.into_iter().filter(|c| c.kind == ContactType::Escalation).collect();
    Ok(Json(ContactList { items }))
}

#[utoipa::path(post, path = "/api/v1/escalation-plans", tag = "on-call", request_body = EscalationPlanSpec,
    responses((status = 201, body = Contact), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_escalation_plan(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<EscalationPlanSpec>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    caller.require(Role::Admin)?;
    let c = s.store.create_contact(&spec.contact().validate()?, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/escalation-plans/{alias}", tag = "on-call", params(("alias" = String, Path)),
    responses((status = 200, body = Contact), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show_escalation_plan(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
) -> ApiResult<Json<Contact>> {
    caller.require(Role::Viewer)?;
    Ok(Json(find_escalation(&s, &alias).await?))
}

#[utoipa::path(put, path = "/api/v1/escalation-plans/{alias}", tag = "on-call", request_body = EscalationPlanSpec,
    params(("alias" = String, Path)),
    responses((status = 200, body = Contact), (status = 201, body = Contact), (status = 400, body = crate::error::ErrorBody)))]
pub async fn replace_escalation_plan(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
    Body(spec): Body<EscalationPlanSpec>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    caller.require(Role::Admin)?;
    let spec = spec.contact().validate()?;
    match s.store.get_contact(&alias).await? {
        Some(c) if c.kind != ContactType::Escalation => {
            Err(ApiError::invalid("alias", format!("{alias} is a {:?} contact, not an escalation plan", c.kind)))
        }
        Some(_) => {
            let c = s.store.replace_contact(&alias, &spec, s.clock.now()).await?;
            Ok((StatusCode::OK, Json(c.ok_or_else(|| ApiError::not_found(format!("escalation plan {alias}")))?)))
        }
        None if spec.alias != alias => {
            Err(ApiError::invalid("alias", format!("must be the alias in the path, {alias}")))
        }
        None => Ok((StatusCode::CREATED, Json(s.store.create_contact(&spec, s.clock.now()).await?))),
    }
}

#[utoipa::path(delete, path = "/api/v1/escalation-plans/{alias}", tag = "on-call", params(("alias" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_escalation_plan(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let c = find_escalation(&s, &alias).await?;
    if s.store.delete_contact(&c.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("escalation plan {alias}")))
    }
}

#[utoipa::path(post, path = "/api/v1/contacts/{alias}/channels", tag = "on-call", request_body = ChannelSpec,
    params(("alias" = String, Path)), responses((status = 201, body = Channel)))]
pub async fn add_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
    Body(spec): Body<ChannelSpec>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    caller.require(Role::Responder)?;
    let c = find_contact(&s, &alias).await?;
    if c.kind != ContactType::Personal {
        return Err(ApiError::invalid("type", "only a person has channels"));
    }
    let spec = spec.validate()?;
    // An admin's channel is active unless deferred; anyone else's waits for its code.
    let activated = caller.token.role == Role::Admin && !spec.defer_activation;
    let ch = s.store.add_channel(&c.id, &spec, activated, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(ch)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{alias}/channels/{channel}", tag = "on-call",
    params(("alias" = String, Path), ("channel" = String, Path, description = "id or name")), responses((status = 204)))]
pub async fn delete_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path((alias, channel)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    let c = find_contact(&s, &alias).await?;
    if s.store.delete_channel(&c.id, &channel).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("channel {channel}")))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeSent {
    channel: String,
    expires_at: Timestamp,
}

fn code_hash(channel_id: &str, code: &str) -> String {
    crate::auth::hash_secret(&format!("{channel_id}:{code}"))
}

/// Delivers an activation code through the channel itself, with the notifier of its type.
async fn deliver_code(s: &AppState, contact: &Contact, ch: &Channel, code: &str) -> ApiResult<()> {
    let notifier = s.engine.notifiers().for_channel(ch.kind).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let message = muster_notify::Message {
        id: format!("activation-{}", ch.id),
        subject: format!("Your Muster activation code: {code}"),
        text: format!(
            "Confirm channel {} of {} with the code {code}. It works for {ACTIVATION_CODE_MINUTES} minutes.",
            ch.name, contact.alias
        ),
        ack_url: None,
        ack_code: None,
        incident_url: None,
        thread: None,
        buttons: vec![],
    };
    match notifier.send(&ch.address, &message).await {
        Ok(_) => Ok(()),
        Err(e) => Err(ApiError::BadGateway(format!("the code could not be sent: {e}"))),
    }
}

#[utoipa::path(post, path = "/api/v1/contacts/{alias}/channels/{channel}/send-activation-code", tag = "on-call",
    params(("alias" = String, Path), ("channel" = String, Path)),
    responses((status = 202, body = CodeSent), (status = 502, body = crate::error::ErrorBody)))]
pub async fn send_activation_code(
    State(s): State<AppState>,
    caller: Caller,
    Path((alias, channel)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    caller.require(Role::Responder)?;
    let c = find_contact(&s, &alias).await?;
    let ch =
        s.store.get_channel(&c.id, &channel).await?.ok_or_else(|| ApiError::not_found(format!("channel {channel}")))?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let expires_at = s.clock.now() + SignedDuration::from_mins(ACTIVATION_CODE_MINUTES);
    s.store.set_activation_code(&ch.id, &code_hash(&ch.id, &code), expires_at).await?;
    deliver_code(&s, &c, &ch, &code).await?;
    tracing::info!(contact = %c.alias, channel = %ch.id, "activation code sent");
    Ok((StatusCode::ACCEPTED, Json(CodeSent { channel: ch.id, expires_at })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    code: String,
}

#[utoipa::path(post, path = "/api/v1/contacts/{alias}/channels/{channel}/activate", tag = "on-call", request_body = ActivateBody,
    params(("alias" = String, Path), ("channel" = String, Path)),
    responses((status = 200, body = Channel), (status = 400, body = crate::error::ErrorBody)))]
pub async fn activate_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path((alias, channel)): Path<(String, String)>,
    Body(body): Body<ActivateBody>,
) -> ApiResult<Json<Channel>> {
    caller.require(Role::Responder)?;
    let c = find_contact(&s, &alias).await?;
    let ch =
        s.store.get_channel(&c.id, &channel).await?.ok_or_else(|| ApiError::not_found(format!("channel {channel}")))?;
    let outcome = s.store.activate_channel(&ch.id, &code_hash(&ch.id, body.code.trim()), s.clock.now()).await?;
    let refuse = |m: String| Err(ApiError::invalid("code", m));
    match outcome {
        Activation::Activated | Activation::AlreadyActive => {}
        Activation::WrongCode { attempts_left } => {
            return refuse(format!("the code is wrong; {attempts_left} attempt(s) left"));
        }
        Activation::Expired => return refuse("the code has expired; send a new one".into()),
        Activation::NoCode => return refuse("no code was sent for this channel; send one first".into()),
        Activation::TooManyAttempts => return refuse("too many wrong codes; send a new one".into()),
    }
    let ch =
        s.store.get_channel(&c.id, &ch.id).await?.ok_or_else(|| ApiError::not_found(format!("channel {channel}")))?;
    Ok(Json(ch))
}

// ---- rotations ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationView {
    #[serde(flatten)]
    rotation: Rotation,
    calendar_url: String,
}

fn rotation_view(s: &AppState, r: Rotation) -> RotationView {
    let calendar_url = calendar_url(s, "rotations", &r.spec.name, &r.calendar_token);
    RotationView { rotation: r, calendar_url }
}

#[derive(Serialize, ToSchema)]
pub struct RotationList {
    items: Vec<RotationView>,
}

#[utoipa::path(get, path = "/api/v1/rotations", tag = "on-call", responses((status = 200, body = RotationList)))]
pub async fn list_rotations(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<RotationList>> {
    caller.require(Role::Viewer)?;
    let items = s.store.list_rotations().await?.into_iter().map(|r| rotation_view(&s, r)).collect();
    Ok(Json(RotationList { items }))
}

#[utoipa::path(post, path = "/api/v1/rotations", tag = "on-call", request_body = RotationSpec,
    responses((status = 201, body = RotationView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_rotation(
    State(s): State<AppState>,
    caller: Caller,
    Body(spec): Body<RotationSpec>,
) -> ApiResult<(StatusCode, Json<RotationView>)> {
    caller.require(Role::Admin)?;
    let (spec, _) = spec.validate()?;
    let r = s.store.create_rotation(&spec, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(rotation_view(&s, r))))
}

#[utoipa::path(get, path = "/api/v1/rotations/{rotation}", tag = "on-call", params(("rotation" = String, Path, description = "name or id")),
    responses((status = 200, body = RotationView)))]
pub async fn show_rotation(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<Json<RotationView>> {
    caller.require(Role::Viewer)?;
    let r = find_rotation(&s, &key).await?;
    Ok(Json(rotation_view(&s, r)))
}

#[utoipa::path(put, path = "/api/v1/rotations/{rotation}", tag = "on-call", request_body = RotationSpec,
    params(("rotation" = String, Path)), responses((status = 200, body = RotationView), (status = 201, body = RotationView)))]
pub async fn replace_rotation(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Body(spec): Body<RotationSpec>,
) -> ApiResult<(StatusCode, Json<RotationView>)> {
    caller.require(Role::Admin)?;
    let (spec, _) = spec.validate()?;
    let (status, r) = match s.store.replace_rotation(&key, &spec, s.clock.now()).await? {
        Some(r) => (StatusCode::OK, r),
        None => (StatusCode::CREATED, s.store.create_rotation(&spec, s.clock.now()).await?),
    };
    Ok((status, Json(rotation_view(&s, r))))
}

#[utoipa::path(delete, path = "/api/v1/rotations/{rotation}", tag = "on-call", params(("rotation" = String, Path)), responses((status = 204)))]
pub async fn delete_rotation(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.delete_rotation(&key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("rotation {key}")))
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AtParams {
    /// An RFC 3339 instant; now when absent.
    at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OnCallContact {
    alias: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnCall {
    contacts: Vec<OnCallContact>,
    at: Timestamp,
    /// True when an override decides who is on call.
    overridden: bool,
}

fn on_call_answer(schedule: &Schedule, overrides: &[Override], at: Timestamp) -> OnCall {
    let overridden = overrides.iter().any(|o| o.start <= at && at < o.end);
    let contacts = schedule.on_call(at, overrides).into_iter().map(|alias| OnCallContact { alias }).collect();
    OnCall { contacts, at, overridden }
}

#[utoipa::path(get, path = "/api/v1/rotations/{rotation}/on-call", tag = "on-call", params(("rotation" = String, Path), AtParams),
    responses((status = 200, body = OnCall)))]
pub async fn rotation_on_call(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Params(p): Params<AtParams>,
) -> ApiResult<Json<OnCall>> {
    caller.require(Role::Viewer)?;
    let at = parse_instant("at", p.at.as_deref(), s.clock.now())?;
    let r = find_rotation(&s, &key).await?;
    let overrides = overrides_of(&s, &r.id, at, at + SignedDuration::from_nanos(1)).await?;
    Ok(Json(on_call_answer(&schedule_of(&r)?, &overrides, at)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationOnCall {
    rotation: String,
    #[serde(flatten)]
    on_call: OnCall,
}

#[derive(Serialize, ToSchema)]
pub struct OnCallList {
    items: Vec<RotationOnCall>,
}

#[utoipa::path(get, path = "/api/v1/on-call", tag = "on-call", params(AtParams), responses((status = 200, body = OnCallList)))]
pub async fn everyone_on_call(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<AtParams>,
) -> ApiResult<Json<OnCallList>> {
    caller.require(Role::Viewer)?;
    let at = parse_instant("at", p.at.as_deref(), s.clock.now())?;
    let all = s.store.list_overrides(None, at, at + SignedDuration::from_nanos(1)).await?;
    let mut items = Vec::new();
    for r in s.store.list_rotations().await? {
        let overrides: Vec<Override> = all.iter().filter(|(id, _)| *id == r.id).map(|(_, o)| o.clone()).collect();
        items
            .push(RotationOnCall { on_call: on_call_answer(&schedule_of(&r)?, &overrides, at), rotation: r.spec.name });
    }
    Ok(Json(OnCallList { items }))
}

#[derive(Deserialize, IntoParams)]
pub struct RangeParams {
    /// An RFC 3339 instant; now when absent.
    from: Option<String>,
    /// An RFC 3339 instant; a week after `from` when absent.
    to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/rotations/{rotation}/shifts", tag = "on-call", params(("rotation" = String, Path), RangeParams),
    responses((status = 200, body = Vec<Shift>)))]
pub async fn rotation_shifts(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Params(p): Params<RangeParams>,
) -> ApiResult<Json<Vec<Shift>>> {
    caller.require(Role::Viewer)?;
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), s.clock.now(), 7)?;
    let r = find_rotation(&s, &key).await?;
    let overrides = overrides_of(&s, &r.id, from, to).await?;
    Ok(Json(schedule_of(&r)?.shifts(from, to, &overrides)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    rotation: RotationSpec,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

#[utoipa::path(post, path = "/api/v1/rotations/preview", tag = "on-call", request_body = PreviewBody,
    responses((status = 200, body = Vec<Shift>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn preview_shifts(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<PreviewBody>,
) -> ApiResult<Json<Vec<Shift>>> {
    caller.require(Role::Viewer)?;
    let (from, to) = range(
        body.from.map(|t| t.to_string()).as_deref(),
        body.to.map(|t| t.to_string()).as_deref(),
        s.clock.now(),
        14,
    )?;
    let (_, schedule) = body.rotation.validate().map_err(|e| e.within("rotation"))?;
    Ok(Json(schedule.shifts(from, to, &[])?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// Who covers: contact aliases.
    contacts: Vec<String>,
    start: Timestamp,
    end: Timestamp,
}

#[utoipa::path(post, path = "/api/v1/rotations/{rotation}/overrides", tag = "on-call", request_body = OverrideBody,
    params(("rotation" = String, Path)), responses((status = 201, body = Override), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_override(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Body(body): Body<OverrideBody>,
) -> ApiResult<(StatusCode, Json<Override>)> {
    caller.require(Role::Responder)?;
    let r = find_rotation(&s, &key).await?;
    let contacts = validate_override(&body.contacts, body.start, body.end)?;
    let o = Override {
        id: new_id(),
        contacts,
        start: body.start,
        end: body.end,
        created_at: s.clock.now(),
        created_by: caller.actor().to_string(),
    };
    s.store.add_override(&r.id, &o).await?;
    tracing::info!(rotation = %r.spec.name, override_id = %o.id, "override created");
    Ok((StatusCode::CREATED, Json(o)))
}

#[derive(Serialize, ToSchema)]
pub struct OverrideList {
    items: Vec<Override>,
}

#[utoipa::path(get, path = "/api/v1/rotations/{rotation}/overrides", tag = "on-call", params(("rotation" = String, Path), RangeParams),
    responses((status = 200, body = OverrideList)))]
pub async fn list_overrides(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Params(p): Params<RangeParams>,
) -> ApiResult<Json<OverrideList>> {
    caller.require(Role::Viewer)?;
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), s.clock.now(), MAX_RANGE_DAYS)?;
    let r = find_rotation(&s, &key).await?;
    Ok(Json(OverrideList { items: overrides_of(&s, &r.id, from, to).await? }))
}

#[utoipa::path(delete, path = "/api/v1/rotations/{rotation}/overrides/{id}", tag = "on-call",
    params(("rotation" = String, Path), ("id" = String, Path)), responses((status = 204)))]
pub async fn delete_override(
    State(s): State<AppState>,
    caller: Caller,
    Path((key, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    let r = find_rotation(&s, &key).await?;
    if s.store.delete_override(&r.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("override {id}")))
    }
}

// ---- a contact's shifts, schedules, calendars ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactShift {
    rotation: String,
    #[serde(flatten)]
    shift: Shift,
}

/// The contact's own stretches on call, across every rotation it is in or covers for.
async fn shifts_of_contact(s: &AppState, alias: &str, from: Timestamp, to: Timestamp) -> ApiResult<Vec<ContactShift>> {
    let all = s.store.list_overrides(None, from, to).await?;
    let mut out = Vec::new();
    for r in s.store.list_rotations().await? {
        let overrides: Vec<Override> = all.iter().filter(|(id, _)| *id == r.id).map(|(_, o)| o.clone()).collect();
        let involved = r.spec.members.iter().any(|m| m == alias)
            || overrides.iter().any(|o| o.contacts.iter().any(|c| c == alias));
        if !involved {
            continue;
        }
        for shift in schedule_of(&r)?.shifts(from, to, &overrides)? {
            if shift.contacts.iter().any(|c| c == alias) {
                out.push(ContactShift { rotation: r.spec.name.clone(), shift });
            }
        }
    }
    out.sort_by_key(|c| c.shift.start);
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/contacts/{alias}/shifts", tag = "on-call", params(("alias" = String, Path), RangeParams),
    responses((status = 200, body = Vec<ContactShift>)))]
pub async fn contact_shifts(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
    Params(p): Params<RangeParams>,
) -> ApiResult<Json<Vec<ContactShift>>> {
    caller.require(Role::Viewer)?;
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), s.clock.now(), 28)?;
    let c = find_contact(&s, &alias).await?;
    Ok(Json(shifts_of_contact(&s, &c.alias, from, to).await?))
}

/// Who an on-call-schedule contact reaches at an instant: everyone on call in its rotations.
#[utoipa::path(get, path = "/api/v1/contacts/{alias}/on-call", tag = "on-call", params(("alias" = String, Path), AtParams),
    responses((status = 200, body = OnCall)))]
pub async fn contact_on_call(
    State(s): State<AppState>,
    caller: Caller,
    Path(alias): Path<String>,
    Params(p): Params<AtParams>,
) -> ApiResult<Json<OnCall>> {
    caller.require(Role::Viewer)?;
    let at = parse_instant("at", p.at.as_deref(), s.clock.now())?;
    let c = find_contact(&s, &alias).await?;
    let mut seen = BTreeSet::new();
    let mut contacts = Vec::new();
    let mut overridden = false;
    match c.kind {
        ContactType::OncallSchedule => {
            for name in &c.rotations {
                let Some(r) = s.store.get_rotation(name).await? else { continue };
                let overrides = overrides_of(&s, &r.id, at, at + SignedDuration::from_nanos(1)).await?;
                let answer = on_call_answer(&schedule_of(&r)?, &overrides, at);
                overridden |= answer.overridden;
                for oc in answer.contacts {
                    if seen.insert(oc.alias.clone()) {
                        contacts.push(oc);
                    }
                }
            }
        }
        ContactType::Personal => contacts.push(OnCallContact { alias: c.alias.clone() }),
        ContactType::Escalation => {
            return Err(ApiError::invalid("alias", "an escalation contact pages in stages; ask its escalation plan"));
        }
    }
    Ok(Json(OnCall { contacts, at, overridden }))
}

#[derive(Deserialize, IntoParams)]
pub struct CalendarParams {
    /// The calendar's secret, from its `calendarUrl`; not needed with an API token.
    token: Option<String>,
    /// Days of past shifts to include (default 14).
    past_days: Option<i64>,
    /// Days of future shifts to include (default 90).
    days: Option<i64>,
}

fn ics(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response()
}

fn calendar_window(p: &CalendarParams, now: Timestamp) -> ApiResult<(Timestamp, Timestamp)> {
    let past = p.past_days.unwrap_or(14);
    let ahead = p.days.unwrap_or(90);
    if !(0..=MAX_RANGE_DAYS).contains(&past) || !(1..=MAX_RANGE_DAYS).contains(&ahead) || past + ahead > MAX_RANGE_DAYS
    {
        return Err(ApiError::invalid("days", format!("past and future days add up to at most {MAX_RANGE_DAYS}")));
    }
    Ok((now - SignedDuration::from_hours(24 * past), now + SignedDuration::from_hours(24 * ahead)))
}

/// A calendar is readable with an API token, or with its own secret (calendar apps send no headers).
fn may_read_calendar(caller: &MaybeCaller, token: Option<&str>, secret: &str) -> ApiResult<()> {
    if caller.0.as_ref().is_some_and(|c| c.token.role.allows(Role::Viewer)) {
        return Ok(());
    }
    match token {
        Some(t) if crate::auth::constant_time_eq(t, secret) => Ok(()),
        Some(_) => Err(ApiError::not_found("calendar")),
        None => Err(ApiError::Unauthorized("use the calendar URL with its token, or an API token")),
    }
}

#[utoipa::path(get, path = "/api/v1/rotations/{rotation}/calendar.ics", tag = "on-call", params(("rotation" = String, Path), CalendarParams),
    responses((status = 200, content_type = "text/calendar", body = String)), security((), ("bearer" = [])))]
pub async fn rotation_calendar(
    State(s): State<AppState>,
    caller: MaybeCaller,
    Path(key): Path<String>,
    Params(p): Params<CalendarParams>,
) -> ApiResult<Response> {
    let r = match s.store.get_rotation(&key).await? {
        Some(r) => r,
        None if caller.0.is_some() => return Err(ApiError::not_found(format!("rotation {key}"))),
        None => return Err(ApiError::not_found("calendar")),
    };
    may_read_calendar(&caller, p.token.as_deref(), &r.calendar_token)?;
    let now = s.clock.now();
    let (from, to) = calendar_window(&p, now)?;
    let overrides = overrides_of(&s, &r.id, from, to).await?;
    let events: Vec<CalEvent> = schedule_of(&r)?
        .shifts(from, to, &overrides)?
        .into_iter()
        .map(|x| CalEvent {
            uid: format!("{}-{}@muster", r.id, x.start.as_millisecond()),
            summary: format!("On call: {}", x.contacts.join(", ")),
            description: format!("Rotation {}{}", r.spec.name, if x.overridden { " (override)" } else { "" }),
            start: x.start,
            end: x.end,
        })
        .collect();
    Ok(ics(calendar(&format!("On call: {}", r.spec.name), &events, now)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{alias}/calendar.ics", tag = "on-call", params(("alias" = String, Path), CalendarParams),
    responses((status = 200, content_type = "text/calendar", body = String)), security((), ("bearer" = [])))]
pub async fn contact_calendar(
    State(s): State<AppState>,
    caller: MaybeCaller,
    Path(alias): Path<String>,
    Params(p): Params<CalendarParams>,
) -> ApiResult<Response> {
    let c = match s.store.get_contact(&alias).await? {
        Some(c) => c,
        None if caller.0.is_some() => return Err(ApiError::not_found(format!("contact {alias}"))),
        None => return Err(ApiError::not_found("calendar")),
    };
    may_read_calendar(&caller, p.token.as_deref(), &c.calendar_token)?;
    let now = s.clock.now();
    let (from, to) = calendar_window(&p, now)?;
    let events: Vec<CalEvent> = shifts_of_contact(&s, &c.alias, from, to)
        .await?
        .into_iter()
        .map(|x| CalEvent {
            uid: format!("{}-{}-{}@muster", c.id, x.rotation, x.shift.start.as_millisecond()),
            summary: format!("On call: {}", x.rotation),
            description: format!("With {}", x.shift.contacts.join(", ")),
            start: x.shift.start,
            end: x.shift.end,
        })
        .collect();
    let name = c.display_name.clone().unwrap_or_else(|| c.alias.clone());
    Ok(ics(calendar(&format!("On call: {name}"), &events, now)))
}
