//! The rule families, one module per concern.

pub mod branch;
pub mod changes;
pub mod commits;

use crate::config::{Family, Rule};

/// A summary and a help text for `rule`, from its family and options.
pub(crate) fn describe(rule: &Rule) -> (String, String) {
    match &rule.family {
        Family::BranchNaming(o) => {
            let mut parts = Vec::new();
            if let Some(p) = &o.pattern {
                parts.push(format!("match the regex `{}`", p.as_str()));
            }
            if let Some(g) = &o.globs {
                parts.push(format!("match one of {}", g.patterns().join(", ")));
            }
            if !o.prefixes.is_empty() {
                parts.push(format!("start with one of {}", o.prefixes.join(", ")));
            }
            (
                format!("Branch names must {}.", parts.join(" and ")),
                "Rename the branch (`git branch -m OLD NEW`, then push the new name and delete the old one).".into(),
            )
        }
        Family::ProtectedBranches(o) => (
            format!(
                "Protected branches ({}) are exempt from cleanup rules; required: {}.",
                o.patterns.patterns().join(", "),
                if o.required.is_empty() { "none".to_string() } else { o.required.join(", ") }
            ),
            "Restore or create the required branch.".into(),
        ),
        Family::AheadBehind(o) => (
            format!(
                "Branches stay within {} commits ahead and {} commits behind the base.",
                o.max_ahead.map_or("any".into(), |n| n.to_string()),
                o.max_behind.map_or("any".into(), |n| n.to_string())
            ),
            "Merge or rebase onto the base; split long-running work into smaller branches.".into(),
        ),
        Family::StaleBranch(o) => (
            format!("Branches must have a commit in the last {} days.", o.days),
            "Delete the branch if its work is done or abandoned, or merge it.".into(),
        ),
        Family::UnmergedOld(o) => (
            format!("Unmerged branches must not be older than {} days.", o.days),
            "Merge the branch or delete it.".into(),
        ),
        Family::ConventionalCommits(o) => (
            format!(
                "Commit messages follow Conventional Commits as commitlint's config-conventional checks them (types: {}; header at most {} characters).",
                o.types.join(", "),
                o.max_header_length
            ),
            "Reword the commits (`git rebase -i`, `reword`) to `type(scope)!: subject`.".into(),
        ),
        Family::Dco(o) => (
            if o.match_author {
                "Every commit carries a `Signed-off-by:` trailer naming its author (DCO).".into()
            } else {
                "Every commit carries a `Signed-off-by:` trailer (DCO).".into()
            },
            "Sign off with `git commit -s` (or `git rebase --signoff`).".into(),
        ),
        Family::SignedCommits(o) => (
            format!(
                "Commits are signed ({}){}.",
                o.kinds.join(", "),
                if o.verify_ssh { "; SSH signatures are verified against the allowed signers" } else { "" }
            ),
            "Configure commit signing (`git config commit.gpgSign true`) and re-sign the commits (`git rebase --exec 'git commit --amend --no-edit -S'`).".into(),
        ),
        Family::ForbiddenPaths(o) => (
            format!("Branches must not add or change {}.", o.paths.patterns().join(", ")),
            "Remove the file from the branch's history (not only in a later commit).".into(),
        ),
        Family::FileSize(o) => (
            format!("Changed files are at most {} bytes (Git LFS pointers exempt).", o.max_bytes),
            "Track large files with Git LFS, or keep them out of the repository.".into(),
        ),
        Family::BinaryFiles(o) => (
            if o.allow.is_empty() {
                "Branches add no binary files.".into()
            } else {
                format!("Binary files only at {}.", o.allow.patterns().join(", "))
            },
            "Keep build outputs out of the repository; track binary assets with Git LFS.".into(),
        ),
        Family::Secrets(s) => (
            format!("Added lines contain no secrets ({} gitleaks-format rules).", s.rule_count()),
            "Revoke the secret at its provider first, then remove it from the branch's history; use a secret store.".into(),
        ),
    }
}
