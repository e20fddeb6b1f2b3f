//! The future passed to `block_on`, as the task list sees it: asyncio's main task.
//!
//! `block_on` polls its future in place rather than as a raw task (the future may borrow
//! from the caller's stack, and needs no allocation, queue or `JoinHandle`), but it is
//! watched and listed like one. While `block_on` runs, a [`MainTask`] record in the
//! scheduler's `OwnedTasks` gives the future a [`TaskId`], the name "main", the location
//! `block_on` was called from and the task polling when it was called (if any); each poll
//! runs under the same current-task mark as a task's (`PollingGuard`) and, in debug mode,
//! under a watchdog observation (`Observer::begin_main`).
//!
//! # Protocol
//!
//! - `block_on` registers the record ([`OwnedTasks::enter_main`]) before its first poll; the
//!   [`MainGuard`] it gets back removes it when `block_on` returns or unwinds, so snapshots
//!   list main exactly while `block_on` runs. Several `block_on`s of one multi-thread
//!   runtime may run at once, on different threads: each has its own record.
//! - Only the `block_on` thread writes `running` and `polls`, with plain stores (Relaxed);
//!   snapshots load them under the list's `mains` lock, which orders nothing about them.
//!   They are statistics, like a task's poll count: a snapshot may see a poll that has just
//!   begun as idle, never a torn or invented value.
//! - The `mains` vector has a mutex of its own, taken by `enter_main`, the guard's drop and
//!   snapshots; it is never taken while a shard's lock is held, nor a shard's while it is.
//! - Main is not counted by `OwnedTasks::len` or `spawned` (the `live_tasks` and `spawned`
//!   metrics count spawned tasks); `snapshot`, `ids` and `name` include it.
//!
//! Cost per poll of main, beyond the poll itself: the current-task thread-local and three
//! plain stores; in debug mode also the monitor's thread-local and the slot's stores.

use std::collections::HashMap;
use std::panic::Location;
use std::time::Duration;

use eddy_wake::wait::{self, WaitSlot};

use super::{Observation, Observer};
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering::Relaxed;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64};
use crate::loom::sync::lock;

use super::id::{PollingGuard, TaskId, current_task_id};
use super::list::OwnedTasks;
use super::{TaskInfo, TaskState};

/// The name every main future is listed under.
pub(crate) const MAIN_NAME: &str = "main";

/// One running `block_on`'s future, as snapshots see it.
pub(crate) struct MainTask {
    pub(crate) id: TaskId,
    /// Where `block_on` was called (`#[track_caller]` all the way from the user's call).
    location: &'static Location<'static>,
    /// The task whose poll called `block_on`, if any (a nested `block_on`).
    parent: Option<TaskId>,
    /// When `block_on` began, on the coarse clock (`clock.rs`).
    started_ns: u64,
    /// Completed polls. Written only by the `block_on` thread, with a load and a store;
    /// Relaxed: a statistic.
    polls: AtomicU64,
    /// A poll is running. Written only by the `block_on` thread; Relaxed: a statistic.
    running: AtomicBool,
    /// What its last poll waited on (`eddy_wake::wait`).
    wait: WaitSlot,
}

impl MainTask {
    fn new(location: &'static Location<'static>) -> MainTask {
        MainTask {
            id: TaskId::next(),
            location,
            parent: current_task_id(),
            started_ns: super::clock::coarse_now_ns(),
            polls: AtomicU64::new(0),
            running: AtomicBool::new(false),
            wait: WaitSlot::new(),
        }
    }

    /// Its `TaskInfo`; `slow` and `busy` are debug mode's, as for tasks (`list.rs`).
    pub(crate) fn info(
        &self,
        slow: &[TaskId],
        now: u64,
        busy: Option<&HashMap<TaskId, u64>>,
    ) -> TaskInfo {
        // Relaxed: statistics (module docs).
        let state = if !self.running.load(Relaxed) {
            TaskState::Idle
        } else if slow.contains(&self.id) {
            TaskState::SlowPoll
        } else {
            TaskState::Running
        };
        TaskInfo {
            id: self.id,
            name: Some(MAIN_NAME.to_owned()),
            location: self.location,
            state,
            // Nothing can abort main: it ends when `block_on` returns.
            cancelled: false,
            polls: self.polls.load(Relaxed),
            busy: busy.map(|b| Duration::from_nanos(b.get(&self.id).copied().unwrap_or(0))),
            age: Duration::from_nanos(now.saturating_sub(self.started_ns)),
            parent: self.parent,
            // Main is woken through `block_on`'s own waker, which `block_on` keeps: a wake
            // can always come (or the caller is stuck, which a dump shows as idle).
            lost_wake: false,
            wait: (self.polls.load(Relaxed) as u32)
                .checked_sub(1)
                .and_then(|poll| self.wait.read(poll)),
        }
    }
}

/// Lists a `block_on` future while it lives; from [`OwnedTasks::enter_main`].
pub(crate) struct MainGuard<'a> {
    list: &'a OwnedTasks,
    task: Arc<MainTask>,
}

impl OwnedTasks {
    /// Lists the future of a `block_on` called at `location` until the guard drops.
    pub(crate) fn enter_main(&self, location: &'static Location<'static>) -> MainGuard<'_> {
        let task = Arc::new(MainTask::new(location));
        lock(&self.mains).push(task.clone());
        MainGuard { list: self, task }
    }
}

impl MainGuard<'_> {
    /// Runs `poll` (one poll of the main future) as a task's poll runs: marked as the
    /// current task, counted, and observed by `monitor` when debug mode is on.
    #[inline]
    pub(crate) fn poll<R>(&self, observer: Option<&dyn Observer>, poll: impl FnOnce() -> R) -> R {
        let _polling = PollingGuard::enter(self.task.id);
        // Relaxed: only this thread writes the count (module docs).
        let _waits = wait::enter(&self.task.wait, self.task.polls.load(Relaxed) as u32);
        let _running = Running::start(&self.task, observer);
        poll()
    }
}

impl Drop for MainGuard<'_> {
    fn drop(&mut self) {
        self.list
            .mains
            .lock()
            .unwrap()
            .retain(|m| !Arc::ptr_eq(m, &self.task));
    }
}

/// One poll of main in progress; ends it on drop, so a panicking poll ends it too (a slot
/// left mid-poll would be reported as a slow poll for as long as its thread lives).
struct Running<'a> {
    task: &'a MainTask,
    observed: Option<Observation<'a>>,
}

impl<'a> Running<'a> {
    #[inline]
    fn start(task: &'a MainTask, observer: Option<&'a dyn Observer>) -> Running<'a> {
        // Relaxed: a statistic (module docs).
        task.running.store(true, Relaxed);
        let observed = observer.and_then(|o| o.begin_main(task.id, task.location));
        Running { task, observed }
    }
}

impl Drop for Running<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(observed) = self.observed.take() {
            observed.end();
        }
        // Relaxed: statistics; only this thread writes them (module docs).
        self.task.running.store(false, Relaxed);
        let polls = self.task.polls.load(Relaxed);
        self.task.polls.store(polls.wrapping_add(1), Relaxed);
    }
}
