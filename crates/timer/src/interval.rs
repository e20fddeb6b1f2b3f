//! [`Interval`]: ticks at a fixed period, with a policy for ticks it falls behind on.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::handle::Handle;
use crate::sleep::{Sleep, sleep_until};

/// A task awaiting [`Interval::tick`] waits on its next deadline, for task dumps.
static TICK: WaitOp = WaitOp::new(WaitKind::Timer, "Interval::tick");

/// Ticks every `period`, the first tick at once.
///
/// A zero `period` is raised to one nanosecond (it then ticks at every driver tick, with
/// [`MissedTickBehavior::Burst`] as often as it is polled); nothing panics.
///
/// # Panics
///
/// The returned interval panics when first polled if no time driver is entered on the
/// polling thread (see [`Handle::enter`]). It also panics, saying so, when polled after its
/// driver has shut down (its runtime was dropped): a timer has no error to return, and
/// waiting forever would hang the caller.
pub fn interval(period: Duration) -> Interval {
    let start = Handle::try_current()
        .ok()
        .map_or_else(Instant::now, |h| h.now());
    interval_at(start, period)
}

/// Ticks every `period`, the first tick at `start`. See [`interval`].
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval {
        sleep: sleep_until(start),
        period: period.max(Duration::from_nanos(1)),
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed because it was not polled in time.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Deliver the missed ticks as fast as they are polled, then continue on the original
    /// schedule (`start + n * period`). Keeps the count of ticks right.
    #[default]
    Burst,
    /// Deliver one tick now and schedule the next `period` after it: the schedule shifts by
    /// the delay.
    Delay,
    /// Deliver one tick now and drop the missed ones; the next tick is the next point of the
    /// original schedule after now.
    Skip,
}

/// A stream of ticks every `period`; see [`interval`].
///
/// Each tick yields the instant it was scheduled for. Ticks never come early.
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    #[track_caller]
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        let site = Location::caller();
        std::future::poll_fn(move |cx| {
            let poll = self.poll_tick(cx);
            if poll.is_pending() {
                wait::record(&TICK, wait::encode_instant(self.sleep.deadline()), site);
            }
            poll
        })
    }

    /// Polls for the next tick; the `Poll` form of [`tick`](Self::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.sleep.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = self.sleep.handle().map_or_else(Instant::now, Handle::now);
        let next = match self.missed {
            MissedTickBehavior::Burst => crate::saturating_add(scheduled, self.period),
            MissedTickBehavior::Delay => crate::saturating_add(now, self.period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / self.period.as_nanos() + 1;
                let ahead =
                    crate::duration_from_nanos(periods.saturating_mul(self.period.as_nanos()));
                crate::saturating_add(scheduled, ahead)
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one `period` from now.
    pub fn reset(&mut self) {
        let now = self.sleep.handle().map_or_else(Instant::now, Handle::now);
        self.sleep.reset(crate::saturating_add(now, self.period));
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The missed-tick policy.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the missed-tick policy.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("missed", &self.missed)
            .field("next", &self.sleep.deadline())
            .finish()
    }
}
