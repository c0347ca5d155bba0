//! The audit log in SQL: who changed what, when, and from where. Kept apart from incident
//! timelines.

use crate::sql::{ms, ts};
use crate::{Result, SqlStore};
use jiff::Timestamp;
use muster_core::audit::AuditEntry;
use sqlx::Row;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub actor: Option<String>,
    pub limit: u32,
}

impl SqlStore {
    pub(crate) async fn record_audit_impl(&self, e: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, method, path, status, remote, client, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&e.id)
        .bind(ms(e.at))
        .bind(&e.actor)
        .bind(&e.method)
        .bind(&e.path)
        .bind(i64::from(e.status))
        .bind(e.remote.as_deref())
        .bind(e.client.as_deref())
        .bind(e.request_id.as_deref())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub(crate) async fn list_audit_impl(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql =
            "SELECT id, at, actor, method, path, status, remote, client, request_id FROM audit_log WHERE 1 = 1"
                .to_string();
        let mut n = 0;
        for (present, clause) in
            [(q.from.is_some(), "at >= "), (q.to.is_some(), "at < "), (q.actor.is_some(), "actor = ")]
        {
            if present {
                n += 1;
                sql.push_str(&format!(" AND {clause}${n}"));
            }
        }
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {}", q.limit.clamp(1, 10_000)));
        let mut query = sqlx::query(&sql);
        if let Some(f) = q.from {
            query = query.bind(ms(f));
        }
        if let Some(t) = q.to {
            query = query.bind(ms(t));
        }
        if let Some(a) = &q.actor {
            query = query.bind(a);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: ts(r.try_get(1)?)?,
                    actor: r.try_get(2)?,
                    method: r.try_get(3)?,
                    path: r.try_get(4)?,
                    status: u16::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
                    remote: r.try_get(6)?,
                    client: r.try_get(7)?,
                    request_id: r.try_get(8)?,
                })
            })
            .collect()
    }
}
