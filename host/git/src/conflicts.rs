//! Conflict prediction: what `git merge-tree --write-tree --name-only BASE BRANCH` would report,
//! computed in memory (objects written during the merge stay in the handle's object memory).
//!
//! Like git's merge-ort, the expensive part — rename detection among thousands of files the
//! base changed since an old merge base — is avoided by merging only what can matter:
//! 1. if no path the branch changed is (or contains, or lies under) a path the base changed,
//!    the merge is clean without merging anything;
//! 2. otherwise three small trees are merged: ancestor, base and branch restricted to the
//!    paths the branch changed, the base's changes that touch them, and — only when the base
//!    deleted a path the branch changed, so a base-side rename could carry the branch's change —
//!    the base's added files as rename destinations (except exact renames of paths the branch
//!    left alone, which git pairs first).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::merge::plumbing as merge;

use super::changes::{Change, FileEntry};
use super::error::MergeError;
use super::facts::ConflictPrediction;
use super::renames;
pub use super::renames::MergeTrees;

/// Per-thread state of merges: the diff and merge platforms are set up once and reused.
pub struct Merger {
    diff_state: gix::diff::tree::State,
    diff_cache: gix::diff::blob::Platform,
    blob_merge: merge::blob::Platform,
    options: merge::tree::Options,
}

impl Merger {
    /// Sets up merging for `repo` (which should have object memory enabled).
    pub fn new(repo: &gix::Repository) -> Result<Self, MergeError> {
        let setup = |e: gix::Error| MergeError::Setup(e.into());
        let options: merge::tree::Options = repo.tree_merge_options().map_err(setup)?.into();
        Ok(Merger {
            diff_state: Default::default(),
            diff_cache: repo.diff_resource_cache_for_tree_diff().map_err(setup)?,
            blob_merge: repo
                .merge_resource_cache(Default::default())
                .map_err(setup)?,
            options,
        })
    }

    /// Predicts merging a branch into the base, given the three trees and both sides' changes
    /// since their ancestor; also tells whether the merge would leave the base unchanged.
    pub fn predict(
        &mut self,
        repo: &gix::Repository,
        trees: MergeTrees,
        base: &BaseChanges,
        branch: &[Change],
        labels: (&str, &str),
    ) -> Result<MergePrediction, MergeError> {
        let prediction = match relevant_paths(base, branch) {
            Some(paths) => self.merge_reduced(repo, base, branch, &paths, labels)?,
            // Disjoint changes: the merge applies every branch change to the base.
            None => MergePrediction {
                conflicts: ConflictPrediction::Clean,
                changes_nothing: branch.is_empty(),
            },
        };
        let mut git_only = directory_moves(repo, trees, base, branch)?;
        // A path both sides deleted may be a rename to different places on each side.
        let both_deleted: Vec<&Change> = branch
            .iter()
            .filter(|c| c.new.is_none())
            .filter(|c| {
                base.find(c.path.as_bstr())
                    .is_some_and(|i| base.changes[i].new.is_none())
            })
            .collect();
        if !both_deleted.is_empty() {
            git_only.extend(renames::split_renames(
                repo,
                &base.changes,
                branch,
                &both_deleted,
            )?);
        }
        if git_only.is_empty() {
            return Ok(prediction);
        }
        let mut paths: BTreeSet<String> = match prediction.conflicts {
            ConflictPrediction::Conflicts(paths) => paths.into_iter().collect(),
            ConflictPrediction::Clean => BTreeSet::new(),
        };
        paths.extend(git_only.iter().map(|p| p.to_str_lossy().into_owned()));
        Ok(MergePrediction {
            changes_nothing: false,
            conflicts: ConflictPrediction::Conflicts(paths.into_iter().collect()),
        })
    }

