//! Client commands for runbooks.

use crate::client::{Client, s, strip_nulls, table};
use crate::{ClientArgs, RunbookCommand};
use anyhow::{Context, bail};
use muster_core::runbook::{check_script_safety, parse_document};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::path::Path;

fn load(file: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    muster_template::to_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

fn params(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else { bail!("parameter {p:?} must be KEY=VALUE") };
        let value = serde_json::from_str::<Value>(v)
            .ok()
            .filter(|j| j.is_array() || j.is_object() || j.is_number() || j.is_boolean())
            .unwrap_or(Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

fn show_execution(v: &Value) {
    println!("execution {} of {}: {}", s(&v["id"]), s(&v["runbook"]), s(&v["status"]));
    if let Some(f) = v["failure"].as_str() {
        println!("  failure: {f}");
    }
    let rows = v["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            vec![
                s(&st["seq"]),
                s(&st["name"]),
                s(&st["action"]),
                s(&st["status"]),
                st["failure"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    table(&["#", "STEP", "ACTION", "STATUS", "FAILURE"], rows);
    for st in v["steps"].as_array().into_iter().flatten() {
        if let Some(log) = st["log"].as_str().filter(|l| !l.trim().is_empty()) {
            println!("\n--- {} ---\n{}", s(&st["name"]), log.trim_end());
        }
    }
}

pub async fn runbook(args: &ClientArgs, cmd: RunbookCommand) -> anyhow::Result<()> {
    if let RunbookCommand::Validate { file } = &cmd {
        let doc = parse_document(&load(file)?).map_err(|e| anyhow::anyhow!("{} (field: {})", e.message, e.field))?;
        check_script_safety(&doc).map_err(|e| anyhow::anyhow!("{} (field: {})", e.message, e.field))?;
        println!(
            "valid: {} step(s), parameters: {}",
            doc.main_steps.len(),
            doc.parameters.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        for st in &doc.main_steps {
            println!("  {} ({})", st.name, st.action);
        }
        for u in doc.unsupported_steps() {
            println!("unsupported: {u}: Muster cannot run it, and the step fails if reached");
        }
        return Ok(());
    }
    let c = Client::new(args)?;
    match cmd {
        RunbookCommand::Validate { .. } => {}
        RunbookCommand::List => {
            let v = c.call(Method::GET, "/runbooks", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        vec![
                            s(&r["name"]),
                            r["unsupportedSteps"].as_array().map_or(0, Vec::len).to_string(),
                            s(&r["stack"]),
                            s(&r["updatedAt"]),
                        ]
                    })
                    .collect();
                table(&["RUNBOOK", "UNSUPPORTED STEPS", "STACK", "UPDATED"], rows);
            });
        }
        RunbookCommand::Show { name } => {
            let v = c.call(Method::GET, &format!("/runbooks/{name}"), None).await?;
            c.print(&v, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
        }
        RunbookCommand::Put { name, file } => {
            let v = c
                .call(Method::PUT, &format!("/runbooks/{name}"), Some(json!({"name": name, "document": load(&file)?})))
                .await?;
            c.print(&v, |v| {
                println!("runbook {} stored", s(&v["name"]));
                for u in v["unsupportedSteps"].as_array().into_iter().flatten() {
                    println!("unsupported: {}", s(u));
                }
            });
        }
        RunbookCommand::Run { name, params: p, incident, wait } => {
            let body = strip_nulls(json!({"runbook": name, "parameters": params(&p)?, "incident": incident}));
            let mut v = c.call(Method::POST, "/runbook-executions", Some(body)).await?;
            if wait {
                let id = s(&v["id"]);
                for _ in 0..3600 {
                    v = c.call(Method::GET, &format!("/runbook-executions/{id}"), None).await?;
                    if v["status"] != "InProgress" {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
            c.print(&v, show_execution);
        }
        RunbookCommand::Execution { id } => {
            let v = c.call(Method::GET, &format!("/runbook-executions/{id}"), None).await?;
            c.print(&v, show_execution);
        }
        RunbookCommand::Executions { incident } => {
            let q = incident.map(|i| format!("?incident={i}")).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/runbook-executions{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| vec![s(&e["id"]), s(&e["runbook"]), s(&e["status"]), s(&e["createdAt"])])
                    .collect();
                table(&["EXECUTION", "RUNBOOK", "STATUS", "STARTED"], rows);
            });
        }
        RunbookCommand::Approve { id, approver, comment } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("/runbook-executions/{id}/approve"),
                    Some(strip_nulls(json!({"approver": approver, "comment": comment}))),
                )
                .await?;
            c.print(&v, show_execution);
        }
        RunbookCommand::Reject { id, approver, comment } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("/runbook-executions/{id}/reject"),
                    Some(strip_nulls(json!({"approver": approver, "comment": comment}))),
                )
                .await?;
            c.print(&v, show_execution);
        }
        RunbookCommand::Cancel { id } => {
            let v = c.call(Method::POST, &format!("/runbook-executions/{id}/cancel"), None).await?;
            c.print(&v, show_execution);
        }
    }
    Ok(())
}
