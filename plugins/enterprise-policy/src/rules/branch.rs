//! Branch rules: naming, required protected branches, ahead/behind limits, stale and old
//! unmerged branches.

use crate::config::{AheadBehind, BranchNaming, DaysLimit, ProtectedBranches, Rule};
use crate::engine::{Context, ViolationExt, violation};
use crate::input::{Branch, BranchInput, RepoInput};
use crate::output::Violation;

const DAY: i64 = 86_400;

/// The branch name without its remote (`origin/feature/x` → `feature/x`); local names as they are.
pub fn without_remote(branch: &Branch) -> &str {
    if branch.remote {
        branch
            .name
            .split_once('/')
            .map_or(branch.name.as_str(), |(_, rest)| rest)
    } else {
        &branch.name
    }
}

/// `branch-naming`.
pub(crate) fn naming(rule: &Rule, o: &BranchNaming, b: &BranchInput, out: &mut Vec<Violation>) {
    let name = if o.strip_remote {
        without_remote(&b.branch)
    } else {
        &b.branch.name
    };
    let mut failed = Vec::new();
    if let Some(re) = &o.pattern
        && !re.is_match(name)
    {
        failed.push(format!("does not match `{}`", re.as_str()));
    }
    if let Some(globs) = &o.globs
        && !globs.is_match(name)
    {
        failed.push(format!("matches none of {}", globs.patterns().join(", ")));
    }
    if !o.prefixes.is_empty() && !o.prefixes.iter().any(|p| name.starts_with(p.as_str())) {
        failed.push(format!("starts with none of {}", o.prefixes.join(", ")));
    }
    if !failed.is_empty() {
        out.push(
            violation(
                rule,
                format!("branch name `{name}` {}", failed.join(" and ")),
            )
            .on_branch(&b.branch.name)
            .with("name", name),
        );
    }
}

/// `protected-branches`: every required branch exists (as the base, a local branch, or a
/// remote-tracking branch).
pub(crate) fn required(
    rule: &Rule,
    o: &ProtectedBranches,
    input: &RepoInput,
    out: &mut Vec<Violation>,
) {
    for name in &o.required {
        let exists = input.base == *name
            || input
                .branches
                .iter()
                .any(|b| b.branch.name == *name || without_remote(&b.branch) == name);
        if !exists {
            out.push(
                violation(
                    rule,
                    format!("required protected branch `{name}` does not exist"),
                )
                .with("missing", name),
            );
        }
    }
}

/// `ahead-behind`.
pub(crate) fn ahead_behind(
    rule: &Rule,
    o: &AheadBehind,
    b: &BranchInput,
    ctx: &Context<'_>,
    out: &mut Vec<Violation>,
) {
    let base = &ctx.repo.base;
    if let Some(max) = o.max_ahead
        && b.branch.ahead > max
    {
        out.push(
            violation(
                rule,
                format!(
                    "{} is {} commits ahead of {base} (limit {max})",
                    b.branch.name, b.branch.ahead
                ),
            )
            .on_branch(&b.branch.name)
            .with("ahead", b.branch.ahead)
            .with("limit", max),
        );
    }
    if let Some(max) = o.max_behind
        && b.branch.behind > max
    {
        out.push(
            violation(
                rule,
                format!(
                    "{} is {} commits behind {base} (limit {max})",
                    b.branch.name, b.branch.behind
                ),
            )
            .on_branch(&b.branch.name)
            .with("behind", b.branch.behind)
            .with("limit", max),
        );
    }
}

/// Whole days from `time` to `now` (negative when in the future).
fn age_days(now: i64, time: i64) -> i64 {
    (now - time).div_euclid(DAY)
}

/// `stale-branch`: the tip's committer time is N days or more before the scan.
pub(crate) fn stale(
    rule: &Rule,
    o: &DaysLimit,
    b: &BranchInput,
    ctx: &Context<'_>,
    out: &mut Vec<Violation>,
) {
    let age = age_days(ctx.repo.scan_time, b.branch.tip_committer.time);
    if age >= i64::from(o.days) {
        out.push(
            violation(
                rule,
                format!(
                    "{} has had no commit for {age} days (limit {})",
                    b.branch.name, o.days
                ),
            )
            .on_branch(&b.branch.name)
            .at_commit(&b.branch.tip)
            .with("age-days", age)
            .with("limit-days", o.days),
        );
    }
}

/// `unmerged-old`: not merged, and its first commit since the merge base (the tip when the
/// commits are not given) is N days or more before the scan.
pub(crate) fn unmerged_old(
    rule: &Rule,
    o: &DaysLimit,
    b: &BranchInput,
    ctx: &Context<'_>,
    out: &mut Vec<Violation>,
) {
    if b.branch.merged {
        return;
    }
    let started = b
        .commits
        .iter()
        .map(|c| c.committer.time.min(c.author.time))
        .min()
        .unwrap_or(b.branch.tip_committer.time);
    let age = age_days(ctx.repo.scan_time, started);
    if age >= i64::from(o.days) {
        out.push(
            violation(
                rule,
                format!(
                    "{} is not merged into {} and was started {age} days ago (limit {})",
                    b.branch.name, ctx.repo.base, o.days
                ),
            )
            .on_branch(&b.branch.name)
            .at_commit(&b.branch.tip)
            .with("age-days", age)
            .with("limit-days", o.days),
        );
    }
}
