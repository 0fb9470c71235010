//! A scan: open every repository, let a tuner plan the work, align every branch, run every
//! analyzer and policy, and collect it all in a [`ScanReport`]. One bad repository, branch or
//! plugin never stops the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rayon::prelude::*;

pub mod profile;

use profile::{PlanSource, PlanUsed, Profile, RepoProfile, sum_caches, sum_stages};

use crate::config::{Config, merge};
use crate::report::{InputError, PluginResult, RepoReport, ScanReport, Status};
use trellis_git::profile::{Span, StageTime};
use trellis_git::{
    self as git, AlignContext, AlignOptions, BranchSelection, FactsCache, GitError, OpenedRepo,
    RepoScan,
};
use trellis_os::display::{Escaped, EscapedDisplay};
use trellis_runtime::plan::{ConflictsScope, Fact, FactValue, Machine, Plan, Probe, RunRecord};
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
    /// The tuner's strategy (`--strategy`): given to a tuner as its config key `strategy`,
    /// over what the configuration says.
    pub strategy: Option<&'a str>,
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
    let started = Instant::now();
    let cpu_started = trellis_os::cpu::process();
    let Planned {
        opened,
        machine,
        probe,
        plan,
        tuner_stage,
        used,
    } = planned(request);

    let total: usize = opened
        .iter()
        .flat_map(|(o, _)| o.as_ref().ok())
        .map(|o| o.branches.len())
        .sum();
    if let Some(progress) = request.progress {
        progress.branches_found(total as u64);
    }
    // Repositories run in waves whose estimated memory fits the budget; never blocking
    // inside the pool keeps rayon's work stealing free of deadlocks.
    let estimates: Vec<u64> = opened
        .iter()
        .map(|(o, _)| {
            o.as_ref()
                .map_or(0, |o| estimate_bytes(o, used.branch_workers as usize))
        })
        .collect();
    let mut slots: Vec<Option<Opened>> = opened.into_iter().map(Some).collect();
    let mut results: Vec<(usize, Scanned)> = Vec::new();
    for wave in waves(&estimates, used.memory_mb.saturating_mul(1024 * 1024)) {
        let inputs: Vec<(usize, Opened)> = wave
            .into_iter()
            .filter_map(|i| slots[i].take().map(|o| (i, o)))
            .collect();
        let done: Vec<_> = with_pool(used.repo_workers as usize, || {
            inputs
                .into_par_iter()
                .map(|(i, opened)| {
                    let report = scan_repo(request, &request.repos[i], opened, &used);
                    (i, report)
                })
                .collect()
        });
        results.extend(done);
    }
    results.sort_by_key(|(i, _)| *i);

    let mut repositories = Vec::new();
    let mut profiles = Vec::new();
    let mut errors = Vec::new();
    for (_, r) in results {
        match r {
            Ok((r, p)) => {
                repositories.push(r);
                profiles.push(p);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut stages = sum_stages(
        tuner_stage
            .iter()
            .chain(profiles.iter().flat_map(|p| &p.stages)),
    );
    stages.retain(|(_, t)| !t.wall.is_zero() || !t.cpu.is_zero());
    let mut caches = sum_caches(profiles.iter().flat_map(|p| &p.caches));
    if let Some(runtime) = request.runtime {
        caches.push(("compile", runtime.compile_cache_use()));
    }
    let profile = Profile {
        plan: used,
        wall: started.elapsed(),
        cpu: trellis_os::cpu::process().saturating_sub(cpu_started),
        branches: profiles.iter().map(|p| p.branches).sum(),
        peak_rss_bytes: trellis_os::memory::peak_rss_bytes().unwrap_or(0),
        stages,
        caches,
        repositories: profiles,
        machine,
        repo_set: probe.repo_set,
        pack_bytes: probe.sizes.iter().map(|s| s.pack_bytes).sum(),
    };
    ScanReport {
        trellis_version: env!("CARGO_PKG_VERSION"),
        scan_time: request.scan_time,
        plan,
        repositories,
        errors,
        profile: Some(profile),
    }
}

/// What `trellis tune` shows: what a scan would be planned with, without scanning.
#[derive(Debug)]
pub struct TunePreview {
    /// The machine.
    pub machine: Machine,
    /// Each repository that could be opened, with what the tuner learns of its size.
    pub repos: Vec<ProbedRepo>,
    /// Repositories that could not be opened.
    pub errors: Vec<InputError>,
    /// The tuner that planned (id and version), if any.
    pub tuner: Option<String>,
    /// The strategy the tuner was given (`--strategy`, else its config's `strategy`), if any.
    pub strategy: Option<String>,
    /// The tuner's plan as validated, with the host's adjustments; or why it failed.
    pub plan: Option<PluginResult<Plan>>,
    /// The settings the scan would run with.
    pub used: PlanUsed,
}

/// One repository as a tuner sees it.
#[derive(Debug)]
pub struct ProbedRepo {
    /// The path as given.
    pub path: String,
    /// Its base branch.
    pub base: String,
    /// Branches to align.
    pub branches: usize,
    /// What its packs and commit-graph say.
    pub size: git::SizeProbe,
}

/// Opens the repositories and asks the tuner for its plan, as [`run`] does, without aligning
/// anything.
pub fn tune(request: &ScanRequest<'_>) -> TunePreview {
    let Planned {
        opened,
        machine,
        probe,
        plan,
        used,
        ..
    } = planned(request);
    let tuner = request
        .plugins
        .iter()
        .find(|p| p.manifest.kind == PluginKind::Tuner)
        .filter(|_| request.runtime.is_some());
    let strategy = tuner.and_then(|t| {
        let config: serde_json::Value =
            serde_json::from_str(&invocation(request, t, None).0.config_json).ok()?;
        config.get("strategy")?.as_str().map(String::from)
    });
    let mut repos = Vec::new();
    let mut errors = Vec::new();
    let mut sizes = probe.sizes.into_iter();
    for (path, (opened, _)) in request.repos.iter().zip(opened) {
        match opened {
            Ok(o) => repos.push(ProbedRepo {
                path: path.display().to_string(),
                base: o.base.name.clone(),
                branches: o.branches.len(),
                size: sizes.next().unwrap_or_default(),
            }),
            Err(e) => errors.push(InputError {
                path: path.display().to_string(),
                error: e.to_string(),
            }),
        }
    }
    TunePreview {
        machine,
        repos,
        errors,
        tuner: tuner.map(|t| format!("{} {}", t.manifest.id, t.manifest.version)),
        strategy,
        plan,
        used,
    }
}

/// The repositories opened and the plan to scan them with.
struct Planned {
    opened: Vec<Opened>,
    machine: Machine,
    probe: ProbeData,
    /// The tuner's plan (validated, with the host's adjustments), if a tuner ran.
    plan: Option<PluginResult<Plan>>,
    /// The tuner's time, as the stage `plugin.ID`.
    tuner_stage: Option<(String, StageTime)>,
    /// The settings the scan runs with.
    used: PlanUsed,
}

/// Opens the repositories and plans their scan.
fn planned(request: &ScanRequest<'_>) -> Planned {
    let opened = open_all(request);
    let machine = machine();
    let probe = ProbeData::of(&opened);
    let (mut plan, tuner_stage) = plan(request, &opened, &probe, &machine);
    let used = plan_used(
        request,
        plan.as_mut().and_then(|p| p.output.as_mut()),
        &machine,
    );
    Planned {
        opened,
        machine,
        probe,
        plan,
        tuner_stage,
        used,
    }
}

/// A repository's report and profile, or why it could not be scanned.
type Scanned = Result<(RepoReport, RepoProfile), InputError>;

/// A repository as opened, and what opening it took.
type Opened = (Result<OpenedRepo, GitError>, StageTime);

/// Opens every repository in parallel.
fn open_all(request: &ScanRequest<'_>) -> Vec<Opened> {
    with_pool(request.jobs, || {
        request
            .repos
            .par_iter()
            .map(|path| {
                let span = Span::start();
                let opened = git::open_repository(path, request.base.as_deref(), request.selection);
                (opened, span.stop())
            })
            .collect()
    })
}

/// Aligns one opened repository and runs the plugins on it.
fn scan_repo(
    request: &ScanRequest<'_>,
    path: &std::path::Path,
    (opened, open_time): Opened,
    used: &PlanUsed,
) -> Scanned {
    let started = Instant::now();
    let engine = &request.engine;
    let error = |e: GitError| InputError {
        path: path.display().to_string(),
        error: e.to_string(),
    };
    let mut profile = RepoProfile {
        path: path.display().to_string(),
        wall: open_time.wall,
        cpu: open_time.cpu,
        branches: 0,
        commits: 0,
        parent_source: "",
        stages: vec![("open".into(), open_time)],
        caches: Vec::new(),
        merges_skipped: 0,
    };
    let opened = match opened {
        // Nothing to align and nothing for plugins to look at, but nothing wrong either.
        Err(GitError::Empty { path, head, bare }) => {
            let report = RepoReport {
                facts: git::empty_repo_facts(&path, head.as_deref(), bare),
                branches: Vec::new(),
                branch_errors: Vec::new(),
                plugins: Vec::new(),
            };
            return Ok((report, profile));
        }
        opened => opened.map_err(error)?,
    };
    let cache_dir = engine.cache_dir.as_ref().filter(|_| used.cache);
    let cache = cache_dir.map(|dir| FactsCache::open(&dir.join("facts"), opened.repo.git_dir()));
    let pack_cache = cache_dir.map(|dir| dir.join("commits"));
    let context = AlignContext {
        options: used.options,
        cache: cache.as_ref(),
        pack_cache: pack_cache.as_deref(),
        progress: request.progress.map(|p| p as &dyn git::Progress),
        should_interrupt: request.should_interrupt,
        batch_size: used.batch_size as usize,
        skip_disjoint_merges: used.conflicts_scope == ConflictsScope::Overlap,
    };
    // Branch workers of their own only when the plan sets them apart from repository workers.
    let context = &context;
    let (opened, scan) = if used.branch_workers == used.repo_workers {
        let scan = git::align_repository(&opened, context);
        (opened, scan)
    } else {
        with_pool(used.branch_workers as usize, move || {
            let scan = git::align_repository(&opened, context);
            (opened, scan)
        })
    };
    let mut scan = scan.map_err(error)?;
    if let Some(cache) = &cache
        && let Err(e) = cache.save()
    {
        tracing::warn!("{e}");
    }
    if engine.stats {
        git::fill_stats(&opened, &mut scan.facts.stats);
    }
    let plugins = run_plugins(request, &opened, &scan);
    let p = &scan.profile;
    profile.stages.extend([
        ("graph".to_string(), p.graph),
        ("walk".into(), p.walk),
        ("diffstat".into(), p.diffstat),
        ("squash".into(), p.squash),
        ("conflicts".into(), p.conflicts),
    ]);
    if cache.is_some() {
        profile.caches.push(("facts", p.facts_cache));
    }
    if pack_cache.is_some() && p.parent_source == "pack-scan" {
        profile.caches.push(("commits", p.commit_cache));
    }
    profile.merges_skipped = p.merges_skipped;
    profile.parent_source = p.parent_source;
    profile.commits = scan.facts.stats.commits.unwrap_or(0);
    profile.branches = scan.branches.len() as u64;
    let plugins: Vec<_> = plugins
        .into_iter()
        .map(|(result, time)| {
            profile.stages.push((format!("plugin.{}", result.id), time));
            result
        })
        .collect();
    profile.wall += started.elapsed();
    profile.cpu = profile.stages.iter().map(|(_, t)| t.cpu).sum();
    let report = RepoReport {
        facts: scan.facts,
        branches: scan.branches,
        branch_errors: scan.errors,
        plugins,
    };
    Ok((report, profile))
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

/// The largest batch a plan may ask for: beyond it, one worker would take whole repositories.
pub const MAX_BATCH: u32 = 100_000;

/// What bounds a plan: the machine, and the git engine's memory budget in bytes (0: none).
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// The machine the scan runs on.
    pub machine: Machine,
    /// The configured memory budget (`--memory-mb`, `[scan] memory_mb`); 0: none.
    pub memory_bytes: u64,
}

/// Validates a tuner's plan against what the host allows, changing what it must; returns a
/// line for each change, for the report.
pub fn validate_plan(plan: &mut Plan, limits: &PlanLimits) -> Vec<String> {
    let mut changed = Vec::new();
    let max = max_workers(limits.machine.cores);
    for (name, value) in [
        ("workers", &mut plan.workers),
        ("repo-workers", &mut plan.repo_workers),
        ("branch-workers", &mut plan.branch_workers),
    ] {
        if *value > max {
            changed.push(format!(
                "{name} {value} lowered to {max} (at most 4 per core, 256 in all)"
            ));
            *value = max;
        }
    }
    if plan.batch_size > MAX_BATCH {
        changed.push(format!(
            "batch-size {} lowered to {MAX_BATCH}",
            plan.batch_size
        ));
        plan.batch_size = MAX_BATCH;
    }
    // Never over the budget the user configured (or, without one, half the machine's memory).
    let budget_mb = match limits.memory_bytes {
        0 => limits.machine.memory_bytes / 2,
        bytes => bytes,
    } / (1024 * 1024);
    if budget_mb > 0 && plan.memory_mb > budget_mb {
        changed.push(format!(
            "memory-mb {} lowered to {budget_mb} (the memory budget)",
            plan.memory_mb
        ));
        plan.memory_mb = budget_mb;
    }
    if plan.conflicts_scope == Some(ConflictsScope::None) && plan.conflicts {
        changed.push("conflicts off: the plan's conflicts-scope is `none`".into());
        plan.conflicts = false;
    }
    changed
}

/// The settings the scan runs with: flags and configuration first, then the tuner's plan
/// (validated), then the host's defaults. What the plan asked for and does not get is added
/// to its adjustments.
fn plan_used(request: &ScanRequest<'_>, plan: Option<&mut Plan>, machine: &Machine) -> PlanUsed {
    let engine = &request.engine;
    let jobs = request.jobs.min(u32::MAX as usize) as u32;
    let Some(plan) = plan else {
        let workers = if jobs > 0 { jobs } else { machine.cores.max(1) };
        let options = engine.options(None);
        return PlanUsed {
            source: PlanSource::Configured,
            repo_workers: workers,
            branch_workers: workers,
            batch_size: 0,
            memory_mb: engine.memory_bytes / (1024 * 1024),
            options,
            conflicts_scope: if options.conflicts {
                ConflictsScope::All
            } else {
                ConflictsScope::None
            },
            cache: engine.cache_dir.is_some(),
        };
    };
    let mut notes = Vec::new();
    let mut workers = |name: &str, asked: u32| {
        let planned = if asked > 0 { asked } else { plan.workers };
        if jobs > 0 {
            if planned > 0 && planned != jobs {
                notes.push(format!(
                    "{name} {planned} not used: --jobs/[scan] jobs {jobs} wins"
                ));
            }
            jobs
        } else if planned > 0 {
            planned
        } else {
            machine.cores.max(1)
        }
    };
    let repo_workers = workers("repo-workers", plan.repo_workers);
    let branch_workers = workers("branch-workers", plan.branch_workers);
    let options = engine.options(Some(plan));
    let cache = match (plan.cache, engine.cache_dir.is_some()) {
        (Some(true), false) => {
            notes.push("cache stays off: caches are disabled (--no-cache, [scan] cache = false, or an unsafe cache directory)".into());
            false
        }
        (Some(asked), on) => asked && on,
        (None, on) => on,
    };
    let conflicts_scope = if options.conflicts {
        match plan.conflicts_scope {
            Some(ConflictsScope::None) | None => ConflictsScope::All,
            Some(scope) => scope,
        }
    } else {
        ConflictsScope::None
    };
    plan.adjustments.extend(notes);
    PlanUsed {
        source: PlanSource::Tuner,
        repo_workers,
        branch_workers,
        batch_size: plan.batch_size,
        memory_mb: if plan.memory_mb > 0 {
            plan.memory_mb
        } else {
            engine.memory_bytes / (1024 * 1024)
        },
        options,
        conflicts_scope,
        cache,
    }
}

/// What the host learns of the opened repositories before aligning them, for a tuner and the
/// profile.
struct ProbeData {
    /// The key of the set of repositories.
    repo_set: String,
    /// The size of each opened repository, in order.
    sizes: Vec<git::SizeProbe>,
}

impl ProbeData {
    fn of(opened: &[Opened]) -> Self {
        let opened: Vec<&OpenedRepo> = opened.iter().flat_map(|(o, _)| o.as_ref().ok()).collect();
        ProbeData {
            repo_set: repo_set_key(opened.iter().map(|o| o.repo.git_dir())),
            sizes: opened.iter().map(|o| git::size_probe(o)).collect(),
        }
    }

    /// The facts a tuner gets beside each repository's (`extra` of `repo-facts`).
    fn extras(&self) -> Vec<Vec<Fact>> {
        self.sizes
            .iter()
            .map(|size| {
                let mut facts = vec![
                    Fact::new("pack-bytes", FactValue::Count(size.pack_bytes)),
                    Fact::new("objects", FactValue::Count(size.packed_objects)),
                    Fact::new(
                        "commit-graph",
                        FactValue::Flag(size.graph_commits.is_some()),
                    ),
                ];
                if let Some(commits) = size.graph_commits {
                    facts.push(Fact::new("graph-commits", FactValue::Count(commits)));
                }
                facts.push(Fact::new(
                    "repo-set",
                    FactValue::Text(self.repo_set.clone()),
                ));
                facts
            })
            .collect()
    }
}

/// A stable key of a set of repositories: a hash of their canonical git directories, sorted,
/// so the same repositories named differently or in another order have the same key.
pub fn repo_set_key<'a>(git_dirs: impl Iterator<Item = &'a std::path::Path>) -> String {
    let mut dirs: Vec<PathBuf> = git_dirs
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut hasher = blake3::Hasher::new();
    for dir in &dirs {
        hasher.update(dir.as_os_str().as_encoded_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex()[..16].to_string()
}

/// Asks the first tuner, if any, how to process the scan; also returns its time, as the stage
/// `plugin.ID`. A tuner that fails leaves the scan to the configured defaults.
fn plan(
    request: &ScanRequest<'_>,
    opened: &[Opened],
    probe: &ProbeData,
    machine: &Machine,
) -> (Option<PluginResult<Plan>>, Option<(String, StageTime)>) {
    let Some(runtime) = request.runtime else {
        return (None, None);
    };
    let Some(tuner) = request
        .plugins
        .iter()
        .find(|p| p.manifest.kind == PluginKind::Tuner)
    else {
        return (None, None);
    };
    let span = Span::start();
    let opened: Vec<&OpenedRepo> = opened.iter().flat_map(|(o, _)| o.as_ref().ok()).collect();
    let facts: Vec<_> = opened.iter().map(|o| git::repo_facts(o, None)).collect();
    let facts: Vec<_> = facts.iter().collect();
    let extra = probe.extras();
    let probe = Probe {
        machine: *machine,
        repos: &facts,
        extra: &extra,
    };
    let (invocation, limits_error) = invocation(request, tuner, None);
    let (result, metrics) = match limits_error {
        Some(failure) => (Err(failure), Metrics::default()),
        None => runtime.tune(tuner, probe, request.history, invocation),
    };
    let limits = PlanLimits {
        machine: *machine,
        memory_bytes: request.engine.memory_bytes,
    };
    let result = result.map(|mut plan| {
        for change in validate_plan(&mut plan, &limits) {
            // Host-made text (names and numbers), a handful of lines at most.
            tracing::warn!(plugin = %tuner.label(), "plan changed: {change}");
            plan.adjustments.push(change);
        }
        plan
    });
    let failed = result.is_err();
    let result = plugin_result(tuner, result, Vec::new(), metrics);
    if failed {
        tracing::warn!(
            plugin = %tuner.label(),
            "no plan: the scan runs with the configured settings"
        );
    }
    let time = span.stop();
    (
        Some(result),
        Some((format!("plugin.{}", tuner.manifest.id), time)),
    )
}

/// Runs every analyzer and policy on one repository; each result with its time.
fn run_plugins(
    request: &ScanRequest<'_>,
    opened: &OpenedRepo,
    scan: &RepoScan,
) -> Vec<(
    PluginResult<Vec<trellis_runtime::plugin::Finding>>,
    StageTime,
)> {
    let Some(runtime) = request.runtime else {
        return Vec::new();
    };
    let repo = opened.repo.clone().into_sync();
    request
        .plugins
        .iter()
        .filter(|p| p.manifest.kind != PluginKind::Tuner)
        .map(|plugin| {
            let span = Span::start();
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
            (plugin_result(plugin, result, rules, metrics), span.stop())
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
    if plugin.manifest.kind == PluginKind::Tuner
        && let Some(strategy) = request.strategy
    {
        let mut table = toml::Table::new();
        table.insert("strategy".into(), toml::Value::String(strategy.into()));
        merge(&mut config, table);
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
pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let memory_bytes = trellis_os::memory::total_bytes().unwrap_or(0);
    Machine {
        cores,
        memory_bytes,
    }
}
