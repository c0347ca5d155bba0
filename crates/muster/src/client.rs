//! The client commands: each is one or two HTTP calls and a table (or the JSON as the API gave it).

use crate::{ApplyArgs, ClientArgs, IncidentCommand, Output, PlanCommand, StackCommand, TokenCommand};
use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    pub(crate) output: Output,
}

impl Client {
    pub(crate) fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().user_agent(concat!("muster-cli/", env!("CARGO_PKG_VERSION"))).build()?,
            base: args.server.trim_end_matches('/').to_string(),
            token: args.token.clone(),
            output: args.output,
        })
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.with_context(|| format!("cannot reach the Muster server at {}", self.base))?;
        let status = res.status();
        let text = res.text().await?;
        let value: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            return Ok(value);
        }
        let err = &value["error"];
        let message = err["message"].as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
        match err["field"].as_str() {
            Some(field) => bail!("{message} (field: {field}; HTTP {})", status.as_u16()),
            None if status.as_u16() == 401 => bail!("{message} (HTTP 401; set MUSTER_TOKEN or --token)"),
            None => bail!("{message} (HTTP {})", status.as_u16()),
        }
    }

    /// Prints the JSON as is, or a table/summary made by `human`.
    pub(crate) fn print(&self, value: &Value, human: impl FnOnce(&Value)) {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value).unwrap_or_default()),
            Output::Table => human(value),
        }
    }
}

fn key_values(pairs: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => bail!("{what} {p:?} must be KEY=VALUE"),
        })
        .collect()
}

pub(crate) fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows as aligned columns under a header.
/// A table of a listing's `items`, one row per item.
pub(crate) fn item_table(v: &Value, headers: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    table(headers, v["items"].as_array().into_iter().flatten().map(row).collect());
}

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

fn incident_rows(items: &[Value]) {
    table(
        &["#", "STATUS", "IMPACT", "TRIGGERS", "CREATED", "TITLE"],
        items
            .iter()
            .map(|i| {
                vec![
                    s(&i["number"]),
                    s(&i["status"]),
                    s(&i["impact"]),
                    s(&i["triggerCount"]),
                    s(&i["createdAt"]),
                    s(&i["title"]),
                ]
            })
            .collect(),
    );
}

fn incident_summary(i: &Value) {
    println!("Incident #{}: {}", s(&i["number"]), s(&i["title"]));
    println!("  id:        {}", s(&i["id"]));
    println!("  status:    {}", s(&i["status"]));
    println!("  impact:    {}", s(&i["impact"]));
    println!("  triggers:  {}", s(&i["triggerCount"]));
    println!("  created:   {}", s(&i["createdAt"]));
    if !i["resolvedAt"].is_null() {
        println!("  resolved:  {}", s(&i["resolvedAt"]));
    }
    if let Some(summary) = i["summary"].as_str() {
        println!("  summary:   {summary}");
    }
    if let Some(plan) = i["responsePlan"]["name"].as_str() {
        println!("  plan:      {plan}");
    }
    if let Some(d) = i["dedupeString"].as_str() {
        println!("  dedupe:    {d}");
    }
}

