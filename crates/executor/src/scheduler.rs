//! Either scheduler behind one type: [`Scheduler`] owns one, [`Spawner`] is a handle to it.
//!
//! A runtime that lets its user pick the flavour (the eddy facade) holds these instead of
//! matching on the flavour at every call: spawning, snapshots and metrics go through
//! `Spawner`, `block_on` and shutdown through `Scheduler`.

use std::future::Future;

use crate::debug::{DebugConfig, Monitor};
use crate::inject::Inject;
use crate::metrics::SchedulerMetrics;
use crate::park::{Park, ThreadParker};
use crate::task::{JoinHandle, Observer, OwnedTasks, TaskBuilder, TaskInfo};
use crate::{CurrentThread, MultiThread, current_thread, multi_thread};

/// A scheduler of either flavour, owned: dropping it shuts it down (see each flavour's
/// `Drop`).
pub enum Scheduler<P: Park = ThreadParker> {
    /// Every task runs on the thread that calls `block_on`.
    CurrentThread(CurrentThread<P>),
    /// Tasks run on work-stealing worker threads.
    MultiThread(MultiThread),
}

/// A cheap, thread-safe handle to a scheduler of either flavour.
#[derive(Clone, Debug)]
pub enum Spawner {
    /// A [`CurrentThread`]'s handle.
    CurrentThread(current_thread::Handle),
    /// A [`MultiThread`]'s handle.
    MultiThread(multi_thread::Handle),
}

impl<P: Park> Scheduler<P> {
    /// A handle for spawning from anywhere.
    pub fn spawner(&self) -> Spawner {
        match self {
            Scheduler::CurrentThread(rt) => Spawner::CurrentThread(rt.handle()),
            Scheduler::MultiThread(rt) => Spawner::MultiThread(rt.handle()),
        }
    }

    /// Runs `future` to completion on the calling thread; see each flavour's `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Scheduler::CurrentThread(rt) => rt.block_on(future),
            Scheduler::MultiThread(rt) => rt.block_on(future),
        }
    }
}

impl<P: Park> From<CurrentThread<P>> for Scheduler<P> {
    fn from(rt: CurrentThread<P>) -> Self {
        Scheduler::CurrentThread(rt)
    }
}

impl<P: Park> From<MultiThread> for Scheduler<P> {
    fn from(rt: MultiThread) -> Self {
        Scheduler::MultiThread(rt)
    }
}

impl Spawner {
    /// Spawns a `Send` task from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(TaskBuilder::new(), future)
    }

    /// [`spawn`](Self::spawn) with options (a name).
    #[track_caller]
    pub fn spawn_with<F>(&self, builder: TaskBuilder<'_>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Spawner::CurrentThread(h) => h.spawn_with(builder, future),
            Spawner::MultiThread(h) => h.spawn_with(builder, future),
        }
    }

    /// A snapshot of every live task.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        match self {
            Spawner::CurrentThread(h) => h.tasks(),
            Spawner::MultiThread(h) => h.tasks(),
        }
    }

    /// How many spawned tasks are alive.
    pub fn live_tasks(&self) -> usize {
        match self {
            Spawner::CurrentThread(h) => h.live_tasks(),
            Spawner::MultiThread(h) => h.live_tasks(),
        }
    }

    /// The scheduler's counters.
    pub fn metrics(&self) -> SchedulerMetrics {
        match self {
            Spawner::CurrentThread(h) => h.metrics(),
            Spawner::MultiThread(h) => h.metrics(),
        }
    }
}

impl From<current_thread::Handle> for Spawner {
    fn from(h: current_thread::Handle) -> Self {
        Spawner::CurrentThread(h)
    }
}

impl From<multi_thread::Handle> for Spawner {
    fn from(h: multi_thread::Handle) -> Self {
        Spawner::MultiThread(h)
    }
}

impl<P: Park> std::fmt::Debug for Scheduler<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scheduler::CurrentThread(rt) => f.debug_tuple("CurrentThread").field(rt).finish(),
            Scheduler::MultiThread(rt) => f.debug_tuple("MultiThread").field(rt).finish(),
        }
    }
}

/// The task list both schedulers keep (polled by `threads` threads, plus spawners) and, with
/// debug mode on, its monitor, already watching it.
pub(crate) fn task_list(
    threads: usize,
    debug: Option<DebugConfig>,
) -> (std::sync::Arc<OwnedTasks>, Option<Monitor>) {
    // std's `Arc`: debug mode's watchdog looks names up in the list (it holds no loom state).
    let owned = std::sync::Arc::new(OwnedTasks::new(threads));
    let monitor = debug.map(|config| {
        let monitor = Monitor::new(config);
        monitor.start(owned.clone());
        monitor
    });
    (owned, monitor)
}

/// Debug mode's monitor, as the task module sees it.
pub(crate) fn observer(monitor: &Option<Monitor>) -> Option<&dyn Observer> {
    monitor.as_ref().map(|m| m as &dyn Observer)
}

/// The counters every scheduler takes from its task list, inject queue and monitor.
pub(crate) fn finish_metrics(
    mut m: SchedulerMetrics,
    owned: &OwnedTasks,
    inject: &Inject,
    monitor: &Option<Monitor>,
) -> SchedulerMetrics {
    m.live_tasks = owned.len();
    m.spawned = owned.spawned();
    m.inject_depth = inject.len();
    m.slow_polls = monitor.as_ref().map_or(0, Monitor::slow_polls);
    m
}
