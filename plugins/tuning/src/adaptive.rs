//! The adaptive strategy: successive halving over a few candidate plans, learned from the
//! recorded runs of the same work.
//!
//! Why successive halving rather than a fitted cost model: the host's knobs interact (workers
//! over repositories and over branches share the same cores, batches change how work is
//! stolen) and a scan's time is noisy, so a model per stage would need many runs to fit; a
//! handful of candidates measured directly needs few. Candidates are the preset of the work's
//! scale and variations of its worker counts and batch size, tried in a fixed order so runs are
//! reproducible:
//!
//! 1. explore: every candidate once, in order;
//! 2. halve: the better half (by best wall time) once more each, against noise;
//! 3. exploit: the candidate with the best time among those run twice, from then on.
//!
//! A candidate's time is the best of its runs, not the mean: on a shared machine other work
//! only ever adds time, so the fastest run is the closest to what the plan itself costs.
//!
//! Runs count for a candidate only when they scanned the same work: the same repository set
//! (the host's `repo-set` key), the same machine (cores, memory) and the same scale. A change
//! of any of them starts a new exploration; the old runs stay in the host's bounded history.

use crate::presets::{self, Scale};
use crate::{Config, Machine, Probe, Run, Settings, Value};

/// At most this many candidates are explored.
pub const MAX_CANDIDATES: usize = 5;

/// The candidate plans for a probe, in exploration order (the preset first, no duplicates).
pub fn candidates(probe: &Probe, config: &Config) -> Vec<Settings> {
    let scale = Scale::of(probe);
    let preset = presets::plan(scale, probe, config, "adaptive");
    let cores = probe.machine.cores.max(1);
    let with = |repo: u32, branch: u32, batch: u32| Settings {
        repo_workers: repo,
        branch_workers: branch,
        batch_size: batch,
        ..preset.clone()
    };
    let all = [
        preset.clone(),
        with(cores, cores, 0),
        with(cores * 2, cores * 2, 0),
        with((cores / 2).max(1), (cores / 2).max(1), 0),
        with(cores, cores, 64),
    ];
    let mut out: Vec<Settings> = Vec::new();
    for c in all {
        if !out.iter().any(|o| o.knobs() == c.knobs()) && out.len() < MAX_CANDIDATES {
            out.push(c);
        }
    }
    out
}

/// Whether `run` scanned the same work on the same machine as `probe` would.
pub fn same_work(run: &Run, probe: &Probe) -> bool {
    let Machine {
        cores,
        memory_bytes,
    } = probe.machine;
    let gib = |bytes: u64| bytes >> 30;
    let scale = Scale::of_totals(
        u64::from(run.branches),
        run.count("commits").unwrap_or(0),
        run.count("pack-bytes").unwrap_or(0),
    );
    run.text("repo-set") == probe.repo_set()
        && run.count("cores") == Some(u64::from(cores))
        && run.count("memory-bytes").map(gib) == Some(gib(memory_bytes))
        && scale == Scale::of(probe)
        && run.text("plan.source") == Some("tuner")
}

/// The knobs a run used, from its `plan.*` facts.
fn knobs(run: &Run) -> Option<(u32, u32, u32)> {
    let get = |name: &str| run.count(name).map(|n| n.min(u64::from(u32::MAX)) as u32);
    Some((
        get("plan.repo-workers")?,
        get("plan.branch-workers")?,
        get("plan.batch-size")?,
    ))
}

/// What is known of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Runs measured with it.
    pub runs: usize,
    /// The best (lowest) wall time of its runs in milliseconds (0 without runs).
    pub best_ms: f64,
}

/// The tallies of `candidates` from the runs of the same work.
pub fn tallies(candidates: &[Settings], history: &[Run], probe: &Probe) -> Vec<Tally> {
    candidates
        .iter()
        .map(|c| {
            let walls: Vec<f64> = history
                .iter()
                .filter(|r| same_work(r, probe) && knobs(r) == Some(c.knobs()))
                .map(Run::wall)
                .collect();
            Tally {
                runs: walls.len(),
                best_ms: walls.iter().copied().reduce(f64::min).unwrap_or(0.0),
            }
        })
        .collect()
}

/// The adaptive plan.
pub fn plan(probe: &Probe, history: &[Run], config: &Config) -> Settings {
    let candidates = candidates(probe, config);
    let tallies = tallies(&candidates, history, probe);
    let earlier: usize = tallies.iter().map(|t| t.runs).sum();
    let pick = |i: usize, why: String| {
        let mut c = candidates[i].clone();
        c.reason = format!(
            "adaptive: {why}: {} ({earlier} earlier runs of this work; {})",
            c.describe(),
            c.reason.trim_start_matches("adaptive: ")
        );
        c
    };
    // 1. Explore: every candidate once.
    if let Some(i) = tallies.iter().position(|t| t.runs == 0) {
        return pick(
            i,
            format!("exploring candidate {} of {}", i + 1, candidates.len()),
        );
    }
    // 2. Halve: the better half once more each.
    let mut ranked: Vec<usize> = (0..candidates.len()).collect();
    ranked.sort_by(|&a, &b| tallies[a].best_ms.total_cmp(&tallies[b].best_ms));
    let half = candidates.len().div_ceil(2);
    if let Some(&i) = ranked[..half].iter().find(|&&i| tallies[i].runs < 2) {
        return pick(
            i,
            format!(
                "measuring candidate {} again (best {:.0} ms), one of the better {half}",
                i + 1,
                tallies[i].best_ms
            ),
        );
    }
    // 3. Exploit: the best time among the candidates measured twice or more.
    let best = ranked
        .iter()
        .copied()
        .find(|&i| tallies[i].runs >= 2)
        .unwrap_or(ranked[0]);
    pick(
        best,
        format!(
            "using the fastest of {} candidates (best {:.0} ms of {} runs)",
            candidates.len(),
            tallies[best].best_ms,
            tallies[best].runs
        ),
    )
}

impl Run {
    /// A record from its typed fields and extras (for tests and the glue).
    pub fn new(
        branches: u32,
        wall_ms: u64,
        extra: impl IntoIterator<Item = (String, Value)>,
    ) -> Self {
        Run {
            branches,
            wall_ms,
            extra: extra.into_iter().collect(),
        }
    }
}
