//! Post-incident analyses, their templates, action items, and the data reports read, in SQL.

use crate::sql::{INCIDENT_COLUMNS, incident_from_row, json, ms, parse, ts};
use crate::{Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::analysis::{ActionItem, ActionItemSpec, Analysis, AnalysisTemplate, ReportIncident, ReportPage};
use muster_core::new_id;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// Which action items to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionItemQuery {
    pub analysis_id: Option<String>,
    pub owner: Option<String>,
    /// Only those not done.
    pub open: bool,
}

fn analysis_from_row(r: &AnyRow) -> Result<Analysis> {
    parse(&r.try_get::<String, _>("body")?)
}

fn item_from_row(r: &AnyRow) -> Result<ActionItem> {
    Ok(ActionItem {
        id: r.try_get("id")?,
        analysis_id: r.try_get("analysis_id")?,
        spec: parse(&r.try_get::<String, _>("spec")?)?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn status_text(s: muster_core::analysis::ActionStatus) -> Result<String> {
    Ok(json(&s)?.trim_matches('"').to_string())
}

impl SqlStore {
    pub(crate) async fn put_analysis_template_impl(&self, t: &AnalysisTemplate, now: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query("SELECT name FROM analysis_templates WHERE name = $1")
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await?;
        if existing.is_some() {
            sqlx::query("UPDATE analysis_templates SET spec = $1, updated_at = $2 WHERE name = $3")
                .bind(json(t)?)
                .bind(ms(now))
                .bind(&t.name)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("INSERT INTO analysis_templates (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)")
                .bind(&t.name)
                .bind(json(t)?)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(existing.is_none())
    }

    pub(crate) async fn get_analysis_template_impl(&self, name: &str) -> Result<Option<AnalysisTemplate>> {
        let row = sqlx::query("SELECT spec FROM analysis_templates WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| parse(&r.try_get::<String, _>(0)?)).transpose()
    }

    pub(crate) async fn list_analysis_templates_impl(&self) -> Result<Vec<AnalysisTemplate>> {
        let rows = sqlx::query("SELECT spec FROM analysis_templates ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(|r| parse(&r.try_get::<String, _>(0)?)).collect()
    }

    pub(crate) async fn put_analysis_impl(&self, a: &Analysis) -> Result<()> {
        // Updated in place: a delete would take the analysis's action items with it (they cascade).
        let updated = sqlx::query("UPDATE analyses SET body = $1, status = $2, updated_at = $3 WHERE id = $4")
            .bind(json(a)?)
            .bind(a.status.as_str())
            .bind(ms(a.updated_at))
            .bind(&a.id)
            .execute(&self.write)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO analyses (id, incident_id, body, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&a.id)
                .bind(&a.incident_id)
                .bind(json(a)?)
                .bind(a.status.as_str())
                .bind(ms(a.created_at))
                .bind(ms(a.updated_at))
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn get_analysis_impl(&self, id: &str) -> Result<Option<Analysis>> {
        let row = sqlx::query("SELECT body FROM analyses WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(analysis_from_row).transpose()
    }

    pub(crate) async fn list_analyses_impl(&self, incident_id: Option<&str>) -> Result<Vec<Analysis>> {
        let rows = match incident_id {
            Some(i) => {
                sqlx::query("SELECT body FROM analyses WHERE incident_id = $1 ORDER BY created_at DESC")
                    .bind(i)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query("SELECT body FROM analyses ORDER BY created_at DESC LIMIT 500")
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(analysis_from_row).collect()
    }

    pub(crate) async fn put_action_item_impl(
        &self,
        id: Option<&str>,
        analysis_id: &str,
        spec: &ActionItemSpec,
        now: Timestamp,
    ) -> Result<ActionItem> {
        let mut tx = self.write.begin().await?;
        let exists =
            sqlx::query("SELECT 1 FROM analyses WHERE id = $1").bind(analysis_id).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Err(StoreError::conflict("analysis", format!("there is no analysis {analysis_id}")));
        }
        if let Some(owner) = &spec.owner {
            let known =
                sqlx::query("SELECT 1 FROM contacts WHERE alias = $1").bind(owner).fetch_optional(&mut *tx).await?;
            if known.is_none() {
                return Err(StoreError::conflict("owner", format!("there is no contact {owner:?}")));
            }
        }
        let (id, created_at) = match id {
            Some(id) => {
                let row = sqlx::query("SELECT created_at FROM action_items WHERE id = $1 AND analysis_id = $2")
                    .bind(id)
                    .bind(analysis_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Err(StoreError::conflict("id", format!("there is no action item {id} in this analysis")));
                };
                sqlx::query("DELETE FROM action_items WHERE id = $1").bind(id).execute(&mut *tx).await?;
                (id.to_string(), ts(row.try_get(0)?)?)
            }
            None => (new_id(), now),
        };
        sqlx::query(
            "INSERT INTO action_items (id, analysis_id, spec, owner, due, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(analysis_id)
        .bind(json(spec)?)
        .bind(spec.owner.as_deref())
        .bind(spec.due.map(|d| d.to_string()))
        .bind(status_text(spec.status)?)
        .bind(ms(created_at))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ActionItem { id, analysis_id: analysis_id.to_string(), spec: spec.clone(), created_at, updated_at: now })
    }

    pub(crate) async fn list_action_items_impl(&self, q: &ActionItemQuery) -> Result<Vec<ActionItem>> {
        let mut sql = "SELECT * FROM action_items WHERE 1 = 1".to_string();
        let mut n = 0;
        if q.analysis_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND analysis_id = ${n}"));
        }
        if q.owner.is_some() {
            n += 1;
            sql.push_str(&format!(" AND owner = ${n}"));
        }
        if q.open {
            sql.push_str(" AND status <> 'DONE'");
        }
        sql.push_str(" ORDER BY due, created_at LIMIT 1000");
        let mut query = sqlx::query(&sql);
        if let Some(a) = &q.analysis_id {
            query = query.bind(a);
        }
        if let Some(o) = &q.owner {
            query = query.bind(o);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(item_from_row).collect()
    }

    pub(crate) async fn delete_action_item_impl(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM action_items WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(r.rows_affected() > 0)
    }

    pub(crate) async fn report_data_impl(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<ReportIncident>, Vec<ReportPage>)> {
        let rows = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at"
        ))
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        let incidents = rows.iter().map(incident_from_row).collect::<Result<Vec<_>>>()?;
        let mut acks: HashMap<String, i64> = HashMap::new();
        for sql in [
            "SELECT p.incident_id, MIN(p.read_at) FROM pages p JOIN incidents i ON i.id = p.incident_id \
             WHERE i.created_at >= $1 AND i.created_at < $2 AND p.read_at IS NOT NULL GROUP BY p.incident_id",
            "SELECT e.incident_id, MIN(e.event_time) FROM timeline_events e JOIN incidents i ON i.id = e.incident_id \
             WHERE i.created_at >= $1 AND i.created_at < $2 AND e.event_type = 'incident.acknowledged' GROUP BY e.incident_id",
        ] {
            for r in sqlx::query(sql).bind(ms(from)).bind(ms(to)).fetch_all(&self.read).await? {
                let id: String = r.try_get(0)?;
                let at: i64 = r.try_get(1)?;
                acks.entry(id).and_modify(|v| *v = (*v).min(at)).or_insert(at);
            }
        }
        let incidents = incidents
            .into_iter()
            .map(|i| {
                let acknowledged_at = acks.get(&i.id).map(|at| ts(*at)).transpose()?;
                Ok(ReportIncident { incident: i, acknowledged_at })
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT p.contact, p.created_at, c.spec FROM pages p LEFT JOIN contacts c ON c.alias = p.contact \
             WHERE p.created_at >= $1 AND p.created_at < $2",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        let pages = rows
            .iter()
            .map(|r| {
                let spec: Option<String> = r.try_get(2)?;
                let time_zone = spec
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                    .and_then(|v| v["timeZone"].as_str().map(str::to_string));
                Ok(ReportPage { contact: r.try_get(0)?, created_at: ts(r.try_get(1)?)?, time_zone })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((incidents, pages))
    }
}
