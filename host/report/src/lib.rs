//! The JSON report of `trellis scan`, as it is on the wire: schema [`SCHEMA_VERSION`].
//!
//! These types are the report's contract and nothing else: the engines keep their own types
//! and the application converts them into these, so renaming an engine's field cannot change
//! the report. They serialise and deserialise (reports can be read back, e.g. to merge the
//! reports of shards), and their JSON Schema ([`schema`]) is checked into the repository as
//! `host/report/schema/report.schema.json`. Any incompatible change bumps [`SCHEMA_VERSION`];
//! a new field or failure reason is compatible, so readers ignore fields they do not know.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one `trellis scan` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the program that wrote the report.
    pub schema_version: u32,
    /// The version of `trellis` that wrote the report.
    pub trellis_version: String,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
    /// The plan a tuner chose, if a tuner ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PluginResult<Plan>>,
    /// Every repository that could be scanned, in the order given.
    pub repositories: Vec<RepoReport>,
    /// Inputs that could not be scanned at all.
    pub errors: Vec<InputError>,
    /// Where the scan spent its time, how its caches did, and the plan it ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

/// Where a scan spent its time. Times are milliseconds; CPU times are summed over threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Profile {
    /// The settings the scan ran with.
    pub plan: PlanUsed,
    /// Wall time from opening the first repository to the last result.
    pub wall_ms: f64,
    /// CPU time of the process during the scan, all threads.
    pub cpu_ms: f64,
    /// Branches aligned.
    pub branches: u64,
    /// Branches per second of wall time.
    pub branches_per_second: f64,
    /// Peak resident set size of the process.
    pub peak_rss_bytes: u64,
    /// Every stage, summed over repositories.
    pub stages: Vec<StageProfile>,
    /// Every cache, summed over repositories: `facts`, `commits`, `compile`.
    pub caches: Vec<CacheProfile>,
    /// Per repository, in the order scanned.
    pub repositories: Vec<RepoProfile>,
}

/// The settings a scan ran with, after flags, a tuner's plan and the host's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanUsed {
    /// `tuner` (a tuner's validated plan) or `configured` (no tuner, or it failed).
    pub source: String,
    /// Workers over repositories.
    pub repo_workers: u32,
    /// Workers over the branches of one repository.
    pub branch_workers: u32,
    /// Branches a worker takes at a time; 0: the host decided.
    pub batch_size: u32,
    /// The git engine's memory budget in MiB; 0: none.
    pub memory_mb: u64,
    /// Whether diffstats were computed.
    pub diffstat: bool,
    /// Whether squash merges were detected.
    pub squash: bool,
    /// Whether conflicts were predicted.
    pub conflicts: bool,
    /// `all`, `overlap` (only branches whose changes meet the base's were merged) or `none`.
    pub conflicts_scope: String,
    /// Whether the facts and commit caches were used.
    pub cache: bool,
}

/// The time of one stage: `open`, `graph`, `walk`, `diffstat`, `squash`, `conflicts`, or
/// `plugin.ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageProfile {
    /// The stage.
    pub name: String,
    /// Wall time; for `diffstat`, `squash` and `conflicts`, which interleave on every worker,
    /// the time workers spent in them, summed.
    pub wall_ms: f64,
    /// CPU time, summed over the threads that did its work.
    pub cpu_ms: f64,
}

/// How a cache did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CacheProfile {
    /// `facts` (per branch), `commits` (per pack), `compile` (per plugin).
    pub name: String,
    /// Lookups answered.
    pub hits: u64,
    /// Lookups that had to do the work.
    pub misses: u64,
    /// hits / (hits + misses); `null` when it was not asked.
    pub hit_rate: Option<f64>,
}

/// Where one repository's scan spent its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepoProfile {
    /// The path as given.
    pub path: String,
    /// Wall time from opening it to its last plugin.
    pub wall_ms: f64,
    /// CPU time of its stages.
    pub cpu_ms: f64,
    /// Branches aligned.
    pub branches: u64,
    /// Branches per second of its wall time.
    pub branches_per_second: f64,
    /// Commits in the loaded history.
    pub commits: u64,
    /// Where parents came from: `commit-graph`, `pack-scan`, `objects` (empty: nothing loaded).
    pub parent_source: String,
    /// Conflict merges the `overlap` scope skipped.
    pub merges_skipped: u64,
    /// Its stages, in order.
    pub stages: Vec<StageProfile>,
    /// Its caches.
    pub caches: Vec<CacheProfile>,
}

