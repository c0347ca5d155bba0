//! Metrics as CloudWatch's PutMetricData shapes them: a namespace, a name, dimensions, and at each
//! instant either one value, a list of values with counts, or a statistic set. Parsing checks every
//! field and names the one at fault; statistics over a period are computed here.

use crate::Invalid;
use crate::error::text;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A metric's dimensions, by name. Sorted, so equal sets compare and print alike.
pub type Dimensions = BTreeMap<String, String>;

/// One dimension as the wire gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "Value")]
    pub value: String,
}

/// The canonical text of a dimension set, as stored and indexed: `Name=Value` pairs sorted by name,
/// joined by commas (commas and backslashes in names and values are escaped).
pub fn dimensions_key(d: &Dimensions) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace(',', "\\,").replace('=', "\\=");
    d.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect::<Vec<_>>().join(",")
}

/// Checks a dimension list: at most 30, names unique, names 1-255 and values 1-1024 characters.
pub fn parse_dimensions(list: &[Dimension]) -> Result<Dimensions, Invalid> {
    if list.len() > 30 {
        return Err(Invalid::new("dimensions", "at most 30 dimensions"));
    }
    let mut out = Dimensions::new();
    for (i, d) in list.iter().enumerate() {
        let at = |e: Invalid| e.within(&format!("dimensions[{i}]"));
        let name = text("name", &d.name, 255).map_err(at)?;
        let value = text("value", &d.value, 1024).map_err(at)?;
        if out.insert(name.clone(), value).is_some() {
            return Err(at(Invalid::new("name", format!("dimension {name:?} is given twice"))));
        }
    }
    Ok(out)
}

/// A statistic set: what a sender that aggregates itself reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

/// One datum of a PutMetricData batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricDatumInput {
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub value: Option<f64>,
    /// Several values at the same instant; `counts` says how often each occurred.
    pub values: Option<Vec<f64>>,
    pub counts: Option<Vec<f64>>,
    pub statistic_values: Option<StatisticSet>,
    /// When the value was observed; now when absent.
    pub timestamp: Option<Timestamp>,
    pub unit: Option<String>,
    /// Accepted for compatibility; Muster keeps every datum at one-second resolution.
    pub storage_resolution: Option<u32>,
}

/// A PutMetricData batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutMetricData {
    pub namespace: String,
    pub metric_data: Vec<MetricDatumInput>,
}

/// A datum as stored: a weighted sample. `value` is set when the row stands for one value (seen
/// `sample_count` times), which is what percentiles are computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Datapoint {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Dimensions,
    pub timestamp: Timestamp,
    pub value: Option<f64>,
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
    pub unit: Option<String>,
}

/// The units CloudWatch accepts.
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// At most this many data in one batch, as CloudWatch allows.
pub const MAX_BATCH: usize = 1000;

fn finite(field: &str, v: f64) -> Result<f64, Invalid> {
    if v.is_finite() { Ok(v) } else { Err(Invalid::new(field, "must be a finite number")) }
}

/// Checks a batch and turns it into datapoints. Timestamps older than two weeks or more than two
/// hours ahead of `now` are refused, as CloudWatch refuses them.
pub fn prepare_metric_data(input: PutMetricData, now: Timestamp) -> Result<Vec<Datapoint>, Invalid> {
    let namespace = text("namespace", &input.namespace, 255)?;
    if namespace.starts_with(':') || namespace.chars().any(char::is_control) {
        return Err(Invalid::new("namespace", "must not start with ':' or hold control characters"));
    }
    if input.metric_data.is_empty() {
        return Err(Invalid::new("metricData", "must hold at least one datum"));
    }
    if input.metric_data.len() > MAX_BATCH {
        return Err(Invalid::new("metricData", format!("at most {MAX_BATCH} data in one request")));
    }
    let oldest = now - SignedDuration::from_hours(24 * 14);
    let newest = now + SignedDuration::from_hours(2);
    let mut out = Vec::with_capacity(input.metric_data.len());
    for (i, d) in input.metric_data.into_iter().enumerate() {
        let at = |e: Invalid| e.within(&format!("metricData[{i}]"));
        let metric_name = text("metricName", &d.metric_name, 255).map_err(at)?;
        let dimensions = parse_dimensions(&d.dimensions).map_err(at)?;
        let timestamp = d.timestamp.unwrap_or(now);
        if timestamp < oldest || timestamp > newest {
            return Err(at(Invalid::new("timestamp", "must be within the last two weeks and at most two hours ahead")));
        }
        if let Some(u) = &d.unit
            && !UNITS.contains(&u.as_str())
        {
            return Err(at(Invalid::new("unit", format!("unknown unit {u:?}; use one of {}", UNITS.join(", ")))));
        }
        let base = Datapoint {
            namespace: namespace.clone(),
            metric_name,
            dimensions,
            timestamp,
            value: None,
            sample_count: 1.0,
            sum: 0.0,
            minimum: 0.0,
            maximum: 0.0,
            unit: d.unit,
        };
        let given = [d.value.is_some(), d.values.is_some(), d.statistic_values.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(at(Invalid::new("value", "give exactly one of value, values or statisticValues")));
        }
        if let Some(v) = d.value {
            let v = finite("value", v).map_err(at)?;
            out.push(Datapoint { value: Some(v), sum: v, minimum: v, maximum: v, ..base });
        } else if let Some(values) = d.values {
            if values.is_empty() || values.len() > 150 {
                return Err(at(Invalid::new("values", "must hold 1 to 150 values")));
            }
            let counts = d.counts.unwrap_or_else(|| vec![1.0; values.len()]);
            if counts.len() != values.len() {
                return Err(at(Invalid::new("counts", "must have as many entries as values")));
            }
            for (j, (v, c)) in values.into_iter().zip(counts).enumerate() {
                let v = finite(&format!("values[{j}]"), v).map_err(at)?;
                let c = finite(&format!("counts[{j}]"), c).map_err(at)?;
                if c <= 0.0 {
                    return Err(at(Invalid::new(format!("counts[{j}]"), "must be above zero")));
                }
                out.push(Datapoint {
                    value: Some(v),
                    sample_count: c,
                    sum: v * c,
                    minimum: v,
                    maximum: v,
                    ..base.clone()
                });
            }
        } else if let Some(s) = d.statistic_values {
            let field = |n: &str| format!("statisticValues.{n}");
            finite(&field("sum"), s.sum).map_err(at)?;
            finite(&field("minimum"), s.minimum).map_err(at)?;
            finite(&field("maximum"), s.maximum).map_err(at)?;
            if !(s.sample_count.is_finite() && s.sample_count > 0.0) {
                return Err(at(Invalid::new(field("sampleCount"), "must be above zero")));
            }
            if s.minimum > s.maximum {
                return Err(at(Invalid::new(field("minimum"), "must not exceed maximum")));
            }
            out.push(Datapoint {
                sample_count: s.sample_count,
                sum: s.sum,
                minimum: s.minimum,
                maximum: s.maximum,
                ..base
            });
        }
    }
    Ok(out)
}

