//! API 0.1.0 (`wit/v0.1.0`): frozen. Bindings, the host side of its imports, and conversions.

use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::PluginErr;
use crate::plan::{Plan, Probe, RunRecord};
use crate::plugin::{Finding, Outcome, PluginKind};
use crate::state::State;
use trellis_git::RepoScan;

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
    ) -> wasmtime::Result<Result<Outcome, PluginErr>> {
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
            .map(|findings| Outcome {
                findings: findings.into_iter().map(finding).collect(),
                rules: Vec::new(),
            })
            .map_err(plugin_err))
    }

    /// Runs a tuner's `tune`.
    pub async fn tune(
        &self,
        store: &mut Store<State>,
        probe: Probe<'_>,
        history: &[RunRecord],
    ) -> wasmtime::Result<Result<Plan, PluginErr>> {
        let Pre::Tuner(pre) = self else {
            wasmtime::bail!("only a tuner can plan a scan");
        };
        let probe = wit::Probe {
            machine: wit::Machine {
                cores: probe.machine.cores,
                memory_bytes: probe.machine.memory_bytes,
            },
            repos: probe.repos.iter().map(|r| repo_facts(r)).collect(),
        };
        let history: Vec<wit::RunRecord> = history
            .iter()
            .map(|r| wit::RunRecord {
                started: r.started,
                repos: r.repos,
                branches: r.branches,
                workers: r.workers,
                // Frozen in API 0.1: no extras, so 0.1 tuners plan with the typed fields only.
                batch_size: r.batch_size,
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
                batch_size: p.batch_size,
                reason: p.reason,
                ..Plan::default()
            })
            .map_err(plugin_err))
    }
}

fn finding(f: wit::Finding) -> Finding {
    Finding {
        rule: f.rule,
        severity: severity(f.severity),
        message: f.message,
        branch: f.branch,
        // 0.1 findings cannot name a commit or a line.
        commit: None,
        path: f.path,
        line: None,
        data: f.data.into_iter().collect(),
    }
}

shared_conversions! {
    repo_facts {}
    branch_facts {}
}

impl wit::Host for State {}

impl wit_host::Host for State {
    v0_1_host_functions!();
}
