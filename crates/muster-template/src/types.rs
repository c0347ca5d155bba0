//! The registry of resource types a CloudFormation template may use, and how each one's resolved
//! properties become a Muster resource. Later capabilities add their types here.

use muster_core::Invalid;
use muster_core::contact::{ChannelSpec, ChannelType, ContactPlan, ContactSpec, ContactType, PlanStage, PlanTarget};
use muster_core::incident::{Impact, Tags};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::rotation::{CoverageWindow, Day, HandOff, MonthlyHandOff, Recurrence, RotationSpec, WeeklyHandOff};
use muster_core::stack::ResourceSpec;
use muster_core::topic::{ChatChannelSpec, ChatKind, Protocol, Subscription, TopicSpec, topic_name};
use serde_json::{Map, Value, json};

pub(crate) const ACCOUNT: &str = "000000000000";
pub(crate) const REGION: &str = "local";

pub(crate) struct TypeDef {
    pub name: &'static str,
    /// The property that names the object; without it the name is `STACK-LOGICALID`.
    pub name_property: Option<&'static str>,
    /// The ARN for a name: what `Ref` and `Fn::GetAtt ... Arn` answer.
    pub arn: fn(&str) -> String,
    /// `Fn::GetAtt` attributes besides `Arn`, answered with the name.
    pub name_attributes: &'static [&'static str],
    /// `Fn::GetAtt` attributes besides `Arn` answered with the ARN (`TopicArn`).
    pub arn_attributes: &'static [&'static str],
    pub build: fn(&Value, &mut Vec<String>) -> Result<ResourceSpec, Invalid>,
}

const TYPES: &[TypeDef] = &[
    TypeDef {
        name: "AWS::SSMIncidents::ResponsePlan",
        name_property: Some("Name"),
        arn: |n| format!("arn:aws:ssm-incidents::{ACCOUNT}:response-plan/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: response_plan,
    },
    TypeDef {
        name: "AWS::SSMContacts::Contact",
        name_property: Some("Alias"),
        arn: |n| format!("arn:aws:ssm-contacts:{REGION}:{ACCOUNT}:contact/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: contact,
    },
    TypeDef {
        name: "AWS::SSMContacts::ContactChannel",
        name_property: Some("ChannelName"),
        arn: |n| format!("arn:aws:ssm-contacts:{REGION}:{ACCOUNT}:contact-channel/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: contact_channel,
    },
    TypeDef {
        name: "AWS::SSMContacts::Rotation",
        name_property: Some("Name"),
        arn: |n| format!("arn:aws:ssm-contacts:{REGION}:{ACCOUNT}:rotation/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: rotation,
    },
    TypeDef {
        name: "AWS::SSMContacts::Plan",
        name_property: None,
        arn: |n| format!("arn:aws:ssm-contacts:{REGION}:{ACCOUNT}:plan/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: contact_plan,
    },
    TypeDef {
        name: "AWS::SNS::Topic",
        name_property: Some("TopicName"),
        arn: |n| format!("arn:aws:sns:{REGION}:{ACCOUNT}:{n}"),
        name_attributes: &["TopicName"],
        arn_attributes: &["TopicArn"],
        build: topic,
    },
    TypeDef {
        name: "AWS::SNS::Subscription",
        name_property: None,
        arn: |n| format!("arn:aws:sns:{REGION}:{ACCOUNT}:subscription/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: subscription,
    },
    TypeDef {
        name: "AWS::Chatbot::SlackChannelConfiguration",
        name_property: Some("ConfigurationName"),
        arn: |n| format!("arn:aws:chatbot::{ACCOUNT}:chat-configuration/slack-channel/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: slack_channel,
    },
    TypeDef {
        name: "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
        name_property: Some("ConfigurationName"),
        arn: |n| format!("arn:aws:chatbot::{ACCOUNT}:chat-configuration/microsoft-teams-channel/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: teams_channel,
    },
    TypeDef {
        name: "AWS::SSM::Document",
        name_property: Some("Name"),
        arn: |n| format!("arn:aws:ssm:{REGION}:{ACCOUNT}:document/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: ssm_document,
    },
    TypeDef {
        name: "AWS::CloudWatch::Alarm",
        name_property: Some("AlarmName"),
        arn: |n| format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: metric_alarm,
    },
    TypeDef {
        name: "AWS::Events::Rule",
        name_property: Some("Name"),
        arn: |n| format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: event_rule,
    },
    TypeDef {
        name: "AWS::IAM::Role",
        name_property: Some("RoleName"),
        arn: |n| format!("arn:aws:iam::{ACCOUNT}:role/{n}"),
        name_attributes: &["RoleId"],
        arn_attributes: &[],
        build: |v, warnings| {
            let statements = v.get("Policies").and_then(Value::as_array).map_or(0, Vec::len);
            warnings.push(format!(
                "kept with the stack ({statements} inline polic{}); Muster does not evaluate IAM: API tokens carry viewer, responder or admin roles, and runbooks run with the server's own permissions",
                if statements == 1 { "y" } else { "ies" }
            ));
            Ok(ResourceSpec::Kept)
        },
    },
    TypeDef {
        name: "AWS::SSMIncidents::ReplicationSet",
        name_property: None,
        arn: |n| format!("arn:aws:ssm-incidents::{ACCOUNT}:replication-set/{n}"),
        name_attributes: &[],
        arn_attributes: &[],
        build: |_, warnings| {
            warnings.push(
                "AWS::SSMIncidents::ReplicationSet: a self-hosted Muster keeps its data in its own database; the replication set is kept with the stack and does nothing".into(),
            );
            Ok(ResourceSpec::Kept)
        },
    },
];

pub(crate) fn lookup(name: &str) -> Option<&'static TypeDef> {
    TYPES.iter().find(|t| t.name == name)
}

/// Reads typed properties out of a resolved JSON object, naming the path of anything wrong and
/// refusing properties the type does not have.
pub(crate) struct Props<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Props<'a> {
    pub fn new(v: &'a Value, path: &str, allowed: &[&str]) -> Result<Self, Invalid> {
        let map = v.as_object().ok_or_else(|| Invalid::new(path, "must be an object"))?;
        let props = Self { map, path: path.to_string() };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(Invalid::new(
                    props.field(k),
                    format!("unknown property; this object takes {}", allowed.join(", ")),
                ));
            }
        }
        Ok(props)
    }

    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar_string(v).map(Some).ok_or_else(|| Invalid::new(self.field(key), "must be a string")),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String, Invalid> {
        self.string(key)?.ok_or_else(|| Invalid::new(self.field(key), "is required"))
    }

    /// A list of strings; a single string counts as a list of one.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, Invalid> {
        match self.get(key) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    scalar_string(v)
                        .ok_or_else(|| Invalid::new(format!("{}[{i}]", self.field(key)), "must be a string"))
                })
                .collect(),
            Some(v) => scalar_string(v)
                .map(|s| vec![s])
                .ok_or_else(|| Invalid::new(self.field(key), "must be a list of strings")),
        }
    }

    pub fn list(&self, key: &str) -> Result<&'a [Value], Invalid> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(Invalid::new(self.field(key), "must be a list")),
        }
    }
}

