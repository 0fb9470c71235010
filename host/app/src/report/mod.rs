//! The scan report: one model, rendered as JSON (for machines, in the wire format of
//! `trellis-report`) or a table (for people).

pub mod columns;
mod json;
mod junit;
mod sarif;
mod table;
mod wire;

use trellis_git::{BranchError, BranchFacts, RepoFacts};
use trellis_runtime::plan::Plan;
use trellis_runtime::plugin::{Finding, PluginKind, RuleInfo};
use trellis_runtime::{ApiVersion, Failure, Metrics};

pub use json::write_json;
pub use junit::{junit, write_junit};
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA, sarif, uri_path, write_sarif};
pub use table::write_table;

/// Everything one `trellis scan` found.
#[derive(Debug)]
pub struct ScanReport {
    /// The version of `trellis` that scanned.
    pub trellis_version: &'static str,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
    /// The plan a tuner chose, if a tuner ran.
    pub plan: Option<PluginResult<Plan>>,
    /// Every repository that could be scanned, in the order given.
    pub repositories: Vec<RepoReport>,
    /// Inputs that could not be scanned at all.
    pub errors: Vec<InputError>,
    /// Where the scan spent its time, and the plan it ran with (`None` in reports made
    /// without scanning, e.g. in tests).
    pub profile: Option<crate::scan::profile::Profile>,
}

/// A repository path that could not be scanned, and why.
#[derive(Debug)]
pub struct InputError {
    /// The path as the user gave it.
    pub path: String,
    /// What is wrong, naming the path.
    pub error: String,
}

/// One repository's facts and what each plugin made of them.
#[derive(Debug)]
pub struct RepoReport {
    /// Facts about the repository as a whole.
    pub facts: RepoFacts,
    /// Every branch that could be aligned.
    pub branches: Vec<BranchFacts>,
    /// Branches whose facts could not (all) be computed.
    pub branch_errors: Vec<BranchError>,
    /// The result of every analyzer and policy, in the order they ran.
    pub plugins: Vec<PluginResult<Vec<Finding>>>,
}

/// One plugin's outcome: its output, or why it failed, and what it cost.
#[derive(Debug)]
pub struct PluginResult<T> {
    /// The plugin's id.
    pub id: String,
    /// The plugin's version.
    pub version: semver::Version,
    /// The world it implements.
    pub kind: PluginKind,
    /// The API version it was linked with.
    pub api: ApiVersion,
    /// Whether it did its job.
    pub status: Status,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// What it produced.
    pub output: Option<T>,
    /// The rules an analyzer or policy described (empty when its API cannot describe them).
    pub rules: Vec<RuleInfo>,
    /// Findings dropped from `output` because a baseline report already had them (`None`
    /// without a baseline).
    pub suppressed_by_baseline: Option<u32>,
    /// What the invocation cost.
    pub metrics: Metrics,
}

/// Whether a plugin did its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It returned a result.
    Ok,
    /// It failed; the result's `failure` says why.
    Failed,
}
