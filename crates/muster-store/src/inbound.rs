//! Event rules, integrations, and inbound items in SQL. An inbound item is written with the job
//! that routes it, in one transaction, before its sender is answered.

use crate::error::{is_unique_violation, refuse_managed};
use crate::paging::insert_jobs;
use crate::sql::{Conn, json, ms, opt_ts, parse, ts};
use crate::{Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::engage::{NewJob, Task};
use muster_core::integration::{Inbound, Integration, IntegrationSpec};
use muster_core::new_id;
use muster_core::rule::{Rule, RuleSpec};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

/// An item to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInbound {
    pub id: String,
    pub kind: &'static str,
    pub integration_id: Option<String>,
    pub payload: Value,
}

/// What routing decided for an item; written with the routing job's end.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundUpdate {
    pub id: String,
    pub status: String,
    pub outcome: Value,
    pub incident_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundQuery {
    pub integration_id: Option<String>,
    pub status: Option<String>,
    pub limit: u32,
}

fn rule_from_row(r: &AnyRow) -> Result<Rule> {
    Ok(Rule {
        id: r.try_get("id")?,
        spec: parse(&r.try_get::<String, _>("spec")?)?,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn integration_from_row(r: &AnyRow) -> Result<Integration> {
    Ok(Integration {
        id: r.try_get("id")?,
        spec: parse(&r.try_get::<String, _>("spec")?)?,
        key_prefix: r.try_get("key_prefix")?,
        last_received_at: opt_ts(r.try_get("last_received_at")?)?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn inbound_from_row(r: &AnyRow) -> Result<Inbound> {
    Ok(Inbound {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        integration_id: r.try_get("integration_id")?,
        payload: parse(&r.try_get::<String, _>("payload")?)?,
        status: r.try_get("status")?,
        outcome: parse(&r.try_get::<String, _>("outcome")?)?,
        incident_id: r.try_get("incident_id")?,
        received_at: ts(r.try_get("received_at")?)?,
        routed_at: opt_ts(r.try_get("routed_at")?)?,
    })
}

fn name_taken(r: std::result::Result<sqlx::any::AnyQueryResult, sqlx::Error>, what: &str, name: &str) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::conflict("name", format!("{what} named {name:?} already exists")))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn insert_rule(
    conn: &mut Conn,
    spec: &RuleSpec,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let r = sqlx::query(
        "INSERT INTO rules (id, name, spec, stack, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(&spec.name)
    .bind(json(spec)?)
    .bind(stack)
    .bind(ms(now))
    .execute(&mut *conn)
    .await;
    name_taken(r, "a rule", &spec.name)?;
    Ok(id)
}

pub(crate) async fn update_rule(conn: &mut Conn, id: &str, spec: &RuleSpec, now: Timestamp) -> Result<()> {
    let r = sqlx::query("UPDATE rules SET name = $1, spec = $2, updated_at = $3 WHERE id = $4")
        .bind(&spec.name)
        .bind(json(spec)?)
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await;
    name_taken(r, "a rule", &spec.name)
}

pub(crate) async fn delete_rule(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM rules WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub(crate) async fn insert_inbound(conn: &mut Conn, items: &[NewInbound], now: Timestamp) -> Result<()> {
    let mut jobs = Vec::with_capacity(items.len());
    for item in items {
        sqlx::query(
            "INSERT INTO inbound (id, kind, integration_id, payload, status, outcome, incident_id, received_at, routed_at) \
             VALUES ($1, $2, $3, $4, 'pending', '{}', NULL, $5, NULL)",
        )
        .bind(&item.id)
        .bind(item.kind)
        .bind(item.integration_id.as_deref())
        .bind(json(&item.payload)?)
        .bind(ms(now))
        .execute(&mut *conn)
        .await?;
        let closes = matches!(item.payload["alert"]["action"].as_str(), Some("resolve" | "acknowledge"));
        jobs.push(NewJob::at(Task::Route { inbound_id: item.id.clone(), closes }, now));
    }
    insert_jobs(conn, &jobs, now).await
}

pub(crate) async fn apply_update(conn: &mut Conn, u: &InboundUpdate, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE inbound SET status = $1, outcome = $2, incident_id = $3, routed_at = $4 WHERE id = $5")
        .bind(&u.status)
        .bind(json(&u.outcome)?)
        .bind(u.incident_id.as_deref())
        .bind(ms(now))
        .bind(&u.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl SqlStore {
    pub(crate) async fn put_rule_impl(
        &self,
        key: Option<&str>,
        spec: &RuleSpec,
        now: Timestamp,
    ) -> Result<(Rule, bool)> {
        let mut tx = self.write.begin().await?;
        let existing = match key {
            Some(k) => {
                sqlx::query("SELECT * FROM rules WHERE name = $1 OR id = $1").bind(k).fetch_optional(&mut *tx).await?
            }
            None => None,
        };
        let (id, created) = match existing {
            Some(r) => {
                let rule = rule_from_row(&r)?;
                refuse_managed("rule", &rule.spec.name, &rule.stack)?;
                update_rule(&mut tx, &rule.id, spec, now).await?;
                (rule.id, false)
            }
            None => (insert_rule(&mut tx, spec, None, now).await?, true),
        };
        let row = sqlx::query("SELECT * FROM rules WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok((rule_from_row(&row)?, created))
    }

    pub(crate) async fn get_rule_impl(&self, key: &str) -> Result<Option<Rule>> {
        let row =
            sqlx::query("SELECT * FROM rules WHERE name = $1 OR id = $1").bind(key).fetch_optional(&self.read).await?;
        row.as_ref().map(rule_from_row).transpose()
    }

    pub(crate) async fn list_rules_impl(&self) -> Result<Vec<Rule>> {
        let rows = sqlx::query("SELECT * FROM rules ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(rule_from_row).collect()
    }

    pub(crate) async fn delete_rule_impl(&self, key: &str) -> Result<bool> {
        let Some(rule) = self.get_rule_impl(key).await? else { return Ok(false) };
        refuse_managed("rule", &rule.spec.name, &rule.stack)?;
        let mut tx = self.write.begin().await?;
        delete_rule(&mut tx, &rule.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn create_integration_impl(
        &self,
        spec: &IntegrationSpec,
        key_hash: &str,
        key_prefix: &str,
        now: Timestamp,
    ) -> Result<Integration> {
        let id = new_id();
        let r = sqlx::query(
            "INSERT INTO integrations (id, name, spec, key_hash, key_prefix, last_received_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $6)",
        )
        .bind(&id)
        .bind(&spec.name)
        .bind(json(spec)?)
        .bind(key_hash)
        .bind(key_prefix)
        .bind(ms(now))
        .execute(&self.write)
        .await;
        name_taken(r, "an integration", &spec.name)?;
        self.get_integration_impl(&id).await?.ok_or_else(|| StoreError::Internal("a new integration vanished".into()))
    }

    pub(crate) async fn replace_integration_impl(
        &self,
        key: &str,
        spec: &IntegrationSpec,
        now: Timestamp,
    ) -> Result<Option<Integration>> {
        let Some(current) = self.get_integration_impl(key).await? else { return Ok(None) };
        let r = sqlx::query("UPDATE integrations SET name = $1, spec = $2, updated_at = $3 WHERE id = $4")
            .bind(&spec.name)
            .bind(json(spec)?)
            .bind(ms(now))
            .bind(&current.id)
            .execute(&self.write)
            .await;
        name_taken(r, "an integration", &spec.name)?;
        self.get_integration_impl(&current.id).await
    }

    pub(crate) async fn get_integration_impl(&self, key: &str) -> Result<Option<Integration>> {
        let row = sqlx::query("SELECT * FROM integrations WHERE name = $1 OR id = $1")
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(integration_from_row).transpose()
    }

    pub(crate) async fn integration_by_key_impl(&self, key_hash: &str) -> Result<Option<Integration>> {
        let row = sqlx::query("SELECT * FROM integrations WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(integration_from_row).transpose()
    }

    pub(crate) async fn list_integrations_impl(&self) -> Result<Vec<Integration>> {
        let rows = sqlx::query("SELECT * FROM integrations ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(integration_from_row).collect()
    }

    pub(crate) async fn delete_integration_impl(&self, key: &str) -> Result<bool> {
        let r =
            sqlx::query("DELETE FROM integrations WHERE name = $1 OR id = $1").bind(key).execute(&self.write).await?;
        Ok(r.rows_affected() > 0)
    }

    pub(crate) async fn ingest_impl(&self, items: &[NewInbound], extra: &[NewJob], now: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_inbound(&mut tx, items, now).await?;
        insert_jobs(&mut tx, extra, now).await?;
        let mut integrations: Vec<&str> = items.iter().filter_map(|i| i.integration_id.as_deref()).collect();
        // One order on every node, so two batches never wait on each other's rows.
        integrations.sort_unstable();
        integrations.dedup();
        for id in integrations {
            sqlx::query("UPDATE integrations SET last_received_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.notify_jobs().await;
        Ok(())
    }

    pub(crate) async fn get_inbound_impl(&self, id: &str) -> Result<Option<Inbound>> {
        let row = sqlx::query("SELECT * FROM inbound WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(inbound_from_row).transpose()
    }

    pub(crate) async fn list_inbound_impl(&self, q: &InboundQuery) -> Result<Vec<Inbound>> {
        let mut sql = "SELECT * FROM inbound WHERE 1 = 1".to_string();
        let mut n = 0;
        if q.integration_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND integration_id = ${n}"));
        }
        if q.status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY received_at DESC, id DESC LIMIT {}", q.limit.clamp(1, 500)));
        let mut query = sqlx::query(&sql);
        if let Some(i) = &q.integration_id {
            query = query.bind(i);
        }
        if let Some(s) = &q.status {
            query = query.bind(s);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(inbound_from_row).collect()
    }

    pub(crate) async fn open_incident_by_dedupe_impl(&self, dedupe: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM incidents WHERE dedupe_string = $1 AND status = 'OPEN'")
            .bind(dedupe)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }
}

impl SqlStore {
    pub(crate) async fn put_silence_impl(&self, s: &muster_core::silence::Silence) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM silences WHERE id = $1").bind(&s.id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO silences (id, spec, starts_at, ends_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&s.id)
            .bind(json(s)?)
            .bind(ms(s.starts_at))
            .bind(ms(s.ends_at))
            .bind(ms(s.updated_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_silence_impl(&self, id: &str) -> Result<Option<muster_core::silence::Silence>> {
        let row = sqlx::query("SELECT spec FROM silences WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.map(|r| parse(&r.try_get::<String, _>(0)?)).transpose()
    }

    pub(crate) async fn list_silences_impl(&self) -> Result<Vec<muster_core::silence::Silence>> {
        let rows = sqlx::query("SELECT spec FROM silences ORDER BY starts_at DESC, id LIMIT 1000")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| parse(&r.try_get::<String, _>(0)?)).collect()
    }

    pub(crate) async fn silence_for_impl(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Option<String>> {
        let rows = sqlx::query("SELECT spec FROM silences WHERE starts_at <= $1 AND ends_at > $1 ORDER BY id")
            .bind(ms(now))
            .fetch_all(&self.read)
            .await?;
        for r in rows {
            let s: muster_core::silence::Silence = parse(&r.try_get::<String, _>(0)?)?;
            if s.mutes(labels, now) {
                return Ok(Some(s.id));
            }
        }
        Ok(None)
    }
}
