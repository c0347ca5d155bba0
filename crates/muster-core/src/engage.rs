//! Engagements and pages: who is being woken for what, and the durable tasks that do it.

use crate::contact::ChannelType;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EngagementStatus {
    /// Stages still fire.
    Active,
    /// Someone acknowledged: no later stage fires (invariant 4).
    Acknowledged,
    /// Stopped by hand, or its incident resolved.
    Stopped,
}

impl EngagementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EngagementStatus::Active => "ACTIVE",
            EngagementStatus::Acknowledged => "ACKNOWLEDGED",
            EngagementStatus::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ACTIVE" => EngagementStatus::Active,
            "ACKNOWLEDGED" => EngagementStatus::Acknowledged,
            "STOPPED" => EngagementStatus::Stopped,
            _ => return None,
        })
    }
}

/// Engaging a contact (a person, an on-call schedule or an escalation) about something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Engagement {
    pub id: String,
    pub incident_id: Option<String>,
    /// The contact engaged, by alias.
    pub contact: String,
    pub subject: String,
    pub content: String,
    pub status: EngagementStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    pub stopped_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    /// `api`, `cli`, `link`, `sms`, `slack`.
    pub acknowledged_via: Option<String>,
}

/// A page's receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PageStatus {
    /// Decided and written; not yet handed to its provider.
    Pending,
    /// The provider took it.
    Sent,
    /// The provider confirmed it reached the recipient's side.
    Delivered,
    /// Acknowledged.
    Read,
    /// Delivery failed for good; on the incident's timeline.
    Error,
    /// Not sent: the engagement was acknowledged or stopped first.
    Cancelled,
}

impl PageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PageStatus::Pending => "PENDING",
            PageStatus::Sent => "SENT",
            PageStatus::Delivered => "DELIVERED",
            PageStatus::Read => "READ",
            PageStatus::Error => "ERROR",
            PageStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => PageStatus::Pending,
            "SENT" => PageStatus::Sent,
            "DELIVERED" => PageStatus::Delivered,
            "READ" => PageStatus::Read,
            "ERROR" => PageStatus::Error,
            "CANCELLED" => PageStatus::Cancelled,
            _ => return None,
        })
    }
}

/// One message to one person through one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub id: String,
    pub engagement_id: String,
    pub incident_id: Option<String>,
    /// The person paged, by alias.
    pub contact: String,
    pub channel_id: String,
    pub channel_name: String,
    pub channel_type: ChannelType,
    #[serde(skip)]
    pub address: String,
    /// The person's engagement-plan stage this page belongs to.
    pub stage: u32,
    pub status: PageStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The short code a person can reply with (SMS) to acknowledge.
    #[serde(skip)]
    pub ack_code: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub read_at: Option<Timestamp>,
    pub read_by: Option<String>,
    pub read_via: Option<String>,
}

/// A durable task: what a job row asks a worker to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
pub enum Task {
    /// Begin an engagement: route to the target's kind.
    #[serde(rename_all = "camelCase")]
    StartEngagement { engagement_id: String },
    /// Fire one stage of an escalation plan, in one round of it.
    #[serde(rename_all = "camelCase")]
    EscalationStage { engagement_id: String, escalation: String, stage: u32, round: u32 },
    /// Fire one stage of a person's engagement plan.
    #[serde(rename_all = "camelCase")]
    ContactStage { engagement_id: String, contact: String, stage: u32, essential: bool },
    /// Hand a page to its provider.
    #[serde(rename_all = "camelCase")]
    DeliverPage { page_id: String },
    /// Tell the incoming person that their shift starts soon.
    #[serde(rename_all = "camelCase")]
    HandoffNotice { rotation_id: String, shift_start: Timestamp, contact: String },
    /// Plan the handoff notices of the coming hours and come back later.
    PlanHandoffNotices,
    /// Tell a topic (its subscriptions and chat channels) or a chat channel about something.
    #[serde(rename_all = "camelCase")]
    Publish {
        incident_id: Option<String>,
        target: String,
        subject: String,
        text: String,
        /// A runbook execution waiting for approval: chat messages carry Approve and Reject.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<String>,
    },
    /// Hand a notification to its provider.
    #[serde(rename_all = "camelCase")]
    DeliverNotification { notification_id: String },
    /// Run (or, after a sleep or an approval, finish) one step of a runbook execution.
    #[serde(rename_all = "camelCase")]
    RunStep { execution_id: String, step: String, resume: bool },
    /// Evaluate a metric alarm. The periodic one comes back at the next period; the other was asked
    /// for by new data.
    #[serde(rename_all = "camelCase")]
    EvaluateAlarm { alarm_id: String, periodic: bool },
    /// Take one action of an alarm that entered a state: open an incident from a response plan, or
    /// publish to a topic.
    #[serde(rename_all = "camelCase")]
    AlarmAction { alarm_id: String, state: String, target: String, changed_at: Timestamp },
    /// Delete metric data older than the retention, and come back later.
    PruneMetrics,
    /// Route something received: match an event against rules, or turn an alert into an incident
    /// change. `closes`: an alert that acknowledges or resolves, which may stop an escalation; it
    /// is claimed with deliveries, not after the backlog of new alerts.
    #[serde(rename_all = "camelCase")]
    Route {
        inbound_id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        closes: bool,
    },
    /// Check that a heartbeat integration was pinged within its interval.
    #[serde(rename_all = "camelCase")]
    CheckHeartbeat { integration_id: String },
    /// Remind the owners of overdue action items, and come back a day later.
    RemindActionItems,
}

