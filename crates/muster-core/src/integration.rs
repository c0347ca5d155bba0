//! Integrations: where existing tools send alerts. Each has a type (the wire format), a secret key
//! that authenticates its sender, and says where its alerts go: a response plan, or, without one,
//! an incident built from the alert itself.

use crate::Invalid;
use crate::alert::generic::Mapping;
use crate::plan::validate_name;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationType {
    Alertmanager,
    Pagerduty,
    Sns,
    Grafana,
    Generic,
    Heartbeat,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::Alertmanager => "alertmanager",
            IntegrationType::Pagerduty => "pagerduty",
            IntegrationType::Sns => "sns",
            IntegrationType::Grafana => "grafana",
            IntegrationType::Generic => "generic",
            IntegrationType::Heartbeat => "heartbeat",
        }
    }
}

fn yes() -> bool {
    true
}

/// An integration as a person writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: IntegrationType,
    /// Where alerts go (name or id); without one, each alert makes its own incident.
    #[serde(default)]
    pub response_plan: Option<String>,
    /// A resolved alert resolves its incident.
    #[serde(default = "yes")]
    pub auto_resolve: bool,
    /// Alerts whose labels agree on these are grouped into one incident.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// For `generic`: where the title, impact and dedupe key are in the payload.
    #[serde(default)]
    pub mapping: Option<Mapping>,
    /// For `heartbeat`: a ping is expected at least this often.
    #[serde(default)]
    pub interval_seconds: Option<u32>,
    /// Alerts that arrive while one of these is active are recorded as suppressed.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub maintenance: Vec<crate::maintenance::MaintenanceWindow>,
    /// Alerts per minute this integration's key may send before answers turn 429.
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
}

impl IntegrationSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = validate_name("name", &self.name)?;
        match (self.kind, &self.mapping) {
            (IntegrationType::Generic, None) => {
                return Err(Invalid::new("mapping", "a generic integration needs a mapping (at least `title`)"));
            }
            (IntegrationType::Generic, Some(m)) => m.validate().map_err(|e| e.within("mapping"))?,
            (_, Some(_)) => return Err(Invalid::new("mapping", "only generic integrations take a mapping")),
            _ => {}
        }
        match (self.kind, self.interval_seconds) {
            (IntegrationType::Heartbeat, None) => {
                return Err(Invalid::new("intervalSeconds", "a heartbeat needs an interval"));
            }
            (IntegrationType::Heartbeat, Some(s)) if !(10..=7 * 86_400).contains(&s) => {
                return Err(Invalid::new("intervalSeconds", "must be from 10 seconds to 7 days"));
            }
            (IntegrationType::Heartbeat, _) => {}
            (_, Some(_)) => return Err(Invalid::new("intervalSeconds", "only heartbeats take an interval")),
            _ => {}
        }
        for (i, l) in self.group_by.iter().enumerate() {
            crate::error::text(&format!("groupBy[{i}]"), l, 128)?;
        }
        let mut maintenance = Vec::with_capacity(self.maintenance.len());
        for (i, w) in self.maintenance.into_iter().enumerate() {
            maintenance.push(w.validate().map_err(|e| e.within(&format!("maintenance[{i}]")))?);
        }
        if self.rate_per_minute == Some(0) {
            return Err(Invalid::new("ratePerMinute", "must be at least 1"));
        }
        Ok(Self { name, maintenance, ..self })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: String,
    #[serde(flatten)]
    pub spec: IntegrationSpec,
    /// The start of the key, to tell keys apart; the key itself is shown once, at creation.
    pub key_prefix: String,
    pub last_received_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an inbound item is.
pub const INBOUND_EVENT: &str = "event";
pub const INBOUND_ALERT: &str = "alert";

/// Something received (an event, or an alert through an integration), as recorded: written before
/// the sender was answered, then routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inbound {
    pub id: String,
    /// `event` or `alert`.
    pub kind: String,
    pub integration_id: Option<String>,
    /// The event, or the alert in Muster's shape.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `pending`, `routed`, `suppressed`, `dropped` (matched nothing) or `failed`.
    pub status: String,
    /// What routing did: the incident, the rules matched, the silence or window that caught it.
    #[schema(value_type = Object)]
    pub outcome: serde_json::Value,
    pub incident_id: Option<String>,
    pub received_at: Timestamp,
    pub routed_at: Option<Timestamp>,
}
