//! Metric data and metric alarms in SQL: datapoints by series, alarms with their state and history,
//! and the jobs that evaluate them and take their actions.

use crate::error::{is_unique_violation, refuse_managed};
use crate::paging::insert_jobs;
use crate::sql::{Conn, json, ms, parse, ts};
use crate::{Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::alarm::{Alarm, AlarmHistoryItem, AlarmSpec, Evaluation, StateValue};
use muster_core::engage::{NewJob, Task};
use muster_core::metric::{Datapoint, Dimensions, dimensions_key};
use muster_core::new_id;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;

/// A metric series that has data.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Dimensions,
    pub last: Timestamp,
    pub count: i64,
}

/// A state change an evaluation asks for; written (with its history and actions) only when the
/// alarm is not in that state already.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm_id: String,
    pub evaluation: Evaluation,
}

/// Which jobs evaluate an alarm: the periodic one and the one new data asks for.
pub fn evaluate_job(alarm_id: &str, periodic: bool, at: Timestamp) -> NewJob {
    let key = if periodic { format!("alarm:{alarm_id}") } else { format!("alarm-data:{alarm_id}") };
    NewJob::at(Task::EvaluateAlarm { alarm_id: alarm_id.to_string(), periodic }, at).unique(key)
}

fn alarm_from_row(r: &AnyRow) -> Result<Alarm> {
    let state: String = r.try_get("state")?;
    Ok(Alarm {
        id: r.try_get("id")?,
        spec: parse(&r.try_get::<String, _>("spec")?)?,
        state_value: StateValue::parse(&state)
            .ok_or_else(|| StoreError::Internal(format!("unknown alarm state {state:?}")))?,
        state_reason: r.try_get("state_reason")?,
        state_reason_data: parse(&r.try_get::<String, _>("state_reason_data")?)?,
        state_updated_at: ts(r.try_get("state_updated_at")?)?,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

/// A write's result, with a lost race on the name told as a conflict naming `name`.
fn name_taken(r: std::result::Result<sqlx::any::AnyQueryResult, sqlx::Error>, name: &str) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::conflict("name", format!("an alarm named {name:?} already exists")))
        }
        Err(e) => Err(e.into()),
    }
}

fn dims_text(spec: &AlarmSpec) -> String {
    dimensions_key(&spec.dimension_map())
}

async fn history(
    conn: &mut Conn,
    alarm_id: &str,
    at: Timestamp,
    kind: &str,
    summary: &str,
    data: &serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO alarm_history (id, alarm_id, ts, kind, summary, data) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id())
        .bind(alarm_id)
        .bind(ms(at))
        .bind(kind)
        .bind(summary)
        .bind(json(data)?)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn insert_alarm(
    conn: &mut Conn,
    spec: &AlarmSpec,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let r = sqlx::query(
        "INSERT INTO alarms (id, name, spec, namespace, metric_name, dimensions, state, state_reason, state_reason_data, \
         state_updated_at, stack, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'INSUFFICIENT_DATA', 'Unchecked: Initial alarm creation', '{}', $7, $8, $7, $7)",
    )
    .bind(&id)
    .bind(&spec.name)
    .bind(json(spec)?)
    .bind(&spec.namespace)
    .bind(&spec.metric_name)
    .bind(dims_text(spec))
    .bind(ms(now))
    .bind(stack)
    .execute(&mut *conn)
    .await;
    name_taken(r, &spec.name)?;
    history(conn, &id, now, "ConfigurationUpdate", &format!("Alarm \"{}\" created", spec.name), &json_spec(spec))
        .await?;
    insert_jobs(conn, &[evaluate_job(&id, true, now)], now).await?;
    Ok(id)
}

fn json_spec(spec: &AlarmSpec) -> serde_json::Value {
    serde_json::to_value(spec).unwrap_or_default()
}