/// Strings, numbers and booleans read as strings (CloudFormation passes all scalars as text).
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn key_values(props: &Props, key: &str) -> Result<Tags, Invalid> {
    let mut tags = Tags::new();
    for (i, item) in props.list(key)?.iter().enumerate() {
        let path = format!("{}[{i}]", props.field(key));
        let kv = Props::new(item, &path, &["Key", "Value"])?;
        tags.insert(kv.required_string("Key")?, kv.string("Value")?.unwrap_or_default());
    }
    Ok(tags)
}

fn response_plan(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &["Name", "DisplayName", "IncidentTemplate", "ChatChannel", "Engagements", "Actions", "Integrations", "Tags"],
    )?;
    let tpl_value = p.get("IncidentTemplate").ok_or_else(|| Invalid::new("IncidentTemplate", "is required"))?;
    let t = Props::new(
        tpl_value,
        "IncidentTemplate",
        &["Title", "Impact", "Summary", "DedupeString", "IncidentTags", "NotificationTargets"],
    )?;
    let impact_text = t.required_string("Impact")?;
    let impact = impact_text
        .trim()
        .parse::<i64>()
        .map_err(|_| Invalid::new(t.field("Impact"), format!("must be an integer from 1 to 5, got {impact_text:?}")))
        .and_then(|i| Impact::try_from(i).map_err(|e| Invalid::new(t.field("Impact"), e.message)))?;
    let mut chat_channels = Vec::new();
    for (i, target) in t.list("NotificationTargets")?.iter().enumerate() {
        let nt = Props::new(target, &format!("{}[{i}]", t.field("NotificationTargets")), &["SnsTopicArn"])?;
        chat_channels.push(nt.required_string("SnsTopicArn")?);
    }
    if let Some(cc) = p.get("ChatChannel") {
        let cc = Props::new(cc, "ChatChannel", &["ChatbotSns"])?;
        chat_channels.extend(cc.strings("ChatbotSns")?);
    }
    let mut actions = Vec::new();
    for (i, a) in p.list("Actions")?.iter().enumerate() {
        let path = format!("Actions[{i}]");
        let a = Props::new(a, &path, &["SsmAutomation"])?;
        let ssm_value = a.get("SsmAutomation").ok_or_else(|| Invalid::new(a.field("SsmAutomation"), "is required"))?;
        let ssm = Props::new(
            ssm_value,
            &a.field("SsmAutomation"),
            &["RoleArn", "DocumentName", "DocumentVersion", "TargetAccount", "Parameters", "DynamicParameters"],
        )?;
        let document = ssm.required_string("DocumentName")?;
        if let Some(ours) = muster_core::library::stand_in(&document) {
            warnings.push(format!(
                "{}: {document} is an AWS document; Muster runs its built-in runbook {ours} in its place (unless a runbook named {document} is stored)",
                a.field("SsmAutomation.DocumentName")
            ));
        }
        actions.push(json!({
            "type": "runbook",
            "documentName": ssm.required_string("DocumentName")?,
            "documentVersion": ssm.string("DocumentVersion")?,
            "roleArn": ssm.string("RoleArn")?,
            "targetAccount": ssm.string("TargetAccount")?,
            "parameters": automation_parameters(&ssm, warnings)?,
            "dynamicParameters": dynamic_parameters(&ssm)?,
        }));
    }
    let mut engagements = p.strings("Engagements")?;
    engagements.dedup();
    let spec = ResponsePlanSpec {
        name: p.required_string("Name")?,
        display_name: p.string("DisplayName")?,
        incident_template: IncidentTemplate {
            title: t.required_string("Title")?,
            impact,
            summary: t.string("Summary")?,
            dedupe_string: t.string("DedupeString")?,
            tags: key_values(&t, "IncidentTags")?,
        },
        chat_channels,
        engagements,
        actions,
        integrations: p.get("Integrations").cloned().unwrap_or(Value::Null),
        maintenance: Vec::new(),
    };
    // The plan's own checks, with fields spelled as the template spells them.
    let spec = spec.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "name" => "Name".to_string(),
            "displayName" => "DisplayName".to_string(),
            f => f
                .replace("incidentTemplate", "IncidentTemplate")
                .replace(".title", ".Title")
                .replace(".summary", ".Summary")
                .replace(".dedupeString", ".DedupeString"),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::ResponsePlan(spec))
}