/// A repository path that could not be scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InputError {
    /// The path as the user gave it.
    pub path: String,
    /// What is wrong, naming the path.
    pub error: String,
}

/// One repository's facts and what each plugin made of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepoReport {
    /// Facts about the repository as a whole.
    pub facts: RepoFacts,
    /// Every branch that could be aligned, local ones first, by reference name.
    pub branches: Vec<BranchFacts>,
    /// Branches whose commits could not be read, or whose optional facts could not be
    /// computed (such a branch is in `branches` too, with those facts `null`).
    pub branch_errors: Vec<BranchError>,
    /// The result of every analyzer and policy, in the order they ran.
    pub plugins: Vec<PluginResult<Vec<Finding>>>,
}

/// Facts about one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RepoFacts {
    /// The path as the user gave it.
    pub path: String,
    /// Short name of the base branch.
    pub base: String,
    /// Full reference name of the base branch.
    pub base_ref: String,
    /// The commit the base points at (empty in a repository without commits).
    pub base_tip: String,
    /// The branch checked out, if any.
    pub head_branch: Option<String>,
    /// The commit checked out, if any.
    pub head_commit: Option<String>,
    /// Whether the repository has no work tree.
    pub bare: bool,
    /// Repository-wide statistics.
    pub stats: RepoStats,
}

/// Repository-wide statistics; what was not computed is `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RepoStats {
    /// Commits in the history the scan loaded.
    pub commits: Option<u64>,
    /// Local branches.
    pub branches: u32,
    /// Remote-tracking branches.
    pub remote_branches: u32,
    /// Tags (with `--stats`).
    pub tags: Option<u32>,
    /// Objects in packs (with `--stats`).
    pub objects: Option<u64>,
    /// Bytes of pack files (with `--stats`).
    pub pack_bytes: Option<u64>,
    /// Files in the base's tree (with `--stats`).
    pub files_at_base: Option<u64>,
    /// Bytes of the blobs in the base's tree (with `--stats`).
    pub bytes_at_base: Option<u64>,
    /// The largest blobs of the base's tree, largest first (with `--stats`).
    pub largest_blobs: Vec<BlobEntry>,
    /// Git LFS pointer files in the base's tree (with `--stats`).
    pub lfs_pointers: Option<u64>,
    /// Whether the repository is a shallow clone.
    pub shallow: bool,
    /// Whether the repository is a partial clone (`git clone --filter`).
    pub partial_clone: bool,
}

/// A large blob at the base tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlobEntry {
    /// Its path in the base's tree.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// How one branch lines up with the base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BranchFacts {
    /// Short name (`feature`, `origin/feature`).
    pub name: String,
    /// Full reference name.
    pub reference: String,
    /// Whether it is a remote-tracking branch.
    pub remote: bool,
    /// The commit the branch points at.
    pub tip: String,
    /// Commits on the branch that the base lacks (`git rev-list --count BASE..BRANCH`).
    pub ahead: u32,
    /// Commits on the base that the branch lacks (`git rev-list --count BRANCH..BASE`).
    pub behind: u32,
    /// `git merge-base --all BASE BRANCH`, sorted; empty for unrelated histories.
    pub merge_bases: Vec<String>,
    /// Whether the tip is reachable from the base (`git branch --merged BASE`).
    pub merged: bool,
    /// Whether merging the branch would change nothing although it has changes (squash- or
    /// rebase-merged); `null` when not computed.
    pub squash_merged: Option<bool>,
    /// The tip commit's author.
    pub author: Signature,
    /// The tip commit's committer.
    pub committer: Signature,
    /// The first line of the tip commit's message.
    pub summary: String,
    /// `git diff --no-renames --shortstat BASE...BRANCH`; `null` when not computed.
    pub diffstat: Option<Diffstat>,
    /// What merging the branch into the base would do; `null` when not computed.
    pub conflicts: Option<ConflictPrediction>,
}

