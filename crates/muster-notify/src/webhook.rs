//! Generic webhooks: the message as JSON, with an idempotency key and an optional HMAC signature.
//!
//! ```text
//! POST <address>
//! Idempotency-Key: <message id>
//! X-Muster-Signature: sha256=<hex HMAC-SHA256 of the body with the signing secret>
//! {"type": "muster.page", "id": ..., "subject": ..., "text": ..., "ackUrl": ..., "ackCode": ...}
//! ```

use crate::{ConfigError, Message, Notifier, SendError, Sent, http_outcome, transport_error};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Signs each body so receivers can check it came from this server.
    pub signing_secret: Option<String>,
}

impl Config {
    pub fn validate(self) -> Result<Self, ConfigError> {
        if self.signing_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::new("webhookSigningSecret", "use at least 16 characters"));
        }
        Ok(self)
    }
}

pub struct Webhook {
    config: Config,
    http: reqwest::Client,
}

impl Webhook {
    pub fn new(config: Config, http: reqwest::Client) -> Result<Self, ConfigError> {
        Ok(Self { config: config.validate()?, http })
    }
}

/// `sha256=<hex>` of the body under the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[async_trait]
impl Notifier for Webhook {
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError> {
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(SendError::Permanent("a webhook address must be an http(s) URL".into()));
        }
        let mut body = serde_json::to_value(message).map_err(|e| SendError::Permanent(e.to_string()))?;
        body["type"] = serde_json::json!("muster.page");
        let bytes = serde_json::to_vec(&body).map_err(|e| SendError::Permanent(e.to_string()))?;
        let mut req = self
            .http
            .post(address)
            .header("content-type", "application/json")
            .header("idempotency-key", &message.id)
            .body(bytes.clone());
        if let Some(secret) = &self.config.signing_secret {
            req = req.header("x-muster-signature", signature(secret, &bytes));
        }
        let res = req.send().await.map_err(|e| transport_error(e, "the webhook"))?;
        http_outcome(res.status(), "the webhook")?;
        Ok(Sent::Delivered)
    }
}
