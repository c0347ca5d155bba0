//! Jobs, engagements and pages in SQL.

use crate::oncall::fetch_contact;
use crate::sql::{Conn, insert_event, json, ms, opt_ts, parse, ts};
use crate::{Result, SqlStore, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use muster_core::contact::ContactType;
use muster_core::engage::{Engagement, EngagementStatus, Job, NewJob, Page, PageStatus};
use muster_core::incident::NewEvent;
use sqlx::Row;
use sqlx::any::AnyRow;

/// What finishing a job writes, in one transaction with the job's deletion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// When set, the effects are written only while this engagement is still active.
    pub guard: Option<String>,
    pub pages: Vec<Page>,
    pub jobs: Vec<NewJob>,
    pub page_update: Option<PageUpdate>,
    /// Timeline events, by incident id.
    pub events: Vec<(String, NewEvent)>,
    pub notifications: Vec<crate::topics::Outgoing>,
    pub notification_update: Option<crate::topics::NotificationUpdate>,
    /// A runbook step's result; written only while its execution is still in progress.
    pub execution: Option<crate::runbooks::ExecutionChange>,
    /// An alarm evaluation's verdict; written with its history and actions only on a change.
    pub alarm: Option<crate::alarms::AlarmChange>,
    /// What routing decided for an inbound item.
    pub inbound: Option<crate::inbound::InboundUpdate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageUpdate {
    pub id: String,
    pub status: PageStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Done,
    /// The guarded engagement is no longer active: nothing was written, the job is still held.
    Guarded,
    /// Another node holds the job now (our lease ran out): nothing was written.
    LeaseLost,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, PartialEq)]
pub struct Acked {
    pub page: Page,
    /// False when the page had been acknowledged already.
    pub newly: bool,
    /// True when this acknowledgement stopped the engagement.
    pub stopped: bool,
}

pub(crate) fn engagement_from_row(r: &AnyRow) -> Result<Engagement> {
    let status: String = r.try_get("status")?;
    Ok(Engagement {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        contact: r.try_get("contact")?,
        subject: r.try_get("subject")?,
        content: r.try_get("content")?,
        status: EngagementStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("engagement status {status}")))?,
        created_at: ts(r.try_get("created_at")?)?,
        created_by: r.try_get("created_by")?,
        stopped_at: opt_ts(r.try_get("stopped_at")?)?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        acknowledged_via: r.try_get("acknowledged_via")?,
    })
}

fn page_from_row(r: &AnyRow) -> Result<Page> {
    let status: String = r.try_get("status")?;
    let kind: String = r.try_get("channel_type")?;
    Ok(Page {
        id: r.try_get("id")?,
        engagement_id: r.try_get("engagement_id")?,
        incident_id: r.try_get("incident_id")?,
        contact: r.try_get("contact")?,
        channel_id: r.try_get("channel_id")?,
        channel_name: r.try_get("channel_name")?,
        channel_type: kind.parse().map_err(|e: muster_core::Invalid| StoreError::Internal(e.to_string()))?,
        address: r.try_get("address")?,
        stage: r.try_get::<i64, _>("stage")? as u32,
        status: PageStatus::parse(&status).ok_or_else(|| StoreError::Internal(format!("page status {status}")))?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        last_error: r.try_get("last_error")?,
        ack_code: r.try_get("ack_code")?,
        created_at: ts(r.try_get("created_at")?)?,
        sent_at: opt_ts(r.try_get("sent_at")?)?,
        delivered_at: opt_ts(r.try_get("delivered_at")?)?,
        read_at: opt_ts(r.try_get("read_at")?)?,
        read_by: r.try_get("read_by")?,
        read_via: r.try_get("read_via")?,
    })
}

fn job_from_row(r: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        task: parse(&r.try_get::<String, _>("payload")?)?,
        due_at: ts(r.try_get("due_at")?)?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
    })
}

/// The kind of the jobs that route new alerts and events; claimed after everything else that is due.
const ROUTE: &str = "route";
/// Claim order, matching the `jobs_claim_order` index.
const CLAIM_ORDER: &str = "CASE WHEN kind = 'route' THEN 1 ELSE 0 END, due_at, id";

