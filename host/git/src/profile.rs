//! Where an alignment spends its time — wall and CPU time per stage — and how much its caches
//! saved, for the scan profile tuners learn from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Wall and CPU time of one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTime {
    /// Elapsed time; for the per-branch stages (diffstat, squash, conflicts), which run
    /// interleaved on every worker, the sum over workers of the time spent in them.
    pub wall: Duration,
    /// CPU time, summed over the threads that did the stage's work.
    pub cpu: Duration,
}

impl StageTime {
    /// Both times added.
    pub fn add(&mut self, other: StageTime) {
        self.wall += other.wall;
        self.cpu += other.cpu;
    }
}

/// A stage's time, added to from several threads.
#[derive(Debug, Default)]
pub struct StageClock {
    wall_ns: AtomicU64,
    cpu_ns: AtomicU64,
}

impl StageClock {
    /// Adds `time`.
    pub fn add(&self, time: StageTime) {
        self.wall_ns
            .fetch_add(time.wall.as_nanos() as u64, Ordering::Relaxed);
        self.cpu_ns
            .fetch_add(time.cpu.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Runs `f` on this thread and adds its wall and CPU time.
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let span = Span::start();
        let out = f();
        self.add(span.stop());
        out
    }

    /// Starts timing the calling thread; the time is added when the timer is dropped. For work
    /// made of many small items (a rayon job's worth of branches), where reading the thread's
    /// CPU clock — a system call — around each item would cost more than a few percent.
    pub fn timer(&self) -> StageTimer<'_> {
        StageTimer {
            clock: self,
            span: Span::start(),
        }
    }

    /// The time added so far.
    pub fn get(&self) -> StageTime {
        StageTime {
            wall: Duration::from_nanos(self.wall_ns.load(Ordering::Relaxed)),
            cpu: Duration::from_nanos(self.cpu_ns.load(Ordering::Relaxed)),
        }
    }
}

/// Adds the time from its start to its drop to a [`StageClock`]; dropped on the thread that
/// started it.
#[derive(Debug)]
pub struct StageTimer<'a> {
    clock: &'a StageClock,
    span: Span,
}

impl Drop for StageTimer<'_> {
    fn drop(&mut self) {
        self.clock.add(self.span.stop());
    }
}

/// A measurement running on the current thread.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    wall: Instant,
    cpu: Duration,
}

impl Span {
    /// Starts measuring the calling thread.
    pub fn start() -> Self {
        Span {
            wall: Instant::now(),
            cpu: trellis_os::cpu::thread(),
        }
    }

    /// The wall and CPU time since [`Span::start`] (to be called on the same thread).
    pub fn stop(self) -> StageTime {
        StageTime {
            wall: self.wall.elapsed(),
            cpu: trellis_os::cpu::thread().saturating_sub(self.cpu),
        }
    }
}

/// How often a cache answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUse {
    /// Lookups it answered.
    pub hits: u64,
    /// Lookups it could not answer (the work was done).
    pub misses: u64,
}

impl CacheUse {
    /// Both counts added.
    pub fn add(&mut self, other: CacheUse) {
        self.hits += other.hits;
        self.misses += other.misses;
    }
}

/// Counts hits and misses from several threads.
#[derive(Debug, Default)]
pub struct CacheCounter {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheCounter {
    /// Counts one lookup.
    pub fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn get(&self) -> CacheUse {
        CacheUse {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The profile of one repository's alignment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlignProfile {
    /// Loading the commit graph (the commit-graph file, or the packs' commits). CPU time is the
    /// loading thread's; a pack scan's parallel inflation is in the scan's total CPU time only.
    pub graph: StageTime,
    /// Reading every tip commit and walking every branch (ahead, behind, merge bases). The tips
    /// are read beside the graph load, so this stage's wall time includes the graph's.
    pub walk: StageTime,
    /// Tree diffs and diffstats.
    pub diffstat: StageTime,
    /// Squash detection's checks and the merges only it needs.
    pub squash: StageTime,
    /// Conflict prediction's merges.
    pub conflicts: StageTime,
    /// Branches whose tree facts came from the facts cache.
    pub facts_cache: CacheUse,
    /// Packs whose commits came from the commit cache (only without a commit-graph).
    pub commit_cache: CacheUse,
    /// Where the parents came from: `commit-graph`, `pack-scan` or `objects`.
    pub parent_source: &'static str,
    /// Branches whose conflict merge was skipped because their changes cannot meet the base's
    /// (conflicts scope `overlap`).
    pub merges_skipped: u64,
}
