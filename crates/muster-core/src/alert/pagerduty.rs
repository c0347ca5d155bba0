//! PagerDuty Events API v2: alert events (`POST /v2/enqueue`: `trigger`, `acknowledge`, `resolve`)
//! and change events (`POST /v2/change/enqueue`), as PagerDuty's developer documentation
//! (PagerDuty/developer-docs, `docs/events-API-v2/`) and its OpenAPI description
//! (PagerDuty/api-schema, `reference/events-v2/openapiv3.json`) define them, so tools configured
//! for PagerDuty can send to Muster unchanged.
//!
//! Alert events: `routing_key` and `event_action` are required; `dedup_key` is at most 255
//! characters and required to acknowledge or resolve; a trigger needs `payload.summary` (at most
//! 1024 characters), `payload.source` and `payload.severity` (`critical`, `error`, `warning` or
//! `info`). Read as: title `payload.summary`, impact from severity, dedupe `dedup_key` (None for a
//! trigger without one: the caller generates a key and answers with it, as PagerDuty does),
//! resources `payload.source`, labels `severity`, `component`, `group`, `class`, starts at
//! `payload.timestamp`, links from `links[]` (`text`, `href`), `images[]` (`alt`, `src`) and
//! `client`/`client_url`. The routing key is a credential: it is left out of [`Alert::raw`].

use super::{
    Alert, AlertAction, bounded, bounded_summary, impact_of, object, opt_str, opt_text, push_link, req_str, timestamp,
};
use crate::Invalid;
use crate::incident::MAX_TITLE;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// `payload.summary` is at most this many characters.
pub const MAX_SUMMARY: usize = 1024;
/// `dedup_key` is at most this many characters.
pub const MAX_DEDUP_KEY: usize = 255;

/// The `message` of PagerDuty's 400 answer, for [`error_body`].
pub const INVALID_EVENT_MESSAGE: &str = "Event object is invalid";

/// One event sent to the Events API v2, with the integration (routing) key it was sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyEvent {
    pub routing_key: String,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `trigger`, `acknowledge` or `resolve`.
    Alert(Alert),
    /// A change event: context for responders, never an incident by itself.
    Change(ChangeEvent),
}

/// A change event (`/v2/change/enqueue`): a deploy, a config change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub summary: String,
    pub source: Option<String>,
    pub timestamp: Option<Timestamp>,
    /// `payload.custom_details` as sent; null when absent.
    pub custom_details: Value,
    /// (title, url)
    pub links: Vec<(String, String)>,
}

/// Parses an Events API v2 body. A body with `event_action` is an alert event; one without is a
/// change event (the `/v2/change/enqueue` shape, which has no `event_action`). Errors name the
/// field as PagerDuty's documentation does: `payload.severity`, `links[0].href`.
pub fn parse_event(body: &Value) -> Result<PagerDutyEvent, Invalid> {
    let root = object(body, "")?;
    let routing_key = req_str(root, "routing_key")?.trim().to_string();
    let event = if root.contains_key("event_action") {
        let mut raw = body.clone();
        if let Some(obj) = raw.as_object_mut() {
            obj.remove("routing_key");
        }
        Event::Alert(alert_event(root, raw)?)
    } else {
        Event::Change(change_event(root)?)
    };
    Ok(PagerDutyEvent { routing_key, event })
}

