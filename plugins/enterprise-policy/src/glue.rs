//! SDK glue, built for the plugin only (`wasm32`): host data in, findings out.
//!
//! The branch facts come with every scan. What the configured rules need beyond them is asked
//! for with API 0.2's batch queries, one call for all branches each, and only when a rule needs
//! it: commits since the merge base (commit rules, `git.history`), the files changed since the
//! merge base (change rules, `git.history` + `git.blobs`) and the lines each commit added
//! (secret rules, `git.history` + `git.blobs`). A branch the host could not answer for is
//! reported as a `host-query` finding naming the reason; the other branches are checked.

use trellis_sdk::host::{
    self, AddedLinesOptions, ChangeOptions, FileMode as HostMode, FileStatus, HistoryOptions,
    QueryError, Range, SignatureKind,
};
use trellis_sdk::policy::Policy;
use trellis_sdk::{
    BranchFacts, Finding, PluginError, RuleInfo as SdkRule, ScanInput, Severity as SdkSeverity,
};

use crate::config::Family;
use crate::input::{
    AddedLines, Branch, BranchInput, ChangeStatus, Commit, CommitSignature, FileChange, FileMode,
    Person, RepoInput, SigKind,
};
use crate::{Config, Severity, Violation, describe_rules, evaluate};

/// Commits read per branch: a branch further ahead is checked on its newest commits.
const MAX_COMMITS: u32 = 1_000;
/// Messages are cut here (commitlint's own limits are far below).
const MAX_MESSAGE_BYTES: u32 = 64 * 1024;
/// Changed files read per branch.
const MAX_FILES: u32 = 10_000;
/// Files larger than this are not scanned for secrets (they are reported by size rules).
const MAX_SCANNED_FILE_BYTES: u64 = 8 << 20;
/// Added lines read per file.
const MAX_LINES_PER_FILE: u32 = 100_000;

fn person(s: &trellis_sdk::Signature) -> Person {
    Person {
        name: s.name.clone(),
        email: s.email.clone(),
        time: s.time,
        offset: s.offset,
    }
}

fn branch_input(b: &BranchFacts) -> BranchInput {
    BranchInput {
        branch: Branch {
            name: b.name.clone(),
            reference: b.reference.clone(),
            remote: b.remote,
            tip: b.tip.clone(),
            ahead: b.ahead,
            behind: b.behind,
            merged: b.is_merged(),
            merge_base: b.merge_bases.first().cloned(),
            tip_author: person(&b.author),
            tip_committer: person(&b.committer),
        },
        commits: Vec::new(),
        changes: Vec::new(),
        added: Vec::new(),
    }
}

fn commit(c: host::CommitDetail) -> Commit {
    Commit {
        id: c.id,
        parents: c.parents,
        author: person(&c.author),
        committer: person(&c.committer),
        message: c.message,
        signature: c.signature.map(|s| CommitSignature {
            kind: match s.kind {
                SignatureKind::Gpg => SigKind::Gpg,
                SignatureKind::Ssh => SigKind::Ssh,
                SignatureKind::X509 => SigKind::X509,
                SignatureKind::Unknown => SigKind::Unknown,
            },
            armored: s.armored,
            payload: s.payload,
        }),
    }
}

fn file_change(c: host::FileChange) -> FileChange {
    FileChange {
        path: c.path,
        status: match c.status {
            FileStatus::Added => ChangeStatus::Added,
            FileStatus::Deleted => ChangeStatus::Deleted,
            FileStatus::Modified => ChangeStatus::Modified,
            FileStatus::TypeChanged => ChangeStatus::TypeChanged,
        },
        mode: match c.mode {
            HostMode::Regular => FileMode::Regular,
            HostMode::Executable => FileMode::Executable,
            HostMode::Symlink => FileMode::Symlink,
            HostMode::Submodule => FileMode::Submodule,
        },
        size: c.size,
        binary: c.binary.unwrap_or(false),
        lfs_pointer: c.lfs_size,
        blob: c.blob,
        commit: c.commit,
    }
}

/// The host data the configured rules need.
#[derive(Default)]
struct Needs {
    commits: bool,
    changes: bool,
    added: bool,
}

impl Needs {
    fn of(config: &Config) -> Self {
        let mut needs = Needs::default();
        for rule in &config.rules {
            match rule.family {
                Family::ConventionalCommits(_) | Family::Dco(_) | Family::SignedCommits(_) => {
                    needs.commits = true
                }
                Family::ForbiddenPaths(_) | Family::FileSize(_) | Family::BinaryFiles(_) => {
                    needs.changes = true
                }
                Family::Secrets(_) => needs.added = true,
                _ => {}
            }
        }
        needs
    }
}

/// A finding for a branch the host could not answer a query for.
fn query_failed(branch: &str, what: &str, e: &QueryError) -> Finding {
    Finding::error(
        "host-query",
        format!("{what} of {branch} could not be read: {e:?}"),
    )
    .branch(branch)
}