pub async fn incident(args: &ClientArgs, cmd: IncidentCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        IncidentCommand::Start { title, impact, summary, dedupe_string, response_plan, tags, client_token } => {
            let body = json!({
                "title": title, "impact": impact, "summary": summary, "dedupeString": dedupe_string,
                "responsePlan": response_plan, "tags": key_values(&tags, "tag")?, "clientToken": client_token,
                "trigger": {"source": "cli"},
            });
            let v = c.call(Method::POST, "/incidents", Some(body)).await?;
            c.print(&v, |v| {
                let verb = match v["outcome"].as_str() {
                    Some("deduplicated") => "added to open",
                    Some("replayed") => "already started as",
                    _ => "started",
                };
                println!(
                    "{verb} incident #{}: {} (impact {}, {} trigger(s))",
                    s(&v["number"]),
                    s(&v["title"]),
                    s(&v["impact"]),
                    s(&v["triggerCount"])
                );
            });
        }
        IncidentCommand::List { status, limit, next_token } => {
            let mut path = format!("/incidents?limit={limit}");
            if let Some(st) = status {
                path.push_str(&format!("&status={}", st.to_ascii_uppercase()));
            }
            if let Some(t) = next_token {
                path.push_str(&format!("&nextToken={t}"));
            }
            let v = c.call(Method::GET, &path, None).await?;
            c.print(&v, |v| {
                incident_rows(v["items"].as_array().map(Vec::as_slice).unwrap_or_default());
                if let Some(t) = v["nextToken"].as_str() {
                    println!("(more: --next-token {t})");
                }
            });
        }
        IncidentCommand::Show { incident } => {
            let i = c.call(Method::GET, &format!("/incidents/{incident}"), None).await?;
            let id = s(&i["id"]);
            let timeline = c.call(Method::GET, &format!("/incidents/{id}/timeline"), None).await?;
            let related = c.call(Method::GET, &format!("/incidents/{id}/related-items"), None).await?;
            let all = json!({"incident": i, "timeline": timeline["items"], "relatedItems": related["items"]});
            c.print(&all, |all| {
                incident_summary(&all["incident"]);
                println!("\nTimeline:");
                for e in all["timeline"].as_array().into_iter().flatten() {
                    println!(
                        "  {}  {:<24} {:<12} {}",
                        s(&e["eventTime"]),
                        s(&e["eventType"]),
                        s(&e["actor"]),
                        s(&e["message"])
                    );
                }
                let items = all["relatedItems"].as_array().cloned().unwrap_or_default();
                if !items.is_empty() {
                    println!("\nRelated items:");
                    for r in items {
                        println!("  {:<10} {}  {}", s(&r["type"]), s(&r["value"]), r["title"].as_str().unwrap_or(""));
                    }
                }
            });
        }
        IncidentCommand::Ack { incident } => {
            let v = c.call(Method::POST, &format!("/incidents/{incident}/ack"), None).await?;
            c.print(&v, |v| {
                println!(
                    "acknowledged: {} page(s), {} engagement(s) no longer escalating",
                    s(&v["pagesAcknowledged"]),
                    s(&v["engagementsStopped"])
                )
            });
        }
        IncidentCommand::Update { incident, title, summary, impact, commander, owner } => {
            let mut body = json!({"title": title, "summary": summary, "impact": impact});
            if commander.is_some() || owner.is_some() {
                let current = c.call(Method::GET, &format!("/incidents/{incident}"), None).await?;
                let mut roles = current["roles"].clone();
                if let Some(x) = commander {
                    roles["commander"] = json!(x);
                }
                if let Some(x) = owner {
                    roles["owner"] = json!(x);
                }
                body["roles"] = roles;
            }
            let v = c.call(Method::PATCH, &format!("/incidents/{incident}"), Some(strip_nulls(body))).await?;
            c.print(&v, incident_summary);
        }
        IncidentCommand::Resolve { incident, message } => {
            // The note and the resolution are one change: both are written, or neither.
            let body = strip_nulls(json!({"status": "RESOLVED", "note": message}));
            let v = c.call(Method::PATCH, &format!("/incidents/{incident}"), Some(body)).await?;
            c.print(&v, |v| println!("resolved incident #{}: {}", s(&v["number"]), s(&v["title"])));
        }
        IncidentCommand::Reopen { incident } => {
            let v = c.call(Method::PATCH, &format!("/incidents/{incident}"), Some(json!({"status": "OPEN"}))).await?;
            c.print(&v, |v| println!("reopened incident #{}: {}", s(&v["number"]), s(&v["title"])));
        }
        IncidentCommand::Note { incident, message, kind } => {
            let body = strip_nulls(json!({"message": message, "eventType": kind}));
            let v = c.call(Method::POST, &format!("/incidents/{incident}/timeline"), Some(body)).await?;
            c.print(&v, |v| println!("noted at {}", s(&v["eventTime"])));
        }
        IncidentCommand::Relate { incident, kind, title, value } => {
            let body = json!({"type": kind, "title": title, "value": value});
            let v =
                c.call(Method::POST, &format!("/incidents/{incident}/related-items"), Some(strip_nulls(body))).await?;
            c.print(&v, |v| println!("related {} added: {}", s(&v["type"]), s(&v["value"])));
        }
    }
    Ok(())
}

pub(crate) fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// Reads a template file, or every `.yaml`, `.yml` and `.json` file of a folder (sorted by name).
fn read_sources(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("{} has no .yaml, .yml or .json files", path.display());
        }
        files
            .iter()
            .map(|f| {
                let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                Ok((name, std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?))
            })
            .collect()
    } else {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        Ok(vec![(name, std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)])
    }
}

/// A stack name from a file name: `vpn-tunnel-down.cfn.yaml` → `vpn-tunnel-down`.
fn default_stack_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "stack".into());
    name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("stack").to_string()
}

