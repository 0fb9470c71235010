//! The `tuning` plugin: plans how the host processes a scan.
//!
//! The strategies are plain Rust, independent of the WIT bindings, and unit-tested natively:
//! [`tune`] takes a [`Probe`] of the work, the [`Run`]s of earlier scans and the [`Config`], and
//! returns a [`Settings`]. The SDK glue (built for `wasm32` only) maps the host's records in and
//! the settings out as a plan with its `extra` facts.
//!
//! - Presets by scale ([`Scale`]): the work is classified by branches, commits and pack bytes,
//!   and each scale has a plan for the machine's cores and memory (reasoning in README.md).
//! - `adaptive` ([`adaptive`]): successive halving over a few candidate plans around the preset,
//!   keyed by the repository set and the machine, deterministic so runs are reproducible.

pub mod adaptive;
pub mod presets;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use presets::Scale;

/// The machine a scan runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Cores available.
    pub cores: u32,
    /// Physical memory in bytes (0: unknown).
    pub memory_bytes: u64,
}

/// One repository as the host probes it before a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repo {
    /// Branches to align.
    pub branches: u32,
    /// Bytes of its packs.
    pub pack_bytes: u64,
    /// Objects in its packs.
    pub objects: u64,
    /// Commits in its commit-graph, when it has one.
    pub graph_commits: Option<u64>,
    /// The key of the set of repositories scanned with it.
    pub repo_set: Option<String>,
}

impl Repo {
    /// Commits, from the commit-graph, else estimated from the objects (about a third of a
    /// typical repository's objects are commits; trees and blobs are the rest).
    pub fn commits(&self) -> u64 {
        self.graph_commits.unwrap_or(self.objects / 3)
    }
}

/// What the tuner sees before a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The machine.
    pub machine: Machine,
    /// The repositories.
    pub repos: Vec<Repo>,
}

impl Probe {
    /// The key of the repository set (the host sends the same on every repository).
    pub fn repo_set(&self) -> Option<&str> {
        self.repos.iter().find_map(|r| r.repo_set.as_deref())
    }

    /// Whether any repository lacks a commit-graph (its first scan decodes every commit).
    pub fn without_commit_graph(&self) -> bool {
        self.repos.iter().any(|r| r.graph_commits.is_none())
    }
}

/// The value of a fact of a run record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A flag.
    Flag(bool),
    /// A count.
    Count(u64),
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
}

impl Value {
    /// As a number, whatever numeric type.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Count(n) => Some(*n as f64),
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// One earlier scan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    /// Branches aligned.
    pub branches: u32,
    /// Its wall time.
    pub wall_ms: u64,
    /// Its `extra` facts by name (the profile, the machine, the repository set, the plan).
    pub extra: BTreeMap<String, Value>,
}

impl Run {
    fn text(&self, name: &str) -> Option<&str> {
        match self.extra.get(name)? {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    fn count(&self, name: &str) -> Option<u64> {
        match self.extra.get(name)? {
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }

    /// The scan's wall time in milliseconds, as precise as recorded.
    pub fn wall(&self) -> f64 {
        self.extra
            .get("wall-ms")
            .and_then(Value::as_f64)
            .unwrap_or(self.wall_ms as f64)
    }
}

/// Which branches conflict prediction merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every branch.
    All,
    /// Only branches whose changes meet the base's (exact).
    Overlap,
    /// None.
    None,
}

impl Scope {
    /// The name in a plan.
    pub fn name(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Overlap => "overlap",
            Scope::None => "none",
        }
    }
}

/// A plan, in the tuner's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Workers over repositories (0: the host decides).
    pub repo_workers: u32,
    /// Workers over one repository's branches (0: the host decides).
    pub branch_workers: u32,
    /// Branches a worker takes at a time (0: the host decides).
    pub batch_size: u32,
    /// The git engine's memory budget in MiB (0: the host decides).
    pub memory_mb: u64,
    /// Compute diffstats.
    pub diffstat: bool,
    /// Detect squash merges.
    pub squash: bool,
    /// Predict conflicts.
    pub conflicts: bool,
    /// Which branches conflict prediction merges.
    pub conflicts_scope: Scope,
    /// Use the facts and commit caches.
    pub cache: bool,
    /// Why, for the user.
    pub reason: String,
}

