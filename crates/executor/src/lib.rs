//! eddy's task executor: raw tasks, `JoinHandle` and cancellation, a current-thread
//! scheduler, a work-stealing multi-thread scheduler and a blocking pool.
//!
//! The executor knows nothing of I/O or time: a scheduler sleeps through the [`Park`]
//! driver trait, so it runs with eddy's reactor, another one, or none ([`ThreadParker`]).
//!
//! ```
//! use eddy_executor::{CurrentThread, JoinError};
//!
//! let rt = CurrentThread::new();
//! let out = rt.block_on(async {
//!     // asyncio's create_task / await task
//!     let answer = eddy_executor::current_thread::spawn_local(async { 6 * 7 });
//!     // asyncio's task.cancel() / CancelledError
//!     let forever = eddy_executor::current_thread::spawn_local(std::future::pending::<()>());
//!     forever.abort();
//!     assert!(matches!(forever.await, Err(JoinError::Cancelled)));
//!     answer.await.unwrap()
//! });
//! assert_eq!(out, 42);
//! ```
//!
//! Design notes, the task layout and what loom and Miri check: `docs/executor.md`.

mod inject;
mod loom;

pub mod blocking;
pub mod current_thread;
pub mod debug;
pub mod metrics;
pub mod multi_thread;
pub mod park;
mod scheduler;
mod task;

pub use blocking::BlockingPool;
pub use current_thread::{CurrentThread, CurrentThreadBuilder};
pub use debug::{DebugConfig, NativeStack, SlowPoll};
/// The cooperative budget and `yield_now`, from eddy-wake (where the socket and timer
/// crates reach the budget without knowing the executor).
pub use eddy_wake::coop;
pub use eddy_wake::coop::yield_now;
/// Wait records (what each task waits on, for dumps), from eddy-wake for the same reason.
pub use eddy_wake::wait;
pub use metrics::{SchedulerMetrics, WorkerMetrics};
pub use multi_thread::{MultiThread, MultiThreadBuilder, WorkerHooks};
pub use park::{Park, ThreadParker, Unpark};
pub use scheduler::{Scheduler, Spawner};
pub use task::{
    AbortHandle, AbortOnDrop, InvalidTaskId, JoinError, JoinHandle, TaskBuilder, TaskId, TaskInfo,
    TaskState, current_task_id, wait_clock_ms,
};
