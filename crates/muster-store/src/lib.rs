//! Muster's storage: one [`Store`] trait, implemented by [`SqlStore`] for SQLite (the embedded
//! default) and PostgreSQL (several nodes on one database).
//!
//! Only this crate writes SQL. It knows nothing of HTTP or JSON field names beyond the JSON text it
//! keeps in columns, which it reads and writes through the core types' own serde shape.

mod alarms;
mod analyses;
mod audit;
mod backup;
mod error;
mod inbound;
mod oncall;
mod paging;
mod runbooks;
mod sql;
pub mod testing;
mod topics;

pub use alarms::{AlarmChange, Series, evaluate_job, parse_dimensions_key};
pub use analyses::ActionItemQuery;
pub use audit::AuditQuery;
pub use backup::{backup, check_backup, restore};
pub use error::StoreError;
pub use inbound::{InboundQuery, InboundUpdate, NewInbound};
pub use muster_core::audit::AuditEntry;
pub use paging::{Acked, Effects, Finish, PageUpdate};
pub use runbooks::ExecutionChange;
pub use sql::SqlStore;
pub use topics::{NotificationUpdate, Outgoing};

use async_trait::async_trait;
use jiff::SignedDuration;
use jiff::Timestamp;
use muster_core::alarm::{Alarm, AlarmHistoryItem, AlarmSpec, Evaluation, StateValue};
use muster_core::analysis::{ActionItem, ActionItemSpec, Analysis, AnalysisTemplate, ReportIncident, ReportPage};
use muster_core::auth::ApiToken;
use muster_core::contact::{Channel, ChannelSpec, Contact, ContactSpec};
use muster_core::engage::{Engagement, Job, NewJob, Page};
use muster_core::incident::{
    Incident, IncidentPatch, IncidentStatus, NewEvent, NewIncident, RelatedItem, TimelineEvent,
};
use muster_core::integration::{Inbound, Integration, IntegrationSpec};
use muster_core::metric::{Datapoint, Dimensions};
use muster_core::plan::{ResponsePlan, ResponsePlanSpec};
use muster_core::rotation::{Override, Rotation, RotationSpec};
use muster_core::rule::{Rule, RuleSpec};
use muster_core::runbook::{Document, Execution, Runbook};
use muster_core::stack::{ApplyReport, StackPlan, StackResource};
use muster_core::topic::{ChatChannel, ChatChannelSpec, Notification, Subscription, Topic, TopicSpec};
use serde_json::Value;
use std::collections::BTreeMap;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database is behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for an unsupported scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How an incident start ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    /// A new incident was opened.
    Created(Incident),
    /// An open incident with the same dedupe string took the trigger (invariant 3).
    Deduplicated(Incident),
    /// A start with the same client token happened before; this is its incident.
    Replayed(Incident),
}

impl StartOutcome {
    pub fn incident(&self) -> &Incident {
        match self {
            StartOutcome::Created(i) | StartOutcome::Deduplicated(i) | StartOutcome::Replayed(i) => i,
        }
    }

    pub fn into_incident(self) -> Incident {
        match self {
            StartOutcome::Created(i) | StartOutcome::Deduplicated(i) | StartOutcome::Replayed(i) => i,
        }
    }
}

/// A page of incidents, newest first. `next` continues the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    pub items: Vec<Incident>,
    pub next: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// Only incidents numbered below this (the `next` of a previous page).
    pub before: Option<i64>,
    pub limit: u32,
}

