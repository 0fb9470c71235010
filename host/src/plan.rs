//! How a scan is processed: the plan a tuner proposes, and the records of past runs it learns from.

use serde::{Deserialize, Serialize};

/// The machine a scan runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub cores: u32,
    pub memory_bytes: u64,
}

/// One previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub started: i64,
    pub repos: u32,
    pub branches: u32,
    pub workers: u32,
    pub batch_size: u32,
    pub wall_ms: u64,
    pub peak_rss_bytes: u64,
}

/// How to process a scan; zero means "host decides".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub workers: u32,
    pub batch_size: u32,
    pub diffstat: bool,
    pub squash_detection: bool,
    pub conflicts: bool,
    pub reason: String,
}

/// The peak resident set size of this process so far (`VmHWM`), where the OS tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}
