//! Runbooks: Automation documents (the reference design's `schemaVersion: "0.3"` format), their
//! parameters, variables, and the pure decisions of an execution (what a branch chooses, which
//! step comes next).

use crate::Invalid;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Actions Muster runs itself. Anything else (an AWS API call, a command on instances) loads, is
/// reported, and fails its step with a clear message when reached.
pub const SUPPORTED_ACTIONS: &[&str] = &[
    "aws:executeScript",
    "aws:sleep",
    "aws:pause",
    "aws:approve",
    "aws:branch",
    "aws:loop",
    "muster:script",
    "muster:http",
    "muster:waitForHttp",
    "muster:assertHttp",
    "muster:tcpCheck",
    "muster:queryMetric",
    "muster:fail",
    "muster:timelineEvent",
    "muster:relatedItem",
    "muster:updateIncident",
    "muster:publish",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ParamType {
    String,
    StringList,
    Integer,
    Boolean,
    StringMap,
    MapList,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParamDef {
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chars: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputDef {
    pub name: String,
    /// A JSONPath into the action's result (`$.Payload.status`).
    pub selector: String,
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
}

fn string_type() -> String {
    "String".into()
}

/// What happens when a step fails: stop the execution, go on, or go to a named step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum OnFailure {
    Abort,
    Continue,
    Step(String),
}

impl OnFailure {
    fn parse(v: &str, field: &str) -> Result<Self, Invalid> {
        match v {
            "Abort" => Ok(OnFailure::Abort),
            "Continue" => Ok(OnFailure::Continue),
            s => s
                .strip_prefix("step:")
                .map(|n| OnFailure::Step(n.to_string()))
                .ok_or_else(|| Invalid::new(field, format!("{s:?}: use Abort, Continue or step:NAME"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub inputs: Value,
    pub outputs: Vec<OutputDef>,
    pub on_failure: OnFailure,
    pub on_cancel: OnFailure,
    pub max_attempts: u32,
    pub timeout_seconds: Option<u64>,
    pub is_end: bool,
    pub next_step: Option<String>,
    pub is_critical: bool,
}

/// A parsed Automation document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub description: Option<String>,
    pub parameters: BTreeMap<String, ParamDef>,
    pub main_steps: Vec<Step>,
    /// `Step.Output` names the execution reports.
    pub outputs: Vec<String>,
}

impl Document {
    /// Steps whose action Muster cannot run, by name.
    pub fn unsupported_steps(&self) -> Vec<String> {
        self.main_steps
            .iter()
            .filter(|s| !SUPPORTED_ACTIONS.contains(&s.action.as_str()))
            .map(|s| format!("{} ({})", s.name, s.action))
            .collect()
    }

    pub fn step_index(&self, name: &str) -> Option<usize> {
        self.main_steps.iter().position(|s| s.name == name)
    }
}

fn get<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

fn string(m: &Map<String, Value>, k: &str, field: &str) -> Result<Option<String>, Invalid> {
    match get(m, k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(Invalid::new(field, "must be a string")),
    }
}

fn boolean(m: &Map<String, Value>, k: &str, field: &str) -> Result<bool, Invalid> {
    match get(m, k) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(Invalid::new(field, "must be true or false")),
    }
}

/// Parses a document from its JSON form (YAML documents are loaded into JSON first).
pub fn parse_document(doc: &Value) -> Result<Document, Invalid> {
    let top = doc.as_object().ok_or_else(|| Invalid::new("document", "must be a mapping"))?;
    match top.get("schemaVersion").and_then(Value::as_str) {
        Some("0.3") => {}
        Some(v) => {
            return Err(Invalid::new(
                "schemaVersion",
                format!("{v:?}: only Automation documents (\"0.3\") are runbooks"),
            ));
        }
        None => return Err(Invalid::new("schemaVersion", "is required (\"0.3\")")),
    }
    let mut parameters = BTreeMap::new();
    if let Some(params) = get(top, "parameters") {
        let params = params.as_object().ok_or_else(|| Invalid::new("parameters", "must be a mapping"))?;
        for (name, def) in params {
            let field = format!("parameters.{name}");
            let d = def.as_object().ok_or_else(|| Invalid::new(&field, "must be a mapping with a type"))?;
            // AWS-specific types (`AWS::IAM::Role::Arn`, `AWS::EC2::Instance::Id`) are strings here.
            let declared = d.get("type").and_then(Value::as_str).unwrap_or_default();
            let kind: ParamType = if declared.starts_with("AWS::") {
                ParamType::String
            } else {
                serde_json::from_value(Value::String(declared.to_string())).map_err(|_| {
                    Invalid::new(
                        format!("{field}.type"),
                        "must be String, StringList, Integer, Boolean, StringMap or MapList",
                    )
                })?
            };
            let usize_of = |k: &str| -> Result<Option<usize>, Invalid> {
                match get(d, k) {
                    None => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .map(|n| Some(n as usize))
                        .ok_or_else(|| Invalid::new(format!("{field}.{k}"), "must be a whole number")),
                }
            };
            // A pattern this engine cannot compile (lookaround) is kept but not enforced.
            let allowed_pattern = string(d, "allowedPattern", &format!("{field}.allowedPattern"))?;
            parameters.insert(
                name.clone(),
                ParamDef {
                    kind,
                    description: string(d, "description", &format!("{field}.description"))?,
                    default: d.get("default").cloned(),
                    allowed_values: get(d, "allowedValues").map(|v| v.as_array().cloned().unwrap_or_default()),
                    allowed_pattern,
                    min_items: usize_of("minItems")?,
                    max_items: usize_of("maxItems")?,
                    min_chars: usize_of("minChars")?,
                    max_chars: usize_of("maxChars")?,
                },
            );
        }
    }
    let steps = get(top, "mainSteps")
        .and_then(Value::as_array)
        .ok_or_else(|| Invalid::new("mainSteps", "a runbook has at least one step"))?;
    if steps.is_empty() {
        return Err(Invalid::new("mainSteps", "a runbook has at least one step"));
    }
    let main_steps = parse_steps(steps, "mainSteps")?;
    for (i, s) in main_steps.iter().enumerate() {
        if s.action == "aws:loop" {
            let inner = s.inputs.get("Steps").and_then(Value::as_array).cloned().unwrap_or_default();
            if inner.is_empty() {
                return Err(Invalid::new(format!("mainSteps[{i}].inputs.Steps"), "a loop runs at least one step"));
            }
            let nested = parse_steps(&inner, &format!("mainSteps[{i}].inputs.Steps"))?;
            if let Some(n) = nested
                .iter()
                .find(|n| matches!(n.action.as_str(), "aws:sleep" | "aws:approve" | "aws:pause" | "aws:loop"))
            {
                return Err(Invalid::new(
                    format!("mainSteps[{i}].inputs.Steps"),
                    format!("step {} ({}) cannot run inside a loop here", n.name, n.action),
                ));
            }
        }
    }
    // Every step a document jumps to exists.
    for (i, s) in main_steps.iter().enumerate() {
        let mut targets: Vec<(String, &str)> = Vec::new();
        if let Some(n) = &s.next_step {
            targets.push((n.clone(), "nextStep"));
        }
        if let OnFailure::Step(n) = &s.on_failure {
            targets.push((n.clone(), "onFailure"));
        }
        if s.action == "aws:branch" {
            for c in s.inputs.get("Choices").and_then(Value::as_array).cloned().unwrap_or_default() {
                if let Some(n) = c.get("NextStep").and_then(Value::as_str) {
                    targets.push((n.to_string(), "inputs.Choices"));
                }
            }
            if let Some(n) = s.inputs.get("Default").and_then(Value::as_str) {
                targets.push((n.to_string(), "inputs.Default"));
            }
        }
        for (t, f) in targets {
            if !main_steps.iter().any(|x| x.name == t) {
                return Err(Invalid::new(format!("mainSteps[{i}].{f}"), format!("there is no step {t:?}")));
            }
        }
    }
    let outputs = match get(top, "outputs") {
        None => vec![],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(_) => return Err(Invalid::new("outputs", "must be a list of Step.Output")),
    };
    Ok(Document { description: string(top, "description", "description")?, parameters, main_steps, outputs })
}

/// Parses a list of steps (`mainSteps`, or the `Steps` of an `aws:loop`).
pub fn parse_steps(steps: &[Value], prefix: &str) -> Result<Vec<Step>, Invalid> {
    let mut main_steps = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let field = format!("{prefix}[{i}]");
        let m = s.as_object().ok_or_else(|| Invalid::new(&field, "must be a mapping"))?;
        let name = string(m, "name", &format!("{field}.name"))?
            .ok_or_else(|| Invalid::new(format!("{field}.name"), "is required"))?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(Invalid::new(format!("{field}.name"), "use letters, digits, '-' and '_'"));
        }
        if main_steps.iter().any(|x: &Step| x.name == name) {
            return Err(Invalid::new(format!("{field}.name"), format!("{name:?} is used twice")));
        }
        let action = string(m, "action", &format!("{field}.action"))?
            .ok_or_else(|| Invalid::new(format!("{field}.action"), "is required"))?;
        let mut outputs = Vec::new();
        if let Some(o) = get(m, "outputs") {
            for (j, out) in o.as_array().cloned().unwrap_or_default().iter().enumerate() {
                let of = format!("{field}.outputs[{j}]");
                let om = out.as_object().ok_or_else(|| Invalid::new(&of, "must be a mapping"))?;
                outputs.push(OutputDef {
                    name: string(om, "Name", &format!("{of}.Name"))?
                        .ok_or_else(|| Invalid::new(format!("{of}.Name"), "is required"))?,
                    selector: string(om, "Selector", &format!("{of}.Selector"))?
                        .ok_or_else(|| Invalid::new(format!("{of}.Selector"), "is required"))?,
                    kind: string(om, "Type", &format!("{of}.Type"))?.unwrap_or_else(string_type),
                });
            }
        }
        let max_attempts = match get(m, "maxAttempts") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=10).contains(n))
                .ok_or_else(|| Invalid::new(format!("{field}.maxAttempts"), "must be 1 to 10"))?
                as u32,
        };
        main_steps.push(Step {
            name,
            action,
            inputs: m.get("inputs").cloned().unwrap_or(Value::Object(Map::new())),
            outputs,
            on_failure: OnFailure::parse(
                &string(m, "onFailure", "")?.unwrap_or_else(|| "Abort".into()),
                &format!("{field}.onFailure"),
            )?,
            on_cancel: OnFailure::parse(
                &string(m, "onCancel", "")?.unwrap_or_else(|| "Abort".into()),
                &format!("{field}.onCancel"),
            )?,
            max_attempts,
            timeout_seconds: get(m, "timeoutSeconds").and_then(Value::as_u64),
            is_end: boolean(m, "isEnd", &format!("{field}.isEnd"))?,
            next_step: string(m, "nextStep", &format!("{field}.nextStep"))?,
            is_critical: !matches!(get(m, "isCritical"), Some(Value::Bool(false))),
        });
    }
    Ok(main_steps)
}

