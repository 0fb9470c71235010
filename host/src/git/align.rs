//! Aligns every branch with the base: ahead/behind, merge bases and merged-ness, computed on
//! the in-memory [`CommitGraph`] with one reusable walker per worker thread.

use rayon::prelude::*;

use super::GitError;
use super::facts::{BranchError, BranchFacts, RepoFacts, RepoScan, RepoStats};
use super::graph::{CommitGraph, tip_info};
use super::open::{BranchRef, OpenedRepo};

/// Computes the facts of every selected branch of an opened repository.
pub fn align_repository(opened: &OpenedRepo) -> Result<RepoScan, GitError> {
    let repo = &opened.repo;
    let mut tips = vec![opened.base.tip];
    tips.extend(opened.branches.iter().filter_map(|b| b.tip.as_ref().ok()));
    let graph = CommitGraph::load(repo, &tips);

    let read_err = |what: String, reason: String| GitError::Read {
        path: opened.path.clone(),
        what,
        reason,
    };
    let base = graph
        .index_of(&opened.base.tip)
        .ok_or_else(|| read_err(opened.base.reference.clone(), "not loaded".into()))?;
    let mut walker = Walker::new(graph.len());
    let in_base = walker
        .reach(&graph, base)
        .map_err(|reason| read_err(format!("the history of {}", opened.base.name), reason))?;
    let base_count = in_base.iter().filter(|b| **b).count() as u32;

    let sync_repo = repo.clone().into_sync();
    let results: Vec<Result<BranchFacts, BranchError>> = opened
        .branches
        .par_iter()
        .map_init(
            || (Walker::new(graph.len()), sync_repo.to_thread_local()),
            |(walker, repo), branch| {
                align_branch(repo, &graph, walker, &in_base, base_count, branch)
            },
        )
        .collect();
    let mut branches = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(b) => branches.push(b),
            Err(e) => errors.push(e),
        }
    }

    let facts = repo_facts(opened, Some(graph.len() as u64));
    Ok(RepoScan {
        facts,
        branches,
        errors,
    })
}

/// The repository-level facts of an opened repository; `commits` when the graph is loaded.
pub fn repo_facts(opened: &OpenedRepo, commits: Option<u64>) -> RepoFacts {
    let repo = &opened.repo;
    let partial_clone = repo
        .config_snapshot()
        .string("extensions.partialClone")
        .is_some();
    RepoFacts {
        path: opened.path.display().to_string(),
        base: opened.base.name.clone(),
        base_ref: opened.base.reference.clone(),
        base_tip: opened.base.tip.to_string(),
        head_branch: opened.head_branch.clone(),
        head_commit: opened.head_commit.map(|id| id.to_string()),
        bare: repo.is_bare(),
        stats: RepoStats {
            commits,
            branches: opened.local_branches,
            remote_branches: opened.remote_branches,
            tags: Some(opened.tags),
            shallow: repo.is_shallow().unwrap_or(false),
            partial_clone,
            ..RepoStats::default()
        },
    }
}

fn align_branch(
    repo: &gix::Repository,
    graph: &CommitGraph,
    walker: &mut Walker,
    in_base: &[bool],
    base_count: u32,
    branch: &BranchRef,
) -> Result<BranchFacts, BranchError> {
    let fail = |error: String| BranchError {
        name: branch.name.clone(),
        reference: branch.reference.clone(),
        error,
    };
    let tip = branch.tip.clone().map_err(fail)?;
    let index = graph
        .index_of(&tip)
        .ok_or_else(|| fail(format!("tip {tip} is not a commit")))?;
    let walk = walker.align(graph, index, in_base).map_err(fail)?;
    let info = tip_info(repo, tip).map_err(fail)?;
    let mut merge_bases: Vec<String> = walk
        .merge_bases
        .iter()
        .map(|i| graph.id(*i).to_string())
        .collect();
    merge_bases.sort();
    Ok(BranchFacts {
        name: branch.name.clone(),
        reference: branch.reference.clone(),
        remote: branch.remote,
        tip: tip.to_string(),
        ahead: walk.ahead,
        behind: base_count - walk.common,
        merge_bases,
        merged: walk.ahead == 0,
        squash_merged: None,
        author: info.author,
        committer: info.committer,
        summary: info.summary,
        diffstat: None,
        conflicts: None,
    })
}

/// The outcome of walking one branch.
struct BranchWalk {
    ahead: u32,
    /// Commits reachable from both the branch and the base.
    common: u32,
    merge_bases: Vec<u32>,
}

/// Walk state reused across branches: marks are generation stamps, so resetting is O(1).
struct Walker {
    seen: Vec<u32>,
    not_best: Vec<u32>,
    generation: u32,
    stack: Vec<u32>,
    common: Vec<u32>,
}

impl Walker {
    fn new(len: usize) -> Self {
        Walker {
            seen: vec![0; len],
            not_best: vec![0; len],
            generation: 0,
            stack: Vec::new(),
            common: Vec::new(),
        }
    }

    /// Marks everything reachable from `start` with a new generation; fails on a missing commit.
    fn mark(&mut self, graph: &CommitGraph, start: u32) -> Result<(), String> {
        self.generation += 1;
        let generation = self.generation;
        self.stack.clear();
        self.stack.push(start);
        self.seen[start as usize] = generation;
        while let Some(c) = self.stack.pop() {
            if let Some(reason) = graph.missing(c) {
                return Err(reason.to_string());
            }
            for &p in graph.parents(c) {
                if self.seen[p as usize] != generation {
                    self.seen[p as usize] = generation;
                    self.stack.push(p);
                }
            }
        }
        Ok(())
    }

    /// The set of commits reachable from `start`.
    fn reach(&mut self, graph: &CommitGraph, start: u32) -> Result<Vec<bool>, String> {
        self.mark(graph, start)?;
        let generation = self.generation;
        Ok(self.seen.iter().map(|s| *s == generation).collect())
    }

    /// Ahead count, common count and best common ancestors of `tip` against the base set.
    fn align(
        &mut self,
        graph: &CommitGraph,
        tip: u32,
        in_base: &[bool],
    ) -> Result<BranchWalk, String> {
        self.mark(graph, tip)?;
        let generation = self.generation;
        self.common.clear();
        let mut ahead = 0u32;
        for (i, s) in self.seen.iter().enumerate() {
            if *s == generation {
                if in_base[i] {
                    self.common.push(i as u32);
                } else {
                    ahead += 1;
                }
            }
        }
        // Common ancestors are closed under "parent of", so a common commit is a best one
        // exactly when it is not the parent of another common commit.
        for &c in &self.common {
            for &p in graph.parents(c) {
                self.not_best[p as usize] = generation;
            }
        }
        let merge_bases = self
            .common
            .iter()
            .copied()
            .filter(|c| self.not_best[*c as usize] != generation)
            .collect();
        Ok(BranchWalk {
            ahead,
            common: self.common.len() as u32,
            merge_bases,
        })
    }
}