/// `Parameters` as the schema has it (`[{Key, Values: [...]}]`), or as a map of key to value(s),
/// as published templates often write it: accepted with a warning.
fn automation_parameters(ssm: &Props, warnings: &mut Vec<String>) -> Result<Value, Invalid> {
    let mut out = Map::new();
    match ssm.get("Parameters") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let kv = Props::new(item, &format!("{}[{i}]", ssm.field("Parameters")), &["Key", "Values"])?;
                out.insert(kv.required_string("Key")?, json!(kv.strings("Values")?));
            }
        }
        Some(Value::Object(map)) => {
            let field = ssm.field("Parameters");
            for (k, v) in map {
                let values = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|x| {
                            scalar_string(x).ok_or_else(|| {
                                Invalid::new(format!("{field}.{k}"), "must be a string or a list of strings")
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    x => {
                        vec![scalar_string(x).ok_or_else(|| Invalid::new(format!("{field}.{k}"), "must be a string"))?]
                    }
                };
                out.insert(k.clone(), json!(values));
            }
            warnings.push(format!(
                "{field}: the schema wants a list of {{Key, Values}}; a map of key to value was accepted as that list"
            ));
        }
        Some(_) => return Err(Invalid::new(ssm.field("Parameters"), "must be a list of {Key, Values}")),
    }
    Ok(Value::Object(out))
}

fn dynamic_parameters(ssm: &Props) -> Result<Value, Invalid> {
    let mut out = Map::new();
    for (i, item) in ssm.list("DynamicParameters")?.iter().enumerate() {
        let kv = Props::new(item, &format!("{}[{i}]", ssm.field("DynamicParameters")), &["Key", "Value"])?;
        let value = kv.get("Value").ok_or_else(|| Invalid::new(kv.field("Value"), "is required"))?;
        let v = Props::new(value, &kv.field("Value"), &["Variable"])?;
        out.insert(kv.required_string("Key")?, json!(v.required_string("Variable")?));
    }
    Ok(Value::Object(out))
}