/// Checks given parameters against the document, filling defaults; refuses unknown, missing or
/// out-of-bounds values naming the parameter. Values come back in their declared types.
pub fn bind_parameters(doc: &Document, given: &Map<String, Value>) -> Result<Map<String, Value>, Invalid> {
    for k in given.keys() {
        if !doc.parameters.contains_key(k) {
            return Err(Invalid::new(format!("parameters.{k}"), "the runbook has no such parameter"));
        }
    }
    let mut out = Map::new();
    for (name, def) in &doc.parameters {
        let field = format!("parameters.{name}");
        let raw = match given.get(name).or(def.default.as_ref()) {
            Some(v) => v.clone(),
            None => return Err(Invalid::new(field, "is required")),
        };
        let value = coerce(def.kind, raw).map_err(|m| Invalid::new(&field, m))?;
        if let Some(allowed) = &def.allowed_values {
            let items: Vec<&Value> = match &value {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            for item in items {
                let ok = allowed.iter().any(|a| a == item || scalar(a) == scalar(item));
                if !ok {
                    return Err(Invalid::new(&field, format!("{} is not one of the allowedValues", scalar(item))));
                }
            }
        }
        if let Some(p) = &def.allowed_pattern
            && let Ok(re) = regex::Regex::new(p)
        {
            let texts: Vec<String> = match &value {
                Value::Array(a) => a.iter().map(scalar).collect(),
                v => vec![scalar(v)],
            };
            if let Some(bad) = texts.iter().find(|t| !re.is_match(t)) {
                return Err(Invalid::new(&field, format!("{bad:?} does not match the allowedPattern {p}")));
            }
        }
        if let Value::Array(a) = &value
            && (def.min_items.is_some_and(|m| a.len() < m) || def.max_items.is_some_and(|m| a.len() > m))
        {
            return Err(Invalid::new(&field, "has too few or too many items"));
        }
        if let Value::String(s) = &value
            && (def.min_chars.is_some_and(|m| s.chars().count() < m)
                || def.max_chars.is_some_and(|m| s.chars().count() > m))
        {
            return Err(Invalid::new(&field, "is too short or too long"));
        }
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn coerce(kind: ParamType, v: Value) -> Result<Value, String> {
    Ok(match (kind, v) {
        (ParamType::String, Value::String(s)) => Value::String(s),
        (ParamType::String, v @ (Value::Number(_) | Value::Bool(_))) => Value::String(scalar(&v)),
        (ParamType::Integer, Value::Number(n)) if n.is_i64() => Value::Number(n),
        (ParamType::Integer, Value::String(s)) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| format!("{s:?} is not an integer"))?
        }
        (ParamType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (ParamType::Boolean, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (ParamType::StringList, Value::Array(a)) => Value::Array(a.iter().map(|x| Value::String(scalar(x))).collect()),
        (ParamType::StringList, Value::String(s)) => Value::Array(vec![Value::String(s)]),
        (ParamType::StringMap, v @ Value::Object(_)) => v,
        (ParamType::MapList, Value::Array(a)) if a.iter().all(Value::is_object) => Value::Array(a),
        (k, v) => return Err(format!("{} is not a {k:?}", scalar(&v))),
    })
}

/// Variables a step's inputs can name: parameters, earlier steps' outputs (`Step.Output`),
/// `global:...` and `automation:...`.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub values: BTreeMap<String, Value>,
}

impl Variables {
    /// Resolves `{{ name }}` in every string of `v`. A string that is exactly one variable takes
    /// the variable's value with its type (a list stays a list); inside longer text, the value's
    /// text. Unknown variables are left as written.
    pub fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.resolve_str(s),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), self.resolve(x))).collect()),
            other => other.clone(),
        }
    }

    fn resolve_str(&self, s: &str) -> Value {
        let trimmed = s.trim();
        if let Some(inner) = trimmed.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
            && !inner.contains("{{")
            && let Some(v) = self.values.get(inner.trim())
        {
            return v.clone();
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    let name = after[..end].trim();
                    match self.values.get(name) {
                        Some(v) => out.push_str(&scalar(v)),
                        None => out.push_str(&rest[start..start + 2 + end + 2]),
                    }
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Value::String(out)
    }
}

