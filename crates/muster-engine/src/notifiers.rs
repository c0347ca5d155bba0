//! The notifiers this server has, from its provider settings.

use muster_core::contact::ChannelType;
use muster_core::stack::{ResourceSpec, StackPlan};
use muster_core::topic::{ChatKind, Protocol};
use muster_notify::chat::{self, ChatWebhook};
use muster_notify::{ConfigError, Notifier, SendError, email, http_client, slack, twilio, webhook};

/// Provider settings, as `muster serve` reads them from its config file and environment.
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub twilio_api_url: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub twilio_from: Option<String>,
    pub slack_api_url: Option<String>,
    pub slack_bot_token: Option<String>,
    /// Verifies Slack's interactivity requests (the Acknowledge button).
    pub slack_signing_secret: Option<String>,
    pub webhook_signing_secret: Option<String>,
    /// Sends per second this node makes through each provider (`sms`, `voice`, `email`, `slack`,
    /// `webhook`, `teams`, ...). Defaults: one a second for SMS, voice and Slack (the providers'
    /// own limits), none for the rest.
    pub rates: std::collections::BTreeMap<String, f64>,
    /// Teams channel ID → incoming webhook URL, for Teams channels named by ID (AWS Chatbot).
    pub teams_webhooks: std::collections::BTreeMap<String, String>,
}

impl ProviderConfig {
    /// Where a chat channel's messages go: its target, or for a Teams channel named by ID, the
    /// incoming webhook configured for that ID.
    pub fn chat_address(&self, kind: ChatKind, target: &str) -> String {
        match kind {
            ChatKind::TeamsChannel => {
                self.teams_webhooks.get(target).cloned().unwrap_or_else(|| format!("teams-channel:{target}"))
            }
            _ => target.to_string(),
        }
    }

    /// The rate limit for a destination, in sends per second.
    pub fn rate(&self, destination: &str) -> Option<f64> {
        match self.rates.get(destination) {
            Some(r) if *r > 0.0 => Some(*r),
            Some(_) => None,
            None => matches!(destination, "sms" | "voice" | "slack").then_some(1.0),
        }
    }
}

pub struct Notifiers {
    webhook: webhook::Webhook,
    email: Option<email::Email>,
    sms: Option<twilio::Twilio>,
    voice: Option<twilio::Twilio>,
    slack: Option<slack::Slack>,
    slack_hook: ChatWebhook,
    teams: ChatWebhook,
    mattermost: ChatWebhook,
}

impl Notifiers {
    /// Builds every configured notifier, refusing a bad setting by name before anything is sent.
    pub fn new(c: &ProviderConfig) -> Result<Self, ConfigError> {
        let http = http_client();
        let email = match (&c.smtp_url, &c.smtp_from) {
            (Some(url), Some(from)) => Some(email::Email::new(email::Config { url: url.clone(), from: from.clone() })?),
            (Some(_), None) => return Err(ConfigError::new("MUSTER_SMTP_FROM", "is required with MUSTER_SMTP_URL")),
            _ => None,
        };
        let twilio_config = match (&c.twilio_account_sid, &c.twilio_auth_token, &c.twilio_from) {
            (Some(sid), Some(token), Some(from)) => Some(twilio::Config {
                api_url: c.twilio_api_url.clone().unwrap_or_else(|| "https://api.twilio.com".into()),
                account_sid: sid.clone(),
                auth_token: token.clone(),
                from: from.clone(),
            }),
            (None, None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    "MUSTER_TWILIO_ACCOUNT_SID",
                    "SMS and voice need MUSTER_TWILIO_ACCOUNT_SID, MUSTER_TWILIO_AUTH_TOKEN and MUSTER_TWILIO_FROM together",
                ));
            }
        };
        let (sms, voice) = match twilio_config {
            Some(cfg) => (
                Some(twilio::Twilio::new(cfg.clone(), twilio::Kind::Sms, http.clone())?),
                Some(twilio::Twilio::new(cfg, twilio::Kind::Voice, http.clone())?),
            ),
            None => (None, None),
        };
        let slack = match &c.slack_bot_token {
            Some(token) => Some(slack::Slack::new(
                slack::Config {
                    api_url: c.slack_api_url.clone().unwrap_or_else(|| "https://slack.com/api".into()),
                    bot_token: token.clone(),
                },
                http.clone(),
            )?),
            None => None,
        };
        let webhook =
            webhook::Webhook::new(webhook::Config { signing_secret: c.webhook_signing_secret.clone() }, http.clone())?;
        Ok(Self {
            webhook,
            email,
            sms,
            voice,
            slack,
            slack_hook: ChatWebhook::new(chat::Kind::Slack, http.clone()),
            teams: ChatWebhook::new(chat::Kind::Teams, http.clone()),
            mattermost: ChatWebhook::new(chat::Kind::Mattermost, http),
        })
    }

    /// The notifier for a channel type, or a permanent error naming the missing provider.
    pub fn for_channel(&self, kind: ChannelType) -> Result<&dyn Notifier, SendError> {
        let missing = |what: &str| SendError::Permanent(format!("no {what} provider is configured on this server"));
        match kind {
            ChannelType::Webhook => Ok(&self.webhook),
            ChannelType::Email => {
                self.email.as_ref().map(|n| n as &dyn Notifier).ok_or_else(|| missing("email (SMTP)"))
            }
            ChannelType::Sms => self.sms.as_ref().map(|n| n as &dyn Notifier).ok_or_else(|| missing("SMS")),
            ChannelType::Voice => self.voice.as_ref().map(|n| n as &dyn Notifier).ok_or_else(|| missing("voice")),
            ChannelType::Chat => self.slack.as_ref().map(|n| n as &dyn Notifier).ok_or_else(|| missing("Slack")),
        }
    }
}

