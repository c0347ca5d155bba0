//! Amazon EventBridge event patterns: parse and check a pattern once, then match events against it.
//!
//! The language is EventBridge's, as its user guide ("Amazon EventBridge event patterns", "Content
//! filtering in Amazon EventBridge event patterns") documents it and as AWS's event-ruler library,
//! the engine behind the service, implements it:
//!
//! - A pattern is a JSON object shaped like the events it matches. Each leaf is a non-empty array of
//!   alternatives; a field matches when any alternative does, and the pattern matches when every
//!   field does. Field names are joined with `.`, so `{"a.b": [1]}` and `{"a": {"b": [1]}}` are the
//!   same field, in patterns and in events alike.
//! - An alternative is a string, number, `true`, `false` or `null` (equal values; numbers compare
//!   numerically, so `300` matches `3.0e2`; a string that is an IP address matches that address in
//!   any notation), or one match expression: `prefix`, `suffix` (each also as
//!   `{"equals-ignore-case": "..."}`), `equals-ignore-case`, `wildcard` (`*` is any run of
//!   characters, `\*` a star, `\\` a backslash), `anything-but` (a string, a number, a list of
//!   strings or of numbers, or `prefix`, `suffix`, `equals-ignore-case` or `wildcard` with a string
//!   or a list of strings), `numeric` (`=`, or `>`/`>=` optionally followed by `<`/`<=`, or `<`/`<=`),
//!   `exists` (`true`/`false`) and `cidr` (IPv4 or IPv6).
//! - String operators only ever match strings, `numeric` only numbers and `cidr` only strings that
//!   are IP addresses. `anything-but` matches any present value its exclusion does not cover, so
//!   `{"anything-but": "x"}` matches `null` and numbers, but never a missing field.
//! - When the event holds an array, each element is a value of the field: `[1, 2]` matches a pattern
//!   for `2`. Objects in arrays are matched element by element: two fields of one pattern cannot be
//!   satisfied by different elements of the same array ("array consistency").
//! - `exists` looks at leaves only: an object or an empty array is not a value, so
//!   `{"exists": true}` fails and `{"exists": false}` holds for them.
//! - `$or` takes an array of at least two sub-patterns, at any level; field names that are
//!   operators (`prefix`, `numeric`, ...) are refused inside it.
//!
//! Errors carry the JSON path of the offending part (`detail.state[0].anything-but.prefix`) and
//! EventBridge's reason. Quirks of the service kept on purpose (they are event-ruler's): a `cidr`
//! range runs from the address as written (host bits are not cleared) to the end of its block, and
//! masks of /32 (IPv4) and /128 (IPv6) are refused; a field named twice keeps its last value.
//! Not reproduced: the undocumented wildcard complexity limit ("Rule is too complex"), the limits
//! and six-decimal precision of numeric matching (numbers here compare as `f64`), and event-ruler's
//! undocumented `equals` operator (refused as unknown). Muster's own limit: a pattern whose `$or`s
//! expand to more than [`MAX_ALTERNATIVES`] combinations is refused.

use crate::Invalid;
use serde_json::{Map, Number, Value};
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most combinations of `$or` alternatives one pattern may expand to.
pub const MAX_ALTERNATIVES: usize = 1024;

/// Names that cannot be fields inside `$or` (event-ruler's reserved words).
const RESERVED_IN_OR: &[&str] = &[
    "equals",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

/// A checked event pattern, ready to match events.
#[derive(Debug, Clone)]
pub struct EventPattern {
    source: Value,
    /// The pattern with its `$or`s expanded: it matches when any branch does.
    branches: Vec<Branch>,
    /// Every field path the pattern names, and every dot-prefix of one, to flatten only what matters.
    paths: BTreeSet<String>,
    prefixes: BTreeSet<String>,
}

/// Fields that must all match, sorted by path.
type Branch = Vec<Field>;

#[derive(Debug, Clone)]
struct Field {
    path: String,
    matchers: Vec<Matcher>,
    /// `{"exists": false}` is among the alternatives.
    absent_ok: bool,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(Value),
    Ip(IpAddr),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(Exclusion),
    Numeric(Range),
    Cidr(Cidr),
    Exists,
}

/// What `anything-but` excludes; ignore-case strings are kept lowercased.
#[derive(Debug, Clone)]
enum Exclusion {
    Values(Vec<Value>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// A wildcard pattern: `None` stands for `*`.
#[derive(Debug, Clone)]
struct Wildcard(Vec<Option<char>>);

/// Bounds of a numeric match, each with whether it is inclusive.
#[derive(Debug, Clone, Copy)]
struct Range {
    low: Option<(f64, bool)>,
    high: Option<(f64, bool)>,
}

/// An inclusive address range of one family.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    v6: bool,
    low: u128,
    high: u128,
}

/// One alternative of a leaf array, before it is filed as a matcher or as `exists: false`.
enum Alternative {
    Match(Matcher),
    Absent,
}

impl EventPattern {
    /// Parses and checks a pattern (a JSON object). The error names the JSON path of the offending
    /// part, e.g. `detail.sourceIPAddress[0].cidr`, and the reason.
    pub fn parse(pattern: &Value) -> Result<EventPattern, Invalid> {
        let object = pattern.as_object().ok_or_else(|| Invalid::new("", "Filter is not an object"))?;
        let mut branches = parse_object(object, "", "", false)?;
        let mut paths = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for branch in &mut branches {
            branch.sort_by(|a, b| a.path.cmp(&b.path));
            for field in branch.iter() {
                prefixes.extend(field.path.match_indices('.').map(|(i, _)| field.path[..i].to_string()));
                paths.insert(field.path.clone());
            }
        }
        Ok(EventPattern { source: pattern.clone(), branches, paths, prefixes })
    }

    /// The pattern as it was given.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether the event (a JSON object; anything else never matches) matches the pattern.
    pub fn matches(&self, event: &Value) -> bool {
        let Some(object) = event.as_object() else { return false };
        let mut leaves = HashMap::new();
        let mut next_array = 0;
        for (key, value) in object {
            self.flatten(value, key.clone(), &[], &mut next_array, &mut leaves);
        }
        self.branches.iter().any(|branch| match_fields(branch, &leaves, &[]))
    }

    /// Collects the event's leaf values under the paths the pattern names, each with the array
    /// elements it sits in.
    fn flatten<'a>(
        &self,
        value: &'a Value,
        path: String,
        membership: &[(u32, u32)],
        next_array: &mut u32,
        leaves: &mut HashMap<String, Vec<Leaf<'a>>>,
    ) {
        if !self.paths.contains(&path) && !self.prefixes.contains(&path) {
            return;
        }
        match value {
            Value::Object(object) => {
                for (key, value) in object {
                    self.flatten(value, format!("{path}.{key}"), membership, next_array, leaves);
                }
            }
            Value::Array(items) => {
                let id = *next_array;
                *next_array += 1;
                for (index, item) in (0u32..).zip(items) {
                    let inner = merge(membership, &[(id, index)]);
                    self.flatten(item, path.clone(), &inner, next_array, leaves);
                }
            }
            _ if self.paths.contains(&path) => {
                leaves.entry(path).or_default().push(Leaf { value, membership: membership.to_vec() });
            }
            _ => {}
        }
    }
}

/// Parses then matches: `Ok(true)` when the pattern is valid and matches the event.
pub fn test_pattern(pattern: &Value, event: &Value) -> Result<bool, Invalid> {
    Ok(EventPattern::parse(pattern)?.matches(event))
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// A JSON value as EventBridge quotes it in messages: strings bare, the rest as JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "]".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Parses an object of the pattern into branches. `at` is its JSON path (for errors), `field` the
/// dot-joined event path it stands for (`$or` adds nothing to it).
fn parse_object(object: &Map<String, Value>, at: &str, field: &str, in_or: bool) -> Result<Vec<Branch>, Invalid> {
    if object.is_empty() {
        return Err(Invalid::new(at, "Empty objects are not allowed"));
    }
    let mut branches: Vec<Branch> = vec![Vec::new()];
    for (key, value) in object {
        let here = join_key(at, key);
        if key == "$or" {
            let items = value.as_array().ok_or_else(|| Invalid::new(&here, "$or must be followed by an array"))?;
            let mut options = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_at = format!("{here}[{i}]");
                let sub = item
                    .as_object()
                    .ok_or_else(|| Invalid::new(&item_at, "Only JSON objects are allowed in the array of $or"))?;
                options.extend(parse_object(sub, &item_at, field, true)?);
            }
            if items.len() < 2 {
                return Err(Invalid::new(&here, "There must be at least 2 objects in $or"));
            }
            branches = combine(&branches, &options, &here)?;
            continue;
        }
        if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(Invalid::new(&here, format!("{key} is a reserved word and cannot be a field name inside $or")));
        }
        let path = join_key(field, key);
        match value {
            Value::Object(sub) => {
                let sub = parse_object(sub, &here, &path, in_or)?;
                branches = combine(&branches, &sub, &here)?;
            }
            Value::Array(items) => {
                let leaf = parse_leaf(items, &here, path)?;
                for branch in &mut branches {
                    branch.retain(|f| f.path != leaf.path);
                    branch.push(leaf.clone());
                }
            }
            _ => return Err(Invalid::new(&here, format!("\"{key}\" must be an object or an array"))),
        }
    }
    Ok(branches)
}

