//! The current-thread scheduler: every task runs on the thread that calls `block_on`.
//!
//! # Protocol
//!
//! - `local`: the run queue, touched only by the owning thread (a `RefCell`). A wake on the
//!   owning thread while `block_on` runs (or while the driver dispatches wakers from inside
//!   `park`) pushes here and needs no unpark: the loop looks at `local` before parking.
//! - `inject`: a mutex-protected queue for wakes and spawns from anywhere else, followed by
//!   an unpark of the driver: the crate's one `Inject` (`inject.rs`), shared with the
//!   multi-thread scheduler. Its pop checks the length hint first to skip the lock; a push
//!   it misses is covered by the unpark, which the next park consumes.
//! - The `block_on` future has its own waker (`MainWaker`): it sets `woken` and unparks.
//!   It is not a raw task, but is listed in `owned` and watched by debug mode as one, the
//!   "main" task, while `block_on` runs (`task/main_future.rs`).
//! - Shutdown (drop): close the owned list, cancel every task on this thread (their futures
//!   drop here, which is what lets `!Send` futures live in this scheduler), then drain both
//!   queues and close `inject` so late wakes only release their reference.
//! - Every `inject_tick`-th task comes from `inject` first, so remote wakes are not starved
//!   by a local queue that never empties; every `driver_tick` tasks the driver is polled
//!   with a zero timeout so I/O readiness is not starved either.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::coop;
use crate::debug::{DebugConfig, Monitor};
use crate::inject::Inject;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize};
use crate::metrics::{Counters, SchedulerMetrics, SharedCounter};
use crate::park::{Park, ThreadParker, Unpark};
use crate::task::{JoinHandle, Notified, Observer, OwnedTasks, Schedule, TaskBuilder, TaskInfo};
use eddy_wake::wait;

/// Tasks run between two looks at the inject queue first.
const INJECT_INTERVAL: u32 = 31;
/// Run-queue capacity kept once the queue drains; beyond it the buffer shrinks.
const RETAINED_QUEUE_CAPACITY: usize = 4096;
/// Tasks run between two zero-timeout polls of the driver.
const DRIVER_INTERVAL: u32 = 61;

/// A single-threaded runtime: `block_on` drives one future and every spawned task on the
/// calling thread, parking in the driver `P` when nothing is runnable.
///
/// ```
/// use eddy_executor::CurrentThread;
///
/// let rt = CurrentThread::new();
/// let sum = rt.block_on(async {
///     let a = eddy_executor::current_thread::spawn_local(async { 20 });
///     let b = eddy_executor::current_thread::spawn_local(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
pub struct CurrentThread<P: Park = ThreadParker> {
    local: Local,
    driver: RefCell<P>,
    /// Not `Send`: `!Send` tasks live here and are dropped by this thread.
    _not_send: PhantomData<*const ()>,
}

/// The owning thread's view: the run queue and the shared state.
struct Local {
    shared: Arc<Shared>,
    queue: RefCell<VecDeque<Notified>>,
    /// Seeded scheduling's generator ([`CurrentThreadBuilder::seed`]); `None` for FIFO.
    draw: Option<Cell<Draw>>,
}

/// The generator of seeded scheduling: SplitMix64, small, fast and the same everywhere
/// (the order of polls must not depend on the platform).
#[derive(Clone, Copy)]
struct Draw(u64);

impl Draw {
    fn new(seed: u64) -> Draw {
        Draw(seed)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The modulo's bias is at most n / 2^64: nothing a schedule can tell.
        (z % n as u64) as usize
    }
}

/// The state other threads (wakers, handles) reach.
struct Shared {
    /// std's `Arc`: debug mode's watchdog looks names up here (it holds no loom state).
    owned: std::sync::Arc<OwnedTasks>,
    inject: Inject,
    /// std's `Arc`: `Waker::from` needs it, and it holds no state loom must see.
    main: std::sync::Arc<MainWaker>,
    unpark: Box<dyn Unpark>,
    /// The `block_on` thread's counters (`metrics.rs`).
    counters: Counters,
    /// Unparks from other threads.
    unparks: SharedCounter,
    /// The local queue's length, stored by the owning thread once per batch of tasks.
    local_depth: AtomicUsize,
    /// Debug mode's monitor, when on.
    monitor: Option<Monitor>,
}

/// The waker of the future passed to `block_on`.
struct MainWaker {
    woken: AtomicBool,
    unpark: Box<dyn Unpark>,
}

