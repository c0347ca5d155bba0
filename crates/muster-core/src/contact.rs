//! Contacts and their channels.

use crate::Invalid;
use crate::error::{optional_text, text};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::str::FromStr;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactType {
    /// A person.
    #[default]
    Personal,
    /// An on-call schedule: whoever is on call in its rotations.
    OncallSchedule,
    /// An escalation plan: stages of other contacts.
    Escalation,
}

/// A contact as people and templates write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactSpec {
    /// Lower-case letters, digits, `-` and `_`; how the contact is named everywhere.
    pub alias: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: ContactType,
    /// The person's IANA time zone (for after-hours reports and messages).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// For an on-call schedule: its rotations, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotations: Vec<String>,
    /// How the contact is engaged: a person's channels stage by stage, or an escalation's
    /// contacts and rotations stage by stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<ContactPlan>,
}

/// Stages of an engagement (a person's channels) or an escalation (contacts and rotations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactPlan {
    pub stages: Vec<PlanStage>,
    /// Escalations only: how many more times the whole plan runs while nobody acknowledges.
    #[serde(default)]
    pub repeat: u32,
    /// Escalations only: each stage pages one of its targets, taking turns from one engagement to
    /// the next, instead of all of them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub round_robin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanStage {
    /// Minutes before the next stage starts.
    #[serde(default)]
    pub duration_minutes: u32,
    /// Seconds before the next stage starts, when finer than minutes is wanted (wins over minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    pub targets: Vec<PlanTarget>,
}

impl PlanStage {
    /// How long this stage lasts before the next one starts.
    pub fn duration(&self) -> jiff::SignedDuration {
        match self.duration_seconds {
            Some(s) => jiff::SignedDuration::from_secs(i64::from(s)),
            None => jiff::SignedDuration::from_mins(i64::from(self.duration_minutes)),
        }
    }
}

/// One of `channel` (a person's plan), `contact` or `rotation` (an escalation's).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    /// Escalations: an acknowledgement by this target stops the plan. When no target of a plan is
    /// essential, any acknowledgement stops it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    /// A person's channel: minutes between delivery retries when a send fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval_minutes: Option<u32>,
}

impl ContactPlan {
    fn validate(self, kind: ContactType) -> Result<Self, Invalid> {
        if self.stages.is_empty() {
            return Err(Invalid::new("plan.stages", "a plan has at least one stage"));
        }
        if self.stages.len() > 30 {
            return Err(Invalid::new("plan.stages", "a plan has at most 30 stages"));
        }
        if kind != ContactType::Escalation && self.repeat > 0 {
            return Err(Invalid::new("plan.repeat", "only an escalation plan repeats"));
        }
        if kind != ContactType::Escalation && self.round_robin {
            return Err(Invalid::new("plan.roundRobin", "only an escalation plan takes turns"));
        }
        if self.repeat > 10 {
            return Err(Invalid::new("plan.repeat", "at most 10 repeats"));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let at = |f: &str| format!("plan.stages[{i}].{f}");
            if stage.duration_minutes > 24 * 60 {
                return Err(Invalid::new(at("durationMinutes"), "at most 1440 minutes"));
            }
            if stage.duration_seconds.is_some_and(|s| s > 24 * 3600) {
                return Err(Invalid::new(at("durationSeconds"), "at most 86400 seconds"));
            }
            if stage.targets.is_empty() {
                return Err(Invalid::new(at("targets"), "a stage has at least one target"));
            }
            for (j, t) in stage.targets.iter().enumerate() {
                let field = at(&format!("targets[{j}]"));
                let given =
                    [t.channel.is_some(), t.contact.is_some(), t.rotation.is_some()].iter().filter(|b| **b).count();
                if given != 1 {
                    return Err(Invalid::new(field, "name exactly one of channel, contact or rotation"));
                }
                match kind {
                    ContactType::Personal if t.channel.is_none() => {
                        return Err(Invalid::new(field, "a person's plan pages their channels: name a channel"));
                    }
                    ContactType::Escalation if t.channel.is_some() => {
                        return Err(Invalid::new(field, "an escalation pages contacts and rotations, not channels"));
                    }
                    ContactType::OncallSchedule => return Err(Invalid::new("plan", "an on-call schedule has no plan")),
                    _ => {}
                }
                if t.retry_interval_minutes.is_some_and(|m| m > 60) {
                    return Err(Invalid::new(format!("{field}.retryIntervalMinutes"), "at most 60 minutes"));
                }
            }
        }
        Ok(self)
    }

