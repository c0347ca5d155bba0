//! Incidents: the record, its timeline and related items, and the pure decisions that change them.

use crate::error::{optional_text, text};
use crate::plan::ResponsePlan;
use crate::{Invalid, new_id};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

pub const MAX_TITLE: usize = 200;
pub const MAX_SUMMARY: usize = 8000;
pub const MAX_DEDUPE: usize = 1000;
pub const MAX_TAGS: usize = 50;

/// How bad an incident is: 1 (critical) to 5 (no impact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Impact(u8);

impl utoipa::PartialSchema for Impact {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1))
            .maximum(Some(5))
            .description(Some("1 (critical), 2 (high), 3 (medium), 4 (low), 5 (no impact)"))
            .into()
    }
}

impl ToSchema for Impact {}

impl Impact {
    pub const CRITICAL: Impact = Impact(1);
    pub const HIGH: Impact = Impact(2);
    pub const MEDIUM: Impact = Impact(3);

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "critical",
            2 => "high",
            3 => "medium",
            4 => "low",
            _ => "no impact",
        }
    }
}

impl TryFrom<i64> for Impact {
    type Error = Invalid;
    fn try_from(v: i64) -> Result<Self, Invalid> {
        match v {
            1..=5 => Ok(Impact(v as u8)),
            _ => Err(Invalid::new("impact", format!("must be an integer from 1 (critical) to 5 (no impact), got {v}"))),
        }
    }
}

impl From<Impact> for i64 {
    fn from(i: Impact) -> i64 {
        i64::from(i.0)
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "OPEN",
            IncidentStatus::Resolved => "RESOLVED",
        }
    }
}

impl FromStr for IncidentStatus {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s.to_ascii_uppercase().as_str() {
            "OPEN" => Ok(IncidentStatus::Open),
            "RESOLVED" => Ok(IncidentStatus::Resolved),
            _ => Err(Invalid::new("status", format!("must be OPEN or RESOLVED, got {s:?}"))),
        }
    }
}

/// People in their incident roles; values are contact aliases or user names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Roles {
    pub commander: Option<String>,
    pub owner: Option<String>,
    pub responders: Vec<String>,
    pub reporter: Option<String>,
}

impl Roles {
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let one = |f: &str, v: Option<String>| optional_text(f, v.as_deref(), 200).map_err(|e| e.within("roles"));
        self.commander = one("commander", self.commander)?;
        self.owner = one("owner", self.owner)?;
        self.reporter = one("reporter", self.reporter)?;
        let mut responders = Vec::new();
        for (i, r) in self.responders.iter().enumerate() {
            let r = text(&format!("responders[{i}]"), r, 200).map_err(|e| e.within("roles"))?;
            if !responders.contains(&r) {
                responders.push(r);
            }
        }
        self.responders = responders;
        Ok(self)
    }
}

/// What started an incident: a person, an alarm, an integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub source: String,
    #[serde(default)]
    pub details: Value,
}

impl Default for Trigger {
    fn default() -> Self {
        Self { source: "manual".into(), details: Value::Null }
    }
}

pub type Tags = BTreeMap<String, String>;

/// Checks tag keys and values: at most 50, keys 1-128 characters, values up to 256.
pub fn validate_tags(tags: Tags) -> Result<Tags, Invalid> {
    if tags.len() > MAX_TAGS {
        return Err(Invalid::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    for (k, v) in &tags {
        if k.trim().is_empty() || k.chars().count() > 128 {
            return Err(Invalid::new(format!("tags.{k}"), "a tag key must be 1 to 128 characters"));
        }
        if v.chars().count() > 256 {
            return Err(Invalid::new(format!("tags.{k}"), "a tag value must be at most 256 characters"));
        }
    }
    Ok(tags)
}

/// The response plan an incident came from, by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: String,
    /// Human-friendly, increasing number: incident #42.
    pub number: i64,
    pub title: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub summary: Option<String>,
    pub dedupe_string: Option<String>,
    pub response_plan: Option<PlanRef>,
    pub tags: Tags,
    pub roles: Roles,
    pub trigger: Trigger,
    pub trigger_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub last_triggered_at: Timestamp,
    pub created_by: String,
}

/// A request to start an incident, parsed.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub title: Option<String>,
    pub impact: Option<Impact>,
    pub summary: Option<String>,
    pub dedupe_string: Option<String>,
    pub tags: Tags,
    pub roles: Roles,
    pub client_token: Option<String>,
    pub response_plan: Option<String>,
    pub trigger: Trigger,
}