    /// Merges the reduced trees of `paths` with gix.
    fn merge_reduced(
        &mut self,
        repo: &gix::Repository,
        base: &BaseChanges,
        branch: &[Change],
        paths: &BTreeSet<BString>,
        labels: (&str, &str),
    ) -> Result<MergePrediction, MergeError> {
        let trees = ReducedTrees::build(repo, &base.changes, branch, paths)?;
        let fail = |e: gix::Error| MergeError::Merge {
            what: "the reduced trees".into(),
            source: e.into(),
        };
        let outcome = merge::tree(
            &trees.ancestor,
            &trees.base,
            &trees.branch,
            // git names files moved out of the way after the side: `path~main`.
            merge::blob::builtin_driver::text::Labels {
                ancestor: None,
                current: Some(labels.0.into()),
                other: Some(labels.1.into()),
            },
            &repo.objects,
            |buf| repo.write_blob(buf).map(|id| id.detach()),
            &mut self.diff_state,
            &mut self.diff_cache,
            &mut self.blob_merge,
            self.options.clone(),
        )
        .map_err(fail)?;
        let how = merge::tree::TreatAsUnresolved::git();
        let unresolved = outcome.has_unresolved_conflicts(how);
        let mut tree = outcome.tree;
        let merged = tree
            .write(|t| repo.write_object(t).map(|id| id.detach()))
            .map_err(|e| MergeError::Write {
                what: "the merged tree".into(),
                source: e.into(),
            })?;
        if !unresolved {
            return Ok(MergePrediction {
                conflicts: ConflictPrediction::Clean,
                changes_nothing: merged == trees.base,
            });
        }
        let mut index = gix::index::State::from_tree(&merged, &repo.objects, Default::default())
            .map_err(|e| MergeError::Merge {
                what: "the merged tree's index".into(),
                source: e.into(),
            })?;
        merge::tree::apply_index_entries(
            &outcome.conflicts,
            how,
            &mut index,
            merge::tree::apply_index_entries::RemovalMode::Prune,
        );
        let mut conflicted: BTreeSet<String> = index
            .entries()
            .iter()
            .filter(|e| e.stage_raw() != 0)
            .map(|e| e.path(&index).to_str_lossy().into_owned())
            .collect();
        // git also lists the source and both destinations of a rename/rename (1 to 2).
        for conflict in outcome.conflicts.iter().filter(|c| c.is_unresolved(how)) {
            if let Err(merge::tree::ResolutionFailure::OursRenamedTheirsRenamedDifferently {
                ..
            }) = &conflict.resolution
            {
                for path in [
                    conflict.ours.source_location(),
                    conflict.ours.location(),
                    conflict.theirs.location(),
                ] {
                    conflicted.insert(path.to_str_lossy().into_owned());
                }
            }
        }
        Ok(MergePrediction {
            changes_nothing: false,
            conflicts: ConflictPrediction::Conflicts(conflicted.into_iter().collect()),
        })
    }
}

impl Merger {
    /// Whether the three-way content merge of one file (ancestor, current = base, other =
    /// branch) is clean and leaves the current version as it is.
    pub fn keeps_current(
        &mut self,
        repo: &gix::Repository,
        path: &BStr,
        [ancestor, current, other]: [FileEntry; 3],
    ) -> Result<bool, MergeError> {
        use merge::blob::ResourceKind;
        let fail = |e: gix::Error| MergeError::Merge {
            what: path.to_string(),
            source: e.into(),
        };
        for (entry, kind) in [
            (ancestor, ResourceKind::CommonAncestorOrBase),
            (current, ResourceKind::CurrentOrOurs),
            (other, ResourceKind::OtherOrTheirs),
        ] {
            self.blob_merge
                .set_resource(entry.id, entry.mode.kind(), path, kind, &repo.objects)
                .map_err(fail)?;
        }
        let prep = self
            .blob_merge
            .prepare_merge(&repo.objects, self.options.blob_merge)
            .map_err(fail)?;
        let mut out = Vec::new();
        let (pick, resolution) = prep
            .merge(
                &mut out,
                Default::default(),
                &self.options.blob_merge_command_ctx,
            )
            .map_err(fail)?;
        if resolution == merge::blob::Resolution::Conflict {
            return Ok(false);
        }
        let merged = match prep.buffer_by_pick(pick) {
            Ok(Some(data)) => data,
            Ok(None) => &out[..],
            Err(()) => return Ok(false),
        };
        Ok(prep.current.data.as_slice() == Some(merged))
    }
}

/// The base's changes since an ancestor, sorted by path: computed once per ancestor and
/// shared by every branch merged against it, so finding the base changes a branch touches
/// costs binary searches per branch path rather than a pass over all base changes.
pub struct BaseChanges {
    changes: Vec<Change>,
}

impl BaseChanges {
    /// Sorts `changes` by path.
    pub fn new(mut changes: Vec<Change>) -> Self {
        changes.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        BaseChanges { changes }
    }

    fn find(&self, path: &BStr) -> Option<usize> {
        self.changes
            .binary_search_by(|c| c.path.as_bstr().cmp(path))
            .ok()
    }

