//! The facts model: what the git engine fills in and plugins receive.
//!
//! Object ids are lowercase hex strings so the model serialises as-is to JSON and converts
//! to every WIT API version without lookups. Facts that are not always computed are `Option`.

use serde::{Deserialize, Serialize};

/// Who made a commit, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

/// Lines and files changed between two commits (renames off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diffstat {
    pub files_changed: u32,
    pub insertions: u32,
    pub deletions: u32,
}

/// What merging a branch into the base would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "paths", rename_all = "kebab-case")]
pub enum ConflictPrediction {
    Clean,
    Conflicts(Vec<String>),
}

/// A large blob at the base tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobEntry {
    pub path: String,
    pub size: u64,
}

/// Repository-wide statistics; what was not computed is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoStats {
    pub commits: Option<u64>,
    pub branches: u32,
    pub remote_branches: u32,
    pub tags: Option<u32>,
    pub objects: Option<u64>,
    pub pack_bytes: Option<u64>,
    pub files_at_base: Option<u64>,
    pub bytes_at_base: Option<u64>,
    pub largest_blobs: Vec<BlobEntry>,
    pub lfs_pointers: Option<u64>,
    pub shallow: bool,
    pub partial_clone: bool,
}

/// One repository under scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoFacts {
    /// The path as the user gave it.
    pub path: String,
    /// Short name of the base branch.
    pub base: String,
    /// Full reference name of the base branch.
    pub base_ref: String,
    pub base_tip: String,
    pub head_branch: Option<String>,
    pub head_commit: Option<String>,
    pub bare: bool,
    pub stats: RepoStats,
}

/// How one branch lines up with the base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchFacts {
    pub name: String,
    pub reference: String,
    pub remote: bool,
    pub tip: String,
    pub ahead: u32,
    pub behind: u32,
    pub merge_bases: Vec<String>,
    pub merged: bool,
    pub squash_merged: Option<bool>,
    pub author: Signature,
    pub committer: Signature,
    pub summary: String,
    pub diffstat: Option<Diffstat>,
    pub conflicts: Option<ConflictPrediction>,
}

/// A branch whose facts could not be computed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchError {
    pub name: String,
    pub reference: String,
    pub error: String,
}

/// The facts of one repository: every branch that could be aligned, and the ones that could not.
#[derive(Debug, Clone, Serialize)]
pub struct RepoScan {
    pub facts: RepoFacts,
    pub branches: Vec<BranchFacts>,
    pub errors: Vec<BranchError>,
}
