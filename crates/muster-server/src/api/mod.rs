//! The native API under `/api/v1`.

pub mod alarms;
pub mod analyses;
pub mod compat;
pub mod inbound;
pub mod incidents;
pub mod oncall;
pub mod paging;
pub mod plans;
pub mod rules;
pub mod runbooks;
pub mod silences;
pub mod stacks;
pub mod tokens;
pub mod topics;

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(incidents::list).post(incidents::start))
        .route("/incidents/{id}", get(incidents::show).patch(incidents::update))
        .route("/incidents/{id}/ack", post(incidents::ack))
        .route("/incidents/{id}/timeline", get(incidents::timeline).post(incidents::add_event))
        .route("/incidents/{id}/related-items", get(incidents::related_items).post(incidents::add_related_item))
        .route("/response-plans", get(plans::list).post(plans::create))
        .route("/response-plans/{key}", get(plans::show).put(plans::replace).delete(plans::remove))
        .route("/stacks", get(stacks::list))
        .route("/stacks/{name}", put(stacks::apply).get(stacks::show).delete(stacks::remove))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/whoami", get(tokens::whoami))
        .route("/contacts", get(oncall::list_contacts).post(oncall::create_contact))
        .route(
            "/contacts/{alias}",
            get(oncall::show_contact).put(oncall::replace_contact).delete(oncall::delete_contact),
        )
        .route("/contacts/{alias}/channels", post(oncall::add_channel))
        .route("/escalation-plans", get(oncall::list_escalation_plans).post(oncall::create_escalation_plan))
        .route(
            "/escalation-plans/{alias}",
            get(oncall::show_escalation_plan)
                .put(oncall::replace_escalation_plan)
                .delete(oncall::delete_escalation_plan),
        )
        .route("/contacts/{alias}/channels/{channel}", axum::routing::delete(oncall::delete_channel))
        .route("/contacts/{alias}/channels/{channel}/send-activation-code", post(oncall::send_activation_code))
        .route("/contacts/{alias}/channels/{channel}/activate", post(oncall::activate_channel))
        .route("/contacts/{alias}/shifts", get(oncall::contact_shifts))
        .route("/contacts/{alias}/on-call", get(oncall::contact_on_call))
        .route("/contacts/{alias}/calendar.ics", get(oncall::contact_calendar))
        .route("/rotations", get(oncall::list_rotations).post(oncall::create_rotation))
        .route("/rotations/preview", post(oncall::preview_shifts))
        .route(
            "/rotations/{rotation}",
            get(oncall::show_rotation).put(oncall::replace_rotation).delete(oncall::delete_rotation),
        )
        .route("/rotations/{rotation}/on-call", get(oncall::rotation_on_call))
        .route("/rotations/{rotation}/shifts", get(oncall::rotation_shifts))
        .route("/rotations/{rotation}/overrides", get(oncall::list_overrides).post(oncall::create_override))
        .route("/rotations/{rotation}/overrides/{id}", axum::routing::delete(oncall::delete_override))
        .route("/rotations/{rotation}/calendar.ics", get(oncall::rotation_calendar))
        .route("/on-call", get(oncall::everyone_on_call))
        .route("/pages", get(paging::list_pages))
        .route("/pages/{id}", get(paging::show_page))
        .route("/pages/{id}/ack", post(paging::ack_page))
        .route("/engagements", get(paging::list_engagements).post(paging::create_engagement))
        .route("/engagements/{id}", get(paging::show_engagement))
        .route("/engagements/{id}/stop", post(paging::stop_engagement))
        .route("/topics", get(topics::list_topics).post(topics::create_topic))
        .route("/topics/{name}", get(topics::show_topic).put(topics::put_topic).delete(topics::delete_topic))
        .route("/topics/{name}/publish", post(topics::publish))
        .route("/chat-channels", get(topics::list_chat_channels).post(topics::create_chat_channel))
        .route(
            "/chat-channels/{name}",
            get(topics::show_chat_channel).put(topics::put_chat_channel).delete(topics::delete_chat_channel),
        )
        .route("/notifications", get(topics::list_notifications))
        .route("/runbooks", get(runbooks::list).post(runbooks::create))
        .route("/runbooks/validate", post(runbooks::validate))
        .route("/runbooks/{name}", get(runbooks::show).put(runbooks::replace).delete(runbooks::remove))
        .route("/runbook-executions", get(runbooks::executions).post(runbooks::run))
        .route("/runbook-executions/{id}", get(runbooks::execution))
        .route("/runbook-executions/{id}/approve", post(runbooks::approve))
        .route("/runbook-executions/{id}/reject", post(runbooks::reject))
        .route("/runbook-executions/{id}/cancel", post(runbooks::cancel))
        .route("/runbook-executions/{id}/retry", post(runbooks::retry))
        .route("/metrics", get(alarms::list_metrics).post(alarms::put_metrics))
        .route("/metrics/statistics", get(alarms::statistics))
        .route("/alarms", get(alarms::list_alarms).post(alarms::create_alarm))
        .route("/alarms/{name}", get(alarms::show_alarm).put(alarms::put_alarm).delete(alarms::delete_alarm))
        .route("/alarms/{name}/history", get(alarms::alarm_history))
        .route("/alarms/{name}/state", post(alarms::set_alarm_state))
        .route("/rules", get(rules::list_rules).post(rules::create_rule))
        .route("/rules/test", post(rules::test_pattern))
        .route("/rules/{name}", get(rules::show_rule).put(rules::put_rule).delete(rules::delete_rule))
        .route("/events", post(rules::put_events))
        .route("/post-incident-analyses", get(analyses::list).post(analyses::create))
        .route("/post-incident-analyses/{id}", get(analyses::show).patch(analyses::update))
        .route("/post-incident-analyses/{id}/export", get(analyses::export))
        .route("/post-incident-analyses/{id}/action-items", post(analyses::add_item))
        .route(
            "/post-incident-analyses/{id}/action-items/{item}",
            put(analyses::replace_item).delete(analyses::delete_item),
        )
        .route("/action-items", get(analyses::list_items))
        .route("/analysis-templates", get(analyses::list_templates))
        .route("/analysis-templates/{name}", get(analyses::show_template).put(analyses::put_template))
        .route("/reports", get(analyses::reports))
        .route("/audit", get(crate::audit::list))
        .route("/silences", get(silences::list_silences).post(silences::create_silence))
        .route("/silences/{id}", get(silences::show_silence).delete(silences::expire_silence))
        .route("/inbound", get(rules::list_inbound))
        .route("/inbound/{id}", get(rules::show_inbound))
        .route("/integrations", get(rules::list_integrations).post(rules::create_integration))
        .route(
            "/integrations/{name}",
            get(rules::show_integration).put(rules::replace_integration).delete(rules::delete_integration),
        )
}

/// Query parameters whose errors come back as JSON naming the parameter.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// An incident named in a query or body (by id or number): its id, or a 400 naming `incident`.
pub(crate) async fn incident_id(s: &AppState, key: Option<&str>) -> Result<Option<String>, ApiError> {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => Ok(Some(
            s.store
                .get_incident(k)
                .await?
                .ok_or_else(|| ApiError::invalid("incident", format!("there is no incident {k}")))?
                .id,
        )),
    }
}
