//! The plugin runtime: one wasmtime engine per process, components precompiled and cached,
//! and a fresh, limited [`Store`] for every invocation.
//!
//! A plugin is untrusted. It gets WASI with nothing granted (no files, environment,
//! arguments, sockets; clocks frozen at the scan's start), the host API of the version it was
//! built against, and limits on fuel, wall time, memory, tables, instances, stack, result size
//! and host queries. Every way an invocation can fail ends as a [`Failure`] with the reason.

mod api;
mod bindings;
mod cache;
pub mod caps;
mod data;
mod engine;
mod host;
mod http;
mod last_words;
mod limits;
pub mod plan;
pub mod plugin;
mod state;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

pub use api::{API_VERSION_SECTION, ApiVersion};
pub use http::HttpSettings;
pub use limits::{HostRefused, Limits};

use crate::plan::{Plan, Probe, RunRecord};
use crate::plugin::{Capability, Manifest, Outcome, PluginKind, PluginSource, SourceError};
use bindings::{PluginErr, VersionedPre};
use cache::CompileCache;
use data::DataStore;
use engine::EpochTicker;
use host::HostContext;
use state::State;
use trellis_git::RepoScan;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Maximum wasm stack, in bytes (engine-wide in wasmtime).
    pub max_wasm_stack: usize,
    /// Where precompiled components are cached; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
    /// Where plugins' key/value stores are kept, a directory per plugin id; `None` keeps each
    /// in memory for one invocation.
    pub data_dir: Option<PathBuf>,
    /// Outbound HTTP for plugins granted an origin.
    pub http: HttpSettings,
    /// Invocations alive at once (one per worker is enough; more only costs address space).
    pub max_concurrent: u32,
    /// The largest of each limit any plugin is configured with: the instance pool is sized so
    /// that every configured plugin fits (memories, tables, core instances per component).
    pub max_limits: Limits,
}

