//! Muster's native YAML format: one or more files, each a mapping of sections.
//!
//! ```yaml
//! parameters:
//!   vpnId:
//!     default: vpn-0123456789abcdef0
//!     allowedPattern: "vpn-[0-9a-f]{8,17}"
//! responsePlans:
//!   vpn-down:                       # the plan's name
//!     displayName: VPN tunnel down
//!     incidentTemplate:
//!       title: "VPN ${vpnId} is DOWN"
//!       impact: 3
//!       dedupeString: "vpn-down-${vpnId}"
//! ```
//!
//! `${name}` in any string is a parameter's value (`${!name}` writes `${name}` literally).

use crate::{Options, Source, cfn};
use muster_core::Invalid;
use muster_core::contact::{ChannelSpec, ContactSpec};
use muster_core::plan::ResponsePlanSpec;
use muster_core::rotation::RotationSpec;
use muster_core::stack::{DesiredResource, ResourceSpec, StackPlan};
use muster_core::topic::{ChatChannelSpec, TopicSpec};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const SECTIONS: &[&str] = &[
    "parameters",
    "contacts",
    "rotations",
    "topics",
    "chatChannels",
    "runbooks",
    "responsePlans",
    "alarms",
    "rules",
    "description",
];
const PARAMETER_KEYS: &[(&str, &str)] = &[
    ("default", "Default"),
    ("description", "Description"),
    ("allowedValues", "AllowedValues"),
    ("allowedPattern", "AllowedPattern"),
    ("constraintDescription", "ConstraintDescription"),
    ("minLength", "MinLength"),
    ("maxLength", "MaxLength"),
    ("secret", "NoEcho"),
];

pub(crate) fn plan(stack: &str, docs: &[(&Source, Value)], options: &Options) -> Result<StackPlan, Invalid> {
    // Merge the files' sections; a name declared twice is refused naming both files.
    let mut merged: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut origin: BTreeMap<String, &str> = BTreeMap::new();
    for (source, doc) in docs {
        let top = match doc {
            Value::Null => continue,
            Value::Object(m) => m,
            _ => {
                return Err(Invalid::new(
                    "template",
                    format!("{}: a Muster file is a mapping of sections", source.name),
                ));
            }
        };
        for (section, body) in top {
            let Some(section) = SECTIONS.iter().find(|s| **s == section) else {
                return Err(Invalid::new(
                    section,
                    format!("{}: unknown section; sections are {}", source.name, SECTIONS.join(", ")),
                ));
            };
            if *section == "description" {
                continue;
            }
            let body = match body {
                Value::Null => continue,
                Value::Object(m) => m,
                _ => {
                    return Err(Invalid::new(
                        *section,
                        format!("{}: must be a mapping of name to definition", source.name),
                    ));
                }
            };
            let into = merged.entry(section).or_default();
            for (name, def) in body {
                let key = format!("{section}.{name}");
                if let Some(first) = origin.insert(key.clone(), &source.name) {
                    return Err(Invalid::new(key, format!("declared in both {first} and {}", source.name)));
                }
                into.insert(name.clone(), def.clone());
            }
        }
    }
    // An error in one file of a folder says which file.
    build(stack, docs, merged, options).map_err(|mut e| {
        let file = origin
            .iter()
            .filter(|(key, _)| e.field == **key || e.field.starts_with(&format!("{key}.")))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, file)| *file);
        if let (Some(file), true) = (file, docs.len() > 1) {
            e.message = format!("{file}: {}", e.message);
        }
        e
    })
}

