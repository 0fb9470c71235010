//! API 0.2.0 (`wit/v0.2.0`): bindings, the host side of its imports, and conversions.

use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::PluginErr;
use crate::host::{BatchAnswer, HostQueryError};
use crate::plan::{Fact, FactValue, Plan, Probe, RunRecord};
use crate::plugin::{Finding, Outcome, PluginKind, RuleInfo};
use crate::state::State;
use trellis_git::RepoScan;
use trellis_git::query::{
    AddedFile, AddedLinesOptions, ChangeOptions, CommitDetail, FileChange, FileMode, FileStatus,
    HistoryOptions, MergeOptions, MergeSide, MergeTrial, MergeVerdict, Range, SignatureKind,
};

/// The analyzer world; it also generates the shared `types` and `host` interfaces.
pub mod analyzer {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "analyzer",
        // Async exports: a call can be cancelled while the guest waits in WASI (e.g. sleeps).
        exports: { default: async },
    });
}

/// The policy world, reusing the analyzer's interfaces.
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "policy",
        exports: { default: async },
        with: {
            "trellis:plugin/types": crate::bindings::v0_2_0::analyzer::trellis::plugin::types,
            "trellis:plugin/host": crate::bindings::v0_2_0::analyzer::trellis::plugin::host,
        },
    });
}