    /// Whether an acknowledgement by `alias` stops this (escalation) plan.
    pub fn stops_on_ack_by(&self, alias: &str) -> bool {
        let essentials: Vec<&PlanTarget> =
            self.stages.iter().flat_map(|s| &s.targets).filter(|t| t.essential).collect();
        essentials.is_empty() || essentials.iter().any(|t| t.contact.as_deref() == Some(alias))
    }
}

/// Checks an alias: 1 to 255 of `a-z`, `0-9`, `-`, `_`.
pub fn validate_alias(field: &str, alias: &str) -> Result<String, Invalid> {
    let a = text(field, alias, 255)?;
    if !a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(Invalid::new(field, "use lower-case letters, digits, '-' and '_' only"));
    }
    Ok(a)
}

impl ContactSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let time_zone = match optional_text("timeZone", self.time_zone.as_deref(), 100)? {
            Some(tz) => {
                jiff::tz::TimeZone::get(&tz)
                    .map_err(|_| Invalid::new("timeZone", format!("{tz:?} is not an IANA time zone")))?;
                Some(tz)
            }
            None => None,
        };
        if self.kind != ContactType::OncallSchedule && !self.rotations.is_empty() {
            return Err(Invalid::new("rotations", "only an ONCALL_SCHEDULE contact has rotations"));
        }
        let plan = match self.plan {
            Some(p) if self.kind == ContactType::OncallSchedule => {
                let _ = p;
                return Err(Invalid::new("plan", "an on-call schedule has no plan; it reaches whoever is on call"));
            }
            Some(p) => Some(p.validate(self.kind)?),
            // An escalation may get its plan later (CloudFormation's separate `AWS::SSMContacts::Plan`);
            // until then it pages nobody.
            None => None,
        };
        if self.kind == ContactType::OncallSchedule && self.rotations.is_empty() {
            return Err(Invalid::new("rotations", "an ONCALL_SCHEDULE contact needs at least one rotation"));
        }
        let mut rotations = Vec::new();
        for (i, r) in self.rotations.iter().enumerate() {
            let r = text(&format!("rotations[{i}]"), r, 200)?;
            if !rotations.contains(&r) {
                rotations.push(r);
            }
        }
        Ok(Self {
            alias: validate_alias("alias", &self.alias)?,
            display_name: optional_text("displayName", self.display_name.as_deref(), 200)?,
            kind: self.kind,
            time_zone,
            rotations,
            plan,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    pub alias: String,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: ContactType,
    pub time_zone: Option<String>,
    pub rotations: Vec<String>,
    pub plan: Option<ContactPlan>,
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The secret in the contact's calendar feed URL.
    #[serde(skip)]
    pub calendar_token: String,
}

impl Contact {
    pub fn spec(&self) -> ContactSpec {
        ContactSpec {
            alias: self.alias.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind,
            time_zone: self.time_zone.clone(),
            rotations: self.rotations.clone(),
            plan: self.plan.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChannelType {
    Email,
    Sms,
    Voice,
    /// A chat user, such as a Slack member ID.
    Chat,
    Webhook,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Email => "EMAIL",
            ChannelType::Sms => "SMS",
            ChannelType::Voice => "VOICE",
            ChannelType::Chat => "CHAT",
            ChannelType::Webhook => "WEBHOOK",
        }
    }
}

impl FromStr for ChannelType {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        serde_json::from_value(Value::String(s.trim().to_ascii_uppercase())).map_err(|_| {
            Invalid::new("type", format!("{s:?} is not a channel type; use EMAIL, SMS, VOICE, CHAT or WEBHOOK"))
        })
    }
}

/// A channel as people and templates write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// An email address, an E.164 phone number (`+393331234567`), a chat user ID, or an https URL.
    pub address: String,
    /// When true, the channel waits for its activation code even when an admin made it.
    #[serde(default)]
    pub defer_activation: bool,
}