/// Every branch of `left` joined with every branch of `right` (a field in `right` replaces the
/// same field in `left`, as a later key overrides an earlier one in EventBridge).
fn combine(left: &[Branch], right: &[Branch], at: &str) -> Result<Vec<Branch>, Invalid> {
    if left.len().saturating_mul(right.len()) > MAX_ALTERNATIVES {
        return Err(Invalid::new(
            at,
            format!("Rule is too complex: its $or alternatives combine to more than {MAX_ALTERNATIVES} patterns"),
        ));
    }
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            let mut branch: Branch = l.iter().filter(|f| r.iter().all(|g| g.path != f.path)).cloned().collect();
            branch.extend(r.iter().cloned());
            out.push(branch);
        }
    }
    Ok(out)
}

fn parse_leaf(items: &[Value], at: &str, path: String) -> Result<Field, Invalid> {
    if items.is_empty() {
        return Err(Invalid::new(at, "Empty arrays are not allowed"));
    }
    let mut field = Field { path, matchers: Vec::new(), absent_ok: false };
    for (i, item) in items.iter().enumerate() {
        let item_at = format!("{at}[{i}]");
        let alternative = match item {
            Value::String(s) => {
                Alternative::Match(parse_ip(s).map_or_else(|| Matcher::Exact(item.clone()), Matcher::Ip))
            }
            Value::Number(_) | Value::Bool(_) | Value::Null => Alternative::Match(Matcher::Exact(item.clone())),
            Value::Object(expression) => parse_expression(expression, &item_at)?,
            Value::Array(_) => {
                return Err(Invalid::new(item_at, "Match value must be String, number, true, false, or null"));
            }
        };
        match alternative {
            Alternative::Match(m) => field.matchers.push(m),
            Alternative::Absent => field.absent_ok = true,
        }
    }
    Ok(field)
}

/// The single `name: value` pair of a match expression object.
fn single<'a>(object: &'a Map<String, Value>, at: &str, missing: &str) -> Result<(&'a String, &'a Value), Invalid> {
    if object.len() > 1 {
        return Err(Invalid::new(at, "Only one key allowed in match expression"));
    }
    object.iter().next().ok_or_else(|| Invalid::new(at, missing))
}

fn parse_expression(expression: &Map<String, Value>, at: &str) -> Result<Alternative, Invalid> {
    let (op, value) = single(expression, at, "Match expression name not found")?;
    let op_at = format!("{at}.{op}");
    let must_be_string = |what: &str| Invalid::new(&op_at, format!("{what} match pattern must be a string"));
    let matcher = match (op.as_str(), value) {
        ("prefix", Value::String(s)) => Matcher::Prefix(s.clone()),
        ("suffix", Value::String(s)) => Matcher::Suffix(s.clone()),
        ("prefix" | "suffix", Value::Object(inner)) => {
            let missing =
                if op == "prefix" { "Prefix expression name not found" } else { "Suffix expression name not found" };
            let (inner_op, inner_value) = single(inner, &op_at, missing)?;
            let inner_at = format!("{op_at}.{inner_op}");
            if inner_op != "equals-ignore-case" {
                return Err(Invalid::new(inner_at, format!("Unsupported {op} pattern: {inner_op}")));
            }
            let Value::String(s) = inner_value else {
                return Err(Invalid::new(inner_at, "equals-ignore-case match pattern must be a string"));
            };
            let s = s.to_lowercase();
            if op == "prefix" { Matcher::PrefixIgnoreCase(s) } else { Matcher::SuffixIgnoreCase(s) }
        }
        ("prefix" | "suffix", _) => return Err(must_be_string(op)),
        ("equals-ignore-case", Value::String(s)) => Matcher::EqualsIgnoreCase(s.to_lowercase()),
        ("equals-ignore-case", _) => return Err(must_be_string(op)),
        ("wildcard", Value::String(s)) => Matcher::Wildcard(Wildcard::parse(s, &op_at)?),
        ("wildcard", _) => return Err(must_be_string(op)),
        ("cidr", Value::String(s)) => Matcher::Cidr(Cidr::parse(s, &op_at)?),
        ("cidr", _) => return Err(must_be_string(op)),
        ("anything-but", _) => Matcher::AnythingBut(Exclusion::parse(value, &op_at)?),
        ("numeric", _) => Matcher::Numeric(Range::parse(value, &op_at)?),
        ("exists", Value::Bool(true)) => Matcher::Exists,
        ("exists", Value::Bool(false)) => return Ok(Alternative::Absent),
        ("exists", _) => return Err(Invalid::new(op_at, "exists match pattern must be either true or false.")),
        _ => return Err(Invalid::new(op_at, format!("Unrecognized match type {op}"))),
    };
    Ok(Alternative::Match(matcher))
}

