//! The audit log's entries: who changed what, when, and from where.

use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    /// The API token's name (also for the web UI, whose sessions name a token), `link`, `slack:USER`,
    /// `sms:NUMBER`, or `anonymous` for a refused request.
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The peer address, and what a proxy said it forwarded for.
    pub remote: Option<String>,
    /// The client's User-Agent (`muster-cli/…` for the CLI).
    pub client: Option<String>,
    pub request_id: Option<String>,
}
