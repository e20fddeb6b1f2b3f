//! The driver seam: how a scheduler sleeps when it has nothing to run, and how it is woken.
//!
//! A scheduler knows nothing of I/O or time. When its queues are empty it calls
//! [`Park::park`] (or [`Park::park_timeout`], with zero to just poll the driver between
//! ticks); anything that makes a task runnable from another thread calls [`Unpark::unpark`].
//! eddy's reactor implements [`Park`] by waiting in `epoll_wait`; [`ThreadParker`] is the
//! driver for a runtime with no I/O.

use std::time::Duration;

mod thread;

pub use thread::{ThreadParker, ThreadUnparker};

/// Blocks the scheduler's thread until woken or timed out, driving I/O or timers meanwhile.
///
/// Contract: after [`Unpark::unpark`] returns, the next (or current) `park` or
/// `park_timeout` returns promptly. An unpark that arrives while the scheduler is awake is
/// remembered for the next park, so no wake-up is ever lost. Spurious returns are allowed.
pub trait Park {
    /// The thread-safe handle that wakes this driver.
    type Unpark: Unpark;

    /// A handle that wakes this driver from any thread.
    fn unpark(&self) -> Self::Unpark;

    /// Blocks until unparked (or the driver has events to dispatch).
    fn park(&mut self);

    /// Blocks for at most `timeout`; `Duration::ZERO` only polls the driver.
    fn park_timeout(&mut self, timeout: Duration);
}

/// Wakes a parked [`Park`] from any thread.
pub trait Unpark: Send + Sync + 'static {
    /// Makes the current or next `park` return.
    fn unpark(&self);
}

impl<U: Unpark + ?Sized> Unpark for std::sync::Arc<U> {
    fn unpark(&self) {
        (**self).unpark();
    }
}

impl<U: Unpark + ?Sized> Unpark for Box<U> {
    fn unpark(&self) {
        (**self).unpark();
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;
