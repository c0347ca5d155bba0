//! Alerts that existing tools send, parsed into one shape, [`Alert`].
//!
//! One submodule per wire format: [`alertmanager`] (Prometheus Alertmanager's API v2 and its
//! webhook), [`pagerduty`] (Events API v2), [`sns`] (Amazon SNS deliveries carrying CloudWatch alarm
//! notifications), [`grafana`] (Grafana alerting's webhook) and [`generic`] (any JSON, read through
//! configured JSON pointers). Parsing is pure: where time matters the caller passes `now`. What an
//! alert then does to an incident is decided elsewhere.
//!
//! Severity becomes [`Impact`] through one table, [`severity_impact`] (words are matched
//! case-insensitively, surrounding spaces ignored):
//!
//! | severity                                                      | impact |
//! |---------------------------------------------------------------|--------|
//! | `critical`, `crit`, `fatal`, `emergency`, `disaster`           | 1      |
//! | `error`, `err`, `high`, `major`                                | 2      |
//! | `warning`, `warn`, `medium`, `average`                         | 3      |
//! | `info`, `informational`, `low`, `notice`                       | 4      |
//! | `none`                                                        | 5      |
//! | `1`..`5`, `p1`..`p5`, `sev1`..`sev5`, `sev-1`..`sev-5`         | the digit |
//! | anything else, or no severity at all                          | 3 ([`DEFAULT_IMPACT`]) |

pub mod alertmanager;
pub mod generic;
pub mod grafana;
pub mod pagerduty;
pub mod sns;

use crate::Invalid;
use crate::incident::{Impact, MAX_SUMMARY, MAX_TITLE};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The impact of an alert whose severity is missing or not in the table.
pub const DEFAULT_IMPACT: i64 = 3;

/// What the sender asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// One alert from any source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `alertmanager`, `pagerduty`, `sns`, `grafana` or `generic`.
    pub source: String,
    pub action: AlertAction,
    /// The sender's own identity of the alert, never a human-readable summary. Alertmanager and
    /// Grafana: the alert's `fingerprint`, or when absent the same fingerprint computed from the
    /// label set (see [`fingerprint`]); PagerDuty: `dedup_key` (None for a trigger without one: the
    /// caller generates one, as PagerDuty does); CloudWatch through SNS: the `AlarmArn`; any other
    /// SNS notification: its `MessageId`; generic: from the configured mapping.
    pub dedupe: Option<String>,
    /// At most [`MAX_TITLE`] characters; longer text is cut and ends with `…`.
    pub title: String,
    pub summary: Option<String>,
    pub impact: Impact,
    pub labels: BTreeMap<String, String>,
    /// Involved resources the alert names: label pairs such as `instance=host:9100`, PagerDuty's
    /// `source`, a CloudWatch alarm's ARN and its metric dimensions (`InstanceId=i-0123`), an
    /// event's `resources`.
    pub resources: Vec<String>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// (title, url)
    pub links: Vec<(String, String)>,
    /// The alert as received: one alert, not the whole batch.
    pub raw: Value,
}

impl Alert {
    /// An alert with no labels, resources, times or links yet.
    fn new(source: &'static str, action: AlertAction, title: &str, impact: Impact, raw: Value) -> Self {
        Self {
            source: source.to_string(),
            action,
            dedupe: None,
            title: bounded(title, MAX_TITLE),
            summary: None,
            impact,
            labels: BTreeMap::new(),
            resources: Vec::new(),
            starts_at: None,
            ends_at: None,
            links: Vec::new(),
            raw,
        }
    }
}

/// The impact a severity word or number stands for; None when it is not in the table (callers
/// then use [`DEFAULT_IMPACT`]). See the module documentation for the table.
pub fn severity_impact(s: &str) -> Option<Impact> {
    let s = s.trim().to_ascii_lowercase();
    let level = match s.as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "disaster" => 1,
        "error" | "err" | "high" | "major" => 2,
        "warning" | "warn" | "medium" | "average" => 3,
        "info" | "informational" | "low" | "notice" => 4,
        "none" => 5,
        other => {
            let digits =
                other.strip_prefix("sev-").or_else(|| other.strip_prefix("sev")).or_else(|| other.strip_prefix('p'));
            let digits = digits.unwrap_or(other);
            if digits.len() != 1 {
                return None;
            }
            digits.parse::<i64>().ok()?
        }
    };
    Impact::try_from(level).ok()
}

