//! Typed errors.

use thiserror::Error;

/// A configuration that cannot be used; the message names the key path
/// (e.g. `rules[3].pattern: regex parse error: …`).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where in the configuration (`rules[3].pattern`, or `config` for a syntax error).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl ConfigError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`rules[2]` + `regex` → `rules[2].regex`).
    pub fn under(self, prefix: &str) -> Self {
        let path = if self.path.is_empty() {
            prefix.to_string()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        ConfigError { path, ..self }
    }
}
