//! Message text from templates people can override (Jinja syntax, through minijinja).
//!
//! | name | renders | default |
//! |---|---|---|
//! | `pageSubject` | a page's subject | `{{ subject }}` |
//! | `pageText` | a page's text | `{{ content or subject }}` |
//! | `notificationSubject` | a topic or chat message's subject | `{{ subject }}` |
//! | `notificationText` | its text | `{{ text }}` |
//!
//! Pages see `subject`, `content`, `contact`, `channel` (`name`, `type`) and `incident` (`id`,
//! `number`, `title`, `impact`, `summary`, `status`) when there is one; notifications see
//! `subject`, `text` and `incident`.

use minijinja::Environment;
use serde::Serialize;
use std::collections::BTreeMap;

pub const NAMES: &[&str] = &["pageSubject", "pageText", "notificationSubject", "notificationText"];

fn default(name: &str) -> &'static str {
    match name {
        "pageSubject" | "notificationSubject" => "{{ subject }}",
        "pageText" => "{{ content or subject }}",
        _ => "{{ text }}",
    }
}

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles the overrides over the defaults; a bad template is refused naming it.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut env = Environment::new();
        for name in overrides.keys() {
            if !NAMES.contains(&name.as_str()) {
                return Err(format!("messageTemplates.{name}: unknown template; templates are {}", NAMES.join(", ")));
            }
        }
        for name in NAMES {
            let source = overrides.get(*name).cloned().unwrap_or_else(|| default(name).to_string());
            env.add_template_owned(*name, source).map_err(|e| format!("messageTemplates.{name}: {e}"))?;
        }
        Ok(Self { env })
    }

    /// Renders a template; on an error (a missing field, say) the default is used and the error logged.
    pub fn render<C: Serialize>(&self, name: &str, context: &C) -> String {
        let rendered = self.env.get_template(name).and_then(|t| t.render(context));
        match rendered {
            Ok(s) => s.trim().to_string(),
            Err(e) => {
                tracing::warn!(template = name, error = %e, "message template failed; using the default");
                let fallback = Environment::new();
                fallback.render_str(default(name), context).unwrap_or_default().trim().to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_render_and_bad_ones_are_refused() {
        let t = Templates::new(&BTreeMap::from([(
            "pageSubject".to_string(),
            "[{{ incident.impact }}] {{ incident.title | upper }}".to_string(),
        )]))
        .expect("valid");
        let ctx = serde_json::json!({"subject": "s", "content": "", "incident": {"impact": 1, "title": "db down"}});
        assert_eq!(t.render("pageSubject", &ctx), "[1] DB DOWN");
        assert_eq!(t.render("pageText", &ctx), "s", "content or subject");
        assert!(
            Templates::new(&BTreeMap::from([("pageSubject".to_string(), "{{ oops".to_string())]))
                .expect_err("syntax")
                .contains("pageSubject")
        );
        assert!(
            Templates::new(&BTreeMap::from([("nope".to_string(), "x".to_string())]))
                .expect_err("unknown")
                .contains("nope")
        );
    }
}
