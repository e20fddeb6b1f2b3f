//! The multi-thread scheduler: N workers with work-stealing run queues.
//!
//! # Protocol
//!
//! - Each worker owns a fixed ring-buffer queue (`queue/`) and a LIFO slot (`worker.rs`);
//!   other workers steal half a queue, or the slot, when they run dry.
//! - Spawns and wakes from a worker thread go to that worker (LIFO slot); from anywhere
//!   else to the global `inject` queue. Either way the producer then runs the idle
//!   protocol (`idle.rs`), which wakes a sleeping worker unless one is already searching.
//! - At most one sleeping worker blocks in the driver (`driver`, a `try_lock`ed mutex: I/O
//!   and timers are polled there); the others sleep on their own `ThreadParker`. How an
//!   unpark reaches the worker in the driver is `handoff.rs`.
//! - `block_on` polls its future on the calling thread, listed in `owned` and watched by
//!   debug mode as a "main" task while it runs (`task/main_future.rs`).
//! - Shutdown (drop): set `shutdown`, unpark every worker, join them. Each worker drops
//!   what its queue and slot hold; the last one out closes the owned-task list and cancels
//!   every task there, so futures are dropped on a worker thread, then closes `inject`.

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::time::Duration;

use crate::coop;
use crate::debug::{DebugConfig, Monitor};
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};
use crate::loom::sync::{Arc, Mutex};
use crate::metrics::{Counters, SchedulerMetrics, SharedCounter};
use crate::park::{Park, ThreadParker, ThreadUnparker, Unpark};
use crate::task::{JoinHandle, Notified, Observer, OwnedTasks, Schedule, TaskBuilder, TaskInfo};
use eddy_wake::wait;

mod handoff;
mod idle;
pub(crate) mod queue;
mod worker;

use crate::inject::Inject;
use idle::Idle;

/// A runtime whose tasks run on a pool of worker threads that steal work from each other.
///
/// ```
/// use eddy_executor::MultiThread;
///
/// let rt = MultiThread::new(2);
/// let handle = rt.handle();
/// let sum = rt.block_on(async move {
///     let tasks: Vec<_> = (0..100u64).map(|i| handle.spawn(async move { i })).collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 4950);
/// ```
pub struct MultiThread {
    shared: Arc<Shared>,
    threads: Vec<crate::loom::thread::JoinHandle<()>>,
}

/// A thread-safe handle to a [`MultiThread`] runtime.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// [`Park`], object-safe (its `unpark` returns `impl Unpark`), so the scheduler can hold
/// whatever driver it was built with behind one box.
trait DynPark: Send {
    fn drive(&mut self);
    fn drive_timeout(&mut self, timeout: Duration);
}

impl<P: Park + Send> DynPark for P {
    fn drive(&mut self) {
        Park::park(self);
    }

    fn drive_timeout(&mut self, timeout: Duration) {
        Park::park_timeout(self, timeout);
    }
}

pub(crate) struct WorkerShared {
    queue: queue::Local,
    /// One `Notified` (as a pointer owning its reference) or null; see `worker.rs`.
    lifo: AtomicPtr<crate::task::raw::Header>,
    parker: ThreadUnparker,
    /// Set by `unpark_worker` before it unparks; see `handoff.rs`.
    unparked: AtomicBool,
    /// This worker's own counters (`metrics.rs`).
    counters: Counters,
    /// Wakes of this worker, counted by whoever woke it.
    unparks: SharedCounter,
}

pub(crate) struct Shared {
    /// std's `Arc`: debug mode's watchdog looks names up here (it holds no loom state).
    owned: std::sync::Arc<OwnedTasks>,
    inject: Inject,
    workers: Box<[WorkerShared]>,
    idle: Idle,
    driver: Mutex<Box<dyn DynPark>>,
    driver_unpark: Box<dyn Unpark>,
    /// Index + 1 of the worker parked in the driver, 0 when none; see `handoff.rs`.
    driver_holder: AtomicUsize,
    shutdown: AtomicBool,
    running_workers: AtomicUsize,
    /// Debug mode's monitor, when on.
    monitor: Option<Monitor>,
}

impl MultiThread {
    /// A runtime with `workers` threads (at least one) and no I/O driver.
    pub fn new(workers: usize) -> MultiThread {
        MultiThread::with_driver(workers, ThreadParker::new())
    }

