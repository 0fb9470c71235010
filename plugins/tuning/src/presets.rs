//! Presets by scale: the work is classified by its branches, commits and pack bytes, and each
//! scale has a plan for the machine. The reasoning behind each is in README.md.

use crate::{Config, Probe, Scope, Settings};

/// How big the work of a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scale {
    /// Up to 200 branches, 20,000 commits and 100 MiB of packs in all.
    Small,
    /// Up to 1,000 branches, 200,000 commits and 1 GiB of packs.
    Medium,
    /// Up to 5,000 branches, 1,000,000 commits and 8 GiB of packs.
    Large,
    /// Beyond.
    VeryLarge,
}

const MIB: u64 = 1024 * 1024;

impl Scale {
    /// The scale of a probe: the largest any of its measures reaches.
    pub fn of(probe: &Probe) -> Self {
        Scale::of_totals(
            probe.repos.iter().map(|r| u64::from(r.branches)).sum(),
            probe.repos.iter().map(|r| r.commits()).sum(),
            probe.repos.iter().map(|r| r.pack_bytes).sum(),
        )
    }

    /// The scale of work with these totals.
    pub fn of_totals(branches: u64, commits: u64, pack: u64) -> Self {
        let by = |value: u64, limits: [u64; 3]| match limits.iter().position(|&l| value <= l) {
            Some(0) => Scale::Small,
            Some(1) => Scale::Medium,
            Some(_) => Scale::Large,
            None => Scale::VeryLarge,
        };
        by(branches, [200, 1_000, 5_000])
            .max(by(commits, [20_000, 200_000, 1_000_000]))
            .max(by(pack, [100 * MIB, 1024 * MIB, 8 * 1024 * MIB]))
    }

    /// The scale of a strategy name (`small`, `medium`, `large`, `very-large`).
    pub fn named(name: &str) -> Option<Self> {
        [Scale::Small, Scale::Medium, Scale::Large, Scale::VeryLarge]
            .into_iter()
            .find(|s| s.name() == name)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Medium => "medium",
            Scale::Large => "large",
            Scale::VeryLarge => "very-large",
        }
    }
}

/// The preset of `scale` on the probe's machine; `how` says who chose it, for the reason.
pub fn plan(scale: Scale, probe: &Probe, config: &Config, how: &str) -> Settings {
    let cores = probe.machine.cores.max(1);
    let repos = (probe.repos.len() as u32).max(1);
    let (repo_workers, branch_workers, batch_size, memory_mb) = match scale {
        // Tiny units of work: one pool of one worker per core, shared by repositories and
        // branches alike (no nested pool to start), rayon's own splitting.
        Scale::Small => (cores.min(repos), cores.min(repos), 0, 0),
        // One worker per core; branches are many enough to keep every core busy.
        Scale::Medium => (cores, cores, 0, 0),
        // Branches in runs of 16: runs share merge bases (the host sorts by them), so a
        // worker reuses the base side of its diffs; fewer splits, less stealing.
        Scale::Large => (cores, cores, 16, 0),
        // Half the cores over repositories, so at most that many commit graphs are held at
        // once; every core over one repository's branches; at most a quarter of the memory for
        // the git engine (repositories wait in waves rather than swap).
        Scale::VeryLarge => (
            (cores / 2).max(1),
            cores,
            32,
            probe.machine.memory_bytes / 4 / MIB,
        ),
    };
    // Merging only branches whose changes meet the base's gives the same answers faster; on
    // small work the check costs about what it saves, so the presets of larger scales use it.
    // Said even with conflicts off: a `--conflicts` flag turns them on over the plan, and the
    // scope then applies (`none` would turn them off, which the plan's `conflicts` already says).
    let conflicts_scope = match scale {
        Scale::Small => Scope::All,
        _ => Scope::Overlap,
    };
    let mut reason = format!(
        "{how}: {} scale ({} repositories, {} branches, {} commits, {} MiB of packs) on {cores} cores",
        scale.name(),
        probe.repos.len(),
        probe
            .repos
            .iter()
            .map(|r| u64::from(r.branches))
            .sum::<u64>(),
        probe.repos.iter().map(|r| r.commits()).sum::<u64>(),
        probe.repos.iter().map(|r| r.pack_bytes).sum::<u64>() / MIB,
    );
    if probe.without_commit_graph() {
        reason.push_str(
            "; no commit-graph in some: `git commit-graph write --reachable` speeds up their scans",
        );
    }
    Settings {
        repo_workers,
        branch_workers,
        batch_size,
        memory_mb,
        diffstat: config.diffstat,
        squash: config.squash,
        conflicts: config.conflicts,
        conflicts_scope,
        // The caches are exact (keyed by tips and options): always worth it.
        cache: true,
        reason,
    }
}
