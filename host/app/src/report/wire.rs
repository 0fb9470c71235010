//! The report as it goes on the wire: the engines' types converted into `trellis-report`'s,
//! field by field, so a change inside an engine never changes schema 1 by accident.

use rayon::prelude::*;
use trellis_git::facts::{self as git, ConflictPrediction};
use trellis_report as wire;
use trellis_runtime::plan::Plan;
use trellis_runtime::plugin::{Finding, RuleInfo, Severity};
use trellis_runtime::{Failure, Metrics};

use crate::scan::profile::{Profile, hit_rate, ms, per_second};
use trellis_git::profile::{CacheUse, StageTime};

use super::{InputError, PluginResult, RepoReport, ScanReport, Status};

impl From<&ScanReport> for wire::Report {
    fn from(r: &ScanReport) -> Self {
        report(r, Branches::Converted)
    }
}

/// Whether a conversion carries the branches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Branches {
    Converted,
    /// Every repository's `branches` left empty (the JSON writer renders them itself).
    Left,
}

/// The report on the wire.
pub(super) fn report(r: &ScanReport, branches: Branches) -> wire::Report {
    wire::Report {
        schema_version: wire::SCHEMA_VERSION,
        trellis_version: r.trellis_version.to_string(),
        scan_time: r.scan_time,
        plan: r.plan.as_ref().map(|p| plugin_result(p, plan)),
        repositories: r.repositories.iter().map(|r| repo(r, branches)).collect(),
        errors: r.errors.iter().map(input_error).collect(),
        profile: r.profile.as_ref().map(profile),
    }
}

fn profile(p: &Profile) -> wire::Profile {
    let u = &p.plan;
    wire::Profile {
        plan: wire::PlanUsed {
            source: u.source.name().into(),
            repo_workers: u.repo_workers,
            branch_workers: u.branch_workers,
            batch_size: u.batch_size,
            memory_mb: u.memory_mb,
            diffstat: u.options.diffstat,
            squash: u.options.squash,
            conflicts: u.options.conflicts,
            conflicts_scope: u.conflicts_scope.name().into(),
            cache: u.cache,
        },
        wall_ms: ms(p.wall),
        cpu_ms: ms(p.cpu),
        branches: p.branches,
        branches_per_second: per_second(p.branches, p.wall),
        peak_rss_bytes: p.peak_rss_bytes,
        stages: stages(&p.stages),
        caches: caches(&p.caches),
        repositories: p
            .repositories
            .iter()
            .map(|r| wire::RepoProfile {
                path: r.path.clone(),
                wall_ms: ms(r.wall),
                cpu_ms: ms(r.cpu),
                branches: r.branches,
                branches_per_second: per_second(r.branches, r.wall),
                commits: r.commits,
                parent_source: r.parent_source.into(),
                merges_skipped: r.merges_skipped,
                stages: stages(&r.stages),
                caches: caches(&r.caches),
            })
            .collect(),
    }
}

fn stages(s: &[(String, StageTime)]) -> Vec<wire::StageProfile> {
    s.iter()
        .map(|(name, t)| wire::StageProfile {
            name: name.clone(),
            wall_ms: ms(t.wall),
            cpu_ms: ms(t.cpu),
        })
        .collect()
}

