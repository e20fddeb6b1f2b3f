//! Tasks: asyncio's `create_task`, `Task.cancel()`, `gather` and task groups.
//!
//! A task is a future the runtime runs on its own, concurrently with the others; its
//! [`JoinHandle`] is asyncio's `Task` object: `.await` it for the result, `abort()` it to
//! cancel. Unlike asyncio, cancellation throws nothing into the task: the future is simply
//! dropped at its next scheduling point, so cleanup belongs in `Drop`.

mod group;
mod join_set;

use std::future::Future;

pub use eddy_executor::{
    AbortHandle, JoinError, JoinHandle, TaskId, TaskInfo, TaskState, yield_now,
};
pub use group::{Failure, GroupError, TaskGroup};
pub use join_set::JoinSet;

use crate::runtime::{Flavor, Handle};

/// The id of the task running this code: asyncio's `current_task()`, as an id (look it up
/// in [`Handle::dump`](crate::Handle::dump) for its name, parent and state). `None` outside
/// a task, for example in `block_on`'s own future.
///
/// ```
/// eddy::run(async {
///     assert_eq!(eddy::task::id(), None);
///     let task = eddy::spawn(async { eddy::task::id() });
///     let id = task.id();
///     assert_eq!(task.await.unwrap(), Some(id));
/// });
/// ```
pub fn id() -> Option<TaskId> {
    eddy_executor::current_task_id()
}

/// Spawns `future` as a new task on the current runtime and returns its handle — asyncio's
/// `asyncio.create_task(coro)`. The task starts running at the runtime's next turn, even if
/// the handle is never awaited; dropping the handle detaches the task, it does not cancel it.
///
/// ```
/// eddy::run(async {
///     let slow = eddy::spawn(async { 1 + 1 });
///     assert_eq!(slow.await.unwrap(), 2);
/// });
/// ```
///
/// # Panics
///
/// Outside a runtime; the message says to use `eddy::run` or `Handle::enter`.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().spawn(future)
}

/// Spawns a `!Send` future (one holding an `Rc`, say) on the current-thread runtime
/// running on this thread.
///
/// # Panics
///
/// Outside a current-thread runtime's `block_on` (a multi-thread runtime moves tasks between
/// threads, so it cannot run `!Send` futures); the message says what to use instead.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match Handle::try_current().map(|h| h.flavor()) {
        Ok(Flavor::MultiThread) => panic!(
            "eddy::spawn_local needs a current-thread runtime (`eddy::run` or \
             `Runtime::builder().current_thread()`): a multi-thread runtime moves tasks between \
             threads, so use `eddy::spawn` with a `Send` future there"
        ),
        _ => eddy_executor::current_thread::spawn_local(future),
    }
}

/// Runs the blocking function `f` on the runtime's blocking pool and returns a handle to
/// its result — asyncio's `loop.run_in_executor(None, f)`. Use it for CPU-heavy work and
/// for calls that block (file I/O, a synchronous library): on a runtime thread they would
/// stall every other task.
///
/// # Panics
///
/// Outside a runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}
