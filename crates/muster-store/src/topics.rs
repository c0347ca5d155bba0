//! Topics, subscriptions, chat channels and notifications in SQL.

use crate::error::{is_unique_violation, refuse_managed};
use crate::sql::{Conn, json, ms, opt_ts, parse, ts};
use crate::{Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::new_id;
use muster_core::topic::{
    ChatChannel, ChatChannelSpec, Notification, NotificationStatus, Protocol, Subscription, Topic, TopicSpec,
};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The two tables of simple named objects: a name, a JSON spec, the managing stack.
#[derive(Clone, Copy)]
pub(crate) enum Named {
    Topics,
    ChatChannels,
}

impl Named {
    fn table(self) -> &'static str {
        match self {
            Named::Topics => "topics",
            Named::ChatChannels => "chat_channels",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Named::Topics => "topic",
            Named::ChatChannels => "chat channel",
        }
    }
}

pub(crate) async fn insert_named(
    conn: &mut Conn,
    kind: Named,
    name: &str,
    spec: &str,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let row = sqlx::query(&format!(
        "INSERT INTO {} (id, name, spec, stack, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT DO NOTHING RETURNING id",
        kind.table()
    ))
    .bind(&id)
    .bind(name)
    .bind(spec)
    .bind(stack)
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(StoreError::conflict("name", format!("a {} named {name:?} already exists", kind.what())));
    }
    Ok(id)
}

