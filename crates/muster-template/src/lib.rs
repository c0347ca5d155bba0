//! Templates to resources. Two formats come in — AWS CloudFormation (YAML or JSON, with short
//! `!Tag` and long `Fn::` intrinsics) and Muster's native YAML — and one thing goes out: a
//! [`StackPlan`] whose resources are fully resolved and validated, ready for the store to apply in
//! one transaction.
//!
//! This crate knows nothing of SQL, HTTP or tokio. It reads no files: callers pass [`Source`]s.

mod cfn;
mod load;
mod native;
mod types;

use muster_core::Invalid;
use muster_core::stack::StackPlan;
use std::collections::BTreeMap;

pub use load::to_json;

/// One template file's text and a name for it in messages.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub content: String,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Values for the template's parameters.
    pub parameters: BTreeMap<String, String>,
    /// Import what is supported and list the rest instead of refusing the template.
    pub skip_unsupported: bool,
}

/// Which format a template is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CloudFormation,
    Native,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CloudFormation => "cloudformation",
            Format::Native => "muster",
        }
    }
}

/// Parses, resolves and validates a whole template; nothing is half-done: any error refuses it all.
/// Several sources are allowed only in the native format (a folder of files, merged).
pub fn plan_stack(stack: &str, sources: &[Source], options: &Options) -> Result<StackPlan, Invalid> {
    let name = muster_core::plan::validate_name("stack", stack)?;
    if sources.is_empty() {
        return Err(Invalid::new("template", "no template was given"));
    }
    let mut docs = Vec::with_capacity(sources.len());
    for s in sources {
        let doc = load::to_json(&s.content).map_err(|e| Invalid::new("template", format!("{}: {e}", s.name)))?;
        docs.push((s, doc));
    }
    let formats: Vec<Format> = docs.iter().map(|(_, d)| detect(d)).collect();
    if formats.contains(&Format::CloudFormation) {
        if docs.len() > 1 {
            return Err(Invalid::new("template", "a CloudFormation template is one file; apply each as its own stack"));
        }
        let (source, doc) = &docs[0];
        cfn::plan(&name, &source.content, doc, options)
    } else {
        native::plan(&name, &docs, options)
    }
}

/// Replaces each `${name}` in a string with what `lookup` gives for it; `${!name}` writes `${name}`.
/// Shared by `Fn::Sub` and the native format's parameters.
pub(crate) fn interpolate(
    template: &str,
    path: &str,
    mut lookup: impl FnMut(&str) -> Result<String, Invalid>,
) -> Result<String, Invalid> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| Invalid::new(path, "an unclosed ${"))?;
        let name = after[..end].trim();
        match name.strip_prefix('!') {
            Some(literal) => {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            }
            None => out.push_str(&lookup(name)?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn detect(doc: &serde_json::Value) -> Format {
    let cfn_keys = ["AWSTemplateFormatVersion", "Resources", "Parameters", "Transform"];
    match doc.as_object() {
        Some(m) if cfn_keys.iter().any(|k| m.contains_key(*k)) => Format::CloudFormation,
        _ => Format::Native,
    }
}
