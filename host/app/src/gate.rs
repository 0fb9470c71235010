//! The CI gate: which findings fail a scan (`--fail-on`), the identity of a finding across
//! scans (its fingerprint), and baselines (`--baseline`: an earlier JSON report whose findings
//! are not reported again).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use trellis_runtime::plugin::{Finding, PluginKind, Severity};

use crate::report::{ScanReport, Status};

/// From which severity on a finding fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Error findings fail it.
    #[default]
    Error,
    /// Warning and error findings fail it.
    Warning,
    /// Nothing fails it: the scan only reports.
    Never,
}

impl FailOn {
    /// The lowest severity that fails the gate; `None` for [`FailOn::Never`].
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }

    /// Whether a finding of `severity` fails the gate.
    pub fn fails(self, severity: Severity) -> bool {
        self.threshold().is_some_and(|t| severity >= t)
    }

    /// The name used on the command line and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Never => "never",
        }
    }
}

/// Why the gate failed; empty when it passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateVerdict {
    /// Findings at or above the threshold (after the baseline).
    pub failing_findings: usize,
    /// `plugin@version (repository)` of each policy that failed to run.
    pub failed_policies: Vec<String>,
}

impl GateVerdict {
    /// Whether the gate failed.
    pub fn failed(&self) -> bool {
        self.failing_findings > 0 || !self.failed_policies.is_empty()
    }
}

/// Judges `report` by `fail_on`. Findings count; so does a *policy* that failed to run
/// (unless `fail_on` is `never`): a policy is what a team enforces, and one that could not
/// run (out of fuel, a trap, a bad config) must not let a branch through silently. A failed
/// analyzer only informs, so it does not fail the gate; its failure is in the report.
pub fn verdict(report: &ScanReport, fail_on: FailOn) -> GateVerdict {
    let mut verdict = GateVerdict::default();
    if fail_on == FailOn::Never {
        return verdict;
    }
    for repo in &report.repositories {
        for plugin in &repo.plugins {
            match (plugin.status, &plugin.output) {
                (Status::Ok, Some(findings)) => {
                    verdict.failing_findings += findings
                        .iter()
                        .filter(|f| fail_on.fails(f.severity))
                        .count();
                }
                _ if plugin.kind == PluginKind::Policy => verdict.failed_policies.push(format!(
                    "{}@{} ({})",
                    plugin.id, plugin.version, repo.facts.path
                )),
                _ => {}
            }
        }
    }
    verdict
}

/// The fingerprint of a finding: the hex SHA-256 of the plugin, the repository (its path as
/// given to the scan), the rule, the branch, the path and the message with every run of
/// digits replaced by `#`. Neither the line, the commit nor the data count, and neither do
/// numbers in the message, so that a finding keeps its identity while a file is edited
/// above it, a branch is rebased, or a count in its message changes (`"200 days old"` on one
/// day, `"201 days old"` on the next); a different branch, path or wording is a new finding.
pub fn fingerprint(plugin: &str, repository: &str, finding: &Finding) -> String {
    fingerprint_of(
        plugin,
        repository,
        &finding.rule,
        finding.branch.as_deref(),
        finding.path.as_deref(),
        &finding.message,
    )
}

fn fingerprint_of(
    plugin: &str,
    repository: &str,
    rule: &str,
    branch: Option<&str>,
    path: Option<&str>,
    message: &str,
) -> String {
    let mut hash = Sha256::new();
    hash.update(b"trellis-finding-v1");
    let mut field = |tag: u8, value: Option<&str>| {
        // Tagged and length-prefixed: no two different findings hash the same bytes, and an
        // absent branch differs from an empty one.
        hash.update([tag, u8::from(value.is_some())]);
        let value = value.unwrap_or_default();
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value.as_bytes());
    };
    field(b'p', Some(plugin));
    field(b'r', Some(repository.trim_end_matches('/')));
    field(b'u', Some(rule));
    field(b'b', branch);
    field(b'f', path);
    field(b'm', Some(&without_numbers(message)));
    hex::encode(hash.finalize())
}

