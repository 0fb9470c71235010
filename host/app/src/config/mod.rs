//! Configuration: the embedded default (`config/trellis.toml`) with the user's file merged on top.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use trellis_runtime::{HttpSettings, Limits};

/// The default configuration, embedded at build time.
pub const DEFAULT_CONFIG: &str = include_str!("../../../../config/trellis.toml");

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// The file (or the merged configuration) is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file, or the key.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The merged configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[scan]`: what the git engine computes and how.
    pub scan: ScanConfig,
    /// `[runtime]`: the plugin runtime.
    pub runtime: RuntimeConfig,
    /// `[limits]`: every plugin invocation's limits.
    pub limits: Limits,
    /// `[http]`: outbound HTTP of plugins granted an origin.
    pub http: HttpSettings,
    /// `[trust]`: plugin signatures.
    pub trust: TrustConfig,
    /// `[gate]`: when a scan fails a CI pipeline.
    pub gate: GateConfig,
    #[serde(default)]
    /// `[plugins.ID]`: per-plugin configuration, grants and limits.
    pub plugins: BTreeMap<String, PluginConfig>,
    #[serde(skip)]
    limits_table: toml::Table,
}

/// `[scan]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// The base branch; empty: the repository's default branch.
    pub base: String,
    /// Also align remote-tracking branches.
    pub remotes: bool,
    /// Worker threads; 0: one per core.
    pub jobs: usize,
    /// Files and lines changed since the merge base.
    pub diffstat: bool,
    /// Squash- and rebase-merge detection.
    pub squash: bool,
    /// In-memory conflict prediction against the base.
    pub conflicts: bool,
    /// Keep computed branch facts on disk between runs.
    pub cache: bool,
    /// Memory budget of the git engine in MiB; 0 means half of the machine's memory.
    pub memory_mb: u64,
    /// Repository statistics that read every object header and the base tree.
    pub stats: bool,
}

/// `[runtime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// The wasm stack of every plugin, in KiB (engine-wide in wasmtime).
    pub max_wasm_stack_kb: u64,
    /// Keep precompiled components on disk.
    pub cache: bool,
    /// Failed scans in a row after which an installed plugin is disabled.
    pub disable_after_failures: u32,
}

/// `[trust]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Refuse to install unsigned plugins.
    pub require_signatures: bool,
    /// Trusted ed25519 public keys (hex).
    pub keys: Vec<String>,
}

/// `[gate]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Findings of this severity or above fail the scan (exit code 3); `--fail-on` overrides.
    pub fail_on: crate::gate::FailOn,
}

/// `[plugins.ID]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Overrides of the manifest's `[config]`.
    #[serde(default)]
    pub config: toml::Table,
    /// A TOML file with the plugin's configuration (relative to the configuration file that
    /// names it), read when the configuration loads; `config` is merged on top of it. Long
    /// configurations (a policy's rules) live better in a file of their own.
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// Capabilities granted.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Overrides of `[limits]`.
    #[serde(default)]
    pub limits: toml::Table,
}

