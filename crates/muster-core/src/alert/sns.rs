//! Amazon SNS deliveries: the JSON body SNS POSTs to an HTTP/HTTPS subscription (`Type`:
//! `SubscriptionConfirmation`, `Notification` or `UnsubscribeConfirmation`), or the same message
//! inside the SNS→Lambda event envelope (`Records[0].Sns`), which is how AWS's published samples
//! are shaped.
//!
//! A notification whose `Message` is a CloudWatch alarm's state change (JSON with `AlarmName`)
//! becomes an alert: `NewStateValue` `ALARM` triggers, `OK` resolves, `INSUFFICIENT_DATA` is no
//! alert. Title `AlarmName`; summary `AlarmDescription` and `NewStateReason`; dedupe `AlarmArn`;
//! resources the `AlarmArn` then each metric dimension as `Name=Value` (from `Trigger.Dimensions`
//! and, for metric math, `Trigger.Metrics[].MetricStat.Metric.Dimensions`); labels `AlarmName`,
//! `AWSAccountId`, `Region`, `NewStateValue`, `OldStateValue`, `Namespace`, `MetricName`;
//! `StateChangeTime` is when it started (ALARM) or ended (OK); impact is [`DEFAULT_IMPACT`], as an
//! alarm carries no severity; `raw` is the decoded alarm. Any other notification is a trigger titled
//! by its `Subject` (else the message's first line), with the message as summary, the `MessageId`
//! as dedupe (SNS redelivers with the same id), an event's `resources` as resources, and the SNS
//! message as `raw`.
//!
//! Signatures are not checked here: that needs the signing certificate, fetched over the network.
//!
//! [`DEFAULT_IMPACT`]: super::DEFAULT_IMPACT

use super::{
    Alert, AlertAction, bounded_summary, impact_of, object, opt_str, opt_text, req_str, string_list, timestamp,
};
use crate::Invalid;
use serde_json::{Map, Value};

/// One SNS delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum SnsMessage {
    /// Visiting `subscribe_url` confirms the subscription. It comes from the request body: check
    /// that it points at SNS before visiting it.
    SubscriptionConfirmation {
        topic_arn: String,
        subscribe_url: String,
        token: String,
        message: String,
    },
    /// `alert` is None for a CloudWatch alarm entering INSUFFICIENT_DATA.
    Notification {
        topic_arn: String,
        message_id: String,
        alert: Option<Alert>,
    },
    UnsubscribeConfirmation {
        topic_arn: String,
    },
}

/// Parses an SNS delivery, direct or in the Lambda envelope (only the first record is read; SNS
/// sends one per invocation). Errors name the field, inside the envelope when there is one:
/// `Records[0].Sns.Message.NewStateValue`.
pub fn parse(body: &Value) -> Result<SnsMessage, Invalid> {
    let root = object(body, "")?;
    let Some(records) = root.get("Records") else { return message(root) };
    let record = records.as_array().and_then(|r| r.first());
    let record = record.ok_or_else(|| Invalid::new("Records", "must be a non-empty array of SNS records"))?;
    let sns = record.get("Sns").ok_or_else(|| Invalid::new("Records[0].Sns", "is required"))?;
    message(object(sns, "Records[0].Sns")?).map_err(|e| e.within("Records[0].Sns"))
}

fn message(obj: &Map<String, Value>) -> Result<SnsMessage, Invalid> {
    let kind = req_str(obj, "Type")?;
    let topic_arn = req_str(obj, "TopicArn")?.trim().to_string();
    let text = |key| req_str(obj, key).map(|s| s.trim().to_string());
    Ok(match kind {
        "SubscriptionConfirmation" => SnsMessage::SubscriptionConfirmation {
            subscribe_url: text("SubscribeURL")?,
            token: text("Token")?,
            message: text("Message")?,
            topic_arn,
        },
        "Notification" => {
            let message_id = text("MessageId")?;
            let message = opt_str(obj, "Message")?.ok_or_else(|| Invalid::new("Message", "is required"))?;
            let decoded = serde_json::from_str::<Value>(message).ok();
            let alert = match decoded.filter(|v| v.get("AlarmName").is_some()) {
                Some(alarm) => cloudwatch(alarm).map_err(|e| e.within("Message"))?,
                None => Some(other(obj, &topic_arn, &message_id, message)?),
            };
            SnsMessage::Notification { topic_arn, message_id, alert }
        }
        "UnsubscribeConfirmation" => SnsMessage::UnsubscribeConfirmation { topic_arn },
        other => {
            return Err(Invalid::new(
                "Type",
                format!("must be SubscriptionConfirmation, Notification or UnsubscribeConfirmation, got {other:?}"),
            ));
        }
    })
}