/// `message` with every run of ASCII digits replaced by `#`.
fn without_numbers(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("--baseline {path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// The file is not a JSON report this version reads.
    #[error("--baseline {path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: trellis_report::ReadError,
    },
}

/// The findings of an earlier report, by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads the JSON report at `path` (as `trellis scan --format json` or `--output json=…`
    /// wrote it).
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            path: path.into(),
            source,
        })?;
        let report = trellis_report::from_json(&text).map_err(|source| BaselineError::Invalid {
            path: path.into(),
            source,
        })?;
        Ok(Self::of(&report))
    }

    /// The findings of `report`. A finding without a fingerprint (a report written before
    /// fingerprints existed) gets the one it would have now.
    pub fn of(report: &trellis_report::Report) -> Self {
        let mut fingerprints = HashSet::new();
        for repo in &report.repositories {
            for plugin in &repo.plugins {
                for f in plugin.output.iter().flatten() {
                    fingerprints.insert(f.fingerprint.clone().unwrap_or_else(|| {
                        fingerprint_of(
                            &plugin.id,
                            &repo.facts.path,
                            &f.rule,
                            f.branch.as_deref(),
                            f.path.as_deref(),
                            &f.message,
                        )
                    }));
                }
            }
        }
        Baseline { fingerprints }
    }

    /// How many distinct findings the baseline holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether the baseline holds no finding.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// Drops from `report` every finding the baseline has, and records per plugin result how
    /// many were dropped. Everything after (the table, JSON, SARIF, JUnit, the exit code)
    /// sees only the new findings.
    pub fn apply(&self, report: &mut ScanReport) {
        for repo in &mut report.repositories {
            let path = repo.facts.path.clone();
            for plugin in &mut repo.plugins {
                let Some(findings) = &mut plugin.output else {
                    continue;
                };
                let before = findings.len();
                findings.retain(|f| {
                    !self
                        .fingerprints
                        .contains(&fingerprint(&plugin.id, &path, f))
                });
                plugin.suppressed_by_baseline =
                    Some(u32::try_from(before - findings.len()).unwrap_or(u32::MAX));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(message: &str, line: Option<u32>) -> Finding {
        Finding {
            rule: "r".into(),
            severity: Severity::Warning,
            message: message.into(),
            branch: Some("feature".into()),
            path: Some("src/a.rs".into()),
            commit: line.map(|_| "c".repeat(40)),
            line,
            data: Default::default(),
        }
    }

    #[test]
    fn fingerprint_ignores_line_commit_and_numbers_only() {
        let a = fingerprint("p", ".", &finding("key at line 3, 200 days", Some(3)));
        let b = fingerprint("p", "./", &finding("key at line 40, 7 days", Some(40)));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            fingerprint("q", ".", &finding("key at line 3, 200 days", Some(3)))
        );
        assert_ne!(
            a,
            fingerprint("p", "other", &finding("key at line 3, 200 days", None))
        );
        let mut other_branch = finding("key at line 3, 200 days", Some(3));
        other_branch.branch = Some("feature2".into());
        assert_ne!(a, fingerprint("p", ".", &other_branch));
        let mut no_branch = finding("key at line 3, 200 days", Some(3));
        no_branch.branch = Some(String::new());
        let mut empty_branch = no_branch.clone();
        no_branch.branch = None;
        empty_branch.branch = Some(String::new());
        assert_ne!(
            fingerprint("p", ".", &no_branch),
            fingerprint("p", ".", &empty_branch)
        );
    }

    #[test]
    fn thresholds() {
        assert!(FailOn::Error.fails(Severity::Error));
        assert!(!FailOn::Error.fails(Severity::Warning));
        assert!(FailOn::Warning.fails(Severity::Warning));
        assert!(!FailOn::Warning.fails(Severity::Info));
        assert!(!FailOn::Never.fails(Severity::Error));
    }
}
