//! Aligns every branch with the base: loads the commit graph once, walks every branch in
//! parallel (rayon, one walker and one repository handle per thread), then computes the
//! tree-level facts (diffstat, squash-merged, conflicts) of the branches that need them,
//! ordered by merge base so each thread reuses the base-side diff of the previous branch.

use gix::ObjectId;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use super::GitError;
use super::cache::{CachedFacts, FactsCache};
use super::changes::{TreeDiffer, tree_of};
use super::conflicts::{BaseMerges, MergeTrees, cannot_meet};
use super::diffstat::diffstat;
use super::error::{BoxError, ObjectError, ObjectKind, TreeFactsError};
use super::facts::{
    AlignOptions, BranchError, BranchFacts, ConflictPrediction, RepoFacts, RepoScan, RepoStats, hex,
};
use super::graph::{CommitGraph, ParentSource, TipInfo, tip_info};
use super::memory::release_branch_memory;
use super::open::{BranchRef, OpenedRepo};
use super::profile::{AlignProfile, CacheCounter, Span, StageClock, StageTime};
use super::squash::may_be_squash_merged;
use super::walk::Walker;

/// What a repository alignment uses besides the repository.
#[derive(Default)]
pub struct AlignContext<'a> {
    /// Which optional facts to compute.
    pub options: AlignOptions,
    /// Persistent facts of branches already computed in earlier runs.
    pub cache: Option<&'a FactsCache>,
    /// Where the parents of packed commits are cached per pack (used without a commit-graph).
    pub pack_cache: Option<&'a std::path::Path>,
    /// Told of every branch done.
    pub progress: Option<&'a dyn Progress>,
    /// Set by the caller to stop early: the alignment then returns [`GitError::Interrupted`].
    pub should_interrupt: Option<&'a AtomicBool>,
    /// Branches a worker takes at a time (at least); 0: rayon decides.
    pub batch_size: usize,
    /// Predict conflicts only for branches whose changes can meet the base's (see
    /// `conflicts::cannot_meet`); the others are clean without a merge. Exact, only faster.
    pub skip_disjoint_merges: bool,
}

impl AlignContext<'_> {
    fn interrupted(&self) -> bool {
        self.should_interrupt
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    fn branch_done(&self) {
        if let Some(progress) = self.progress {
            progress.branches_done(1);
        }
    }
}

/// Learns how far an alignment has come; the caller decides how to show it.
pub trait Progress: Sync {
    /// `n` more branches are done (aligned, or failed).
    fn branches_done(&self, n: u64);
}