/// The impact of an optional severity, [`DEFAULT_IMPACT`] when it is missing or unknown.
fn impact_of(severity: Option<&str>) -> Result<Impact, Invalid> {
    match severity.and_then(severity_impact) {
        Some(impact) => Ok(impact),
        None => Impact::try_from(DEFAULT_IMPACT),
    }
}

/// Prometheus's fingerprint of a label set, as Alertmanager computes and sends it (`fingerprint`,
/// 16 hex digits): 64-bit FNV-1a over the label names in byte order, each name and value followed
/// by the byte 0xff. The same labels in any order give the same fingerprint, so an alert posted
/// without one dedupes with the same alert arriving later through Alertmanager's webhook.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for part in [name.as_bytes(), &[0xff], value.as_bytes(), &[0xff]] {
            for &byte in part {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
    }
    format!("{hash:016x}")
}

/// Labels that name a resource, in the order they are listed in [`Alert::resources`].
const RESOURCE_LABELS: [&str; 9] =
    ["instance", "job", "service", "host", "node", "namespace", "pod", "container", "deployment"];

fn label_resources(labels: &BTreeMap<String, String>) -> Vec<String> {
    RESOURCE_LABELS
        .iter()
        .filter_map(|k| labels.get(*k).filter(|v| !v.is_empty()).map(|v| format!("{k}={v}")))
        .collect()
}

/// Trims and cuts text to at most `max` characters, marking a cut with `…`.
fn bounded(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn bounded_summary(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(|s| bounded(s, MAX_SUMMARY))
}

/// `parent.key`, or `key` at the top.
fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Invalid> {
    value.as_object().ok_or_else(|| Invalid::new(field, "must be a JSON object"))
}

/// An optional string member; absent and null are None, any other type is refused.
fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Invalid::new(key, "must be a string")),
    }
}

/// An optional string member, trimmed; blank counts as absent.
fn opt_text<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Invalid> {
    Ok(opt_str(obj, key)?.map(str::trim).filter(|s| !s.is_empty()))
}

/// A required, non-blank string member.
fn req_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, Invalid> {
    match opt_str(obj, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(Invalid::new(key, "is required")),
    }
}

/// An optional object of string values (a Prometheus label set); absent or null is empty.
fn string_map(obj: &Map<String, Value>, key: &str) -> Result<BTreeMap<String, String>, Invalid> {
    let map = match obj.get(key) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(v) => object(v, key)?,
    };
    map.iter()
        .map(|(k, v)| match v {
            _ if k.is_empty() => Err(Invalid::new(key, "names must not be empty")),
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(Invalid::new(path(key, k), "must be a string")),
        })
        .collect()
}

/// An optional RFC 3339 timestamp. Go's zero time (`0001-01-01T00:00:00Z`, which Alertmanager and
/// Grafana send for "no end") counts as absent, and so does an empty string. Offsets without a
/// colon (`+0000`, as PagerDuty and CloudWatch write them) are read too.
fn timestamp(value: Option<&str>, field: &str) -> Result<Option<Timestamp>, Invalid> {
    let Some(s) = value.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let t: Timestamp = s.parse().map_err(|_| Invalid::new(field, format!("{s:?} is not an RFC 3339 timestamp")))?;
    Ok(if t.as_second() == GO_ZERO_TIME { None } else { Some(t) })
}

/// `0001-01-01T00:00:00Z` in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// Adds a link when the URL is present and not blank.
fn push_link(links: &mut Vec<(String, String)>, title: &str, url: Option<&str>) {
    if let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) {
        links.push((title.to_string(), url.to_string()));
    }
}

