//! The plugin's configuration (TOML, or the JSON the host hands over), with typed errors that
//! name the key.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::eval::EvalOptions;
use crate::model::FitOptions;
use crate::overlap::OverlapOptions;
use crate::risk::RiskOptions;

/// A configuration that cannot be used; the message names the key path (`overlap.min_shared: …`).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where in the configuration (`llm.endpoint`, or `config` for a syntax error).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl ConfigError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Overlap clustering options (`[overlap]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverlapConfig {
    /// The fewest shared paths to link two branches.
    pub min_shared: usize,
    /// Paths changed by more branches than this are hot paths, not paired.
    pub max_branches_per_path: usize,
    /// The most clusters reported.
    pub max_clusters: usize,
    /// The most branches in one cluster.
    pub max_cluster_size: usize,
}

impl Default for OverlapConfig {
    fn default() -> Self {
        let o = OverlapOptions::default();
        OverlapConfig {
            min_shared: o.min_shared,
            max_branches_per_path: o.max_branches_per_path,
            max_clusters: o.max_clusters,
            max_cluster_size: o.max_cluster_size,
        }
    }
}

/// Recommendation rule thresholds (`[rules]`); see `risk`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Commits behind from which a risky branch should rebase first.
    pub far_behind: u32,
    /// Files changed from which a branch should be split.
    pub split_files: usize,
    /// Lines changed from which a branch should be split.
    pub split_lines: u64,
    /// Days without a commit from which (with `abandon_behind`) a branch should be abandoned.
    pub abandon_days: f64,
    /// Commits behind from which (with `abandon_days`) a branch should be abandoned.
    pub abandon_behind: u32,
}

impl Default for RulesConfig {
    fn default() -> Self {
        let r = RiskOptions::default();
        RulesConfig {
            far_behind: r.far_behind,
            split_files: r.split_files,
            split_lines: r.split_lines,
            abandon_days: r.abandon_days,
            abandon_behind: r.abandon_behind,
        }
    }
}

/// LLM summaries (`[llm]`): off unless `endpoint` is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The OpenAI-compatible base URL (`http://localhost:11434/v1`); empty = no LLM.
    pub endpoint: String,
    /// The model name sent in requests.
    pub model: String,
    /// The most tokens the completion may use.
    pub max_tokens: u32,
    /// The model's context window, in tokens (the prompt is cut to fit with the completion).
    pub context_tokens: u32,
    /// How many of the riskiest branches are summarised.
    pub top_n: usize,
    /// The API key sent as a bearer token, if the endpoint needs one. Plugins have no
    /// environment, so it is configuration (keep it in the user's own config file).
    pub api_key: Option<String>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            endpoint: String::new(),
            model: String::new(),
            max_tokens: 200,
            context_tokens: 4096,
            top_n: 10,
            api_key: None,
        }
    }
}

impl LlmConfig {
    /// Whether LLM summaries are configured.
    pub fn enabled(&self) -> bool {
        !self.endpoint.is_empty()
    }
}

/// The configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The fewest merges with a known outcome to train at all.
    pub min_merges: usize,
    /// The fewest conflicts (and clean merges) in the training part.
    pub min_conflicts: usize,
    /// The fewest conflicts (and clean merges) in the held-out part.
    pub min_test_conflicts: usize,
    /// The newest share of merges held out for testing.
    pub test_fraction: f64,
    /// The newest share of the training part used to choose the threshold.
    pub validation_fraction: f64,
    /// The L2 penalty on standardised coefficients.
    pub l2: f64,
    /// Use only the newest this many history merges.
    pub max_merges: usize,
    /// The lowest held-out ROC-AUC at which scores are given (0.5 is chance).
    pub min_test_auc: f64,
    /// How many factors explain each score.
    pub top_factors: usize,
    /// Overlap clustering.
    pub overlap: OverlapConfig,
    /// Recommendation rules.
    pub rules: RulesConfig,
    /// LLM summaries.
    pub llm: LlmConfig,
}

