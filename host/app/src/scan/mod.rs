//! A scan: open every repository, let a tuner plan the work, align every branch, run every
//! analyzer and policy, and collect it all in a [`ScanReport`]. One bad repository, branch or
//! plugin never stops the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use crate::config::{Config, merge};
use crate::report::{InputError, PluginResult, RepoReport, ScanReport, Status};
use trellis_git::{
    self as git, AlignContext, AlignOptions, BranchSelection, FactsCache, GitError, OpenedRepo,
    RepoScan,
};
use trellis_os::display::{Escaped, EscapedDisplay};
use trellis_runtime::plan::{Machine, Plan, RunRecord};
use trellis_runtime::plugin::{Capability, PluginKind, RuleInfo};
use trellis_runtime::{Failure, Invocation, LoadedPlugin, Metrics, Runtime};

/// Denied-capability warnings shown per plugin invocation; the rest are summed up in one line.
const MAX_DENIED_WARNINGS: usize = 8;

/// What to scan and with what.
pub struct ScanRequest<'a> {
    /// The repositories, as the user named them.
    pub repos: Vec<PathBuf>,
    /// The base branch; `None`: each repository's default branch.
    pub base: Option<String>,
    /// Which branches to align.
    pub selection: BranchSelection,
    /// Worker threads; 0 means one per core (or what a tuner plans).
    pub jobs: usize,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
    /// The plugin runtime; `None` when no plugin runs.
    pub runtime: Option<&'a Runtime>,
    /// The plugins to run (a tuner first, if any).
    pub plugins: &'a [LoadedPlugin],
    /// The configuration.
    pub config: &'a Config,
    /// Capabilities granted per plugin id.
    pub grants: &'a BTreeMap<String, BTreeSet<Capability>>,
    /// How the git engine runs.
    pub engine: EngineSettings,
    /// Earlier runs, oldest first, for a tuner.
    pub history: &'a [RunRecord],
    /// Told how many branches there are and of every one done.
    pub progress: Option<&'a dyn ScanProgress>,
    /// Set to stop early: repositories not done yet are reported as interrupted.
    pub should_interrupt: Option<&'a AtomicBool>,
}

/// Learns how far a scan has come; the caller decides how to show it.
pub trait ScanProgress: git::Progress {
    /// The scan found `branches` branches to align, over all repositories.
    fn branches_found(&self, branches: u64);
}

/// Settings of the git engine for one scan.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Optional facts as configured.
    pub configured: AlignOptions,
    /// Optional facts forced on the command line; they win over a tuner's plan.
    pub forced: ForcedOptions,
    /// Where the facts cache lives; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Memory budget in bytes; repositories wait until their estimate fits. 0: no budget.
    pub memory_bytes: u64,
    /// Compute repository statistics.
    pub stats: bool,
}

/// Optional facts switched on or off explicitly.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForcedOptions {
    /// `--diffstat` / `--no-diffstat`.
    pub diffstat: Option<bool>,
    /// `--squash` / `--no-squash`.
    pub squash: Option<bool>,
    /// `--conflicts` / `--no-conflicts`.
    pub conflicts: Option<bool>,
}

impl EngineSettings {
    /// The facts to compute: forced, else planned by a tuner, else configured.
    fn options(&self, plan: Option<&Plan>) -> AlignOptions {
        let pick = |forced: Option<bool>, planned: Option<bool>, configured: bool| {
            forced.or(planned).unwrap_or(configured)
        };
        AlignOptions {
            diffstat: pick(
                self.forced.diffstat,
                plan.map(|p| p.diffstat),
                self.configured.diffstat,
            ),
            squash: pick(
                self.forced.squash,
                plan.map(|p| p.squash_detection),
                self.configured.squash,
            ),
            conflicts: pick(
                self.forced.conflicts,
                plan.map(|p| p.conflicts),
                self.configured.conflicts,
            ),
        }
    }
}