pub(crate) async fn update_alarm(conn: &mut Conn, id: &str, spec: &AlarmSpec, now: Timestamp) -> Result<()> {
    let r = sqlx::query(
        "UPDATE alarms SET name = $1, spec = $2, namespace = $3, metric_name = $4, dimensions = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&spec.name)
    .bind(json(spec)?)
    .bind(&spec.namespace)
    .bind(&spec.metric_name)
    .bind(dims_text(spec))
    .bind(ms(now))
    .bind(id)
    .execute(&mut *conn)
    .await;
    name_taken(r, &spec.name)?;
    history(conn, id, now, "ConfigurationUpdate", &format!("Alarm \"{}\" updated", spec.name), &json_spec(spec))
        .await?;
    // Evaluate the new definition now; the periodic job carries on as it was.
    insert_jobs(conn, &[evaluate_job(id, false, now)], now).await
}

pub(crate) async fn delete_alarm(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM alarm_history WHERE alarm_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM alarms WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Writes a state change, its history entry and its action jobs, unless the alarm is in that state
/// already (so an evaluation that runs twice acts once). True when the state changed.
pub(crate) async fn apply_change(conn: &mut Conn, change: &AlarmChange, lock: &str, now: Timestamp) -> Result<bool> {
    let row = sqlx::query(&format!("SELECT * FROM alarms WHERE id = $1{lock}"))
        .bind(&change.alarm_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let alarm = alarm_from_row(&row)?;
    let e = &change.evaluation;
    if alarm.state_value == e.state {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE alarms SET state = $1, state_reason = $2, state_reason_data = $3, state_updated_at = $4 WHERE id = $5",
    )
    .bind(e.state.as_str())
    .bind(&e.reason)
    .bind(json(&e.reason_data)?)
    .bind(ms(now))
    .bind(&alarm.id)
    .execute(&mut *conn)
    .await?;
    let summary = format!("Alarm updated from {} to {}", alarm.state_value.as_str(), e.state.as_str());
    let data = serde_json::json!({
        "oldState": {"stateValue": alarm.state_value.as_str(), "stateReason": alarm.state_reason},
        "newState": {"stateValue": e.state.as_str(), "stateReason": e.reason, "stateReasonData": e.reason_data},
    });
    history(conn, &alarm.id, now, "StateUpdate", &summary, &data).await?;
    if alarm.spec.actions_enabled {
        let jobs: Vec<NewJob> = alarm
            .spec
            .actions_for(e.state)
            .iter()
            .map(|target| {
                NewJob::at(
                    Task::AlarmAction {
                        alarm_id: alarm.id.clone(),
                        state: e.state.as_str().to_string(),
                        target: target.clone(),
                        changed_at: now,
                    },
                    now,
                )
            })
            .collect();
        insert_jobs(conn, &jobs, now).await?;
    }
    Ok(true)
}

impl SqlStore {
    pub(crate) async fn put_metric_data_impl(&self, data: &[Datapoint], now: Timestamp) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        let mut series = BTreeSet::new();
        for d in data {
            let dims = dimensions_key(&d.dimensions);
            sqlx::query(
                "INSERT INTO metric_data (namespace, metric_name, dimensions, ts, value, sample_count, sum, minimum, maximum, unit) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&d.namespace)
            .bind(&d.metric_name)
            .bind(&dims)
            .bind(ms(d.timestamp))
            .bind(d.value)
            .bind(d.sample_count)
            .bind(d.sum)
            .bind(d.minimum)
            .bind(d.maximum)
            .bind(d.unit.as_deref())
            .execute(&mut *tx)
            .await?;
            series.insert((d.namespace.clone(), d.metric_name.clone(), dims));
        }
        // The alarms watching these series look again now.
        let mut jobs = Vec::new();
        for (namespace, name, dims) in &series {
            let rows =
                sqlx::query("SELECT id FROM alarms WHERE namespace = $1 AND metric_name = $2 AND dimensions = $3")
                    .bind(namespace)
                    .bind(name)
                    .bind(dims)
                    .fetch_all(&mut *tx)
                    .await?;
            for r in rows {
                jobs.push(evaluate_job(&r.try_get::<String, _>(0)?, false, now));
            }
        }
        insert_jobs(&mut tx, &jobs, now).await?;
        tx.commit().await?;
        if !jobs.is_empty() {
            self.notify_jobs().await;
        }
        Ok(jobs.len())
    }

    pub(crate) async fn metric_data_impl(
        &self,
        namespace: &str,
        metric_name: &str,
        dimensions: &Dimensions,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Datapoint>> {
        let rows = sqlx::query(
            "SELECT ts, value, sample_count, sum, minimum, maximum, unit FROM metric_data \
             WHERE namespace = $1 AND metric_name = $2 AND dimensions = $3 AND ts >= $4 AND ts < $5 ORDER BY ts",
        )
        .bind(namespace)
        .bind(metric_name)
        .bind(dimensions_key(dimensions))
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Datapoint {
                    namespace: namespace.to_string(),
                    metric_name: metric_name.to_string(),
                    dimensions: dimensions.clone(),
                    timestamp: ts(r.try_get(0)?)?,
                    value: r.try_get(1)?,
                    sample_count: r.try_get(2)?,
                    sum: r.try_get(3)?,
                    minimum: r.try_get(4)?,
                    maximum: r.try_get(5)?,
                    unit: r.try_get(6)?,
                })
            })
            .collect()
    }

    pub(crate) async fn list_series_impl(&self, namespace: Option<&str>) -> Result<Vec<Series>> {
        let mut sql = "SELECT namespace, metric_name, dimensions, MAX(ts), COUNT(*) FROM metric_data".to_string();
        if namespace.is_some() {
            sql.push_str(" WHERE namespace = $1");
        }
        sql.push_str(
            " GROUP BY namespace, metric_name, dimensions ORDER BY namespace, metric_name, dimensions LIMIT 1000",
        );
        let mut q = sqlx::query(&sql);
        if let Some(n) = namespace {
            q = q.bind(n);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(Series {
                    namespace: r.try_get(0)?,
                    metric_name: r.try_get(1)?,
                    dimensions: parse_dimensions_key(&r.try_get::<String, _>(2)?),
                    last: ts(r.try_get(3)?)?,
                    count: r.try_get(4)?,
                })
            })
            .collect()
    }

    pub(crate) async fn prune_metric_data_impl(&self, before: Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM metric_data WHERE ts < $1").bind(ms(before)).execute(&self.write).await?;
        Ok(r.rows_affected())
    }

    pub(crate) async fn put_alarm_impl(
        &self,
        key: Option<&str>,
        spec: &AlarmSpec,
        now: Timestamp,
    ) -> Result<(Alarm, bool)> {
        let mut tx = self.write.begin().await?;
        let existing = match key {
            Some(k) => {
                sqlx::query("SELECT * FROM alarms WHERE name = $1 OR id = $1").bind(k).fetch_optional(&mut *tx).await?
            }
            None => None,
        };
        let (id, created) = match existing {
            Some(r) => {
                let a = alarm_from_row(&r)?;
                refuse_managed("alarm", &a.spec.name, &a.stack)?;
                update_alarm(&mut tx, &a.id, spec, now).await?;
                (a.id, false)
            }
            None => (insert_alarm(&mut tx, spec, None, now).await?, true),
        };
        let row = sqlx::query("SELECT * FROM alarms WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        self.notify_jobs().await;
        Ok((alarm_from_row(&row)?, created))
    }

    pub(crate) async fn get_alarm_impl(&self, key: &str) -> Result<Option<Alarm>> {
        let row =
            sqlx::query("SELECT * FROM alarms WHERE name = $1 OR id = $1").bind(key).fetch_optional(&self.read).await?;
        row.as_ref().map(alarm_from_row).transpose()
    }

    pub(crate) async fn list_alarms_impl(&self, state: Option<StateValue>) -> Result<Vec<Alarm>> {
        let rows = match state {
            Some(s) => {
                sqlx::query("SELECT * FROM alarms WHERE state = $1 ORDER BY name")
                    .bind(s.as_str())
                    .fetch_all(&self.read)
                    .await?
            }
            None => sqlx::query("SELECT * FROM alarms ORDER BY name").fetch_all(&self.read).await?,
        };
        rows.iter().map(alarm_from_row).collect()
    }

    pub(crate) async fn delete_alarm_impl(&self, key: &str) -> Result<bool> {
        let Some(a) = self.get_alarm_impl(key).await? else { return Ok(false) };
        refuse_managed("alarm", &a.spec.name, &a.stack)?;
        let mut tx = self.write.begin().await?;
        delete_alarm(&mut tx, &a.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn alarm_history_impl(&self, alarm_id: &str) -> Result<Vec<AlarmHistoryItem>> {
        let rows = sqlx::query(
            "SELECT ts, kind, summary, data FROM alarm_history WHERE alarm_id = $1 ORDER BY ts DESC, id DESC LIMIT 500",
        )
        .bind(alarm_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlarmHistoryItem {
                    timestamp: ts(r.try_get(0)?)?,
                    kind: r.try_get(1)?,
                    summary: r.try_get(2)?,
                    data: parse(&r.try_get::<String, _>(3)?)?,
                })
            })
            .collect()
    }

    pub(crate) async fn add_alarm_history_impl(
        &self,
        alarm_id: &str,
        kind: &str,
        summary: &str,
        data: &serde_json::Value,
        now: Timestamp,
    ) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        let exists =
            sqlx::query("SELECT 1 FROM alarms WHERE id = $1").bind(alarm_id).fetch_optional(&mut *conn).await?;
        if exists.is_some() {
            history(&mut conn, alarm_id, now, kind, summary, data).await?;
        }
        Ok(())
    }

    /// Sets an alarm's state by hand (`SetAlarmState`): for testing actions. The next evaluation
    /// puts it back as the data says.
    pub(crate) async fn set_alarm_state_impl(
        &self,
        key: &str,
        evaluation: &Evaluation,
        now: Timestamp,
    ) -> Result<Option<bool>> {
        let Some(a) = self.get_alarm_impl(key).await? else { return Ok(None) };
        let mut tx = self.write.begin().await?;
        let change = AlarmChange { alarm_id: a.id.clone(), evaluation: evaluation.clone() };
        let changed = apply_change(&mut tx, &change, self.lock(), now).await?;
        tx.commit().await?;
        if changed {
            self.notify_jobs().await;
        }
        Ok(Some(changed))
    }
}

/// Reads a [`dimensions_key`] back.
pub fn parse_dimensions_key(key: &str) -> Dimensions {
    let mut out = Dimensions::new();
    let mut name = String::new();
    let mut cur = String::new();
    let mut chars = key.chars();
    let mut in_value = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '=' if !in_value => {
                name = std::mem::take(&mut cur);
                in_value = true;
            }
            ',' => {
                out.insert(std::mem::take(&mut name), std::mem::take(&mut cur));
                in_value = false;
            }
            c => cur.push(c),
        }
    }
    if in_value {
        out.insert(name, cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_keys_read_back() {
        let d: Dimensions =
            [("a".to_string(), "1,b=2".to_string()), ("c\\d".to_string(), "x".to_string())].into_iter().collect();
        assert_eq!(parse_dimensions_key(&dimensions_key(&d)), d);
        assert_eq!(parse_dimensions_key(""), Dimensions::new());
    }
}