    /// Whether a change below directory `dir` satisfies `pred`.
    fn any_below(&self, dir: &BStr, pred: impl Fn(&Change) -> bool) -> bool {
        self.changes[self.below(dir)].iter().any(pred)
    }

    /// The indices of the changes under `dir/`: one run in byte order.
    fn below(&self, dir: &BStr) -> std::ops::Range<usize> {
        let mut prefix = BString::from(dir);
        prefix.push(b'/');
        let start = self.changes.partition_point(|c| c.path < prefix);
        let len = self.changes[start..]
            .iter()
            .take_while(|c| c.path.starts_with(&prefix))
            .count();
        start..start + len
    }

    /// Indices of the changes to `path` itself, to a directory holding it (a file on the base
    /// side where the branch has a directory) and below it (the other way round).
    fn touching(&self, path: &BStr, out: &mut BTreeSet<usize>) {
        out.extend(self.find(path));
        for dir in renames::parent_dirs(path) {
            out.extend(self.find(dir));
        }
        out.extend(self.below(path));
    }
}

/// Where git's directory rename detection moves files one side added into a directory the
/// other side renamed (each such move is a conflict).
fn directory_moves(
    repo: &gix::Repository,
    trees: MergeTrees,
    base: &BaseChanges,
    branch: &[Change],
) -> Result<BTreeSet<BString>, MergeError> {
    // A directory rename needs a directory one side emptied by deleting (renaming) its files
    // while the other side added a file in it.
    let branch_added: Vec<&BStr> = branch
        .iter()
        .filter(|c| c.old.is_none())
        .map(|c| c.path.as_bstr())
        .collect();
    let base_renamed: BTreeSet<BString> = branch_added
        .iter()
        .flat_map(|p| renames::parent_dirs(p))
        .filter(|d| base.any_below(d, |c| c.new.is_none()))
        .map(BString::from)
        .collect();
    let mut moved = renames::file_location_conflicts(
        repo,
        trees.ancestor,
        trees.base,
        &base.changes,
        &branch_added,
        &base_renamed,
    )?;
    let branch_renamed: BTreeSet<BString> = branch
        .iter()
        .filter(|c| c.new.is_none())
        .flat_map(|c| renames::parent_dirs(c.path.as_bstr()))
        .filter(|d| base.any_below(d, |c| c.old.is_none()))
        .map(BString::from)
        .collect();
    if !branch_renamed.is_empty() {
        let base_added: Vec<&BStr> = base
            .changes
            .iter()
            .filter(|c| c.old.is_none())
            .map(|c| c.path.as_bstr())
            .collect();
        moved.extend(renames::file_location_conflicts(
            repo,
            trees.ancestor,
            trees.branch,
            branch,
            &base_added,
            &branch_renamed,
        )?);
    }
    Ok(moved)
}

/// The paths worth merging, or `None` when the two sides cannot interact.
fn relevant_paths(base: &BaseChanges, branch: &[Change]) -> Option<BTreeSet<BString>> {
    let mut touched = BTreeSet::new();
    for change in branch {
        base.touching(change.path.as_bstr(), &mut touched);
    }
    if touched.is_empty() {
        return None;
    }
    let base_changes = &base.changes;
    let touching: Vec<&Change> = touched.iter().map(|&i| &base_changes[i]).collect();
    let branch_paths: HashSet<&BStr> = branch.iter().map(|c| c.path.as_bstr()).collect();
    let mut paths: BTreeSet<BString> = branch.iter().map(|c| c.path.clone()).collect();
    paths.extend(touching.iter().map(|c| c.path.clone()));
    // A base-side deletion of a path the branch changed may be a rename carrying that change.
    if touching.iter().any(|c| c.new.is_none()) {
        let untouched_deleted: HashSet<ObjectId> = base_changes
            .iter()
            .filter(|c| c.new.is_none() && !branch_paths.contains(c.path.as_bstr()))
            .filter_map(|c| c.old.map(|o| o.id))
            .collect();
        paths.extend(
            base_changes
                .iter()
                .filter(|c| c.old.is_none())
                .filter(|c| c.new.is_some_and(|n| !untouched_deleted.contains(&n.id)))
                .map(|c| c.path.clone()),
        );
    }
    Some(paths)
}

/// The name of the file keeping a directory of a reduced tree alive (a name valid in an
/// index, which no real repository is expected to use).
const KEEP: &str = "/.trellis-keep-9c4e2f7a";

