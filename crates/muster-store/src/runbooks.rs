//! Runbooks, executions and step runs in SQL.

use crate::error::refuse_managed;
use crate::paging::insert_jobs;
use crate::sql::{Conn, json, ms, opt_ts, parse, ts};
use crate::{Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::engage::{NewJob, Task};
use muster_core::new_id;
use muster_core::runbook::{Document, Execution, ExecutionStatus, Runbook, StepRun, parse_document};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

fn status_str<T: serde::Serialize>(s: &T) -> Result<String> {
    Ok(json(s)?.trim_matches('"').to_string())
}

fn status_of<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_value(Value::String(s.to_string()))?)
}

fn runbook_from_row(r: &AnyRow) -> Result<Runbook> {
    let document: Value = parse(&r.try_get::<String, _>("document")?)?;
    let unsupported = parse_document(&document).map(|d| d.unsupported_steps()).unwrap_or_default();
    Ok(Runbook {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        document,
        unsupported_steps: unsupported,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

fn step_from_row(r: &AnyRow) -> Result<StepRun> {
    Ok(StepRun {
        seq: r.try_get::<i64, _>("seq")? as u32,
        name: r.try_get("name")?,
        action: r.try_get("action")?,
        status: status_of(&r.try_get::<String, _>("status")?)?,
        inputs: parse(&r.try_get::<String, _>("inputs")?)?,
        outputs: parse(&r.try_get::<String, _>("outputs")?)?,
        log: r.try_get("log")?,
        failure: r.try_get("failure")?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        approvals: parse(&r.try_get::<String, _>("approvals")?)?,
        started_at: ts(r.try_get("started_at")?)?,
        ended_at: opt_ts(r.try_get("ended_at")?)?,
    })
}

pub(crate) async fn insert_runbook(
    conn: &mut Conn,
    name: &str,
    document: &Value,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let row = sqlx::query(
        "INSERT INTO runbooks (id, name, document, stack, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(name)
    .bind(json(document)?)
    .bind(stack)
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(StoreError::conflict("name", format!("a runbook named {name:?} already exists")));
    }
    Ok(id)
}

pub(crate) async fn update_runbook(
    conn: &mut Conn,
    id: &str,
    name: &str,
    document: &Value,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE runbooks SET name = $1, document = $2, updated_at = $3 WHERE id = $4")
        .bind(name)
        .bind(json(document)?)
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn delete_runbook(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM runbooks WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// A change an execution's step makes, written with the job that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionChange {
    pub id: String,
    /// The step run to write: inserted when its `seq` is new, replaced otherwise.
    pub step: Option<StepRun>,
    pub status: Option<ExecutionStatus>,
    pub outputs: Option<Value>,
    pub failure: Option<String>,
    pub ended_at: Option<Timestamp>,
}

pub(crate) async fn apply_change(conn: &mut Conn, c: &ExecutionChange, now: Timestamp) -> Result<()> {
    if let Some(s) = &c.step {
        sqlx::query("DELETE FROM runbook_steps WHERE execution_id = $1 AND seq = $2")
            .bind(&c.id)
            .bind(i64::from(s.seq))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO runbook_steps (execution_id, seq, name, action, status, inputs, outputs, log, failure, attempts, \
             approvals, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&c.id)
        .bind(i64::from(s.seq))
        .bind(&s.name)
        .bind(&s.action)
        .bind(status_str(&s.status)?)
        .bind(json(&s.inputs)?)
        .bind(json(&s.outputs)?)
        .bind(&s.log)
        .bind(s.failure.as_deref())
        .bind(i64::from(s.attempts))
        .bind(json(&s.approvals)?)
        .bind(ms(s.started_at))
        .bind(s.ended_at.map(ms))
        .execute(&mut *conn)
        .await?;
    }
    if let Some(st) = &c.status {
        sqlx::query("UPDATE runbook_executions SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status_str(st)?)
            .bind(ms(now))
            .bind(&c.id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(o) = &c.outputs {
        sqlx::query("UPDATE runbook_executions SET outputs = $1 WHERE id = $2")
            .bind(json(o)?)
            .bind(&c.id)
            .execute(&mut *conn)
            .await?;
    }
    if c.failure.is_some() || c.ended_at.is_some() {
        sqlx::query("UPDATE runbook_executions SET failure = COALESCE($1, failure), ended_at = COALESCE($2, ended_at) WHERE id = $3")
            .bind(c.failure.as_deref())
            .bind(c.ended_at.map(ms))
            .bind(&c.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether the execution is still running (so a step job may write its effects).
pub(crate) async fn execution_running(conn: &mut Conn, id: &str, lock: &str) -> Result<bool> {
    let row = sqlx::query(&format!("SELECT status FROM runbook_executions WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<String, _>(0)? == "InProgress",
        None => false,
    })
}

impl SqlStore {
    pub(crate) async fn put_runbook_impl(
        &self,
        key: Option<&str>,
        name: &str,
        document: &Value,
        now: Timestamp,
    ) -> Result<(Runbook, bool)> {
        let mut tx = self.write.begin().await?;
        let existing = match key {
            Some(k) => {
                sqlx::query("SELECT * FROM runbooks WHERE name = $1 OR id = $1")
                    .bind(k)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let (id, created) = match existing {
            Some(r) => {
                let rb = runbook_from_row(&r)?;
                refuse_managed("runbook", &rb.name, &rb.stack)?;
                update_runbook(&mut tx, &rb.id, name, document, now).await?;
                (rb.id, false)
            }
            None => (insert_runbook(&mut tx, name, document, None, now).await?, true),
        };
        let row = sqlx::query("SELECT * FROM runbooks WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok((runbook_from_row(&row)?, created))
    }

    /// By name or id; an AWS document with a built-in stand-in (and no runbook of its own name)
    /// answers with the stand-in.
    pub(crate) async fn get_runbook_impl(&self, key: &str) -> Result<Option<Runbook>> {
        let row = sqlx::query("SELECT * FROM runbooks WHERE name = $1 OR id = $1")
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        if row.is_none()
            && let Some(ours) = muster_core::library::stand_in(key)
        {
            return Box::pin(self.get_runbook_impl(ours)).await;
        }
        row.as_ref().map(runbook_from_row).transpose()
    }

    /// Stores a built-in runbook (owned by the `builtin` stack), updating an older copy; a runbook
    /// of the same name that people made is left as it is. True when written.
    pub(crate) async fn seed_runbook_impl(&self, name: &str, document: &Value, now: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT id, stack, document FROM runbooks WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let written = match row {
            None => {
                insert_runbook(&mut tx, name, document, Some(muster_core::library::BUILTIN_STACK), now).await?;
                true
            }
            Some(r) if r.try_get::<Option<String>, _>(1)?.as_deref() == Some(muster_core::library::BUILTIN_STACK) => {
                let same = parse::<Value>(&r.try_get::<String, _>(2)?)? == *document;
                if !same {
                    update_runbook(&mut tx, &r.try_get::<String, _>(0)?, name, document, now).await?;
                }
                !same
            }
            Some(_) => false,
        };
        tx.commit().await?;
        Ok(written)
    }

    pub(crate) async fn list_runbooks_impl(&self) -> Result<Vec<Runbook>> {
        let rows = sqlx::query("SELECT * FROM runbooks ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(runbook_from_row).collect()
    }

    pub(crate) async fn delete_runbook_impl(&self, key: &str) -> Result<bool> {
        let Some(rb) = self.get_runbook_impl(key).await? else { return Ok(false) };
        refuse_managed("runbook", &rb.name, &rb.stack)?;
        let mut tx = self.write.begin().await?;
        delete_runbook(&mut tx, &rb.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn create_execution_impl(&self, e: &Execution, document: &Document, first: &NewJob) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO runbook_executions (id, runbook, document, parameters, status, incident_id, outputs, failure, \
             created_at, updated_at, ended_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8, NULL, $9)",
        )
        .bind(&e.id)
        .bind(&e.runbook)
        .bind(json(document)?)
        .bind(json(&e.parameters)?)
        .bind(status_str(&e.status)?)
        .bind(e.incident_id.as_deref())
        .bind(json(&e.outputs)?)
        .bind(ms(e.created_at))
        .bind(&e.created_by)
        .execute(&mut *tx)
        .await?;
        insert_jobs(&mut tx, std::slice::from_ref(first), e.created_at).await?;
        tx.commit().await?;
        self.notify_jobs().await;
        Ok(())
    }

    pub(crate) async fn get_execution_impl(&self, id: &str) -> Result<Option<Execution>> {
        let Some(r) =
            sqlx::query("SELECT * FROM runbook_executions WHERE id = $1").bind(id).fetch_optional(&self.read).await?
        else {
            return Ok(None);
        };
        let steps = sqlx::query("SELECT * FROM runbook_steps WHERE execution_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        Ok(Some(Execution {
            id: r.try_get("id")?,
            runbook: r.try_get("runbook")?,
            status: status_of(&r.try_get::<String, _>("status")?)?,
            parameters: parse(&r.try_get::<String, _>("parameters")?)?,
            incident_id: r.try_get("incident_id")?,
            outputs: parse(&r.try_get::<String, _>("outputs")?)?,
            failure: r.try_get("failure")?,
            steps: steps.iter().map(step_from_row).collect::<Result<_>>()?,
            created_at: ts(r.try_get("created_at")?)?,
            updated_at: ts(r.try_get("updated_at")?)?,
            ended_at: opt_ts(r.try_get("ended_at")?)?,
            created_by: r.try_get("created_by")?,
            document: Some(parse(&r.try_get::<String, _>("document")?)?),
        }))
    }

    pub(crate) async fn list_executions_impl(&self, incident_id: Option<&str>) -> Result<Vec<Execution>> {
        let rows = match incident_id {
            Some(i) => {
                sqlx::query("SELECT id FROM runbook_executions WHERE incident_id = $1 ORDER BY created_at, id")
                    .bind(i)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query("SELECT id FROM runbook_executions ORDER BY created_at DESC, id LIMIT 200")
                    .fetch_all(&self.read)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(0)?;
            if let Some(e) = self.get_execution_impl(&id).await? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Records a decision on the waiting step; when `resume` says so, the execution goes on (a
    /// resume job) in the same transaction.
    pub(crate) async fn decide_impl(
        &self,
        id: &str,
        entry: Value,
        resume: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<StepRun>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT status FROM runbook_executions WHERE id = $1{}", self.lock()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<String, _>(0)? != "Waiting" {
            return Err(StoreError::conflict("execution", "the execution is not waiting for a decision"));
        }
        let step = sqlx::query(
            "SELECT * FROM runbook_steps WHERE execution_id = $1 AND status = 'Waiting' ORDER BY seq DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(step) = step else { return Err(StoreError::conflict("execution", "no step is waiting")) };
        let mut step = step_from_row(&step)?;
        step.approvals.push(entry);
        apply_change(
            &mut tx,
            &ExecutionChange {
                id: id.into(),
                step: Some(step.clone()),
                status: None,
                outputs: None,
                failure: None,
                ended_at: None,
            },
            now,
        )
        .await?;
        if let Some(step_name) = resume {
            sqlx::query("UPDATE runbook_executions SET status = 'InProgress', updated_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let job = NewJob::at(Task::RunStep { execution_id: id.into(), step: step_name.into(), resume: true }, now);
            insert_jobs(&mut tx, &[job], now).await?;
        }
        tx.commit().await?;
        if resume.is_some() {
            self.notify_jobs().await;
        }
        Ok(Some(step))
    }

    pub(crate) async fn cancel_execution_impl(&self, id: &str, now: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE runbook_executions SET status = 'Cancelled', ended_at = $1, updated_at = $1 \
             WHERE id = $2 AND status IN ('InProgress', 'Waiting')",
        )
        .bind(ms(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        if r.rows_affected() == 1 {
            sqlx::query("UPDATE runbook_steps SET status = 'Cancelled', ended_at = $1 WHERE execution_id = $2 AND status IN ('InProgress', 'Waiting')")
                .bind(ms(now))
                .bind(id)
                .execute(&self.write)
                .await?;
        }
        Ok(r.rows_affected() == 1)
    }
}

/// Starts a response plan's runbook action for a new incident, in the incident's transaction: the
/// execution, its first job, a related item, and a timeline event. A runbook that is missing or
/// refuses its parameters is noted on the timeline instead.
pub(crate) async fn start_from_plan(
    conn: &mut Conn,
    incident_id: &str,
    plan: &muster_core::incident::PlanRef,
    action: &Value,
    resources: &[String],
    actor: &str,
    now: Timestamp,
) -> Result<()> {
    use muster_core::incident::NewEvent;
    use muster_core::runbook::{action_parameters, action_runbook};
    let Some(asked) = action_runbook(action) else { return Ok(()) };
    let mut name = asked.clone();
    if let Some(ours) = muster_core::library::stand_in(&asked) {
        let own = sqlx::query("SELECT 1 FROM runbooks WHERE name = $1").bind(&asked).fetch_optional(&mut *conn).await?;
        if own.is_none() {
            name = ours.to_string();
            let event = NewEvent::new(
                "runbook.substituted",
                "muster",
                format!(
                    "The response plan names {asked}, an AWS document; Muster runs its built-in {ours} in its place"
                ),
                serde_json::json!({"asked": asked, "runs": ours}),
                now,
            );
            crate::sql::insert_event(conn, incident_id, &event).await?;
        }
    }
    let note =
        |message: String| NewEvent::new("runbook.failed", "muster", message, serde_json::json!({"runbook": name}), now);
    let row =
        sqlx::query("SELECT document FROM runbooks WHERE name = $1").bind(&name).fetch_optional(&mut *conn).await?;
    let Some(row) = row else {
        crate::sql::insert_event(
            conn,
            incident_id,
            &note(format!("The response plan's runbook {name} does not exist on this server")),
        )
        .await?;
        return Ok(());
    };
    let document: Value = parse(&row.try_get::<String, _>(0)?)?;
    let doc = match parse_document(&document) {
        Ok(d) => d,
        Err(e) => {
            crate::sql::insert_event(conn, incident_id, &note(format!("Runbook {name} does not parse: {e}"))).await?;
            return Ok(());
        }
    };
    let arn = format!("arn:aws:ssm-incidents::000000000000:incident-record/{}/{incident_id}", plan.name);
    let parameters = match action_parameters(&doc, action, &arn, resources) {
        Ok(p) => p,
        Err(e) => {
            crate::sql::insert_event(conn, incident_id, &note(format!("Runbook {name} was not started: {e}"))).await?;
            return Ok(());
        }
    };
    let id = new_id();
    sqlx::query(
        "INSERT INTO runbook_executions (id, runbook, document, parameters, status, incident_id, outputs, failure, \
         created_at, updated_at, ended_at, created_by) VALUES ($1, $2, $3, $4, 'InProgress', $5, '{}', NULL, $6, $6, NULL, $7)",
    )
    .bind(&id)
    .bind(&name)
    .bind(json(&doc)?)
    .bind(json(&parameters)?)
    .bind(incident_id)
    .bind(ms(now))
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    let first = NewJob::at(
        Task::RunStep { execution_id: id.clone(), step: doc.main_steps[0].name.clone(), resume: false },
        now,
    );
    insert_jobs(conn, &[first], now).await?;
    sqlx::query(
        "INSERT INTO related_items (id, incident_id, kind, title, value, created_at, created_by) VALUES ($1, $2, 'other', $3, $4, $5, $6) \
         ON CONFLICT DO NOTHING",
    )
    .bind(new_id())
    .bind(incident_id)
    .bind(format!("Runbook {name}"))
    .bind(format!("runbook-execution:{id}"))
    .bind(ms(now))
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    let started = NewEvent::new(
        "runbook.started",
        "muster",
        format!("Runbook {name} started by response plan {}", plan.name),
        serde_json::json!({"executionId": id, "runbook": name}),
        now,
    );
    crate::sql::insert_event(conn, incident_id, &started).await?;
    Ok(())
}
