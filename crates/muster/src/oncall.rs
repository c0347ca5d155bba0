//! Client commands for on-call: who is on call, rotations and their shifts, overrides, contacts.

use crate::client::{Client, s, strip_nulls, table};
use crate::{ClientArgs, ContactCommand, OverrideCommand, RangeArgs, RotationCommand};
use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::Method;
use serde_json::{Value, json};

fn zone(name: Option<&str>) -> anyhow::Result<TimeZone> {
    match name {
        Some(n) => TimeZone::get(n).with_context(|| format!("{n:?} is not an IANA time zone")),
        None => Ok(TimeZone::system()),
    }
}

/// An instant from the API, shown in a zone: `Mon 2026-11-23 09:00 CET`.
fn local(v: &Value, tz: &TimeZone) -> String {
    match v.as_str().and_then(|t| t.parse::<Timestamp>().ok()) {
        Some(t) => t.to_zoned(tz.clone()).strftime("%a %Y-%m-%d %H:%M %Z").to_string(),
        None => s(v),
    }
}

fn query(range: &RangeArgs) -> String {
    let mut q = Vec::new();
    if let Some(f) = &range.from {
        q.push(format!("from={f}"));
    }
    if let Some(t) = &range.to {
        q.push(format!("to={t}"));
    }
    if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
}

fn aliases(v: &Value) -> String {
    let list: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["alias"].as_str().or(c.as_str()).unwrap_or("?").to_string())
        .collect();
    if list.is_empty() { "(nobody)".into() } else { list.join(", ") }
}

fn shift_rows(items: &Value, tz: &TimeZone, with_rotation: bool) {
    let rows = items
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let mut row = vec![local(&x["start"], tz), local(&x["end"], tz), aliases(&x["contacts"])];
            row.push(if x["overridden"] == true { "override".into() } else { String::new() });
            if with_rotation {
                row.insert(0, s(&x["rotation"]));
            }
            row
        })
        .collect();
    if with_rotation {
        table(&["ROTATION", "START", "END", "ON CALL", ""], rows);
    } else {
        table(&["START", "END", "ON CALL", ""], rows);
    }
}

pub async fn oncall(args: &ClientArgs, rotation: Option<String>, at: Option<String>) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    let q = at.map(|a| format!("?at={a}")).unwrap_or_default();
    match rotation {
        Some(r) => {
            let v = c.call(Method::GET, &format!("/rotations/{r}/on-call{q}"), None).await?;
            c.print(&v, |v| {
                let note = if v["overridden"] == true { " (override)" } else { "" };
                println!("{}{note}", aliases(&v["contacts"]));
            });
        }
        None => {
            let v = c.call(Method::GET, &format!("/on-call{q}"), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let note = if r["overridden"] == true { "override" } else { "" };
                        vec![s(&r["rotation"]), aliases(&r["contacts"]), note.to_string()]
                    })
                    .collect();
                table(&["ROTATION", "ON CALL", ""], rows);
            });
        }
    }
    Ok(())
}

fn read_spec(path: &std::path::Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("{} is not YAML or JSON", path.display()))
}

pub async fn rotation(args: &ClientArgs, cmd: RotationCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        RotationCommand::List => {
            let v = c.call(Method::GET, "/rotations", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        vec![
                            s(&r["name"]),
                            s(&r["timeZone"]),
                            r["members"].as_array().map_or(0, Vec::len).to_string(),
                            s(&r["stack"]),
                        ]
                    })
                    .collect();
                table(&["NAME", "ZONE", "MEMBERS", "STACK"], rows);
            });
        }
        RotationCommand::Show { rotation } => {
            let v = c.call(Method::GET, &format!("/rotations/{rotation}"), None).await?;
            c.print(&v, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
        }
        RotationCommand::Shifts { rotation, range } => {
            let tz = zone(range.tz.as_deref())?;
            let v = c.call(Method::GET, &format!("/rotations/{rotation}/shifts{}", query(&range)), None).await?;
            c.print(&v, |v| shift_rows(v, &tz, false));
        }
        RotationCommand::Preview { path, range } => {
            let tz = zone(range.tz.as_deref())?;
            let body = json!({"rotation": read_spec(&path)?, "from": range.from, "to": range.to});
            let v = c.call(Method::POST, "/rotations/preview", Some(strip_nulls(body))).await?;
            c.print(&v, |v| shift_rows(v, &tz, false));
        }
        RotationCommand::Delete { rotation } => {
            c.call(Method::DELETE, &format!("/rotations/{rotation}"), None).await?;
            println!("rotation {rotation} deleted");
        }
    }
    Ok(())
}

