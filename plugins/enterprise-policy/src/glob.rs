//! Glob sets for branch names and paths.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::ConfigError;

/// A set of globs; an empty set matches nothing.
#[derive(Debug, Clone)]
pub struct Globs {
    set: GlobSet,
    patterns: Vec<String>,
}

/// Whether a pattern is a branch glob (matched against the whole name) or a path glob
/// (a pattern without `/` matches at any depth, as in `.gitignore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobKind {
    /// `*` stops at `/`; `**` crosses it; matched against the whole branch name.
    Branch,
    /// Like `Branch`, but `*.pem` means `**/*.pem`.
    Path,
}

impl Globs {
    /// Compiles `patterns`; an error names `path[i]`.
    pub fn new(patterns: &[String], kind: GlobKind, path: &str) -> Result<Globs, ConfigError> {
        let mut builder = GlobSetBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let effective = if kind == GlobKind::Path && !pattern.contains('/') {
                format!("**/{pattern}")
            } else {
                pattern.trim_start_matches('/').to_string()
            };
            let glob: Glob = GlobBuilder::new(&effective)
                .literal_separator(true)
                .build()
                .map_err(|e| ConfigError::new(format!("{path}[{i}]"), format!("glob: {e}")))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| ConfigError::new(path, format!("glob set: {e}")))?;
        Ok(Globs {
            set,
            patterns: patterns.to_vec(),
        })
    }

    /// An empty set.
    pub fn empty() -> Globs {
        Globs {
            set: GlobSet::empty(),
            patterns: Vec::new(),
        }
    }

    /// Whether any glob matches `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.set.is_match(text)
    }

    /// Whether the set has no glob.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as configured.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}