fn alert_event(root: &Map<String, Value>, raw: Value) -> Result<Alert, Invalid> {
    let action = match req_str(root, "event_action")? {
        "trigger" => AlertAction::Trigger,
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        other => {
            return Err(Invalid::new(
                "event_action",
                format!("must be trigger, acknowledge or resolve, got {other:?}"),
            ));
        }
    };
    let dedup_key = opt_text(root, "dedup_key")?;
    if dedup_key.is_some_and(|k| k.chars().count() > MAX_DEDUP_KEY) {
        return Err(Invalid::new("dedup_key", format!("must be at most {MAX_DEDUP_KEY} characters")));
    }
    let payload = match root.get("payload") {
        None | Some(Value::Null) => None,
        Some(p) => Some(object(p, "payload")?),
    };
    let alert = match (action, payload, dedup_key) {
        (AlertAction::Trigger, Some(payload), _) => trigger(payload, raw).map_err(|e| e.within("payload"))?,
        (AlertAction::Trigger, None, _) => return Err(Invalid::new("payload", "is required to trigger")),
        (_, _, None) => return Err(Invalid::new("dedup_key", "is required to acknowledge or resolve")),
        (_, payload, Some(key)) => {
            // An acknowledge or resolve may repeat the payload; it names nothing new.
            let severity = payload.map(|p| opt_str(p, "severity")).transpose().map_err(|e| e.within("payload"))?;
            let mut alert = Alert::new("pagerduty", action, key, impact_of(severity.flatten())?, raw);
            if let Some(summary) = payload.and_then(|p| p.get("summary")).and_then(Value::as_str) {
                alert.title = bounded(summary, MAX_TITLE);
            }
            alert
        }
    };
    let mut alert = Alert { dedupe: dedup_key.map(str::to_string), links: links(root)?, ..alert };
    if let Some(images) = array(root, "images")? {
        for (i, image) in images.iter().enumerate() {
            let at = format!("images[{i}]");
            let image = object(image, &at)?;
            let src = req_str(image, "src").map_err(|e| e.within(&at))?;
            let alt = opt_text(image, "alt").map_err(|e| e.within(&at))?;
            push_link(&mut alert.links, alt.unwrap_or("Image"), Some(src));
        }
    }
    let client = opt_text(root, "client")?;
    push_link(&mut alert.links, client.unwrap_or("Client"), opt_str(root, "client_url")?);
    Ok(alert)
}

/// The trigger's payload: summary, source and severity are required.
fn trigger(payload: &Map<String, Value>, raw: Value) -> Result<Alert, Invalid> {
    let summary = req_str(payload, "summary")?.trim();
    if summary.chars().count() > MAX_SUMMARY {
        return Err(Invalid::new("summary", format!("must be at most {MAX_SUMMARY} characters")));
    }
    let source = req_str(payload, "source")?.trim();
    let severity = req_str(payload, "severity")?;
    if !matches!(severity, "critical" | "error" | "warning" | "info") {
        return Err(Invalid::new("severity", format!("must be critical, error, warning or info, got {severity:?}")));
    }
    let mut alert = Alert::new("pagerduty", AlertAction::Trigger, summary, impact_of(Some(severity))?, raw);
    if alert.title != summary {
        alert.summary = bounded_summary(Some(summary));
    }
    alert.resources = vec![source.to_string()];
    alert.labels.insert("severity".into(), severity.into());
    for key in ["component", "group", "class"] {
        if let Some(v) = opt_text(payload, key)? {
            alert.labels.insert(key.into(), v.into());
        }
    }
    alert.starts_at = timestamp(opt_str(payload, "timestamp")?, "timestamp")?;
    if payload.get("custom_details").is_some_and(|d| !d.is_object() && !d.is_null()) {
        return Err(Invalid::new("custom_details", "must be a JSON object"));
    }
    Ok(alert)
}

fn change_event(root: &Map<String, Value>) -> Result<ChangeEvent, Invalid> {
    let payload = object(root.get("payload").unwrap_or(&Value::Null), "payload")?;
    let inner = |e: Invalid| e.within("payload");
    let summary = req_str(payload, "summary").map_err(inner)?.trim();
    if summary.chars().count() > MAX_SUMMARY {
        return Err(Invalid::new("payload.summary", format!("must be at most {MAX_SUMMARY} characters")));
    }
    let custom_details = payload.get("custom_details").cloned().unwrap_or(Value::Null);
    if !custom_details.is_object() && !custom_details.is_null() {
        return Err(Invalid::new("payload.custom_details", "must be a JSON object"));
    }
    Ok(ChangeEvent {
        summary: summary.to_string(),
        source: opt_text(payload, "source").map_err(inner)?.map(str::to_string),
        timestamp: timestamp(opt_str(payload, "timestamp").map_err(inner)?, "payload.timestamp")?,
        custom_details,
        links: links(root)?,
    })
}

/// An optional array member.
fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(Invalid::new(key, "must be an array")),
    }
}

