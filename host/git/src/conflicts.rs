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
use gix::objs::Write as _;

use super::changes::{Change, FileEntry, TreeDiffer, tree_of};
use super::diffstat::is_binary;
use super::error::{MergeError, TreeFactsError};
use super::facts::ConflictPrediction;
use super::renames;
pub use super::renames::MergeTrees;
use super::xdiff;

/// Per-thread state of merges: the diff and merge platforms are set up once and reused.
pub struct Merger {
    diff_state: gix::diff::tree::State,
    diff_cache: gix::diff::blob::Platform,
    blob_merge: merge::blob::Platform,
    options: merge::tree::Options,
    /// `merge.conflictStyle`, which git's text merge also depends on.
    style: xdiff::ConflictStyle,
    /// git's rename similarity, with the span hashes of the blobs seen so far.
    similarity: renames::Similarity,
    /// The options of merges between merge bases (see [`Merger::merge_virtual`]).
    virtual_options: merge::tree::Options,
    /// Tree diffs of merges between merge bases.
    differ: TreeDiffer,
}

impl Merger {
    /// Sets up merging for `repo` (which should have object memory enabled).
    pub fn new(repo: &gix::Repository) -> Result<Self, String> {
        let setup = |e: gix::Error| format!("cannot set up merging: {e}");
        let mut options: merge::tree::Options = repo.tree_merge_options().map_err(setup)?.into();
        // git's merges (merge-ort, `merge-tree`) diff with histogram whatever `diff.algorithm`
        // says; gix takes `diff.algorithm` (default Myers), which pairs lines differently and
        // can merge cleanly what git reports as a content conflict.
        options.blob_merge.text.diff_algorithm = gix::diff::blob::Algorithm::Histogram;
        let virtual_options = virtual_options(options.clone());
        // Renames are paired by git's rules before merging (see `Relocation`): gix's own
        // pairing (a line-diff similarity, another order) disagrees with git's.
        options.rewrites = None;
        use merge::blob::builtin_driver::text::{Conflict, ConflictStyle};
        let style = match options.blob_merge.text.conflict {
            Conflict::Keep {
                style: ConflictStyle::Diff3,
                ..
            } => xdiff::ConflictStyle::Diff3,
            Conflict::Keep {
                style: ConflictStyle::ZealousDiff3,
                ..
            } => xdiff::ConflictStyle::ZealousDiff3,
            _ => xdiff::ConflictStyle::Merge,
        };
        Ok(Merger {
            diff_state: Default::default(),
            diff_cache: repo.diff_resource_cache_for_tree_diff().map_err(setup)?,
            blob_merge: repo
                .merge_resource_cache(Default::default())
                .map_err(setup)?,
            options,
            style,
            similarity: Default::default(),
            virtual_options,
            differ: TreeDiffer::default(),
        })
    }

