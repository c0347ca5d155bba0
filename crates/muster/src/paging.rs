//! Client commands for paging: pages, acknowledgements, engagements.

use crate::client::{Client, s, strip_nulls, table};
use crate::{ClientArgs, EngagementCommand, PageCommand, TopicCommand};
use reqwest::Method;
use serde_json::{Value, json};

fn page_rows(v: &Value) {
    let rows = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            vec![
                s(&p["id"]),
                s(&p["contact"]),
                format!("{} ({})", s(&p["channelName"]), s(&p["channelType"])),
                s(&p["status"]),
                s(&p["attempts"]),
                s(&p["createdAt"]),
            ]
        })
        .collect();
    table(&["PAGE", "CONTACT", "CHANNEL", "RECEIPT", "TRIES", "CREATED"], rows);
}

pub async fn page(args: &ClientArgs, cmd: PageCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        PageCommand::List { incident } => {
            let q = incident.map(|i| format!("?incident={i}")).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/pages{q}"), None).await?;
            c.print(&v, |v| page_rows(&v["items"]));
        }
        PageCommand::Ack { page } => {
            let v = c.call(Method::POST, &format!("/pages/{page}/ack"), None).await?;
            c.print(&v, |v| {
                let note = if v["stopped"] == true { "; the escalation is stopped" } else { "" };
                println!("page {} acknowledged{note}", s(&v["page"]["id"]));
            });
        }
    }
    Ok(())
}

pub async fn engage(
    args: &ClientArgs,
    contact: String,
    subject: String,
    content: Option<String>,
    incident: Option<String>,
) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let body = strip_nulls(json!({"contact": contact, "subject": subject, "content": content, "incident": incident}));
    let v = c.call(Method::POST, "/engagements", Some(body)).await?;
    c.print(&v, |v| println!("engagement {} started: engaging {}", s(&v["id"]), s(&v["contact"])));
    Ok(())
}

pub async fn engagement(args: &ClientArgs, cmd: EngagementCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        EngagementCommand::List { incident } => {
            let q = incident.map(|i| format!("?incident={i}")).unwrap_or_default();
            let v = c.call(Method::GET, &format!("/engagements{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        vec![s(&e["id"]), s(&e["contact"]), s(&e["status"]), s(&e["acknowledgedBy"]), s(&e["subject"])]
                    })
                    .collect();
                table(&["ENGAGEMENT", "CONTACT", "STATUS", "ACKED BY", "SUBJECT"], rows);
            });
        }
        EngagementCommand::Show { engagement } => {
            let v = c.call(Method::GET, &format!("/engagements/{engagement}"), None).await?;
            c.print(&v, |v| {
                println!("{} → {} ({})", s(&v["subject"]), s(&v["contact"]), s(&v["status"]));
                page_rows(&v["pages"]);
            });
        }
        EngagementCommand::Stop { engagement } => {
            let v = c.call(Method::POST, &format!("/engagements/{engagement}/stop"), None).await?;
            c.print(&v, |v| println!("engagement {} is {}", s(&v["id"]), s(&v["status"])));
        }
    }
    Ok(())
}

pub async fn topic(args: &ClientArgs, cmd: TopicCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        TopicCommand::List => {
            let v = c.call(Method::GET, "/topics", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        vec![
                            s(&t["name"]),
                            s(&t["displayName"]),
                            t["subscriptions"].as_array().map_or(0, Vec::len).to_string(),
                            s(&t["stack"]),
                        ]
                    })
                    .collect();
                table(&["TOPIC", "DISPLAY NAME", "SUBSCRIPTIONS", "STACK"], rows);
            });
        }
        TopicCommand::Publish { topic, subject, message } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("/topics/{topic}/publish"),
                    Some(json!({"subject": subject, "message": message})),
                )
                .await?;
            c.print(&v, |_| println!("published to {topic}"));
        }
    }
    Ok(())
}

pub async fn notifications(args: &ClientArgs, incident: Option<String>) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let q = incident.map(|i| format!("?incident={i}")).unwrap_or_default();
    let v = c.call(Method::GET, &format!("/notifications{q}"), None).await?;
    c.print(&v, |v| {
        let rows = v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| vec![s(&n["target"]), s(&n["destination"]), s(&n["status"]), s(&n["attempts"]), s(&n["subject"])])
            .collect();
        table(&["TO", "VIA", "RECEIPT", "TRIES", "SUBJECT"], rows);
    });
    Ok(())
}
