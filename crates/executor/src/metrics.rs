//! Scheduler metrics: counters each worker keeps for itself, summed when read.
//!
//! A worker's own counters (polls, steals, parks) have one writer, the worker, so it bumps
//! them with a load and a store (no locked instruction), on a cache line of their own so
//! no other thread's writes bounce it. Unparks come from any thread; they go to a separate
//! counter with an atomic add, which is cheap beside the futex or eventfd write they count.
//! Readers load everything Relaxed: a metrics read is a statistic, not a synchronisation
//! point, so counters read together may be a few operations apart.

use crate::loom::sync::atomic::AtomicU64;
use crate::loom::sync::atomic::Ordering::Relaxed;

/// A scheduler's counters, summed over its workers when read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerMetrics {
    /// Worker threads (1 for the current-thread scheduler: the `block_on` thread).
    pub workers: usize,
    /// Tasks spawned and not yet complete.
    pub live_tasks: usize,
    /// Tasks spawned since the scheduler started.
    pub spawned: u64,
    /// Task polls.
    pub polls: u64,
    /// Successful steals (a batch from another worker's queue, or its LIFO slot).
    pub steals: u64,
    /// Times a worker went to sleep (in the driver or on its own parker).
    pub parks: u64,
    /// Times a sleeping worker was woken.
    pub unparks: u64,
    /// Tasks waiting in the global (inject) queue.
    pub inject_depth: usize,
    /// Slow polls debug mode has reported (0 when it is off).
    pub slow_polls: u64,
    /// The same counters per worker, in worker order.
    pub per_worker: Vec<WorkerMetrics>,
}

/// One worker's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Task polls on this worker.
    pub polls: u64,
    /// Successful steals by this worker.
    pub steals: u64,
    /// Times this worker slept.
    pub parks: u64,
    /// Times this worker was woken from sleep.
    pub unparks: u64,
    /// Tasks in its local run queue (and LIFO slot).
    pub local_depth: usize,
}

/// Counters one worker writes; aligned so they share no cache line with anything else.
#[repr(align(128))]
pub(crate) struct Counters {
    polls: AtomicU64,
    steals: AtomicU64,
    parks: AtomicU64,
}

/// A counter any thread bumps.
#[repr(align(128))]
pub(crate) struct SharedCounter(AtomicU64);

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            polls: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
        }
    }

    /// Owner only.
    #[inline]
    pub(crate) fn poll(&self) {
        bump(&self.polls);
    }

    /// Owner only.
    #[inline]
    pub(crate) fn steal(&self) {
        bump(&self.steals);
    }

    /// Owner only.
    #[inline]
    pub(crate) fn park(&self) {
        bump(&self.parks);
    }

    /// A reading of this worker's counters (queue depth and unparks filled in by the
    /// caller).
    pub(crate) fn read(&self) -> WorkerMetrics {
        WorkerMetrics {
            polls: self.polls.load(Relaxed),
            steals: self.steals.load(Relaxed),
            parks: self.parks.load(Relaxed),
            unparks: 0,
            local_depth: 0,
        }
    }
}

impl SharedCounter {
    pub(crate) fn new() -> SharedCounter {
        SharedCounter(AtomicU64::new(0))
    }

    #[inline]
    pub(crate) fn add(&self) {
        // Relaxed: a statistic.
        self.0.fetch_add(1, Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Single-writer increment: a load and a store instead of a locked add.
#[inline]
fn bump(c: &AtomicU64) {
    // Relaxed: only the owning worker writes; readers want a recent value, not an order.
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

impl SchedulerMetrics {
    /// Sums `per_worker` into the totals.
    pub(crate) fn from_workers(per_worker: Vec<WorkerMetrics>) -> SchedulerMetrics {
        let sum = |f: fn(&WorkerMetrics) -> u64| per_worker.iter().map(f).sum();
        SchedulerMetrics {
            workers: per_worker.len(),
            polls: sum(|w| w.polls),
            steals: sum(|w| w.steals),
            parks: sum(|w| w.parks),
            unparks: sum(|w| w.unparks),
            per_worker,
            ..SchedulerMetrics::default()
        }
    }
}