/// An incident ready to be written: what the request gave, completed from its response plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub id: String,
    pub title: String,
    pub impact: Impact,
    pub summary: Option<String>,
    pub dedupe_string: Option<String>,
    pub response_plan: Option<PlanRef>,
    pub tags: Tags,
    pub roles: Roles,
    pub trigger: Trigger,
    pub client_token: Option<String>,
    pub created_by: String,
    pub now: Timestamp,
    /// Contacts (aliases) to engage when the incident opens: the response plan's engagements.
    pub engagements: Vec<String>,
    /// Topics and chat channels to tell: the response plan's chat channels.
    pub notify: Vec<String>,
    /// Resources the trigger names; runbooks get them as the involved-resources parameter.
    pub resources: Vec<String>,
    /// Context gathered from the trigger, written with the incident when it opens.
    pub related: Vec<RelatedItem>,
}

/// Fills what the request leaves out from the plan's incident template, then checks the result.
/// Request tags are merged over the template's.
pub fn prepare_start(
    req: StartRequest,
    plan: Option<&ResponsePlan>,
    actor: &str,
    now: Timestamp,
) -> Result<NewIncident, Invalid> {
    let tpl = plan.map(|p| &p.incident_template);
    let title = req.title.or_else(|| tpl.map(|t| t.title.clone()));
    let title = match title {
        Some(t) => text("title", &t, MAX_TITLE)?,
        None => return Err(Invalid::new("title", "is required when no response plan supplies one")),
    };
    let impact = match req.impact.or_else(|| tpl.map(|t| t.impact)) {
        Some(i) => i,
        None => return Err(Invalid::new("impact", "is required when no response plan supplies one")),
    };
    let summary =
        optional_text("summary", req.summary.as_deref().or(tpl.and_then(|t| t.summary.as_deref())), MAX_SUMMARY)?;
    let dedupe_string = optional_text(
        "dedupeString",
        req.dedupe_string.as_deref().or(tpl.and_then(|t| t.dedupe_string.as_deref())),
        MAX_DEDUPE,
    )?;
    let client_token = optional_text("clientToken", req.client_token.as_deref(), 200)?;
    let mut tags = tpl.map(|t| t.tags.clone()).unwrap_or_default();
    tags.extend(req.tags);
    let tags = validate_tags(tags)?;
    let mut roles = req.roles.validate()?;
    if roles.reporter.is_none() {
        roles.reporter = Some(actor.to_string());
    }
    let trigger = Trigger { source: text("trigger.source", &req.trigger.source, 200)?, details: req.trigger.details };
    Ok(NewIncident {
        id: new_id(),
        title,
        impact,
        summary,
        dedupe_string,
        response_plan: plan.map(|p| PlanRef { id: p.id.clone(), name: p.name.clone() }),
        tags,
        roles,
        trigger,
        client_token,
        created_by: actor.to_string(),
        now,
        engagements: plan.map(|p| p.engagements.iter().map(|e| contact_alias(e)).collect()).unwrap_or_default(),
        notify: plan.map(|p| p.chat_channels.clone()).unwrap_or_default(),
        resources: Vec::new(),
        related: Vec::new(),
    })
}

/// A contact's alias from an alias or a contact ARN (`arn:aws:ssm-contacts:...:contact/ann`).
pub fn contact_alias(key: &str) -> String {
    match key.rsplit_once(":contact/") {
        Some((_, alias)) => alias.to_string(),
        None => key.to_string(),
    }
}

/// A change to an incident, parsed. Absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub impact: Option<Impact>,
    pub status: Option<IncidentStatus>,
    pub roles: Option<Roles>,
    pub tags: Option<Tags>,
    /// A note written to the timeline with the change, in the same transaction (why it was resolved).
    pub note: Option<String>,
}

impl IncidentPatch {
    pub fn validate(self) -> Result<Self, Invalid> {
        Ok(Self {
            title: self.title.map(|t| text("title", &t, MAX_TITLE)).transpose()?,
            summary: self
                .summary
                .map(|s| optional_text("summary", Some(&s), MAX_SUMMARY).map(|s| s.unwrap_or_default()))
                .transpose()?,
            impact: self.impact,
            status: self.status,
            roles: self.roles.map(Roles::validate).transpose()?,
            tags: self.tags.map(validate_tags).transpose()?,
            note: self.note.map(|n| text("note", &n, 10_000)).transpose()?,
        })
    }
}