/// The runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the engine's configuration (e.g. the pooling allocator's reservation).
    #[error("cannot start the plugin runtime: {0:#}")]
    Engine(#[source] wasmtime::Error),
    /// The host API could not be added to the linker.
    #[error("cannot start the plugin runtime: cannot link the host API: {0:#}")]
    Linker(#[source] wasmtime::Error),
    /// A thread of the runtime could not be started.
    #[error("cannot start the plugin runtime: {0}")]
    Thread(#[source] std::io::Error),
}

/// A plugin that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin directory or its manifest is unusable.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The file is not a WebAssembly component.
    #[error("{path}: {reason}")]
    NotAComponent {
        /// The component's file.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// The component creates more core instances than `[limits] instances` allows.
    #[error(
        "{label}: creates {needs} core instances, more than `[limits] instances` allows ({limit})"
    )]
    TooManyInstances {
        /// `id@version`.
        label: String,
        /// Core instances it creates.
        needs: u64,
        /// The limit.
        limit: u64,
    },
    /// The component's API version is not served, or not the one its manifest requires.
    #[error("{label}: {reason}")]
    Api {
        /// `id@version`.
        label: String,
        /// Which versions disagree.
        reason: String,
    },
    /// wasmtime could not compile the component.
    #[error("{label}: cannot compile {path}: {source:#}")]
    Compile {
        /// `id@version`.
        label: String,
        /// The component's file.
        path: PathBuf,
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// The component imports something the host does not provide.
    #[error("{label}: needs an import the host does not provide: {source:#}")]
    Link {
        /// `id@version`.
        label: String,
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// The component does not export its world's functions with the right types.
    #[error("{label}: does not implement the `{kind}` world of API {api}: {source:#}")]
    WrongWorld {
        /// `id@version`.
        label: String,
        /// The world its manifest names.
        kind: PluginKind,
        /// The API version it was linked with.
        api: ApiVersion,
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
}

/// A plugin compiled, linked and type-checked against its world.
pub struct LoadedPlugin {
    /// The plugin's manifest.
    pub manifest: Manifest,
    /// The API version it is linked with.
    pub api: ApiVersion,
    pre: VersionedPre,
}

impl LoadedPlugin {
    /// `id@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.manifest.id, self.manifest.version)
    }
}

/// What one invocation may see and use.
pub struct Invocation {
    /// Capabilities granted (and asked for) for this plugin.
    pub granted: BTreeSet<Capability>,
    /// The plugin's configuration as a JSON object.
    pub config_json: String,
    /// The repository git queries run against.
    pub repo: Option<gix::ThreadSafeRepository>,
    /// Fuel, time, memory and query budgets of the invocation.
    pub limits: Limits,
    /// Seconds since the Unix epoch at the start of the scan.
    pub scan_time: i64,
}

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It ran out of fuel.
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// It ran past its wall-clock deadline.
    Deadline {
        /// The deadline.
        timeout_ms: u64,
    },
    /// It asked for more linear memory than allowed.
    Memory {
        /// The limit.
        limit_bytes: u64,
        /// What it asked for.
        requested_bytes: u64,
    },
    /// Its wasm stack overflowed.
    StackOverflow,
    /// It asked for a larger table than allowed.
    Table {
        /// The limit.
        limit_elements: u64,
        /// What it asked for.
        requested_elements: u64,
    },
    /// It trapped.
    Trap {
        /// The trap, with the plugin's last words on stderr.
        message: String,
    },
    /// Its result was larger than allowed.
    ResultTooLarge {
        /// The result's size.
        bytes: u64,
        /// The limit.
        limit_bytes: u64,
    },
    /// It returned an error of its own.
    PluginError {
        /// The plugin's error code.
        code: String,
        /// The plugin's message.
        message: String,
    },
    /// It held more WASI resources on the host than allowed (header fields, requests, bodies,
    /// streams, pollables, descriptors).
    HostResources {
        /// What: `handles` (resources at once), `bytes` (their bytes on the host) or
        /// `request-body` (one outgoing request body).
        resource: String,
        /// The limit.
        limit: u64,
        /// What it reached or asked for.
        requested: u64,
    },
    /// It could not be instantiated, or its limits are misconfigured.
    Instantiate {
        /// Why.
        message: String,
    },
    /// It ended itself with `wasi:cli/exit` instead of returning a result.
    Exit {
        /// The exit code wasmtime reports (`wasi:cli/exit` 0.2 carries only success or
        /// failure: 0 or 1).
        code: i32,
    },
    /// Its result is not a valid value of the result's type (a lone surrogate, a bad enum,
    /// variant or option tag, a pointer or length outside its memory).
    InvalidResult {
        /// What wasmtime found wrong.
        message: String,
    },
    /// The answer of a host call was too large for wasmtime to copy into its memory.
    HostCallTooLarge {
        /// wasmtime's message.
        message: String,
    },
    /// Its allocator (`cabi_realloc`) returned an unusable allocation while the host was
    /// copying an answer into its memory.
    Allocator {
        /// wasmtime's message.
        message: String,
    },
}

/// Context on an error of instantiation, so [`classify`] can tell it from errors of the call.
#[derive(Debug)]
pub(crate) struct Instantiating;

impl fmt::Display for Instantiating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("instantiating the component")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::OutOfFuel { limit } => write!(f, "out of fuel (limit {limit})"),
            Failure::Deadline { timeout_ms } => write!(f, "deadline of {timeout_ms} ms exceeded"),
            Failure::Memory {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "memory limit exceeded: asked for {requested_bytes} bytes, limit {limit_bytes}"
            ),
            Failure::StackOverflow => f.write_str("wasm stack overflow"),
            Failure::Table {
                limit_elements,
                requested_elements,
            } => write!(
                f,
                "table limit exceeded: asked for {requested_elements} elements, limit {limit_elements}"
            ),
            Failure::Trap { message } => write!(f, "trap: {message}"),
            Failure::ResultTooLarge { bytes, limit_bytes } => {
                write!(f, "result too large: {bytes} bytes, limit {limit_bytes}")
            }
            Failure::PluginError { code, message } => write!(f, "plugin error {code}: {message}"),
            Failure::HostResources {
                resource,
                limit,
                requested,
            } => write!(
                f,
                "host resource limit exceeded: {resource} reached {requested}, limit {limit}"
            ),
            Failure::Instantiate { message } => write!(f, "cannot instantiate: {message}"),
            Failure::Exit { code } => write!(f, "exited with code {code} instead of returning"),
            Failure::InvalidResult { message } => write!(f, "invalid result: {message}"),
            Failure::HostCallTooLarge { message } => {
                write!(f, "host call answer too large to copy: {message}")
            }
            Failure::Allocator { message } => {
                write!(f, "allocator failed during a host call: {message}")
            }
        }
    }
}

