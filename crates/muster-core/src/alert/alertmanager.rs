//! Prometheus Alertmanager: the API v2 `POST /api/v2/alerts` body, which Prometheus itself sends
//! (an array of `postableAlert` in Alertmanager's `api/v2/openapi.yaml`), and the `webhook_config`
//! notification, version "4" (Alertmanager's configuration documentation).
//!
//! Both carry Prometheus alerts: `labels` (required, at least one, string values; they are the
//! alert's identity), `annotations` (string values), `startsAt`, `endsAt` and `generatorURL`; the
//! webhook adds `status` (`firing` or `resolved`) and `fingerprint` per alert. Read per alert:
//!
//! - title: `annotations.summary`, else `labels.alertname`, else the label set `{k="v", ...}`;
//! - summary: `annotations.description`, else `annotations.message`;
//! - impact: `labels.severity` through [`severity_impact`](super::severity_impact);
//! - dedupe: `fingerprint`, else [`fingerprint`](super::fingerprint) of the labels;
//! - resources: the labels `instance`, `job`, `service`, `host`, `node`, `namespace`, `pod`,
//!   `container`, `deployment` as `name=value`;
//! - links: `generatorURL` (Source), `annotations.runbook_url` (Runbook), Grafana's `silenceURL`,
//!   `dashboardURL`, `panelURL`, `imageURL`, and the group's `externalURL`.

use super::{
    Alert, AlertAction, bounded_summary, fingerprint, impact_of, label_resources, object, opt_str, opt_text, push_link,
    req_str, string_map, timestamp,
};
use crate::Invalid;
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Parses the body of `POST /api/v2/alerts`: a JSON array of alerts. An alert whose `endsAt` is at
/// or before `now` is resolved (Alertmanager's own rule); any other is a trigger. Errors name the
/// alert by index: `[2].labels`.
pub fn parse_v2_alerts(body: &Value, now: Timestamp) -> Result<Vec<Alert>, Invalid> {
    let items = body.as_array().ok_or_else(|| Invalid::new("", "must be a JSON array of alerts"))?;
    let one = |item: &Value| {
        let obj = object(item, "")?;
        let parts = Parts::read(obj)?;
        if let (Some(start), Some(end)) = (parts.starts_at, parts.ends_at)
            && end < start
        {
            return Err(Invalid::new("endsAt", "must not be before startsAt"));
        }
        let action = match parts.ends_at {
            Some(end) if end <= now => AlertAction::Resolve,
            _ => AlertAction::Trigger,
        };
        parts.into_alert("alertmanager", action, item)
    };
    items.iter().enumerate().map(|(i, item)| one(item).map_err(|e| e.within(&format!("[{i}]")))).collect()
}

/// Parses an Alertmanager webhook notification (`version` "4"): one [`Alert`] per entry of
/// `alerts`, resolved when its `status` is `resolved`. Errors name the alert: `alerts[2].labels`.
pub fn parse_webhook(body: &Value) -> Result<Vec<Alert>, Invalid> {
    parse_group(body, "alertmanager", "Alertmanager")
}

