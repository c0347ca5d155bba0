//! CloudFormation: parameters, mappings, conditions, intrinsic functions, resources, outputs.

use crate::Options;
use crate::types::{ACCOUNT, REGION, TypeDef, lookup, scalar_string};
use base64::Engine;
use muster_core::Invalid;
use muster_core::stack::{DesiredResource, SkippedResource, StackPlan};
use regex::Regex;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];
const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "Condition",
    "DependsOn",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
];
const PARAMETER_KEYS: &[&str] = &[
    "Type",
    "Default",
    "Description",
    "AllowedValues",
    "AllowedPattern",
    "ConstraintDescription",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "NoEcho",
];
const NO_VALUE: &str = "AWS::NoValue";

pub(crate) fn plan(stack: &str, text: &str, doc: &Value, options: &Options) -> Result<StackPlan, Invalid> {
    let top = doc.as_object().ok_or_else(|| Invalid::new("template", "a template is a mapping of sections"))?;
    for k in top.keys() {
        if !SECTIONS.contains(&k.as_str()) {
            return Err(Invalid::new(k, format!("unknown template section; sections are {}", SECTIONS.join(", "))));
        }
    }
    if let Some(v) = top.get("AWSTemplateFormatVersion")
        && v.as_str() != Some("2010-09-09")
    {
        return Err(Invalid::new("AWSTemplateFormatVersion", "the only version is \"2010-09-09\""));
    }
    if top.contains_key("Transform") {
        return Err(Invalid::new("Transform", "macros and transforms are not supported; expand the template first"));
    }
    let mut warnings = Vec::new();
    if top.contains_key("Rules") {
        warnings.push("Rules: template rules are not evaluated".to_string());
    }
    let empty = Map::new();
    let section = |name: &str| -> Result<&Map<String, Value>, Invalid> {
        match top.get(name) {
            None => Ok(&empty),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(Invalid::new(name, "must be a mapping")),
        }
    };
    let resources = section("Resources")?;
    if resources.is_empty() {
        return Err(Invalid::new("Resources", "a template declares at least one resource"));
    }
    let (params, shown) = parameters(section("Parameters")?, &options.parameters)?;
    let mut ctx = Ctx {
        stack,
        params,
        mappings: section("Mappings")?,
        condition_defs: section("Conditions")?,
        conditions: BTreeMap::new(),
        evaluating: Vec::new(),
        resources,
        naming: Vec::new(),
    };
    for name in ctx.condition_defs.keys() {
        ctx.condition(name, &format!("Conditions.{name}"))?;
    }

    let mut desired = Vec::new();
    let mut skipped = Vec::new();
    for (logical, def) in resources {
        let path = format!("Resources.{logical}");
        if logical.is_empty() || !logical.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Invalid::new(path, "a logical ID is letters and digits only"));
        }
        let def = def.as_object().ok_or_else(|| Invalid::new(&path, "must be a mapping with Type and Properties"))?;
        for k in def.keys() {
            if !RESOURCE_KEYS.contains(&k.as_str()) {
                return Err(Invalid::new(format!("{path}.{k}"), "unknown resource attribute"));
            }
        }
        let ty = def
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid::new(format!("{path}.Type"), "is required"))?;
        for dep in depends_on(def.get("DependsOn"), &format!("{path}.DependsOn"))? {
            if !resources.contains_key(&dep) {
                return Err(Invalid::new(
                    format!("{path}.DependsOn"),
                    format!("{dep:?} is not a resource in this template"),
                ));
            }
        }
        if !ctx.active(logical, &path)? {
            continue;
        }
        let Some(typedef) = lookup(ty) else {
            if options.skip_unsupported {
                skipped.push(SkippedResource { logical_id: logical.clone(), resource_type: ty.to_string() });
                continue;
            }
            return Err(Invalid::new(
                format!("{path}.Type"),
                format!("Muster does not support the resource type {ty}; --skip-unsupported imports the rest"),
            ));
        };
        let props_path = format!("{path}.Properties");
        let mut properties = match def.get("Properties") {
            None => Value::Object(Map::new()),
            Some(p) => ctx.resolve(p, &props_path)?.unwrap_or(Value::Object(Map::new())),
        };
        // A resource without a name gets the one CloudFormation would make up (without the suffix).
        if let (Some(prop), Some(props)) = (typedef.name_property, properties.as_object_mut())
            && !props.contains_key(prop)
        {
            props.insert(prop.to_string(), json!(format!("{stack}-{logical}")));
        }
        let mut notes = Vec::new();
        let spec = (typedef.build)(&properties, &mut notes).map_err(|e| e.within(&props_path))?;
        warnings.extend(notes.into_iter().map(|n| format!("{props_path}.{n}")));
        desired.push(DesiredResource { logical_id: logical.clone(), resource_type: ty.to_string(), spec, properties });
    }

    let mut outputs = BTreeMap::new();
    for (name, def) in section("Outputs")? {
        let path = format!("Outputs.{name}");
        let def = def.as_object().ok_or_else(|| Invalid::new(&path, "must be a mapping with Value"))?;
        if let Some(c) = def.get("Condition") {
            let c = c.as_str().ok_or_else(|| Invalid::new(format!("{path}.Condition"), "must name a condition"))?;
            if !ctx.condition(c, &format!("{path}.Condition"))? {
                continue;
            }
        }
        let value = def.get("Value").ok_or_else(|| Invalid::new(format!("{path}.Value"), "is required"))?;
        let value = ctx.resolve(value, &format!("{path}.Value"))?.unwrap_or(Value::Null);
        if def.contains_key("Export") {
            warnings
                .push(format!("{path}.Export: cross-stack exports are not supported; the output is kept without it"));
        }
        outputs.insert(name.clone(), value);
    }

    Ok(StackPlan {
        name: stack.to_string(),
        format: crate::Format::CloudFormation.as_str().into(),
        template: text.to_string(),
        parameters: shown,
        outputs,
        resources: desired,
        warnings,
        skipped,
    })
}

