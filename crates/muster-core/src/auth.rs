//! Access roles. Roles are ordered: an admin can do what a responder can, a responder what a viewer can.

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// Whether a holder of `self` may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "responder" => Ok(Role::Responder),
            "admin" => Ok(Role::Admin),
            other => Err(Invalid::new("role", format!("unknown role {other:?}; use viewer, responder or admin"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.allows(Role::Responder));
        assert!(Role::Responder.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Responder));
        assert!(!Role::Responder.allows(Role::Admin));
        assert_eq!("admin".parse::<Role>().expect("valid"), Role::Admin);
        assert_eq!("root".parse::<Role>().expect_err("invalid").field, "role");
    }
}

/// An API token as stored: only a hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: jiff::Timestamp,
    pub created_by: String,
    pub revoked_at: Option<jiff::Timestamp>,
}