/// Runs a scan. Errors of single inputs are in the report, never returned.
pub fn run(request: &ScanRequest<'_>) -> ScanReport {
    let opened: Vec<Result<OpenedRepo, GitError>> = with_pool(request.jobs, || {
        request
            .repos
            .par_iter()
            .map(|path| git::open_repository(path, request.base.as_deref(), request.selection))
            .collect()
    });

    let plan = plan(request, &opened);
    let jobs = match plan.as_ref().and_then(|p| p.output.as_ref()) {
        Some(p) if request.jobs == 0 && p.workers > 0 => p.workers as usize,
        _ => request.jobs,
    };

    let engine = &request.engine;
    let options = engine.options(plan.as_ref().and_then(|p| p.output.as_ref()));
    let total: usize = opened.iter().flatten().map(|o| o.branches.len()).sum();
    if let Some(progress) = request.progress {
        progress.branches_found(total as u64);
    }
    // Repositories run in waves whose estimated memory fits the budget; never blocking
    // inside the pool keeps rayon's work stealing free of deadlocks.
    let estimates: Vec<u64> = opened
        .iter()
        .map(|o| o.as_ref().map_or(0, |o| estimate_bytes(o, jobs)))
        .collect();
    let mut slots: Vec<Option<Result<OpenedRepo, GitError>>> =
        opened.into_iter().map(Some).collect();
    let mut results: Vec<(usize, Result<RepoReport, InputError>)> = Vec::new();
    for wave in waves(&estimates, engine.memory_bytes) {
        let inputs: Vec<(usize, Result<OpenedRepo, GitError>)> = wave
            .into_iter()
            .filter_map(|i| slots[i].take().map(|o| (i, o)))
            .collect();
        let done: Vec<(usize, Result<RepoReport, InputError>)> = with_pool(jobs, || {
            inputs
                .into_par_iter()
                .map(|(i, opened)| {
                    let report = scan_repo(request, &request.repos[i], opened, options);
                    (i, report)
                })
                .collect()
        });
        results.extend(done);
    }
    results.sort_by_key(|(i, _)| *i);
    let results = results.into_iter().map(|(_, r)| r);

    let mut repositories = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(r) => repositories.push(r),
            Err(e) => errors.push(e),
        }
    }
    ScanReport {
        trellis_version: env!("CARGO_PKG_VERSION"),
        scan_time: request.scan_time,
        plan,
        repositories,
        errors,
    }
}

/// Aligns one opened repository and runs the plugins on it.
fn scan_repo(
    request: &ScanRequest<'_>,
    path: &std::path::Path,
    opened: Result<OpenedRepo, GitError>,
    options: AlignOptions,
) -> Result<RepoReport, InputError> {
    let engine = &request.engine;
    let error = |e: GitError| InputError {
        path: path.display().to_string(),
        error: e.to_string(),
    };
    let opened = match opened {
        // Nothing to align and nothing for plugins to look at, but nothing wrong either.
        Err(GitError::Empty { path, head, bare }) => {
            return Ok(RepoReport {
                facts: git::empty_repo_facts(&path, head.as_deref(), bare),
                branches: Vec::new(),
                branch_errors: Vec::new(),
                plugins: Vec::new(),
            });
        }
        opened => opened.map_err(error)?,
    };
    let cache = engine
        .cache_dir
        .as_ref()
        .map(|dir| FactsCache::open(&dir.join("facts"), opened.repo.git_dir()));
    let pack_cache = engine.cache_dir.as_ref().map(|dir| dir.join("commits"));
    let context = AlignContext {
        options,
        cache: cache.as_ref(),
        pack_cache: pack_cache.as_deref(),
        progress: request.progress.map(|p| p as &dyn git::Progress),
        should_interrupt: request.should_interrupt,
    };
    let mut scan = git::align_repository(&opened, &context).map_err(error)?;
    if let Some(cache) = &cache
        && let Err(e) = cache.save()
    {
        tracing::warn!("{e}");
    }
    if engine.stats {
        git::fill_stats(&opened, &mut scan.facts.stats);
    }
    let plugins = run_plugins(request, &opened, &scan);
    Ok(RepoReport {
        facts: scan.facts,
        branches: scan.branches,
        branch_errors: scan.errors,
        plugins,
    })
}