/// Computes the facts of every selected branch of an opened repository.
pub fn align_repository(
    opened: &OpenedRepo,
    context: &AlignContext<'_>,
) -> Result<RepoScan, GitError> {
    let repo = &opened.repo;
    let batch = context.batch_size.max(1);
    let tips: Vec<ObjectId> = opened
        .branches
        .iter()
        .filter_map(|b| b.tip.as_ref().ok().copied())
        .collect();
    let sync_repo = repo.clone().into_sync();
    let walk_started = std::time::Instant::now();
    let walk_clock = StageClock::default();
    // The tip commits are read without the graph, beside its (single-threaded) load.
    let (base_tip, branches) = (opened.base.tip, &opened.branches);
    let ((graph, tip_indices, graph_time), tip_infos) = rayon::join(
        || {
            let span = Span::start();
            let repo = sync_repo.to_thread_local();
            let (graph, indices) = CommitGraph::load(&repo, base_tip, &tips, context.pack_cache);
            (graph, indices, span.stop())
        },
        || read_tips(&sync_repo, branches, context, &walk_clock),
    );
    // A scan of the packs without a commit-graph touches every commit in them.
    crate::memory::bound_resident_memory();
    tracing::debug!(
        repo = %opened.path.display(),
        commits = graph.len(),
        parents = ?graph.parent_source(),
        "commit graph loaded"
    );
    // Decoding every commit is what a commit-graph file saves (about 10x on large histories).
    const SLOW_WITHOUT_GRAPH: usize = 20_000;
    if graph.parent_source() == ParentSource::Objects
        && graph.len() >= SLOW_WITHOUT_GRAPH
        && !repo.is_shallow().unwrap_or(false)
    {
        tracing::warn!(
            repo = %opened.path.display(),
            "no commit-graph: {} commits were decoded one by one; `git commit-graph write --reachable` makes scans of this repository much faster",
            graph.len()
        );
    }
    let read_err = |what: String, source: BoxError| GitError::Read {
        path: opened.path.clone(),
        what,
        source,
    };
    if let Some(reason) = graph.base_history_error() {
        return Err(read_err(
            format!("the history of {}", opened.base.name),
            reason.into(),
        ));
    }
    let mut next_tip = tip_indices.into_iter();
    let work: Vec<(&BranchRef, Option<u32>, TipRead)> = opened
        .branches
        .iter()
        .zip(tip_infos)
        .map(|(b, info)| (b, b.tip.is_ok().then(|| next_tip.next()).flatten(), info))
        .collect();

    let walked: Vec<Result<Walked, BranchError>> = work
        .into_par_iter()
        .with_min_len(batch)
        .map_init(
            || {
                let timer = walk_clock.timer();
                let walker = Walker::new(graph.len());
                (walker, sync_repo.to_thread_local(), timer)
            },
            |(walker, repo, _timer), (branch, index, info)| {
                if context.interrupted() {
                    return Err(branch.fail("interrupted".into()));
                }
                walk_branch(repo, &graph, walker, branch, index, info)
            },
        )
        .collect();
    let walk_time = StageTime {
        wall: walk_started.elapsed(),
        cpu: walk_clock.get().cpu,
    };
    if context.interrupted() {
        return Err(GitError::Interrupted {
            path: opened.path.clone(),
        });
    }

    let options = context.options;
    let clocks = TreeClocks {
        skip_disjoint_merges: context.skip_disjoint_merges,
        ..TreeClocks::default()
    };
    let mut branches = Vec::with_capacity(walked.len());
    let mut errors = Vec::new();
    if options.needs_trees() {
        let base_tree = tree_of(repo, opened.base.tip)
            .map_err(|e| read_err(opened.base.name.clone(), e.into()))?;
        let trees = TreeStage {
            graph: &graph,
            base_tip: opened.base.tip,
            base_tree,
            base_name: opened.base.name.as_str(),
            partial_clone: is_partial_clone(repo),
        };
        for r in tree_facts(&sync_repo, walked, &trees, context, &clocks) {
            match r {
                Ok((b, error)) => {
                    branches.push(b);
                    errors.extend(error);
                }
                Err(e) => {
                    context.branch_done();
                    errors.push(e)
                }
            }
        }
    } else {
        for walked in walked {
            context.branch_done();
            match walked {
                Ok(walked) => branches.push(walked.facts),
                Err(e) => errors.push(e),
            }
        }
    }
    if context.interrupted() {
        return Err(GitError::Interrupted {
            path: opened.path.clone(),
        });
    }
    branches.sort_by(|a, b| (a.remote, &a.reference).cmp(&(b.remote, &b.reference)));
    errors.sort_by(|a, b| a.reference.cmp(&b.reference));

    let facts = repo_facts(opened, Some(graph.len() as u64));
    let profile = AlignProfile {
        graph: graph_time,
        walk: walk_time,
        diffstat: clocks.diffstat.get(),
        squash: clocks.squash.get(),
        conflicts: clocks.conflicts.get(),
        facts_cache: clocks.facts_cache.get(),
        commit_cache: graph.commit_cache(),
        parent_source: graph.parent_source().name(),
        merges_skipped: clocks.merges_skipped.load(Ordering::Relaxed),
    };
    Ok(RepoScan {
        facts,
        branches,
        errors,
        profile,
    })
}

/// What every branch's tree-level facts are computed against.
struct TreeStage<'g> {
    graph: &'g CommitGraph,
    base_tip: ObjectId,
    base_tree: ObjectId,
    base_name: &'g str,
    partial_clone: bool,
}

