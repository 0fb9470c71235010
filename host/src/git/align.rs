//! Aligns every branch with the base: loads the commit graph once, then computes each
//! branch's facts in parallel (rayon) with one walker and one repository handle per thread.

use rayon::prelude::*;

use super::GitError;
use super::facts::{BranchError, BranchFacts, RepoFacts, RepoScan, RepoStats};
use super::graph::{CommitGraph, tip_info};
use super::open::{BranchRef, OpenedRepo};
use super::walk::Walker;

/// Computes the facts of every selected branch of an opened repository.
pub fn align_repository(opened: &OpenedRepo) -> Result<RepoScan, GitError> {
    let repo = &opened.repo;
    let tips: Vec<gix::ObjectId> = opened
        .branches
        .iter()
        .filter_map(|b| b.tip.as_ref().ok().copied())
        .collect();
    let (graph, tip_indices) = CommitGraph::load(repo, opened.base.tip, &tips);
    tracing::debug!(
        repo = %opened.path.display(),
        commits = graph.len(),
        commit_graph = graph.from_commit_graph(),
        "commit graph loaded"
    );
    if let Some(reason) = graph.base_history_error() {
        return Err(GitError::Read {
            path: opened.path.clone(),
            what: format!("the history of {}", opened.base.name),
            reason: reason.to_string(),
        });
    }
    let mut next_tip = tip_indices.into_iter();
    let work: Vec<(&BranchRef, Option<u32>)> = opened
        .branches
        .iter()
        .map(|b| (b, b.tip.is_ok().then(|| next_tip.next()).flatten()))
        .collect();

    let sync_repo = repo.clone().into_sync();
    let results: Vec<Result<BranchFacts, BranchError>> = work
        .par_iter()
        .map_init(
            || (Walker::new(graph.len()), sync_repo.to_thread_local()),
            |(walker, repo), (branch, index)| align_branch(repo, &graph, walker, branch, *index),
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
    branch: &BranchRef,
    index: Option<u32>,
) -> Result<BranchFacts, BranchError> {
    let fail = |error: String| BranchError {
        name: branch.name.clone(),
        reference: branch.reference.clone(),
        error,
    };
    let tip = branch.tip.clone().map_err(fail)?;
    let index = index.ok_or_else(|| fail(format!("tip {tip} was not loaded")))?;
    if let Some(reason) = graph.missing(index) {
        return Err(fail(reason.to_string()));
    }
    let walk = walker.align(graph, index).map_err(fail)?;
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
        behind: walk.behind,
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