/// The tuner world, reusing the analyzer's interfaces.
pub mod tuner {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "tuner",
        exports: { default: async },
        with: {
            "trellis:plugin/types": crate::bindings::v0_2_0::analyzer::trellis::plugin::types,
            "trellis:plugin/host": crate::bindings::v0_2_0::analyzer::trellis::plugin::host,
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
            .map(|o| Outcome {
                findings: o.findings.into_iter().map(finding).collect(),
                rules: o.rules.into_iter().map(rule).collect(),
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
            repos: probe
                .repos
                .iter()
                .enumerate()
                .map(|(i, r)| wit::RepoFacts {
                    extra: probe
                        .extra
                        .get(i)
                        .map(|facts| facts.iter().map(wit_fact).collect())
                        .unwrap_or_default(),
                    ..repo_facts(r)
                })
                .collect(),
        };
        let history: Vec<wit::RunRecord> = history
            .iter()
            .map(|r| wit::RunRecord {
                started: r.started,
                repos: r.repos,
                branches: r.branches,
                workers: r.workers,
                batch_size: r.batch_size,
                wall_ms: r.wall_ms,
                peak_rss_bytes: r.peak_rss_bytes,
                extra: r.extra.iter().map(wit_fact).collect(),
            })
            .collect();
        let instance = pre
            .instantiate_async(&mut *store)
            .await
            .map_err(|e| e.context(crate::Instantiating))?;
        let result = instance.call_tune(&mut *store, &probe, &history).await?;
        Ok(result
            .map(|p| {
                let mut plan = Plan {
                    workers: p.workers,
                    batch_size: p.batch_size,
                    diffstat: p.diffstat,
                    squash_detection: p.squash_detection,
                    conflicts: p.conflicts,
                    reason: p.reason,
                    ..Plan::default()
                };
                plan.apply_extras(p.extra.into_iter().map(fact));
                plan
            })
            .map_err(plugin_err))
    }
}

fn wit_fact(f: &Fact) -> wit::Fact {
    wit::Fact {
        name: f.name.clone(),
        value: match &f.value {
            FactValue::Flag(v) => wit::FactValue::Flag(*v),
            FactValue::Count(v) => wit::FactValue::Count(*v),
            FactValue::Integer(v) => wit::FactValue::Integer(*v),
            FactValue::Number(v) => wit::FactValue::Number(*v),
            FactValue::Text(v) => wit::FactValue::Text(v.clone()),
            FactValue::Texts(v) => wit::FactValue::Texts(v.clone()),
        },
    }
}

fn fact(f: wit::Fact) -> Fact {
    Fact {
        name: f.name,
        value: match f.value {
            wit::FactValue::Flag(v) => FactValue::Flag(v),
            wit::FactValue::Count(v) => FactValue::Count(v),
            wit::FactValue::Integer(v) => FactValue::Integer(v),
            wit::FactValue::Number(v) => FactValue::Number(v),
            wit::FactValue::Text(v) => FactValue::Text(v),
            wit::FactValue::Texts(v) => FactValue::Texts(v),
        },
    }
}

fn finding(f: wit::Finding) -> Finding {
    Finding {
        rule: f.rule,
        severity: severity(f.severity),
        message: f.message,
        branch: f.branch,
        commit: f.commit,
        path: f.path,
        line: f.line,
        data: f.data.into_iter().collect(),
    }
}

fn rule(r: wit::RuleInfo) -> RuleInfo {
    RuleInfo {
        id: r.id,
        name: r.name,
        summary: r.summary,
        help: r.help,
        help_uri: r.help_uri,
        default_severity: severity(r.default_severity),
    }
}

shared_conversions! {
    repo_facts { extra: Vec::new() }
    branch_facts { extra: Vec::new() }
}

fn range(r: wit_host::Range) -> Range {
    Range {
        tip: r.tip,
        base: r.base,
    }
}

/// A batch answer, each range's items converted with `convert`.
fn batch<T, U>(
    answer: Result<BatchAnswer<T>, HostQueryError>,
    convert: impl Fn(T) -> U,
) -> Result<Vec<Result<Vec<U>, wit_host::QueryError>>, wit_host::QueryError> {
    Ok(answer
        .map_err(query_error)?
        .into_iter()
        .map(|r| {
            r.map(|items| items.into_iter().map(&convert).collect())
                .map_err(query_error)
        })
        .collect())
}

fn commit_detail(c: CommitDetail) -> wit_host::CommitDetail {
    wit_host::CommitDetail {
        id: c.id,
        parents: c.parents,
        author: signature(&c.author),
        committer: signature(&c.committer),
        message: c.message,
        message_truncated: c.message_truncated,
        signature: c.signature.map(|s| wit_host::CommitSignature {
            kind: match s.kind {
                SignatureKind::Gpg => wit_host::SignatureKind::Gpg,
                SignatureKind::Ssh => wit_host::SignatureKind::Ssh,
                SignatureKind::X509 => wit_host::SignatureKind::X509,
                SignatureKind::Unknown => wit_host::SignatureKind::Unknown,
            },
            armored: s.armored,
            payload: s.payload,
        }),
    }
}

fn file_change(c: FileChange) -> wit_host::FileChange {
    wit_host::FileChange {
        path: c.path,
        status: match c.status {
            FileStatus::Added => wit_host::FileStatus::Added,
            FileStatus::Deleted => wit_host::FileStatus::Deleted,
            FileStatus::Modified => wit_host::FileStatus::Modified,
            FileStatus::TypeChanged => wit_host::FileStatus::TypeChanged,
        },
        mode: match c.mode {
            FileMode::Regular => wit_host::FileMode::Regular,
            FileMode::Executable => wit_host::FileMode::Executable,
            FileMode::Symlink => wit_host::FileMode::Symlink,
            FileMode::Submodule => wit_host::FileMode::Submodule,
        },
        old_blob: c.old_blob,
        blob: c.blob,
        size: c.size,
        binary: c.binary,
        lfs_size: c.lfs_size,
        commit: c.commit,
    }
}

impl wit::Host for State {}

impl wit_host::Host for State {
    v0_1_host_functions!();

    fn range_history(
        &mut self,
        ranges: Vec<wit_host::Range>,
        options: wit_host::HistoryOptions,
    ) -> Result<Vec<Result<Vec<wit_host::CommitDetail>, wit_host::QueryError>>, wit_host::QueryError>
    {
        let ranges: Vec<Range> = ranges.into_iter().map(range).collect();
        let options = HistoryOptions {
            limit: options.limit,
            first_parent: options.first_parent,
            max_message_bytes: options.max_message_bytes,
            signatures: options.signatures,
        };
        batch(self.host.range_history(&ranges, &options), commit_detail)
    }