/// The tree-level facts (diffstat, squash, conflicts) of every walked branch, in parallel.
/// A branch whose trees cannot be read keeps its graph facts; the error says what is missing.
fn tree_facts(
    sync_repo: &gix::ThreadSafeRepository,
    mut walked: Vec<Result<Walked, BranchError>>,
    stage: &TreeStage<'_>,
    context: &AlignContext<'_>,
    clocks: &TreeClocks,
) -> Vec<Result<(BranchFacts, Option<BranchError>), BranchError>> {
    // Branches with the same merge base next to each other: rayon hands each thread a
    // contiguous run, so the base-side diff is computed once per run.
    walked.sort_by_key(|w| {
        w.as_ref()
            .map_or(u32::MAX, |w| w.diff_base.unwrap_or(u32::MAX))
    });
    walked
        .into_par_iter()
        .with_min_len(context.batch_size.max(1))
        .map_init(
            || TreeWorker::new(sync_repo, context.options, stage.base_name, clocks),
            |worker, walked| {
                let walked = walked?;
                if context.interrupted() {
                    return Err(walked.fail("interrupted".into()));
                }
                let done = worker.tree_facts(
                    stage.graph,
                    walked,
                    stage.base_tip,
                    stage.base_tree,
                    context.cache,
                    stage.partial_clone,
                );
                context.branch_done();
                Ok(done)
            },
        )
        .collect()
}

/// The repository-level facts of an opened repository; `commits` when the graph is loaded.
pub fn repo_facts(opened: &OpenedRepo, commits: Option<u64>) -> RepoFacts {
    let repo = &opened.repo;
    let partial_clone = is_partial_clone(repo);
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

/// Whether objects may be missing on purpose: `extensions.partialClone` (older git) or a
/// remote marked `promisor` (what `git clone --filter` sets today).
fn is_partial_clone(repo: &gix::Repository) -> bool {
    let config = repo.config_snapshot();
    if config.string("extensions.partialClone").is_some() {
        return true;
    }
    config
        .plumbing()
        .sections_by_name("remote")
        .into_iter()
        .flatten()
        .any(|section| {
            section.value("promisor").is_some_and(|v| {
                gix::config::Boolean::try_from(AsRef::<gix::bstr::BStr>::as_ref(&v))
                    .is_ok_and(|b| b.0)
            })
        })
}

/// The facts of a repository without commits: no base tip, no branches, nothing counted.
pub fn empty_repo_facts(path: &std::path::Path, head: Option<&str>, bare: bool) -> RepoFacts {
    let base = head.unwrap_or_default().to_string();
    RepoFacts {
        path: path.display().to_string(),
        base_ref: if base.is_empty() {
            String::new()
        } else {
            format!("refs/heads/{base}")
        },
        base,
        base_tip: String::new(),
        head_branch: head.map(str::to_string),
        head_commit: None,
        bare,
        stats: RepoStats {
            commits: Some(0),
            tags: Some(0),
            ..RepoStats::default()
        },
    }
}

/// A branch after the graph walk.
struct Walked {
    facts: BranchFacts,
    tip: ObjectId,
    /// Graph indices of the merge bases.
    merge_bases: Vec<u32>,
    /// The merge base `git diff BASE...BRANCH` uses; `None` without one.
    diff_base: Option<u32>,
}

impl Walked {
    fn fail(&self, error: String) -> BranchError {
        BranchError {
            name: self.facts.name.clone(),
            reference: self.facts.reference.clone(),
            error,
        }
    }
}

/// A tip commit's signatures and subject, or why they could not be read; `None` for a branch
/// without a tip.
type TipRead = Option<Result<TipInfo, String>>;

/// Reads every branch's tip commit in parallel (one repository handle and buffer per thread).
fn read_tips(
    sync_repo: &gix::ThreadSafeRepository,
    branches: &[BranchRef],
    context: &AlignContext<'_>,
    clock: &StageClock,
) -> Vec<TipRead> {
    branches
        .par_iter()
        .with_min_len(context.batch_size.max(1))
        .map_init(
            || (sync_repo.to_thread_local(), Vec::new(), clock.timer()),
            |(repo, buf, _timer), branch| {
                let tip = *branch.tip.as_ref().ok()?;
                if context.interrupted() {
                    return Some(Err("interrupted".into()));
                }
                Some(tip_info(repo, tip, buf).map_err(|e| e.to_string()))
            },
        )
        .collect()
}

fn walk_branch(
    repo: &gix::Repository,
    graph: &CommitGraph,
    walker: &mut Walker,
    branch: &BranchRef,
    index: Option<u32>,
    info: TipRead,
) -> Result<Walked, BranchError> {
    let fail = |error: String| branch.fail(error);
    let tip = branch.tip.clone().map_err(fail)?;
    let index = index.ok_or_else(|| fail(format!("tip {tip} was not loaded")))?;
    if let Some(reason) = graph.missing(index) {
        return Err(fail(reason.to_string()));
    }
    let walk = walker.align(graph, index).map_err(fail)?;
    let info = info
        .unwrap_or_else(|| Err(format!("tip {tip} was not read")))
        .map_err(fail)?;
    let diff_base = diff_base(repo, graph, &walk.merge_bases).map_err(|e| fail(e.to_string()))?;
    let mut merge_bases: Vec<String> = walk
        .merge_bases
        .iter()
        .map(|i| hex(&graph.id(*i)))
        .collect();
    merge_bases.sort();
    Ok(Walked {
        facts: BranchFacts {
            name: branch.name.clone(),
            reference: branch.reference.clone(),
            remote: branch.remote,
            tip: hex(&tip),
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
        },
        tip,
        merge_bases: walk.merge_bases,
        diff_base,
    })
}

/// The merge base git's `diff A...B` picks among several: the most recent by committer date
/// (git lists merge bases newest first).
fn diff_base(
    repo: &gix::Repository,
    graph: &CommitGraph,
    merge_bases: &[u32],
) -> Result<Option<u32>, ObjectError> {
    if merge_bases.len() < 2 {
        return Ok(merge_bases.first().copied());
    }
    let mut best = None;
    for &mb in merge_bases {
        let id = graph.id(mb);
        let time = repo
            .find_commit(id)
            .map_err(|e| ObjectError::read(ObjectKind::Commit, id, e))?
            .time()
            .map_err(|e| ObjectError::read(ObjectKind::Commit, id, e))?
            .seconds;
        if best.is_none_or(|(t, _)| time > t) {
            best = Some((time, mb));
        }
    }
    Ok(best.map(|(_, mb)| mb))
}

/// What the tree-level stages measure, shared by every worker.
#[derive(Default)]
struct TreeClocks {
    diffstat: StageClock,
    squash: StageClock,
    conflicts: StageClock,
    facts_cache: CacheCounter,
    merges_skipped: std::sync::atomic::AtomicU64,
    skip_disjoint_merges: bool,
}

/// Per-thread state of the tree-level facts.
struct TreeWorker<'c> {
    repo: gix::Repository,
    options: AlignOptions,
    differ: TreeDiffer,
    /// The merger and the base side's changes since the last ancestor.
    merges: BaseMerges,
    /// The base's short name, as git's merge labels it.
    base_name: String,
    clocks: &'c TreeClocks,
}