/// The last path segment of an ARN (`...:contact/ann` → `ann`), or the value itself.
fn arn_name(v: &str, kind: &str) -> String {
    match v.rsplit_once(&format!(":{kind}/")) {
        Some((_, name)) => name.to_string(),
        None => v.to_string(),
    }
}

fn contact(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(v, "", &["Alias", "DisplayName", "Type", "Plan", "Tags"])?;
    let kind = match p.required_string("Type")?.as_str() {
        "PERSONAL" => ContactType::Personal,
        "ONCALL_SCHEDULE" => ContactType::OncallSchedule,
        "ESCALATION" => ContactType::Escalation,
        other => return Err(Invalid::new("Type", format!("{other:?}: use PERSONAL, ESCALATION or ONCALL_SCHEDULE"))),
    };
    let (stages, rotations) = plan_stages(&p, "Plan")?;
    let plan = (!stages.is_empty()).then_some(ContactPlan { stages, repeat: 0, round_robin: false });
    let spec = ContactSpec {
        alias: p.required_string("Alias")?,
        display_name: p.string("DisplayName")?,
        kind,
        time_zone: None,
        rotations,
        plan,
    };
    let spec = spec.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "alias" => "Alias".to_string(),
            "displayName" => "DisplayName".to_string(),
            f if f.starts_with("rotations") || f.starts_with("plan") => "Plan".to_string(),
            f => f.to_string(),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::Contact(spec))
}

fn contact_channel(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(v, "", &["ContactId", "ChannelName", "ChannelType", "ChannelAddress", "DeferActivation"])?;
    let kind_text = p.required_string("ChannelType")?;
    let kind: ChannelType = kind_text.parse().map_err(|e: Invalid| Invalid::new("ChannelType", e.message))?;
    let defer = match p.get("DeferActivation") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => return Err(Invalid::new("DeferActivation", "must be true or false")),
    };
    let spec = ChannelSpec {
        name: p.required_string("ChannelName")?,
        kind,
        address: p.required_string("ChannelAddress")?,
        defer_activation: defer,
    }
    .validate()
    .map_err(|e| {
        let field = match e.field.as_str() {
            "name" => "ChannelName",
            "address" => "ChannelAddress",
            _ => "ChannelType",
        };
        Invalid::new(field, e.message)
    })?;
    let contact = arn_name(&p.required_string("ContactId")?, "contact");
    Ok(ResourceSpec::Channel { contact, spec })
}

fn handoff(v: &str, field: &str) -> Result<HandOff, Invalid> {
    v.parse().map_err(|e: Invalid| Invalid::new(field, e.message))
}

fn day(v: &str, field: &str) -> Result<Day, Invalid> {
    v.parse().map_err(|e: Invalid| Invalid::new(field, e.message))
}

fn int(p: &Props, key: &str, default: u32) -> Result<u32, Invalid> {
    match p.string(key)? {
        None => Ok(default),
        Some(s) => {
            s.trim().parse().map_err(|_| Invalid::new(p.field(key), format!("must be a whole number, got {s:?}")))
        }
    }
}

/// `StartTime` as an instant; without an offset it is a local time in the rotation's zone.
fn start_time(v: &str, zone: &str) -> Result<jiff::Timestamp, Invalid> {
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let dt: jiff::civil::DateTime =
        v.parse().map_err(|_| Invalid::new("StartTime", format!("{v:?} is not an ISO 8601 date and time")))?;
    let tz = jiff::tz::TimeZone::get(zone)
        .map_err(|_| Invalid::new("TimeZoneId", format!("{zone:?} is not an IANA time zone")))?;
    tz.to_ambiguous_timestamp(dt).compatible().map_err(|e| Invalid::new("StartTime", e.to_string()))
}

