//! The one domain error: input that was refused, naming the field at fault.

use std::fmt;

/// Bad input, refused whole. `field` is the JSON path of the offending field as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error, nested under a parent field (`impact` under `incidentTemplate`).
    pub fn within(self, parent: &str) -> Self {
        let field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        Self { field, ..self }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks a required, trimmed, bounded text field.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(field, format!("must be at most {max} characters")));
    }
    Ok(v.to_string())
}

/// Checks an optional bounded text field; empty strings count as absent.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_read_as_paths() {
        let e = Invalid::new("impact", "must be 1 to 5").within("incidentTemplate");
        assert_eq!(e.field, "incidentTemplate.impact");
        let e = Invalid::new("[2]", "bad").within("tags");
        assert_eq!(e.field, "tags[2]");
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("title", "  a  ", 5).expect("valid"), "a");
        assert_eq!(text("title", "   ", 5).expect_err("empty").field, "title");
        assert!(text("title", "abcdef", 5).is_err());
        assert_eq!(optional_text("summary", Some(" "), 5).expect("valid"), None);
    }
}