/// Writes jobs; one whose unique key exists already is dropped.
pub(crate) async fn insert_jobs(conn: &mut Conn, jobs: &[NewJob], now: Timestamp) -> Result<()> {
    for j in jobs {
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, due_at, attempts, locked_by, locked_until, created_at, unique_key) \
             VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&j.id)
        .bind(j.task.kind())
        .bind(json(&j.task)?)
        .bind(ms(j.due_at))
        .bind(i64::from(j.attempts))
        .bind(ms(now))
        .bind(j.unique_key.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_engagement(conn: &mut Conn, e: &Engagement, first: &NewJob) -> Result<()> {
    sqlx::query(
        "INSERT INTO engagements (id, incident_id, contact, subject, content, status, created_at, created_by, \
         stopped_at, acknowledged_by, acknowledged_via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)",
    )
    .bind(&e.id)
    .bind(e.incident_id.as_deref())
    .bind(&e.contact)
    .bind(&e.subject)
    .bind(&e.content)
    .bind(e.status.as_str())
    .bind(ms(e.created_at))
    .bind(&e.created_by)
    .execute(&mut *conn)
    .await?;
    insert_jobs(conn, std::slice::from_ref(first), e.created_at).await
}

async fn insert_page(conn: &mut Conn, p: &Page) -> Result<()> {
    sqlx::query(
        "INSERT INTO pages (id, engagement_id, incident_id, contact, channel_id, channel_name, channel_type, address, \
         stage, status, attempts, last_error, ack_code, created_at, sent_at, delivered_at, read_at, read_by, read_via) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, NULL, NULL, NULL, NULL, NULL)",
    )
    .bind(&p.id)
    .bind(&p.engagement_id)
    .bind(p.incident_id.as_deref())
    .bind(&p.contact)
    .bind(&p.channel_id)
    .bind(&p.channel_name)
    .bind(p.channel_type.as_str())
    .bind(&p.address)
    .bind(i64::from(p.stage))
    .bind(p.status.as_str())
    .bind(i64::from(p.attempts))
    .bind(&p.ack_code)
    .bind(ms(p.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    pub(crate) async fn setting_impl(&self, name: &str, default: &str) -> Result<String> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(default)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.write)
            .await?
            .try_get(0)?)
    }

    pub(crate) async fn enqueue_impl(&self, jobs: &[NewJob], now: Timestamp) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_jobs(&mut tx, jobs, now).await?;
        tx.commit().await?;
        self.notify_jobs().await;
        Ok(())
    }

    /// Wakes the other nodes (PostgreSQL) after jobs were written.
    pub(crate) async fn notify_jobs(&self) {
        if self.backend() == crate::Backend::Postgres {
            let _ = sqlx::query("SELECT pg_notify('muster_jobs', '')").execute(&self.write).await;
        }
    }

    /// Claims due jobs, the routing of new alerts last: a storm of alerts to route never holds up
    /// a page, a notification or an escalation stage that is due, while acknowledgements and
    /// resolves (`route-close`) keep their place in due order among them (`jobs_claim_order`).
    pub(crate) async fn claim_jobs_impl(
        &self,
        node: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let skip = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 WHERE id IN ( \
               SELECT id FROM jobs WHERE due_at <= $3 AND (locked_until IS NULL OR locked_until < $3) \
               ORDER BY {CLAIM_ORDER} LIMIT {limit}{skip}) RETURNING id, payload, due_at, attempts"
        ))
        .bind(node)
        .bind(ms(now + lease))
        .bind(ms(now))
        .fetch_all(&self.write)
        .await?;
        // RETURNING keeps no order: the claim order again.
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by(|a, b| (a.task.kind() == ROUTE, a.due_at, &a.id).cmp(&(b.task.kind() == ROUTE, b.due_at, &b.id)));
        Ok(jobs)
    }

    pub(crate) async fn next_due_impl(&self) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT MIN(CASE WHEN locked_until IS NULL OR locked_until < due_at THEN due_at ELSE locked_until END) FROM jobs")
            .fetch_one(&self.read)
            .await?;
        opt_ts(row.try_get(0)?)
    }

    pub(crate) async fn finish_job_impl(
        &self,
        job_id: &str,
        node: &str,
        effects: &Effects,
        now: Timestamp,
    ) -> Result<Finish> {
        let mut tx = self.write.begin().await?;
        let held = sqlx::query(&format!("SELECT locked_by FROM jobs WHERE id = $1{}", self.lock()))
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
        match held {
            Some(row) if row.try_get::<Option<String>, _>(0)?.as_deref() == Some(node) => {}
            _ => return Ok(Finish::LeaseLost),
        }
        if let Some(engagement) = &effects.guard {
            let row = sqlx::query(&format!("SELECT status FROM engagements WHERE id = $1{}", self.lock()))
                .bind(engagement)
                .fetch_optional(&mut *tx)
                .await?;
            let active = match row {
                Some(r) => r.try_get::<String, _>(0)? == EngagementStatus::Active.as_str(),
                None => false,
            };
            if !active {
                return Ok(Finish::Guarded);
            }
        }
        if let Some(change) = &effects.execution {
            if !crate::runbooks::execution_running(&mut tx, &change.id, self.lock()).await? {
                return Ok(Finish::Guarded);
            }
            crate::runbooks::apply_change(&mut tx, change, now).await?;
        }
        if let Some(u) = &effects.inbound {
            crate::inbound::apply_update(&mut tx, u, now).await?;
        }
        if let Some(change) = &effects.alarm {
            crate::alarms::apply_change(&mut tx, change, self.lock(), now).await?;
        }
        for p in &effects.pages {
            insert_page(&mut tx, p).await?;
        }
        if let Some(u) = &effects.page_update {
            sqlx::query(
                "UPDATE pages SET status = $1, attempts = $2, last_error = $3, sent_at = COALESCE($4, sent_at), \
                 delivered_at = COALESCE($5, delivered_at) WHERE id = $6 AND status <> 'READ'",
            )
            .bind(u.status.as_str())
            .bind(i64::from(u.attempts))
            .bind(u.last_error.as_deref())
            .bind(u.sent_at.map(ms))
            .bind(u.delivered_at.map(ms))
            .bind(&u.id)
            .execute(&mut *tx)
            .await?;
        }
        for n in &effects.notifications {
            crate::topics::insert_notification(&mut tx, n).await?;
        }
        if let Some(u) = &effects.notification_update {
            crate::topics::update_notification(&mut tx, u).await?;
        }
        for (incident, event) in &effects.events {
            insert_event(&mut tx, incident, event).await?;
        }
        // Deleted before the new jobs go in, so a job may hand its unique key on to its successor.
        sqlx::query("DELETE FROM jobs WHERE id = $1").bind(job_id).execute(&mut *tx).await?;
        insert_jobs(&mut tx, &effects.jobs, now).await?;
        tx.commit().await?;
        if !effects.jobs.is_empty() {
            self.notify_jobs().await;
        }
        Ok(Finish::Done)
    }

    pub(crate) async fn get_engagement_impl(&self, id: &str) -> Result<Option<Engagement>> {
        let row = sqlx::query("SELECT * FROM engagements WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(engagement_from_row).transpose()
    }

    pub(crate) async fn list_engagements_impl(&self, incident_id: Option<&str>) -> Result<Vec<Engagement>> {
        let rows = match incident_id {
            Some(i) => {
                sqlx::query("SELECT * FROM engagements WHERE incident_id = $1 ORDER BY created_at, id")
                    .bind(i)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM engagements ORDER BY created_at DESC, id LIMIT 500")
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(engagement_from_row).collect()
    }

    pub(crate) async fn create_engagement_impl(&self, e: &Engagement, first: &NewJob) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_engagement(&mut tx, e, first).await?;
        tx.commit().await?;
        self.notify_jobs().await;
        Ok(())
    }

    pub(crate) async fn stop_engagement_impl(&self, id: &str, now: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE engagements SET status = 'STOPPED', stopped_at = $1 WHERE id = $2 AND status = 'ACTIVE'",
        )
        .bind(ms(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn get_page_impl(&self, id: &str) -> Result<Option<Page>> {
        let row = sqlx::query("SELECT * FROM pages WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(page_from_row).transpose()
    }

    pub(crate) async fn list_pages_impl(
        &self,
        incident_id: Option<&str>,
        engagement_id: Option<&str>,
    ) -> Result<Vec<Page>> {
        let rows = match (incident_id, engagement_id) {
            (_, Some(e)) => {
                sqlx::query("SELECT * FROM pages WHERE engagement_id = $1 ORDER BY created_at, id")
                    .bind(e)
                    .fetch_all(&self.read)
                    .await?
            }
            (Some(i), None) => {
                sqlx::query("SELECT * FROM pages WHERE incident_id = $1 ORDER BY created_at, id")
                    .bind(i)
                    .fetch_all(&self.read)
                    .await?
            }
            (None, None) => {
                sqlx::query("SELECT * FROM pages ORDER BY created_at DESC, id LIMIT 500").fetch_all(&self.read).await?
            }
        };
        rows.iter().map(page_from_row).collect()
    }

    pub(crate) async fn page_by_code_impl(&self, address: &str, code: &str) -> Result<Option<Page>> {
        let row = sqlx::query(
            "SELECT * FROM pages WHERE ack_code = $1 AND address = $2 AND status <> 'CANCELLED' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(code)
        .bind(address)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(page_from_row).transpose()
    }

    pub(crate) async fn person_acked_impl(&self, engagement_id: &str, contact: &str) -> Result<bool> {
        let row =
            sqlx::query("SELECT id FROM pages WHERE engagement_id = $1 AND contact = $2 AND status = 'READ' LIMIT 1")
                .bind(engagement_id)
                .bind(contact)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.is_some())
    }

    pub(crate) async fn acknowledge_impl(
        &self,
        page_id: &str,
        by: &str,
        via: &str,
        now: Timestamp,
    ) -> Result<Option<Acked>> {
        let mut tx = self.write.begin().await?;
        let Some(row) = sqlx::query(&format!("SELECT * FROM pages WHERE id = $1{}", self.lock()))
            .bind(page_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let page = page_from_row(&row)?;
        if page.status == PageStatus::Read {
            tx.commit().await?;
            return Ok(Some(Acked { page, newly: false, stopped: false }));
        }
        sqlx::query("UPDATE pages SET status = 'READ', read_at = $1, read_by = $2, read_via = $3 WHERE id = $4")
            .bind(ms(now))
            .bind(by)
            .bind(via)
            .bind(page_id)
            .execute(&mut *tx)
            .await?;
        let erow = sqlx::query(&format!("SELECT * FROM engagements WHERE id = $1{}", self.lock()))
            .bind(&page.engagement_id)
            .fetch_one(&mut *tx)
            .await?;
        let engagement = engagement_from_row(&erow)?;
        let mut stopped = false;
        if engagement.status == EngagementStatus::Active {
            // An escalation with essential targets stops only for one of them; anything else stops.
            let stops = match fetch_contact(&mut tx, &engagement.contact).await? {
                Some(c) if c.kind == ContactType::Escalation => {
                    c.plan.as_ref().is_none_or(|p| p.stops_on_ack_by(&page.contact))
                }
                _ => true,
            };
            if stops {
                sqlx::query(
                    "UPDATE engagements SET status = 'ACKNOWLEDGED', stopped_at = $1, acknowledged_by = $2, acknowledged_via = $3 \
                     WHERE id = $4",
                )
                .bind(ms(now))
                .bind(&page.contact)
                .bind(via)
                .bind(&engagement.id)
                .execute(&mut *tx)
                .await?;
                stopped = true;
            }
        }
        if let Some(incident) = &page.incident_id {
            let message = if stopped {
                format!(
                    "{} acknowledged the page (via {via}); engagement of {} stopped",
                    page.contact, engagement.contact
                )
            } else {
                format!("{} acknowledged the page (via {via})", page.contact)
            };
            let event = NewEvent::new(
                "page.acknowledged",
                by,
                message,
                serde_json::json!({"pageId": page.id, "contact": page.contact, "via": via, "engagementId": engagement.id, "stopped": stopped}),
                now,
            );
            insert_event(&mut tx, incident, &event).await?;
        }
        tx.commit().await?;
        let page = Page {
            status: PageStatus::Read,
            read_at: Some(now),
            read_by: Some(by.to_string()),
            read_via: Some(via.to_string()),
            ..page
        };
        Ok(Some(Acked { page, newly: true, stopped }))
    }
}
