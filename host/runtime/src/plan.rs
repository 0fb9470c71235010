//! How a scan is processed: the plan a tuner proposes, and the records of past runs it learns from.

use serde::{Deserialize, Serialize};

/// The machine a scan runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Cores available.
    pub cores: u32,
    /// Physical memory in bytes (0 when unknown).
    pub memory_bytes: u64,
}

/// One previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Seconds since the Unix epoch when it started.
    pub started: i64,
    /// Repositories scanned.
    pub repos: u32,
    /// Branches aligned.
    pub branches: u32,
    /// Worker threads used.
    pub workers: u32,
    /// Wall time of the scan.
    pub wall_ms: u64,
    /// Peak resident set size of the process.
    pub peak_rss_bytes: u64,
}

/// How to process a scan; zero means "host decides".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Worker threads (0: host decides).
    pub workers: u32,
    /// Whether to compute diffstats.
    pub diffstat: bool,
    /// Whether to detect squash merges.
    pub squash_detection: bool,
    /// Whether to predict conflicts.
    pub conflicts: bool,
    /// The tuner's explanation.
    pub reason: String,
    /// What the host changed in the plan to keep it within bounds, and why.
    pub adjustments: Vec<String>,
}
