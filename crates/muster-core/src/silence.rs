//! Silences with Prometheus Alertmanager's exact semantics (API v2).
//!
//! A silence mutes every alert whose labels match all of its matchers while it is active. The
//! wire shapes are Alertmanager's: [`SilenceSpec`] is the `postableSilence` body, and
//! [`Silence::to_gettable`] writes the `gettableSilence` object, so `amtool` and other
//! Alertmanager clients work against Muster unchanged.
//!
//! Matcher semantics, as Alertmanager has them:
//! - A label the alert does not carry reads as the empty string, so `env=""` matches an alert
//!   without `env` and `env!="prod"` matches it too.
//! - Regular expressions are fully anchored: `foo` is compiled as `^(?:foo)$` and does not match
//!   `foobar`. Alertmanager uses Go's RE2; the `regex` crate has the same syntax except that
//!   `\d`, `\w`, `\s` and `\b` are Unicode-aware here and ASCII-only there.
//! - `isEqual: false` negates: `isRegex: false` becomes `!=` and `isRegex: true` becomes `!~`.
//! - A silence must have a matcher that does not match the empty string, else it would mute
//!   alerts that lack the label altogether. As in Alertmanager, only `=` and `=~` matchers can
//!   "match the empty string" for this rule; `!=` and `!~` matchers never do.
//!
//! A silence is `pending` before `startsAt`, `active` from `startsAt`, and `expired` from
//! `endsAt` on: the active span is half-open, `[startsAt, endsAt)`.

use crate::Invalid;
use crate::error::{optional_text, text};
use jiff::Timestamp;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Longest `createdBy` accepted.
const MAX_CREATED_BY: usize = 200;
/// Longest `comment` accepted.
const MAX_COMMENT: usize = 10_000;
/// Longest client-supplied silence id accepted.
const MAX_ID: usize = 100;

/// One label matcher, as Alertmanager's API v2 writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The value to compare with, or the regular expression when `isRegex` is true.
    pub value: String,
    /// Whether `value` is a (fully anchored) regular expression.
    pub is_regex: bool,
    /// False negates the matcher (`!=`, `!~`).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// Compiles a matcher's regular expression, anchored at both ends as Alertmanager does.
///
/// The bare value is checked first so that a value such as `a)|(b` cannot escape the anchoring
/// group: it is refused, as Go refuses it.
fn anchored(value: &str) -> Result<Regex, regex::Error> {
    Regex::new(value)?;
    Regex::new(&format!("^(?:{value})$"))
}

impl Matcher {
    /// A matcher from its name, its value and its operator (`=`, `!=`, `=~` or `!~`).
    pub fn new(name: impl Into<String>, operator: Operator, value: impl Into<String>) -> Self {
        let (is_regex, is_equal) = match operator {
            Operator::Equal => (false, true),
            Operator::NotEqual => (false, false),
            Operator::Regex => (true, true),
            Operator::NotRegex => (true, false),
        };
        Self { name: name.into(), value: value.into(), is_regex, is_equal }
    }

    /// The matcher's operator.
    pub fn operator(&self) -> Operator {
        match (self.is_regex, self.is_equal) {
            (false, true) => Operator::Equal,
            (false, false) => Operator::NotEqual,
            (true, true) => Operator::Regex,
            (true, false) => Operator::NotRegex,
        }
    }

    /// Whether a label value satisfies this matcher. A regular expression that does not compile
    /// satisfies nothing, negated or not (validation refuses such matchers).
    pub fn matches_value(&self, value: &str) -> bool {
        let hit = if self.is_regex {
            match anchored(&self.value) {
                Ok(re) => re.is_match(value),
                Err(_) => return false,
            }
        } else {
            value == self.value
        };
        hit == self.is_equal
    }

    /// Whether an alert's labels satisfy this matcher; a missing label reads as the empty string.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Whether the matcher counts as matching the empty string for the rule that a silence needs
    /// one matcher that does not. As in Alertmanager, negative matchers never count.
    fn matches_empty(&self) -> bool {
        match self.operator() {
            Operator::Equal => self.value.is_empty(),
            Operator::Regex => anchored(&self.value).is_ok_and(|re| re.is_match("")),
            Operator::NotEqual | Operator::NotRegex => false,
        }
    }

