//! Time: `sleep` (asyncio.sleep), `timeout` (asyncio.wait_for), `interval`, and `timed`.
//!
//! Timers never fire early; with the default 1 ms tick a timer fires within a millisecond
//! after its deadline, plus scheduling delay. Durations too large to represent
//! (`Duration::MAX`) saturate to "never" instead of overflowing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use eddy_timer::{
    Elapsed, Interval, MissedTickBehavior, Sleep, Timeout, interval, interval_at, sleep,
    sleep_until, timeout, timeout_at,
};

/// Runs `future` and reports how long it took, from its first poll to its completion: the
/// seed notes' timing decorator (`@async_timed`), as a wrapper.
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let (value, took) = eddy::time::timed(async {
///         eddy::sleep(Duration::from_millis(20)).await;
///         "done"
///     })
///     .await;
///     assert_eq!(value, "done");
///     assert!(took >= Duration::from_millis(20));
/// });
/// ```
pub fn timed<F: Future>(future: F) -> Timed<F> {
    Timed {
        future,
        started: None,
    }
}

/// The future returned by [`timed`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Timed<F> {
    future: F,
    started: Option<Instant>,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Duration);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `Timed` has no `Drop` impl; `started` is a plain `Option<Instant>`, not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let started = *this.started.get_or_insert_with(Instant::now);
        // SAFETY: see above; `this.future` stays where `self` was pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        future.poll(cx).map(|out| (out, started.elapsed()))
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::timed;

    /// The pin projection keeps the inner future in place across polls (Miri checks this).
    #[test]
    fn timed_measures_from_the_first_poll_across_pending_polls() {
        let mut polls = 0;
        let inner = std::future::poll_fn(|cx| {
            polls += 1;
            if polls < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(polls)
            }
        });
        let mut fut = pin!(timed(inner));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready((3, took)) => assert!(took < std::time::Duration::from_secs(60)),
            other => panic!(
                "expected the third poll to finish, got {:?}",
                other.map(|(v, _)| v)
            ),
        }
    }
}
