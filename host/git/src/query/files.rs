//! The files a range changed since its merge base, with sizes and, on request, what their
//! content is (binary, an LFS pointer).

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use super::super::changes::{Change, FileEntry, TreeDiffer, tree_of};
use super::super::diffstat::is_binary;
use super::super::lfs;
use super::range::commit_changes;
use super::{QueryError, QueryState, ResolvedRange};

/// How a path differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// New.
    Added,
    /// Gone.
    Deleted,
    /// Changed content or mode.
    Modified,
    /// Another kind of entry at the same path.
    TypeChanged,
}

/// What kind of entry a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// A plain file.
    Regular,
    /// An executable file.
    Executable,
    /// A symbolic link.
    Symlink,
    /// A submodule (a commit).
    Submodule,
}

/// One path a range changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path.
    pub path: String,
    /// How it changed.
    pub status: FileStatus,
    /// Its kind (the new side's, when it exists).
    pub mode: FileMode,
    /// The blob before.
    pub old_blob: Option<String>,
    /// The blob after.
    pub blob: Option<String>,
    /// Size after (before, when deleted).
    pub size: Option<u64>,
    /// git's binary test on the content after; `None` unless content was asked for.
    pub binary: Option<bool>,
    /// The size an LFS pointer declares; `None` when not a pointer or not asked for.
    pub lfs_size: Option<u64>,
    /// The newest commit of the range that changed the path, when asked for and found.
    pub commit: Option<String>,
}

impl FileChange {
    /// Bytes this answer costs against a plugin's query budget.
    pub fn cost(&self) -> u64 {
        (self.path.len() + 3 * 40 + 32) as u64
    }
}

/// What [`range_changes`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeOptions {
    /// At most this many paths.
    pub limit: u32,
    /// Read each new blob's head for `binary` and `lfs_size`.
    pub content: bool,
    /// Name each present path's commit, looking at most this many commits back (0: none).
    pub commit_limit: u32,
}

/// Bytes read from a blob to tell binary content and LFS pointers apart: git's binary probe.
const CONTENT_PROBE: usize = 8000;

/// The changes of `range` since its merge base (`base...tip`), sorted by path;
/// [`QueryError::TooLarge`] as soon as their cost passes `budget` bytes.
pub fn range_changes(
    repo: &gix::Repository,
    range: &ResolvedRange,
    options: &ChangeOptions,
    state: &mut QueryState,
    budget: u64,
) -> Result<Vec<FileChange>, QueryError> {
    crate::memory::bound_resident_memory();
    let changes = range_tree_changes(repo, range, &mut state.differ)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut cost = 0u64;
    for change in changes.iter().take(options.limit as usize) {
        let change = file_change(repo, change, options.content, &mut buf)?;
        cost += change.cost();
        if cost > budget {
            return Err(QueryError::TooLarge(cost));
        }
        out.push(change);
    }
    if options.commit_limit > 0 {
        attribute_commits(
            repo,
            range,
            options.commit_limit,
            &mut state.differ,
            &mut out,
        )?;
    }
    Ok(out)
}

/// Names, for each path still on the branch, the newest non-merge commit of the range that
/// changed it (`git log --no-merges -1 base..tip -- PATH`), walking commits newest first and
/// diffing each against its first parent until every path has one or `limit` commits are seen.
fn attribute_commits(
    repo: &gix::Repository,
    range: &ResolvedRange,
    limit: u32,
    differ: &mut TreeDiffer,
    changes: &mut [FileChange],
) -> Result<(), QueryError> {
    let mut pending: std::collections::HashMap<String, usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status != FileStatus::Deleted)
        .map(|(i, c)| (c.path.clone(), i))
        .collect();
    for id in range.commits(repo, limit, false)? {
        if pending.is_empty() {
            break;
        }
        let Some(commit_changes) = commit_changes(repo, id, differ)? else {
            continue;
        };
        for change in commit_changes {
            if let Some(i) = pending.remove(change.path.to_str_lossy().as_ref()) {
                changes[i].commit = Some(id.to_string());
            }
        }
    }
    Ok(())
}

/// The tree-level changes of `range` since its merge base (renames off).
pub(super) fn range_tree_changes(
    repo: &gix::Repository,
    range: &ResolvedRange,
    differ: &mut TreeDiffer,
) -> Result<Vec<Change>, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
    let new = tree_of(repo, range.tip).map_err(|e| fail(&e))?;
    let old = match range.diff_start(repo)? {
        Some(start) => tree_of(repo, start).map_err(|e| fail(&e))?,
        None => ObjectId::empty_tree(range.tip.kind()),
    };
    differ.changes(repo, old, new).map_err(|e| fail(&e))
}

fn file_change(
    repo: &gix::Repository,
    change: &Change,
    content: bool,
    buf: &mut Vec<u8>,
) -> Result<FileChange, QueryError> {
    let status = match (change.old, change.new) {
        (None, _) => FileStatus::Added,
        (_, None) => FileStatus::Deleted,
        (Some(o), Some(n)) if o.mode.kind() != n.mode.kind() => FileStatus::TypeChanged,
        _ => FileStatus::Modified,
    };
    let Some(side) = change.new.or(change.old) else {
        return Err(QueryError::Failed(format!(
            "`{}` changed from nothing to nothing",
            change.path.to_str_lossy()
        )));
    };
    let mode = match side.mode.kind() {
        EntryKind::BlobExecutable => FileMode::Executable,
        EntryKind::Link => FileMode::Symlink,
        EntryKind::Commit => FileMode::Submodule,
        EntryKind::Blob | EntryKind::Tree => FileMode::Regular,
    };
    let size = size(repo, side)?;
    let (binary, lfs_size) = match change.new {
        _ if !content => (None, None),
        Some(new) if new.mode.is_blob() => {
            let head = head(repo, new.id, buf)?;
            let lfs = size
                .filter(|s| *s <= lfs::MAX_POINTER_BYTES)
                .and_then(|_| lfs::pointer_size(head));
            (Some(is_binary(head)), lfs)
        }
        // Deleted, a symlink or a submodule: no content of its own.
        _ => (Some(false), None),
    };
    Ok(FileChange {
        path: change.path.to_str_lossy().into_owned(),
        status,
        mode,
        old_blob: change.old.map(|e| e.id.to_string()),
        blob: change.new.map(|e| e.id.to_string()),
        size,
        binary,
        lfs_size,
        commit: None,
    })
}

/// The size of a side's blob; `None` for a submodule.
fn size(repo: &gix::Repository, entry: FileEntry) -> Result<Option<u64>, QueryError> {
    if entry.mode.is_commit() {
        return Ok(None);
    }
    repo.find_header(entry.id)
        .map(|h| Some(h.size()))
        .map_err(|e| QueryError::Failed(format!("blob {}: {e}", entry.id)))
}

/// The first [`CONTENT_PROBE`] bytes of a blob.
fn head<'a>(
    repo: &gix::Repository,
    id: ObjectId,
    buf: &'a mut Vec<u8>,
) -> Result<&'a [u8], QueryError> {
    use gix::prelude::FindExt;
    let blob = repo
        .objects
        .find_blob(&id, buf)
        .map_err(|e| QueryError::Failed(format!("blob {id}: {e}")))?;
    let len = blob.data.len().min(CONTENT_PROBE);
    Ok(&buf[..len])
}
