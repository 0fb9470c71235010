//! Bounded git queries that plugins may ask for through the host (with a grant).
//!
//! Every answer is capped by the caller's limits; paths are tree paths inside the repository's
//! object database, never file-system paths, so nothing here can reach outside the repository.

use gix::bstr::ByteSlice;
use gix::object::tree::diff::ChangeDetached;

use super::facts::Signature;
use super::graph::signature;

mod added;
mod files;
mod history;
mod merge;
mod range;

pub use added::{AddedFile, AddedLine, AddedLinesOptions, added_lines};
pub use files::{ChangeOptions, FileChange, FileMode, FileStatus, range_changes};
pub use history::{CommitDetail, CommitSignature, HistoryOptions, SignatureKind, range_history};
pub use merge::{MergeOptions, MergeSide, MergeTrial, MergeVerdict, PathStat, merge_trial};
pub use range::{QueryState, Range, ResolvedRange};

/// Why a query was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("not found: {0}")]
    /// The revision or path does not exist.
    NotFound(String),
    #[error("invalid query: {0}")]
    /// The query is malformed or asks for something not allowed.
    Invalid(String),
    #[error("answer too large: {0} bytes")]
    /// The answer would be larger than allowed (its size in bytes).
    TooLarge(u64),
    #[error("repository error: {0}")]
    /// The repository could not answer.
    Failed(String),
}

/// One commit in a query answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's id.
    pub id: String,
    /// Its parents' ids.
    pub parents: Vec<String>,
    /// Its author.
    pub author: Signature,
    /// Its committer.
    pub committer: Signature,
    /// The first line of its message.
    pub summary: String,
}

impl CommitInfo {
    /// Bytes this answer costs against a plugin's query budget.
    pub fn cost(&self) -> u64 {
        (self.id.len()
            + self.parents.iter().map(String::len).sum::<usize>()
            + self.author.name.len()
            + self.author.email.len()
            + self.committer.name.len()
            + self.committer.email.len()
            + self.summary.len()
            + 32) as u64
    }
}

/// How a path changed between two trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The path is new.
    Added,
    /// The path is gone.
    Deleted,
    /// The path's content or mode changed.
    Modified,
}

/// Reference namespaces a revision may name: branches, tags and remote-tracking branches.
const REF_NAMESPACES: [&str; 3] = ["refs/heads/", "refs/tags/", "refs/remotes/"];

/// How far before a commit's time the reachability walk looks for it, for clock skew.
const REACHABILITY_SLACK_SECONDS: i64 = 7 * 86_400;

/// Resolves a revision to a commit id.
///
/// Only what a plugin needs is accepted, so that a plugin cannot reach history the user threw
/// away (reset, rebased, amended or dropped commits still in the object database):
///
/// - a branch, tag or remote-tracking branch name (`main`, `v1.0`, `origin/main`) or its full
///   name (`refs/heads/main`); nothing else is looked up — not `HEAD`, `ORIG_HEAD`,
///   `FETCH_HEAD` or other pseudo-references;
/// - a full or abbreviated (at least 4 digits) hexadecimal object id of a commit (or of a tag
///   pointing to one) that is **reachable from one of those references**: a commit only the
///   reflog or nothing at all still knows is answered `not found`, exactly like an id that
///   does not exist, so a plugin learns nothing about discarded objects;
/// - either followed by `~`, `~N`, `^` or `^N` steps.
///
/// Everything else — reflog selectors (`@{1}`, `@{1 year ago}`, `@{-1}`), `:/regex`,
/// `REV:path`, `^{...}` peeling, ranges — is refused as [`QueryError::Invalid`].
fn resolve_commit(repo: &gix::Repository, rev: &str) -> Result<gix::ObjectId, QueryError> {
    resolve_commit_in(repo, rev, None)
}

/// [`resolve_commit`], checking object ids against `reachable` when given.
fn resolve_commit_in(
    repo: &gix::Repository,
    rev: &str,
    reachable: Option<&mut Reachable>,
) -> Result<gix::ObjectId, QueryError> {
    let invalid = || {
        QueryError::Invalid(format!(
            "bad revision `{rev}`: only branch and tag names and object ids, with `~N`/`^N`, are allowed"
        ))
    };
    let not_found = || QueryError::NotFound(format!("revision `{rev}`"));
    if rev.is_empty() || rev.len() > 256 {
        return Err(invalid());
    }
    let (name, steps) = rev.split_at(rev.find(['~', '^']).unwrap_or(rev.len()));
    let steps = parse_steps(steps).ok_or_else(invalid)?;
    let is_hex = (4..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit());
    let pseudo = name == "HEAD" || name == "@" || (name.ends_with("_HEAD") && !name.contains('/'));
    if pseudo || name.contains("@{") || gix::validate::reference::name_partial(name.into()).is_err()
    {
        return Err(invalid());
    }
    let mut id = match resolve_ref(repo, name)? {
        Some(id) => id,
        None if is_hex => {
            let id = repo
                .rev_parse_single(name)
                .map_err(|_| not_found())?
                .object()
                .map_err(|_| not_found())?
                .peel_to_commit()
                .map_err(|_| not_found())?
                .id;
            let reached = match reachable {
                Some(reachable) => reachable.contains(repo, id)?,
                None => reachable_from_refs(repo, id)?,
            };
            if !reached {
                return Err(not_found());
            }
            id
        }
        None => return Err(not_found()),
    };
    for (first_parent_only, n) in steps {
        let mut remaining = n;
        if !first_parent_only {
            if n == 0 {
                continue;
            }
            remaining = 1;
        }
        for _ in 0..remaining {
            let commit = repo
                .find_commit(id)
                .map_err(|e| QueryError::Failed(e.to_string()))?;
            let index = if first_parent_only { 0 } else { n as usize - 1 };
            id = commit
                .parent_ids()
                .nth(index)
                .ok_or_else(not_found)?
                .detach();
        }
    }
    Ok(id)
}