impl Notifiers {
    /// The notifier for a notification's destination: a subscription protocol or a chat kind.
    pub fn for_destination(&self, destination: &str) -> Result<&dyn Notifier, SendError> {
        match destination {
            "email" => self.for_channel(ChannelType::Email),
            "sms" => self.for_channel(ChannelType::Sms),
            "webhook" => Ok(&self.webhook),
            "slack" => self.for_channel(ChannelType::Chat),
            "slackwebhook" => Ok(&self.slack_hook),
            "teams" => Ok(&self.teams),
            "mattermost" => Ok(&self.mattermost),
            other => Err(SendError::Permanent(format!("unknown destination {other}"))),
        }
    }
}

impl Notifiers {
    /// The provider a subscription protocol sends through, when this server lacks it.
    fn for_protocol(&self, protocol: Protocol) -> Option<SendError> {
        match protocol {
            Protocol::Email => self.for_channel(ChannelType::Email).err(),
            Protocol::Sms => self.for_channel(ChannelType::Sms).err(),
            Protocol::Webhook | Protocol::Chat => None,
        }
    }

    /// What a stack's resources need from this server that it lacks, one warning per resource:
    /// pages and messages through them would fail. Nothing is built or sent to find out.
    pub fn missing_providers(&self, plan: &StackPlan, config: &ProviderConfig) -> Vec<String> {
        let mut out = Vec::new();
        for r in &plan.resources {
            let missing = match &r.spec {
                ResourceSpec::Channel { spec, .. } => self.for_channel(spec.kind).err(),
                ResourceSpec::Subscription { subscription, .. } => self.for_protocol(subscription.protocol),
                // A topic's inline subscriptions (CloudFormation's `Subscription` list).
                ResourceSpec::Topic(t) => t.subscriptions.iter().find_map(|s| self.for_protocol(s.protocol)),
                ResourceSpec::ChatChannel(c) => match c.kind {
                    ChatKind::TeamsChannel if !config.teams_webhooks.contains_key(&c.target) => {
                        Some(SendError::Permanent(format!(
                            "no Teams incoming webhook is configured for channel {} (teamsWebhooks)",
                            c.target
                        )))
                    }
                    kind => self.for_destination(chat_destination(kind)).err(),
                },
                _ => None,
            };
            if let Some(e) = missing {
                // Named as the template's other warnings name places: `Resources.X` in CloudFormation.
                let place = if plan.format == "cloudformation" {
                    format!("Resources.{}", r.logical_id)
                } else {
                    r.logical_id.clone()
                };
                out.push(format!("{place} ({}): {e}; what goes through it fails until one is", r.resource_type));
            }
        }
        out
    }
}

/// How a chat kind is named as a notification's destination.
pub fn chat_destination(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Slack => "slack",
        ChatKind::SlackWebhook => "slackwebhook",
        ChatKind::Teams | ChatKind::TeamsChannel => "teams",
        ChatKind::Mattermost => "mattermost",
        ChatKind::Webhook => "webhook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::stack::DesiredResource;
    use serde_json::json;

    fn resource(id: &str, spec: ResourceSpec) -> DesiredResource {
        DesiredResource { logical_id: id.into(), resource_type: "Muster::X".into(), spec, properties: json!({}) }
    }

    fn parsed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("spec: {e}"))
    }

    #[test]
    fn a_plan_is_told_which_providers_it_lacks() {
        let config = ProviderConfig {
            teams_webhooks: [("19:known".to_string(), "https://teams.example/hook".to_string())].into(),
            ..ProviderConfig::default()
        };
        let notifiers = Notifiers::new(&config).unwrap_or_else(|e| panic!("notifiers: {e}"));
        let plan = StackPlan {
            name: "s".into(),
            format: "muster".into(),
            template: String::new(),
            parameters: Default::default(),
            outputs: Default::default(),
            warnings: vec![],
            skipped: vec![],
            resources: vec![
                resource(
                    "hook",
                    ResourceSpec::Channel {
                        contact: "ann".into(),
                        spec: parsed(json!({"name": "h", "type": "WEBHOOK", "address": "https://x.example"})),
                    },
                ),
                resource(
                    "mail",
                    ResourceSpec::Channel {
                        contact: "ann".into(),
                        spec: parsed(json!({"name": "m", "type": "EMAIL", "address": "ann@example.com"})),
                    },
                ),
                resource(
                    "topic",
                    ResourceSpec::Topic(parsed(
                        json!({"name": "t", "subscriptions": [{"protocol": "sms", "endpoint": "+15550001111"}]}),
                    )),
                ),
                resource(
                    "slack",
                    ResourceSpec::ChatChannel(parsed(json!({"name": "c", "type": "slack", "target": "C1"}))),
                ),
                resource(
                    "teams-known",
                    ResourceSpec::ChatChannel(parsed(
                        json!({"name": "k", "type": "teamschannel", "target": "19:known"}),
                    )),
                ),
                resource(
                    "teams-unknown",
                    ResourceSpec::ChatChannel(parsed(
                        json!({"name": "u", "type": "teamschannel", "target": "19:other"}),
                    )),
                ),
            ],
        };
        let warnings = notifiers.missing_providers(&plan, &config);
        let places: Vec<&str> = warnings.iter().filter_map(|w| w.split(' ').next()).collect();
        assert_eq!(places, ["mail", "topic", "slack", "teams-unknown"], "{warnings:#?}");
        assert!(warnings[0].contains("email (SMTP)") && warnings[1].contains("SMS"), "{warnings:#?}");
        assert!(warnings[3].contains("19:other") && warnings[3].contains("teamsWebhooks"), "{warnings:#?}");
    }
}