/// What an invocation cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Wall time of the invocation.
    pub duration_ms: f64,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// The largest linear memory it had.
    pub peak_memory_bytes: u64,
    /// Host git queries it made.
    pub queries: u32,
    /// Bytes of git data those queries returned.
    pub query_bytes: u64,
    /// Wall time the host spent answering those queries: `duration_ms` less this is the
    /// plugin's own time.
    pub query_ms: f64,
    /// Log lines over the limit, dropped.
    pub logs_dropped: u32,
    /// Capabilities the plugin tried to use without a grant (distinct, at most
    /// [`caps::MAX_DENIED`]).
    pub denied: Vec<String>,
    /// Denied attempts at capabilities not recorded in `denied`, over its cap.
    pub denied_dropped: u32,
}

/// The engine, the linker with every served API version, and the compile cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<CompileCache>,
    data_dir: Option<PathBuf>,
    /// Plugins loaded from the compile cache (hits) and compiled (misses).
    cache_use: trellis_git::profile::CacheCounter,
    http: Arc<http::HttpShared>,
    /// The most core instances the pool lets one component create.
    max_core_instances: u64,
    /// Drives async calls, so a guest blocked in WASI can be cut off at its deadline.
    executor: tokio::runtime::Runtime,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Starts the engine and its epoch ticker.
    pub fn new(options: &RuntimeOptions) -> Result<Self, RuntimeError> {
        let pool = engine::Pool {
            instances: options.max_concurrent.max(1),
            limits: options.max_limits,
        };
        let engine =
            engine::build_engine(options.max_wasm_stack, pool).map_err(RuntimeError::Engine)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::Linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(RuntimeError::Linker)?;
        bindings::add_to_linker(&mut linker).map_err(RuntimeError::Linker)?;
        let cache =
            options
                .cache_dir
                .as_deref()
                .and_then(|dir| match trellis_os::private::cache_key() {
                    Ok(key) => Some(CompileCache::new(dir, &engine, key)),
                    Err(e) => {
                        tracing::warn!("compile cache off: no usable cache key: {e}");
                        None
                    }
                });
        let ticker = EpochTicker::start(&engine).map_err(RuntimeError::Thread)?;
        let executor = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("trellis-wasi")
            .enable_time()
            .enable_io()
            .build()
            .map_err(RuntimeError::Thread)?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            data_dir: options.data_dir.clone(),
            cache_use: Default::default(),
            http: http::HttpShared::new(options.http),
            max_core_instances: options.max_limits.instances as u64,
            executor,
            _ticker: ticker,
        })
    }

    /// How often the compile cache had a plugin's precompiled form (counted when the cache is on).
    pub fn compile_cache_use(&self) -> trellis_git::profile::CacheUse {
        self.cache_use.get()
    }

    /// Reads, compiles (or loads from the cache), links and type-checks the plugin in `dir`.
    pub fn load_dir(&self, dir: &Path) -> Result<LoadedPlugin, LoadError> {
        self.load(PluginSource::read(dir)?)
    }

    /// Compiles (or loads from the cache), links and type-checks a plugin read from disk.
    pub fn load(&self, source: PluginSource) -> Result<LoadedPlugin, LoadError> {
        let label = source.label();
        let inspection = api::inspect(&source.wasm).map_err(|reason| LoadError::NotAComponent {
            path: source.wasm_path.clone(),
            reason,
        })?;
        // Checked before compiling: wasmtime would compile the whole component (tens of
        // seconds for an interpreter-based one) only to refuse it for the pool.
        if inspection.core_instances > self.max_core_instances {
            return Err(LoadError::TooManyInstances {
                label,
                needs: inspection.core_instances,
                limit: self.max_core_instances,
            });
        }
        let api = ApiVersion::select(&source.manifest.api, inspection.recorded.as_ref()).map_err(
            |reason| LoadError::Api {
                label: label.clone(),
                reason,
            },
        )?;
        let cached = self
            .cache
            .as_ref()
            .and_then(|cache| cache.load(&self.engine, &source.sha256));
        if self.cache.is_some() {
            self.cache_use.count(cached.is_some());
        }
        let (component, fresh) = match cached {
            Some(component) => (component, None),
            None => {
                let (component, bytes) =
                    compile(&self.engine, &source.wasm).map_err(|e| LoadError::Compile {
                        label: label.clone(),
                        path: source.wasm_path.clone(),
                        source: e,
                    })?;
                (component, Some(bytes))
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                label: label.clone(),
                source: e,
            })?;
        let kind = source.manifest.kind;
        let pre = VersionedPre::new(api, kind, pre).map_err(|e| LoadError::WrongWorld {
            label: label.clone(),
            kind,
            api,
            source: e,
        })?;
        // Only a component that loaded is worth keeping: a refused one is never cached.
        if let (Some(cache), Some(bytes)) = (&self.cache, fresh) {
            cache.store(&source.sha256, &bytes);
        }
        Ok(LoadedPlugin {
            manifest: source.manifest,
            api,
            pre,
        })
    }

    /// Runs an analyzer or policy on one repository's facts.
    pub fn analyze(
        &self,
        plugin: &LoadedPlugin,
        scan: &RepoScan,
        invocation: Invocation,
    ) -> (Result<Outcome, Failure>, Metrics) {
        let limit = invocation.limits.max_result_kb.saturating_mul(1024);
        let scan_time = invocation.scan_time;
        let (result, metrics) = self.invoke(plugin, invocation, async |store| {
            plugin.pre.analyze(store, scan, scan_time).await
        });
        let result = result.and_then(|outcome| {
            let bytes = outcome.size();
            if bytes > limit {
                Err(Failure::ResultTooLarge {
                    bytes,
                    limit_bytes: limit,
                })
            } else {
                Ok(caps::outcome(outcome))
            }
        });
        (result, metrics)
    }

    /// Asks a tuner for a plan.
    pub fn tune(
        &self,
        plugin: &LoadedPlugin,
        probe: Probe<'_>,
        history: &[RunRecord],
        invocation: Invocation,
    ) -> (Result<Plan, Failure>, Metrics) {
        let (result, metrics) = self.invoke(plugin, invocation, async |store| {
            plugin.pre.tune(store, probe, history).await
        });
        (result.map(caps::plan), metrics)
    }

    /// Runs `call` in a fresh store with the invocation's limits, and classifies the outcome.
    fn invoke<T>(
        &self,
        plugin: &LoadedPlugin,
        invocation: Invocation,
        call: impl AsyncFnOnce(&mut Store<State>) -> wasmtime::Result<Result<T, PluginErr>>,
    ) -> (Result<T, Failure>, Metrics) {
        let limits = invocation.limits;
        let origins = invocation
            .granted
            .iter()
            .filter_map(|c| match c {
                Capability::Http(origin) => http::normalise_origin(origin),
                _ => None,
            })
            .collect();
        let hooks = http::HttpHooks::new(self.http.clone(), origins);
        let read_dirs = granted_dirs(&invocation.granted, invocation.repo.as_ref());
        let host = HostContext::new(
            plugin.label(),
            invocation.config_json,
            invocation.repo,
            invocation.granted,
            &limits,
            Instant::now() + Duration::from_millis(limits.timeout_ms),
            DataStore::new(
                self.data_dir.as_deref(),
                &plugin.manifest.id,
                limits.store_kb.saturating_mul(1024),
            ),
        );
        let scan_time = Duration::from_secs(invocation.scan_time.max(0) as u64);
        let mut store = Store::new(
            &self.engine,
            State::new(host, hooks, &read_dirs, &limits, scan_time),
        );
        store.limiter(|state| &mut state.limiter);
        let started = Instant::now();
        let timeout = Duration::from_millis(limits.timeout_ms);
        // Fuel is injected in slices: compiled code keeps the fuel it burns in a register and
        // flushes it to the store only at calls, returns and slice ends, and an epoch deadline
        // traps without a flush, so without slices a plugin stopped at its deadline while
        // spinning in one function would appear to have used almost no fuel. A slice end also
        // yields to the executor, which lets the deadline's timer fire for computing guests.
        let setup = store
            .set_fuel(limits.fuel)
            .and_then(|()| store.fuel_async_yield_interval(Some(FUEL_SLICE)));
        // The epoch deadline stops guest code that computes; the timer stops a guest that waits
        // in the host (a WASI sleep or poll), where no epoch check runs. Every tick, the bytes
        // its WASI resources hold on the host are measured against their cap.
        let deadline = engine::ticks_for(timeout);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            if engine::ticks_for(started.elapsed()) >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            match ctx.data_mut().check_host() {
                Ok(()) => Ok(UpdateDeadline::Continue(1)),
                Err(refused) => Err(wasmtime::Error::msg(format!(
                    "host resources exceeded: {}",
                    refused.resource
                ))),
            }
        });
        let outcome = match setup {
            Err(e) => Some(Err(e)),
            Ok(()) => self.executor.block_on(async {
                tokio::time::timeout(timeout + engine::EPOCH_TICK, call(&mut store))
                    .await
                    .ok()
            }),
        };
        let duration = started.elapsed();

        let fuel_left = store.get_fuel().unwrap_or(0);
        let _ = store.data_mut().check_host();
        let table_full = store.data_mut().host_table_full();
        let state = store.data();
        let mut metrics = Metrics {
            duration_ms: duration.as_secs_f64() * 1000.0,
            fuel_used: limits.fuel.saturating_sub(fuel_left),
            // Linear memory plus what its WASI resources held on the host.
            peak_memory_bytes: (state.limiter.peak_memory + state.host_peak) as u64,
            queries: state.host.queries,
            query_bytes: state.host.query_bytes,
            query_ms: state.host.query_time.as_secs_f64() * 1000.0,
            logs_dropped: state.host.logs_dropped,
            denied: Vec::new(),
            denied_dropped: state.http.denied_dropped,
        };
        let mut denied = BTreeSet::new();
        for entry in state.host.denied.iter().chain(&state.http.denied) {
            if !caps::record_denied(&mut denied, entry.clone()) {
                metrics.denied_dropped = metrics.denied_dropped.saturating_add(1);
            }
        }
        metrics.denied = denied.into_iter().collect();
        if state.host.logs_dropped > 0 {
            tracing::warn!(
                plugin = %plugin.label(),
                "{} log lines dropped by the rate limit",
                state.host.logs_dropped
            );
        }
        // A host resource limit fails the invocation even when the plugin carried on.
        let refused = state.host_refused.clone().or_else(|| {
            state
                .http
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        });
        let refused = refused.or_else(|| {
            // A full table ends the plugin with wasmtime's error (not a trap) at the next push.
            let failed = matches!(&outcome, Some(Err(e)) if e.downcast_ref::<Trap>().is_none());
            (table_full && failed).then(|| HostRefused {
                resource: "handles",
                limit: state.host_resources_cap() as u64,
                requested: state.host_resources_cap() as u64 + 1,
            })
        });
        let result = match (refused, outcome) {
            (Some(r), _) => Err(Failure::HostResources {
                resource: r.resource.to_string(),
                limit: r.limit,
                requested: r.requested,
            }),
            (None, Some(Ok(Ok(value)))) => Ok(value),
            (None, Some(Ok(Err(PluginErr { code, message })))) => {
                let (code, message) = caps::plugin_error(code, message);
                Err(Failure::PluginError { code, message })
            }
            (None, Some(Err(error))) => Err(classify(&error, state, &limits)),
            (None, None) => Err(Failure::Deadline {
                timeout_ms: limits.timeout_ms,
            }),
        };
        (result, metrics)
    }
}

