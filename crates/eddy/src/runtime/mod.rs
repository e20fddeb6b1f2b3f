//! The runtime: one event loop made of the selector, the timer wheel and a scheduler.
//!
//! A [`Runtime`] owns a scheduler (one thread, or N work-stealing workers), a driver (the
//! reactor and the timer wheel; see `driver.rs`) that the scheduler parks in when it has
//! nothing to run, and a blocking pool. A [`Handle`] is a cheap, thread-safe reference to
//! it: [`Handle::current`] finds the runtime the calling thread belongs to, which is how
//! `eddy::spawn`, `eddy::sleep` and socket constructors find theirs.

pub(crate) mod builder;
mod context;
mod driver;
mod dump_signal;

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use eddy_executor::blocking::ShutdownReport;
use eddy_executor::{BlockingPool, JoinHandle, Scheduler, Spawner};

use crate::task::Hooked;

pub use builder::Builder;
pub(crate) use context::refuse_nested;
use driver::Driver;

/// An eddy runtime: build one with [`Runtime::builder`], or let [`eddy::run`](crate::run)
/// build a current-thread one for you.
///
/// Dropping the runtime shuts it down: every task still pending is cancelled (its future
/// dropped, on its own thread), sockets and timers are released, and blocking jobs get up
/// to 10 seconds to finish. [`shutdown_timeout`](Runtime::shutdown_timeout) chooses the wait
/// and reports what did not stop.
///
/// ```
/// let rt = eddy::Runtime::builder().current_thread().build()?;
/// let answer = rt.block_on(async {
///     let task = eddy::spawn(async { 6 * 7 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    scheduler: Option<Scheduler<Driver>>,
    handle: Handle,
}

/// A reference to a [`Runtime`]: spawn onto it, enter it, from any thread.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

struct Inner {
    /// The scheduler's handle, whichever its flavour.
    spawner: Spawner,
    net: eddy_net::Handle,
    timer: eddy_timer::Handle,
    blocking: Arc<BlockingPool>,
    flavor: Flavor,
    /// Debug mode is on (`Builder::debug`, `EDDY_DEBUG`).
    debug: bool,
    /// Virtual time's clock (`Builder::start_paused`).
    clock: Option<eddy_timer::VirtualClock>,
    /// The seed of seeded scheduling, if any (`Builder::seed`, `EDDY_SEED`).
    seed: Option<u64>,
    /// Wraps each spawned future when set (`Builder::task_hook`).
    task_hook: Option<crate::task::SharedHook>,
    /// Receives debug mode's shutdown listing instead of stderr (`Builder::on_pending_at_shutdown`).
    on_pending_at_shutdown: Option<crate::debug::PendingHook>,
}

/// Which scheduler a runtime uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// Every task runs on the thread that calls `block_on`, as in asyncio.
    CurrentThread,
    /// Tasks run on a pool of worker threads that steal work from each other.
    MultiThread,
}