/// Ancestor, base and branch trees restricted to a set of paths, written to object memory.
struct ReducedTrees {
    ancestor: ObjectId,
    base: ObjectId,
    branch: ObjectId,
}

impl ReducedTrees {
    fn build(
        repo: &gix::Repository,
        base: &[Change],
        branch: &[Change],
        paths: &BTreeSet<BString>,
    ) -> Result<Self, MergeError> {
        let by_path = |changes: &[Change]| -> BTreeMap<BString, Change> {
            changes
                .iter()
                .filter(|c| paths.contains(&c.path))
                .map(|c| (c.path.clone(), c.clone()))
                .collect()
        };
        let base = by_path(base);
        let branch = by_path(branch);
        let mut ancestor_entries = Vec::new();
        let mut base_entries = Vec::new();
        let mut branch_entries = Vec::new();
        // A directory must not vanish just because the paths around it were left out, or the
        // merge would see whole directories deleted or renamed: an unchanged empty file in
        // each keeps it alive on all sides.
        let keep: BTreeSet<BString> = paths
            .iter()
            .flat_map(|p| renames::parent_dirs(p.as_bstr()))
            .map(|dir| {
                let mut keep = BString::from(dir);
                keep.extend_from_slice(KEEP.as_bytes());
                keep
            })
            .collect();
        // The tree editor checks that entries exist; the empty blob goes to object memory.
        let empty_blob = repo.write_blob(b"").map_err(|e| MergeError::Write {
            what: "the empty blob".into(),
            source: e.into(),
        })?;
        let empty = Some(FileEntry {
            mode: gix::objs::tree::EntryKind::Blob.into(),
            id: empty_blob.detach(),
        });
        for path in &keep {
            ancestor_entries.push((path, empty));
            base_entries.push((path, empty));
            branch_entries.push((path, empty));
        }
        for path in paths {
            let (b, t) = (base.get(path), branch.get(path));
            let ancestor = t.or(b).and_then(|c| c.old);
            ancestor_entries.push((path, ancestor));
            base_entries.push((path, b.map_or(ancestor, |c| c.new)));
            branch_entries.push((path, t.map_or(ancestor, |c| c.new)));
        }
        Ok(ReducedTrees {
            ancestor: write_tree(repo, &ancestor_entries)?,
            base: write_tree(repo, &base_entries)?,
            branch: write_tree(repo, &branch_entries)?,
        })
    }
}

fn write_tree(
    repo: &gix::Repository,
    entries: &[(&BString, Option<FileEntry>)],
) -> Result<ObjectId, MergeError> {
    let fail = |e: gix::Error| MergeError::Write {
        what: "a reduced tree".into(),
        source: e.into(),
    };
    let mut editor = repo
        .edit_tree(ObjectId::empty_tree(repo.object_hash()))
        .map_err(fail)?;
    for (path, entry) in entries {
        if let Some(entry) = entry {
            editor
                .upsert(path.as_bstr(), entry.mode.kind(), entry.id)
                .map_err(fail)?;
        }
    }
    editor.write().map(|id| id.detach()).map_err(fail)
}

/// What merging a branch into the base would do.
pub struct MergePrediction {
    pub conflicts: ConflictPrediction,
    /// The merge is clean and its result is the base tree: the branch is squash- or
    /// rebase-merged (or has no net changes).
    pub changes_nothing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str) -> Change {
        Change {
            path: path.into(),
            old: None,
            new: None,
        }
    }

    #[test]
    fn base_changes_touching_a_path_are_found_by_path_parent_and_prefix() {
        let base = BaseChanges::new(
            ["b", "a/c/d", "a-b", "a", "a/b", "a0", "ab/x"]
                .into_iter()
                .map(change)
                .collect(),
        );
        let touching = |path: &str| -> Vec<String> {
            let mut out = BTreeSet::new();
            base.touching(path.into(), &mut out);
            out.into_iter()
                .map(|i| base.changes[i].path.to_string())
                .collect()
        };
        assert_eq!(touching("a"), ["a", "a/b", "a/c/d"]);
        assert_eq!(touching("a/b/x"), ["a", "a/b"]);
        assert_eq!(touching("a/c"), ["a", "a/c/d"]);
        assert_eq!(touching("ab"), ["ab/x"]);
        assert!(touching("c").is_empty());
    }
}