/// Who made a commit, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signature {
    /// The name, as recorded.
    pub name: String,
    /// The email address, as recorded.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

/// Lines and files changed between two commits (renames off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Diffstat {
    /// Files changed.
    pub files_changed: u32,
    /// Lines added.
    pub insertions: u32,
    /// Lines removed.
    pub deletions: u32,
}

/// What merging a branch into the base would do (`git merge-tree --write-tree --name-only`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", content = "paths", rename_all = "kebab-case")]
pub enum ConflictPrediction {
    /// The merge is clean.
    Clean,
    /// The merge conflicts in these paths.
    Conflicts(Vec<String>),
}

/// A branch whose facts could not (all) be computed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BranchError {
    /// Short name of the branch.
    pub name: String,
    /// Full reference name.
    pub reference: String,
    /// What went wrong, naming the object or reference involved.
    pub error: String,
}

/// One plugin's outcome: its output, or why it failed, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PluginResult<T> {
    /// The plugin's id.
    pub id: String,
    /// The plugin's version.
    pub version: String,
    /// `analyzer`, `policy` or `tuner`.
    pub kind: String,
    /// The WIT API version the plugin was linked with.
    pub api: String,
    /// Whether it did its job.
    pub status: Status,
    /// Why it failed (when `status` is `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What it produced (when `status` is `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<T>,
    /// The rules the plugin described (analyzers and policies whose API can describe them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Findings left out of `output` because the baseline report (`--baseline`) had them;
    /// absent without a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by_baseline: Option<u32>,
    /// What the invocation cost.
    pub metrics: Metrics,
}

/// Whether a plugin did its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It returned a result.
    Ok,
    /// It failed; `failure` says why.
    Failed,
}

/// Why a plugin invocation failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Failure {
    /// It ran out of fuel.
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// It ran past its wall-clock deadline.
    Deadline {
        /// The deadline.
        timeout_ms: u64,
    },
    /// It asked for more linear memory than allowed.
    Memory {
        /// The limit.
        limit_bytes: u64,
        /// What it asked for.
        requested_bytes: u64,
    },
    /// Its wasm stack overflowed.
    StackOverflow,
    /// It asked for a larger table than allowed.
    Table {
        /// The limit.
        limit_elements: u64,
        /// What it asked for.
        requested_elements: u64,
    },
    /// It trapped.
    Trap {
        /// The trap, with the plugin's last words on stderr.
        message: String,
    },
    /// Its result was larger than allowed.
    ResultTooLarge {
        /// The result's size.
        bytes: u64,
        /// The limit.
        limit_bytes: u64,
    },
    /// It returned an error of its own.
    PluginError {
        /// The plugin's error code.
        code: String,
        /// The plugin's message.
        message: String,
    },
    /// It held more WASI resources on the host than allowed (header fields, requests, bodies,
    /// streams, pollables, descriptors).
    HostResources {
        /// What: `handles` (resources at once), `bytes` (their bytes on the host) or
        /// `request-body` (one outgoing request body).
        resource: String,
        /// The limit.
        limit: u64,
        /// What it reached or asked for.
        requested: u64,
    },
    /// It could not be instantiated.
    Instantiate {
        /// Why.
        message: String,
    },
    /// It ended itself with `wasi:cli/exit` instead of returning a result.
    Exit {
        /// The exit code (`wasi:cli/exit` 0.2 carries only success or failure: 0 or 1).
        code: i32,
    },
    /// Its result is not a valid value of the result's type.
    InvalidResult {
        /// What was wrong.
        message: String,
    },
    /// The answer of a host call was too large to copy into its memory.
    HostCallTooLarge {
        /// Why.
        message: String,
    },
    /// Its allocator returned an unusable allocation during a host call.
    Allocator {
        /// Why.
        message: String,
    },
}

/// What an invocation cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    /// Wall time.
    pub duration_ms: f64,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// The largest linear memory it had.
    pub peak_memory_bytes: u64,
    /// Host git queries it made.
    pub queries: u32,
    /// Bytes of git data those queries returned.
    pub query_bytes: u64,
    /// Wall time the host spent answering those queries (within `duration_ms`).
    #[serde(default)]
    pub query_ms: f64,
    /// Log lines over the limit, dropped.
    pub logs_dropped: u32,
    /// Capabilities the plugin tried to use without a grant.
    pub denied: Vec<String>,
}

