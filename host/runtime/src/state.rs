//! What a [`wasmtime::Store`] holds for one invocation.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::DynOutputStream;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use wasmtime_wasi_http::p2::types::HostOutgoingRequest;
use wasmtime_wasi_http::{FieldMap, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::host::HostContext;
use super::http::HttpHooks;
use super::limits::{HostRefused, Limiter, Limits};

/// Bytes of a plugin's stderr kept, for the reason of a panic.
const STDERR_CAPTURE: usize = 16 * 1024;

/// Bytes one header `fields` resource may hold (wasmtime's own measure of names and values).
const FIELDS_BYTES: usize = 64 * 1024;
/// What every resource costs on the host besides its contents (its entry, bookkeeping, a
/// pollable or a descriptor).
const ENTRY_BYTES: usize = 256;
/// Bytes one `get-random-bytes` call may ask for.
const RANDOM_BYTES: u64 = 1 << 20;
/// Per header value, the `HeaderMap` bookkeeping around its name and bytes.
const HEADER_BYTES: usize = 64;

/// Store data of one invocation: WASI with nothing granted, the limiter and the host context.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub host: HostContext,
    pub stderr: MemoryOutputPipe,
    http_ctx: WasiHttpCtx,
    pub http: HttpHooks,
    /// The cap on the bytes of host-side WASI resources.
    host_cap: usize,
    /// The most bytes host-side WASI resources were seen holding.
    pub host_peak: usize,
    /// Set when a host-side resource limit was exceeded.
    pub host_refused: Option<HostRefused>,
}

impl State {
    /// Fresh state: no files, environment, arguments, sockets or stdin; clocks frozen at
    /// `scan_time` so plugins cannot time anything; stderr captured in memory.
    pub fn new(
        host: HostContext,
        http: HttpHooks,
        read_dirs: &[(PathBuf, String)],
        limits: &Limits,
        scan_time: Duration,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let mut builder = WasiCtxBuilder::new();
        // Granted `fs.read` directories, read-only; cap-std keeps lookups (symlinks and `..`
        // included) inside each of them.
        for (host_dir, guest_dir) in read_dirs {
            if let Err(e) = builder.preopened_dir(host_dir, guest_dir, FsPerms::ReadOnly) {
                tracing::warn!(dir = %host_dir.display(), "cannot open granted directory: {e}");
            }
        }
        let wasi = builder
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock(scan_time))
            .monotonic_clock(FrozenClock(scan_time))
            // Random bytes are made on the host before the guest gets them: one call's worth.
            .max_random_size(RANDOM_BYTES)
            .build();
        // Every WASI resource the plugin creates lives in this table, on the host: cap how many.
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.host_resources);
        let mut http_ctx = WasiHttpCtx::new();
        http_ctx.set_field_size_limit(FIELDS_BYTES.min(limits.host_bytes()));
        State {
            wasi,
            table,
            limiter: Limiter::new(limits),
            host,
            stderr,
            http_ctx,
            http,
            host_cap: limits.host_bytes(),
            host_peak: 0,
            host_refused: None,
        }
    }

    /// Bytes the plugin's WASI resources hold on the host now: header fields (shared copies
    /// once), request targets and headers, a chunk per output stream, and a fixed cost per
    /// resource for everything else.
    pub fn host_bytes(&mut self) -> usize {
        let mut seen = HashSet::new();
        let mut fields = |map: &FieldMap| {
            let map: &http::HeaderMap = map;
            if !seen.insert(std::ptr::from_ref(map) as usize) {
                return 0;
            }
            map.iter()
                .map(|(name, value)| name.as_str().len() + value.len() + HEADER_BYTES)
                .sum::<usize>()
        };
        let mut total = 0;
        for entry in self.table.iter_mut() {
            let entry: &(dyn std::any::Any + Send) = entry;
            total += ENTRY_BYTES;
            if let Some(map) = entry.downcast_ref::<FieldMap>() {
                total += fields(map);
            } else if let Some(request) = entry.downcast_ref::<HostOutgoingRequest>() {
                total += request.authority.as_ref().map_or(0, String::len)
                    + request.path_with_query.as_ref().map_or(0, String::len)
                    + fields(&request.headers);
            } else if entry.is::<DynOutputStream>() {
                total += super::http::BODY_CHUNK_BYTES;
            }
        }
        total
    }

    /// Measures the host-side resources; records and returns the refusal when over the cap.
    pub fn check_host(&mut self) -> Result<(), HostRefused> {
        let bytes = self.host_bytes();
        self.host_peak = self.host_peak.max(bytes);
        if bytes > self.host_cap {
            let refused = HostRefused {
                resource: "bytes",
                limit: self.host_cap as u64,
                requested: bytes as u64,
            };
            self.host_refused.get_or_insert(refused.clone());
            return Err(refused);
        }
        Ok(())
    }

    /// Whether the resource table is full (the plugin holds `host_resources` resources).
    pub fn host_table_full(&mut self) -> bool {
        let max = self.table.max_capacity();
        self.table.iter_mut().count() >= max
    }

    /// The cap on resources held at once.
    pub fn host_resources_cap(&self) -> usize {
        self.table.max_capacity()
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A clock that always reads the scan's start time, with one-second resolution.
struct FrozenClock(Duration);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(self.0.as_secs())
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