/// Fuel per slice (see `Runtime::invoke`): the most `fuel_used` can under-count by.
const FUEL_SLICE: u64 = 1_000_000;

/// The `fs.read` grants as `(host directory, guest path)`: directories of the repository's work
/// tree that exist and, symlinks resolved, stay inside it.
fn granted_dirs(
    granted: &BTreeSet<Capability>,
    repo: Option<&gix::ThreadSafeRepository>,
) -> Vec<(PathBuf, String)> {
    let Some(repo) = repo else {
        return Vec::new();
    };
    let Some(root) = repo.work_dir().and_then(|w| w.canonicalize().ok()) else {
        return Vec::new();
    };
    let local = repo.to_thread_local();
    let git_dirs: Vec<PathBuf> = [repo.git_dir(), local.common_dir()]
        .into_iter()
        .filter_map(|d| d.canonicalize().ok())
        .collect();
    granted
        .iter()
        .filter_map(|c| match c {
            Capability::FsRead(dir) => Some(dir.trim_end_matches('/')),
            _ => None,
        })
        .filter_map(|dir| {
            let host = root.join(dir).canonicalize().ok()?;
            if !host.starts_with(&root) || !host.is_dir() {
                tracing::warn!(
                    dir,
                    "granted fs.read directory is missing or leaves the repository"
                );
                return None;
            }
            if exposes_git(&host, &git_dirs) {
                tracing::warn!(
                    dir,
                    "granted fs.read directory is or contains a git directory; not granted"
                );
                return None;
            }
            Some((host, dir.to_string()))
        })
        .collect()
}