impl Task {
    pub fn kind(&self) -> &'static str {
        match self {
            Task::StartEngagement { .. } => "start-engagement",
            Task::EscalationStage { .. } => "escalation-stage",
            Task::ContactStage { .. } => "contact-stage",
            Task::DeliverPage { .. } => "deliver-page",
            Task::HandoffNotice { .. } => "handoff-notice",
            Task::PlanHandoffNotices => "plan-handoff-notices",
            Task::Publish { .. } => "publish",
            Task::DeliverNotification { .. } => "deliver-notification",
            Task::RunStep { .. } => "run-step",
            Task::EvaluateAlarm { .. } => "evaluate-alarm",
            Task::AlarmAction { .. } => "alarm-action",
            Task::PruneMetrics => "prune-metrics",
            Task::Route { closes: false, .. } => "route",
            Task::Route { closes: true, .. } => "route-close",
            Task::CheckHeartbeat { .. } => "check-heartbeat",
            Task::RemindActionItems => "remind-action-items",
        }
    }
}

/// A job to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub task: Task,
    pub due_at: Timestamp,
    /// At most one job with this key exists; a second insert is dropped.
    pub unique_key: Option<String>,
    pub attempts: u32,
}

impl NewJob {
    pub fn at(task: Task, due_at: Timestamp) -> Self {
        Self { id: crate::new_id(), task, due_at, unique_key: None, attempts: 0 }
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub task: Task,
    pub due_at: Timestamp,
    pub attempts: u32,
}

/// Attempts a page gets before its failure is final.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 5;

/// How long to wait before delivery attempt `attempt + 1`: the channel's retry interval when it
/// has one, else exponential from 30 seconds, capped at 15 minutes; `jitter` in [0, 1) spreads
/// retries by up to a fifth so a recovering provider is not hit all at once.
pub fn retry_delay(attempt: u32, retry_interval_minutes: Option<u32>, jitter: f64) -> SignedDuration {
    let base = match retry_interval_minutes {
        Some(m) if m > 0 => 60.0 * f64::from(m),
        _ => (30.0 * 2f64.powi(attempt.saturating_sub(1).min(10) as i32)).min(15.0 * 60.0),
    };
    SignedDuration::from_secs_f64(base * (1.0 + 0.2 * jitter.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_cap() {
        assert_eq!(retry_delay(1, None, 0.0), SignedDuration::from_secs(30));
        assert_eq!(retry_delay(2, None, 0.0), SignedDuration::from_secs(60));
        assert_eq!(retry_delay(9, None, 0.0), SignedDuration::from_mins(15));
        assert_eq!(retry_delay(3, Some(2), 0.0), SignedDuration::from_mins(2));
        assert!(retry_delay(1, None, 0.99) > SignedDuration::from_secs(35));
    }

    #[test]
    fn tasks_round_trip_as_json() {
        let t = Task::ContactStage { engagement_id: "e".into(), contact: "ann".into(), stage: 2, essential: true };
        let v = serde_json::to_value(&t).expect("serializes");
        assert_eq!(v["task"], "contactStage");
        assert_eq!(serde_json::from_value::<Task>(v).expect("parses"), t);
    }
}
