//! The plugin store: installed plugins, side by side by version, under `$TRELLIS_HOME`.
//!
//! Layout: `state.json` (what is installed, active and enabled), `state.lock` (the writers'
//! lock), `plugins/ID/VERSION-NONCE/` (one immutable directory per installed copy) and `tmp/`
//! (staging). Every change writes new directories first, then replaces `state.json` atomically
//! (the commit point), then removes what the new state no longer references. A process killed at
//! any instant leaves the old state or the new one; leftovers are swept by the next writer.

mod error;
mod lock;
mod state;
pub mod trust;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use semver::Version;

pub use error::{StoreError, Tampered};
pub use state::{InstalledVersion, PluginState, State};

use lock::StoreLock;
use trellis_os::write_atomically;
use trellis_runtime::plan::RunRecord;
use trellis_runtime::plugin::{PluginSource, sha256_hex};
use trellis_runtime::{LoadedPlugin, Runtime};
use trust::Trust;

const STATE_FILE: &str = "state.json";
const HISTORY_FILE: &str = "runs.json";
/// How many past runs are kept for tuners.
pub const HISTORY_LEN: usize = 100;
/// The format of `runs.json`: 2 is `{"version": 2, "runs": [...]}` with `extra` facts per run;
/// 1 was a bare list without them.
pub const HISTORY_VERSION: u32 = 2;

/// `runs.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct HistoryFile {
    version: u32,
    runs: Vec<RunRecord>,
}

/// The runs of a `runs.json`, or why they cannot be used.
fn parse_history(bytes: &[u8]) -> Result<Vec<RunRecord>, String> {
    #[derive(serde::Deserialize)]
    struct Version {
        version: u32,
    }
    let version = match serde_json::from_slice::<Version>(bytes) {
        Ok(v) => v.version,
        // Version 1 was a bare list.
        Err(_) if serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(bytes).is_ok() => 1,
        Err(e) => return Err(format!("not a run history: {e}")),
    };
    if version != HISTORY_VERSION {
        return Err(format!(
            "format version {version}, this trellis reads {HISTORY_VERSION}"
        ));
    }
    serde_json::from_slice::<HistoryFile>(bytes)
        .map(|f| f.runs)
        .map_err(|e| format!("not a run history: {e}"))
}
const LOCK_FILE: &str = "state.lock";
const PLUGINS_DIR: &str = "plugins";
const TMP_DIR: &str = "tmp";

/// How an install treats what is already there.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    /// Reinstall a version that is already installed.
    pub force: bool,
    /// Require the version to be newer than the active one (`upgrade`).
    pub upgrade: bool,
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The plugin.
    pub id: String,
    /// The version installed.
    pub version: Version,
    /// The version that was active before, if any.
    pub previous: Option<Version>,
    /// Whether the plugin is enabled now.
    pub enabled: bool,
}

/// A plugin directory in the store whose files do not match what was installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The plugin.
    pub id: String,
    /// The version.
    pub version: Version,
    /// What does not match.
    pub message: String,
}

/// An enabled plugin as the store records it.
#[derive(Debug, Clone)]
pub struct ActivePlugin {
    /// The plugin.
    pub id: String,
    /// Its active version.
    pub version: Version,
    /// The version's directory.
    pub dir: PathBuf,
    /// sha256 (hex) of the component at install.
    pub sha256: String,
}

/// The store at one `$TRELLIS_HOME`.
pub struct Store {
    home: PathBuf,
}

impl Store {
    /// `$TRELLIS_HOME`, else `$XDG_DATA_HOME/trellis`, else `~/.local/share/trellis`.
    pub fn default_home() -> Option<PathBuf> {
        trellis_os::dirs::data_home()
    }

    /// The store at `home`; nothing is created until the first change.
    pub fn at(home: impl Into<PathBuf>) -> Self {
        Store { home: home.into() }
    }

    /// Where the store lives.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The current state (empty if nothing was ever installed). Readers take no lock: the
    /// state file is only ever replaced whole.
    pub fn state(&self) -> Result<State, StoreError> {
        State::read(&self.home.join(STATE_FILE))
    }

    /// Runs `change` on the state under the writers' lock, commits the result atomically and
    /// sweeps what the new state no longer references.
    fn transaction<R>(
        &self,
        change: impl FnOnce(&mut State) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        std::fs::create_dir_all(&self.home).map_err(|e| StoreError::io(&self.home, e))?;
        let _lock = StoreLock::exclusive(&self.home.join(LOCK_FILE))?;
        let path = self.home.join(STATE_FILE);
        let mut state = State::read(&path)?;
        let result = change(&mut state)?;
        let bytes = state.to_json()?;
        write_atomically(&path, &bytes).map_err(|e| StoreError::io(&path, e))?;
        sync_dir(&self.home);
        self.sweep(&state);
        Ok(result)
    }

