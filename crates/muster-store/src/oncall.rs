//! Contacts, channels, rotations and overrides in SQL. Helpers take a connection so stack applies
//! can use them inside their one transaction.

use crate::error::{is_unique_violation, refuse_managed};
use crate::sql::{Conn, json, ms, opt_ts, parse, ts};
use crate::{Activation, Result, SqlStore, StoreError};
use jiff::Timestamp;
use muster_core::contact::{
    ActivationStatus, Channel, ChannelSpec, Contact, ContactSpec, ContactType, MAX_ACTIVATION_ATTEMPTS,
};
use muster_core::new_id;
use muster_core::rotation::{Override, Rotation, RotationSpec};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A calendar URL's secret: two random UUIDs, 244 random bits.
fn token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn contact_from_row(r: &AnyRow) -> Result<Contact> {
    let spec: ContactSpec = parse(&r.try_get::<String, _>("spec")?)?;
    Ok(Contact {
        id: r.try_get("id")?,
        alias: spec.alias,
        display_name: spec.display_name,
        kind: spec.kind,
        time_zone: spec.time_zone,
        rotations: spec.rotations,
        plan: spec.plan,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
        calendar_token: r.try_get("calendar_token")?,
    })
}

fn rotation_from_row(r: &AnyRow) -> Result<Rotation> {
    Ok(Rotation {
        id: r.try_get("id")?,
        spec: parse(&r.try_get::<String, _>("spec")?)?,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
        calendar_token: r.try_get("calendar_token")?,
    })
}

const CHANNEL_COLUMNS: &str = "id, contact_id, name, kind, address, activated_at, stack, created_at";

fn channel_from_row(r: &AnyRow) -> Result<Channel> {
    let kind: String = r.try_get("kind")?;
    let activated_at = opt_ts(r.try_get("activated_at")?)?;
    Ok(Channel {
        id: r.try_get("id")?,
        contact_id: r.try_get("contact_id")?,
        name: r.try_get("name")?,
        kind: kind.parse().map_err(|e: muster_core::Invalid| StoreError::Internal(e.to_string()))?,
        address: r.try_get("address")?,
        activation_status: if activated_at.is_some() {
            ActivationStatus::Activated
        } else {
            ActivationStatus::NotActivated
        },
        activated_at,
        stack: r.try_get("stack")?,
        created_at: ts(r.try_get("created_at")?)?,
    })
}

fn override_from_row(r: &AnyRow) -> Result<Override> {
    Ok(Override {
        id: r.try_get("id")?,
        contacts: parse(&r.try_get::<String, _>("contacts")?)?,
        start: ts(r.try_get("start_at")?)?,
        end: ts(r.try_get("end_at")?)?,
        created_at: ts(r.try_get("created_at")?)?,
        created_by: r.try_get("created_by")?,
    })
}

pub(crate) async fn fetch_contact(conn: &mut Conn, key: &str) -> Result<Option<Contact>> {
    let row =
        sqlx::query("SELECT * FROM contacts WHERE alias = $1 OR id = $1").bind(key).fetch_optional(&mut *conn).await?;
    row.as_ref().map(contact_from_row).transpose()
}

pub(crate) async fn fetch_rotation(conn: &mut Conn, key: &str) -> Result<Option<Rotation>> {
    let row =
        sqlx::query("SELECT * FROM rotations WHERE name = $1 OR id = $1").bind(key).fetch_optional(&mut *conn).await?;
    row.as_ref().map(rotation_from_row).transpose()
}

/// The ids of contacts by alias, refusing an unknown alias naming its place in the list.
async fn contact_ids(conn: &mut Conn, aliases: &[String], field: &str) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(aliases.len());
    for (i, alias) in aliases.iter().enumerate() {
        let row = sqlx::query("SELECT id, spec FROM contacts WHERE alias = $1")
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::conflict(format!("{field}[{i}]"), format!("there is no contact {alias:?}")));
        };
        let spec: ContactSpec = parse(&row.try_get::<String, _>("spec")?)?;
        if spec.kind != ContactType::Personal {
            return Err(StoreError::conflict(format!("{field}[{i}]"), format!("{alias:?} is not a person")));
        }
        ids.push(row.try_get("id")?);
    }
    Ok(ids)
}

