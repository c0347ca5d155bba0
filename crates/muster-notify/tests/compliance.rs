//! Every notifier through the same checks: a valid config is accepted, a bad one is refused naming
//! the setting, a send reaches a local receiver, and a failing receiver gives the right error.

use muster_notify::testing::{HttpSink, SmtpSink};
use muster_notify::{Message, Notifier, SendError, Sent, email, http_client, slack, twilio, webhook};

fn message() -> Message {
    Message {
        id: "page-1".into(),
        subject: "Incident #7: VPN down (impact 3)".into(),
        text: "The VPN connection to the remote site is not working.".into(),
        ack_url: Some("https://muster.example/ack/page-1?sig=x".into()),
        ack_code: Some("4821".into()),
        incident_url: Some("https://muster.example/incidents/7".into()),
        thread: None,
        buttons: vec![],
    }
}

#[tokio::test]
async fn webhook_complies() {
    assert_eq!(
        webhook::Config { signing_secret: Some("short".into()) }.validate().expect_err("short").setting,
        "webhookSigningSecret"
    );
    let sink = HttpSink::start().await;
    let secret = "a-long-signing-secret";
    let n =
        webhook::Webhook::new(webhook::Config { signing_secret: Some(secret.into()) }, http_client()).expect("valid");
    let url = format!("{}/hook", sink.base);
    assert_eq!(n.send(&url, &message()).await, Ok(Sent::Delivered));
    let got = sink.requests.lock().await[0].clone();
    let body: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(body["type"], "muster.page");
    assert_eq!(body["ackCode"], "4821");
    assert_eq!(got.headers["idempotency-key"], "page-1");
    assert_eq!(
        got.headers["x-muster-signature"].to_str().expect("ascii"),
        webhook::signature(secret, got.body.as_bytes())
    );
    sink.answer(500);
    assert!(matches!(n.send(&url, &message()).await, Err(SendError::Retryable(_))));
    sink.answer(404);
    assert!(matches!(n.send(&url, &message()).await, Err(SendError::Permanent(_))));
    assert!(matches!(n.send("http://127.0.0.1:1/closed", &message()).await, Err(SendError::Retryable(_))));
}

