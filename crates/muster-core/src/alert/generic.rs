//! Any JSON alert, read through a configured [`Mapping`] of RFC 6901 JSON pointers (`/title`,
//! `/alert/labels/severity`, `/items/0/name`; `~1` stands for `/` and `~0` for `~` in a key).
//!
//! The title is required; summary, impact, dedupe and action are optional. A string, number or
//! boolean is read as text. Impact takes a number 1 to 5 or a severity word
//! ([`severity_impact`](super::severity_impact); unknown words give [`DEFAULT_IMPACT`]). The action
//! resolves when its text equals one of `resolve_values` (ignoring case) and triggers otherwise. A
//! top-level `resources` array of strings (as EventBridge events have) becomes the resources.
//!
//! [`DEFAULT_IMPACT`]: super::DEFAULT_IMPACT

use super::{Alert, AlertAction, bounded_summary, impact_of, severity_impact, string_list};
use crate::Invalid;
use crate::incident::{Impact, MAX_DEDUPE};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Where each field of an alert is in the sender's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mapping {
    /// JSON pointer to the title, such as `/title`.
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub dedupe: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// Values of `action` that resolve; `resolve`, `resolved` and `ok` when not given.
    #[serde(default = "default_resolve_values")]
    pub resolve_values: Vec<String>,
}

fn default_resolve_values() -> Vec<String> {
    ["resolve", "resolved", "ok"].map(String::from).to_vec()
}

impl Mapping {
    /// A mapping with only a title pointer.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            summary: None,
            impact: None,
            dedupe: None,
            action: None,
            resolve_values: default_resolve_values(),
        }
    }

    /// Checks that every pointer is a JSON pointer (empty, or starting with `/`). Errors name the
    /// mapping's field: `title`, `impact`.
    pub fn validate(&self) -> Result<(), Invalid> {
        let optional =
            [("summary", &self.summary), ("impact", &self.impact), ("dedupe", &self.dedupe), ("action", &self.action)];
        let pointers = optional.into_iter().filter_map(|(k, p)| Some((k, p.as_deref()?)));
        for (field, pointer) in std::iter::once(("title", self.title.as_str())).chain(pointers) {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(Invalid::new(
                    field,
                    format!("{pointer:?} is not a JSON pointer; write it as /field/inner"),
                ));
            }
        }
        Ok(())
    }
}

/// Reads one alert out of `body` through `mapping`. Errors name the field in the body the pointer
/// leads to (`alert.title` for `/alert/title`), or `mapping.<field>` for a bad pointer.
pub fn parse(body: &Value, mapping: &Mapping) -> Result<Alert, Invalid> {
    mapping.validate().map_err(|e| e.within("mapping"))?;
    let title = text(body, &mapping.title)?.ok_or_else(|| Invalid::new(field_of(&mapping.title), "is required"))?;
    let read = |pointer: &Option<String>| match pointer {
        Some(p) => text(body, p),
        None => Ok(None),
    };
    let impact = match &mapping.impact {
        Some(p) => impact(body, p)?,
        None => impact_of(None)?,
    };
    let action = match read(&mapping.action)? {
        Some(a) if mapping.resolve_values.iter().any(|r| r.trim().eq_ignore_ascii_case(&a)) => AlertAction::Resolve,
        _ => AlertAction::Trigger,
    };
    let dedupe = read(&mapping.dedupe)?;
    if let (Some(d), Some(p)) = (&dedupe, &mapping.dedupe)
        && d.chars().count() > MAX_DEDUPE
    {
        return Err(Invalid::new(field_of(p), format!("must be at most {MAX_DEDUPE} characters")));
    }
    let mut alert = Alert::new("generic", action, &title, impact, body.clone());
    alert.summary = bounded_summary(read(&mapping.summary)?.as_deref());
    alert.dedupe = dedupe;
    alert.resources = string_list(body.get("resources"));
    Ok(alert)
}

/// The text at `pointer`: None when absent, null or blank; objects and arrays are refused.
fn text(body: &Value, pointer: &str) -> Result<Option<String>, Invalid> {
    let s = match body.pointer(pointer) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(_) => return Err(Invalid::new(field_of(pointer), "must be a string, number or boolean")),
    };
    Ok(Some(s).filter(|s| !s.is_empty()))
}

/// A number 1 to 5 or a severity word at `pointer`.
fn impact(body: &Value, pointer: &str) -> Result<Impact, Invalid> {
    match body.pointer(pointer) {
        Some(Value::Number(n)) => {
            let bad = || Invalid::new(field_of(pointer), format!("must be 1 to 5 or a severity word, got {n}"));
            let n = n.as_i64().ok_or_else(bad)?;
            Impact::try_from(n).map_err(|_| bad())
        }
        Some(Value::String(s)) => match severity_impact(s) {
            Some(impact) => Ok(impact),
            None => impact_of(None),
        },
        None | Some(Value::Null) => impact_of(None),
        Some(_) => Err(Invalid::new(field_of(pointer), "must be 1 to 5 or a severity word")),
    }
}

