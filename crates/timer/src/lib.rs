//! eddy's timers: a hierarchical timing wheel, the time driver that runs it, and the
//! `Sleep`, `Timeout` and `Interval` futures.
//!
//! The pieces, bottom up:
//!
//! - [`Wheel`]: a hashed hierarchical timing wheel (six levels of 64 slots) over integer
//!   ticks, with O(1) insert, cancel and reset and generation-checked [`TimerKey`]s. It has
//!   no clock, so it is deterministic.
//! - [`Driver`]: maps `Instant`s onto ticks of the wheel (1 ms by
//!   default), tells the runtime how long it may block ([`Driver::next_timeout`]) and wakes
//!   what is due ([`Driver::process`]). Its [`Clock`] is the system's or a [`ManualClock`].
//! - [`Handle`]: how futures reach a driver; a runtime enters it on its threads with
//!   [`Handle::enter`].
//! - [`sleep`], [`timeout`], [`interval`]: the futures. They use nothing but
//!   [`std::task::Waker`], so they run under any executor whose threads have entered a
//!   driver. Completing one spends a unit of eddy-wake's cooperative budget, so a loop of
//!   timers that are already due still yields to its scheduler (outside a poll run under
//!   `eddy_wake::coop::budgeted`, nothing is spent).
//!
//! [`AtomicWaker`] is a re-export of eddy-wake's lock-free waker slot. It lives there, in
//! the one eddy crate this one depends on, so the socket layer needs no timer crate to use
//! it; the timers themselves keep their wakers in the wheel.
//!
//! Timers never fire early. With the default tick a timer fires within 1 ms after its
//! deadline, plus however long the runtime takes to get to it. `docs/timer-wheel.md` in the
//! repository describes the algorithm.
//!
//! # Examples
//!
//! The whole life of a runtime's timer loop, with a thread sleep standing in for the
//! selector:
//!
//! ```
//! use std::future::Future;
//! use std::pin::pin;
//! use std::task::{Context, Poll, Waker};
//! use std::time::{Duration, Instant};
//!
//! use eddy_timer::{Driver, Elapsed};
//!
//! fn block_on<F: Future>(driver: &mut Driver, future: F) -> F::Output {
//!     let _guard = driver.handle().enter();
//!     let mut future = pin!(future);
//!     let mut cx = Context::from_waker(Waker::noop());
//!     loop {
//!         if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
//!             return out;
//!         }
//!         // Block no longer than the earliest timer allows, then fire what is due.
//!         if let Some(wait) = driver.next_timeout() {
//!             std::thread::sleep(wait);
//!         }
//!         driver.process();
//!     }
//! }
//!
//! let mut driver = Driver::new();
//! let started = Instant::now();
//! block_on(&mut driver, eddy_timer::sleep(Duration::from_millis(5)));
//! assert!(started.elapsed() >= Duration::from_millis(5), "never early");
//!
//! let slow = eddy_timer::sleep(Duration::from_secs(60));
//! let outcome = block_on(&mut driver, eddy_timer::timeout(Duration::from_millis(2), slow));
//! assert!(matches!(outcome, Err(Elapsed { .. })));
//! ```

mod clock;
mod driver;
mod handle;
mod interval;
mod loom;
mod sleep;
mod timeout;
mod wheel;

use std::time::{Duration, Instant};

pub use clock::{Clock, ManualClock, SystemClock, VirtualClock};
pub use driver::{Builder, Driver, TimerMetrics};
/// The waker slot, from eddy-wake (where it lives, so every crate shares one).
pub use eddy_wake::AtomicWaker;
pub use handle::{EnterGuard, Handle, NoDriver};
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};
pub use wheel::{StaleKey, TimerKey, Wheel};

/// `base + by`, or the latest instant reachable from `base` if that overflows `Instant`.
pub(crate) fn saturating_add(base: Instant, by: Duration) -> Instant {
    if let Some(t) = base.checked_add(by) {
        return t;
    }
    // Add the largest steps that fit, halving the step on each failure: after a failure at
    // step `2s` the room left is under `2s`, so each step size succeeds at most once.
    let (mut t, mut step) = (base, by);
    while !step.is_zero() {
        match t.checked_add(step) {
            Some(later) => t = later,
            None => step /= 2,
        }
    }
    t
}

/// `Duration::from_nanos` for a `u128`, saturating at `Duration::MAX`.
pub(crate) fn duration_from_nanos(nanos: u128) -> Duration {
    match u64::try_from(nanos / 1_000_000_000) {
        // The remainder is below one billion, so it fits a `u32`.
        Ok(secs) => Duration::new(secs, (nanos % 1_000_000_000) as u32),
        Err(_) => Duration::MAX,
    }
}