#[tokio::test]
async fn twilio_complies() {
    let cfg = |api: &str| twilio::Config {
        api_url: api.into(),
        account_sid: "AC123".into(),
        auth_token: "secret".into(),
        from: "+15550001111".into(),
    };
    assert_eq!(cfg("ftp://x").validate().expect_err("url").setting, "MUSTER_TWILIO_API_URL");
    let mut bad = cfg("http://x");
    bad.from = "me".into();
    assert_eq!(bad.validate().expect_err("from").setting, "MUSTER_TWILIO_FROM");
    let sink = HttpSink::start().await;
    let sms = twilio::Twilio::new(cfg(&sink.base), twilio::Kind::Sms, http_client()).expect("valid");
    assert_eq!(sms.send("+393331234567", &message()).await, Ok(Sent::Accepted));
    let voice = twilio::Twilio::new(cfg(&sink.base), twilio::Kind::Voice, http_client()).expect("valid");
    assert_eq!(voice.send("+393331234567", &message()).await, Ok(Sent::Accepted));
    let got = sink.requests.lock().await.clone();
    assert_eq!(got[0].path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert!(got[0].body.contains("To=%2B393331234567") && got[0].body.contains("4821"), "{}", got[0].body);
    assert!(got[0].headers["authorization"].to_str().expect("ascii").starts_with("Basic "));
    assert_eq!(got[1].path, "/2010-04-01/Accounts/AC123/Calls.json");
    assert!(got[1].body.contains("Twiml="));
    sink.answer(429);
    assert!(matches!(sms.send("+393331234567", &message()).await, Err(SendError::Retryable(_))));
    sink.answer(400);
    assert!(matches!(sms.send("+393331234567", &message()).await, Err(SendError::Permanent(_))));
}

#[tokio::test]
async fn slack_complies() {
    assert_eq!(
        slack::Config { api_url: "https://slack.example/api".into(), bot_token: "nope".into() }
            .validate()
            .expect_err("token")
            .setting,
        "MUSTER_SLACK_BOT_TOKEN"
    );
    let sink = HttpSink::start().await;
    let n =
        slack::Slack::new(slack::Config { api_url: sink.base.clone(), bot_token: "xoxb-test".into() }, http_client())
            .expect("valid");
    assert_eq!(n.send("U123", &message()).await, Ok(Sent::Posted { reference: "1700000000.000100".into() }));
    let mut reply = message();
    reply.thread = Some("1700000000.000100".into());
    assert!(n.send("U123", &reply).await.is_ok());
    let threaded: serde_json::Value = serde_json::from_str(&sink.requests.lock().await[1].body).expect("json");
    assert_eq!(threaded["thread_ts"], "1700000000.000100", "later updates reply in the thread");
    let got = sink.requests.lock().await[0].clone();
    assert_eq!(got.path, "/chat.postMessage");
    assert_eq!(got.headers["authorization"], "Bearer xoxb-test");
    let body: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(body["channel"], "U123");
    assert_eq!(body["blocks"][1]["elements"][0]["action_id"], "muster_ack");
    assert_eq!(body["blocks"][1]["elements"][0]["value"], "page-1");
    sink.answer(503);
    assert!(matches!(n.send("U123", &message()).await, Err(SendError::Retryable(_))));
}

#[tokio::test]
async fn email_complies() {
    let bad = email::Config { url: "smtp://".into(), from: "muster@example.com".into() };
    assert_eq!(bad.validate().expect_err("no host").setting, "MUSTER_SMTP_URL");
    let smtp = SmtpSink::start().await;
    let cfg = email::Config {
        url: format!("smtp://muster:s3cret@127.0.0.1:{}?tls=none", smtp.port),
        from: "Muster <muster@example.com>".into(),
    };
    let n = email::Email::new(cfg).expect("valid");
    assert_eq!(n.send("ann@example.com", &message()).await, Ok(Sent::Accepted));
    let mail = smtp.mails.lock().await[0].clone();
    assert_eq!(mail.to, ["<ann@example.com>"]);
    assert!(mail.data.contains("Subject: Incident #7: VPN down (impact 3)"), "{}", mail.data);
    assert!(mail.data.contains("https://muster.example/ack/page-1?sig=x"));
    assert!(mail.auth.is_some(), "credentials were used");
    assert!(matches!(n.send("reject@example.com", &message()).await, Err(SendError::Permanent(_))));
    assert!(matches!(n.send("later@example.com", &message()).await, Err(SendError::Retryable(_))));
    assert!(matches!(n.send("not an address", &message()).await, Err(SendError::Permanent(_))));
}

#[tokio::test]
async fn chat_webhooks_comply() {
    use muster_notify::chat::{ChatWebhook, Kind};
    let sink = HttpSink::start().await;
    for (kind, path) in [(Kind::Slack, "slack"), (Kind::Teams, "teams"), (Kind::Mattermost, "mm")] {
        let n = ChatWebhook::new(kind, http_client());
        assert_eq!(n.send(&format!("{}/{path}", sink.base), &message()).await, Ok(Sent::Delivered));
    }
    let got = sink.requests.lock().await.clone();
    let body = |i: usize| serde_json::from_str::<serde_json::Value>(&got[i].body).expect("json");
    assert_eq!(body(0)["blocks"][0]["type"], "section");
    assert_eq!(body(1)["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(body(1)["attachments"][0]["content"]["actions"][0]["title"], "Acknowledge");
    assert!(body(2)["text"].as_str().expect("text").starts_with("**Incident #7"));
    sink.answer(500);
    let n = ChatWebhook::new(Kind::Teams, http_client());
    assert!(matches!(n.send(&format!("{}/teams", sink.base), &message()).await, Err(SendError::Retryable(_))));
    assert!(matches!(n.send("C0123", &message()).await, Err(SendError::Permanent(_))));
}
