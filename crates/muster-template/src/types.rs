//! The registry of resource types a CloudFormation template may use, and how each one's resolved
//! properties become a Muster resource. Later capabilities add their types here.

use muster_core::Invalid;
use muster_core::incident::{Impact, Tags};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::stack::ResourceSpec;
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
    pub build: fn(&Value, &mut Vec<String>) -> Result<ResourceSpec, Invalid>,
}

const TYPES: &[TypeDef] = &[
    TypeDef {
        name: "AWS::SSMIncidents::ResponsePlan",
        name_property: Some("Name"),
        arn: |n| format!("arn:aws:ssm-incidents::{ACCOUNT}:response-plan/{n}"),
        name_attributes: &[],
        build: response_plan,
    },
    TypeDef {
        name: "AWS::SSMIncidents::ReplicationSet",
        name_property: None,
        arn: |n| format!("arn:aws:ssm-incidents::{ACCOUNT}:replication-set/{n}"),
        name_attributes: &[],
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