    /// Checks the name and, for a regular expression, that it compiles. Errors name the field
    /// relative to the matcher (`name`, `value`).
    fn validate(&self) -> Result<(), Invalid> {
        if self.name.is_empty() {
            return Err(Invalid::new("name", "must not be empty"));
        }
        if !is_label_name(&self.name) {
            return Err(Invalid::new(
                "name",
                format!("{:?} is not a label name: use letters, digits and _, not starting with a digit", self.name),
            ));
        }
        if self.is_regex
            && let Err(e) = anchored(&self.value)
        {
            return Err(Invalid::new("value", format!("{:?} is not a regular expression: {e}", self.value)));
        }
        Ok(())
    }
}

/// A matcher's operator, as the filter syntax writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "=",
            Operator::NotEqual => "!=",
            Operator::Regex => "=~",
            Operator::NotRegex => "!~",
        }
    }
}

/// Whether `s` is a Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A silence as clients post it: Alertmanager's `postableSilence`. With an `id`, it replaces that
/// silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SilenceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

impl SilenceSpec {
    /// Checks the spec as Alertmanager does, trimming `id`, `createdBy` and `comment`. An empty
    /// `id` means a new silence.
    pub fn validate(mut self) -> Result<Self, Invalid> {
        self.id = optional_text("id", self.id.as_deref(), MAX_ID)?;
        if self.matchers.is_empty() {
            return Err(Invalid::new("matchers", "at least one matcher is required"));
        }
        for (i, m) in self.matchers.iter().enumerate() {
            m.validate().map_err(|e| e.within(&format!("matchers[{i}]")))?;
        }
        if self.matchers.iter().all(Matcher::matches_empty) {
            return Err(Invalid::new("matchers", "at least one matcher must not match the empty string"));
        }
        if self.ends_at <= self.starts_at {
            return Err(Invalid::new("endsAt", "must be after startsAt"));
        }
        self.created_by = text("createdBy", &self.created_by, MAX_CREATED_BY)?;
        self.comment = text("comment", &self.comment, MAX_COMMENT)?;
        Ok(self)
    }
}

/// Where a silence stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Before `startsAt`.
    Pending,
    /// From `startsAt` until `endsAt`.
    Active,
    /// From `endsAt` on.
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
    pub updated_at: Timestamp,
}

impl Silence {
    /// A silence from a validated spec, keeping the spec's id or taking a new one.
    pub fn from_spec(spec: SilenceSpec, now: Timestamp) -> Self {
        Self {
            id: spec.id.unwrap_or_else(crate::new_id),
            matchers: spec.matchers,
            starts_at: spec.starts_at,
            ends_at: spec.ends_at,
            created_by: spec.created_by,
            comment: spec.comment,
            updated_at: now,
        }
    }

    /// `pending` before the start, `active` from the start, `expired` from the end on.
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether the labels satisfy every matcher, whatever the silence's state.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether the silence mutes an alert with these labels at `now`: it is active and matches.
    pub fn mutes(&self, labels: &BTreeMap<String, String>, now: Timestamp) -> bool {
        self.state(now) == SilenceState::Active && self.matches(labels)
    }

    /// Whether the silence passes a `GET /silences?filter=` query, as Alertmanager decides it:
    /// every filter matcher must appear among the silence's matchers with the same name, operator
    /// and value. Filters are not evaluated against anything; an empty filter passes all.
    pub fn matches_filter(&self, filter: &[Matcher]) -> bool {
        filter.iter().all(|f| {
            self.matchers.iter().any(|m| m.name == f.name && m.value == f.value && m.operator() == f.operator())
        })
    }