fn rotation(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(v, "", &["Name", "ContactIds", "StartTime", "TimeZoneId", "Recurrence", "Tags"])?;
    let zone = p.required_string("TimeZoneId")?;
    let rec_value = p.get("Recurrence").ok_or_else(|| Invalid::new("Recurrence", "is required"))?;
    let r = Props::new(
        rec_value,
        "Recurrence",
        &[
            "DailySettings",
            "WeeklySettings",
            "MonthlySettings",
            "NumberOfOnCalls",
            "RecurrenceMultiplier",
            "ShiftCoverages",
        ],
    )?;
    let daily = r.strings("DailySettings")?;
    let weekly = r.list("WeeklySettings")?;
    let monthly = r.list("MonthlySettings")?;
    let given = [!daily.is_empty(), !weekly.is_empty(), !monthly.is_empty()].iter().filter(|b| **b).count();
    if given != 1 {
        return Err(Invalid::new("Recurrence", "give exactly one of DailySettings, WeeklySettings or MonthlySettings"));
    }
    let recurrence = if !daily.is_empty() {
        Recurrence::Daily(
            daily
                .iter()
                .enumerate()
                .map(|(i, d)| handoff(d, &format!("Recurrence.DailySettings[{i}]")))
                .collect::<Result<_, _>>()?,
        )
    } else if !weekly.is_empty() {
        let mut out = Vec::new();
        for (i, w) in weekly.iter().enumerate() {
            let path = format!("Recurrence.WeeklySettings[{i}]");
            let w = Props::new(w, &path, &["DayOfWeek", "HandOffTime"])?;
            out.push(WeeklyHandOff {
                day: day(&w.required_string("DayOfWeek")?, &w.field("DayOfWeek"))?,
                at: handoff(&w.required_string("HandOffTime")?, &w.field("HandOffTime"))?,
            });
        }
        Recurrence::Weekly(out)
    } else {
        let mut out = Vec::new();
        for (i, m) in monthly.iter().enumerate() {
            let path = format!("Recurrence.MonthlySettings[{i}]");
            let m = Props::new(m, &path, &["DayOfMonth", "HandOffTime"])?;
            let dom = int(&m, "DayOfMonth", 0)?;
            out.push(MonthlyHandOff {
                day: u8::try_from(dom).map_err(|_| Invalid::new(m.field("DayOfMonth"), "must be from 1 to 31"))?,
                at: handoff(&m.required_string("HandOffTime")?, &m.field("HandOffTime"))?,
            });
        }
        Recurrence::Monthly(out)
    };
    let mut coverage = std::collections::BTreeMap::new();
    for (i, c) in r.list("ShiftCoverages")?.iter().enumerate() {
        let path = format!("Recurrence.ShiftCoverages[{i}]");
        let c = Props::new(c, &path, &["DayOfWeek", "CoverageTimes"])?;
        let d = day(&c.required_string("DayOfWeek")?, &c.field("DayOfWeek"))?;
        let mut windows = Vec::new();
        for (j, t) in c.list("CoverageTimes")?.iter().enumerate() {
            let t = Props::new(t, &format!("{}[{j}]", c.field("CoverageTimes")), &["StartTime", "EndTime"])?;
            windows.push(CoverageWindow {
                start: handoff(&t.required_string("StartTime")?, &t.field("StartTime"))?,
                end: handoff(&t.required_string("EndTime")?, &t.field("EndTime"))?,
            });
        }
        coverage.entry(d).or_insert_with(Vec::new).extend(windows);
    }
    let spec = RotationSpec {
        name: p.required_string("Name")?,
        members: p.strings("ContactIds")?.iter().map(|c| arn_name(c, "contact")).collect(),
        start: start_time(&p.required_string("StartTime")?, &zone)?,
        time_zone: zone,
        recurrence,
        recurrence_multiplier: int(&r, "RecurrenceMultiplier", 1)?,
        number_of_on_calls: int(&r, "NumberOfOnCalls", 1)?,
        coverage,
    };
    let (spec, _) = spec.validate().map_err(|e| {
        let field = match e.field.split(['[', '.']).next().unwrap_or("") {
            "name" => "Name".to_string(),
            "members" => e.field.replacen("members", "ContactIds", 1),
            "timeZone" => "TimeZoneId".to_string(),
            "recurrenceMultiplier" => "Recurrence.RecurrenceMultiplier".to_string(),
            "numberOfOnCalls" => "Recurrence.NumberOfOnCalls".to_string(),
            "coverage" => "Recurrence.ShiftCoverages".to_string(),
            _ => "Recurrence".to_string(),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::Rotation(spec))
}

fn topic(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &[
            "TopicName",
            "DisplayName",
            "Subscription",
            "Tags",
            "KmsMasterKeyId",
            "FifoTopic",
            "ContentBasedDeduplication",
            "TracingConfig",
            "DataProtectionPolicy",
            "ArchivePolicy",
            "DeliveryStatusLogging",
            "SignatureVersion",
        ],
    )?;
    for ignored in [
        "KmsMasterKeyId",
        "FifoTopic",
        "ContentBasedDeduplication",
        "TracingConfig",
        "DataProtectionPolicy",
        "ArchivePolicy",
        "DeliveryStatusLogging",
        "SignatureVersion",
    ] {
        if p.get(ignored).is_some() {
            warnings.push(format!("{ignored}: has no meaning for Muster's topics; ignored"));
        }
    }
    let mut subscriptions = Vec::new();
    for (i, s) in p.list("Subscription")?.iter().enumerate() {
        let sp = Props::new(s, &format!("Subscription[{i}]"), &["Endpoint", "Protocol"])?;
        let protocol = Protocol::parse(&sp.required_string("Protocol")?)
            .map_err(|e| Invalid::new(sp.field("Protocol"), e.message))?;
        subscriptions.push(Subscription { protocol, endpoint: sp.required_string("Endpoint")? });
    }
    let spec =
        TopicSpec { name: p.required_string("TopicName")?, display_name: p.string("DisplayName")?, subscriptions };
    let spec = spec.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "name" => "TopicName".to_string(),
            "displayName" => "DisplayName".to_string(),
            f => f.replace("subscriptions", "Subscription").replace(".endpoint", ".Endpoint"),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::Topic(spec))
}

