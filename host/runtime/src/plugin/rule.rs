//! What a plugin says about the rules it checks, and everything an analyzer or policy returns.

use super::finding::{Finding, Severity};

/// A rule as its plugin describes it (SARIF rule metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The id its findings carry.
    pub id: String,
    /// A short name.
    pub name: String,
    /// What it checks, in a sentence.
    pub summary: String,
    /// How to fix a violation.
    pub help: Option<String>,
    /// Where it is documented.
    pub help_uri: Option<String>,
    /// The severity of its findings unless configured otherwise.
    pub default_severity: Severity,
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

/// What an analyzer or a policy returned for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What it found.
    pub findings: Vec<Finding>,
    /// The rules it checks (empty for API 0.1 plugins, which cannot say).
    pub rules: Vec<RuleInfo>,
}

impl Outcome {
    /// Approximate bytes of the whole outcome, for the result-size limit.
    pub fn size(&self) -> u64 {
        let findings: usize = self.findings.iter().map(Finding::size).sum();
        let rules: usize = self.rules.iter().map(RuleInfo::size).sum();
        (findings + rules) as u64
    }
}
