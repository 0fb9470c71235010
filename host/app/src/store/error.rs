//! Errors of the plugin store, each naming the plugin, version or file involved.

use std::path::{Path, PathBuf};

use semver::Version;

use trellis_runtime::LoadError;
use trellis_runtime::plugin::SourceError;

/// A store operation that could not be done; the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// `state.json` cannot be read.
    #[error("{path}: the store's state is unreadable: {reason}")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A plugin directory to install is unusable.
    #[error(transparent)]
    Source(Box<SourceError>),
    /// A component to install does not load.
    #[error(transparent)]
    Load(Box<LoadError>),
    /// A signature is missing or does not verify.
    #[error("{label}: {reason}")]
    Untrusted {
        /// `id@version`.
        label: String,
        /// Why it is not trusted.
        reason: String,
    },
    /// No plugin of that id is installed.
    #[error("plugin `{0}` is not installed")]
    NotInstalled(String),
    /// Reinstalling a version needs `--force`.
    #[error("{id}@{version} is already installed (use --force to reinstall it)")]
    AlreadyInstalled {
        /// The plugin.
        id: String,
        /// The version.
        version: Version,
    },
    /// An upgrade must be newer than the active version.
    #[error("{id}@{version} is not newer than the active version {active}")]
    NotNewer {
        /// The plugin.
        id: String,
        /// The version offered.
        version: Version,
        /// The active version.
        active: Version,
    },
    /// That version of the plugin is not installed.
    #[error("{id}@{version} is not installed")]
    NoSuchVersion {
        /// The plugin.
        id: String,
        /// The version asked for.
        version: Version,
    },
    /// The plugin has no earlier active version.
    #[error("{0}: no earlier version to roll back to")]
    NothingToRollBack(String),
    /// The active version cannot be removed alone.
    #[error("{id}@{version} is the active version; remove the whole plugin with --all")]
    RemoveActive {
        /// The plugin.
        id: String,
        /// Its active version.
        version: Version,
    },
    /// `remove` needs `--version V` or `--all`.
    #[error("{0}: say which version to remove (--version V), or --all")]
    RemoveWhat(String),
    /// An installed component's bytes changed since install.
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
    /// The plugin.
    pub id: String,
    /// The version.
    pub version: Version,
    /// The component's file.
    pub path: PathBuf,
    /// Its sha256 at install.
    pub expected: String,
    /// Its sha256 now.
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
