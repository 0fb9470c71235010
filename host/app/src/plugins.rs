//! Which plugins a scan runs and what they may do: the enabled plugins of the store (their
//! bytes checked again), each `--plugin DIR` on top, the capabilities granted from the store,
//! the configuration and the command line, and — after the scan — the outcome of each
//! installed plugin, which disables one that keeps failing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use trellis_runtime::plugin::Capability;
use trellis_runtime::{LoadError, LoadedPlugin, Runtime, RuntimeError, RuntimeOptions};

use crate::config::Config;
use crate::report::{ScanReport, Status};
use crate::store::{Store, StoreError};

/// Capabilities granted per plugin id.
pub type Grants = BTreeMap<String, BTreeSet<Capability>>;

/// The plugins, runtime and grants of a scan.
pub struct ScanPlugins {
    /// The runtime, started only when there is a plugin to run.
    pub runtime: Option<Runtime>,
    /// The plugins to run, installed ones first, in the order given.
    pub plugins: Vec<LoadedPlugin>,
    /// What each plugin id was granted (intersected with its manifest at invocation).
    pub grants: Grants,
    /// Installed plugins that were refused (tampered, no longer load); the scan goes on
    /// without them.
    pub refused: Vec<StoreError>,
    /// `--plugin` directories that could not be loaded, and why; the scan goes on without them.
    pub failed: Vec<(PathBuf, LoadError)>,
}

/// Why a scan's plugins could not be set up at all.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A grant in the configuration or on the command line is malformed.
    #[error("{0}")]
    Grant(String),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plugin runtime did not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The runtime options the configuration asks for; `no_cache` disables the compile cache
/// and keeps plugins' stores in memory.
pub fn runtime_options(config: &Config, no_cache: bool) -> RuntimeOptions {
    RuntimeOptions {
        max_wasm_stack: (config.runtime.max_wasm_stack_kb as usize).saturating_mul(1024),
        cache_dir: (config.runtime.cache && !no_cache)
            .then(trellis_os::dirs::trusted_cache_home)
            .flatten(),
        // Plugins' stores are caches too (a model a re-scan need not re-fit): `--no-cache`
        // gives every invocation an empty one.
        data_dir: (!no_cache)
            .then(trellis_os::dirs::trusted_cache_home)
            .flatten()
            .map(|dir| dir.join("plugin-data")),
        http: config.http,
        // Workers each run one invocation at a time; the pool leaves room for nested rayon use.
        max_concurrent: (4 * std::thread::available_parallelism().map_or(4, |n| n.get() as u32))
            .max(64),
        max_limits: config.max_limits(),
    }
}

/// Loads every enabled plugin of `store` (checking its digest) and each directory of
/// `explicit`, and collects grants from the store, the config and `cli_grants` (`ID:CAP`).
/// An explicit plugin replaces the installed one of the same id for this run; the same
/// directory given twice runs twice.
pub fn scan_plugins(
    config: &Config,
    store: Option<&Store>,
    explicit: &[PathBuf],
    cli_grants: &[String],
    no_cache: bool,
) -> Result<ScanPlugins, SetupError> {
    let installed = match store {
        Some(store) => store.enabled()?,
        None => Vec::new(),
    };
    let mut grants = configured_grants(config, cli_grants).map_err(SetupError::Grant)?;
    if let Some(store) = store {
        for (id, plugin) in &store.state()?.plugins {
            for grant in &plugin.grants {
                // `plugin grant` validated it; a bad one means the state file was edited.
                match grant.parse() {
                    Ok(cap) => {
                        grants.entry(id.clone()).or_default().insert(cap);
                    }
                    Err(e) => tracing::warn!("store grant `{grant}` of {id} ignored: {e}"),
                }
            }
        }
    }
    let mut out = ScanPlugins {
        runtime: None,
        plugins: Vec::new(),
        grants,
        refused: Vec::new(),
        failed: Vec::new(),
    };
    if explicit.is_empty() && installed.is_empty() {
        return Ok(out);
    }
    let runtime = Runtime::new(&runtime_options(config, no_cache))?;
    if let Some(store) = store {
        for active in &installed {
            let loaded = store
                .read_verified(active)
                .and_then(|source| runtime.load(source).map_err(StoreError::from));
            match loaded {
                Ok(p) => out.plugins.push(p),
                Err(e) => out.refused.push(e),
            }
        }
    }
    let mut given = Vec::new();
    for dir in explicit {
        match runtime.load_dir(dir) {
            Ok(p) => given.push(p),
            Err(e) => out.failed.push((dir.clone(), e)),
        }
    }
    out.plugins
        .retain(|installed| !given.iter().any(|p| p.manifest.id == installed.manifest.id));
    out.plugins.extend(given);
    out.runtime = Some(runtime);
    Ok(out)
}

/// Grants from `[plugins.ID] grants` and `ID:CAP` strings from the command line.
pub fn configured_grants(config: &Config, cli: &[String]) -> Result<Grants, String> {
    let mut out = Grants::new();
    for (id, plugin) in &config.plugins {
        for cap in &plugin.grants {
            let cap = cap
                .parse()
                .map_err(|e| format!("config plugins.{id}.grants: {e}"))?;
            out.entry(id.clone()).or_default().insert(cap);
        }
    }
    for grant in cli {
        let (id, cap) = grant
            .split_once(':')
            .ok_or_else(|| format!("--grant {grant}: expected ID:CAPABILITY"))?;
        let cap = cap.parse().map_err(|e| format!("--grant {grant}: {e}"))?;
        out.entry(id.to_string()).or_default().insert(cap);
    }
    Ok(out)
}

/// A plugin disabled by [`record_outcomes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// The plugin's id.
    pub id: String,
    /// Consecutive failed scans that disabled it.
    pub after_failures: u32,
}

/// Records each installed plugin's outcome in `store` (a plugin passed with `--plugin` at
/// another version is not the installed one and is not counted); disables a plugin after
/// `[runtime] disable_after_failures` failed scans in a row and returns the ones disabled now.
pub fn record_outcomes(config: &Config, store: &Store, report: &ScanReport) -> Vec<Disabled> {
    let Ok(state) = store.state() else {
        return Vec::new();
    };
    let mut outcomes: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let results = report
        .repositories
        .iter()
        .flat_map(|r| r.plugins.iter())
        .filter(|p| {
            state
                .plugins
                .get(&p.id)
                .is_some_and(|s| s.active == p.version)
        });
    for p in results {
        let entry = outcomes.entry(p.id.as_str()).or_default();
        if p.status == Status::Failed && entry.is_none() {
            *entry = p.failure.as_ref().map(ToString::to_string);
        }
    }
    let threshold = config.runtime.disable_after_failures;
    let mut disabled = Vec::new();
    for (id, failure) in outcomes {
        match store.record_outcome(id, failure.as_deref(), threshold) {
            Ok(true) => disabled.push(Disabled {
                id: id.to_string(),
                after_failures: threshold,
            }),
            Ok(false) => {}
            Err(e) => tracing::warn!("cannot record the outcome of {id}: {e}"),
        }
    }
    disabled
}