    /// Expires the silence at `now` as Alertmanager does: an active silence ends now, a pending
    /// one starts and ends now, an expired one is left alone. Returns whether anything changed.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        match self.state(now) {
            SilenceState::Expired => return false,
            SilenceState::Active => self.ends_at = now,
            SilenceState::Pending => {
                self.starts_at = now;
                self.ends_at = now;
            }
        }
        self.updated_at = now;
        true
    }

    /// The silence as Alertmanager's `gettableSilence` object, with its state at `now`.
    /// Timestamps are RFC 3339 in UTC with milliseconds, as Alertmanager writes them.
    pub fn to_gettable(&self, now: Timestamp) -> Value {
        let matchers: Vec<Value> = self
            .matchers
            .iter()
            .map(|m| json!({ "name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal }))
            .collect();
        json!({
            "id": self.id,
            "status": { "state": self.state(now).as_str() },
            "updatedAt": rfc3339(self.updated_at),
            "matchers": matchers,
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        })
    }
}

/// RFC 3339 in UTC with milliseconds, Alertmanager's (go-openapi's) date-time format.
fn rfc3339(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// Parses one `filter` query parameter of `GET /api/v2/silences` (and `/alerts`), such as
/// `alertname="Foo"`, `env=~"prod.*"`, `job!=x` or `a!~"b"`, with Alertmanager's classic matcher
/// syntax: a label name (letters, digits, `_` and `:`), one of `=`, `!=`, `=~`, `!~`, then a
/// value, optionally in double quotes, where `\"`, `\\` and `\n` are escapes. Whitespace around
/// the parts is ignored. Errors name the field `filter`.
pub fn parse_filter(filter: &str) -> Result<Matcher, Invalid> {
    let bad = |why: &str| Invalid::new("filter", format!("{filter:?} is not a matcher: {why}"));
    let s = filter.trim_matches(|c: char| c.is_ascii_whitespace());
    let name_len = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    if name_len == 0 {
        return Err(bad("it must start with a label name"));
    }
    let (name, rest) = s.split_at(name_len);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    // `=~` before `=`, or the `~` would be read as part of the value.
    let (operator, rest) = [("=~", Operator::Regex), ("!~", Operator::NotRegex), ("!=", Operator::NotEqual)]
        .into_iter()
        .chain(std::iter::once(("=", Operator::Equal)))
        .find_map(|(token, op)| rest.strip_prefix(token).map(|r| (op, r)))
        .ok_or_else(|| bad("expected =, !=, =~ or !~ after the label name"))?;
    let raw = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let value = unquote(raw).ok_or_else(|| bad("the value has an unescaped double quote"))?;
    let matcher = Matcher::new(name, operator, value);
    if matcher.is_regex
        && let Err(e) = anchored(&matcher.value)
    {
        return Err(Invalid::new("filter", format!("{:?} is not a regular expression: {e}", matcher.value)));
    }
    Ok(matcher)
}

/// A matcher value with its optional quotes removed and its escapes resolved, as Alertmanager's
/// classic parser reads it. A backslash before anything but `"`, `\` or `n` is a literal
/// backslash. `None` when a double quote is unbalanced or unescaped inside the value.
fn unquote(raw: &str) -> Option<String> {
    let (body, quoted) = match raw.strip_prefix('"') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let mut out = String::with_capacity(body.len());
    let mut closed = !quoted;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('n') => {
                    out.push('\n');
                    chars.next();
                }
                Some(&e @ ('"' | '\\')) => {
                    out.push(e);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            // Only the last character may close the quotes; any other quote is unescaped.
            '"' if quoted && chars.peek().is_none() => closed = true,
            '"' => return None,
            c => out.push(c),
        }
    }
    closed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn m(name: &str, op: Operator, value: &str) -> Matcher {
        Matcher::new(name, op, value)
    }

    fn spec(matchers: Vec<Matcher>) -> SilenceSpec {
        SilenceSpec {
            id: None,
            matchers,
            starts_at: ts("2026-05-01T10:00:00Z"),
            ends_at: ts("2026-05-01T12:00:00Z"),
            created_by: "ann".into(),
            comment: "deploy".into(),
        }
    }

    #[test]
    fn equal_and_not_equal_compare_whole_values() {
        let l = labels(&[("env", "prod"), ("job", "api")]);
        assert!(m("env", Operator::Equal, "prod").matches(&l));
        assert!(!m("env", Operator::Equal, "pro").matches(&l));
        assert!(!m("env", Operator::NotEqual, "prod").matches(&l));
        assert!(m("env", Operator::NotEqual, "staging").matches(&l));
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let l = labels(&[("job", "foobar")]);
        assert!(!m("job", Operator::Regex, "foo").matches(&l));
        assert!(m("job", Operator::Regex, "foo.*").matches(&l));
        assert!(!m("job", Operator::Regex, "bar").matches(&l));
        // An alternation stays inside the anchors: `^(?:a|foobar)$`, not `^a|foobar$`.
        assert!(m("job", Operator::Regex, "a|foobar").matches(&l));
        assert!(!m("job", Operator::Regex, "a|fooba").matches(&l));
        // Negated regexes are anchored too.
        assert!(m("job", Operator::NotRegex, "foo").matches(&l));
        assert!(!m("job", Operator::NotRegex, "foo.+").matches(&l));
    }

    #[test]
    fn a_missing_label_reads_as_the_empty_string() {
        let l = labels(&[("job", "api")]);
        assert!(m("env", Operator::Equal, "").matches(&l));
        assert!(!m("env", Operator::Equal, "prod").matches(&l));
        assert!(m("env", Operator::NotEqual, "prod").matches(&l));
        assert!(m("env", Operator::Regex, ".*").matches(&l));
        assert!(!m("env", Operator::Regex, ".+").matches(&l));
        assert!(m("env", Operator::NotRegex, ".+").matches(&l));
    }

    #[test]
    fn a_bad_regex_matches_nothing_even_negated() {
        let l = labels(&[("job", "api")]);
        assert!(!m("job", Operator::Regex, "(").matches(&l));
        assert!(!m("job", Operator::NotRegex, "(").matches(&l));
        // Breaking out of the anchoring group is not possible.
        assert!(!m("job", Operator::Regex, "x)|(api").matches(&l));
    }

    #[test]
    fn matchers_read_alertmanager_json_with_is_equal_defaulting_to_true() {
        let got: Matcher =
            serde_json::from_str(r#"{"name":"env","value":"prod.*","isRegex":true}"#).expect("valid matcher");
        assert_eq!(got, m("env", Operator::Regex, "prod.*"));
        let got: Matcher = serde_json::from_str(r#"{"name":"env","value":"prod","isRegex":false,"isEqual":false}"#)
            .expect("valid matcher");
        assert_eq!(got.operator(), Operator::NotEqual);
        // isRegex is required by the API.
        assert!(serde_json::from_str::<Matcher>(r#"{"name":"env","value":"prod"}"#).is_err());
    }

    #[test]
    fn postable_silence_parses_and_refuses_unknown_fields() {
        let body = r#"{
            "matchers": [{"name": "alertname", "value": "Foo", "isRegex": false, "isEqual": true}],
            "startsAt": "2026-05-01T10:00:00.000Z",
            "endsAt": "2026-05-01T12:00:00+02:00",
            "createdBy": "ann",
            "comment": "deploy"
        }"#;
        let s: SilenceSpec = serde_json::from_str(body).expect("valid body");
        assert_eq!(s.id, None);
        assert_eq!(s.ends_at, ts("2026-05-01T10:00:00Z"));
        let with_id = body.replacen('{', r#"{"id": "abc","#, 1);
        let s: SilenceSpec = serde_json::from_str(&with_id).expect("valid body");
        assert_eq!(s.id.as_deref(), Some("abc"));
        let extra = body.replacen('{', r#"{"status": {"state": "active"},"#, 1);
        assert!(serde_json::from_str::<SilenceSpec>(&extra).is_err());
    }

    #[test]
    fn validation_accepts_a_good_silence_and_trims() {
        let mut s = spec(vec![m("alertname", Operator::Equal, "Foo")]);
        s.created_by = " ann ".into();
        s.id = Some("  ".into());
        let v = s.validate().expect("valid");
        assert_eq!(v.created_by, "ann");
        assert_eq!(v.id, None);
    }

    #[test]
    fn validation_names_the_field_at_fault() {
        let field = |s: SilenceSpec| s.validate().expect_err("invalid").field;
        assert_eq!(field(spec(vec![])), "matchers");
        assert_eq!(field(spec(vec![m("", Operator::Equal, "x")])), "matchers[0].name");
        assert_eq!(
            field(spec(vec![m("job", Operator::Equal, "x"), m("1abc", Operator::Equal, "x")])),
            "matchers[1].name"
        );
        assert_eq!(field(spec(vec![m("a-b", Operator::Equal, "x")])), "matchers[0].name");
        assert_eq!(
            field(spec(vec![m("job", Operator::Equal, "x"), m("env", Operator::Regex, "prod(")])),
            "matchers[1].value"
        );
        let mut s = spec(vec![m("job", Operator::Equal, "x")]);
        s.ends_at = s.starts_at;
        assert_eq!(field(s), "endsAt");
        let mut s = spec(vec![m("job", Operator::Equal, "x")]);
        s.created_by = "  ".into();
        assert_eq!(field(s), "createdBy");
        let mut s = spec(vec![m("job", Operator::Equal, "x")]);
        s.comment = String::new();
        assert_eq!(field(s), "comment");
    }

    #[test]
    fn a_silence_of_matchers_that_all_match_empty_is_refused() {
        let e = spec(vec![m("env", Operator::Equal, ""), m("job", Operator::Regex, ".*")])
            .validate()
            .expect_err("all match the empty string");
        assert_eq!(e.field, "matchers");
        assert_eq!(e.message, "at least one matcher must not match the empty string");
        assert!(spec(vec![m("job", Operator::Regex, "a*")]).validate().is_err());
        // One matcher that needs a value is enough.
        assert!(spec(vec![m("env", Operator::Equal, ""), m("job", Operator::Regex, ".+")]).validate().is_ok());
        // As in Alertmanager, negative matchers never count as matching the empty string.
        assert!(spec(vec![m("env", Operator::NotEqual, "prod")]).validate().is_ok());
        assert!(spec(vec![m("env", Operator::NotRegex, "x.*")]).validate().is_ok());
    }

    #[test]
    fn state_is_pending_then_active_then_expired_at_the_end() {
        let s = Silence::from_spec(spec(vec![m("job", Operator::Equal, "x")]), ts("2026-05-01T09:00:00Z"));
        assert_eq!(s.state(ts("2026-05-01T09:59:59Z")), SilenceState::Pending);
        assert_eq!(s.state(ts("2026-05-01T10:00:00Z")), SilenceState::Active);
        assert_eq!(s.state(ts("2026-05-01T11:59:59.999Z")), SilenceState::Active);
        assert_eq!(s.state(ts("2026-05-01T12:00:00Z")), SilenceState::Expired);
        assert_eq!(s.state(ts("2026-06-01T00:00:00Z")), SilenceState::Expired);
    }

    #[test]
    fn a_silence_matches_when_every_matcher_does_and_mutes_only_while_active() {
        let s = Silence::from_spec(
            spec(vec![m("alertname", Operator::Equal, "Disk"), m("env", Operator::Regex, "prod|staging")]),
            ts("2026-05-01T09:00:00Z"),
        );
        let hit = labels(&[("alertname", "Disk"), ("env", "prod"), ("host", "a")]);
        let miss = labels(&[("alertname", "Disk"), ("env", "dev")]);
        assert!(s.matches(&hit));
        assert!(!s.matches(&miss));
        assert!(!s.matches(&labels(&[("env", "prod")])));
        assert!(s.mutes(&hit, ts("2026-05-01T11:00:00Z")));
        assert!(!s.mutes(&hit, ts("2026-05-01T12:00:00Z")));
        assert!(!s.mutes(&miss, ts("2026-05-01T11:00:00Z")));
    }

    #[test]
    fn from_spec_keeps_a_given_id_or_makes_one() {
        let mut sp = spec(vec![m("job", Operator::Equal, "x")]);
        sp.id = Some("keep-me".into());
        assert_eq!(Silence::from_spec(sp, ts("2026-05-01T09:00:00Z")).id, "keep-me");
        let made = Silence::from_spec(spec(vec![m("job", Operator::Equal, "x")]), ts("2026-05-01T09:00:00Z"));
        assert_eq!(made.id.len(), 36);
    }

    #[test]
    fn gettable_has_alertmanagers_shape() {
        let mut s = Silence::from_spec(
            spec(vec![m("alertname", Operator::Equal, "Foo"), m("env", Operator::NotRegex, "dev.*")]),
            ts("2026-05-01T09:30:00.123456Z"),
        );
        s.id = "6a4e1c4e-0000-4000-8000-000000000000".into();
        let got = s.to_gettable(ts("2026-05-01T11:00:00Z"));
        let want = json!({
            "id": "6a4e1c4e-0000-4000-8000-000000000000",
            "status": {"state": "active"},
            "updatedAt": "2026-05-01T09:30:00.123Z",
            "matchers": [
                {"name": "alertname", "value": "Foo", "isRegex": false, "isEqual": true},
                {"name": "env", "value": "dev.*", "isRegex": true, "isEqual": false}
            ],
            "startsAt": "2026-05-01T10:00:00.000Z",
            "endsAt": "2026-05-01T12:00:00.000Z",
            "createdBy": "ann",
            "comment": "deploy"
        });
        assert_eq!(got, want);
        assert_eq!(s.to_gettable(ts("2026-05-01T08:00:00Z"))["status"]["state"], "pending");
        assert_eq!(s.to_gettable(ts("2026-05-01T13:00:00Z"))["status"]["state"], "expired");
    }

    #[test]
    fn expiring_ends_an_active_silence_now_and_collapses_a_pending_one() {
        let base = Silence::from_spec(spec(vec![m("job", Operator::Equal, "x")]), ts("2026-05-01T09:00:00Z"));
        let mut active = base.clone();
        assert!(active.expire(ts("2026-05-01T11:00:00Z")));
        assert_eq!(active.starts_at, ts("2026-05-01T10:00:00Z"));
        assert_eq!(active.ends_at, ts("2026-05-01T11:00:00Z"));
        assert_eq!(active.updated_at, ts("2026-05-01T11:00:00Z"));
        assert_eq!(active.state(ts("2026-05-01T11:00:00Z")), SilenceState::Expired);
        let mut pending = base.clone();
        assert!(pending.expire(ts("2026-05-01T09:30:00Z")));
        assert_eq!((pending.starts_at, pending.ends_at), (ts("2026-05-01T09:30:00Z"), ts("2026-05-01T09:30:00Z")));
        let mut expired = base;
        assert!(!expired.expire(ts("2026-05-02T00:00:00Z")));
        assert_eq!(expired.ends_at, ts("2026-05-01T12:00:00Z"));
    }

    #[test]
    fn filters_parse_every_operator_with_and_without_quotes() {
        let p = |s: &str| parse_filter(s).expect("valid filter");
        assert_eq!(p(r#"alertname="Foo""#), m("alertname", Operator::Equal, "Foo"));
        assert_eq!(p("alertname=Foo"), m("alertname", Operator::Equal, "Foo"));
        assert_eq!(p(r#"env=~"prod.*""#), m("env", Operator::Regex, "prod.*"));
        assert_eq!(p("env=~prod.*"), m("env", Operator::Regex, "prod.*"));
        assert_eq!(p(r#"job!="x""#), m("job", Operator::NotEqual, "x"));
        assert_eq!(p(r#"a!~"b""#), m("a", Operator::NotRegex, "b"));
        assert_eq!(p(r#"  team = "db ops"  "#), m("team", Operator::Equal, "db ops"));
        assert_eq!(p(r#"env="""#), m("env", Operator::Equal, ""));
        assert_eq!(p("env="), m("env", Operator::Equal, ""));
        assert_eq!(p("instance:up=1"), m("instance:up", Operator::Equal, "1"));
        // The value may itself contain operators.
        assert_eq!(p("q==x"), m("q", Operator::Equal, "=x"));
    }

    #[test]
    fn filters_resolve_escapes() {
        let p = |s: &str| parse_filter(s).expect("valid filter").value;
        assert_eq!(p(r#"msg="say \"hi\"""#), r#"say "hi""#);
        assert_eq!(p(r#"path="C:\\x""#), r"C:\x");
        assert_eq!(p(r#"text="a\nb""#), "a\nb");
        // A backslash before anything else is literal, as for regex classes.
        assert_eq!(p(r#"n=~"\d+""#), r"\d+");
    }

    #[test]
    fn bad_filters_are_refused_naming_the_filter() {
        for bad in ["", "=x", "1a=x", "env", "env>3", r#"env="prod"#, r#"env="pr"od""#, r#"env=pr"od"#, "env=~\"(\""] {
            let e = parse_filter(bad).expect_err(bad);
            assert_eq!(e.field, "filter", "{bad}");
        }
    }

    #[test]
    fn filters_select_silences_with_the_same_matcher() {
        let s = Silence::from_spec(
            spec(vec![m("alertname", Operator::Equal, "Foo"), m("env", Operator::Regex, "prod.*")]),
            ts("2026-05-01T09:00:00Z"),
        );
        let f = |x: &str| parse_filter(x).expect("valid filter");
        assert!(s.matches_filter(&[]));
        assert!(s.matches_filter(&[f("alertname=Foo")]));
        assert!(s.matches_filter(&[f("alertname=Foo"), f(r#"env=~"prod.*""#)]));
        // Same name and value but another operator, or a value the matcher would match: no.
        assert!(!s.matches_filter(&[f("env=prod.*")]));
        assert!(!s.matches_filter(&[f("env=~prod")]));
        assert!(!s.matches_filter(&[f("alertname=Foo"), f("job=x")]));
    }
}
