//! Golden files of the report's two renderings: a fixed scan report, written as JSON and as a
//! table, must equal the files in `tests/golden/` byte for byte. A change to the report's
//! shape or to the table is then a visible diff in review (`TRELLIS_BLESS=1` rewrites them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::time::Duration;
use trellis_app::gate::FailOn;
use trellis_app::report::{
    InputError, PluginResult, RepoReport, ScanReport, Status, write_json, write_junit, write_sarif,
    write_table,
};
use trellis_git::facts::{ConflictPrediction, Diffstat};
use trellis_git::{BranchError, BranchFacts, RepoFacts, RepoStats, Signature};

use trellis_app::scan::profile::{PlanSource, PlanUsed, Profile, RepoProfile};
use trellis_git::AlignOptions;
use trellis_git::profile::{CacheUse, StageTime};
use trellis_runtime::plan::{ConflictsScope, Machine, Plan};
use trellis_runtime::plugin::{Finding, PluginKind, RuleInfo, Severity};
use trellis_runtime::{ApiVersion, Failure, Metrics};

const DAY: i64 = 86_400;
const SCAN_TIME: i64 = 1_790_000_000;

fn signature(name: &str, days_ago: i64) -> Signature {
    Signature {
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        time: SCAN_TIME - days_ago * DAY,
        offset: 3600,
    }
}

fn branch(name: &str, ahead: u32, behind: u32, days_ago: i64) -> BranchFacts {
    BranchFacts {
        name: name.into(),
        reference: format!("refs/heads/{name}"),
        remote: false,
        tip: format!("{:0>40}", ahead * 7 + behind),
        ahead,
        behind,
        merge_bases: vec!["1".repeat(40)],
        merged: ahead == 0,
        squash_merged: Some(false),
        author: signature("Ada", days_ago),
        committer: signature("Cy", days_ago),
        summary: format!("Work on {name}"),
        diffstat: Some(Diffstat {
            files_changed: ahead,
            insertions: ahead * 10,
            deletions: behind,
        }),
        conflicts: Some(ConflictPrediction::Clean),
    }
}

fn metrics() -> Metrics {
    Metrics {
        duration_ms: 0.25,
        fuel_used: 7181,
        peak_memory_bytes: 1_114_112,
        queries: 0,
        query_bytes: 0,
        query_ms: 0.0,
        logs_dropped: 0,
        denied: Vec::new(),
        denied_dropped: 0,
    }
}

fn report() -> ScanReport {
    let mut conflicting = branch("feature/conflict", 3, 12, 40);
    conflicting.conflicts = Some(ConflictPrediction::Conflicts(vec!["src/lib.rs".into()]));
    let mut squashed = branch("squashed", 2, 5, 90);
    squashed.squash_merged = Some(true);
    let mut data = BTreeMap::new();
    data.insert("age-days".to_string(), "200".to_string());
    ScanReport {
        trellis_version: "0.1.0",
        scan_time: SCAN_TIME,
        plan: Some(PluginResult {
            id: "fixed-tuner".into(),
            version: semver::Version::new(0, 1, 0),
            kind: PluginKind::Tuner,
            api: ApiVersion::V0_1_0,
            status: Status::Ok,
            failure: None,
            rules: Vec::new(),
            suppressed_by_baseline: None,
            output: Some(Plan {
                workers: 2,
                diffstat: true,
                squash_detection: true,
                conflicts: true,
                reason: "1 repository, 2 cores".into(),
                ..Plan::default()
            }),
            metrics: metrics(),
        }),
        repositories: vec![RepoReport {
            facts: RepoFacts {
                path: "repo".into(),
                base: "main".into(),
                base_ref: "refs/heads/main".into(),
                base_tip: "a".repeat(40),
                head_branch: Some("main".into()),
                head_commit: Some("a".repeat(40)),
                bare: false,
                stats: RepoStats {
                    commits: Some(120),
                    branches: 4,
                    ..RepoStats::default()
                },
            },
            branches: vec![
                branch("done", 0, 4, 10),
                conflicting,
                branch("old-work", 5, 60, 200),
                squashed,
            ],
            branch_errors: vec![BranchError {
                name: "broken".into(),
                reference: "refs/heads/broken".into(),
                error: "commit 2222222222222222222222222222222222222222 is missing from the object database".into(),
            }],
            plugins: vec![
                PluginResult {
                    id: "stale-branches".into(),
                    version: semver::Version::new(0, 1, 0),
                    kind: PluginKind::Analyzer,
                    api: ApiVersion::V0_1_0,
                    status: Status::Ok,
                    failure: None,
                    output: Some(vec![Finding {
                        rule: "stale-branch".into(),
                        severity: Severity::Warning,
                        message: "old-work has had no commit for 200 days".into(),
                        branch: Some("old-work".into()),
                        commit: None,
                        path: None,
                        line: None,
                        data,
                    }]),
                    rules: Vec::new(),
                    suppressed_by_baseline: None,
                    metrics: metrics(),
                },
                PluginResult {
                    id: "hostile".into(),
                    version: semver::Version::new(0, 1, 0),
                    kind: PluginKind::Analyzer,
                    api: ApiVersion::V0_1_0,
                    status: Status::Failed,
                    failure: Some(Failure::OutOfFuel { limit: 1000 }),
                    output: None,
                    rules: Vec::new(),
                    suppressed_by_baseline: None,
                    metrics: metrics(),
                },
                policy(),
                PluginResult {
                    id: "broken-policy".into(),
                    version: semver::Version::new(1, 0, 0),
                    kind: PluginKind::Policy,
                    api: ApiVersion::V0_1_0,
                    status: Status::Failed,
                    failure: Some(Failure::Deadline { timeout_ms: 10 }),
                    output: None,
                    rules: Vec::new(),
                    suppressed_by_baseline: None,
                    metrics: metrics(),
                },
            ],
        }],
        errors: vec![InputError {
            path: "/no/such/repo".into(),
            error: "/no/such/repo: no such file or directory".into(),
        }],
        profile: Some(profile()),
    }
}

