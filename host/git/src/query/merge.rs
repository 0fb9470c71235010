//! Trial merges: what merging a range's tip into its base would do (the engine's conflict
//! prediction, as `git merge-tree --write-tree --name-only BASE TIP` answers), with a summary of
//! each side since the merge base — the raw material of merge-risk models, which re-merge the
//! two parents of every past merge to learn which merges conflicted.

use std::collections::{BTreeSet, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::super::changes::{Change, tree_of};
use super::super::conflicts::MergeTrees;
use super::super::diffstat::LineBuffers;
use super::super::facts::ConflictPrediction;
use super::super::memory::BranchMemoryScope;
use super::{QueryError, QueryState, ResolvedRange};

/// What [`merge_trial`] reports, and how much of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOptions {
    /// At most this many files per side (the rest are counted in `files_truncated`).
    pub max_files: u32,
    /// At most this many commits counted per side (authors and times come from those).
    pub max_commits: u32,
    /// Count the base side's authors too (each of its commits is read; otherwise only walked).
    pub base_authors: bool,
    /// List every file the base changed; otherwise only the ones the tip changed too.
    pub all_base_files: bool,
}

/// One file a side changed, with its lines as `git diff --numstat` counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The path.
    pub path: String,
    /// Lines added and removed; `None` for binary files, and on the base's side for files the
    /// tip did not change (only shared files are diffed there, which keeps trials against a
    /// base that moved far cheap).
    pub lines: Option<(u32, u32)>,
}

/// One side of a trial merge since the merge base.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeSide {
    /// Commits on this side only (`other..this`), at most `max_commits`.
    pub commits: u32,
    /// Whether more commits exist than were counted.
    pub commits_truncated: bool,
    /// Distinct author emails among the counted commits (0 on the base's side unless
    /// [`MergeOptions::base_authors`]).
    pub authors: u32,
    /// The files this side changed since the merge base (`git diff MB..SIDE`), by path.
    pub files: Vec<PathStat>,
    /// Whether more files changed than are listed (the cap, not the shared-only choice).
    pub files_truncated: bool,
    /// Files this side changed in all.
    pub files_total: u32,
    /// Committer time of the oldest counted commit (the merge base's time without commits).
    pub first_time: i64,
    /// Committer time of the side's tip.
    pub last_time: i64,
}

/// What merging would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeVerdict {
    /// A clean merge.
    Clean,
    /// Conflicts in these paths, sorted.
    Conflicts(Vec<String>),
    /// The engine cannot say, and why (e.g. unrelated histories, which git refuses to merge).
    Unknown(String),
}

/// A trial merge of a range's tip into its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTrial {
    /// The merge base `git diff base...tip` uses (the newest of several); `None` for unrelated
    /// histories.
    pub merge_base: Option<String>,
    /// Its committer time.
    pub merge_base_time: Option<i64>,
    /// The base's side (`tip..base`).
    pub ours: MergeSide,
    /// The tip's side (`base..tip`).
    pub theirs: MergeSide,
    /// The verdict.
    pub verdict: MergeVerdict,
}

impl MergeTrial {
    /// Bytes this answer costs against a plugin's query budget.
    pub fn cost(&self) -> u64 {
        let paths =
            |side: &MergeSide| -> usize { side.files.iter().map(|f| f.path.len() + 16).sum() };
        let verdict = match &self.verdict {
            MergeVerdict::Clean => 0,
            MergeVerdict::Conflicts(paths) => paths.iter().map(String::len).sum(),
            MergeVerdict::Unknown(reason) => reason.len(),
        };
        (128 + paths(&self.ours) + paths(&self.theirs) + verdict) as u64
    }
}

