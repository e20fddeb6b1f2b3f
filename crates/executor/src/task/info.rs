//! `TaskInfo`: one task as a snapshot sees it, and its `TaskState`.

use std::panic::Location;
use std::time::Duration;

use eddy_wake::wait::WaitRecord;

use super::TaskId;

/// What a task is doing at the moment of a snapshot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for a wake.
    Idle,
    /// In a run queue.
    Scheduled,
    /// Being polled (or cancelled) right now.
    Running,
    /// Being polled, and the poll has run past debug mode's slow-poll threshold.
    SlowPoll,
    /// Finished; its output waits for the `JoinHandle`.
    Complete,
}

/// One live task, as a snapshot sees it.
///
/// Snapshots also list the future each running `block_on` drives, as a task named "main":
/// its location is where `block_on` was called, its state `Running` (or `SlowPoll`) while
/// it is polled and `Idle` otherwise, and it is never `cancelled` nor a `lost_wake`. It
/// leaves the list when `block_on` returns. Counts of spawned tasks (`live_tasks`, the
/// metrics' `spawned`) leave it out.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given through [`TaskBuilder::name`](super::TaskBuilder::name).
    pub name: Option<String>,
    /// Where the task was spawned (for a main task, where `block_on` was called).
    pub location: &'static Location<'static>,
    /// What it was doing.
    pub state: TaskState,
    /// Whether it has been aborted.
    pub cancelled: bool,
    /// How many times it has been polled.
    pub polls: u64,
    /// Time spent inside its `poll`, sampled by debug mode's monitor every tick
    /// (`slow_poll_threshold / 10`, 1–10 ms); `None` when debug mode is off.
    pub busy: Option<Duration>,
    /// Time since it was spawned (to within a few milliseconds).
    pub age: Duration,
    /// The task whose poll spawned it (for a main task, whose poll called `block_on`);
    /// `None` for a task spawned from outside any task.
    pub parent: Option<TaskId>,
    /// Pending with no waker left anywhere: nothing can wake it again (only `abort` or
    /// shutdown ends it). asyncio calls this "Task was destroyed but it is pending".
    pub lost_wake: bool,
    /// What its last poll returned `Pending` on, if an eddy future said so (a socket, a
    /// timer, a `JoinHandle`, a channel, ...); `None` for a task that has not waited yet,
    /// waits on something eddy does not know, or was being rewritten at that instant.
    pub wait: Option<WaitRecord>,
}