/// A CloudWatch alarm state change; None for INSUFFICIENT_DATA.
fn cloudwatch(alarm: Value) -> Result<Option<Alert>, Invalid> {
    let a = object(&alarm, "")?;
    let name = req_str(a, "AlarmName")?;
    let action = match req_str(a, "NewStateValue")? {
        "ALARM" => Some(AlertAction::Trigger),
        "OK" => Some(AlertAction::Resolve),
        "INSUFFICIENT_DATA" => None,
        other => {
            let message = format!("must be ALARM, OK or INSUFFICIENT_DATA, got {other:?}");
            return Err(Invalid::new("NewStateValue", message));
        }
    };
    let arn = req_str(a, "AlarmArn")?.trim().to_string();
    let changed = timestamp(opt_str(a, "StateChangeTime")?, "StateChangeTime")?;
    let summary: Vec<&str> =
        [opt_text(a, "AlarmDescription")?, opt_text(a, "NewStateReason")?].into_iter().flatten().collect();
    let mut labels = Vec::new();
    for key in ["AlarmName", "AWSAccountId", "Region", "NewStateValue", "OldStateValue"] {
        labels.push((key, opt_text(a, key)?));
    }
    let mut resources = vec![arn.clone()];
    if let Some(trigger) = a.get("Trigger").filter(|t| !t.is_null()) {
        let t = object(trigger, "Trigger")?;
        let inner = |e: Invalid| e.within("Trigger");
        for key in ["Namespace", "MetricName"] {
            labels.push((key, opt_text(t, key).map_err(inner)?));
        }
        dimensions(t.get("Dimensions"), "Trigger.Dimensions", &mut resources)?;
        let metrics = match t.get("Metrics") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(m)) => m.as_slice(),
            Some(_) => return Err(Invalid::new("Trigger.Metrics", "must be an array")),
        };
        for (i, metric) in metrics.iter().enumerate() {
            let dims = metric.pointer("/MetricStat/Metric/Dimensions");
            dimensions(dims, &format!("Trigger.Metrics[{i}].MetricStat.Metric.Dimensions"), &mut resources)?;
        }
    }
    let Some(action) = action else { return Ok(None) };
    let mut alert = Alert::new("sns", action, name, impact_of(None)?, Value::Null);
    alert.dedupe = Some(arn);
    alert.summary = bounded_summary(Some(&summary.join("\n\n")));
    alert.labels = labels.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?.to_string()))).collect();
    alert.resources = resources;
    match action {
        AlertAction::Resolve => alert.ends_at = changed,
        _ => alert.starts_at = changed,
    }
    alert.raw = alarm;
    Ok(Some(alert))
}

/// Appends each `{"name", "value"}` dimension as `Name=Value`, once.
fn dimensions(list: Option<&Value>, field: &str, out: &mut Vec<String>) -> Result<(), Invalid> {
    let items = match list {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Invalid::new(field, "must be an array")),
    };
    for (i, dimension) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let d = object(dimension, &at)?;
        let get = |lower: &str, upper: &str| d.get(lower).or_else(|| d.get(upper)).and_then(Value::as_str);
        let (Some(name), Some(value)) = (get("name", "Name"), get("value", "Value")) else {
            return Err(Invalid::new(at, "must have a string name and value"));
        };
        let resource = format!("{name}={value}");
        if !out.contains(&resource) {
            out.push(resource);
        }
    }
    Ok(())
}

