//! Slack: `chat.postMessage` through the Web API with Block Kit and an Acknowledge button, or an
//! incoming webhook.

use crate::{ConfigError, Message, Notifier, SendError, Sent, base_url, http_outcome, transport_error};
use async_trait::async_trait;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Config {
    /// `MUSTER_SLACK_API_URL`, default `https://slack.com/api`.
    pub api_url: String,
    /// `MUSTER_SLACK_BOT_TOKEN` (`xoxb-...`).
    pub bot_token: String,
}

impl Config {
    pub fn validate(self) -> Result<Self, ConfigError> {
        let api_url = base_url("MUSTER_SLACK_API_URL", &self.api_url)?;
        if !self.bot_token.starts_with("xox") {
            return Err(ConfigError::new("MUSTER_SLACK_BOT_TOKEN", "must be a Slack token (xoxb-...)"));
        }
        Ok(Self { api_url, ..self })
    }
}

pub struct Slack {
    config: Config,
    http: reqwest::Client,
}

impl Slack {
    pub fn new(config: Config, http: reqwest::Client) -> Result<Self, ConfigError> {
        Ok(Self { config: config.validate()?, http })
    }
}

/// Block Kit for a page: the text, and buttons to acknowledge and open the incident.
pub fn blocks(message: &Message) -> Value {
    let mut buttons = Vec::new();
    // Only a page can be acknowledged; it carries a reply code.
    if message.ack_code.is_some() {
        buttons.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": "Acknowledge"},
            "style": "primary",
            "action_id": "muster_ack",
            "value": message.id,
        }));
    }
    for b in &message.buttons {
        let mut button = json!({"type": "button", "text": {"type": "plain_text", "text": b.text}, "action_id": b.action_id, "value": b.value});
        if let Some(style) = &b.style {
            button["style"] = json!(style);
        }
        buttons.push(button);
    }
    if let Some(url) = &message.incident_url {
        buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": url, "action_id": "muster_open"}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*\n{}", message.subject, message.text)}}),
    ];
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    Value::Array(blocks)
}

#[async_trait]
impl Notifier for Slack {
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError> {
        let mut body = json!({"channel": address, "text": message.subject, "blocks": blocks(message)});
        if let Some(ts) = &message.thread {
            body["thread_ts"] = json!(ts);
        }
        let res = self
            .http
            .post(format!("{}/chat.postMessage", self.config.api_url))
            .bearer_auth(&self.config.bot_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(e, "Slack"))?;
        http_outcome(res.status(), "Slack")?;
        let answer: Value = res
            .json()
            .await
            .map_err(|e| SendError::Retryable(format!("Slack answered no JSON: {}", e.without_url())))?;
        if answer["ok"] == true {
            return Ok(match answer["ts"].as_str() {
                Some(ts) => Sent::Posted { reference: ts.to_string() },
                None => Sent::Delivered,
            });
        }
        let error = answer["error"].as_str().unwrap_or("unknown_error").to_string();
        match error.as_str() {
            "ratelimited" | "service_unavailable" | "fatal_error" | "internal_error" | "request_timeout" => {
                Err(SendError::Retryable(format!("Slack: {error}")))
            }
            _ => Err(SendError::Permanent(format!("Slack: {error}"))),
        }
    }
}