    /// A runtime with one worker per available core.
    pub fn with_default_workers() -> MultiThread {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        MultiThread::new(n)
    }

    /// A runtime with `workers` threads that parks in `driver` when idle.
    ///
    /// # Panics
    /// When the OS refuses to start a worker thread.
    pub fn with_driver<P: Park + Send + 'static>(workers: usize, driver: P) -> MultiThread {
        MultiThreadBuilder::new()
            .worker_threads(workers)
            .build_with_driver(driver)
    }

    /// Options for the worker threads: count, name, start and stop hooks.
    pub fn builder() -> MultiThreadBuilder {
        MultiThreadBuilder::new()
    }

    /// A handle for spawning from anywhere.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Spawns a task onto the workers.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, TaskBuilder::new(), future, Location::caller())
    }

    /// A snapshot of every live task.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.shared.tasks()
    }

    /// How many tasks are alive.
    pub fn live_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    /// The scheduler's counters, summed over its workers.
    pub fn metrics(&self) -> SchedulerMetrics {
        self.shared.metrics()
    }

    /// Runs `future` on the calling thread (not a worker) until it completes; spawned
    /// tasks run on the workers meanwhile.
    ///
    /// While it runs, `future` is a "main" task of the runtime: it has an id
    /// ([`current_task_id`](crate::current_task_id) inside it, the parent of the tasks it
    /// spawns), shows in [`tasks`](Self::tasks) with the caller's location, and debug mode
    /// watches its polls on the calling thread. Each concurrent `block_on` has its own. It
    /// is not counted by [`live_tasks`](Self::live_tasks) or the metrics, which count
    /// spawned tasks.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let main = self.shared.owned.enter_main(Location::caller());
        let observer = self.shared.observer();
        ThreadParker::new().block_on(std::future::poll_fn(|cx| {
            // This thread parks between these polls: wait records' timestamps start here.
            wait::set_clock_ms(crate::task::wait_clock_ms());
            main.poll(observer, || coop::budgeted(|| future.as_mut().poll(cx)))
        }))
    }
}

/// A hook run on a worker thread: when it starts, before any task, or as it stops.
pub type ThreadHook = std::sync::Arc<dyn Fn() + Send + Sync>;

/// The hooks [`MultiThreadBuilder::build_with_driver_and_hooks`] makes from the scheduler's
/// handle; `None` keeps the builder's.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WorkerHooks {
    /// Runs on each worker thread before it runs any task.
    pub on_start: Option<ThreadHook>,
    /// Runs on each worker thread after it has stopped running tasks.
    pub on_stop: Option<ThreadHook>,
}

impl WorkerHooks {
    /// Hooks run as each worker starts and as it stops.
    pub fn new(
        on_start: impl Fn() + Send + Sync + 'static,
        on_stop: impl Fn() + Send + Sync + 'static,
    ) -> WorkerHooks {
        WorkerHooks {
            on_start: Some(std::sync::Arc::new(on_start)),
            on_stop: Some(std::sync::Arc::new(on_stop)),
        }
    }
}

impl std::fmt::Debug for WorkerHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHooks")
            .field("on_start", &self.on_start.is_some())
            .field("on_stop", &self.on_stop.is_some())
            .finish()
    }
}

/// Builds a [`MultiThread`]: how many workers, what they are called, and what runs on each
/// worker thread before its first task and after its last (the runtime facade enters its
/// reactor and timer contexts there).
#[derive(Clone)]
pub struct MultiThreadBuilder {
    workers: usize,
    thread_name: String,
    on_start: Option<ThreadHook>,
    on_stop: Option<ThreadHook>,
    debug: Option<DebugConfig>,
}

impl MultiThreadBuilder {
    fn new() -> MultiThreadBuilder {
        MultiThreadBuilder {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            thread_name: "eddy-worker".to_owned(),
            on_start: None,
            on_stop: None,
            debug: None,
        }
    }

    /// Turns debug mode on: a watchdog reports polls slower than the configured threshold
    /// while they run, and busy time is sampled per task (`debug/`).
    pub fn debug(mut self, config: DebugConfig) -> MultiThreadBuilder {
        self.debug = Some(config);
        self
    }