    /// Removes plugin directories the state does not reference, and staging leftovers.
    fn sweep(&self, state: &State) {
        let referenced: std::collections::HashSet<PathBuf> = state
            .plugins
            .values()
            .flat_map(|p| p.versions.values())
            .map(|v| self.home.join(&v.dir))
            .collect();
        let plugins = self.home.join(PLUGINS_DIR);
        for id_dir in read_dirs(&plugins) {
            for version_dir in read_dirs(&id_dir) {
                if !referenced.contains(&version_dir) {
                    remove_quietly(&version_dir);
                }
            }
            // Only succeeds when empty, which is what we want.
            let _ = std::fs::remove_dir(&id_dir);
        }
        for leftover in read_dirs(&self.home.join(TMP_DIR)) {
            remove_quietly(&leftover);
        }
    }

    /// Validates the plugin (manifest, digest, signature, component, world and API version by
    /// linking it), copies it into the store and makes it the active version.
    pub fn install(
        &self,
        runtime: &Runtime,
        trust: &Trust,
        source: PluginSource,
        options: InstallOptions,
    ) -> Result<(Installed, LoadedPlugin), StoreError> {
        let label = source.label();
        let signer = trust
            .check(&source.manifest, &source.sha256)
            .map_err(|reason| StoreError::Untrusted {
                label: label.clone(),
                reason,
            })?;
        // Compiling also fills the compile cache, so the first scan starts fast.
        let loaded = runtime.load(source.clone())?;
        let id = source.manifest.id.clone();
        let version = source.manifest.version.clone();

        let installed = self.transaction(|state| {
            let existing = state.plugins.get(&id);
            if let Some(p) = existing {
                if options.upgrade && version <= p.active {
                    return Err(StoreError::NotNewer {
                        id: id.clone(),
                        version: version.clone(),
                        active: p.active.clone(),
                    });
                }
                let same_bytes = p
                    .versions
                    .get(&version)
                    .is_some_and(|v| v.sha256 == source.sha256);
                if options.upgrade && same_bytes {
                    // Upgrading to a version already here with the same bytes only activates it.
                    let previous = p.active.clone();
                    let entry = state.get_mut(&id)?;
                    entry.activate(version.clone());
                    return Ok(Installed {
                        id: id.clone(),
                        version: version.clone(),
                        previous: Some(previous),
                        enabled: entry.enabled,
                    });
                }
                if p.versions.contains_key(&version) && !options.force {
                    return Err(StoreError::AlreadyInstalled {
                        id: id.clone(),
                        version: version.clone(),
                    });
                }
            } else if options.upgrade {
                return Err(StoreError::NotInstalled(id.clone()));
            }
            let dir = self.stage(&source)?;
            let record = InstalledVersion {
                dir,
                sha256: source.sha256.clone(),
                wasm: source.manifest.wasm.to_string_lossy().into_owned(),
                kind: source.manifest.kind,
                api: loaded.api.to_string(),
                installed_at: unix_now(),
                signer: signer.clone(),
            };
            let entry = state
                .plugins
                .entry(id.clone())
                .or_insert_with(|| PluginState::new(version.clone()));
            let previous = (!entry.versions.is_empty()).then(|| entry.active.clone());
            entry.versions.insert(version.clone(), record);
            entry.activate(version.clone());
            Ok(Installed {
                id: id.clone(),
                version: version.clone(),
                previous,
                enabled: entry.enabled,
            })
        })?;
        Ok((installed, loaded))
    }

    /// Copies the plugin's manifest and component into a new directory of the store and
    /// returns it relative to the home.
    fn stage(&self, source: &PluginSource) -> Result<String, StoreError> {
        let tmp = self.home.join(TMP_DIR);
        std::fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        let staging = tempfile::Builder::new()
            .prefix("stage-")
            .tempdir_in(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        let manifest_src = source.dir.join(trellis_runtime::plugin::MANIFEST_FILE);
        let manifest =
            std::fs::read(&manifest_src).map_err(|e| StoreError::io(&manifest_src, e))?;
        let write = |name: &Path, bytes: &[u8]| -> Result<(), StoreError> {
            let path = staging.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
            }
            write_atomically(&path, bytes).map_err(|e| StoreError::io(&path, e))
        };
        write(Path::new(trellis_runtime::plugin::MANIFEST_FILE), &manifest)?;
        // The bytes that were hashed and validated, not a second read of the source.
        write(&source.manifest.wasm, &source.wasm)?;

        let id_dir = self.home.join(PLUGINS_DIR).join(&source.manifest.id);
        std::fs::create_dir_all(&id_dir).map_err(|e| StoreError::io(&id_dir, e))?;
        let name = format!(
            "{}-{}",
            source.manifest.version,
            &sha256_hex(format!("{}{:?}", source.sha256, SystemTime::now()).as_bytes())[..12]
        );
        let target = id_dir.join(&name);
        let staged = staging.keep();
        std::fs::rename(&staged, &target).map_err(|e| StoreError::io(&target, e))?;
        sync_dir(&id_dir);
        Ok(format!("{PLUGINS_DIR}/{}/{name}", source.manifest.id))
    }