/// Evaluates one `aws:branch` choice (already resolved) against its variable.
fn choice_holds(c: &Map<String, Value>) -> Result<bool, String> {
    if let Some(all) = c.get("And").and_then(Value::as_array) {
        return all
            .iter()
            .map(|x| x.as_object().ok_or("And takes choices".to_string()).and_then(choice_holds))
            .try_fold(true, |acc, r| r.map(|b| acc && b));
    }
    if let Some(any) = c.get("Or").and_then(Value::as_array) {
        return any
            .iter()
            .map(|x| x.as_object().ok_or("Or takes choices".to_string()).and_then(choice_holds))
            .try_fold(false, |acc, r| r.map(|b| acc || b));
    }
    if let Some(not) = c.get("Not") {
        return not.as_object().ok_or("Not takes a choice".to_string()).and_then(choice_holds).map(|b| !b);
    }
    let var = c.get("Variable").ok_or("a choice needs a Variable")?;
    let text = scalar(var);
    let num = |v: &Value| -> Result<f64, String> {
        scalar(v).trim().parse::<f64>().map_err(|_| format!("{} is not a number", scalar(v)))
    };
    for (op, arg) in c {
        let holds = match op.as_str() {
            "Variable" | "NextStep" => continue,
            "StringEquals" => text == scalar(arg),
            "EqualsIgnoreCase" => text.eq_ignore_ascii_case(&scalar(arg)),
            "StartsWith" => text.starts_with(&scalar(arg)),
            "EndsWith" => text.ends_with(&scalar(arg)),
            "Contains" => match var {
                Value::Array(a) => a.iter().any(|x| scalar(x) == scalar(arg)),
                _ => text.contains(&scalar(arg)),
            },
            "NumericEquals" => num(var)? == num(arg)?,
            "NumericGreater" => num(var)? > num(arg)?,
            "NumericLesser" => num(var)? < num(arg)?,
            "NumericGreaterOrEquals" => num(var)? >= num(arg)?,
            "NumericLesserOrEquals" => num(var)? <= num(arg)?,
            "BooleanEquals" => text.eq_ignore_ascii_case(&scalar(arg)),
            other => return Err(format!("unknown choice operator {other}")),
        };
        return Ok(holds);
    }
    Err("a choice needs an operator".into())
}

