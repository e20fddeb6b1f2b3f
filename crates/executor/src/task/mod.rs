//! Tasks: the raw allocation, its state machine, wakers, `JoinHandle` and metadata.
//!
//! Schedulers see a task as a [`Notified`] in a queue and a [`RawTask`] in their
//! [`OwnedTasks`]; users see a [`JoinHandle`]. The protocol binding them is in `state.rs`.
//! The future a `block_on` drives is not a raw task, but is listed and watched as one
//! (`main_future.rs`).

mod builder;
pub(crate) mod clock;
pub use clock::wait_clock_ms;
mod error;
mod harness;
mod id;
mod info;
mod join;
pub(crate) mod list;
mod main_future;
mod observe;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

pub use builder::TaskBuilder;
pub use error::JoinError;
pub use id::{InvalidTaskId, TaskId, current_task_id};
pub use info::{TaskInfo, TaskState};
pub use join::{AbortHandle, AbortOnDrop, JoinHandle};
pub(crate) use list::OwnedTasks;
pub(crate) use observe::{Observation, Observer, PollEnd};
pub(crate) use raw::{Notified, RawTask, Schedule};

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(test)]
pub(crate) mod mock;
#[cfg(all(test, not(eddy_loom)))]
mod tests;
