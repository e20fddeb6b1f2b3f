//! Tasks: asyncio's `create_task`, `Task.cancel()`, `gather` and task groups.
//!
//! A task is a future the runtime runs on its own, concurrently with the others; its
//! [`JoinHandle`] is asyncio's `Task` object: `.await` it for the result, `abort()` it to
//! cancel. Unlike asyncio, cancellation throws nothing into the task: the future is simply
//! dropped at its next scheduling point, so cleanup belongs in `Drop`.

mod group;
mod hook;
mod join_set;
mod tracker;

use std::future::Future;
use std::time::Duration;

pub use eddy_executor::{
    AbortHandle, AbortOnDrop, JoinError, JoinHandle, TaskId, TaskInfo, TaskState, yield_now,
};
pub use group::{Failure, GroupClosed, GroupError, GroupSpawner, TaskGroup};
pub(crate) use hook::{Hooked, SharedHook};
pub use hook::{SpawnedTask, TaskHook, TaskPolls};
pub use join_set::JoinSet;
pub use tracker::{CancelledTask, ShutdownReport, TaskTracker, TrackerWait};

use crate::runtime::{Flavor, Handle};

/// The id of the task running this code: asyncio's `current_task()`, as an id (look it up
/// in [`Handle::dump`](crate::Handle::dump) for its name, parent and state). `None` outside
/// a task, for example on a thread of your own outside `block_on`.
///
/// As in asyncio, the future given to [`eddy::run`](crate::run) or
/// [`Runtime::block_on`](crate::Runtime::block_on) is a task too, named "main": it has an
/// id, the tasks it spawns have it as their parent, and dumps and debug mode show it (at the
/// line that called `run`) until `run` returns.
///
/// ```
/// assert_eq!(eddy::task::id(), None);
/// eddy::run(async {
///     let main = eddy::task::id().expect("main is a task");
///     let task = eddy::spawn(async { eddy::task::id() });
///     let id = task.id();
///     let info = eddy::Handle::current().tasks().into_iter().find(|t| t.id == id).unwrap();
///     assert_eq!(info.parent, Some(main));
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

/// Spawns `future` as a task named `name` — asyncio's `create_task(coro, name=...)`. The
/// name shows in [`Handle::dump`](crate::Handle::dump), in task snapshots, in debug mode's
/// reports and in the handle's `Debug`.
///
/// ```
/// eddy::run(async {
///     let task = eddy::task::spawn_named("fetch", std::future::pending::<()>());
///     assert!(format!("{task:?}").contains("\"fetch\""));
///     let info = eddy::Handle::current().tasks().into_iter().find(|t| t.id == task.id());
///     assert_eq!(info.unwrap().name.as_deref(), Some("fetch"));
/// });
/// ```
///
/// # Panics
///
/// Outside a runtime; the message says to use `eddy::run` or `Handle::enter`.
#[track_caller]
pub fn spawn_named<F>(name: &str, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().spawn_named(name, future)
}

/// Waits at most `timeout` for `task` — asyncio's `wait_for(task, timeout)`. At the
/// timeout the task is cancelled, and `wait_for` returns only once its future has been
/// dropped, so its cleanup (its `Drop` impls) has run by the time you see
/// [`Elapsed`](crate::time::Elapsed). If `wait_for` itself is cancelled (its future
/// dropped), the task is cancelled too.
///
/// This differs from [`eddy::timeout`](crate::timeout)`(d, handle)`, which, like tokio,
/// only stops *waiting*: a `JoinHandle` detaches on drop, so the task keeps running. A task
/// that finishes while it is being cancelled wins: its result is returned.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// struct Cleanup(Arc<AtomicBool>);
/// impl Drop for Cleanup {
///     fn drop(&mut self) {
///         self.0.store(true, Ordering::SeqCst);
///     }
/// }
///
/// eddy::run(async {
///     let cleaned = Arc::new(AtomicBool::new(false));
///     let guard = Cleanup(cleaned.clone());
///     let slow = eddy::spawn(async move {
///         let _guard = guard;
///         eddy::sleep(Duration::from_secs(60)).await;
///     });
///     let result = eddy::task::wait_for(Duration::from_millis(10), slow).await;
///     assert!(result.is_err(), "timed out");
///     assert!(cleaned.load(Ordering::SeqCst), "the task's cleanup ran first");
/// });
/// ```
///
/// # Errors
///
/// [`Elapsed`](crate::time::Elapsed) at the timeout; otherwise the task's own result,
/// whose [`JoinError`] says whether it panicked or was cancelled from elsewhere.
///
/// # Panics
///
/// When first polled outside a runtime (it needs the runtime's timer).
pub async fn wait_for<T>(
    timeout: Duration,
    task: JoinHandle<T>,
) -> Result<Result<T, JoinError>, crate::time::Elapsed> {
    let mut task = task.abort_on_drop();
    match crate::time::timeout(timeout, &mut task).await {
        Ok(joined) => Ok(joined),
        Err(elapsed) => {
            task.abort();
            match (&mut task).await {
                Err(e) if e.is_cancelled() => Err(elapsed),
                // It finished before the cancellation reached it.
                finished => Ok(finished),
            }
        }
    }
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
