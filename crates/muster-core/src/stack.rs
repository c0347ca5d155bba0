//! Stacks: a named set of resources applied from a template. The diff between what a stack has
//! and what its template now declares is decided here; the store carries it out in one transaction.

use crate::contact::{ChannelSpec, ContactPlan, ContactSpec, ContactType};
use crate::plan::ResponsePlanSpec;
use crate::rotation::RotationSpec;
use crate::topic::{ChatChannelSpec, Subscription, TopicSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What a template resource becomes in Muster.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceSpec {
    ResponsePlan(ResponsePlanSpec),
    Contact(ContactSpec),
    /// A channel of the contact with this alias.
    Channel {
        contact: String,
        spec: ChannelSpec,
    },
    Rotation(RotationSpec),
    Topic(TopicSpec),
    /// A subscription to the topic with this name.
    Subscription {
        topic: String,
        subscription: Subscription,
    },
    ChatChannel(ChatChannelSpec),
    /// The engagement or escalation plan of the contact with this alias (`AWS::SSMContacts::Plan`).
    ContactPlan {
        contact: String,
        plan: ContactPlan,
        rotations: Vec<String>,
    },
    /// A runbook: its name and its document (JSON form).
    Runbook {
        name: String,
        document: serde_json::Value,
    },
    /// A metric alarm (`AWS::CloudWatch::Alarm`).
    Alarm(crate::alarm::AlarmSpec),
    /// An event rule (`AWS::Events::Rule`).
    Rule(crate::rule::RuleSpec),
    /// Kept with the stack (so it is reported and deleted with it) but with no Muster object behind
    /// it, such as a replication set, which has no meaning for a self-hosted server.
    Kept,
}

/// The Muster object behind a resource type, in either template format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Contact,
    Channel,
    Rotation,
    ResponsePlan,
    Topic,
    Subscription,
    ChatChannel,
    ContactPlan,
    Runbook,
    Alarm,
    Rule,
    Kept,
}

pub fn kind_of(resource_type: &str) -> Kind {
    match resource_type {
        "AWS::SSMIncidents::ResponsePlan" | "Muster::ResponsePlan" => Kind::ResponsePlan,
        "AWS::SSMContacts::Contact" | "Muster::Contact" => Kind::Contact,
        "AWS::SSMContacts::ContactChannel" | "Muster::Channel" => Kind::Channel,
        "AWS::SSMContacts::Rotation" | "Muster::Rotation" => Kind::Rotation,
        "AWS::SNS::Topic" | "Muster::Topic" => Kind::Topic,
        "AWS::SNS::Subscription" => Kind::Subscription,
        "AWS::Chatbot::SlackChannelConfiguration"
        | "AWS::Chatbot::MicrosoftTeamsChannelConfiguration"
        | "Muster::ChatChannel" => Kind::ChatChannel,
        "AWS::SSMContacts::Plan" => Kind::ContactPlan,
        "AWS::SSM::Document" | "Muster::Runbook" => Kind::Runbook,
        "AWS::CloudWatch::Alarm" | "Muster::Alarm" => Kind::Alarm,
        "AWS::Events::Rule" | "Muster::Rule" => Kind::Rule,
        _ => Kind::Kept,
    }
}

/// The order objects are made in: people, their channels, rotations of people, schedules made of
/// rotations, then plans that engage any of them.
fn create_rank(d: &DesiredResource) -> u8 {
    match &d.spec {
        ResourceSpec::Contact(c) if c.kind != ContactType::Personal => 3,
        ResourceSpec::Contact(_) => 0,
        ResourceSpec::Channel { .. } => 1,
        ResourceSpec::Rotation(_) => 2,
        ResourceSpec::ResponsePlan(_) => 4,
        ResourceSpec::Topic(_) => 0,
        ResourceSpec::Subscription { .. } | ResourceSpec::ChatChannel(_) => 1,
        ResourceSpec::ContactPlan { .. } => 3,
        ResourceSpec::Runbook { .. } => 0,
        // Alarms name plans and topics as their actions: made after them.
        ResourceSpec::Alarm(_) | ResourceSpec::Rule(_) => 5,
        ResourceSpec::Kept => 5,
    }
}

/// The order objects are removed in: whatever refers to others first.
fn delete_rank(resource_type: &str) -> u8 {
    match kind_of(resource_type) {
        Kind::Kept => 0,
        Kind::ResponsePlan => 1,
        Kind::Subscription | Kind::ChatChannel | Kind::ContactPlan => 1,
        Kind::Topic => 4,
        Kind::Runbook => 4,
        Kind::Alarm | Kind::Rule => 0,
        Kind::Rotation => 2,
        Kind::Channel => 3,
        Kind::Contact => 4,
    }
}