    /// The number of worker threads (at least one; default: the available cores).
    pub fn worker_threads(mut self, workers: usize) -> MultiThreadBuilder {
        self.workers = workers.max(1);
        self
    }

    /// The workers' thread-name prefix; worker `i` is called `{prefix}-{i}`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> MultiThreadBuilder {
        self.thread_name = prefix.into();
        self
    }

    /// Runs `hook` on each worker thread before it runs any task.
    pub fn on_thread_start(
        mut self,
        hook: impl Fn() + Send + Sync + 'static,
    ) -> MultiThreadBuilder {
        self.on_start = Some(std::sync::Arc::new(hook));
        self
    }

    /// Runs `hook` on each worker thread after it has stopped running tasks.
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> MultiThreadBuilder {
        self.on_stop = Some(std::sync::Arc::new(hook));
        self
    }

    /// A runtime with no I/O driver.
    ///
    /// # Panics
    /// When the OS refuses to start a worker thread.
    pub fn build(self) -> MultiThread {
        self.build_with_driver(ThreadParker::new())
    }

    /// A runtime that parks in `driver` when idle.
    ///
    /// # Panics
    /// When the OS refuses to start a worker thread.
    pub fn build_with_driver<P: Park + Send + 'static>(self, driver: P) -> MultiThread {
        self.build_with_driver_and_hooks(driver, |_| WorkerHooks::default())
    }

    /// [`build_with_driver`](Self::build_with_driver), with worker hooks made from the
    /// scheduler's own handle before any worker starts: for a context each worker enters
    /// that itself holds the handle (the eddy facade's runtime context does). A hook
    /// `hooks` returns replaces the one set with `on_thread_start` / `on_thread_stop`.
    ///
    /// # Panics
    /// When the OS refuses to start a worker thread.
    pub fn build_with_driver_and_hooks<P, F>(self, driver: P, hooks: F) -> MultiThread
    where
        P: Park + Send + 'static,
        F: FnOnce(&Handle) -> WorkerHooks,
    {
        let n = self.workers.max(1);
        let (shared, parkers) = Shared::new(n, driver, self.debug);
        let made = hooks(&Handle {
            shared: shared.clone(),
        });
        let on_start = made.on_start.or(self.on_start);
        let on_stop = made.on_stop.or(self.on_stop);
        let threads = parkers
            .into_iter()
            .enumerate()
            .map(|(i, parker)| {
                let shared = shared.clone();
                let (on_start, on_stop) = (on_start.clone(), on_stop.clone());
                crate::loom::thread::Builder::new()
                    .name(format!("{}-{i}", self.thread_name))
                    .spawn(move || {
                        if let Some(hook) = on_start {
                            hook();
                        }
                        worker::run(shared, i, parker);
                        if let Some(hook) = on_stop {
                            hook();
                        }
                    })
                    .expect("could not start an eddy worker thread; lower the worker count or raise the process's thread limit")
            })
            .collect();
        MultiThread { shared, threads }
    }
}

impl std::fmt::Debug for MultiThreadBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiThreadBuilder")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}

impl Drop for MultiThread {
    fn drop(&mut self) {
        // SeqCst: pairs with the workers' loads; the unparks below make them look.
        self.shared.shutdown.store(true, SeqCst);
        for i in 0..self.shared.workers.len() {
            self.shared.unpark_worker(i);
        }
        for t in self.threads.drain(..) {
            // A worker only panics on a broken invariant; the panic was already reported.
            let _ = t.join();
        }
        if let Some(m) = &self.shared.monitor {
            m.stop();
        }
    }
}

impl Shared {
    /// The state of an `n`-worker scheduler parking in `driver`, with each worker's parker;
    /// no thread is started.
    fn new<P: Park + Send + 'static>(
        n: usize,
        driver: P,
        debug: Option<DebugConfig>,
    ) -> (Arc<Shared>, Vec<ThreadParker>) {
        let parkers: Vec<ThreadParker> = (0..n).map(|_| ThreadParker::new()).collect();
        // The workers, and threads outside spawning into them.
        let (owned, monitor) = crate::scheduler::task_list(n + 1, debug);
        let shared = Arc::new(Shared {
            owned,
            inject: Inject::new(),
            workers: parkers
                .iter()
                .map(|p| WorkerShared {
                    queue: queue::Local::new(),
                    lifo: AtomicPtr::new(std::ptr::null_mut()),
                    parker: p.unpark(),
                    unparked: AtomicBool::new(false),
                    counters: Counters::new(),
                    unparks: SharedCounter::new(),
                })
                .collect(),
            idle: Idle::new(n),
            driver_unpark: Box::new(driver.unpark()),
            driver: Mutex::new(Box::new(driver)),
            driver_holder: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            running_workers: AtomicUsize::new(n),
            monitor,
        });
        (shared, parkers)
    }
}

