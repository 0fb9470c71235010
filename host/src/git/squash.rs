//! Squash- and rebase-merge detection: a branch is squash-merged when merging it into the base
//! would change nothing, i.e. every path it changed since the merge base already has, at the
//! base tip, exactly the content (and mode) the branch gives it.

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::changes::Change;

/// Whether the branch whose changes since the merge base are `changes` is already contained
/// in the base tree `base_tree`. A branch without net changes is not squash-merged.
pub fn is_squash_merged(
    repo: &gix::Repository,
    changes: &[Change],
    base_tree: ObjectId,
) -> Result<bool, String> {
    if changes.is_empty() {
        return Ok(false);
    }
    let tree = repo
        .find_tree(base_tree)
        .map_err(|e| format!("cannot read tree {base_tree}: {e}"))?;
    for change in changes {
        let entry = tree
            .lookup_entry(change.path.split_str("/"))
            .map_err(|e| format!("cannot look up {} at the base: {e}", change.path))?;
        let at_base = entry
            .filter(|e| !e.mode().is_tree())
            .map(|e| (e.mode(), e.object_id()));
        if at_base != change.new.map(|n| (n.mode, n.id)) {
            return Ok(false);
        }
    }
    Ok(true)
}
