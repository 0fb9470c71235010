//! The scan report: one model, rendered as JSON (for machines) or a table (for people).

pub mod columns;
mod json;
mod table;

use serde::Serialize;

use crate::git::{BranchError, BranchFacts, RepoFacts};
use crate::plan::Plan;
use crate::plugin::Finding;
use crate::runtime::{Failure, Metrics};

pub use json::write_json;
pub use table::write_table;

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one `trellis scan` found.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub trellis_version: &'static str,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
    /// The plan a tuner chose, if a tuner ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PluginResult<Plan>>,
    pub repositories: Vec<RepoReport>,
    /// Inputs that could not be scanned at all.
    pub errors: Vec<InputError>,
}

/// A repository path that could not be scanned, and why.
#[derive(Debug, Serialize)]
pub struct InputError {
    pub path: String,
    pub error: String,
}

/// One repository's facts and what each plugin made of them.
#[derive(Debug, Serialize)]
pub struct RepoReport {
    pub facts: RepoFacts,
    pub branches: Vec<BranchFacts>,
    pub branch_errors: Vec<BranchError>,
    pub plugins: Vec<PluginResult<Vec<Finding>>>,
}

/// One plugin's outcome: its output, or why it failed, and what it cost.
#[derive(Debug, Serialize)]
pub struct PluginResult<T> {
    pub id: String,
    pub version: String,
    pub kind: String,
    pub api: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<T>,
    pub metrics: Metrics,
}

/// Whether a plugin did its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}
