//! The gitleaks (v8) TOML rule format: `[[rules]]` with `id`, `description`, `regex`,
//! `secretGroup`, `entropy`, `keywords`, `path`, `tags`, `[[rules.allowlists]]` (and the legacy
//! `[rules.allowlist]`), a global `[allowlist]` / `[[allowlists]]`, and `[extend]` with
//! `useDefault` and `disabledRules`. `extend.path` / `extend.url` are refused: a plugin reads no
//! files and no network; paste the rules inline instead.

use serde::Deserialize;

use crate::error::ConfigError;

/// A gitleaks configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GlConfig {
    /// Free text.
    pub title: Option<String>,
    /// The gitleaks version the file needs (not checked).
    #[serde(rename = "minVersion")]
    pub min_version: Option<String>,
    /// Extension of another configuration.
    pub extend: Option<GlExtend>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<GlRule>,
    /// The global allowlist (legacy single form).
    pub allowlist: Option<GlAllowlist>,
    /// Global allowlists.
    #[serde(default)]
    pub allowlists: Vec<GlAllowlist>,
}

/// `[extend]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GlExtend {
    /// Start from the default rule set.
    #[serde(rename = "useDefault")]
    pub use_default: Option<bool>,
    /// Another file (refused).
    pub path: Option<String>,
    /// A URL (refused).
    pub url: Option<String>,
    /// Rules of the extended set to drop.
    #[serde(rename = "disabledRules", default)]
    pub disabled_rules: Vec<String>,
}

/// `[[rules]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GlRule {
    /// The rule id.
    pub id: String,
    /// What it finds.
    pub description: Option<String>,
    /// The pattern (Go RE2 syntax; compiled with Rust's `regex`, which is close).
    pub regex: Option<String>,
    /// The capture group holding the secret.
    #[serde(rename = "secretGroup")]
    pub secret_group: Option<usize>,
    /// A Shannon entropy the secret must exceed.
    pub entropy: Option<f64>,
    /// Words one of which must occur (without case) for the regex to run.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A regex on the file path.
    pub path: Option<String>,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// gitleaks' `skipReport` (the rule only feeds composite rules, which are not supported).
    #[serde(rename = "skipReport")]
    pub skip_report: Option<bool>,
    /// Legacy single allowlist.
    pub allowlist: Option<GlAllowlist>,
    /// Allowlists.
    #[serde(default)]
    pub allowlists: Vec<GlAllowlist>,
}

/// An allowlist (per rule or global).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GlAllowlist {
    /// Free text.
    pub description: Option<String>,
    /// `OR` (default: any check allows) or `AND` (every configured check must allow).
    pub condition: Option<String>,
    /// Commit ids.
    #[serde(default)]
    pub commits: Vec<String>,
    /// Regexes on the path.
    #[serde(default)]
    pub paths: Vec<String>,
    /// What `regexes` test: `secret` (default), `match` or `line`.
    #[serde(rename = "regexTarget")]
    pub regex_target: Option<String>,
    /// Regexes on the target.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// Words that, contained in the secret (without case), allow it.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// For a global allowlist: the rules it applies to (all when empty).
    #[serde(rename = "targetRules", default)]
    pub target_rules: Vec<String>,
}

/// Parses gitleaks TOML; errors name the key path inside it (`rules[2].secretGroup`).
pub fn parse(text: &str) -> Result<GlConfig, ConfigError> {
    let value: toml::Value =
        toml::from_str(text).map_err(|e| ConfigError::new("", e.to_string().trim().to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::new(path, e.into_inner().to_string())
    })
}