/// Fills the branches' commits, changes and added lines; findings for what the host refused.
fn fill(
    branches: &mut [BranchInput],
    base: &str,
    needs: &Needs,
) -> Result<Vec<Finding>, PluginError> {
    let ranges: Vec<Range> = branches
        .iter()
        .map(|b| Range::new(b.branch.reference.as_str(), base))
        .collect();
    let mut failures = Vec::new();
    if needs.commits {
        let options = HistoryOptions {
            limit: MAX_COMMITS,
            first_parent: false,
            max_message_bytes: MAX_MESSAGE_BYTES,
            signatures: true,
        };
        for (b, answer) in branches
            .iter_mut()
            .zip(host::range_history(&ranges, options)?)
        {
            match answer {
                Ok(commits) => b.commits = commits.into_iter().map(commit).collect(),
                Err(e) => failures.push(query_failed(&b.branch.name, "the commits", &e)),
            }
        }
    }
    if needs.changes {
        let options = ChangeOptions {
            limit: MAX_FILES,
            content: true,
            commit_limit: MAX_COMMITS,
        };
        for (b, answer) in branches
            .iter_mut()
            .zip(host::range_changes(&ranges, options)?)
        {
            match answer {
                Ok(changes) => b.changes = changes.into_iter().map(file_change).collect(),
                Err(e) => failures.push(query_failed(&b.branch.name, "the changed files", &e)),
            }
        }
    }
    if needs.added {
        // Commit by commit: a secret committed and removed later is still in the history.
        let options = AddedLinesOptions {
            per_commit: true,
            commit_limit: MAX_COMMITS,
            max_file_bytes: MAX_SCANNED_FILE_BYTES,
            max_lines_per_file: MAX_LINES_PER_FILE,
        };
        for (b, answer) in branches
            .iter_mut()
            .zip(host::added_lines(&ranges, options)?)
        {
            match answer {
                Ok(files) => {
                    b.added = files
                        .into_iter()
                        .filter(|f| !f.binary)
                        .map(|f| AddedLines {
                            path: f.path,
                            blob: f.blob,
                            commit: f.commit,
                            lines: f.lines.into_iter().map(|l| (l.number, l.text)).collect(),
                        })
                        .collect()
                }
                Err(e) => failures.push(query_failed(&b.branch.name, "the added lines", &e)),
            }
        }
    }
    Ok(failures)
}

fn severity(s: Severity) -> SdkSeverity {
    match s {
        Severity::Info => SdkSeverity::Info,
        Severity::Warning => SdkSeverity::Warning,
        Severity::Error => SdkSeverity::Error,
    }
}

fn finding(v: Violation) -> Finding {
    let mut f = Finding::new(severity(v.severity), v.rule_id, v.message).data("kind", v.kind);
    if let Some(b) = v.branch {
        f = f.branch(b);
    }
    if let Some(c) = v.commit {
        f = f.commit(c);
    }
    if let Some(p) = v.path {
        f = f.path(p);
    }
    if let Some(l) = v.line {
        f = f.line(l);
    }
    for (k, val) in v.data {
        f = f.data(k, val);
    }
    f
}

/// The configuration, compiled once per invocation: `evaluate` and `rules` both need it, and
/// compiling the secret rules is most of a small scan's cost.
fn config() -> Result<&'static Config, PluginError> {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config);
    }
    // The host hands the configuration over as JSON; the engine reads it as TOML values.
    let value: toml::Value = host::config()?;
    let config =
        Config::from_value(value).map_err(|e| PluginError::new("bad-config", e.to_string()))?;
    Ok(CONFIG.get_or_init(|| config))
}

struct EnterprisePolicy;

impl Policy for EnterprisePolicy {
    fn evaluate(input: ScanInput) -> Result<Vec<Finding>, PluginError> {
        let config = config()?;
        let mut branches: Vec<BranchInput> = input.branches.iter().map(branch_input).collect();
        let failures = fill(&mut branches, &input.repo.base, &Needs::of(config))?;
        let repo = RepoInput {
            base: input.repo.base.clone(),
            scan_time: input.scan_time,
            branches,
            allowed_signers: None,
        };
        let mut out = failures;
        out.extend(evaluate(config, &repo).into_iter().map(finding));
        Ok(out)
    }

    fn rules() -> Vec<SdkRule> {
        let Ok(config) = config() else {
            return Vec::new();
        };
        describe_rules(config)
            .into_iter()
            .map(|r| {
                let rule = config.rules.iter().find(|c| c.id == r.id);
                let default = rule.map_or(Severity::Error, |c| c.severity);
                SdkRule::new(r.id, r.name, r.summary, severity(default)).help(r.help)
            })
            .collect()
    }
}

trellis_sdk::export_policy!(EnterprisePolicy);