/// A notification that is not a CloudWatch alarm.
fn other(obj: &Map<String, Value>, topic_arn: &str, message_id: &str, message: &str) -> Result<Alert, Invalid> {
    let subject = opt_text(obj, "Subject")?;
    let first_line = message.lines().map(str::trim).find(|l| !l.is_empty());
    let title = subject.or(first_line).unwrap_or("SNS notification");
    let mut alert = Alert::new("sns", AlertAction::Trigger, title, impact_of(None)?, Value::Object(obj.clone()));
    alert.dedupe = Some(message_id.to_string());
    alert.summary = bounded_summary(Some(message));
    alert.labels.insert("TopicArn".into(), topic_arn.into());
    alert.starts_at = timestamp(opt_str(obj, "Timestamp")?, "Timestamp")?;
    if let Ok(event) = serde_json::from_str::<Value>(message) {
        alert.resources = string_list(event.get("resources"));
    }
    Ok(alert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notification(message: &str) -> Value {
        json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:1:ops",
               "Subject": "Hello", "Message": message, "Timestamp": "2026-01-10T12:00:00.000Z"})
    }

    fn alarm(state: &str) -> Value {
        json!({"AlarmName": "VPN down", "AlarmArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:VPN down",
               "NewStateValue": state, "OldStateValue": "ALARM", "StateChangeTime": "2026-01-10T12:00:00.000+0000",
               "NewStateReason": "Threshold Crossed",
               "Trigger": {"MetricName": "TunnelState", "Namespace": "AWS/VPN",
                           "Dimensions": [{"name": "VpnId", "value": "vpn-0123"}]}})
    }

    fn alert_of(body: &Value) -> Option<Alert> {
        match parse(body).expect("valid") {
            SnsMessage::Notification { alert, .. } => alert,
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    #[test]
    fn alarm_states() {
        let ok = alert_of(&notification(&alarm("OK").to_string())).expect("an alert");
        assert_eq!(ok.action, AlertAction::Resolve);
        assert_eq!(ok.dedupe.as_deref(), Some("arn:aws:cloudwatch:eu-west-1:1:alarm:VPN down"));
        assert_eq!(ok.resources, ["arn:aws:cloudwatch:eu-west-1:1:alarm:VPN down", "VpnId=vpn-0123"]);
        assert_eq!(ok.ends_at, Some("2026-01-10T12:00:00Z".parse().expect("valid")));
        assert_eq!(ok.starts_at, None);
        assert_eq!(ok.summary.as_deref(), Some("Threshold Crossed"));
        assert_eq!(ok.labels.get("Namespace").map(String::as_str), Some("AWS/VPN"));
        assert_eq!(ok.raw, alarm("OK"));
        let firing = alert_of(&notification(&alarm("ALARM").to_string())).expect("an alert");
        assert_eq!((firing.action, firing.title.as_str()), (AlertAction::Trigger, "VPN down"));
        assert_eq!(firing.dedupe, ok.dedupe, "one alarm, one identity");
        assert_eq!(alert_of(&notification(&alarm("INSUFFICIENT_DATA").to_string())), None);
    }

    #[test]
    fn plain_notification() {
        let a = alert_of(&notification("Disk almost full\nsecond line")).expect("an alert");
        assert_eq!((a.action, a.title.as_str()), (AlertAction::Trigger, "Hello"));
        assert_eq!(a.summary.as_deref(), Some("Disk almost full\nsecond line"));
        assert_eq!(a.dedupe.as_deref(), Some("m-1"));
        assert_eq!(a.labels.get("TopicArn").map(String::as_str), Some("arn:aws:sns:eu-west-1:1:ops"));
        let mut body = notification(r#"{"detail-type": "x", "resources": ["arn:aws:ec2:eu-west-1:1:instance/i-1"]}"#);
        body.as_object_mut().expect("object").remove("Subject");
        let a = alert_of(&body).expect("an alert");
        assert_eq!(a.resources, ["arn:aws:ec2:eu-west-1:1:instance/i-1"]);
        assert!(a.title.starts_with("{\"detail-type\""), "{}", a.title);
    }

    #[test]
    fn confirmations() {
        let body = json!({"Type": "SubscriptionConfirmation", "MessageId": "m", "Token": "tok",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic", "Message": "You have chosen to subscribe",
            "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=tok"});
        let SnsMessage::SubscriptionConfirmation { topic_arn, subscribe_url, token, message } =
            parse(&body).expect("valid")
        else {
            panic!("expected a subscription confirmation")
        };
        assert_eq!(topic_arn, "arn:aws:sns:us-west-2:123456789012:MyTopic");
        assert!(subscribe_url.ends_with("Token=tok"));
        assert_eq!((token.as_str(), message.as_str()), ("tok", "You have chosen to subscribe"));
        let body = json!({"Type": "UnsubscribeConfirmation", "TopicArn": "arn:t"});
        assert_eq!(parse(&body).expect("valid"), SnsMessage::UnsubscribeConfirmation { topic_arn: "arn:t".into() });
    }

    #[test]
    fn errors_name_the_field() {
        let err = |v: Value| parse(&v).expect_err("invalid").field;
        assert_eq!(err(json!([])), "");
        assert_eq!(err(json!({"TopicArn": "t"})), "Type");
        assert_eq!(err(json!({"Type": "Publish", "TopicArn": "t"})), "Type");
        assert_eq!(err(json!({"Type": "Notification", "MessageId": "m"})), "TopicArn");
        assert_eq!(err(json!({"Type": "Notification", "TopicArn": "t", "Message": "x"})), "MessageId");
        assert_eq!(err(json!({"Type": "Notification", "TopicArn": "t", "MessageId": "m"})), "Message");
        assert_eq!(
            err(json!({"Type": "SubscriptionConfirmation", "TopicArn": "t", "Token": "x", "Message": "m"})),
            "SubscribeURL"
        );
        let with = |f: &dyn Fn(&mut Value)| {
            let mut a = alarm("ALARM");
            f(&mut a);
            err(notification(&a.to_string()))
        };
        assert_eq!(with(&|a| a["NewStateValue"] = json!("BROKEN")), "Message.NewStateValue");
        assert_eq!(with(&|a| a["AlarmName"] = json!("")), "Message.AlarmName");
        assert_eq!(with(&|a| a["AlarmArn"] = json!(null)), "Message.AlarmArn");
        assert_eq!(with(&|a| a["StateChangeTime"] = json!("noon")), "Message.StateChangeTime");
        assert_eq!(with(&|a| a["Trigger"] = json!("x")), "Message.Trigger");
        assert_eq!(with(&|a| a["Trigger"]["Namespace"] = json!(3)), "Message.Trigger.Namespace");
        assert_eq!(with(&|a| a["Trigger"]["Dimensions"] = json!([{"name": "VpnId"}])), "Message.Trigger.Dimensions[0]");
        assert_eq!(with(&|a| a["Trigger"]["Metrics"] = json!({})), "Message.Trigger.Metrics");
        let bad_metric = json!([{"MetricStat": {"Metric": {"Dimensions": "x"}}}]);
        assert_eq!(
            with(&|a| a["Trigger"]["Metrics"] = bad_metric.clone()),
            "Message.Trigger.Metrics[0].MetricStat.Metric.Dimensions"
        );
        let record = |sns: Value| json!({"Records": [{"EventSource": "aws:sns", "Sns": sns}]});
        let mut bad = alarm("ALARM");
        bad["NewStateValue"] = json!("?");
        assert_eq!(err(record(notification(&bad.to_string()))), "Records[0].Sns.Message.NewStateValue");
        assert_eq!(err(record(json!({"Type": "Notification"}))), "Records[0].Sns.TopicArn");
        assert_eq!(err(record(json!("x"))), "Records[0].Sns");
        assert_eq!(err(json!({"Records": []})), "Records");
        assert_eq!(err(json!({"Records": [{}]})), "Records[0].Sns");
    }
}