fn depends_on(v: Option<&Value>, path: &str) -> Result<Vec<String>, Invalid> {
    match v {
        None => Ok(vec![]),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| Invalid::new(path, "must list logical IDs")))
            .collect(),
        Some(_) => Err(Invalid::new(path, "must be a logical ID or a list of them")),
    }
}

/// Parameter values for `Ref`, and the same values as shown to people (NoEcho ones masked).
pub(crate) type ParameterValues = (BTreeMap<String, Value>, BTreeMap<String, String>);

/// Resolves parameter values: given, else the default; checked against every constraint. Returns
/// the values for `Ref`, and the values to show (NoEcho ones masked).
pub(crate) fn parameters(
    defs: &Map<String, Value>,
    given: &BTreeMap<String, String>,
) -> Result<ParameterValues, Invalid> {
    for k in given.keys() {
        if !defs.contains_key(k) {
            return Err(Invalid::new(format!("Parameters.{k}"), "is not declared by the template"));
        }
    }
    let mut values = BTreeMap::new();
    let mut shown = BTreeMap::new();
    for (name, def) in defs {
        let path = format!("Parameters.{name}");
        let def = def.as_object().ok_or_else(|| Invalid::new(&path, "must be a mapping with a Type"))?;
        for k in def.keys() {
            if !PARAMETER_KEYS.contains(&k.as_str()) {
                return Err(Invalid::new(format!("{path}.{k}"), "unknown parameter attribute"));
            }
        }
        let ty = def
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid::new(format!("{path}.Type"), "is required"))?;
        let raw = match given.get(name) {
            Some(v) => v.clone(),
            None => match def.get("Default").and_then(scalar_string) {
                Some(d) => d,
                None => return Err(Invalid::new(&path, "has no Default, so a value must be given")),
            },
        };
        let constraint = def.get("ConstraintDescription").and_then(Value::as_str);
        let fail = |why: String| {
            let message = match constraint {
                Some(c) => format!("{why}: {c}"),
                None => why,
            };
            Invalid::new(&path, message)
        };
        let is_list = ty == "CommaDelimitedList" || ty.starts_with("List<");
        let items: Vec<String> =
            if is_list { raw.split(',').map(|s| s.trim().to_string()).collect() } else { vec![raw.clone()] };
        let numeric = ty == "Number" || ty == "List<Number>";
        if ty.starts_with("AWS::SSM::Parameter") {
            return Err(Invalid::new(format!("{path}.Type"), "SSM parameter types need AWS; use String"));
        }
        if !(numeric
            || ty == "String"
            || ty == "CommaDelimitedList"
            || ty.starts_with("AWS::")
            || ty.starts_with("List<AWS::"))
        {
            return Err(Invalid::new(format!("{path}.Type"), format!("unknown parameter type {ty}")));
        }
        for item in &items {
            if numeric && item.parse::<f64>().is_err() {
                return Err(fail(format!("{item:?} is not a number")));
            }
            if let Some(allowed) = def.get("AllowedValues") {
                let allowed: Vec<String> =
                    allowed.as_array().map(|a| a.iter().filter_map(scalar_string).collect()).unwrap_or_default();
                if !allowed.contains(item) {
                    return Err(fail(format!("{item:?} is not one of the AllowedValues {}", allowed.join(", "))));
                }
            }
            if let Some(p) = def.get("AllowedPattern").and_then(Value::as_str) {
                let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    Invalid::new(format!("{path}.AllowedPattern"), format!("is not a valid pattern: {e}"))
                })?;
                if !re.is_match(item) {
                    return Err(fail(format!("{item:?} does not match the AllowedPattern {p}")));
                }
            }
            let len = item.chars().count() as f64;
            if let Some(min) = number(def.get("MinLength"))
                && len < min
            {
                return Err(fail(format!("is shorter than MinLength {min}")));
            }
            if let Some(max) = number(def.get("MaxLength"))
                && len > max
            {
                return Err(fail(format!("is longer than MaxLength {max}")));
            }
            if numeric {
                let n = item.parse::<f64>().unwrap_or(f64::NAN);
                if number(def.get("MinValue")).is_some_and(|min| n < min)
                    || number(def.get("MaxValue")).is_some_and(|max| n > max)
                {
                    return Err(fail(format!("{item} is outside MinValue..MaxValue")));
                }
            }
        }
        let no_echo = def.get("NoEcho").is_some_and(|v| v == &json!(true) || v == &json!("true"));
        shown.insert(name.clone(), if no_echo { "****".to_string() } else { raw.clone() });
        values.insert(name.clone(), if is_list { json!(items) } else { Value::String(raw) });
    }
    Ok((values, shown))
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(scalar_string).and_then(|s| s.parse().ok())
}