impl Shared {
    fn spawn<F>(
        this: &Arc<Self>,
        builder: TaskBuilder<'_>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = this.owned.bind(future, this.clone(), builder, location);
        if let Some(n) = notified {
            this.schedule_task(n);
        }
        join
    }

    #[inline]
    fn schedule_task(&self, task: Notified) {
        let task = worker::with_current(self, |cur| match cur {
            Some(cur) => {
                worker::schedule_local(self, cur, task);
                None
            }
            None => Some(task),
        });
        if let Some(task) = task
            && self.inject.push(task)
        {
            self.notify_one();
        }
    }

    /// Wakes a sleeping worker if the idle protocol says one is needed.
    #[inline]
    fn notify_one(&self) {
        if let Some(id) = self.idle.worker_to_notify() {
            self.unpark_worker(id);
        }
    }

    fn unpark_worker(&self, id: usize) {
        let w = &self.workers[id];
        w.unparks.add();
        if handoff::wake(&w.unparked, &self.driver_holder, id) {
            self.driver_unpark.unpark();
        }
        w.parker.unpark();
    }

    /// Any task anywhere that a worker could run.
    fn has_work(&self) -> bool {
        // SeqCst: read after the sleeper's fence (idle.rs); pairs with the LIFO swaps.
        !self.inject.is_empty()
            || self
                .workers
                .iter()
                .any(|w| !w.queue.is_empty() || !w.lifo.load(SeqCst).is_null())
    }

    /// Lets the driver dispatch ready I/O between ticks, if no sleeping worker holds it.
    fn poll_driver(&self) {
        if let Ok(mut driver) = self.driver.try_lock() {
            driver.drive_timeout(Duration::ZERO);
        }
    }
}

impl Schedule for Arc<Shared> {
    #[inline]
    fn schedule(&self, task: Notified) {
        self.schedule_task(task);
    }

    fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    fn observer(&self) -> Option<&dyn Observer> {
        self.as_ref().observer()
    }
}

impl Shared {
    fn observer(&self) -> Option<&dyn Observer> {
        crate::scheduler::observer(&self.monitor)
    }

    fn tasks(&self) -> Vec<TaskInfo> {
        self.owned.snapshot(self.observer())
    }

    fn metrics(&self) -> SchedulerMetrics {
        let per_worker = self
            .workers
            .iter()
            .map(|w| {
                let mut m = w.counters.read();
                m.unparks = w.unparks.get();
                // SeqCst: as in `has_work`; a statistic either way.
                m.local_depth = w.queue.len() + usize::from(!w.lifo.load(SeqCst).is_null());
                m
            })
            .collect();
        let m = SchedulerMetrics::from_workers(per_worker);
        crate::scheduler::finish_metrics(m, &self.owned, &self.inject, &self.monitor)
    }
}

impl Handle {
    /// Spawns a task onto the workers from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, TaskBuilder::new(), future, Location::caller())
    }

    /// [`spawn`](Self::spawn) with options (a name).
    #[track_caller]
    pub fn spawn_with<F>(&self, builder: TaskBuilder<'_>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, builder, future, Location::caller())
    }

    /// A snapshot of every live task.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.shared.tasks()
    }

    /// How many tasks are alive.
    pub fn live_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    /// The scheduler's counters, summed over its workers.
    pub fn metrics(&self) -> SchedulerMetrics {
        self.shared.metrics()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("multi_thread::Handle")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

impl std::fmt::Debug for MultiThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiThread")
            .field("workers", &self.shared.workers.len())
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;

#[cfg(all(test, not(eddy_loom)))]
mod tests;

impl queue::Overflow for Inject {
    fn push_batch(&self, tasks: Vec<Notified>) {
        Inject::push_batch(self, tasks);
    }
}