/// A resource as the template declares it, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    pub logical_id: String,
    pub resource_type: String,
    pub spec: ResourceSpec,
    /// The resolved properties, compared on re-apply to decide whether anything changed.
    pub properties: Value,
}

/// A resource a stack already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    #[schema(value_type = Object)]
    pub properties: Value,
}

/// Everything needed to apply a template as a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct StackPlan {
    pub name: String,
    pub format: String,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, Value>,
    pub resources: Vec<DesiredResource>,
    pub warnings: Vec<String>,
    pub skipped: Vec<SkippedResource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedResource {
    pub logical_id: String,
    pub resource_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ChangeAction,
}

/// Decides what applying `desired` over `existing` does to each resource. Deletions come first, so
/// a name freed by one resource can be taken by another in the same apply; they run from what
/// refers to others to what is referred to, and creations the other way. A resource whose type
/// changed is deleted and created again.
pub fn diff(existing: &[StackResource], desired: &[DesiredResource]) -> Vec<ResourceChange> {
    let mut existing: Vec<&StackResource> = existing.iter().collect();
    existing.sort_by_key(|e| delete_rank(&e.resource_type));
    let mut desired: Vec<&DesiredResource> = desired.iter().collect();
    desired.sort_by_key(|d| create_rank(d));
    let desired_by_id: BTreeMap<&str, &DesiredResource> = desired.iter().map(|d| (d.logical_id.as_str(), *d)).collect();
    let mut deletes = Vec::new();
    for e in existing.iter().copied() {
        let keep = desired_by_id.get(e.logical_id.as_str()).is_some_and(|d| d.resource_type == e.resource_type);
        if !keep {
            deletes.push(ResourceChange {
                logical_id: e.logical_id.clone(),
                resource_type: e.resource_type.clone(),
                action: ChangeAction::Delete,
            });
        }
    }
    let mut rest = Vec::new();
    for d in desired {
        let before =
            existing.iter().copied().find(|e| e.logical_id == d.logical_id && e.resource_type == d.resource_type);
        let action = match before {
            None => ChangeAction::Create,
            Some(e) if e.properties == d.properties => ChangeAction::Unchanged,
            Some(_) => ChangeAction::Update,
        };
        rest.push(ResourceChange { logical_id: d.logical_id.clone(), resource_type: d.resource_type.clone(), action });
    }
    deletes.extend(rest);
    deletes
}

/// What an apply did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub stack: String,
    pub dry_run: bool,
    /// False when the apply changed nothing at all.
    pub changed: bool,
    pub changes: Vec<ResourceChange>,
    pub skipped: Vec<SkippedResource>,
    pub warnings: Vec<String>,
    #[schema(value_type = Object)]
    pub outputs: BTreeMap<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn existing(id: &str, ty: &str, props: Value) -> StackResource {
        StackResource {
            logical_id: id.into(),
            resource_type: ty.into(),
            physical_id: format!("p-{id}"),
            properties: props,
        }
    }

    fn desired(id: &str, ty: &str, props: Value) -> DesiredResource {
        DesiredResource { logical_id: id.into(), resource_type: ty.into(), spec: ResourceSpec::Kept, properties: props }
    }

    #[test]
    fn diff_names_every_resource_once_with_deletes_first() {
        let before = [existing("A", "T", json!(1)), existing("B", "T", json!(1)), existing("C", "T", json!(1))];
        let after = [desired("A", "T", json!(1)), desired("B", "T", json!(2)), desired("D", "T", json!(1))];
        let changes = diff(&before, &after);
        let got: Vec<(&str, ChangeAction)> = changes.iter().map(|c| (c.logical_id.as_str(), c.action)).collect();
        assert_eq!(
            got,
            [
                ("C", ChangeAction::Delete),
                ("A", ChangeAction::Unchanged),
                ("B", ChangeAction::Update),
                ("D", ChangeAction::Create)
            ]
        );
    }

    #[test]
    fn a_changed_type_is_replaced() {
        let changes = diff(&[existing("A", "T1", json!(1))], &[desired("A", "T2", json!(1))]);
        let got: Vec<ChangeAction> = changes.iter().map(|c| c.action).collect();
        assert_eq!(got, [ChangeAction::Delete, ChangeAction::Create]);
    }
}