/// A stack as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStack {
    pub name: String,
    pub format: String,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, Value>,
    pub resources: Vec<StackResource>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How an activation attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Activated,
    AlreadyActive,
    WrongCode {
        attempts_left: i64,
    },
    Expired,
    /// No code was sent (or the channel is gone).
    NoCode,
    TooManyAttempts,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Succeeds when the database answers and migrations are applied.
    async fn ping(&self) -> Result<()>;

    async fn count_tokens(&self) -> Result<i64>;
    async fn create_token(&self, token: &ApiToken) -> Result<()>;
    /// A live (not revoked) token by the hash of its secret.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revokes a token; false when there is no such live token.
    async fn revoke_token(&self, id: &str, now: Timestamp) -> Result<bool>;

    /// Opens an incident, or adds the trigger to the open one with the same dedupe string, or
    /// returns the earlier result for a repeated client token. Holds under concurrent calls.
    async fn start_incident(&self, new: NewIncident) -> Result<StartOutcome>;
    /// By id, or by number when `key` is all digits.
    async fn get_incident(&self, key: &str) -> Result<Option<Incident>>;
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<IncidentPage>;
    /// Applies a patch with [`muster_core::incident::apply_patch`] inside one transaction. `None`
    /// when there is no such incident; otherwise the incident after the change and the events written.
    async fn update_incident(
        &self,
        key: &str,
        patch: &IncidentPatch,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<(Incident, Vec<TimelineEvent>)>>;
    /// `None` when there is no such incident.
    async fn add_timeline_event(&self, key: &str, event: NewEvent) -> Result<Option<TimelineEvent>>;
    async fn list_timeline(&self, incident_id: &str) -> Result<Vec<TimelineEvent>>;
    /// Adds a related item and a timeline event for it. `Conflict` when the same item is there.
    async fn add_related_item(&self, item: &RelatedItem) -> Result<()>;
    async fn list_related_items(&self, incident_id: &str) -> Result<Vec<RelatedItem>>;

    /// Creates a plan; `Conflict` naming `name` when one with that name exists.
    async fn create_plan(&self, spec: &ResponsePlanSpec, now: Timestamp) -> Result<ResponsePlan>;
    /// Replaces a plan's spec; `None` when there is none. A stack-managed plan is refused.
    async fn replace_plan(&self, key: &str, spec: &ResponsePlanSpec, now: Timestamp) -> Result<Option<ResponsePlan>>;
    /// By id or name.
    async fn get_plan(&self, key: &str) -> Result<Option<ResponsePlan>>;
    async fn list_plans(&self) -> Result<Vec<ResponsePlan>>;
    /// False when there is no such plan. A stack-managed plan is refused.
    async fn delete_plan(&self, key: &str) -> Result<bool>;

    /// Applies a stack in one transaction; a dry run rolls it back and reports the same changes.
    async fn apply_stack(&self, plan: &StackPlan, dry_run: bool, now: Timestamp) -> Result<ApplyReport>;
    async fn get_stack(&self, name: &str) -> Result<Option<StoredStack>>;
    async fn list_stacks(&self) -> Result<Vec<StoredStack>>;
    /// Deletes a stack and everything it made; `None` when there is no such stack.
    async fn delete_stack(&self, name: &str, now: Timestamp) -> Result<Option<Vec<StackResource>>>;

    /// Creates a contact; `Conflict` naming `alias` when taken, or `rotations[i]` when a schedule
    /// names a rotation that does not exist.
    async fn create_contact(&self, spec: &ContactSpec, now: Timestamp) -> Result<Contact>;
    async fn replace_contact(&self, key: &str, spec: &ContactSpec, now: Timestamp) -> Result<Option<Contact>>;
    /// By alias or id.
    async fn get_contact(&self, key: &str) -> Result<Option<Contact>>;
    async fn list_contacts(&self) -> Result<Vec<Contact>>;
    /// Refused while the contact is a member of a rotation.
    async fn delete_contact(&self, key: &str) -> Result<bool>;
    async fn contact_by_calendar_token(&self, token: &str) -> Result<Option<Contact>>;

    async fn add_channel(
        &self,
        contact_id: &str,
        spec: &ChannelSpec,
        activated: bool,
        now: Timestamp,
    ) -> Result<Channel>;
    async fn list_channels(&self, contact_id: &str) -> Result<Vec<Channel>>;
    /// By id or name.
    async fn get_channel(&self, contact_id: &str, key: &str) -> Result<Option<Channel>>;
    async fn delete_channel(&self, contact_id: &str, key: &str) -> Result<bool>;
    /// Stores the hash of a new activation code, replacing any earlier one.
    async fn set_activation_code(&self, channel_id: &str, code_hash: &str, expires: Timestamp) -> Result<()>;
    async fn activate_channel(&self, channel_id: &str, code_hash: &str, now: Timestamp) -> Result<Activation>;

    /// Creates a rotation; `Conflict` naming `members[i]` for an unknown or non-person member.
    async fn create_rotation(&self, spec: &RotationSpec, now: Timestamp) -> Result<Rotation>;
    async fn replace_rotation(&self, key: &str, spec: &RotationSpec, now: Timestamp) -> Result<Option<Rotation>>;
    /// By name or id.
    async fn get_rotation(&self, key: &str) -> Result<Option<Rotation>>;
    async fn list_rotations(&self) -> Result<Vec<Rotation>>;
    async fn delete_rotation(&self, key: &str) -> Result<bool>;
    async fn rotation_by_calendar_token(&self, token: &str) -> Result<Option<Rotation>>;
    async fn add_override(&self, rotation_id: &str, o: &Override) -> Result<()>;
    /// Overrides whose window meets `[from, to)`, of one rotation or all, with their rotation's id.
    async fn list_overrides(
        &self,
        rotation_id: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, Override)>>;
    async fn delete_override(&self, rotation_id: &str, id: &str) -> Result<bool>;

    /// A server-wide setting, set to `default` the first time it is asked for (by any node).
    async fn setting(&self, name: &str, default: &str) -> Result<String>;

    /// Writes jobs (a duplicate unique key is dropped) and wakes the workers.
    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<()>;
    /// Claims up to `limit` due jobs for `node` for `lease`; a job whose lease ran out is due again.
    /// On PostgreSQL concurrent claims never return the same job (`FOR UPDATE SKIP LOCKED`).
    async fn claim_jobs(&self, node: &str, now: Timestamp, lease: SignedDuration, limit: u32) -> Result<Vec<Job>>;
    /// Frees the claims of one node (or all, with `None`), so its jobs run again now; answers how
    /// many were freed.
    async fn release_claims(&self, node: Option<&str>) -> Result<u64>;
    /// When the next job falls due (or its lease runs out).
    async fn next_job_due(&self) -> Result<Option<Timestamp>>;
    /// Writes a job's effects and deletes it, in one transaction, if `node` still holds it.
    async fn finish_job(&self, job_id: &str, node: &str, effects: &Effects, now: Timestamp) -> Result<Finish>;

    async fn create_engagement(&self, e: &Engagement, first: &NewJob) -> Result<()>;
    async fn get_engagement(&self, id: &str) -> Result<Option<Engagement>>;
    async fn list_engagements(&self, incident_id: Option<&str>) -> Result<Vec<Engagement>>;
    /// Stops an active engagement; false when it was not active.
    async fn stop_engagement(&self, id: &str, now: Timestamp) -> Result<bool>;
    async fn get_page(&self, id: &str) -> Result<Option<Page>>;
    async fn list_pages(&self, incident_id: Option<&str>, engagement_id: Option<&str>) -> Result<Vec<Page>>;
    /// The latest page to `address` with this reply code.
    async fn page_by_code(&self, address: &str, code: &str) -> Result<Option<Page>>;
    /// Whether the person acknowledged any page of this engagement.
    async fn person_acked(&self, engagement_id: &str, contact: &str) -> Result<bool>;
    /// Acknowledges a page, stops its engagement when the plan says so, and writes the timeline.
    async fn acknowledge(&self, page_id: &str, by: &str, via: &str, now: Timestamp) -> Result<Option<Acked>>;

    /// Creates (no `key`, or no such topic) or replaces a topic; true when created.
    async fn put_topic(&self, key: Option<&str>, spec: &TopicSpec, now: Timestamp) -> Result<(Topic, bool)>;
    async fn get_topic(&self, key: &str) -> Result<Option<Topic>>;
    async fn list_topics(&self) -> Result<Vec<Topic>>;
    async fn delete_topic(&self, key: &str) -> Result<bool>;
    /// Every subscription of a topic, its own and separate ones.
    async fn subscriptions(&self, topic: &Topic) -> Result<Vec<Subscription>>;
    async fn put_chat_channel(
        &self,
        key: Option<&str>,
        spec: &ChatChannelSpec,
        now: Timestamp,
    ) -> Result<(ChatChannel, bool)>;
    async fn get_chat_channel(&self, key: &str) -> Result<Option<ChatChannel>>;
    async fn list_chat_channels(&self) -> Result<Vec<ChatChannel>>;
    async fn delete_chat_channel(&self, key: &str) -> Result<bool>;
    async fn list_notifications(&self, incident_id: Option<&str>) -> Result<Vec<Notification>>;
    async fn get_outgoing(&self, id: &str) -> Result<Option<Outgoing>>;

    /// Adds one to a named counter and answers its new value (from 1), atomically across nodes.
    async fn next_in_sequence(&self, name: &str) -> Result<i64>;

    /// The provider reference of the first message about an incident to a chat target (to thread under).
    async fn thread_of(&self, incident_id: &str, target: &str) -> Result<Option<String>>;

    /// Creates (no `key`, or no such runbook) or replaces a runbook; true when created.
    async fn put_runbook(
        &self,
        key: Option<&str>,
        name: &str,
        document: &Value,
        now: Timestamp,
    ) -> Result<(Runbook, bool)>;
    /// By name or id; an AWS document with a built-in stand-in answers with the stand-in.
    async fn get_runbook(&self, key: &str) -> Result<Option<Runbook>>;
    /// Stores a built-in runbook (stack `builtin`), updating an older copy; true when written.
    async fn seed_runbook(&self, name: &str, document: &Value, now: Timestamp) -> Result<bool>;
    async fn list_runbooks(&self) -> Result<Vec<Runbook>>;
    async fn delete_runbook(&self, key: &str) -> Result<bool>;
    /// Writes an execution (with the document it runs, as it was) and its first job.
    async fn create_execution(&self, e: &Execution, document: &Document, first: &NewJob) -> Result<()>;
    async fn get_execution(&self, id: &str) -> Result<Option<Execution>>;
    async fn list_executions(&self, incident_id: Option<&str>) -> Result<Vec<Execution>>;
    /// Records an approval or rejection on the waiting step; with `resume`, the execution goes on
    /// at that step. `Conflict` when it is not waiting.
    async fn decide(
        &self,
        id: &str,
        entry: Value,
        resume: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<muster_core::runbook::StepRun>>;
    async fn cancel_execution(&self, id: &str, now: Timestamp) -> Result<bool>;

    /// Writes datapoints and asks the alarms watching their series to look again; answers how many
    /// evaluations were asked for.
    async fn put_metric_data(&self, data: &[Datapoint], now: Timestamp) -> Result<usize>;
    /// One series' data in `[from, to)`, oldest first.
    async fn metric_data(
        &self,
        namespace: &str,
        metric_name: &str,
        dimensions: &Dimensions,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Datapoint>>;
    /// The series that have data (at most 1000), optionally of one namespace.
    async fn list_series(&self, namespace: Option<&str>) -> Result<Vec<Series>>;
    /// Deletes data older than `before`; answers how many rows went.
    async fn prune_metric_data(&self, before: Timestamp) -> Result<u64>;
    /// Creates (no `key`, or no such alarm) or replaces an alarm; true when created.
    async fn put_alarm(&self, key: Option<&str>, spec: &AlarmSpec, now: Timestamp) -> Result<(Alarm, bool)>;
    /// By name or id.
    async fn get_alarm(&self, key: &str) -> Result<Option<Alarm>>;
    async fn list_alarms(&self, state: Option<StateValue>) -> Result<Vec<Alarm>>;
    async fn delete_alarm(&self, key: &str) -> Result<bool>;
    /// Newest first.
    async fn alarm_history(&self, alarm_id: &str) -> Result<Vec<AlarmHistoryItem>>;
    async fn add_alarm_history(
        &self,
        alarm_id: &str,
        kind: &str,
        summary: &str,
        data: &Value,
        now: Timestamp,
    ) -> Result<()>;
    /// Sets an alarm's state by hand, with its actions; `None` when there is no such alarm, else
    /// whether the state changed.
    async fn set_alarm_state(&self, key: &str, evaluation: &Evaluation, now: Timestamp) -> Result<Option<bool>>;

    /// Creates (no `key`, or no such rule) or replaces an event rule; true when created.
    async fn put_rule(&self, key: Option<&str>, spec: &RuleSpec, now: Timestamp) -> Result<(Rule, bool)>;
    /// By name or id.
    async fn get_rule(&self, key: &str) -> Result<Option<Rule>>;
    async fn list_rules(&self) -> Result<Vec<Rule>>;
    async fn delete_rule(&self, key: &str) -> Result<bool>;

    /// Creates an integration whose key hashes to `key_hash`; `Conflict` naming `name` when taken.
    async fn create_integration(
        &self,
        spec: &IntegrationSpec,
        key_hash: &str,
        key_prefix: &str,
        now: Timestamp,
    ) -> Result<Integration>;
    async fn replace_integration(
        &self,
        key: &str,
        spec: &IntegrationSpec,
        now: Timestamp,
    ) -> Result<Option<Integration>>;
    /// By name or id.
    async fn get_integration(&self, key: &str) -> Result<Option<Integration>>;
    async fn integration_by_key(&self, key_hash: &str) -> Result<Option<Integration>>;
    async fn list_integrations(&self) -> Result<Vec<Integration>>;
    async fn delete_integration(&self, key: &str) -> Result<bool>;

    /// Writes received items, each with the job that routes it, and any other jobs, in one
    /// transaction: once this returns, nothing received is lost.
    async fn ingest(&self, items: &[NewInbound], extra: &[NewJob], now: Timestamp) -> Result<()>;
    async fn get_inbound(&self, id: &str) -> Result<Option<Inbound>>;
    /// Newest first.
    async fn list_inbound(&self, query: &InboundQuery) -> Result<Vec<Inbound>>;
    /// The open incident with this dedupe string.
    async fn open_incident_by_dedupe(&self, dedupe: &str) -> Result<Option<String>>;

    /// Writes a silence (replacing one with its id).
    async fn put_silence(&self, silence: &muster_core::silence::Silence) -> Result<()>;
    async fn get_silence(&self, id: &str) -> Result<Option<muster_core::silence::Silence>>;
    /// Newest first, at most 1000.
    async fn list_silences(&self) -> Result<Vec<muster_core::silence::Silence>>;
    /// The id of an active silence that mutes these labels.
    async fn silence_for(&self, labels: &BTreeMap<String, String>, now: Timestamp) -> Result<Option<String>>;

    /// Creates or replaces an analysis template; true when created.
    async fn put_analysis_template(&self, t: &AnalysisTemplate, now: Timestamp) -> Result<bool>;
    async fn get_analysis_template(&self, name: &str) -> Result<Option<AnalysisTemplate>>;
    async fn list_analysis_templates(&self) -> Result<Vec<AnalysisTemplate>>;
    /// Writes an analysis (replacing one with its id).
    async fn put_analysis(&self, a: &Analysis) -> Result<()>;
    async fn get_analysis(&self, id: &str) -> Result<Option<Analysis>>;
    /// Newest first; of one incident, or the latest 500.
    async fn list_analyses(&self, incident_id: Option<&str>) -> Result<Vec<Analysis>>;
    /// Creates (no `id`) or replaces an action item of an analysis; `Conflict` naming `owner` for an
    /// unknown contact.
    async fn put_action_item(
        &self,
        id: Option<&str>,
        analysis_id: &str,
        spec: &ActionItemSpec,
        now: Timestamp,
    ) -> Result<ActionItem>;
    async fn list_action_items(&self, query: &ActionItemQuery) -> Result<Vec<ActionItem>>;
    async fn delete_action_item(&self, id: &str) -> Result<bool>;
    /// The incidents opened in `[from, to)` with their first acknowledgements, and the pages sent
    /// in it with each person's time zone.
    async fn report_data(&self, from: Timestamp, to: Timestamp) -> Result<(Vec<ReportIncident>, Vec<ReportPage>)>;

    async fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// Deletes what is past its retention: inbound items already routed (older than `inbound`),
    /// and resolved incidents without an analysis (older than `resolved`). Answers how many of each.
    async fn prune(&self, inbound: Option<Timestamp>, resolved: Option<Timestamp>) -> Result<(u64, u64)>;
}