impl Exclusion {
    fn parse(value: &Value, at: &str) -> Result<Exclusion, Invalid> {
        match value {
            Value::String(_) | Value::Number(_) => Ok(Exclusion::Values(vec![value.clone()])),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !(item.is_string() || item.is_number()) {
                        return Err(Invalid::new(
                            format!("{at}[{i}]"),
                            "Inside an anything-but list, objects, arrays, null and booleans are not supported",
                        ));
                    }
                }
                let strings = items.iter().all(Value::is_string);
                let numbers = items.iter().all(Value::is_number);
                if items.is_empty() || !(strings || numbers) {
                    return Err(Invalid::new(
                        at,
                        "Inside an anything-but list, either all values are numbers or all are strings; \
                         mixed types are not supported",
                    ));
                }
                Ok(Exclusion::Values(items.clone()))
            }
            Value::Object(object) => {
                let (op, inner) = single(object, at, "Anything-But expression name not found")?;
                let op_at = format!("{at}.{op}");
                let not_string = match op.as_str() {
                    "prefix" | "suffix" => "prefix/suffix match pattern must be a string",
                    "equals-ignore-case" => {
                        "Inside anything-but/equals-ignore-case, numbers, null and booleans are not supported"
                    }
                    "wildcard" => "wildcard match pattern must be a string",
                    _ => return Err(Invalid::new(op_at, format!("Unsupported anything-but pattern: {op}"))),
                };
                let listed: Vec<(String, &Value)> = match inner {
                    Value::Array(items) => {
                        items.iter().enumerate().map(|(i, v)| (format!("{op_at}[{i}]"), v)).collect()
                    }
                    Value::String(_) | Value::Number(_) => vec![(op_at.clone(), inner)],
                    _ => {
                        return Err(Invalid::new(
                            op_at,
                            "Value of anything-but must be an array or single string/number value.",
                        ));
                    }
                };
                let mut strings = Vec::with_capacity(listed.len());
                for (item_at, item) in listed {
                    let Value::String(s) = item else { return Err(Invalid::new(item_at, not_string)) };
                    if s.is_empty() && (op == "prefix" || op == "suffix") {
                        return Err(Invalid::new(item_at, "Null prefix/suffix not allowed"));
                    }
                    strings.push((item_at, s));
                }
                Ok(match op.as_str() {
                    "prefix" => Exclusion::Prefixes(strings.into_iter().map(|(_, s)| s.clone()).collect()),
                    "suffix" => Exclusion::Suffixes(strings.into_iter().map(|(_, s)| s.clone()).collect()),
                    "equals-ignore-case" => {
                        Exclusion::IgnoreCase(strings.into_iter().map(|(_, s)| s.to_lowercase()).collect())
                    }
                    _ => Exclusion::Wildcards(
                        strings
                            .into_iter()
                            .map(|(item_at, s)| Wildcard::parse(s, &item_at))
                            .collect::<Result<_, _>>()?,
                    ),
                })
            }
            _ => Err(Invalid::new(at, "Value of anything-but must be an array or single string/number value.")),
        }
    }

    /// Whether a present value escapes the exclusion. String exclusions let every non-string pass.
    fn admits(&self, value: &Value) -> bool {
        let excluded = match self {
            Exclusion::Values(values) => return !values.iter().any(|v| same_value(v, value)),
            Exclusion::Prefixes(list) => value.as_str().map(|s| list.iter().any(|p| s.starts_with(p.as_str()))),
            Exclusion::Suffixes(list) => value.as_str().map(|s| list.iter().any(|p| s.ends_with(p.as_str()))),
            Exclusion::IgnoreCase(list) => value.as_str().map(|s| list.contains(&s.to_lowercase())),
            Exclusion::Wildcards(list) => value.as_str().map(|s| list.iter().any(|w| w.matches(s))),
        };
        !excluded.unwrap_or(false)
    }
}

