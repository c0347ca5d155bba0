//! What providers send back: SMS replies (a Twilio-compatible webhook) and Slack button presses.
//! Both are verified by the provider's own signature before anything is read.

use crate::AppState;
use crate::json::Raw;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use std::collections::BTreeMap;

/// How old a Slack request may be (replays are refused).
const SLACK_MAX_AGE_SECS: i64 = 300;

/// The fields of an `application/x-www-form-urlencoded` body.
fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Twilio's request signature: base64 of HMAC-SHA1 over the full URL followed by each POST
/// parameter's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &BTreeMap<String, String>) -> String {
    let mut data = url.to_string();
    for (k, v) in params {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Slack's request signature: `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
pub fn slack_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn twiml(message: &str) -> Response {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    (
        [("content-type", "text/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{escaped}</Message></Response>"),
    )
        .into_response()
}

/// An SMS reply: the code from a page acknowledges it.
#[utoipa::path(post, path = "/integrations/twilio/sms", tag = "senders", security(()),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's incoming-message webhook, signed with X-Twilio-Signature"),
    responses((status = 200, body = String, content_type = "text/xml", description = "TwiML: the reply to send"),
        (status = 403, body = String, content_type = "text/plain"),
        (status = 404, body = String, content_type = "text/plain", description = "SMS replies are not configured")))]
pub async fn twilio_sms(State(s): State<AppState>, uri: Uri, headers: HeaderMap, Raw(body): Raw) -> Response {
    let Some(token) = s.providers.twilio_auth_token.as_deref() else {
        return (StatusCode::NOT_FOUND, "SMS replies are not configured").into_response();
    };
    let params = form(&body);
    let base = s.public_url.clone().unwrap_or_else(|| {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    let url = format!("{}{}", base.trim_end_matches('/'), uri);
    let given = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !crate::auth::constant_time_eq(given, &twilio_signature(token, &url, &params)) {
        tracing::warn!("an SMS webhook call with a wrong signature was refused");
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let from = params.get("From").cloned().unwrap_or_default();
    let code: String = params.get("Body").map(|b| b.chars().filter(char::is_ascii_digit).collect()).unwrap_or_default();
    if code.len() != 6 {
        return twiml("Reply with the 6-digit code from the page to acknowledge it.");
    }
    match s.store.page_by_code(&from, &code).await {
        Ok(Some(page)) => match s.store.acknowledge(&page.id, &page.contact, "sms", s.clock.now()).await {
            Ok(Some(a)) if a.stopped => twiml("Acknowledged. The escalation is stopped."),
            Ok(Some(_)) => twiml("Acknowledged."),
            _ => twiml("That page could not be acknowledged just now; try again."),
        },
        Ok(None) => twiml("No page of yours has that code."),
        Err(e) => {
            tracing::warn!(error = %e, "SMS acknowledgement failed");
            twiml("That page could not be acknowledged just now; try again.")
        }
    }
}

/// A Slack button press: `muster_ack` acknowledges the page named by the button's value;
/// `muster_approve` and `muster_reject` answer a runbook's approval, as the contact whose CHAT
/// channel is the Slack user who pressed.
#[utoipa::path(post, path = "/integrations/slack/interactions", tag = "senders", security(()),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Slack's interactivity payload, signed with X-Slack-Signature"),
    responses((status = 200, body = Value, description = "The message shown to the person who pressed"),
        (status = 400, body = String, content_type = "text/plain"), (status = 401, body = String, content_type = "text/plain"),
        (status = 404, body = String, content_type = "text/plain", description = "Slack interactivity is not configured")))]
pub async fn slack_interaction(State(s): State<AppState>, headers: HeaderMap, Raw(body): Raw) -> Response {
    let Some(secret) = s.providers.slack_signing_secret.as_deref() else {
        return (StatusCode::NOT_FOUND, "Slack interactivity is not configured").into_response();
    };
    let ts = headers.get("x-slack-request-timestamp").and_then(|v| v.to_str().ok()).unwrap_or("");
    let fresh = ts.parse::<i64>().is_ok_and(|t| (s.clock.now().as_second() - t).abs() <= SLACK_MAX_AGE_SECS);
    let given = headers.get("x-slack-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !fresh || !crate::auth::constant_time_eq(given, &slack_signature(secret, ts, &body)) {
        tracing::warn!("a Slack request with a wrong or stale signature was refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let Some(interaction) = muster_core::interaction::parse_interaction(&body) else {
        return (StatusCode::BAD_REQUEST, "no payload").into_response();
    };
    let user = interaction.user;
    let page_id = match interaction.action {
        muster_core::interaction::InteractionAction::Decide { execution, approve } => {
            let text = match approver_for_slack_user(&s, &interaction.user_id).await {
                Some(alias) => {
                    match super::runbooks::decide_as(&s, &format!("{user} (Slack)"), alias, &execution, approve, None)
                        .await
                    {
                        Ok(_) if approve => "Approved.".to_string(),
                        Ok(_) => "Rejected.".to_string(),
                        Err(crate::ApiError::Forbidden(m)) => m,
                        Err(crate::ApiError::Conflict(i)) => i.message,
                        Err(_) => "Muster could not record that just now; try again.".to_string(),
                    }
                }
                None => {
                    "Your Slack user is not a chat channel of any Muster contact, so Muster cannot tell who approves."
                        .to_string()
                }
            };
            return axum::Json(
                serde_json::json!({"response_type": "ephemeral", "replace_original": false, "text": text}),
            )
            .into_response();
        }
        muster_core::interaction::InteractionAction::Acknowledge(page) => page,
        muster_core::interaction::InteractionAction::Other => return StatusCode::OK.into_response(),
    };
    let page_id = page_id.as_str();
    let answer = match s.store.acknowledge(page_id, &format!("{user} (Slack)"), "slack", s.clock.now()).await {
        Ok(Some(a)) if a.stopped => "Acknowledged; the escalation is stopped.",
        Ok(Some(_)) => "Acknowledged.",
        Ok(None) => "That page no longer exists.",
        Err(_) => "Muster could not record that just now; try again.",
    };
    axum::Json(serde_json::json!({"response_type": "ephemeral", "replace_original": false, "text": answer}))
        .into_response()
}

/// The contact whose CHAT channel is this Slack user.
async fn approver_for_slack_user(s: &AppState, slack_id: &str) -> Option<String> {
    if slack_id.is_empty() {
        return None;
    }
    for c in s.store.list_contacts().await.ok()? {
        let channels = s.store.list_channels(&c.id).await.ok()?;
        if channels.iter().any(|ch| ch.kind == muster_core::contact::ChannelType::Chat && ch.address == slack_id) {
            return Some(c.alias);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_signatures_are_stable() {
        let f = form(b"From=%2B15550002222&Body=ack+123456&Empty=");
        assert_eq!(f["From"], "+15550002222");
        assert_eq!(f["Body"], "ack 123456");
        assert_eq!(f["Empty"], "");
        let sig = twilio_signature("token", "https://m.example/integrations/twilio/sms", &f);
        assert_eq!(sig, twilio_signature("token", "https://m.example/integrations/twilio/sms", &f));
        assert_ne!(sig, twilio_signature("other", "https://m.example/integrations/twilio/sms", &f));
        assert!(slack_signature("s", "1", b"x").starts_with("v0="));
    }
}
