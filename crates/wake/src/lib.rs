//! eddy's wake-up plumbing: what the selector, timer, executor and socket crates all need and
//! none of them owns.
//!
//! - [`AtomicWaker`]: one waker slot that one side fills and any thread may wake, without a
//!   lock (every socket and timer keeps its task's waker in one).
//! - [`coop`]: the cooperative budget. A scheduler runs each task poll inside
//!   [`coop::budgeted`]; leaf futures (socket operations, timers) spend one unit per ready
//!   operation through [`coop::poll_proceed`] and yield when it is gone, so a task whose
//!   reads always succeed still lets the others on its thread run. It lives here, not in
//!   the executor, so the socket and timer crates take part without knowing the executor.
//! - [`wait`]: wait records. A scheduler marks each task's [`wait::WaitSlot`] around its
//!   poll; leaf futures record there what they return `Pending` on (an fd, a timer, a task,
//!   a sender), with the `.await`'s location, so a task dump can say what every task waits
//!   on. Here for the same reason as the budget.
//! - [`EnteredStack`]: the per-thread stack behind each crate's `Handle::enter` guards,
//!   which may drop in any order.
//! - [`loom`]: the one shim every eddy crate names its atomics, locks, cells and threads
//!   through: std's normally, loom's under `RUSTFLAGS="--cfg eddy_loom"`.
//!
//! Architecture invariant: this crate knows no other eddy crate, no scheduler, no reactor and
//! no timer; it depends on nothing but std (and loom when model-checking).

pub mod coop;
pub mod loom;
pub mod wait;

mod atomic_waker;
mod entered;

pub use atomic_waker::AtomicWaker;
pub use entered::EnteredStack;
