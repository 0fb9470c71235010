//! API 0.1.0 (`wit/v0.1.0`): frozen. Bindings, the host side of its imports, and conversions.

use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::PluginErr;
use crate::host::{HostQueryError, LogLevel};
use crate::plan::{Machine, Plan, RunRecord};
use crate::plugin::{Finding, PluginKind, Severity};
use crate::state::State;
use trellis_git::query::ChangeKind;
use trellis_git::{self, RepoFacts, RepoScan};

/// The analyzer world; it also generates the shared `types` and `host` interfaces.
pub mod analyzer {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "analyzer",
        // Async exports: a call can be cancelled while the guest waits in WASI (e.g. sleeps).
        exports: { default: async },
    });
}

/// The policy world, reusing the analyzer's interfaces.
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "policy",
        exports: { default: async },
        with: {
            "trellis:plugin/types": crate::bindings::v0_1_0::analyzer::trellis::plugin::types,
            "trellis:plugin/host": crate::bindings::v0_1_0::analyzer::trellis::plugin::host,
        },
    });
}

/// The tuner world, reusing the analyzer's interfaces.
pub mod tuner {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "tuner",
        exports: { default: async },
        with: {
            "trellis:plugin/types": crate::bindings::v0_1_0::analyzer::trellis::plugin::types,
            "trellis:plugin/host": crate::bindings::v0_1_0::analyzer::trellis::plugin::host,
        },
    });
}

use analyzer::trellis::plugin::host as wit_host;
use analyzer::trellis::plugin::types as wit;

/// Adds this version's host interfaces to `linker`.
pub fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    analyzer::Analyzer::add_to_linker::<State, HasSelf<State>>(linker, |state| state)
}

/// A component pre-linked as one of this version's worlds.
pub enum Pre {
    Analyzer(analyzer::AnalyzerPre<State>),
    Policy(policy::PolicyPre<State>),
    Tuner(tuner::TunerPre<State>),
}

impl Pre {
    /// Type-checks the component's exports against the world of `kind`.
    pub fn new(kind: PluginKind, pre: InstancePre<State>) -> wasmtime::Result<Self> {
        Ok(match kind {
            PluginKind::Analyzer => Pre::Analyzer(analyzer::AnalyzerPre::new(pre)?),
            PluginKind::Policy => Pre::Policy(policy::PolicyPre::new(pre)?),
            PluginKind::Tuner => Pre::Tuner(tuner::TunerPre::new(pre)?),
        })
    }

    /// Runs `analyze` (analyzer) or `evaluate` (policy) on one repository's facts.
    pub async fn analyze(
        &self,
        store: &mut Store<State>,
        scan: &RepoScan,
        scan_time: i64,
    ) -> wasmtime::Result<Result<Vec<Finding>, PluginErr>> {
        let input = scan_input(scan, scan_time);
        let result = match self {
            Pre::Analyzer(pre) => {
                let instance = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| e.context(crate::Instantiating))?;
                instance.call_analyze(&mut *store, &input).await?
            }
            Pre::Policy(pre) => {
                let instance = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| e.context(crate::Instantiating))?;
                instance.call_evaluate(&mut *store, &input).await?
            }
            Pre::Tuner(_) => wasmtime::bail!("a tuner cannot analyze a repository"),
        };
        Ok(result
            .map(|findings| findings.into_iter().map(finding).collect())
            .map_err(|e| PluginErr {
                code: e.code,
                message: e.message,
            }))
    }

    /// Runs a tuner's `tune`.
    pub async fn tune(
        &self,
        store: &mut Store<State>,
        machine: Machine,
        repos: &[&RepoFacts],
        history: &[RunRecord],
    ) -> wasmtime::Result<Result<Plan, PluginErr>> {
        let Pre::Tuner(pre) = self else {
            wasmtime::bail!("only a tuner can plan a scan");
        };
        let probe = wit::Probe {
            machine: wit::Machine {
                cores: machine.cores,
                memory_bytes: machine.memory_bytes,
            },
            repos: repos.iter().map(|r| repo_facts(r)).collect(),
        };
        let history: Vec<wit::RunRecord> = history
            .iter()
            .map(|r| wit::RunRecord {
                started: r.started,
                repos: r.repos,
                branches: r.branches,
                workers: r.workers,
                // Frozen in API 0.1; the host does not plan batches (yet).
                batch_size: 0,
                wall_ms: r.wall_ms,
                peak_rss_bytes: r.peak_rss_bytes,
            })
            .collect();
        let instance = pre
            .instantiate_async(&mut *store)
            .await
            .map_err(|e| e.context(crate::Instantiating))?;
        let result = instance.call_tune(&mut *store, &probe, &history).await?;
        Ok(result
            .map(|p| Plan {
                workers: p.workers,
                diffstat: p.diffstat,
                squash_detection: p.squash_detection,
                conflicts: p.conflicts,
                reason: p.reason,
                adjustments: Vec::new(),
            })
            .map_err(|e| PluginErr {
                code: e.code,
                message: e.message,
            }))
    }
}

fn finding(f: wit::Finding) -> Finding {
    Finding {
        rule: f.rule,
        severity: match f.severity {
            wit::Severity::Info => Severity::Info,
            wit::Severity::Warning => Severity::Warning,
            wit::Severity::Error => Severity::Error,
        },
        message: f.message,
        branch: f.branch,
        path: f.path,
        commit: None,
        line: None,
        data: f.data.into_iter().collect(),
    }
}

