//! Builders and helpers on the generated fact and finding types.

use crate::{BranchFacts, Finding, PluginError, RuleInfo, Severity};

const SECONDS_PER_DAY: i64 = 86_400;

impl Finding {
    /// A finding of the given severity; add details with the builder methods.
    pub fn new(severity: Severity, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.into(),
            severity,
            message: message.into(),
            branch: None,
            commit: None,
            path: None,
            line: None,
            data: Vec::new(),
        }
    }

    /// An informational finding.
    pub fn info(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, rule, message)
    }

    /// A warning.
    pub fn warning(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }

    /// An error.
    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }

    /// Attaches the branch the finding is about.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Attaches the commit the finding is about (its full hex id).
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        self.commit = Some(commit.into());
        self
    }

    /// Attaches the path the finding is about.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches the line of the path the finding is about (1-based).
    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Adds a machine-readable detail.
    pub fn data(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.data.push((key.into(), value.to_string()));
        self
    }
}

impl RuleInfo {
    /// A rule description; add help with the builder methods.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        summary: impl Into<String>,
        default_severity: Severity,
    ) -> Self {
        RuleInfo {
            id: id.into(),
            name: name.into(),
            summary: summary.into(),
            help: None,
            help_uri: None,
            default_severity,
        }
    }

    /// How to fix a violation (plain text or Markdown).
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Where the rule is documented.
    pub fn help_uri(mut self, uri: impl Into<String>) -> Self {
        self.help_uri = Some(uri.into());
        self
    }
}

impl PluginError {
    /// An error with a short machine-readable code and a message for the user.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl BranchFacts {
    /// Whole days between the tip's commit time and `now` (seconds since the Unix epoch);
    /// negative when the commit is dated in the future.
    pub fn age_days(&self, now: i64) -> i64 {
        (now - self.committer.time).div_euclid(SECONDS_PER_DAY)
    }

    /// Merged by ancestry, or known to be squash- or rebase-merged.
    pub fn is_merged(&self) -> bool {
        self.merged || self.squash_merged == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signature;

    fn branch(committed: i64) -> BranchFacts {
        let sig = Signature {
            name: "A".into(),
            email: "a@example.com".into(),
            time: committed,
            offset: 0,
        };
        BranchFacts {
            name: "topic".into(),
            reference: "refs/heads/topic".into(),
            remote: false,
            tip: "0".repeat(40),
            ahead: 1,
            behind: 0,
            merge_bases: vec![],
            merged: false,
            squash_merged: None,
            author: sig.clone(),
            committer: sig,
            summary: String::new(),
            diffstat: None,
            conflicts: None,
            extra: Vec::new(),
        }
    }

    #[test]
    fn builder_sets_every_field() {
        let f = Finding::warning("r", "m")
            .branch("b")
            .commit("c")
            .path("p")
            .line(7)
            .data("k", 3);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.branch.as_deref(), Some("b"));
        assert_eq!(f.path.as_deref(), Some("p"));
        assert_eq!(f.commit.as_deref(), Some("c"));
        assert_eq!(f.line, Some(7));
        assert_eq!(f.data, vec![("k".to_string(), "3".to_string())]);
    }

    #[test]
    fn age_rounds_down_and_handles_future_commits() {
        let b = branch(1_000_000);
        assert_eq!(b.age_days(1_000_000 + SECONDS_PER_DAY - 1), 0);
        assert_eq!(b.age_days(1_000_000 + 3 * SECONDS_PER_DAY), 3);
        assert_eq!(b.age_days(1_000_000 - 1), -1);
    }

    #[test]
    fn squash_merged_counts_as_merged() {
        let mut b = branch(0);
        assert!(!b.is_merged());
        b.squash_merged = Some(true);
        assert!(b.is_merged());
    }
}