/// What an alarm computes over each period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    /// `p99`, `p99.9`: the nearest-rank percentile of the period's single values.
    Percentile(f64),
}

impl Statistic {
    pub fn parse(field: &str, s: &str) -> Result<Statistic, Invalid> {
        Ok(match s {
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            p if p.starts_with('p') => match p[1..].parse::<f64>() {
                Ok(n) if (0.0..=100.0).contains(&n) => Statistic::Percentile(n),
                _ => return Err(Invalid::new(field, format!("{s:?} is not a percentile from p0 to p100"))),
            },
            _ => {
                return Err(Invalid::new(
                    field,
                    format!("unknown statistic {s:?}; use SampleCount, Average, Sum, Minimum, Maximum or pNN"),
                ));
            }
        })
    }

    /// The statistic over some data, `None` when there is nothing to compute it from.
    pub fn compute(self, data: &[&Datapoint]) -> Option<f64> {
        if data.is_empty() {
            return None;
        }
        let count: f64 = data.iter().map(|d| d.sample_count).sum();
        let sum: f64 = data.iter().map(|d| d.sum).sum();
        match self {
            Statistic::SampleCount => Some(count),
            Statistic::Sum => Some(sum),
            Statistic::Average => Some(sum / count),
            Statistic::Minimum => data.iter().map(|d| d.minimum).reduce(f64::min),
            Statistic::Maximum => data.iter().map(|d| d.maximum).reduce(f64::max),
            Statistic::Percentile(p) => {
                let mut values: Vec<(f64, f64)> =
                    data.iter().filter_map(|d| d.value.map(|v| (v, d.sample_count))).collect();
                if values.is_empty() {
                    return None;
                }
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                let total: f64 = values.iter().map(|v| v.1).sum();
                let rank = (p / 100.0 * total).ceil().max(1.0);
                let mut seen = 0.0;
                for (v, c) in &values {
                    seen += c;
                    if seen >= rank {
                        return Some(*v);
                    }
                }
                values.last().map(|v| v.0)
            }
        }
    }
}

