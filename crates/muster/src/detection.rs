//! Client commands for metrics and alarms.

use crate::client::{Client, item_table, s, strip_nulls, table};
use crate::{AlarmCommand, ClientArgs, EventCommand, IntegrationCommand, MetricCommand, RuleCommand, SilenceCommand};
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
                item_table(v, &["NAMESPACE", "METRIC", "DIMENSIONS", "DATAPOINTS", "LAST"], |m| {
                    let dims = m["dimensions"]
                        .as_object()
                        .map(|d| d.iter().map(|(k, v)| format!("{k}={}", s(v))).collect::<Vec<_>>().join(","))
                        .unwrap_or_default();
                    vec![s(&m["namespace"]), s(&m["metricName"]), dims, s(&m["datapoints"]), s(&m["lastTimestamp"])]
                });
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
                item_table(v, &["ALARM", "STATE", "METRIC", "SINCE"], |a| {
                    vec![
                        s(&a["name"]),
                        s(&a["stateValue"]),
                        format!("{} {}", s(&a["namespace"]), s(&a["metricName"])),
                        s(&a["stateUpdatedAt"]),
                    ]
                });
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

fn json_arg(what: &str, text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{what} is not JSON: {e}"))
}

pub async fn event(args: &ClientArgs, cmd: EventCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let EventCommand::Put { source, detail_type, detail, resources, json: whole } = cmd;
    let entries = match whole {
        Some(text) => match json_arg("--json", &text)? {
            Value::Array(list) => list,
            one => vec![one],
        },
        None => {
            let detail = detail.map(|d| json_arg("--detail", &d)).transpose()?.unwrap_or_else(|| json!({}));
            vec![strip_nulls(json!({
                "source": source,
                "detail-type": detail_type.unwrap_or_default(),
                "detail": detail,
                "resources": resources,
            }))]
        }
    };
    let v = c.call(Method::POST, "/events", Some(json!({"entries": entries}))).await?;
    c.print(&v, |v| {
        for e in v["entries"].as_array().into_iter().flatten() {
            println!("event recorded: {}", s(&e["eventId"]));
        }
    });
    Ok(())
}

