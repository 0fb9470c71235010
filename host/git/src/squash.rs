//! Squash- and rebase-merge detection: a branch is squash-merged when merging it into the base
//! would change nothing. Only a merge answers that exactly; this module rules out, cheaply, the
//! branches for which a merge cannot come out unchanged.

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::changes::{Change, FileEntry};
use super::conflicts::Merger;
use super::error::{MergeError, ObjectError, ObjectKind};

/// Whether merging the branch whose changes since the merge base are `changes` could leave the
/// base tree `base_tree` unchanged. It cannot when the branch has no changes; when the base
/// still has the merge base's version of a path the branch changed (the merge would take the
/// branch's version there); or when a file both sides modified in place does not merge cleanly
/// into the base's version (rename detection never touches a path present on all three sides).
/// Otherwise a full merge decides.
pub fn may_be_squash_merged(
    repo: &gix::Repository,
    merger: &mut Merger,
    changes: &[Change],
    base_tree: ObjectId,
) -> Result<bool, MergeError> {
    if changes.is_empty() {
        return Ok(false);
    }
    let tree = repo
        .find_tree(base_tree)
        .map_err(|e| ObjectError::read(ObjectKind::Tree, base_tree, e))?;
    for change in changes {
        let entry = tree
            .lookup_entry(change.path.split_str("/"))
            .map_err(|e| ObjectError::read(ObjectKind::Tree, base_tree, e))?;
        let at_base = entry
            .filter(|e| !e.mode().is_tree())
            .map(|e| (e.mode(), e.object_id()));
        if at_base == change.old.map(|o| (o.mode, o.id)) {
            return Ok(false);
        }
        if at_base == change.new.map(|n| (n.mode, n.id)) {
            continue;
        }
        if let (Some(old), Some(new), Some((mode, id))) = (change.old, change.new, at_base) {
            let current = FileEntry { mode, id };
            let blobs = [old, current, new].iter().all(|e| e.mode.is_blob());
            let keeps = |merger: &mut Merger| {
                merger
                    .keeps_current(repo, change.path.as_ref(), [old, current, new])
                    .map_err(|reason| MergeError::Merge {
                        what: change.path.to_string(),
                        source: reason.into(),
                    })
            };
            if blobs && !keeps(merger)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
