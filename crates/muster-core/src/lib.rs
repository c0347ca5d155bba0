//! Muster's domain core.
//!
//! Types here parse their input (an [`Impact`] of 9 cannot be built) and decisions are pure
//! functions of state, input and the current instant. This crate knows nothing of HTTP, SQL,
//! tokio or the file system, and nothing in it can fail on IO.

pub mod alarm;
pub mod alert;
pub mod analysis;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod contact;
pub mod engage;
pub mod error;
pub mod ical;
pub mod incident;
pub mod integration;
pub mod interaction;
pub mod library;
pub mod maintenance;
pub mod metric;
pub mod pattern;
pub mod plan;
pub mod rotation;
pub mod rule;
pub mod runbook;
pub mod silence;
pub mod stack;
pub mod topic;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Invalid;

/// A new unique identifier: UUID v7, so identifiers sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
