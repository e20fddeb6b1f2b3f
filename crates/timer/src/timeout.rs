//! [`Timeout`]: runs a future with a deadline.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::sleep::{Sleep, sleep, sleep_until};

/// Runs `future`, giving up with [`Elapsed`] if it has not completed within `duration`
/// (asyncio's `wait_for`). Giving up drops the future, which cancels it.
///
/// The future is polled before the timer, so a future that is ready by the deadline wins.
/// Durations saturate as in [`sleep`].
///
/// # Panics
///
/// The returned future panics when first polled if no time driver is entered on the polling
/// thread (see [`Handle::enter`](crate::Handle::enter)). It also panics, saying so, when polled after its
/// driver has shut down (its runtime was dropped): a timer has no error to return, and
/// waiting forever would hang the caller.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Like [`timeout`], with an absolute deadline.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// A future with a deadline; see [`timeout`].
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Unwraps the future, dropping the timer.
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

/// A timeout whose future recorded no wait of its own, for task dumps.
static TIMEOUT: WaitOp = WaitOp::new(WaitKind::Timer, "timeout");

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of a pinned `Timeout`
        // (`into_inner` takes `self` by value, which needs `Timeout: Unpin`, i.e. `F: Unpin`),
        // `Timeout` has no `Drop` impl that could move it, and it is not `#[repr(packed)]`.
        // `sleep` is `Unpin` and only ever reached through `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where the pinned `Timeout` put it.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let mark = wait::Mark::now();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let poll = this.sleep.poll_elapsed(cx).map(|()| Err(Elapsed));
        // What the wrapped future waits on says more than the deadline; only a future that
        // recorded nothing leaves the timeout's own record.
        if poll.is_pending() {
            mark.record_if_silent(
                &TIMEOUT,
                wait::encode_instant(this.sleep.deadline()),
                Location::caller(),
            );
        }
        poll
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .finish_non_exhaustive()
    }
}
