//! SDK glue, built for the plugin only (`wasm32`): the host's probe and run records in, a plan
//! with its `extra` facts out.

use trellis_sdk::tuner::Tuner;
use trellis_sdk::{Fact, FactValue, Plan, PluginError, Probe, RunRecord, host};

use crate::{Config, Machine, Repo, Run, Value, tune};

fn count(facts: &[Fact], name: &str) -> Option<u64> {
    facts.iter().find_map(|f| match (&f.name, &f.value) {
        (n, FactValue::Count(v)) if n == name => Some(*v),
        _ => None,
    })
}

fn repo(r: &trellis_sdk::RepoFacts) -> Repo {
    Repo {
        branches: r.stats.branches + r.stats.remote_branches,
        pack_bytes: count(&r.extra, "pack-bytes")
            .or(r.stats.pack_bytes)
            .unwrap_or(0),
        objects: count(&r.extra, "objects").or(r.stats.objects).unwrap_or(0),
        graph_commits: count(&r.extra, "graph-commits"),
        repo_set: r.extra.iter().find_map(|f| match (&f.name, &f.value) {
            (n, FactValue::Text(t)) if n == "repo-set" => Some(t.clone()),
            _ => None,
        }),
    }
}

fn run(r: RunRecord) -> Run {
    Run::new(
        r.branches,
        r.wall_ms,
        r.extra.into_iter().filter_map(|f| {
            let value = match f.value {
                FactValue::Flag(v) => Value::Flag(v),
                FactValue::Count(v) => Value::Count(v),
                FactValue::Number(v) => Value::Number(v),
                FactValue::Text(v) => Value::Text(v),
                FactValue::Integer(_) | FactValue::Texts(_) => return None,
            };
            Some((f.name, value))
        }),
    )
}

struct Tuning;

impl Tuner for Tuning {
    fn tune(probe: Probe, history: Vec<RunRecord>) -> Result<Plan, PluginError> {
        let config: Config = host::config()?;
        let probe = crate::Probe {
            machine: Machine {
                cores: probe.machine.cores,
                memory_bytes: probe.machine.memory_bytes,
            },
            repos: probe.repos.iter().map(repo).collect(),
        };
        let history: Vec<Run> = history.into_iter().map(run).collect();
        let s = tune(&probe, &history, &config)
            .map_err(|e| PluginError::new(e.code(), e.to_string()))?;
        let mut extra = vec![
            Fact {
                name: "repo-workers".into(),
                value: FactValue::Count(s.repo_workers.into()),
            },
            Fact {
                name: "branch-workers".into(),
                value: FactValue::Count(s.branch_workers.into()),
            },
            Fact {
                name: "conflicts-scope".into(),
                value: FactValue::Text(s.conflicts_scope.name().into()),
            },
            Fact {
                name: "cache".into(),
                value: FactValue::Flag(s.cache),
            },
        ];
        if s.memory_mb > 0 {
            extra.push(Fact {
                name: "memory-mb".into(),
                value: FactValue::Count(s.memory_mb),
            });
        }
        Ok(Plan {
            workers: s.repo_workers.max(s.branch_workers),
            batch_size: s.batch_size,
            diffstat: s.diffstat,
            squash_detection: s.squash,
            conflicts: s.conflicts,
            reason: s.reason,
            extra,
        })
    }
}

trellis_sdk::export_tuner!(Tuning);