/// Merges `range.tip` into `range.base` in memory (`repo` must have object memory enabled) and
/// summarises both sides; [`QueryError::TooLarge`] when the answer costs more than `budget`.
/// A merge the engine cannot carry out is answered with [`MergeVerdict::Unknown`] and its
/// reason, the sides still filled in.
pub fn merge_trial(
    repo: &gix::Repository,
    range: &ResolvedRange,
    options: &MergeOptions,
    state: &mut QueryState,
    budget: u64,
) -> Result<MergeTrial, QueryError> {
    let base = range
        .base
        .ok_or_else(|| QueryError::Invalid("a trial merge needs a base".into()))?;
    let tip = range.tip;
    let _merges = BranchMemoryScope::new(repo);
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
    let merge_bases: Vec<ObjectId> = repo
        .merge_bases_many(base, &[tip])
        .map_err(|e| fail(&e))?
        .into_iter()
        .map(gix::Id::detach)
        .collect();
    let (ours_commits, theirs_commits) = side_commits(repo, base, tip, options)?;
    // git's `diff A...B` starts at the newest merge base.
    let mut newest: Option<(i64, ObjectId)> = None;
    for &mb in &merge_bases {
        let time = commit_time(repo, mb)?;
        if newest.is_none_or(|(t, _)| time > t) {
            newest = Some((time, mb));
        }
    }
    let Some((mb_time, diff_base)) = newest else {
        // Without a merge base, each side's history starts at its root.
        let side = |commits: SideCommits, id| -> Result<MergeSide, QueryError> {
            let time = commit_time(repo, id)?;
            Ok(commits.side(time, time))
        };
        let trial = MergeTrial {
            merge_base: None,
            merge_base_time: None,
            ours: side(ours_commits, base)?,
            theirs: side(theirs_commits, tip)?,
            verdict: MergeVerdict::Unknown(
                "unrelated histories: git refuses to merge them without --allow-unrelated-histories"
                    .into(),
            ),
        };
        return charge(trial, budget);
    };
    let tree = |id| tree_of(repo, id).map_err(|e| fail(&e));
    let (base_tree, tip_tree, mb_tree) = (tree(base)?, tree(tip)?, tree(diff_base)?);
    let differ = &mut state.differ;
    let ours_changes = differ
        .changes(repo, mb_tree, base_tree)
        .map_err(|e| fail(&e))?;
    let theirs_changes = differ
        .changes(repo, mb_tree, tip_tree)
        .map_err(|e| fail(&e))?;
    let ours_changes_total = ours_changes.len() as u32;
    let mut lines = LineBuffers::default();
    let theirs_paths: HashSet<&[u8]> = theirs_changes.iter().map(|c| c.path.as_slice()).collect();
    let mut ours = ours_commits.side(mb_time, commit_time(repo, base)?);
    let mut theirs = theirs_commits.side(mb_time, commit_time(repo, tip)?);
    let shared = |c: &Change| theirs_paths.contains(c.path.as_slice());
    let listed: Vec<Change> = if options.all_base_files {
        ours_changes
    } else {
        ours_changes.iter().filter(|c| shared(c)).cloned().collect()
    };
    (ours.files, ours.files_truncated) = path_stats(repo, &listed, options, &mut lines, shared)?;
    ours.files_total = ours_changes_total;
    theirs.files_total = theirs_changes.len() as u32;
    (theirs.files, theirs.files_truncated) =
        path_stats(repo, &theirs_changes, options, &mut lines, |_| true)?;
    let verdict = if theirs.commits == 0 {
        // Nothing to merge: git answers the base's tree.
        MergeVerdict::Clean
    } else {
        let (ancestor, branch) = if merge_bases.len() == 1 {
            (mb_tree, theirs_changes)
        } else {
            match state.merges.virtual_merge_base(repo, merge_bases.clone()) {
                Ok(ancestor) => {
                    let branch = differ
                        .changes(repo, ancestor, tip_tree)
                        .map_err(|e| fail(&e))?;
                    (ancestor, branch)
                }
                Err(e) => return charge(unknown(ours, theirs, diff_base, mb_time, &e), budget),
            }
        };
        let trees = MergeTrees {
            ancestor,
            base: base_tree,
            branch: tip_tree,
        };
        let labels = (base.to_string(), tip.to_string());
        match state
            .merges
            .merge(repo, differ, trees, &branch, (&labels.0, &labels.1))
        {
            Ok(prediction) => match prediction.conflicts {
                ConflictPrediction::Clean => MergeVerdict::Clean,
                ConflictPrediction::Conflicts(paths) => MergeVerdict::Conflicts(paths),
            },
            Err(e) => return charge(unknown(ours, theirs, diff_base, mb_time, &e), budget),
        }
    };
    charge(
        MergeTrial {
            merge_base: Some(diff_base.to_string()),
            merge_base_time: Some(mb_time),
            ours,
            theirs,
            verdict,
        },
        budget,
    )
}

