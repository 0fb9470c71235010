//! The process-wide wasmtime engine and the ticker that drives epoch deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How many invocations may be alive at once, and how large their memories and tables may be.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// Concurrent invocations (each is one component instance).
    pub instances: u32,
    /// The largest linear memory any invocation may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// The most elements any table may hold.
    pub max_table_elements: usize,
}

/// Builds the one engine of the process: component model, fuel and epoch interruption on,
/// instances from a pool so that instantiating a plugin costs microseconds, not mmap calls.
pub fn build_engine(max_wasm_stack: usize, pool: Pool) -> wasmtime::Result<Engine> {
    // A component built by wasm32-wasip2 holds a few core instances (the module and shims).
    const CORE_PER_COMPONENT: u32 = 8;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(pool.instances)
        .total_core_instances(pool.instances * CORE_PER_COMPONENT)
        .max_core_instances_per_component(CORE_PER_COMPONENT)
        .total_memories(pool.instances * 2)
        .max_memories_per_component(2)
        .total_tables(pool.instances * CORE_PER_COMPONENT)
        .max_tables_per_component(CORE_PER_COMPONENT)
        .total_stacks(pool.instances)
        .max_memory_size(pool.max_memory_bytes)
        .table_elements(pool.max_table_elements);
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
