//! The scan profile: where a scan spent its wall and CPU time, per repository and stage, how
//! its caches did, its peak memory, and the plan it ran with. It goes into the JSON report
//! (`profile`), the `-v` summary and the run history tuners learn from.

use std::collections::BTreeMap;
use std::time::Duration;

use trellis_git::AlignOptions;
use trellis_git::profile::{CacheUse, StageTime};
use trellis_runtime::plan::{ConflictsScope, Fact, FactValue, Machine, RunRecord};

/// Who decided the plan a scan ran with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// A tuner's plan, as the host validated it.
    Tuner,
    /// The configuration and flags (no tuner, or it failed).
    Configured,
}

impl PlanSource {
    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            PlanSource::Tuner => "tuner",
            PlanSource::Configured => "configured",
        }
    }
}

/// The settings a scan actually ran with, after flags, the tuner's plan and the host's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanUsed {
    /// Who decided.
    pub source: PlanSource,
    /// Workers over repositories.
    pub repo_workers: u32,
    /// Workers over the branches of one repository.
    pub branch_workers: u32,
    /// Branches a worker takes at a time (0: rayon decides).
    pub batch_size: u32,
    /// The git engine's memory budget in MiB (0: none).
    pub memory_mb: u64,
    /// The optional facts computed.
    pub options: AlignOptions,
    /// Which branches conflict prediction merges.
    pub conflicts_scope: ConflictsScope,
    /// Whether the facts and commit caches were used.
    pub cache: bool,
}

impl PlanUsed {
    /// The plan as `plan.*` facts of a run record.
    pub fn facts(&self) -> Vec<Fact> {
        let count = |name: &str, n: u64| Fact::new(format!("plan.{name}"), FactValue::Count(n));
        let flag = |name: &str, on: bool| Fact::new(format!("plan.{name}"), FactValue::Flag(on));
        vec![
            Fact::new("plan.source", FactValue::Text(self.source.name().into())),
            count("repo-workers", self.repo_workers.into()),
            count("branch-workers", self.branch_workers.into()),
            count("batch-size", self.batch_size.into()),
            count("memory-mb", self.memory_mb),
            flag("diffstat", self.options.diffstat),
            flag("squash", self.options.squash),
            flag("conflicts", self.options.conflicts),
            Fact::new(
                "plan.conflicts-scope",
                FactValue::Text(self.conflicts_scope.name().into()),
            ),
            flag("cache", self.cache),
        ]
    }
}

/// The profile of one repository.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoProfile {
    /// The path as the user gave it.
    pub path: String,
    /// From opening it to its last plugin.
    pub wall: Duration,
    /// CPU time of its stages.
    pub cpu: Duration,
    /// Branches aligned.
    pub branches: u64,
    /// Commits in the loaded history.
    pub commits: u64,
    /// Where the parents came from: `commit-graph`, `pack-scan` or `objects`.
    pub parent_source: &'static str,
    /// Stages in the order they ran: `open`, `graph`, `walk`, `diffstat`, `squash`,
    /// `conflicts`, then `plugin.ID` for each plugin.
    pub stages: Vec<(String, StageTime)>,
    /// Caches by name: `facts`, `commits`.
    pub caches: Vec<(&'static str, CacheUse)>,
    /// Conflict merges skipped by the `overlap` scope.
    pub merges_skipped: u64,
}

/// The profile of a whole scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The plan the scan ran with.
    pub plan: PlanUsed,
    /// The scan's wall time, from opening the first repository to the last result.
    pub wall: Duration,
    /// The process's CPU time during the scan (all threads).
    pub cpu: Duration,
    /// Branches aligned.
    pub branches: u64,
    /// Peak resident set size of the process so far.
    pub peak_rss_bytes: u64,
    /// Stages summed over repositories (the tuner as `plugin.ID` too).
    pub stages: Vec<(String, StageTime)>,
    /// Caches summed over repositories, and the plugin compile cache (`compile`).
    pub caches: Vec<(&'static str, CacheUse)>,
    /// Per repository, in the order given.
    pub repositories: Vec<RepoProfile>,
    /// The machine.
    pub machine: Machine,
    /// The key of the set of repositories scanned (see `scan::repo_set_key`).
    pub repo_set: String,
    /// Bytes of the packs of every repository.
    pub pack_bytes: u64,
}

/// Branches per second over `wall` (0 when nothing was measured).
pub fn per_second(branches: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs > 0.0 {
        branches as f64 / secs
    } else {
        0.0
    }
}

/// The share of lookups a cache answered; `None` when it was not asked.
pub fn hit_rate(c: CacheUse) -> Option<f64> {
    let total = c.hits + c.misses;
    (total > 0).then(|| c.hits as f64 / total as f64)
}

