//! The blocking pool (asyncio's `run_in_executor`): runs closures that block on threads of
//! their own, so they never stall a scheduler.
//!
//! # Protocol
//!
//! A blocking job is an ordinary task (so it gets a `JoinHandle`, `abort`, panic capture
//! and metadata for free) whose future runs the closure on its first poll. Scheduling it
//! sends its `Notified` over an unbounded channel (crossbeam-channel; a Mutex+Condvar queue
//! under loom) that every pool thread receives from.
//!
//! `counters` (one mutex) decides when to start a thread:
//! - `queued`: jobs sent and not yet received; `idle`: threads waiting in `recv`;
//!   `threads`: threads alive.
//! - A submitter increments `queued` and starts a thread when `idle < queued` and
//!   `threads < max_threads`, all under the lock, before sending. A receiver decrements
//!   `idle` and `queued` under the lock. So every job either finds a waiting thread or
//!   starts one (below the cap), and no job waits behind another job that blocks.
//! - A thread whose `recv` times out after `keep_alive` retires, unless `queued > 0` (a job
//!   is on its way to the channel): checked under the lock, so a retiring thread cannot
//!   strand a job counted before it looked.
//! - Shutdown sets `shutdown`, cancels every job not yet started (and drains the channel, so
//!   no queued reference keeps a task, and through it the pool, alive), wakes idle threads with
//!   an empty message, and waits (bounded) for `threads == 0`; jobs still running then are
//!   reported, not waited for.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::channel::{self, Receiver, RecvTimeoutError, Sender};
use crate::loom::sync::lock;
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule, TaskBuilder, TaskInfo, TaskState};
use std::sync::PoisonError;

/// Default cap on pool threads.
pub const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle pool thread waits for work before it exits.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// Default time `Drop` waits for running jobs, unless [`BlockingPool::shutdown`] already ran.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of threads for blocking work; see the module docs.
///
/// ```
/// use eddy_executor::{BlockingPool, CurrentThread};
///
/// let pool = BlockingPool::new();
/// let rt = CurrentThread::new();
/// let len = rt.block_on(pool.spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count())));
/// assert!(len.unwrap().is_ok());
/// ```
pub struct BlockingPool {
    inner: Arc<Inner>,
    shutdown_timeout: Duration,
}

/// Settings for a [`BlockingPool`].
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    max_threads: usize,
    keep_alive: Duration,
    shutdown_timeout: Duration,
    thread_name: String,
}

/// A blocking pool's state: from [`BlockingPool::metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockingMetrics {
    /// Threads running a job (or about to pick one up).
    pub busy: usize,
    /// Threads waiting for a job.
    pub idle: usize,
    /// Jobs submitted and not yet picked up by a thread.
    pub queued: usize,
    /// The cap on threads.
    pub max_threads: usize,
}

/// What `shutdown` left behind: jobs still running when the wait ran out.
#[derive(Debug)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs that had started and not finished by the deadline; their threads are detached.
    pub still_running: Vec<TaskInfo>,
}

impl ShutdownReport {
    /// `true` when every thread exited in time.
    pub fn is_clean(&self) -> bool {
        self.still_running.is_empty()
    }
}

struct Inner {
    tx: Sender<Option<Notified>>,
    rx: Receiver<Option<Notified>>,
    owned: OwnedTasks,
    counters: Mutex<Counters>,
    /// Signalled when a thread exits.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

#[derive(Default)]
struct Counters {
    threads: usize,
    idle: usize,
    queued: usize,
    shutdown: bool,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            max_threads: DEFAULT_MAX_THREADS,
            keep_alive: DEFAULT_KEEP_ALIVE,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            thread_name: "eddy-blocking".to_owned(),
        }
    }
}

impl PoolBuilder {
    /// Caps the number of threads; `0` is treated as `1`. Jobs beyond the cap queue.
    pub fn max_threads(mut self, n: usize) -> PoolBuilder {
        self.max_threads = n.max(1);
        self
    }

    /// How long an idle thread waits for work before it exits.
    pub fn keep_alive(mut self, d: Duration) -> PoolBuilder {
        self.keep_alive = d;
        self
    }

    /// How long dropping the pool waits for running jobs.
    pub fn shutdown_timeout(mut self, d: Duration) -> PoolBuilder {
        self.shutdown_timeout = d;
        self
    }

    /// The name given to pool threads.
    pub fn thread_name(mut self, name: impl Into<String>) -> PoolBuilder {
        self.thread_name = name.into();
        self
    }

    /// A pool with these settings; it starts no thread until the first job.
    pub fn build(self) -> BlockingPool {
        let (tx, rx) = channel::unbounded();
        BlockingPool {
            inner: Arc::new(Inner {
                tx,
                rx,
                owned: OwnedTasks::new(4),
                counters: Mutex::new(Counters::default()),
                exited: Condvar::new(),
                max_threads: self.max_threads,
                keep_alive: self.keep_alive,
                thread_name: self.thread_name,
            }),
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

impl Default for BlockingPool {
    fn default() -> Self {
        BlockingPool::new()
    }
}

impl BlockingPool {
    /// A pool with the default settings (512 threads, 10 s keep-alive).
    pub fn new() -> BlockingPool {
        PoolBuilder::default().build()
    }

    /// Settings for a pool.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Runs `f` on a pool thread. Awaiting the handle gives its result, or
    /// `JoinError::Panicked` if it panicked, or `JoinError::Cancelled` if it was aborted
    /// (or the pool shut down) before it started; a job that has started runs to the end.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_with(TaskBuilder::new(), f)
    }

    /// [`spawn_blocking`](Self::spawn_blocking) with options (a name).
    #[track_caller]
    pub fn spawn_blocking_with<F, R>(&self, builder: TaskBuilder<'_>, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (join, notified) = self.inner.owned.bind(
            BlockingTask(Some(f)),
            self.inner.clone(),
            builder,
            Location::caller(),
        );
        if let Some(n) = notified {
            Inner::submit(&self.inner, n);
        }
        join
    }

    /// Jobs queued or running.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.inner.owned.snapshot(None)
    }