impl Runtime {
    /// Options for a new runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` to completion on the calling thread, with the runtime's tasks, I/O and
    /// timers running meanwhile (on this thread for the current-thread flavour; on the
    /// workers for the multi-thread one). This is asyncio's `loop.run_until_complete`.
    ///
    /// As in asyncio, `future` runs as a task, named "main", until it completes:
    /// [`eddy::task::id`](crate::task::id) inside it is its id, the tasks it spawns are its
    /// children, [`Handle::dump`] lists it at this call's file and line, and debug mode
    /// reports its slow polls. Spawned-task counts ([`Handle::metrics`]) leave it out.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime (a task, or another `block_on`): blocking there would
    /// stall the runtime. The message says what to do instead. A panic inside `future`
    /// propagates to the caller.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _driving = context::Driving::enter("`Runtime::block_on`");
        let _enter = self.handle.enter();
        self.scheduler
            .as_ref()
            .expect("invariant: the scheduler lives until drop")
            .block_on(future)
    }

    /// Spawns a task onto this runtime; see [`eddy::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Shuts the runtime down: cancels every task still pending (dropping its future),
    /// releases sockets and timers, and waits at most `timeout` for blocking jobs that are
    /// already running. Returns the blocking jobs that were still running (their threads
    /// are left to finish on their own).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ShutdownReport {
        self.shutdown(timeout)
    }

    /// Prints [`Handle::dump`] to stderr each time `signal` (a number such as
    /// `libc::SIGUSR1`) arrives, for as long as the runtime lives; `EDDY_DUMP_ON_SIGNAL=1`
    /// does the same for `SIGUSR1` without code. The dump comes from eddy's signal thread,
    /// so it works when every worker is stuck. The handler is the one [`crate::signal`]
    /// listeners use: `dump_on(SIGINT)` and [`crate::signal::ctrl_c`] work together. It stays
    /// for the rest of the process's life, and a handler other code installed before it
    /// still runs after it.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a number that is not a signal or
    /// one that cannot be handled (`SIGKILL`, `SIGSTOP`, the fault signals); the system's
    /// error if the pipe or thread cannot be created.
    pub fn dump_on(&self, signal: libc::c_int) -> io::Result<()> {
        dump_signal::register(&self.handle, signal)
    }

    fn shutdown(&mut self, timeout: Duration) -> ShutdownReport {
        if self.handle.inner.debug {
            // Tasks already aborted are on their way out; the listing is about the others.
            let pending = self.handle.tasks().into_iter().filter(|t| !t.cancelled);
            let dump = crate::debug::Dump::new(pending.collect(), self.handle.inner.timer.now());
            if !dump.is_empty()
                && let Some(hook) = &self.handle.inner.on_pending_at_shutdown
            {
                hook(&dump);
            } else if !dump.is_empty() {
                let lost = dump.lost_wakes().count();
                eprint!(
                    "eddy debug: {} task(s) still pending at shutdown are cancelled now ({lost} \
                     lost wake(s)):\n{dump}",
                    dump.len()
                );
            }
        }
        // Dropping the scheduler cancels its tasks on their own threads and joins the
        // workers; dropping its driver then wakes anything still waiting on I/O. A future's
        // `Drop` may spawn, sleep or build a socket: the workers have the runtime entered,
        // and so must this thread, where the current-thread flavour drops its tasks.
        let entered = self.handle.enter();
        drop(self.scheduler.take());
        drop(entered);
        self.handle.inner.blocking.shutdown(timeout)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.scheduler.is_some() {
            self.shutdown(Duration::from_secs(10));
        }
    }
}

