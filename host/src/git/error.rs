//! Errors of the git layer, each naming the repository, reference or object involved.

use std::path::PathBuf;

/// A failure to read facts from a repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    /// The path exists but is not a git repository.
    #[error("{path}: not a git repository ({reason})")]
    NotARepository { path: PathBuf, reason: String },
    /// The requested base branch does not exist.
    #[error(
        "{path}: base branch `{base}` not found (looked for refs/heads/{base}, refs/remotes/{base} and {base})"
    )]
    UnknownBase { path: PathBuf, base: String },
    /// No base was given and none could be inferred.
    #[error(
        "{path}: cannot tell the default branch (no origin/HEAD, main, master or checked-out branch); pass --base"
    )]
    NoDefaultBase { path: PathBuf },
    /// The repository has no commits and no references at all (not an error for a scan).
    #[error("{path}: the repository has no commits")]
    Empty {
        path: PathBuf,
        /// The branch HEAD names (unborn).
        head: Option<String>,
        bare: bool,
    },
    /// An object needed for the base could not be read.
    #[error("{path}: cannot read {what}: {reason}")]
    Read {
        path: PathBuf,
        what: String,
        reason: String,
    },
}