struct Ctx<'a> {
    stack: &'a str,
    params: BTreeMap<String, Value>,
    mappings: &'a Map<String, Value>,
    condition_defs: &'a Map<String, Value>,
    conditions: BTreeMap<String, bool>,
    evaluating: Vec<String>,
    resources: &'a Map<String, Value>,
    naming: Vec<String>,
}

/// The single key of an intrinsic-function object, if it is one.
fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    let m = v.as_object()?;
    if m.len() != 1 {
        return None;
    }
    let (k, arg) = m.iter().next()?;
    (k == "Ref" || k.starts_with("Fn::")).then_some((k.as_str(), arg))
}

fn args<'v>(arg: &'v Value, n: usize, f: &str, path: &str) -> Result<&'v [Value], Invalid> {
    match arg.as_array() {
        Some(a) if a.len() == n => Ok(a),
        _ => Err(Invalid::new(path, format!("{f} takes a list of {n}"))),
    }
}

impl Ctx<'_> {
    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AWS::AccountId" => json!(ACCOUNT),
            "AWS::Region" => json!(REGION),
            "AWS::Partition" => json!("aws"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            "AWS::StackName" => json!(self.stack),
            "AWS::StackId" => json!(format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/muster", self.stack)),
            "AWS::NotificationARNs" => json!([]),
            _ => return None,
        })
    }

    fn condition(&mut self, name: &str, path: &str) -> Result<bool, Invalid> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let def = self
            .condition_defs
            .get(name)
            .ok_or_else(|| Invalid::new(path, format!("there is no condition {name:?}")))?;
        if self.evaluating.iter().any(|n| n == name) {
            return Err(Invalid::new(path, format!("condition {name:?} depends on itself")));
        }
        self.evaluating.push(name.to_string());
        let v = self.condition_value(def, &format!("Conditions.{name}"));
        self.evaluating.pop();
        let v = v?;
        self.conditions.insert(name.to_string(), v);
        Ok(v)
    }

    fn condition_value(&mut self, def: &Value, path: &str) -> Result<bool, Invalid> {
        let m = def
            .as_object()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| Invalid::new(path, "must be one condition function"))?;
        let (f, arg) = m.iter().next().ok_or_else(|| Invalid::new(path, "must be one condition function"))?;
        let path = format!("{path}.{f}");
        match f.as_str() {
            "Condition" => {
                let name = arg.as_str().ok_or_else(|| Invalid::new(&path, "must name a condition"))?;
                self.condition(name, &path)
            }
            "Fn::Equals" => {
                let a = args(arg, 2, f, &path)?;
                let x = self.resolve(&a[0], &format!("{path}[0]"))?;
                let y = self.resolve(&a[1], &format!("{path}[1]"))?;
                let norm = |v: Option<Value>| v.map(|v| scalar_string(&v).map(Value::String).unwrap_or(v));
                Ok(norm(x) == norm(y))
            }
            "Fn::Not" => {
                let a = args(arg, 1, f, &path)?;
                Ok(!self.condition_value(&a[0], &format!("{path}[0]"))?)
            }
            "Fn::And" | "Fn::Or" => {
                let items = arg
                    .as_array()
                    .filter(|a| (2..=10).contains(&a.len()))
                    .ok_or_else(|| Invalid::new(&path, format!("{f} takes 2 to 10 conditions")))?;
                let mut results = Vec::with_capacity(items.len());
                for (i, c) in items.iter().enumerate() {
                    results.push(self.condition_value(c, &format!("{path}[{i}]"))?);
                }
                Ok(if f == "Fn::And" { results.iter().all(|b| *b) } else { results.iter().any(|b| *b) })
            }
            other => Err(Invalid::new(
                path,
                format!("{other} is not a condition function; use Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition"),
            )),
        }
    }

    /// Whether a resource exists in this apply: it has no Condition, or its condition holds.
    fn active(&mut self, logical: &str, path: &str) -> Result<bool, Invalid> {
        let resources = self.resources;
        match resources.get(logical).and_then(|d| d.get("Condition")) {
            None => Ok(true),
            Some(Value::String(c)) => self.condition(c, &format!("{path}.Condition")),
            Some(_) => Err(Invalid::new(format!("{path}.Condition"), "must name a condition")),
        }
    }

    fn typedef(&self, logical: &str) -> Option<&'static TypeDef> {
        self.resources.get(logical).and_then(|d| d.get("Type")).and_then(Value::as_str).and_then(lookup)
    }

    /// A resource's name: its name property resolved, or `STACK-LOGICALID`.
    fn resource_name(&mut self, logical: &str, path: &str) -> Result<String, Invalid> {
        let resources = self.resources;
        let prop = self.typedef(logical).and_then(|t| t.name_property);
        let Some(value) = prop.and_then(|p| resources.get(logical)?.get("Properties")?.get(p)) else {
            return Ok(format!("{}-{logical}", self.stack));
        };
        if self.naming.iter().any(|n| n == logical) {
            return Err(Invalid::new(path, format!("the name of {logical} refers to itself")));
        }
        self.naming.push(logical.to_string());
        let resolved = self.resolve(value, &format!("Resources.{logical}.Properties.{}", prop.unwrap_or_default()));
        self.naming.pop();
        resolved?.as_ref().and_then(scalar_string).ok_or_else(|| {
            Invalid::new(format!("Resources.{logical}.Properties.{}", prop.unwrap_or_default()), "must be a string")
        })
    }

    fn resource_ref(&mut self, logical: &str, path: &str) -> Result<Value, Invalid> {
        if !self.active(logical, path)? {
            return Err(Invalid::new(path, format!("{logical} is not created: its Condition is false")));
        }
        let name = self.resource_name(logical, path)?;
        let ty = self.resources.get(logical).and_then(|d| d.get("Type")).and_then(Value::as_str).unwrap_or_default();
        Ok(match self.typedef(logical) {
            Some(t) => json!((t.arn)(&name)),
            None => json!(unsupported_arn(ty, &name)),
        })
    }

    fn reference(&mut self, name: &str, path: &str) -> Result<Option<Value>, Invalid> {
        if name == NO_VALUE {
            return Ok(None);
        }
        if let Some(v) = self.params.get(name) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.pseudo(name) {
            return Ok(Some(v));
        }
        if self.resources.contains_key(name) {
            return self.resource_ref(name, path).map(Some);
        }
        Err(Invalid::new(path, format!("Ref: {name:?} is not a parameter, resource or pseudo parameter")))
    }

    fn get_att(&mut self, logical: &str, attr: &str, path: &str) -> Result<Value, Invalid> {
        if !self.resources.contains_key(logical) {
            return Err(Invalid::new(path, format!("Fn::GetAtt: {logical:?} is not a resource in this template")));
        }
        if !self.active(logical, path)? {
            return Err(Invalid::new(path, format!("{logical} is not created: its Condition is false")));
        }
        let ty = self.resources.get(logical).and_then(|d| d.get("Type")).and_then(Value::as_str).unwrap_or_default();
        let name = self.resource_name(logical, path)?;
        match self.typedef(logical) {
            Some(t) if attr == "Arn" || t.arn_attributes.contains(&attr) => Ok(json!((t.arn)(&name))),
            Some(t) if t.name_attributes.contains(&attr) || attr == "Name" => Ok(json!(name)),
            Some(_) => Err(Invalid::new(path, format!("Fn::GetAtt: {ty} has no attribute {attr:?}"))),
            // A type Muster keeps without acting on (a role, say): its ARN follows AWS's shape.
            None if attr == "Arn" => Ok(json!(unsupported_arn(ty, &name))),
            None => Ok(json!(name)),
        }
    }

    /// Resolves every intrinsic function in a value. `None` is `AWS::NoValue`.
    fn resolve(&mut self, v: &Value, path: &str) -> Result<Option<Value>, Invalid> {
        if let Some((f, arg)) = intrinsic(v) {
            return self.function(f, arg, path);
        }
        Ok(Some(match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(r) = self.resolve(item, &format!("{path}[{i}]"))? {
                        out.push(r);
                    }
                }
                Value::Array(out)
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, item) in m {
                    if let Some(r) = self.resolve(item, &format!("{path}.{k}"))? {
                        out.insert(k.clone(), r);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }))
    }

    fn resolve_string(&mut self, v: &Value, path: &str) -> Result<String, Invalid> {
        self.resolve(v, path)?
            .as_ref()
            .and_then(scalar_string)
            .ok_or_else(|| Invalid::new(path, "must resolve to a string"))
    }

    fn resolve_list(&mut self, v: &Value, path: &str) -> Result<Vec<Value>, Invalid> {
        match self.resolve(v, path)? {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(Invalid::new(path, "must resolve to a list")),
        }
    }

    fn function(&mut self, f: &str, arg: &Value, path: &str) -> Result<Option<Value>, Invalid> {
        let here = format!("{path}.{f}");
        match f {
            "Ref" => {
                let name = arg.as_str().ok_or_else(|| Invalid::new(&here, "Ref takes a name"))?;
                self.reference(name, &here)
            }
            "Fn::GetAtt" => {
                let (logical, attr) = match arg {
                    Value::String(s) => s.split_once('.').map(|(a, b)| (a.to_string(), b.to_string())),
                    Value::Array(a) if a.len() == 2 => {
                        let logical = a[0].as_str().map(str::to_string);
                        let attr = self.resolve_string(&a[1], &format!("{here}[1]")).ok();
                        logical.zip(attr)
                    }
                    _ => None,
                }
                .ok_or_else(|| Invalid::new(&here, "Fn::GetAtt takes [Resource, Attribute]"))?;
                self.get_att(&logical, &attr, &here).map(Some)
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let t = a[0].as_str().ok_or_else(|| Invalid::new(format!("{here}[0]"), "must be a string"))?;
                        let vars = match self.resolve(&a[1], &format!("{here}[1]"))? {
                            Some(Value::Object(m)) => m,
                            _ => return Err(Invalid::new(format!("{here}[1]"), "must be a mapping of variables")),
                        };
                        (t.to_string(), vars)
                    }
                    _ => return Err(Invalid::new(&here, "Fn::Sub takes a string or [string, variables]")),
                };
                self.sub(&template, &vars, &here).map(|s| Some(json!(s)))
            }
            "Fn::Join" => {
                let a = args(arg, 2, f, &here)?;
                let delim =
                    a[0].as_str().ok_or_else(|| Invalid::new(format!("{here}[0]"), "must be a string"))?.to_string();
                let items = self.resolve_list(&a[1], &format!("{here}[1]"))?;
                let parts: Option<Vec<String>> = items.iter().map(scalar_string).collect();
                let parts = parts.ok_or_else(|| Invalid::new(format!("{here}[1]"), "must be a list of strings"))?;
                Ok(Some(json!(parts.join(&delim))))
            }
            "Fn::Select" => {
                let a = args(arg, 2, f, &here)?;
                let index = self.resolve_string(&a[0], &format!("{here}[0]"))?;
                let index: usize =
                    index.parse().map_err(|_| Invalid::new(format!("{here}[0]"), "must be a non-negative integer"))?;
                let items = self.resolve_list(&a[1], &format!("{here}[1]"))?;
                let len = items.len();
                items
                    .into_iter()
                    .nth(index)
                    .map(Some)
                    .ok_or_else(|| Invalid::new(&here, format!("index {index} is past the end of a list of {len}")))
            }
            "Fn::Split" => {
                let a = args(arg, 2, f, &here)?;
                let delim = a[0]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| Invalid::new(format!("{here}[0]"), "must be a non-empty string"))?;
                let s = self.resolve_string(&a[1], &format!("{here}[1]"))?;
                Ok(Some(json!(s.split(delim).collect::<Vec<_>>())))
            }
            "Fn::If" => {
                let a = args(arg, 3, f, &here)?;
                let cond = a[0].as_str().ok_or_else(|| Invalid::new(format!("{here}[0]"), "must name a condition"))?;
                let (chosen, i) = if self.condition(cond, &format!("{here}[0]"))? { (&a[1], 1) } else { (&a[2], 2) };
                self.resolve(chosen, &format!("{here}[{i}]"))
            }
            "Fn::FindInMap" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3 || a.len() == 4)
                    .ok_or_else(|| Invalid::new(&here, "Fn::FindInMap takes [Map, TopKey, SecondKey]"))?;
                let map = self.resolve_string(&a[0], &format!("{here}[0]"))?;
                let top = self.resolve_string(&a[1], &format!("{here}[1]"))?;
                let second = self.resolve_string(&a[2], &format!("{here}[2]"))?;
                let found = self.mappings.get(&map).and_then(|m| m.get(&top)).and_then(|m| m.get(&second)).cloned();
                match (found, a.get(3)) {
                    (Some(v), _) => Ok(Some(v)),
                    (None, Some(default)) => {
                        let d = default
                            .get("DefaultValue")
                            .ok_or_else(|| Invalid::new(format!("{here}[3]"), "must be {DefaultValue: ...}"))?;
                        self.resolve(d, &format!("{here}[3]"))
                    }
                    (None, None) => Err(Invalid::new(&here, format!("Mappings has no {map}.{top}.{second}"))),
                }
            }
            "Fn::Base64" => {
                let s = self.resolve_string(arg, &here)?;
                Ok(Some(json!(base64::engine::general_purpose::STANDARD.encode(s))))
            }
            "Fn::GetAZs" => {
                let region = self.resolve_string(arg, &here)?;
                let region = if region.is_empty() { REGION.to_string() } else { region };
                Ok(Some(json!(["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect::<Vec<_>>())))
            }
            "Fn::Length" => Ok(Some(json!(self.resolve_list(arg, &here)?.len()))),
            "Fn::ToJsonString" => {
                let v = self.resolve(arg, &here)?.unwrap_or(Value::Null);
                Ok(Some(json!(v.to_string())))
            }
            "Fn::ImportValue" | "Fn::Cidr" | "Fn::Transform" => {
                Err(Invalid::new(here, format!("{f} is not supported by Muster")))
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => Err(Invalid::new(
                here,
                format!("{f} belongs in the Conditions section; refer to the condition with Fn::If"),
            )),
            other => Err(Invalid::new(here, format!("unknown intrinsic function {other}"))),
        }
    }

    /// `Fn::Sub`: `${Var}` from the variables, parameters, pseudo parameters and resources;
    /// `${Res.Attr}` is `Fn::GetAtt`; `${!Literal}` writes `${Literal}`.
    fn sub(&mut self, template: &str, vars: &Map<String, Value>, path: &str) -> Result<String, Invalid> {
        crate::interpolate(template, path, |name| {
            let value = if let Some(v) = vars.get(name) {
                Some(v.clone())
            } else if let Some((res, attr)) = name.split_once('.').filter(|_| !self.params.contains_key(name)) {
                Some(self.get_att(res, attr, path)?)
            } else {
                self.reference(name, path)?
            };
            value
                .as_ref()
                .and_then(scalar_string)
                .ok_or_else(|| Invalid::new(path, format!("${{{name}}} does not resolve to a string")))
        })
    }
}

/// The ARN AWS would give a resource of a type Muster keeps without acting on.
fn unsupported_arn(ty: &str, name: &str) -> String {
    match ty {
        "AWS::IAM::Role" => format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}"),
        _ => {
            let service = ty.split("::").nth(1).unwrap_or("unknown").to_ascii_lowercase();
            format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{name}")
        }
    }
}