/// Entries an `fs.read` directory may hold for [`exposes_git`] to check it; a larger one is
/// refused rather than half checked.
const MAX_GRANTED_ENTRIES: usize = 200_000;

/// Whether the directory `dir` (canonical) would let a plugin read a git directory: it is one,
/// lies inside one, or contains one — the repository's own (`git_dirs`, canonical: its git dir
/// and common dir) or any entry named `.git` in any letter case (a directory, or the `gitdir:`
/// file of a linked worktree or submodule) at any depth. Symbolic links are not followed: the
/// preopened directory confines lookups to itself (a link leaving it, or an absolute one, is
/// refused by cap-std), so a link can only lead to what this walk sees.
fn exposes_git(dir: &Path, git_dirs: &[PathBuf]) -> bool {
    let is_git_name = |name: &std::ffi::OsStr| name.eq_ignore_ascii_case(".git");
    if git_dirs.iter().any(|g| g.starts_with(dir)) {
        return true;
    }
    for ancestor in dir.ancestors() {
        if ancestor.file_name().is_some_and(is_git_name)
            || git_dirs.iter().any(|g| same_file(ancestor, g))
        {
            return true;
        }
    }
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_GRANTED_ENTRIES || is_git_name(&entry.file_name()) {
                return true;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    false
}

/// Whether two paths name the same file (the same device and inode on Unix).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        a == b
    }
}

