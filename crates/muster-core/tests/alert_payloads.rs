//! Real payloads from the tools Muster takes alerts from (`tests/fixtures/payloads/`, origins in
//! its SOURCES.md), parsed, with the fields each one must yield.

use jiff::Timestamp;
use muster_core::alert::pagerduty::{self, Event};
use muster_core::alert::sns::{self, SnsMessage};
use muster_core::alert::{Alert, AlertAction, alertmanager, grafana};
use serde_json::Value;

const AM_DOCSRS: &str =
    include_str!("fixtures/payloads/alertmanager/docsrs_alertmanager-webhook-types-0.1.0__sample-v4-payload.json");
const AM_GIST: &str =
    include_str!("fixtures/payloads/alertmanager/gist_mobeigi_alertmanager-webhook-payload-example.REASSEMBLED.json");
const AM_SPEC: &str = include_str!("fixtures/payloads/alertmanager/alertmanager_webhook_config_format_spec.txt");
const GRAFANA: &str = include_str!("fixtures/payloads/grafana/grafana_webhook-notifier_example.json");
const PD_TRIGGER: &str = include_str!("fixtures/payloads/pagerduty/pagerduty_developer-docs__trigger.jsonc");
const PD_ACK: &str = include_str!("fixtures/payloads/pagerduty/pagerduty_developer-docs__acknowledge.json");
const PD_RESOLVE: &str = include_str!("fixtures/payloads/pagerduty/pagerduty_developer-docs__resolve.json");
const CW_SINGLE: &str =
    include_str!("fixtures/payloads/cloudwatch/aws-lambda-go__cloudwatch-alarm-sns-payload-single-metric.json");
const CW_MULTIPLE: &str =
    include_str!("fixtures/payloads/cloudwatch/aws-lambda-go__cloudwatch-alarm-sns-payload-multiple-metrics.json");

/// Every fixture file this suite reads, relative to `tests/fixtures/payloads`.
const COVERED: [&str; 9] = [
    "alertmanager/docsrs_alertmanager-webhook-types-0.1.0__sample-v4-payload.json",
    "alertmanager/gist_mobeigi_alertmanager-webhook-payload-example.REASSEMBLED.json",
    "alertmanager/alertmanager_webhook_config_format_spec.txt",
    "grafana/grafana_webhook-notifier_example.json",
    "pagerduty/pagerduty_developer-docs__trigger.jsonc",
    "pagerduty/pagerduty_developer-docs__acknowledge.json",
    "pagerduty/pagerduty_developer-docs__resolve.json",
    "cloudwatch/aws-lambda-go__cloudwatch-alarm-sns-payload-single-metric.json",
    "cloudwatch/aws-lambda-go__cloudwatch-alarm-sns-payload-multiple-metrics.json",
];

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The `.jsonc` fixture without its leading `/* ... */` comment.
fn without_comment(text: &str) -> &str {
    let text = text.trim_start();
    match text.strip_prefix("/*") {
        Some(rest) => &rest[rest.find("*/").expect("the comment is closed") + 2..],
        None => text,
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

fn links(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(t, u)| (t.to_string(), u.to_string())).collect()
}

fn label<'a>(alert: &'a Alert, key: &str) -> Option<&'a str> {
    alert.labels.get(key).map(String::as_str)
}

#[test]
fn every_fixture_is_covered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payloads");
    let mut found = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures folder") {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            for file in std::fs::read_dir(&dir).expect("tool folder") {
                let path = file.expect("entry").path();
                found.push(path.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    let mut covered: Vec<String> = COVERED.iter().map(|s| s.to_string()).collect();
    covered.sort();
    assert_eq!(found, covered, "a fixture was added or removed without a test");
}

#[test]
fn alertmanager_webhook_docsrs_sample() {
    let body = json(AM_DOCSRS);
    let alerts = alertmanager::parse_webhook(&body).expect("valid webhook");
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.source, "alertmanager");
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.title, "BlackBox Probe Failure: https://server.example.org");
    assert_eq!(
        a.summary.as_deref(),
        Some("Instance https://server.example.org has been down for over 5m. Job: http_checks")
    );
    assert_eq!(a.impact.get(), 1, "severity=critical");
    assert_eq!(a.dedupe.as_deref(), Some("1a30ba71cca2921f"), "the fingerprint sent wins");
    assert_eq!(a.resources, ["instance=https://server.example.org", "job=http_checks"]);
    assert_eq!(a.labels.len(), 5);
    assert_eq!(label(a, "monitor"), Some("master"));
    assert_eq!(a.starts_at, Some(ts("2023-02-06T13:08:45.828Z")));
    assert_eq!(a.ends_at, None, "Go's zero time means no end");
    assert_eq!(
        a.links,
        links(&[
            ("Source", "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1"),
            ("Alertmanager", "http://prometheus.example.org:9093"),
        ])
    );
    assert_eq!(a.raw, body["alerts"][0]);
}

