//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use crate::api::{
    alarms, analyses, compat, inbound, incidents, oncall, paging, plans, rules, runbooks, silences, stacks, tokens,
    topics,
};
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
        oncall::rotation_calendar, oncall::list_escalation_plans, oncall::create_escalation_plan,
        oncall::show_escalation_plan, oncall::replace_escalation_plan, oncall::delete_escalation_plan,
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
        silences::list_silences, silences::create_silence, silences::show_silence, silences::expire_silence,
        silences::am_list, silences::am_create, silences::am_show, silences::am_expire,
        compat::alertmanager_v2, compat::alertmanager_v2_list, compat::alertmanager_webhook, compat::grafana_webhook,
        compat::generic_webhook, compat::sns_delivery, compat::heartbeat, compat::pagerduty_enqueue,
        compat::pagerduty_change_enqueue, inbound::twilio_sms, inbound::slack_interaction,
        paging::ack_page_confirm, paging::ack_page_by_link, crate::healthz, crate::readyz, crate::serve_metrics,
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
        // What senders carry: an integration's key (also accepted as `?key=` or basic auth).
        components.add_security_scheme(
            "integrationKey",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("an integration key")).build(),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `.route("PATH", get(..).post(..))` in a router's source: the path and its methods.
    fn routes_in(source: &str, prefix: &str) -> Vec<(String, Vec<&'static str>)> {
        let mut out = Vec::new();
        for (i, _) in source.match_indices(".route(") {
            let rest = &source[i + ".route(".len()..];
            let Some(path) = rest.trim_start().strip_prefix('"').and_then(|r| r.split('"').next()) else { continue };
            let end = [".route(", ".fallback(", ".layer(", ".merge(", ".nest(", ".with_state("]
                .iter()
                .filter_map(|m| rest.find(m))
                .min()
                .unwrap_or(rest.len());
            let methods = ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .filter(|m| {
                    rest[..end].match_indices(&format!("{m}(")).any(|(j, _)| {
                        j == 0 || !rest.as_bytes()[j - 1].is_ascii_alphanumeric() && rest.as_bytes()[j - 1] != b'_'
                    })
                })
                .collect();
            out.push((format!("{prefix}{path}"), methods));
        }
        out
    }

    /// Every route the API serves, to people or to senders, is in the document with each of its
    /// methods (the web UI's pages are not API).
    #[test]
    fn every_api_route_is_documented() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let mut routes = routes_in(include_str!("api/mod.rs"), "/api/v1");
        routes.extend(routes_in(include_str!("lib.rs"), "").into_iter().filter(|(p, _)| p != "/api/openapi.json"));
        assert!(routes.len() > 80, "the routers were read: {}", routes.len());
        let mut missing = Vec::new();
        for (path, methods) in &routes {
            assert!(!methods.is_empty(), "no method read for {path}");
            for m in methods {
                if !doc["paths"][path][m].is_object() {
                    missing.push(format!("{} {path}", m.to_uppercase()));
                }
            }
        }
        assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:#?}");
    }
}