/// `~`, `~N`, `^`, `^N` steps as (first parents only, N); `None` for anything else.
fn parse_steps(mut steps: &str) -> Option<Vec<(bool, u32)>> {
    let mut out = Vec::new();
    while let Some(op) = steps.chars().next() {
        let first_parent_only = match op {
            '~' => true,
            '^' => false,
            _ => return None,
        };
        steps = &steps[1..];
        let digits = steps
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(steps.len());
        let n = if digits == 0 {
            1
        } else {
            steps[..digits].parse().ok()?
        };
        steps = &steps[digits..];
        out.push((first_parent_only, n));
    }
    Some(out)
}

/// The commit a branch, tag or remote-tracking branch (short or full name) points to.
fn resolve_ref(repo: &gix::Repository, name: &str) -> Result<Option<gix::ObjectId>, QueryError> {
    let candidates: Vec<String> = if REF_NAMESPACES.iter().any(|ns| name.starts_with(ns)) {
        vec![name.to_string()]
    } else if name.starts_with("refs/") {
        return Err(QueryError::Invalid(format!(
            "`{name}` is not a branch, tag or remote-tracking branch"
        )));
    } else {
        REF_NAMESPACES
            .iter()
            .map(|ns| format!("{ns}{name}"))
            .collect()
    };
    for full in candidates {
        let found = repo
            .try_find_reference(full.as_str())
            .map_err(|e| QueryError::Failed(e.to_string()))?;
        if let Some(mut reference) = found {
            let id = reference
                .peel_to_commit()
                .map_err(|_| QueryError::Invalid(format!("`{name}` is not a commit")))?
                .id;
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The commits reachable from the branch, tag and remote-tracking references, walked once when
/// first asked: batch queries name many commits by id (a merge model names both parents of
/// thousands of merges), and a walk per id would cost the newer history each time. Costs one
/// walk of the whole history and a set of its ids, for the invocation.
#[derive(Default)]
pub struct Reachable(Option<std::collections::HashSet<gix::ObjectId>>);

impl Reachable {
    fn contains(&mut self, repo: &gix::Repository, id: gix::ObjectId) -> Result<bool, QueryError> {
        if let Some(set) = &self.0 {
            return Ok(set.contains(&id));
        }
        let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
        let tips = ref_tips(repo)?;
        let mut set = std::collections::HashSet::new();
        if !tips.is_empty() {
            for info in repo.rev_walk(tips).all().map_err(|e| fail(&e))? {
                set.insert(info.map_err(|e| fail(&e))?.id);
            }
        }
        let found = set.contains(&id);
        self.0 = Some(set);
        Ok(found)
    }
}

/// The commits the branch, tag and remote-tracking references point to.
fn ref_tips(repo: &gix::Repository) -> Result<Vec<gix::ObjectId>, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
    let mut tips = Vec::new();
    let refs = repo.references().map_err(|e| fail(&e))?;
    for namespace in REF_NAMESPACES {
        for reference in refs.prefixed(namespace).map_err(|e| fail(&e))? {
            let Ok(mut reference) = reference else {
                continue;
            };
            if let Ok(commit) = reference.peel_to_commit() {
                tips.push(commit.id);
            }
        }
    }
    Ok(tips)
}

/// Whether commit `id` is reachable from a branch, tag or remote-tracking branch. The walk
/// goes newest first from every such tip and stops at commits older than `id` (by a week, for
/// clock skew), so it costs the history newer than `id`; a commit hidden behind a much older
/// committer date than its descendants' is refused, the safe way to be wrong.
fn reachable_from_refs(repo: &gix::Repository, id: gix::ObjectId) -> Result<bool, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
    let time = repo
        .find_commit(id)
        .map_err(|e| fail(&e))?
        .time()
        .map_err(|e| fail(&e))?
        .seconds;
    let tips = ref_tips(repo)?;
    if tips.contains(&id) {
        return Ok(true);
    }
    if tips.is_empty() {
        return Ok(false);
    }
    let walk = repo
        .rev_walk(tips)
        .sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff {
            order: Default::default(),
            seconds: time.saturating_sub(REACHABILITY_SLACK_SECONDS),
        })
        .all()
        .map_err(|e| fail(&e))?;
    for info in walk {
        if info.map_err(|e| fail(&e))?.id == id {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Commits reachable from `include` but not from `exclude`, newest first, at most `limit`.
pub fn commits(
    repo: &gix::Repository,
    include: &str,
    exclude: Option<&str>,
    limit: u32,
) -> Result<Vec<CommitInfo>, QueryError> {
    let tip = resolve_commit(repo, include)?;
    let hidden = exclude.map(|e| resolve_commit(repo, e)).transpose()?;
    let walk = repo
        .rev_walk([tip])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            Default::default(),
        ))
        .with_hidden(hidden)
        .all()
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    let mut out = Vec::new();
    for info in walk.take(limit as usize) {
        let info = info.map_err(|e| QueryError::Failed(e.to_string()))?;
        let commit = info
            .object()
            .map_err(|e| QueryError::Failed(e.to_string()))?;
        let author = commit
            .author()
            .map_err(|e| QueryError::Failed(e.to_string()))?;
        let committer = commit
            .committer()
            .map_err(|e| QueryError::Failed(e.to_string()))?;
        out.push(CommitInfo {
            id: commit.id.to_string(),
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
            author: signature(&author),
            committer: signature(&committer),
            summary: commit
                .message()
                .map(|m| m.summary().to_str_lossy().into_owned())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Paths that differ between the trees of two revisions (renames off), at most `limit`.
pub fn changed_paths(
    repo: &gix::Repository,
    from: &str,
    to: &str,
    limit: u32,
) -> Result<Vec<(String, ChangeKind)>, QueryError> {
    let tree = |rev: &str| -> Result<gix::Tree<'_>, QueryError> {
        let id = resolve_commit(repo, rev)?;
        repo.find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| QueryError::Failed(e.to_string()))
    };
    let (old, new) = (tree(from)?, tree(to)?);
    let changes = repo
        .diff_tree_to_tree(
            &old,
            &new,
            gix::diff::Options::default().with_rewrites(None),
        )
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    Ok(changes
        .iter()
        .filter(|c| !c.entry_mode().is_tree())
        .take(limit as usize)
        .map(|c| {
            let kind = match c {
                ChangeDetached::Addition { .. } => ChangeKind::Added,
                ChangeDetached::Deletion { .. } => ChangeKind::Deleted,
                _ => ChangeKind::Modified,
            };
            (c.location().to_str_lossy().into_owned(), kind)
        })
        .collect())
}

/// Checks that `path` is a plain relative path inside the tree: no `..`, no root, no `.git`.
fn check_tree_path(path: &str) -> Result<(), QueryError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == ".." || part == ".git");
    if bad {
        return Err(QueryError::Invalid(format!(
            "`{path}` is not a relative path inside the repository"
        )));
    }
    Ok(())
}

/// The blob at `path` in `rev`, if at most `max_bytes` long. A symbolic link is returned as its
/// target text: it is never followed.
pub fn read_blob(
    repo: &gix::Repository,
    rev: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, QueryError> {
    check_tree_path(path)?;
    let id = resolve_commit(repo, rev)?;
    let tree = repo
        .find_commit(id)
        .and_then(|c| c.tree())
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    let entry = tree
        .lookup_entry_by_path(path)
        .map_err(|e| QueryError::Failed(e.to_string()))?
        .ok_or_else(|| QueryError::NotFound(format!("`{path}` in `{rev}`")))?;
    if !entry.mode().is_blob_or_symlink() {
        return Err(QueryError::Invalid(format!("`{path}` is not a file")));
    }
    let header = repo
        .find_header(entry.oid())
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    if header.size() > max_bytes {
        return Err(QueryError::TooLarge(header.size()));
    }
    let blob = repo
        .find_blob(entry.oid())
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    Ok(blob.data.clone())
}

#[cfg(test)]
mod tests {
    use super::{check_tree_path, parse_steps};

    #[test]
    fn only_parent_steps_follow_a_name() {
        assert_eq!(parse_steps(""), Some(vec![]));
        assert_eq!(
            parse_steps("~2^^2~"),
            Some(vec![(true, 2), (false, 1), (false, 2), (true, 1)])
        );
        for bad in ["@{1}", "^{tree}", ":/x", "~x", "^!", "~99999999999"] {
            assert_eq!(parse_steps(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn tree_paths_cannot_escape() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "./a",
            ".git/config",
            "a\\b",
        ] {
            assert!(check_tree_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["README.md", "src/lib.rs", "a/b/c.txt", "..hidden"] {
            assert!(check_tree_path(good).is_ok(), "{good:?} refused");
        }
    }
}