    fn range_changes(
        &mut self,
        ranges: Vec<wit_host::Range>,
        options: wit_host::ChangeOptions,
    ) -> Result<Vec<Result<Vec<wit_host::FileChange>, wit_host::QueryError>>, wit_host::QueryError>
    {
        let ranges: Vec<Range> = ranges.into_iter().map(range).collect();
        let options = ChangeOptions {
            limit: options.limit,
            content: options.content,
            commit_limit: options.commit_limit,
        };
        batch(self.host.range_changes(&ranges, &options), file_change)
    }

    fn added_lines(
        &mut self,
        ranges: Vec<wit_host::Range>,
        options: wit_host::AddedLinesOptions,
    ) -> Result<Vec<Result<Vec<wit_host::AddedFile>, wit_host::QueryError>>, wit_host::QueryError>
    {
        let ranges: Vec<Range> = ranges.into_iter().map(range).collect();
        let options = AddedLinesOptions {
            per_commit: options.per_commit,
            commit_limit: options.commit_limit,
            max_file_bytes: options.max_file_bytes,
            max_lines_per_file: options.max_lines_per_file,
        };
        let answer = self
            .host
            .added_lines(&ranges, &options)
            .map_err(query_error)?;
        Ok(answer
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                r.map(|files| {
                    files
                        .into_iter()
                        .map(|f| added_file(index as u32, f))
                        .collect()
                })
                .map_err(query_error)
            })
            .collect())
    }

    fn merge_trials(
        &mut self,
        ranges: Vec<wit_host::Range>,
        options: wit_host::MergeOptions,
    ) -> Result<Vec<Result<wit_host::MergeTrial, wit_host::QueryError>>, wit_host::QueryError> {
        let ranges: Vec<Range> = ranges.into_iter().map(range).collect();
        let options = MergeOptions {
            max_files: options.max_files,
            max_commits: options.max_commits,
            base_authors: options.base_authors,
            all_base_files: options.all_base_files,
        };
        Ok(self
            .host
            .merge_trials(&ranges, &options)
            .map_err(query_error)?
            .into_iter()
            .map(|r| r.map(merge_trial).map_err(query_error))
            .collect())
    }

    fn store_get(&mut self, key: String) -> Result<Option<Vec<u8>>, wit_host::QueryError> {
        self.host.store_get(&key).map_err(query_error)
    }

    fn store_set(&mut self, key: String, value: Vec<u8>) -> Result<(), wit_host::QueryError> {
        self.host.store_set(&key, &value).map_err(query_error)
    }

    fn store_delete(&mut self, key: String) -> Result<(), wit_host::QueryError> {
        self.host.store_delete(&key).map_err(query_error)
    }
}

fn merge_trial(t: MergeTrial) -> wit_host::MergeTrial {
    wit_host::MergeTrial {
        merge_base: t.merge_base,
        merge_base_time: t.merge_base_time,
        ours: merge_side(t.ours),
        theirs: merge_side(t.theirs),
        verdict: match t.verdict {
            MergeVerdict::Clean => wit_host::MergeVerdict::Clean,
            MergeVerdict::Conflicts(paths) => wit_host::MergeVerdict::Conflicts(paths),
            MergeVerdict::Unknown(reason) => wit_host::MergeVerdict::Unknown(reason),
        },
    }
}

fn merge_side(s: MergeSide) -> wit_host::MergeSide {
    wit_host::MergeSide {
        commits: s.commits,
        commits_truncated: s.commits_truncated,
        authors: s.authors,
        files: s
            .files
            .into_iter()
            .map(|f| wit_host::PathStat {
                path: f.path,
                lines: f.lines,
            })
            .collect(),
        files_truncated: s.files_truncated,
        files_total: s.files_total,
        first_time: s.first_time,
        last_time: s.last_time,
    }
}

fn added_file(range: u32, f: AddedFile) -> wit_host::AddedFile {
    wit_host::AddedFile {
        range,
        commit: f.commit,
        path: f.path,
        old_blob: f.old_blob,
        blob: f.blob,
        lines: f
            .lines
            .into_iter()
            .map(|l| wit_host::AddedLine {
                number: l.number,
                text: l.text,
            })
            .collect(),
        seen: f.seen,
        binary: f.binary,
        truncated: f.truncated,
    }
}
