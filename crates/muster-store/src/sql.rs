//! The SQL implementation of [`Store`] for both backends.
//!
//! Both schemas keep times as Unix milliseconds and structured values as JSON text, so one body of
//! SQL (with `$n` placeholders, which both SQLite and PostgreSQL accept) serves both through sqlx's
//! `Any` driver. What differs is isolated in [`SqlStore::lock`] and the connection setup: SQLite
//! gets one writer connection (writes are serialized, readers run beside it under WAL), PostgreSQL
//! a shared pool with row locks.

use crate::error::{is_unique_violation, refuse_managed};
use crate::inbound::{InboundQuery, NewInbound};
use crate::oncall;
use crate::paging::{Acked, Effects, Finish};
use crate::topics::{Named, Outgoing};
use crate::{Activation, Backend, IncidentPage, IncidentQuery, Result, StartOutcome, Store, StoreError, StoredStack};
use async_trait::async_trait;
use jiff::SignedDuration;
use jiff::Timestamp;
use muster_core::alarm::{Alarm, AlarmHistoryItem, AlarmSpec, Evaluation, StateValue};
use muster_core::auth::{ApiToken, Role};
use muster_core::contact::{Channel, ChannelSpec, Contact, ContactSpec};
use muster_core::engage::{Engagement, EngagementStatus, Job, NewJob, Page, Task};
use muster_core::incident::{
    Incident, IncidentPatch, IncidentStatus, NewEvent, NewIncident, PlanRef, RelatedItem, TimelineEvent, apply_patch,
};
use muster_core::integration::{Inbound, Integration, IntegrationSpec};
use muster_core::metric::{Datapoint, Dimensions};
use muster_core::plan::{ResponsePlan, ResponsePlanSpec};
use muster_core::rotation::{Override, Rotation, RotationSpec};
use muster_core::rule::{Rule, RuleSpec};
use muster_core::runbook::{Document, Execution, Runbook};
use muster_core::stack::{
    ApplyReport, ChangeAction, DesiredResource, Kind, ResourceSpec, StackPlan, StackResource, diff, kind_of,
};
use muster_core::topic::{ChatChannel, ChatChannelSpec, Notification, Subscription, Topic, TopicSpec};
use muster_core::{Invalid, new_id};
use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Connection, Executor, Row};
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How often a start retries after losing a race to a concurrent start. Each retry sees the winner.
const START_ATTEMPTS: usize = 8;

#[derive(Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
    pub(crate) write: AnyPool,
    pub(crate) read: AnyPool,
}

pub(crate) type Conn = AnyConnection;

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(v: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(v).map_err(|e| StoreError::Internal(format!("stored time {v} is out of range: {e}")))
}

pub(crate) fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>> {
    v.map(ts).transpose()
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

/// `sqlite://PATH` (or `sqlite:PATH`) to a path and a URL that creates the file when missing.
/// The file a SQLite URL names.
pub(crate) fn sqlite_path(url: &str) -> Result<String> {
    sqlite_target(url).map(|(path, _)| path)
}

fn sqlite_target(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() {
        return Err(StoreError::Unavailable("the sqlite URL names no file".into()));
    }
    if path == ":memory:" {
        return Err(StoreError::Unavailable("an in-memory database keeps nothing; name a file".into()));
    }
    Ok((path.to_string(), format!("sqlite://{path}?mode=rwc")))
}

impl SqlStore {
    /// Connects to the database a URL names, creating a SQLite file (and its folder) when missing,
    /// and applies that backend's migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Unavailable("unsupported database URL; use sqlite://PATH or postgres://...".into())
        })?;
        let store = match backend {
            Backend::Sqlite => {
                let (path, url) = sqlite_target(url)?;
                if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
                }
                let options = || {
                    AnyPoolOptions::new()
                        .acquire_timeout(Duration::from_secs(10))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute("PRAGMA busy_timeout = 10000").await?;
                                conn.execute("PRAGMA foreign_keys = ON").await?;
                                // Every acknowledged write is on disk: invariant 1.
                                conn.execute("PRAGMA synchronous = FULL").await?;
                                Ok(())
                            })
                        })
                        // A connection goes back to the pool only outside any transaction. When a write
                        // fails (a full disk, say) the dropped transaction's rollback can fail too; the
                        // connection would then stay inside it, and every later "commit" on it would only
                        // release a savepoint in a transaction nobody commits. Such a connection is
                        // closed instead, which rolls back what it held, and the pool opens a fresh one.
                        .after_release(|conn, _| {
                            Box::pin(async move {
                                conn.ping().await?;
                                if conn.is_in_transaction() {
                                    tracing::warn!("a database connection was left inside a transaction; closing it");
                                    return Ok(false);
                                }
                                Ok(true)
                            })
                        })
                };
                let write = options().max_connections(1).connect(&url).await?;
                write.execute("PRAGMA journal_mode = WAL").await?;
                let read = options().max_connections(4).connect(&url).await?;
                SqlStore { backend, write, read }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                SqlStore { backend, write: pool.clone(), read: pool }
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&store.write).await.map_err(|e| StoreError::Unavailable(format!("migrations failed: {e}")))?;
        Ok(store)
    }

    /// Row lock for read-modify-write: PostgreSQL locks the row; SQLite's single writer already
    /// holds the database. `NO KEY UPDATE` serializes writers of the row without blocking inserts
    /// elsewhere that merely refer to it (a timeline event's foreign key), which `FOR UPDATE` would,
    /// and which could deadlock a resolve against a worker writing that incident's timeline.
    pub(crate) fn lock(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR NO KEY UPDATE",
        }
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, number, title, impact, status, summary, dedupe_string, response_plan_id, \
     response_plan_name, tags, roles, trigger_info, trigger_count, created_at, updated_at, resolved_at, \
     last_triggered_at, created_by";

