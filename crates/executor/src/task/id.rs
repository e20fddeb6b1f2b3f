//! Task identity and metadata: `TaskId`, the spawn `Builder`, and `TaskInfo` snapshots.

use std::fmt;
use std::num::NonZeroU64;
use std::panic::Location;
use std::time::Duration;

/// A task's identifier, unique among all tasks this process spawns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        TaskId(crate::loom::next_task_id())
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Options for spawning one task; today its name.
///
/// ```
/// use eddy_executor::{Builder, CurrentThread};
///
/// let rt = CurrentThread::new();
/// let h = rt.handle().spawn_with(Builder::new().name("greeter"), async { "hi" });
/// assert_eq!(rt.tasks()[0].name.as_deref(), Some("greeter"));
/// assert_eq!(rt.block_on(h).unwrap(), "hi");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder<'a> {
    pub(crate) name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task; the name shows in [`TaskInfo`] (task dumps, debug reports).
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }
}

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
    /// Finished; its output waits for the `JoinHandle`.
    Complete,
}

/// One live task, as a snapshot sees it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given through [`Builder::name`].
    pub name: Option<String>,
    /// Where the task was spawned.
    pub location: &'static Location<'static>,
    /// What it was doing.
    pub state: TaskState,
    /// Whether it has been aborted.
    pub cancelled: bool,
    /// How many times it has been polled.
    pub polls: u64,
    /// Total time spent inside its `poll`.
    pub busy: Duration,
}
