//! Errors of the git layer, one type per operation, each naming the repository, reference or
//! object involved and keeping its source.

use std::path::PathBuf;

use gix::ObjectId;

/// Any error, kept as the source of one of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A repository could not be opened or scanned as a whole.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The path exists but is not a git repository.
    #[error("{path}: not a git repository ({source})")]
    NotARepository {
        /// The path as given.
        path: PathBuf,
        /// Why gix refused it.
        source: BoxError,
    },
    /// The requested base branch does not exist.
    #[error(
        "{path}: base branch `{base}` not found (looked for refs/heads/{base}, refs/remotes/{base} and {base})"
    )]
    UnknownBase {
        /// The repository.
        path: PathBuf,
        /// The base asked for.
        base: String,
    },
    /// No base was given and none could be inferred.
    #[error(
        "{path}: cannot tell the default branch (no origin/HEAD, main, master or checked-out branch); pass --base"
    )]
    NoDefaultBase {
        /// The repository.
        path: PathBuf,
    },
    /// The repository has no commits and no references at all (not an error for a scan).
    #[error("{path}: the repository has no commits")]
    Empty {
        /// The repository.
        path: PathBuf,
        /// The branch HEAD names (unborn).
        head: Option<String>,
        /// Whether it has no work tree.
        bare: bool,
    },
    /// Something needed for the base could not be read.
    #[error("{path}: cannot read {what}: {source}")]
    Read {
        /// The repository.
        path: PathBuf,
        /// What was being read, e.g. `the history of main`.
        what: String,
        /// Why not.
        source: BoxError,
    },
    /// The caller asked the alignment to stop.
    #[error("{path}: interrupted")]
    Interrupted {
        /// The repository.
        path: PathBuf,
    },
}

/// The kind of a git object, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A commit.
    Commit,
    /// A tree.
    Tree,
    /// A blob.
    Blob,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Commit => "commit",
            ObjectKind::Tree => "tree",
            ObjectKind::Blob => "blob",
        })
    }
}

/// One object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object database does not have it (e.g. a blob a partial clone has not fetched).
    #[error("{kind} {id} is missing from the object database")]
    Missing {
        /// What it should be.
        kind: ObjectKind,
        /// Its id.
        id: ObjectId,
    },
    /// It is there but could not be read or decoded.
    #[error("cannot read {kind} {id}: {source}")]
    Read {
        /// What it should be.
        kind: ObjectKind,
        /// Its id.
        id: ObjectId,
        /// Why not.
        source: BoxError,
    },
}

impl ObjectError {
    /// Reading `kind` `id` failed with `source`; a missing object is told apart from a broken
    /// one by the kind of gix's error, not by its text.
    pub fn read(kind: ObjectKind, id: ObjectId, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        if is_not_found(&*source) {
            ObjectError::Missing { kind, id }
        } else {
            ObjectError::Read { kind, id, source }
        }
    }

    /// Whether the object is missing rather than broken.
    pub fn is_missing(&self) -> bool {
        matches!(self, ObjectError::Missing { .. })
    }
}

/// Whether `error`, or an error it wraps, is classified by gix as "not found".
fn is_not_found(error: &(dyn std::error::Error + 'static)) -> bool {
    gix::error::classify(error).dominant_class() == Some(gix::error::Class::NotFound)
}

/// A merge (of trees or blobs, in object memory) could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The repository's merge settings could not be read.
    #[error("cannot set up merging: {0}")]
    Setup(#[source] BoxError),
    /// An object the merge needs could not be read.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// gix's merge failed.
    #[error("cannot merge {what}: {source}")]
    Merge {
        /// The trees, or the path of the blobs.
        what: String,
        /// Why not.
        source: BoxError,
    },
    /// A merged object could not be written to object memory.
    #[error("cannot write {what} to object memory: {source}")]
    Write {
        /// What was written.
        what: String,
        /// Why not.
        source: BoxError,
    },
}

/// The tree-level facts of a branch (diffstat, squash, conflicts) could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TreeFactsError {
    /// An object could not be read.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A merge could not be carried out.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Two trees could not be compared.
    #[error("cannot compare trees {old} and {new}: {source}")]
    Diff {
        /// The old side.
        old: ObjectId,
        /// The new side.
        new: ObjectId,
        /// Why not.
        source: BoxError,
    },
}

impl TreeFactsError {
    /// Whether an object was missing (rather than broken).
    pub fn is_missing_object(&self) -> bool {
        match self {
            TreeFactsError::Object(e) | TreeFactsError::Merge(MergeError::Object(e)) => {
                e.is_missing()
            }
            _ => false,
        }
    }
}