pub(crate) fn incident_from_row(r: &AnyRow) -> Result<Incident> {
    let plan_id: Option<String> = r.try_get("response_plan_id")?;
    let plan_name: Option<String> = r.try_get("response_plan_name")?;
    let status: String = r.try_get("status")?;
    Ok(Incident {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        impact: r.try_get::<i64, _>("impact")?.try_into().map_err(|e: Invalid| StoreError::Internal(e.to_string()))?,
        status: status.parse().map_err(|e: Invalid| StoreError::Internal(e.to_string()))?,
        summary: r.try_get("summary")?,
        dedupe_string: r.try_get("dedupe_string")?,
        response_plan: plan_id.zip(plan_name).map(|(id, name)| PlanRef { id, name }),
        tags: parse(&r.try_get::<String, _>("tags")?)?,
        roles: parse(&r.try_get::<String, _>("roles")?)?,
        trigger: parse(&r.try_get::<String, _>("trigger_info")?)?,
        trigger_count: r.try_get("trigger_count")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
        resolved_at: opt_ts(r.try_get("resolved_at")?)?,
        last_triggered_at: ts(r.try_get("last_triggered_at")?)?,
        created_by: r.try_get("created_by")?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<TimelineEvent> {
    Ok(TimelineEvent {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        event_time: ts(r.try_get("event_time")?)?,
        created_at: ts(r.try_get("created_at")?)?,
        event_type: r.try_get("event_type")?,
        actor: r.try_get("actor")?,
        message: r.try_get("message")?,
        data: parse(&r.try_get::<String, _>("data")?)?,
    })
}

fn plan_from_row(r: &AnyRow) -> Result<ResponsePlan> {
    let spec: ResponsePlanSpec = parse(&r.try_get::<String, _>("spec")?)?;
    Ok(ResponsePlan {
        id: r.try_get("id")?,
        name: spec.name,
        display_name: spec.display_name,
        incident_template: spec.incident_template,
        chat_channels: spec.chat_channels,
        engagements: spec.engagements,
        actions: spec.actions,
        integrations: spec.integrations,
        maintenance: spec.maintenance,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn token_from_row(r: &AnyRow) -> Result<ApiToken> {
    let role: String = r.try_get("role")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: role.parse::<Role>().map_err(|e| StoreError::Internal(e.to_string()))?,
        token_hash: r.try_get("token_hash")?,
        created_at: ts(r.try_get("created_at")?)?,
        created_by: r.try_get("created_by")?,
        revoked_at: opt_ts(r.try_get("revoked_at")?)?,
    })
}

fn stack_resource_from_row(r: &AnyRow) -> Result<StackResource> {
    Ok(StackResource {
        logical_id: r.try_get("logical_id")?,
        resource_type: r.try_get("resource_type")?,
        physical_id: r.try_get("physical_id")?,
        properties: parse(&r.try_get::<String, _>("properties")?)?,
    })
}

/// Whether a key names an incident by number rather than id.
fn by_number(key: &str) -> Option<i64> {
    let key = key.strip_prefix('#').unwrap_or(key);
    if key.is_empty() || key.len() > 18 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

async fn fetch_incident(conn: &mut Conn, key: &str, lock: &str) -> Result<Option<Incident>> {
    let row = match by_number(key) {
        Some(n) => {
            sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1{lock}"))
                .bind(n)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => {
            sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1{lock}"))
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    row.as_ref().map(incident_from_row).transpose()
}

/// Writes a related item; false when the incident has it already.
pub(crate) async fn insert_related(conn: &mut Conn, item: &RelatedItem) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO related_items (id, incident_id, kind, title, value, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&item.id)
    .bind(&item.incident_id)
    .bind(item.kind.as_str())
    .bind(item.title.as_deref())
    .bind(&item.value)
    .bind(ms(item.created_at))
    .bind(&item.created_by)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

pub(crate) async fn insert_event(conn: &mut Conn, incident_id: &str, e: &NewEvent) -> Result<TimelineEvent> {
    sqlx::query(
        "INSERT INTO timeline_events (id, incident_id, event_time, created_at, event_type, actor, message, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(incident_id)
    .bind(ms(e.event_time))
    .bind(ms(e.created_at))
    .bind(&e.event_type)
    .bind(&e.actor)
    .bind(&e.message)
    .bind(json(&e.data)?)
    .execute(&mut *conn)
    .await?;
    Ok(e.clone().into_event(incident_id))
}

/// How long re-triggers are folded into the last one's timeline event.
const TRIGGER_FOLD_MS: i64 = 60_000;

/// Puts a re-trigger on the timeline. Within a minute of the latest re-trigger event from the same
/// source it is folded into that event (`Triggered again by X (triggers 2-40)`), so a storm leaves
/// one event a minute and a readable timeline; the incident's `triggerCount` stays exact either way.
async fn record_trigger(conn: &mut Conn, incident_id: &str, new: &NewIncident, count: i64) -> Result<()> {
    let now = new.now;
    let recent = sqlx::query(
        "SELECT id, data FROM timeline_events WHERE incident_id = $1 AND event_type = 'incident.triggered' \
         AND event_time >= $2 ORDER BY event_time DESC, id DESC LIMIT 1",
    )
    .bind(incident_id)
    .bind(ms(now) - TRIGGER_FOLD_MS)
    .fetch_optional(&mut *conn)
    .await?;
    // Only re-triggers from the same source fold together; another source gets its own event.
    let mut fold = None;
    if let Some(row) = recent {
        let data: serde_json::Value = parse(&row.try_get::<String, _>(1)?)?;
        if data["source"].as_str() == Some(new.trigger.source.as_str()) {
            let first = data["firstTriggerCount"].as_i64().or(data["triggerCount"].as_i64()).unwrap_or(count);
            fold = Some((row.try_get::<String, _>(0)?, first));
        }
    }
    let first = fold.as_ref().map_or(count, |(_, first)| *first);
    let message = if first == count {
        format!("Triggered again by {} (trigger {count})", new.trigger.source)
    } else {
        format!("Triggered again by {} (triggers {first}-{count})", new.trigger.source)
    };
    let data = serde_json::json!({"source": new.trigger.source, "details": new.trigger.details,
        "triggerCount": count, "firstTriggerCount": first});
    match fold {
        Some((event_id, _)) => {
            sqlx::query("UPDATE timeline_events SET message = $1, data = $2 WHERE id = $3")
                .bind(&message)
                .bind(json(&data)?)
                .bind(event_id)
                .execute(&mut *conn)
                .await?;
        }
        None => {
            let event = NewEvent::new("incident.triggered", &new.created_by, message, data, now);
            insert_event(conn, incident_id, &event).await?;
        }
    }
    Ok(())
}

/// Records a client token for an incident; false when a concurrent start took the same token.
async fn remember_token(conn: &mut Conn, token: Option<&str>, incident_id: &str, now: Timestamp) -> Result<bool> {
    let Some(token) = token else { return Ok(true) };
    let row = sqlx::query(
        "INSERT INTO start_tokens (token, incident_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING token",
    )
    .bind(token)
    .bind(incident_id)
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

enum Attempt {
    Done(StartOutcome),
    Raced,
}

impl SqlStore {
    async fn try_start(&self, new: &NewIncident) -> Result<Attempt> {
        let mut tx = self.write.begin().await?;
        let now = new.now;
        if let Some(token) = &new.client_token {
            let row = sqlx::query("SELECT incident_id FROM start_tokens WHERE token = $1")
                .bind(token)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                let id: String = row.try_get(0)?;
                let incident = fetch_incident(&mut tx, &id, "").await?;
                tx.commit().await?;
                return match incident {
                    Some(i) => Ok(Attempt::Done(StartOutcome::Replayed(i))),
                    None => Err(StoreError::Internal("a start token names a missing incident".into())),
                };
            }
        }
        if let Some(dedupe) = &new.dedupe_string {
            let row = sqlx::query(
                "UPDATE incidents SET trigger_count = trigger_count + 1, last_triggered_at = $1, updated_at = $1 \
                 WHERE dedupe_string = $2 AND status = 'OPEN' RETURNING id, trigger_count",
            )
            .bind(ms(now))
            .bind(dedupe)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let id: String = row.try_get(0)?;
                let count: i64 = row.try_get(1)?;
                if !remember_token(&mut tx, new.client_token.as_deref(), &id, now).await? {
                    return Ok(Attempt::Raced);
                }
                record_trigger(&mut tx, &id, new, count).await?;
                let incident = fetch_incident(&mut tx, &id, "").await?;
                tx.commit().await?;
                return incident
                    .map(|i| Attempt::Done(StartOutcome::Deduplicated(i)))
                    .ok_or_else(|| StoreError::Internal("a deduplicated incident vanished".into()));
            }
        }
        let number: i64 =
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, 'OPEN', $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, NULL, $12, $13) \
             ON CONFLICT DO NOTHING RETURNING id"
        ))
        .bind(&new.id)
        .bind(number)
        .bind(&new.title)
        .bind(i64::from(new.impact))
        .bind(new.summary.as_deref())
        .bind(new.dedupe_string.as_deref())
        .bind(new.response_plan.as_ref().map(|p| p.id.as_str()))
        .bind(new.response_plan.as_ref().map(|p| p.name.as_str()))
        .bind(json(&new.tags)?)
        .bind(json(&new.roles)?)
        .bind(json(&new.trigger)?)
        .bind(ms(now))
        .bind(&new.created_by)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() || !remember_token(&mut tx, new.client_token.as_deref(), &new.id, now).await? {
            // A concurrent start opened the same dedupe string or used the same token first.
            return Ok(Attempt::Raced);
        }
        for alias in &new.engagements {
            let engagement = Engagement {
                id: new_id(),
                incident_id: Some(new.id.clone()),
                contact: alias.clone(),
                subject: format!("Incident #{number}: {} (impact {})", new.title, new.impact),
                content: new.summary.clone().unwrap_or_default(),
                status: EngagementStatus::Active,
                created_at: now,
                created_by: new.created_by.clone(),
                stopped_at: None,
                acknowledged_by: None,
                acknowledged_via: None,
            };
            let first = NewJob::at(Task::StartEngagement { engagement_id: engagement.id.clone() }, now);
            crate::paging::insert_engagement(&mut tx, &engagement, &first).await?;
        }
        for target in &new.notify {
            let task = Task::Publish {
                approval: None,
                incident_id: Some(new.id.clone()),
                target: target.clone(),
                subject: format!("Incident #{number} opened: {} (impact {})", new.title, new.impact),
                text: new.summary.clone().unwrap_or_else(|| new.title.clone()),
            };
            crate::paging::insert_jobs(&mut tx, &[NewJob::at(task, now)], now).await?;
        }
        if let Some(plan) = &new.response_plan {
            let row = sqlx::query("SELECT spec FROM response_plans WHERE id = $1")
                .bind(&plan.id)
                .fetch_optional(&mut *tx)
                .await?;
            let actions = match row {
                Some(r) => parse::<ResponsePlanSpec>(&r.try_get::<String, _>(0)?)?.actions,
                None => vec![],
            };
            for action in &actions {
                crate::runbooks::start_from_plan(&mut tx, &new.id, plan, action, &new.resources, &new.created_by, now)
                    .await?;
            }
        }
        for item in &new.related {
            crate::sql::insert_related(&mut tx, &RelatedItem { incident_id: new.id.clone(), ..item.clone() }).await?;
        }
        let mut message = format!("Incident #{number} started by {}", new.trigger.source);
        if let Some(p) = &new.response_plan {
            message.push_str(&format!(" from response plan {}", p.name));
        }
        let event = NewEvent::new(
            "incident.started",
            &new.created_by,
            message,
            serde_json::json!({"source": new.trigger.source, "details": new.trigger.details}),
            now,
        );
        insert_event(&mut tx, &new.id, &event).await?;
        let incident = fetch_incident(&mut tx, &new.id, "").await?;
        tx.commit().await?;
        if !new.engagements.is_empty() || !new.notify.is_empty() {
            self.notify_jobs().await;
        }
        incident
            .map(|i| Attempt::Done(StartOutcome::Created(i)))
            .ok_or_else(|| StoreError::Internal("a new incident vanished".into()))
    }

    async fn create_physical(
        &self,
        conn: &mut Conn,
        stack: &str,
        d: &DesiredResource,
        now: Timestamp,
    ) -> Result<String> {
        match &d.spec {
            ResourceSpec::ResponsePlan(spec) => {
                let id = new_id();
                let row = sqlx::query(
                    "INSERT INTO response_plans (id, name, spec, stack, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(&id)
                .bind(&spec.name)
                .bind(json(spec)?)
                .bind(stack)
                .bind(ms(now))
                .fetch_optional(&mut *conn)
                .await?;
                if row.is_none() {
                    return Err(StoreError::conflict(
                        format!("Resources.{}.Properties.Name", d.logical_id),
                        format!("a response plan named {:?} already exists outside this stack", spec.name),
                    ));
                }
                Ok(id)
            }
            ResourceSpec::Contact(spec) => {
                oncall::insert_contact(conn, spec, Some(stack), now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Channel { contact, spec } => {
                let Some(c) = oncall::fetch_contact(conn, contact).await? else {
                    return Err(StoreError::conflict(
                        format!("Resources.{}.contact", d.logical_id),
                        format!("there is no contact {contact:?}"),
                    ));
                };
                oncall::insert_channel(conn, &c.id, spec, !spec.defer_activation, Some(stack), now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Rotation(spec) => {
                oncall::insert_rotation(conn, spec, Some(stack), now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Topic(spec) => {
                crate::topics::insert_named(conn, Named::Topics, &spec.name, &json(spec)?, Some(stack), now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::ChatChannel(spec) => {
                crate::topics::insert_named(conn, Named::ChatChannels, &spec.name, &json(spec)?, Some(stack), now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Subscription { topic, subscription } => {
                crate::topics::insert_subscription(conn, topic, subscription, Some(stack), now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::ContactPlan { contact, plan, rotations } => {
                oncall::set_contact_plan(conn, contact, Some(plan), rotations, now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))?;
                Ok(new_id())
            }
            ResourceSpec::Runbook { name, document } => {
                crate::runbooks::insert_runbook(conn, name, document, Some(stack), now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Alarm(spec) => {
                crate::alarms::insert_alarm(conn, spec, Some(stack), now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Rule(spec) => {
                crate::inbound::insert_rule(conn, spec, Some(stack), now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Kept => Ok(new_id()),
        }
    }

    async fn update_physical(
        &self,
        conn: &mut Conn,
        physical_id: &str,
        d: &DesiredResource,
        now: Timestamp,
    ) -> Result<()> {
        match &d.spec {
            ResourceSpec::ResponsePlan(spec) => {
                let r = sqlx::query("UPDATE response_plans SET name = $1, spec = $2, updated_at = $3 WHERE id = $4")
                    .bind(&spec.name)
                    .bind(json(spec)?)
                    .bind(ms(now))
                    .bind(physical_id)
                    .execute(&mut *conn)
                    .await;
                match r {
                    Err(e) if is_unique_violation(&e) => Err(StoreError::conflict(
                        format!("Resources.{}.Properties.Name", d.logical_id),
                        format!("a response plan named {:?} already exists outside this stack", spec.name),
                    )),
                    other => other.map(|_| ()).map_err(Into::into),
                }
            }
            ResourceSpec::Contact(spec) => {
                oncall::update_contact(conn, physical_id, spec, now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Channel { spec, .. } => {
                oncall::update_channel(conn, physical_id, spec, !spec.defer_activation, now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Rotation(spec) => {
                oncall::update_rotation(conn, physical_id, spec, now).await.map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Topic(spec) => {
                crate::topics::update_named(conn, Named::Topics, physical_id, &spec.name, &json(spec)?, now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::ChatChannel(spec) => {
                crate::topics::update_named(conn, Named::ChatChannels, physical_id, &spec.name, &json(spec)?, now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Subscription { topic, subscription } => {
                crate::topics::update_subscription(conn, physical_id, topic, subscription)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::ContactPlan { contact, plan, rotations } => {
                oncall::set_contact_plan(conn, contact, Some(plan), rotations, now)
                    .await
                    .map_err(|e| within(e, &d.logical_id))
            }
            ResourceSpec::Runbook { name, document } => {
                crate::runbooks::update_runbook(conn, physical_id, name, document, now).await
            }
            ResourceSpec::Alarm(spec) => crate::alarms::update_alarm(conn, physical_id, spec, now).await,
            ResourceSpec::Rule(spec) => crate::inbound::update_rule(conn, physical_id, spec, now).await,
            ResourceSpec::Kept => Ok(()),
        }
    }

    async fn delete_physical(&self, conn: &mut Conn, r: &StackResource, now: Timestamp) -> Result<()> {
        let id = &r.physical_id;
        match kind_of(&r.resource_type) {
            Kind::ResponsePlan => {
                sqlx::query("DELETE FROM response_plans WHERE id = $1").bind(id).execute(&mut *conn).await?;
            }
            Kind::Contact => oncall::remove_contact(conn, id).await.map_err(|e| within(e, &r.logical_id))?,
            Kind::Channel => {
                sqlx::query("DELETE FROM contact_channels WHERE id = $1").bind(id).execute(&mut *conn).await?;
            }
            Kind::Rotation => oncall::remove_rotation(conn, id).await?,
            Kind::Topic => crate::topics::delete_named(conn, Named::Topics, id).await?,
            Kind::ChatChannel => crate::topics::delete_named(conn, Named::ChatChannels, id).await?,
            Kind::Subscription => crate::topics::delete_subscription(conn, id).await?,
            Kind::ContactPlan => {
                // The plan goes; the contact stays (it may belong to another stack, or none).
                if let Some(contact) = r.properties.get("ContactId").and_then(|c| c.as_str()) {
                    let alias = muster_core::incident::contact_alias(contact);
                    let _ = oncall::set_contact_plan(conn, &alias, None, &[], now).await;
                }
            }
            Kind::Runbook => crate::runbooks::delete_runbook(conn, id).await?,
            Kind::Alarm => crate::alarms::delete_alarm(conn, id).await?,
            Kind::Rule => crate::inbound::delete_rule(conn, id).await?,
            Kind::Kept => {}
        }
        Ok(())
    }

    async fn stack_resources(&self, conn: &mut Conn, name: &str) -> Result<Vec<StackResource>> {
        let rows = sqlx::query(
            "SELECT logical_id, resource_type, physical_id, properties FROM stack_resources WHERE stack = $1 ORDER BY logical_id",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(stack_resource_from_row).collect()
    }

    async fn stack_from_row(&self, conn: &mut Conn, r: &AnyRow) -> Result<StoredStack> {
        let name: String = r.try_get("name")?;
        let resources = self.stack_resources(conn, &name).await?;
        Ok(StoredStack {
            format: r.try_get("format")?,
            template: r.try_get("template")?,
            parameters: parse(&r.try_get::<String, _>("parameters")?)?,
            outputs: parse(&r.try_get::<String, _>("outputs")?)?,
            resources,
            created_at: ts(r.try_get("created_at")?)?,
            updated_at: ts(r.try_get("updated_at")?)?,
            name,
        })
    }
}

/// Names the stack resource an error came from.
fn within(e: StoreError, logical_id: &str) -> StoreError {
    match e {
        StoreError::Conflict(i) => StoreError::Conflict(i.within(&format!("Resources.{logical_id}"))),
        other => other,
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT value FROM counters WHERE name = 'incident_number'").fetch_one(&self.read).await?;
        Ok(())
    }

    async fn count_tokens(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM api_tokens").fetch_one(&self.read).await?.try_get(0)?)
    }

    async fn create_token(&self, t: &ApiToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.role.as_str())
        .bind(&t.token_hash)
        .bind(ms(t.created_at))
        .bind(&t.created_by)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at, id").fetch_all(&self.read).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str, now: Timestamp) -> Result<bool> {
        let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ms(now))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn start_incident(&self, new: NewIncident) -> Result<StartOutcome> {
        for _ in 0..START_ATTEMPTS {
            match self.try_start(&new).await {
                Ok(Attempt::Done(outcome)) => return Ok(outcome),
                Ok(Attempt::Raced) => continue,
                // PostgreSQL reports a lost race on a unique index as an error rather than a conflict.
                Err(StoreError::Internal(msg)) if msg.contains("23505") || msg.contains("duplicate key") => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable("too many concurrent starts for the same incident; try again".into()))
    }

    async fn get_incident(&self, key: &str) -> Result<Option<Incident>> {
        let mut conn = self.read.acquire().await?;
        fetch_incident(&mut conn, key, "").await
    }

    async fn list_incidents(&self, q: &IncidentQuery) -> Result<IncidentPage> {
        let limit = q.limit.clamp(1, 500);
        let mut sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1");
        let mut n = 0;
        if q.status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
        }
        if q.before.is_some() {
            n += 1;
            sql.push_str(&format!(" AND number < ${n}"));
        }
        sql.push_str(&format!(" ORDER BY number DESC LIMIT {}", limit + 1));
        let mut query = sqlx::query(&sql);
        if let Some(s) = q.status {
            query = query.bind(s.as_str());
        }
        if let Some(b) = q.before {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut items = rows.iter().map(incident_from_row).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|i| i.number)
        } else {
            None
        };
        Ok(IncidentPage { items, next })
    }

    async fn update_incident(
        &self,
        key: &str,
        patch: &IncidentPatch,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<(Incident, Vec<TimelineEvent>)>> {
        let mut tx = self.write.begin().await?;
        let Some(current) = fetch_incident(&mut tx, key, self.lock()).await? else {
            return Ok(None);
        };
        let (next, events) = apply_patch(&current, patch, actor, now);
        if events.is_empty() {
            tx.commit().await?;
            return Ok(Some((current, Vec::new())));
        }
        let r = sqlx::query(
            "UPDATE incidents SET title = $1, impact = $2, status = $3, summary = $4, tags = $5, roles = $6, \
             updated_at = $7, resolved_at = $8 WHERE id = $9",
        )
        .bind(&next.title)
        .bind(i64::from(next.impact))
        .bind(next.status.as_str())
        .bind(next.summary.as_deref())
        .bind(json(&next.tags)?)
        .bind(json(&next.roles)?)
        .bind(ms(next.updated_at))
        .bind(next.resolved_at.map(ms))
        .bind(&next.id)
        .execute(&mut *tx)
        .await;
        if let Err(e) = r {
            return Err(if is_unique_violation(&e) {
                StoreError::conflict(
                    "status",
                    "another open incident has the same dedupe string; resolve it before reopening this one",
                )
            } else {
                e.into()
            });
        }
        let mut written = Vec::with_capacity(events.len());
        for e in &events {
            written.push(insert_event(&mut tx, &next.id, e).await?);
        }
        if next.status == IncidentStatus::Resolved && current.status != IncidentStatus::Resolved {
            // A resolved incident wakes nobody: its engagements stop with it.
            let stopped = sqlx::query(
                "UPDATE engagements SET status = 'STOPPED', stopped_at = $1 WHERE incident_id = $2 AND status = 'ACTIVE'",
            )
            .bind(ms(now))
            .bind(&next.id)
            .execute(&mut *tx)
            .await?;
            // Tell the plan's topics and chat channels.
            if let Some(plan) = &next.response_plan {
                let row = sqlx::query("SELECT spec FROM response_plans WHERE id = $1")
                    .bind(&plan.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = row {
                    let spec: ResponsePlanSpec = parse(&row.try_get::<String, _>(0)?)?;
                    for target in spec.chat_channels {
                        let task = Task::Publish {
                            approval: None,
                            incident_id: Some(next.id.clone()),
                            target,
                            subject: format!("Incident #{} resolved: {}", next.number, next.title),
                            text: format!("Resolved by {actor}."),
                        };
                        crate::paging::insert_jobs(&mut tx, &[NewJob::at(task, now)], now).await?;
                    }
                }
            }
            if stopped.rows_affected() > 0 {
                let e = NewEvent::new(
                    "engagement.stopped",
                    actor,
                    format!("{} engagement(s) stopped: the incident is resolved", stopped.rows_affected()),
                    serde_json::Value::Null,
                    now,
                );
                written.push(insert_event(&mut tx, &next.id, &e).await?);
            }
        }
        tx.commit().await?;
        Ok(Some((next, written)))
    }

    async fn add_timeline_event(&self, key: &str, event: NewEvent) -> Result<Option<TimelineEvent>> {
        let mut tx = self.write.begin().await?;
        let Some(incident) = fetch_incident(&mut tx, key, "").await? else {
            return Ok(None);
        };
        let e = insert_event(&mut tx, &incident.id, &event).await?;
        tx.commit().await?;
        Ok(Some(e))
    }

    async fn list_timeline(&self, incident_id: &str) -> Result<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, event_time, created_at, event_type, actor, message, data FROM timeline_events \
             WHERE incident_id = $1 ORDER BY event_time, created_at, id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn add_related_item(&self, item: &RelatedItem) -> Result<()> {
        let mut tx = self.write.begin().await?;
        if !insert_related(&mut tx, item).await? {
            return Err(StoreError::conflict("value", "this incident already has that related item"));
        }
        let label = item.title.clone().unwrap_or_else(|| item.value.clone());
        let event = NewEvent::new(
            "related-item.added",
            &item.created_by,
            format!("Added related {}: {label}", item.kind.as_str()),
            serde_json::json!({"relatedItemId": item.id, "type": item.kind, "value": item.value}),
            item.created_at,
        );
        insert_event(&mut tx, &item.incident_id, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_related_items(&self, incident_id: &str) -> Result<Vec<RelatedItem>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, title, value, created_at, created_by FROM related_items \
             WHERE incident_id = $1 ORDER BY created_at, id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(RelatedItem {
                    id: r.try_get("id")?,
                    incident_id: r.try_get("incident_id")?,
                    kind: kind.parse().map_err(|e: Invalid| StoreError::Internal(e.to_string()))?,
                    title: r.try_get("title")?,
                    value: r.try_get("value")?,
                    created_at: ts(r.try_get("created_at")?)?,
                    created_by: r.try_get("created_by")?,
                })
            })
            .collect()
    }

    async fn create_plan(&self, spec: &ResponsePlanSpec, now: Timestamp) -> Result<ResponsePlan> {
        let id = new_id();
        let row = sqlx::query(
            "INSERT INTO response_plans (id, name, spec, stack, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $4) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(&spec.name)
        .bind(json(spec)?)
        .bind(ms(now))
        .fetch_optional(&self.write)
        .await?;
        if row.is_none() {
            return Err(StoreError::conflict("name", format!("a response plan named {:?} already exists", spec.name)));
        }
        self.get_plan(&id).await?.ok_or_else(|| StoreError::Internal("a new plan vanished".into()))
    }

    async fn replace_plan(&self, key: &str, spec: &ResponsePlanSpec, now: Timestamp) -> Result<Option<ResponsePlan>> {
        let Some(plan) = self.get_plan(key).await? else { return Ok(None) };
        refuse_managed("response plan", &plan.name, &plan.stack)?;
        let r = sqlx::query(
            "UPDATE response_plans SET name = $1, spec = $2, updated_at = $3 WHERE id = $4 AND stack IS NULL",
        )
        .bind(&spec.name)
        .bind(json(spec)?)
        .bind(ms(now))
        .bind(&plan.id)
        .execute(&self.write)
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::conflict("name", format!("a response plan named {:?} already exists", spec.name)))
            }
            Err(e) => Err(e.into()),
            Ok(_) => self.get_plan(&plan.id).await,
        }
    }

    async fn get_plan(&self, key: &str) -> Result<Option<ResponsePlan>> {
        let row = sqlx::query("SELECT * FROM response_plans WHERE id = $1 OR name = $1")
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(plan_from_row).transpose()
    }

    async fn list_plans(&self) -> Result<Vec<ResponsePlan>> {
        let rows = sqlx::query("SELECT * FROM response_plans ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(plan_from_row).collect()
    }

    async fn delete_plan(&self, key: &str) -> Result<bool> {
        let Some(plan) = self.get_plan(key).await? else { return Ok(false) };
        refuse_managed("response plan", &plan.name, &plan.stack)?;
        let r = sqlx::query("DELETE FROM response_plans WHERE id = $1 AND stack IS NULL")
            .bind(&plan.id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn apply_stack(&self, plan: &StackPlan, dry_run: bool, now: Timestamp) -> Result<ApplyReport> {
        let mut tx = self.write.begin().await?;
        let before = sqlx::query(&format!("SELECT * FROM stacks WHERE name = $1{}", self.lock()))
            .bind(&plan.name)
            .fetch_optional(&mut *tx)
            .await?;
        let parameters = json(&plan.parameters)?;
        let outputs = json(&plan.outputs)?;
        let stack_changed = match &before {
            None => {
                sqlx::query(
                    "INSERT INTO stacks (name, format, template, parameters, outputs, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&plan.name)
                .bind(&plan.format)
                .bind(&plan.template)
                .bind(&parameters)
                .bind(&outputs)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
                true
            }
            Some(row) => {
                let same = row.try_get::<String, _>("template")? == plan.template
                    && row.try_get::<String, _>("parameters")? == parameters
                    && row.try_get::<String, _>("outputs")? == outputs
                    && row.try_get::<String, _>("format")? == plan.format;
                if !same {
                    sqlx::query(
                        "UPDATE stacks SET format = $1, template = $2, parameters = $3, outputs = $4, updated_at = $5 WHERE name = $6",
                    )
                    .bind(&plan.format)
                    .bind(&plan.template)
                    .bind(&parameters)
                    .bind(&outputs)
                    .bind(ms(now))
                    .bind(&plan.name)
                    .execute(&mut *tx)
                    .await?;
                }
                !same
            }
        };
        let existing = self.stack_resources(&mut tx, &plan.name).await?;
        let changes = diff(&existing, &plan.resources);
        for change in &changes {
            let old =
                existing.iter().find(|e| e.logical_id == change.logical_id && e.resource_type == change.resource_type);
            let new = plan.resources.iter().find(|d| d.logical_id == change.logical_id);
            match (change.action, old, new) {
                (ChangeAction::Delete, Some(old), _) => {
                    self.delete_physical(&mut tx, old, now).await?;
                    sqlx::query("DELETE FROM stack_resources WHERE stack = $1 AND logical_id = $2")
                        .bind(&plan.name)
                        .bind(&old.logical_id)
                        .execute(&mut *tx)
                        .await?;
                }
                (ChangeAction::Create, _, Some(new)) => {
                    let physical_id = self.create_physical(&mut tx, &plan.name, new, now).await?;
                    sqlx::query(
                        "INSERT INTO stack_resources (stack, logical_id, resource_type, physical_id, properties) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&plan.name)
                    .bind(&new.logical_id)
                    .bind(&new.resource_type)
                    .bind(&physical_id)
                    .bind(json(&new.properties)?)
                    .execute(&mut *tx)
                    .await?;
                }
                (ChangeAction::Update, Some(old), Some(new)) => {
                    self.update_physical(&mut tx, &old.physical_id, new, now).await?;
                    sqlx::query("UPDATE stack_resources SET properties = $1 WHERE stack = $2 AND logical_id = $3")
                        .bind(json(&new.properties)?)
                        .bind(&plan.name)
                        .bind(&new.logical_id)
                        .execute(&mut *tx)
                        .await?;
                }
                (ChangeAction::Unchanged, _, _) => {}
                _ => return Err(StoreError::Internal(format!("stack diff is inconsistent for {}", change.logical_id))),
            }
        }
        let changed = stack_changed || changes.iter().any(|c| c.action != ChangeAction::Unchanged);
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(ApplyReport {
            stack: plan.name.clone(),
            dry_run,
            changed,
            changes,
            skipped: plan.skipped.clone(),
            warnings: plan.warnings.clone(),
            outputs: plan.outputs.clone(),
        })
    }

    async fn get_stack(&self, name: &str) -> Result<Option<StoredStack>> {
        let mut conn = self.read.acquire().await?;
        let row = sqlx::query("SELECT * FROM stacks WHERE name = $1").bind(name).fetch_optional(&mut *conn).await?;
        match row {
            Some(r) => Ok(Some(self.stack_from_row(&mut conn, &r).await?)),
            None => Ok(None),
        }
    }

    async fn list_stacks(&self) -> Result<Vec<StoredStack>> {
        let mut conn = self.read.acquire().await?;
        let rows = sqlx::query("SELECT * FROM stacks ORDER BY name").fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.stack_from_row(&mut conn, r).await?);
        }
        Ok(out)
    }

    async fn delete_stack(&self, name: &str, now: Timestamp) -> Result<Option<Vec<StackResource>>> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query(&format!("SELECT name FROM stacks WHERE name = $1{}", self.lock()))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let resources = self.stack_resources(&mut tx, name).await?;
        // An apply of nothing: every resource deleted, in the order that keeps references whole.
        for change in diff(&resources, &[]) {
            if let Some(r) = resources.iter().find(|r| r.logical_id == change.logical_id) {
                self.delete_physical(&mut tx, r, now).await?;
            }
        }
        sqlx::query("DELETE FROM stack_resources WHERE stack = $1").bind(name).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM stacks WHERE name = $1").bind(name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(resources))
    }

    async fn create_contact(&self, spec: &ContactSpec, now: Timestamp) -> Result<Contact> {
        self.create_contact_impl(spec, now).await
    }

    async fn replace_contact(&self, key: &str, spec: &ContactSpec, now: Timestamp) -> Result<Option<Contact>> {
        self.replace_contact_impl(key, spec, now).await
    }

    async fn get_contact(&self, key: &str) -> Result<Option<Contact>> {
        self.get_contact_impl(key).await
    }

    async fn list_contacts(&self) -> Result<Vec<Contact>> {
        self.list_contacts_impl().await
    }

    async fn delete_contact(&self, key: &str) -> Result<bool> {
        self.delete_contact_impl(key).await
    }

    async fn contact_by_calendar_token(&self, token: &str) -> Result<Option<Contact>> {
        self.contact_by_token_impl(token).await
    }

    async fn add_channel(
        &self,
        contact_id: &str,
        spec: &ChannelSpec,
        activated: bool,
        now: Timestamp,
    ) -> Result<Channel> {
        self.add_channel_impl(contact_id, spec, activated, now).await
    }

    async fn list_channels(&self, contact_id: &str) -> Result<Vec<Channel>> {
        self.list_channels_impl(contact_id).await
    }

    async fn get_channel(&self, contact_id: &str, key: &str) -> Result<Option<Channel>> {
        self.get_channel_impl(contact_id, key).await
    }

    async fn delete_channel(&self, contact_id: &str, key: &str) -> Result<bool> {
        self.delete_channel_impl(contact_id, key).await
    }

    async fn set_activation_code(&self, channel_id: &str, code_hash: &str, expires: Timestamp) -> Result<()> {
        self.set_activation_code_impl(channel_id, code_hash, expires).await
    }

    async fn activate_channel(&self, channel_id: &str, code_hash: &str, now: Timestamp) -> Result<Activation> {
        self.activate_channel_impl(channel_id, code_hash, now).await
    }

    async fn create_rotation(&self, spec: &RotationSpec, now: Timestamp) -> Result<Rotation> {
        self.create_rotation_impl(spec, now).await
    }

    async fn replace_rotation(&self, key: &str, spec: &RotationSpec, now: Timestamp) -> Result<Option<Rotation>> {
        self.replace_rotation_impl(key, spec, now).await
    }

    async fn get_rotation(&self, key: &str) -> Result<Option<Rotation>> {
        self.get_rotation_impl(key).await
    }

    async fn list_rotations(&self) -> Result<Vec<Rotation>> {
        self.list_rotations_impl().await
    }

    async fn delete_rotation(&self, key: &str) -> Result<bool> {
        self.delete_rotation_impl(key).await
    }

    async fn rotation_by_calendar_token(&self, token: &str) -> Result<Option<Rotation>> {
        self.rotation_by_token_impl(token).await
    }

    async fn add_override(&self, rotation_id: &str, o: &Override) -> Result<()> {
        self.add_override_impl(rotation_id, o).await
    }

    async fn list_overrides(
        &self,
        rotation_id: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, Override)>> {
        self.list_overrides_impl(rotation_id, from, to).await
    }

    async fn delete_override(&self, rotation_id: &str, id: &str) -> Result<bool> {
        self.delete_override_impl(rotation_id, id).await
    }

    async fn setting(&self, name: &str, default: &str) -> Result<String> {
        self.setting_impl(name, default).await
    }

    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<()> {
        self.enqueue_impl(jobs, now).await
    }

    async fn claim_jobs(&self, node: &str, now: Timestamp, lease: SignedDuration, limit: u32) -> Result<Vec<Job>> {
        self.claim_jobs_impl(node, now, lease, limit).await
    }

    async fn next_job_due(&self) -> Result<Option<Timestamp>> {
        self.next_due_impl().await
    }

    async fn release_claims(&self, node: Option<&str>) -> Result<u64> {
        let r = match node {
            Some(n) => {
                sqlx::query("UPDATE jobs SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1")
                    .bind(n)
                    .execute(&self.write)
                    .await?
            }
            None => {
                sqlx::query("UPDATE jobs SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL")
                    .execute(&self.write)
                    .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn finish_job(&self, job_id: &str, node: &str, effects: &Effects, now: Timestamp) -> Result<Finish> {
        self.finish_job_impl(job_id, node, effects, now).await
    }

    async fn create_engagement(&self, e: &Engagement, first: &NewJob) -> Result<()> {
        self.create_engagement_impl(e, first).await
    }

    async fn get_engagement(&self, id: &str) -> Result<Option<Engagement>> {
        self.get_engagement_impl(id).await
    }

    async fn list_engagements(&self, incident_id: Option<&str>) -> Result<Vec<Engagement>> {
        self.list_engagements_impl(incident_id).await
    }

    async fn stop_engagement(&self, id: &str, now: Timestamp) -> Result<bool> {
        self.stop_engagement_impl(id, now).await
    }

    async fn get_page(&self, id: &str) -> Result<Option<Page>> {
        self.get_page_impl(id).await
    }

    async fn list_pages(&self, incident_id: Option<&str>, engagement_id: Option<&str>) -> Result<Vec<Page>> {
        self.list_pages_impl(incident_id, engagement_id).await
    }

    async fn page_by_code(&self, address: &str, code: &str) -> Result<Option<Page>> {
        self.page_by_code_impl(address, code).await
    }

    async fn person_acked(&self, engagement_id: &str, contact: &str) -> Result<bool> {
        self.person_acked_impl(engagement_id, contact).await
    }

    async fn acknowledge(&self, page_id: &str, by: &str, via: &str, now: Timestamp) -> Result<Option<Acked>> {
        self.acknowledge_impl(page_id, by, via, now).await
    }

    async fn put_topic(&self, key: Option<&str>, spec: &TopicSpec, now: Timestamp) -> Result<(Topic, bool)> {
        self.put_topic_impl(key, spec, now).await
    }

    async fn get_topic(&self, key: &str) -> Result<Option<Topic>> {
        self.get_topic_impl(key).await
    }

    async fn list_topics(&self) -> Result<Vec<Topic>> {
        self.list_topics_impl().await
    }

    async fn delete_topic(&self, key: &str) -> Result<bool> {
        self.delete_topic_impl(key).await
    }

    async fn subscriptions(&self, topic: &Topic) -> Result<Vec<Subscription>> {
        self.subscriptions_impl(topic).await
    }

    async fn put_chat_channel(
        &self,
        key: Option<&str>,
        spec: &ChatChannelSpec,
        now: Timestamp,
    ) -> Result<(ChatChannel, bool)> {
        self.put_chat_channel_impl(key, spec, now).await
    }

    async fn get_chat_channel(&self, key: &str) -> Result<Option<ChatChannel>> {
        self.get_chat_channel_impl(key).await
    }

    async fn list_chat_channels(&self) -> Result<Vec<ChatChannel>> {
        self.list_chat_channels_impl().await
    }

    async fn delete_chat_channel(&self, key: &str) -> Result<bool> {
        self.delete_chat_channel_impl(key).await
    }

    async fn list_notifications(&self, incident_id: Option<&str>) -> Result<Vec<Notification>> {
        self.list_notifications_impl(incident_id).await
    }

    async fn get_outgoing(&self, id: &str) -> Result<Option<Outgoing>> {
        self.get_outgoing_impl(id).await
    }

    async fn next_in_sequence(&self, name: &str) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(name)
        .fetch_one(&self.write)
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn thread_of(&self, incident_id: &str, target: &str) -> Result<Option<String>> {
        self.thread_of_impl(incident_id, target).await
    }

    async fn put_runbook(
        &self,
        key: Option<&str>,
        name: &str,
        document: &serde_json::Value,
        now: Timestamp,
    ) -> Result<(Runbook, bool)> {
        self.put_runbook_impl(key, name, document, now).await
    }

    async fn seed_runbook(&self, name: &str, document: &serde_json::Value, now: Timestamp) -> Result<bool> {
        self.seed_runbook_impl(name, document, now).await
    }

    async fn get_runbook(&self, key: &str) -> Result<Option<Runbook>> {
        self.get_runbook_impl(key).await
    }

    async fn list_runbooks(&self) -> Result<Vec<Runbook>> {
        self.list_runbooks_impl().await
    }

    async fn delete_runbook(&self, key: &str) -> Result<bool> {
        self.delete_runbook_impl(key).await
    }

    async fn create_execution(&self, e: &Execution, document: &Document, first: &NewJob) -> Result<()> {
        self.create_execution_impl(e, document, first).await
    }

    async fn get_execution(&self, id: &str) -> Result<Option<Execution>> {
        self.get_execution_impl(id).await
    }

    async fn list_executions(&self, incident_id: Option<&str>) -> Result<Vec<Execution>> {
        self.list_executions_impl(incident_id).await
    }

    async fn decide(
        &self,
        id: &str,
        entry: serde_json::Value,
        resume: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<muster_core::runbook::StepRun>> {
        self.decide_impl(id, entry, resume, now).await
    }

    async fn cancel_execution(&self, id: &str, now: Timestamp) -> Result<bool> {
        self.cancel_execution_impl(id, now).await
    }

    async fn put_metric_data(&self, data: &[Datapoint], now: Timestamp) -> Result<usize> {
        self.put_metric_data_impl(data, now).await
    }

    async fn metric_data(
        &self,
        namespace: &str,
        metric_name: &str,
        dimensions: &Dimensions,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Datapoint>> {
        self.metric_data_impl(namespace, metric_name, dimensions, from, to).await
    }

    async fn list_series(&self, namespace: Option<&str>) -> Result<Vec<crate::Series>> {
        self.list_series_impl(namespace).await
    }

    async fn prune_metric_data(&self, before: Timestamp) -> Result<u64> {
        self.prune_metric_data_impl(before).await
    }

    async fn put_alarm(&self, key: Option<&str>, spec: &AlarmSpec, now: Timestamp) -> Result<(Alarm, bool)> {
        self.put_alarm_impl(key, spec, now).await
    }

    async fn get_alarm(&self, key: &str) -> Result<Option<Alarm>> {
        self.get_alarm_impl(key).await
    }

    async fn list_alarms(&self, state: Option<StateValue>) -> Result<Vec<Alarm>> {
        self.list_alarms_impl(state).await
    }

    async fn delete_alarm(&self, key: &str) -> Result<bool> {
        self.delete_alarm_impl(key).await
    }

    async fn alarm_history(&self, alarm_id: &str) -> Result<Vec<AlarmHistoryItem>> {
        self.alarm_history_impl(alarm_id).await
    }

    async fn add_alarm_history(
        &self,
        alarm_id: &str,
        kind: &str,
        summary: &str,
        data: &serde_json::Value,
        now: Timestamp,
    ) -> Result<()> {
        self.add_alarm_history_impl(alarm_id, kind, summary, data, now).await
    }

    async fn set_alarm_state(&self, key: &str, evaluation: &Evaluation, now: Timestamp) -> Result<Option<bool>> {
        self.set_alarm_state_impl(key, evaluation, now).await
    }

    async fn put_rule(&self, key: Option<&str>, spec: &RuleSpec, now: Timestamp) -> Result<(Rule, bool)> {
        self.put_rule_impl(key, spec, now).await
    }

    async fn get_rule(&self, key: &str) -> Result<Option<Rule>> {
        self.get_rule_impl(key).await
    }

    async fn list_rules(&self) -> Result<Vec<Rule>> {
        self.list_rules_impl().await
    }

    async fn delete_rule(&self, key: &str) -> Result<bool> {
        self.delete_rule_impl(key).await
    }

    async fn create_integration(
        &self,
        spec: &IntegrationSpec,
        key_hash: &str,
        key_prefix: &str,
        now: Timestamp,
    ) -> Result<Integration> {
        self.create_integration_impl(spec, key_hash, key_prefix, now).await
    }

    async fn replace_integration(
        &self,
        key: &str,
        spec: &IntegrationSpec,
        now: Timestamp,
    ) -> Result<Option<Integration>> {
        self.replace_integration_impl(key, spec, now).await
    }

    async fn get_integration(&self, key: &str) -> Result<Option<Integration>> {
        self.get_integration_impl(key).await
    }

    async fn integration_by_key(&self, key_hash: &str) -> Result<Option<Integration>> {
        self.integration_by_key_impl(key_hash).await
    }

    async fn list_integrations(&self) -> Result<Vec<Integration>> {
        self.list_integrations_impl().await
    }

    async fn delete_integration(&self, key: &str) -> Result<bool> {
        self.delete_integration_impl(key).await
    }

    async fn ingest(&self, items: &[NewInbound], extra: &[NewJob], now: Timestamp) -> Result<()> {
        self.ingest_impl(items, extra, now).await
    }

    async fn get_inbound(&self, id: &str) -> Result<Option<Inbound>> {
        self.get_inbound_impl(id).await
    }

    async fn list_inbound(&self, query: &InboundQuery) -> Result<Vec<Inbound>> {
        self.list_inbound_impl(query).await
    }

    async fn open_incident_by_dedupe(&self, dedupe: &str) -> Result<Option<String>> {
        self.open_incident_by_dedupe_impl(dedupe).await
    }

    async fn put_silence(&self, silence: &muster_core::silence::Silence) -> Result<()> {
        self.put_silence_impl(silence).await
    }

    async fn get_silence(&self, id: &str) -> Result<Option<muster_core::silence::Silence>> {
        self.get_silence_impl(id).await
    }

    async fn list_silences(&self) -> Result<Vec<muster_core::silence::Silence>> {
        self.list_silences_impl().await
    }

    async fn put_analysis_template(&self, t: &muster_core::analysis::AnalysisTemplate, now: Timestamp) -> Result<bool> {
        self.put_analysis_template_impl(t, now).await
    }

    async fn get_analysis_template(&self, name: &str) -> Result<Option<muster_core::analysis::AnalysisTemplate>> {
        self.get_analysis_template_impl(name).await
    }

    async fn list_analysis_templates(&self) -> Result<Vec<muster_core::analysis::AnalysisTemplate>> {
        self.list_analysis_templates_impl().await
    }

    async fn put_analysis(&self, a: &muster_core::analysis::Analysis) -> Result<()> {
        self.put_analysis_impl(a).await
    }

    async fn get_analysis(&self, id: &str) -> Result<Option<muster_core::analysis::Analysis>> {
        self.get_analysis_impl(id).await
    }

    async fn list_analyses(&self, incident_id: Option<&str>) -> Result<Vec<muster_core::analysis::Analysis>> {
        self.list_analyses_impl(incident_id).await
    }

    async fn put_action_item(
        &self,
        id: Option<&str>,
        analysis_id: &str,
        spec: &muster_core::analysis::ActionItemSpec,
        now: Timestamp,
    ) -> Result<muster_core::analysis::ActionItem> {
        self.put_action_item_impl(id, analysis_id, spec, now).await
    }

    async fn list_action_items(
        &self,
        query: &crate::ActionItemQuery,
    ) -> Result<Vec<muster_core::analysis::ActionItem>> {
        self.list_action_items_impl(query).await
    }

    async fn delete_action_item(&self, id: &str) -> Result<bool> {
        self.delete_action_item_impl(id).await
    }

    async fn report_data(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<muster_core::analysis::ReportIncident>, Vec<muster_core::analysis::ReportPage>)> {
        self.report_data_impl(from, to).await
    }

    async fn record_audit(&self, entry: &crate::AuditEntry) -> Result<()> {
        self.record_audit_impl(entry).await
    }

    async fn list_audit(&self, query: &crate::AuditQuery) -> Result<Vec<crate::AuditEntry>> {
        self.list_audit_impl(query).await
    }

    async fn prune(&self, inbound: Option<Timestamp>, resolved: Option<Timestamp>) -> Result<(u64, u64)> {
        let mut gone = (0, 0);
        if let Some(before) = inbound {
            gone.0 = sqlx::query("DELETE FROM inbound WHERE received_at < $1 AND status <> 'pending'")
                .bind(ms(before))
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        if let Some(before) = resolved {
            gone.1 = sqlx::query(
                "DELETE FROM incidents WHERE status = 'RESOLVED' AND resolved_at < $1 \
                 AND id NOT IN (SELECT incident_id FROM analyses)",
            )
            .bind(ms(before))
            .execute(&self.write)
            .await?
            .rows_affected();
        }
        Ok(gone)
    }

    async fn silence_for(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Option<String>> {
        self.silence_for_impl(labels, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_numbers_select_by_number() {
        assert_eq!(by_number("42"), Some(42));
        assert_eq!(by_number("#7"), Some(7));
        assert_eq!(by_number("0192f1a0-0000-7000-8000-000000000000"), None);
        assert_eq!(by_number(""), None);
    }

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(sqlite_target("sqlite://muster-data/muster.db").expect("valid").0, "muster-data/muster.db");
        assert_eq!(sqlite_target("sqlite:///tmp/x.db?mode=rwc").expect("valid").0, "/tmp/x.db");
        assert!(sqlite_target("sqlite://:memory:").is_err());
    }
}