/// The step an `aws:branch` goes to: the first choice that holds, else `Default`, else `None`
/// (the execution ends).
pub fn branch(inputs: &Value) -> Result<Option<String>, String> {
    for c in inputs.get("Choices").and_then(Value::as_array).cloned().unwrap_or_default() {
        let m = c.as_object().ok_or("a choice must be a mapping")?;
        if choice_holds(m)? {
            return Ok(m.get("NextStep").and_then(Value::as_str).map(str::to_string));
        }
    }
    Ok(inputs.get("Default").and_then(Value::as_str).map(str::to_string))
}

/// A JSONPath selector of the simple kind documents use: `$`, `$.a.b`, `$.a[0].b`, `$.Payload`.
pub fn select(v: &Value, selector: &str) -> Option<Value> {
    let path = selector.trim().strip_prefix('$')?;
    let mut cur = v;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let idx: usize = r[..end].trim().parse().ok()?;
            cur = cur.get(idx)?;
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur.clone())
}

/// Parses an ISO 8601 duration as `aws:sleep` takes it (`PT10S`, `PT5M`, `PT1H30M`, `P1D`).
pub fn iso_duration(s: &str) -> Option<u64> {
    let s = s.trim().strip_prefix('P')?;
    let (days, time) = match s.split_once('T') {
        Some((d, t)) => (d, t),
        None => (s, ""),
    };
    let mut secs = 0u64;
    if !days.is_empty() {
        secs += days.strip_suffix('D')?.parse::<u64>().ok()? * 86_400;
    }
    let mut num = String::new();
    for c in time.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        secs += match c {
            'H' => n * 3600,
            'M' => n * 60,
            'S' => n,
            _ => return None,
        };
    }
    num.is_empty().then_some(secs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ExecutionStatus {
    InProgress,
    /// Waiting for an approval (or a resume after a pause).
    Waiting,
    Success,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum StepStatus {
    InProgress,
    Waiting,
    Success,
    Failed,
    Cancelled,
}

/// A stored runbook: a named document.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Runbook {
    pub id: String,
    pub name: String,
    /// The document as written (its JSON form).
    #[schema(value_type = Object)]
    pub document: Value,
    /// Steps Muster cannot run, by name and action.
    pub unsupported_steps: Vec<String>,
    pub stack: Option<String>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// One run of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRun {
    pub seq: u32,
    pub name: String,
    pub action: String,
    pub status: StepStatus,
    #[schema(value_type = Object)]
    pub inputs: Value,
    #[schema(value_type = Object)]
    pub outputs: Value,
    /// What the step printed, truncated.
    pub log: String,
    pub failure: Option<String>,
    pub attempts: u32,
    /// Approvals and rejections of an approval step: `{"approver", "decision", "by", "at"}`.
    #[schema(value_type = Vec<Object>)]
    pub approvals: Vec<Value>,
    pub started_at: jiff::Timestamp,
    pub ended_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub id: String,
    pub runbook: String,
    pub status: ExecutionStatus,
    #[schema(value_type = Object)]
    pub parameters: Value,
    pub incident_id: Option<String>,
    #[schema(value_type = Object)]
    pub outputs: Value,
    pub failure: Option<String>,
    pub steps: Vec<StepRun>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    pub ended_at: Option<jiff::Timestamp>,
    pub created_by: String,
    #[serde(skip)]
    pub document: Option<Document>,
}

/// A response plan's runbook action (as the CloudFormation importer normalizes it, or as written
/// in Muster's YAML): the runbook's name, and its parameters for this incident.
pub fn action_runbook(action: &Value) -> Option<String> {
    let name = action.get("documentName").or_else(|| action.get("runbook")).and_then(Value::as_str)?;
    // A document ARN (`Ref` of an `AWS::SSM::Document`) names the runbook by its last segment.
    Some(name.rsplit_once(":document/").map_or(name, |(_, n)| n).to_string())
}

/// Parameters for a runbook started by a response plan: the action's static parameters (a list
/// of values each, as the reference design writes them, unwrapped for single-valued types), and
/// its dynamic ones (`INCIDENT_RECORD_ARN`, `INVOLVED_RESOURCES`) from the incident.
pub fn action_parameters(
    doc: &Document,
    action: &Value,
    incident_arn: &str,
    resources: &[String],
) -> Result<Map<String, Value>, Invalid> {
    let mut given = Map::new();
    if let Some(p) = action.get("parameters").and_then(Value::as_object) {
        for (k, v) in p {
            let single = doc
                .parameters
                .get(k)
                .is_some_and(|d| matches!(d.kind, ParamType::String | ParamType::Integer | ParamType::Boolean));
            let value = match v {
                Value::Array(a) if single && a.len() == 1 => a[0].clone(),
                other => other.clone(),
            };
            given.insert(k.clone(), value);
        }
    }
    if let Some(d) = action.get("dynamicParameters").and_then(Value::as_object) {
        for (k, v) in d {
            let value = match v.as_str() {
                Some("INCIDENT_RECORD_ARN") => Value::String(incident_arn.to_string()),
                Some("INVOLVED_RESOURCES") => resources.iter().cloned().map(Value::String).collect(),
                _ => continue,
            };
            given.insert(k.clone(), value);
        }
    }
    bind_parameters(doc, &given)
}

/// Actions whose `Script` is code: parameters reach them as data only (InputPayload, environment),
/// so a `{{ ... }}` in their script text is refused.
pub const SCRIPT_ACTIONS: &[&str] = &["aws:executeScript", "muster:script"];

/// Checks a document for what would splice parameters into code (DESIGN invariant 8).
pub fn check_script_safety(doc: &Document) -> Result<(), Invalid> {
    for (i, s) in doc.main_steps.iter().enumerate() {
        if SCRIPT_ACTIONS.contains(&s.action.as_str())
            && s.inputs.get("Script").and_then(Value::as_str).is_some_and(|t| t.contains("{{"))
        {
            return Err(Invalid::new(
                format!("mainSteps[{i}].inputs.Script"),
                "a script takes parameters as data: pass them in InputPayload (or Environment), not as {{ }} in its text",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "schemaVersion": "0.3",
            "description": "test",
            "parameters": {
                "Mode": {"type": "String", "default": "fast", "allowedValues": ["fast", "careful"]},
                "Count": {"type": "Integer", "default": 2},
                "Hosts": {"type": "StringList", "default": ["a"], "allowedPattern": "^[a-z]+$"}
            },
            "mainSteps": [
                {"name": "choose", "action": "aws:branch", "inputs": {
                    "Choices": [{"NextStep": "approve", "Variable": "{{ Mode }}", "StringEquals": "careful"}],
                    "Default": "work"}},
                {"name": "approve", "action": "aws:approve", "inputs": {"Approvers": ["ann"]}},
                {"name": "work", "action": "aws:executeAwsApi", "inputs": {}, "isEnd": true}
            ]
        })
    }

    #[test]
    fn documents_parse_and_report_unsupported_steps() {
        let d = parse_document(&doc()).expect("valid");
        assert_eq!(d.main_steps.len(), 3);
        assert_eq!(d.unsupported_steps(), ["work (aws:executeAwsApi)"]);
        let mut bad = doc();
        bad["mainSteps"][0]["inputs"]["Default"] = json!("nowhere");
        assert_eq!(parse_document(&bad).expect_err("dangling").field, "mainSteps[0].inputs.Default");
        bad = doc();
        bad["schemaVersion"] = json!("2.2");
        assert_eq!(parse_document(&bad).expect_err("command doc").field, "schemaVersion");
    }

    #[test]
    fn parameters_bind_with_defaults_types_and_constraints() {
        let d = parse_document(&doc()).expect("valid");
        let p = bind_parameters(&d, &Map::new()).expect("defaults");
        assert_eq!(p["Mode"], "fast");
        assert_eq!(p["Count"], 2);
        let given = json!({"Mode": "reckless"});
        assert_eq!(
            bind_parameters(&d, given.as_object().expect("map")).expect_err("not allowed").field,
            "parameters.Mode"
        );
        let given = json!({"Count": "x"});
        assert_eq!(bind_parameters(&d, given.as_object().expect("map")).expect_err("type").field, "parameters.Count");
        let given = json!({"Hosts": ["ok", "Not-Ok"]});
        assert_eq!(
            bind_parameters(&d, given.as_object().expect("map")).expect_err("pattern").field,
            "parameters.Hosts"
        );
        let given = json!({"Nope": 1});
        assert_eq!(bind_parameters(&d, given.as_object().expect("map")).expect_err("unknown").field, "parameters.Nope");
    }

    #[test]
    fn variables_keep_types_and_branches_choose() {
        let vars = Variables {
            values: BTreeMap::from([("Hosts".to_string(), json!(["a", "b"])), ("Mode".to_string(), json!("careful"))]),
        };
        assert_eq!(vars.resolve(&json!("{{ Hosts }}")), json!(["a", "b"]));
        assert_eq!(vars.resolve(&json!("mode={{Mode}} {{ Unknown }}")), json!("mode=careful {{ Unknown }}"));
        let d = parse_document(&doc()).expect("valid");
        let inputs = vars.resolve(&d.main_steps[0].inputs);
        assert_eq!(branch(&inputs).expect("ok").as_deref(), Some("approve"));
        let inputs = json!({"Choices": [{"NextStep": "x", "And": [
            {"Variable": 5, "NumericGreater": 3}, {"Not": {"Variable": "abc", "StartsWith": "z"}}]}], "Default": "y"});
        assert_eq!(branch(&inputs).expect("ok").as_deref(), Some("x"));
    }

    /// A document in the shape AWS publishes (written here): AWS parameter types, an assume role,
    /// AWS-only steps among runnable ones.
    #[test]
    fn documents_written_for_aws_load_with_their_aws_steps_listed() {
        let text = json!({
            "description": "Restart an instance and check it",
            "schemaVersion": "0.3",
            "assumeRole": "{{ AutomationAssumeRole }}",
            "parameters": {
                "InstanceId": {"type": "AWS::EC2::Instance::Id", "description": "The instance"},
                "AutomationAssumeRole": {"type": "AWS::IAM::Role::Arn", "default": "", "allowedPattern": "^(?!x)arn:.*$"}
            },
            "mainSteps": [
                {"name": "stop", "action": "aws:changeInstanceState", "inputs": {"InstanceIds": ["{{ InstanceId }}"], "DesiredState": "stopped"}},
                {"name": "wait", "action": "aws:waitForAwsResourceProperty", "timeoutSeconds": 600, "inputs": {
                    "Service": "ec2", "Api": "DescribeInstances", "PropertySelector": "$.Reservations[0].Instances[0].State.Name",
                    "DesiredValues": ["stopped"]}},
                {"name": "report", "action": "aws:executeScript", "isEnd": true, "inputs": {
                    "Runtime": "python3.8", "Handler": "script_handler", "InputPayload": {"id": "{{ InstanceId }}"},
                    "Script": "def script_handler(events, context):\n  return events['id']"}}
            ],
            "outputs": ["report.OutputPayload"]
        });
        let d = parse_document(&text).expect("loads");
        assert_eq!(d.unsupported_steps(), ["stop (aws:changeInstanceState)", "wait (aws:waitForAwsResourceProperty)"]);
        assert_eq!(d.parameters["InstanceId"].kind, ParamType::String);
        let bound = bind_parameters(&d, json!({"InstanceId": "i-0123"}).as_object().expect("map")).expect("binds");
        assert_eq!(bound["AutomationAssumeRole"], "", "an uncompilable pattern is not enforced");
    }

    #[test]
    fn selectors_and_durations() {
        let v = json!({"Payload": {"items": [{"status": "up"}]}});
        assert_eq!(select(&v, "$.Payload.items[0].status"), Some(json!("up")));
        assert_eq!(select(&v, "$.Payload.missing"), None);
        assert_eq!(iso_duration("PT1H30M"), Some(5400));
        assert_eq!(iso_duration("P1DT2S"), Some(86_402));
        assert_eq!(iso_duration("10 seconds"), None);
    }
}