/// A scan profile with fixed times, as the JSON report carries it.
fn profile() -> Profile {
    let time = |wall_us: u64, cpu_us: u64| StageTime {
        wall: Duration::from_micros(wall_us),
        cpu: Duration::from_micros(cpu_us),
    };
    let stages = vec![
        ("open".to_string(), time(1_500, 1_250)),
        ("graph".to_string(), time(2_000, 2_000)),
        ("walk".to_string(), time(4_000, 7_500)),
        ("plugin.stale-branches".to_string(), time(500, 400)),
    ];
    let facts = CacheUse { hits: 3, misses: 1 };
    Profile {
        plan: PlanUsed {
            source: PlanSource::Tuner,
            repo_workers: 2,
            branch_workers: 2,
            batch_size: 0,
            memory_mb: 1024,
            options: AlignOptions {
                diffstat: true,
                squash: true,
                conflicts: true,
            },
            conflicts_scope: ConflictsScope::Overlap,
            cache: true,
        },
        wall: Duration::from_millis(20),
        cpu: Duration::from_millis(25),
        branches: 4,
        peak_rss_bytes: 64 << 20,
        stages: stages.clone(),
        caches: vec![("facts", facts), ("compile", CacheUse::default())],
        repositories: vec![RepoProfile {
            path: "repo".into(),
            wall: Duration::from_millis(10),
            cpu: Duration::from_micros(11_150),
            branches: 4,
            commits: 120,
            parent_source: "commit-graph",
            stages,
            caches: vec![("facts", facts)],
            merges_skipped: 2,
        }],
        machine: Machine {
            cores: 2,
            memory_bytes: 8 << 30,
        },
        repo_set: "0123456789abcdef".into(),
        pack_bytes: 4096,
    }
}

/// A policy whose findings have everything a finding can have: a path, a line, a commit, rule
/// metadata or none, and hostile text (markup, control characters, a CDATA end).
fn policy() -> PluginResult<Vec<Finding>> {
    let finding = |rule: &str,
                   severity,
                   message: &str,
                   branch: Option<&str>,
                   path: Option<&str>,
                   line: Option<u32>| Finding {
        rule: rule.into(),
        severity,
        message: message.into(),
        branch: branch.map(String::from),
        path: path.map(String::from),
        commit: line.map(|_| "c".repeat(40)),
        line,
        data: BTreeMap::new(),
    };
    PluginResult {
        id: "enterprise-policy".into(),
        version: semver::Version::new(0, 2, 0),
        kind: PluginKind::Policy,
        api: ApiVersion::V0_1_0,
        status: Status::Ok,
        failure: None,
        output: Some(vec![
            finding(
                "secret",
                Severity::Error,
                "token <b>&amp;</b> ]]> \u{1b}[31mred\u{7} \"quoted\"",
                Some("feature/conflict"),
                Some("src/config dir/keys.env"),
                Some(12),
            ),
            finding(
                "forbidden-path",
                Severity::Warning,
                "vendor/ is forbidden",
                Some("old-work"),
                Some("vendor/x.bin"),
                None,
            ),
            finding(
                "naming",
                Severity::Info,
                "branch name 'squashed' has no prefix",
                Some("squashed"),
                None,
                None,
            ),
            finding(
                "protected",
                Severity::Error,
                "protected branch release is missing",
                None,
                None,
                None,
            ),
        ]),
        rules: vec![
            RuleInfo {
                id: "secret".into(),
                name: "Secret".into(),
                summary: "No credentials in added lines.".into(),
                help: Some(
                    "Revoke the credential, then remove it from the branch's history.".into(),
                ),
                help_uri: Some("https://example.com/rules/secret".into()),
                default_severity: Severity::Error,
            },
            RuleInfo {
                id: "dco".into(),
                name: "Dco".into(),
                summary: "Every commit is signed off.".into(),
                help: None,
                help_uri: None,
                default_severity: Severity::Warning,
            },
        ],
        suppressed_by_baseline: Some(3),
        metrics: metrics(),
    }
}