/// Object cache per worker for tree and blob reads during diffs and merges. 16 MiB per worker
/// cost a full git/git scan 60 MiB of heap (the cache's own bookkeeping included) for no
/// measurable gain.
const OBJECT_CACHE_BYTES: usize = 4 * 1024 * 1024;

impl<'c> TreeWorker<'c> {
    fn new(
        repo: &gix::ThreadSafeRepository,
        options: AlignOptions,
        base_name: &str,
        clocks: &'c TreeClocks,
    ) -> Self {
        let mut repo = repo.to_thread_local().with_object_memory();
        repo.object_cache_size(OBJECT_CACHE_BYTES);
        TreeWorker {
            repo,
            options,
            differ: TreeDiffer::default(),
            merges: BaseMerges::default(),
            base_name: base_name.to_string(),
            clocks,
        }
    }

    /// The branch's facts with the tree-level ones filled in, and why they could not be.
    fn tree_facts(
        &mut self,
        graph: &CommitGraph,
        walked: Walked,
        base_tip: ObjectId,
        base_tree: ObjectId,
        cache: Option<&FactsCache>,
        partial_clone: bool,
    ) -> (BranchFacts, Option<BranchError>) {
        let key = FactsCache::key(walked.tip, base_tip, self.options);
        let hit = cache.and_then(|c| c.get(&key));
        if cache.is_some() {
            self.clocks.facts_cache.count(hit.is_some());
        }
        if let Some(hit) = hit {
            let mut facts = walked.facts;
            hit.apply(&mut facts);
            return (facts, None);
        }
        let computed = self.compute(graph, &walked, base_tree);
        // What the merges wrote to object memory only lives until the verdict.
        release_branch_memory(&self.repo);
        match computed {
            Ok(computed) => {
                if let Some(cache) = cache {
                    cache.put(key, computed.clone());
                }
                let mut facts = walked.facts;
                computed.apply(&mut facts);
                (facts, None)
            }
            Err(e) => {
                let hint = if partial_clone && e.is_missing_object() {
                    " (this is a partial clone: objects it has not fetched cannot be read)"
                } else {
                    ""
                };
                let error =
                    walked.fail(format!("no diffstat, squash or conflict facts: {e}{hint}"));
                (walked.facts, Some(error))
            }
        }
    }