/// Applies a patch: the changed incident and the timeline events that say what changed.
/// An unchanged field writes no event; a patch that changes nothing and carries no note returns no
/// events.
pub fn apply_patch(
    current: &Incident,
    patch: &IncidentPatch,
    actor: &str,
    now: Timestamp,
) -> (Incident, Vec<NewEvent>) {
    let mut next = current.clone();
    let mut events = Vec::new();
    if let Some(note) = &patch.note {
        events.push(NewEvent::new("note", actor, note.clone(), Value::Null, now));
    }
    let mut changed = serde_json::Map::new();
    if let Some(t) = &patch.title
        && *t != current.title
    {
        next.title = t.clone();
        changed.insert("title".into(), serde_json::json!({"from": current.title, "to": t}));
    }
    if let Some(s) = &patch.summary {
        let s = (!s.is_empty()).then(|| s.clone());
        if s != current.summary {
            changed.insert("summary".into(), serde_json::json!({"from": current.summary, "to": s}));
            next.summary = s;
        }
    }
    if let Some(i) = patch.impact
        && i != current.impact
    {
        next.impact = i;
        events.push(NewEvent::new(
            "incident.impact-changed",
            actor,
            format!("Impact changed from {} ({}) to {} ({})", current.impact, current.impact.label(), i, i.label()),
            serde_json::json!({"from": current.impact, "to": i}),
            now,
        ));
    }
    if let Some(r) = &patch.roles
        && *r != current.roles
    {
        next.roles = r.clone();
        changed.insert("roles".into(), serde_json::json!({"from": current.roles, "to": r}));
    }
    if let Some(t) = &patch.tags
        && *t != current.tags
    {
        next.tags = t.clone();
        changed.insert("tags".into(), serde_json::json!({"from": current.tags, "to": t}));
    }
    if !changed.is_empty() {
        let names: Vec<&str> = changed.keys().map(String::as_str).collect();
        events.push(NewEvent::new(
            "incident.updated",
            actor,
            format!("Updated {}", names.join(", ")),
            Value::Object(changed.clone()),
            now,
        ));
    }
    match (current.status, patch.status) {
        (IncidentStatus::Open, Some(IncidentStatus::Resolved)) => {
            next.status = IncidentStatus::Resolved;
            next.resolved_at = Some(now);
            events.push(NewEvent::new("incident.resolved", actor, "Incident resolved", Value::Null, now));
        }
        (IncidentStatus::Resolved, Some(IncidentStatus::Open)) => {
            next.status = IncidentStatus::Open;
            next.resolved_at = None;
            events.push(NewEvent::new(
                "incident.reopened",
                actor,
                "Incident reopened",
                serde_json::json!({"previouslyResolvedAt": current.resolved_at}),
                now,
            ));
        }
        _ => {}
    }
    if !events.is_empty() {
        next.updated_at = now;
    }
    (next, events)
}

/// A timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    pub id: String,
    pub incident_id: String,
    /// When the thing happened (may be earlier than when it was written down).
    pub event_time: Timestamp,
    pub created_at: Timestamp,
    /// `incident.started`, `incident.triggered`, `incident.updated`, `incident.impact-changed`,
    /// `incident.resolved`, `incident.reopened`, `related-item.added`, `note`, or a custom type.
    pub event_type: String,
    pub actor: String,
    pub message: String,
    pub data: Value,
}

/// A timeline entry about to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub event_time: Timestamp,
    pub created_at: Timestamp,
    pub event_type: String,
    pub actor: String,
    pub message: String,
    pub data: Value,
}

impl NewEvent {
    pub fn new(event_type: &str, actor: &str, message: impl Into<String>, data: Value, now: Timestamp) -> Self {
        Self {
            id: new_id(),
            event_time: now,
            created_at: now,
            event_type: event_type.to_string(),
            actor: actor.to_string(),
            message: message.into(),
            data,
        }
    }