impl Wake for MainWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // Release: pairs with the Acquire swap in `block_on`, which then sees whatever the
        // waker wrote before waking.
        self.woken.store(true, Release);
        // On the runtime's own thread `block_on` is running (or the driver is dispatching
        // from inside `park`): it checks `woken` before it parks again, so the unpark (an
        // eventfd write with a reactor driver) is skipped.
        let me: *const MainWaker = std::sync::Arc::as_ptr(self);
        let on_thread = CURRENT.with(|c| {
            // SAFETY: CURRENT is non-null only while the `Enter` guard of a live `Local`
            // exists on this thread.
            unsafe { c.get().as_ref() }
                .is_some_and(|l| std::ptr::eq(std::sync::Arc::as_ptr(&l.shared.main), me))
        });
        if !on_thread {
            self.unpark.unpark();
        }
    }
}

#[cfg(not(eddy_loom))]
thread_local! {
    /// The `Local` of the runtime whose `block_on` runs on this thread, if any.
    static CURRENT: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
}

// loom runs model threads on one OS thread, so std's thread-locals would be shared.
#[cfg(eddy_loom)]
loom::thread_local! {
    static CURRENT: Cell<*const Local> = Cell::new(std::ptr::null());
}

/// A thread-safe handle to a [`CurrentThread`] runtime, for spawning `Send` tasks from
/// anywhere.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl CurrentThread<ThreadParker> {
    /// A runtime with no I/O driver: it parks on a condition variable.
    pub fn new() -> CurrentThread<ThreadParker> {
        CurrentThread::builder().build()
    }
}

impl Default for CurrentThread<ThreadParker> {
    fn default() -> Self {
        CurrentThread::new()
    }
}

impl CurrentThread {
    /// Options for a new runtime, in the same shape as
    /// [`MultiThread::builder`](crate::MultiThread::builder).
    pub fn builder() -> CurrentThreadBuilder {
        CurrentThreadBuilder {
            debug: None,
            seed: None,
        }
    }
}

/// Builds a [`CurrentThread`]: debug mode, then the driver it parks in.
#[derive(Clone, Debug, Default)]
pub struct CurrentThreadBuilder {
    debug: Option<DebugConfig>,
    seed: Option<u64>,
}

impl CurrentThreadBuilder {
    /// Turns debug mode on: a watchdog reports polls slower than the configured threshold
    /// while they run, and busy time is sampled per task (`debug/`).
    pub fn debug(mut self, config: DebugConfig) -> CurrentThreadBuilder {
        self.debug = Some(config);
        self
    }

    /// Seeded scheduling: instead of first-in first-out, the next task to run is drawn
    /// from every runnable one (the local queue and the wakes from other threads) by a
    /// generator seeded with `seed`. The same seed and the same program (with no outside
    /// source of timing: other threads, real I/O) give the same order of polls, run after
    /// run; another seed gives another legal order. The `block_on` future still runs first
    /// whenever it is woken.
    pub fn seed(mut self, seed: u64) -> CurrentThreadBuilder {
        self.seed = Some(seed);
        self
    }

    /// A runtime with no I/O driver: it parks on a condition variable.
    pub fn build(self) -> CurrentThread<ThreadParker> {
        self.build_with_driver(ThreadParker::new())
    }

    /// A runtime that parks in `driver` (an I/O reactor, a timer driver, ...).
    pub fn build_with_driver<P: Park>(self, driver: P) -> CurrentThread<P> {
        CurrentThread::build(driver, self.debug, self.seed)
    }
}

impl<P: Park> CurrentThread<P> {
    /// A runtime that parks in `driver` (an I/O reactor, a timer driver, ...); the same as
    /// `CurrentThread::builder().build_with_driver(driver)`.
    pub fn with_driver(driver: P) -> CurrentThread<P> {
        CurrentThread::builder().build_with_driver(driver)
    }

