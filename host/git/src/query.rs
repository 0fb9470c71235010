//! Bounded git queries that plugins may ask for through the host (with a grant).
//!
//! Every answer is capped by the caller's limits; paths are tree paths inside the repository's
//! object database, never file-system paths, so nothing here can reach outside the repository.

use gix::bstr::ByteSlice;
use gix::object::tree::diff::ChangeDetached;

use super::facts::Signature;
use super::graph::signature;

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

/// Resolves a revision to a commit id.
fn resolve_commit(repo: &gix::Repository, rev: &str) -> Result<gix::ObjectId, QueryError> {
    if rev.is_empty() || rev.len() > 256 {
        return Err(QueryError::Invalid(format!("bad revision `{rev}`")));
    }
    let id = repo
        .rev_parse_single(rev)
        .map_err(|_| QueryError::NotFound(format!("revision `{rev}`")))?;
    let commit = id
        .object()
        .map_err(|e| QueryError::Failed(e.to_string()))?
        .peel_to_commit()
        .map_err(|_| QueryError::Invalid(format!("`{rev}` is not a commit")))?;
    Ok(commit.id)
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
    use super::check_tree_path;

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
