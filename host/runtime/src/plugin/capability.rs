//! Capabilities: what a plugin asks for in its manifest and what the user grants.
//!
//! Written as strings on the command line and in config (`git.history`, `git.blobs`,
//! `git.merge`, `store`, `http=https://api.example.com`, `fs.read=docs/`) and as a table in
//! `plugin.toml`.

use std::fmt;
use std::str::FromStr;

/// One thing a plugin may be allowed to do beyond computing on the facts it is given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Commit and tree-diff queries on the repository under scan.
    GitHistory,
    /// Reading blob contents of the repository under scan.
    GitBlobs,
    /// Trial merges (in memory) in the repository under scan.
    GitMerge,
    /// A key/value store of the plugin's own, kept by the host between scans.
    Store,
    /// Outbound HTTP to one origin.
    Http(String),
    /// Reading files below a directory of the repository under scan.
    FsRead(String),
}

/// A capability string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown capability `{0}` (expected git.history, git.blobs, git.merge, store, http=ORIGIN or fs.read=DIR)"
)]
pub struct CapabilityError(pub String);

impl FromStr for Capability {
    type Err = CapabilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CapabilityError(s.to_string());
        match s.split_once('=') {
            None => match s {
                "git.history" => Ok(Capability::GitHistory),
                "git.blobs" => Ok(Capability::GitBlobs),
                "git.merge" => Ok(Capability::GitMerge),
                "store" => Ok(Capability::Store),
                _ => Err(bad()),
            },
            Some(("http", origin)) => {
                let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.contains(char::is_whitespace);
                ok.then(|| Capability::Http(origin.trim_end_matches('/').to_string()))
                    .ok_or_else(bad)
            }
            Some(("fs.read", dir)) => {
                // `.git` in any letter case (case-insensitive file systems), at any depth: the
                // repository's secrets (remote URLs with tokens, hooks) are never granted. A
                // directory that contains or resolves into a git directory is refused when the
                // scan opens it (`granted_dirs`).
                let escapes = dir.starts_with('/')
                    || dir.contains('\\')
                    || dir
                        .split('/')
                        .any(|p| p == ".." || p.eq_ignore_ascii_case(".git"));
                (!dir.is_empty() && !escapes)
                    .then(|| Capability::FsRead(dir.to_string()))
                    .ok_or_else(bad)
            }
            Some(_) => Err(bad()),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::GitHistory => f.write_str("git.history"),
            Capability::GitBlobs => f.write_str("git.blobs"),
            Capability::GitMerge => f.write_str("git.merge"),
            Capability::Store => f.write_str("store"),
            Capability::Http(origin) => write!(f, "http={origin}"),
            Capability::FsRead(dir) => write!(f, "fs.read={dir}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        for s in [
            "git.history",
            "git.blobs",
            "git.merge",
            "store",
            "http=https://api.example.com",
            "fs.read=docs/",
        ] {
            assert_eq!(s.parse::<Capability>().unwrap().to_string(), s);
        }
        for s in [
            "git",
            "net",
            "http=ftp://x",
            "fs.read=../etc",
            "fs.read=/etc",
            "fs.read=",
            "fs.read=.git",
            "fs.read=.GIT/",
            "fs.read=docs/.git/hooks",
            "fs.read=a\\..\\.git",
        ] {
            assert!(s.parse::<Capability>().is_err(), "{s} accepted");
        }
    }
}
