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
    /// The commit it is about, if any.
    pub commit: Option<String>,
    /// The path it is about, if any.
    pub path: Option<String>,
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
            + self.commit.as_ref().map_or(0, String::len)
            + self.path.as_ref().map_or(0, String::len)
            + self
                .data
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + 16
    }
}