/// One thing a plugin reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The rule that fired.
    pub rule: String,
    /// How serious it is.
    pub severity: Severity,
    /// What a person reads.
    pub message: String,
    /// The branch it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The path it is about, if any, relative to the repository's root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The commit it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The line of `path` it is about, if any (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub line: Option<u32>,
    /// Structured details.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// The finding's identity across scans (hex): the same plugin, repository, rule, branch,
    /// path and message (numbers in it aside) give the same fingerprint, whatever the line.
    /// `--baseline` matches findings by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// What a plugin says about one of its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// The id findings name in `rule`.
    pub id: String,
    /// A short name.
    pub name: String,
    /// One sentence on what it checks.
    pub summary: String,
    /// Why it matters and how to fix a violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where the rule is documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    /// The severity of its findings unless configured otherwise.
    pub default_severity: Severity,
}

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look.
    Warning,
    /// Needs action.
    Error,
}

/// How a tuner planned the scan; zero means "host decides".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Worker threads.
    pub workers: u32,
    /// Branches a worker takes at a time (0: the host decides).
    #[serde(default)]
    pub batch_size: u32,
    /// Whether diffstats are computed.
    pub diffstat: bool,
    /// Whether squash merges are detected.
    pub squash_detection: bool,
    /// Whether conflicts are predicted.
    pub conflicts: bool,
    /// The tuner's explanation.
    pub reason: String,
    /// What the host changed in the plan to keep it within bounds, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<String>,
}

/// The JSON Schema of [`Report`], as checked into the repository.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}

/// Reads a report; refuses one written with another [`SCHEMA_VERSION`].
pub fn from_json(text: &str) -> Result<Report, ReadError> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let version: Version = serde_json::from_str(text).map_err(ReadError::Json)?;
    if version.schema_version != SCHEMA_VERSION {
        return Err(ReadError::Version(version.schema_version));
    }
    serde_json::from_str(text).map_err(ReadError::Json)
}