fn subscription(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &[
            "TopicArn",
            "Protocol",
            "Endpoint",
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
            "Region",
            "SubscriptionRoleArn",
            "ReplayPolicy",
        ],
    )?;
    if p.get("FilterPolicy").is_some() {
        warnings.push("FilterPolicy: not applied; every message of the topic is delivered".into());
    }
    let protocol = Protocol::parse(&p.required_string("Protocol")?).map_err(|e| Invalid::new("Protocol", e.message))?;
    let subscription = Subscription { protocol, endpoint: p.required_string("Endpoint")? }
        .validate()
        .map_err(|e| Invalid::new("Endpoint", e.message))?;
    Ok(ResourceSpec::Subscription { topic: topic_name(&p.required_string("TopicArn")?), subscription })
}

fn slack_channel(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &[
            "ConfigurationName",
            "SlackChannelId",
            "SlackWorkspaceId",
            "SnsTopicArns",
            "IamRoleArn",
            "LoggingLevel",
            "GuardrailPolicies",
            "UserRoleRequired",
            "CustomizationResourceArns",
            "Tags",
        ],
    )?;
    let workspace = p.required_string("SlackWorkspaceId")?;
    let looks_real = workspace.starts_with('T')
        && workspace.len() > 2
        && workspace[1..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !looks_real {
        warnings.push(format!(
            "SlackWorkspaceId: {workspace:?} looks like a placeholder, not a Slack workspace ID (T...); messages go through the server's Slack bot token"
        ));
    }
    let spec = ChatChannelSpec {
        name: p.required_string("ConfigurationName")?,
        kind: ChatKind::Slack,
        target: p.required_string("SlackChannelId")?,
        workspace: Some(workspace),
        topics: p.strings("SnsTopicArns")?,
    };
    let spec = spec.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "name" => "ConfigurationName".to_string(),
            "target" => "SlackChannelId".to_string(),
            f if f.starts_with("topics") => "SnsTopicArns".to_string(),
            f => f.to_string(),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::ChatChannel(spec))
}

/// A contact's plan stages as CloudFormation writes them, and the rotations they name.
fn plan_stages(p: &Props, key: &str) -> Result<(Vec<PlanStage>, Vec<String>), Invalid> {
    let mut rotations = Vec::new();
    let mut stages = Vec::new();
    for (i, stage) in p.list(key)?.iter().enumerate() {
        let st =
            Props::new(stage, &format!("{}[{i}]", p.field(key)), &["DurationInMinutes", "Targets", "RotationIds"])?;
        rotations.extend(st.strings("RotationIds")?.iter().map(|r| arn_name(r, "rotation")));
        let mut targets = Vec::new();
        for (j, t) in st.list("Targets")?.iter().enumerate() {
            let tp =
                Props::new(t, &format!("{}[{j}]", st.field("Targets")), &["ChannelTargetInfo", "ContactTargetInfo"])?;
            if let Some(ch) = tp.get("ChannelTargetInfo") {
                let ch = Props::new(ch, &tp.field("ChannelTargetInfo"), &["ChannelId", "RetryIntervalInMinutes"])?;
                targets.push(PlanTarget {
                    channel: Some(arn_name(&ch.required_string("ChannelId")?, "contact-channel")),
                    retry_interval_minutes: ch.string("RetryIntervalInMinutes")?.map(|m| m.parse().unwrap_or(0)),
                    ..Default::default()
                });
            } else if let Some(c) = tp.get("ContactTargetInfo") {
                let c = Props::new(c, &tp.field("ContactTargetInfo"), &["ContactId", "IsEssential"])?;
                let contact = c.required_string("ContactId")?;
                let essential = matches!(c.get("IsEssential"), Some(Value::Bool(true)))
                    || c.string("IsEssential")?.as_deref() == Some("true");
                targets.push(PlanTarget {
                    contact: Some(arn_name(&contact, "contact")),
                    essential,
                    ..Default::default()
                });
            }
        }
        if !targets.is_empty() {
            stages.push(PlanStage {
                duration_minutes: int(&st, "DurationInMinutes", 0)?,
                duration_seconds: None,
                targets,
            });
        }
    }
    Ok((stages, rotations))
}