    fn build(driver: P, debug: Option<DebugConfig>, seed: Option<u64>) -> CurrentThread<P> {
        let (owned, monitor) = crate::scheduler::task_list(1, debug);
        let main = std::sync::Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            unpark: Box::new(driver.unpark()),
        });
        let shared = Arc::new(Shared {
            owned,
            inject: Inject::new(),
            main,
            unpark: Box::new(driver.unpark()),
            counters: Counters::new(),
            unparks: SharedCounter::new(),
            local_depth: AtomicUsize::new(0),
            monitor,
        });
        CurrentThread {
            local: Local {
                shared,
                queue: RefCell::new(VecDeque::new()),
                draw: seed.map(|seed| Cell::new(Draw::new(seed))),
            },
            driver: RefCell::new(driver),
            _not_send: PhantomData,
        }
    }

    /// A handle for spawning from other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.local.shared.clone(),
        }
    }

    /// Spawns a `Send` task; it runs when `block_on` next drives the runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.local
            .spawn_local_with(TaskBuilder::new(), future, Location::caller())
    }

    /// Spawns a task that need not be `Send`; it is polled and dropped on this thread only.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local
            .spawn_local_with(TaskBuilder::new(), future, Location::caller())
    }

    /// [`spawn_local`](Self::spawn_local) with options.
    #[track_caller]
    pub fn spawn_local_with<F>(&self, builder: TaskBuilder<'_>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local
            .spawn_local_with(builder, future, Location::caller())
    }

    /// A snapshot of every live task (the facade's task dump).
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.local.shared.tasks()
    }

    /// How many tasks are alive (spawned and not yet complete).
    pub fn live_tasks(&self) -> usize {
        self.local.shared.owned.len()
    }

    /// The scheduler's counters.
    pub fn metrics(&self) -> SchedulerMetrics {
        self.local.shared.metrics()
    }

    /// Runs `future` to completion on this thread, running spawned tasks meanwhile.
    ///
    /// While it runs, `future` is the runtime's "main" task: it has an id
    /// ([`current_task_id`](crate::current_task_id) inside it, the parent of the tasks it
    /// spawns), shows in [`tasks`](Self::tasks) with the caller's location, and debug mode
    /// watches its polls. It is not counted by [`live_tasks`](Self::live_tasks) or the
    /// metrics, which count spawned tasks.
    ///
    /// # Panics
    /// When called from inside another `block_on` on the same thread (a task cannot block
    /// its own scheduler: spawn it instead). A panic of `future` itself propagates.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut driver = self
            .driver
            .try_borrow_mut()
            .expect("CurrentThread::block_on called re-entrantly; spawn the future instead");
        let _enter = Enter::new(&self.local);
        let shared = &self.local.shared;
        let main = shared.owned.enter_main(Location::caller());
        let observer = shared.observer();
        let waker = Waker::from(shared.main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        shared.main.woken.store(true, Relaxed);
        let mut tick: u32 = 0;
        // Polls of the main future and tasks run since the driver was last polled. The
        // driver is polled (without blocking) every `DRIVER_INTERVAL` of them, not each
        // time the main future is woken: with an I/O driver that poll is a system call, and
        // a `block_on` future that awaits one task after another would pay it per task.
        let mut since_driver: u32 = 0;
        // Wait records made before this thread's first park get this time, not 0 (which a
        // dump would print as the wait having lasted since the clock's origin).
        wait::set_clock_ms(crate::task::wait_clock_ms());
        loop {
            // Acquire: pairs with MainWaker's Release store.
            if shared.main.woken.swap(false, Acquire) {
                since_driver += 1;
                let poll = || coop::budgeted(|| future.as_mut().poll(&mut cx));
                if let Poll::Ready(out) = main.poll(observer, poll) {
                    return out;
                }
            }
            let mut ran = 0;
            while ran < DRIVER_INTERVAL {
                tick = tick.wrapping_add(1);
                let Some(task) = self.local.next_task(tick) else {
                    break;
                };
                shared.counters.poll();
                coop::budgeted(|| task.run());
                ran += 1;
                if shared.main.woken.load(Relaxed) {
                    break;
                }
            }
            since_driver += ran;
            // Relaxed: a statistic for `metrics`.
            shared
                .local_depth
                .store(self.local.queue.borrow().len(), Relaxed);
            if since_driver >= DRIVER_INTERVAL {
                driver.park_timeout(Duration::ZERO);
                since_driver = 0;
                // Wait records' timestamps (`eddy_wake::wait`) stay within this many polls.
                wait::set_clock_ms(crate::task::wait_clock_ms());
            } else if ran == 0 && !shared.main.woken.load(Relaxed) {
                // Nothing to run and the main future is not woken: sleep in the driver.
                shared.counters.park();
                driver.park();
                since_driver = 0;
                wait::set_clock_ms(crate::task::wait_clock_ms());
            }
        }
    }
}

impl<P: Park> Drop for CurrentThread<P> {
    fn drop(&mut self) {
        let _enter = Enter::new(&self.local);
        let shared = &self.local.shared;
        if let Some(m) = &shared.monitor {
            m.stop();
        }
        for task in shared.owned.close_and_drain() {
            task.shutdown();
        }
        self.local.queue.borrow_mut().clear();
        drop(shared.inject.close());
    }
}

impl Local {
    fn spawn_local_with<F>(
        &self,
        builder: TaskBuilder<'_>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let (join, notified) =
            self.shared
                .owned
                .bind(future, self.shared.clone(), builder, location);
        if let Some(n) = notified {
            // We are on the owning thread (`Local` is reached only from there), so the task
            // goes straight to the local queue, in spawn order with the tasks it will run
            // beside, whether or not `block_on` is running.
            self.queue.borrow_mut().push_back(n);
        }
        join
    }

