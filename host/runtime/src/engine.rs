//! The process-wide wasmtime engine and the ticker that drives epoch deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::Limits;

/// How often the epoch advances; deadlines are whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How many invocations may be alive at once, and the largest limits any plugin has.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// Concurrent invocations (each is one component instance).
    pub instances: u32,
    /// The largest of each per-invocation limit over all configured plugins.
    pub limits: Limits,
}

/// Slots the pool keeps per concurrent invocation: what real toolchains need (componentize-py
/// components hold 14 core instances and 2 tables, componentize-js ones 4 core instances, Rust
/// ones 3; each defines one memory). A single component may use up to its configured limits as
/// long as the pool as a whole has room.
const CORE_INSTANCES_PER_INVOCATION: u32 = 16;
const TABLES_PER_INVOCATION: u32 = 4;
const MEMORIES_PER_INVOCATION: u32 = 2;

/// Builds the one engine of the process: component model, fuel and epoch interruption on,
/// instances from a pool so that instantiating a plugin costs microseconds, not mmap calls.
pub fn build_engine(max_wasm_stack: usize, pool: Pool) -> wasmtime::Result<Engine> {
    let per_component = |limit: usize| u32::try_from(limit).unwrap_or(u32::MAX).max(1);
    let core_instances = per_component(pool.limits.instances);
    let tables = per_component(pool.limits.tables);
    let memories = per_component(pool.limits.memories);
    let total = |per_invocation: u32, largest: u32| {
        pool.instances.saturating_mul(per_invocation).max(largest)
    };
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(pool.instances)
        .total_core_instances(total(CORE_INSTANCES_PER_INVOCATION, core_instances))
        .max_core_instances_per_component(core_instances)
        .total_memories(total(MEMORIES_PER_INVOCATION, memories))
        .max_memories_per_component(memories)
        .total_tables(total(TABLES_PER_INVOCATION, tables))
        .max_tables_per_component(tables)
        .total_stacks(pool.instances)
        .max_memory_size(pool.limits.memory_bytes())
        .table_elements(pool.limits.table_elements);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(max_wasm_stack)
        .parallel_compilation(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
}

/// Deadline in epoch ticks for a timeout (at least one tick).
pub fn ticks_for(timeout: Duration) -> u64 {
    (timeout.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64
}

/// A background thread that advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let engine = engine.clone();
            std::thread::Builder::new()
                .name("trellis-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })?
        };
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