pub(crate) async fn update_named(
    conn: &mut Conn,
    kind: Named,
    id: &str,
    name: &str,
    spec: &str,
    now: Timestamp,
) -> Result<()> {
    let r = sqlx::query(&format!("UPDATE {} SET name = $1, spec = $2, updated_at = $3 WHERE id = $4", kind.table()))
        .bind(name)
        .bind(spec)
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await;
    match r {
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::conflict("name", format!("a {} named {name:?} already exists", kind.what())))
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

pub(crate) async fn delete_named(conn: &mut Conn, kind: Named, id: &str) -> Result<()> {
    sqlx::query(&format!("DELETE FROM {} WHERE id = $1", kind.table())).bind(id).execute(&mut *conn).await?;
    Ok(())
}

struct Row_ {
    id: String,
    spec: String,
    stack: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn named_row(r: &AnyRow) -> Result<Row_> {
    Ok(Row_ {
        id: r.try_get("id")?,
        spec: r.try_get("spec")?,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn topic_of(r: Row_) -> Result<Topic> {
    Ok(Topic { id: r.id, spec: parse(&r.spec)?, stack: r.stack, created_at: r.created_at, updated_at: r.updated_at })
}

fn chat_of(r: Row_) -> Result<ChatChannel> {
    Ok(ChatChannel {
        id: r.id,
        spec: parse(&r.spec)?,
        stack: r.stack,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

pub(crate) async fn insert_subscription(
    conn: &mut Conn,
    topic: &str,
    s: &Subscription,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let row =
        sqlx::query("SELECT id FROM topics WHERE name = $1 OR id = $1").bind(topic).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Err(StoreError::conflict("topic", format!("there is no topic {topic:?}"))) };
    let topic_id: String = row.try_get(0)?;
    let id = new_id();
    sqlx::query("INSERT INTO topic_subscriptions (id, topic_id, protocol, endpoint, stack, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&topic_id)
        .bind(json(&s.protocol)?.trim_matches('"'))
        .bind(&s.endpoint)
        .bind(stack)
        .bind(ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub(crate) async fn update_subscription(conn: &mut Conn, id: &str, topic: &str, s: &Subscription) -> Result<()> {
    let row =
        sqlx::query("SELECT id FROM topics WHERE name = $1 OR id = $1").bind(topic).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Err(StoreError::conflict("topic", format!("there is no topic {topic:?}"))) };
    let topic_id: String = row.try_get(0)?;
    sqlx::query("UPDATE topic_subscriptions SET topic_id = $1, protocol = $2, endpoint = $3 WHERE id = $4")
        .bind(&topic_id)
        .bind(json(&s.protocol)?.trim_matches('"'))
        .bind(&s.endpoint)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn delete_subscription(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM topic_subscriptions WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

const NOTIFICATION_COLUMNS: &str = "id, incident_id, topic, destination, target, address, subject, body, status, attempts, last_error, created_at, sent_at, approval";

/// A notification with where it goes (kept out of the public JSON: it may hold a webhook secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub notification: Notification,
    /// The address the provider needs: an email, a phone number, a channel ID, a URL.
    pub address: String,
    /// The runbook execution this asks to approve, if it does.
    pub approval: Option<String>,
}

fn notification_from_row(r: &AnyRow) -> Result<Outgoing> {
    let status: String = r.try_get("status")?;
    Ok(Outgoing {
        notification: Notification {
            id: r.try_get("id")?,
            incident_id: r.try_get("incident_id")?,
            topic: r.try_get("topic")?,
            destination: r.try_get("destination")?,
            target: r.try_get("target")?,
            subject: r.try_get("subject")?,
            text: r.try_get("body")?,
            status: NotificationStatus::parse(&status)
                .ok_or_else(|| StoreError::Internal(format!("notification status {status}")))?,
            attempts: r.try_get::<i64, _>("attempts")? as u32,
            last_error: r.try_get("last_error")?,
            created_at: ts(r.try_get("created_at")?)?,
            sent_at: opt_ts(r.try_get("sent_at")?)?,
        },
        address: r.try_get("address")?,
        approval: r.try_get("approval")?,
    })
}

pub(crate) async fn insert_notification(conn: &mut Conn, o: &Outgoing) -> Result<()> {
    let n = &o.notification;
    sqlx::query(&format!(
        "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, NULL, $12)"
    ))
    .bind(&n.id)
    .bind(n.incident_id.as_deref())
    .bind(n.topic.as_deref())
    .bind(&n.destination)
    .bind(&n.target)
    .bind(&o.address)
    .bind(&n.subject)
    .bind(&n.text)
    .bind(n.status.as_str())
    .bind(i64::from(n.attempts))
    .bind(ms(n.created_at))
    .bind(o.approval.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationUpdate {
    pub id: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
    /// The provider's name for the message, when it gives one.
    pub reference: Option<String>,
}

pub(crate) async fn update_notification(conn: &mut Conn, u: &NotificationUpdate) -> Result<()> {
    sqlx::query(
        "UPDATE notifications SET status = $1, attempts = $2, last_error = $3, sent_at = COALESCE($4, sent_at), \
         reference = COALESCE($5, reference) WHERE id = $6",
    )
    .bind(u.status.as_str())
    .bind(i64::from(u.attempts))
    .bind(u.last_error.as_deref())
    .bind(u.sent_at.map(ms))
    .bind(u.reference.as_deref())
    .bind(&u.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    async fn get_named(&self, kind: Named, key: &str) -> Result<Option<Row_>> {
        let row = sqlx::query(&format!("SELECT * FROM {} WHERE name = $1 OR id = $1", kind.table()))
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(named_row).transpose()
    }

    async fn list_named(&self, kind: Named) -> Result<Vec<Row_>> {
        let rows = sqlx::query(&format!("SELECT * FROM {} ORDER BY name", kind.table())).fetch_all(&self.read).await?;
        rows.iter().map(named_row).collect()
    }

    async fn put_named(
        &self,
        kind: Named,
        key: Option<&str>,
        name: &str,
        spec: String,
        now: Timestamp,
    ) -> Result<(String, bool)> {
        let mut tx = self.write.begin().await?;
        let existing = match key {
            Some(k) => {
                let row = sqlx::query(&format!("SELECT * FROM {} WHERE name = $1 OR id = $1", kind.table()))
                    .bind(k)
                    .fetch_optional(&mut *tx)
                    .await?;
                row.as_ref().map(named_row).transpose()?
            }
            None => None,
        };
        let (id, created) = match existing {
            Some(r) => {
                refuse_managed(kind.what(), name, &r.stack)?;
                update_named(&mut tx, kind, &r.id, name, &spec, now).await?;
                (r.id, false)
            }
            None => (insert_named(&mut tx, kind, name, &spec, None, now).await?, true),
        };
        tx.commit().await?;
        Ok((id, created))
    }

    async fn remove_named(&self, kind: Named, key: &str) -> Result<bool> {
        let Some(r) = self.get_named(kind, key).await? else { return Ok(false) };
        let name = key.to_string();
        refuse_managed(kind.what(), &name, &r.stack)?;
        let mut tx = self.write.begin().await?;
        delete_named(&mut tx, kind, &r.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn put_topic_impl(
        &self,
        key: Option<&str>,
        spec: &TopicSpec,
        now: Timestamp,
    ) -> Result<(Topic, bool)> {
        let (id, created) = self.put_named(Named::Topics, key, &spec.name, json(spec)?, now).await?;
        let t =
            self.get_named(Named::Topics, &id).await?.ok_or_else(|| StoreError::Internal("a topic vanished".into()))?;
        Ok((topic_of(t)?, created))
    }

    pub(crate) async fn get_topic_impl(&self, key: &str) -> Result<Option<Topic>> {
        self.get_named(Named::Topics, key).await?.map(topic_of).transpose()
    }

    pub(crate) async fn list_topics_impl(&self) -> Result<Vec<Topic>> {
        self.list_named(Named::Topics).await?.into_iter().map(topic_of).collect()
    }

    pub(crate) async fn delete_topic_impl(&self, key: &str) -> Result<bool> {
        self.remove_named(Named::Topics, key).await
    }

    /// A topic's subscriptions: its own, and those made separately (`AWS::SNS::Subscription`).
    pub(crate) async fn subscriptions_impl(&self, topic: &Topic) -> Result<Vec<Subscription>> {
        let mut out = topic.spec.subscriptions.clone();
        let rows = sqlx::query(
            "SELECT protocol, endpoint FROM topic_subscriptions WHERE topic_id = $1 ORDER BY created_at, id",
        )
        .bind(&topic.id)
        .fetch_all(&self.read)
        .await?;
        for r in rows {
            let protocol: String = r.try_get("protocol")?;
            out.push(Subscription {
                protocol: Protocol::parse(&protocol).map_err(|e| StoreError::Internal(e.to_string()))?,
                endpoint: r.try_get("endpoint")?,
            });
        }
        Ok(out)
    }

    pub(crate) async fn put_chat_channel_impl(
        &self,
        key: Option<&str>,
        spec: &ChatChannelSpec,
        now: Timestamp,
    ) -> Result<(ChatChannel, bool)> {
        let (id, created) = self.put_named(Named::ChatChannels, key, &spec.name, json(spec)?, now).await?;
        let c = self
            .get_named(Named::ChatChannels, &id)
            .await?
            .ok_or_else(|| StoreError::Internal("a chat channel vanished".into()))?;
        Ok((chat_of(c)?, created))
    }

    pub(crate) async fn get_chat_channel_impl(&self, key: &str) -> Result<Option<ChatChannel>> {
        self.get_named(Named::ChatChannels, key).await?.map(chat_of).transpose()
    }

    pub(crate) async fn list_chat_channels_impl(&self) -> Result<Vec<ChatChannel>> {
        self.list_named(Named::ChatChannels).await?.into_iter().map(chat_of).collect()
    }

    pub(crate) async fn delete_chat_channel_impl(&self, key: &str) -> Result<bool> {
        self.remove_named(Named::ChatChannels, key).await
    }

    pub(crate) async fn list_notifications_impl(&self, incident_id: Option<&str>) -> Result<Vec<Notification>> {
        let rows =
            match incident_id {
                Some(i) => sqlx::query(&format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE incident_id = $1 ORDER BY created_at, id"
                ))
                .bind(i)
                .fetch_all(&self.read)
                .await?,
                None => {
                    sqlx::query(&format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications ORDER BY created_at DESC, id LIMIT 500"
                    ))
                    .fetch_all(&self.read)
                    .await?
                }
            };
        rows.iter().map(|r| notification_from_row(r).map(|o| o.notification)).collect()
    }

    pub(crate) async fn thread_of_impl(&self, incident_id: &str, target: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT reference FROM notifications WHERE incident_id = $1 AND target = $2 AND reference IS NOT NULL \
             ORDER BY created_at, id LIMIT 1",
        )
        .bind(incident_id)
        .bind(target)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub(crate) async fn get_outgoing_impl(&self, id: &str) -> Result<Option<Outgoing>> {
        let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(notification_from_row).transpose()
    }
}