fn signature(s: &trellis_git::Signature) -> wit::Signature {
    wit::Signature {
        name: s.name.clone(),
        email: s.email.clone(),
        time: s.time,
        offset: s.offset,
    }
}

fn repo_facts(r: &RepoFacts) -> wit::RepoFacts {
    let s = &r.stats;
    wit::RepoFacts {
        path: r.path.clone(),
        base: r.base.clone(),
        base_tip: r.base_tip.clone(),
        head_branch: r.head_branch.clone(),
        head_commit: r.head_commit.clone(),
        bare: r.bare,
        stats: wit::RepoStats {
            commits: s.commits,
            branches: s.branches,
            remote_branches: s.remote_branches,
            tags: s.tags,
            objects: s.objects,
            pack_bytes: s.pack_bytes,
            files_at_base: s.files_at_base,
            bytes_at_base: s.bytes_at_base,
            largest_blobs: s
                .largest_blobs
                .iter()
                .map(|b| wit::BlobEntry {
                    path: b.path.clone(),
                    size: b.size,
                })
                .collect(),
            lfs_pointers: s.lfs_pointers,
            shallow: s.shallow,
            partial_clone: s.partial_clone,
        },
    }
}

fn scan_input(scan: &RepoScan, scan_time: i64) -> wit::ScanInput {
    wit::ScanInput {
        repo: repo_facts(&scan.facts),
        branches: scan
            .branches
            .iter()
            .map(|b| wit::BranchFacts {
                name: b.name.clone(),
                reference: b.reference.clone(),
                remote: b.remote,
                tip: b.tip.clone(),
                ahead: b.ahead,
                behind: b.behind,
                merge_bases: b.merge_bases.clone(),
                merged: b.merged,
                squash_merged: b.squash_merged,
                author: signature(&b.author),
                committer: signature(&b.committer),
                summary: b.summary.clone(),
                diffstat: b.diffstat.map(|d| wit::Diffstat {
                    files_changed: d.files_changed,
                    insertions: d.insertions,
                    deletions: d.deletions,
                }),
                conflicts: b.conflicts.as_ref().map(|c| match c {
                    trellis_git::facts::ConflictPrediction::Clean => wit::ConflictPrediction::Clean,
                    trellis_git::facts::ConflictPrediction::Conflicts(paths) => {
                        wit::ConflictPrediction::Conflicts(paths.clone())
                    }
                }),
            })
            .collect(),
        scan_time,
    }
}

fn query_error(e: HostQueryError) -> wit_host::QueryError {
    use trellis_git::query::QueryError as Q;
    match e {
        HostQueryError::Denied(m) => wit_host::QueryError::Denied(m),
        HostQueryError::BudgetExceeded(m) => wit_host::QueryError::BudgetExceeded(m),
        HostQueryError::Query(Q::NotFound(m)) => wit_host::QueryError::NotFound(m),
        HostQueryError::Query(Q::Invalid(m)) => wit_host::QueryError::Invalid(m),
        HostQueryError::Query(Q::TooLarge(n)) => wit_host::QueryError::TooLarge(n),
        HostQueryError::Query(Q::Failed(m)) => wit_host::QueryError::Failed(m),
    }
}

impl wit::Host for State {}

impl wit_host::Host for State {
    fn log(&mut self, level: wit_host::LogLevel, message: String) {
        let level = match level {
            wit_host::LogLevel::Trace => LogLevel::Trace,
            wit_host::LogLevel::Debug => LogLevel::Debug,
            wit_host::LogLevel::Info => LogLevel::Info,
            wit_host::LogLevel::Warn => LogLevel::Warn,
            wit_host::LogLevel::Error => LogLevel::Error,
        };
        self.host.log(level, &message);
    }

    fn config(&mut self) -> String {
        self.host.config()
    }

    fn commits(
        &mut self,
        include: String,
        exclude: Option<String>,
        limit: u32,
    ) -> Result<Vec<wit_host::CommitInfo>, wit_host::QueryError> {
        let commits = self
            .host
            .commits(&include, exclude.as_deref(), limit)
            .map_err(query_error)?;
        Ok(commits
            .into_iter()
            .map(|c| wit_host::CommitInfo {
                id: c.id,
                parents: c.parents,
                author: signature(&c.author),
                committer: signature(&c.committer),
                summary: c.summary,
            })
            .collect())
    }

    fn changed_paths(
        &mut self,
        from: String,
        to: String,
        limit: u32,
    ) -> Result<Vec<wit_host::PathChange>, wit_host::QueryError> {
        let paths = self
            .host
            .changed_paths(&from, &to, limit)
            .map_err(query_error)?;
        Ok(paths
            .into_iter()
            .map(|(path, kind)| wit_host::PathChange {
                path,
                change: match kind {
                    ChangeKind::Added => wit_host::ChangeKind::Added,
                    ChangeKind::Deleted => wit_host::ChangeKind::Deleted,
                    ChangeKind::Modified => wit_host::ChangeKind::Modified,
                },
            })
            .collect())
    }

    fn read_blob(
        &mut self,
        rev: String,
        path: String,
        max_bytes: u64,
    ) -> Result<Vec<u8>, wit_host::QueryError> {
        self.host
            .read_blob(&rev, &path, max_bytes)
            .map_err(query_error)
    }
}