/// A report that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not a report of this schema.
    #[error("not a trellis report: {0}")]
    Json(serde_json::Error),
    /// A report of another schema version.
    #[error("a report of schema {0}; this trellis reads schema {SCHEMA_VERSION}")]
    Version(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");

    /// The checked-in schema is the one the types generate; `TRELLIS_BLESS=1` rewrites it.
    #[test]
    fn checked_in_schema_is_current() {
        let generated = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
        if std::env::var_os("TRELLIS_BLESS").is_some() {
            std::fs::write(SCHEMA_FILE, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{SCHEMA_FILE} is stale: run `TRELLIS_BLESS=1 cargo test -p trellis-report`"
        );
    }

    #[test]
    fn reports_of_another_schema_are_refused() {
        let text = r#"{"schema_version": 2, "trellis_version": "9", "scan_time": 0, "repositories": [], "errors": []}"#;
        assert!(matches!(from_json(text), Err(ReadError::Version(2))));
        let text = text.replace("\"schema_version\": 2", "\"schema_version\": 1");
        assert_eq!(from_json(&text).unwrap().repositories.len(), 0);
        assert!(matches!(
            from_json(&text.replace("\"errors\"", "\"errorz\"")),
            Err(ReadError::Json(_))
        ));
        // A field a newer trellis adds does not stop this one from reading the report.
        let newer = text.replace("\"errors\": []", "\"errors\": [], \"shards\": {}");
        assert!(from_json(&newer).is_ok());
    }

    #[test]
    fn the_schema_accepts_a_full_report_and_refuses_a_broken_one() {
        let schema = schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let report = sample();
        let json = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let mut broken = json.clone();
        broken["repositories"][0]["branches"][0]["ahead"] = serde_json::json!("two");
        assert!(!validator.is_valid(&broken));
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    fn sample() -> Report {
        let signature = Signature {
            name: "A U Thor".into(),
            email: "a@example.com".into(),
            time: 1_700_000_000,
            offset: 3600,
        };
        let metrics = Metrics {
            duration_ms: 0.5,
            fuel_used: 7,
            peak_memory_bytes: 65536,
            queries: 1,
            query_bytes: 10,
            query_ms: 0.25,
            logs_dropped: 0,
            denied: vec!["git.blobs".into()],
        };
        Report {
            schema_version: SCHEMA_VERSION,
            trellis_version: "0.1.0".into(),
            scan_time: 1_700_000_001,
            plan: Some(PluginResult {
                id: "tuner".into(),
                version: "1.0.0".into(),
                kind: "tuner".into(),
                api: "0.1.0".into(),
                status: Status::Ok,
                failure: None,
                rules: Vec::new(),
                suppressed_by_baseline: None,
                output: Some(Plan {
                    workers: 2,
                    batch_size: 0,
                    diffstat: true,
                    squash_detection: false,
                    conflicts: true,
                    reason: "small".into(),
                    adjustments: vec!["workers 9 lowered to 8".into()],
                }),
                metrics: metrics.clone(),
            }),
            repositories: vec![RepoReport {
                facts: RepoFacts {
                    path: ".".into(),
                    base: "main".into(),
                    base_ref: "refs/heads/main".into(),
                    base_tip: "a".repeat(40),
                    head_branch: Some("main".into()),
                    head_commit: None,
                    bare: false,
                    stats: RepoStats {
                        commits: Some(3),
                        largest_blobs: vec![BlobEntry {
                            path: "big".into(),
                            size: 9,
                        }],
                        ..RepoStats::default()
                    },
                },
                branches: vec![BranchFacts {
                    name: "topic".into(),
                    reference: "refs/heads/topic".into(),
                    remote: false,
                    tip: "b".repeat(40),
                    ahead: 2,
                    behind: 1,
                    merge_bases: vec!["c".repeat(40)],
                    merged: false,
                    squash_merged: Some(false),
                    author: signature.clone(),
                    committer: signature,
                    summary: "Topic".into(),
                    diffstat: Some(Diffstat {
                        files_changed: 1,
                        insertions: 2,
                        deletions: 3,
                    }),
                    conflicts: Some(ConflictPrediction::Conflicts(vec!["a.txt".into()])),
                }],
                branch_errors: vec![BranchError {
                    name: "broken".into(),
                    reference: "refs/heads/broken".into(),
                    error: "missing object".into(),
                }],
                plugins: vec![PluginResult {
                    id: "p".into(),
                    version: "0.1.0".into(),
                    kind: "analyzer".into(),
                    api: "0.1.0".into(),
                    status: Status::Failed,
                    failure: Some(Failure::Memory {
                        limit_bytes: 1,
                        requested_bytes: 2,
                    }),
                    output: None,
                    rules: vec![Rule {
                        id: "r".into(),
                        name: "R".into(),
                        summary: "checks r".into(),
                        help: None,
                        help_uri: Some("https://example.com/r".into()),
                        default_severity: Severity::Warning,
                    }],
                    suppressed_by_baseline: Some(2),
                    metrics,
                }],
            }],
            errors: vec![InputError {
                path: "/nope".into(),
                error: "/nope: no such file or directory".into(),
            }],
            profile: Some(Profile {
                plan: PlanUsed {
                    source: "tuner".into(),
                    repo_workers: 2,
                    branch_workers: 4,
                    batch_size: 16,
                    memory_mb: 512,
                    diffstat: true,
                    squash: false,
                    conflicts: true,
                    conflicts_scope: "overlap".into(),
                    cache: true,
                },
                wall_ms: 12.5,
                cpu_ms: 20.25,
                branches: 1,
                branches_per_second: 80.0,
                peak_rss_bytes: 1 << 20,
                stages: vec![StageProfile {
                    name: "walk".into(),
                    wall_ms: 1.5,
                    cpu_ms: 1.25,
                }],
                caches: vec![CacheProfile {
                    name: "facts".into(),
                    hits: 1,
                    misses: 3,
                    hit_rate: Some(0.25),
                }],
                repositories: vec![RepoProfile {
                    path: ".".into(),
                    wall_ms: 12.0,
                    cpu_ms: 20.0,
                    branches: 1,
                    branches_per_second: 83.0,
                    commits: 3,
                    parent_source: "objects".into(),
                    merges_skipped: 1,
                    stages: Vec::new(),
                    caches: Vec::new(),
                }],
            }),
        }
    }
}