fn caches(c: &[(&'static str, CacheUse)]) -> Vec<wire::CacheProfile> {
    c.iter()
        .map(|(name, c)| wire::CacheProfile {
            name: (*name).into(),
            hits: c.hits,
            misses: c.misses,
            hit_rate: hit_rate(*c),
        })
        .collect()
}

fn input_error(e: &InputError) -> wire::InputError {
    wire::InputError {
        path: e.path.clone(),
        error: e.error.clone(),
    }
}

fn repo(r: &RepoReport, branches: Branches) -> wire::RepoReport {
    wire::RepoReport {
        facts: repo_facts(&r.facts),
        branches: match branches {
            // Thousands of branches: their strings are copied on every core.
            Branches::Converted => r.branches.par_iter().map(branch).collect(),
            Branches::Left => Vec::new(),
        },
        branch_errors: r.branch_errors.iter().map(branch_error).collect(),
        plugins: r
            .plugins
            .iter()
            .map(|p| {
                plugin_result(p, |f| {
                    f.iter()
                        .map(|f| finding(f, &crate::gate::fingerprint(&p.id, &r.facts.path, f)))
                        .collect()
                })
            })
            .collect(),
    }
}

fn repo_facts(f: &git::RepoFacts) -> wire::RepoFacts {
    let s = &f.stats;
    wire::RepoFacts {
        path: f.path.clone(),
        base: f.base.clone(),
        base_ref: f.base_ref.clone(),
        base_tip: f.base_tip.clone(),
        head_branch: f.head_branch.clone(),
        head_commit: f.head_commit.clone(),
        bare: f.bare,
        stats: wire::RepoStats {
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
                .map(|b| wire::BlobEntry {
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

/// One branch on the wire.
pub(super) fn branch(b: &git::BranchFacts) -> wire::BranchFacts {
    wire::BranchFacts {
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
        diffstat: b.diffstat.map(|d| wire::Diffstat {
            files_changed: d.files_changed,
            insertions: d.insertions,
            deletions: d.deletions,
        }),
        conflicts: b.conflicts.as_ref().map(|c| match c {
            ConflictPrediction::Clean => wire::ConflictPrediction::Clean,
            ConflictPrediction::Conflicts(paths) => {
                wire::ConflictPrediction::Conflicts(paths.clone())
            }
        }),
    }
}

fn signature(s: &git::Signature) -> wire::Signature {
    wire::Signature {
        name: s.name.clone(),
        email: s.email.clone(),
        time: s.time,
        offset: s.offset,
    }
}

fn branch_error(e: &git::BranchError) -> wire::BranchError {
    wire::BranchError {
        name: e.name.clone(),
        reference: e.reference.clone(),
        error: e.error.clone(),
    }
}

fn plugin_result<T, W>(r: &PluginResult<T>, output: impl Fn(&T) -> W) -> wire::PluginResult<W> {
    wire::PluginResult {
        id: r.id.clone(),
        version: r.version.to_string(),
        kind: r.kind.to_string(),
        api: r.api.to_string(),
        status: match r.status {
            Status::Ok => wire::Status::Ok,
            Status::Failed => wire::Status::Failed,
        },
        failure: r.failure.as_ref().map(failure),
        output: r.output.as_ref().map(output),
        rules: r.rules.iter().map(rule).collect(),
        suppressed_by_baseline: r.suppressed_by_baseline,
        metrics: metrics(&r.metrics),
    }
}

fn plan(p: &Plan) -> wire::Plan {
    wire::Plan {
        workers: p.workers,
        batch_size: p.batch_size,
        diffstat: p.diffstat,
        squash_detection: p.squash_detection,
        conflicts: p.conflicts,
        reason: p.reason.clone(),
        adjustments: p.adjustments.clone(),
    }
}

fn failure(f: &Failure) -> wire::Failure {
    match f.clone() {
        Failure::OutOfFuel { limit } => wire::Failure::OutOfFuel { limit },
        Failure::Deadline { timeout_ms } => wire::Failure::Deadline { timeout_ms },
        Failure::Memory {
            limit_bytes,
            requested_bytes,
        } => wire::Failure::Memory {
            limit_bytes,
            requested_bytes,
        },
        Failure::StackOverflow => wire::Failure::StackOverflow,
        Failure::Table {
            limit_elements,
            requested_elements,
        } => wire::Failure::Table {
            limit_elements,
            requested_elements,
        },
        Failure::Trap { message } => wire::Failure::Trap { message },
        Failure::ResultTooLarge { bytes, limit_bytes } => {
            wire::Failure::ResultTooLarge { bytes, limit_bytes }
        }
        Failure::PluginError { code, message } => wire::Failure::PluginError { code, message },
        Failure::HostResources {
            resource,
            limit,
            requested,
        } => wire::Failure::HostResources {
            resource,
            limit,
            requested,
        },
        Failure::Instantiate { message } => wire::Failure::Instantiate { message },
        Failure::Exit { code } => wire::Failure::Exit { code },
        Failure::InvalidResult { message } => wire::Failure::InvalidResult { message },
        Failure::HostCallTooLarge { message } => wire::Failure::HostCallTooLarge { message },
        Failure::Allocator { message } => wire::Failure::Allocator { message },
    }
}

fn metrics(m: &Metrics) -> wire::Metrics {
    wire::Metrics {
        duration_ms: m.duration_ms,
        fuel_used: m.fuel_used,
        peak_memory_bytes: m.peak_memory_bytes,
        queries: m.queries,
        query_bytes: m.query_bytes,
        query_ms: m.query_ms,
        logs_dropped: m.logs_dropped,
        denied: m.denied.clone(),
    }
}

fn rule(r: &RuleInfo) -> wire::Rule {
    wire::Rule {
        id: r.id.clone(),
        name: r.name.clone(),
        summary: r.summary.clone(),
        help: r.help.clone(),
        help_uri: r.help_uri.clone(),
        default_severity: severity(r.default_severity),
    }
}

fn finding(f: &Finding, fingerprint: &str) -> wire::Finding {
    wire::Finding {
        rule: f.rule.clone(),
        severity: severity(f.severity),
        message: f.message.clone(),
        branch: f.branch.clone(),
        commit: f.commit.clone(),
        path: f.path.clone(),
        line: f.line,
        data: f.data.clone(),
        fingerprint: Some(fingerprint.to_string()),
    }
}

fn severity(s: Severity) -> wire::Severity {
    match s {
        Severity::Info => wire::Severity::Info,
        Severity::Warning => wire::Severity::Warning,
        Severity::Error => wire::Severity::Error,
    }
}