/// The stack from the files' merged sections.
fn build(
    stack: &str,
    docs: &[(&Source, Value)],
    mut merged: BTreeMap<&str, Map<String, Value>>,
    options: &Options,
) -> Result<StackPlan, Invalid> {
    let mut param_defs = Map::new();
    for (name, def) in merged.remove("parameters").unwrap_or_default() {
        let def = match def {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            other => {
                let mut m = Map::new();
                m.insert("default".into(), other);
                m
            }
        };
        let mut cfn_def = Map::new();
        cfn_def.insert("Type".into(), json!("String"));
        for (k, v) in def {
            let Some((_, long)) = PARAMETER_KEYS.iter().find(|(short, _)| *short == k) else {
                return Err(Invalid::new(format!("parameters.{name}.{k}"), "unknown parameter attribute"));
            };
            cfn_def.insert((*long).into(), v);
        }
        param_defs.insert(name, Value::Object(cfn_def));
    }
    let (values, shown) = cfn::parameters(&param_defs, &options.parameters)
        .map_err(|e| Invalid { field: e.field.replacen("Parameters.", "parameters.", 1), message: e.message })?;

    let mut resources = Vec::new();
    for (alias, def) in merged.remove("contacts").unwrap_or_default() {
        let path = format!("contacts.{alias}");
        let mut def = named(def, "alias", &alias, &path)?;
        let channels = def.remove("channels").unwrap_or(Value::Null);
        let value = substitute(&Value::Object(def), &values, &path)?;
        let spec: ContactSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        let items = match channels {
            Value::Null => vec![],
            Value::Array(items) => items,
            _ => return Err(Invalid::new(format!("{path}.channels"), "must be a list of channels")),
        };
        resources.push(DesiredResource {
            logical_id: path.clone(),
            resource_type: "Muster::Contact".into(),
            properties: value,
            spec: ResourceSpec::Contact(spec),
        });
        for (i, item) in items.iter().enumerate() {
            let cpath = format!("{path}.channels[{i}]");
            let value = substitute(item, &values, &cpath)?;
            let spec: ChannelSpec = typed(&value, &cpath)?;
            let spec = spec.validate().map_err(|e| e.within(&cpath))?;
            resources.push(DesiredResource {
                logical_id: format!("{path}.channels.{}", spec.name),
                resource_type: "Muster::Channel".into(),
                properties: value,
                spec: ResourceSpec::Channel { contact: alias.clone(), spec },
            });
        }
    }
    for (name, def) in merged.remove("rotations").unwrap_or_default() {
        let path = format!("rotations.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: RotationSpec = typed(&value, &path)?;
        let (spec, _) = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::Rotation".into(),
            properties: value,
            spec: ResourceSpec::Rotation(spec),
        });
    }
    for (name, def) in merged.remove("topics").unwrap_or_default() {
        let path = format!("topics.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: TopicSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::Topic".into(),
            properties: value,
            spec: ResourceSpec::Topic(spec),
        });
    }
    for (name, def) in merged.remove("chatChannels").unwrap_or_default() {
        let path = format!("chatChannels.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: ChatChannelSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::ChatChannel".into(),
            properties: value,
            spec: ResourceSpec::ChatChannel(spec),
        });
    }
    let mut warnings = Vec::new();
    for (name, def) in merged.remove("runbooks").unwrap_or_default() {
        let path = format!("runbooks.{name}");
        // A runbook's `{{ }}` are its own variables, not this file's parameters: no substitution.
        let doc = muster_core::runbook::parse_document(&def).map_err(|e| e.within(&path))?;
        muster_core::runbook::check_script_safety(&doc).map_err(|e| e.within(&path))?;
        for u in doc.unsupported_steps() {
            warnings.push(format!("{path}: step {u} acts on AWS; Muster loads it and fails the step if it is reached"));
        }
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::Runbook".into(),
            properties: def.clone(),
            spec: ResourceSpec::Runbook { name, document: def },
        });
    }
    for (name, def) in merged.remove("responsePlans").unwrap_or_default() {
        let path = format!("responsePlans.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: ResponsePlanSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::ResponsePlan".into(),
            properties: value,
            spec: ResourceSpec::ResponsePlan(spec),
        });
    }
    for (name, def) in merged.remove("alarms").unwrap_or_default() {
        let path = format!("alarms.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: muster_core::alarm::AlarmSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::Alarm".into(),
            properties: value,
            spec: ResourceSpec::Alarm(spec),
        });
    }
    for (name, def) in merged.remove("rules").unwrap_or_default() {
        let path = format!("rules.{name}");
        let value = substitute(&Value::Object(named(def, "name", &name, &path)?), &values, &path)?;
        let spec: muster_core::rule::RuleSpec = typed(&value, &path)?;
        let spec = spec.validate().map_err(|e| e.within(&path))?;
        resources.push(DesiredResource {
            logical_id: path,
            resource_type: "Muster::Rule".into(),
            properties: value,
            spec: ResourceSpec::Rule(spec),
        });
    }

    let template = docs.iter().map(|(s, _)| format!("# {}\n{}", s.name, s.content)).collect::<Vec<_>>().join("\n---\n");
    Ok(StackPlan {
        name: stack.to_string(),
        format: crate::Format::Native.as_str().into(),
        template,
        parameters: shown,
        outputs: BTreeMap::new(),
        resources,
        warnings,
        skipped: vec![],
    })
}

/// A definition as a mapping, with its name (the key it stands under) put in as `field`.
fn named(def: Value, field: &str, name: &str, path: &str) -> Result<Map<String, Value>, Invalid> {
    let mut def = match def {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(Invalid::new(path, "must be a mapping")),
    };
    if def.contains_key(field) {
        return Err(Invalid::new(format!("{path}.{field}"), format!("the {field} is the key this stands under")));
    }
    def.insert(field.into(), json!(name));
    Ok(def)
}

/// Reads a definition into its type, naming the path of a field that does not fit.
fn typed<T: serde::de::DeserializeOwned>(value: &Value, path: &str) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        Invalid::new(if field == "." { path.to_string() } else { format!("{path}.{field}") }, message)
    })
}

/// Replaces `${name}` with parameter values in every string.
fn substitute(v: &Value, params: &BTreeMap<String, Value>, path: &str) -> Result<Value, Invalid> {
    Ok(match v {
        Value::String(s) => Value::String(substitute_str(s, params, path)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| substitute(x, params, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), substitute(x, params, &format!("{path}.{k}"))?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn substitute_str(s: &str, params: &BTreeMap<String, Value>, path: &str) -> Result<String, Invalid> {
    crate::interpolate(s, path, |name| match params.get(name) {
        Some(Value::String(v)) => Ok(v.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(Invalid::new(path, format!("${{{name}}}: there is no parameter {name:?}"))),
    })
}