fn unknown(
    ours: MergeSide,
    theirs: MergeSide,
    merge_base: ObjectId,
    time: i64,
    reason: &dyn std::fmt::Display,
) -> MergeTrial {
    MergeTrial {
        merge_base: Some(merge_base.to_string()),
        merge_base_time: Some(time),
        ours,
        theirs,
        verdict: MergeVerdict::Unknown(reason.to_string()),
    }
}

fn charge(trial: MergeTrial, budget: u64) -> Result<MergeTrial, QueryError> {
    let cost = trial.cost();
    if cost > budget {
        return Err(QueryError::TooLarge(cost));
    }
    Ok(trial)
}

/// The commits of one side (`other..this`), as far as counted.
struct SideCommits {
    count: u32,
    truncated: bool,
    authors: BTreeSet<String>,
    oldest: Option<i64>,
}

impl SideCommits {
    fn side(self, base_time: i64, tip_time: i64) -> MergeSide {
        MergeSide {
            commits: self.count,
            commits_truncated: self.truncated,
            authors: self.authors.len() as u32,
            files: Vec::new(),
            files_truncated: false,
            files_total: 0,
            first_time: self.oldest.unwrap_or(base_time),
            last_time: tip_time,
        }
    }
}

/// Which tips reach a commit in the paint of both, and how often it is queued.
#[derive(Clone, Copy, Default)]
struct Paint {
    ours: bool,
    theirs: bool,
    /// Whether it was queued with its current tips already.
    pushed: bool,
    queued: u32,
}

impl Paint {
    /// Reached by one tip only: a commit of that side, still to be walked through.
    fn one_side(self) -> bool {
        self.ours != self.theirs
    }
}

type PaintGraph<'a, 'c> = gix::revwalk::Graph<'a, 'c, gix::revwalk::graph::Commit<Paint>>;
type PaintQueue = gix::revwalk::PriorityQueue<(u32, i64), ObjectId>;

/// Adds the tips `(ours, theirs)` says to what reaches commit `id`, queueing it when that is
/// news; `live` counts the queue entries of one-side commits.
fn paint(
    graph: &mut PaintGraph<'_, '_>,
    queue: &mut PaintQueue,
    live: &mut usize,
    id: ObjectId,
    (o, t): (bool, bool),
) -> Result<(), QueryError> {
    let mut key = None;
    graph
        .get_or_insert_full_commit(id, |c| {
            let (ours, theirs) = (c.data.ours || o, c.data.theirs || t);
            if (ours, theirs) == (c.data.ours, c.data.theirs) && c.data.pushed {
                return;
            }
            if c.data.one_side() && ours && theirs {
                // Its entries still queued no longer lead anywhere new.
                *live -= c.data.queued as usize;
            }
            c.data.ours = ours;
            c.data.theirs = theirs;
            c.data.pushed = true;
            c.data.queued += 1;
            *live += usize::from(c.data.one_side());
            key = Some((c.generation.unwrap_or(u32::MAX), c.commit_time));
        })
        .map_err(|e| QueryError::Failed(e.to_string()))?;
    if let Some(key) = key {
        queue.insert(key, id);
    }
    Ok(())
}

/// Commits painted at most, per trial: a bound on the work of two tips whose histories meet
/// only very far back (the counts are then marked truncated).
const MAX_PAINTED: usize = 2_000_000;