    /// Past scans, oldest first, for tuners. Empty when none were recorded; a file that cannot
    /// be read, or of another format version, is ignored with a warning (the next record
    /// replaces it).
    pub fn run_history(&self) -> Vec<RunRecord> {
        let path = self.home.join(HISTORY_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::warn!("ignoring the run history {}: {e}", path.display());
                return Vec::new();
            }
        };
        match parse_history(&bytes) {
            Ok(runs) => runs,
            Err(why) => {
                tracing::warn!("ignoring the run history {}: {why}", path.display());
                Vec::new()
            }
        }
    }

    /// Appends a scan to the history, keeping the last [`HISTORY_LEN`].
    pub fn record_run(&self, run: RunRecord) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.home).map_err(|e| StoreError::io(&self.home, e))?;
        let _lock = StoreLock::exclusive(&self.home.join(LOCK_FILE))?;
        let mut runs = self.run_history();
        runs.push(run);
        let excess = runs.len().saturating_sub(HISTORY_LEN);
        runs.drain(..excess);
        let path = self.home.join(HISTORY_FILE);
        let file = HistoryFile {
            version: HISTORY_VERSION,
            runs,
        };
        let bytes = serde_json::to_vec(&file).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, &bytes).map_err(|e| StoreError::io(&path, e))
    }

    /// Enables or disables a plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError> {
        self.transaction(|state| {
            let p = state.get_mut(id)?;
            p.enabled = enabled;
            if enabled {
                p.disabled_reason = None;
                p.consecutive_failures = 0;
            }
            Ok(())
        })
    }

    /// Makes `to` (default: the previously active version) the active version again.
    pub fn rollback(&self, id: &str, to: Option<&Version>) -> Result<Version, StoreError> {
        self.transaction(|state| {
            let p = state.get_mut(id)?;
            let target = match to {
                Some(v) => {
                    if !p.versions.contains_key(v) {
                        return Err(StoreError::NoSuchVersion {
                            id: id.into(),
                            version: v.clone(),
                        });
                    }
                    p.activate(v.clone());
                    v.clone()
                }
                // Going back pops the history, so repeated rollbacks walk further back.
                None => loop {
                    match p.history.pop() {
                        Some(v) if v != p.active && p.versions.contains_key(&v) => {
                            p.active = v.clone();
                            break v;
                        }
                        Some(_) => continue,
                        None => return Err(StoreError::NothingToRollBack(id.into())),
                    }
                },
            };
            Ok(target)
        })
    }

    /// Removes one inactive version, or with `all` the whole plugin.
    pub fn remove(
        &self,
        id: &str,
        version: Option<&Version>,
        all: bool,
    ) -> Result<Vec<Version>, StoreError> {
        self.transaction(|state| {
            let p = state.get_mut(id)?;
            match (version, all) {
                (_, true) => {
                    let removed = p.versions.keys().cloned().collect();
                    state.plugins.remove(id);
                    Ok(removed)
                }
                (Some(v), false) => {
                    if !p.versions.contains_key(v) {
                        return Err(StoreError::NoSuchVersion {
                            id: id.into(),
                            version: v.clone(),
                        });
                    }
                    if *v == p.active {
                        return Err(StoreError::RemoveActive {
                            id: id.into(),
                            version: v.clone(),
                        });
                    }
                    p.versions.remove(v);
                    p.history.retain(|h| h != v);
                    Ok(vec![v.clone()])
                }
                (None, false) => Err(StoreError::RemoveWhat(id.into())),
            }
        })
    }

    /// Records a capability grant (`grant = true`) or revokes one.
    pub fn set_grant(&self, id: &str, capability: &str, grant: bool) -> Result<(), StoreError> {
        self.transaction(|state| {
            let p = state.get_mut(id)?;
            if grant {
                p.grants.insert(capability.to_string());
            } else {
                p.grants.remove(capability);
            }
            Ok(())
        })
    }

    /// Records the outcome of a scan's run of `id`; after `threshold` consecutive failures the
    /// plugin is disabled with the last reason. Returns true when this call disabled it.
    pub fn record_outcome(
        &self,
        id: &str,
        failure: Option<&str>,
        threshold: u32,
    ) -> Result<bool, StoreError> {
        self.transaction(|state| {
            let Some(p) = state.plugins.get_mut(id) else {
                return Ok(false);
            };
            match failure {
                None => {
                    p.consecutive_failures = 0;
                    Ok(false)
                }
                Some(reason) => {
                    p.consecutive_failures += 1;
                    if threshold > 0 && p.consecutive_failures >= threshold && p.enabled {
                        p.enabled = false;
                        p.disabled_reason = Some(format!(
                            "disabled after {} consecutive failures; last: {reason}",
                            p.consecutive_failures
                        ));
                        return Ok(true);
                    }
                    Ok(false)
                }
            }
        })
    }

    /// The enabled plugins with their active versions.
    pub fn enabled(&self) -> Result<Vec<ActivePlugin>, StoreError> {
        let state = self.state()?;
        Ok(state
            .plugins
            .iter()
            .filter(|(_, p)| p.enabled)
            .filter_map(|(id, p)| {
                let v = p.versions.get(&p.active)?;
                Some(ActivePlugin {
                    id: id.clone(),
                    version: p.active.clone(),
                    dir: self.home.join(&v.dir),
                    sha256: v.sha256.clone(),
                })
            })
            .collect())
    }

    /// Reads an installed plugin back, refusing it if its component changed since install.
    pub fn read_verified(&self, plugin: &ActivePlugin) -> Result<PluginSource, StoreError> {
        let source = PluginSource::read(&plugin.dir)?;
        if source.sha256 != plugin.sha256 {
            return Err(StoreError::Tampered(Box::new(Tampered {
                id: plugin.id.clone(),
                version: plugin.version.clone(),
                path: source.wasm_path,
                expected: plugin.sha256.clone(),
                actual: source.sha256,
            })));
        }
        Ok(source)
    }

    /// Re-hashes every installed version (or those of `id`) and reports what does not match.
    pub fn verify(&self, id: Option<&str>) -> Result<Vec<Problem>, StoreError> {
        let state = self.state()?;
        if let Some(id) = id
            && !state.plugins.contains_key(id)
        {
            return Err(StoreError::NotInstalled(id.into()));
        }
        let mut problems = Vec::new();
        for (pid, p) in state
            .plugins
            .iter()
            .filter(|(k, _)| id.is_none_or(|i| i == *k))
        {
            for (version, v) in &p.versions {
                let problem = |message: String| Problem {
                    id: pid.clone(),
                    version: version.clone(),
                    message,
                };
                let dir = self.home.join(&v.dir);
                let wasm = dir.join(&v.wasm);
                match std::fs::read(&wasm) {
                    Ok(bytes) => {
                        let actual = sha256_hex(&bytes);
                        if actual != v.sha256 {
                            problems.push(problem(format!(
                                "{}: sha256 is {actual}, installed as {}",
                                wasm.display(),
                                v.sha256
                            )));
                        }
                    }
                    Err(e) => problems.push(problem(format!("{}: {e}", wasm.display()))),
                }
                if let Err(e) = trellis_runtime::plugin::Manifest::load(
                    &dir.join(trellis_runtime::plugin::MANIFEST_FILE),
                ) {
                    problems.push(problem(e.to_string()));
                }
            }
        }
        Ok(problems)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Flushes a directory's entries (renames into it) to disk; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

fn remove_quietly(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::debug!(path = %dir.display(), "cannot remove: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_runtime::plan::{Fact, FactValue};

    fn run(started: i64) -> RunRecord {
        RunRecord {
            started,
            repos: 1,
            branches: 2,
            workers: 3,
            batch_size: 0,
            wall_ms: 4,
            peak_rss_bytes: 5,
            extra: vec![Fact::new("stage.walk.cpu-ms", FactValue::Number(1.5))],
        }
    }

    #[test]
    fn the_history_is_versioned_bounded_and_survives_bad_files() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::at(home.path().to_path_buf());
        // Version 1 (a bare list), an unknown version and garbage are ignored, never fatal.
        for old in [
            r#"[{"started":1,"repos":1,"branches":1,"workers":1,"wall_ms":1,"peak_rss_bytes":1}]"#,
            r#"{"version":99,"runs":[]}"#,
            "not json",
        ] {
            std::fs::write(home.path().join(HISTORY_FILE), old).unwrap();
            assert_eq!(store.run_history(), Vec::new(), "{old}");
        }
        for started in 0..HISTORY_LEN as i64 + 5 {
            store.record_run(run(started)).unwrap();
        }
        let runs = store.run_history();
        assert_eq!(runs.len(), HISTORY_LEN);
        assert_eq!(runs[0], run(5));
        assert_eq!(runs.last(), Some(&run(HISTORY_LEN as i64 + 4)));
        let text = std::fs::read_to_string(home.path().join(HISTORY_FILE)).unwrap();
        assert!(text.starts_with(r#"{"version":2,"runs":["#), "{text}");
    }
}
