//! Topics (named fan-out, the reference design's SNS topics) and chat channels (Slack, Teams,
//! Mattermost, or any webhook) that incidents are told about.

use crate::Invalid;
use crate::error::{optional_text, text};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a topic delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Protocol {
    Email,
    Sms,
    /// An http(s) endpoint receiving the generic webhook JSON (SNS's `http` and `https`).
    Webhook,
    /// A chat channel of this server, by name.
    Chat,
}

impl TryFrom<String> for Protocol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Protocol::parse(&s).map_err(|e| e.message)
    }
}

impl Protocol {
    /// Reads SNS protocol names too (`http`, `https`, `email-json`).
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "email" | "email-json" => Protocol::Email,
            "sms" => Protocol::Sms,
            "http" | "https" | "webhook" => Protocol::Webhook,
            "chat" => Protocol::Chat,
            other => {
                return Err(Invalid::new(
                    "protocol",
                    format!("{other:?} is not supported; use email, sms, https (webhook) or chat"),
                ));
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub protocol: Protocol,
    pub endpoint: String,
}

impl Subscription {
    pub fn validate(self) -> Result<Self, Invalid> {
        let endpoint = text("endpoint", &self.endpoint, 2000)?;
        let ok = match self.protocol {
            Protocol::Email => endpoint.contains('@'),
            Protocol::Sms => endpoint.starts_with('+') && endpoint[1..].bytes().all(|b| b.is_ascii_digit()),
            Protocol::Webhook => endpoint.starts_with("https://") || endpoint.starts_with("http://"),
            Protocol::Chat => !endpoint.contains(char::is_whitespace),
        };
        if !ok {
            return Err(Invalid::new(
                "endpoint",
                format!("does not fit the {:?} protocol", self.protocol).to_lowercase(),
            ));
        }
        Ok(Self { protocol: self.protocol, endpoint })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

impl TopicSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = text("name", &self.name, 256)?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Invalid::new("name", "use letters, digits, '-' and '_' only"));
        }
        let subscriptions = self
            .subscriptions
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.validate().map_err(|e| e.within(&format!("subscriptions[{i}]"))))
            .collect::<Result<_, _>>()?;
        Ok(Self { name, display_name: optional_text("displayName", self.display_name.as_deref(), 100)?, subscriptions })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// A Slack channel through the Web API (`target` is the channel ID).
    Slack,
    /// A Slack incoming webhook (`target` is its URL).
    SlackWebhook,
    /// A Microsoft Teams incoming webhook (`target` is its URL); messages are Adaptive Cards.
    Teams,
    /// A Microsoft Teams channel by ID (`target`), as AWS Chatbot names it; delivered through the
    /// incoming webhook the server's `teamsWebhooks` setting maps that ID to.
    TeamsChannel,
    /// A Mattermost incoming webhook (`target` is its URL).
    Mattermost,
    /// Any URL, receiving the generic webhook JSON.
    Webhook,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatChannelSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// A Slack channel ID, or an incoming-webhook URL.
    pub target: String,
    /// Slack: the workspace, when the server has a bot token per workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Topics whose messages this channel receives.
    #[serde(default)]
    pub topics: Vec<String>,
}

impl ChatChannelSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = text("name", &self.name, 256)?;
        let target = text("target", &self.target, 2000)?;
        let url = target.starts_with("https://") || target.starts_with("http://");
        match self.kind {
            ChatKind::Slack if url || target.contains(char::is_whitespace) => {
                return Err(Invalid::new("target", "a Slack channel is its ID, such as C0123ABCD"));
            }
            ChatKind::TeamsChannel if url => {
                return Err(Invalid::new("target", "a Teams channel is its ID; for a webhook URL use type teams"));
            }
            ChatKind::SlackWebhook | ChatKind::Teams | ChatKind::Mattermost | ChatKind::Webhook if !url => {
                return Err(Invalid::new("target", "must be the incoming webhook's http(s) URL"));
            }
            _ => {}
        }
        let mut topics = Vec::new();
        for (i, t) in self.topics.iter().enumerate() {
            let t = text(&format!("topics[{i}]"), &topic_name(t), 256)?;
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
        Ok(Self {
            name,
            kind: self.kind,
            target,
            workspace: optional_text("workspace", self.workspace.as_deref(), 100)?,
            topics,
        })
    }
}

/// A topic's name from a name or an SNS ARN (`arn:aws:sns:region:account:name`).
pub fn topic_name(key: &str) -> String {
    if key.starts_with("arn:") { key.rsplit(':').next().unwrap_or(key).to_string() } else { key.to_string() }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topic {
    pub id: String,
    #[serde(flatten)]
    pub spec: TopicSpec,
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatChannel {
    pub id: String,
    #[serde(flatten)]
    pub spec: ChatChannelSpec,
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Delivered,
    Error,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Pending => "PENDING",
            NotificationStatus::Sent => "SENT",
            NotificationStatus::Delivered => "DELIVERED",
            NotificationStatus::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => NotificationStatus::Pending,
            "SENT" => NotificationStatus::Sent,
            "DELIVERED" => NotificationStatus::Delivered,
            "ERROR" => NotificationStatus::Error,
            _ => return None,
        })
    }
}

/// One message to one destination (a subscription or a chat channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub incident_id: Option<String>,
    /// The topic it came through, if any.
    pub topic: Option<String>,
    /// `email`, `sms`, `webhook`, or a chat kind (`slack`, `teams`, ...).
    pub destination: String,
    /// The chat channel's name, or the subscription's endpoint.
    pub target: String,
    pub subject: String,
    pub text: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_chat_channels_check_their_fields() {
        assert_eq!(topic_name("arn:aws:sns:local:000000000000:vpn-status"), "vpn-status");
        assert_eq!(Protocol::parse("https").expect("valid"), Protocol::Webhook);
        assert!(Protocol::parse("lambda").is_err());
        let t = TopicSpec {
            name: "vpn".into(),
            display_name: None,
            subscriptions: vec![Subscription { protocol: Protocol::Sms, endpoint: "555".into() }],
        };
        assert_eq!(t.validate().expect_err("sms").field, "subscriptions[0].endpoint");
        let c = ChatChannelSpec {
            name: "ops".into(),
            kind: ChatKind::Teams,
            target: "C123".into(),
            workspace: None,
            topics: vec![],
        };
        assert_eq!(c.validate().expect_err("teams needs a URL").field, "target");
        let c = ChatChannelSpec {
            name: "ops".into(),
            kind: ChatKind::Slack,
            target: "C123".into(),
            workspace: None,
            topics: vec!["arn:aws:sns:local:000000000000:vpn".into()],
        };
        assert_eq!(c.validate().expect("valid").topics, ["vpn"]);
    }
}