pub async fn apply(args: &ClientArgs, a: ApplyArgs) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let sources = read_sources(&a.path)?;
    let stack = a.stack.clone().unwrap_or_else(|| default_stack_name(&a.path));
    let mut body = json!({
        "parameters": key_values(&a.params, "parameter")?,
        "dryRun": a.dry_run,
        "skipUnsupported": a.skip_unsupported,
    });
    if a.path.is_dir() {
        body["files"] = sources.iter().map(|(n, t)| json!({"name": n, "content": t})).collect();
    } else {
        body["template"] = json!(sources[0].1);
    }
    let v = c.call(Method::PUT, &format!("/stacks/{stack}"), Some(body)).await?;
    c.print(&v, |v| {
        let prefix = if a.dry_run { "would " } else { "" };
        for ch in v["changes"].as_array().into_iter().flatten() {
            let action = s(&ch["action"]);
            if action != "unchanged" {
                println!("{prefix}{action:<8} {:<36} {}", s(&ch["resourceType"]), s(&ch["logicalId"]));
            }
        }
        for sk in v["skipped"].as_array().into_iter().flatten() {
            println!("skipped  {:<36} {} (unsupported type)", s(&sk["resourceType"]), s(&sk["logicalId"]));
        }
        for w in v["warnings"].as_array().into_iter().flatten() {
            println!("warning: {}", s(w));
        }
        if v["changed"] == json!(false) {
            println!("stack {stack}: no changes");
        } else if a.dry_run {
            println!("stack {stack}: dry run, nothing was changed");
        } else {
            println!("stack {stack}: applied");
        }
        for (k, o) in v["outputs"].as_object().into_iter().flatten() {
            println!("output {k} = {}", s(o));
        }
    });
    Ok(())
}

pub async fn stack(args: &ClientArgs, cmd: StackCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        StackCommand::List => {
            let v = c.call(Method::GET, "/stacks", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|st| {
                        vec![
                            s(&st["name"]),
                            s(&st["format"]),
                            st["resources"].as_array().map_or(0, Vec::len).to_string(),
                            s(&st["updatedAt"]),
                        ]
                    })
                    .collect();
                table(&["NAME", "FORMAT", "RESOURCES", "UPDATED"], rows);
            });
        }
        StackCommand::Show { name } => {
            let v = c.call(Method::GET, &format!("/stacks/{name}"), None).await?;
            c.print(&v, |v| {
                println!("Stack {} ({}), updated {}", s(&v["name"]), s(&v["format"]), s(&v["updatedAt"]));
                let rows = v["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| vec![s(&r["logicalId"]), s(&r["resourceType"]), s(&r["physicalId"])])
                    .collect();
                table(&["LOGICAL ID", "TYPE", "PHYSICAL ID"], rows);
            });
        }
        StackCommand::Delete { name } => {
            let v = c.call(Method::DELETE, &format!("/stacks/{name}"), None).await?;
            c.print(&v, |v| {
                for r in v["deleted"].as_array().into_iter().flatten() {
                    println!("deleted  {:<36} {}", s(&r["resourceType"]), s(&r["logicalId"]));
                }
                println!("stack {name}: deleted");
            });
        }
    }
    Ok(())
}

pub async fn plan(args: &ClientArgs, cmd: PlanCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        PlanCommand::List => {
            let v = c.call(Method::GET, "/response-plans", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        vec![
                            s(&p["name"]),
                            s(&p["incidentTemplate"]["impact"]),
                            s(&p["stack"]),
                            s(&p["incidentTemplate"]["title"]),
                        ]
                    })
                    .collect();
                table(&["NAME", "IMPACT", "STACK", "INCIDENT TITLE"], rows);
            });
        }
        PlanCommand::Show { plan } => {
            let v = c.call(Method::GET, &format!("/response-plans/{plan}"), None).await?;
            c.print(&v, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
        }
    }
    Ok(())
}

pub async fn token(args: &ClientArgs, cmd: TokenCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        TokenCommand::Create { name, role } => {
            let v = c.call(Method::POST, "/tokens", Some(json!({"name": name, "role": role}))).await?;
            c.print(&v, |v| {
                println!("token {} ({}) created; its secret is shown only now:", s(&v["name"]), s(&v["role"]));
                println!("{}", s(&v["secret"]));
            });
        }
        TokenCommand::List => {
            let v = c.call(Method::GET, "/tokens", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| vec![s(&t["id"]), s(&t["name"]), s(&t["role"]), s(&t["createdAt"]), s(&t["revokedAt"])])
                    .collect();
                table(&["ID", "NAME", "ROLE", "CREATED", "REVOKED"], rows);
            });
        }
        TokenCommand::Revoke { id } => {
            c.call(Method::DELETE, &format!("/tokens/{id}"), None).await?;
            if c.output == Output::Table {
                println!("token {id} revoked");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_come_from_file_names() {
        assert_eq!(default_stack_name(Path::new("dir/vpn-tunnel-down.cfn.yaml")), "vpn-tunnel-down");
        assert_eq!(default_stack_name(Path::new("plans")), "plans");
    }

    #[test]
    fn key_values_need_an_equals_sign() {
        assert_eq!(key_values(&["a=b=c".into()], "tag").expect("valid")["a"], "b=c");
        assert!(key_values(&["ab".into()], "tag").is_err());
    }
}