    pub fn into_event(self, incident_id: &str) -> TimelineEvent {
        TimelineEvent {
            id: self.id,
            incident_id: incident_id.to_string(),
            event_time: self.event_time,
            created_at: self.created_at,
            event_type: self.event_type,
            actor: self.actor,
            message: self.message,
            data: self.data,
        }
    }
}

/// Event types reserved for Muster itself; people cannot write these by hand.
const RESERVED_PREFIXES: &[&str] = &["incident.", "related-item.", "page.", "engagement.", "runbook."];

/// Parses a person's timeline entry: a note (the default) or a custom event type.
pub fn prepare_user_event(
    event_type: Option<&str>,
    message: &str,
    event_time: Option<Timestamp>,
    data: Value,
    actor: &str,
    now: Timestamp,
) -> Result<NewEvent, Invalid> {
    let event_type = match event_type.map(str::trim) {
        None | Some("") => "note".to_string(),
        Some(t) => {
            if RESERVED_PREFIXES.iter().any(|p| t.starts_with(p)) {
                return Err(Invalid::new("eventType", format!("{t:?} is reserved for events Muster writes itself")));
            }
            if t.len() > 100 || !t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
                return Err(Invalid::new("eventType", "use up to 100 letters, digits, '-', '_', '.' or ':'"));
            }
            t.to_string()
        }
    };
    let message = text("message", message, 10_000)?;
    if event_time.is_some_and(|t| t > now) {
        return Err(Invalid::new("eventTime", "must not be in the future"));
    }
    let mut e = NewEvent::new(&event_type, actor, message, data, now);
    if let Some(t) = event_time {
        e.event_time = t;
    }
    Ok(e)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RelatedItemKind {
    Metric,
    Link,
    Resource,
    Incident,
    Attachment,
    Other,
}

impl RelatedItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelatedItemKind::Metric => "metric",
            RelatedItemKind::Link => "link",
            RelatedItemKind::Resource => "resource",
            RelatedItemKind::Incident => "incident",
            RelatedItemKind::Attachment => "attachment",
            RelatedItemKind::Other => "other",
        }
    }
}

