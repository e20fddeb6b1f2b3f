//! `ShutdownReport`: what a `TaskTracker::shutdown` had to cancel, and what finished.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::task::TaskId;

/// What [`TaskTracker::shutdown`](super::TaskTracker::shutdown) saw: how many tracked
/// tasks finished on their own while it ran, and each one it had to cancel.
///
/// Its `Display` is meant for a log, one line per cancelled task, in spawn order:
///
/// ```text
/// shutdown: 2 tasks finished, 2 cancelled after the 2s grace period:
///   task 4 "conn 127.0.0.1:47886" spawned at crates/eddy/examples/graceful/mod.rs:119:17
///   task 6 "conn 127.0.0.1:47896" spawned at crates/eddy/examples/graceful/mod.rs:119:17
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownReport {
    grace: Duration,
    finished: usize,
    panicked: usize,
    cancelled: Vec<CancelledTask>,
}

/// One task a shutdown cancelled: its id, name and spawn site.
#[derive(Clone, Debug)]
pub struct CancelledTask {
    id: Option<TaskId>,
    name: Option<String>,
    location: &'static Location<'static>,
}

impl ShutdownReport {
    pub(super) fn new(
        grace: Duration,
        finished: usize,
        panicked: usize,
        mut cancelled: Vec<CancelledTask>,
    ) -> ShutdownReport {
        cancelled.sort_by_key(|task| task.id);
        ShutdownReport {
            grace,
            finished,
            panicked,
            cancelled,
        }
    }

    /// The tasks that were cancelled (dropped before they finished), in spawn order.
    pub fn cancelled(&self) -> &[CancelledTask] {
        &self.cancelled
    }

    /// How many tracked tasks ended on their own while the shutdown ran (returned or
    /// panicked), including any that finished while being cancelled.
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// How many of the [`finished`](ShutdownReport::finished) tasks panicked.
    pub fn panicked(&self) -> usize {
        self.panicked
    }

    /// The grace period the shutdown gave.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Whether every task finished on its own: nothing was cancelled.
    pub fn is_clean(&self) -> bool {
        self.cancelled.is_empty()
    }
}

impl CancelledTask {
    pub(super) fn new(
        id: Option<TaskId>,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> CancelledTask {
        CancelledTask { id, name, location }
    }

    /// The task's id, as in its `JoinHandle` and in task dumps. `None` only for a task
    /// dropped before `spawn` returned, which happens when its runtime was shutting down
    /// and refused it (it never ran).
    pub fn id(&self) -> Option<TaskId> {
        self.id
    }

    /// The name it was spawned with ([`spawn_named`](super::TaskTracker::spawn_named)).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned: the line that called the tracker's `spawn`.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

/// `task 14 "conn 1" spawned at src/main.rs:10:5`.
impl fmt::Display for CancelledTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "task {id}")?,
            None => f.write_str("a task refused by its runtime")?,
        }
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(f, " spawned at {}", self.location)
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = |n: usize| if n == 1 { "task" } else { "tasks" };
        write!(
            f,
            "shutdown: {} {} finished",
            self.finished,
            tasks(self.finished)
        )?;
        if self.panicked > 0 {
            write!(f, " ({} panicked)", self.panicked)?;
        }
        if self.cancelled.is_empty() {
            return write!(f, ", none cancelled (grace period {:?})", self.grace);
        }
        write!(
            f,
            ", {} cancelled after the {:?} grace period:",
            self.cancelled.len(),
            self.grace
        )?;
        for task in &self.cancelled {
            write!(f, "\n  {task}")?;
        }
        Ok(())
    }
}
