//! A scan: open every repository, let a tuner plan the work, align every branch, run every
//! analyzer and policy, and collect it all in a [`ScanReport`]. One bad repository, branch or
//! plugin never stops the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::config::{Config, merge};
use crate::git::{self, BranchSelection, GitError, OpenedRepo, RepoScan};
use crate::plan::{Machine, Plan};
use crate::plugin::{Capability, PluginKind};
use crate::report::{InputError, PluginResult, RepoReport, SCHEMA_VERSION, ScanReport, Status};
use crate::runtime::{Failure, Invocation, LoadedPlugin, Metrics, Runtime};

/// What to scan and with what.
pub struct ScanRequest<'a> {
    pub repos: Vec<PathBuf>,
    pub base: Option<String>,
    pub selection: BranchSelection,
    /// Worker threads; 0 means one per core (or what a tuner plans).
    pub jobs: usize,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
    pub runtime: Option<&'a Runtime>,
    pub plugins: &'a [LoadedPlugin],
    pub config: &'a Config,
    /// Capabilities granted per plugin id.
    pub grants: &'a BTreeMap<String, BTreeSet<Capability>>,
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

    let results: Vec<Result<RepoReport, InputError>> = with_pool(jobs, || {
        opened
            .into_par_iter()
            .zip(request.repos.par_iter())
            .map(|(opened, path)| {
                let error = |e: GitError| InputError {
                    path: path.display().to_string(),
                    error: e.to_string(),
                };
                let opened = opened.map_err(error)?;
                let scan = git::align_repository(&opened).map_err(error)?;
                let plugins = run_plugins(request, &opened, &scan);
                Ok(RepoReport {
                    facts: scan.facts,
                    branches: scan.branches,
                    branch_errors: scan.errors,
                    plugins,
                })
            })
            .collect()
    });

    let mut repositories = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(r) => repositories.push(r),
            Err(e) => errors.push(e),
        }
    }
    ScanReport {
        schema_version: SCHEMA_VERSION,
        trellis_version: env!("CARGO_PKG_VERSION"),
        scan_time: request.scan_time,
        plan,
        repositories,
        errors,
    }
}

/// Runs `f` in a pool of `jobs` threads (0: rayon's default, one per core).
fn with_pool<T: Send>(jobs: usize, f: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(f),
        Err(e) => {
            tracing::warn!("cannot start {jobs} workers ({e}); using the global pool");
            f()
        }
    }
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
    let (result, metrics) = match limits_error {
        Some(failure) => (Err(failure), Metrics::default()),
        None => runtime.tune(tuner, machine(), &facts, &[], invocation),
    };
    Some(plugin_result(tuner, result, metrics))
}

fn run_plugins(
    request: &ScanRequest<'_>,
    opened: &OpenedRepo,
    scan: &RepoScan,
) -> Vec<PluginResult<Vec<crate::plugin::Finding>>> {
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
            for capability in &metrics.denied {
                tracing::warn!(
                    plugin = %plugin.label(),
                    repo = %scan.facts.path,
                    "denied capability `{capability}`: grant it with --grant {}:{capability}",
                    plugin.manifest.id
                );
            }
            plugin_result(plugin, result, metrics)
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
                .filter(|c| plugin.manifest.capabilities.contains(c))
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
    metrics: Metrics,
) -> PluginResult<T> {
    let (status, output, failure) = match result {
        Ok(output) => (Status::Ok, Some(output), None),
        Err(failure) => {
            tracing::warn!(plugin = %plugin.label(), "plugin failed: {failure}");
            (Status::Failed, None, Some(failure))
        }
    };
    PluginResult {
        id: plugin.manifest.id.clone(),
        version: plugin.manifest.version.to_string(),
        kind: plugin.manifest.kind.to_string(),
        api: plugin.api.to_string(),
        status,
        failure,
        output,
        metrics,
    }
}

/// The machine this scan runs on.
fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    Machine {
        cores,
        memory_bytes,
    }
}
