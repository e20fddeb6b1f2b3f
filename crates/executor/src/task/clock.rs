//! The busy-time clock: one clock read per poll instead of two.
//!
//! When a scheduler polls tasks back to back, the end of one poll is the start of the next,
//! so the poll harness keeps the last reading in a thread-local and reuses it. A scheduler
//! calls [`reset`] whenever it did something else since the last task poll (parked, polled
//! its `block_on` future, searched for work), so that time is never charged to a task. What
//! a task is charged includes the few nanoseconds of queue work between two polls.

use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Forgets the last reading: the next poll reads the clock at its start.
pub(crate) fn reset() {
    LAST.with(|l| l.set(None));
}

/// The start of a poll: the end of the previous one on this thread, or now.
pub(crate) fn poll_started() -> Instant {
    LAST.with(|l| l.take()).unwrap_or_else(Instant::now)
}

/// The end of a poll, remembered as the start of the next one.
pub(crate) fn poll_ended() -> Instant {
    let now = Instant::now();
    LAST.with(|l| l.set(Some(now)));
    now
}
