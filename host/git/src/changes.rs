//! The file-level changes between two trees, renames off: the common input of diffstat,
//! squash detection and conflict prediction.

use gix::ObjectId;
use gix::bstr::BString;
use gix::objs::tree::EntryMode;

use super::error::{ObjectError, ObjectKind, TreeFactsError};

/// A file (blob, symlink or submodule) in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry {
    pub mode: EntryMode,
    pub id: ObjectId,
}

/// One path that differs; `None` on a side means the path does not exist there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: BString,
    pub old: Option<FileEntry>,
    pub new: Option<FileEntry>,
}

/// Reusable state of tree diffs, one per worker thread.
#[derive(Default)]
pub struct TreeDiffer {
    state: gix::diff::tree::State,
    old_buf: Vec<u8>,
    new_buf: Vec<u8>,
}

impl TreeDiffer {
    /// The changes from tree `old` to tree `new`, sorted by path. A file replaced by a
    /// directory (or the reverse) is a deletion plus additions, as in `git diff`.
    pub fn changes(
        &mut self,
        repo: &gix::Repository,
        old: ObjectId,
        new: ObjectId,
    ) -> Result<Vec<Change>, TreeFactsError> {
        let old_iter = tree_iter(repo, old, &mut self.old_buf)?;
        let new_iter = tree_iter(repo, new, &mut self.new_buf)?;
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            old_iter,
            new_iter,
            &mut self.state,
            &repo.objects,
            &mut recorder,
        )
        .map_err(|e| TreeFactsError::Diff {
            old,
            new,
            source: e.into(),
        })?;
        let mut out = Vec::with_capacity(recorder.records.len());
        let file =
            |mode: EntryMode, id: ObjectId| (!mode.is_tree()).then_some(FileEntry { mode, id });
        use gix::diff::tree::recorder::Change as R;
        for record in recorder.records {
            let change = match record {
                R::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => file(entry_mode, oid).map(|new| Change {
                    path,
                    old: None,
                    new: Some(new),
                }),
                R::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => file(entry_mode, oid).map(|old| Change {
                    path,
                    old: Some(old),
                    new: None,
                }),
                R::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } => {
                    let old = file(previous_entry_mode, previous_oid);
                    let new = file(entry_mode, oid);
                    (old.is_some() || new.is_some()).then_some(Change { path, old, new })
                }
            };
            out.extend(change);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// The entries of tree `id`. git never stores the empty tree (the "before" of a root commit, or
/// of unrelated histories): it is known, not read.
fn tree_iter<'a>(
    repo: &gix::Repository,
    id: ObjectId,
    buf: &'a mut Vec<u8>,
) -> Result<gix::objs::TreeRefIter<'a>, ObjectError> {
    use gix::prelude::FindExt;
    if id == ObjectId::empty_tree(id.kind()) {
        return Ok(gix::objs::TreeRefIter::from_bytes(&[], id.kind()));
    }
    repo.objects
        .find_tree_iter(&id, buf)
        .map_err(|e| ObjectError::read(ObjectKind::Tree, id, e))
}

/// The root tree of commit `id`.
pub fn tree_of(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, ObjectError> {
    repo.find_commit(id)
        .map_err(|e| ObjectError::read(ObjectKind::Commit, id, e))?
        .tree_id()
        .map(|t| t.detach())
        .map_err(|e| ObjectError::read(ObjectKind::Commit, id, e))
}
