//! Chat incoming webhooks: Slack (Block Kit), Microsoft Teams (an Adaptive Card), Mattermost.

use crate::{Message, Notifier, SendError, Sent, http_outcome, slack, transport_error};
use async_trait::async_trait;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slack,
    Teams,
    Mattermost,
}

pub struct ChatWebhook {
    kind: Kind,
    http: reqwest::Client,
}

impl ChatWebhook {
    pub fn new(kind: Kind, http: reqwest::Client) -> Self {
        Self { kind, http }
    }
}

/// The Teams message: an Adaptive Card with the subject, the text, and link buttons.
pub fn teams_card(m: &Message) -> Value {
    let mut actions = Vec::new();
    if let Some(url) = &m.ack_url {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Acknowledge", "url": url}));
    }
    if let Some(url) = &m.incident_url {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Open incident", "url": url}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "type": "AdaptiveCard",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": m.subject, "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": m.text, "wrap": true}
                ],
                "actions": actions
            }
        }]
    })
}

fn mattermost(m: &Message) -> Value {
    let mut text = format!("**{}**\n{}", m.subject, m.text);
    if let Some(url) = &m.incident_url {
        text.push_str(&format!("\n[Open incident]({url})"));
    }
    if let Some(url) = &m.ack_url {
        text.push_str(&format!(" · [Acknowledge]({url})"));
    }
    json!({"text": text})
}

#[async_trait]
impl Notifier for ChatWebhook {
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError> {
        if let Some(channel) = address.strip_prefix("teams-channel:") {
            return Err(SendError::Permanent(format!(
                "no incoming webhook is configured for Teams channel {channel} (teamsWebhooks)"
            )));
        }
        if !(address.starts_with("https://") || address.starts_with("http://")) {
            return Err(SendError::Permanent("an incoming webhook address must be an http(s) URL".into()));
        }
        let body = match self.kind {
            Kind::Slack => json!({"text": message.subject, "blocks": slack::blocks(message)}),
            Kind::Teams => teams_card(message),
            Kind::Mattermost => mattermost(message),
        };
        let res =
            self.http.post(address).json(&body).send().await.map_err(|e| transport_error(e, "the chat webhook"))?;
        http_outcome(res.status(), "the chat webhook")?;
        Ok(Sent::Delivered)
    }
}