/// `links[]`: `href` required, `text` optional (the link's title, else the URL itself).
fn links(root: &Map<String, Value>) -> Result<Vec<(String, String)>, Invalid> {
    let mut out = Vec::new();
    for (i, link) in array(root, "links")?.into_iter().flatten().enumerate() {
        let at = format!("links[{i}]");
        let link = object(link, &at)?;
        let href = req_str(link, "href").map_err(|e| e.within(&at))?.trim();
        let text = opt_text(link, "text").map_err(|e| e.within(&at))?;
        out.push((text.unwrap_or(href).to_string(), href.to_string()));
    }
    Ok(out)
}

/// PagerDuty's answer to an accepted alert event (HTTP 202), with the event's dedup key, generated
/// or given. The shape is PagerDuty's documented example, in PagerDuty/api-schema
/// `reference/events-v2/openapiv3.json` (`components.responses.Success`) and the Events API v2
/// "Send an Event" reference (v2.developer.pagerduty.com/docs/send-an-event-events-api-v2, 202):
/// `{"status": "success", "message": "Event processed", "dedup_key": "samplekeyhere"}`.
pub fn accepted_body(dedup_key: &str) -> Value {
    json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key})
}

/// PagerDuty's answer to an invalid event (HTTP 400); `message` is normally
/// [`INVALID_EVENT_MESSAGE`]. The shape is PagerDuty's documented 400 example in the Events API v2
/// "Send an Event" reference (v2.developer.pagerduty.com/docs/send-an-event-events-api-v2):
/// `{"status": "invalid event", "message": "Event object is invalid", "errors": ["Length of
/// 'routing_key' is incorrect (should be 32 characters)"]}`.
pub fn error_body(message: &str, errors: &[String]) -> Value {
    json!({"status": "invalid event", "message": message, "errors": errors})
}