pub async fn overrides(args: &ClientArgs, cmd: OverrideCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        OverrideCommand::Create { rotation, contacts, start, end } => {
            let body = json!({"contacts": contacts, "start": start, "end": end});
            let v = c.call(Method::POST, &format!("/rotations/{rotation}/overrides"), Some(body)).await?;
            c.print(&v, |v| {
                println!(
                    "override {} created: {} from {} to {}",
                    s(&v["id"]),
                    aliases(&v["contacts"]),
                    s(&v["start"]),
                    s(&v["end"])
                )
            });
        }
        OverrideCommand::List { rotation, range } => {
            let tz = zone(range.tz.as_deref())?;
            let v = c.call(Method::GET, &format!("/rotations/{rotation}/overrides{}", query(&range)), None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        vec![
                            s(&o["id"]),
                            local(&o["start"], &tz),
                            local(&o["end"], &tz),
                            aliases(&o["contacts"]),
                            s(&o["createdBy"]),
                        ]
                    })
                    .collect();
                table(&["ID", "START", "END", "ON CALL", "BY"], rows);
            });
        }
        OverrideCommand::Delete { rotation, id } => {
            c.call(Method::DELETE, &format!("/rotations/{rotation}/overrides/{id}"), None).await?;
            println!("override {id} deleted");
        }
    }
    Ok(())
}

pub async fn contact(args: &ClientArgs, cmd: ContactCommand) -> anyhow::Result<()> {
    let c = Client::new(args)?;
    match cmd {
        ContactCommand::List => {
            let v = c.call(Method::GET, "/contacts", None).await?;
            c.print(&v, |v| {
                let rows = v["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| vec![s(&x["alias"]), s(&x["type"]), s(&x["displayName"]), s(&x["timeZone"])])
                    .collect();
                table(&["ALIAS", "TYPE", "NAME", "ZONE"], rows);
            });
        }
        ContactCommand::Show { alias } => {
            let v = c.call(Method::GET, &format!("/contacts/{alias}"), None).await?;
            c.print(&v, |v| {
                println!("{} ({}) {}", s(&v["alias"]), s(&v["type"]), v["displayName"].as_str().unwrap_or(""));
                println!("calendar: {}", s(&v["calendarUrl"]));
                let rows = v["channels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|ch| vec![s(&ch["name"]), s(&ch["type"]), s(&ch["address"]), s(&ch["activationStatus"])])
                    .collect();
                table(&["CHANNEL", "TYPE", "ADDRESS", "STATUS"], rows);
            });
        }
        ContactCommand::Create { alias, name, tz } => {
            let body = strip_nulls(json!({"alias": alias, "displayName": name, "timeZone": tz}));
            let v = c.call(Method::POST, "/contacts", Some(body)).await?;
            c.print(&v, |v| println!("contact {} created", s(&v["alias"])));
        }
        ContactCommand::Delete { alias } => {
            c.call(Method::DELETE, &format!("/contacts/{alias}"), None).await?;
            println!("contact {alias} deleted");
        }
        ContactCommand::Shifts { alias, range } => {
            let tz = zone(range.tz.as_deref())?;
            let v = c.call(Method::GET, &format!("/contacts/{alias}/shifts{}", query(&range)), None).await?;
            c.print(&v, |v| shift_rows(v, &tz, true));
        }
        ContactCommand::AddChannel { alias, name, kind, address, defer_activation } => {
            let body = json!({"name": name, "type": kind.to_ascii_uppercase(), "address": address, "deferActivation": defer_activation});
            let v = c.call(Method::POST, &format!("/contacts/{alias}/channels"), Some(body)).await?;
            c.print(&v, |v| println!("channel {} added ({})", s(&v["name"]), s(&v["activationStatus"])));
        }
        ContactCommand::SendCode { alias, channel } => {
            let v = c
                .call(Method::POST, &format!("/contacts/{alias}/channels/{channel}/send-activation-code"), None)
                .await?;
            c.print(&v, |v| println!("code sent; it expires at {}", s(&v["expiresAt"])));
        }
        ContactCommand::Activate { alias, channel, code } => {
            if code.trim().is_empty() {
                bail!("the code is empty");
            }
            let v = c
                .call(
                    Method::POST,
                    &format!("/contacts/{alias}/channels/{channel}/activate"),
                    Some(json!({"code": code})),
                )
                .await?;
            c.print(&v, |v| println!("channel {} is {}", s(&v["name"]), s(&v["activationStatus"])));
        }
    }
    Ok(())
}