fn contact_plan(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(v, "", &["ContactId", "Stages", "RotationIds"])?;
    let (stages, mut rotations) = plan_stages(&p, "Stages")?;
    rotations.extend(p.strings("RotationIds")?.iter().map(|r| arn_name(r, "rotation")));
    if stages.is_empty() && rotations.is_empty() {
        return Err(Invalid::new("Stages", "a plan has stages, or rotations for an on-call schedule"));
    }
    Ok(ResourceSpec::ContactPlan {
        contact: arn_name(&p.required_string("ContactId")?, "contact"),
        plan: ContactPlan { stages, repeat: 0, round_robin: false },
        rotations,
    })
}

fn teams_channel(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &[
            "ConfigurationName",
            "TeamId",
            "TeamsChannelId",
            "TeamsChannelName",
            "TeamsTenantId",
            "SnsTopicArns",
            "IamRoleArn",
            "LoggingLevel",
            "GuardrailPolicies",
            "UserRoleRequired",
            "CustomizationResourceArns",
            "Tags",
        ],
    )?;
    let spec = ChatChannelSpec {
        name: p.required_string("ConfigurationName")?,
        kind: ChatKind::TeamsChannel,
        target: p.required_string("TeamsChannelId")?,
        workspace: p.string("TeamId")?,
        topics: p.strings("SnsTopicArns")?,
    };
    let spec = spec.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "name" => "ConfigurationName".to_string(),
            "target" => "TeamsChannelId".to_string(),
            f if f.starts_with("topics") => "SnsTopicArns".to_string(),
            f => f.to_string(),
        };
        Invalid::new(field, e.message)
    })?;
    Ok(ResourceSpec::ChatChannel(spec))
}

fn ssm_document(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    let p = Props::new(
        v,
        "",
        &[
            "Name",
            "Content",
            "DocumentType",
            "DocumentFormat",
            "TargetType",
            "Tags",
            "UpdateMethod",
            "VersionName",
            "Requires",
            "Attachments",
        ],
    )?;
    let kind = p.string("DocumentType")?.unwrap_or_else(|| "Command".into());
    if kind != "Automation" {
        return Err(Invalid::new("DocumentType", format!("{kind:?}: only Automation documents are runbooks")));
    }
    let content = match p.get("Content") {
        Some(Value::String(text)) => crate::load::to_json(text).map_err(|e| Invalid::new("Content", e))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(Invalid::new("Content", "is required: the document, as a mapping or as YAML/JSON text")),
    };
    let doc = muster_core::runbook::parse_document(&content).map_err(|e| e.within("Content"))?;
    muster_core::runbook::check_script_safety(&doc).map_err(|e| e.within("Content"))?;
    for u in doc.unsupported_steps() {
        warnings.push(format!("Content: step {u} acts on AWS; Muster loads it and fails the step if it is reached"));
    }
    Ok(ResourceSpec::Runbook { name: p.required_string("Name")?, document: content })
}

