//! What senders post: Alertmanager (API v2 and webhook), Grafana, PagerDuty Events v2, SNS with
//! CloudWatch alarms, and a generic payload through a mapping.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muster_core::alert::{alertmanager, generic, grafana, pagerduty, sns};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let now: jiff::Timestamp = "2026-11-30T10:00:00Z".parse().unwrap_or_default();
    let _ = alertmanager::parse_v2_alerts(&body, now);
    let _ = alertmanager::parse_webhook(&body);
    let _ = grafana::parse(&body);
    if let Err(e) = pagerduty::parse_event(&body) {
        let _ = pagerduty::errors_of(&e);
    }
    let _ = sns::parse(&body);
    let mut mapping = generic::Mapping::new("/title");
    mapping.impact = Some("/severity".into());
    mapping.dedupe = Some("/id".into());
    mapping.action = Some("/state".into());
    let _ = generic::parse(&body, &mapping);
});
