//! Task identity: `TaskId`, and which task this thread is polling.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// A task's identifier, unique among all tasks this process spawns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        TaskId(crate::loom::next_task_id())
    }

    /// The id `n` (from [`as_u64`](Self::as_u64)); panics on 0, which no task has.
    pub(crate) fn from_u64(n: u64) -> TaskId {
        TaskId(NonZeroU64::new(n).expect("invariant: task ids start at 1"))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

#[cfg(not(eddy_loom))]
thread_local! {
    /// The task being polled on this thread, if any.
    static CURRENT: Cell<Option<TaskId>> = const { Cell::new(None) };
}

// loom runs model threads on one OS thread, so std's thread-locals would be shared.
#[cfg(eddy_loom)]
loom::thread_local! {
    static CURRENT: Cell<Option<TaskId>> = Cell::new(None);
}

/// The id of the task being polled on this thread; `None` outside a task (on a thread eddy
/// does not run, or between polls). The future `block_on` drives is a task too, the "main"
/// task, listed in snapshots while `block_on` runs; so is a blocking job, whose closure sees
/// its own id.
///
/// asyncio's `current_task()`, as an id; the dump shows what it belongs to.
///
/// ```
/// use eddy_executor::{CurrentThread, current_task_id};
///
/// let rt = CurrentThread::new();
/// assert_eq!(current_task_id(), None);
/// let task = rt.spawn(async { current_task_id() });
/// let id = task.id();
/// assert_eq!(rt.block_on(task).unwrap(), Some(id));
/// // `block_on`'s future is the main task, and the parent of the tasks it spawns.
/// let (main, child) = rt.block_on(async {
///     let child = eddy_executor::current_thread::spawn_local(std::future::pending::<()>());
///     (current_task_id().unwrap(), child.id())
/// });
/// let tasks = rt.tasks();
/// assert_eq!(tasks.iter().find(|t| t.id == child).unwrap().parent, Some(main));
/// assert!(tasks.iter().all(|t| t.id != main), "main leaves when block_on returns");
/// ```
pub fn current_task_id() -> Option<TaskId> {
    CURRENT.with(Cell::get)
}

/// Marks `id` as the task being polled until the guard drops (restoring what was there, so
/// a task polled inside another task's poll — a nested `block_on` — unwinds correctly).
pub(crate) struct PollingGuard(Option<TaskId>);

impl PollingGuard {
    #[inline]
    pub(crate) fn enter(id: TaskId) -> PollingGuard {
        PollingGuard(CURRENT.with(|c| c.replace(Some(id))))
    }
}

impl Drop for PollingGuard {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// A task id from its number ([`TaskId::as_u64`]), for tools that read ids back (a dump's
/// JSON); 0, which no task has, is an error.
impl TryFrom<u64> for TaskId {
    type Error = InvalidTaskId;

    fn try_from(n: u64) -> Result<TaskId, InvalidTaskId> {
        NonZeroU64::new(n).map(TaskId).ok_or(InvalidTaskId(()))
    }
}

/// 0 is not a task id: from `TaskId::try_from`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InvalidTaskId(());

impl fmt::Display for InvalidTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0 is not a task id: task ids start at 1")
    }
}

impl std::error::Error for InvalidTaskId {}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
