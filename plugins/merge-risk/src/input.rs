//! What the engine learns from and scores: plain data filled by the SDK glue from the host's
//! queries (or by tests directly). Nothing here depends on the WIT bindings.

use serde::{Deserialize, Serialize};

/// A file changed on one side of a merge, with its line counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    /// The path in the repository (`/`-separated).
    pub path: String,
    /// Lines added on this side.
    pub added: u32,
    /// Lines deleted on this side.
    pub deleted: u32,
}

/// One side of a merge since the merge base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// Commits on this side since the merge base.
    pub commits: u32,
    /// Distinct authors of those commits.
    pub authors: u32,
    /// The files this side changed; may be truncated by the host (see `files_truncated`).
    pub files: Vec<FileStat>,
    /// Whether the host truncated `files`: counts derived from it are then lower bounds.
    pub files_truncated: bool,
    /// Files this side changed in all, when the host lists only some of them (the base's side
    /// lists only the files the branch changed too); `None`: `files` is the whole list.
    #[serde(default)]
    pub files_total: Option<u32>,
    /// Committer time (Unix seconds) of the oldest commit since the merge base, or the merge
    /// base's time when there is none.
    pub first_time: i64,
    /// The tip's committer time (Unix seconds).
    pub last_time: i64,
}

/// A real or hypothetical merge of `theirs` (a branch) into `ours` (the base).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The merge base's committer time; `None` for unrelated histories.
    pub merge_base_time: Option<i64>,
    /// The base side: merge base .. the base tip (at that time).
    pub ours: Side,
    /// The branch side: merge base .. the branch tip.
    pub theirs: Side,
    /// Whether the merge conflicts; `None` when the host could not decide (such merges are
    /// excluded from training and counted).
    pub conflicted: Option<bool>,
    /// The conflicting paths, when it conflicts.
    pub conflict_paths: Vec<String>,
}

/// A merge on the base's first-parent history, re-merged by the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastMerge {
    /// The merge commit's id.
    pub id: String,
    /// The merge commit's committer time (Unix seconds): features are measured at this time.
    pub time: i64,
    /// The re-merge of its two parents.
    pub trial: Trial,
}

/// A current branch to score against the base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The branch's short name.
    pub branch: String,
    /// The branch tip's commit id.
    pub tip: String,
    /// The scan time (Unix seconds): features are measured at this time.
    pub now: i64,
    /// The hypothetical merge of the branch into the base.
    pub trial: Trial,
    /// Whether the host's exact trial merge (`--conflicts`) conflicts, when it was computed.
    pub exact_conflict: Option<bool>,
    /// Recent commit subjects, newest first, for summaries (hostile text: sanitised on use).
    pub subject_lines: Vec<String>,
}
