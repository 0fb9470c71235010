//! The host side of the plugin API, independent of API version: logging, configuration and
//! git queries, each checked against the plugin's grants and budget.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::plugin::Capability;
use trellis_git::query::{
    self, AddedFile, AddedLinesOptions, ChangeKind, ChangeOptions, CommitDetail, CommitInfo,
    FileChange, HistoryOptions, MergeOptions, MergeTrial, QueryError, QueryState, Range,
    ResolvedRange,
};

use super::data::{DataError, DataStore};

use super::limits::Limits;

/// Longest log line kept from a plugin; longer ones are cut.
const MAX_LOG_LINE: usize = 1024;

/// Log levels a plugin can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Why the host refused or failed a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostQueryError {
    /// The capability is not granted.
    Denied(String),
    /// The query count or byte budget is used up.
    BudgetExceeded(String),
    /// The repository answered with an error.
    Query(QueryError),
}

/// What one invocation of one plugin may see and has used.
pub struct HostContext {
    label: String,
    config_json: String,
    repo: Option<gix::ThreadSafeRepository>,
    granted: BTreeSet<Capability>,
    queries_left: u32,
    bytes_left: u64,
    /// Host queries answered.
    pub queries: u32,
    /// Bytes of git data returned.
    pub query_bytes: u64,
    /// Time spent answering queries (host work, outside the plugin's own computing).
    pub query_time: Duration,
    /// Capabilities the plugin asked for at run time without a grant.
    pub denied: BTreeSet<String>,
    log_lines_left: u32,
    /// Log lines dropped by the rate limit.
    pub logs_dropped: u32,
    /// When the invocation's time is up: host code runs outside the epoch deadline, so batch
    /// queries check it between ranges.
    deadline: Instant,
    /// What batch queries keep between calls.
    query_state: QueryState,
    /// Trial merges left.
    merges_left: u32,
    /// Trial merges allowed in all.
    merges_limit: u32,
    /// The plugin's key/value store.
    data: DataStore,
}

/// The answer of a batch query: one result per range.
pub type BatchAnswer<T> = Vec<Result<Vec<T>, HostQueryError>>;

/// Object cache of a trial merge's repository handle, for the trees and blobs it reads.
const MERGE_OBJECT_CACHE_BYTES: usize = 16 * 1024 * 1024;

impl HostContext {
    /// A context for plugin `label` (`id@version`) with its JSON config, the repository under
    /// scan (if any), the capabilities it is granted and its key/value store.
    pub fn new(
        label: String,
        config_json: String,
        repo: Option<gix::ThreadSafeRepository>,
        granted: BTreeSet<Capability>,
        limits: &Limits,
        deadline: Instant,
        data: DataStore,
    ) -> Self {
        HostContext {
            label,
            config_json,
            repo,
            granted,
            queries_left: limits.queries,
            bytes_left: limits.query_kb.saturating_mul(1024),
            queries: 0,
            query_bytes: 0,
            query_time: Duration::ZERO,
            denied: BTreeSet::new(),
            log_lines_left: limits.log_lines,
            logs_dropped: 0,
            deadline,
            query_state: QueryState::default(),
            merges_left: limits.merges,
            merges_limit: limits.merges,
            data,
        }
    }

    /// Forwards a plugin's log line into the host's tracing, within the rate limit.
    pub fn log(&mut self, level: LogLevel, message: &str) {
        if self.log_lines_left == 0 {
            self.logs_dropped += 1;
            return;
        }
        self.log_lines_left -= 1;
        let mut end = message.len().min(MAX_LOG_LINE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        // Escaped: a log line is one line on a terminal, whatever the plugin put in it.
        let message = trellis_os::display::escape(&message[..end]);
        let plugin = self.label.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(target: "trellis::plugin", plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "trellis::plugin", plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "trellis::plugin", plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "trellis::plugin", plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "trellis::plugin", plugin, "{message}"),
        }
    }

    /// The plugin's configuration as JSON.
    pub fn config(&self) -> String {
        self.config_json.clone()
    }

    /// Checks the grant and the budget before a query, and hands out the repository.
    fn begin(&mut self, capability: Capability) -> Result<gix::Repository, HostQueryError> {
        if !self.granted.contains(&capability) {
            self.denied.insert(capability.to_string());
            return Err(HostQueryError::Denied(format!(
                "capability `{capability}` is not granted to {}",
                self.label
            )));
        }
        if self.queries_left == 0 {
            return Err(HostQueryError::BudgetExceeded(format!(
                "{} queries answered already",
                self.queries
            )));
        }
        self.queries_left -= 1;
        self.queries += 1;
        let repo = self.repo.as_ref().ok_or_else(|| {
            HostQueryError::Query(QueryError::Invalid("no repository is under scan".into()))
        })?;
        Ok(repo.to_thread_local())
    }