impl ChannelSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = text("name", &self.name, 100)?;
        let address = text("address", &self.address, 1000)?;
        let ok = match self.kind {
            ChannelType::Email => {
                let mut parts = address.splitn(2, '@');
                let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
            }
            ChannelType::Sms | ChannelType::Voice => {
                let digits = address.strip_prefix('+').unwrap_or("");
                (2..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0')
            }
            ChannelType::Chat => !address.contains(char::is_whitespace),
            ChannelType::Webhook => address.starts_with("https://") || address.starts_with("http://"),
        };
        if !ok {
            let want = match self.kind {
                ChannelType::Email => "an email address",
                ChannelType::Sms | ChannelType::Voice => "a phone number in E.164 form, such as +393331234567",
                ChannelType::Chat => "a chat user ID without spaces",
                ChannelType::Webhook => "an http:// or https:// URL",
            };
            return Err(Invalid::new("address", format!("a {} channel needs {want}", self.kind.as_str())));
        }
        Ok(Self { name, kind: self.kind, address, defer_activation: self.defer_activation })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub id: String,
    pub contact_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub address: String,
    /// `ACTIVATED` or `NOT_ACTIVATED`; only activated channels are ever paged.
    pub activation_status: ActivationStatus,
    pub activated_at: Option<Timestamp>,
    pub stack: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivationStatus {
    Activated,
    NotActivated,
}

/// How many wrong codes a channel takes before it needs a new one.
pub const MAX_ACTIVATION_ATTEMPTS: i64 = 5;
/// How long an activation code lasts.
pub const ACTIVATION_CODE_MINUTES: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: ChannelType, address: &str) -> Result<ChannelSpec, Invalid> {
        ChannelSpec { name: "c".into(), kind, address: address.into(), defer_activation: false }.validate()
    }

    #[test]
    fn channel_addresses_fit_their_type() {
        assert!(channel(ChannelType::Email, "ann@example.com").is_ok());
        assert_eq!(channel(ChannelType::Email, "ann").expect_err("bad").field, "address");
        assert!(channel(ChannelType::Sms, "+393331234567").is_ok());
        assert!(channel(ChannelType::Voice, "3331234567").is_err());
        assert!(channel(ChannelType::Webhook, "https://hooks.example/x").is_ok());
        assert!(channel(ChannelType::Webhook, "ftp://x").is_err());
        assert_eq!("sms".parse::<ChannelType>().expect("valid"), ChannelType::Sms);
    }

    #[test]
    fn aliases_and_schedule_contacts() {
        let spec = |alias: &str, kind, rotations: Vec<String>| ContactSpec {
            alias: alias.into(),
            display_name: None,
            kind,
            time_zone: Some("Europe/Rome".into()),
            rotations,
            plan: None,
        };
        assert!(spec("ann-b_2", ContactType::Personal, vec![]).validate().is_ok());
        assert_eq!(spec("Ann", ContactType::Personal, vec![]).validate().expect_err("upper").field, "alias");
        assert_eq!(spec("s", ContactType::OncallSchedule, vec![]).validate().expect_err("none").field, "rotations");
        assert_eq!(
            spec("s", ContactType::Personal, vec!["r".into()]).validate().expect_err("personal").field,
            "rotations"
        );
        let mut bad_tz = spec("x", ContactType::Personal, vec![]);
        bad_tz.time_zone = Some("Nowhere/Land".into());
        assert_eq!(bad_tz.validate().expect_err("tz").field, "timeZone");
    }
}