#[test]
fn alertmanager_webhook_2018_sample_without_fingerprint() {
    let body = json(AM_GIST);
    let alerts = alertmanager::parse_webhook(&body).expect("valid webhook");
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.title, "Test", "no summary annotation: the alertname");
    assert_eq!(a.summary.as_deref(), Some("some description"));
    assert_eq!(a.impact.get(), 3, "no severity label");
    assert_eq!(a.dedupe.as_deref(), Some("4ca62d040e78b6d8"), "computed as Alertmanager computes fingerprints");
    assert_eq!(a.resources, ["instance=localhost:9090", "job=prometheus24"]);
    assert_eq!(a.starts_at, Some(ts("2018-08-03T07:52:26.739266876Z")));
    assert_eq!(
        a.links,
        links(&[
            ("Source", "http://example.com:9090/graph?g0.expr=go_memstats_alloc_bytes+%3E+0&g0.tab=1"),
            ("Alertmanager", "http://example.com:9093"),
        ])
    );

    // The same alert posted straight to the API v2 (as Prometheus would) dedupes alike.
    let mut posted = body["alerts"][0].clone();
    let obj = posted.as_object_mut().expect("object");
    obj.remove("status");
    let now = ts("2018-08-03T08:00:00Z");
    let v2 = alertmanager::parse_v2_alerts(&Value::Array(vec![posted.clone()]), now).expect("valid postable alert");
    assert_eq!(v2[0].dedupe, a.dedupe);
    assert_eq!(v2[0].action, AlertAction::Trigger);
    assert_eq!(v2[0].title, a.title);
    // Ended before now: resolved.
    posted["endsAt"] = Value::from("2018-08-03T07:59:00Z");
    let v2 = alertmanager::parse_v2_alerts(&Value::Array(vec![posted]), now).expect("valid postable alert");
    assert_eq!(v2[0].action, AlertAction::Resolve);
    assert_eq!(v2[0].ends_at, Some(ts("2018-08-03T07:59:00Z")));
}

#[test]
fn alertmanager_spec_names_the_fields_read() {
    for key in ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint", "externalURL"] {
        assert!(AM_SPEC.contains(&format!("\"{key}\"")), "the webhook spec lists {key}");
    }
    assert!(AM_SPEC.contains("\"version\": \"4\""));
}

#[test]
fn grafana_webhook_sample() {
    let body = json(GRAFANA);
    let alerts = grafana::parse(&body).expect("valid webhook");
    assert_eq!(alerts.len(), 2);
    let a = &alerts[0];
    assert_eq!(a.source, "grafana");
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.title, "This alert was triggered for zone us-1");
    assert_eq!(a.summary.as_deref(), Some("The system has high memory usage"));
    assert_eq!(a.impact.get(), 3);
    assert_eq!(a.dedupe.as_deref(), Some("c6eadffa33fcdf37"));
    assert_eq!(label(a, "alertname"), Some("High memory usage"));
    assert_eq!(label(a, "zone"), Some("us-1"));
    assert!(a.resources.is_empty(), "no resource labels: {:?}", a.resources);
    assert_eq!(a.starts_at, Some(ts("2021-10-12T07:51:03.157076Z")));
    assert_eq!(a.ends_at, None);
    assert_eq!(
        a.links,
        links(&[
            ("Source", "https://play.grafana.org/alerting/1afz29v7z/edit"),
            ("Runbook", "https://myrunbook.com/runbook/1234"),
            (
                "Silence",
                "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            ),
            ("Grafana", "https://play.grafana.org/"),
        ]),
        "empty dashboardURL and panelURL give no link"
    );
    assert_eq!(a.raw["values"]["C"], 1);
    let b = &alerts[1];
    assert_eq!(b.title, "This alert was triggered for zone eu-1");
    assert_eq!(b.dedupe.as_deref(), Some("bc97ff14869b13e3"));
    assert_eq!(b.starts_at, Some(ts("2021-10-12T07:56:03.157076Z")));
    assert_ne!(a.dedupe, b.dedupe);
}

