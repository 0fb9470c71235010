//! Per-invocation resource limits and the limiter that enforces and measures them.

use serde::Deserialize;

/// Limits applied to every plugin invocation (defaults in `config/trellis.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) per invocation.
    pub fuel: u64,
    /// Wall-clock deadline per invocation, in milliseconds.
    pub timeout_ms: u64,
    /// Cap on each linear memory, in MiB.
    pub memory_mb: u64,
    /// Cap on elements of each table.
    pub table_elements: usize,
    /// Cap on component instances.
    pub instances: usize,
    /// Cap on tables.
    pub tables: usize,
    /// Cap on linear memories.
    pub memories: usize,
    /// Cap on the size of a plugin's result, in KiB.
    pub max_result_kb: u64,
    /// Host queries per invocation.
    pub queries: u32,
    /// Bytes of git data host queries may return per invocation, in KiB.
    pub query_kb: u64,
    /// Trial merges (`merge-trials`) per invocation: each is a whole in-memory merge.
    pub merges: u32,
    /// Bytes a plugin's key/value store keeps between scans, in KiB.
    pub store_kb: u64,
    /// Log lines a plugin may write per invocation; the rest are counted and dropped.
    pub log_lines: u32,
    /// WASI resources the host may hold for one invocation at once (header fields, requests,
    /// bodies, streams, pollables, descriptors): entries of its resource table.
    pub host_resources: usize,
    /// Bytes those resources may hold on the host, in KiB (header fields, request targets,
    /// buffered body chunks); a single header `fields` holds at most 64 KiB of it.
    pub host_kb: u64,
}

impl Limits {
    /// The memory cap in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    /// The host resources' byte cap.
    pub fn host_bytes(&self) -> usize {
        usize::try_from(self.host_kb.saturating_mul(1024)).unwrap_or(usize::MAX)
    }
}

/// A host-side resource limit a plugin exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRefused {
    /// What: `handles` (resources held at once), `bytes` (their bytes on the host) or
    /// `request-body` (bytes of one outgoing request body).
    pub resource: &'static str,
    /// The limit.
    pub limit: u64,
    /// What it reached or asked for.
    pub requested: u64,
}

/// Enforces the memory, table and instance caps, and remembers what it refused.
pub struct Limiter {
    memory_cap: usize,
    table_cap: usize,
    instances: usize,
    tables: usize,
    memories: usize,
    /// Largest linear memory seen, in bytes.
    pub peak_memory: usize,
    /// Set when a memory grow was refused: the size asked for.
    pub memory_refused: Option<usize>,
    /// Set when a table grow was refused: the size asked for.
    pub table_refused: Option<usize>,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            memory_cap: limits.memory_bytes(),
            table_cap: limits.table_elements,
            instances: limits.instances,
            tables: limits.tables,
            memories: limits.memories,
            peak_memory: 0,
            memory_refused: None,
            table_refused: None,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap || maximum.is_some_and(|m| desired > m) {
            self.memory_refused = Some(desired);
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_cap || maximum.is_some_and(|m| desired > m) {
            self.table_refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}
