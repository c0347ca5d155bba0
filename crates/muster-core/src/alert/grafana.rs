//! Grafana alerting's webhook contact point (`version` "1"): Alertmanager's webhook group shape
//! (`status`, `alerts[]`, `groupKey`, `externalURL`, ...) with Grafana's additions per alert
//! (`silenceURL`, `dashboardURL`, `panelURL`, `imageURL`, `values`) and per group (`title`,
//! `state`, `message`, `orgId`). Alerts are read as in [`alertmanager`](super::alertmanager);
//! Grafana's additions become links (Silence, Dashboard, Panel, Image; `externalURL` as Grafana).
//! The group's `title` and `message` describe the whole notification and are not used per alert.

use super::Alert;
use super::alertmanager::parse_group;
use crate::Invalid;
use serde_json::Value;

/// Parses a Grafana webhook notification: one [`Alert`] per entry of `alerts`, resolved when its
/// `status` is `resolved`. Errors name the alert: `alerts[1].status`.
pub fn parse(body: &Value) -> Result<Vec<Alert>, Invalid> {
    parse_group(body, "grafana", "Grafana")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertAction, fingerprint};
    use serde_json::json;

    #[test]
    fn resolved_alert_without_fingerprint() {
        let body = json!({"version": "1", "status": "resolved", "alerts": [{
            "status": "resolved",
            "labels": {"alertname": "Disk", "grafana_folder": "Infra", "severity": "warning"},
            "annotations": {},
            "startsAt": "2026-01-10T10:00:00Z",
            "endsAt": "2026-01-10T11:00:00Z",
            "generatorURL": "https://g/alerting/x/edit",
            "silenceURL": "https://g/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "https://g/d/abc?viewPanel=2"
        }]});
        let alerts = parse(&body).expect("valid");
        let a = &alerts[0];
        assert_eq!(a.source, "grafana");
        assert_eq!(a.action, AlertAction::Resolve);
        assert_eq!(a.title, "Disk");
        assert_eq!(a.impact.get(), 3);
        assert_eq!(a.dedupe, Some(fingerprint(&a.labels)));
        let titles: Vec<&str> = a.links.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, ["Source", "Silence", "Panel"], "empty dashboardURL is no link");
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(&json!({"alerts": [{"status": "firing", "labels": {"a": "1"}, "panelURL": false}]}))
            .expect_err("bool");
        assert_eq!(e.field, "alerts[0].panelURL");
        let e = parse(&json!({"alerts": [{"status": "alerting", "labels": {"a": "1"}}]})).expect_err("state");
        assert_eq!(e.field, "alerts[0].status");
        assert_eq!(parse(&json!({"alerts": {}})).expect_err("object").field, "alerts");
    }
}
