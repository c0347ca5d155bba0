//! Event rules: an EventBridge event pattern and the response plans and topics told when an event
//! matches it.

use crate::Invalid;
use crate::error::optional_text;
use crate::pattern::EventPattern;
use crate::plan::validate_name;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleState {
    #[default]
    Enabled,
    Disabled,
}

/// A rule as a person or a template writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// An EventBridge event pattern.
    #[schema(value_type = Object)]
    pub event_pattern: Value,
    #[serde(default)]
    pub state: RuleState,
    /// Response plans and topics (by name or ARN) told when an event matches.
    #[serde(default)]
    pub targets: Vec<String>,
}

impl RuleSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = validate_name("name", &self.name)?;
        EventPattern::parse(&self.event_pattern).map_err(|e| e.within("eventPattern"))?;
        if self.targets.len() > 5 {
            return Err(Invalid::new("targets", "at most 5 targets"));
        }
        for (i, t) in self.targets.iter().enumerate() {
            crate::error::text(&format!("targets[{i}]"), t, 1024)?;
        }
        Ok(Self { name, description: optional_text("description", self.description.as_deref(), 512)?, ..self })
    }

    /// The compiled pattern; a stored rule was checked when it was written.
    pub fn pattern(&self) -> Result<EventPattern, Invalid> {
        EventPattern::parse(&self.event_pattern)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Rule {
    pub fn arn(&self) -> String {
        format!("arn:aws:events:local:000000000000:rule/{}", self.spec.name)
    }
}

/// Fills what an event sent to Muster leaves out, as EventBridge's PutEvents does: `version`,
/// `id`, `time`, `account`, `region`, `resources` and `detail`. Entries in PutEvents' own shape
/// (`Source`, `DetailType`, `Detail` as JSON text, `Resources`, `Time`) are turned into events.
pub fn complete_event(entry: &Value, now: Timestamp) -> Result<Value, Invalid> {
    let Value::Object(map) = entry else { return Err(Invalid::new("", "an event must be a JSON object")) };
    let mut event = serde_json::Map::new();
    if map.contains_key("Source") || map.contains_key("DetailType") {
        let detail = match map.get("Detail") {
            Some(Value::String(text)) => {
                serde_json::from_str::<Value>(text).map_err(|e| Invalid::new("Detail", format!("is not JSON: {e}")))?
            }
            Some(v @ Value::Object(_)) => v.clone(),
            None => Value::Object(Default::default()),
            Some(_) => return Err(Invalid::new("Detail", "must be a JSON object or JSON text")),
        };
        let source = map.get("Source").and_then(Value::as_str).unwrap_or("");
        let detail_type = map.get("DetailType").and_then(Value::as_str).unwrap_or("");
        if source.trim().is_empty() {
            return Err(Invalid::new("Source", "is required"));
        }
        if detail_type.trim().is_empty() {
            return Err(Invalid::new("DetailType", "is required"));
        }
        event.insert("source".into(), Value::String(source.into()));
        event.insert("detail-type".into(), Value::String(detail_type.into()));
        event.insert("detail".into(), detail);
        if let Some(r) = map.get("Resources") {
            event.insert("resources".into(), r.clone());
        }
        if let Some(t) = map.get("Time") {
            event.insert("time".into(), t.clone());
        }
    } else {
        event = map.clone();
        if event.get("source").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
            return Err(Invalid::new("source", "is required"));
        }
    }
    let fill = |event: &mut serde_json::Map<String, Value>, k: &str, v: Value| {
        event.entry(k.to_string()).or_insert(v);
    };
    fill(&mut event, "version", Value::String("0".into()));
    fill(&mut event, "id", Value::String(crate::new_id()));
    fill(&mut event, "detail-type", Value::String("".into()));
    fill(&mut event, "time", Value::String(now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
    fill(&mut event, "account", Value::String("000000000000".into()));
    fill(&mut event, "region", Value::String("local".into()));
    fill(&mut event, "resources", Value::Array(vec![]));
    fill(&mut event, "detail", Value::Object(Default::default()));
    match event.get("resources") {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        _ => return Err(Invalid::new("resources", "must be a list of strings")),
    }
    Ok(Value::Object(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-30T08:00:00Z".parse().expect("valid")
    }

    #[test]
    fn rules_check_their_pattern() {
        let spec: RuleSpec = serde_json::from_value(json!({
            "name": "vpn", "eventPattern": {"source": [{"prefix": 1}]}, "targets": ["p"]
        }))
        .expect("shape");
        let e = spec.validate().expect_err("bad pattern");
        assert!(e.field.starts_with("eventPattern.source"), "{e}");
        let spec: RuleSpec =
            serde_json::from_value(json!({"name": "vpn", "eventPattern": {"source": ["aws.ec2"]}})).expect("shape");
        assert_eq!(spec.validate().expect("valid").state, RuleState::Enabled);
    }

    #[test]
    fn events_are_completed_both_ways() {
        let e = complete_event(&json!({"source": "app", "detail": {"a": 1}}), now()).expect("valid");
        assert_eq!(e["account"], "000000000000");
        assert_eq!(e["time"], "2026-11-30T08:00:00Z");
        assert_eq!(e["resources"], json!([]));
        let e = complete_event(
            &json!({"Source": "app", "DetailType": "Deploy", "Detail": "{\"ok\": true}", "Resources": ["arn:x"]}),
            now(),
        )
        .expect("valid");
        assert_eq!((e["source"].as_str(), e["detail-type"].as_str()), (Some("app"), Some("Deploy")));
        assert_eq!(e["detail"]["ok"], true);
        assert_eq!(e["resources"][0], "arn:x");
        assert_eq!(complete_event(&json!({"detail": {}}), now()).expect_err("no source").field, "source");
        assert_eq!(
            complete_event(&json!({"Source": "a", "DetailType": "b", "Detail": "{"}), now()).expect_err("bad").field,
            "Detail"
        );
        assert_eq!(
            complete_event(&json!({"source": "a", "resources": "x"}), now()).expect_err("bad").field,
            "resources"
        );
    }
}
