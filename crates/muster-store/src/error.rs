use muster_core::Invalid;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The request clashes with what is stored (a taken name, a stack-managed object).
    #[error("{0}")]
    Conflict(Invalid),
    /// The database cannot be reached or is out of space; the request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or a corrupt row.
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Conflict(Invalid::new(field, message))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) => {
                let msg = db.message().to_ascii_lowercase();
                // SQLite: disk full, read-only, locked; PostgreSQL: shutting down, too many clients, out of
                // space, and the transient conflicts (deadlock, serialization) a retry resolves.
                if msg.contains("disk")
                    || msg.contains("readonly")
                    || msg.contains("read-only")
                    || msg.contains("locked")
                    || matches!(
                        db.code().as_deref(),
                        Some("57P01" | "57P02" | "57P03" | "53300" | "53100" | "40P01" | "40001")
                    )
                {
                    StoreError::Unavailable(db.message().to_string())
                } else {
                    StoreError::Internal(e.to_string())
                }
            }
            _ => StoreError::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(format!("stored JSON does not parse: {e}"))
    }
}

/// Whether an error is a unique-constraint violation (on either backend).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.kind() == sqlx::error::ErrorKind::UniqueViolation
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Refuses to change an object a stack manages: its template is the source of truth.
pub(crate) fn refuse_managed(what: &str, name: &str, stack: &Option<String>) -> Result<(), StoreError> {
    match stack {
        Some(stack) => Err(StoreError::conflict(
            "name",
            format!("{what} {name:?} is managed by stack {stack:?}; change it through the stack's template"),
        )),
        None => Ok(()),
    }
}