    /// Merges the trees `[ancestor, ours, theirs]` of two merge bases as git's merge-ort does
    /// at `depth` (≥ 1) of a virtual merge base, and returns the merged tree, written to the
    /// object memory: what cannot be merged keeps the ancestor's version, text conflicts keep
    /// their markers.
    fn merge_virtual(
        &mut self,
        repo: &gix::Repository,
        [ancestor, ours, theirs]: [ObjectId; 3],
        depth: u8,
    ) -> Result<ObjectId, String> {
        let mut options = self.virtual_options.clone();
        options.marker_size_multiplier = depth;
        let [ancestor, ours, theirs] =
            self.without_irrelevant_sources(repo, [ancestor, ours, theirs])?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            merge::tree(
                &ancestor,
                &ours,
                &theirs,
                merge::blob::builtin_driver::text::Labels {
                    ancestor: None,
                    current: Some(VIRTUAL_LABELS[0].into()),
                    other: Some(VIRTUAL_LABELS[1].into()),
                },
                &repo.objects,
                |buf| repo.write_blob(buf).map(|id| id.detach()),
                &mut self.diff_state,
                &mut self.diff_cache,
                &mut self.blob_merge,
                options,
            )
        }))
        .map_err(panic_reason)?
        .map_err(|e| format!("merging merge bases failed: {e}"))?;
        let mut outcome = outcome;
        let markers = MARKER_SIZE + 2 * usize::from(depth);
        self.redo_content_merges(repo, &mut outcome, Some(markers))?;
        outcome
            .tree
            .write(|t| repo.write_object(t).map(|id| id.detach()))
            .map_err(|e| format!("cannot write the merged tree: {e}"))
    }

    /// The trees `[ancestor, ours, theirs]` without the files one side deleted and the other
    /// left as they were, which cannot change the merge (the result lacks them either way) but
    /// would each be a rename source for gix to compare with every added file: dozens of
    /// merges of git/git's 4,500-file tree spent 70% of their time there. git's merge-ort skips
    /// them the same way ("relevant sources"). A source is kept where it could still matter:
    /// when the deleting side added a file with its exact content (git pairs exact renames
    /// first, whatever their relevance), or when the other side added files in its directory
    /// or one above (a directory rename would move them).
    fn without_irrelevant_sources(
        &mut self,
        repo: &gix::Repository,
        [ancestor, ours, theirs]: [ObjectId; 3],
    ) -> Result<[ObjectId; 3], String> {
        let diff = |differ: &mut TreeDiffer, new: ObjectId| {
            differ
                .changes(repo, ancestor, new)
                .map_err(|e| format!("cannot diff merge bases: {e}"))
        };
        let ours_changes = diff(&mut self.differ, ours)?;
        let theirs_changes = diff(&mut self.differ, theirs)?;
        let irrelevant = |side: &[Change], other: &[Change]| -> Vec<BString> {
            let added: HashSet<ObjectId> = side
                .iter()
                .filter_map(|c| c.new.filter(|_| c.old.is_none()).map(|e| e.id))
                .collect();
            let touched: HashSet<&BStr> = other.iter().map(|c| c.path.as_bstr()).collect();
            let added_dirs: HashSet<&BStr> = other
                .iter()
                .filter(|c| c.old.is_none())
                .map(|c| dirname(c.path.as_bstr()))
                .filter(|d| !d.is_empty())
                .collect();
            side.iter()
                .filter(|c| c.new.is_none())
                .filter(|c| !touched.contains(c.path.as_bstr()))
                .filter(|c| c.old.is_some_and(|e| !added.contains(&e.id)))
                .filter(|c| {
                    let mut dir = dirname(c.path.as_bstr());
                    while !dir.is_empty() {
                        if added_dirs.contains(dir) {
                            return false;
                        }
                        dir = dirname(dir);
                    }
                    true
                })
                .map(|c| c.path.clone())
                .collect()
        };
        let from_ours = irrelevant(&ours_changes, &theirs_changes);
        let from_theirs = irrelevant(&theirs_changes, &ours_changes);
        if from_ours.is_empty() && from_theirs.is_empty() {
            return Ok([ancestor, ours, theirs]);
        }
        let fail = |e: gix::Error| format!("cannot edit a merge base's tree in memory: {e}");
        let without = |tree: ObjectId, paths: &[&[BString]]| -> Result<ObjectId, String> {
            let mut editor = repo.edit_tree(tree).map_err(fail)?;
            for path in paths.iter().flat_map(|p| p.iter()) {
                editor.remove(path.as_bstr()).map_err(fail)?;
            }
            editor.write().map(|id| id.detach()).map_err(fail)
        };
        Ok([
            without(ancestor, &[&from_ours, &from_theirs])?,
            without(ours, &[&from_theirs])?,
            without(theirs, &[&from_ours])?,
        ])
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
    ) -> Result<MergePrediction, String> {
        // gix's diff platform keeps every blob it was given until told otherwise: on git/git
        // that grew a scan by tens of MiB. Emptied once per branch (its merges share blobs;
        // branches rarely do), it holds at most one branch's.
        self.diff_cache.clear_resource_cache();
        // git's renames of the files one side deleted and the other changed decide where the
        // other side's change lands; files added into a directory the other side renamed
        // move with it. Both are applied to the changes gix merges.
        let base_contested = contested(&base.changes, branch);
        let branch_contested = contested(branch, &base.changes);
        let on_base = if base_contested.is_empty() {
            Vec::new()
        } else {
            let mut traversal = renames::Traversal::new(repo, trees.ancestor, trees.branch)?;
            renames::contested_renames(
                repo,
                &mut self.similarity,
                &mut traversal,
                &base.changes,
                &base_contested,
            )?
        };
        let on_branch = if branch_contested.is_empty() {
            Vec::new()
        } else {
            let mut traversal = renames::Traversal::new(repo, trees.ancestor, trees.base)?;
            renames::contested_renames(
                repo,
                &mut self.similarity,
                &mut traversal,
                branch,
                &branch_contested,
            )?
        };
        let moves = directory_moves(repo, &mut self.similarity, trees, base, branch)?;
        let mut unclean = moves.unclean;
        let mut git_only: BTreeSet<BString> = moves
            .branch
            .iter()
            .chain(&moves.base)
            .map(|(_, new)| new.clone())
            .collect();
        let relocated = Relocation::apply(
            self,
            repo,
            &base.changes,
            branch,
            &on_base,
            &on_branch,
            &moves,
        )?;
        git_only.extend(relocated.conflicted.iter().cloned());
        git_only.extend(relocated.split.iter().cloned());
        // A file the base changed and the branch renamed: the merge puts the base's version at
        // the branch's new name, so its result is not the base's tree even when the reduced
        // trees (built from the moved changes) agree. Squash detection must not call such a
        // branch merged. A file both sides renamed (the base deleted it here) moves nothing of
        // the base's: tokio's `pr/6234` renamed a file as the base had, and is squash-merged.
        let base_moved = on_branch.iter().any(|(source, _)| {
            base.find(source.as_bstr())
                .is_some_and(|i| base.changes[i].new.is_some())
        });
        let owned_base;
        let base = match relocated.base {
            Some(changes) => {
                owned_base = BaseChanges::new(changes);
                &owned_base
            }
            None => base,
        };
        let branch = relocated.branch.as_deref().unwrap_or(branch);
        let mut prediction = match relevant_paths(base, branch) {
            Some(paths) => self.merge_reduced(repo, base, branch, &paths, labels)?,
            // Disjoint changes: the merge applies every branch change to the base.
            None => MergePrediction {
                conflicts: ConflictPrediction::Clean,
                changes_nothing: branch.is_empty(),
            },
        };
        prediction.changes_nothing &= !base_moved && !relocated.base_rewritten;
        unclean |= !git_only.is_empty();
        if !unclean {
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
    ) -> Result<MergePrediction, String> {
        let trees = ReducedTrees::build(repo, &base.changes, branch, paths)?;
        let fail = |e: gix::Error| format!("merge failed: {e}");
        // A panic in gix (a debug assertion it trips on some rename shapes) must not take the
        // whole scan down: this branch's merge facts are then unknown, with the reason.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            merge::tree(
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
        }))
        .map_err(panic_reason)?
        .map_err(fail)?;
        let mut outcome = outcome;
        self.redo_content_merges(repo, &mut outcome, None)?;
        let how = merge::tree::TreatAsUnresolved::git();
        let unresolved = outcome.has_unresolved_conflicts(how);
        let mut tree = outcome.tree;
        let merged = tree
            .write(|t| repo.write_object(t).map(|id| id.detach()))
            .map_err(|e| format!("cannot write the merged tree: {e}"))?;
        if !unresolved {
            return Ok(MergePrediction {
                conflicts: ConflictPrediction::Clean,
                changes_nothing: merged == trees.base,
            });
        }
        let mut index = gix::index::State::from_tree(&merged, &repo.objects, LISTING_ONLY)
            .map_err(|e| format!("cannot index the merged tree: {e}"))?;
        // A file whose only conflict is its content is listed where it ends up, as git does
        // (gix stages the ancestor of a renamed file at its old path).
        let (content_only, others): (Vec<_>, Vec<_>) = outcome
            .conflicts
            .iter()
            .filter(|c| c.is_unresolved(how))
            .cloned()
            .partition(is_content_conflict);
        merge::tree::apply_index_entries(
            &others,
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
        conflicted.extend(
            content_only
                .iter()
                .map(|c| content_location(c).to_str_lossy().into_owned()),
        );
        for conflict in outcome.conflicts.iter().filter(|c| c.is_unresolved(how)) {
            use merge::tree::ResolutionFailure as Failure;
            match &conflict.resolution {
                // git also lists the source and both destinations of a rename/rename (1 to 2).
                Err(Failure::OursRenamedTheirsRenamedDifferently { .. }) => {
                    for path in [
                        conflict.ours.source_location(),
                        conflict.ours.location(),
                        conflict.theirs.location(),
                    ] {
                        conflicted.insert(path.to_str_lossy().into_owned());
                    }
                }
                Err(Failure::Unknown) => {
                    if let Some(moved) = distinct_types(conflict, labels) {
                        let path = conflict.ours.location().to_str_lossy().into_owned();
                        if moved.iter().all(Option::is_some) {
                            conflicted.remove(&path);
                        }
                        conflicted.extend(moved.into_iter().flatten());
                    }
                }
                _ => {}
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
    ) -> Result<bool, String> {
        if let Some(text) = self.text_merge(
            repo,
            path,
            [Some(ancestor), Some(current), Some(other)],
            None,
        )? {
            return Ok(text.merged.text.is_some_and(|t| t == text.current));
        }
        use merge::blob::ResourceKind;
        let fail = |e: gix::Error| format!("cannot merge {path}: {e}");
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

    /// The clean merge of the three versions of a file renamed to `path` (written to object
    /// memory), `None` when they conflict or git would not merge them as text.
    fn merge_renamed(
        &mut self,
        repo: &gix::Repository,
        path: &BStr,
        ancestor: Option<FileEntry>,
        renamed: FileEntry,
        changed: FileEntry,
    ) -> Result<Option<FileEntry>, String> {
        let Some(ancestor) = ancestor else {
            return Ok(None);
        };
        // The executable bit merges as a three-way choice too.
        let mode = match (renamed.mode == ancestor.mode, changed.mode == ancestor.mode) {
            (true, _) => changed.mode,
            (false, true) => renamed.mode,
            (false, false) if renamed.mode == changed.mode => renamed.mode,
            (false, false) => return Ok(None),
        };
        let sides = [Some(ancestor), Some(renamed), Some(changed)];
        let Some(text) = self
            .text_merge(repo, path, sides, None)?
            .and_then(|m| m.merged.text.filter(|_| m.merged.conflicts == 0))
        else {
            return Ok(None);
        };
        let id = repo
            .write_blob(text)
            .map_err(|e| format!("cannot write the merge of {path}: {e}"))?;
        Ok(Some(FileEntry {
            mode,
            id: id.detach(),
        }))
    }

    /// git's content merge of one file (`None` where git would not merge it as text — a merge
    /// driver from the attributes, binary or too large content: gix's merge stands there).
    ///
    /// With `markers`, conflicts are written into the merged text (a merge between merge
    /// bases); without, the text is only there when the merge is clean.
    fn text_merge(
        &mut self,
        repo: &gix::Repository,
        path: &BStr,
        sides: [Option<FileEntry>; 3],
        markers: Option<xdiff::Markers<'_>>,
    ) -> Result<Option<TextMerge>, String> {
        use merge::blob::platform::{DriverChoice, resource::Data};
        use merge::blob::{BuiltinDriver, ResourceKind};
        let fail = |e: gix::Error| format!("cannot merge {path}: {e}");
        let kinds = [
            ResourceKind::CommonAncestorOrBase,
            ResourceKind::CurrentOrOurs,
            ResourceKind::OtherOrTheirs,
        ];
        for (entry, kind) in sides.into_iter().zip(kinds) {
            let (id, mode) = match entry {
                Some(e) if e.mode.is_blob() => (e.id, e.mode.kind()),
                Some(_) => return Ok(None),
                None => (
                    ObjectId::null(repo.object_hash()),
                    gix::objs::tree::EntryKind::Blob,
                ),
            };
            self.blob_merge
                .set_resource(id, mode, path, kind, &repo.objects)
                .map_err(fail)?;
        }
        let prep = self
            .blob_merge
            .prepare_merge(&repo.objects, self.options.blob_merge)
            .map_err(fail)?;
        if prep.driver != DriverChoice::BuiltIn(BuiltinDriver::Text) {
            return Ok(None);
        }
        fn bytes(data: Data<'_>) -> Option<&[u8]> {
            match data {
                Data::Missing => Some(&b""[..]),
                Data::Buffer(buf) => Some(buf),
                Data::TooLarge { .. } => None,
            }
        }
        let (Some(ancestor), Some(current), Some(other)) = (
            bytes(prep.ancestor.data),
            bytes(prep.current.data),
            bytes(prep.other.data),
        ) else {
            return Ok(None);
        };
        if [ancestor, current, other].into_iter().any(is_binary) {
            return Ok(None);
        }
        let unmergeable = |_| format!("git cannot merge {path}: its histogram diff gives up on it");
        let merged = match markers {
            // merge-ort writes the conflicts of merge bases in the `merge` style only when
            // that is the configured style; git's other styles are left to gix there.
            Some(markers) if self.style == xdiff::ConflictStyle::Merge => {
                let (conflicts, text) =
                    xdiff::merge_with_markers(ancestor, current, other, markers)
                        .map_err(unmergeable)?;
                xdiff::Merged {
                    conflicts,
                    text: Some(text),
                }
            }
            Some(_) => return Ok(None),
            None => xdiff::merge(ancestor, current, other, self.style).map_err(unmergeable)?,
        };
        Ok(Some(TextMerge {
            merged,
            current: current.to_vec(),
        }))
    }

    /// Redoes gix's content merges with git's algorithm: its verdict replaces gix's, and a
    /// clean result takes the place of gix's merged blob in the tree. In a merge between merge
    /// bases (`marker_size` given) conflicted text takes that place too, with git's markers.
    fn redo_content_merges(
        &mut self,
        repo: &gix::Repository,
        outcome: &mut merge::tree::Outcome<'_>,
        marker_size: Option<usize>,
    ) -> Result<(), String> {
        use merge::tree::Resolution;
        for conflict in &mut outcome.conflicts {
            let Some(content) = conflict.content_merge() else {
                continue;
            };
            // The versions come from the changes: the conflict's index entries may already
            // hold gix's merge result.
            use gix::diff::tree_with_rewrites::Change as C;
            let location = content_location(conflict).to_owned();
            let file = |(mode, id): (gix::objs::tree::EntryMode, &gix::oid)| FileEntry {
                mode,
                id: id.to_owned(),
            };
            let ancestor = match (&conflict.ours, &conflict.theirs) {
                (C::Addition { .. }, C::Addition { .. }) => None,
                (c @ (C::Modification { .. } | C::Rewrite { .. }), _) | (_, c) => {
                    Some(file(c.source_entry_mode_and_id()))
                }
            };
            let sides = [
                ancestor,
                Some(file(conflict.ours.entry_mode_and_id())),
                Some(file(conflict.theirs.entry_mode_and_id())),
            ];
            let names = marker_size.map(|_| virtual_names(conflict));
            let markers = marker_size
                .zip(names.as_ref())
                .map(|(size, [ours, theirs])| xdiff::Markers {
                    size,
                    ours: ours.as_slice(),
                    theirs: theirs.as_slice(),
                });
            let Some(text) = self.text_merge(repo, location.as_bstr(), sides, markers)? else {
                continue;
            };
            let merged_blob_id = match &text.merged.text {
                Some(data) => repo
                    .write_blob(data)
                    .map_err(|e| format!("cannot write a blob to memory: {e}"))?
                    .detach(),
                None => content.merged_blob_id,
            };
            let resolution = if text.merged.conflicts == 0 {
                merge::blob::Resolution::Complete
            } else {
                merge::blob::Resolution::Conflict
            };
            if resolution == content.resolution && merged_blob_id == content.merged_blob_id {
                continue;
            }
            let git = merge::tree::ContentMerge {
                resolution,
                merged_blob_id,
            };
            match &mut conflict.resolution {
                Ok(Resolution::OursModifiedTheirsModifiedThenBlobContentMerge { merged_blob }) => {
                    *merged_blob = git
                }
                Ok(Resolution::OursModifiedTheirsRenamedAndChangedThenRename {
                    merged_blob: Some(merged_blob),
                    final_location: None,
                    ..
                }) => *merged_blob = git,
                _ => continue,
            }
            if text.merged.text.is_some() {
                let mode = sides[1]
                    .or(sides[2])
                    .map_or(gix::objs::tree::EntryKind::Blob, |e| e.mode.kind());
                outcome
                    .tree
                    .upsert(location.split_str("/"), mode, merged_blob_id)
                    .map_err(|e| format!("cannot update the merged tree: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Where the merged file of a content merge lands: where the renamed side put it.
fn content_location(conflict: &merge::tree::Conflict) -> &BStr {
    use gix::diff::tree_with_rewrites::Change as C;
    match (&conflict.ours, &conflict.theirs) {
        (c @ C::Rewrite { .. }, _) | (_, c @ C::Rewrite { .. }) | (c, _) => c.location(),
    }
}

/// git's conflict marker size (`DEFAULT_CONFLICT_MARKER_SIZE`).
const MARKER_SIZE: usize = 7;

/// The names merge-ort gives the sides of merges between merge bases.
const VIRTUAL_LABELS: [&str; 2] = ["Temporary merge branch 1", "Temporary merge branch 2"];

/// The names merge-ort gives the sides of a content merge between merge bases, with the
/// paths (`Temporary merge branch 1:path`) where a rename made them differ.
fn virtual_names(conflict: &merge::tree::Conflict) -> [BString; 2] {
    let paths = [
        conflict.ours.source_location(),
        conflict.ours.location(),
        conflict.theirs.source_location(),
        conflict.theirs.location(),
    ];
    let [mut ours, mut theirs] = VIRTUAL_LABELS.map(BString::from);
    if paths.iter().any(|p| *p != paths[0]) {
        for (name, path) in [(&mut ours, paths[1]), (&mut theirs, paths[3])] {
            name.push(b':');
            name.extend_from_slice(path);
        }
    }
    [ours, theirs]
}

/// The options of merges between merge bases, from the outer merge's: merge-ort lets the
/// ancestor win what cannot be merged and keeps text conflicts with their markers in the merged
/// base (longer at each level), so that a line both sides later resolved their own way
/// conflicts again. Renames are detected by gix there (the outer merge pairs them by git's
/// rules on reduced trees).
fn virtual_options(mut options: merge::tree::Options) -> merge::tree::Options {
    use merge::blob::builtin_driver::{binary, text};
    options.tree_conflicts = Some(merge::tree::ResolveWith::Ancestor);
    options.blob_merge.is_virtual_ancestor = true;
    if !matches!(
        options.blob_merge.text.conflict,
        text::Conflict::Keep { .. }
    ) {
        options.blob_merge.text.conflict = text::Conflict::default();
    }
    options.blob_merge.resolve_binary_with = Some(binary::ResolveWith::Ancestor);
    options.symlink_conflicts = Some(binary::ResolveWith::Ancestor);
    options
}

/// A panic in gix (a debug assertion it trips on some rename shapes) must not take the whole
/// scan down: the branch's merge facts are then unknown, with this reason.
fn panic_reason(panic: Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("cannot be sure: gix's merge failed unexpectedly ({what})")
}

/// Where git's merge-ort moves the entries of a path both sides changed into entries of
/// distinct types (file, symlink, submodule), which it cannot merge: the regular file moves
/// to `path~side` (the side's name with `/` as `_`), both entries when neither is a regular
/// file; `None` when the conflict is not of that kind. gix leaves the ancestor there and
/// calls the conflict unknown.
fn distinct_types(
    conflict: &merge::tree::Conflict,
    (ours_name, theirs_name): (&str, &str),
) -> Option<[Option<String>; 2]> {
    use gix::diff::tree_with_rewrites::Change as C;
    use gix::objs::tree::EntryKind;
    let (C::Modification { .. }, C::Modification { .. }) = (&conflict.ours, &conflict.theirs)
    else {
        return None;
    };
    let path = conflict.ours.location();
    if path != conflict.theirs.location() {
        return None;
    }
    let kind = |c: &C| c.entry_mode().kind();
    let regular = |k: EntryKind| matches!(k, EntryKind::Blob | EntryKind::BlobExecutable);
    let (ours, theirs) = (kind(&conflict.ours), kind(&conflict.theirs));
    if ours == theirs || (regular(ours) && regular(theirs)) {
        return None;
    }
    let moved = |side: &str| {
        Some(format!(
            "{}~{}",
            path.to_str_lossy(),
            side.replace('/', "_")
        ))
    };
    Some(if regular(ours) {
        [moved(ours_name), None]
    } else if regular(theirs) {
        [None, moved(theirs_name)]
    } else {
        [moved(ours_name), moved(theirs_name)]
    })
}

/// Whether a conflict is nothing but a content merge with conflicts.
fn is_content_conflict(conflict: &merge::tree::Conflict) -> bool {
    use merge::tree::Resolution;
    matches!(
        conflict.resolution,
        Ok(Resolution::OursModifiedTheirsModifiedThenBlobContentMerge { .. })
            | Ok(Resolution::OursModifiedTheirsRenamedAndChangedThenRename {
                final_location: None,
                ..
            })
    )
}

/// git's merge of one text file, and the current (base) version it merged into.
struct TextMerge {
    merged: xdiff::Merged,
    current: Vec<u8>,
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

/// The paths one side (`side`) deleted that the other side also changed: where git's pairing
/// of them as renames decides the merge.
fn contested<'a>(side: &'a [Change], other: &[Change]) -> BTreeSet<&'a BStr> {
    let other: HashSet<&BStr> = other.iter().map(|c| c.path.as_bstr()).collect();
    side.iter()
        .filter(|c| c.new.is_none() && other.contains(c.path.as_bstr()))
        .map(|c| c.path.as_bstr())
        .collect()
}

/// Where git's directory rename detection moves files one side added into a directory the
/// other side renamed (each such move is a conflict).
#[derive(Default)]
struct Moves {
    /// Files the branch added, from and to.
    branch: Vec<(BString, BString)>,
    /// Files the base added, from and to.
    base: Vec<(BString, BString)>,
    /// git reports a conflict without a path: a directory renamed to several places equally,
    /// or several added files mapped to one path, or a path in the way.
    unclean: bool,
}

fn directory_moves(
    repo: &gix::Repository,
    similarity: &mut renames::Similarity,
    trees: MergeTrees,
    base: &BaseChanges,
    branch: &[Change],
) -> Result<Moves, String> {
    let added = |changes: &'_ [Change]| -> Vec<BString> {
        changes
            .iter()
            .filter(|c| c.old.is_none())
            .map(|c| c.path.clone())
            .collect()
    };
    let (branch_added, base_added) = (added(branch), added(&base.changes));
    let branch_added: Vec<&BStr> = branch_added.iter().map(|p| p.as_bstr()).collect();
    let base_added: Vec<&BStr> = base_added.iter().map(|p| p.as_bstr()).collect();
    // A directory rename needs a directory one side emptied by deleting (renaming) its files
    // while the other side added a file in it.
    let base_may_rename = branch_added
        .iter()
        .any(|p| base.any_below(dirname(p), |c| c.new.is_none()));
    let on_base = if base_may_rename {
        renames::directory_renames(
            repo,
            similarity,
            trees.ancestor,
            trees.base,
            trees.branch,
            &base.changes,
            &branch_added,
        )?
    } else {
        renames::DirectoryRenames::default()
    };
    let branch_may_rename = branch
        .iter()
        .any(|c| c.new.is_none() && base.any_below(dirname(c.path.as_bstr()), |b| b.old.is_none()));
    let on_branch = if branch_may_rename {
        renames::directory_renames(
            repo,
            similarity,
            trees.ancestor,
            trees.branch,
            trees.base,
            branch,
            &base_added,
        )?
    } else {
        renames::DirectoryRenames::default()
    };
    // A directory renamed on both sides is renamed on neither.
    let mut base_targets = on_base.targets;
    let mut branch_targets = on_branch.targets;
    let both: Vec<BString> = base_targets
        .keys()
        .filter(|d| branch_targets.contains_key(*d))
        .cloned()
        .collect();
    for dir in &both {
        base_targets.remove(dir);
        branch_targets.remove(dir);
    }
    let read = |id: ObjectId| {
        repo.find_tree(id)
            .map_err(|e| format!("cannot read tree {id}: {e}"))
    };
    // A path the adding side already has is in the way (git moves nothing there).
    let in_way = |tree: &gix::Tree<'_>, path: &BStr| -> Result<bool, String> {
        let entry = tree
            .lookup_entry(path.split_str("/"))
            .map_err(|e| format!("cannot look up {path}: {e}"))?;
        Ok(entry.is_some())
    };
    let mut moves = Moves {
        unclean: on_base.split || on_branch.split,
        ..Moves::default()
    };
    for (added, renamed, own, adder_tree, out) in [
        (
            &branch_added,
            &base_targets,
            &branch_targets,
            trees.branch,
            &mut moves.branch,
        ),
        (
            &base_added,
            &branch_targets,
            &base_targets,
            trees.base,
            &mut moves.base,
        ),
    ] {
        let (moved, collision) = renames::moved_paths(added, renamed, own);
        moves.unclean |= collision;
        let adder_tree = read(adder_tree)?;
        for (from, to) in moved {
            if in_way(&adder_tree, to.as_bstr())? {
                moves.unclean = true;
            } else {
                out.push((from, to));
            }
        }
    }
    Ok(moves)
}

/// The changes gix merges, with git's rename decisions applied: a file one side renamed
/// and the other changed becomes a change at the new path on both sides (the other side's
/// deletion of it a rename/delete conflict), a file both renamed to one path a change there
/// on both sides (to two paths, a rename/rename conflict), and files added into a directory
/// the other side renamed are moved first (rename destinations included).
struct Relocation {
    base: Option<Vec<Change>>,
    branch: Option<Vec<Change>>,
    /// New paths git reports as conflicts whatever gix finds there: of files one side renamed
    /// and the other deleted (rename/delete), or changed and added a file at the new path too
    /// when the three versions do not merge cleanly.
    conflicted: Vec<BString>,
    /// Whether a base change was rewritten to what the merge puts there (a file the base
    /// renamed onto a path the branch added, merged with the branch's changes): the merged
    /// tree then differs from the base's even where the rewritten changes agree.
    base_rewritten: bool,
    /// Files both sides renamed to different paths (rename/rename, 1 to 2): git lists the old
    /// path and both new ones.
    split: Vec<BString>,
}

impl Relocation {
    fn apply(
        merger: &mut Merger,
        repo: &gix::Repository,
        base: &[Change],
        branch: &[Change],
        on_base: &[(BString, BString)],
        on_branch: &[(BString, BString)],
        moves: &Moves,
    ) -> Result<Self, String> {
        let mut out = Relocation {
            base: None,
            branch: None,
            conflicted: Vec::new(),
            base_rewritten: false,
            split: Vec::new(),
        };
        if on_base.is_empty()
            && on_branch.is_empty()
            && moves.branch.is_empty()
            && moves.base.is_empty()
        {
            return Ok(out);
        }
        let by_path = |changes: &[Change]| -> BTreeMap<BString, Change> {
            changes
                .iter()
                .map(|c| (c.path.clone(), c.clone()))
                .collect()
        };
        let (mut b, mut t) = (by_path(base), by_path(branch));
        let relocate = |map: &mut BTreeMap<BString, Change>, from: &BStr, to: &BString| {
            if let Some(mut c) = map.remove(from) {
                c.path = to.clone();
                map.insert(to.clone(), c);
            }
        };
        // Files added into a renamed directory go with it (rename destinations included).
        let mut on_base: BTreeMap<BString, BString> = on_base.iter().cloned().collect();
        let mut on_branch: BTreeMap<BString, BString> = on_branch.iter().cloned().collect();
        for (from, to) in &moves.branch {
            relocate(&mut t, from.as_bstr(), to);
            on_branch
                .values_mut()
                .filter(|d| *d == from)
                .for_each(|d| *d = to.clone());
        }
        for (from, to) in &moves.base {
            relocate(&mut b, from.as_bstr(), to);
            on_base
                .values_mut()
                .filter(|d| *d == from)
                .for_each(|d| *d = to.clone());
        }
        let sources: BTreeSet<BString> = on_base.keys().chain(on_branch.keys()).cloned().collect();
        for source in sources {
            let (to_base, to_branch) = (on_base.get(&source), on_branch.get(&source));
            match (to_base, to_branch) {
                (Some(q), Some(r)) if q == r => {
                    // Renamed to one path on both sides: both change that path.
                    for map in [&mut b, &mut t] {
                        let ancestor = map.remove(&source).and_then(|c| c.old);
                        if let Some(dest) = map.get_mut(q) {
                            dest.old = ancestor;
                        }
                    }
                }
                (Some(q), Some(r)) => out.split.extend([source.clone(), q.clone(), r.clone()]),
                (Some(q), None) => {
                    out.base_rewritten |= Self::carry(
                        merger,
                        repo,
                        &mut b,
                        &mut t,
                        &source,
                        q,
                        &mut out.conflicted,
                    )?
                }
                (None, Some(r)) => {
                    // A rewritten branch change needs no flag: a branch renaming a file the
                    // base changed is never squash-merged (`base_moved`).
                    Self::carry(
                        merger,
                        repo,
                        &mut t,
                        &mut b,
                        &source,
                        r,
                        &mut out.conflicted,
                    )?;
                }
                (None, None) => {}
            }
        }
        out.base = Some(b.into_values().collect());
        out.branch = Some(t.into_values().collect());
        Ok(out)
    }

    /// The renamer moved `source` to `dest`: the other side's change to `source` moves there.
    /// Returns whether the renamer's change at `dest` was rewritten.
    fn carry(
        merger: &mut Merger,
        repo: &gix::Repository,
        renamer: &mut BTreeMap<BString, Change>,
        other: &mut BTreeMap<BString, Change>,
        source: &BString,
        dest: &BString,
        conflicted: &mut Vec<BString>,
    ) -> Result<bool, String> {
        if !renamer.contains_key(dest) {
            return Ok(false);
        }
        let ancestor = renamer.remove(source).and_then(|c| c.old);
        let Some(change) = other.remove(source) else {
            if let Some(d) = renamer.get_mut(dest) {
                d.old = ancestor;
            }
            return Ok(false);
        };
        if other.get(dest).is_some_and(|c| c.new.is_some())
            && let Some(changed) = change.new
        {
            // Rename involved in a collision: merge-ort merges the three versions of the
            // renamed file, then that result with the other side's file at `dest` as an
            // add/add, a conflict unless they are equal.
            if let Some(d) = renamer.get_mut(dest)
                && let Some(renamed) = d.new
            {
                // Equal to the other side's file, the merged one makes a clean add/add;
                // otherwise gix finds the add/add conflict.
                match merger.merge_renamed(repo, dest.as_bstr(), ancestor, renamed, changed)? {
                    Some(merged) => d.new = Some(merged),
                    None => conflicted.push(dest.clone()),
                }
                return Ok(d.new != Some(renamed));
            }
            return Ok(false);
        }
        if let Some(d) = renamer.get_mut(dest) {
            d.old = ancestor;
        }
        if change.new.is_none() {
            // rename/delete: always a conflict at the new path (where the other side may
            // have added a file too: add/add there as well).
            conflicted.push(dest.clone());
            other.entry(dest.clone()).or_insert(Change {
                path: dest.clone(),
                old: ancestor,
                new: None,
            });
            return Ok(false);
        }
        if other.contains_key(dest) {
            // The other side deleted a file at `dest` the ancestor had: the renamer added its
            // file over it, a case git treats as a rename onto a path of the ancestor.
            return Err(format!(
                "cannot be sure: {source} was renamed to {dest}, where the other side, which changed {source}, deleted a file"
            ));
        }
        other.insert(
            dest.clone(),
            Change {
                path: dest.clone(),
                old: ancestor,
                new: change.new,
            },
        );
        Ok(false)
    }
}

fn dirname(path: &BStr) -> &BStr {
    path.rfind_byte(b'/')
        .map_or(b"".as_bstr(), |i| path[..i].as_bstr())
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
    let mut paths: BTreeSet<BString> = branch.iter().map(|c| c.path.clone()).collect();
    paths.extend(touched.iter().map(|&i| base.changes[i].path.clone()));
    Some(paths)
}

/// Whether merging `branch` into the base cannot conflict nor change anything the base
/// changed, without merging: no path (nor a directory of one) is changed on both sides, and
/// neither side deleted a file — without deletions there are no renames, so neither git's rename
/// pairing nor its directory-rename moves can bring the two sides' changes together. The merge
/// then applies every branch change to the base: clean.
pub fn cannot_meet(base: &BaseChanges, branch: &[Change]) -> bool {
    let deletes = |changes: &[Change]| changes.iter().any(|c| c.new.is_none());
    !deletes(&base.changes) && !deletes(branch) && relevant_paths(base, branch).is_none()
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
    ) -> Result<Self, String> {
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
        let empty_blob = repo
            .write_blob(b"")
            .map_err(|e| format!("cannot write a blob to memory: {e}"))?;
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
) -> Result<ObjectId, String> {
    let fail = |e: gix::Error| format!("cannot build a tree in memory: {e}");
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

/// Path checks for the in-memory index that lists a merge's conflicts. Nothing is checked out,
/// so, like `git merge-tree`, no name is refused for what it would do on Windows or macOS
/// (gix's default refused a file named with a `:`: git/git `pr/1982`). Paths shown are
/// escaped by the report.
const LISTING_ONLY: gix::validate::path::component::Options =
    gix::validate::path::component::Options {
        protect_windows: false,
        protect_hfs: false,
        protect_ntfs: false,
    };

/// What merges keep from one to the next: the merger (set up on first use; a failed setup is
/// kept and reported for every merge) and the base side's changes between the last ancestor
/// and base trees, shared by every branch merged into the same base from the same ancestor.
#[derive(Default)]
pub struct BaseMerges {
    merger: Option<Result<Merger, String>>,
    /// The base side's changes, with the (ancestor, base) trees they are between.
    base_side: Option<((ObjectId, ObjectId), BaseChanges)>,
}

impl BaseMerges {
    /// The merger for `repo`, set up on first use.
    pub fn merger(&mut self, repo: &gix::Repository) -> Result<&mut Merger, MergeError> {
        set_up(&mut self.merger, repo)
    }

    /// The base's changes from tree `ancestor` to tree `base`, kept for the next branch.
    pub fn base_changes(
        &mut self,
        repo: &gix::Repository,
        differ: &mut TreeDiffer,
        ancestor: ObjectId,
        base: ObjectId,
    ) -> Result<&BaseChanges, TreeFactsError> {
        base_changes(&mut self.base_side, repo, differ, ancestor, base)
    }

    /// The tree of the virtual merge base of `merge_bases` (git's merge-ort recursion),
    /// written to `repo`'s object memory; the tree of the merge base when there is one.
    pub fn virtual_merge_base(
        &mut self,
        repo: &gix::Repository,
        merge_bases: Vec<ObjectId>,
    ) -> Result<ObjectId, MergeError> {
        let merger = set_up(&mut self.merger, repo)?;
        virtual_merge_base(repo, merger, merge_bases)
    }

    /// Merges the branch whose changes since `trees.ancestor` are `branch` into the base, in
    /// `repo`'s object memory (see [`crate::memory::BranchMemoryScope`]). `labels` name the sides.
    pub fn merge(
        &mut self,
        repo: &gix::Repository,
        differ: &mut TreeDiffer,
        trees: MergeTrees,
        branch: &[Change],
        labels: (&str, &str),
    ) -> Result<MergePrediction, TreeFactsError> {
        let base = base_changes(
            &mut self.base_side,
            repo,
            differ,
            trees.ancestor,
            trees.base,
        )?;
        let merger = set_up(&mut self.merger, repo)?;
        let prediction = merger.predict(repo, trees, base, branch, labels);
        // The merge modules report their reasons as text ("cannot be sure: …" among them).
        prediction.map_err(|reason| {
            MergeError::Merge {
                what: format!("{} into {}", labels.1, labels.0),
                source: reason.into(),
            }
            .into()
        })
    }
}

/// The base's changes from `ancestor` to `base`, from `slot` when it holds them.
fn base_changes<'s>(
    slot: &'s mut Option<((ObjectId, ObjectId), BaseChanges)>,
    repo: &gix::Repository,
    differ: &mut TreeDiffer,
    ancestor: ObjectId,
    base: ObjectId,
) -> Result<&'s BaseChanges, TreeFactsError> {
    let key = (ancestor, base);
    if slot.as_ref().is_none_or(|(k, _)| *k != key) {
        let changes = differ.changes(repo, ancestor, base)?;
        *slot = Some((key, BaseChanges::new(changes)));
    }
    // Filled just above when it held other trees' changes.
    Ok(&slot
        .get_or_insert_with(|| (key, BaseChanges::new(Vec::new())))
        .1)
}

/// The merger in `slot`, set up on first use.
fn set_up<'m>(
    slot: &'m mut Option<Result<Merger, String>>,
    repo: &gix::Repository,
) -> Result<&'m mut Merger, MergeError> {
    // The setup error is kept as text: it is reported for every merge.
    slot.get_or_insert_with(|| Merger::new(repo).map_err(|e| e.to_string()))
        .as_mut()
        .map_err(|e| MergeError::Setup(e.clone().into()))
}

/// The tree of the virtual merge base git's recursive merge builds from several merge bases.
///
/// This is git's merge-ort recursion (`merge_ort_internal`), not gix's `virtual_merge_base`,
/// whose choices differ from git's where many merge bases conflict among themselves (git/git's
/// branches have dozens):
/// - the merge bases are merged oldest first, each merge at depth 1 with conflict markers of
///   7 + 2 × depth characters (gix lengthens them at every merge of the loop);
/// - two merged bases with several merge bases of their own are merged over their own virtual
///   base, one level deeper, by the same rules (gix resolves text conflicts there with "ours"
///   and gives up on any other);
/// - two merged bases without a common ancestor are merged over the empty tree (gix refuses);
/// - text is merged by git's algorithm (`xdiff`), conflicts kept with their markers.
fn virtual_merge_base(
    repo: &gix::Repository,
    merger: &mut Merger,
    merge_bases: Vec<ObjectId>,
) -> Result<ObjectId, MergeError> {
    if let [only] = merge_bases[..] {
        return tree_of(repo, only).map_err(MergeError::Object);
    }
    let cache = repo
        .commit_graph_if_enabled()
        .map_err(|e| virtual_failure("the commit graph", &e))?;
    let mut graph = repo.revision_graph(cache.as_ref());
    let mut recursion = VirtualBase {
        repo,
        merger,
        graph: &mut graph,
    };
    Ok(recursion.merge_all(merge_bases, 1)?.1)
}

fn virtual_failure(what: &str, e: &dyn std::fmt::Display) -> MergeError {
    MergeError::Merge {
        what: what.into(),
        source: e.to_string().into(),
    }
}

/// The state of one virtual merge base's recursion.
struct VirtualBase<'a, 'r, 'g, 'c> {
    repo: &'r gix::Repository,
    merger: &'a mut Merger,
    graph: &'a mut gix::revision::plumbing::Graph<
        'g,
        'c,
        gix::revision::plumbing::graph::Commit<gix::revision::plumbing::merge_base::Flags>,
    >,
}

impl VirtualBase<'_, '_, '_, '_> {
    /// Merges `merge_bases` as git does at `depth`; returns the (virtual) commit and its tree.
    fn merge_all(
        &mut self,
        merge_bases: Vec<ObjectId>,
        depth: u8,
    ) -> Result<(ObjectId, ObjectId), MergeError> {
        // git merges the merge bases oldest first: `get_merge_bases` lists them newest first
        // by committer date, merge-ort reverses the list. With many of them the order decides
        // the nesting of conflict markers in the virtual base, and so which paths the outer
        // merge finds in conflict.
        let mut dated = Vec::with_capacity(merge_bases.len());
        for id in merge_bases {
            let time = self
                .repo
                .find_commit(id)
                .map_err(|e| virtual_failure("a merge base", &e))?
                .time()
                .map_err(|e| virtual_failure("a merge base", &e))?
                .seconds;
            dated.push((time, id));
        }
        dated.sort_by_key(|(time, _)| std::cmp::Reverse(*time));
        let mut oldest_first = dated.into_iter().rev().map(|(_, id)| id);
        let Some(first) = oldest_first.next() else {
            return Err(virtual_failure("the merge bases", &"there are none"));
        };
        let mut merged = (first, tree_of(self.repo, first)?);
        for next in oldest_first {
            let bases = gix::revision::plumbing::merge_base(merged.0, &[next], self.graph)
                .map_err(|e| virtual_failure("the merge bases of merge bases", &e))?;
            let ancestor = match bases {
                None => ObjectId::empty_tree(self.repo.object_hash()),
                Some(bases) if bases.len() == 1 => tree_of(self.repo, *bases.first())?,
                Some(bases) => {
                    let deeper = depth
                        .checked_add(1)
                        .ok_or_else(|| virtual_failure("the merge bases", &"nested too deep"))?;
                    self.merge_all(bases.into(), deeper)?.1
                }
            };
            let tree = self
                .merger
                .merge_virtual(
                    self.repo,
                    [ancestor, merged.1, tree_of(self.repo, next)?],
                    depth,
                )
                .map_err(|e| virtual_failure("the merge bases", &e))?;
            merged = (virtual_commit(self.repo, merged.0, next, tree)?, tree);
        }
        Ok(merged)
    }
}

/// A commit with `tree` and parents `a` and `b`, in object memory: what the next level of a
/// virtual merge base computes merge bases from.
fn virtual_commit(
    repo: &gix::Repository,
    a: ObjectId,
    b: ObjectId,
    tree: ObjectId,
) -> Result<ObjectId, MergeError> {
    let read = |e: &dyn std::fmt::Display| MergeError::Merge {
        what: format!("commit {a}"),
        source: e.to_string().into(),
    };
    let commit = repo.find_commit(a).map_err(|e| read(&e))?;
    let mut commit = commit
        .decode()
        .map_err(|e| read(&e))?
        .to_owned()
        .map_err(|e| read(&e))?;
    commit.parents = vec![a, b].into();
    commit.tree = tree;
    repo.objects.write(&commit).map_err(|e| MergeError::Write {
        what: "a virtual merge base".into(),
        source: e.into(),
    })
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
