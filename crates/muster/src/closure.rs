//! Client commands for post-incident analyses, action items and reports.

use crate::client::{Client, item_table, s, strip_nulls, table};
use crate::{AnalysisCommand, ClientArgs};
use reqwest::Method;
use serde_json::{Value, json};

fn duration(v: &Value) -> String {
    match v.as_i64() {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        Some(s) => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn show(v: &Value) {
    println!("{} ({}), incident #{}", s(&v["title"]), s(&v["status"]), s(&v["incident"]["number"]));
    let m = &v["metrics"];
    for (name, key) in [
        ("time to detect", "timeToDetect"),
        ("time to engage", "timeToEngage"),
        ("time to acknowledge", "timeToAcknowledge"),
        ("time to mitigate", "timeToMitigate"),
        ("time to resolve", "timeToResolve"),
    ] {
        println!("  {name:<20} {}", duration(&m[key]));
    }
    println!("  {:<20} {}", "pages sent", s(&m["pagesSent"]));
    for q in v["template"]["questions"].as_array().into_iter().flatten() {
        let id = s(&q["id"]);
        println!("\n[{id}] {}", s(&q["prompt"]));
        println!("  {}", v["answers"][&id].as_str().unwrap_or("(not answered)"));
    }
    let rows = v["actionItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| vec![s(&i["id"]), s(&i["title"]), s(&i["owner"]), s(&i["due"]), s(&i["status"])])
        .collect();
    println!();
    table(&["ACTION ITEM", "TITLE", "OWNER", "DUE", "STATUS"], rows);
}

pub async fn analysis(args: &ClientArgs, cmd: AnalysisCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let path = |id: &str| format!("/post-incident-analyses/{id}");
    match cmd {
        AnalysisCommand::Create { incident, template, title } => {
            let body = strip_nulls(json!({"incident": incident, "template": template, "title": title}));
            let v = c.call(Method::POST, "/post-incident-analyses", Some(body)).await?;
            c.print(&v, |v| {
                println!("analysis {} created", s(&v["id"]));
                show(v);
            });
        }
        AnalysisCommand::List { incident } => {
            let q = incident.map(|i| format!("?incident={i}")).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/post-incident-analyses{q}"), None).await?;
            c.print(&v, |v| {
                item_table(v, &["ANALYSIS", "TITLE", "STATUS", "UPDATED"], |a| {
                    vec![s(&a["id"]), s(&a["title"]), s(&a["status"]), s(&a["updatedAt"])]
                });
            });
        }
        AnalysisCommand::Show { id } => {
            let v = c.call(Method::GET, &path(&id), None).await?;
            c.print(&v, show);
        }
        AnalysisCommand::Answer { id, question, answer } => {
            let v = c.call(Method::PATCH, &path(&id), Some(json!({"answers": {question: answer}}))).await?;
            c.print(&v, |_| println!("answered"));
        }
        AnalysisCommand::Status { id, status } => {
            let v = c.call(Method::PATCH, &path(&id), Some(json!({"status": status.to_uppercase()}))).await?;
            c.print(&v, |v| println!("analysis {} is {}", s(&v["id"]), s(&v["status"])));
        }
        AnalysisCommand::AddItem { id, title, owner, due, link } => {
            let body = strip_nulls(json!({"title": title, "owner": owner, "due": due, "link": link}));
            let v = c.call(Method::POST, &format!("{}/action-items", path(&id)), Some(body)).await?;
            c.print(&v, |v| println!("action item {} added", s(&v["id"])));
        }
        AnalysisCommand::Export { id, format } => {
            let v = c.call(Method::GET, &format!("{}/export?format={format}", path(&id)), None).await?;
            match v {
                Value::String(text) => print!("{text}"),
                other => println!("{}", serde_json::to_string_pretty(&other).unwrap_or_default()),
            }
        }
    }
    Ok(())
}

pub async fn action_items(args: &ClientArgs, owner: Option<String>, overdue: bool, all: bool) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let mut q = vec![format!("status={}", if all { "all" } else { "open" })];
    if overdue {
        q.push("overdue=true".into());
    }
    if let Some(o) = owner {
        q.push(format!("owner={o}"));
    }
    let v = c.call(Method::GET, &format!("/action-items?{}", q.join("&")), None).await?;
    c.print(&v, |v| {
        item_table(v, &["ACTION ITEM", "OWNER", "DUE", "STATUS", ""], |i| {
            vec![
                s(&i["title"]),
                s(&i["owner"]),
                s(&i["due"]),
                s(&i["status"]),
                if i["overdue"] == true { "OVERDUE".into() } else { String::new() },
            ]
        });
    });
    Ok(())
}

pub async fn report(
    args: &ClientArgs,
    from: Option<String>,
    to: Option<String>,
    period: String,
    csv: bool,
) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let mut q = vec![format!("period={period}")];
    for (k, v) in [("from", from), ("to", to)] {
        if let Some(v) = v {
            q.push(format!("{k}={v}"));
        }
    }
    if csv {
        q.push("format=csv".into());
    }
    let v = c.call(Method::GET, &format!("/reports?{}", q.join("&")), None).await?;
    if let Value::String(text) = &v {
        print!("{text}");
        return Ok(());
    }
    let mins = |x: &Value| x.as_f64().map(|s| format!("{:.1} min", s / 60.0)).unwrap_or_else(|| "—".into());
    c.print(&v, |v| {
        println!("from {} to {}", s(&v["from"]), s(&v["to"]));
        let mut rows = vec![vec![
            "overall".into(),
            String::new(),
            s(&v["overall"]["incidents"]),
            mins(&v["overall"]["mtta"]),
            mins(&v["overall"]["mttr"]),
        ]];
        for (group, key) in [("plan", "byResponsePlan"), ("impact", "byImpact"), ("period", "byPeriod")] {
            for (k, m) in v[key].as_object().into_iter().flatten() {
                rows.push(vec![group.into(), k.clone(), s(&m["incidents"]), mins(&m["mtta"]), mins(&m["mttr"])]);
            }
        }
        table(&["GROUP", "KEY", "INCIDENTS", "MTTA", "MTTR"], rows);
        println!();
        let rows = v["pagesPerPerson"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| vec![s(&p["contact"]), s(&p["pages"]), s(&p["afterHours"])])
            .collect();
        table(&["PERSON", "PAGES", "AFTER HOURS"], rows);
        println!();
        let rows = v["noisiest"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| vec![s(&n["source"]), s(&n["incidents"]), s(&n["triggers"])])
            .collect();
        table(&["SOURCE", "INCIDENTS", "TRIGGERS"], rows);
    });
    Ok(())
}

pub async fn audit(
    args: &ClientArgs,
    actor: Option<String>,
    from: Option<String>,
    limit: u32,
    csv: bool,
) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let mut q = vec![format!("limit={limit}")];
    if let Some(a) = actor {
        q.push(format!("actor={}", percent_encoding::utf8_percent_encode(&a, percent_encoding::NON_ALPHANUMERIC)));
    }
    if let Some(f) = from {
        q.push(format!("from={f}"));
    }
    if csv {
        q.push("format=csv".into());
    }
    let v = c.call(Method::GET, &format!("/audit?{}", q.join("&")), None).await?;
    if let Value::String(text) = &v {
        print!("{text}");
        return Ok(());
    }
    c.print(&v, |v| {
        item_table(v, &["WHEN", "WHO", "WHAT", "STATUS", "FROM"], |e| {
            vec![
                s(&e["at"]),
                s(&e["actor"]),
                format!("{} {}", s(&e["method"]), s(&e["path"])),
                s(&e["status"]),
                s(&e["remote"]),
            ]
        });
    });
    Ok(())
}

fn database_url(given: Option<String>) -> String {
    given.unwrap_or_else(|| muster_server::DEFAULT_DATABASE.to_string())
}

pub async fn backup(database: Option<String>, to: std::path::PathBuf) -> anyhow::Result<()> {
    let url = database_url(database);
    if muster_store::Backend::from_url(&url) == Some(muster_store::Backend::Postgres) {
        anyhow::bail!(
            "back PostgreSQL up with its own tools: pg_dump -Fc DATABASE > muster.dump (and pg_restore to restore)"
        );
    }
    muster_store::backup(&url, &to).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let incidents = muster_store::check_backup(&to).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("backed up to {} ({incidents} incident(s)); checked", to.display());
    Ok(())
}

pub async fn restore(from: std::path::PathBuf, database: Option<String>, force: bool) -> anyhow::Result<()> {
    let url = database_url(database);
    let incidents = muster_store::restore(&from, &url, force).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("restored {} into {url} ({incidents} incident(s)); start the server on it", from.display());
    Ok(())
}