/// Milliseconds, as reports and records carry them.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Sums stages by name, keeping the order they first appear in.
pub fn sum_stages<'a>(
    all: impl IntoIterator<Item = &'a (String, StageTime)>,
) -> Vec<(String, StageTime)> {
    let mut out: Vec<(String, StageTime)> = Vec::new();
    for (name, time) in all {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, t)) => t.add(*time),
            None => out.push((name.clone(), *time)),
        }
    }
    out
}

/// Sums caches by name, keeping the order they first appear in.
pub fn sum_caches<'a>(
    all: impl IntoIterator<Item = &'a (&'static str, CacheUse)>,
) -> Vec<(&'static str, CacheUse)> {
    let mut out: BTreeMap<&'static str, CacheUse> = BTreeMap::new();
    let mut order = Vec::new();
    for (name, c) in all {
        if !out.contains_key(name) {
            order.push(*name);
        }
        out.entry(name).or_default().add(*c);
    }
    order.into_iter().map(|n| (n, out[n])).collect()
}

impl Profile {
    /// The record of this scan for the run history tuners learn from.
    pub fn run_record(&self, started: i64, repos: u32) -> RunRecord {
        RunRecord {
            started,
            repos,
            branches: self.branches.min(u64::from(u32::MAX)) as u32,
            workers: self.plan.repo_workers.max(self.plan.branch_workers),
            batch_size: self.plan.batch_size,
            wall_ms: self.wall.as_millis() as u64,
            peak_rss_bytes: self.peak_rss_bytes,
            extra: self.facts(),
        }
    }

    /// The profile as run-record facts (names documented in the README's tuner section).
    pub fn facts(&self) -> Vec<Fact> {
        let number = |name: String, v: f64| Fact::new(name, FactValue::Number(v));
        let mut out = vec![
            Fact::new("repo-set", FactValue::Text(self.repo_set.clone())),
            Fact::new("cores", FactValue::Count(self.machine.cores.into())),
            Fact::new("memory-bytes", FactValue::Count(self.machine.memory_bytes)),
            Fact::new("pack-bytes", FactValue::Count(self.pack_bytes)),
            number("wall-ms".into(), ms(self.wall)),
            number("cpu-ms".into(), ms(self.cpu)),
            number(
                "branches-per-second".into(),
                per_second(self.branches, self.wall),
            ),
            Fact::new(
                "commits",
                FactValue::Count(self.repositories.iter().map(|r| r.commits).sum()),
            ),
        ];
        for (name, time) in &self.stages {
            out.push(number(format!("stage.{name}.wall-ms"), ms(time.wall)));
            out.push(number(format!("stage.{name}.cpu-ms"), ms(time.cpu)));
        }
        for (name, c) in &self.caches {
            out.push(Fact::new(
                format!("cache.{name}.hits"),
                FactValue::Count(c.hits),
            ));
            out.push(Fact::new(
                format!("cache.{name}.misses"),
                FactValue::Count(c.misses),
            ));
        }
        out.extend(self.plan.facts());
        out
    }

    /// A few lines for people (`-v`).
    pub fn summary(&self) -> Vec<String> {
        let p = &self.plan;
        let mut lines = vec![
            format!(
                "profile: {} branches in {:.0} ms ({:.0} branches/s), CPU {:.0} ms, peak RSS {} MiB",
                self.branches,
                ms(self.wall),
                per_second(self.branches, self.wall),
                ms(self.cpu),
                self.peak_rss_bytes / (1024 * 1024)
            ),
            format!(
                "profile: plan ({}): {} repository workers, {} branch workers, batch {}, memory {} MiB, conflicts scope {}, cache {}",
                p.source.name(),
                p.repo_workers,
                p.branch_workers,
                p.batch_size,
                p.memory_mb,
                p.conflicts_scope.name(),
                if p.cache { "on" } else { "off" }
            ),
        ];
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|(name, t)| {
                format!(
                    "{} {:.0}/{:.0}",
                    trellis_os::display::Escaped(name),
                    ms(t.wall),
                    ms(t.cpu)
                )
            })
            .collect();
        lines.push(format!(
            "profile: stages (wall/CPU ms): {}",
            stages.join(", ")
        ));
        let caches: Vec<String> = self
            .caches
            .iter()
            .map(|(name, c)| match hit_rate(*c) {
                Some(rate) => format!("{name} {:.0}% of {}", rate * 100.0, c.hits + c.misses),
                None => format!("{name} unused"),
            })
            .collect();
        lines.push(format!("profile: cache hits: {}", caches.join(", ")));
        lines
    }
}
