//! Client commands for metrics and alarms.

use crate::client::{Client, s, strip_nulls, table};
use crate::{AlarmCommand, ClientArgs, MetricCommand};
use anyhow::bail;
use reqwest::Method;
use serde_json::{Value, json};

/// `NAME=VALUE` pairs as CloudWatch dimensions.
fn dimensions(pairs: &[String]) -> anyhow::Result<Vec<Value>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok(json!({"name": k.trim(), "value": v.trim()})),
            None => bail!("dimension {p:?} must be NAME=VALUE"),
        })
        .collect()
}

/// A path segment or query value, percent-encoded.
fn url_escape(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub async fn metric(args: &ClientArgs, cmd: MetricCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        MetricCommand::Put { namespace, metric_name, dimensions: dims, value, unit, timestamp } => {
            let body = json!({"namespace": namespace, "metricData": [strip_nulls(json!({
                "metricName": metric_name,
                "dimensions": dimensions(&dims)?,
                "value": value,
                "unit": unit,
                "timestamp": timestamp,
            }))]});
            let v = c.call(Method::POST, "/metrics", Some(body)).await?;
            c.print(&v, |v| {
                println!(
                    "{} datapoint(s) stored; {} alarm evaluation(s) asked for",
                    s(&v["datapoints"]),
                    s(&v["evaluations"])
                )
            });
        }
        MetricCommand::List { namespace } => {
            let q = namespace.map(|n| format!("?namespace={}", url_escape(&n))).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/metrics{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let dims = m["dimensions"]
                            .as_object()
                            .map(|d| d.iter().map(|(k, v)| format!("{k}={}", s(v))).collect::<Vec<_>>().join(","))
                            .unwrap_or_default();
                        vec![s(&m["namespace"]), s(&m["metricName"]), dims, s(&m["datapoints"]), s(&m["lastTimestamp"])]
                    })
                    .collect();
                table(&["NAMESPACE", "METRIC", "DIMENSIONS", "DATAPOINTS", "LAST"], rows);
            });
        }
        MetricCommand::Get { namespace, metric_name, dimensions: dims, statistic, period, from, to } => {
            let mut q = format!(
                "?namespace={}&metricName={}&statistic={}&period={period}",
                url_escape(&namespace),
                url_escape(&metric_name),
                url_escape(&statistic)
            );
            if !dims.is_empty() {
                q.push_str(&format!("&dimensions={}", url_escape(&dims.join(","))));
            }
            for (k, v) in [("from", from), ("to", to)] {
                if let Some(v) = v {
                    q.push_str(&format!("&{k}={}", url_escape(&v)));
                }
            }
            let v = c.call(Method::GET, &format!("/metrics/statistics{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["datapoints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| vec![s(&p["timestamp"]), s(&p["value"])])
                    .collect();
                table(&["PERIOD START", &s(&v["statistic"]).to_uppercase()], rows);
            });
        }
    }
    Ok(())
}

pub async fn alarm(args: &ClientArgs, cmd: AlarmCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        AlarmCommand::List { state } => {
            let q = state.map(|st| format!("?state={}", url_escape(&st))).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/alarms{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        vec![
                            s(&a["name"]),
                            s(&a["stateValue"]),
                            format!("{} {}", s(&a["namespace"]), s(&a["metricName"])),
                            s(&a["stateUpdatedAt"]),
                        ]
                    })
                    .collect();
                table(&["ALARM", "STATE", "METRIC", "SINCE"], rows);
            });
        }
        AlarmCommand::Show { name } => {
            let path = format!("/alarms/{}", url_escape(&name));
            let mut v = c.call(Method::GET, &path, None).await?;
            let history = c.call(Method::GET, &format!("{path}/history"), None).await?;
            v["history"] = history["items"].clone();
            c.print(&v, |v| {
                println!("alarm {}: {} since {}", s(&v["name"]), s(&v["stateValue"]), s(&v["stateUpdatedAt"]));
                println!("  {}", s(&v["stateReason"]));
                println!(
                    "  {} of {} {} over {}s, {} {} for {} of {} periods",
                    s(&v["statistic"]),
                    s(&v["namespace"]),
                    s(&v["metricName"]),
                    s(&v["period"]),
                    s(&v["comparisonOperator"]),
                    s(&v["threshold"]),
                    v["datapointsToAlarm"].as_u64().map_or_else(|| s(&v["evaluationPeriods"]), |m| m.to_string()),
                    s(&v["evaluationPeriods"]),
                );
                let rows = v["history"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|h| vec![s(&h["timestamp"]), s(&h["kind"]), s(&h["summary"])])
                    .collect();
                table(&["WHEN", "KIND", "SUMMARY"], rows);
            });
        }
        AlarmCommand::SetState { name, state, reason } => {
            let body = json!({"stateValue": state, "stateReason": reason});
            let v = c.call(Method::POST, &format!("/alarms/{}/state", url_escape(&name)), Some(body)).await?;
            c.print(&v, |v| println!("alarm {} is {}", s(&v["name"]), s(&v["stateValue"])));
        }
        AlarmCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("/alarms/{}", url_escape(&name)), None).await?;
            println!("alarm {name} deleted");
        }
    }
    Ok(())
}