impl Default for Config {
    fn default() -> Self {
        let e = EvalOptions::default();
        Config {
            min_merges: e.min_merges,
            min_conflicts: e.min_conflicts,
            min_test_conflicts: e.min_test_conflicts,
            test_fraction: e.test_fraction,
            validation_fraction: e.validation_fraction,
            l2: e.fit.l2,
            max_merges: e.max_merges,
            min_test_auc: e.min_test_auc,
            top_factors: RiskOptions::default().top_factors,
            overlap: OverlapConfig::default(),
            rules: RulesConfig::default(),
            llm: LlmConfig::default(),
        }
    }
}

/// Deserialises with the failing key's path in the error.
fn typed<'de, T: DeserializeOwned, D: serde::Deserializer<'de>>(d: D) -> Result<T, ConfigError>
where
    D::Error: std::fmt::Display,
{
    serde_path_to_error::deserialize(d).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "config".into() } else { path };
        ConfigError::new(path, e.into_inner().to_string().trim())
    })
}

impl Config {
    /// Parses and checks TOML configuration text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let value: toml::Value =
            toml::from_str(text).map_err(|e| ConfigError::new("config", e.to_string().trim()))?;
        Config::from_value(value)
    }

    /// Checks configuration already parsed into a TOML value.
    pub fn from_value(value: toml::Value) -> Result<Config, ConfigError> {
        let config: Config = typed(value)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses and checks the JSON configuration the host hands to the plugin.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: Config = typed(&mut de)?;
        de.end()
            .map_err(|e| ConfigError::new("config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, f) in [
            ("test_fraction", self.test_fraction),
            ("validation_fraction", self.validation_fraction),
        ] {
            if !(f > 0.0 && f < 1.0) {
                return Err(ConfigError::new(key, format!("{f} is not between 0 and 1")));
            }
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(ConfigError::new(
                "l2",
                format!("{} is not a finite number >= 0", self.l2),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_test_auc) {
            return Err(ConfigError::new(
                "min_test_auc",
                format!("{} is not between 0 and 1", self.min_test_auc),
            ));
        }
        if self.min_merges < 2 {
            return Err(ConfigError::new("min_merges", "must be at least 2"));
        }
        if self.max_merges < self.min_merges {
            return Err(ConfigError::new(
                "max_merges",
                format!(
                    "{} is below min_merges ({})",
                    self.max_merges, self.min_merges
                ),
            ));
        }
        if self.min_conflicts < 1 || self.min_test_conflicts < 1 {
            let key = if self.min_conflicts < 1 {
                "min_conflicts"
            } else {
                "min_test_conflicts"
            };
            return Err(ConfigError::new(key, "must be at least 1"));
        }
        if self.overlap.min_shared < 1 {
            return Err(ConfigError::new("overlap.min_shared", "must be at least 1"));
        }
        if self.overlap.max_branches_per_path < 2 {
            return Err(ConfigError::new(
                "overlap.max_branches_per_path",
                "must be at least 2 (a path needs two branches to pair them)",
            ));
        }
        if self.overlap.max_cluster_size < 2 {
            return Err(ConfigError::new(
                "overlap.max_cluster_size",
                "must be at least 2",
            ));
        }
        if !(self.rules.abandon_days.is_finite() && self.rules.abandon_days >= 0.0) {
            return Err(ConfigError::new(
                "rules.abandon_days",
                "must be a finite number >= 0",
            ));
        }
        let llm = &self.llm;
        if llm.enabled() {
            if !(llm.endpoint.starts_with("http://") || llm.endpoint.starts_with("https://")) {
                return Err(ConfigError::new(
                    "llm.endpoint",
                    format!("`{}` is not an http(s) URL", llm.endpoint),
                ));
            }
            if llm.model.is_empty() {
                return Err(ConfigError::new(
                    "llm.model",
                    "required when llm.endpoint is set",
                ));
            }
            if llm.max_tokens == 0 {
                return Err(ConfigError::new("llm.max_tokens", "must be at least 1"));
            }
            if llm.context_tokens <= llm.max_tokens {
                return Err(ConfigError::new(
                    "llm.context_tokens",
                    format!(
                        "{} leaves no room for a prompt beside max_tokens ({})",
                        llm.context_tokens, llm.max_tokens
                    ),
                ));
            }
        }
        // It becomes a header: no control characters (a line break would inject headers).
        if let Some(key) = &llm.api_key
            && (key.is_empty() || key.chars().any(char::is_control))
        {
            return Err(ConfigError::new(
                "llm.api_key",
                "must be non-empty, without control characters".to_string(),
            ));
        }
        Ok(())
    }

    /// The training and evaluation options.
    pub fn eval_options(&self) -> EvalOptions {
        EvalOptions {
            min_merges: self.min_merges,
            min_conflicts: self.min_conflicts,
            min_test_conflicts: self.min_test_conflicts,
            test_fraction: self.test_fraction,
            validation_fraction: self.validation_fraction,
            max_merges: self.max_merges,
            min_test_auc: self.min_test_auc,
            fit: FitOptions {
                l2: self.l2,
                ..FitOptions::default()
            },
        }
    }

    /// The overlap clustering options.
    pub fn overlap_options(&self) -> OverlapOptions {
        OverlapOptions {
            min_shared: self.overlap.min_shared,
            max_branches_per_path: self.overlap.max_branches_per_path,
            max_clusters: self.overlap.max_clusters,
            max_cluster_size: self.overlap.max_cluster_size,
        }
    }

    /// The assessment options.
    pub fn risk_options(&self) -> RiskOptions {
        RiskOptions {
            top_factors: self.top_factors,
            far_behind: self.rules.far_behind,
            split_files: self.rules.split_files,
            split_lines: self.rules.split_lines,
            abandon_days: self.rules.abandon_days,
            abandon_behind: self.rules.abandon_behind,
            ..RiskOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
        let c = Config::from_toml(
            "min_merges = 50\nl2 = 0.5\n[overlap]\nmin_shared = 2\n[llm]\nendpoint = \"http://localhost:11434/v1\"\nmodel = \"llama3\"\n",
        )
        .unwrap();
        assert_eq!(c.min_merges, 50);
        assert_eq!(c.eval_options().fit.l2, 0.5);
        assert_eq!(c.overlap_options().min_shared, 2);
        assert_eq!(c.overlap.max_branches_per_path, 8);
        assert!(c.llm.enabled());
        let j = Config::from_json(r#"{"top_factors": 5, "llm": {"api_key": "sk-local"}}"#).unwrap();
        assert_eq!(j.risk_options().top_factors, 5);
        assert!(!j.llm.enabled());
    }

    #[test]
    fn manifest_defaults_equal_the_built_in_defaults() {
        let manifest: toml::Value = toml::from_str(include_str!("../plugin.toml")).unwrap();
        let config = manifest.get("config").cloned().unwrap();
        assert_eq!(Config::from_value(config).unwrap(), Config::default());
    }

    #[test]
    fn errors_name_the_key() {
        let err = |t: &str| Config::from_toml(t).unwrap_err();
        assert_eq!(
            err("[overlap]\nmin_shared = \"x\"").path,
            "overlap.min_shared"
        );
        assert_eq!(err("[overlap]\nbogus = 1").path, "overlap.bogus");
        assert!(err("[overlap]\nbogus = 1").message.contains("bogus"));
        assert_eq!(err("test_fraction = 1.5").path, "test_fraction");
        assert_eq!(err("l2 = -1.0").path, "l2");
        assert_eq!(err("min_test_auc = 2.0").path, "min_test_auc");
        assert_eq!(err("max_merges = 10").path, "max_merges");
        assert_eq!(
            err("[llm]\nendpoint = \"ftp://x\"\nmodel = \"m\"").path,
            "llm.endpoint"
        );
        assert_eq!(err("[llm]\nendpoint = \"http://x\"").path, "llm.model");
        assert_eq!(
            err("[llm]\nendpoint = \"http://x\"\nmodel = \"m\"\ncontext_tokens = 100\nmax_tokens = 200").path,
            "llm.context_tokens"
        );
        assert_eq!(err("[llm]\napi_key = \"\"").path, "llm.api_key");
        assert_eq!(
            err("[llm]\napi_key = \"a\\nX-Evil: 1\"").path,
            "llm.api_key"
        );
        assert_eq!(err("min_merges = ").path, "config");
        assert_eq!(
            Config::from_json(r#"{"overlap": {"max_clusters": -1}}"#)
                .unwrap_err()
                .path,
            "overlap.max_clusters"
        );
        assert_eq!(Config::from_json("{} x").unwrap_err().path, "config");
    }
}