fn metric_alarm(v: &Value, _: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    use muster_core::alarm::{AlarmSpec, ComparisonOperator, TreatMissingData};
    use muster_core::metric::Dimension;
    let p = Props::new(
        v,
        "",
        &[
            "AlarmName",
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "ComparisonOperator",
            "DatapointsToAlarm",
            "Dimensions",
            "EvaluateLowSampleCountPercentile",
            "EvaluationPeriods",
            "ExtendedStatistic",
            "MetricName",
            "Metrics",
            "Namespace",
            "Period",
            "Statistic",
            "Tags",
            "Threshold",
            "ThresholdMetricId",
            "TreatMissingData",
            "Unit",
        ],
    )?;
    if p.get("Metrics").is_some() || p.get("ThresholdMetricId").is_some() {
        return Err(Invalid::new("Metrics", "metric math alarms are not supported yet; alarm on one metric"));
    }
    let mut dimensions = Vec::new();
    for (i, d) in p.list("Dimensions")?.iter().enumerate() {
        let d = Props::new(d, &format!("Dimensions[{i}]"), &["Name", "Value"])?;
        dimensions.push(Dimension { name: d.required_string("Name")?, value: d.required_string("Value")? });
    }
    let statistic = match (p.string("Statistic")?, p.string("ExtendedStatistic")?) {
        (Some(s), None) | (None, Some(s)) => s,
        (Some(_), Some(_)) => {
            return Err(Invalid::new("ExtendedStatistic", "give Statistic or ExtendedStatistic, not both"));
        }
        (None, None) => return Err(Invalid::new("Statistic", "is required (or ExtendedStatistic)")),
    };
    let enum_value = |key: &str| -> Result<Option<Value>, Invalid> { Ok(p.string(key)?.map(Value::String)) };
    let operator: ComparisonOperator = match enum_value("ComparisonOperator")? {
        Some(v) => serde_json::from_value(v).map_err(|_| {
            Invalid::new(
                "ComparisonOperator",
                "use GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold (anomaly detection bands are not supported)",
            )
        })?,
        None => return Err(Invalid::new("ComparisonOperator", "is required")),
    };
    let treat: TreatMissingData = match enum_value("TreatMissingData")? {
        Some(v) => serde_json::from_value(v)
            .map_err(|_| Invalid::new("TreatMissingData", "use missing, breaching, notBreaching or ignore"))?,
        None => TreatMissingData::Missing,
    };
    let threshold = match p.string("Threshold")? {
        Some(s) => {
            s.trim().parse::<f64>().map_err(|_| Invalid::new("Threshold", format!("must be a number, got {s:?}")))?
        }
        None => return Err(Invalid::new("Threshold", "is required")),
    };
    let spec = AlarmSpec {
        name: p.required_string("AlarmName")?,
        description: p.string("AlarmDescription")?,
        namespace: p.required_string("Namespace")?,
        metric_name: p.required_string("MetricName")?,
        dimensions,
        statistic,
        period: int(&p, "Period", 60)?,
        evaluation_periods: int(&p, "EvaluationPeriods", 0)?,
        datapoints_to_alarm: p.get("DatapointsToAlarm").map(|_| int(&p, "DatapointsToAlarm", 0)).transpose()?,
        threshold,
        comparison_operator: operator,
        treat_missing_data: treat,
        actions_enabled: p.string("ActionsEnabled")?.is_none_or(|s| s != "false"),
        alarm_actions: p.strings("AlarmActions")?,
        ok_actions: p.strings("OKActions")?,
        insufficient_data_actions: p.strings("InsufficientDataActions")?,
        unit: p.string("Unit")?,
    };
    Ok(ResourceSpec::Alarm(spec.validate()?))
}

fn event_rule(v: &Value, warnings: &mut Vec<String>) -> Result<ResourceSpec, Invalid> {
    use muster_core::rule::{RuleSpec, RuleState};
    let p = Props::new(
        v,
        "",
        &["Name", "Description", "EventPattern", "State", "Targets", "EventBusName", "ScheduleExpression", "RoleArn"],
    )?;
    if p.get("ScheduleExpression").is_some() {
        return Err(Invalid::new("ScheduleExpression", "scheduled rules are not supported; give an EventPattern"));
    }
    let pattern = match p.get("EventPattern") {
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|e| Invalid::new("EventPattern", format!("is not JSON: {e}")))?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(Invalid::new("EventPattern", "is required: an event pattern, as an object or JSON text")),
    };
    if let Some(bus) = p.string("EventBusName")?
        && bus != "default"
    {
        warnings.push(format!("EventBusName {bus:?}: Muster has one event bus; events sent to it are matched"));
    }
    let state = match p.string("State")?.as_deref() {
        None | Some("ENABLED") | Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") => RuleState::Enabled,
        Some("DISABLED") => RuleState::Disabled,
        Some(other) => return Err(Invalid::new("State", format!("{other:?}: use ENABLED or DISABLED"))),
    };
    let mut targets = Vec::new();
    for (i, t) in p.list("Targets")?.iter().enumerate() {
        let path = format!("Targets[{i}]");
        let t = Props::new(
            t,
            &path,
            &["Arn", "Id", "Input", "InputPath", "InputTransformer", "RoleArn", "RetryPolicy", "DeadLetterConfig"],
        )?;
        if t.get("Input").is_some() || t.get("InputPath").is_some() || t.get("InputTransformer").is_some() {
            warnings
                .push(format!("{path}: input transformation is not applied; the target receives the event as matched"));
        }
        targets.push(t.required_string("Arn")?);
    }
    let spec = RuleSpec {
        name: p.required_string("Name")?,
        description: p.string("Description")?,
        event_pattern: pattern,
        state,
        targets,
    };
    Ok(ResourceSpec::Rule(spec.validate()?))
}