/// The webhook shape Alertmanager and Grafana share: a group whose `alerts` each have a `status`.
pub(super) fn parse_group(body: &Value, source: &'static str, external: &str) -> Result<Vec<Alert>, Invalid> {
    let root = object(body, "")?;
    let external_url = opt_str(root, "externalURL")?;
    let alerts = root
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| Invalid::new("alerts", "must be an array of alerts"))?;
    let one = |item: &Value| {
        let obj = object(item, "")?;
        let action = match req_str(obj, "status")? {
            "firing" => AlertAction::Trigger,
            "resolved" => AlertAction::Resolve,
            other => return Err(Invalid::new("status", format!("must be firing or resolved, got {other:?}"))),
        };
        let mut parts = Parts::read(obj)?;
        for (key, title) in
            [("silenceURL", "Silence"), ("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("imageURL", "Image")]
        {
            push_link(&mut parts.links, title, opt_str(obj, key)?);
        }
        push_link(&mut parts.links, external, external_url);
        parts.into_alert(source, action, item)
    };
    alerts.iter().enumerate().map(|(i, item)| one(item).map_err(|e| e.within(&format!("alerts[{i}]")))).collect()
}

/// What every Prometheus-style alert carries.
struct Parts {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    fingerprint: Option<String>,
    links: Vec<(String, String)>,
}

impl Parts {
    fn read(obj: &Map<String, Value>) -> Result<Self, Invalid> {
        if obj.get("labels").is_none_or(Value::is_null) {
            return Err(Invalid::new("labels", "is required"));
        }
        let labels = string_map(obj, "labels")?;
        if labels.is_empty() {
            return Err(Invalid::new("labels", "must have at least one label"));
        }
        let annotations = string_map(obj, "annotations")?;
        let mut links = Vec::new();
        push_link(&mut links, "Source", opt_str(obj, "generatorURL")?);
        push_link(&mut links, "Runbook", annotations.get("runbook_url").map(String::as_str));
        Ok(Self {
            starts_at: timestamp(opt_str(obj, "startsAt")?, "startsAt")?,
            ends_at: timestamp(opt_str(obj, "endsAt")?, "endsAt")?,
            fingerprint: opt_text(obj, "fingerprint")?.map(str::to_string),
            labels,
            annotations,
            links,
        })
    }

    fn into_alert(self, source: &'static str, action: AlertAction, raw: &Value) -> Result<Alert, Invalid> {
        let identity = || {
            let pairs: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!("{{{}}}", pairs.join(", "))
        };
        let title = get(&self.annotations, "summary")
            .or_else(|| get(&self.labels, "alertname"))
            .map_or_else(identity, str::to_string);
        let impact = impact_of(get(&self.labels, "severity"))?;
        let mut alert = Alert::new(source, action, &title, impact, raw.clone());
        alert.summary =
            bounded_summary(get(&self.annotations, "description").or_else(|| get(&self.annotations, "message")));
        alert.dedupe = Some(self.fingerprint.unwrap_or_else(|| fingerprint(&self.labels)));
        alert.resources = label_resources(&self.labels);
        alert.starts_at = self.starts_at;
        alert.ends_at = self.ends_at;
        alert.links = self.links;
        alert.labels = self.labels;
        Ok(alert)
    }
}

/// A non-blank value of a label or annotation.
fn get<'a>(map: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    map.get(key).map(String::as_str).filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-01-10T12:00:00Z".parse().expect("valid")
    }

    fn err_v2(body: Value) -> Invalid {
        parse_v2_alerts(&body, now()).expect_err("invalid")
    }

    #[test]
    fn v2_alert_fields() {
        let body = json!([{
            "labels": {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical", "dev": "sda1"},
            "annotations": {"summary": "Disk sda1 on db1 is full", "description": "Only 1% left", "runbook_url": "https://rb/disk"},
            "startsAt": "2026-01-10T11:00:00Z",
            "generatorURL": "http://prom:9090/graph?g0.expr=x"
        }]);
        let alerts = parse_v2_alerts(&body, now()).expect("valid");
        let a = &alerts[0];
        assert_eq!(a.source, "alertmanager");
        assert_eq!(a.action, AlertAction::Trigger);
        assert_eq!(a.title, "Disk sda1 on db1 is full");
        assert_eq!(a.summary.as_deref(), Some("Only 1% left"));
        assert_eq!(a.impact.get(), 1);
        assert_eq!(a.resources, ["instance=db1:9100"]);
        assert_eq!(a.dedupe.as_deref(), Some(fingerprint(&a.labels).as_str()));
        assert_eq!(a.starts_at, Some("2026-01-10T11:00:00Z".parse().expect("valid")));
        assert_eq!(a.ends_at, None);
        assert_eq!(
            a.links,
            [
                ("Source".to_string(), "http://prom:9090/graph?g0.expr=x".to_string()),
                ("Runbook".to_string(), "https://rb/disk".to_string())
            ]
        );
        assert_eq!(a.raw, body[0]);
    }

    #[test]
    fn v2_ends_at_decides_resolve() {
        let alert = |ends: &str| json!({"labels": {"alertname": "A"}, "endsAt": ends});
        let body = json!([alert("2026-01-10T11:59:59Z"), alert("2026-01-10T12:00:00Z"), alert("2026-01-10T12:00:01Z")]);
        let actions: Vec<_> = parse_v2_alerts(&body, now()).expect("valid").iter().map(|a| a.action).collect();
        assert_eq!(actions, [AlertAction::Resolve, AlertAction::Resolve, AlertAction::Trigger]);
    }

    #[test]
    fn v2_title_falls_back_to_alertname_then_labels() {
        let body = json!([{"labels": {"alertname": "HighLoad"}}, {"labels": {"job": "node", "b": "x\"y"}}]);
        let alerts = parse_v2_alerts(&body, now()).expect("valid");
        assert_eq!(alerts[0].title, "HighLoad");
        assert_eq!(alerts[1].title, r#"{b="x\"y", job="node"}"#);
        assert_eq!(alerts[1].impact.get(), 3, "no severity label");
        assert_eq!(alerts[1].summary, None);
    }

    #[test]
    fn v2_identity_ignores_label_order_and_separates_label_sets() {
        let a = json!([{"labels": {"alertname": "X", "instance": "a", "job": "j"}}]);
        let b: Value =
            serde_json::from_str(r#"[{"labels": {"job": "j", "instance": "a", "alertname": "X"}}]"#).expect("json");
        let c = json!([{"labels": {"alertname": "X", "instance": "b", "job": "j"}}]);
        let key = |v: &Value| parse_v2_alerts(v, now()).expect("valid")[0].dedupe.clone().expect("dedupe");
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        assert_eq!(key(&a).len(), 16);
    }

    #[test]
    fn v2_errors_name_the_field() {
        assert_eq!(err_v2(json!({"labels": {}})).field, "");
        let e = err_v2(json!([{"labels": {"a": "1"}}, {"labels": {"a": "1"}}, {"labels": {}}]));
        assert_eq!((e.field.as_str(), e.message.as_str()), ("[2].labels", "must have at least one label"));
        assert_eq!(err_v2(json!([{"annotations": {}}])).field, "[0].labels");
        assert_eq!(err_v2(json!([{"labels": "a=b"}])).field, "[0].labels");
        assert_eq!(err_v2(json!([{"labels": {"a": 1}}])).field, "[0].labels.a");
        assert_eq!(err_v2(json!([{"labels": {"": "x"}}])).field, "[0].labels");
        assert_eq!(err_v2(json!([{"labels": {"a": "1"}, "annotations": {"s": null}}])).field, "[0].annotations.s");
        assert_eq!(err_v2(json!([{"labels": {"a": "1"}, "startsAt": "soon"}])).field, "[0].startsAt");
        assert_eq!(err_v2(json!([{"labels": {"a": "1"}, "endsAt": 5}])).field, "[0].endsAt");
        assert_eq!(err_v2(json!([{"labels": {"a": "1"}, "generatorURL": ["x"]}])).field, "[0].generatorURL");
        let e = err_v2(
            json!([{"labels": {"a": "1"}, "startsAt": "2026-01-10T11:00:00Z", "endsAt": "2026-01-10T10:00:00Z"}]),
        );
        assert_eq!(e.field, "[0].endsAt");
        assert_eq!(err_v2(json!(["x"])).field, "[0]");
        assert!(parse_v2_alerts(&json!([]), now()).expect("empty batch").is_empty());
    }

    #[test]
    fn webhook_status_and_errors() {
        let body = json!({"alerts": [
            {"status": "resolved", "labels": {"alertname": "A"}, "endsAt": "2026-01-10T10:00:00Z", "fingerprint": "abc"},
            {"status": "firing", "labels": {"alertname": "B"}}
        ], "externalURL": "http://am:9093"});
        let alerts = parse_webhook(&body).expect("valid");
        assert_eq!(alerts[0].action, AlertAction::Resolve);
        assert_eq!(alerts[0].dedupe.as_deref(), Some("abc"));
        assert_eq!(alerts[0].ends_at, Some("2026-01-10T10:00:00Z".parse().expect("valid")));
        assert_eq!(alerts[1].action, AlertAction::Trigger);
        assert_eq!(alerts[1].links, [("Alertmanager".to_string(), "http://am:9093".to_string())]);

        let err = |v: Value| parse_webhook(&v).expect_err("invalid");
        assert_eq!(err(json!([])).field, "");
        assert_eq!(err(json!({"status": "firing"})).field, "alerts");
        assert_eq!(err(json!({"alerts": [{"labels": {"a": "1"}}]})).field, "alerts[0].status");
        let e = err(
            json!({"alerts": [{"labels": {"a": "1"}, "status": "firing"}, {"labels": {"a": "1"}, "status": "pending"}]}),
        );
        assert_eq!(e.field, "alerts[1].status");
        assert!(e.message.contains("pending"), "{}", e.message);
        let e =
            err(json!({"alerts": [{"status": "firing"}, {"status": "firing"}, {"status": "firing", "labels": {}}]}));
        assert_eq!(e.field, "alerts[0].labels");
        assert_eq!(err(json!({"alerts": [], "externalURL": 1})).field, "externalURL");
        assert_eq!(
            err(json!({"alerts": [{"status": "firing", "labels": {"a": "1"}, "fingerprint": 7}]})).field,
            "alerts[0].fingerprint"
        );
    }
}