/// The entries of [`error_body`]'s `errors` for a refused event: `"payload.severity: must be ..."`.
pub fn errors_of(invalid: &Invalid) -> Vec<String> {
    vec![if invalid.field.is_empty() { invalid.message.clone() } else { invalid.to_string() }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(v: Value) -> Alert {
        match parse_event(&v).expect("valid").event {
            Event::Alert(a) => a,
            Event::Change(c) => panic!("expected an alert event, got {c:?}"),
        }
    }

    fn err(v: Value) -> Invalid {
        parse_event(&v).expect_err("invalid")
    }

    fn trigger_body() -> Value {
        json!({"routing_key": "k", "event_action": "trigger",
               "payload": {"summary": "CPU high on web1", "source": "web1", "severity": "critical"}})
    }

    #[test]
    fn trigger_without_dedup_key_leaves_it_to_the_caller() {
        let a = alert(trigger_body());
        assert_eq!(a.action, AlertAction::Trigger);
        assert_eq!(a.dedupe, None);
        assert_eq!(a.impact.get(), 1);
        assert_eq!(a.title, "CPU high on web1");
        assert_eq!(a.summary, None);
        assert_eq!(a.resources, ["web1"]);
        assert!(a.raw.get("routing_key").is_none(), "the routing key is a credential");
        assert_eq!(a.raw["payload"]["source"], "web1");
    }

    #[test]
    fn long_summary_is_kept_whole_in_summary() {
        let mut body = trigger_body();
        body["payload"]["summary"] = json!("x".repeat(300));
        let a = alert(body);
        assert_eq!(a.title.chars().count(), MAX_TITLE);
        assert_eq!(a.summary.as_deref().map(str::len), Some(300));
    }

    #[test]
    fn acknowledge_and_resolve_need_a_dedup_key() {
        let a = alert(json!({"routing_key": "k", "event_action": "resolve", "dedup_key": "srv01/mysql"}));
        assert_eq!(
            (a.action, a.dedupe.as_deref(), a.title.as_str()),
            (AlertAction::Resolve, Some("srv01/mysql"), "srv01/mysql")
        );
        let a = alert(json!({"routing_key": "k", "event_action": "acknowledge", "dedup_key": "d",
                             "payload": {"summary": "Still bad", "severity": "error"}}));
        assert_eq!((a.action, a.title.as_str(), a.impact.get()), (AlertAction::Acknowledge, "Still bad", 2));
        let e = err(json!({"routing_key": "k", "event_action": "acknowledge"}));
        assert_eq!(e.field, "dedup_key");
        assert_eq!(err(json!({"routing_key": "k", "event_action": "resolve", "dedup_key": "  "})).field, "dedup_key");
    }

    #[test]
    fn errors_name_the_field() {
        let with = |pointer: &str, value: Value| {
            let mut body = trigger_body();
            *body.pointer_mut(pointer).expect("field exists") = value;
            err(body)
        };
        assert_eq!(err(json!("x")).field, "");
        assert_eq!(err(json!({"event_action": "trigger"})).field, "routing_key");
        assert_eq!(with("/routing_key", json!(5)).field, "routing_key");
        let e = with("/event_action", json!("page"));
        assert_eq!(e.field, "event_action");
        assert!(e.message.contains("page"), "{}", e.message);
        assert_eq!(with("/payload", json!(null)).field, "payload");
        assert_eq!(with("/payload", json!("text")).field, "payload");
        assert_eq!(with("/payload/summary", json!("")).field, "payload.summary");
        assert_eq!(with("/payload/summary", json!("s".repeat(1025))).field, "payload.summary");
        assert_eq!(with("/payload/source", json!(null)).field, "payload.source");
        assert_eq!(with("/payload/severity", json!("fatal")).field, "payload.severity");
        assert_eq!(with("/payload/severity", json!("Critical")).field, "payload.severity");
        let mut body = trigger_body();
        body["dedup_key"] = json!("d".repeat(256));
        assert_eq!(err(body).field, "dedup_key");
        let mut body = trigger_body();
        body["payload"]["timestamp"] = json!("last tuesday");
        assert_eq!(err(body).field, "payload.timestamp");
        let mut body = trigger_body();
        body["payload"]["custom_details"] = json!("text");
        assert_eq!(err(body).field, "payload.custom_details");
        let mut body = trigger_body();
        body["links"] = json!([{"href": "https://a"}, {"text": "no href"}]);
        assert_eq!(err(body).field, "links[1].href");
        let mut body = trigger_body();
        body["links"] = json!({"href": "https://a"});
        assert_eq!(err(body).field, "links");
        let mut body = trigger_body();
        body["images"] = json!([{"alt": "no src"}]);
        assert_eq!(err(body).field, "images[0].src");
    }

    #[test]
    fn accepts_the_longest_allowed_values() {
        let mut body = trigger_body();
        body["payload"]["summary"] = json!("s".repeat(MAX_SUMMARY));
        body["dedup_key"] = json!("d".repeat(MAX_DEDUP_KEY));
        let a = alert(body);
        assert_eq!(a.dedupe.map(|d| d.len()), Some(MAX_DEDUP_KEY));
    }

    #[test]
    fn change_event() {
        let body = json!({"routing_key": "k", "payload": {"summary": "Deployed v2", "source": "ci",
            "timestamp": "2020-07-17T08:42:58.315+0000", "custom_details": {"build": "2"}},
            "links": [{"href": "https://ci/2", "text": "Build"}]});
        let event = parse_event(&body).expect("valid");
        assert_eq!(event.routing_key, "k");
        let Event::Change(c) = event.event else { panic!("expected a change event") };
        assert_eq!(c.summary, "Deployed v2");
        assert_eq!(c.source.as_deref(), Some("ci"));
        assert_eq!(c.timestamp, Some("2020-07-17T08:42:58.315Z".parse().expect("valid")));
        assert_eq!(c.custom_details, json!({"build": "2"}));
        assert_eq!(c.links, [("Build".to_string(), "https://ci/2".to_string())]);
        assert_eq!(err(json!({"routing_key": "k"})).field, "payload");
        assert_eq!(err(json!({"routing_key": "k", "payload": {}})).field, "payload.summary");
        assert_eq!(err(json!({"routing_key": "k", "payload": {"summary": "s", "source": 1}})).field, "payload.source");
    }

    #[test]
    fn response_bodies() {
        assert_eq!(
            accepted_body("srv01/HTTP"),
            json!({"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"})
        );
        let e = Invalid::new("payload.severity", "must be critical, error, warning or info");
        assert_eq!(
            error_body(INVALID_EVENT_MESSAGE, &errors_of(&e)),
            json!({"status": "invalid event", "message": "Event object is invalid",
                   "errors": ["payload.severity: must be critical, error, warning or info"]})
        );
    }
}