impl FromStr for RelatedItemKind {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        serde_json::from_value(Value::String(s.to_ascii_lowercase())).map_err(|_| {
            Invalid::new(
                "type",
                format!("unknown related item type {s:?}; use metric, link, resource, incident, attachment or other"),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelatedItem {
    pub id: String,
    pub incident_id: String,
    #[serde(rename = "type")]
    pub kind: RelatedItemKind,
    pub title: Option<String>,
    pub value: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// Parses a related item; links must be http(s) URLs.
pub fn prepare_related_item(
    incident_id: &str,
    kind: RelatedItemKind,
    title: Option<&str>,
    value: &str,
    actor: &str,
    now: Timestamp,
) -> Result<RelatedItem, Invalid> {
    let value = text("value", value, 4000)?;
    if kind == RelatedItemKind::Link && !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(Invalid::new("value", "a link must be an http:// or https:// URL"));
    }
    Ok(RelatedItem {
        id: new_id(),
        incident_id: incident_id.to_string(),
        kind,
        title: optional_text("title", title, 200)?,
        value,
        created_at: now,
        created_by: actor.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::IncidentTemplate;

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().expect("valid")
    }

    fn plan() -> ResponsePlan {
        ResponsePlan {
            id: "p1".into(),
            name: "vpn".into(),
            display_name: None,
            incident_template: IncidentTemplate {
                title: "VPN down".into(),
                impact: Impact::try_from(3).expect("valid"),
                summary: Some("tunnel".into()),
                dedupe_string: Some("vpn-down".into()),
                tags: Tags::from([("team".into(), "net".into())]),
            },
            chat_channels: vec![],
            engagements: vec![],
            actions: vec![],
            integrations: Value::Null,
            maintenance: Vec::new(),
            stack: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn impact_outside_one_to_five_is_refused_naming_the_field() {
        assert!(Impact::try_from(1).is_ok());
        assert!(Impact::try_from(5).is_ok());
        let e = Impact::try_from(9).expect_err("9 is out of range");
        assert_eq!(e.field, "impact");
        assert!(serde_json::from_str::<Impact>("0").is_err());
    }

    #[test]
    fn plan_fills_what_the_request_leaves_out() {
        let req = StartRequest {
            impact: Some(Impact::try_from(1).expect("valid")),
            tags: Tags::from([("site".into(), "fra".into())]),
            ..Default::default()
        };
        let n = prepare_start(req, Some(&plan()), "alice", now()).expect("valid");
        assert_eq!(n.title, "VPN down");
        assert_eq!(n.impact.get(), 1);
        assert_eq!(n.summary.as_deref(), Some("tunnel"));
        assert_eq!(n.dedupe_string.as_deref(), Some("vpn-down"));
        assert_eq!(n.tags.len(), 2);
        assert_eq!(n.roles.reporter.as_deref(), Some("alice"));
        assert_eq!(n.response_plan.expect("plan").name, "vpn");
    }

    #[test]
    fn start_without_plan_needs_title_and_impact() {
        let e = prepare_start(StartRequest::default(), None, "a", now()).expect_err("no title");
        assert_eq!(e.field, "title");
        let req = StartRequest { title: Some("x".into()), ..Default::default() };
        assert_eq!(prepare_start(req, None, "a", now()).expect_err("no impact").field, "impact");
    }

    fn incident() -> Incident {
        let n = prepare_start(StartRequest::default(), Some(&plan()), "a", now()).expect("valid");
        Incident {
            id: n.id,
            number: 1,
            title: n.title,
            impact: n.impact,
            status: IncidentStatus::Open,
            summary: n.summary,
            dedupe_string: n.dedupe_string,
            response_plan: n.response_plan,
            tags: n.tags,
            roles: n.roles,
            trigger: n.trigger,
            trigger_count: 1,
            created_at: now(),
            updated_at: now(),
            resolved_at: None,
            last_triggered_at: now(),
            created_by: "a".into(),
        }
    }

    #[test]
    fn resolving_sets_resolved_at_and_reopening_clears_it() {
        let later: Timestamp = "2026-11-23T11:00:00Z".parse().expect("valid");
        let patch = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
        let (resolved, events) = apply_patch(&incident(), &patch, "bob", later);
        assert_eq!(resolved.status, IncidentStatus::Resolved);
        assert_eq!(resolved.resolved_at, Some(later));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, "incident.resolved");

        let patch = IncidentPatch { status: Some(IncidentStatus::Open), ..Default::default() };
        let (reopened, events) = apply_patch(&resolved, &patch, "bob", later);
        assert_eq!(reopened.status, IncidentStatus::Open);
        assert_eq!(reopened.resolved_at, None);
        assert_eq!(events[0].event_type, "incident.reopened");
    }

    #[test]
    fn a_patch_that_changes_nothing_writes_nothing() {
        let i = incident();
        let patch = IncidentPatch { title: Some(i.title.clone()), impact: Some(i.impact), ..Default::default() };
        let (same, events) = apply_patch(&i, &patch, "bob", now());
        assert!(events.is_empty());
        assert_eq!(same, i);
    }

    #[test]
    fn impact_and_field_changes_are_described() {
        let patch = IncidentPatch {
            impact: Some(Impact::try_from(1).expect("valid")),
            title: Some("New".into()),
            ..Default::default()
        };
        let (next, events) = apply_patch(&incident(), &patch, "bob", now());
        assert_eq!(next.title, "New");
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["incident.impact-changed", "incident.updated"]);
        assert!(events[0].message.contains("3 (medium) to 1 (critical)"));
    }

    #[test]
    fn people_cannot_forge_muster_events() {
        let e =
            prepare_user_event(Some("incident.resolved"), "x", None, Value::Null, "a", now()).expect_err("reserved");
        assert_eq!(e.field, "eventType");
        let note = prepare_user_event(None, "looking", None, Value::Null, "a", now()).expect("valid");
        assert_eq!(note.event_type, "note");
        let later: Timestamp = "2026-11-24T00:00:00Z".parse().expect("valid");
        assert_eq!(
            prepare_user_event(None, "x", Some(later), Value::Null, "a", now()).expect_err("future").field,
            "eventTime"
        );
    }

    #[test]
    fn links_must_be_urls() {
        assert!(prepare_related_item("i", RelatedItemKind::Link, None, "ftp://x", "a", now()).is_err());
        assert!(prepare_related_item("i", RelatedItemKind::Link, None, "https://x", "a", now()).is_ok());
        assert_eq!("METRIC".parse::<RelatedItemKind>().expect("valid"), RelatedItemKind::Metric);
    }
}
