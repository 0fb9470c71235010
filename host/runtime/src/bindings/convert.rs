//! Conversions every API version shares. Each version's bindings are distinct Rust types with
//! the same shape, so the conversions are macros expanded inside each version's module, where
//! `wit` names its `types` interface and `wit_host` its `host` interface. Fields a version
//! added are passed in as `field: value` pairs.

/// `fn signature`, `fn repo_facts`, `fn branch_facts`, `fn severity`, `fn query_error` and
/// `fn log_level` for the version whose modules are in scope as `wit` and `wit_host`.
macro_rules! shared_conversions {
    (
        repo_facts { $($repo_field:ident: $repo_value:expr),* $(,)? }
        branch_facts { $($branch_field:ident: $branch_value:expr),* $(,)? }
    ) => {
        fn signature(s: &trellis_git::Signature) -> wit::Signature {
            wit::Signature {
                name: s.name.clone(),
                email: s.email.clone(),
                time: s.time,
                offset: s.offset,
            }
        }

        fn repo_facts(r: &trellis_git::RepoFacts) -> wit::RepoFacts {
            let s = &r.stats;
            wit::RepoFacts {
                path: r.path.clone(),
                base: r.base.clone(),
                base_tip: r.base_tip.clone(),
                head_branch: r.head_branch.clone(),
                head_commit: r.head_commit.clone(),
                bare: r.bare,
                stats: wit::RepoStats {
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
                        .map(|b| wit::BlobEntry {
                            path: b.path.clone(),
                            size: b.size,
                        })
                        .collect(),
                    lfs_pointers: s.lfs_pointers,
                    shallow: s.shallow,
                    partial_clone: s.partial_clone,
                },
                $($repo_field: $repo_value,)*
            }
        }

        fn branch_facts(b: &trellis_git::BranchFacts) -> wit::BranchFacts {
            wit::BranchFacts {
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
                diffstat: b.diffstat.map(|d| wit::Diffstat {
                    files_changed: d.files_changed,
                    insertions: d.insertions,
                    deletions: d.deletions,
                }),
                conflicts: b.conflicts.as_ref().map(|c| match c {
                    trellis_git::facts::ConflictPrediction::Clean => wit::ConflictPrediction::Clean,
                    trellis_git::facts::ConflictPrediction::Conflicts(paths) => {
                        wit::ConflictPrediction::Conflicts(paths.clone())
                    }
                }),
                $($branch_field: $branch_value,)*
            }
        }

        fn scan_input(scan: &trellis_git::RepoScan, scan_time: i64) -> wit::ScanInput {
            wit::ScanInput {
                repo: repo_facts(&scan.facts),
                branches: scan.branches.iter().map(branch_facts).collect(),
                scan_time,
            }
        }

        fn severity(s: wit::Severity) -> crate::plugin::Severity {
            match s {
                wit::Severity::Info => crate::plugin::Severity::Info,
                wit::Severity::Warning => crate::plugin::Severity::Warning,
                wit::Severity::Error => crate::plugin::Severity::Error,
            }
        }

        fn plugin_err(e: wit::PluginError) -> super::PluginErr {
            super::PluginErr {
                code: e.code,
                message: e.message,
            }
        }

        fn query_error(e: crate::host::HostQueryError) -> wit_host::QueryError {
            use crate::host::HostQueryError as H;
            use trellis_git::query::QueryError as Q;
            match e {
                H::Denied(m) => wit_host::QueryError::Denied(m),
                H::BudgetExceeded(m) => wit_host::QueryError::BudgetExceeded(m),
                H::Query(Q::NotFound(m)) => wit_host::QueryError::NotFound(m),
                H::Query(Q::Invalid(m)) => wit_host::QueryError::Invalid(m),
                H::Query(Q::TooLarge(n)) => wit_host::QueryError::TooLarge(n),
                H::Query(Q::Failed(m)) => wit_host::QueryError::Failed(m),
            }
        }

        fn log_level(level: wit_host::LogLevel) -> crate::host::LogLevel {
            use crate::host::LogLevel as L;
            match level {
                wit_host::LogLevel::Trace => L::Trace,
                wit_host::LogLevel::Debug => L::Debug,
                wit_host::LogLevel::Info => L::Info,
                wit_host::LogLevel::Warn => L::Warn,
                wit_host::LogLevel::Error => L::Error,
            }
        }

        fn commit_info(c: trellis_git::query::CommitInfo) -> wit_host::CommitInfo {
            wit_host::CommitInfo {
                id: c.id,
                parents: c.parents,
                author: signature(&c.author),
                committer: signature(&c.committer),
                summary: c.summary,
            }
        }

        fn path_change(
            (path, kind): (String, trellis_git::query::ChangeKind),
        ) -> wit_host::PathChange {
            use trellis_git::query::ChangeKind as K;
            wit_host::PathChange {
                path,
                change: match kind {
                    K::Added => wit_host::ChangeKind::Added,
                    K::Deleted => wit_host::ChangeKind::Deleted,
                    K::Modified => wit_host::ChangeKind::Modified,
                },
            }
        }
    };
}

/// The `host` interface functions of 0.1 (log, config, commits, changed-paths, read-blob),
/// which every later version keeps: the body of `impl wit_host::Host for State`.
macro_rules! v0_1_host_functions {
    () => {
        fn log(&mut self, level: wit_host::LogLevel, message: String) {
            self.host.log(log_level(level), &message);
        }

        fn config(&mut self) -> String {
            self.host.config()
        }

        fn commits(
            &mut self,
            include: String,
            exclude: Option<String>,
            limit: u32,
        ) -> Result<Vec<wit_host::CommitInfo>, wit_host::QueryError> {
            let commits = self
                .host
                .commits(&include, exclude.as_deref(), limit)
                .map_err(query_error)?;
            Ok(commits.into_iter().map(commit_info).collect())
        }

        fn changed_paths(
            &mut self,
            from: String,
            to: String,
            limit: u32,
        ) -> Result<Vec<wit_host::PathChange>, wit_host::QueryError> {
            let paths = self
                .host
                .changed_paths(&from, &to, limit)
                .map_err(query_error)?;
            Ok(paths.into_iter().map(path_change).collect())
        }

        fn read_blob(
            &mut self,
            rev: String,
            path: String,
            max_bytes: u64,
        ) -> Result<Vec<u8>, wit_host::QueryError> {
            self.host
                .read_blob(&rev, &path, max_bytes)
                .map_err(query_error)
        }
    };
}
