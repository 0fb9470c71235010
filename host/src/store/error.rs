//! Errors of the plugin store, each naming the plugin, version or file involved.

use std::path::{Path, PathBuf};

use semver::Version;

use crate::plugin::SourceError;
use crate::runtime::LoadError;

/// A store operation that could not be done; the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the store's state is unreadable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Source(Box<SourceError>),
    #[error(transparent)]
    Load(Box<LoadError>),
    #[error("{label}: {reason}")]
    Untrusted { label: String, reason: String },
    #[error("plugin `{0}` is not installed")]
    NotInstalled(String),
    #[error("{id}@{version} is already installed (use --force to reinstall it)")]
    AlreadyInstalled { id: String, version: Version },
    #[error("{id}@{version} is not newer than the active version {active}")]
    NotNewer {
        id: String,
        version: Version,
        active: Version,
    },
    #[error("{id}@{version} is not installed")]
    NoSuchVersion { id: String, version: Version },
    #[error("{0}: no earlier version to roll back to")]
    NothingToRollBack(String),
    #[error("{id}@{version} is the active version; remove the whole plugin with --all")]
    RemoveActive { id: String, version: Version },
    #[error("{0}: say which version to remove (--version V), or --all")]
    RemoveWhat(String),
    #[error("{0}")]
    Tampered(Box<Tampered>),
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// An installed component whose bytes changed after install.
#[derive(Debug, thiserror::Error)]
#[error(
    "{id}@{version}: {path} was modified after install (sha256 {actual}, installed {expected})"
)]
pub struct Tampered {
    pub id: String,
    pub version: Version,
    pub path: PathBuf,
    pub expected: String,
    pub actual: String,
}

impl From<SourceError> for StoreError {
    fn from(e: SourceError) -> Self {
        StoreError::Source(Box::new(e))
    }
}

impl From<LoadError> for StoreError {
    fn from(e: LoadError) -> Self {
        StoreError::Load(Box::new(e))
    }
}
