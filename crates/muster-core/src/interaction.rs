//! Slack interactivity: what a person did with a button Muster put in a Slack message. Parsing
//! only; the server checks Slack's signature before it reads a body.

/// What a person did with a button Muster put in Slack (an interactivity request's `payload`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// The Slack user's name (or id when there is none).
    pub user: String,
    /// The Slack user's id.
    pub user_id: String,
    pub action: InteractionAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InteractionAction {
    /// Acknowledge this page.
    Acknowledge(String),
    /// Approve or reject this runbook execution's waiting step.
    Decide { execution: String, approve: bool },
    /// A button that is not Muster's, or none.
    Other,
}

/// Reads an interactivity request body (`application/x-www-form-urlencoded` with a JSON `payload`).
/// `None` when there is no payload or it is not JSON. The caller checks Slack's signature first.
pub fn parse_interaction(body: &[u8]) -> Option<Interaction> {
    let payload = form_urlencoded::parse(body).find(|(k, _)| k == "payload").map(|(_, v)| v.into_owned())?;
    let payload: serde_json::Value = serde_json::from_str(&payload).ok()?;
    let user_id = payload["user"]["id"].as_str().unwrap_or_default().to_string();
    let user =
        payload["user"]["username"].as_str().or(payload["user"]["id"].as_str()).unwrap_or("slack user").to_string();
    let actions = payload["actions"].as_array().cloned().unwrap_or_default();
    let value = |a: &serde_json::Value| a["value"].as_str().unwrap_or_default().to_string();
    let action = if let Some(a) =
        actions.iter().find(|x| x["action_id"] == "muster_approve" || x["action_id"] == "muster_reject")
    {
        InteractionAction::Decide { execution: value(a), approve: a["action_id"] == "muster_approve" }
    } else if let Some(a) = actions.iter().find(|x| x["action_id"] == "muster_ack") {
        InteractionAction::Acknowledge(value(a))
    } else {
        InteractionAction::Other
    };
    Some(Interaction { user, user_id, action })
}

#[cfg(test)]
mod interaction_tests {
    use super::*;

    fn body(payload: &str) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new()).append_pair("payload", payload).finish().into_bytes()
    }

    #[test]
    fn buttons_are_read() {
        let ack = body(
            r#"{"user": {"id": "U1", "username": "ann"}, "actions": [{"action_id": "muster_ack", "value": "p1"}]}"#,
        );
        assert_eq!(
            parse_interaction(&ack),
            Some(Interaction {
                user: "ann".into(),
                user_id: "U1".into(),
                action: InteractionAction::Acknowledge("p1".into())
            })
        );
        let reject = body(r#"{"user": {"id": "U2"}, "actions": [{"action_id": "muster_reject", "value": "e1"}]}"#);
        let i = parse_interaction(&reject).expect("read");
        assert_eq!(i.user, "U2");
        assert_eq!(i.action, InteractionAction::Decide { execution: "e1".into(), approve: false });
        assert_eq!(parse_interaction(b"payload=not-json"), None);
        assert_eq!(parse_interaction(b"nothing=here"), None);
        assert_eq!(
            parse_interaction(&body(r#"{"actions": [{"action_id": "x"}]}"#)).map(|i| i.action),
            Some(InteractionAction::Other)
        );
    }
}
