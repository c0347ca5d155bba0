//! Backups of the embedded SQLite database: a consistent copy taken while the server runs
//! (`VACUUM INTO`), and a restore that checks a copy before it takes the database's place.
//! PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`).

use crate::sql::sqlite_path;
use crate::{Backend, Result, StoreError};
use sqlx::{Connection, Row};
use std::path::Path;

/// Writes a consistent copy of the SQLite database `url` names to `to` (which must not exist),
/// reading the database only: a mistyped path makes no new database, and nothing is migrated.
pub async fn backup(url: &str, to: &Path) -> Result<()> {
    if Backend::from_url(url) != Some(Backend::Sqlite) {
        return Err(StoreError::Unavailable(
            "backups of PostgreSQL are taken with pg_dump (pg_dump -Fc DATABASE > muster.dump)".into(),
        ));
    }
    let source = sqlite_path(url)?;
    if !Path::new(&source).is_file() {
        return Err(StoreError::conflict("database", format!("there is no database at {source}")));
    }
    if to.exists() {
        return Err(StoreError::conflict("to", format!("{} exists already", to.display())));
    }
    let target = to.to_str().ok_or_else(|| StoreError::conflict("to", "the path is not UTF-8"))?;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{source}?mode=ro")).await?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Checks that a file is a sound Muster SQLite database: it opens, passes SQLite's integrity check
/// and has Muster's tables. Answers how many incidents it holds.
pub async fn check_backup(file: &Path) -> Result<i64> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .map_err(|e| StoreError::conflict("from", format!("{} does not open as SQLite: {e}", file.display())))?;
    let ok: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| StoreError::conflict("from", format!("{} is not a SQLite database: {e}", file.display())))?
        .try_get(0)?;
    if ok != "ok" {
        return Err(StoreError::conflict("from", format!("{} fails SQLite's integrity check: {ok}", file.display())));
    }
    let incidents = sqlx::query("SELECT COUNT(*) FROM incidents")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| StoreError::conflict("from", format!("{} is not a Muster database", file.display())))?
        .try_get(0)?;
    conn.close().await?;
    Ok(incidents)
}

/// Puts a checked backup in the place of the database `url` names (a SQLite file that must not be
/// in use). With `force` an existing database is replaced (it is kept beside as `.before-restore`).
pub async fn restore(from: &Path, url: &str, force: bool) -> Result<i64> {
    if Backend::from_url(url) != Some(Backend::Sqlite) {
        return Err(StoreError::Unavailable(
            "restores to PostgreSQL are made with pg_restore (pg_restore -d DATABASE muster.dump)".into(),
        ));
    }
    let incidents = check_backup(from).await?;
    let target = sqlite_path(url)?;
    let target = Path::new(&target);
    if target.exists() {
        if !force {
            return Err(StoreError::conflict("database", format!("{} exists; --force replaces it", target.display())));
        }
        let kept = target.with_extension("db.before-restore");
        std::fs::rename(target, &kept)
            .map_err(|e| StoreError::Unavailable(format!("cannot move the old database aside: {e}")))?;
        for ext in ["db-wal", "db-shm"] {
            let _ = std::fs::remove_file(target.with_extension(ext));
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::copy(from, target).map_err(|e| StoreError::Unavailable(format!("cannot copy the backup: {e}")))?;
    Ok(incidents)
}