/// An optional array of strings (an event's `resources`); anything else reads as empty.
fn string_list(value: Option<&Value>) -> Vec<String> {
    let items = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn impact(n: i64) -> Impact {
        Impact::try_from(n).expect("in range")
    }

    #[test]
    fn severity_table() {
        assert_eq!(severity_impact("critical"), Some(impact(1)));
        assert_eq!(severity_impact(" CRITICAL "), Some(impact(1)));
        assert_eq!(severity_impact("error"), Some(impact(2)));
        assert_eq!(severity_impact("high"), Some(impact(2)));
        assert_eq!(severity_impact("warning"), Some(impact(3)));
        assert_eq!(severity_impact("info"), Some(impact(4)));
        assert_eq!(severity_impact("none"), Some(impact(5)));
        assert_eq!(severity_impact("2"), Some(impact(2)));
        assert_eq!(severity_impact("P1"), Some(impact(1)));
        assert_eq!(severity_impact("sev-4"), Some(impact(4)));
        assert_eq!(severity_impact("sev5"), Some(impact(5)));
        for unknown in ["", "page", "9", "p0", "12", "sev", "p", "warningx"] {
            assert_eq!(severity_impact(unknown), None, "{unknown}");
        }
        assert_eq!(impact_of(Some("bogus")).expect("default"), impact(3));
        assert_eq!(impact_of(None).expect("default"), impact(3));
    }

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Labels and fingerprint of a real Alertmanager webhook alert (a curl test case in the
        // public repository liamkelly15-maker/pythonwebhook, testsuites/testcurl7.sh).
        let labels: BTreeMap<String, String> = [
            ("alertname", "Deployment"),
            ("app_kubernetes_io_instance", "eric-oss-common-base"),
            ("app_kubernetes_io_managed_by", "Helm"),
            ("app_kubernetes_io_name", "eric-pm-kube-state-metrics"),
            ("app_kubernetes_io_version", "2.1.0_10"),
            ("chart", "eric-pm-kube-state-metrics-2.1.0_10"),
            ("deployment", "eric-log-transformer"),
            ("instance", "192.168.69.53:8080"),
            ("job", "eric-pm-kube-state-metrics"),
            ("kubernetes_name", "eric-pm-kube-state-metrics"),
            ("kubernetes_namespace", "eric-eo-cm-ci406"),
            ("namespace", "eric-eo-cm-ci406"),
            ("severity", "Warning"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(fingerprint(&labels), "fbab788ec4c1018b");
        // The separator keeps {a="bc"} and {ab="c"} apart.
        let a: BTreeMap<_, _> = [("a".to_string(), "bc".to_string())].into();
        let b: BTreeMap<_, _> = [("ab".to_string(), "c".to_string())].into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn timestamps() {
        let t = timestamp(Some("2015-07-17T08:42:58.315+0000"), "t").expect("valid").expect("present");
        assert_eq!(t.to_string(), "2015-07-17T08:42:58.315Z");
        let t = timestamp(Some("2018-08-03T09:52:26.739266876+02:00"), "t").expect("valid").expect("present");
        assert_eq!(t.to_string(), "2018-08-03T07:52:26.739266876Z");
        assert_eq!(timestamp(Some("0001-01-01T00:00:00Z"), "t").expect("valid"), None);
        assert_eq!(timestamp(Some(""), "t").expect("valid"), None);
        assert_eq!(timestamp(None, "t").expect("valid"), None);
        let e = timestamp(Some("yesterday"), "endsAt").expect_err("not a time");
        assert_eq!(e.field, "endsAt");
        assert!(timestamp(Some("2015-07-17T08:42:58"), "t").is_err(), "no offset");
        assert!(timestamp(Some("2015-13-17T08:42:58Z"), "t").is_err(), "no 13th month");
    }

    #[test]
    fn bounded_cuts_on_characters() {
        assert_eq!(bounded("  short  ", 10), "short");
        let long = "é".repeat(250);
        let cut = bounded(&long, MAX_TITLE);
        assert_eq!(cut.chars().count(), MAX_TITLE);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn string_maps_refuse_non_strings() {
        let obj = serde_json::json!({"labels": {"a": "1", "b": 2}});
        let e = string_map(object(&obj, "").expect("object"), "labels").expect_err("number");
        assert_eq!(e.field, "labels.b");
        let obj = serde_json::json!({"labels": ["a"]});
        assert_eq!(string_map(object(&obj, "").expect("object"), "labels").expect_err("array").field, "labels");
    }
}
