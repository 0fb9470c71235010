//! What a [`wasmtime::Store`] holds for one invocation.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::host::HostContext;
use super::http::HttpHooks;
use super::limits::{Limiter, Limits};

/// Bytes of a plugin's stderr kept, for the reason of a panic.
const STDERR_CAPTURE: usize = 16 * 1024;

/// Store data of one invocation: WASI with nothing granted, the limiter and the host context.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub host: HostContext,
    pub stderr: MemoryOutputPipe,
    http_ctx: WasiHttpCtx,
    pub http: HttpHooks,
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
            .build();
        State {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(limits),
            host,
            stderr,
            http_ctx: WasiHttpCtx::new(),
            http,
        }
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