/// Turns a wasmtime error into the precise reason an invocation failed.
fn classify(error: &wasmtime::Error, state: &State, limits: &Limits) -> Failure {
    if let Some(requested) = state.limiter.memory_refused {
        return Failure::Memory {
            limit_bytes: limits.memory_bytes() as u64,
            requested_bytes: requested as u64,
        };
    }
    if let Some(requested) = state.limiter.table_refused {
        return Failure::Table {
            limit_elements: limits.table_elements as u64,
            requested_elements: requested as u64,
        };
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Exit { code: exit.0 };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel { limit: limits.fuel },
        Some(Trap::Interrupt) => Failure::Deadline {
            timeout_ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        // A guest may not call out while the host is inside it for the canonical ABI (its
        // `cabi_realloc` copying an answer in, a post-return): a panicking allocator traps
        // here when it tries to print its message, so the message itself never reaches us.
        Some(Trap::CannotLeaveComponent) => Failure::Allocator {
            message: "it called the host from inside its allocator (e.g. to print a panic \
                      message) while the host was copying an answer into its memory, which the \
                      component model forbids; what it meant to say is lost: cannot leave \
                      component instance"
                .to_string(),
        },
        Some(trap) => {
            let stderr = state.stderr.contents();
            let message = match last_words::last_words(&String::from_utf8_lossy(&stderr)) {
                Some(said) => format!("{trap}; the plugin wrote: {said}"),
                None => trap.to_string(),
            };
            Failure::Trap { message }
        }
        None if error.downcast_ref::<Instantiating>().is_some() => Failure::Instantiate {
            message: format!("{error:#}"),
        },
        // Not a trap, after instantiation: wasmtime refused a value crossing the boundary.
        // Its errors carry no type, so the canonical-ABI step is told by its message.
        None => {
            let message = format!("{error:#}");
            if message.contains("realloc return") {
                Failure::Allocator { message }
            } else if message.contains("too large to copy into wasm")
                || message.contains("byte length too large")
            {
                Failure::HostCallTooLarge { message }
            } else {
                Failure::InvalidResult { message }
            }
        }
    }
}

/// Compiles `wasm` now: the component, and its precompiled form to cache once it has loaded.
#[expect(
    unsafe_code,
    reason = "deserialising what `precompile_component` just produced on this engine"
)]
fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, Vec<u8>)> {
    let bytes = engine.precompile_component(wasm)?;
    // SAFETY: `bytes` was produced just now by `precompile_component` on this engine.
    let component = unsafe { Component::deserialize(engine, &bytes) }?;
    Ok((component, bytes))
}
