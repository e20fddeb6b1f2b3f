//! The cooperative budget hook: where a socket operation that keeps succeeding would yield.
//!
//! A task reading a socket that always has data would never return `Pending` and could
//! starve the other tasks of its thread. The executor owns the budget (how many successful
//! operations a task may do per poll); until it is wired in, this hook always lets the
//! operation proceed. Every readiness-driven operation in this crate passes through it, so
//! wiring the budget changes one function.

use std::task::{Context, Poll};

/// Whether the current task may do one more I/O operation in this poll.
#[inline]
pub(crate) fn poll_proceed(_cx: &mut Context<'_>) -> Poll<()> {
    Poll::Ready(())
}
