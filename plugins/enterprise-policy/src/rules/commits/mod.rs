//! Rules on the commits of a branch since its merge base: Conventional Commits, DCO sign-off,
//! signed commits.

pub mod conventional;

use crate::config::{Dco, Rule, SignedCommits};
use crate::engine::{Context, ViolationExt, violation};
use crate::input::{BranchInput, Commit, SigKind};
use crate::output::{Severity, Violation};
use conventional::{ConventionalOptions, Level};

fn is_merge(c: &Commit) -> bool {
    c.parents.len() > 1
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The first line of a message, shortened for a violation message.
fn headline(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    if first.chars().count() > 72 {
        let cut: String = first.chars().take(71).collect();
        format!("{cut}…")
    } else {
        first.to_string()
    }
}

/// `conventional-commits`: one violation per commit with its failed error-level rules, and,
/// when `warnings` is on, one more (at most `warning` severity) for the warning-level ones.
pub(crate) fn conventional_commits(
    rule: &Rule,
    o: &ConventionalOptions,
    b: &BranchInput,
    out: &mut Vec<Violation>,
) {
    for c in &b.commits {
        let verdict = conventional::lint(&c.message, o);
        for level in [Level::Error, Level::Warning] {
            if level == Level::Warning && !o.warnings {
                continue;
            }
            let failed: Vec<_> = verdict
                .problems
                .iter()
                .filter(|p| p.level == level)
                .collect();
            if failed.is_empty() {
                continue;
            }
            let names: Vec<&str> = failed.iter().map(|p| p.rule).collect();
            let details: Vec<String> = failed
                .iter()
                .map(|p| format!("{}: {}", p.rule, p.message))
                .collect();
            let mut v = violation(
                rule,
                format!(
                    "commit {} \"{}\" is not a Conventional Commit: {}",
                    short(&c.id),
                    headline(&c.message),
                    details.join("; ")
                ),
            )
            .on_branch(&b.branch.name)
            .at_commit(&c.id)
            .with("commitlint-rules", names.join(","));
            if level == Level::Warning {
                v.severity = v.severity.min(Severity::Warning);
                v = v.with("level", "warning");
            }
            out.push(v);
        }
    }
}

/// The `Signed-off-by:` trailers of a message: (name, email).
pub fn sign_offs(message: &str) -> Vec<(String, String)> {
    message
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (key, value) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("signed-off-by") {
                return None;
            }
            let value = value.trim();
            let open = value.rfind('<')?;
            let close = value[open..].find('>')? + open;
            Some((
                value[..open].trim().to_string(),
                value[open + 1..close].trim().to_string(),
            ))
        })
        .collect()
}

/// `dco`: a sign-off by the author (name and e-mail, e-mail compared without case).
pub(crate) fn dco(rule: &Rule, o: &Dco, b: &BranchInput, out: &mut Vec<Violation>) {
    for c in &b.commits {
        if o.skip_merges && is_merge(c) {
            continue;
        }
        let offs = sign_offs(&c.message);
        let problem = if offs.is_empty() {
            Some("has no Signed-off-by trailer".to_string())
        } else if o.match_author
            && !offs.iter().any(|(name, email)| {
                email.eq_ignore_ascii_case(&c.author.email) && name.trim() == c.author.name.trim()
            })
        {
            Some(format!(
                "is not signed off by its author {} <{}> (signed off by {})",
                c.author.name,
                c.author.email,
                offs.iter()
                    .map(|(n, e)| format!("{n} <{e}>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            out.push(
                violation(
                    rule,
                    format!(
                        "commit {} \"{}\" {problem}",
                        short(&c.id),
                        headline(&c.message)
                    ),
                )
                .on_branch(&b.branch.name)
                .at_commit(&c.id)
                .with("author", format!("{} <{}>", c.author.name, c.author.email)),
            );
        }
    }
}

/// `signed-commits`: presence, allowed kind, and for SSH a signature verified against the
/// allowed signers (the rule's own, else the repository's).
pub(crate) fn signed(
    rule: &Rule,
    o: &SignedCommits,
    b: &BranchInput,
    ctx: &Context<'_>,
    out: &mut Vec<Violation>,
) {
    for c in &b.commits {
        if o.skip_merges && is_merge(c) {
            continue;
        }
        let at = |message: String| {
            violation(
                rule,
                format!(
                    "commit {} \"{}\" {message}",
                    short(&c.id),
                    headline(&c.message)
                ),
            )
            .on_branch(&b.branch.name)
            .at_commit(&c.id)
        };
        let Some(sig) = &c.signature else {
            if o.require {
                out.push(at("is not signed".into()).with("signature", "none"));
            }
            continue;
        };
        let kind = match sig.kind {
            SigKind::Unknown => SigKind::from_armor(&sig.armored),
            k => k,
        };
        if !o.kinds.iter().any(|k| k == kind.as_str()) {
            out.push(
                at(format!(
                    "is signed with {} (allowed: {})",
                    kind.as_str(),
                    o.kinds.join(", ")
                ))
                .with("signature", kind.as_str()),
            );
            continue;
        }
        if kind != SigKind::Ssh || !o.verify_ssh {
            continue;
        }
        let signers = o.allowed_signers.as_ref().or(ctx.repo_signers);
        let Some(signers) = signers else {
            let why = ctx.repo_signers_error.map_or(
                "no allowed signers are configured".to_string(),
                str::to_string,
            );
            out.push(
                at(format!(
                    "has an SSH signature that cannot be verified: {why}"
                ))
                .with("signature", "ssh"),
            );
            continue;
        };
        if let Err(e) = signers.verify(&sig.armored, &sig.payload, c.committer.time) {
            out.push(
                at(format!("has an SSH signature that does not verify: {e}"))
                    .with("signature", "ssh")
                    .with("verification", e.to_string()),
            );
        }
    }
}