/// A statistic per period (cut from the Unix epoch) over data in time order: the start of each
/// period that has data, and the statistic's value there.
pub fn per_period(data: &[Datapoint], period_secs: i64, statistic: Statistic) -> Vec<(Timestamp, f64)> {
    let p = period_secs.max(1);
    let mut periods: Vec<(i64, Vec<&Datapoint>)> = Vec::new();
    for d in data {
        let start = d.timestamp.as_second().div_euclid(p) * p;
        match periods.last_mut() {
            Some((s, list)) if *s == start => list.push(d),
            _ => periods.push((start, vec![d])),
        }
    }
    periods.iter().filter_map(|(s, list)| Some((Timestamp::from_second(*s).ok()?, statistic.compute(list)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-30T08:00:00Z".parse().expect("valid")
    }

    fn batch(v: serde_json::Value) -> Result<Vec<Datapoint>, Invalid> {
        prepare_metric_data(serde_json::from_value(v).expect("shape"), now())
    }

    #[test]
    fn a_batch_becomes_datapoints() {
        let d = batch(json!({"namespace": "AWS/VPN", "metricData": [
            {"metricName": "TunnelState", "dimensions": [{"name": "VpnId", "value": "vpn-1"}], "value": 0,
             "timestamp": "2026-11-30T07:59:00Z"},
            {"metricName": "Latency", "values": [1, 5], "counts": [3, 1], "unit": "Milliseconds"},
            {"metricName": "Latency", "statisticValues": {"sampleCount": 4, "sum": 10, "minimum": 1, "maximum": 5}}
        ]}))
        .expect("valid");
        assert_eq!(d.len(), 4);
        assert_eq!(d[0].dimensions.get("VpnId").map(String::as_str), Some("vpn-1"));
        assert_eq!(d[0].value, Some(0.0));
        assert_eq!(d[1].timestamp, now());
        assert_eq!((d[1].sample_count, d[1].sum), (3.0, 3.0));
        assert_eq!(d[3].value, None);
        assert_eq!(d[3].sum, 10.0);
    }

    #[test]
    fn bad_data_names_the_field() {
        let field = |v| batch(v).expect_err("refused").field;
        assert_eq!(field(json!({"namespace": " ", "metricData": [{"metricName": "m", "value": 1}]})), "namespace");
        assert_eq!(field(json!({"namespace": "n", "metricData": []})), "metricData");
        assert_eq!(field(json!({"namespace": "n", "metricData": [{"metricName": "m"}]})), "metricData[0].value");
        assert_eq!(
            field(json!({"namespace": "n", "metricData": [{"metricName": "m", "value": 1, "values": [1]}]})),
            "metricData[0].value"
        );
        assert_eq!(
            field(json!({"namespace": "n", "metricData": [{"metricName": "m", "value": 1, "unit": "Furlongs"}]})),
            "metricData[0].unit"
        );
        assert_eq!(
            field(json!({"namespace": "n", "metricData": [{"metricName": "m", "value": 1,
                "dimensions": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}]})),
            "metricData[0].dimensions[1].name"
        );
        assert_eq!(
            field(json!({"namespace": "n", "metricData": [{"metricName": "m", "value": 1,
                "timestamp": "2026-10-01T00:00:00Z"}]})),
            "metricData[0].timestamp"
        );
        assert_eq!(
            field(json!({"namespace": "n", "metricData": [{"metricName": "m", "values": [1, 2], "counts": [1]}]})),
            "metricData[0].counts"
        );
    }

    #[test]
    fn dimension_keys_are_canonical_and_escaped() {
        let a: Dimensions = [("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into();
        assert_eq!(dimensions_key(&a), "a=1,b=2");
        let tricky: Dimensions = [("a".to_string(), "1,b=2".to_string())].into();
        assert_ne!(dimensions_key(&tricky), dimensions_key(&a));
    }

    #[test]
    fn statistics_over_a_period() {
        let d = batch(json!({"namespace": "n", "metricData": [
            {"metricName": "m", "values": [1, 2, 3, 4, 100], "counts": [1, 1, 1, 1, 1]},
            {"metricName": "m", "statisticValues": {"sampleCount": 5, "sum": 50, "minimum": 0, "maximum": 20}}
        ]}))
        .expect("valid");
        let refs: Vec<&Datapoint> = d.iter().collect();
        assert_eq!(Statistic::SampleCount.compute(&refs), Some(10.0));
        assert_eq!(Statistic::Sum.compute(&refs), Some(160.0));
        assert_eq!(Statistic::Average.compute(&refs), Some(16.0));
        assert_eq!(Statistic::Minimum.compute(&refs), Some(0.0));
        assert_eq!(Statistic::Maximum.compute(&refs), Some(100.0));
        // Percentiles come from single values only.
        assert_eq!(Statistic::Percentile(50.0).compute(&refs), Some(3.0));
        assert_eq!(Statistic::Percentile(99.0).compute(&refs), Some(100.0));
        assert_eq!(Statistic::Percentile(0.0).compute(&refs), Some(1.0));
        assert_eq!(Statistic::Maximum.compute(&[]), None);
        let minute = |s: &str, v: f64| Datapoint {
            timestamp: s.parse().expect("valid"),
            value: Some(v),
            sum: v,
            minimum: v,
            maximum: v,
            ..d[0].clone()
        };
        let series = [
            minute("2026-11-30T08:00:10Z", 1.0),
            minute("2026-11-30T08:00:50Z", 3.0),
            minute("2026-11-30T08:02:00Z", 7.0),
        ];
        let points = per_period(&series, 60, Statistic::Average);
        assert_eq!(points.len(), 2, "an empty minute is left out");
        assert_eq!(points[0], ("2026-11-30T08:00:00Z".parse().expect("valid"), 2.0));
        assert_eq!(points[1].1, 7.0);
        assert_eq!(Statistic::parse("statistic", "p99.9").expect("valid"), Statistic::Percentile(99.9));
        assert!(Statistic::parse("statistic", "p101").is_err());
        assert!(Statistic::parse("statistic", "Median").is_err());
    }
}
