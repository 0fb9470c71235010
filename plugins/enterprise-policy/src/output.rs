//! What the engine produces: violations and rule metadata.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How serious a violation is; set per rule in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed (fails a CI gate at its default level).
    Error,
}

impl Severity {
    /// The name used in configuration (`info`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One violation of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The id of the configured rule.
    pub rule_id: String,
    /// The rule family (`branch-naming`, `secrets`, …).
    pub kind: String,
    /// The severity configured for the rule.
    pub severity: Severity,
    /// A sentence for people. Never contains a secret in full.
    pub message: String,
    /// The branch it applies to, if any (a missing required branch has none).
    pub branch: Option<String>,
    /// The commit it applies to, if any.
    pub commit: Option<String>,
    /// The path it applies to, if any.
    pub path: Option<String>,
    /// The line (1-based, in the file on the branch), if any.
    pub line: Option<u32>,
    /// Machine-readable details (e.g. `commitlint-rule`, `age-days`, `secret-rule`).
    pub data: BTreeMap<String, String>,
}

/// Metadata of a configured rule, for SARIF `rules` and for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The configured rule id.
    pub id: String,
    /// A short name (the rule family).
    pub name: String,
    /// One sentence saying what the rule checks, with its options.
    pub summary: String,
    /// How to fix a violation.
    pub help: String,
}