impl Settings {
    /// The knobs that tell candidate plans apart (what run records carry as `plan.*`).
    pub fn knobs(&self) -> (u32, u32, u32) {
        (self.repo_workers, self.branch_workers, self.batch_size)
    }

    /// The knobs in words.
    pub fn describe(&self) -> String {
        let batch = match self.batch_size {
            0 => "host".to_string(),
            n => n.to_string(),
        };
        format!(
            "repo-workers {}, branch-workers {}, batch {batch}",
            self.repo_workers, self.branch_workers
        )
    }
}

/// The plugin's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The strategy's name.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Compute diffstats.
    #[serde(default = "yes")]
    pub diffstat: bool,
    /// Detect squash merges.
    #[serde(default = "yes")]
    pub squash: bool,
    /// Predict conflicts.
    #[serde(default)]
    pub conflicts: bool,
    /// `fixed`: workers over repositories.
    #[serde(default)]
    pub repo_workers: u32,
    /// `fixed`: workers over branches.
    #[serde(default)]
    pub branch_workers: u32,
    /// `fixed`: batch size.
    #[serde(default)]
    pub batch_size: u32,
    /// `fixed`: memory budget in MiB.
    #[serde(default)]
    pub memory_mb: u64,
    /// `fixed`: conflicts scope.
    #[serde(default)]
    pub conflicts_scope: Option<Scope>,
    /// `fixed`: use the caches.
    #[serde(default = "yes")]
    pub cache: bool,
}

fn default_strategy() -> String {
    "adaptive".into()
}

fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: default_strategy(),
            diffstat: true,
            squash: true,
            conflicts: false,
            repo_workers: 0,
            branch_workers: 0,
            batch_size: 0,
            memory_mb: 0,
            conflicts_scope: None,
            cache: true,
        }
    }
}

/// The strategies, by name.
pub const STRATEGIES: [&str; 7] = [
    "adaptive",
    "presets",
    "small",
    "medium",
    "large",
    "very-large",
    "fixed",
];

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The configured strategy does not exist.
    UnknownStrategy(String),
}

impl Error {
    /// The plugin error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownStrategy(_) => "unknown-strategy",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::UnknownStrategy(name) => write!(
                f,
                "unknown strategy `{}`: expected one of {}",
                name.escape_debug(),
                STRATEGIES.join(", ")
            ),
        }
    }
}

/// Plans a scan with the configured strategy.
pub fn tune(probe: &Probe, history: &[Run], config: &Config) -> Result<Settings, Error> {
    let name = config.strategy.as_str();
    let scale = Scale::of(probe);
    match name {
        "adaptive" => Ok(adaptive::plan(probe, history, config)),
        "presets" => Ok(presets::plan(scale, probe, config, "presets")),
        "fixed" => Ok(fixed(config)),
        _ => match Scale::named(name) {
            Some(forced) => Ok(presets::plan(forced, probe, config, "preset")),
            None => Err(Error::UnknownStrategy(name.into())),
        },
    }
}

/// Exactly the configured settings (for benchmarks and experiments).
fn fixed(config: &Config) -> Settings {
    Settings {
        repo_workers: config.repo_workers,
        branch_workers: config.branch_workers,
        batch_size: config.batch_size,
        memory_mb: config.memory_mb,
        diffstat: config.diffstat,
        squash: config.squash,
        conflicts: config.conflicts,
        conflicts_scope: config.conflicts_scope.unwrap_or(if config.conflicts {
            Scope::All
        } else {
            Scope::None
        }),
        cache: config.cache,
        reason: "fixed: the settings configured".into(),
    }
}

#[cfg(target_arch = "wasm32")]
mod glue;