pub async fn rule(args: &ClientArgs, cmd: RuleCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        RuleCommand::List => {
            let v = c.call(Method::GET, "/rules", None).await?;
            c.print(&v, |v| {
                item_table(v, &["RULE", "STATE", "TARGETS", "STACK"], |r| {
                    let targets: Vec<String> = r["targets"].as_array().into_iter().flatten().map(s).collect();
                    vec![s(&r["name"]), s(&r["state"]), targets.join(", "), s(&r["stack"])]
                });
            });
        }
        RuleCommand::Show { name } => {
            let v = c.call(Method::GET, &format!("/rules/{}", url_escape(&name)), None).await?;
            c.print(&v, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
        }
        RuleCommand::Test { pattern, event } => {
            let body = json!({"eventPattern": json_arg("--pattern", &pattern)?, "event": json_arg("--event", &event)?});
            let v = c.call(Method::POST, "/rules/test", Some(body)).await?;
            let matched = v["result"].as_bool().unwrap_or(false);
            c.print(&v, |_| println!("{}", if matched { "match" } else { "no match" }));
            if !matched {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

pub async fn integration(args: &ClientArgs, cmd: IntegrationCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        IntegrationCommand::List => {
            let v = c.call(Method::GET, "/integrations", None).await?;
            c.print(&v, |v| {
                item_table(v, &["INTEGRATION", "TYPE", "PLAN", "KEY", "LAST RECEIVED"], |i| {
                    vec![
                        s(&i["name"]),
                        s(&i["type"]),
                        s(&i["responsePlan"]),
                        format!("{}...", s(&i["keyPrefix"])),
                        s(&i["lastReceivedAt"]),
                    ]
                });
            });
        }
        IntegrationCommand::Create { name, kind, plan, interval, group_by } => {
            let body = strip_nulls(json!({
                "name": name, "type": kind, "responsePlan": plan, "intervalSeconds": interval, "groupBy": group_by,
            }));
            let v = c.call(Method::POST, "/integrations", Some(body)).await?;
            c.print(&v, |v| {
                println!("integration {} ({}) created", s(&v["name"]), s(&v["type"]));
                println!("  key (shown only now): {}", s(&v["key"]));
                println!("  send to: {}", s(&v["endpoint"]));
            });
        }
        IntegrationCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("/integrations/{}", url_escape(&name)), None).await?;
            println!("integration {name} deleted");
        }
        IntegrationCommand::Received { integration, status } => {
            let mut q = Vec::new();
            if let Some(i) = integration {
                q.push(format!("integration={}", url_escape(&i)));
            }
            if let Some(st) = status {
                q.push(format!("status={}", url_escape(&st)));
            }
            let path = if q.is_empty() { "/inbound".to_string() } else { format!("/inbound?{}", q.join("&")) };
            let v = c.call(Method::GET, &path, None).await?;
            c.print(&v, |v| {
                item_table(v, &["RECEIVED", "KIND", "STATUS", "WHAT", "INCIDENT"], |i| {
                    let what = i["payload"]["alert"]["title"]
                        .as_str()
                        .or(i["payload"]["detail-type"].as_str())
                        .or(i["payload"]["summary"].as_str())
                        .unwrap_or("")
                        .to_string();
                    vec![s(&i["receivedAt"]), s(&i["kind"]), s(&i["status"]), what, s(&i["incidentId"])]
                });
            });
        }
    }
    Ok(())
}

/// `name=value`, `name!=value`, `name=~re`, `name!~re` as a silence matcher.
fn matcher(text: &str) -> anyhow::Result<Value> {
    let m = muster_core::silence::parse_filter(text).map_err(|e| anyhow::anyhow!("matcher {text:?}: {}", e.message))?;
    Ok(json!({"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}))
}

pub async fn silence(args: &ClientArgs, cmd: SilenceCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        SilenceCommand::List => {
            let v = c.call(Method::GET, "/silences", None).await?;
            c.print(&v, |v| {
                item_table(v, &["SILENCE", "STATE", "MATCHERS", "ENDS", "COMMENT"], |x| {
                    let matchers: Vec<String> = x["matchers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| {
                            let op = match (m["isEqual"].as_bool() != Some(false), m["isRegex"].as_bool() == Some(true))
                            {
                                (true, false) => "=",
                                (false, false) => "!=",
                                (true, true) => "=~",
                                (false, true) => "!~",
                            };
                            format!("{}{op}\"{}\"", s(&m["name"]), s(&m["value"]))
                        })
                        .collect();
                    vec![s(&x["id"]), s(&x["status"]["state"]), matchers.join(" "), s(&x["endsAt"]), s(&x["comment"])]
                });
            });
        }
        SilenceCommand::Add { matchers, duration, comment, author } => {
            let span: jiff::Span = duration
                .parse()
                .or_else(|_| format!("PT{}", duration.to_uppercase()).parse())
                .or_else(|_| format!("P{}", duration.to_uppercase()).parse())
                .map_err(|_| anyhow::anyhow!("--for {duration:?} is not a duration such as 2h, 30m or 1d"))?;
            let now = jiff::Timestamp::now();
            let ends = now
                .to_zoned(jiff::tz::TimeZone::UTC)
                .checked_add(span)
                .map_err(|e| anyhow::anyhow!("--for {duration:?}: {e}"))?
                .timestamp();
            let matchers = matchers.iter().map(|m| matcher(m)).collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({
                "matchers": matchers,
                "startsAt": now,
                "endsAt": ends,
                "createdBy": author.unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "muster-cli".into())),
                "comment": comment,
            });
            let v = c.call(Method::POST, "/silences", Some(body)).await?;
            c.print(&v, |v| println!("silence {} until {}", s(&v["id"]), s(&v["endsAt"])));
        }
        SilenceCommand::Expire { id } => {
            c.call(Method::DELETE, &format!("/silences/{}", url_escape(&id)), None).await?;
            println!("silence {id} expired");
        }
    }
    Ok(())
}
