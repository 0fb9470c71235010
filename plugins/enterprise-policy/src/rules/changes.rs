//! Rules on the paths a branch changes since its merge base: forbidden paths, file sizes, binary
//! files. Deleted paths never violate them: removing a file is the fix.

use crate::config::{BinaryFiles, FileSize, ForbiddenPaths, Rule};
use crate::engine::{ViolationExt, violation};
use crate::input::{BranchInput, ChangeStatus, FileChange, FileMode};
use crate::output::Violation;

fn present(c: &FileChange) -> bool {
    !matches!(c.status, ChangeStatus::Deleted)
}

fn located(v: Violation, b: &BranchInput, c: &FileChange) -> Violation {
    let mut v = v.on_branch(&b.branch.name).at_path(&c.path);
    v.commit = c.commit.clone();
    match &c.blob {
        Some(blob) => v.with("blob", blob),
        None => v,
    }
}

/// `forbidden-paths`.
pub(crate) fn forbidden(
    rule: &Rule,
    o: &ForbiddenPaths,
    b: &BranchInput,
    out: &mut Vec<Violation>,
) {
    for c in b.changes.iter().filter(|c| present(c)) {
        if o.paths.is_match(&c.path) && !o.allow.is_match(&c.path) {
            let how = match &c.status {
                ChangeStatus::Added => "adds".to_string(),
                ChangeStatus::Renamed { from } => format!("renames {from} to"),
                _ => "changes".to_string(),
            };
            out.push(located(
                violation(
                    rule,
                    format!("{} {how} forbidden path {}", b.branch.name, c.path),
                ),
                b,
                c,
            ));
        }
    }
}

/// `file-size`: a Git LFS pointer is exempt from `max_bytes`; the size it declares is checked
/// against `lfs_max_bytes` when that is set, and reported.
pub(crate) fn file_size(rule: &Rule, o: &FileSize, b: &BranchInput, out: &mut Vec<Violation>) {
    for c in b.changes.iter().filter(|c| present(c)) {
        if matches!(c.mode, FileMode::Submodule | FileMode::Symlink)
            || (!o.paths.is_empty() && !o.paths.is_match(&c.path))
            || o.exempt.is_match(&c.path)
        {
            continue;
        }
        if let Some(declared) = c.lfs_pointer {
            if let Some(max) = o.lfs_max_bytes
                && declared > max
            {
                out.push(
                    located(
                        violation(
                            rule,
                            format!(
                                "{} is a Git LFS pointer to {declared} bytes (LFS limit {max})",
                                c.path
                            ),
                        ),
                        b,
                        c,
                    )
                    .with("lfs-size", declared)
                    .with("limit", max),
                );
            }
            continue;
        }
        if let Some(size) = c.size
            && size > o.max_bytes
        {
            out.push(
                located(
                    violation(
                        rule,
                        format!(
                            "{} is {size} bytes (limit {}); track it with Git LFS",
                            c.path, o.max_bytes
                        ),
                    ),
                    b,
                    c,
                )
                .with("size", size)
                .with("limit", o.max_bytes),
            );
        }
    }
}

/// `binary-files`: LFS pointers are text and pass.
pub(crate) fn binary(rule: &Rule, o: &BinaryFiles, b: &BranchInput, out: &mut Vec<Violation>) {
    for c in b.changes.iter().filter(|c| present(c)) {
        if c.binary && c.lfs_pointer.is_none() && !o.allow.is_match(&c.path) {
            let mut v = located(
                violation(
                    rule,
                    format!("{} adds binary file {}", b.branch.name, c.path),
                ),
                b,
                c,
            );
            if let Some(size) = c.size {
                v = v.with("size", size);
            }
            out.push(v);
        }
    }
}