    /// Threads alive now (busy or idle).
    pub fn threads(&self) -> usize {
        lock(&self.inner.counters).threads
    }

    /// Threads busy and idle, and jobs waiting for a thread.
    pub fn metrics(&self) -> BlockingMetrics {
        let c = lock(&self.inner.counters);
        BlockingMetrics {
            busy: c.threads.saturating_sub(c.idle),
            idle: c.idle,
            queued: c.queued,
            max_threads: self.inner.max_threads,
        }
    }

    /// Stops the pool: jobs not yet started are cancelled, idle threads exit, and running
    /// jobs get up to `timeout` to finish. Those still running are reported (their threads
    /// are left to finish on their own). Later `spawn_blocking` calls yield cancelled
    /// handles.
    ///
    /// Only the first call stops and waits: later calls, and dropping the pool after one,
    /// return at once with an empty report, so a pool shut down with a short timeout is not
    /// waited for again (with the default timeout) when its last reference drops.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now().checked_add(timeout);
        let threads = {
            let mut c = lock(&self.inner.counters);
            if c.shutdown {
                return ShutdownReport {
                    still_running: Vec::new(),
                };
            }
            c.shutdown = true;
            c.threads
        };
        let infos = self.inner.owned.snapshot(None);
        let mut running = Vec::new();
        for task in self.inner.owned.close_and_drain() {
            if task.header().state.load().is(crate::task::state::RUNNING) {
                running.push(task);
            } else {
                task.shutdown();
            }
        }
        // Queued `Notified`s hold task references, and tasks hold the pool: drain them
        // (their tasks were just cancelled) so nothing is left in a reference cycle.
        while let Ok(queued) = self.inner.rx.try_recv() {
            drop(queued);
        }
        for _ in 0..threads {
            let _ = self.inner.tx.send(None);
        }
        let mut c = lock(&self.inner.counters);
        while c.threads > 0 {
            match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                Some(left) if left.is_zero() => break,
                Some(left) => {
                    c = self
                        .inner
                        .exited
                        .wait_timeout(c, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => {
                    c = self
                        .inner
                        .exited
                        .wait(c)
                        .unwrap_or_else(PoisonError::into_inner)
                }
            }
        }
        drop(c);
        let mut still_running = Vec::new();
        for task in running {
            let finished = task.header().state.load().is(crate::task::state::COMPLETE);
            if let (false, Some(info)) = (finished, infos.iter().find(|i| i.id == task.id())) {
                let mut info = info.clone();
                info.state = TaskState::Running;
                still_running.push(info);
            }
            task.shutdown();
        }
        ShutdownReport { still_running }
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        let _ = self.shutdown(self.shutdown_timeout);
    }
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("threads", &self.threads())
            .finish()
    }
}

impl Inner {
    fn submit(this: &Arc<Self>, task: Notified) {
        let inner = &**this;
        let start = {
            let mut c = lock(&inner.counters);
            if c.shutdown {
                // Only possible for a re-schedule racing shutdown; shutdown cancels it.
                drop(c);
                drop(task);
                return;
            }
            c.queued += 1;
            let start = c.idle < c.queued && c.threads < inner.max_threads;
            if start {
                c.threads += 1;
            }
            // Sent under the lock, so once `shutdown` is set nothing new enters the
            // channel and shutdown's drain is final.
            let _ = inner.tx.send(Some(task));
            start
        };
        if start {
            Inner::start_thread(this);
        }
    }

    fn start_thread(this: &Arc<Self>) {
        let inner = this.clone();
        let spawned = crate::loom::thread::Builder::new()
            .name(this.thread_name.clone())
            .spawn(move || inner.run_worker());
        if spawned.is_err() {
            // The job stays queued for the next thread to start (next submit) or an
            // existing one to pick up.
            lock(&this.counters).threads -= 1;
            this.exited.notify_all();
        }
    }

    fn run_worker(&self) {
        let mut c = lock(&self.counters);
        loop {
            if c.shutdown {
                break;
            }
            c.idle += 1;
            drop(c);
            let res = self.rx.recv_timeout(self.keep_alive);
            c = lock(&self.counters);
            c.idle -= 1;
            match res {
                Ok(Some(task)) => {
                    c.queued -= 1;
                    drop(c);
                    task.run();
                    c = lock(&self.counters);
                }
                Ok(None) => {}
                Err(RecvTimeoutError::Timeout) if c.queued > 0 => {}
                Err(_) => break,
            }
        }
        c.threads -= 1;
        drop(c);
        self.exited.notify_all();
    }
}

impl Schedule for Arc<Inner> {
    fn schedule(&self, task: Notified) {
        // A blocking job is scheduled once at spawn and again only by `abort` (to drop it
        // before it starts); either way a thread must pick it up.
        Inner::submit(self, task);
    }

    fn owned(&self) -> &OwnedTasks {
        &self.owned
    }
}

/// The future wrapping a blocking closure: runs it on first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("invariant: a blocking task is polled once");
        Poll::Ready(f())
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