impl Config {
    /// The default configuration with `user` (a file path) merged on top, if given.
    pub fn load(user: Option<&Path>) -> Result<Self, ConfigError> {
        let mut merged = parse(DEFAULT_CONFIG, "<default config>")?;
        let mut origin = "<default config>".to_string();
        if let Some(path) = user {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.into(),
                source,
            })?;
            origin = path.display().to_string();
            merge(&mut merged, parse(&text, &origin)?);
        }
        let limits_table = merged
            .get("limits")
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default();
        let mut config: Config =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    path: origin.clone(),
                    message: e.message().to_string(),
                })?;
        config.limits_table = limits_table;
        let here = user.and_then(Path::parent).unwrap_or(Path::new("."));
        for plugin in config.plugins.values_mut() {
            if let Some(file) = &plugin.config_file {
                let file = here.join(file);
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Io {
                    path: file.clone(),
                    source,
                })?;
                let mut table = parse(&text, &file.display().to_string())?;
                merge(&mut table, std::mem::take(&mut plugin.config));
                plugin.config = table;
            }
        }
        // Check every per-plugin override now, so a typo fails before the scan.
        for id in config.plugins.keys() {
            config
                .limits_for(id)
                .map_err(|message| ConfigError::Invalid {
                    path: origin.clone(),
                    message,
                })?;
        }
        Ok(config)
    }

    /// The limits of plugin `id`: `[limits]` with `[plugins.ID.limits]` on top.
    pub fn limits_for(&self, id: &str) -> Result<Limits, String> {
        let Some(overrides) = self.plugins.get(id).map(|p| &p.limits) else {
            return Ok(self.limits);
        };
        if overrides.is_empty() {
            return Ok(self.limits);
        }
        let mut table = self.limits_table.clone();
        merge(&mut table, overrides.clone());
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| format!("plugins.{id}.limits: {}", e.message()))
    }

    /// The largest of each limit over `[limits]` and every `[plugins.ID.limits]`, to size the
    /// runtime's instance pool.
    pub fn max_limits(&self) -> Limits {
        let mut max = self.limits;
        for id in self.plugins.keys() {
            if let Ok(l) = self.limits_for(id) {
                max.memory_mb = max.memory_mb.max(l.memory_mb);
                max.table_elements = max.table_elements.max(l.table_elements);
                max.instances = max.instances.max(l.instances);
                max.tables = max.tables.max(l.tables);
                max.memories = max.memories.max(l.memories);
            }
        }
        max
    }

    /// The base branch from config, if set.
    pub fn base(&self) -> Option<&str> {
        Some(self.scan.base.as_str()).filter(|b| !b.is_empty())
    }
}

fn parse(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Invalid {
            path: origin.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
}

/// Merges `over` into `base`: tables key by key, any other value replaced.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_loads() {
        let config = Config::load(None).unwrap();
        assert_eq!(config.limits.memory_mb, 256);
        assert_eq!(config.base(), None);
        assert_eq!(config.gate.fail_on, crate::gate::FailOn::Error);
    }

    #[test]
    fn fail_on_is_configurable_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "[gate]\nfail_on = \"warning\"\n").unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.gate.fail_on, crate::gate::FailOn::Warning);
        std::fs::write(&path, "[gate]\nfail_on = \"sometimes\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("sometimes") && err.contains("t.toml"), "{err}");
    }

    #[test]
    fn user_file_overrides_and_typos_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "[limits]\nfuel = 5\n[plugins.x.limits]\ntimeout_ms = 7\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.limits.fuel, 5);
        let x = config.limits_for("x").unwrap();
        assert_eq!((x.fuel, x.timeout_ms), (5, 7));

        std::fs::write(&path, "[limits]\nfuell = 5\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("fuell") && err.contains("t.toml"), "{err}");
    }

    #[test]
    fn a_plugin_config_file_is_read_beside_the_config_and_inline_keys_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::create_dir(dir.path().join("p")).unwrap();
        std::fs::write(
            dir.path().join("p/rules.toml"),
            "days = 3\n[[rules]]\nid = \"a\"\n",
        )
        .unwrap();
        std::fs::write(
            &path,
            "[plugins.x]\nconfig_file = \"p/rules.toml\"\nconfig = { days = 9 }\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        let x = &config.plugins["x"].config;
        assert_eq!(x["days"].as_integer(), Some(9));
        assert_eq!(x["rules"][0]["id"].as_str(), Some("a"));

        std::fs::write(&path, "[plugins.x]\nconfig_file = \"missing.toml\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("missing.toml") && err.contains("cannot read"),
            "{err}"
        );
        std::fs::write(dir.path().join("bad.toml"), "rules = [").unwrap();
        std::fs::write(&path, "[plugins.x]\nconfig_file = \"bad.toml\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
    }
}
