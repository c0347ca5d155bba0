//! SMS and voice through a Twilio-compatible HTTP API
//! (`POST {api}/2010-04-01/Accounts/{sid}/Messages.json` and `.../Calls.json`, basic auth).

use crate::{ConfigError, Message, Notifier, SendError, Sent, base_url, http_outcome, transport_error};
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub struct Config {
    /// `MUSTER_TWILIO_API_URL`, default `https://api.twilio.com`.
    pub api_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The sending number, E.164.
    pub from: String,
}

impl Config {
    pub fn validate(self) -> Result<Self, ConfigError> {
        let api_url = base_url("MUSTER_TWILIO_API_URL", &self.api_url)?;
        if self.account_sid.trim().is_empty() || self.account_sid.contains('/') {
            return Err(ConfigError::new("MUSTER_TWILIO_ACCOUNT_SID", "is required"));
        }
        if self.auth_token.trim().is_empty() {
            return Err(ConfigError::new("MUSTER_TWILIO_AUTH_TOKEN", "is required"));
        }
        let digits = self.from.strip_prefix('+').unwrap_or("");
        if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::new("MUSTER_TWILIO_FROM", "must be a phone number in E.164 form"));
        }
        Ok(Self { api_url, ..self })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sms,
    Voice,
}

pub struct Twilio {
    config: Config,
    kind: Kind,
    http: reqwest::Client,
}

impl Twilio {
    pub fn new(config: Config, kind: Kind, http: reqwest::Client) -> Result<Self, ConfigError> {
        Ok(Self { config: config.validate()?, kind, http })
    }
}

/// Escapes text for TwiML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[async_trait]
impl Notifier for Twilio {
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError> {
        let c = &self.config;
        let (path, form) = match self.kind {
            Kind::Sms => {
                let mut text = format!("{}\n{}", message.subject, message.body());
                if text.chars().count() > 1500 {
                    text = text.chars().take(1500).collect();
                }
                ("Messages.json", vec![("To", address.to_string()), ("From", c.from.clone()), ("Body", text)])
            }
            Kind::Voice => {
                let say = match &message.ack_code {
                    Some(code) => format!("{}. Reply to the text message with {code} to acknowledge.", message.subject),
                    None => message.subject.clone(),
                };
                let twiml = format!(
                    "<Response><Say>{}</Say><Pause length=\"1\"/><Say>{}</Say></Response>",
                    xml(&say),
                    xml(&say)
                );
                ("Calls.json", vec![("To", address.to_string()), ("From", c.from.clone()), ("Twiml", twiml)])
            }
        };
        let url = format!("{}/2010-04-01/Accounts/{}/{path}", c.api_url, c.account_sid);
        let res = self
            .http
            .post(url)
            .basic_auth(&c.account_sid, Some(&c.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(e, "the SMS/voice provider"))?;
        http_outcome(res.status(), "the SMS/voice provider")?;
        Ok(Sent::Accepted)
    }
}