    fn next_task(&self, tick: u32) -> Option<Notified> {
        if let Some(draw) = &self.draw {
            return self.draw_task(draw);
        }
        if tick.is_multiple_of(INJECT_INTERVAL) {
            self.shared
                .pop_inject()
                .or_else(|| self.queue.borrow_mut().pop_front())
        } else {
            let local = {
                let mut queue = self.queue.borrow_mut();
                let task = queue.pop_front();
                if task.is_none() && queue.capacity() > RETAINED_QUEUE_CAPACITY {
                    // A burst of spawns (a million at once) must not pin its queue's memory
                    // for the runtime's lifetime.
                    queue.shrink_to(RETAINED_QUEUE_CAPACITY);
                }
                task
            };
            local.or_else(|| self.shared.pop_inject())
        }
    }
}

impl Local {
    /// Seeded scheduling: every wake from elsewhere joins the local queue, then one task of
    /// all of them is drawn.
    fn draw_task(&self, draw: &Cell<Draw>) -> Option<Notified> {
        let mut queue = self.queue.borrow_mut();
        while let Some(task) = self.shared.pop_inject() {
            queue.push_back(task);
        }
        if queue.is_empty() {
            return None;
        }
        let mut d = draw.get();
        let i = d.below(queue.len());
        draw.set(d);
        queue.swap_remove_back(i)
    }
}

impl Shared {
    fn pop_inject(&self) -> Option<Notified> {
        self.inject.pop()
    }
}

impl Schedule for Arc<Shared> {
    #[inline]
    fn schedule(&self, task: Notified) {
        self.as_ref().schedule(task);
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
        let mut worker = self.counters.read();
        worker.unparks = self.unparks.get();
        // Relaxed: a statistic.
        worker.local_depth = self.local_depth.load(Relaxed);
        let m = SchedulerMetrics::from_workers(vec![worker]);
        crate::scheduler::finish_metrics(m, &self.owned, &self.inject, &self.monitor)
    }

    /// Queues a woken task: on the owning thread straight onto the local queue, from
    /// anywhere else through `inject`.
    ///
    /// Inlined into the poll harness (a yield re-queues its task through here), so the
    /// common local push pays no call; the remote path stays out of line.
    #[inline]
    fn schedule(&self, task: Notified) {
        let cur = CURRENT.with(Cell::get);
        // SAFETY: CURRENT is non-null only while the `Enter` guard of a live `Local` exists
        // on this thread, and that `Local` outlives the guard.
        match unsafe { cur.as_ref() } {
            Some(local) if std::ptr::eq(Arc::as_ptr(&local.shared), self) => {
                local.queue.borrow_mut().push_back(task);
            }
            _ => self.schedule_remote(task),
        }
    }

    /// The wake of a task from a thread other than its runtime's (or from outside
    /// `block_on`): through `inject`, then an unpark.
    #[cold]
    #[inline(never)]
    fn schedule_remote(&self, task: Notified) {
        if !self.inject.push(task) {
            // Shut down: the task's reference is dropped with it.
            return;
        }
        self.unparks.add();
        self.unpark.unpark();
    }
}

/// Marks this thread as running `local`'s scheduler; restores the previous mark on drop.
struct Enter {
    prev: *const Local,
}

impl Enter {
    fn new(local: &Local) -> Enter {
        let prev = CURRENT.with(|c| c.replace(local));
        Enter { prev }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

impl Handle {
    /// Spawns a `Send` task onto the runtime from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_inner(TaskBuilder::new(), future, Location::caller())
    }

    /// [`spawn`](Self::spawn) with options (a name).
    #[track_caller]
    pub fn spawn_with<F>(&self, builder: TaskBuilder<'_>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_inner(builder, future, Location::caller())
    }

    fn spawn_inner<F>(
        &self,
        builder: TaskBuilder<'_>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) =
            self.shared
                .owned
                .bind(future, self.shared.clone(), builder, location);
        if let Some(n) = notified {
            self.shared.schedule(n);
        }
        join
    }

    /// A snapshot of every live task.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.shared.tasks()
    }

    /// How many tasks are alive.
    pub fn live_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    /// The scheduler's counters.
    pub fn metrics(&self) -> SchedulerMetrics {
        self.shared.metrics()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

impl<P: Park> std::fmt::Debug for CurrentThread<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentThread")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

/// Spawns a `!Send` task onto the current-thread runtime whose `block_on` is running on
/// this thread.
///
/// # Panics
/// When no [`CurrentThread::block_on`] is running on this thread; call
/// [`CurrentThread::spawn_local`] on the runtime instead.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    let cur = CURRENT.with(Cell::get);
    // SAFETY: non-null only while a live `Local`'s `Enter` guard is on this thread (see
    // `Shared::schedule`); we use it before returning to the caller.
    let local = unsafe { cur.as_ref() }
        .expect("eddy_executor::current_thread::spawn_local called outside CurrentThread::block_on; use CurrentThread::spawn_local");
    local.spawn_local_with(TaskBuilder::new(), future, location)
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;