/// The commits of `theirs..ours` and of `ours..theirs` (as `git rev-list --count`), with
/// authors (the base's only when asked) and the oldest commit time of each side.
///
/// Both sides come from one paint of the two histories, newest first (by generation number,
/// then time), that stops as soon as every queued commit is reached by both tips: the work is
/// the two sides and their frontier, not the shared history. (gix's hidden-commit walk found
/// the same sets, but tests its whole queue at each step, which made a trial merge of a long-
/// lived branch of git.git take seconds.) Without a commit-graph, clock skew can mislead the
/// order as it can git's.
fn side_commits(
    repo: &gix::Repository,
    ours: ObjectId,
    theirs: ObjectId,
    options: &MergeOptions,
) -> Result<(SideCommits, SideCommits), QueryError> {
    use gix::revwalk::graph::Commit;
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(e.to_string());
    let cache = repo.commit_graph_if_enabled().map_err(|e| fail(&e))?;
    let mut graph: PaintGraph<'_, '_> = repo.revision_graph::<Commit<Paint>>(cache.as_ref());
    let mut queue = PaintQueue::new();
    // Queue entries of one-side commits: the walk ends when there are none.
    let mut live = 0usize;
    paint(&mut graph, &mut queue, &mut live, ours, (true, false))?;
    paint(&mut graph, &mut queue, &mut live, theirs, (false, true))?;
    let mut painted = 0usize;
    let mut cut = false;
    while live > 0 {
        let Some((_, id)) = queue.pop() else { break };
        painted += 1;
        if painted > MAX_PAINTED {
            cut = true;
            break;
        }
        let Some(c) = graph.get_mut(&id) else {
            continue;
        };
        c.data.queued -= 1;
        live -= usize::from(c.data.one_side());
        let flags = (c.data.ours, c.data.theirs);
        for parent in c.parents.clone() {
            paint(&mut graph, &mut queue, &mut live, parent, flags)?;
        }
    }
    // The final paint decides: a commit reached by both tips belongs to neither side.
    let mut sides: [Vec<(i64, ObjectId)>; 2] = Default::default();
    for (id, c) in graph.detach() {
        if c.data.one_side() {
            sides[usize::from(c.data.theirs)].push((c.commit_time, id));
        }
    }
    let [ours_side, theirs_side] = sides;
    let count =
        |mut commits: Vec<(i64, ObjectId)>, authors: bool| -> Result<SideCommits, QueryError> {
            // The newest `max_commits` are counted (as `rev-list` lists them).
            commits.sort_unstable_by(|a, b| b.cmp(a));
            let truncated = cut || commits.len() > options.max_commits as usize;
            commits.truncate(options.max_commits as usize);
            let mut out = SideCommits {
                count: commits.len() as u32,
                truncated,
                authors: BTreeSet::new(),
                oldest: commits.last().map(|(time, _)| *time),
            };
            if authors {
                for (_, id) in &commits {
                    let commit = repo.find_commit(*id).map_err(|e| fail(&e))?;
                    let author = commit.author().map_err(|e| fail(&e))?;
                    out.authors
                        .insert(author.trim().email.to_str_lossy().to_lowercase());
                }
            }
            Ok(out)
        };
    Ok((
        count(ours_side, options.base_authors)?,
        count(theirs_side, true)?,
    ))
}

fn commit_time(repo: &gix::Repository, id: ObjectId) -> Result<i64, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(format!("commit {id}: {e}"));
    Ok(repo
        .find_commit(id)
        .map_err(|e| fail(&e))?
        .time()
        .map_err(|e| fail(&e))?
        .seconds)
}

/// The first `max_files` changes as path stats, lines counted where `count` says.
fn path_stats(
    repo: &gix::Repository,
    changes: &[Change],
    options: &MergeOptions,
    buffers: &mut LineBuffers,
    count: impl Fn(&Change) -> bool,
) -> Result<(Vec<PathStat>, bool), QueryError> {
    let mut out = Vec::with_capacity(changes.len().min(options.max_files as usize));
    for change in changes.iter().take(options.max_files as usize) {
        let lines = if count(change) {
            buffers
                .lines(repo, change)
                .map_err(|e| QueryError::Failed(e.to_string()))?
        } else {
            None
        };
        out.push(PathStat {
            path: change.path.to_str_lossy().into_owned(),
            lines,
        });
    }
    Ok((out, changes.len() > options.max_files as usize))
}