impl Handle {
    /// The runtime the calling thread belongs to: a worker's, or the one whose `block_on`
    /// is running here, or one entered with [`Handle::enter`].
    ///
    /// # Panics
    ///
    /// If there is none; the message says how to get one. [`Handle::try_current`] returns
    /// an error instead.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(e) => panic!("{e}"),
        }
    }

    /// The runtime the calling thread belongs to, if any.
    ///
    /// # Errors
    ///
    /// [`NoRuntime`] when the thread belongs to no runtime.
    pub fn try_current() -> Result<Handle, NoRuntime> {
        context::current().ok_or(NoRuntime(()))
    }

    /// Makes this runtime the current one on this thread until the guard drops: sockets,
    /// timers and `eddy::spawn` then use it. Guards nest: the runtime of the innermost
    /// guard still alive is current, so dropping an outer guard before an inner one ends
    /// only the outer scope.
    ///
    /// ```
    /// let a = eddy::Runtime::builder().current_thread().build()?;
    /// let b = eddy::Runtime::builder().multi_thread().worker_threads(1).build()?;
    /// let outer = a.handle().enter();
    /// let inner = b.handle().enter();
    /// drop(outer); // out of order: `b` stays current
    /// assert_eq!(eddy::Handle::current().flavor(), eddy::runtime::Flavor::MultiThread);
    /// drop(inner);
    /// assert!(eddy::Handle::try_current().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            entry: context::push(self.clone()),
            _net: self.inner.net.enter(),
            _timer: self.inner.timer.enter(),
            _not_send: std::marker::PhantomData,
        }
    }

    /// Which scheduler the runtime uses.
    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    /// Spawns a task onto this runtime; see [`eddy::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner.task_hook {
            None => self.inner.spawner.spawn(future),
            Some(hook) => {
                let hooked = Hooked::new(hook.clone(), None, Location::caller(), future);
                self.inner.spawner.spawn(hooked)
            }
        }
    }

    /// Spawns a named task, whose name shows in task snapshots and debug reports.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let builder = eddy_executor::TaskBuilder::new().name(name);
        match &self.inner.task_hook {
            None => self.inner.spawner.spawn_with(builder, future),
            Some(hook) => {
                let hooked = Hooked::new(hook.clone(), Some(name), Location::caller(), future);
                self.inner.spawner.spawn_with(builder, hooked)
            }
        }
    }

    /// Runs `future` on this runtime and blocks the calling thread until it is done —
    /// asyncio's `run_coroutine_threadsafe(coro, loop).result()`. For a plain thread (or a
    /// blocking job) that needs something from the runtime: a socket's answer, a value a
    /// task owns. The future runs as a task, so it may spawn, sleep and use sockets.
    ///
    /// ```
    /// let rt = eddy::Runtime::builder().multi_thread().worker_threads(1).build()?;
    /// let handle = rt.handle().clone();
    /// let answer = std::thread::spawn(move || {
    ///     handle.run_threadsafe(async {
    ///         eddy::sleep(std::time::Duration::from_millis(1)).await;
    ///         6 * 7
    ///     })
    /// });
    /// assert_eq!(answer.join().unwrap().unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// On a current-thread runtime the task runs while the runtime's own thread is in
    /// `block_on`, as asyncio's loop must be running. For a bound on the wait, wrap the
    /// future in [`eddy::timeout`](crate::timeout).
    ///
    /// # Errors
    ///
    /// The task's [`JoinError`](crate::task::JoinError): it panicked, or it was cancelled
    /// (the runtime shut down before it finished).
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a runtime (a task, or `block_on`'s future):
    /// blocking there would stall the tasks this one waits for. `.await` the future instead.
    #[track_caller]
    pub fn run_threadsafe<F>(&self, future: F) -> Result<F::Output, crate::task::JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        context::refuse_nested("`Handle::run_threadsafe`");
        let task = self.spawn(future);
        // This thread drives no runtime (checked above): park it until the task is done.
        eddy_executor::ThreadParker::new().block_on(task)
    }

    /// Runs `f` on the runtime's blocking pool; see [`eddy::spawn_blocking`](crate::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking.spawn_blocking(f)
    }

    /// A snapshot of every live task: id, name, spawn location, state, polls, busy time,
    /// age, parent.
    pub fn tasks(&self) -> Vec<eddy_executor::TaskInfo> {
        self.inner.spawner.tasks()
    }

    /// Every live task, printable as a tree (`Display`); see [`Dump`](crate::debug::Dump).
    /// Safe from any thread and from inside a task: it holds one shard of the task list's
    /// locks at a time, for one pass over that shard, never waits for a task, and never
    /// stops a worker.
    ///
    /// The future `block_on` (or `eddy::run`) drives is in it, as the task "main", for as
    /// long as `block_on` runs, with the tasks it spawned under it.
    ///
    /// ```
    /// eddy::run(async {
    ///     let _idle = eddy::spawn(std::future::pending::<()>());
    ///     eddy::yield_now().await; // let it run up to its first `Pending`
    ///     let dump = eddy::Handle::current().dump();
    ///     assert_eq!(dump.len(), 2, "main and the idle task");
    ///     let text = dump.to_string();
    ///     assert!(text.contains("\"main\"") && text.contains("idle"));
    /// });
    /// ```
    pub fn dump(&self) -> crate::debug::Dump {
        crate::debug::Dump::new(self.tasks(), self.inner.timer.now())
    }

    /// The runtime's counters: scheduler, blocking pool, timers, reactor. Each counter is
    /// kept by the thread that bumps it and summed here, so counting never contends.
    pub fn metrics(&self) -> crate::debug::Metrics {
        let scheduler = self.inner.spawner.metrics();
        crate::debug::Metrics {
            scheduler,
            blocking: self.inner.blocking.metrics(),
            timers: self.inner.timer.metrics(),
            io: self.inner.net.metrics(),
        }
    }

    /// Whether debug mode is on.
    pub fn debug_enabled(&self) -> bool {
        self.inner.debug
    }

    /// The runtime's virtual clock, if it was built with `start_paused`.
    pub(crate) fn virtual_clock(&self) -> Option<&eddy_timer::VirtualClock> {
        self.inner.clock.as_ref()
    }

    /// The timer driver's handle.
    pub(crate) fn timer(&self) -> &eddy_timer::Handle {
        &self.inner.timer
    }

    /// The seed of this runtime's scheduling ([`Builder::seed`] or `EDDY_SEED`), or `None`
    /// when tasks run first-in first-out.
    pub fn seed(&self) -> Option<u64> {
        self.inner.seed
    }
}

/// Keeps a runtime entered on this thread; from [`Handle::enter`].
#[must_use = "the runtime stays entered only while the guard lives"]
pub struct EnterGuard {
    entry: u64,
    _net: eddy_net::EnterGuard,
    _timer: eddy_timer::EnterGuard,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        context::pop(self.entry);
    }
}

/// The calling thread belongs to no eddy runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRuntime(());

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no eddy runtime is running on this thread: call this inside `eddy::run(async { ... })` \
             or `Runtime::block_on`, or enter a runtime with `eddy::Handle::enter()`",
        )
    }
}

impl std::error::Error for NoRuntime {}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.inner.flavor)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.inner.flavor)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