/// Splits repositories (by index) into consecutive waves whose estimates fit `limit`
/// (0: one wave); a repository larger than the limit gets a wave of its own.
fn waves(estimates: &[u64], limit: u64) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut used = 0u64;
    for (i, &bytes) in estimates.iter().enumerate() {
        match out.last_mut() {
            Some(wave) if limit == 0 || used + bytes <= limit => {
                wave.push(i);
                used += bytes;
            }
            _ => {
                out.push(vec![i]);
                used = bytes;
            }
        }
    }
    out
}

/// A rough upper bound of what aligning `opened` holds: per-thread object caches and walkers,
/// and the commit graph (estimated from the pack indices: about 28 bytes per object).
fn estimate_bytes(opened: &OpenedRepo, jobs: usize) -> u64 {
    let threads = if jobs == 0 {
        rayon::current_num_threads()
    } else {
        jobs
    } as u64;
    let pack_dir = opened.repo.objects.store_ref().path().join("pack");
    let index_bytes: u64 = std::fs::read_dir(pack_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let objects = index_bytes / 28;
    32 * 1024 * 1024 + threads * 24 * 1024 * 1024 + objects * (64 + threads * 8)
}

/// Runs `f` in a pool of `jobs` threads (0: rayon's default, one per core).
fn with_pool<T: Send>(jobs: usize, f: impl FnOnce() -> T + Send) -> T {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .or_else(|e| {
            // The machine refused threads; one worker still produces the whole report.
            tracing::warn!("cannot start {jobs} workers ({e}); using one");
            rayon::ThreadPoolBuilder::new().num_threads(1).build()
        });
    match pool {
        Ok(pool) => pool.install(f),
        Err(e) => {
            tracing::warn!("cannot start a worker ({e}); working on this thread");
            f()
        }
    }
}

/// The most workers a scan runs, whoever asks: more threads than this only cost memory.
pub fn max_workers(cores: u32) -> u32 {
    cores.saturating_mul(4).clamp(4, 256)
}

/// Validates a tuner's plan against what the host allows, changing what it must; returns a
/// line for each change, for the report.
pub fn validate_plan(plan: &mut Plan, machine: &Machine) -> Vec<String> {
    let mut changed = Vec::new();
    let max = max_workers(machine.cores);
    if plan.workers > max {
        changed.push(format!(
            "workers {} lowered to {max} (at most 4 per core, 256 in all)",
            plan.workers
        ));
        plan.workers = max;
    }
    changed
}

/// Asks the first tuner, if any, how to process the scan.
fn plan(
    request: &ScanRequest<'_>,
    opened: &[Result<OpenedRepo, GitError>],
) -> Option<PluginResult<Plan>> {
    let runtime = request.runtime?;
    let tuner = request
        .plugins
        .iter()
        .find(|p| p.manifest.kind == PluginKind::Tuner)?;
    let facts: Vec<_> = opened
        .iter()
        .flatten()
        .map(|o| git::repo_facts(o, None))
        .collect();
    let facts: Vec<_> = facts.iter().collect();
    let (invocation, limits_error) = invocation(request, tuner, None);
    let machine = machine();
    let (result, metrics) = match limits_error {
        Some(failure) => (Err(failure), Metrics::default()),
        None => runtime.tune(tuner, machine, &facts, request.history, invocation),
    };
    let result = result.map(|mut plan| {
        for change in validate_plan(&mut plan, &machine) {
            tracing::warn!(plugin = %tuner.label(), "plan changed: {change}");
            plan.adjustments.push(change);
        }
        plan
    });
    Some(plugin_result(tuner, result, Vec::new(), metrics))
}

fn run_plugins(
    request: &ScanRequest<'_>,
    opened: &OpenedRepo,
    scan: &RepoScan,
) -> Vec<PluginResult<Vec<trellis_runtime::plugin::Finding>>> {
    let Some(runtime) = request.runtime else {
        return Vec::new();
    };
    let repo = opened.repo.clone().into_sync();
    request
        .plugins
        .iter()
        .filter(|p| p.manifest.kind != PluginKind::Tuner)
        .map(|plugin| {
            let (invocation, limits_error) = invocation(request, plugin, Some(repo.clone()));
            let (result, metrics) = match limits_error {
                Some(failure) => (Err(failure), Metrics::default()),
                None => runtime.analyze(plugin, scan, invocation),
            };
            // Rate-limited like log lines: a plugin cannot flood the terminal with warnings.
            for capability in metrics.denied.iter().take(MAX_DENIED_WARNINGS) {
                let capability = Escaped(capability);
                tracing::warn!(
                    plugin = %plugin.label(),
                    repo = %Escaped(&scan.facts.path),
                    "denied capability `{capability}`: grant it with --grant {}:{capability}",
                    plugin.manifest.id
                );
            }
            let unshown = metrics.denied.len().saturating_sub(MAX_DENIED_WARNINGS)
                + metrics.denied_dropped as usize;
            if unshown > 0 {
                tracing::warn!(
                    plugin = %plugin.label(),
                    repo = %Escaped(&scan.facts.path),
                    "{unshown} more denied capability attempts not shown \
                     (`--format json` lists up to {} in metrics.denied)",
                    trellis_runtime::caps::MAX_DENIED
                );
            }
            let (result, rules) = match result {
                Ok(outcome) => (Ok(outcome.findings), outcome.rules),
                Err(failure) => (Err(failure), Vec::new()),
            };
            plugin_result(plugin, result, rules, metrics)
        })
        .collect()
}

/// The invocation settings of `plugin`: merged config, grants and limits.
fn invocation(
    request: &ScanRequest<'_>,
    plugin: &LoadedPlugin,
    repo: Option<gix::ThreadSafeRepository>,
) -> (Invocation, Option<Failure>) {
    let id = &plugin.manifest.id;
    let mut config = plugin.manifest.config.clone();
    if let Some(user) = request.config.plugins.get(id) {
        merge(&mut config, user.config.clone());
    }
    let config_json = serde_json::to_string(&config).unwrap_or_else(|_| "{}".into());
    let granted: BTreeSet<Capability> = request
        .grants
        .get(id)
        .map(|g| {
            g.iter()
                .filter(|c| plugin.manifest.asks_for(c))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let (limits, failure) = match request.config.limits_for(id) {
        Ok(limits) => (limits, None),
        Err(message) => (
            request.config.limits,
            Some(Failure::Instantiate { message }),
        ),
    };
    (
        Invocation {
            granted,
            config_json,
            repo,
            limits,
            scan_time: request.scan_time,
        },
        failure,
    )
}

fn plugin_result<T>(
    plugin: &LoadedPlugin,
    result: Result<T, Failure>,
    rules: Vec<RuleInfo>,
    metrics: Metrics,
) -> PluginResult<T> {
    let (status, output, failure) = match result {
        Ok(output) => (Status::Ok, Some(output), None),
        Err(failure) => {
            let failure_text = EscapedDisplay(&failure);
            tracing::warn!(plugin = %plugin.label(), "plugin failed: {failure_text}");
            (Status::Failed, None, Some(failure))
        }
    };
    PluginResult {
        id: plugin.manifest.id.clone(),
        version: plugin.manifest.version.clone(),
        kind: plugin.manifest.kind,
        api: plugin.api,
        status,
        failure,
        output,
        rules,
        suppressed_by_baseline: None,
        metrics,
    }
}

/// The machine this scan runs on.
fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let memory_bytes = trellis_os::memory::total_bytes().unwrap_or(0);
    Machine {
        cores,
        memory_bytes,
    }
}
