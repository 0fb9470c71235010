//! Findings as the host keeps them, whatever API version the plugin spoke.

use std::collections::BTreeMap;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look.
    Warning,
    /// Needs action.
    Error,
}

impl Severity {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One thing a plugin reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule that fired.
    pub rule: String,
    /// How serious it is.
    pub severity: Severity,
    /// What a person reads.
    pub message: String,
    /// The branch it is about, if any.
    pub branch: Option<String>,
    /// The path it is about, if any (relative to the repository's root).
    pub path: Option<String>,
    /// The commit it is about, if any (a full object id).
    pub commit: Option<String>,
    /// The line of `path` it is about, if any (1-based).
    pub line: Option<u32>,
    /// Structured details.
    pub data: BTreeMap<String, String>,
}

impl Finding {
    /// Approximate bytes of this finding, for the result-size limit.
    pub fn size(&self) -> usize {
        self.rule.len()
            + self.message.len()
            + self.branch.as_ref().map_or(0, String::len)
            + self.path.as_ref().map_or(0, String::len)
            + self.commit.as_ref().map_or(0, String::len)
            + self.line.map_or(0, |_| 4)
            + self
                .data
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + 16
    }
}

/// What a plugin says about one of its rules, so that reports (SARIF) can describe a rule even
/// when it did not fire, and describe it better than its id when it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule's id, as findings name it in `rule`.
    pub id: String,
    /// A short name, e.g. `StaleBranch`.
    pub name: String,
    /// One sentence on what the rule checks.
    pub summary: String,
    /// Longer help: why it matters and how to fix a violation.
    pub help: Option<String>,
    /// Where the rule is documented.
    pub help_uri: Option<String>,
}

impl RuleInfo {
    /// Approximate bytes of this description, for the result-size limit.
    pub fn size(&self) -> usize {
        self.id.len()
            + self.name.len()
            + self.summary.len()
            + self.help.as_ref().map_or(0, String::len)
            + self.help_uri.as_ref().map_or(0, String::len)
            + 16
    }
}

/// What an analyzer or policy returned: its findings and the description of its rules (empty
/// for plugins whose API cannot describe rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// What the plugin found.
    pub findings: Vec<Finding>,
    /// The rules it has, whether they fired or not.
    pub rules: Vec<RuleInfo>,
}
