//! Runs the configured rules over one repository's input and collects violations.

use std::collections::BTreeMap;

use crate::config::{Config, Family, Rule};
use crate::input::{BranchInput, RepoInput};
use crate::output::{RuleInfo, Violation};
use crate::rules;
use crate::secrets::ScanCache;
use crate::signing::AllowedSigners;

/// What every rule may consult besides its branch.
pub(crate) struct Context<'a> {
    /// The whole input.
    pub repo: &'a RepoInput,
    /// The repository's allowed signers, parsed once (`None` when absent or unparsable).
    pub repo_signers: Option<&'a AllowedSigners>,
    /// Why the repository's allowed signers could not be used, if so.
    pub repo_signers_error: Option<&'a str>,
}

/// A violation of `rule` with `message`; the caller adds where it applies.
pub(crate) fn violation(rule: &Rule, message: impl Into<String>) -> Violation {
    Violation {
        rule_id: rule.id.clone(),
        kind: rule.family.kind().to_string(),
        severity: rule.severity,
        message: message.into(),
        branch: None,
        commit: None,
        path: None,
        line: None,
        data: BTreeMap::new(),
    }
}

/// Builder-style helpers on [`Violation`] for the rule modules.
pub(crate) trait ViolationExt {
    fn on_branch(self, branch: &str) -> Self;
    fn at_commit(self, commit: &str) -> Self;
    fn at_path(self, path: &str) -> Self;
    fn at_line(self, line: u32) -> Self;
    fn with(self, key: &str, value: impl ToString) -> Self;
}

impl ViolationExt for Violation {
    fn on_branch(mut self, branch: &str) -> Self {
        self.branch = Some(branch.to_string());
        self
    }
    fn at_commit(mut self, commit: &str) -> Self {
        self.commit = Some(commit.to_string());
        self
    }
    fn at_path(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }
    fn at_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }
    fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.data.insert(key.to_string(), value.to_string());
        self
    }
}

/// Evaluates every rule of `config` over `input`.
///
/// Violations come rule by rule in configuration order, and within a rule branch by branch in
/// input order. Added lines are scanned for secrets once per blob id and rule, however many
/// branches share the blob.
pub fn evaluate(config: &Config, input: &RepoInput) -> Vec<Violation> {
    let parsed_signers = input.allowed_signers.as_deref().map(AllowedSigners::parse);
    let signers_error = match &parsed_signers {
        Some(Err(e)) => Some(format!("the repository's allowed signers: {e}")),
        _ => None,
    };
    let ctx = Context {
        repo: input,
        repo_signers: parsed_signers.as_ref().and_then(|r| r.as_ref().ok()),
        repo_signers_error: signers_error.as_deref(),
    };
    let mut out = Vec::new();
    for rule in &config.rules {
        // Rules about the repository as a whole, not one branch.
        if let Family::ProtectedBranches(p) = &rule.family {
            rules::branch::required(rule, p, input, &mut out);
            continue;
        }
        let mut cache = ScanCache::default();
        for b in &input.branches {
            if !rule.filter.applies(&b.branch.name) {
                continue;
            }
            if rule.cleanup && is_protected(config, b) {
                continue;
            }
            check_branch(rule, b, &ctx, &mut cache, &mut out);
        }
    }
    out
}

/// Whether a protected-branches rule covers the branch (by full or remote-stripped name).
fn is_protected(config: &Config, b: &BranchInput) -> bool {
    let name = b.branch.name.as_str();
    let short = rules::branch::without_remote(&b.branch);
    config
        .protected()
        .any(|globs| globs.is_match(name) || globs.is_match(short))
}

fn check_branch(
    rule: &Rule,
    b: &BranchInput,
    ctx: &Context<'_>,
    cache: &mut ScanCache,
    out: &mut Vec<Violation>,
) {
    match &rule.family {
        Family::BranchNaming(o) => rules::branch::naming(rule, o, b, out),
        Family::ProtectedBranches(_) => {}
        Family::AheadBehind(o) => rules::branch::ahead_behind(rule, o, b, ctx, out),
        Family::StaleBranch(o) => rules::branch::stale(rule, o, b, ctx, out),
        Family::UnmergedOld(o) => rules::branch::unmerged_old(rule, o, b, ctx, out),
        Family::ConventionalCommits(o) => rules::commits::conventional_commits(rule, o, b, out),
        Family::Dco(o) => rules::commits::dco(rule, o, b, out),
        Family::SignedCommits(o) => rules::commits::signed(rule, o, b, ctx, out),
        Family::ForbiddenPaths(o) => rules::changes::forbidden(rule, o, b, out),
        Family::FileSize(o) => rules::changes::file_size(rule, o, b, out),
        Family::BinaryFiles(o) => rules::changes::binary(rule, o, b, out),
        Family::Secrets(scanner) => {
            for added in &b.added {
                for finding in cache.scan(scanner, added) {
                    let mut v = violation(rule, finding.message.clone())
                        .on_branch(&b.branch.name)
                        .at_path(&added.path)
                        .at_line(finding.line);
                    if let Some(c) = &added.commit {
                        v = v.at_commit(c);
                    }
                    for (k, val) in &finding.data {
                        v = v.with(k, val);
                    }
                    out.push(v);
                }
            }
        }
    }
}

/// Metadata for every configured rule (the host turns it into SARIF `rules`).
pub fn describe_rules(config: &Config) -> Vec<RuleInfo> {
    config
        .rules
        .iter()
        .map(|rule| {
            let (summary, help) = rules::describe(rule);
            RuleInfo {
                id: rule.id.clone(),
                name: rule.family.kind().to_string(),
                summary,
                help: rule.description.clone().unwrap_or(help),
            }
        })
        .collect()
}
