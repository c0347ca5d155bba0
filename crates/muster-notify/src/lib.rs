//! Notifiers: each one turns a [`Message`] into a send through one kind of provider.
//!
//! Every notifier has the same shape: a `Config` that validates itself before anything is built
//! (so a dry run can report a bad setting without sending), a service that sends, and tests; the
//! compliance test in `tests/compliance.rs` runs each against a local receiver. Every provider base
//! URL comes from configuration. This crate knows nothing of incidents, the database or HTTP
//! routes: it sends messages and says how that went.

pub mod chat;
pub mod email;
pub mod slack;
pub mod twilio;
pub mod webhook;

use async_trait::async_trait;
use serde::Serialize;

/// What to say, and how to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Also the idempotency key receivers can deduplicate by.
    pub id: String,
    pub subject: String,
    pub text: String,
    /// A link that acknowledges (GET shows a confirmation, POST acknowledges).
    pub ack_url: Option<String>,
    /// A short code to reply with (SMS) to acknowledge.
    pub ack_code: Option<String>,
    /// A link to the incident.
    pub incident_url: Option<String>,
    /// Where earlier messages about the same thing went, when the provider threads (Slack's
    /// `thread_ts`): later updates are replies there.
    pub thread: Option<String>,
    /// Buttons a chat message carries (Slack), beside Acknowledge for pages.
    pub buttons: Vec<Button>,
}

/// A chat button: what it says, and what it sends back when pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Button {
    pub action_id: String,
    pub text: String,
    pub value: String,
    /// `primary` or `danger`.
    pub style: Option<String>,
}

impl Message {
    /// The plain-text body: the text, then how to acknowledge.
    pub fn body(&self) -> String {
        let mut out = self.text.clone();
        if let Some(url) = &self.incident_url {
            out.push_str(&format!("\n\nIncident: {url}"));
        }
        if let Some(url) = &self.ack_url {
            out.push_str(&format!("\nAcknowledge: {url}"));
        }
        if let Some(code) = &self.ack_code {
            out.push_str(&format!("\nReply {code} to acknowledge."));
        }
        out
    }
}

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The provider took it.
    Accepted,
    /// The receiving side confirmed it.
    Delivered,
    /// Delivered, and the provider named it (Slack's message `ts`) so later messages can thread.
    Posted { reference: String },
}

impl Sent {
    /// Whether the receiving side confirmed it.
    pub fn delivered(&self) -> bool {
        !matches!(self, Sent::Accepted)
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            Sent::Posted { reference } => Some(reference),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (timeouts, 5xx, rate limits).
    #[error("{0}")]
    Retryable(String),
    /// Trying again will not help (a refused address, a bad credential, no provider).
    #[error("{0}")]
    Permanent(String),
}

/// A configuration that does not hold together, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: &str, message: impl Into<String>) -> Self {
        Self { setting: setting.to_string(), message: message.into() }
    }
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `message` to `address` (an email address, a phone number, a chat user, a URL).
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError>;
}

/// Classifies an HTTP answer from a provider.
pub(crate) fn http_outcome(status: reqwest::StatusCode, what: &str) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status == 429 || status == 408 {
        Err(SendError::Retryable(format!("{what} answered {}", status.as_u16())))
    } else {
        Err(SendError::Permanent(format!("{what} refused it with {}", status.as_u16())))
    }
}

/// Classifies a transport error; never includes the URL (it may carry a secret).
pub(crate) fn transport_error(e: reqwest::Error, what: &str) -> SendError {
    let e = e.without_url();
    if e.is_builder() {
        SendError::Permanent(format!("{what}: {e}"))
    } else if e.is_timeout() {
        SendError::Retryable(format!("{what} did not answer in time (timed out)"))
    } else if e.is_connect() {
        SendError::Retryable(format!("{what} could not be reached (connection failed)"))
    } else {
        SendError::Retryable(format!("{what} could not be reached: {e}"))
    }
}

/// A base URL setting: http(s), no trailing slash.
pub(crate) fn base_url(setting: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().trim_end_matches('/');
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err(ConfigError::new(setting, "must be an http:// or https:// URL"));
    }
    Ok(v.to_string())
}

/// An HTTP client with bounded timeouts, so a hanging provider holds nothing up for long.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap_or_default()
}

#[cfg(feature = "testing")]
pub mod testing;
