//! Ranges of history (`base..tip` for commits, `base...tip` for changes), the unit of the
//! batch queries.

use std::collections::HashSet;

use gix::ObjectId;

use super::super::changes::{Change, TreeDiffer, tree_of};
use super::super::conflicts::BaseMerges;
use super::{QueryError, Reachable, resolve_commit_in};

/// A branch's history against a base, as a plugin names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The revision whose history is asked for (usually a branch).
    pub tip: String,
    /// The revision whose history is left out (usually the base); `None` for all history.
    pub base: Option<String>,
}

/// A [`Range`] resolved to commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedRange {
    /// The tip commit.
    pub tip: ObjectId,
    /// The base commit, if any.
    pub base: Option<ObjectId>,
}

impl ResolvedRange {
    /// Resolves both ends with the rules of every query (see the module's `resolve_commit`),
    /// object ids checked against the invocation's reachable commits in `state`.
    pub fn resolve(
        repo: &gix::Repository,
        range: &Range,
        state: &mut QueryState,
    ) -> Result<Self, QueryError> {
        Ok(ResolvedRange {
            tip: resolve_commit_in(repo, &range.tip, Some(&mut state.reachable))?,
            base: range
                .base
                .as_deref()
                .map(|b| resolve_commit_in(repo, b, Some(&mut state.reachable)))
                .transpose()?,
        })
    }

    /// The commit the range's changes start from, as `git diff base...tip` picks it: the first
    /// merge base; `None` without a base or for unrelated histories (then the changes are the
    /// whole tree of the tip).
    pub fn diff_start(&self, repo: &gix::Repository) -> Result<Option<ObjectId>, QueryError> {
        let Some(base) = self.base else {
            return Ok(None);
        };
        repo.merge_base(base, self.tip)
            .map(|id| id.map(gix::Id::detach))
            .map_err(|e| QueryError::Failed(e.to_string()))
    }

    /// The commits of `base..tip`, newest first (by commit time, as `git log`), at most
    /// `limit`; only first parents when `first_parent`.
    pub fn commits(
        &self,
        repo: &gix::Repository,
        limit: u32,
        first_parent: bool,
    ) -> Result<Vec<ObjectId>, QueryError> {
        let mut walk = repo
            .rev_walk([self.tip])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .with_hidden(self.base);
        if first_parent {
            walk = walk.first_parent_only();
        }
        let walk = walk.all().map_err(|e| QueryError::Failed(e.to_string()))?;
        let mut out = Vec::new();
        for info in walk.take(limit as usize) {
            out.push(info.map_err(|e| QueryError::Failed(e.to_string()))?.id);
        }
        Ok(out)
    }
}

/// What the batch queries keep between calls of one plugin invocation: the changes whose
/// added lines were handed over already (each content is sent, and scanned, once), the
/// tree differ's buffers and the trial merges' state.
#[derive(Default)]
pub struct QueryState {
    seen: HashSet<(Option<ObjectId>, ObjectId)>,
    pub(super) differ: TreeDiffer,
    /// The merger of trial merges and the base side's changes of the last one.
    pub(super) merges: BaseMerges,
    /// The commits reachable from references, once an object id needed checking.
    reachable: Reachable,
}

impl QueryState {
    /// Records a change (blob before, blob after); `false` when it was recorded before.
    pub(super) fn first_time(&mut self, old: Option<ObjectId>, new: ObjectId) -> bool {
        self.seen.insert((old, new))
    }
}

/// The changes commit `id` made to its first parent's tree (or to the empty tree, for a root
/// commit); `None` for a merge, whose changes are its parents'.
pub(super) fn commit_changes(
    repo: &gix::Repository,
    id: ObjectId,
    differ: &mut TreeDiffer,
) -> Result<Option<Vec<Change>>, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(format!("commit {id}: {e}"));
    let commit = repo.find_commit(id).map_err(|e| fail(&e))?;
    let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
    if parents.len() > 1 {
        return Ok(None);
    }
    let new = tree_of(repo, id).map_err(|e| fail(&e))?;
    let old = match parents.first() {
        Some(parent) => tree_of(repo, *parent).map_err(|e| fail(&e))?,
        None => ObjectId::empty_tree(id.kind()),
    };
    differ
        .changes(repo, old, new)
        .map(Some)
        .map_err(|e| fail(&e))
}