async fn check_schedule_rotations(conn: &mut Conn, spec: &ContactSpec) -> Result<()> {
    for (i, name) in spec.rotations.iter().enumerate() {
        if fetch_rotation(conn, name).await?.is_none() {
            return Err(StoreError::conflict(format!("rotations[{i}]"), format!("there is no rotation {name:?}")));
        }
    }
    Ok(())
}

pub(crate) async fn insert_contact(
    conn: &mut Conn,
    spec: &ContactSpec,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    check_schedule_rotations(conn, spec).await?;
    let id = new_id();
    let row = sqlx::query(
        "INSERT INTO contacts (id, alias, spec, stack, calendar_token, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(&spec.alias)
    .bind(json(spec)?)
    .bind(stack)
    .bind(token())
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(StoreError::conflict("alias", format!("a contact {:?} already exists", spec.alias)));
    }
    Ok(id)
}

pub(crate) async fn update_contact(conn: &mut Conn, id: &str, spec: &ContactSpec, now: Timestamp) -> Result<()> {
    let current = fetch_contact(conn, id).await?.ok_or_else(|| StoreError::Internal("a contact vanished".into()))?;
    if current.alias != spec.alias {
        return Err(StoreError::conflict("alias", "an alias cannot change; make a new contact instead"));
    }
    if current.kind != spec.kind {
        let used = sqlx::query("SELECT rotation_id FROM rotation_members WHERE contact_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if used.is_some() {
            return Err(StoreError::conflict("type", "this contact is a member of a rotation, so it stays a person"));
        }
    }
    check_schedule_rotations(conn, spec).await?;
    sqlx::query("UPDATE contacts SET spec = $1, updated_at = $2 WHERE id = $3")
        .bind(json(spec)?)
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn remove_contact(conn: &mut Conn, id: &str) -> Result<()> {
    let used = sqlx::query(
        "SELECT r.name FROM rotation_members m JOIN rotations r ON r.id = m.rotation_id WHERE m.contact_id = $1 LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = used {
        let rotation: String = row.try_get(0)?;
        return Err(StoreError::conflict(
            "alias",
            format!("the contact is a member of rotation {rotation:?}; remove it there first"),
        ));
    }
    sqlx::query("DELETE FROM contacts WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub(crate) async fn insert_channel(
    conn: &mut Conn,
    contact_id: &str,
    spec: &ChannelSpec,
    activated: bool,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let row = sqlx::query(
        "INSERT INTO contact_channels (id, contact_id, name, kind, address, activated_at, activation_code_hash, \
         activation_expires_at, activation_attempts, stack, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 0, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(contact_id)
    .bind(&spec.name)
    .bind(spec.kind.as_str())
    .bind(&spec.address)
    .bind(activated.then_some(ms(now)))
    .bind(stack)
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(StoreError::conflict("name", format!("the contact already has a channel named {:?}", spec.name)));
    }
    Ok(id)
}

/// Changes a channel in place. A new address (or type) must be activated again.
pub(crate) async fn update_channel(
    conn: &mut Conn,
    id: &str,
    spec: &ChannelSpec,
    activated: bool,
    now: Timestamp,
) -> Result<()> {
    let row = sqlx::query("SELECT kind, address, activated_at FROM contact_channels WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let same_target =
        row.try_get::<String, _>("kind")? == spec.kind.as_str() && row.try_get::<String, _>("address")? == spec.address;
    let was: Option<i64> = row.try_get("activated_at")?;
    let activated_at = match (same_target, was) {
        (true, Some(t)) => Some(t),
        _ => activated.then_some(ms(now)),
    };
    let r =
        sqlx::query("UPDATE contact_channels SET name = $1, kind = $2, address = $3, activated_at = $4 WHERE id = $5")
            .bind(&spec.name)
            .bind(spec.kind.as_str())
            .bind(&spec.address)
            .bind(activated_at)
            .bind(id)
            .execute(&mut *conn)
            .await;
    match r {
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::conflict("name", format!("the contact already has a channel named {:?}", spec.name)))
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

async fn write_members(conn: &mut Conn, rotation_id: &str, spec: &RotationSpec) -> Result<()> {
    let ids = contact_ids(conn, &spec.members, "members").await?;
    sqlx::query("DELETE FROM rotation_members WHERE rotation_id = $1").bind(rotation_id).execute(&mut *conn).await?;
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("INSERT INTO rotation_members (rotation_id, position, contact_id) VALUES ($1, $2, $3)")
            .bind(rotation_id)
            .bind(i as i64)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn insert_rotation(
    conn: &mut Conn,
    spec: &RotationSpec,
    stack: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    let row = sqlx::query(
        "INSERT INTO rotations (id, name, spec, stack, calendar_token, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(&spec.name)
    .bind(json(spec)?)
    .bind(stack)
    .bind(token())
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(StoreError::conflict("name", format!("a rotation named {:?} already exists", spec.name)));
    }
    write_members(conn, &id, spec).await?;
    Ok(id)
}

pub(crate) async fn update_rotation(conn: &mut Conn, id: &str, spec: &RotationSpec, now: Timestamp) -> Result<()> {
    let r = sqlx::query("UPDATE rotations SET name = $1, spec = $2, updated_at = $3 WHERE id = $4")
        .bind(&spec.name)
        .bind(json(spec)?)
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await;
    match r {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::conflict("name", format!("a rotation named {:?} already exists", spec.name)));
        }
        other => other?,
    };
    write_members(conn, id, spec).await
}

pub(crate) async fn remove_rotation(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM rotation_members WHERE rotation_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM rotation_overrides WHERE rotation_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM rotations WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

impl SqlStore {
    pub(crate) async fn create_contact_impl(&self, spec: &ContactSpec, now: Timestamp) -> Result<Contact> {
        let mut tx = self.write.begin().await?;
        let id = insert_contact(&mut tx, spec, None, now).await?;
        let c = fetch_contact(&mut tx, &id).await?;
        tx.commit().await?;
        c.ok_or_else(|| StoreError::Internal("a new contact vanished".into()))
    }

    pub(crate) async fn replace_contact_impl(
        &self,
        key: &str,
        spec: &ContactSpec,
        now: Timestamp,
    ) -> Result<Option<Contact>> {
        let mut tx = self.write.begin().await?;
        let Some(current) = fetch_contact(&mut tx, key).await? else { return Ok(None) };
        refuse_managed("contact", &current.alias, &current.stack)?;
        update_contact(&mut tx, &current.id, spec, now).await?;
        let c = fetch_contact(&mut tx, &current.id).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub(crate) async fn get_contact_impl(&self, key: &str) -> Result<Option<Contact>> {
        let mut conn = self.read.acquire().await?;
        fetch_contact(&mut conn, key).await
    }

    pub(crate) async fn list_contacts_impl(&self) -> Result<Vec<Contact>> {
        let rows = sqlx::query("SELECT * FROM contacts ORDER BY alias").fetch_all(&self.read).await?;
        rows.iter().map(contact_from_row).collect()
    }

    pub(crate) async fn delete_contact_impl(&self, key: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let Some(current) = fetch_contact(&mut tx, key).await? else { return Ok(false) };
        refuse_managed("contact", &current.alias, &current.stack)?;
        remove_contact(&mut tx, &current.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn contact_by_token_impl(&self, token: &str) -> Result<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE calendar_token = $1")
            .bind(token)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(contact_from_row).transpose()
    }

    pub(crate) async fn add_channel_impl(
        &self,
        contact_id: &str,
        spec: &ChannelSpec,
        activated: bool,
        now: Timestamp,
    ) -> Result<Channel> {
        let mut tx = self.write.begin().await?;
        let id = insert_channel(&mut tx, contact_id, spec, activated, None, now).await?;
        let row = sqlx::query(&format!("SELECT {CHANNEL_COLUMNS} FROM contact_channels WHERE id = $1"))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        channel_from_row(&row)
    }

    pub(crate) async fn list_channels_impl(&self, contact_id: &str) -> Result<Vec<Channel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM contact_channels WHERE contact_id = $1 ORDER BY created_at, id"
        ))
        .bind(contact_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(channel_from_row).collect()
    }

    pub(crate) async fn get_channel_impl(&self, contact_id: &str, key: &str) -> Result<Option<Channel>> {
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM contact_channels WHERE contact_id = $1 AND (id = $2 OR name = $2)"
        ))
        .bind(contact_id)
        .bind(key)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    pub(crate) async fn delete_channel_impl(&self, contact_id: &str, key: &str) -> Result<bool> {
        let Some(ch) = self.get_channel_impl(contact_id, key).await? else { return Ok(false) };
        refuse_managed("channel", &ch.name, &ch.stack)?;
        let r = sqlx::query("DELETE FROM contact_channels WHERE id = $1").bind(&ch.id).execute(&self.write).await?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn set_activation_code_impl(
        &self,
        channel_id: &str,
        code_hash: &str,
        expires: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE contact_channels SET activation_code_hash = $1, activation_expires_at = $2, activation_attempts = 0 \
             WHERE id = $3",
        )
        .bind(code_hash)
        .bind(ms(expires))
        .bind(channel_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub(crate) async fn activate_channel_impl(
        &self,
        channel_id: &str,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Activation> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT activated_at, activation_code_hash, activation_expires_at, activation_attempts \
             FROM contact_channels WHERE id = $1{}",
            self.lock()
        ))
        .bind(channel_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(Activation::NoCode) };
        if row.try_get::<Option<i64>, _>("activated_at")?.is_some() {
            return Ok(Activation::AlreadyActive);
        }
        let Some(stored) = row.try_get::<Option<String>, _>("activation_code_hash")? else {
            return Ok(Activation::NoCode);
        };
        let attempts: i64 = row.try_get("activation_attempts")?;
        if attempts >= MAX_ACTIVATION_ATTEMPTS {
            return Ok(Activation::TooManyAttempts);
        }
        if row.try_get::<Option<i64>, _>("activation_expires_at")?.is_none_or(|e| e < ms(now)) {
            return Ok(Activation::Expired);
        }
        let result = if stored == code_hash {
            sqlx::query(
                "UPDATE contact_channels SET activated_at = $1, activation_code_hash = NULL, activation_expires_at = NULL \
                 WHERE id = $2",
            )
            .bind(ms(now))
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
            Activation::Activated
        } else {
            sqlx::query("UPDATE contact_channels SET activation_attempts = activation_attempts + 1 WHERE id = $1")
                .bind(channel_id)
                .execute(&mut *tx)
                .await?;
            Activation::WrongCode { attempts_left: MAX_ACTIVATION_ATTEMPTS - attempts - 1 }
        };
        tx.commit().await?;
        Ok(result)
    }

    pub(crate) async fn create_rotation_impl(&self, spec: &RotationSpec, now: Timestamp) -> Result<Rotation> {
        let mut tx = self.write.begin().await?;
        let id = insert_rotation(&mut tx, spec, None, now).await?;
        let r = fetch_rotation(&mut tx, &id).await?;
        tx.commit().await?;
        r.ok_or_else(|| StoreError::Internal("a new rotation vanished".into()))
    }

    pub(crate) async fn replace_rotation_impl(
        &self,
        key: &str,
        spec: &RotationSpec,
        now: Timestamp,
    ) -> Result<Option<Rotation>> {
        let mut tx = self.write.begin().await?;
        let Some(current) = fetch_rotation(&mut tx, key).await? else { return Ok(None) };
        refuse_managed("rotation", &current.spec.name, &current.stack)?;
        update_rotation(&mut tx, &current.id, spec, now).await?;
        let r = fetch_rotation(&mut tx, &current.id).await?;
        tx.commit().await?;
        Ok(r)
    }

    pub(crate) async fn get_rotation_impl(&self, key: &str) -> Result<Option<Rotation>> {
        let mut conn = self.read.acquire().await?;
        fetch_rotation(&mut conn, key).await
    }

    pub(crate) async fn list_rotations_impl(&self) -> Result<Vec<Rotation>> {
        let rows = sqlx::query("SELECT * FROM rotations ORDER BY name").fetch_all(&self.read).await?;
        rows.iter().map(rotation_from_row).collect()
    }

    pub(crate) async fn delete_rotation_impl(&self, key: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let Some(current) = fetch_rotation(&mut tx, key).await? else { return Ok(false) };
        refuse_managed("rotation", &current.spec.name, &current.stack)?;
        remove_rotation(&mut tx, &current.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn rotation_by_token_impl(&self, token: &str) -> Result<Option<Rotation>> {
        let row = sqlx::query("SELECT * FROM rotations WHERE calendar_token = $1")
            .bind(token)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rotation_from_row).transpose()
    }

    pub(crate) async fn add_override_impl(&self, rotation_id: &str, o: &Override) -> Result<()> {
        let mut tx = self.write.begin().await?;
        contact_ids(&mut tx, &o.contacts, "contacts").await?;
        sqlx::query(
            "INSERT INTO rotation_overrides (id, rotation_id, contacts, start_at, end_at, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&o.id)
        .bind(rotation_id)
        .bind(json(&o.contacts)?)
        .bind(ms(o.start))
        .bind(ms(o.end))
        .bind(ms(o.created_at))
        .bind(&o.created_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_overrides_impl(
        &self,
        rotation_id: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, Override)>> {
        let rows = match rotation_id {
            Some(id) => sqlx::query(
                "SELECT * FROM rotation_overrides WHERE rotation_id = $1 AND end_at > $2 AND start_at < $3 ORDER BY start_at, id",
            )
            .bind(id)
            .bind(ms(from))
            .bind(ms(to))
            .fetch_all(&self.read)
            .await?,
            None => sqlx::query("SELECT * FROM rotation_overrides WHERE end_at > $1 AND start_at < $2 ORDER BY start_at, id")
                .bind(ms(from))
                .bind(ms(to))
                .fetch_all(&self.read)
                .await?,
        };
        rows.iter().map(|r| Ok((r.try_get("rotation_id")?, override_from_row(r)?))).collect()
    }

    pub(crate) async fn delete_override_impl(&self, rotation_id: &str, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM rotation_overrides WHERE rotation_id = $1 AND id = $2")
            .bind(rotation_id)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}

/// Sets (or clears) a contact's plan, checking the result as the contact's own spec.
pub(crate) async fn set_contact_plan(
    conn: &mut Conn,
    alias: &str,
    plan: Option<&muster_core::contact::ContactPlan>,
    rotations: &[String],
    now: Timestamp,
) -> Result<()> {
    let Some(c) = fetch_contact(conn, alias).await? else {
        return Err(StoreError::conflict("ContactId", format!("there is no contact {alias:?}")));
    };
    let mut spec = c.spec();
    match spec.kind {
        ContactType::OncallSchedule => spec.rotations = rotations.to_vec(),
        _ => spec.plan = plan.cloned().filter(|p| !p.stages.is_empty()),
    }
    let spec = spec.validate().map_err(StoreError::Conflict)?;
    update_contact(conn, &c.id, &spec, now).await
}
