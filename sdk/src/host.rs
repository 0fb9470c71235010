//! What the host offers: logging, the plugin's configuration and bounded git queries.
//!
//! Git queries need a capability the user grants (`git.history`, `git.blobs`, `git.merge`), and
//! the plugin's own key/value store needs `store`; without it they return
//! [`QueryError::Denied`].

use crate::PluginError;
use crate::bindings::trellis::plugin::host as raw;

pub use raw::{
    AddedFile, AddedLine, AddedLinesOptions, ChangeKind, ChangeOptions, CommitDetail, CommitInfo,
    CommitSignature, FileChange, FileMode, FileStatus, HistoryOptions, LogLevel, MergeOptions,
    MergeSide, MergeTrial, MergeVerdict, PathChange, PathStat, QueryError, Range, SignatureKind,
};

/// One answer per range of a batch query, in the order of the ranges.
pub type Batch<T> = Vec<Result<Vec<T>, QueryError>>;

/// Writes a line to the host's log, tagged with this plugin's id and version.
pub fn log(level: LogLevel, message: &str) {
    raw::log(level, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    raw::log(LogLevel::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    raw::log(LogLevel::Warn, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    raw::log(LogLevel::Debug, message);
}

/// The plugin's configuration (manifest defaults overridden by the user's settings),
/// deserialized into `T`. A mismatch is a `bad-config` error naming the problem.
pub fn config<T: serde::de::DeserializeOwned>() -> Result<T, PluginError> {
    serde_json::from_str(&raw::config())
        .map_err(|e| PluginError::new("bad-config", format!("invalid configuration: {e}")))
}

/// Commits reachable from `include` but not from `exclude`, newest first, at most `limit`.
pub fn commits(
    include: &str,
    exclude: Option<&str>,
    limit: u32,
) -> Result<Vec<CommitInfo>, QueryError> {
    raw::commits(include, exclude, limit)
}

/// Paths that differ between the trees of two revisions, at most `limit`.
pub fn changed_paths(from: &str, to: &str, limit: u32) -> Result<Vec<PathChange>, QueryError> {
    raw::changed_paths(from, to, limit)
}

/// The blob at `path` in `rev`, if it is at most `max_bytes` long.
pub fn read_blob(rev: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, QueryError> {
    raw::read_blob(rev, path, max_bytes)
}

/// The commits of each range (`base..tip`), newest first, with whole messages and, when asked,
/// signatures: one call for many branches. Needs `git.history`.
pub fn range_history(
    ranges: &[Range],
    options: HistoryOptions,
) -> Result<Batch<CommitDetail>, QueryError> {
    raw::range_history(ranges, options)
}

/// The files each range changed since its merge base (`base...tip`). Needs `git.history`, and
/// `git.blobs` with `content`.
pub fn range_changes(
    ranges: &[Range],
    options: ChangeOptions,
) -> Result<Batch<FileChange>, QueryError> {
    raw::range_changes(ranges, options)
}

/// The lines each range added, per file (or per commit and file). A change already answered in
/// this invocation comes back `seen`, without its lines. Needs `git.history` and `git.blobs`.
pub fn added_lines(
    ranges: &[Range],
    options: AddedLinesOptions,
) -> Result<Batch<AddedFile>, QueryError> {
    raw::added_lines(ranges, options)
}

/// Merges each range's tip into its base in memory, as `git merge-tree --write-tree` would,
/// with a summary of both sides since the merge base: one call for many merges. Needs
/// `git.merge`; each trial counts against the plugin's `merges` limit.
pub fn merge_trials(
    ranges: &[Range],
    options: MergeOptions,
) -> Result<Vec<Result<MergeTrial, QueryError>>, QueryError> {
    raw::merge_trials(ranges, options)
}

/// The value this plugin stored under `key` in an earlier invocation or scan, if the host
/// still keeps it (the store is a size-capped cache). Needs `store`.
pub fn store_get(key: &str) -> Result<Option<Vec<u8>>, QueryError> {
    raw::store_get(key)
}

/// Keeps `value` under `key` for later invocations and scans (keys: 1–128 bytes of
/// `[A-Za-z0-9._/-]`). Needs `store`.
pub fn store_set(key: &str, value: &[u8]) -> Result<(), QueryError> {
    raw::store_set(key, value)
}

/// Removes `key` from this plugin's store. Needs `store`.
pub fn store_delete(key: &str) -> Result<(), QueryError> {
    raw::store_delete(key)
}

impl Range {
    /// The range of branch `tip` against `base`.
    pub fn new(tip: impl Into<String>, base: impl Into<String>) -> Self {
        Range {
            tip: tip.into(),
            base: Some(base.into()),
        }
    }
}

impl From<QueryError> for PluginError {
    fn from(e: QueryError) -> Self {
        let message = match e {
            QueryError::Denied(m) => format!("denied: {m}"),
            QueryError::BudgetExceeded(m) => format!("query budget exceeded: {m}"),
            QueryError::NotFound(m) => format!("not found: {m}"),
            QueryError::Invalid(m) => format!("invalid query: {m}"),
            QueryError::TooLarge(n) => format!("answer too large: {n} bytes"),
            QueryError::Failed(m) => format!("query failed: {m}"),
        };
        PluginError::new("host-query", message)
    }
}
