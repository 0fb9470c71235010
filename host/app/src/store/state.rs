//! `state.json`: what is installed, which version is active, and whether it is enabled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::StoreError;
use trellis_runtime::plugin::PluginKind;

/// Version of the state file's shape.
const FORMAT: u32 = 1;

/// Everything the store knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Version of this file's shape.
    pub format: u32,
    /// Every installed plugin, by id.
    pub plugins: BTreeMap<String, PluginState>,
}

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginState {
    /// The version `trellis scan` runs.
    pub active: Version,
    /// Whether `trellis scan` runs it.
    pub enabled: bool,
    /// Why the host disabled it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default)]
    /// Scans in a row in which it failed.
    pub consecutive_failures: u32,
    /// Previously active versions, oldest first (rollback pops from the end).
    #[serde(default)]
    pub history: Vec<Version>,
    /// Capabilities granted by the user.
    #[serde(default)]
    pub grants: BTreeSet<String>,
    /// Every installed version.
    pub versions: BTreeMap<Version, InstalledVersion>,
}

/// One installed version of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledVersion {
    /// The version's directory, relative to the store's home.
    pub dir: String,
    /// sha256 (hex) of the component at install.
    pub sha256: String,
    /// The component's file name inside `dir`.
    pub wasm: String,
    /// The world it implements.
    pub kind: PluginKind,
    /// The API version the host linked it with.
    pub api: String,
    /// Seconds since the Unix epoch.
    pub installed_at: i64,
    /// The trusted key (hex) whose signature verified, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

impl PluginState {
    /// A plugin whose first version is `version`: active and enabled.
    pub fn new(version: Version) -> Self {
        PluginState {
            active: version,
            enabled: true,
            disabled_reason: None,
            consecutive_failures: 0,
            history: Vec::new(),
            grants: BTreeSet::new(),
            versions: BTreeMap::new(),
        }
    }

    /// Makes `version` active, remembering the one it replaces for rollback.
    pub fn activate(&mut self, version: Version) {
        if version != self.active && self.versions.contains_key(&self.active) {
            let previous = std::mem::replace(&mut self.active, version);
            self.history.push(previous);
        } else {
            self.active = version;
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            format: FORMAT,
            plugins: BTreeMap::new(),
        }
    }
}

impl State {
    /// Reads the state file; a missing file is an empty store.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if state.format != FORMAT {
            return Err(StoreError::Corrupt {
                path: path.into(),
                reason: format!("format {} is not {FORMAT}", state.format),
            });
        }
        for (id, p) in &state.plugins {
            if !p.versions.contains_key(&p.active) {
                return Err(StoreError::Corrupt {
                    path: path.into(),
                    reason: format!("{id}: active version {} is not installed", p.active),
                });
            }
        }
        Ok(state)
    }

    /// The state as pretty JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, StoreError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Corrupt {
            path: "state.json".into(),
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The plugin `id`, or an error naming it.
    pub fn get_mut(&mut self, id: &str) -> Result<&mut PluginState, StoreError> {
        self.plugins
            .get_mut(id)
            .ok_or_else(|| StoreError::NotInstalled(id.into()))
    }
}