    /// Charges `bytes` of answer against the byte budget.
    fn charge(&mut self, bytes: u64) -> Result<(), HostQueryError> {
        if bytes > self.bytes_left {
            let left = self.bytes_left;
            self.bytes_left = 0;
            return Err(HostQueryError::BudgetExceeded(format!(
                "the answer is {bytes} bytes, {left} bytes of the query budget are left"
            )));
        }
        self.bytes_left -= bytes;
        self.query_bytes += bytes;
        Ok(())
    }

    /// See [`query::commits`].
    pub fn commits(
        &mut self,
        include: &str,
        exclude: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CommitInfo>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<Vec<CommitInfo>, HostQueryError> {
            let repo = self.begin(Capability::GitHistory)?;
            let commits =
                query::commits(&repo, include, exclude, limit).map_err(HostQueryError::Query)?;
            self.charge(commits.iter().map(CommitInfo::cost).sum())?;
            Ok(commits)
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::changed_paths`].
    pub fn changed_paths(
        &mut self,
        from: &str,
        to: &str,
        limit: u32,
    ) -> Result<Vec<(String, ChangeKind)>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<Vec<(String, ChangeKind)>, HostQueryError> {
            let repo = self.begin(Capability::GitHistory)?;
            let paths =
                query::changed_paths(&repo, from, to, limit).map_err(HostQueryError::Query)?;
            self.charge(paths.iter().map(|(p, _)| p.len() as u64 + 8).sum())?;
            Ok(paths)
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::read_blob`]; the cap is also bounded by the bytes left in the budget.
    pub fn read_blob(
        &mut self,
        rev: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<Vec<u8>, HostQueryError> {
            let repo = self.begin(Capability::GitBlobs)?;
            let blob = query::read_blob(&repo, rev, path, max_bytes.min(self.bytes_left.max(1)))
                .map_err(|e| match e {
                    QueryError::TooLarge(n) if n <= max_bytes => {
                        HostQueryError::BudgetExceeded(format!(
                            "the blob is {n} bytes, {} bytes of the query budget are left",
                            self.bytes_left
                        ))
                    }
                    e => HostQueryError::Query(e),
                })?;
            self.charge(blob.len() as u64)?;
            Ok(blob)
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::range_history`]; needs `git.history`.
    pub fn range_history(
        &mut self,
        ranges: &[Range],
        options: &HistoryOptions,
    ) -> Result<BatchAnswer<CommitDetail>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<BatchAnswer<CommitDetail>, HostQueryError> {
            let repo = self.begin(Capability::GitHistory)?;
            Ok(self.batch(
                &repo,
                ranges,
                total(CommitDetail::cost),
                |_, range, budget| query::range_history(&repo, range, options, budget),
            ))
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::range_changes`]; needs `git.history`, and `git.blobs` for content.
    pub fn range_changes(
        &mut self,
        ranges: &[Range],
        options: &ChangeOptions,
    ) -> Result<BatchAnswer<FileChange>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<BatchAnswer<FileChange>, HostQueryError> {
            if options.content {
                self.require(Capability::GitBlobs)?;
            }
            let repo = self.begin(Capability::GitHistory)?;
            Ok(self.batch(
                &repo,
                ranges,
                total(FileChange::cost),
                |state, range, budget| query::range_changes(&repo, range, options, state, budget),
            ))
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::added_lines`]; needs `git.history` and `git.blobs`.
    pub fn added_lines(
        &mut self,
        ranges: &[Range],
        options: &AddedLinesOptions,
    ) -> Result<BatchAnswer<AddedFile>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<BatchAnswer<AddedFile>, HostQueryError> {
            self.require(Capability::GitBlobs)?;
            let repo = self.begin(Capability::GitHistory)?;
            let options = AddedLinesOptions {
                // A blob is read whole to diff it: never more than the budget allows.
                max_file_bytes: options.max_file_bytes.min(self.bytes_left),
                ..*options
            };
            Ok(self.batch(
                &repo,
                ranges,
                total(AddedFile::cost),
                |state, range, budget| query::added_lines(&repo, range, &options, state, budget),
            ))
        })();
        self.query_time += started.elapsed();
        result
    }

    /// See [`query::merge_trial`]; needs `git.merge`. Each range counts against the
    /// invocation's trial merges; ranges past them are refused.
    pub fn merge_trials(
        &mut self,
        ranges: &[Range],
        options: &MergeOptions,
    ) -> Result<Vec<Result<MergeTrial, HostQueryError>>, HostQueryError> {
        let started = Instant::now();
        let result = (|| -> Result<Vec<Result<MergeTrial, HostQueryError>>, HostQueryError> {
            let mut repo = self.begin(Capability::GitMerge)?.with_object_memory();
            repo.object_cache_size(MERGE_OBJECT_CACHE_BYTES);
            let allowed = ranges.len().min(self.merges_left as usize);
            self.merges_left -= allowed as u32;
            let mut out = self.batch(
                &repo,
                &ranges[..allowed],
                MergeTrial::cost,
                |state, range, budget| query::merge_trial(&repo, range, options, state, budget),
            );
            let refused = || {
                Err(HostQueryError::BudgetExceeded(format!(
                    "the invocation's {} trial merges are used up",
                    self.merges_limit
                )))
            };
            out.extend(ranges[allowed..].iter().map(|_| refused()));
            Ok(out)
        })();
        self.query_time += started.elapsed();
        result
    }

    /// The value under `key` in the plugin's store; needs `store`.
    pub fn store_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, HostQueryError> {
        self.require(Capability::Store)?;
        self.data.get(key).map_err(data_error)
    }

    /// Stores `value` under `key` in the plugin's store; needs `store`.
    pub fn store_set(&mut self, key: &str, value: &[u8]) -> Result<(), HostQueryError> {
        self.require(Capability::Store)?;
        self.data.set(key, value).map_err(data_error)
    }

    /// Removes `key` from the plugin's store; needs `store`.
    pub fn store_delete(&mut self, key: &str) -> Result<(), HostQueryError> {
        self.require(Capability::Store)?;
        self.data.delete(key).map_err(data_error)
    }

    /// Fails like [`Self::begin`] when `capability` is not granted, without counting a query.
    fn require(&mut self, capability: Capability) -> Result<(), HostQueryError> {
        if self.granted.contains(&capability) {
            return Ok(());
        }
        self.denied.insert(capability.to_string());
        Err(HostQueryError::Denied(format!(
            "capability `{capability}` is not granted to {}",
            self.label
        )))
    }

    /// Answers each range in turn: each answer is charged against the byte budget and may use
    /// at most what is left of it, and once the budget or the invocation's time is used up,
    /// the remaining ranges are refused (the ones answered stay answered).
    fn batch<A>(
        &mut self,
        repo: &gix::Repository,
        ranges: &[Range],
        cost: impl Fn(&A) -> u64,
        mut answer: impl FnMut(&mut QueryState, &ResolvedRange, u64) -> Result<A, QueryError>,
    ) -> Vec<Result<A, HostQueryError>> {
        let mut out = Vec::with_capacity(ranges.len());
        for range in ranges {
            if Instant::now() >= self.deadline {
                out.push(Err(HostQueryError::BudgetExceeded(
                    "the invocation's time ran out during the query".into(),
                )));
                continue;
            }
            let result = ResolvedRange::resolve(repo, range, &mut self.query_state)
                .and_then(|resolved| answer(&mut self.query_state, &resolved, self.bytes_left))
                .map_err(|e| match e {
                    QueryError::TooLarge(n) => HostQueryError::BudgetExceeded(format!(
                        "the answer for `{}` passed {n} bytes, {} bytes of the query budget are left",
                        range.tip, self.bytes_left
                    )),
                    e => HostQueryError::Query(e),
                })
                .and_then(|answer| {
                    self.charge(cost(&answer))?;
                    Ok(answer)
                });
            out.push(result);
        }
        out
    }
}

/// The cost of a list answer: the sum of its items' costs.
fn total<T>(cost: fn(&T) -> u64) -> impl Fn(&Vec<T>) -> u64 {
    move |items| items.iter().map(cost).sum()
}

fn data_error(e: DataError) -> HostQueryError {
    HostQueryError::Query(match e {
        DataError::BadKey(_) => QueryError::Invalid(e.to_string()),
        DataError::TooLarge { size, .. } => QueryError::TooLarge(size),
        DataError::Io(_) => QueryError::Failed(e.to_string()),
    })
}
