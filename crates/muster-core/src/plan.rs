//! Response plans: how an incident of a given kind starts, who is engaged, what runs.

use crate::Invalid;
use crate::error::{optional_text, text};
use crate::incident::{Impact, MAX_DEDUPE, MAX_SUMMARY, MAX_TITLE, Tags, validate_tags};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What an incident started from the plan looks like, unless the start request says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentTemplate {
    pub title: String,
    pub impact: Impact,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub dedupe_string: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

impl IncidentTemplate {
    pub fn validate(self) -> Result<Self, Invalid> {
        let within = |e: Invalid| e.within("incidentTemplate");
        Ok(Self {
            title: text("title", &self.title, MAX_TITLE).map_err(within)?,
            impact: self.impact,
            summary: optional_text("summary", self.summary.as_deref(), MAX_SUMMARY).map_err(within)?,
            dedupe_string: optional_text("dedupeString", self.dedupe_string.as_deref(), MAX_DEDUPE).map_err(within)?,
            tags: validate_tags(self.tags).map_err(within)?,
        })
    }
}

/// A response plan as a person or a template writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponsePlanSpec {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub incident_template: IncidentTemplate,
    /// Topics or chat channels told about incidents from this plan (by name or ARN).
    #[serde(default)]
    pub chat_channels: Vec<String>,
    /// Contacts and escalation plans engaged when an incident opens (by alias, name or ARN).
    #[serde(default)]
    pub engagements: Vec<String>,
    /// Runbooks started when an incident opens.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// Third-party integrations (kept as given).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub integrations: Value,
    /// While one of these is active, alerts, alarms and rules do not open incidents from this plan:
    /// what would have is recorded as suppressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub maintenance: Vec<crate::maintenance::MaintenanceWindow>,
}

/// Plan names are what users type: letters, digits, spaces and `-_.:/`, 1 to 200 characters.
pub fn validate_name(field: &str, name: &str) -> Result<String, Invalid> {
    let n = text(field, name, 200)?;
    if !n.chars().all(|c| c.is_alphanumeric() || " -_.:/".contains(c)) {
        return Err(Invalid::new(field, "use letters, digits, spaces and - _ . : / only"));
    }
    Ok(n)
}

impl ResponsePlanSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let mut seen = Vec::new();
        for (i, c) in self.chat_channels.iter().enumerate() {
            let c = text(&format!("chatChannels[{i}]"), c, 2048)?;
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        for (i, e) in self.engagements.iter().enumerate() {
            text(&format!("engagements[{i}]"), e, 2048)?;
        }
        for (i, a) in self.actions.iter().enumerate() {
            if !a.is_object() {
                return Err(Invalid::new(format!("actions[{i}]"), "must be an object"));
            }
        }
        let mut maintenance = Vec::with_capacity(self.maintenance.len());
        for (i, w) in self.maintenance.into_iter().enumerate() {
            maintenance.push(w.validate().map_err(|e| e.within(&format!("maintenance[{i}]")))?);
        }
        Ok(Self {
            maintenance,
            name: validate_name("name", &self.name)?,
            display_name: optional_text("displayName", self.display_name.as_deref(), 200)?,
            incident_template: self.incident_template.validate()?,
            chat_channels: seen,
            engagements: self.engagements,
            actions: self.actions,
            integrations: self.integrations,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePlan {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub incident_template: IncidentTemplate,
    pub chat_channels: Vec<String>,
    pub engagements: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    #[schema(value_type = Object)]
    pub integrations: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub maintenance: Vec<crate::maintenance::MaintenanceWindow>,
    /// The stack that manages this plan, if any; such a plan changes only through its stack.
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ResponsePlan {
    pub fn spec(&self) -> ResponsePlanSpec {
        ResponsePlanSpec {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            incident_template: self.incident_template.clone(),
            chat_channels: self.chat_channels.clone(),
            engagements: self.engagements.clone(),
            actions: self.actions.clone(),
            integrations: self.integrations.clone(),
            maintenance: self.maintenance.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_errors_name_nested_fields() {
        let bad: Result<ResponsePlanSpec, _> =
            serde_json::from_value(serde_json::json!({"name": "p", "incidentTemplate": {"title": "t", "impact": 9}}));
        assert!(bad.is_err());
        let spec: ResponsePlanSpec =
            serde_json::from_value(serde_json::json!({"name": "p", "incidentTemplate": {"title": " ", "impact": 2}}))
                .expect("parses");
        assert_eq!(spec.validate().expect_err("empty title").field, "incidentTemplate.title");
        let spec: ResponsePlanSpec =
            serde_json::from_value(serde_json::json!({"name": "p\n", "incidentTemplate": {"title": "t", "impact": 2}}))
                .expect("parses");
        assert_eq!(spec.validate().expect("trimmed").name, "p");
        let spec: ResponsePlanSpec =
            serde_json::from_value(serde_json::json!({"name": "a{b", "incidentTemplate": {"title": "t", "impact": 2}}))
                .expect("parses");
        assert_eq!(spec.validate().expect_err("bad char").field, "name");
    }
}