impl Wildcard {
    /// Refuses consecutive `*` and any backslash not escaping `*` or `\`. Positions count bytes
    /// from 1, as EventBridge's messages do.
    fn parse(text: &str, at: &str) -> Result<Wildcard, Invalid> {
        let mut pieces = Vec::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '*' if chars.peek().is_some_and(|&(_, next)| next == '*') => {
                    return Err(Invalid::new(at, format!("Consecutive wildcard characters at pos {}", i + 1)));
                }
                '*' => pieces.push(None),
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => pieces.push(Some(escaped)),
                    _ => return Err(Invalid::new(at, format!("Invalid escape character at pos {}", i + 1))),
                },
                other => pieces.push(Some(other)),
            }
        }
        Ok(Wildcard(pieces))
    }

    /// Whole-string match; `*` takes any run of characters, the empty one included.
    fn matches(&self, text: &str) -> bool {
        let pattern = &self.0;
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        let mut retry: Option<(usize, usize)> = None; // (index after the last star, text index it resumes at)
        while t < text.len() {
            match pattern.get(p) {
                Some(None) => {
                    p += 1;
                    retry = Some((p, t));
                }
                Some(Some(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match retry {
                    Some((after_star, from)) => {
                        p = after_star;
                        t = from + 1;
                        retry = Some((after_star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(Option::is_none)
    }
}

impl Range {
    /// `["=", x]`, `["<" | "<=", x]`, or `[">" | ">=", x]` optionally followed by `"<" | "<=", y` with x < y.
    fn parse(value: &Value, at: &str) -> Result<Range, Invalid> {
        let items = value.as_array().ok_or_else(|| Invalid::new(at, "Value of numeric must be an array."))?;
        let item_at = |i: usize| format!("{at}[{i}]");
        let Some(Value::String(op)) = items.first() else {
            return Err(Invalid::new(at, format!("Invalid member in numeric match: {}", shown(items.first()))));
        };
        let number = |i: usize, op: &str| {
            items.get(i).and_then(Value::as_f64).ok_or_else(|| {
                let name = if op == "=" { "equals" } else { op };
                Invalid::new(item_at(i), format!("Value of {name} must be numeric"))
            })
        };
        let too_many = || Invalid::new(item_at(2), "Too many elements in numeric expression");
        match op.as_str() {
            "=" | "<" | "<=" => {
                let x = number(1, op)?;
                if items.len() > 2 {
                    return Err(too_many());
                }
                Ok(match op.as_str() {
                    "=" => Range { low: Some((x, true)), high: Some((x, true)) },
                    "<" => Range { low: None, high: Some((x, false)) },
                    _ => Range { low: None, high: Some((x, true)) },
                })
            }
            ">" | ">=" => {
                let low = Some((number(1, op)?, op == ">="));
                let Some(second) = items.get(2) else { return Ok(Range { low, high: None }) };
                let Value::String(top_op) = second else {
                    return Err(Invalid::new(
                        item_at(2),
                        format!("Bad value in numeric range: {}", shown(Some(second))),
                    ));
                };
                if top_op != "<" && top_op != "<=" {
                    return Err(Invalid::new(item_at(2), format!("Bad numeric range operator: {top_op}")));
                }
                let top = number(3, top_op)?;
                if items.len() > 4 {
                    return Err(Invalid::new(item_at(4), "Too many terms in numeric range expression"));
                }
                if low.is_some_and(|(bottom, _)| bottom >= top) {
                    return Err(Invalid::new(at, "Bottom must be less than top"));
                }
                Ok(Range { low, high: Some((top, top_op == "<=")) })
            }
            _ => Err(Invalid::new(item_at(0), format!("Unrecognized numeric range operator: {op}"))),
        }
    }

    fn contains(&self, x: f64) -> bool {
        let above = self.low.is_none_or(|(low, inclusive)| if inclusive { x >= low } else { x > low });
        let below = self.high.is_none_or(|(high, inclusive)| if inclusive { x <= high } else { x < high });
        above && below
    }
}

impl Cidr {
    fn parse(text: &str, at: &str) -> Result<Cidr, Invalid> {
        let bad = |reason: String| Invalid::new(at, format!("{text:?} is not a valid CIDR block: {reason}"));
        let Some((ip, mask)) = text.split_once('/').filter(|(_, mask)| !mask.contains('/')) else {
            return Err(bad("malformed CIDR, one '/' required".into()));
        };
        let mask: i64 = mask.parse().map_err(|_| bad("malformed CIDR, mask bits must be an integer".into()))?;
        if mask < 0 {
            return Err(bad("malformed CIDR, mask bits must not be negative".into()));
        }
        let address = parse_ip(ip).ok_or_else(|| bad(format!("nonstandard IP address: {ip}")))?;
        let (v6, low) = address_bits(address);
        let width: i64 = if v6 { 128 } else { 32 };
        if mask >= width {
            let family = if v6 { "IPv6" } else { "IPv4" };
            return Err(bad(format!("{family} mask bits must be < {width}")));
        }
        let host = u128::MAX >> (128 - (width - mask)); // the low (width - mask) bits
        Ok(Cidr { v6, low, high: low | host })
    }

    fn contains(&self, address: IpAddr) -> bool {
        let (v6, bits) = address_bits(address);
        v6 == self.v6 && (self.low..=self.high).contains(&bits)
    }
}

/// An IP address literal as EventBridge recognises one (dotted decimal IPv4, or hex-and-colons
/// IPv6; an IPv4-mapped IPv6 address counts as the IPv4 address).
fn parse_ip(text: &str) -> Option<IpAddr> {
    let v4_like = text.split('.').count() == 4
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let v6_like = text.contains(':') && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    if v4_like {
        text.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    } else if v6_like {
        let v6 = text.parse::<Ipv6Addr>().ok()?;
        Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
    } else {
        None
    }
}

fn address_bits(address: IpAddr) -> (bool, u128) {
    match address {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

// ---------------------------------------------------------------------------------------------
// Matching

/// A leaf value of the event and the array elements it sits in, as (array, index) pairs.
#[derive(Debug)]
struct Leaf<'a> {
    value: &'a Value,
    membership: Vec<(u32, u32)>,
}

/// Whether two memberships place no array at two different elements.
fn consistent(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    a.iter().all(|(array, index)| b.iter().all(|(other, i)| other != array || i == index))
}

fn merge(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut merged: Vec<(u32, u32)> = a.iter().chain(b).copied().collect();
    merged.sort_unstable();
    merged.dedup();
    merged
}

/// Matches fields from `fields[0]` on, each with a leaf consistent with the array elements the
/// earlier fields were matched in (backtracking over the choices).
fn match_fields(fields: &[Field], leaves: &HashMap<String, Vec<Leaf<'_>>>, membership: &[(u32, u32)]) -> bool {
    let Some((field, rest)) = fields.split_first() else { return true };
    let candidates = leaves.get(&field.path).map_or(&[][..], Vec::as_slice);
    let mut present = false;
    let mut tried: Vec<Vec<(u32, u32)>> = Vec::new();
    for leaf in candidates.iter().filter(|leaf| consistent(membership, &leaf.membership)) {
        present = true;
        if field.matchers.iter().any(|m| m.matches(leaf.value)) {
            let next = merge(membership, &leaf.membership);
            if !tried.contains(&next) {
                if match_fields(rest, leaves, &next) {
                    return true;
                }
                tried.push(next);
            }
        }
    }
    field.absent_ok && !present && match_fields(rest, leaves, membership)
}

impl Matcher {
    fn matches(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Matcher::Exact(expected) => same_value(expected, value),
            Matcher::Ip(expected) => text.and_then(parse_ip) == Some(*expected),
            Matcher::Prefix(p) => text.is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().starts_with(p.as_str())),
            Matcher::Suffix(p) => text.is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::SuffixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().ends_with(p.as_str())),
            Matcher::EqualsIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase() == *p),
            Matcher::Wildcard(w) => text.is_some_and(|s| w.matches(s)),
            Matcher::AnythingBut(exclusion) => exclusion.admits(value),
            Matcher::Numeric(range) => value.as_f64().is_some_and(|x| range.contains(x)),
            Matcher::Cidr(cidr) => text.and_then(parse_ip).is_some_and(|ip| cidr.contains(ip)),
            Matcher::Exists => true,
        }
    }
}

/// Equality of scalar JSON values, numbers compared by value (integers exactly).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        _ => a == b,
    }
}

fn same_number(x: &Number, y: &Number) -> bool {
    let whole = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (whole(x), whole(y)) {
        (Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matches(pattern: Value, event: Value) -> bool {
        EventPattern::parse(&pattern).expect("pattern should be valid").matches(&event)
    }

    fn refused(pattern: Value) -> Invalid {
        EventPattern::parse(&pattern).expect_err("pattern should be refused")
    }

    /// Asserts the pattern is refused at `field` with a message containing `message`.
    fn refused_at(pattern: Value, field: &str, message: &str) {
        let e = refused(pattern);
        assert_eq!(e.field, field, "field of {e}");
        assert!(e.message.contains(message), "message of {e} should contain {message:?}");
    }

    // --- exact values ---

    #[test]
    fn exact_strings_match_any_listed_value() {
        let p = json!({"source": ["aws.ec2", "aws.s3"]});
        assert!(matches(p.clone(), json!({"source": "aws.s3"})));
        assert!(!matches(p.clone(), json!({"source": "aws.sqs"})));
        assert!(!matches(p.clone(), json!({"source": "AWS.S3"})), "exact match is case sensitive");
        assert!(!matches(p, json!({"other": "aws.s3"})), "a missing field never equals a value");
    }

    #[test]
    fn numbers_compare_by_value_and_not_with_strings() {
        assert!(matches(json!({"n": [300]}), json!({"n": 3.0e2})));
        assert!(matches(json!({"n": [3.018e2]}), json!({"n": 301.8})));
        assert!(matches(json!({"n": [-5]}), json!({"n": -5.0})));
        assert!(!matches(json!({"n": [300]}), json!({"n": 301})));
        assert!(!matches(json!({"n": [300]}), json!({"n": "300"})));
        assert!(!matches(json!({"n": ["300"]}), json!({"n": 300})));
        assert!(matches(json!({"account": [123456789012u64]}), json!({"account": 123456789012u64})));
        assert!(!matches(json!({"big": [9007199254740993u64]}), json!({"big": 9007199254740992u64})));
    }

    #[test]
    fn null_booleans_and_empty_strings_are_distinct_values() {
        assert!(matches(json!({"r": [null]}), json!({"r": null})));
        assert!(!matches(json!({"r": [null]}), json!({"r": ""})));
        assert!(matches(json!({"v": [""]}), json!({"v": ""})));
        assert!(!matches(json!({"v": [""]}), json!({"v": null})));
        assert!(matches(json!({"b": [true]}), json!({"b": true})));
        assert!(!matches(json!({"b": [false]}), json!({"b": true})));
        assert!(!matches(json!({"b": [true]}), json!({"b": "true"})));
        assert!(!matches(json!({"r": [null]}), json!({})), "null is a value, not absence");
    }

    #[test]
    fn ip_address_values_match_in_any_notation() {
        let p = json!({"ip": ["2001:db8::1"]});
        assert!(matches(p.clone(), json!({"ip": "2001:DB8:0:0:0:0:0:1"})));
        assert!(!matches(p, json!({"ip": "2001:db8::2"})));
        assert!(matches(json!({"ip": ["10.0.0.1"]}), json!({"ip": "10.0.0.1"})));
        assert!(!matches(json!({"ip": ["10.0.0.1"]}), json!({"ip": "10.0.0.2"})));
    }

    // --- structure ---

    #[test]
    fn event_arrays_match_when_any_element_matches() {
        let p = json!({"resources": ["arn:a", "arn:b"]});
        assert!(matches(p.clone(), json!({"resources": ["arn:x", "arn:b"]})));
        assert!(!matches(p, json!({"resources": ["arn:x"]})));
        assert!(!matches(json!({"resources": [null]}), json!({"resources": []})));
        assert!(matches(json!({"n": [2]}), json!({"n": [[1], [2, 3]]})), "nested arrays are flattened");
    }

    #[test]
    fn nested_objects_and_dotted_keys_are_the_same_field() {
        let nested = json!({"detail": {"state": {"status": ["running"]}}});
        let dotted = json!({"detail": {"state.status": ["running"]}});
        let event = json!({"detail": {"state": {"status": "running"}}});
        let dotted_event = json!({"detail": {"state.status": "running"}});
        assert!(matches(nested.clone(), event.clone()));
        assert!(matches(dotted.clone(), event));
        assert!(matches(nested.clone(), dotted_event));
        assert!(!matches(nested.clone(), json!({"detail": {"state": "running"}})));
        assert!(!matches(nested, json!({"detail": {"state.status": {"status": "running"}}})));
        assert!(!matches(
            json!({"detail": {"state.status": {"status": ["running"]}}}),
            json!({"detail": {"state": {"status": "running"}}})
        ));
    }

    #[test]
    fn all_fields_must_match() {
        let p = json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}});
        assert!(matches(p.clone(), json!({"source": "aws.ec2", "detail": {"state": "running"}})));
        assert!(!matches(p.clone(), json!({"source": "aws.ec2", "detail": {"state": "stopped"}})));
        assert!(!matches(p, json!({"source": "aws.ec2"})));
    }

    #[test]
    fn non_object_events_never_match() {
        let p = EventPattern::parse(&json!({"a": [{"exists": false}]})).expect("valid");
        assert!(p.matches(&json!({})));
        assert!(!p.matches(&json!([])));
        assert!(!p.matches(&json!("a")));
    }

    #[test]
    fn fields_of_one_pattern_object_must_come_from_one_array_element() {
        let event = json!({"employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            {"firstName": "Peter", "lastName": "Jones"}
        ]});
        assert!(matches(json!({"employees": {"firstName": ["Anna"]}}), event.clone()));
        assert!(matches(json!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}), event.clone()));
        assert!(!matches(json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}), event.clone()));
        // absence is judged within the element the other fields matched in
        let sparse = json!({"x": [{"a": 1}, {"b": 2}]});
        assert!(matches(json!({"x": {"a": [1], "b": [{"exists": false}]}}), sparse.clone()));
        assert!(!matches(json!({"x": {"a": [1], "b": [2]}}), sparse));
    }

    #[test]
    fn exists_true_needs_a_leaf_value() {
        let p = json!({"detail": {"c-count": [{"exists": true}]}});
        assert!(matches(p.clone(), json!({"detail": {"c-count": 5}})));
        assert!(matches(p.clone(), json!({"detail": {"c-count": null}})));
        assert!(matches(p.clone(), json!({"detail": {"c-count": [1, 2]}})));
        assert!(!matches(p.clone(), json!({"detail": {"c-count": {"c1": 100}}})), "objects are not leaves");
        assert!(!matches(p.clone(), json!({"detail": {"c-count": []}})), "an empty array holds no value");
        assert!(!matches(p, json!({"detail": {}})));
        let within = json!({"detail": {"automations": {"id": [{"exists": true}]}}});
        assert!(matches(within, json!({"detail": {"automations": [{"key": 1}, {"id": "x"}]}})));
    }

    #[test]
    fn exists_false_holds_for_missing_fields_and_non_leaves() {
        let p = json!({"detail": {"c-count": [{"exists": false}]}});
        assert!(matches(p.clone(), json!({"detail": {"state": "running"}})));
        assert!(matches(p.clone(), json!({"detail": {"c-count": {"c1": 100}}})));
        assert!(matches(p.clone(), json!({"detail": {"c-count": []}})));
        assert!(matches(p.clone(), json!({})));
        assert!(!matches(p.clone(), json!({"detail": {"c-count": 0}})));
        assert!(!matches(p, json!({"detail": {"c-count": null}})));
    }

    #[test]
    fn exists_false_can_be_one_alternative_among_others() {
        let p = json!({"image": {"homemade": {"S": [{"anything-but": ["roses"]}, {"exists": false}]}}});
        assert!(matches(p.clone(), json!({"image": {"purchased": {"N": "789"}}})));
        assert!(matches(p.clone(), json!({"image": {"homemade": {"S": "tulips"}}})));
        assert!(!matches(p, json!({"image": {"homemade": {"S": "roses"}}})));
    }

    // --- string operators ---

    #[test]
    fn prefix_matches_start_of_strings_only() {
        let p = json!({"time": [{"prefix": "2017-10-02"}]});
        assert!(matches(p.clone(), json!({"time": "2017-10-02T18:43:48Z"})));
        assert!(!matches(p.clone(), json!({"time": "2022-07-13T13:48:01Z"})));
        assert!(!matches(p, json!({"time": "x2017-10-02"})));
        assert!(!matches(json!({"n": [{"prefix": "1"}]}), json!({"n": 12})));
        assert!(matches(json!({"s": [{"prefix": ""}]}), json!({"s": "anything"})));
    }

    #[test]
    fn prefix_and_suffix_ignore_case() {
        let p = json!({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]});
        assert!(matches(p.clone(), json!({"service": "eventbridge"})));
        assert!(matches(p.clone(), json!({"service": "EVENTBRIDGE"})));
        assert!(!matches(p, json!({"service": "bridge-event"})));
        let s = json!({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]});
        assert!(matches(s.clone(), json!({"FileName": "photo.PNG"})));
        assert!(!matches(s.clone(), json!({"FileName": "photo.png.txt"})));
        assert!(!matches(s, json!({"FileName": 5})));
    }

    #[test]
    fn suffix_matches_end_of_strings() {
        let p = json!({"FileName": [{"suffix": ".png"}]});
        assert!(matches(p.clone(), json!({"FileName": "image.png"})));
        assert!(!matches(p.clone(), json!({"FileName": "image.PNG"})));
        assert!(!matches(p, json!({"FileName": "image.jpg"})));
    }

    #[test]
    fn equals_ignore_case_compares_whole_strings() {
        let p = json!({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]});
        assert!(matches(p.clone(), json!({"detail-type": "EC2 Instance State-change Notification"})));
        assert!(!matches(p, json!({"detail-type": "EC2 Instance State-change"})));
        assert!(matches(json!({"e": [{"equals-ignore-case": ""}]}), json!({"e": ""})));
        assert!(!matches(json!({"e": [{"equals-ignore-case": ""}]}), json!({"e": "x"})));
        assert!(!matches(json!({"n": [{"equals-ignore-case": "1"}]}), json!({"n": 1})));
    }

    #[test]
    fn wildcard_stars_match_any_run_of_characters() {
        let p = json!({"arn": [{"wildcard": "arn:aws:events:*:*:event-bus/*"}]});
        assert!(matches(p.clone(), json!({"arn": "arn:aws:events:us-east-1:123456789012:event-bus/bus"})));
        assert!(matches(p.clone(), json!({"arn": "arn:aws:events:::event-bus/"})), "stars match empty runs");
        assert!(!matches(p, json!({"arn": "arn:aws:sqs:us-east-1:123456789012:queue"})));
        let repeating = json!({"f": [{"wildcard": "/Users/*/dir/dir/dir/doc.txt"}]});
        assert!(matches(repeating.clone(), json!({"f": "/Users/me/dir/dir/dir/dir/doc.txt"})));
        assert!(!matches(repeating, json!({"f": "/Users/me/dir/dir/doc.txt"})));
        assert!(matches(json!({"f": [{"wildcard": "*"}]}), json!({"f": ""})));
        assert!(matches(json!({"f": [{"wildcard": "a*b*c"}]}), json!({"f": "abbbc"})));
        assert!(!matches(json!({"f": [{"wildcard": "a*b*c"}]}), json!({"f": "abcb"})));
        assert!(!matches(json!({"f": [{"wildcard": "*"}]}), json!({"f": 1})), "wildcards match strings only");
        assert!(!matches(json!({"f": [{"wildcard": "abc"}]}), json!({"f": "abcd"})));
    }

    #[test]
    fn wildcard_escapes_stand_for_literal_star_and_backslash() {
        let star = json!({"f": [{"wildcard": "a\\*b"}]});
        assert!(matches(star.clone(), json!({"f": "a*b"})));
        assert!(!matches(star, json!({"f": "axb"})));
        let backslash = json!({"f": [{"wildcard": "dir\\\\*"}]});
        assert!(matches(backslash.clone(), json!({"f": "dir\\file"})));
        assert!(!matches(backslash, json!({"f": "dir/file"})));
    }

    // --- anything-but ---

    #[test]
    fn anything_but_excludes_a_value_but_not_missing_fields() {
        let p = json!({"detail": {"state": [{"anything-but": "initializing"}]}});
        assert!(matches(p.clone(), json!({"detail": {"state": "running"}})));
        assert!(!matches(p.clone(), json!({"detail": {"state": "initializing"}})));
        assert!(matches(p.clone(), json!({"detail": {"state": null}})), "null is some other value");
        assert!(matches(p.clone(), json!({"detail": {"state": 7}})));
        assert!(!matches(p.clone(), json!({"detail": {}})), "a missing field is not matched");
        assert!(matches(p, json!({"detail": {"state": ["initializing", "running"]}})));
    }

    #[test]
    fn anything_but_lists_of_strings_or_numbers() {
        let strings = json!({"state": [{"anything-but": ["stopped", "overloaded"]}]});
        assert!(!matches(strings.clone(), json!({"state": "stopped"})));
        assert!(matches(strings, json!({"state": "pending"})));
        let numbers = json!({"x-limit": [{"anything-but": [100, 200, 300]}]});
        assert!(!matches(numbers.clone(), json!({"x-limit": 2.0e2})));
        assert!(matches(numbers.clone(), json!({"x-limit": 999})));
        assert!(matches(numbers, json!({"x-limit": "200"})), "a string is not the number 200");
        assert!(matches(json!({"n": [{"anything-but": 0}]}), json!({"n": 1})));
        assert!(!matches(json!({"n": [{"anything-but": 0}]}), json!({"n": 0.0})));
    }

    #[test]
    fn anything_but_prefix_and_suffix() {
        let p = json!({"state": [{"anything-but": {"prefix": "init"}}]});
        assert!(matches(p.clone(), json!({"state": "running"})));
        assert!(!matches(p.clone(), json!({"state": "initializing"})));
        assert!(matches(p.clone(), json!({"state": 12})), "non-strings escape a string exclusion");
        assert!(matches(p, json!({"state": null})));
        let list = json!({"state": [{"anything-but": {"prefix": ["init", "stop"]}}]});
        assert!(!matches(list.clone(), json!({"state": "stopped"})));
        assert!(matches(list, json!({"state": "running"})));
        let s = json!({"FileName": [{"anything-but": {"suffix": ".png"}}]});
        assert!(matches(s.clone(), json!({"FileName": "a.txt"})));
        assert!(!matches(s, json!({"FileName": "a.png"})));
        let sl = json!({"FileName": [{"anything-but": {"suffix": [".png", ".txt"]}}]});
        assert!(!matches(sl.clone(), json!({"FileName": "a.txt"})));
        assert!(matches(sl, json!({"FileName": "a.jpg"})));
    }

    #[test]
    fn anything_but_equals_ignore_case() {
        let p = json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]});
        assert!(!matches(p.clone(), json!({"state": "INITIALIZING"})));
        assert!(matches(p.clone(), json!({"state": "running"})));
        assert!(matches(p, json!({"state": null})));
        let list = json!({"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "overloaded"]}}]});
        assert!(!matches(list.clone(), json!({"state": "stopped"})));
        assert!(!matches(list.clone(), json!({"state": "OverLoaded"})));
        assert!(matches(list, json!({"state": "pending"})));
    }

    #[test]
    fn anything_but_wildcard() {
        let p = json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]});
        assert!(matches(p.clone(), json!({"FilePath": "/usr/bin/x"})));
        assert!(!matches(p.clone(), json!({"FilePath": "/usr/lib/x"})));
        assert!(matches(p, json!({"FilePath": 5})));
        let list = json!({"state": [{"anything-but": {"wildcard": ["*/init/*", "*/dir/*"]}}]});
        assert!(!matches(list.clone(), json!({"state": "dir/init/dir"})));
        assert!(matches(list, json!({"state": "dir/other/dir"})));
        assert!(matches(json!({"p": [{"anything-but": {"wildcard": ""}}]}), json!({"p": "a/b"})));
    }

    // --- numeric ---

    #[test]
    fn numeric_comparisons_and_ranges() {
        let case = |ops: Value, x: Value| matches(json!({"n": [{"numeric": ops}]}), json!({"n": x}));
        assert!(case(json!(["=", 3.018e2]), json!(301.8)));
        assert!(!case(json!(["=", 3.018e2]), json!(301.9)));
        assert!(case(json!(["<", 10]), json!(9.99)));
        assert!(!case(json!(["<", 10]), json!(10)));
        assert!(case(json!(["<=", 10]), json!(10)));
        assert!(!case(json!(["<=", 10]), json!(10.5)));
        assert!(case(json!([">", 0]), json!(0.001)));
        assert!(!case(json!([">", 0]), json!(0)));
        assert!(case(json!([">=", 0]), json!(0)));
        assert!(!case(json!([">=", 0]), json!(-1)));
        assert!(case(json!([">", 0, "<=", 5]), json!(5)));
        assert!(!case(json!([">", 0, "<=", 5]), json!(0)));
        assert!(case(json!([">=", 200, "<", 500]), json!(200)));
        assert!(!case(json!([">=", 200, "<", 500]), json!(500)));
        assert!(case(json!([">=", -1e9, "<=", 1e9]), json!(-1e9)));
        assert!(!case(json!([">", 0]), json!("5")), "numeric matches numbers only");
        assert!(!case(json!([">", 0]), json!(null)));
        assert!(case(json!([">", 0]), json!([-1, 3])), "any element of an array");
    }

    // --- cidr ---

    #[test]
    fn cidr_matches_ipv4_blocks() {
        let p = json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}});
        let ip = |s: &str| json!({"detail": {"sourceIPAddress": s}});
        assert!(matches(p.clone(), ip("10.0.0.255")));
        assert!(matches(p.clone(), ip("10.0.0.0")));
        assert!(!matches(p.clone(), ip("10.0.1.0")));
        assert!(!matches(p.clone(), ip("2001:db8::1")));
        assert!(!matches(p.clone(), ip("not an ip")));
        assert!(!matches(p, json!({"detail": {"sourceIPAddress": 167772161}})));
        assert!(matches(json!({"ip": [{"cidr": "0.0.0.0/0"}]}), json!({"ip": "203.0.113.9"})));
        assert!(matches(json!({"ip": [{"cidr": "::/0"}]}), json!({"ip": "2001:db8::1"})));
        assert!(!matches(json!({"ip": [{"cidr": "::/0"}]}), json!({"ip": "10.0.0.1"})));
    }

    #[test]
    fn cidr_matches_ipv6_blocks() {
        let p = json!({"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]});
        assert!(matches(p.clone(), json!({"ip": "2001:db8:1234:1a00::dead:beef"})));
        assert!(matches(p.clone(), json!({"ip": "2001:DB8:1234:1A00:0:0:0:1"})));
        assert!(!matches(p.clone(), json!({"ip": "2001:db8:1234:1a01::1"})));
        assert!(!matches(p, json!({"ip": "10.0.0.1"})));
    }

    #[test]
    fn cidr_range_starts_at_the_written_address_as_eventbridge_does() {
        let p = json!({"ip": [{"cidr": "10.0.0.5/24"}]});
        assert!(matches(p.clone(), json!({"ip": "10.0.0.200"})));
        assert!(!matches(p, json!({"ip": "10.0.0.4"})));
    }

    // --- $or ---

    #[test]
    fn or_matches_when_any_alternative_does() {
        let p = json!({"detail": {"$or": [
            {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
            {"d-count": [{"numeric": ["<", 10]}]},
            {"x-limit": [{"numeric": ["=", 3.018e2]}]}
        ]}});
        assert!(matches(p.clone(), json!({"detail": {"c-count": 0, "d-count": 0}})));
        assert!(matches(p.clone(), json!({"detail": {"x-limit": 301.8}})));
        assert!(!matches(p, json!({"detail": {"c-count": 0, "d-count": 10, "x-limit": 1}})));
    }

    #[test]
    fn or_combines_with_other_fields_and_nests() {
        let p = json!({
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization"]},
                {"namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}
            ],
            "detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}
        });
        let base = json!({"source": "aws.cloudwatch", "metricName": "CPUUtilization", "detail": {"b": "2"}});
        assert!(matches(p.clone(), base));
        assert!(matches(
            p.clone(),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2", "spaceId": 1000, "detail": {"a": "1"}})
        ));
        assert!(!matches(p.clone(), json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2", "detail": {"a": "1"}})));
        assert!(!matches(p.clone(), json!({"source": "aws.cloudwatch", "metricName": "CPUUtilization"})));
        assert!(!matches(p, json!({"source": "aws.ec2", "metricName": "CPUUtilization", "detail": {"a": "1"}})));
    }

    #[test]
    fn or_alternatives_may_test_existence() {
        let p = json!({"$or": [{"a": [{"exists": true}]}, {"b": [{"exists": false}]}]});
        assert!(matches(p.clone(), json!({"a": 1, "b": 2})));
        assert!(matches(p.clone(), json!({"c": 1})));
        assert!(!matches(p, json!({"b": 2})));
    }

    // --- API ---

    #[test]
    fn source_and_test_pattern() {
        let pattern = json!({"source": [{"prefix": "aws."}]});
        let parsed = EventPattern::parse(&pattern).expect("valid");
        assert_eq!(parsed.source(), &pattern);
        assert_eq!(test_pattern(&pattern, &json!({"source": "aws.s3"})), Ok(true));
        assert_eq!(test_pattern(&pattern, &json!({"source": "custom"})), Ok(false));
        assert!(test_pattern(&json!({"source": "aws.s3"}), &json!({})).is_err());
    }

    // --- invalid patterns ---

    #[test]
    fn pattern_shape_is_checked() {
        refused_at(json!(["a"]), "", "Filter is not an object");
        refused_at(json!({}), "", "Empty objects are not allowed");
        refused_at(json!({"detail": {}}), "detail", "Empty objects are not allowed");
        refused_at(json!({"resources": []}), "resources", "Empty arrays are not allowed");
        refused_at(json!({"int": 42}), "int", "\"int\" must be an object or an array");
        refused_at(json!({"detail": {"s": "my-value"}}), "detail.s", "must be an object or an array");
        refused_at(json!({"a": ["x", ["y"]]}), "a[1]", "Match value must be String, number, true, false, or null");
        refused_at(json!({"a": [{}]}), "a[0]", "Match expression name not found");
        refused_at(json!({"a": [{"prefix": "x", "suffix": "y"}]}), "a[0]", "Only one key allowed");
    }

    #[test]
    fn unknown_operators_are_refused() {
        refused_at(
            json!({"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}),
            "detail.equal[0].NUMERIC",
            "Unrecognized match type NUMERIC",
        );
        refused_at(json!({"my_key": [{"EXISTS": true}]}), "my_key[0].EXISTS", "Unrecognized match type EXISTS");
        refused_at(json!({"a": [{"contains": "x"}]}), "a[0].contains", "Unrecognized match type contains");
    }

    #[test]
    fn string_operators_need_strings() {
        refused_at(json!({"time": [{"prefix": 123}]}), "time[0].prefix", "prefix match pattern must be a string");
        refused_at(json!({"time": [{"prefix": ["2022"]}]}), "time[0].prefix", "prefix match pattern must be a string");
        refused_at(json!({"f": [{"suffix": [".png"]}]}), "f[0].suffix", "suffix match pattern must be a string");
        refused_at(
            json!({"d": [{"equals-ignore-case": ["ec2"]}]}),
            "d[0].equals-ignore-case",
            "equals-ignore-case match pattern must be a string",
        );
        refused_at(
            json!({"d": [{"equals-ignore-case": {"prefix": "ec2"}}]}),
            "d[0].equals-ignore-case",
            "equals-ignore-case match pattern must be a string",
        );
        refused_at(
            json!({"s": [{"prefix": {"suffix": "x"}}]}),
            "s[0].prefix.suffix",
            "Unsupported prefix pattern: suffix",
        );
        refused_at(
            json!({"s": [{"suffix": {"equals-ignore-case": 1}}]}),
            "s[0].suffix.equals-ignore-case",
            "equals-ignore-case match pattern must be a string",
        );
        refused_at(json!({"s": [{"prefix": {}}]}), "s[0].prefix", "Prefix expression name not found");
    }

    #[test]
    fn wildcards_are_checked() {
        refused_at(
            json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}),
            "EventBusArn[0].wildcard",
            "Consecutive wildcard characters at pos 26",
        );
        refused_at(json!({"f": [{"wildcard": "a\\b"}]}), "f[0].wildcard", "Invalid escape character at pos 2");
        refused_at(json!({"f": [{"wildcard": "ab\\"}]}), "f[0].wildcard", "Invalid escape character at pos 3");
        refused_at(json!({"f": [{"wildcard": 123}]}), "f[0].wildcard", "wildcard match pattern must be a string");
        refused_at(json!({"f": [{"wildcard": ["a*"]}]}), "f[0].wildcard", "wildcard match pattern must be a string");
    }

    #[test]
    fn anything_but_is_checked() {
        let at = "detail.state[0].anything-but";
        let state = |x: Value| json!({"detail": {"state": [{"anything-but": x}]}});
        refused_at(
            state(json!({"prefix": 123})),
            &format!("{at}.prefix"),
            "prefix/suffix match pattern must be a string",
        );
        refused_at(state(json!({"prefix": [123, "test"]})), &format!("{at}.prefix[0]"), "must be a string");
        refused_at(state(json!({"suffix": ["x", ""]})), &format!("{at}.suffix[1]"), "Null prefix/suffix not allowed");
        refused_at(state(json!({"prefix": ""})), &format!("{at}.prefix"), "Null prefix/suffix not allowed");
        refused_at(
            state(json!({"prefix": {"equals-ignore-case": "file"}})),
            &format!("{at}.prefix"),
            "Value of anything-but must be an array or single string/number value.",
        );
        refused_at(state(json!({"equals-ignore-case": 123})), &format!("{at}.equals-ignore-case"), "not supported");
        refused_at(
            state(json!({"equals-ignore-case": [123, 456]})),
            &format!("{at}.equals-ignore-case[0]"),
            "not supported",
        );
        refused_at(
            state(json!({"wildcard": [123, "*/dir/*"]})),
            &format!("{at}.wildcard[0]"),
            "wildcard match pattern must be a string",
        );
        refused_at(
            state(json!({"wildcard": "a**"})),
            &format!("{at}.wildcard"),
            "Consecutive wildcard characters at pos 2",
        );
        refused_at(
            state(json!({"numeric": [">", 1]})),
            &format!("{at}.numeric"),
            "Unsupported anything-but pattern: numeric",
        );
        refused_at(state(json!({})), at, "Anything-But expression name not found");
        refused_at(state(json!(["stopped", null])), &format!("{at}[1]"), "not supported");
        refused_at(state(json!(["stopped", 1])), at, "mixed types are not supported");
        refused_at(state(json!([])), at, "mixed types are not supported");
        refused_at(state(json!(true)), at, "must be an array or single string/number value");
        refused_at(state(json!(null)), at, "must be an array or single string/number value");
    }

    #[test]
    fn numeric_is_checked() {
        let n = |x: Value| json!({"c": [{"numeric": x}]});
        refused_at(n(json!(5)), "c[0].numeric", "Value of numeric must be an array.");
        refused_at(n(json!([])), "c[0].numeric", "Invalid member in numeric match: ]");
        refused_at(n(json!([5, ">"])), "c[0].numeric", "Invalid member in numeric match: 5");
        refused_at(n(json!(["!=", 5])), "c[0].numeric[0]", "Unrecognized numeric range operator: !=");
        refused_at(n(json!(["=", "5"])), "c[0].numeric[1]", "Value of equals must be numeric");
        refused_at(n(json!(["<"])), "c[0].numeric[1]", "Value of < must be numeric");
        refused_at(n(json!([">", 0, ">", 0])), "c[0].numeric[2]", "Bad numeric range operator: >");
        refused_at(n(json!([">", 0, 5])), "c[0].numeric[2]", "Bad value in numeric range: 5");
        refused_at(n(json!([">", 0, "<"])), "c[0].numeric[3]", "Value of < must be numeric");
        refused_at(n(json!(["<", 10, ">", 0])), "c[0].numeric[2]", "Too many elements in numeric expression");
        refused_at(n(json!(["=", 1, 2])), "c[0].numeric[2]", "Too many elements in numeric expression");
        refused_at(n(json!([">", 0, "<", 5, "<", 6])), "c[0].numeric[4]", "Too many terms in numeric range expression");
        refused_at(n(json!([">", 5, "<", 5])), "c[0].numeric", "Bottom must be less than top");
        refused_at(n(json!([">=", 6, "<=", 5])), "c[0].numeric", "Bottom must be less than top");
    }

    #[test]
    fn exists_is_checked() {
        refused_at(
            json!({"a": [{"exists": "yes"}]}),
            "a[0].exists",
            "exists match pattern must be either true or false.",
        );
        refused_at(json!({"a": [{"exists": 1}]}), "a[0].exists", "either true or false");
    }

    #[test]
    fn cidr_is_checked() {
        let at = "detail.sourceIPAddress[0].cidr";
        let c = |x: Value| json!({"detail": {"sourceIPAddress": [{"cidr": x}]}});
        refused_at(
            c(json!("bad-/64filter")),
            at,
            "is not a valid CIDR block: malformed CIDR, mask bits must be an integer",
        );
        refused_at(c(json!("10.0.0.0")), at, "is not a valid CIDR block: malformed CIDR, one '/' required");
        refused_at(c(json!("10.0.0.0/8/8")), at, "one '/' required");
        refused_at(c(json!("xx.11.xx/24")), at, "nonstandard IP address: xx.11.xx");
        refused_at(c(json!("xxxx:db8:1234:1a00::/64")), at, "nonstandard IP address: xxxx:db8:1234:1a00::");
        refused_at(c(json!("10.0.0.0/-1")), at, "mask bits must not be negative");
        refused_at(c(json!("10.0.0.0/32")), at, "IPv4 mask bits must be < 32");
        refused_at(c(json!("2001:db8::/128")), at, "IPv6 mask bits must be < 128");
        refused_at(c(json!(["bad-type"])), at, "cidr match pattern must be a string");
        let e = refused(c(json!("300.0.0.0/8")));
        assert_eq!((e.field.as_str(), e.message.contains("nonstandard IP address")), (at, true));
    }

    #[test]
    fn or_is_checked() {
        refused_at(json!({"$or": {"a": ["x"]}}), "$or", "$or must be followed by an array");
        refused_at(json!({"$or": [{"a": ["x"]}]}), "$or", "at least 2 objects");
        refused_at(json!({"d": {"$or": [{"a": ["x"]}, "b"]}}), "d.$or[1]", "Only JSON objects");
        refused_at(json!({"$or": [{"a": ["x"]}, {}]}), "$or[1]", "Empty objects are not allowed");
        refused_at(json!({"$or": [{"a": ["x"]}, {"b": {"prefix": ["y"]}}]}), "$or[1].b.prefix", "reserved word");
        refused_at(json!({"$or": [{"a": []}, {"b": ["y"]}]}), "$or[0].a", "Empty arrays are not allowed");
        refused_at(
            json!({"detail": {"$or": [{"c": [{"numeric": [">", "x"]}]}, {"d": ["y"]}]}}),
            "detail.$or[0].c[0].numeric[1]",
            "Value of > must be numeric",
        );
        // outside $or, operator names are ordinary field names
        assert!(matches(json!({"prefix": ["x"]}), json!({"prefix": "x"})));
    }

    #[test]
    fn or_explosion_is_bounded() {
        let pair = json!([{"a": ["1"]}, {"b": ["2"]}]);
        let mut pattern = Map::new();
        for i in 0..9 {
            pattern.insert(format!("f{i}"), json!({"$or": pair}));
        }
        assert!(EventPattern::parse(&Value::Object(pattern.clone())).is_ok(), "2^9 = 512 combinations are fine");
        pattern.insert("f9".into(), json!({"$or": pair}));
        pattern.insert("f10".into(), json!({"$or": pair}));
        let e = EventPattern::parse(&Value::Object(pattern)).expect_err("2^11 combinations");
        assert!(e.message.contains("too complex"), "{e}");
    }
}