#[test]
fn pagerduty_trigger_sample() {
    let body = json(without_comment(PD_TRIGGER));
    let event = pagerduty::parse_event(&body).expect("valid event");
    assert_eq!(event.routing_key, "samplekeyhere");
    let Event::Alert(a) = event.event else { panic!("an alert event") };
    assert_eq!(a.source, "pagerduty");
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.dedupe.as_deref(), Some("samplekeyhere"), "the sample does send a dedup_key");
    assert_eq!(a.title, "Example alert on host1.example.com");
    assert_eq!(a.impact.get(), 4, "severity=info");
    assert_eq!(a.resources, ["monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003"]);
    assert_eq!(label(&a, "component"), Some("postgres"));
    assert_eq!(label(&a, "group"), Some("prod-datapipe"));
    assert_eq!(label(&a, "class"), Some("deploy"));
    assert_eq!(label(&a, "severity"), Some("info"));
    assert_eq!(a.starts_at, Some(ts("2015-07-17T08:42:58.315Z")));
    assert_eq!(
        a.links,
        links(&[
            ("Link text", "https://example.com/"),
            ("Example text", "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png"),
            ("Sample Monitoring Service", "https://monitoring.example.com"),
        ])
    );
    assert!(a.raw.get("routing_key").is_none());
    assert_eq!(a.raw["payload"]["custom_details"]["load avg"], 0.75);

    // What the sample's comment describes: no dedup_key, so the caller generates one.
    let mut body = body;
    body.as_object_mut().expect("object").remove("dedup_key");
    let Event::Alert(a) = pagerduty::parse_event(&body).expect("valid event").event else { panic!("an alert event") };
    assert_eq!(a.dedupe, None);
}

#[test]
fn pagerduty_acknowledge_and_resolve_samples() {
    for (text, action) in [(PD_ACK, AlertAction::Acknowledge), (PD_RESOLVE, AlertAction::Resolve)] {
        let event = pagerduty::parse_event(&json(text)).expect("valid event");
        assert_eq!(event.routing_key, "routingkeyhere");
        let Event::Alert(a) = event.event else { panic!("an alert event") };
        assert_eq!(a.action, action);
        assert_eq!(a.dedupe.as_deref(), Some("dedupkeyhere"));
        assert_eq!(a.impact.get(), 3);
        assert_eq!(a.raw, serde_json::json!({"dedup_key": "dedupkeyhere", "event_action": action_word(action)}));
    }
}

fn action_word(action: AlertAction) -> Value {
    serde_json::to_value(action).expect("serializes")
}

fn cloudwatch_alert(text: &str) -> (String, String, Alert) {
    match sns::parse(&json(text)).expect("valid SNS record") {
        SnsMessage::Notification { topic_arn, message_id, alert } => {
            (topic_arn, message_id, alert.expect("ALARM is an alert"))
        }
        other => panic!("expected a notification, got {other:?}"),
    }
}

const ALARM_ARN: &str = "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE";
const REASON: &str = "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).";

#[test]
fn cloudwatch_single_metric_sample() {
    let (topic_arn, message_id, a) = cloudwatch_alert(CW_SINGLE);
    assert_eq!(topic_arn, "arn:aws:sns:EXAMPLE");
    assert_eq!(message_id, "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    assert_eq!(a.source, "sns");
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.title, "EXAMPLE");
    assert_eq!(a.summary, Some(format!("EXAMPLE\n\n{REASON}")));
    assert_eq!(a.dedupe.as_deref(), Some(ALARM_ARN));
    assert_eq!(a.impact.get(), 3);
    assert_eq!(a.resources, [ALARM_ARN, "InstanceId=TestInstance"]);
    assert_eq!(label(&a, "AWSAccountId"), Some("123456789012"));
    assert_eq!(label(&a, "Namespace"), Some("AWS/EC2"));
    assert_eq!(label(&a, "MetricName"), Some("NetworkOut"));
    assert_eq!(label(&a, "OldStateValue"), Some("INSUFFICIENT_DATA"));
    assert_eq!(a.starts_at, Some(ts("2015-06-03T17:43:27.123Z")));
    assert_eq!(a.ends_at, None);
    assert!(a.links.is_empty());
    assert_eq!(a.raw["Trigger"]["Statistic"], "AVERAGE", "raw is the decoded alarm");
}

#[test]
fn cloudwatch_metric_math_sample() {
    let (_, _, a) = cloudwatch_alert(CW_MULTIPLE);
    assert_eq!(a.action, AlertAction::Trigger);
    assert_eq!(a.dedupe.as_deref(), Some(ALARM_ARN));
    assert_eq!(a.resources, [ALARM_ARN, "InstanceId=TestInstance"], "dimensions from Trigger.Metrics[].MetricStat");
    assert_eq!(label(&a, "AWSAccountId"), Some("EXAMPLE"));
    assert_eq!(label(&a, "MetricName"), None, "a metric-math alarm names no single metric");
    assert_eq!(a.starts_at, Some(ts("2015-06-03T17:43:27.123Z")));

    // The same alarm going back to OK resolves it, under the same identity.
    let mut body = json(CW_MULTIPLE);
    let message = body["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("string")
        .replace("\"NewStateValue\":\"ALARM\"", "\"NewStateValue\":\"OK\"");
    body["Records"][0]["Sns"]["Message"] = Value::from(message);
    let SnsMessage::Notification { alert: Some(ok), .. } = sns::parse(&body).expect("valid") else {
        panic!("an alert")
    };
    assert_eq!(ok.action, AlertAction::Resolve);
    assert_eq!(ok.dedupe, a.dedupe);
    assert_eq!(ok.ends_at, Some(ts("2015-06-03T17:43:27.123Z")));
}
