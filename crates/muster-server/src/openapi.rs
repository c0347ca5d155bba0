//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use crate::api::{alarms, analyses, incidents, oncall, paging, plans, rules, runbooks, stacks, tokens, topics};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster API", description = "Self-hosted incident management and on-call."),
    paths(
        incidents::start, incidents::list, incidents::show, incidents::update, incidents::timeline,
        incidents::add_event, incidents::related_items, incidents::add_related_item, incidents::ack,
        plans::list, plans::create, plans::show, plans::replace, plans::remove,
        stacks::apply, stacks::list, stacks::show, stacks::remove,
        tokens::create, tokens::list, tokens::revoke, tokens::whoami,
        oncall::list_contacts, oncall::create_contact, oncall::show_contact, oncall::replace_contact,
        oncall::delete_contact, oncall::add_channel, oncall::delete_channel, oncall::send_activation_code,
        oncall::activate_channel, oncall::contact_shifts, oncall::contact_on_call, oncall::contact_calendar,
        oncall::list_rotations, oncall::create_rotation, oncall::show_rotation, oncall::replace_rotation,
        oncall::delete_rotation, oncall::rotation_on_call, oncall::everyone_on_call, oncall::rotation_shifts,
        oncall::preview_shifts, oncall::create_override, oncall::list_overrides, oncall::delete_override,
        oncall::rotation_calendar,
        paging::list_pages, paging::show_page, paging::ack_page, paging::create_engagement,
        paging::list_engagements, paging::show_engagement, paging::stop_engagement,
        topics::list_topics, topics::create_topic, topics::show_topic, topics::put_topic, topics::delete_topic,
        topics::publish, topics::list_chat_channels, topics::create_chat_channel, topics::show_chat_channel,
        topics::put_chat_channel, topics::delete_chat_channel, topics::list_notifications,
        runbooks::list, runbooks::create, runbooks::replace, runbooks::show, runbooks::remove, runbooks::validate,
        runbooks::run, runbooks::executions, runbooks::execution, runbooks::approve, runbooks::reject, runbooks::cancel, runbooks::retry,
        alarms::put_metrics, alarms::list_metrics, alarms::statistics, alarms::list_alarms, alarms::create_alarm,
        alarms::put_alarm, alarms::show_alarm, alarms::delete_alarm, alarms::alarm_history, alarms::set_alarm_state,
        rules::test_pattern, rules::list_rules, rules::create_rule, rules::put_rule, rules::show_rule, rules::delete_rule,
        rules::put_events, rules::list_inbound, rules::show_inbound, rules::list_integrations, rules::create_integration,
        rules::show_integration, rules::replace_integration, rules::delete_integration,
        analyses::create, analyses::list, analyses::show, analyses::update, analyses::export, analyses::add_item,
        analyses::replace_item, analyses::delete_item, analyses::list_items, analyses::list_templates,
        analyses::put_template, analyses::show_template, analyses::reports, crate::audit::list,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as served. Request types refuse unknown fields, which utoipa writes as
/// `additionalProperties: false`; responses flatten those types beside fields of their own (`id`,
/// `createdAt`), so that constraint is taken out: the document then describes responses truly, and
/// requests are still checked field by field when they arrive.
pub async fn serve() -> Json<serde_json::Value> {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    open_objects(&mut doc);
    Json(doc)
}

fn open_objects(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if map.get("additionalProperties") == Some(&serde_json::Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(open_objects);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(open_objects),
        _ => {}
    }
}
