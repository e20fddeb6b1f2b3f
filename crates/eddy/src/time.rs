//! Time: `sleep` (asyncio.sleep), `timeout` (asyncio.wait_for), `interval`, and `timed`.
//!
//! Timers never fire early; with the default 1 ms tick a timer fires within a millisecond
//! after its deadline, plus scheduling delay. Durations too large to represent
//! (`Duration::MAX`) saturate to "never" instead of overflowing.
//!
//! # Virtual time
//!
//! A current-thread runtime built with
//! [`Builder::start_paused(true)`](crate::Builder::start_paused) has a clock that stands
//! still: [`advance`] moves it, and whenever the runtime has nothing to run it jumps to the
//! next timer's deadline (after waiting for real work: blocking jobs, I/O, wakes from other
//! threads). [`pause`] and [`resume`] switch between virtual and real time. Read the
//! runtime's time with [`now`], not `Instant::now()`.
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = eddy::Runtime::builder().current_thread().start_paused(true).build()?;
//! let real = std::time::Instant::now();
//! let virtual_elapsed = rt.block_on(async {
//!     let start = eddy::time::now();
//!     eddy::sleep(Duration::from_secs(3600)).await; // an hour, in no time
//!     eddy::time::now() - start
//! });
//! assert_eq!(virtual_elapsed, Duration::from_secs(3600));
//! assert!(real.elapsed() < Duration::from_secs(60));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use eddy_timer::{
    Elapsed, Interval, MissedTickBehavior, Sleep, Timeout, interval, interval_at, sleep,
    sleep_until, timeout, timeout_at,
};

/// The current runtime's time: its virtual clock under
/// [`start_paused`](crate::Builder::start_paused), otherwise the system's monotonic clock
/// (as `Instant::now()`, which is also what it returns outside a runtime).
pub fn now() -> Instant {
    match crate::Handle::try_current() {
        Ok(handle) => handle.timer().now(),
        Err(_) => Instant::now(),
    }
}

/// The current runtime's virtual clock, or a panic saying how to get one.
#[track_caller]
fn virtual_clock(what: &str) -> eddy_timer::VirtualClock {
    let handle = match crate::Handle::try_current() {
        Ok(handle) => handle,
        Err(_) => panic!("`eddy::time::{what}` was called outside an eddy runtime"),
    };
    match handle.virtual_clock() {
        Some(clock) => clock.clone(),
        None => panic!(
            "`eddy::time::{what}` needs virtual time: build the runtime with \
             `Runtime::builder().current_thread().start_paused(true)`"
        ),
    }
}

/// Stops the current runtime's clock: from now on it moves only by [`advance`] and by
/// jumps to the next timer when the runtime is idle. Does nothing if it stands still
/// already.
///
/// # Panics
///
/// Outside a runtime, or on one built without
/// [`start_paused`](crate::Builder::start_paused) (only such a runtime has a clock that can
/// stop); the message says how to build one.
#[track_caller]
pub fn pause() {
    virtual_clock("pause").pause();
}

/// Lets the current runtime's clock follow real time again, from where it stands.
///
/// # Panics
///
/// As for [`pause`].
#[track_caller]
pub fn resume() {
    virtual_clock("resume").resume();
}

/// Moves the current runtime's paused clock forward by `by`, firing every timer due on the
/// way at its own deadline, in order; returns once the clock has reached the new time and
/// its timers have run. Other tasks run meanwhile, as they would in `by` of real time.
///
/// ```
/// use std::time::Duration;
///
/// let rt = eddy::Runtime::builder().current_thread().start_paused(true).build()?;
/// rt.block_on(async {
///     let start = eddy::time::now();
///     let nap = eddy::spawn(eddy::sleep(Duration::from_secs(5)));
///     eddy::time::advance(Duration::from_secs(10)).await;
///     assert!(nap.is_finished());
///     assert_eq!(eddy::time::now() - start, Duration::from_secs(10));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// As for [`pause`], and if the clock is not paused ([`resume`] was called): then time
/// moves by itself.
#[track_caller]
pub fn advance(by: Duration) -> Sleep {
    let clock = virtual_clock("advance");
    assert!(
        clock.is_paused(),
        "`eddy::time::advance` needs the clock paused; call `eddy::time::pause()` first"
    );
    // The idle runtime jumps from timer to timer, so every timer before the target fires
    // at its own deadline, and this one last.
    sleep(by)
}

/// Runs `future` and reports how long it took, from its first poll to its completion: the
/// seed notes' timing decorator (`@async_timed`), as a wrapper. It reads [`now`], so under
/// virtual time it reports virtual time.
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
        let started = *this.started.get_or_insert_with(now);
        // SAFETY: see above; `this.future` stays where `self` was pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        future
            .poll(cx)
            .map(|out| (out, now().saturating_duration_since(started)))
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