fn check(name: &str, rendered: Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("TRELLIS_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_default();
    assert!(
        golden == rendered,
        "{} differs from what is rendered now (TRELLIS_BLESS=1 rewrites it):\n{}",
        path.display(),
        String::from_utf8_lossy(&rendered)
    );
}

#[test]
fn the_json_report_matches_its_golden_file() {
    let mut out = Vec::new();
    write_json(&report(), &mut out).unwrap();
    check("report.json", out);
}

#[test]
fn the_table_matches_its_golden_file() {
    let mut out = Vec::new();
    write_table(&report(), &mut out).unwrap();
    check("report.txt", out);
}

#[test]
fn the_sarif_log_matches_its_golden_file_and_the_oasis_schema() {
    let mut out = Vec::new();
    write_sarif(&report(), &mut out).unwrap();
    let log: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    check("report.sarif", out);
}

#[test]
fn the_junit_report_matches_its_golden_file() {
    let mut out = Vec::new();
    write_junit(&report(), FailOn::Warning, &mut out).unwrap();
    check("report.junit.xml", out);
}

#[test]
fn the_gate_counts_findings_by_threshold_and_failed_policies_only() {
    use trellis_app::gate::verdict;
    let report = report();
    let error = verdict(&report, FailOn::Error);
    // The secret and the missing protected branch; the failed analyzer (`hostile`) does not
    // count, the failed policy does.
    assert_eq!(error.failing_findings, 2);
    assert_eq!(error.failed_policies, ["broken-policy@1.0.0 (repo)"]);
    assert_eq!(verdict(&report, FailOn::Warning).failing_findings, 4);
    assert!(!verdict(&report, FailOn::Never).failed());
}

#[test]
fn a_report_is_its_own_baseline() {
    use trellis_app::gate::Baseline;
    let mut report = report();
    let mut json = Vec::new();
    write_json(&report, &mut json).unwrap();
    let written = trellis_report::from_json(std::str::from_utf8(&json).unwrap()).unwrap();
    let baseline = Baseline::of(&written);
    assert_eq!(baseline.len(), 5);
    baseline.apply(&mut report);
    let kept: Vec<(usize, Option<u32>)> = report.repositories[0]
        .plugins
        .iter()
        .map(|p| {
            (
                p.output.as_ref().map_or(0, Vec::len),
                p.suppressed_by_baseline,
            )
        })
        .collect();
    // Findings gone and counted; failed plugins have nothing to count.
    assert_eq!(kept, [(0, Some(1)), (0, None), (0, Some(4)), (0, None)]);
}

/// The JSON writer renders branches in parallel pieces and splices them into the report; the
/// bytes must be serde_json's pretty printer's, whatever the number of repositories and
/// branches (none, one piece, several pieces) and the characters in them.
#[test]
fn the_json_report_is_serde_json_pretty_printed_however_many_branches() {
    let template = || report().repositories.remove(0);
    let many = || -> Vec<BranchFacts> {
        (0..150u32)
            .map(|i| {
                let mut b = branch(&format!("many/{i}\t\"quoted\"\u{1b}[31m"), i, 150 - i, 3);
                if i % 3 == 0 {
                    b.conflicts = Some(ConflictPrediction::Conflicts(vec![format!("f{i}.rs")]));
                    b.merge_bases.clear();
                }
                b
            })
            .collect()
    };
    let mut empty = template();
    empty.branches.clear();
    empty.facts.path = "empty".into();
    let mut big = template();
    big.branches = many();
    let mut one = template();
    one.branches.truncate(1);
    let mut big_again = template();
    big_again.branches = many();
    let mut report = report();
    report.repositories = vec![empty, big, one, big_again];

    let mut ours = Vec::new();
    write_json(&report, &mut ours).unwrap();
    let mut theirs = serde_json::to_vec_pretty(&trellis_report::Report::from(&report)).unwrap();
    theirs.push(b'\n');
    assert_eq!(String::from_utf8(ours), String::from_utf8(theirs));

    report.repositories.clear();
    let mut ours = Vec::new();
    write_json(&report, &mut ours).unwrap();
    let mut theirs = serde_json::to_vec_pretty(&trellis_report::Report::from(&report)).unwrap();
    theirs.push(b'\n');
    assert_eq!(String::from_utf8(ours), String::from_utf8(theirs));
}
