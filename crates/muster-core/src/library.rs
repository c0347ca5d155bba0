//! Muster's built-in runbooks: Automation documents that do real work without a cloud account and
//! write their findings to the incident timeline. The server stores them at start (read-only, as
//! the stack `builtin`), so they list, run and update like any runbook.

/// The stack that owns the built-in runbooks.
pub const BUILTIN_STACK: &str = "builtin";

/// (name, YAML document).
pub const RUNBOOKS: &[(&str, &str)] = &[
    ("muster-troubleshoot-vpn", include_str!("library/troubleshoot-vpn.yaml")),
    ("muster-http-check", include_str!("library/http-check.yaml")),
    ("muster-tcp-check", include_str!("library/tcp-check.yaml")),
    ("muster-metric-summary", include_str!("library/metric-summary.yaml")),
];

/// AWS documents that templates name and the built-in runbook that stands in for each.
pub const ALIASES: &[(&str, &str)] = &[("AWSSupport-TroubleshootVPN", "muster-troubleshoot-vpn")];

/// The built-in runbook that stands in for an AWS document, if there is one.
pub fn stand_in(name: &str) -> Option<&'static str> {
    ALIASES.iter().find(|(aws, _)| *aws == name).map(|(_, ours)| *ours)
}