    fn compute(
        &mut self,
        graph: &CommitGraph,
        walked: &Walked,
        base_tree: ObjectId,
    ) -> Result<CachedFacts, TreeFactsError> {
        let options = self.options;
        let mut out = CachedFacts::default();
        let Some(diff_base) = walked.diff_base else {
            // Unrelated histories: git has no three-dot diff nor merge for them.
            out.squash_merged = options.squash.then_some(false);
            return Ok(out);
        };
        if walked.facts.ahead == 0 {
            out.diffstat = options.diffstat.then_some(super::facts::Diffstat {
                files_changed: 0,
                insertions: 0,
                deletions: 0,
            });
            out.squash_merged = options.squash.then_some(false);
            out.conflicts = options.conflicts.then_some(ConflictPrediction::Clean);
            return Ok(out);
        }
        let span = Span::start();
        let repo = &self.repo;
        let tip_tree = tree_of(repo, walked.tip)?;
        let mb_tree = tree_of(repo, graph.id(diff_base))?;
        let branch = self.differ.changes(repo, mb_tree, tip_tree)?;
        if options.diffstat {
            out.diffstat = Some(diffstat(repo, &branch)?);
        }
        self.clocks.diffstat.add(span.stop());
        let span = Span::start();
        // Squash-merged means merging changes nothing, which only a merge answers; without
        // conflict prediction, merges run only for branches a cheap check cannot rule out
        // (with several merge bases the check's ancestor is not the merge's, so always).
        let squash_candidate = options.squash
            && !options.conflicts
            && (walked.merge_bases.len() > 1 || {
                let merger = self.merges.merger(&self.repo)?;
                may_be_squash_merged(&self.repo, merger, &branch, base_tree)?
            });
        let branch_is_empty = branch.is_empty();
        self.clocks.squash.add(span.stop());
        let span = Span::start();
        // The merge is conflict prediction's when it is on, else squash detection's.
        let merge_clock = if options.conflicts {
            &self.clocks.conflicts
        } else {
            &self.clocks.squash
        };
        if options.conflicts || squash_candidate {
            let (ancestor, branch) = if walked.merge_bases.len() == 1 {
                (mb_tree, branch)
            } else {
                let ids = walked.merge_bases.iter().map(|i| graph.id(*i)).collect();
                let ancestor = self.merges.virtual_merge_base(&self.repo, ids)?;
                let branch = self.differ.changes(&self.repo, ancestor, tip_tree)?;
                (ancestor, branch)
            };
            if self.clocks.skip_disjoint_merges {
                let base =
                    self.merges
                        .base_changes(&self.repo, &mut self.differ, ancestor, base_tree)?;
                if cannot_meet(base, &branch) {
                    // Every branch change applies to the base as it is: clean, and (with
                    // changes) not squash-merged.
                    self.clocks.merges_skipped.fetch_add(1, Ordering::Relaxed);
                    if options.squash {
                        out.squash_merged = Some(false);
                    }
                    out.conflicts = options.conflicts.then_some(ConflictPrediction::Clean);
                    merge_clock.add(span.stop());
                    return Ok(out);
                }
            }
            let trees = MergeTrees {
                ancestor,
                base: base_tree,
                branch: tip_tree,
            };
            let prediction = self.merges.merge(
                &self.repo,
                &mut self.differ,
                trees,
                &branch,
                (&self.base_name, &walked.facts.name),
            )?;
            if options.squash {
                out.squash_merged = Some(prediction.changes_nothing && !branch_is_empty);
            }
            out.conflicts = options.conflicts.then_some(prediction.conflicts);
        } else if options.squash {
            out.squash_merged = Some(false);
        }
        merge_clock.add(span.stop());
        Ok(out)
    }
}