/// The field a JSON pointer leads to, written as this crate names fields: `/a/0/b` is `a[0].b`.
fn field_of(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> Mapping {
        Mapping {
            title: "/alert/name".into(),
            summary: Some("/alert/text".into()),
            impact: Some("/alert/level".into()),
            dedupe: Some("/alert/id".into()),
            action: Some("/state".into()),
            resolve_values: vec!["CLOSED".into(), "ok".into()],
        }
    }

    #[test]
    fn reads_through_pointers() {
        let body = json!({"alert": {"name": " Queue stuck ", "text": "depth 10k", "level": "high", "id": 42}, "state": "open",
                          "resources": ["queue/orders", 7]});
        let a = parse(&body, &full()).expect("valid");
        assert_eq!(a.source, "generic");
        assert_eq!(a.title, "Queue stuck");
        assert_eq!(a.summary.as_deref(), Some("depth 10k"));
        assert_eq!(a.impact.get(), 2);
        assert_eq!(a.dedupe.as_deref(), Some("42"));
        assert_eq!(a.action, AlertAction::Trigger);
        assert_eq!(a.resources, ["queue/orders"]);
        assert_eq!(a.raw, body);
    }

    #[test]
    fn action_and_impact_variants() {
        let mut body = json!({"alert": {"name": "x", "level": 5}, "state": "closed"});
        let a = parse(&body, &full()).expect("valid");
        assert_eq!((a.action, a.impact.get()), (AlertAction::Resolve, 5));
        body["alert"]["level"] = json!("whatever");
        body["state"] = json!("resolved");
        let a = parse(&body, &full()).expect("valid");
        assert_eq!((a.action, a.impact.get()), (AlertAction::Trigger, 3), "resolved is not in this mapping's list");
        let a =
            parse(&json!({"t": "x", "s": "RESOLVED"}), &Mapping { action: Some("/s".into()), ..Mapping::new("/t") })
                .expect("valid");
        assert_eq!(a.action, AlertAction::Resolve, "default resolve values");
        let a = parse(
            &json!({"t": "x", "done": true}),
            &Mapping { action: Some("/done".into()), resolve_values: vec!["true".into()], ..Mapping::new("/t") },
        )
        .expect("valid");
        assert_eq!(a.action, AlertAction::Resolve, "booleans read as text");
    }

    #[test]
    fn mapping_from_config() {
        let m: Mapping = serde_json::from_value(json!({"title": "/t", "resolveValues": ["done"]})).expect("valid");
        assert_eq!(m.resolve_values, ["done"]);
        let m: Mapping = serde_json::from_value(json!({"title": "/t"})).expect("valid");
        assert_eq!(m, Mapping::new("/t"));
        assert!(serde_json::from_value::<Mapping>(json!({"title": "/t", "severity": "/s"})).is_err());
    }

    #[test]
    fn errors_name_the_field() {
        let body = json!({"alert": {"name": "x", "level": 9, "id": "i"}});
        let e = parse(&body, &full()).expect_err("level 9");
        assert_eq!(e.field, "alert.level");
        let e = parse(&json!({"alert": {"name": "x", "level": 2.5}}), &full()).expect_err("fraction");
        assert_eq!(e.field, "alert.level");
        assert_eq!(
            parse(&json!({"alert": {"name": "x", "level": [1]}}), &full()).expect_err("array").field,
            "alert.level"
        );
        assert_eq!(parse(&json!({"alert": {"level": 1}}), &full()).expect_err("no title").field, "alert.name");
        assert_eq!(parse(&json!({"alert": {"name": "  "}}), &full()).expect_err("blank title").field, "alert.name");
        assert_eq!(parse(&json!({"alert": {"name": {"a": 1}}}), &full()).expect_err("object").field, "alert.name");
        let long = json!({"alert": {"name": "x", "id": "d".repeat(MAX_DEDUPE + 1)}});
        assert_eq!(parse(&long, &full()).expect_err("long dedupe").field, "alert.id");
        let e = parse(&json!({"items": [{"n": {}}]}), &Mapping::new("/items/0/n")).expect_err("object");
        assert_eq!(e.field, "items[0].n");
        let e = parse(&json!({"title": "x"}), &Mapping::new("title")).expect_err("not a pointer");
        assert_eq!(e.field, "mapping.title");
        let bad = Mapping { impact: Some("level".into()), ..Mapping::new("/t") };
        assert_eq!(parse(&json!({"t": "x"}), &bad).expect_err("not a pointer").field, "mapping.impact");
    }

    #[test]
    fn pointer_fields() {
        assert_eq!(field_of("/a/0/b"), "a[0].b");
        assert_eq!(field_of("/a~1b/c~0d"), "a/b.c~d");
        assert_eq!(field_of(""), "");
        let body = json!({"a/b": {"~": "found"}});
        let a = parse(&body, &Mapping::new("/a~1b/~0")).expect("escaped pointer");
        assert_eq!(a.title, "found");
    }
}
